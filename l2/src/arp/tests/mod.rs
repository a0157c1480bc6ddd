//! Deterministic simulated-time tests of the ARP cache: each behaviour is
//! driven step by step with `now` chosen by the test. Shared helpers here;
//! the tests in `resolution.rs` and `input.rs`.

mod input;
mod resolution;

use std::net::Ipv4Addr;

use super::*;
use crate::time::Instant;
use crate::wire::{ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame};

pub(super) const OUR_MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0, 0x01);
pub(super) const PEER_MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0, 0x02);
pub(super) const OTHER_MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0, 0x03);
pub(super) const OURS: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub(super) const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const THIRD: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 3);
const FOURTH: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 4);

fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn secs(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

fn cache() -> ArpCache<u32> {
    ArpCache::new(ArpConfig::default(), OUR_MAC)
}

fn cache_with(config: ArpConfig) -> ArpCache<u32> {
    ArpCache::new(config, OUR_MAC)
}

fn transmits(arp: &mut ArpCache<u32>, now: Instant) -> Vec<ArpTransmit> {
    let out: Vec<_> = core::iter::from_fn(|| arp.poll_transmit(now)).collect();
    arp.check_invariants();
    out
}

fn events(arp: &mut ArpCache<u32>) -> Vec<ArpEvent> {
    core::iter::from_fn(|| arp.poll_event()).collect()
}

fn released(arp: &mut ArpCache<u32>) -> Vec<(EthernetAddress, u32)> {
    core::iter::from_fn(|| arp.poll_released()).collect()
}

fn unreachable(arp: &mut ArpCache<u32>) -> Vec<(Ipv4Addr, u32)> {
    core::iter::from_fn(|| arp.poll_unreachable()).collect()
}

fn packet(
    op: ArpOperation,
    sha: EthernetAddress,
    spa: Ipv4Addr,
    tha: EthernetAddress,
    tpa: Ipv4Addr,
) -> ArpRepr {
    ArpRepr {
        operation: op,
        source_hardware_addr: sha,
        source_protocol_addr: spa,
        target_hardware_addr: tha,
        target_protocol_addr: tpa,
    }
}

/// A reply from `ip` at `mac` to us.
pub(super) fn reply_from(ip: Ipv4Addr, mac: EthernetAddress) -> ArpRepr {
    packet(ArpOperation::Reply, mac, ip, OUR_MAC, OURS)
}

/// A request from `ip` at `mac` asking for `target`.
pub(super) fn request_from(ip: Ipv4Addr, mac: EthernetAddress, target: Ipv4Addr) -> ArpRepr {
    packet(
        ArpOperation::Request,
        mac,
        ip,
        EthernetAddress::UNSPECIFIED,
        target,
    )
}

fn state(arp: &ArpCache<u32>, addr: Ipv4Addr) -> Option<NeighbourState> {
    arp.neighbour(addr).map(|n| n.state)
}

/// Makes `addr` REACHABLE at `mac` through a lookup and a reply at `now`.
fn resolved(arp: &mut ArpCache<u32>, now: Instant, addr: Ipv4Addr, mac: EthernetAddress) {
    assert_eq!(arp.lookup(now, addr, OURS), None);
    arp.handle_arp(now, &reply_from(addr, mac), &[OURS]);
    assert_eq!(state(arp, addr), Some(NeighbourState::Reachable));
    transmits(arp, now);
    events(arp);
}
