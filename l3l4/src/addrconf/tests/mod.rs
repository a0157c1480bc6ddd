//! Deterministic simulated-time tests of address autoconfiguration: each
//! behaviour driven step by step with `now` chosen by the test, every frame
//! parsed back with the wire parsers. Shared helpers, link-local and manual
//! addresses here; DAD in `dad.rs`, router solicitation and advertisement in
//! `router.rs`.

mod dad;
mod router;

use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, Instant};

use super::*;
use crate::checksum::ChecksumCaps;
use crate::wire::frames_v6;
use crate::wire::ndisc::{NdiscOption, Packet as NdiscPacket, PrefixInfo, Repr as NdiscRepr};

/// Host A of the captured frames.
const MAC_A: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x01);
/// radvd's router B.
const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x902);
const ROUTER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0x09, 0x02];
const LL_A: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x901);
/// The kernel's SLAAC address of A in fd00:9::/64.
const SLAAC_A: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0xff, 0xfe00, 0x901);

fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

fn addr(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

/// No random delay, no nonce variation: exact timing.
fn config() -> AddrConfConfig {
    AddrConfConfig {
        max_rtr_solicitation_delay: Duration::ZERO,
        seed: 7,
        ..AddrConfConfig::default()
    }
}

fn transmits(conf: &mut AddrConf, now: Instant) -> Vec<AddrConfTransmit> {
    let out: Vec<_> = core::iter::from_fn(|| conf.poll_transmit(now)).collect();
    conf.check_invariants();
    out
}

fn events(conf: &mut AddrConf) -> Vec<AddrConfEvent> {
    core::iter::from_fn(|| conf.poll_event()).collect()
}

/// An interface with its link-local address PREFERRED at 1 s and the first
/// RS drained.
fn up() -> AddrConf {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    assert_eq!(transmits(&mut conf, ms(0)).len(), 1);
    assert_eq!(transmits(&mut conf, ms(1000)).len(), 1);
    events(&mut conf);
    conf
}

/// A frame emitted, checked down to the ND message: Ethernet to the group's
/// 33:33 MAC, IPv6 hop limit 255, checksum and RFC 4861 rules via
/// `Repr::parse`. Returns the parsed message and the IPv6 source and
/// destination.
fn parse_back(tx: &AddrConfTransmit) -> (NdiscRepr, Ipv6Addr, Ipv6Addr, Vec<u8>) {
    let mut buf = [0u8; 256];
    let len = tx.emit(&mut buf);
    assert_eq!(len, tx.buffer_len());
    assert_eq!(tx.emit(&mut buf[..len - 1]), 0, "short buffer refused");
    let frame = EthernetFrame::new_checked(&buf[..len]).unwrap();
    assert_eq!(frame.ethertype(), EtherType::Ipv6);
    assert_eq!(frame.src_addr(), tx.src_mac);
    let ip = crate::Ipv6Packet::new_checked(frame.payload()).unwrap();
    let ip_repr = crate::Ipv6Repr::parse(&ip).unwrap();
    assert_eq!(ip_repr.hop_limit, 255);
    assert_eq!(ip_repr.next_header, crate::IpProtocol::Icmpv6);
    let dst = ip.dst_addr();
    let o = dst.octets();
    assert_eq!(frame.dst_addr().0, [0x33, 0x33, o[12], o[13], o[14], o[15]]);
    let nd = NdiscPacket::new_checked(ip.payload()).unwrap();
    let repr = NdiscRepr::parse(
        &nd,
        &ip.src_addr(),
        &dst,
        ip.hop_limit(),
        &ChecksumCaps::software(),
    )
    .unwrap();
    assert_eq!(repr, tx.ndisc_repr());
    (repr, ip.src_addr(), dst, frame.payload().to_vec())
}

/// The ICMPv6 bytes of a message with the given options, checksum filled.
fn ndisc_bytes(repr: &NdiscRepr, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut NdiscPacket::new_unchecked(&mut buf[..]),
        &src,
        &dst,
        &ChecksumCaps::software(),
    )
    .unwrap();
    buf
}

/// A DAD probe from another node for `target`, with an optional nonce.
fn probe(target: Ipv6Addr, nonce: Option<[u8; 6]>) -> Vec<u8> {
    let repr = NdiscRepr::NeighborSolicit {
        target_addr: target,
        lladdr: None,
    };
    let mut bytes = ndisc_bytes(&repr, Ipv6Addr::UNSPECIFIED, solicited(target));
    if let Some(nonce) = nonce {
        let mut option = [0u8; 8];
        NdiscOption::Nonce(&nonce).emit(&mut option).unwrap();
        bytes.extend_from_slice(&option);
    }
    bytes
}

fn solicited(target: Ipv6Addr) -> Ipv6Addr {
    crate::wire::ipv6::solicited_node(&target)
}

fn na(target: Ipv6Addr) -> Vec<u8> {
    let repr = NdiscRepr::NeighborAdvert {
        flags: crate::NeighborFlags {
            override_: true,
            ..Default::default()
        },
        target_addr: target,
        lladdr: Some([0x02, 0, 0, 0, 0, 0x99]),
    };
    ndisc_bytes(&repr, target, addr("ff02::1"))
}

/// An RA with router lifetime `lifetime` and the given options.
fn ra(lifetime: u16, options: &[NdiscOption<'_>]) -> Vec<u8> {
    let mut bytes = vec![0u8; 16];
    let mut packet = NdiscPacket::new_unchecked(&mut bytes[..]);
    packet.set_msg_type(crate::wire::icmpv6::Message::RouterAdvert);
    packet.set_router_lifetime(lifetime);
    for option in options {
        let at = bytes.len();
        bytes.resize(at + option.buffer_len(), 0);
        option.emit(&mut bytes[at..]).unwrap();
    }
    bytes
}

fn prefix(
    text: &str,
    len: u8,
    on_link: bool,
    autonomous: bool,
    valid: u32,
    preferred: u32,
) -> NdiscOption<'static> {
    NdiscOption::PrefixInformation(PrefixInfo {
        prefix_len: len,
        on_link,
        autonomous,
        valid_lifetime: valid,
        preferred_lifetime: preferred,
        prefix: addr(text),
    })
}

fn handle(conf: &mut AddrConf, now: Instant, src: Ipv6Addr, bytes: &[u8]) {
    conf.handle_ndisc(now, src, &NdiscPacket::new_unchecked(bytes));
    conf.check_invariants();
}

fn slaac_state(
    conf: &AddrConf,
    a: Ipv6Addr,
) -> Option<(Ipv6AddrState, Option<Instant>, Option<Instant>)> {
    conf.addresses()
        .find(|i| i.addr == a)
        .map(|i| (i.state, i.preferred_until, i.valid_until))
}

// ---------------------------------------------------------------- link-local

#[test]
fn link_local_from_mac_matches_the_kernel() {
    let qemu = EthernetAddress::new(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
    assert_eq!(link_local_from_mac(qemu), addr("fe80::5054:ff:fe12:3456"));
    assert_eq!(
        eui64_interface_id(qemu),
        [0x50, 0x54, 0, 0xff, 0xfe, 0x12, 0x34, 0x56]
    );
    // The captured host A: the U/L bit of 02:... flips to 0.
    assert_eq!(link_local_from_mac(MAC_A), LL_A);
    // A universally administered MAC gets the bit set.
    let intel = EthernetAddress::new(0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc);
    assert_eq!(link_local_from_mac(intel), addr("fe80::21b:21ff:feaa:bbcc"));
}

#[test]
fn enable_refuses_group_or_zero_mac_and_is_idempotent() {
    let mut conf = AddrConf::new(config());
    assert_eq!(
        conf.enable(ms(0), EthernetAddress::BROADCAST),
        Err(AddrConfError::Invalid)
    );
    assert_eq!(
        conf.enable(ms(0), EthernetAddress::UNSPECIFIED),
        Err(AddrConfError::Invalid)
    );
    assert_eq!(conf.enable(ms(0), MAC_A), Ok(LL_A));
    assert_eq!(conf.enable(ms(5), MAC_A), Ok(LL_A));
    assert_eq!(conf.addresses().count(), 1);
    assert_eq!(conf.link_local(), Some(LL_A));
}

// ---------------------------------------------------------------- manual addresses

#[test]
fn add_address_errors() {
    let mut conf = AddrConf::new(AddrConfConfig {
        max_addresses: 2,
        ..config()
    });
    let a = addr("2001:db8::1");
    assert_eq!(
        conf.add_address(ms(0), a, 64, Lifetimes::INFINITE),
        Err(AddrConfError::NotEnabled)
    );
    conf.enable(ms(0), MAC_A).unwrap();
    for bad in ["::", "::1", "ff02::1"] {
        assert_eq!(
            conf.add_address(ms(0), addr(bad), 64, Lifetimes::INFINITE),
            Err(AddrConfError::Invalid)
        );
    }
    assert_eq!(
        conf.add_address(ms(0), a, 129, Lifetimes::INFINITE),
        Err(AddrConfError::Invalid)
    );
    assert_eq!(conf.add_address(ms(0), a, 64, Lifetimes::INFINITE), Ok(()));
    assert_eq!(
        conf.add_address(ms(0), a, 64, Lifetimes::INFINITE),
        Err(AddrConfError::Exists)
    );
    assert_eq!(
        conf.add_address(ms(0), addr("2001:db8::2"), 64, Lifetimes::INFINITE),
        Err(AddrConfError::TableFull)
    );
    assert_eq!(conf.stats().address_table_full, 1);
    assert_eq!(
        conf.remove_address(addr("2001:db8::2")),
        Err(AddrConfError::NotFound)
    );
    assert_eq!(conf.remove_address(a), Ok(()));
    assert_eq!(conf.addresses().count(), 1);
}

#[test]
fn groups_follow_the_addresses() {
    let mut conf = up();
    let a = addr("2001:db8::1:2:3");
    let b = addr("2001:db8:1::1:2:3"); // same solicited-node group as `a`
    conf.add_address(secs(1), a, 64, Lifetimes::INFINITE)
        .unwrap();
    conf.add_address(secs(1), b, 64, Lifetimes::INFINITE)
        .unwrap();
    let joins: Vec<_> = events(&mut conf)
        .into_iter()
        .filter(|e| matches!(e, AddrConfEvent::JoinGroup { .. }))
        .collect();
    assert_eq!(
        joins,
        [AddrConfEvent::JoinGroup {
            group: addr("ff02::1:ff02:3")
        }]
    );
    assert_eq!(conf.groups().len(), 3);
    conf.remove_address(a).unwrap();
    assert_eq!(conf.groups().len(), 3, "b still needs the group");
    conf.remove_address(b).unwrap();
    assert_eq!(
        events(&mut conf).last(),
        Some(&AddrConfEvent::LeaveGroup {
            group: addr("ff02::1:ff02:3")
        })
    );
    conf.disable();
    assert!(conf.groups().is_empty());
    assert!(events(&mut conf).contains(&AddrConfEvent::LeaveGroup {
        group: addr("ff02::1")
    }));
    conf.check_invariants();
}

#[test]
fn manual_lifetimes_deprecate_then_remove() {
    let mut conf = up();
    handle(&mut conf, secs(2), ROUTER, &ra(0, &[])); // no more RS timers
    let a = addr("2001:db8::5");
    conf.add_address(
        secs(10),
        a,
        64,
        Lifetimes {
            valid: Some(Duration::from_secs(100)),
            preferred: Some(Duration::from_secs(50)),
        },
    )
    .unwrap();
    conf.handle_timeout(secs(10));
    conf.handle_timeout(secs(11));
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Preferred));
    events(&mut conf);
    assert_eq!(conf.poll_at(), Some(secs(60)));
    conf.handle_timeout(secs(60));
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Deprecated));
    assert_eq!(
        events(&mut conf),
        [AddrConfEvent::AddressDeprecated { addr: a }]
    );
    // Deprecated is still answered for, and a source only when nothing else.
    assert!(conf.answers_for(a));
    assert_eq!(conf.usable_source(&addr("2001:db8::9")), Some(a));
    conf.handle_timeout(secs(110));
    assert_eq!(conf.state(a), None);
    assert_eq!(
        events(&mut conf)[0],
        AddrConfEvent::AddressRemoved {
            addr: a,
            reason: AddrRemovalReason::Expired
        }
    );
}

#[test]
fn source_selection_subset_of_rfc_6724() {
    let mut conf = AddrConf::new(AddrConfConfig {
        dup_addr_detect_transmits: 0,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    let doc = addr("2001:db8::1");
    let ula = addr("fd00:9::1");
    let old = addr("fd00:9::2");
    conf.add_address(ms(0), doc, 64, Lifetimes::INFINITE)
        .unwrap();
    conf.add_address(ms(0), ula, 64, Lifetimes::INFINITE)
        .unwrap();
    conf.add_address(
        ms(0),
        old,
        64,
        Lifetimes {
            valid: None,
            preferred: Some(Duration::ZERO),
        },
    )
    .unwrap();
    assert_eq!(conf.state(old), Some(Ipv6AddrState::Deprecated));
    // Scope: link-local for link-local unicast and link-scope multicast.
    assert_eq!(conf.usable_source(&addr("fe80::1")), Some(LL_A));
    assert_eq!(conf.usable_source(&addr("ff02::2")), Some(LL_A));
    assert_eq!(conf.usable_source(&addr("ff01::1")), Some(LL_A));
    // Longest matching prefix otherwise; preferred before deprecated.
    assert_eq!(conf.usable_source(&addr("fd00:9::99")), Some(ula));
    assert_eq!(conf.usable_source(&addr("2001:db8:5::1")), Some(doc));
    // fd00::/8 shares 6 bits with ff0e::1, 2001::/16 none.
    assert_eq!(conf.usable_source(&addr("ff0e::1")), Some(ula));
    // The destination itself, even deprecated.
    assert_eq!(conf.usable_source(&old), Some(old));
    // Tentative addresses are never a source.
    let new = addr("2001:db8:1::1");
    let mut tentative = AddrConf::new(config());
    tentative.enable(ms(0), MAC_A).unwrap();
    tentative
        .add_address(ms(0), new, 64, Lifetimes::INFINITE)
        .unwrap();
    assert_eq!(tentative.usable_source(&new), None);
    assert_eq!(tentative.usable_source(&addr("2001:db8:1::2")), None);
}
