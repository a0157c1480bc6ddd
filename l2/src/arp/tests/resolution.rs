//! Resolution, waiting packets, eviction, timers and outputs.

use core::time::Duration;
use std::net::Ipv4Addr;

use super::*;
#[test]
fn resolve_unknown_queues_and_sends_a_request() {
    let mut arp = cache();
    assert_eq!(
        arp.resolve(ms(0), PEER, OURS, 1),
        Resolve::Queued { displaced: None }
    );
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Incomplete));
    assert_eq!(arp.neighbour(PEER).unwrap().queued, 1);
    assert_eq!(arp.neighbour(PEER).unwrap().hardware_addr, None);
    let tx = transmits(&mut arp, ms(0));
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].kind, TransmitKind::Request);
    assert_eq!(tx[0].dst_addr, EthernetAddress::BROADCAST);
    assert_eq!(
        tx[0].repr,
        request_from(OURS, OUR_MAC, PEER),
        "who-has PEER tell OURS, target hardware address zero"
    );
    assert_eq!(arp.poll_at(), Some(ms(1_000)));
    assert_eq!(arp.stats().cache_misses, 1);
    assert_eq!(arp.stats().requests_sent, 1);
    // A second packet while INCOMPLETE: a miss, no new request.
    assert!(matches!(
        arp.resolve(ms(10), PEER, OURS, 2),
        Resolve::Queued { displaced: None }
    ));
    assert!(transmits(&mut arp, ms(10)).is_empty());
    assert_eq!(arp.stats().cache_misses, 2);
}

#[test]
fn reply_releases_queued_packets_in_order() {
    let mut arp = cache();
    for packet in 1..=3 {
        let _ = arp.resolve(ms(packet.into()), PEER, OURS, packet);
    }
    transmits(&mut arp, ms(3));
    arp.handle_arp(ms(20), &reply_from(PEER, PEER_MAC), &[OURS]);
    arp.check_invariants();
    assert_eq!(
        released(&mut arp),
        vec![(PEER_MAC, 1), (PEER_MAC, 2), (PEER_MAC, 3)]
    );
    assert_eq!(arp.queued_len(), 0);
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::NeighbourAdded {
            addr: PEER,
            hardware_addr: PEER_MAC
        }]
    );
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Reachable));
    assert_eq!(arp.stats().replies_received, 1);
    // A reply answers no one.
    assert!(transmits(&mut arp, ms(20)).is_empty());
    assert_eq!(
        arp.resolve(ms(21), PEER, OURS, 4),
        Resolve::Send(PEER_MAC, 4)
    );
    assert_eq!(arp.lookup(ms(22), PEER, OURS), Some(PEER_MAC));
    assert_eq!(arp.stats().cache_hits, 2);
    assert_eq!(arp.incomplete_len(), 0);
}

#[test]
fn retries_every_interval_then_gives_up() {
    let mut arp = cache();
    let _ = arp.resolve(ms(0), PEER, OURS, 1);
    let _ = arp.resolve(ms(0), PEER, OURS, 2);
    assert_eq!(transmits(&mut arp, ms(0)).len(), 1);
    assert!(transmits(&mut arp, ms(999)).is_empty());
    let retry = transmits(&mut arp, ms(1_000));
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].repr, request_from(OURS, OUR_MAC, PEER));
    assert_eq!(arp.poll_at(), Some(ms(2_000)));
    assert_eq!(transmits(&mut arp, ms(2_000)).len(), 1);
    assert_eq!(arp.stats().requests_sent, 3);
    assert!(events(&mut arp).is_empty());
    // The third interval passes with no answer: give up.
    assert!(transmits(&mut arp, ms(3_000)).is_empty());
    assert_eq!(arp.neighbour(PEER), None);
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::ResolutionFailed {
            addr: PEER,
            dropped: 0,
            unreachable: 2,
        }]
    );
    assert_eq!(arp.stats().resolution_failures, 1);
    // The waiting packets are handed back, not dropped.
    assert_eq!(arp.stats().queue_failed, 0);
    assert_eq!(arp.queued_len(), 0);
    assert_eq!(arp.unreachable_len(), 2);
    assert_eq!(unreachable(&mut arp), vec![(PEER, 1), (PEER, 2)]);
    assert_eq!(arp.stats().unreachable_returned, 2);
    assert_eq!(arp.stats().dropped(), 0);
    assert_eq!(arp.poll_at(), None);
    // A later lookup starts again from scratch.
    assert_eq!(arp.lookup(ms(5_000), PEER, OURS), None);
    assert_eq!(transmits(&mut arp, ms(5_000)).len(), 1);
}

/// Runs every timer due up to `until`, at its deadline.
fn run_until(arp: &mut ArpCache<u32>, until: Instant) {
    while let Some(at) = arp.poll_at().filter(|&at| at <= until) {
        arp.handle_timeout(at);
        arp.check_invariants();
    }
}

#[test]
fn give_up_hands_back_each_neighbours_packets_in_order() {
    let mut arp = cache();
    for packet in 1..=3 {
        let _ = arp.resolve(ms(0), PEER, OURS, packet);
    }
    let _ = arp.resolve(ms(500), THIRD, OURS, 10);
    let _ = arp.resolve(ms(600), PEER, OURS, 4);
    // A neighbour that answers keeps its packets out of the failed ones.
    let _ = arp.resolve(ms(700), FOURTH, OURS, 20);
    arp.handle_arp(ms(800), &reply_from(FOURTH, OTHER_MAC), &[OURS]);
    assert_eq!(released(&mut arp), vec![(OTHER_MAC, 20)]);
    // PEER gives up at 3 s (three requests, 1 s apart), THIRD at 3.5 s.
    run_until(&mut arp, ms(2_999));
    assert_eq!(arp.poll_unreachable(), None);
    run_until(&mut arp, ms(3_000));
    assert_eq!(arp.queued_len(), 1);
    assert_eq!(
        unreachable(&mut arp),
        vec![(PEER, 1), (PEER, 2), (PEER, 3), (PEER, 4)]
    );
    run_until(&mut arp, ms(3_500));
    assert_eq!(unreachable(&mut arp), vec![(THIRD, 10)]);
    assert_eq!(arp.queued_len(), 0);
    let stats = *arp.stats();
    assert_eq!(stats.unreachable_returned, 5);
    assert_eq!(stats.resolution_failures, 2);
    assert_eq!((stats.queue_failed, stats.queue_drops()), (0, 0));
    assert!(stats.drop_reasons().iter().all(|&(_, n)| n == 0));
}

#[test]
fn unpolled_unreachable_packets_are_bounded() {
    let mut arp = cache_with(ArpConfig {
        queue_per_neighbour: 2,
        queue_total: 3,
        ..ArpConfig::default()
    });
    // Two neighbours give up with two packets each; the caller never polls.
    let _ = arp.resolve(ms(0), PEER, OURS, 1);
    let _ = arp.resolve(ms(0), PEER, OURS, 2);
    run_until(&mut arp, ms(3_000));
    assert_eq!(arp.unreachable_len(), 2);
    let _ = arp.resolve(ms(3_000), THIRD, OURS, 3);
    let _ = arp.resolve(ms(3_000), THIRD, OURS, 4);
    run_until(&mut arp, ms(6_000));
    // Bounded by queue_total: the oldest went, counted as a failure drop.
    assert_eq!(arp.unreachable_len(), 3);
    assert_eq!(arp.stats().queue_failed, 1);
    assert_eq!(arp.stats().dropped(), 1);
    assert_eq!(
        events(&mut arp),
        vec![
            ArpEvent::ResolutionFailed {
                addr: PEER,
                dropped: 0,
                unreachable: 2,
            },
            ArpEvent::ResolutionFailed {
                addr: THIRD,
                dropped: 0,
                unreachable: 2,
            },
        ]
    );
    // The failed packets do not count against queue_total: new ones wait.
    assert_eq!(
        arp.resolve(ms(6_000), FOURTH, OURS, 5),
        Resolve::Queued { displaced: None }
    );
    assert_eq!(
        unreachable(&mut arp),
        vec![(PEER, 2), (THIRD, 3), (THIRD, 4)]
    );
    assert_eq!(arp.stats().unreachable_returned, 3);
}

#[test]
fn per_neighbour_queue_drops_the_oldest() {
    let mut arp = cache_with(ArpConfig {
        queue_per_neighbour: 2,
        ..ArpConfig::default()
    });
    assert_eq!(
        arp.resolve(ms(0), PEER, OURS, 1),
        Resolve::Queued { displaced: None }
    );
    assert_eq!(
        arp.resolve(ms(0), PEER, OURS, 2),
        Resolve::Queued { displaced: None }
    );
    assert_eq!(
        arp.resolve(ms(0), PEER, OURS, 3),
        Resolve::Queued { displaced: Some(1) }
    );
    assert_eq!(
        arp.resolve(ms(0), PEER, OURS, 4),
        Resolve::Queued { displaced: Some(2) }
    );
    arp.check_invariants();
    assert_eq!(arp.stats().queue_overflow, 2);
    arp.handle_arp(ms(5), &reply_from(PEER, PEER_MAC), &[OURS]);
    assert_eq!(released(&mut arp), vec![(PEER_MAC, 3), (PEER_MAC, 4)]);
}

#[test]
fn total_queue_bound_counts_unpolled_releases() {
    let config = ArpConfig {
        queue_per_neighbour: 3,
        queue_total: 4,
        ..ArpConfig::default()
    };
    let mut arp = cache_with(config);
    for packet in 1..=3 {
        assert_eq!(
            arp.resolve(ms(0), PEER, OURS, packet),
            Resolve::Queued { displaced: None }
        );
    }
    assert_eq!(
        arp.resolve(ms(0), THIRD, OURS, 10),
        Resolve::Queued { displaced: None }
    );
    // Total reached: THIRD's own oldest gives way, FOURTH (none queued) is refused.
    assert_eq!(
        arp.resolve(ms(0), THIRD, OURS, 11),
        Resolve::Queued {
            displaced: Some(10)
        }
    );
    assert_eq!(
        arp.resolve(ms(0), FOURTH, OURS, 20),
        Resolve::Refused(20, ArpDropReason::QueueFull)
    );
    assert_eq!(arp.queued_len(), 4);
    // Released packets still count until polled.
    arp.handle_arp(ms(1), &reply_from(PEER, PEER_MAC), &[OURS]);
    assert_eq!(arp.queued_len(), 4);
    assert_eq!(
        arp.resolve(ms(1), FOURTH, OURS, 21),
        Resolve::Refused(21, ArpDropReason::QueueFull)
    );
    assert_eq!(released(&mut arp).len(), 3);
    assert_eq!(
        arp.resolve(ms(2), FOURTH, OURS, 22),
        Resolve::Queued { displaced: None }
    );
    assert_eq!(arp.stats().queue_overflow, 3);
    arp.check_invariants();
}

#[test]
fn incomplete_entries_are_bounded() {
    let mut arp = cache_with(ArpConfig {
        max_incomplete: 2,
        ..ArpConfig::default()
    });
    assert_eq!(arp.lookup(ms(0), PEER, OURS), None);
    assert_eq!(arp.lookup(ms(0), THIRD, OURS), None);
    assert_eq!(
        arp.resolve(ms(0), FOURTH, OURS, 1),
        Resolve::Refused(1, ArpDropReason::NoRoom)
    );
    assert_eq!(arp.incomplete_len(), 2);
    assert_eq!(arp.len(), 2);
    assert_eq!(arp.stats().no_room, 1);
    // Once one resolves there is room again.
    arp.handle_arp(ms(1), &reply_from(PEER, PEER_MAC), &[OURS]);
    assert_eq!(
        arp.resolve(ms(1), FOURTH, OURS, 2),
        Resolve::Queued { displaced: None }
    );
}

#[test]
fn unresolvable_and_group_addresses() {
    let mut arp = cache();
    assert_eq!(
        arp.resolve(ms(0), Ipv4Addr::UNSPECIFIED, OURS, 1),
        Resolve::Refused(1, ArpDropReason::Unresolvable)
    );
    assert_eq!(
        arp.resolve(ms(0), Ipv4Addr::LOCALHOST, OURS, 2),
        Resolve::Refused(2, ArpDropReason::Unresolvable)
    );
    assert_eq!(
        arp.resolve(ms(0), Ipv4Addr::BROADCAST, OURS, 3),
        Resolve::Send(EthernetAddress::BROADCAST, 3)
    );
    let group = Ipv4Addr::new(239, 129, 2, 3);
    let mapped = EthernetAddress::new(0x01, 0x00, 0x5e, 0x01, 0x02, 0x03);
    assert_eq!(arp.resolve(ms(0), group, OURS, 4), Resolve::Send(mapped, 4));
    assert_eq!(arp.stats().unresolvable, 2);
    assert_eq!((arp.stats().cache_hits, arp.stats().cache_misses), (0, 0));
    assert!(arp.is_empty() && transmits(&mut arp, ms(0)).is_empty());
}

#[test]
fn full_cache_evicts_least_recently_used() {
    let mut arp = cache_with(ArpConfig {
        capacity: 3,
        ..ArpConfig::default()
    });
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    resolved(&mut arp, ms(1), THIRD, OTHER_MAC);
    resolved(&mut arp, ms(2), FOURTH, OTHER_MAC);
    // PEER is used again, so THIRD is now the least recently used.
    assert_eq!(arp.lookup(ms(3), PEER, OURS), Some(PEER_MAC));
    let fifth = Ipv4Addr::new(10, 0, 0, 5);
    assert_eq!(arp.lookup(ms(4), fifth, OURS), None);
    assert_eq!(arp.len(), 3);
    assert_eq!(arp.neighbour(THIRD), None);
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::NeighbourRemoved {
            addr: THIRD,
            hardware_addr: OTHER_MAC,
            reason: RemovalReason::Evicted
        }]
    );
    assert_eq!(arp.stats().entries_evicted, 1);
    // Learning from a request to us evicts too (FOURTH is next).
    arp.handle_arp(ms(5), &request_from(THIRD, OTHER_MAC, OURS), &[OURS]);
    assert_eq!(state(&arp, THIRD), Some(NeighbourState::Stale));
    assert_eq!(arp.neighbour(FOURTH), None);
    arp.check_invariants();
}

#[test]
fn incomplete_and_permanent_entries_are_never_evicted() {
    let mut arp = cache_with(ArpConfig {
        capacity: 2,
        ..ArpConfig::default()
    });
    arp.insert_permanent(ms(0), PEER, PEER_MAC).unwrap();
    assert_eq!(arp.lookup(ms(0), THIRD, OURS), None);
    assert_eq!(
        arp.resolve(ms(0), FOURTH, OURS, 1),
        Resolve::Refused(1, ArpDropReason::NoRoom)
    );
    arp.handle_arp(ms(0), &request_from(FOURTH, OTHER_MAC, OURS), &[OURS]);
    assert_eq!(arp.stats().rx_cache_full, 1);
    assert_eq!(arp.neighbour(FOURTH), None);
    // The request is still answered.
    let tx = transmits(&mut arp, ms(0));
    assert_eq!(tx.last().unwrap().kind, TransmitKind::Reply);
    assert_eq!(
        arp.insert_permanent(ms(0), FOURTH, OTHER_MAC),
        Err(ArpDropReason::NoRoom)
    );
    assert_eq!(arp.len(), 2);
}

#[test]
fn reachable_becomes_stale_then_is_removed_when_unused() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    // The retry timer of the INCOMPLETE entry may still be reported (early).
    assert_eq!(arp.poll_at(), Some(secs(1)));
    arp.handle_timeout(secs(1));
    assert_eq!(arp.poll_at(), Some(secs(30)));
    arp.handle_timeout(ms(29_999));
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Reachable));
    arp.handle_timeout(secs(30));
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Stale));
    // Unused since t=0: removed at stale_time after the last use.
    assert_eq!(arp.poll_at(), Some(secs(60)));
    arp.handle_timeout(secs(60));
    assert_eq!(arp.neighbour(PEER), None);
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::NeighbourRemoved {
            addr: PEER,
            hardware_addr: PEER_MAC,
            reason: RemovalReason::Expired
        }]
    );
    assert_eq!(arp.stats().entries_expired, 1);
    assert_eq!(arp.poll_at(), None);
}

#[test]
fn a_late_timeout_runs_every_due_step_at_once() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    // Nothing ran for two minutes: REACHABLE → STALE → removed in one call.
    arp.handle_timeout(secs(120));
    assert_eq!(arp.neighbour(PEER), None);
    assert_eq!(arp.poll_at(), None);
}

#[test]
fn using_a_stale_entry_polls_it_by_unicast() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    arp.handle_timeout(secs(31));
    assert_eq!(
        arp.lookup(secs(31), PEER, OURS),
        Some(PEER_MAC),
        "STALE is still used"
    );
    let tx = transmits(&mut arp, secs(31));
    assert_eq!(tx.len(), 1);
    assert_eq!(tx[0].kind, TransmitKind::Refresh);
    assert_eq!(tx[0].dst_addr, PEER_MAC, "unicast poll");
    assert_eq!(tx[0].repr, request_from(OURS, OUR_MAC, PEER));
    // Further use during the poll sends nothing more.
    assert_eq!(arp.lookup(ms(31_500), PEER, OURS), Some(PEER_MAC));
    assert!(transmits(&mut arp, ms(31_500)).is_empty());
    // The answer confirms it.
    arp.handle_arp(ms(31_600), &reply_from(PEER, PEER_MAC), &[OURS]);
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Reachable));
    assert!(transmits(&mut arp, secs(40)).is_empty());
    assert!(events(&mut arp).is_empty(), "same address: no event");
    assert_eq!(arp.stats().requests_sent, 2);
}

#[test]
fn unanswered_unicast_polls_remove_the_entry() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    arp.handle_timeout(secs(30));
    assert_eq!(arp.lookup(secs(30), PEER, OURS), Some(PEER_MAC));
    assert_eq!(transmits(&mut arp, secs(30)).len(), 1);
    assert_eq!(transmits(&mut arp, secs(31)).len(), 1);
    assert_eq!(transmits(&mut arp, secs(32)).len(), 1);
    assert!(transmits(&mut arp, secs(33)).is_empty());
    assert_eq!(arp.neighbour(PEER), None);
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::NeighbourRemoved {
            addr: PEER,
            hardware_addr: PEER_MAC,
            reason: RemovalReason::Unreachable
        }]
    );
    assert_eq!(arp.stats().refresh_failures, 1);
    // The next packet goes through a fresh broadcast resolution.
    assert!(matches!(
        arp.resolve(secs(34), PEER, OURS, 1),
        Resolve::Queued { .. }
    ));
    assert_eq!(
        transmits(&mut arp, secs(34))[0].dst_addr,
        EthernetAddress::BROADCAST
    );
}

#[test]
fn confirm_is_upper_layer_advice() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    arp.handle_timeout(secs(30));
    arp.confirm(secs(45), PEER);
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Reachable));
    arp.handle_timeout(secs(74));
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Reachable));
    arp.handle_timeout(secs(75));
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Stale));
    // Confirming an unknown address does nothing.
    arp.confirm(secs(75), THIRD);
    assert_eq!(arp.neighbour(THIRD), None);
    arp.check_invariants();
}

#[test]
fn permanent_entries_stay_put() {
    let mut arp = cache();
    let _ = arp.resolve(ms(0), PEER, OURS, 1);
    arp.insert_permanent(ms(1), PEER, PEER_MAC).unwrap();
    assert_eq!(released(&mut arp), vec![(PEER_MAC, 1)]);
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Permanent));
    arp.handle_arp(secs(10), &reply_from(PEER, OTHER_MAC), &[OURS]);
    arp.handle_timeout(secs(3_600));
    assert_eq!(arp.lookup(secs(3_600), PEER, OURS), Some(PEER_MAC));
    assert_eq!(arp.poll_at(), None);
    assert_eq!(
        arp.insert_permanent(ms(0), Ipv4Addr::BROADCAST, PEER_MAC),
        Err(ArpDropReason::Unresolvable)
    );
    assert_eq!(
        arp.insert_permanent(ms(0), THIRD, EthernetAddress::BROADCAST),
        Err(ArpDropReason::Unresolvable)
    );
    // Overwriting reports the change.
    events(&mut arp);
    arp.insert_permanent(secs(3_601), PEER, OTHER_MAC).unwrap();
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::NeighbourChanged {
            addr: PEER,
            old: PEER_MAC,
            new: OTHER_MAC
        }]
    );
}

#[test]
fn remove_and_flush() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    let _ = arp.resolve(ms(0), THIRD, OURS, 1);
    let _ = arp.resolve(ms(0), THIRD, OURS, 2);
    assert!(arp.remove(PEER));
    assert!(!arp.remove(PEER));
    arp.flush();
    assert!(arp.is_empty());
    assert_eq!(arp.queued_len(), 0);
    assert_eq!(
        events(&mut arp),
        vec![
            ArpEvent::NeighbourRemoved {
                addr: PEER,
                hardware_addr: PEER_MAC,
                reason: RemovalReason::Flushed
            },
            ArpEvent::ResolutionFailed {
                addr: THIRD,
                dropped: 2,
                unreachable: 0,
            },
        ]
    );
    assert_eq!(arp.stats().queue_failed, 2);
    // Flushed packets are dropped, not handed back.
    assert_eq!(arp.poll_unreachable(), None);
    assert_eq!(arp.stats().unreachable_returned, 0);
    arp.check_invariants();
}

#[test]
fn outputs_are_bounded() {
    let config = ArpConfig {
        transmit_capacity: 2,
        event_capacity: 2,
        ..ArpConfig::default()
    };
    let mut arp = cache_with(config);
    for host in 2..=5 {
        assert_eq!(arp.lookup(ms(0), Ipv4Addr::new(10, 0, 0, host), OURS), None);
    }
    assert_eq!(arp.stats().tx_overflow, 2);
    for host in 2..=5 {
        let addr = Ipv4Addr::new(10, 0, 0, host);
        arp.handle_arp(ms(1), &reply_from(addr, PEER_MAC), &[OURS]);
    }
    assert_eq!(arp.stats().events_dropped, 2);
    let kept = events(&mut arp);
    assert_eq!(kept.len(), 2);
    assert_eq!(
        kept[1],
        ArpEvent::NeighbourAdded {
            addr: Ipv4Addr::new(10, 0, 0, 5),
            hardware_addr: PEER_MAC
        },
        "the oldest events give way"
    );
    assert_eq!(transmits(&mut arp, ms(1)).len(), 2);
    assert_eq!(
        arp.stats().requests_sent,
        2,
        "only frames handed out count as sent"
    );
}

#[test]
fn poll_at_may_be_early_but_never_late() {
    let mut arp = cache();
    assert_eq!(arp.poll_at(), None);
    let _ = arp.lookup(ms(0), PEER, OURS);
    assert_eq!(transmits(&mut arp, ms(0)).len(), 1);
    assert_eq!(arp.poll_at(), Some(secs(1)));
    arp.handle_arp(ms(10), &reply_from(PEER, PEER_MAC), &[OURS]);
    // The retry timer is gone; the reported deadline is stale but early.
    assert_eq!(arp.poll_at(), Some(secs(1)));
    arp.handle_timeout(secs(1));
    assert_eq!(arp.poll_at(), Some(ms(30_010)));
    assert!(transmits(&mut arp, secs(1)).is_empty());
}

#[test]
fn config_is_clamped() {
    let config = ArpConfig {
        capacity: 0,
        max_incomplete: 9,
        retransmit_interval: Duration::ZERO,
        max_requests: 0,
        max_probes: 0,
        queue_per_neighbour: 8,
        queue_total: 2,
        transmit_capacity: 0,
        event_capacity: 0,
        ..ArpConfig::default()
    };
    let arp = cache_with(config);
    let c = arp.config();
    assert_eq!((c.capacity, c.max_incomplete), (1, 1));
    assert_eq!(c.retransmit_interval, Duration::from_millis(1));
    assert_eq!((c.max_requests, c.max_probes), (1, 1));
    assert_eq!((c.queue_per_neighbour, c.queue_total), (8, 8));
    assert_eq!((c.transmit_capacity, c.event_capacity), (1, 1));
    assert_eq!(arp.hardware_addr(), OUR_MAC);
}

#[test]
fn listing_and_display() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    let _ = arp.resolve(ms(0), THIRD, OURS, 1);
    let listed: Vec<_> = arp.neighbours().collect();
    assert_eq!(
        listed,
        vec![
            Neighbour {
                addr: PEER,
                hardware_addr: Some(PEER_MAC),
                state: NeighbourState::Reachable,
                queued: 0
            },
            Neighbour {
                addr: THIRD,
                hardware_addr: None,
                state: NeighbourState::Incomplete,
                queued: 1
            },
        ]
    );
    assert_eq!(NeighbourState::Stale.to_string(), "STALE");
    assert_eq!(ArpDropReason::QueueFull.to_string(), "queue_overflow");
}
