//! The stack against frames built by an independent builder (etherparse), the
//! way a peer would send them; every answer is read back with checksums
//! checked.

use core::time::Duration;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket as TheirArp, EtherType as TheirEtherType, PacketBuilder,
};
use strata_l2::{ArpPacket, ArpRepr, EthernetAddress, Instant};
use strata_l3l4::frame::{FrameHeaders, Network, Transport};
use strata_l3l4::wire::ipv6;
use strata_l3l4::{
    ChecksumCaps, Icmpv4Message, Icmpv4Packet, Icmpv6Message, Icmpv6Packet, Ipv4Packet, Ipv6Packet,
    NdiscPacket, NdiscRepr, NeighborFlags,
};
use strata_pools::{NetBuf, Pool, PoolConfig};

use super::*;

const US_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const US4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
const US6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2);
const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

fn pool() -> Pool {
    Pool::new(PoolConfig {
        frames: 512,
        ..PoolConfig::named("stack-test")
    })
    .unwrap()
}

fn stack(pool: &Pool) -> Stack {
    let config = StackConfig {
        mac: EthernetAddress(US_MAC),
        ipv4: vec![(US4, 24)],
        ipv6: vec![(US6, 64)],
        dad_transmits: 0,
        autoconf: false,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, pool.clone(), Instant::from_secs(1));
    // Bring-up (gratuitous ARP, MLD reports) is over before the tests look.
    let mut out = Vec::new();
    while let Some(at) = stack.poll_at().filter(|&at| at < START) {
        stack.handle_timeout(at);
    }
    stack.poll_transmit(&mut out);
    assert!(!out.is_empty(), "bring-up sends announcements");
    stack
}

/// When the tests start: bring-up is done.
const START: Instant = Instant::from_millis(30_000);

fn to_buf(pool: &Pool, frame: &[u8]) -> NetBuf {
    let mut buf = pool.alloc().unwrap();
    buf.put(frame).unwrap();
    buf
}

fn feed(stack: &mut Stack, pool: &Pool, now: Instant, frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut bufs: Vec<NetBuf> = frames.iter().map(|f| to_buf(pool, f)).collect();
    stack.receive(now, &mut bufs);
    assert!(bufs.is_empty());
    let mut out = Vec::new();
    stack.poll_transmit(&mut out);
    out.iter().map(|b| b.data().to_vec()).collect()
}

fn arp_request_from_peer() -> Vec<u8> {
    let arp = TheirArp::new(
        ArpHardwareId::ETHERNET,
        TheirEtherType::IPV4,
        ArpOperation::REQUEST,
        &PEER_MAC,
        &PEER4.octets(),
        &[0; 6],
        &US4.octets(),
    )
    .unwrap();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, [0xff; 6])
        .arp(arp)
        .write(&mut frame)
        .unwrap();
    frame
}

fn ping4(payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv4(PEER4.octets(), US4.octets(), 64)
        .icmpv4_echo_request(0x1234, 7)
        .write(&mut frame, payload)
        .unwrap();
    frame
}

fn udp4(port: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv4(PEER4.octets(), US4.octets(), 64)
        .udp(40000, port)
        .write(&mut frame, payload)
        .unwrap();
    frame
}

/// The frames of `out` that are not ARP (a unicast ARP poll of the peer's
/// fresh entry may ride along, as in Linux).
fn ip_frames(out: &[Vec<u8>]) -> Vec<&Vec<u8>> {
    out.iter()
        .filter(|f| checked(f).network() != Network::Arp)
        .collect()
}

fn checked(frame: &[u8]) -> FrameHeaders<'_> {
    FrameHeaders::parse_checked(frame, &SOFTWARE).expect("our frame parses with checksums")
}

#[test]
fn arp_request_is_answered() {
    let pool = pool();
    let mut stack = stack(&pool);
    let out = feed(&mut stack, &pool, START, &[arp_request_from_peer()]);
    assert_eq!(out.len(), 1);
    let headers = checked(&out[0]);
    assert_eq!(headers.network(), Network::Arp);
    let repr = ArpRepr::parse(&ArpPacket::new_unchecked(headers.l3())).unwrap();
    assert_eq!(repr.source_protocol_addr, US4);
    assert_eq!(repr.target_hardware_addr, EthernetAddress(PEER_MAC));
    assert_eq!(headers.ethernet().dst_addr(), EthernetAddress(PEER_MAC));
    assert_eq!(stack.counters().arp.recv, 1);
}

#[test]
fn ping_is_answered_after_arp() {
    let pool = pool();
    let mut stack = stack(&pool);
    let now = START;
    let out = feed(
        &mut stack,
        &pool,
        now,
        &[arp_request_from_peer(), ping4(b"abcdefgh")],
    );
    assert_eq!(
        checked(&out[0]).network(),
        Network::Arp,
        "the ARP reply first"
    );
    let ip = ip_frames(&out);
    assert_eq!(ip.len(), 1, "one echo reply");
    let headers = checked(ip[0]);
    let ip = headers.ipv4().unwrap();
    assert_eq!((ip.src_addr(), ip.dst_addr()), (US4, PEER4));
    let icmp = headers.icmpv4().unwrap();
    assert_eq!(icmp.msg_type(), Icmpv4Message::EchoReply);
    assert_eq!((icmp.echo_ident(), icmp.echo_seq_no()), (0x1234, 7));
    assert_eq!(icmp.data(), b"abcdefgh");
    assert_eq!(headers.ethernet().dst_addr(), EthernetAddress(PEER_MAC));
    assert_eq!(stack.counters().icmpv4.sent, 1);
}

#[test]
fn ping_before_arp_waits_for_resolution() {
    let pool = pool();
    let mut stack = stack(&pool);
    let now = START;
    let out = feed(&mut stack, &pool, now, &[ping4(b"x")]);
    // Our ARP request for the peer; the reply waits.
    assert_eq!(out.len(), 1);
    assert_eq!(checked(&out[0]).network(), Network::Arp);
    let mut reply = Vec::new();
    let arp = TheirArp::new(
        ArpHardwareId::ETHERNET,
        TheirEtherType::IPV4,
        ArpOperation::REPLY,
        &PEER_MAC,
        &PEER4.octets(),
        &US_MAC,
        &US4.octets(),
    )
    .unwrap();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .arp(arp)
        .write(&mut reply)
        .unwrap();
    let out = feed(&mut stack, &pool, now, &[reply]);
    assert_eq!(out.len(), 1);
    assert_eq!(
        checked(&out[0]).icmpv4().unwrap().msg_type(),
        Icmpv4Message::EchoReply
    );
    assert_eq!(
        checked(&out[0]).ethernet().dst_addr(),
        EthernetAddress(PEER_MAC)
    );
}

#[test]
fn udp_reaches_the_bound_socket_without_a_copy_and_closed_ports_answer() {
    let pool = pool();
    let mut stack = stack(&pool);
    let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
    let now = START;
    let out = feed(
        &mut stack,
        &pool,
        now,
        &[
            arp_request_from_peer(),
            udp4(5353, b"hello"),
            udp4(9999, b"closed"),
        ],
    );
    let datagram = socket.recv().unwrap();
    assert_eq!(datagram.payload(), b"hello");
    assert_eq!(datagram.payload_len(), 5);
    assert_eq!(datagram.src(), SocketAddr::new(PEER4.into(), 40000));
    assert_eq!(datagram.dst(), SocketAddr::new(US4.into(), 5353));
    let mut copy = [0u8; 16];
    assert_eq!(datagram.copy_payload(&mut copy), 5);
    assert_eq!(&copy[..5], b"hello");
    let (payload, sender) = datagram.into_payload().unwrap();
    assert_eq!(
        (payload.data(), sender),
        (&b"hello"[..], SocketAddr::new(PEER4.into(), 40000))
    );
    assert!(
        payload.headroom() >= 14 + 20 + 8,
        "room for the answer's headers"
    );
    assert!(socket.recv().is_none());
    // The ARP reply, then the port unreachable quoting the datagram.
    let ip = ip_frames(&out);
    assert_eq!(ip.len(), 1);
    let headers = checked(ip[0]);
    let icmp = headers.icmpv4().unwrap();
    assert_eq!(icmp.msg_type(), Icmpv4Message::DstUnreachable);
    assert_eq!(icmp.msg_code(), 3);
    assert!(icmp.data().ends_with(b"closed"));
    assert_eq!(stack.counters().udp.drops_of("no_port"), 1);
}

#[test]
fn broken_frames_are_dropped_and_counted() {
    let pool = pool();
    let mut stack = stack(&pool);
    let mut bad_checksum = udp4(5353, b"x");
    let last = bad_checksum.len() - 1;
    bad_checksum[last] ^= 1;
    let mut bad_version = ping4(b"x");
    bad_version[14] = 0x75;
    let mut not_ours = ping4(b"x");
    not_ours[..6].copy_from_slice(&[0x02, 9, 9, 9, 9, 9]);
    let frames = [bad_checksum, bad_version, not_ours, vec![0u8; 5]];
    let out = feed(&mut stack, &pool, START, &frames);
    assert!(out.is_empty());
    let counters = stack.counters();
    assert_eq!(counters.udp.drops_of("checksum"), 1);
    assert_eq!(counters.ipv4.drops_of("vhl"), 1);
    assert_eq!(counters.eth.drops_of("not_ours"), 1);
    assert_eq!(counters.eth.drops_of("truncated"), 1);
}

#[test]
fn a_fragmented_ping_is_reassembled_and_answered_in_fragments() {
    let pool = pool();
    let mut stack = stack(&pool);
    let now = START;
    feed(&mut stack, &pool, now, &[arp_request_from_peer()]);
    // A 3000-byte echo request cut into 1480-byte fragments, as Linux sends.
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let whole = ping4(&payload);
    let datagram = &whole[14..];
    let packet = Ipv4Packet::new_checked(datagram).unwrap();
    let l4 = packet.payload();
    let mut fragments = Vec::new();
    for (i, chunk) in l4.chunks(1480).enumerate() {
        let more = (i + 1) * 1480 < l4.len();
        let mut ip = datagram[..20].to_vec();
        ip.extend_from_slice(chunk);
        let mut p = Ipv4Packet::new_unchecked(&mut ip[..]);
        p.set_total_len((20 + chunk.len()) as u16);
        p.set_ident(0x4242);
        p.clear_flags();
        p.set_more_frags(more);
        p.set_frag_offset((i * 1480) as u16);
        p.fill_checksum();
        let mut frame = whole[..14].to_vec();
        frame.extend_from_slice(&ip);
        fragments.push(frame);
    }
    fragments.reverse(); // out of order
    let out = feed(&mut stack, &pool, now, &fragments);
    let out = ip_frames(&out);
    assert_eq!(out.len(), 3, "the reply, fragmented again");
    let mut data = vec![0u8; l4.len()];
    for frame in out {
        let headers = checked(frame);
        assert_eq!(headers.transport(), Transport::Fragment);
        let ip = headers.ipv4().unwrap();
        assert!(ip.total_len() as usize <= 1500);
        let offset = usize::from(ip.frag_offset());
        data[offset..offset + ip.payload().len()].copy_from_slice(ip.payload());
    }
    let reply = Icmpv4Packet::new_checked(&data[..]).unwrap();
    assert!(reply.verify_checksum());
    assert_eq!(reply.msg_type(), Icmpv4Message::EchoReply);
    assert_eq!(reply.data(), &payload[..]);
}

fn ns_from_peer(target: Ipv6Addr) -> Vec<u8> {
    let repr = NdiscRepr::NeighborSolicit {
        target_addr: target,
        lladdr: Some(PEER_MAC),
    };
    let dst = ipv6::solicited_node(&target);
    let mut message = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut NdiscPacket::new_unchecked(&mut message[..]),
        &PEER6,
        &dst,
        &SOFTWARE,
    )
    .unwrap();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, ipv6::multicast_mac(&dst))
        .ipv6(PEER6.octets(), dst.octets(), 255)
        .write(&mut frame, etherparse::IpNumber::IPV6_ICMP, &message)
        .unwrap();
    frame
}

#[test]
fn neighbour_solicitation_is_answered_and_ping6_replied() {
    let pool = pool();
    let mut stack = stack(&pool);
    let now = START;
    let out = feed(&mut stack, &pool, now, &[ns_from_peer(US6)]);
    assert_eq!(out.len(), 1);
    let headers = checked(&out[0]);
    let icmp = headers.icmpv6().unwrap();
    assert_eq!(icmp.msg_type(), Icmpv6Message::NeighborAdvert);
    let ip = headers.ipv6().unwrap();
    assert_eq!(
        (ip.src_addr(), ip.dst_addr(), ip.hop_limit()),
        (US6, PEER6, 255)
    );
    let repr = NdiscRepr::parse(
        &NdiscPacket::new_checked(headers.l4()).unwrap(),
        &US6,
        &PEER6,
        255,
        &SOFTWARE,
    )
    .unwrap();
    assert!(matches!(
        repr,
        NdiscRepr::NeighborAdvert { flags: NeighborFlags { solicited: true, .. }, target_addr, .. }
            if target_addr == US6
    ));

    let mut ping = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv6(PEER6.octets(), US6.octets(), 64)
        .icmpv6_echo_request(9, 1)
        .write(&mut ping, b"ping6")
        .unwrap();
    let out = feed(&mut stack, &pool, now, &[ping]);
    assert_eq!(out.len(), 1);
    let headers = checked(&out[0]);
    let icmp = headers.icmpv6().unwrap();
    assert_eq!(icmp.msg_type(), Icmpv6Message::EchoReply);
    assert_eq!(icmp.data(), b"ping6");
    let _ = Icmpv6Packet::new_checked(headers.l4()).unwrap();
    let _ = Ipv6Packet::new_checked(headers.l3()).unwrap();
}

#[test]
fn send_udp_resolves_then_sends_zero_copy() {
    let pool = pool();
    let mut stack = stack(&pool);
    let now = START;
    let mut payload = pool.alloc().unwrap();
    payload.put(b"out we go").unwrap();
    let local = SocketAddr::new(US4.into(), 7000);
    stack
        .send_udp(now, local, SocketAddr::new(PEER4.into(), 7001), payload)
        .unwrap();
    let mut out = Vec::new();
    stack.poll_transmit(&mut out);
    assert_eq!(out.len(), 1, "an ARP request; the datagram waits");
    let out: Vec<Vec<u8>> = out.iter().map(|b| b.data().to_vec()).collect();
    assert_eq!(checked(&out[0]).network(), Network::Arp);
    // The peer's request teaches the cache its MAC: the datagram leaves.
    let out = feed(
        &mut stack,
        &pool,
        now + Duration::from_millis(5),
        &[arp_request_from_peer()],
    );
    let ip = ip_frames(&out);
    assert_eq!(ip.len(), 1);
    let headers = checked(ip[0]);
    assert_eq!(headers.udp().unwrap().payload(), b"out we go");
    assert_eq!(headers.ports(), Some((7000, 7001)));
    assert_eq!(headers.ethernet().dst_addr(), EthernetAddress(PEER_MAC));
    assert_eq!(stack.counters().udp.sent, 1);
}

#[test]
fn every_buffer_comes_home() {
    let pool = pool();
    {
        let mut stack = stack(&pool);
        let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
        let frames = [
            arp_request_from_peer(),
            udp4(5353, b"a"),
            udp4(5353, b"b"),
            ping4(b"c"),
        ];
        let out = feed(&mut stack, &pool, START, &frames);
        assert!(!out.is_empty());
        assert!(socket.recv().is_some());
        // One datagram left in the socket ring, the rest dropped with the stack.
        drop(socket);
    }
    assert_eq!(pool.stats().free, pool.capacity());
}

#[test]
fn management_events_report_addresses_neighbours_and_state() {
    let pool = pool();
    let config = StackConfig {
        mac: EthernetAddress(US_MAC),
        ipv4: vec![(US4, 24)],
        ipv6: vec![(US6, 64)],
        dad_transmits: 1,
        autoconf: false,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, pool.clone(), Instant::from_secs(1));
    let mut events = Vec::new();
    // Duplicate address detection runs: the IPv6 addresses come later.
    while let Some(at) = stack.poll_at().filter(|&at| at < START) {
        stack.handle_timeout(at);
    }
    while let Some(event) = stack.poll_event() {
        events.push(event);
    }
    assert_eq!(events[0], MgmtEvent::InterfaceUp);
    assert!(events.contains(&MgmtEvent::AddressAdded(US4.into())));
    assert!(
        events.contains(&MgmtEvent::AddressAdded(US6.into())),
        "{events:?}"
    );
    // A neighbour is learnt from its request.
    feed(&mut stack, &pool, START, &[arp_request_from_peer()]);
    let learnt: Vec<_> = std::iter::from_fn(|| stack.poll_event()).collect();
    assert!(
        learnt.contains(&MgmtEvent::NeighbourAdded(
            PEER4.into(),
            EthernetAddress(PEER_MAC)
        )),
        "{learnt:?}"
    );
    // Down: frames dropped and counted, nothing sent; up again.
    stack.set_up(false);
    assert_eq!(stack.poll_event(), Some(MgmtEvent::InterfaceDown));
    let out = feed(&mut stack, &pool, START, &[ping4(b"x")]);
    assert!(out.is_empty());
    assert_eq!(stack.counters().eth.drops_of("down"), 1);
    stack.set_up(true);
    assert_eq!(stack.poll_event(), Some(MgmtEvent::InterfaceUp));
    let out = feed(&mut stack, &pool, START, &[ping4(b"x")]);
    assert_eq!(ip_frames(&out).len(), 1);
}

#[test]
fn a_socket_sends_through_its_ring_and_receives_with_recv_from() {
    let pool = pool();
    let mut stack = stack(&pool);
    let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
    feed(&mut stack, &pool, START, &[arp_request_from_peer()]);
    let peer = SocketAddr::new(PEER4.into(), 40000);
    socket.send_to(b"first", peer).unwrap();
    let mut buf = socket.alloc().unwrap();
    buf.put(b"second, zero-copy").unwrap();
    socket.send_buf(buf, peer).unwrap();
    assert_eq!(stack.flush_sockets(START, 64), 2);
    let mut out = Vec::new();
    stack.poll_transmit(&mut out);
    let payloads: Vec<Vec<u8>> = out
        .iter()
        .filter_map(|b| checked(b.data()).udp().map(|u| u.payload().to_vec()))
        .collect();
    assert_eq!(payloads, [b"first".to_vec(), b"second, zero-copy".to_vec()]);
    drop(out);
    let out = feed(&mut stack, &pool, START, &[udp4(5353, b"reply")]);
    assert!(
        ip_frames(&out).is_empty(),
        "nothing answers a delivered datagram"
    );
    let mut into = [0u8; 3];
    assert_eq!(socket.recv_from(&mut into), Some((3, peer)));
    assert_eq!(&into, b"rep");
    drop((socket, stack, out));
    assert_eq!(pool.stats().free, pool.capacity());
}

#[test]
fn timed_receive_marks_every_receive_stage() {
    use crate::stats::{StageConfig, StageRecorder};
    let pool = pool();
    let mut stack = stack(&pool);
    let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
    let mut recorder = StageRecorder::new(StageConfig {
        sample_every: 1,
        ..StageConfig::default()
    });
    let mut bufs: Vec<NetBuf> = (0..4)
        .map(|_| to_buf(&pool, &udp4(5353, b"timed")))
        .collect();
    let t0 = recorder.burst_start().unwrap();
    stack.receive_timed(START, &mut bufs, Some((&mut recorder, t0)));
    let stages: Vec<(String, u64)> = recorder
        .stage_stats()
        .into_iter()
        .filter(|s| s.packets > 0)
        .map(|s| (s.name, s.packets))
        .collect();
    let names: Vec<&str> = stages.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["rx_l2", "rx_l3", "rx_l4", "rx_socket"]);
    assert!(stages.iter().all(|(_, n)| *n == 4));
    assert_eq!(socket.recv_burst(&mut Vec::new(), 8), 4);
}

#[test]
fn sampled_socket_sends_time_the_transmit_stages() {
    use crate::stats::{StageConfig, StageRecorder};
    let pool = pool();
    let mut stack = stack(&pool);
    stack
        .insert_neighbour(START, PEER4, EthernetAddress(PEER_MAC))
        .unwrap();
    let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
    let peer = SocketAddr::new(PEER4.into(), 40000);
    for _ in 0..2 * super::SEND_SAMPLE {
        socket.queue_buf(socket.alloc().unwrap(), peer).unwrap();
    }
    socket.flush().unwrap();
    let mut recorder = StageRecorder::new(StageConfig::default());
    let sent = stack.flush_sockets_timed(START, 1024, Some(&mut recorder));
    assert_eq!(sent, 2 * super::SEND_SAMPLE as usize);
    let timed: Vec<(String, u64)> = recorder
        .stage_stats()
        .into_iter()
        .filter(|s| s.packets > 0)
        .map(|s| (s.name, s.packets))
        .collect();
    assert_eq!(
        timed,
        [
            ("tx_l4".to_owned(), 2),
            ("tx_l3".to_owned(), 2),
            ("tx_l2".to_owned(), 2)
        ]
    );
    let mut out = Vec::new();
    assert_eq!(
        stack.poll_transmit(&mut out),
        2 * super::SEND_SAMPLE as usize
    );
}

#[test]
fn routes_pick_the_longest_prefix_and_a_missing_route_is_counted() {
    let pool = pool();
    let gateway = Ipv4Addr::new(10, 9, 0, 254);
    let config = StackConfig {
        mac: EthernetAddress(US_MAC),
        ipv4: vec![(US4, 24)],
        routes4: vec![(Ipv4Addr::new(192, 0, 2, 0), 24, gateway)],
        dad_transmits: 0,
        autoconf: false,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, pool.clone(), Instant::from_secs(1));
    let gateway_mac = EthernetAddress([0x02, 0, 0, 0, 0, 0xfe]);
    stack.insert_neighbour(START, gateway, gateway_mac).unwrap();
    let local = SocketAddr::new(US4.into(), 7000);
    let mut payload = pool.alloc().unwrap();
    payload.put(b"routed").unwrap();
    stack
        .send_udp(
            START,
            local,
            SocketAddr::new(Ipv4Addr::new(192, 0, 2, 7).into(), 7),
            payload,
        )
        .unwrap();
    let mut out = Vec::new();
    stack.poll_transmit(&mut out);
    let routed = out
        .iter()
        .map(|b| b.data().to_vec())
        .find(|f| checked(f).udp().is_some())
        .expect("the datagram went out");
    // To the gateway's MAC, still addressed to the far host.
    assert_eq!(checked(&routed).ethernet().dst_addr(), gateway_mac);
    assert_eq!(
        checked(&routed).ipv4().unwrap().dst_addr(),
        Ipv4Addr::new(192, 0, 2, 7)
    );
    // No default route: elsewhere is unreachable, and counted.
    let mut payload = pool.alloc().unwrap();
    payload.put(b"lost").unwrap();
    let far = SocketAddr::new(Ipv4Addr::new(198, 51, 100, 1).into(), 7);
    stack.send_udp(START, local, far, payload).unwrap();
    assert_eq!(stack.counters().ipv4.drops_of("no_route"), 1);
    // A default route added at run time reaches it.
    stack
        .add_route4(Ipv4Addr::UNSPECIFIED, 0, Some(gateway))
        .unwrap();
    assert_eq!(stack.routes4().len(), 3);
    let mut payload = pool.alloc().unwrap();
    payload.put(b"found").unwrap();
    stack.send_udp(START, local, far, payload).unwrap();
    assert_eq!(stack.counters().ipv4.drops_of("no_route"), 1);
    assert!(stack.remove_route4(Ipv4Addr::UNSPECIFIED, 0));
}

/// Frames of every shape near the fast lane's edge, in one burst.
fn lane_edge_frames() -> Vec<Vec<u8>> {
    let mut frames = vec![udp4(5353, b"fast one")];
    // From our subnet's broadcast address: refused by the address rules.
    let mut from_broadcast = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv4([10, 9, 0, 255], US4.octets(), 64)
        .udp(40000, 5353)
        .write(&mut from_broadcast, b"martian")
        .unwrap();
    frames.push(from_broadcast);
    let mut bad_checksum = udp4(5353, b"bad sum");
    let last = bad_checksum.len() - 1;
    bad_checksum[last] ^= 1;
    frames.push(bad_checksum);
    frames.push(udp4(9999, b"closed port"));
    // Priority-tagged (VLAN 0): the stages deliver it.
    let mut tagged = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .single_vlan(etherparse::VlanId::try_new(0).unwrap())
        .ipv4(PEER4.octets(), US4.octets(), 64)
        .udp(40000, 5353)
        .write(&mut tagged, b"tagged")
        .unwrap();
    frames.push(tagged);
    // To the broadcast MAC: the stages judge it.
    let mut to_broadcast_mac = udp4(5353, b"bcast mac");
    to_broadcast_mac[..6].copy_from_slice(&[0xff; 6]);
    frames.push(to_broadcast_mac);
    // Ethernet padding after a short datagram: trimmed.
    let mut padded = udp4(5353, b"pad");
    padded.resize(60, 0);
    frames.push(padded);
    // A zero UDP checksum (none computed) is accepted.
    let mut no_checksum = udp4(5353, b"no sum");
    no_checksum[40..42].copy_from_slice(&[0, 0]);
    frames.push(no_checksum);
    frames.push(udp4(5353, b"fast two"));
    frames
}

#[test]
fn the_fast_lane_decides_and_counts_exactly_as_the_stages() {
    let run = |lane: bool| {
        let pool = pool();
        let mut stack = stack(&pool);
        let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
        assert!(stack.lane.is_some(), "one IPv4 address: the lane is on");
        if !lane {
            stack.lane = None;
        }
        let out = feed(&mut stack, &pool, START, &lane_edge_frames());
        let mut payloads = Vec::new();
        while let Some(datagram) = socket.recv() {
            payloads.push(datagram.payload().to_vec());
        }
        (payloads, stack.protocols(), out)
    };
    let (mut with_lane, counters, out) = run(true);
    let (mut without_lane, stage_counters, stage_out) = run(false);
    // The lane took the plain ones (they come first), the stages the rest.
    let lane_first: Vec<&[u8]> = vec![
        b"fast one",
        b"pad",
        b"no sum",
        b"fast two",
        b"tagged",
        b"bcast mac",
    ];
    assert_eq!(with_lane, lane_first);
    with_lane.sort();
    without_lane.sort();
    let expected: Vec<&[u8]> = vec![
        b"bcast mac",
        b"fast one",
        b"fast two",
        b"no sum",
        b"pad",
        b"tagged",
    ];
    assert_eq!(with_lane, expected);
    assert_eq!(with_lane, without_lane);
    assert_eq!(counters, stage_counters);
    assert_eq!(out, stage_out, "the same answers (the port unreachable)");
    assert_eq!(counters.udp.drop_reasons.get("checksum"), Some(&1));
    assert_eq!(counters.udp.drop_reasons.get("no_port"), Some(&1));
    assert_eq!(counters.ipv4.drop_reasons.get("src_broadcast"), Some(&1));
}

#[test]
fn without_a_single_ipv4_address_the_lane_is_off_and_the_stages_deliver() {
    let pool = pool();
    let config = StackConfig {
        mac: EthernetAddress(US_MAC),
        ipv4: vec![(US4, 24), (Ipv4Addr::new(10, 9, 1, 1), 24)],
        dad_transmits: 0,
        autoconf: false,
        ..StackConfig::default()
    };
    let mut stack = Stack::new(config, pool.clone(), Instant::from_secs(1));
    assert!(stack.lane.is_none());
    let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
    feed(&mut stack, &pool, START, &[udp4(5353, b"slow")]);
    assert_eq!(socket.recv().unwrap().payload(), b"slow");
}

#[test]
fn a_whole_burst_for_one_socket_is_delivered_in_one_move_and_overflow_is_counted() {
    let run = |lane: bool| {
        let pool = pool();
        let mut stack = stack(&pool);
        stack.config.socket_ring = 4;
        let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
        if !lane {
            stack.lane = None;
        }
        let frames: Vec<Vec<u8>> = (0..6u8).map(|i| udp4(5353, &[i; 3])).collect();
        feed(&mut stack, &pool, START, &frames);
        let mut payloads = Vec::new();
        while let Some(datagram) = socket.recv() {
            payloads.push(datagram.payload().to_vec());
        }
        (payloads, stack.protocols())
    };
    let (payloads, counters) = run(true);
    assert_eq!(payloads, (0..4u8).map(|i| vec![i; 3]).collect::<Vec<_>>());
    assert_eq!(counters.udp.recv, 6);
    assert_eq!(counters.udp.drop_reasons.get("socket_full"), Some(&2));
    assert_eq!((payloads, counters), run(false));
}

#[test]
fn frames_keep_their_priority_while_waiting_for_the_neighbour() {
    let pool = pool();
    let mut stack = stack(&pool);
    let mut socket = stack.bind_udp(SocketAddr::new(US4.into(), 5353)).unwrap();
    socket.set_priority(5).unwrap();
    assert_eq!(socket.priority(), 5);
    assert!(matches!(
        socket.set_priority(8),
        Err(SocketError::Priority(8))
    ));
    let mut buf = socket.alloc().unwrap();
    buf.put(b"waits for ARP").unwrap();
    socket
        .send_buf(buf, SocketAddr::new(PEER4.into(), 7000))
        .unwrap();
    assert_eq!(stack.flush_sockets(START, 64), 1);
    // The ARP request goes at the control priority; the datagram waits.
    let mut out = Vec::new();
    assert_eq!(stack.poll_transmit_priority(CONTROL_PRIORITY, &mut out), 1);
    assert_eq!(checked(out[0].data()).network(), Network::Arp);
    assert_eq!(stack.transmit_len(), 0);
    // The peer's request resolves it: our reply at 7, the datagram at 5.
    let mut bufs = vec![to_buf(&pool, &arp_request_from_peer())];
    stack.receive(START, &mut bufs);
    out.clear();
    assert_eq!(stack.poll_transmit_priority(5, &mut out), 1);
    assert!(out[0].data().ends_with(b"waits for ARP"));
    out.clear();
    assert_eq!(stack.poll_transmit_priority(CONTROL_PRIORITY, &mut out), 1);
    assert_eq!(checked(out[0].data()).network(), Network::Arp);
    assert_eq!(stack.transmit_len(), 0);
    assert_eq!(
        stack.poll_transmit_priority(9, &mut out),
        0,
        "no such priority"
    );
}

#[test]
fn pings_go_out_and_their_replies_come_back_to_the_application() {
    let pool = pool();
    let mut stack = stack(&pool);
    stack
        .insert_neighbour(START, PEER4, EthernetAddress(PEER_MAC))
        .unwrap();
    let stamp: Vec<u8> = (1..=20).collect();
    stack
        .send_ping(START, PEER4.into(), 0x5354, 9, &stamp)
        .unwrap();
    let mut out = Vec::new();
    stack.poll_transmit(&mut out);
    let request = out
        .iter()
        .find(|b| checked(b.data()).network() == Network::Ipv4)
        .expect("the echo request");
    let headers = checked(request.data());
    let icmp = headers.icmpv4().unwrap();
    assert_eq!(icmp.msg_type(), Icmpv4Message::EchoRequest);
    assert_eq!((icmp.echo_ident(), icmp.echo_seq_no()), (0x5354, 9));
    assert_eq!(icmp.data(), &stamp[..]);
    // The peer's reply: queued for the application, the first 16 bytes kept.
    let mut reply = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv4(PEER4.octets(), US4.octets(), 64)
        .icmpv4_echo_reply(0x5354, 9)
        .write(&mut reply, &stamp)
        .unwrap();
    assert!(feed(&mut stack, &pool, START, &[reply]).is_empty());
    let got = stack.poll_ping_reply().expect("a reply");
    assert_eq!(
        (got.from, got.ident, got.seq, got.len),
        (PEER4.into(), 0x5354, 9, 20)
    );
    assert_eq!(&got.head[..], &stamp[..16]);
    assert!(stack.poll_ping_reply().is_none());
    // No route for an address family the interface has no address of.
    let mut bare = Stack::new(
        StackConfig {
            mac: EthernetAddress(US_MAC),
            ipv4: vec![],
            dad_transmits: 0,
            autoconf: false,
            ..StackConfig::default()
        },
        pool.clone(),
        START,
    );
    assert_eq!(
        bare.send_ping(START, PEER4.into(), 1, 1, b"x"),
        Err(SendError::NoRoute)
    );
}
