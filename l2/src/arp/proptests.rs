//! Random sequences of lookups, received ARP, announcements, flushes, polls
//! and time steps against a small cache: the bounds always hold, nothing
//! panics, every packet handed in is accounted for exactly once (sent,
//! released, handed back unreachable, or dropped), and released and
//! unreachable packets keep their order.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use proptest::prelude::*;

use super::tests::{OURS, OUR_MAC};
use super::*;
use crate::time::Instant;
use crate::wire::{ArpOperation, ArpRepr, EthernetAddress};

/// Neighbour hosts 10.0.0.2 ..= 10.0.0.7 (more than the cache holds).
const HOSTS: u8 = 6;

#[derive(Debug, Clone)]
enum Op {
    Resolve(u8),
    Lookup(u8),
    Arp {
        operation: u16,
        sender: u8,
        mac: u8,
        target: u8,
        to_us: bool,
    },
    Advance(u64),
    PollTransmit(u8),
    PollReleased(u8),
    PollUnreachable(u8),
    PollEvent(u8),
    Announce,
    Confirm(u8),
    Remove(u8),
    Flush,
    Permanent(u8, u8),
}

fn host(index: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 2 + index % HOSTS)
}

/// 0: 0.0.0.0 (a probe), 1: ours (a conflict), 2: broadcast, others: hosts.
fn sender(index: u8) -> Ipv4Addr {
    match index {
        0 => Ipv4Addr::UNSPECIFIED,
        1 => OURS,
        2 => Ipv4Addr::BROADCAST,
        n => host(n),
    }
}

/// 0: ours (looped back), 1: broadcast, others: three neighbour MACs.
fn mac(index: u8) -> EthernetAddress {
    match index % 5 {
        0 => OUR_MAC,
        1 => EthernetAddress::BROADCAST,
        n => EthernetAddress::new(0x02, 0, 0, 0, 1, n),
    }
}

fn any_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => any::<u8>().prop_map(Op::Resolve),
        2 => any::<u8>().prop_map(Op::Lookup),
        4 => (0u16..4, 0u8..10, any::<u8>(), 0u8..8, any::<bool>()).prop_map(
            |(operation, sender, mac, target, to_us)| Op::Arp { operation, sender, mac, target, to_us }
        ),
        3 => prop_oneof![0u64..1_500, 0u64..70_000].prop_map(Op::Advance),
        2 => (0u8..4).prop_map(Op::PollTransmit),
        2 => (0u8..4).prop_map(Op::PollReleased),
        1 => (0u8..4).prop_map(Op::PollUnreachable),
        1 => (0u8..4).prop_map(Op::PollEvent),
        1 => Just(Op::Announce),
        1 => any::<u8>().prop_map(Op::Confirm),
        1 => any::<u8>().prop_map(Op::Remove),
        1 => Just(Op::Flush),
        1 => (any::<u8>(), any::<u8>()).prop_map(|(h, m)| Op::Permanent(h, m)),
    ]
}

fn small_config() -> impl Strategy<Value = ArpConfig> {
    (
        1usize..6,
        1usize..4,
        0usize..4,
        0usize..8,
        1usize..5,
        1usize..5,
        1u8..4,
    )
        .prop_map(
            |(capacity, max_incomplete, per, total, tx, ev, requests)| ArpConfig {
                capacity,
                max_incomplete,
                queue_per_neighbour: per,
                queue_total: total,
                transmit_capacity: tx,
                event_capacity: ev,
                max_requests: requests,
                max_probes: requests,
                ..ArpConfig::default()
            },
        )
}

/// Where the packets handed to `resolve` went.
#[derive(Debug, Default)]
struct Ledger {
    handed: u64,
    sent_now: u64,
    refused: u64,
    displaced: u64,
    released: u64,
    unreachable: u64,
    /// Packet id → its next hop, for the order check.
    next_hop: BTreeMap<u32, Ipv4Addr>,
    /// Last released id per next hop.
    last_released: BTreeMap<Ipv4Addr, u32>,
    /// Last id handed back unreachable per next hop.
    last_unreachable: BTreeMap<Ipv4Addr, u32>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn bounds_hold_and_packets_are_accounted_for(
        config in small_config(),
        ops in proptest::collection::vec(any_op(), 1..120),
    ) {
        let mut arp: ArpCache<u32> = ArpCache::new(config, OUR_MAC);
        let config = arp.config().clone();
        let mut now = Instant::ZERO;
        let mut ledger = Ledger::default();
        let mut next_id = 0u32;
        for op in ops {
            match op {
                Op::Resolve(h) => {
                    next_id += 1;
                    ledger.handed += 1;
                    ledger.next_hop.insert(next_id, host(h));
                    match arp.resolve(now, host(h), OURS, next_id) {
                        Resolve::Send(mac, id) => {
                            prop_assert_eq!(id, next_id);
                            prop_assert!(mac.is_unicast());
                            ledger.sent_now += 1;
                        }
                        Resolve::Queued { displaced } => {
                            ledger.displaced += u64::from(displaced.is_some());
                        }
                        Resolve::Refused(id, _) => {
                            prop_assert_eq!(id, next_id);
                            ledger.refused += 1;
                        }
                    }
                }
                Op::Lookup(h) => {
                    let _ = arp.lookup(now, host(h), OURS);
                }
                Op::Arp { operation, sender: s, mac: m, target, to_us } => {
                    let target = if target == 0 { OURS } else { host(target) };
                    let repr = ArpRepr {
                        operation: ArpOperation::from(operation),
                        source_hardware_addr: mac(m),
                        source_protocol_addr: sender(s),
                        target_hardware_addr: if to_us { OUR_MAC } else { EthernetAddress::UNSPECIFIED },
                        target_protocol_addr: target,
                    };
                    arp.handle_arp(now, &repr, &[OURS]);
                }
                Op::Advance(millis) => {
                    now += core::time::Duration::from_millis(millis);
                    if arp.poll_at().is_some_and(|at| at <= now) {
                        arp.handle_timeout(now);
                    }
                }
                Op::PollTransmit(n) => {
                    for _ in 0..n {
                        let Some(tx) = arp.poll_transmit(now) else { break };
                        prop_assert_eq!(tx.repr.source_hardware_addr, OUR_MAC);
                        prop_assert!(!tx.dst_addr.is_unspecified());
                    }
                }
                Op::PollReleased(n) => {
                    for _ in 0..n {
                        let Some((mac, id)) = arp.poll_released() else { break };
                        prop_assert!(mac.is_unicast() && !mac.is_unspecified());
                        ledger.released += 1;
                        let hop = ledger.next_hop[&id];
                        let last = ledger.last_released.insert(hop, id).unwrap_or(0);
                        prop_assert!(id > last, "released out of order");
                    }
                }
                Op::PollUnreachable(n) => {
                    for _ in 0..n {
                        let Some((addr, id)) = arp.poll_unreachable() else { break };
                        ledger.unreachable += 1;
                        prop_assert_eq!(addr, ledger.next_hop[&id], "handed back for another hop");
                        let last = ledger.last_unreachable.insert(addr, id).unwrap_or(0);
                        prop_assert!(id > last, "handed back out of order");
                    }
                }
                Op::PollEvent(n) => {
                    for _ in 0..n {
                        if arp.poll_event().is_none() {
                            break;
                        }
                    }
                }
                Op::Announce => arp.announce(now, OURS),
                Op::Confirm(h) => arp.confirm(now, host(h)),
                Op::Remove(h) => {
                    let _ = arp.remove(host(h));
                }
                Op::Flush => arp.flush(),
                Op::Permanent(h, m) => {
                    let _ = arp.insert_permanent(now, host(h), mac(m));
                }
            }
            arp.check_invariants();
            prop_assert!(arp.len() <= config.capacity);
            prop_assert!(arp.incomplete_len() <= config.max_incomplete);
            prop_assert!(arp.queued_len() <= config.queue_total);
            prop_assert!(arp.unreachable_len() <= config.queue_total);
            prop_assert!(arp.neighbour(OURS).is_none(), "our own address is never cached");
            let accounted = ledger.sent_now
                + ledger.refused
                + ledger.displaced
                + ledger.released
                + ledger.unreachable
                + arp.stats().queue_failed
                + arp.queued_len() as u64
                + arp.unreachable_len() as u64;
            prop_assert_eq!(ledger.handed, accounted, "{:?}", ledger);
            prop_assert_eq!(ledger.unreachable, arp.stats().unreachable_returned);
            prop_assert_eq!(
                ledger.refused + ledger.displaced,
                arp.stats().queue_overflow + arp.stats().no_room + arp.stats().unresolvable
            );
        }
        // Whatever happened, time heals: with nothing new, every timer ends
        // and only PERMANENT entries remain.
        let mut steps = 0;
        while let Some(at) = arp.poll_at() {
            now = now.max(at);
            while arp.poll_transmit(now).is_some() {}
            steps += 1;
            prop_assert!(steps < 1_000, "timers never settle");
        }
        prop_assert!(arp.neighbours().all(|n| n.state == NeighbourState::Permanent));
        arp.check_invariants();
        // Drained, every packet is accounted for without anything in flight.
        while arp.poll_released().is_some() {
            ledger.released += 1;
        }
        while arp.poll_unreachable().is_some() {
            ledger.unreachable += 1;
        }
        prop_assert_eq!(arp.queued_len() + arp.unreachable_len(), 0);
        prop_assert_eq!(
            ledger.handed,
            ledger.sent_now + ledger.refused + ledger.displaced + ledger.released
                + ledger.unreachable + arp.stats().queue_failed
        );
    }
}
