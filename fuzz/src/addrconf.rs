//! The `addrconf` fuzz target: IPv6 stateless address autoconfiguration
//! ([`strata_l3l4::AddrConf`]) driven by a script of operations.
//!
//! Input layout: byte 0 picks the configuration (bits 0-1: DAD transmits
//! 0-3; bit 2: nonces; bit 3: solicit during DAD; bit 4: autoconf off;
//! bits 5-7: seed); then operations, each an opcode byte (`% 11`) and its
//! argument bytes (missing bytes read as 0):
//!
//! | op | meaning                          | arguments                               |
//! |----|----------------------------------|-----------------------------------------|
//! | 0  | enable                           | `m`: 0 → a fixed MAC, else 6 MAC bytes  |
//! | 1  | disable                          |                                         |
//! | 2  | add a manual address             | `index`, `valid` (seconds × 8)          |
//! | 3  | remove an address                | `index`                                 |
//! | 4  | a router advertisement           | `router`, lifetime (2), hop limit, retrans (2), `flags` (bit 0: MTU option), MTU (2), `n` prefixes × (index, len, flags, valid, preferred) |
//! | 5  | raw neighbour discovery bytes    | `len`, `src`, `len` bytes               |
//! | 6  | a DAD probe or NS                | `target`, `flags` (bit 0: from `::`, bit 1: nonce), nonce byte |
//! | 7  | a neighbour advertisement        | `target`                                |
//! | 8  | time passes                      | milliseconds (2) × 16                   |
//! | 9  | drain transmits and events       |                                         |
//! | 10 | loop back the last frame sent    |                                         |
//!
//! Properties checked: nothing panics, the tables, queues and groups stay
//! within the configured caps, every frame sent parses back (Ethernet, IPv6
//! with hop limit 255, ND with its checksum and RFC 4861 rules), no timer is
//! left overdue after `handle_timeout`, and a chosen source address is one
//! the interface answers for.

use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, Instant};
use strata_l3l4::addrconf::{eui64_interface_id, link_local_from_mac, with_interface_id};
use strata_l3l4::checksum::ChecksumCaps;
use strata_l3l4::wire::icmpv6::Message;
use strata_l3l4::wire::ndisc::{NdiscOption, PrefixInfo};
use strata_l3l4::{
    AddrConf, AddrConfConfig, AddrConfTransmit, AddrLifetimes, Ipv6Packet, NdiscPacket, NdiscRepr,
};

const MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x01);

/// A cursor over the script: missing bytes read as 0.
struct Script<'a> {
    data: &'a [u8],
}

impl Script<'_> {
    fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    fn bytes(&mut self, len: usize) -> &[u8] {
        let (head, rest) = self.data.split_at(len.min(self.data.len()));
        self.data = rest;
        head
    }
}

/// Prefix `index`: 2001:db8:i::, the link-local prefix for a few indexes.
fn prefix_addr(index: u8) -> Ipv6Addr {
    match index % 8 {
        7 => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        n => Ipv6Addr::new(0x2001, 0xdb8, u16::from(n), 0, 0, 0, 0, 0),
    }
}

/// Addresses: a few manual ones, the link-local and SLAAC ones of `MAC`,
/// and some invalid ones.
fn target(index: u8) -> Ipv6Addr {
    match index % 16 {
        0 => link_local_from_mac(MAC),
        1..=3 => with_interface_id(prefix_addr(index % 16 - 1), eui64_interface_id(MAC)),
        4 => Ipv6Addr::UNSPECIFIED,
        5 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 0x901),
        n => Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, u16::from(n)),
    }
}

/// A lifetime in seconds from one byte: small values, two hours, infinite.
fn lifetime(b: u8) -> u32 {
    match b {
        0xff => 0xffff_ffff,
        0xfe => 7200,
        0xfd => 7201,
        n => u32::from(n) * 8,
    }
}

/// The frame emitted for `tx`, checked as a valid ND message; returns the
/// IPv6 source and the ICMPv6 bytes.
fn check_frame(tx: &AddrConfTransmit) -> (Ipv6Addr, Vec<u8>) {
    let mut buf = [0u8; 256];
    let len = tx.emit(&mut buf);
    assert_eq!(len, tx.buffer_len());
    let frame = EthernetFrame::new_checked(&buf[..len]).expect("ethernet");
    assert_eq!(frame.ethertype(), EtherType::Ipv6);
    assert!(frame.dst_addr().is_multicast());
    let ip = Ipv6Packet::new_checked(frame.payload()).expect("ipv6");
    assert_eq!(ip.hop_limit(), 255);
    let nd = NdiscPacket::new_checked(ip.payload()).expect("ndisc");
    let repr = NdiscRepr::parse(
        &nd,
        &ip.src_addr(),
        &ip.dst_addr(),
        ip.hop_limit(),
        &ChecksumCaps::software(),
    )
    .expect("valid ND message");
    assert_eq!(repr, tx.ndisc_repr());
    (ip.src_addr(), ip.payload().to_vec())
}

fn ra_bytes(script: &mut Script<'_>) -> Vec<u8> {
    let lifetime_secs = script.u16();
    let hop_limit = script.byte();
    let retrans = u32::from(script.u16());
    let flags = script.byte();
    let mtu = u32::from(script.u16());
    let count = script.byte() % 5;
    let mut bytes = vec![0u8; 16];
    let mut packet = NdiscPacket::new_unchecked(&mut bytes[..]);
    packet.set_msg_type(Message::RouterAdvert);
    packet.set_router_lifetime(lifetime_secs);
    packet.set_current_hop_limit(hop_limit);
    packet.set_retrans_time(retrans);
    packet.set_reachable_time(retrans * 10);
    let mut options = Vec::new();
    for _ in 0..count {
        let index = script.byte();
        let len = script.byte();
        let pflags = script.byte();
        let valid = lifetime(script.byte());
        let preferred = lifetime(script.byte());
        options.push(NdiscOption::PrefixInformation(PrefixInfo {
            prefix_len: if pflags & 4 != 0 { len.min(128) } else { 64 },
            on_link: pflags & 1 != 0,
            autonomous: pflags & 2 != 0,
            valid_lifetime: valid,
            preferred_lifetime: preferred,
            prefix: prefix_addr(index),
        }));
    }
    if flags & 1 != 0 {
        options.push(NdiscOption::Mtu(mtu));
    }
    if flags & 2 != 0 {
        options.push(NdiscOption::SourceLinkLayerAddr([2, 0, 0, 0, 9, 2]));
    }
    for option in options {
        let at = bytes.len();
        bytes.resize(at + option.buffer_len(), 0);
        if option.emit(&mut bytes[at..]).is_err() {
            bytes.truncate(at);
        }
    }
    bytes
}

fn emit_nd(repr: &NdiscRepr, src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut NdiscPacket::new_unchecked(&mut bytes[..]),
        &src,
        &dst,
        &ChecksumCaps::software(),
    )
    .expect("buffer of buffer_len bytes");
    bytes
}

/// Runs a script of operations against a small [`AddrConf`].
pub fn addrconf(data: &[u8]) {
    let mut script = Script { data };
    let flags = script.byte();
    let config = AddrConfConfig {
        max_addresses: 4,
        max_routers: 2,
        max_prefixes: 3,
        transmit_capacity: 4,
        event_capacity: 8,
        dup_addr_detect_transmits: flags & 3,
        dad_nonce: flags & 4 != 0,
        solicit_during_dad: flags & 8 != 0,
        autoconf: flags & 16 == 0,
        seed: u64::from(flags >> 5),
        ..AddrConfConfig::default()
    };
    let mut conf = AddrConf::new(config.clone());
    let mut now = Instant::ZERO;
    let mut last_sent: Option<(Ipv6Addr, Vec<u8>)> = None;
    let mut ops = 0;
    while !script.data.is_empty() && ops < 256 {
        ops += 1;
        match script.byte() % 11 {
            0 => {
                let mac = if script.byte() == 0 {
                    MAC
                } else {
                    let mut mac = [0u8; 6];
                    for b in &mut mac {
                        *b = script.byte();
                    }
                    EthernetAddress(mac)
                };
                let _ = conf.enable(now, mac);
            }
            1 => conf.disable(),
            2 => {
                let addr = target(script.byte());
                let valid = lifetime(script.byte());
                let lifetimes = AddrLifetimes::from_secs(valid, valid / 2);
                let _ = conf.add_address(now, addr, 64, lifetimes);
            }
            3 => {
                let _ = conf.remove_address(target(script.byte()));
            }
            4 => {
                let router = script.byte();
                let src = if router & 0x80 == 0 {
                    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(router % 4) + 1)
                } else {
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)
                };
                let bytes = ra_bytes(&mut script);
                conf.handle_ndisc(now, src, &NdiscPacket::new_unchecked(&bytes[..]));
            }
            5 => {
                let len = usize::from(script.byte());
                let src = target(script.byte());
                let bytes = script.bytes(len).to_vec();
                let packet = NdiscPacket::new_unchecked(&bytes[..]);
                conf.handle_ndisc(now, src, &packet);
                conf.handle_ra(now, src, &packet);
                conf.handle_ns(now, src, &packet);
                conf.handle_na(now, &packet);
            }
            6 => {
                let addr = target(script.byte());
                let flags = script.byte();
                let nonce = script.byte();
                let src = if flags & 1 != 0 {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    target(7)
                };
                let repr = NdiscRepr::NeighborSolicit {
                    target_addr: addr,
                    lladdr: None,
                };
                let mut bytes = emit_nd(&repr, src, addr);
                if flags & 2 != 0 {
                    bytes.extend_from_slice(&[14, 1, nonce, nonce, nonce, nonce, nonce, nonce]);
                }
                conf.handle_ndisc(now, src, &NdiscPacket::new_unchecked(&bytes[..]));
            }
            7 => {
                let addr = target(script.byte());
                let repr = NdiscRepr::NeighborAdvert {
                    flags: Default::default(),
                    target_addr: addr,
                    lladdr: None,
                };
                let bytes = emit_nd(&repr, addr, addr);
                conf.handle_ndisc(now, addr, &NdiscPacket::new_unchecked(&bytes[..]));
            }
            8 => {
                now += Duration::from_millis(u64::from(script.u16()) * 16);
                conf.handle_timeout(now);
            }
            9 => {
                while let Some(tx) = conf.poll_transmit(now) {
                    last_sent = Some(check_frame(&tx));
                }
                while conf.poll_event().is_some() {}
            }
            _ => {
                if let Some((src, bytes)) = &last_sent {
                    conf.handle_ndisc(now, *src, &NdiscPacket::new_unchecked(&bytes[..]));
                }
            }
        }
        conf.check_invariants();
        assert!(conf.addresses().count() <= config.max_addresses);
        assert!(conf.routers().len() <= config.max_routers);
        assert!(conf.prefixes().len() <= config.max_prefixes);
        assert!(conf.groups().len() <= config.max_addresses + 1);
        assert!(conf.transmits_len() <= config.transmit_capacity);
        assert!(conf.events_len() <= config.event_capacity);
        for dst in [
            Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 9),
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2),
        ] {
            if let Some(src) = conf.usable_source(&dst) {
                assert!(conf.answers_for(src));
            }
        }
        conf.handle_timeout(now);
        if let Some(at) = conf.poll_at() {
            assert!(at > now, "timer at {at} left overdue at {now}");
        }
    }
    while let Some(tx) = conf.poll_transmit(now) {
        check_frame(&tx);
    }
    let stats = conf.stats();
    assert!(stats.dad_succeeded + stats.dad_failed <= stats.addresses_added);
}
