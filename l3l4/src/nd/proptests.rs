//! Random sequences of lookups, received NS/NA/RA, confirmations, removals,
//! polls and time steps against a small cache: the bounds always hold, nothing
//! panics, every packet handed in is accounted for exactly once (sent,
//! released, handed back unreachable, or dropped), released and unreachable
//! packets keep their order per neighbour, and every frame sent parses back
//! with a valid checksum and hop limit 255.

use core::time::Duration;
use std::collections::BTreeMap;
use std::net::Ipv6Addr;

use proptest::prelude::*;
use strata_l2::{EthernetAddress, EthernetFrame, Instant};

use super::tests::{OURS, OUR_MAC};
use super::*;
use crate::checksum::ChecksumCaps;
use crate::wire::ipv6::{solicited_node, Packet as Ipv6Packet, LINK_LOCAL_ALL_NODES};
use crate::wire::ndisc::{NeighborFlags, Packet as NdiscPacket};

/// Neighbour hosts fd00:9::2 ..= fd00:9::7 (more than the cache holds).
const HOSTS: u8 = 6;

#[derive(Debug, Clone)]
enum Op {
    Resolve(u8),
    Lookup(u8),
    Ns { src: u8, mac: u8, to_us: bool },
    Na { target: u8, flags: u8, mac: u8 },
    Ra { src: u8, mac: u8 },
    Advance(u64),
    PollTransmit(u8),
    PollReleased(u8),
    PollUnreachable(u8),
    PollEvent(u8),
    Confirm(u8),
    Remove(u8),
    Flush,
    Permanent(u8, u8),
    BaseReachable(u64),
    Retrans(u64),
}

fn host(index: u8) -> Ipv6Addr {
    Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2 + u16::from(index % HOSTS))
}

/// 0: unspecified (a DAD probe), 1: ours, 2: all-nodes, others: hosts.
fn source(index: u8) -> Ipv6Addr {
    match index {
        0 => Ipv6Addr::UNSPECIFIED,
        1 => OURS,
        2 => LINK_LOCAL_ALL_NODES,
        n => host(n),
    }
}

/// None, ours (looped back), broadcast, or one of three neighbour MACs.
fn mac(index: u8) -> Option<EthernetAddress> {
    match index % 6 {
        0 => None,
        1 => Some(OUR_MAC),
        2 => Some(EthernetAddress::BROADCAST),
        n => Some(EthernetAddress::new(0x02, 0, 0, 0, 1, n)),
    }
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(Op::Resolve),
        2 => any::<u8>().prop_map(Op::Lookup),
        3 => (0u8..10, any::<u8>(), any::<bool>()).prop_map(|(src, mac, to_us)| Op::Ns { src, mac, to_us }),
        4 => (0u8..8, 0u8..8, any::<u8>()).prop_map(|(target, flags, mac)| Op::Na { target, flags, mac }),
        1 => (0u8..10, any::<u8>()).prop_map(|(src, mac)| Op::Ra { src, mac }),
        4 => prop_oneof![0u64..1_500, 0u64..10_000, 0u64..100_000].prop_map(Op::Advance),
        2 => (0u8..4).prop_map(Op::PollTransmit),
        2 => (0u8..4).prop_map(Op::PollReleased),
        1 => (0u8..4).prop_map(Op::PollUnreachable),
        1 => (0u8..4).prop_map(Op::PollEvent),
        1 => any::<u8>().prop_map(Op::Confirm),
        1 => any::<u8>().prop_map(Op::Remove),
        1 => Just(Op::Flush),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(h, m)| Op::Permanent(h, m)),
        1 => (0u64..100_000).prop_map(Op::BaseReachable),
        1 => (0u64..3_000).prop_map(Op::Retrans),
    ]
}

fn small_config(seed: u64) -> NdConfig {
    NdConfig {
        capacity: 4,
        max_incomplete: 2,
        queue_per_neighbour: 3,
        queue_total: 5,
        transmit_capacity: 4,
        event_capacity: 4,
        stale_time: Duration::from_secs(20),
        seed,
        ..NdConfig::default()
    }
}

/// Emits and parses back a frame: checksum, hop limit, Ethernet destination.
fn check_frame(tx: &NdTransmit) {
    let mut buf = [0u8; 128];
    let len = tx.emit(&mut buf).expect("emit");
    let frame = EthernetFrame::new_checked(&buf[..len]).unwrap();
    let ip = Ipv6Packet::new_checked(frame.payload()).unwrap();
    assert_eq!(ip.hop_limit(), 255);
    let message = NdiscPacket::new_checked(ip.payload()).unwrap();
    let repr = NdiscRepr::parse(
        &message,
        &ip.src_addr(),
        &ip.dst_addr(),
        ip.hop_limit(),
        &ChecksumCaps::software(),
    )
    .expect("emitted message parses back");
    assert_eq!(repr, tx.repr);
    if tx.dst_addr.is_multicast() {
        assert_eq!(frame.dst_addr(), multicast_lladdr(&tx.dst_addr));
    } else {
        assert!(frame.dst_addr().is_unicast());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_operations_keep_every_bound(
        seed in any::<u64>(),
        ops in proptest::collection::vec(any_op(), 1..200),
    ) {
        let mut nd: NdCache<u32> = NdCache::new(small_config(seed), OUR_MAC);
        let mut now = Instant::ZERO;
        let mut counter = 0u32;
        let (mut handed, mut sent_now, mut refused, mut displaced, mut polled) = (0u64, 0u64, 0u64, 0u64, 0u64);
        let mut returned = 0u64;
        let mut last_released: BTreeMap<u32, u32> = BTreeMap::new();
        let mut last_unreachable: BTreeMap<u32, u32> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Resolve(h) => {
                    counter += 1;
                    let packet = (u32::from(h % HOSTS) << 24) | counter;
                    handed += 1;
                    match nd.resolve(now, host(h), OURS, packet) {
                        NdResolve::Send(..) => sent_now += 1,
                        NdResolve::Queued { displaced: Some(_) } => displaced += 1,
                        NdResolve::Queued { displaced: None } => {}
                        NdResolve::Refused(..) => refused += 1,
                    }
                }
                Op::Lookup(h) => {
                    let _ = nd.lookup(now, host(h), OURS);
                }
                Op::Ns { src, mac: m, to_us } => {
                    let src = source(src);
                    let target = if to_us { OURS } else { host(3) };
                    let dst = solicited_node(&target);
                    let repr = NdiscRepr::NeighborSolicit {
                        target_addr: target,
                        lladdr: mac(m).map(|m| *m.as_bytes()),
                    };
                    nd.handle_ns(now, src, dst, &repr, &[OURS]);
                }
                Op::Na { target, flags, mac: m } => {
                    let target = if target == 7 { OURS } else { host(target) };
                    let solicited = flags & 2 != 0;
                    let dst = if solicited { OURS } else { LINK_LOCAL_ALL_NODES };
                    let repr = NdiscRepr::NeighborAdvert {
                        flags: NeighborFlags {
                            router: flags & 1 != 0,
                            solicited,
                            override_: flags & 4 != 0,
                        },
                        target_addr: target,
                        lladdr: mac(m).map(|m| *m.as_bytes()),
                    };
                    nd.handle_na(now, target, dst, &repr, &[OURS]);
                }
                Op::Ra { src, mac: m } => {
                    let repr = NdiscRepr::RouterAdvert {
                        hop_limit: 64,
                        flags: Default::default(),
                        router_lifetime: 1800,
                        reachable_time: 0,
                        retrans_time: 0,
                        lladdr: mac(m).map(|m| *m.as_bytes()),
                        mtu: None,
                        prefix_info: None,
                    };
                    nd.handle_ndisc(now, source(src), LINK_LOCAL_ALL_NODES, &repr, &[OURS]);
                }
                Op::Advance(millis) => {
                    now += Duration::from_millis(millis);
                    nd.handle_timeout(now);
                }
                Op::PollTransmit(n) => {
                    for _ in 0..n {
                        if let Some(tx) = nd.poll_transmit(now) {
                            check_frame(&tx);
                        }
                    }
                }
                Op::PollReleased(n) => {
                    for _ in 0..n {
                        if let Some((lladdr, packet)) = nd.poll_released() {
                            prop_assert!(lladdr.is_unicast() && !lladdr.is_unspecified());
                            polled += 1;
                            let key = packet >> 24;
                            let last = last_released.insert(key, packet & 0xff_ffff);
                            prop_assert!(last.map_or(true, |last| last < packet & 0xff_ffff));
                        }
                    }
                }
                Op::PollUnreachable(n) => {
                    for _ in 0..n {
                        if let Some((addr, packet)) = nd.poll_unreachable() {
                            returned += 1;
                            let key = packet >> 24;
                            prop_assert_eq!(addr, host(key as u8), "handed back for another hop");
                            let last = last_unreachable.insert(key, packet & 0xff_ffff);
                            prop_assert!(last.map_or(true, |last| last < packet & 0xff_ffff));
                        }
                    }
                }
                Op::PollEvent(n) => {
                    for _ in 0..n {
                        let _ = nd.poll_event();
                    }
                }
                Op::Confirm(h) => {
                    let _ = nd.confirm(now, host(h));
                }
                Op::Remove(h) => {
                    let _ = nd.remove(host(h));
                }
                Op::Flush => nd.flush(),
                Op::Permanent(h, m) => {
                    if let Some(mac) = mac(m) {
                        let _ = nd.insert_permanent(host(h), mac, false);
                    }
                }
                Op::BaseReachable(millis) => {
                    nd.set_base_reachable_time(now, Duration::from_millis(millis));
                }
                Op::Retrans(millis) => nd.set_retrans_timer(Duration::from_millis(millis)),
            }
            nd.check_invariants().unwrap();
            let stats = nd.stats();
            prop_assert!(nd.unreachable_len() <= nd.config().queue_total);
            prop_assert_eq!(
                handed,
                sent_now + refused + displaced + polled + returned + nd.queued_len() as u64
                    + nd.unreachable_len() as u64 + stats.resolution_failed
            );
            prop_assert_eq!(returned, stats.unreachable_returned);
            prop_assert_eq!(stats.queue_overflow, displaced + (refused - stats.no_room - stats.unresolvable));
        }
        // Whatever happened, the timers drain everything but PERMANENT entries.
        for _ in 0..400 {
            now += Duration::from_secs(1);
            while nd.poll_transmit(now).is_some() {}
        }
        now += Duration::from_secs(3600);
        nd.handle_timeout(now);
        prop_assert!(nd.neighbours().all(|n| n.state == NdState::Permanent));
        prop_assert_eq!(nd.incomplete_len(), 0);
        nd.check_invariants().unwrap();
        // Drained, every packet is accounted for without anything in flight.
        while nd.poll_released().is_some() {
            polled += 1;
        }
        while nd.poll_unreachable().is_some() {
            returned += 1;
        }
        prop_assert_eq!(nd.queued_len() + nd.unreachable_len(), 0);
        prop_assert_eq!(
            handed,
            sent_now + refused + displaced + polled + returned + nd.stats().resolution_failed
        );
    }
}
