//! Received ARP: replies, probes, conflicts; announcements; frames on a
//! simulated wire.

use core::time::Duration;
use std::net::Ipv4Addr;

use super::*;
#[test]
fn answers_requests_for_our_address_and_learns_the_asker() {
    let mut arp = cache();
    arp.handle_arp(ms(0), &request_from(PEER, PEER_MAC, OURS), &[OURS]);
    let tx = transmits(&mut arp, ms(0));
    assert_eq!(
        tx,
        vec![ArpTransmit {
            dst_addr: PEER_MAC,
            repr: packet(ArpOperation::Reply, OUR_MAC, OURS, PEER_MAC, PEER),
            kind: TransmitKind::Reply,
        }]
    );
    assert_eq!(arp.stats().replies_sent, 1);
    assert_eq!(arp.stats().requests_received, 1);
    // RFC 826: the asker is added; a request does not confirm reachability.
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Stale));
    assert_eq!(arp.lookup(ms(1), PEER, OURS), Some(PEER_MAC));
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::NeighbourAdded {
            addr: PEER,
            hardware_addr: PEER_MAC
        }]
    );
}

#[test]
fn requests_for_others_only_refresh_known_senders() {
    let mut arp = cache();
    let elsewhere = Ipv4Addr::new(10, 0, 0, 99);
    arp.handle_arp(ms(0), &request_from(PEER, PEER_MAC, elsewhere), &[OURS]);
    assert!(arp.is_empty(), "not the target: nothing learned");
    assert!(transmits(&mut arp, ms(0)).is_empty(), "not ours: no reply");
    // A known sender is refreshed with its new address (after lock_time).
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    arp.handle_arp(secs(5), &request_from(PEER, OTHER_MAC, elsewhere), &[OURS]);
    assert_eq!(arp.lookup(secs(5), PEER, OURS), Some(OTHER_MAC));
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::NeighbourChanged {
            addr: PEER,
            old: PEER_MAC,
            new: OTHER_MAC
        }]
    );
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Stale));
}

#[test]
fn a_request_from_an_unresolved_neighbour_resolves_it() {
    let mut arp = cache();
    let _ = arp.resolve(ms(0), PEER, OURS, 7);
    transmits(&mut arp, ms(0));
    arp.handle_arp(ms(3), &request_from(PEER, PEER_MAC, OURS), &[OURS]);
    assert_eq!(released(&mut arp), vec![(PEER_MAC, 7)]);
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Stale));
    assert_eq!(transmits(&mut arp, ms(3))[0].kind, TransmitKind::Reply);
}

#[test]
fn first_reply_wins_within_lock_time() {
    let mut arp = cache();
    resolved(&mut arp, ms(0), PEER, PEER_MAC);
    arp.handle_arp(ms(500), &reply_from(PEER, OTHER_MAC), &[OURS]);
    assert_eq!(arp.lookup(ms(500), PEER, OURS), Some(PEER_MAC));
    // A gratuitous ARP is believed at once.
    let garp = packet(
        ArpOperation::Request,
        OTHER_MAC,
        PEER,
        EthernetAddress::UNSPECIFIED,
        PEER,
    );
    arp.handle_arp(ms(600), &garp, &[OURS]);
    assert_eq!(arp.lookup(ms(600), PEER, OURS), Some(OTHER_MAC));
    // And after lock_time any packet may change it again.
    arp.handle_arp(ms(1_500), &reply_from(PEER, PEER_MAC), &[OURS]);
    assert_eq!(
        arp.lookup(ms(1_500), PEER, OURS),
        Some(OTHER_MAC),
        "locked since 600 ms"
    );
    arp.handle_arp(ms(1_600), &reply_from(PEER, PEER_MAC), &[OURS]);
    assert_eq!(arp.lookup(ms(1_600), PEER, OURS), Some(PEER_MAC));
    assert_eq!(state(&arp, PEER), Some(NeighbourState::Reachable));
}

#[test]
fn probes_for_our_address_are_answered() {
    let mut arp = cache();
    let probe = request_from(Ipv4Addr::UNSPECIFIED, PEER_MAC, OURS);
    assert!(probe.is_probe());
    arp.handle_arp(ms(0), &probe, &[OURS]);
    let tx = transmits(&mut arp, ms(0));
    assert_eq!(
        tx,
        vec![ArpTransmit {
            dst_addr: PEER_MAC,
            repr: packet(
                ArpOperation::Reply,
                OUR_MAC,
                OURS,
                PEER_MAC,
                Ipv4Addr::UNSPECIFIED
            ),
            kind: TransmitKind::ProbeReply,
        }]
    );
    assert_eq!(arp.stats().probes_answered, 1);
    assert_eq!(arp.stats().replies_sent, 1);
    assert!(arp.is_empty(), "nothing learned from a probe");
    assert_eq!(arp.stats().conflicts, 0);
    // A probe for someone else's address is none of our business.
    arp.handle_arp(
        ms(1),
        &request_from(Ipv4Addr::UNSPECIFIED, PEER_MAC, PEER),
        &[OURS],
    );
    assert!(transmits(&mut arp, ms(1)).is_empty());
}

#[test]
fn conflicts_are_counted_reported_and_defended_once_per_interval() {
    let mut arp = cache();
    let garp = packet(
        ArpOperation::Request,
        OTHER_MAC,
        OURS,
        EthernetAddress::UNSPECIFIED,
        OURS,
    );
    arp.handle_arp(ms(0), &garp, &[OURS]);
    let defence = ArpTransmit {
        dst_addr: EthernetAddress::BROADCAST,
        repr: packet(
            ArpOperation::Request,
            OUR_MAC,
            OURS,
            EthernetAddress::UNSPECIFIED,
            OURS,
        ),
        kind: TransmitKind::Defence,
    };
    assert!(defence.repr.is_gratuitous());
    assert_eq!(transmits(&mut arp, ms(0)), vec![defence]);
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::Conflict {
            addr: OURS,
            hardware_addr: OTHER_MAC,
            defended: true
        }]
    );
    // A reply claiming our address within DEFEND_INTERVAL: reported, not defended.
    arp.handle_arp(
        secs(5),
        &packet(ArpOperation::Reply, OTHER_MAC, OURS, OUR_MAC, OURS),
        &[OURS],
    );
    assert!(transmits(&mut arp, secs(5)).is_empty());
    assert_eq!(
        events(&mut arp),
        vec![ArpEvent::Conflict {
            addr: OURS,
            hardware_addr: OTHER_MAC,
            defended: false
        }]
    );
    // After the interval, defended again.
    arp.handle_arp(secs(10), &garp, &[OURS]);
    assert_eq!(transmits(&mut arp, secs(10)), vec![defence]);
    assert_eq!(arp.stats().conflicts, 3);
    assert_eq!(arp.stats().announcements_sent, 2);
    assert!(arp.is_empty(), "our own address is never cached");
}

#[test]
fn announce_sends_gratuitous_requests() {
    let mut arp = cache();
    arp.announce(ms(0), OURS);
    let announcement = ArpTransmit {
        dst_addr: EthernetAddress::BROADCAST,
        repr: packet(
            ArpOperation::Request,
            OUR_MAC,
            OURS,
            EthernetAddress::UNSPECIFIED,
            OURS,
        ),
        kind: TransmitKind::Announcement,
    };
    assert!(announcement.repr.is_gratuitous() && !announcement.repr.is_probe());
    assert_eq!(transmits(&mut arp, ms(0)), vec![announcement]);
    assert_eq!(arp.poll_at(), Some(secs(2)));
    assert!(transmits(&mut arp, ms(1_999)).is_empty());
    assert_eq!(transmits(&mut arp, secs(2)), vec![announcement]);
    assert_eq!(arp.poll_at(), None, "ANNOUNCE_NUM = 2");
    assert!(transmits(&mut arp, secs(10)).is_empty());
    assert_eq!(arp.stats().announcements_sent, 2);

    // Cancelled when the address goes away.
    arp.announce(secs(20), OURS);
    arp.cancel_announce(OURS);
    assert_eq!(
        transmits(&mut arp, secs(30)).len(),
        1,
        "only the first went out"
    );
    // Nonsense is ignored.
    arp.announce(secs(30), Ipv4Addr::UNSPECIFIED);
    assert!(transmits(&mut arp, secs(30)).is_empty());
}

#[test]
fn bad_and_looped_back_packets_are_dropped_and_counted() {
    let mut arp = cache();
    // Our own request, looped back.
    arp.handle_arp(ms(0), &request_from(OURS, OUR_MAC, PEER), &[OURS]);
    // A group sender hardware address, and a zero one.
    arp.handle_arp(
        ms(0),
        &request_from(PEER, EthernetAddress::BROADCAST, OURS),
        &[OURS],
    );
    arp.handle_arp(
        ms(0),
        &request_from(PEER, EthernetAddress::UNSPECIFIED, OURS),
        &[OURS],
    );
    // Impossible sender IPv4 addresses.
    arp.handle_arp(
        ms(0),
        &request_from(Ipv4Addr::BROADCAST, PEER_MAC, OURS),
        &[OURS],
    );
    arp.handle_arp(
        ms(0),
        &request_from(Ipv4Addr::new(224, 0, 0, 1), PEER_MAC, OURS),
        &[OURS],
    );
    // An unknown operation.
    let op = packet(
        ArpOperation::Unknown(8),
        PEER_MAC,
        PEER,
        EthernetAddress::UNSPECIFIED,
        OURS,
    );
    arp.handle_arp(ms(0), &op, &[OURS]);
    assert!(arp.is_empty());
    assert!(transmits(&mut arp, ms(0)).is_empty());
    let stats = arp.stats();
    assert_eq!(
        (stats.rx_own, stats.rx_invalid, stats.rx_unknown_operation),
        (1, 4, 1)
    );
    assert_eq!(stats.received(), 6);
    assert_eq!(stats.dropped(), 6);
}

#[test]
fn transmit_emits_a_whole_frame() {
    let mut arp = cache();
    arp.handle_arp(ms(0), &request_from(PEER, PEER_MAC, OURS), &[OURS]);
    let tx = arp.poll_transmit(ms(0)).unwrap();
    assert!(!tx.is_request());
    let mut buffer = [0u8; 60];
    assert_eq!(tx.emit(&mut buffer), 42);
    let frame = EthernetFrame::new_checked(&buffer[..42]).unwrap();
    assert_eq!(frame.dst_addr(), PEER_MAC);
    assert_eq!(frame.src_addr(), OUR_MAC);
    assert_eq!(frame.ethertype(), EtherType::Arp);
    let repr = ArpRepr::parse(&ArpPacket::new_checked(frame.payload()).unwrap()).unwrap();
    assert_eq!(repr, tx.repr);
    assert_eq!(
        repr.to_string(),
        "ARP reply 10.0.0.1 is-at 02:00:00:00:00:01"
    );
}

/// Two hosts on a simulated wire: every frame one sends is handed to the
/// other's `handle_arp` (after emit and parse), with a fixed delay.
#[test]
fn two_hosts_resolve_each_other() {
    const DELAY: Duration = Duration::from_millis(2);
    let mut a = cache();
    let mut b: ArpCache<u32> = ArpCache::new(ArpConfig::default(), PEER_MAC);
    let mut now = Instant::ZERO;
    b.announce(now, PEER);
    assert!(matches!(
        a.resolve(now, PEER, OURS, 1),
        Resolve::Queued { .. }
    ));
    // Run until both are quiet: deliver in rounds.
    let mut delivered_to_a = Vec::new();
    for _ in 0..4 {
        now += DELAY;
        let from_a: Vec<_> = core::iter::from_fn(|| a.poll_transmit(now)).collect();
        let from_b: Vec<_> = core::iter::from_fn(|| b.poll_transmit(now)).collect();
        for tx in from_a {
            let mut frame = [0u8; ArpTransmit::BUFFER_LEN];
            tx.emit(&mut frame);
            let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
            assert!(eth.dst_addr() == PEER_MAC || eth.dst_addr().is_broadcast());
            let repr = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap()).unwrap();
            b.handle_arp(now, &repr, &[PEER]);
        }
        for tx in from_b {
            delivered_to_a.push(tx.kind);
            a.handle_arp(now, &tx.repr, &[OURS]);
        }
        a.check_invariants();
        b.check_invariants();
    }
    // B's announcement told A nothing (A was not the target and had no
    // entry yet, or had an INCOMPLETE one it completes).
    assert_eq!(released(&mut a), vec![(PEER_MAC, 1)]);
    assert_eq!(state(&a, PEER), Some(NeighbourState::Reachable));
    assert_eq!(state(&b, OURS), Some(NeighbourState::Stale));
    assert!(delivered_to_a.contains(&TransmitKind::Reply));
    assert_eq!(a.stats().requests_sent, 1, "answered before any retry");
    assert_eq!(b.stats().replies_sent, 1);
    // B now sends to A without asking.
    assert_eq!(b.resolve(now, OURS, PEER, 9), Resolve::Send(OUR_MAC, 9));
}
