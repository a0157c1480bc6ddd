//! Random sequences of enables, manual addresses, received RS/RA/NS/NA
//! (random prefixes, lifetimes, flags, sources), polls and time steps
//! against a small configuration: nothing panics, the caps always hold, and
//! every frame sent parses back as a valid neighbour discovery message.

use core::time::Duration;
use std::net::Ipv6Addr;

use proptest::prelude::*;
use strata_l2::{EthernetAddress, EthernetFrame, Instant};

use super::*;
use crate::checksum::ChecksumCaps;
use crate::wire::icmpv6::Message;
use crate::wire::ndisc::{NdiscOption, Packet as NdiscPacket, PrefixInfo, Repr as NdiscRepr};

const MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x01);

#[derive(Debug, Clone)]
struct Prefix {
    index: u8,
    len: u8,
    on_link: bool,
    autonomous: bool,
    valid: u32,
    preferred: u32,
}

#[derive(Debug, Clone)]
enum Op {
    Enable,
    Disable,
    Add(u8, u32),
    Remove(u8),
    Ra {
        router: u8,
        lifetime: u16,
        hop_limit: u8,
        retrans: u32,
        mtu: Option<u32>,
        prefixes: Vec<Prefix>,
    },
    /// A DAD probe (or NS from a unicast source) for address `target`.
    Ns {
        target: u8,
        unspecified: bool,
        nonce: Option<u8>,
    },
    Na(u8),
    Garbage(Vec<u8>),
    Advance(u64),
    Poll(u8),
}

/// A lifetime: often small, sometimes 0, two hours or infinite.
fn lifetime() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        1u32..20,
        Just(7200),
        Just(0xffff_ffff),
        any::<u32>(),
    ]
}

fn prefix() -> impl Strategy<Value = Prefix> {
    (
        0u8..12,
        prop_oneof![Just(64u8), any::<u8>()],
        any::<bool>(),
        any::<bool>(),
        lifetime(),
        lifetime(),
    )
        .prop_map(
            |(index, len, on_link, autonomous, valid, preferred)| Prefix {
                index,
                len: len.min(128),
                on_link,
                autonomous,
                valid,
                preferred,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Enable),
        1 => Just(Op::Disable),
        2 => (0u8..12, lifetime()).prop_map(|(i, l)| Op::Add(i, l)),
        1 => (0u8..12).prop_map(Op::Remove),
        5 => (0u8..12, any::<u16>(), any::<u8>(), prop_oneof![Just(0u32), 1u32..3000],
              proptest::option::of(prop_oneof![1200u32..1600, any::<u32>()]),
              proptest::collection::vec(prefix(), 0..6))
            .prop_map(|(router, lifetime, hop_limit, retrans, mtu, prefixes)| Op::Ra {
                router, lifetime, hop_limit, retrans, mtu, prefixes,
            }),
        3 => (0u8..16, any::<bool>(), proptest::option::of(any::<u8>()))
            .prop_map(|(target, unspecified, nonce)| Op::Ns { target, unspecified, nonce }),
        2 => (0u8..16).prop_map(Op::Na),
        1 => proptest::collection::vec(any::<u8>(), 0..80).prop_map(Op::Garbage),
        4 => (0u64..20_000).prop_map(Op::Advance),
        3 => (0u8..8).prop_map(Op::Poll),
    ]
}

/// Prefix `index` of 2001:db8:i::/64, a few of them link-local.
fn prefix_addr(index: u8) -> Ipv6Addr {
    if index >= 10 {
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0)
    } else {
        Ipv6Addr::new(0x2001, 0xdb8, u16::from(index), 0, 0, 0, 0, 0)
    }
}

/// Targets: manual addresses 0..12, then the link-local and SLAAC ones.
fn target(index: u8) -> Ipv6Addr {
    match index {
        12 => link_local_from_mac(MAC),
        13..=15 => with_interface_id(prefix_addr(index - 13), eui64_interface_id(MAC)),
        n => Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, u16::from(n) + 1),
    }
}

fn ra_bytes(
    lifetime: u16,
    hop_limit: u8,
    retrans: u32,
    mtu: Option<u32>,
    prefixes: &[Prefix],
) -> Vec<u8> {
    let mut bytes = vec![0u8; 16];
    let mut packet = NdiscPacket::new_unchecked(&mut bytes[..]);
    packet.set_msg_type(Message::RouterAdvert);
    packet.set_router_lifetime(lifetime);
    packet.set_current_hop_limit(hop_limit);
    packet.set_retrans_time(retrans);
    let mut options: Vec<NdiscOption<'_>> = prefixes
        .iter()
        .map(|p| {
            NdiscOption::PrefixInformation(PrefixInfo {
                prefix_len: p.len,
                on_link: p.on_link,
                autonomous: p.autonomous,
                valid_lifetime: p.valid,
                preferred_lifetime: p.preferred,
                prefix: prefix_addr(p.index),
            })
        })
        .collect();
    options.extend(mtu.map(NdiscOption::Mtu));
    for option in options {
        let at = bytes.len();
        bytes.resize(at + option.buffer_len(), 0);
        option.emit(&mut bytes[at..]).unwrap();
    }
    bytes
}

/// Parses an emitted frame back; it must be a valid ND message.
fn check_frame(tx: &AddrConfTransmit) {
    let mut buf = [0u8; 256];
    let len = tx.emit(&mut buf);
    assert_eq!(len, tx.buffer_len());
    let frame = EthernetFrame::new_checked(&buf[..len]).unwrap();
    let ip = crate::Ipv6Packet::new_checked(frame.payload()).unwrap();
    let nd = NdiscPacket::new_checked(ip.payload()).unwrap();
    let repr = NdiscRepr::parse(
        &nd,
        &ip.src_addr(),
        &ip.dst_addr(),
        ip.hop_limit(),
        &ChecksumCaps::software(),
    )
    .unwrap();
    assert_eq!(repr, tx.ndisc_repr());
}

fn run(ops: Vec<Op>, config: AddrConfConfig) {
    let mut conf = AddrConf::new(config.clone());
    let mut now = Instant::ZERO;
    for op in ops {
        match op {
            Op::Enable => {
                conf.enable(now, MAC).unwrap();
            }
            Op::Disable => conf.disable(),
            Op::Add(i, valid) => {
                let lifetimes = Lifetimes::from_secs(valid, valid / 2);
                let _ = conf.add_address(now, target(i), 64, lifetimes);
            }
            Op::Remove(i) => {
                let _ = conf.remove_address(target(i));
            }
            Op::Ra {
                router,
                lifetime,
                hop_limit,
                retrans,
                mtu,
                prefixes,
            } => {
                let src = if router < 10 {
                    Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(router) + 1)
                } else {
                    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1)
                };
                let bytes = ra_bytes(lifetime, hop_limit, retrans, mtu, &prefixes);
                conf.handle_ndisc(now, src, &NdiscPacket::new_unchecked(&bytes[..]));
            }
            Op::Ns {
                target: t,
                unspecified,
                nonce,
            } => {
                let repr = NdiscRepr::NeighborSolicit {
                    target_addr: target(t),
                    lladdr: None,
                };
                let mut bytes = vec![0u8; repr.buffer_len()];
                let src = if unspecified {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    target(0)
                };
                repr.emit(
                    &mut NdiscPacket::new_unchecked(&mut bytes[..]),
                    &src,
                    &target(t),
                    &ChecksumCaps::software(),
                )
                .unwrap();
                if let Some(n) = nonce {
                    bytes.extend_from_slice(&[14, 1, n, n, n, n, n, n]);
                }
                conf.handle_ndisc(now, src, &NdiscPacket::new_unchecked(&bytes[..]));
            }
            Op::Na(t) => {
                let repr = NdiscRepr::NeighborAdvert {
                    flags: Default::default(),
                    target_addr: target(t),
                    lladdr: None,
                };
                let mut bytes = vec![0u8; repr.buffer_len()];
                repr.emit(
                    &mut NdiscPacket::new_unchecked(&mut bytes[..]),
                    &target(t),
                    &target(t),
                    &ChecksumCaps::software(),
                )
                .unwrap();
                conf.handle_ndisc(now, target(t), &NdiscPacket::new_unchecked(&bytes[..]));
            }
            Op::Garbage(bytes) => {
                let packet = NdiscPacket::new_unchecked(&bytes[..]);
                let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
                conf.handle_ndisc(now, src, &packet);
                conf.handle_ns(now, Ipv6Addr::UNSPECIFIED, &packet);
                conf.handle_na(now, &packet);
                conf.handle_ra(now, src, &packet);
            }
            Op::Advance(millis) => {
                now += Duration::from_millis(millis);
                if let Some(at) = conf.poll_at() {
                    assert!(at >= Instant::ZERO);
                }
                conf.handle_timeout(now);
            }
            Op::Poll(n) => {
                for _ in 0..n {
                    match conf.poll_transmit(now) {
                        Some(tx) => check_frame(&tx),
                        None => break,
                    }
                }
                for _ in 0..n {
                    let _ = conf.poll_event();
                }
            }
        }
        conf.check_invariants();
        assert!(conf.addresses().count() <= config.max_addresses);
        assert!(conf.routers().len() <= config.max_routers);
        assert!(conf.prefixes().len() <= config.max_prefixes);
        assert!(conf.groups().len() <= config.max_addresses + 1);
        if let Some(src) = conf.usable_source(&Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9)) {
            assert!(conf.answers_for(src));
        }
        // Nothing overdue after a timeout run.
        conf.handle_timeout(now);
        if let Some(at) = conf.poll_at() {
            assert!(at > now, "timer at {at} not run at {now}");
        }
    }
    // Drain: every frame valid, the counters add up.
    while let Some(tx) = conf.poll_transmit(now) {
        check_frame(&tx);
    }
    let s = conf.stats();
    assert!(s.dad_succeeded + s.dad_failed <= s.addresses_added);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_the_bounds(ops in proptest::collection::vec(op(), 1..60), seed: u64,
                                         nonce: bool, transmits in 0u8..3) {
        let config = AddrConfConfig {
            max_addresses: 4,
            max_routers: 2,
            max_prefixes: 3,
            transmit_capacity: 4,
            event_capacity: 8,
            dup_addr_detect_transmits: transmits,
            dad_nonce: nonce,
            seed,
            ..AddrConfConfig::default()
        };
        run(ops, config);
    }

    #[test]
    fn random_advertisements_with_default_caps(ops in proptest::collection::vec(op(), 1..40)) {
        let mut all = vec![Op::Enable];
        all.extend(ops);
        run(all, AddrConfConfig::default());
    }
}
