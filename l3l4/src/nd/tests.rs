//! Deterministic simulated-time tests of the neighbour cache: every transition
//! of RFC 4861 Appendix C with its timer edges, the NA rules of §7.2.5 as a
//! table, answers to solicitations parsed back with the wire parsers, and the
//! bounds.
//!
//! Appendix C, row by row:
//!
//! | state        | event                                   | test |
//! |--------------|-----------------------------------------|------|
//! | -            | packet to send                          | `miss_sends_multicast_ns_to_solicited_node_group` |
//! | INCOMPLETE   | retransmit timeout, < N / ≥ N           | `incomplete_retransmits_every_retrans_timer_then_gives_up` |
//! | INCOMPLETE   | NA S=0 / S=1                            | `incomplete_with_unsolicited_na_becomes_stale`, `incomplete_with_solicited_na_becomes_reachable_and_releases` |
//! | !INCOMPLETE  | NA, every S/O/address combination       | `na_rules_of_section_7_2_5` (and IsRouter: `na_router_flag_updates_is_router_and_reports_a_lost_router`) |
//! | !INCOMPLETE  | upper-layer confirmation                | `delay_confirmed_by_upper_layer_goes_reachable_without_probing`, `appendix_c_remaining_rows` |
//! | INCOMPLETE   | upper-layer confirmation (ignored)      | `confirm_needs_a_resolved_entry` |
//! | -            | NS, RS, RA, redirect with an address    | `ns_for_us_is_answered_and_its_sender_learnt_stale`, `ra_and_redirect_link_layer_addresses_are_learnt`, `appendix_c_remaining_rows` |
//! | INCOMPLETE   | NS, RS, RA, redirect with an address    | `ns_resolves_an_incomplete_entry_as_stale` |
//! | INCOMPLETE   | NS, RS, RA, redirect without one        | `appendix_c_remaining_rows` |
//! | !INCOMPLETE  | NS, RS, RA, redirect, different / same  | `ns_with_a_new_lladdr_updates_to_stale_and_same_lladdr_changes_nothing` |
//! | REACHABLE    | timeout                                 | `reachable_becomes_stale_exactly_at_reachable_time` |
//! | REACHABLE    | sending packet (unchanged)              | `appendix_c_remaining_rows` |
//! | STALE        | sending packet → DELAY                  | `stale_used_goes_delay_then_probe_then_removed` |
//! | DELAY        | delay timeout → PROBE                   | `stale_used_goes_delay_then_probe_then_removed` |
//! | PROBE        | retransmit timeout, < N / ≥ N           | `stale_used_goes_delay_then_probe_then_removed` |
//! | -            | NA (ignored)                            | `unsolicited_na_for_an_unknown_neighbour_creates_nothing` |

use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Instant};

use super::*;
use crate::checksum::ChecksumCaps;
use crate::wire::frames_v6;
use crate::wire::ipv6::{Packet as Ipv6Packet, Repr as Ipv6Repr, LINK_LOCAL_ALL_NODES};
use crate::wire::ndisc::{NeighborFlags, Packet as NdiscPacket};
use crate::wire::IpProtocol;

pub(super) const OUR_MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x01);
pub(super) const PEER_MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x02);
const OTHER_MAC: EthernetAddress = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x03);
pub(super) const OURS: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1);
pub(super) const PEER: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2);
const THIRD: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 3);
const FOURTH: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 4);

fn ms(millis: u64) -> Instant {
    Instant::from_millis(millis)
}

fn secs(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

/// One nanosecond before `at`.
fn just_before(at: Instant) -> Instant {
    Instant::from_duration(at.since_epoch() - Duration::from_nanos(1))
}

fn cache() -> NdCache<u32> {
    NdCache::new(NdConfig::default(), OUR_MAC)
}

fn cache_with(config: NdConfig) -> NdCache<u32> {
    NdCache::new(config, OUR_MAC)
}

fn transmits(nd: &mut NdCache<u32>, now: Instant) -> Vec<NdTransmit> {
    let out: Vec<_> = core::iter::from_fn(|| nd.poll_transmit(now)).collect();
    nd.check_invariants().unwrap();
    out
}

fn events(nd: &mut NdCache<u32>) -> Vec<NdEvent> {
    core::iter::from_fn(|| nd.poll_event()).collect()
}

fn released(nd: &mut NdCache<u32>) -> Vec<(EthernetAddress, u32)> {
    core::iter::from_fn(|| nd.poll_released()).collect()
}

fn unreachable(nd: &mut NdCache<u32>) -> Vec<(Ipv6Addr, u32)> {
    core::iter::from_fn(|| nd.poll_unreachable()).collect()
}

/// Runs every timer due up to `until`, at its deadline.
fn run_until(nd: &mut NdCache<u32>, until: Instant) {
    while let Some(at) = nd.poll_at().filter(|&at| at <= until) {
        nd.handle_timeout(at);
        nd.check_invariants().unwrap();
    }
}

fn state(nd: &NdCache<u32>, addr: Ipv6Addr) -> Option<NdState> {
    nd.neighbour(addr).map(|n| n.state)
}

fn lladdr_of(nd: &NdCache<u32>, addr: Ipv6Addr) -> Option<EthernetAddress> {
    nd.neighbour(addr).and_then(|n| n.lladdr)
}

fn na(
    router: bool,
    solicited: bool,
    override_: bool,
    lladdr: Option<EthernetAddress>,
) -> NdiscRepr {
    na_for(PEER, router, solicited, override_, lladdr)
}

fn na_for(
    target: Ipv6Addr,
    router: bool,
    solicited: bool,
    override_: bool,
    lladdr: Option<EthernetAddress>,
) -> NdiscRepr {
    NdiscRepr::NeighborAdvert {
        flags: NeighborFlags {
            router,
            solicited,
            override_,
        },
        target_addr: target,
        lladdr: lladdr.map(|mac| *mac.as_bytes()),
    }
}

fn ns(target: Ipv6Addr, lladdr: Option<EthernetAddress>) -> NdiscRepr {
    NdiscRepr::NeighborSolicit {
        target_addr: target,
        lladdr: lladdr.map(|mac| *mac.as_bytes()),
    }
}

/// Emits `tx` and parses it back with the wire parsers, the ICMPv6 checksum
/// checked in software and the hop limit 255 required by `validate`.
fn parse_back(tx: &NdTransmit) -> (EthernetRepr, Ipv6Repr, NdiscRepr) {
    let mut buf = [0u8; 256];
    let len = tx.emit(&mut buf).unwrap();
    assert_eq!(len, tx.buffer_len());
    let frame = EthernetFrame::new_checked(&buf[..len]).unwrap();
    let eth = EthernetRepr::parse(&frame).unwrap();
    assert_eq!(eth.ethertype, EtherType::Ipv6);
    let ip = Ipv6Packet::new_checked(frame.payload()).unwrap();
    let ip_repr = Ipv6Repr::parse(&ip).unwrap();
    assert_eq!(ip_repr.hop_limit, 255);
    assert_eq!(ip_repr.next_header, IpProtocol::Icmpv6);
    assert_eq!(ip_repr.payload_len, len - 54);
    let message = NdiscPacket::new_checked(ip.payload()).unwrap();
    assert!(message.verify_checksum(&ip_repr.src_addr, &ip_repr.dst_addr));
    let repr = NdiscRepr::parse(
        &message,
        &ip_repr.src_addr,
        &ip_repr.dst_addr,
        ip_repr.hop_limit,
        &ChecksumCaps::software(),
    )
    .unwrap();
    (eth, ip_repr, repr)
}

/// Parses a captured IPv6 frame (from the IPv6 header) into (src, dst, repr).
fn parse_captured(bytes: &[u8]) -> (Ipv6Addr, Ipv6Addr, NdiscRepr) {
    let ip = Ipv6Packet::new_checked(bytes).unwrap();
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let message = NdiscPacket::new_checked(ip.payload()).unwrap();
    let repr = NdiscRepr::parse(
        &message,
        &src,
        &dst,
        ip.hop_limit(),
        &ChecksumCaps::software(),
    )
    .unwrap();
    (src, dst, repr)
}

/// A cache with PEER resolved into `initial` (REACHABLE, STALE, DELAY or PROBE)
/// at PEER_MAC, IsRouter `router`; returns the time reached. Outputs drained.
fn with_peer_in(initial: NdState, router: bool) -> (NdCache<u32>, Instant) {
    let mut nd = cache();
    let t = ms(0);
    let _ = nd.lookup(t, PEER, OURS);
    let solicited = initial == NdState::Reachable;
    nd.handle_na(
        t,
        PEER,
        OURS,
        &na(router, solicited, true, Some(PEER_MAC)),
        &[OURS],
    );
    let mut now = t;
    if matches!(initial, NdState::Delay | NdState::Probe) {
        assert_eq!(nd.lookup(now, PEER, OURS), Some(PEER_MAC));
    }
    if initial == NdState::Probe {
        now = secs(5);
        nd.handle_timeout(now);
    }
    transmits(&mut nd, now);
    events(&mut nd);
    assert_eq!(state(&nd, PEER), Some(initial));
    (nd, now)
}

// ---- address resolution (§7.2.2) and INCOMPLETE ----

#[test]
fn miss_sends_multicast_ns_to_solicited_node_group() {
    let mut nd = cache();
    assert_eq!(
        nd.resolve(ms(0), PEER, OURS, 7),
        NdResolve::Queued { displaced: None }
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Incomplete));
    let out = transmits(&mut nd, ms(0));
    assert_eq!(out.len(), 1);
    let ns = out[0];
    assert_eq!(ns.kind, NdTransmitKind::Solicit);
    let (eth, ip, repr) = parse_back(&ns);
    assert_eq!(eth.src_addr, OUR_MAC);
    assert_eq!(
        eth.dst_addr,
        EthernetAddress::new(0x33, 0x33, 0xff, 0, 0, 2)
    );
    assert_eq!(ip.src_addr, OURS);
    assert_eq!(ip.dst_addr, "ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap());
    assert_eq!(
        repr,
        NdiscRepr::NeighborSolicit {
            target_addr: PEER,
            lladdr: Some(*OUR_MAC.as_bytes()),
        }
    );
    assert_eq!(nd.stats().solicits_sent, 1);
    assert_eq!(nd.stats().cache_misses, 1);
}

#[test]
fn emitted_ns_matches_the_kernels_bytes() {
    // Host A's NS for fd00:9::2 from the capture, rebuilt by our cache.
    let a_mac = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x01);
    let a: Ipv6Addr = "fd00:9::ff:fe00:901".parse().unwrap();
    let mut nd: NdCache<u32> = NdCache::new(NdConfig::default(), a_mac);
    let _ = nd.lookup(ms(0), PEER, a);
    let tx = nd.poll_transmit(ms(0)).unwrap();
    let mut buf = [0u8; 128];
    let len = tx.emit(&mut buf).unwrap();
    assert_eq!(&buf[14..len], &frames_v6::NS[..]);
}

#[test]
fn incomplete_retransmits_every_retrans_timer_then_gives_up() {
    let mut nd = cache();
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    let _ = nd.resolve(ms(10), PEER, OURS, 2);
    assert_eq!(transmits(&mut nd, ms(10)).len(), 1);
    assert_eq!(nd.poll_at(), Some(ms(1000)));
    assert!(transmits(&mut nd, just_before(ms(1000))).is_empty());
    let second = transmits(&mut nd, ms(1000));
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].kind, NdTransmitKind::Solicit);
    assert!(transmits(&mut nd, just_before(ms(2000))).is_empty());
    assert_eq!(transmits(&mut nd, ms(2000)).len(), 1);
    // MAX_MULTICAST_SOLICIT = 3 sent: one more RetransTimer, then give up.
    assert!(transmits(&mut nd, just_before(ms(3000))).is_empty());
    assert_eq!(state(&nd, PEER), Some(NdState::Incomplete));
    assert!(transmits(&mut nd, ms(3000)).is_empty());
    assert_eq!(state(&nd, PEER), None);
    assert_eq!(
        events(&mut nd),
        vec![NdEvent::ResolutionFailed {
            addr: PEER,
            dropped: 0,
            unreachable: 2,
        }]
    );
    let stats = nd.stats();
    assert_eq!(stats.solicits_sent, 3);
    assert_eq!(stats.resolution_failures, 1);
    // §7.2.2: the waiting packets are handed back for ICMPv6 errors, not dropped.
    assert_eq!(stats.resolution_failed, 0);
    assert_eq!(nd.queued_len(), 0);
    assert_eq!(nd.unreachable_len(), 2);
    assert_eq!(unreachable(&mut nd), vec![(PEER, 1), (PEER, 2)]);
    assert_eq!(nd.stats().unreachable_returned, 2);
    assert_eq!(nd.stats().dropped(), 0);
    assert_eq!(nd.poll_at(), None);
}

#[test]
fn give_up_hands_back_each_neighbours_packets_in_order() {
    let mut nd = cache();
    for packet in 1..=3 {
        let _ = nd.resolve(ms(0), PEER, OURS, packet);
    }
    let _ = nd.resolve(ms(500), THIRD, OURS, 10);
    let _ = nd.resolve(ms(600), PEER, OURS, 4);
    // A neighbour that answers keeps its packets out of the failed ones.
    let _ = nd.resolve(ms(700), FOURTH, OURS, 20);
    nd.handle_na(
        ms(800),
        FOURTH,
        OURS,
        &na_for(FOURTH, false, true, true, Some(OTHER_MAC)),
        &[OURS],
    );
    assert_eq!(released(&mut nd), vec![(OTHER_MAC, 20)]);
    // PEER gives up at 3 s (three NS, RetransTimer 1 s apart), THIRD at 3.5 s.
    run_until(&mut nd, just_before(ms(3_000)));
    assert_eq!(nd.poll_unreachable(), None);
    run_until(&mut nd, ms(3_000));
    assert_eq!(nd.queued_len(), 1);
    assert_eq!(
        unreachable(&mut nd),
        vec![(PEER, 1), (PEER, 2), (PEER, 3), (PEER, 4)]
    );
    run_until(&mut nd, ms(3_500));
    assert_eq!(unreachable(&mut nd), vec![(THIRD, 10)]);
    assert_eq!(nd.queued_len(), 0);
    let stats = *nd.stats();
    assert_eq!(stats.unreachable_returned, 5);
    assert_eq!(stats.resolution_failures, 2);
    assert_eq!((stats.resolution_failed, stats.queue_drops()), (0, 0));
    assert!(stats.drop_reasons().iter().all(|&(_, n)| n == 0));
}

#[test]
fn unpolled_unreachable_packets_are_bounded() {
    let mut nd = cache_with(NdConfig {
        queue_per_neighbour: 2,
        queue_total: 3,
        ..NdConfig::default()
    });
    // Two neighbours give up with two packets each; the caller never polls.
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    let _ = nd.resolve(ms(0), PEER, OURS, 2);
    run_until(&mut nd, ms(3_000));
    assert_eq!(nd.unreachable_len(), 2);
    let _ = nd.resolve(ms(3_000), THIRD, OURS, 3);
    let _ = nd.resolve(ms(3_000), THIRD, OURS, 4);
    run_until(&mut nd, ms(6_000));
    // Bounded by queue_total: the oldest went, counted as a failure drop.
    assert_eq!(nd.unreachable_len(), 3);
    assert_eq!(nd.stats().resolution_failed, 1);
    assert_eq!(nd.stats().dropped(), 1);
    assert_eq!(
        events(&mut nd),
        vec![
            NdEvent::ResolutionFailed {
                addr: PEER,
                dropped: 0,
                unreachable: 2,
            },
            NdEvent::ResolutionFailed {
                addr: THIRD,
                dropped: 0,
                unreachable: 2,
            },
        ]
    );
    // The failed packets do not count against queue_total: new ones wait.
    assert_eq!(
        nd.resolve(ms(6_000), FOURTH, OURS, 5),
        NdResolve::Queued { displaced: None }
    );
    assert_eq!(
        unreachable(&mut nd),
        vec![(PEER, 2), (THIRD, 3), (THIRD, 4)]
    );
    assert_eq!(nd.stats().unreachable_returned, 3);
}

#[test]
fn incomplete_with_solicited_na_becomes_reachable_and_releases() {
    let mut nd = cache();
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    let _ = nd.resolve(ms(1), PEER, OURS, 2);
    nd.handle_na(
        ms(5),
        PEER,
        OURS,
        &na(false, true, false, Some(PEER_MAC)),
        &[OURS],
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Reachable));
    assert_eq!(released(&mut nd), vec![(PEER_MAC, 1), (PEER_MAC, 2)]);
    assert_eq!(
        events(&mut nd),
        vec![NdEvent::NeighbourAdded {
            addr: PEER,
            lladdr: PEER_MAC,
            is_router: false
        }]
    );
    assert_eq!(
        nd.resolve(ms(6), PEER, OURS, 3),
        NdResolve::Send(PEER_MAC, 3)
    );
    nd.check_invariants().unwrap();
}

#[test]
fn incomplete_with_unsolicited_na_becomes_stale() {
    let mut nd = cache();
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    nd.handle_na(
        ms(5),
        PEER,
        LINK_LOCAL_ALL_NODES,
        &na(false, false, true, Some(PEER_MAC)),
        &[OURS],
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
    assert_eq!(released(&mut nd), vec![(PEER_MAC, 1)]);
}

#[test]
fn incomplete_na_without_lladdr_is_dropped() {
    let mut nd = cache();
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    nd.handle_na(ms(5), PEER, OURS, &na(false, true, true, None), &[OURS]);
    assert_eq!(state(&nd, PEER), Some(NdState::Incomplete));
    assert_eq!(nd.stats().na_no_lladdr, 1);
    assert!(released(&mut nd).is_empty());
}

#[test]
fn captured_solicited_na_from_a_router_resolves() {
    let (src, dst, repr) = parse_captured(&frames_v6::NA);
    let a: Ipv6Addr = "fd00:9::ff:fe00:901".parse().unwrap();
    assert_eq!(dst, a);
    let mut nd = cache();
    let _ = nd.resolve(ms(0), src, a, 9);
    nd.handle_na(ms(2), src, dst, &repr, &[a]);
    let n = nd.neighbour(src).unwrap();
    assert_eq!(
        (n.state, n.lladdr, n.is_router),
        (NdState::Reachable, Some(PEER_MAC), true)
    );
    assert_eq!(released(&mut nd), vec![(PEER_MAC, 9)]);
}

// ---- neighbour unreachability detection (§7.3) ----

#[test]
fn reachable_becomes_stale_exactly_at_reachable_time() {
    let (mut nd, _) = with_peer_in(NdState::Reachable, false);
    let until = ms(0) + nd.reachable_time();
    // poll_at may be early (the INCOMPLETE retransmission that was cancelled)
    // until the timers run once; then it is exact.
    nd.handle_timeout(secs(1));
    assert_eq!(nd.poll_at(), Some(until));
    nd.handle_timeout(just_before(until));
    assert_eq!(state(&nd, PEER), Some(NdState::Reachable));
    nd.handle_timeout(until);
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
    // STALE, unused: garbage-collected stale_time after it went STALE.
    let gc = until + Duration::from_secs(60);
    assert_eq!(nd.poll_at(), Some(gc));
    nd.handle_timeout(just_before(gc));
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
    nd.handle_timeout(gc);
    assert_eq!(state(&nd, PEER), None);
    assert_eq!(
        events(&mut nd),
        vec![NdEvent::NeighbourRemoved {
            addr: PEER,
            lladdr: PEER_MAC,
            reason: NdRemovalReason::Expired
        }]
    );
    assert_eq!(nd.stats().entries_expired, 1);
    assert!(transmits(&mut nd, gc).is_empty());
}

#[test]
fn stale_used_goes_delay_then_probe_then_removed() {
    let (mut nd, _) = with_peer_in(NdState::Stale, false);
    // Using a STALE entry: hit, → DELAY, nothing sent yet.
    assert_eq!(
        nd.resolve(secs(10), PEER, OURS, 1),
        NdResolve::Send(PEER_MAC, 1)
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Delay));
    assert!(transmits(&mut nd, secs(10)).is_empty());
    // Using it again in DELAY changes nothing.
    assert_eq!(nd.lookup(secs(12), PEER, OURS), Some(PEER_MAC));
    assert_eq!(nd.poll_at(), Some(secs(15)));
    assert!(transmits(&mut nd, just_before(secs(15))).is_empty());
    assert_eq!(state(&nd, PEER), Some(NdState::Delay));
    // DELAY_FIRST_PROBE_TIME later: PROBE and the first unicast NS.
    let probes = transmits(&mut nd, secs(15));
    assert_eq!(state(&nd, PEER), Some(NdState::Probe));
    assert_eq!(probes.len(), 1);
    assert_eq!(probes[0].kind, NdTransmitKind::Probe);
    let (eth, ip, repr) = parse_back(&probes[0]);
    assert_eq!(
        (eth.dst_addr, ip.src_addr, ip.dst_addr),
        (PEER_MAC, OURS, PEER)
    );
    assert_eq!(repr, ns(PEER, Some(OUR_MAC)));
    // Using it in PROBE: still a hit, no change.
    assert_eq!(nd.lookup(ms(15_500), PEER, OURS), Some(PEER_MAC));
    assert!(transmits(&mut nd, just_before(secs(16))).is_empty());
    assert_eq!(transmits(&mut nd, secs(16)).len(), 1);
    assert!(transmits(&mut nd, just_before(secs(17))).is_empty());
    assert_eq!(transmits(&mut nd, secs(17)).len(), 1);
    // MAX_UNICAST_SOLICIT = 3 probes sent: removed one RetransTimer later.
    assert!(transmits(&mut nd, just_before(secs(18))).is_empty());
    assert_eq!(state(&nd, PEER), Some(NdState::Probe));
    assert!(transmits(&mut nd, secs(18)).is_empty());
    assert_eq!(state(&nd, PEER), None);
    assert_eq!(
        events(&mut nd),
        vec![NdEvent::NeighbourRemoved {
            addr: PEER,
            lladdr: PEER_MAC,
            reason: NdRemovalReason::Unreachable
        }]
    );
    assert_eq!(nd.stats().probes_sent, 3);
    assert_eq!(nd.stats().probe_failures, 1);
    // Nothing waits for a PROBE entry, so nothing is handed back.
    assert_eq!(nd.poll_unreachable(), None);
}

#[test]
fn delay_confirmed_by_upper_layer_goes_reachable_without_probing() {
    let (mut nd, _) = with_peer_in(NdState::Delay, false);
    assert!(nd.confirm(secs(2), PEER));
    assert_eq!(state(&nd, PEER), Some(NdState::Reachable));
    assert!(transmits(&mut nd, secs(5)).is_empty());
    assert_eq!(nd.stats().probes_sent, 0);
}

#[test]
fn probe_answered_by_solicited_na_goes_reachable() {
    let (mut nd, now) = with_peer_in(NdState::Probe, false);
    nd.handle_na(
        now + Duration::from_millis(3),
        PEER,
        OURS,
        &na(false, true, false, None),
        &[OURS],
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Reachable));
    assert!(transmits(&mut nd, secs(7)).is_empty());
}

#[test]
fn confirm_needs_a_resolved_entry() {
    let mut nd = cache();
    assert!(!nd.confirm(ms(0), PEER));
    let _ = nd.lookup(ms(0), PEER, OURS);
    assert!(!nd.confirm(ms(1), PEER));
    assert_eq!(state(&nd, PEER), Some(NdState::Incomplete));
    nd.insert_permanent(THIRD, OTHER_MAC, false).unwrap();
    assert!(!nd.confirm(ms(3), THIRD));
    assert_eq!(state(&nd, THIRD), Some(NdState::Permanent));
}

#[test]
fn reachable_time_is_randomised_per_seed_and_redrawn() {
    let draw = |seed| {
        NdCache::<u32>::new(
            NdConfig {
                seed,
                ..NdConfig::default()
            },
            OUR_MAC,
        )
        .reachable_time()
    };
    let times: Vec<Duration> = (0..50).map(draw).collect();
    for t in &times {
        assert!(
            *t >= Duration::from_secs(15) && *t < Duration::from_secs(45),
            "{t:?}"
        );
    }
    assert_eq!(draw(7), draw(7));
    let distinct: std::collections::BTreeSet<_> = times.iter().collect();
    assert!(distinct.len() > 40);
    let mut nd = cache();
    nd.set_base_reachable_time(ms(0), Duration::from_secs(10));
    let t = nd.reachable_time();
    assert!(t >= Duration::from_secs(5) && t < Duration::from_secs(15));
    assert_eq!(nd.config().base_reachable_time, Duration::from_secs(10));
    // Zero means unspecified; an hour is the most.
    nd.set_base_reachable_time(ms(0), Duration::ZERO);
    assert_eq!(nd.config().base_reachable_time, Duration::from_secs(10));
    nd.set_base_reachable_time(ms(0), Duration::from_secs(100_000));
    assert_eq!(nd.config().base_reachable_time, MAX_REACHABLE_TIME);
    nd.check_invariants().unwrap();
}

#[test]
fn reachable_time_is_redrawn_every_few_hours() {
    let (mut nd, _) = with_peer_in(NdState::Reachable, false);
    let first = nd.reachable_time();
    assert!(nd.confirm(secs(1), PEER));
    assert_eq!(nd.reachable_time(), first);
    assert!(nd.confirm(secs(3 * 60 * 60), PEER));
    assert_ne!(nd.reachable_time(), first);
}

#[test]
fn retrans_timer_from_an_ra_spaces_solicitations() {
    let mut nd = cache();
    nd.set_retrans_timer(Duration::from_millis(250));
    nd.set_retrans_timer(Duration::ZERO); // unspecified: unchanged
    let _ = nd.lookup(ms(0), PEER, OURS);
    assert_eq!(transmits(&mut nd, ms(0)).len(), 1);
    assert_eq!(nd.poll_at(), Some(ms(250)));
    assert_eq!(transmits(&mut nd, ms(250)).len(), 1);
    assert_eq!(transmits(&mut nd, ms(500)).len(), 1);
    transmits(&mut nd, ms(750));
    assert_eq!(state(&nd, PEER), None);
}

// ---- neighbour solicitations (§7.2.3, §7.2.4) ----

#[test]
fn ns_for_us_is_answered_and_its_sender_learnt_stale() {
    let mut nd = cache();
    nd.handle_ns(
        ms(0),
        PEER,
        solicited(OURS),
        &ns(OURS, Some(PEER_MAC)),
        &[OURS],
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
    assert_eq!(lladdr_of(&nd, PEER), Some(PEER_MAC));
    assert!(!nd.neighbour(PEER).unwrap().is_router);
    let out = transmits(&mut nd, ms(0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, NdTransmitKind::Advert);
    let (eth, ip, repr) = parse_back(&out[0]);
    assert_eq!((eth.src_addr, eth.dst_addr), (OUR_MAC, PEER_MAC));
    assert_eq!((ip.src_addr, ip.dst_addr), (OURS, PEER));
    assert_eq!(repr, na_for(OURS, false, true, true, Some(OUR_MAC)));
    // Answering did not count as a use: still STALE.
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
    assert_eq!(nd.stats().adverts_sent, 1);
    assert_eq!(nd.stats().ns_received, 1);
}

fn solicited(addr: Ipv6Addr) -> Ipv6Addr {
    crate::wire::ipv6::solicited_node(&addr)
}

#[test]
fn router_flag_of_our_advertisements_comes_from_the_config() {
    let mut nd = cache_with(NdConfig {
        router: true,
        ..NdConfig::default()
    });
    nd.handle_ns(
        ms(0),
        PEER,
        solicited(OURS),
        &ns(OURS, Some(PEER_MAC)),
        &[OURS],
    );
    let (_, _, repr) = parse_back(&transmits(&mut nd, ms(0))[0]);
    assert_eq!(repr, na_for(OURS, true, true, true, Some(OUR_MAC)));
}

#[test]
fn dad_probe_is_answered_to_all_nodes_without_the_solicited_flag() {
    // The captured DAD probe for fd00:9::1 (with a nonce option), received by
    // the node that owns fd00:9::1.
    let (src, dst, repr) = parse_captured(&frames_v6::DAD_NS);
    assert!(src.is_unspecified());
    let mut nd = cache();
    nd.handle_ns(ms(0), src, dst, &repr, &[OURS]);
    assert!(nd.is_empty(), "a DAD probe creates no entry");
    let out = transmits(&mut nd, ms(0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, NdTransmitKind::DadAdvert);
    let (eth, ip, repr) = parse_back(&out[0]);
    assert_eq!(eth.dst_addr, EthernetAddress::new(0x33, 0x33, 0, 0, 0, 1));
    assert_eq!((ip.src_addr, ip.dst_addr), (OURS, LINK_LOCAL_ALL_NODES));
    assert_eq!(repr, na_for(OURS, false, false, true, Some(OUR_MAC)));
    assert_eq!(nd.stats().dad_probes_answered, 1);
}

#[test]
fn ns_for_another_target_is_dropped_without_learning() {
    let mut nd = cache();
    nd.handle_ns(
        ms(0),
        PEER,
        solicited(THIRD),
        &ns(THIRD, Some(PEER_MAC)),
        &[OURS],
    );
    assert!(nd.is_empty());
    assert!(transmits(&mut nd, ms(0)).is_empty());
    assert_eq!(nd.stats().rx_not_ours, 1);
    assert!(nd.stats().drop_reasons().contains(&("target_not_ours", 1)));
}

#[test]
fn ns_resolves_an_incomplete_entry_as_stale() {
    let mut nd = cache();
    let _ = nd.resolve(ms(0), PEER, OURS, 4);
    nd.handle_ns(
        ms(5),
        PEER,
        solicited(OURS),
        &ns(OURS, Some(PEER_MAC)),
        &[OURS],
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
    assert_eq!(released(&mut nd), vec![(PEER_MAC, 4)]);
}

#[test]
fn ns_with_a_new_lladdr_updates_to_stale_and_same_lladdr_changes_nothing() {
    let (mut nd, _) = with_peer_in(NdState::Reachable, false);
    nd.handle_ns(ms(5), PEER, OURS, &ns(OURS, Some(PEER_MAC)), &[OURS]);
    assert_eq!(state(&nd, PEER), Some(NdState::Reachable));
    assert!(events(&mut nd).is_empty());
    nd.handle_ns(ms(6), PEER, OURS, &ns(OURS, Some(OTHER_MAC)), &[OURS]);
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
    assert_eq!(lladdr_of(&nd, PEER), Some(OTHER_MAC));
    assert_eq!(
        events(&mut nd),
        vec![NdEvent::NeighbourChanged {
            addr: PEER,
            old: PEER_MAC,
            new: OTHER_MAC
        }]
    );
    // The answer goes to the address the NS gave.
    let out = transmits(&mut nd, ms(6));
    assert_eq!(out.last().unwrap().dst_lladdr, OTHER_MAC);
}

#[test]
fn ns_without_lladdr_from_an_unknown_sender_resolves_it_first() {
    let mut nd = cache();
    nd.handle_ns(ms(0), PEER, OURS, &ns(OURS, None), &[OURS]);
    // Resolution of the sender started; the NA waits.
    let out = transmits(&mut nd, ms(0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, NdTransmitKind::Solicit);
    assert_eq!(out[0].repr, ns(PEER, Some(OUR_MAC)));
    assert_eq!(out[0].src_addr, OURS);
    nd.handle_na(
        ms(3),
        PEER,
        OURS,
        &na(false, true, true, Some(PEER_MAC)),
        &[OURS],
    );
    let out = transmits(&mut nd, ms(3));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].kind, NdTransmitKind::Advert);
    assert_eq!(out[0].dst_lladdr, PEER_MAC);
    let (_, ip, repr) = parse_back(&out[0]);
    assert_eq!(ip.dst_addr, PEER);
    assert_eq!(repr, na_for(OURS, false, true, true, Some(OUR_MAC)));
}

#[test]
fn ns_without_lladdr_from_a_known_sender_is_answered_from_the_cache() {
    let (mut nd, _) = with_peer_in(NdState::Stale, false);
    nd.handle_ns(ms(1), PEER, OURS, &ns(OURS, None), &[OURS]);
    let out = transmits(&mut nd, ms(1));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].dst_lladdr, PEER_MAC);
    assert_eq!(state(&nd, PEER), Some(NdState::Stale));
}

#[test]
fn unanswerable_advert_is_counted_when_resolution_fails() {
    let mut nd = cache();
    nd.handle_ns(ms(0), PEER, OURS, &ns(OURS, None), &[OURS]);
    for t in 0..=3 {
        transmits(&mut nd, secs(t));
    }
    assert_eq!(state(&nd, PEER), None);
    assert_eq!(nd.stats().advert_unresolved, 1);
}

#[test]
fn looped_back_and_invalid_messages_are_dropped() {
    let mut nd = cache();
    // Our own NS looped back.
    nd.handle_ns(
        ms(0),
        OURS,
        solicited(PEER),
        &ns(PEER, Some(OUR_MAC)),
        &[OURS],
    );
    // Our own NA looped back: not a duplicate.
    nd.handle_na(
        ms(0),
        OURS,
        LINK_LOCAL_ALL_NODES,
        &na_for(OURS, false, false, true, Some(OUR_MAC)),
        &[OURS],
    );
    assert_eq!(nd.stats().rx_own, 2);
    assert_eq!(nd.stats().duplicates_detected, 0);
    // A group link-layer address, a multicast source, a solicited NA to a group,
    // a DAD probe with a link-layer address, the wrong message type.
    nd.handle_ns(
        ms(0),
        PEER,
        OURS,
        &ns(OURS, Some(EthernetAddress::BROADCAST)),
        &[OURS],
    );
    nd.handle_ns(
        ms(0),
        LINK_LOCAL_ALL_NODES,
        OURS,
        &ns(OURS, Some(PEER_MAC)),
        &[OURS],
    );
    nd.handle_na(
        ms(0),
        PEER,
        LINK_LOCAL_ALL_NODES,
        &na(false, true, true, Some(PEER_MAC)),
        &[OURS],
    );
    nd.handle_ns(
        ms(0),
        Ipv6Addr::UNSPECIFIED,
        solicited(OURS),
        &ns(OURS, Some(PEER_MAC)),
        &[OURS],
    );
    nd.handle_ns(ms(0), PEER, OURS, &na(false, true, true, None), &[OURS]);
    nd.handle_na(ms(0), PEER, OURS, &ns(OURS, None), &[OURS]);
    assert_eq!(nd.stats().rx_invalid, 6);
    assert!(nd.is_empty());
    assert!(transmits(&mut nd, ms(0)).is_empty());
    assert_eq!(nd.stats().dropped(), 8);
}

// ---- neighbour advertisements (§7.2.5) ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ll {
    None,
    Same,
    Diff,
}

/// RFC 4861 §7.2.5 for an entry that is not INCOMPLETE, row by row:
/// (state before, S, O, target link-layer address, state after, address after).
const NA_RULES: [(NdState, bool, bool, Ll, NdState, Ll); 48] = {
    use Ll::{Diff, None as No, Same};
    use NdState::{Delay as D, Probe as P, Reachable as R, Stale as S};
    [
        // REACHABLE
        (R, false, false, No, R, Same),
        (R, false, false, Same, R, Same),
        (R, false, false, Diff, S, Same), // O clear, different: STALE, no update
        (R, false, true, No, R, Same),
        (R, false, true, Same, R, Same),
        (R, false, true, Diff, S, Diff),
        (R, true, false, No, R, Same),
        (R, true, false, Same, R, Same),
        (R, true, false, Diff, S, Same),
        (R, true, true, No, R, Same),
        (R, true, true, Same, R, Same),
        (R, true, true, Diff, R, Diff),
        // STALE
        (S, false, false, No, S, Same),
        (S, false, false, Same, S, Same),
        (S, false, false, Diff, S, Same), // ignored
        (S, false, true, No, S, Same),
        (S, false, true, Same, S, Same),
        (S, false, true, Diff, S, Diff),
        (S, true, false, No, R, Same),
        (S, true, false, Same, R, Same),
        (S, true, false, Diff, S, Same), // ignored
        (S, true, true, No, R, Same),
        (S, true, true, Same, R, Same),
        (S, true, true, Diff, R, Diff),
        // DELAY
        (D, false, false, No, D, Same),
        (D, false, false, Same, D, Same),
        (D, false, false, Diff, D, Same),
        (D, false, true, No, D, Same),
        (D, false, true, Same, D, Same),
        (D, false, true, Diff, S, Diff),
        (D, true, false, No, R, Same),
        (D, true, false, Same, R, Same),
        (D, true, false, Diff, D, Same),
        (D, true, true, No, R, Same),
        (D, true, true, Same, R, Same),
        (D, true, true, Diff, R, Diff),
        // PROBE
        (P, false, false, No, P, Same),
        (P, false, false, Same, P, Same),
        (P, false, false, Diff, P, Same),
        (P, false, true, No, P, Same),
        (P, false, true, Same, P, Same),
        (P, false, true, Diff, S, Diff),
        (P, true, false, No, R, Same),
        (P, true, false, Same, R, Same),
        (P, true, false, Diff, P, Same),
        (P, true, true, No, R, Same),
        (P, true, true, Same, R, Same),
        (P, true, true, Diff, R, Diff),
    ]
};

#[test]
fn na_rules_of_section_7_2_5() {
    for (row, &(before, s, o, ll, after, ll_after)) in NA_RULES.iter().enumerate() {
        let (mut nd, now) = with_peer_in(before, false);
        let lladdr = match ll {
            Ll::None => None,
            Ll::Same => Some(PEER_MAC),
            Ll::Diff => Some(OTHER_MAC),
        };
        let dst = if s { OURS } else { LINK_LOCAL_ALL_NODES };
        let t = now + Duration::from_millis(1);
        nd.handle_na(t, PEER, dst, &na(false, s, o, lladdr), &[OURS]);
        nd.check_invariants().unwrap();
        let expected_mac = if ll_after == Ll::Diff {
            OTHER_MAC
        } else {
            PEER_MAC
        };
        assert_eq!(
            (state(&nd, PEER), lladdr_of(&nd, PEER)),
            (Some(after), Some(expected_mac)),
            "row {row}: {before} S={s} O={o} {ll:?}"
        );
        let changed = events(&mut nd)
            .iter()
            .any(|e| matches!(e, NdEvent::NeighbourChanged { .. }));
        assert_eq!(changed, ll_after == Ll::Diff, "row {row}: change event");
        // A new REACHABLE period starts at the NA; a new STALE one too.
        if after == NdState::Reachable && before != NdState::Reachable {
            nd.handle_timeout(just_before(t + nd.reachable_time()));
            assert_eq!(state(&nd, PEER), Some(NdState::Reachable), "row {row}");
        }
    }
}

#[test]
fn na_router_flag_updates_is_router_and_reports_a_lost_router() {
    let (mut nd, _) = with_peer_in(NdState::Reachable, true);
    assert!(nd.neighbour(PEER).unwrap().is_router);
    // O clear with a different address: no other update, IsRouter kept.
    nd.handle_na(
        ms(1),
        PEER,
        OURS,
        &na(false, true, false, Some(OTHER_MAC)),
        &[OURS],
    );
    assert!(nd.neighbour(PEER).unwrap().is_router);
    assert!(events(&mut nd).is_empty());
    nd.handle_na(ms(2), PEER, OURS, &na(false, true, false, None), &[OURS]);
    assert!(!nd.neighbour(PEER).unwrap().is_router);
    assert_eq!(events(&mut nd), vec![NdEvent::RouterLost { addr: PEER }]);
    assert_eq!(nd.stats().routers_lost, 1);
    nd.handle_na(ms(3), PEER, OURS, &na(true, true, false, None), &[OURS]);
    assert!(nd.neighbour(PEER).unwrap().is_router);
    assert!(events(&mut nd).is_empty());
}

#[test]
fn na_for_our_address_reports_a_duplicate() {
    let mut nd = cache();
    nd.handle_na(
        ms(0),
        PEER,
        LINK_LOCAL_ALL_NODES,
        &na_for(OURS, false, false, true, Some(PEER_MAC)),
        &[OURS],
    );
    assert_eq!(
        events(&mut nd),
        vec![NdEvent::DuplicateAddress {
            addr: OURS,
            lladdr: Some(PEER_MAC)
        }]
    );
    assert_eq!(nd.stats().duplicates_detected, 1);
    assert!(nd.is_empty());
}

#[test]
fn unsolicited_na_for_an_unknown_neighbour_creates_nothing() {
    let mut nd = cache();
    nd.handle_na(
        ms(0),
        PEER,
        LINK_LOCAL_ALL_NODES,
        &na(false, false, true, Some(PEER_MAC)),
        &[OURS],
    );
    assert!(nd.is_empty());
    assert_eq!(nd.stats().na_no_entry, 1);
}

#[test]
fn permanent_entries_never_change_expire_or_go() {
    let mut nd = cache_with(NdConfig {
        capacity: 2,
        ..NdConfig::default()
    });
    nd.insert_permanent(PEER, PEER_MAC, true).unwrap();
    assert_eq!(nd.poll_at(), None);
    nd.handle_na(
        ms(1),
        PEER,
        OURS,
        &na(false, true, true, Some(OTHER_MAC)),
        &[OURS],
    );
    nd.handle_ns(ms(1), PEER, OURS, &ns(OURS, Some(OTHER_MAC)), &[OURS]);
    let n = nd.neighbour(PEER).unwrap();
    assert_eq!(
        (n.state, n.lladdr, n.is_router),
        (NdState::Permanent, Some(PEER_MAC), true)
    );
    assert_eq!(nd.lookup(secs(86_400), PEER, OURS), Some(PEER_MAC));
    // Not evictable: filling the cache with STALE entries evicts those instead.
    nd.handle_ns(
        secs(86_400),
        THIRD,
        OURS,
        &ns(OURS, Some(OTHER_MAC)),
        &[OURS],
    );
    nd.handle_ns(
        secs(86_400),
        FOURTH,
        OURS,
        &ns(OURS, Some(OTHER_MAC)),
        &[OURS],
    );
    assert_eq!(state(&nd, PEER), Some(NdState::Permanent));
    assert_eq!(state(&nd, THIRD), None);
    assert_eq!(state(&nd, FOURTH), Some(NdState::Stale));
    assert_eq!(
        nd.insert_permanent(LINK_LOCAL_ALL_NODES, PEER_MAC, false),
        Err(NdDropReason::Unresolvable)
    );
    assert_eq!(
        nd.insert_permanent(THIRD, EthernetAddress::BROADCAST, false),
        Err(NdDropReason::Unresolvable)
    );
}

// ---- RS, RA, redirect ----

#[test]
fn ra_and_redirect_link_layer_addresses_are_learnt() {
    let router: Ipv6Addr = "fe80::2".parse().unwrap();
    let mut nd = cache();
    let ra = NdiscRepr::RouterAdvert {
        hop_limit: 64,
        flags: Default::default(),
        router_lifetime: 1800,
        reachable_time: 0,
        retrans_time: 0,
        lladdr: Some(*PEER_MAC.as_bytes()),
        mtu: None,
        prefix_info: None,
    };
    nd.handle_ndisc(ms(0), router, LINK_LOCAL_ALL_NODES, &ra, &[OURS]);
    let n = nd.neighbour(router).unwrap();
    assert_eq!(
        (n.state, n.lladdr, n.is_router),
        (NdState::Stale, Some(PEER_MAC), true)
    );
    let redirect = NdiscRepr::Redirect {
        target_addr: "fe80::3".parse().unwrap(),
        dest_addr: THIRD,
        lladdr: Some(*OTHER_MAC.as_bytes()),
    };
    nd.handle_ndisc(ms(1), router, OURS, &redirect, &[OURS]);
    let n = nd.neighbour("fe80::3".parse().unwrap()).unwrap();
    assert_eq!((n.state, n.is_router), (NdState::Stale, true));
    // Hosts ignore router solicitations.
    let rs = NdiscRepr::RouterSolicit {
        lladdr: Some(*OTHER_MAC.as_bytes()),
    };
    nd.handle_ndisc(ms(2), FOURTH, LINK_LOCAL_ALL_NODES, &rs, &[OURS]);
    assert_eq!(state(&nd, FOURTH), None);
    assert_eq!(nd.stats().other_received, 3);
}

#[test]
fn appendix_c_remaining_rows() {
    // STALE and PROBE: upper-layer confirmation → REACHABLE.
    for initial in [NdState::Stale, NdState::Probe] {
        let (mut nd, now) = with_peer_in(initial, false);
        assert!(nd.confirm(now, PEER));
        assert_eq!(state(&nd, PEER), Some(NdState::Reachable), "{initial}");
        // REACHABLE, sending a packet: unchanged.
        assert_eq!(nd.lookup(now, PEER, OURS), Some(PEER_MAC));
        assert_eq!(state(&nd, PEER), Some(NdState::Reachable));
        assert!(transmits(&mut nd, now).is_empty());
    }
    // INCOMPLETE, RA or redirect without a link-layer address: unchanged.
    let router: Ipv6Addr = "fe80::2".parse().unwrap();
    let mut nd = cache();
    let _ = nd.lookup(ms(0), router, OURS);
    let ra = NdiscRepr::RouterAdvert {
        hop_limit: 64,
        flags: Default::default(),
        router_lifetime: 1800,
        reachable_time: 0,
        retrans_time: 0,
        lladdr: None,
        mtu: None,
        prefix_info: None,
    };
    nd.handle_ndisc(ms(1), router, LINK_LOCAL_ALL_NODES, &ra, &[OURS]);
    let redirect = NdiscRepr::Redirect {
        target_addr: router,
        dest_addr: THIRD,
        lladdr: None,
    };
    nd.handle_ndisc(ms(1), router, OURS, &redirect, &[OURS]);
    assert_eq!(state(&nd, router), Some(NdState::Incomplete));
    assert_eq!(nd.len(), 1, "a redirect without an address creates nothing");
    // A router learns from router solicitations (§6.2.6): a new entry, STALE.
    let mut nd = cache_with(NdConfig {
        router: true,
        ..NdConfig::default()
    });
    let rs = NdiscRepr::RouterSolicit {
        lladdr: Some(*PEER_MAC.as_bytes()),
    };
    nd.handle_ndisc(ms(0), PEER, LINK_LOCAL_ALL_NODES, &rs, &[OURS]);
    let n = nd.neighbour(PEER).unwrap();
    assert_eq!(
        (n.state, n.lladdr, n.is_router),
        (NdState::Stale, Some(PEER_MAC), false)
    );
    // ... but not from an RS sent from the unspecified address.
    nd.handle_ndisc(
        ms(0),
        Ipv6Addr::UNSPECIFIED,
        LINK_LOCAL_ALL_NODES,
        &rs,
        &[OURS],
    );
    assert_eq!(nd.len(), 1);
    nd.check_invariants().unwrap();
}

// ---- lookups and bounds ----

#[test]
fn multicast_maps_without_the_cache_and_unspecified_is_refused() {
    let mut nd = cache();
    let group: Ipv6Addr = "ff02::1:ff00:901".parse().unwrap();
    assert_eq!(
        nd.lookup(ms(0), group, OURS),
        Some(EthernetAddress::new(0x33, 0x33, 0xff, 0, 0x09, 0x01))
    );
    assert_eq!(
        nd.resolve(ms(0), Ipv6Addr::UNSPECIFIED, OURS, 1),
        NdResolve::Refused(1, NdDropReason::Unresolvable)
    );
    assert_eq!(nd.lookup(ms(0), Ipv6Addr::LOCALHOST, OURS), None);
    assert!(nd.is_empty());
    assert_eq!(nd.stats().unresolvable, 2);
    assert!(transmits(&mut nd, ms(0)).is_empty());
}

#[test]
fn a_miss_needs_one_of_our_addresses_to_solicit_from() {
    let mut nd = cache();
    assert_eq!(nd.lookup(ms(0), PEER, Ipv6Addr::UNSPECIFIED), None);
    assert_eq!(
        nd.resolve(ms(0), PEER, LINK_LOCAL_ALL_NODES, 1),
        NdResolve::Refused(1, NdDropReason::Unresolvable)
    );
    assert!(nd.is_empty());
    assert_eq!(nd.stats().unresolvable, 2);
    // A known neighbour is still a hit; its probes keep the earlier source.
    nd.handle_ns(ms(0), PEER, OURS, &ns(OURS, Some(PEER_MAC)), &[OURS]);
    assert_eq!(
        nd.lookup(ms(1), PEER, Ipv6Addr::UNSPECIFIED),
        Some(PEER_MAC)
    );
    let probes = transmits(&mut nd, secs(6));
    let probe = probes
        .iter()
        .find(|t| t.kind == NdTransmitKind::Probe)
        .unwrap();
    assert_eq!(probe.src_addr, OURS);
}

#[test]
fn per_neighbour_queue_drops_the_oldest() {
    let mut nd = cache_with(NdConfig {
        queue_per_neighbour: 2,
        ..NdConfig::default()
    });
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    let _ = nd.resolve(ms(0), PEER, OURS, 2);
    assert_eq!(
        nd.resolve(ms(0), PEER, OURS, 3),
        NdResolve::Queued { displaced: Some(1) }
    );
    assert_eq!(nd.stats().queue_overflow, 1);
    nd.handle_na(
        ms(1),
        PEER,
        OURS,
        &na(false, true, true, Some(PEER_MAC)),
        &[OURS],
    );
    assert_eq!(released(&mut nd), vec![(PEER_MAC, 2), (PEER_MAC, 3)]);
    nd.check_invariants().unwrap();
}

#[test]
fn total_queue_bound_refuses_a_neighbour_with_nothing_queued() {
    let mut nd = cache_with(NdConfig {
        queue_per_neighbour: 2,
        queue_total: 2,
        ..NdConfig::default()
    });
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    let _ = nd.resolve(ms(0), PEER, OURS, 2);
    assert_eq!(
        nd.resolve(ms(0), THIRD, OURS, 3),
        NdResolve::Refused(3, NdDropReason::QueueFull)
    );
    // Released but unpolled packets still count.
    nd.handle_na(
        ms(1),
        PEER,
        OURS,
        &na(false, true, true, Some(PEER_MAC)),
        &[OURS],
    );
    assert_eq!(nd.queued_len(), 2);
    assert_eq!(
        nd.resolve(ms(1), THIRD, OURS, 4),
        NdResolve::Refused(4, NdDropReason::QueueFull)
    );
    released(&mut nd);
    assert_eq!(
        nd.resolve(ms(1), THIRD, OURS, 5),
        NdResolve::Queued { displaced: None }
    );
    assert_eq!(nd.stats().queue_overflow, 2);
    nd.check_invariants().unwrap();
}

#[test]
fn max_incomplete_bounds_resolutions_in_flight() {
    let mut nd = cache_with(NdConfig {
        max_incomplete: 2,
        ..NdConfig::default()
    });
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    let _ = nd.resolve(ms(0), THIRD, OURS, 2);
    assert_eq!(
        nd.resolve(ms(0), FOURTH, OURS, 3),
        NdResolve::Refused(3, NdDropReason::NoRoom)
    );
    assert_eq!(nd.incomplete_len(), 2);
    assert_eq!(nd.stats().no_room, 1);
}

#[test]
fn full_cache_evicts_the_least_recently_used_resolved_entry() {
    let mut nd = cache_with(NdConfig {
        capacity: 2,
        ..NdConfig::default()
    });
    nd.handle_ns(ms(0), PEER, OURS, &ns(OURS, Some(PEER_MAC)), &[OURS]);
    nd.handle_ns(ms(1), THIRD, OURS, &ns(OURS, Some(OTHER_MAC)), &[OURS]);
    // Using PEER makes THIRD the least recently used.
    assert_eq!(nd.lookup(ms(2), PEER, OURS), Some(PEER_MAC));
    events(&mut nd);
    let _ = nd.resolve(ms(3), FOURTH, OURS, 1);
    assert_eq!(state(&nd, THIRD), None);
    assert_eq!(state(&nd, FOURTH), Some(NdState::Incomplete));
    assert_eq!(
        events(&mut nd),
        vec![NdEvent::NeighbourRemoved {
            addr: THIRD,
            lladdr: OTHER_MAC,
            reason: NdRemovalReason::Evicted
        }]
    );
    assert_eq!(nd.stats().entries_evicted, 1);
    // PEER is in DELAY (in use): not evictable, nor is the INCOMPLETE entry.
    assert_eq!(
        nd.resolve(ms(4), THIRD, OURS, 2),
        NdResolve::Refused(2, NdDropReason::NoRoom)
    );
    nd.handle_ns(ms(5), THIRD, OURS, &ns(OURS, Some(OTHER_MAC)), &[OURS]);
    assert_eq!(nd.stats().rx_cache_full, 1);
    nd.check_invariants().unwrap();
}

#[test]
fn flush_drops_everything_and_reports_it() {
    let mut nd = cache();
    let _ = nd.resolve(ms(0), PEER, OURS, 1);
    nd.handle_ns(ms(0), THIRD, OURS, &ns(OURS, Some(OTHER_MAC)), &[OURS]);
    events(&mut nd);
    nd.flush();
    assert!(nd.is_empty());
    assert_eq!(nd.queued_len(), 0);
    assert_eq!(events(&mut nd).len(), 2);
    assert_eq!(nd.stats().resolution_failed, 1);
    // Flushed packets are dropped, not handed back.
    assert_eq!(nd.poll_unreachable(), None);
    assert_eq!(nd.stats().unreachable_returned, 0);
    nd.check_invariants().unwrap();
}

#[test]
fn outbox_and_events_are_bounded() {
    let mut nd = cache_with(NdConfig {
        transmit_capacity: 2,
        event_capacity: 2,
        ..NdConfig::default()
    });
    for host in 2..8u16 {
        let addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, host);
        let mac = EthernetAddress::new(2, 0, 0, 0, 1, host as u8);
        nd.handle_ns(ms(0), addr, OURS, &ns(OURS, Some(mac)), &[OURS]);
    }
    assert_eq!(transmits(&mut nd, ms(0)).len(), 2);
    assert_eq!(events(&mut nd).len(), 2);
    assert_eq!(nd.stats().tx_overflow, 4);
    assert_eq!(nd.stats().events_dropped, 4);
}

#[test]
fn emit_into_a_short_buffer_is_an_error() {
    let mut nd = cache();
    let _ = nd.lookup(ms(0), PEER, OURS);
    let tx = nd.poll_transmit(ms(0)).unwrap();
    assert_eq!(tx.buffer_len(), 86);
    let mut buf = [0u8; 85];
    assert_eq!(tx.emit(&mut buf), Err(crate::wire::Error::Truncated));
}

#[test]
fn drop_reason_names_are_unique_snake_case() {
    let names = NdStats::default().drop_reasons().map(|(name, _)| name);
    let unique: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), names.len());
    for name in names {
        assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    }
    for reason in [
        NdDropReason::Unresolvable,
        NdDropReason::NoRoom,
        NdDropReason::QueueFull,
    ] {
        assert!(names.contains(&reason.as_str()));
    }
}

#[test]
fn config_is_clamped() {
    let nd = cache_with(NdConfig {
        capacity: 0,
        max_incomplete: 10,
        retrans_timer: Duration::ZERO,
        base_reachable_time: Duration::ZERO,
        max_multicast_solicit: 0,
        max_unicast_solicit: 0,
        queue_per_neighbour: 8,
        queue_total: 1,
        transmit_capacity: 0,
        event_capacity: 0,
        seed: 0,
        ..NdConfig::default()
    });
    let c = nd.config();
    assert_eq!((c.capacity, c.max_incomplete), (1, 1));
    assert_eq!(c.retrans_timer, Duration::from_millis(1));
    assert_eq!(c.base_reachable_time, Duration::from_millis(1));
    assert_eq!((c.max_multicast_solicit, c.max_unicast_solicit), (1, 1));
    assert_eq!(c.queue_total, 8);
    assert_eq!((c.transmit_capacity, c.event_capacity), (1, 1));
    nd.check_invariants().unwrap();
}
