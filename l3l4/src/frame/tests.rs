use etherparse::{
    ArpHardwareId, ArpOperation as TheirArpOp, ArpPacket as TheirArp, EtherType as TheirEtherType,
    NetSlice, PacketBuilder, SlicedPacket, TransportSlice, VlanId,
};
use proptest::prelude::*;

use super::*;
use crate::wire::frames::{FIRST_FRAGMENT_HEADER, OPTIONS_FRAME, UDP_FRAME, UDP_V6_FRAME};
use crate::wire::frames_v6::{HBH_UDP, NS};

const SRC_MAC: [u8; 6] = [2, 0, 0, 0, 9, 1];
const DST_MAC: [u8; 6] = [2, 0, 0, 0, 9, 2];
const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

/// An Ethernet header in front of a captured IP packet.
fn with_ethernet(ethertype: u16, packet: &[u8]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(14 + packet.len());
    frame.extend_from_slice(&DST_MAC);
    frame.extend_from_slice(&SRC_MAC);
    frame.extend_from_slice(&ethertype.to_be_bytes());
    frame.extend_from_slice(packet);
    frame
}

fn udp4(vlan: Option<u16>, payload: &[u8]) -> Vec<u8> {
    let eth = PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
    let ip = match vlan {
        Some(vid) => {
            eth.single_vlan(VlanId::try_new(vid).unwrap())
                .ipv4([10, 9, 0, 1], [10, 9, 0, 2], 64)
        }
        None => eth.ipv4([10, 9, 0, 1], [10, 9, 0, 2], 64),
    };
    let builder = ip.udp(40000, 5353);
    let mut frame = Vec::new();
    builder.write(&mut frame, payload).unwrap();
    frame
}

fn tcp4(payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv4([10, 9, 0, 1], [10, 9, 0, 2], 64)
        .tcp(40000, 80, 0x0102_0304, 65535)
        .ack(7)
        .psh();
    let mut frame = Vec::new();
    builder.write(&mut frame, payload).unwrap();
    frame
}

fn udp6(payload: &[u8]) -> Vec<u8> {
    let builder = PacketBuilder::ethernet2(SRC_MAC, DST_MAC)
        .ipv6(
            [0xfd, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            [0xfd, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            64,
        )
        .udp(40000, 5353);
    let mut frame = Vec::new();
    builder.write(&mut frame, payload).unwrap();
    frame
}

fn arp_request() -> Vec<u8> {
    let arp = TheirArp::new(
        ArpHardwareId::ETHERNET,
        TheirEtherType::IPV4,
        TheirArpOp::REQUEST,
        &SRC_MAC,
        &[10, 9, 0, 1],
        &[0; 6],
        &[10, 9, 0, 2],
    )
    .unwrap();
    let builder = PacketBuilder::ethernet2(SRC_MAC, [0xff; 6]).arp(arp);
    let mut frame = Vec::new();
    builder.write(&mut frame).unwrap();
    frame
}

/// The offset of the transport payload etherparse finds, for comparison.
fn their_payload_offset(frame: &[u8]) -> Option<(usize, usize)> {
    let sliced = SlicedPacket::from_ethernet(frame).ok()?;
    let payload = match sliced.transport? {
        TransportSlice::Udp(udp) => udp.payload(),
        TransportSlice::Tcp(tcp) => tcp.payload(),
        _ => return None,
    };
    let start = payload.as_ptr() as usize - frame.as_ptr() as usize;
    Some((start, payload.len()))
}

fn our_payload_offset(headers: &FrameHeaders<'_>) -> Option<(usize, usize)> {
    let frame = headers.frame();
    let payload = if let Some(udp) = headers.udp() {
        udp.payload()
    } else {
        headers.tcp()?.payload()
    };
    let start = payload.as_ptr() as usize - frame.as_ptr() as usize;
    Some((start, payload.len()))
}

#[test]
fn the_benchmark_mix_parses_and_agrees_with_etherparse() {
    let cases: [(Vec<u8>, Network, Transport, Option<u8>); 5] = [
        (udp4(None, b"hello"), Network::Ipv4, Transport::Udp, None),
        (
            tcp4(b"GET / HTTP/1.1\r\n"),
            Network::Ipv4,
            Transport::Tcp,
            None,
        ),
        (udp6(b"hello v6"), Network::Ipv6, Transport::Udp, None),
        (
            udp4(Some(100), b"tagged"),
            Network::Ipv4,
            Transport::Udp,
            Some(0),
        ),
        (arp_request(), Network::Arp, Transport::None, None),
    ];
    for (frame, network, transport, pcp) in cases {
        let plain = FrameHeaders::parse(&frame).unwrap();
        let checked = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
        assert_eq!(plain, checked);
        assert_eq!(checked.network(), network);
        assert_eq!(checked.transport(), transport);
        assert_eq!(checked.pcp(), pcp);
        assert_eq!(
            our_payload_offset(&checked),
            their_payload_offset(&frame),
            "{network:?}/{transport:?}"
        );
        if network == Network::Arp {
            assert_eq!(checked.arp().unwrap().header_len(), 28);
            assert!(checked.l4().is_empty());
        }
    }
}

#[test]
fn captured_packets() {
    let frame = with_ethernet(0x0800, &UDP_FRAME);
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    assert_eq!(headers.udp().unwrap().payload(), b"hello strata");
    assert_eq!(headers.ports(), Some((40000, 5353)));
    assert_eq!(headers.l3_offset(), 14);
    assert_eq!(headers.l4_offset(), 34);

    // IPv4 options: the transport starts after IHL × 4 bytes.
    let frame = with_ethernet(0x0800, &OPTIONS_FRAME);
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    assert_eq!(headers.l4_offset(), 14 + 32);
    assert_eq!(headers.udp().unwrap().payload(), b"opt");

    let frame = with_ethernet(0x86dd, &UDP_V6_FRAME);
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    assert_eq!(headers.udp().unwrap().payload(), b"hello strata v6");

    // A hop-by-hop header before UDP is walked.
    let frame = with_ethernet(0x86dd, &HBH_UDP);
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    assert_eq!(headers.transport(), Transport::Udp);
    assert!(headers.l4_offset() > 14 + 40);
    assert_eq!(our_payload_offset(&headers), their_payload_offset(&frame));

    // Neighbour solicitation: ICMPv6 with its checksum verified.
    let frame = with_ethernet(0x86dd, &NS);
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    assert_eq!(headers.transport(), Transport::Icmpv6);
    assert_eq!(
        headers.icmpv6().unwrap().msg_type(),
        crate::Icmpv6Message::NeighborSolicit
    );
}

#[test]
fn ethernet_padding_is_not_payload() {
    let mut frame = udp4(None, b"");
    let unpadded = frame.len();
    frame.resize(60, 0xee);
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    assert_eq!(headers.l3().len(), unpadded - 14);
    assert_eq!(headers.udp().unwrap().payload(), b"");
}

#[test]
fn fragments_stop_at_the_network_layer() {
    let mut packet = FIRST_FRAGMENT_HEADER.to_vec();
    let payload_len = usize::from(u16::from_be_bytes([packet[2], packet[3]])) - 20;
    packet.resize(20 + payload_len, 0);
    let frame = with_ethernet(0x0800, &packet);
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    assert_eq!(headers.transport(), Transport::Fragment);
    assert_eq!(headers.udp(), None);
    assert_eq!(headers.ports(), None);
    let flow = headers.flow().unwrap();
    assert_eq!((flow.src_port, flow.dst_port), (0, 0));
}

#[test]
fn checked_parse_catches_every_checksum() {
    // (frame, byte to corrupt, expected error)
    let udp = udp4(None, b"payload");
    let tcp = tcp4(b"payload");
    let v6 = udp6(b"payload");
    let cases = [
        (
            udp.clone(),
            14 + 10,
            FrameError::Ipv4(ipv4::DropReason::Checksum),
        ),
        (udp.clone(), udp.len() - 1, FrameError::Udp(Error::Checksum)),
        (tcp.clone(), tcp.len() - 1, FrameError::Tcp(Error::Checksum)),
        (v6.clone(), v6.len() - 1, FrameError::Udp(Error::Checksum)),
    ];
    for (mut frame, at, error) in cases {
        frame[at] ^= 0x40;
        assert!(FrameHeaders::parse(&frame).is_ok(), "{error:?}");
        assert_eq!(FrameHeaders::parse_checked(&frame, &SOFTWARE), Err(error));
        // A device that verified the checksum itself: trusted.
        let offloaded = FrameHeaders::parse_checked(&frame, &ChecksumCaps::offloaded());
        assert!(offloaded.is_ok(), "{error:?}");
    }
}

#[test]
fn udp_zero_checksum_rules() {
    let mut v4 = udp4(None, b"x");
    let at = v4.len() - 1 - 2;
    v4[at..at + 2].fill(0);
    assert!(FrameHeaders::parse_checked(&v4, &SOFTWARE).is_ok());

    let mut v6 = udp6(b"x");
    let at = v6.len() - 1 - 2;
    v6[at..at + 2].fill(0);
    assert_eq!(
        FrameHeaders::parse_checked(&v6, &SOFTWARE),
        Err(FrameError::Udp(Error::Checksum))
    );
    // Even with offload: a zero UDP checksum over IPv6 is never valid.
    assert_eq!(
        FrameHeaders::parse_checked(&v6, &ChecksumCaps::offloaded()),
        Err(FrameError::Udp(Error::Checksum))
    );
}

#[test]
fn errors_name_protocol_and_reason() {
    let frame = udp4(None, b"abc");
    assert_eq!(
        FrameHeaders::parse(&frame[..10]).unwrap_err().to_string(),
        "eth dropped: truncated"
    );
    let mut bad_version = frame.clone();
    bad_version[14] = 0x65;
    let error = FrameHeaders::parse(&bad_version).unwrap_err();
    assert_eq!((error.protocol(), error.reason()), ("ipv4", "vhl"));
    let error = FrameHeaders::parse(&frame[..frame.len() - 1]).unwrap_err();
    assert_eq!((error.protocol(), error.reason()), ("ipv4", "lblen"));

    let mut bad_udp_len = frame.clone();
    bad_udp_len[14 + 20 + 5] = 4;
    let error = FrameHeaders::parse(&bad_udp_len).unwrap_err();
    assert_eq!(error.protocol(), "udp");

    let mut arp = arp_request();
    arp[14 + 1] = 9; // hardware type 9, not Ethernet
    assert!(FrameHeaders::parse(&arp).is_ok());
    let error = FrameHeaders::parse_checked(&arp, &SOFTWARE).unwrap_err();
    assert_eq!(error.protocol(), "arp");
}

#[test]
fn every_truncation_is_refused_or_consistent() {
    for frame in [
        udp4(Some(7), b"abcdef"),
        tcp4(b"xyz"),
        udp6(b"0123"),
        arp_request(),
    ] {
        for len in 0..frame.len() {
            let cut = &frame[..len];
            if let Ok(headers) = FrameHeaders::parse_checked(cut, &SOFTWARE) {
                assert!(headers.l4_offset() <= cut.len());
                assert!(headers.l3().len() <= cut.len());
            }
        }
    }
}

#[test]
fn flow_hash_is_symmetric() {
    let forward = udp4(None, b"a");
    let builder = PacketBuilder::ethernet2(DST_MAC, SRC_MAC)
        .ipv4([10, 9, 0, 2], [10, 9, 0, 1], 64)
        .udp(5353, 40000);
    let mut reverse = Vec::new();
    builder.write(&mut reverse, b"b").unwrap();
    let one = FrameHeaders::parse(&forward).unwrap().flow().unwrap();
    let other = FrameHeaders::parse(&reverse).unwrap().flow().unwrap();
    assert_ne!(one, other);
    assert_eq!(one.symmetric_hash(), other.symmetric_hash());
    let mut third = other;
    third.src_port += 1;
    assert_ne!(one.symmetric_hash(), third.symmetric_hash());
}

fn any_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..5,
        proptest::option::of(0u16..4095),
        any::<[u8; 4]>(),
        any::<[u8; 16]>(),
        any::<(u16, u16)>(),
        proptest::collection::vec(any::<u8>(), 0..100),
    )
        .prop_map(|(kind, vlan, v4, mut v6, (sport, dport), payload)| {
            // A unicast source: `Ipv6Packet::validate` refuses multicast ones.
            v6[0] = 0x20;
            let eth = PacketBuilder::ethernet2(SRC_MAC, DST_MAC);
            let mut frame = Vec::new();
            macro_rules! finish {
                ($ip:expr) => {
                    match kind % 2 {
                        0 => $ip.udp(sport, dport).write(&mut frame, &payload).unwrap(),
                        _ => $ip
                            .tcp(sport, dport, 1, 1000)
                            .write(&mut frame, &payload)
                            .unwrap(),
                    }
                };
            }
            match (kind < 2, vlan) {
                (true, Some(vid)) => finish!(eth.single_vlan(VlanId::try_new(vid).unwrap()).ipv4(
                    v4,
                    [10, 0, 0, 1],
                    9
                )),
                (true, None) => finish!(eth.ipv4(v4, [10, 0, 0, 1], 9)),
                (false, Some(vid)) => finish!(eth
                    .single_vlan(VlanId::try_new(vid).unwrap())
                    .ipv6(v6, [0xfe; 16], 9)),
                (false, None) => finish!(eth.ipv6(v6, [0xfe; 16], 9)),
            }
            frame
        })
}

proptest! {
    /// On well-formed frames both parsers find the same payload, and ours verifies
    /// every checksum etherparse computed.
    #[test]
    fn agrees_with_etherparse(frame in any_frame()) {
        let ours = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
        prop_assert_eq!(our_payload_offset(&ours), their_payload_offset(&frame));
        let sliced = SlicedPacket::from_ethernet(&frame).unwrap();
        let same_net = matches!(
            (ours.network(), sliced.net),
            (Network::Ipv4, Some(NetSlice::Ipv4(_))) | (Network::Ipv6, Some(NetSlice::Ipv6(_)))
        );
        prop_assert!(same_net);
    }

    /// Any bytes at all: no panic, and a success is internally consistent.
    #[test]
    fn never_panics(mut frame in any_frame(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6), cut in any::<usize>()) {
        for (at, value) in flips {
            let len = frame.len();
            frame[at % len] = value;
        }
        frame.truncate(cut % (frame.len() + 1));
        let results = [FrameHeaders::parse(&frame), FrameHeaders::parse_checked(&frame, &SOFTWARE)];
        for headers in results.into_iter().flatten() {
            prop_assert!(headers.l3_offset() <= headers.l4_offset() || headers.l4().is_empty());
            prop_assert!(headers.l3().len() <= frame.len());
            let _ = (headers.flow(), headers.dscp(), headers.ports(), headers.udp(), headers.tcp());
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = FrameHeaders::parse(&bytes).map(|h| h.flow());
        let _ = FrameHeaders::parse_checked(&bytes, &SOFTWARE).map(|h| h.flow());
    }
}

#[test]
fn a_layout_gives_the_same_headers_back() {
    let frame = udp4(Some(5), b"layout");
    let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
    let layout = headers.layout().unwrap();
    assert_eq!(core::mem::size_of::<FrameLayout>(), 16);
    assert_eq!(
        FrameLayout::parse_checked(&frame, &SOFTWARE),
        Ok(Some(layout))
    );
    assert_eq!(layout.pcp(), Some(0));
    assert_eq!(layout.outer_vid(), Some(5));
    assert_eq!(layout.headers(&frame), headers);
    assert_eq!((layout.l3_offset(), layout.l4_offset()), (18, 38));
    assert_eq!(layout.l3_end(), frame.len());
}

proptest! {
    /// Packing keeps every field of every frame the walk accepts.
    #[test]
    fn layouts_round_trip(frame in any_frame()) {
        let headers = FrameHeaders::parse_checked(&frame, &SOFTWARE).unwrap();
        let layout = headers.layout().unwrap();
        prop_assert_eq!(layout.headers(&frame), headers);
    }
}

#[test]
fn layouts_keep_unusual_layers() {
    let arp = arp_request();
    let headers = FrameHeaders::parse(&arp).unwrap();
    assert_eq!(headers.layout().unwrap().headers(&arp), headers);
    let mut other = udp4(None, b"x");
    other[14 + 9] = 99; // an unknown protocol
    let other_ip = {
        let mut p = crate::Ipv4Packet::new_unchecked(&mut other[14..]);
        p.fill_checksum();
        other.clone()
    };
    let headers = FrameHeaders::parse_checked(&other_ip, &SOFTWARE).unwrap();
    assert_eq!(
        headers.transport(),
        Transport::Other(IpProtocol::Unknown(99))
    );
    assert_eq!(headers.layout().unwrap().headers(&other_ip), headers);
}

proptest! {
    /// The fast path for untagged IPv4/UDP decides exactly as the general walk:
    /// whatever the bytes (built frames, then bits flipped and cuts made).
    #[test]
    fn the_udp_fast_path_agrees_with_the_general_walk(
        mut frame in any_frame(),
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
        cut in any::<usize>(),
    ) {
        for (at, value) in flips {
            let len = frame.len();
            frame[at % len] = value;
        }
        frame.truncate(frame.len() - cut % 4);
        for caps in [Some(&SOFTWARE), None] {
            let general = walk_general(&frame, caps);
            if let Some(ip_len) = untagged_udp4(&frame, caps) {
                let (vlan, network, transport, l4, end) = general.expect("the general walk accepts it too");
                prop_assert_eq!((vlan.header_len, vlan.pcp, network, transport, l4, end),
                    (14, None, Network::Ipv4, Transport::Udp, 34, 14 + ip_len));
                if let Some(caps) = caps {
                    // The public form agrees, with the packet's addresses and port.
                    let udp4 = untagged_ipv4_udp(&frame, caps).expect("accepted");
                    let ip = crate::wire::ipv4::Packet::new_unchecked(&frame[14..]);
                    prop_assert_eq!((udp4.src, udp4.dst), (u32::from(ip.src_addr()), u32::from(ip.dst_addr())));
                    prop_assert_eq!(udp4.dst_port, u16::from_be_bytes([frame[36], frame[37]]));
                    prop_assert_eq!(udp4.ip_len, ip_len);
                }
            } else if let Ok((vlan, network, transport, l4, _)) = general {
                // The general walk accepted it: then it is not a plain untagged
                // IPv4/UDP frame without options.
                prop_assert!(!(vlan.header_len == 14 && network == Network::Ipv4
                    && transport == Transport::Udp && l4 == 34));
            }
        }
    }
}
