use super::*;
use crate::checksum::Checksum;
use proptest::prelude::*;
use std::net::{Ipv4Addr, Ipv6Addr};

const SOFTWARE: ChecksumCaps = ChecksumCaps::software();
const V4: IpPair = IpPair::v4(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2));

/// A SYN laid out as Linux sends it (MSS, SACK permitted, timestamps, NOP, window
/// scale), hand-built for 10.9.0.1:40000 → 10.9.0.2:80 (not a capture); the checksum
/// was computed independently (Python) and is checked against etherparse below.
const SYN: [u8; 40] = [
    0x9c, 0x40, 0x00, 0x50, // ports
    0x01, 0x02, 0x03, 0x04, // seq
    0x00, 0x00, 0x00, 0x00, // ack
    0xa0, 0x02, 0xfa, 0xf0, // offset 10, SYN, window 64240
    0x68, 0x2b, 0x00, 0x00, // checksum over V4, urgent
    0x02, 0x04, 0x05, 0xb4, // MSS 1460
    0x04, 0x02, 0x08, 0x0a, // SACK permitted, timestamps
    0x00, 0x00, 0x30, 0x39, // tsval 12345
    0x00, 0x00, 0x00, 0x00, // tsecr 0
    0x01, 0x03, 0x03, 0x07, // NOP, window scale 7
];

/// The SYN-ACK answering [`SYN`] (10.9.0.2:80 → 10.9.0.1:40000), same layout.
const SYN_ACK: [u8; 40] = [
    0x00, 0x50, 0x9c, 0x40, // ports
    0xa0, 0xb0, 0xc0, 0xd0, // seq
    0x01, 0x02, 0x03, 0x05, // ack
    0xa0, 0x12, 0xfe, 0x88, // offset 10, SYN|ACK, window 65160
    0x03, 0x00, 0x00, 0x00, // checksum over V4 reversed, urgent
    0x02, 0x04, 0x05, 0xb4, // MSS 1460
    0x04, 0x02, 0x08, 0x0a, // SACK permitted, timestamps
    0x00, 0x01, 0x00, 0x00, // tsval 65536
    0x00, 0x00, 0x30, 0x39, // tsecr 12345
    0x01, 0x03, 0x03, 0x07, // NOP, window scale 7
];

/// A real handshake and first data segment, captured with tshark on a veth pair between
/// two network namespaces (Linux, Python sockets, tx checksum offload off):
/// 10.9.0.1:40000 → 10.9.0.2:80. TCP headers only (Ethernet and IPv4 stripped);
/// tshark reported every checksum good.
const CAPTURED: [(&[u8], bool); 4] = [
    // SYN: MSS 1460, SACK permitted, timestamps, NOP, window scale 10.
    (
        &[
            0x9c, 0x40, 0x00, 0x50, 0xdf, 0x3b, 0xd8, 0xc1, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02,
            0xfa, 0xf0, 0xa4, 0xcb, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
            0xce, 0xa6, 0x70, 0xf7, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x0a,
        ],
        false,
    ),
    // SYN-ACK, same options.
    (
        &[
            0x00, 0x50, 0x9c, 0x40, 0xd0, 0xe3, 0xf4, 0x2d, 0xdf, 0x3b, 0xd8, 0xc2, 0xa0, 0x12,
            0xfe, 0x88, 0xa4, 0xee, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a,
            0xa4, 0x39, 0x92, 0xe8, 0xce, 0xa6, 0x70, 0xf7, 0x01, 0x03, 0x03, 0x0a,
        ],
        true,
    ),
    // ACK: NOP, NOP, timestamps.
    (
        &[
            0x9c, 0x40, 0x00, 0x50, 0xdf, 0x3b, 0xd8, 0xc2, 0xd0, 0xe3, 0xf4, 0x2e, 0x80, 0x10,
            0x00, 0x3f, 0xd2, 0x07, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xce, 0xa6, 0x70, 0xf7,
            0xa4, 0x39, 0x92, 0xe8,
        ],
        false,
    ),
    // PSH|ACK carrying "hello strata".
    (
        &[
            0x9c, 0x40, 0x00, 0x50, 0xdf, 0x3b, 0xd8, 0xc2, 0xd0, 0xe3, 0xf4, 0x2e, 0x80, 0x18,
            0x00, 0x3f, 0x33, 0xca, 0x00, 0x00, 0x01, 0x01, 0x08, 0x0a, 0xce, 0xa6, 0x70, 0xf7,
            0xa4, 0x39, 0x92, 0xe8, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x73, 0x74, 0x72, 0x61,
            0x74, 0x61,
        ],
        false,
    ),
];

fn v6() -> IpPair {
    IpPair::v6("fd00:9::1".parse().unwrap(), "fd00:9::2".parse().unwrap())
}

fn rev(pair: IpPair) -> IpPair {
    match pair {
        IpPair::V4 { src, dst } => IpPair::v4(dst, src),
        IpPair::V6 { src, dst } => IpPair::v6(dst, src),
    }
}

fn with_checksum(bytes: &[u8], pair: &IpPair) -> Vec<u8> {
    let mut out = bytes.to_vec();
    Packet::new_unchecked(&mut out[..]).fill_checksum(pair);
    out
}

fn syn_repr() -> Repr {
    Repr {
        src_port: 40000,
        dst_port: 80,
        seq: 0x0102_0304,
        ack: None,
        flags: Flags::SYN,
        window: 64240,
        max_seg_size: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        sack_ranges: [None; 3],
        timestamp: Some((12345, 0)),
        payload_len: 0,
    }
}

#[test]
fn deconstruct() {
    let bytes = with_checksum(&SYN, &V4);
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!((packet.src_port(), packet.dst_port()), (40000, 80));
    assert_eq!((packet.seq_number(), packet.ack_number()), (0x0102_0304, 0));
    assert_eq!((packet.data_offset(), packet.header_len()), (10, 40));
    assert_eq!(packet.flags(), Flags::SYN);
    assert!(!packet.flags().contains(Flags::ACK));
    assert_eq!((packet.window_len(), packet.urgent_at()), (64240, 0));
    assert_eq!(packet.options(), &SYN[20..]);
    assert!(packet.payload().is_empty());
    assert!(packet.verify_checksum(&V4));
    assert!(!packet.verify_checksum(&rev(v6())));
    let options: Vec<_> = packet.option_iter().collect();
    assert_eq!(
        options,
        [
            Ok(TcpOption::MaxSegmentSize(1460)),
            Ok(TcpOption::SackPermitted),
            Ok(TcpOption::Timestamps {
                tsval: 12345,
                tsecr: 0
            }),
            Ok(TcpOption::NoOp),
            Ok(TcpOption::WindowScale(7)),
        ]
    );
    let bytes = with_checksum(&SYN_ACK, &rev(V4));
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.flags(), Flags::SYN | Flags::ACK);
    assert_eq!(packet.ack_number(), 0x0102_0305);
}

#[test]
fn literal_checksums_verify() {
    assert!(Packet::new_checked(&SYN[..]).unwrap().verify_checksum(&V4));
    assert!(Packet::new_checked(&SYN_ACK[..])
        .unwrap()
        .verify_checksum(&rev(V4)));
    assert_eq!(with_checksum(&SYN, &V4), SYN);
    assert_eq!(with_checksum(&SYN_ACK, &rev(V4)), SYN_ACK);
}

#[test]
fn captured_segments() {
    let reprs: Vec<Repr> = CAPTURED
        .iter()
        .map(|(bytes, reply)| {
            let pair = if *reply { rev(V4) } else { V4 };
            let packet = Packet::new_checked(*bytes).unwrap();
            assert!(packet.verify_checksum(&pair));
            let repr = Repr::parse(&packet, &pair, &SOFTWARE).unwrap();
            assert_eq!(repr.buffer_len(), bytes.len());
            let mut out = vec![0u8; bytes.len()];
            out[repr.header_len()..].copy_from_slice(packet.payload());
            repr.emit(&mut Packet::new_unchecked(&mut out[..]), &pair, &SOFTWARE)
                .unwrap();
            assert_eq!(&out[..], *bytes);
            let theirs = etherparse::TcpHeaderSlice::from_slice(bytes).unwrap();
            assert_eq!(theirs.options(), packet.options());
            assert_eq!(theirs.sequence_number(), repr.seq);
            repr
        })
        .collect();
    assert_eq!(
        reprs[0],
        Repr {
            seq: 0xdf3b_d8c1,
            window_scale: Some(10),
            timestamp: Some((0xcea6_70f7, 0)),
            ..syn_repr()
        }
    );
    assert_eq!(reprs[1].ack, Some(0xdf3b_d8c2));
    assert_eq!(reprs[1].flags, Flags::SYN | Flags::ACK);
    assert_eq!(reprs[1].timestamp, Some((0xa439_92e8, 0xcea6_70f7)));
    assert_eq!(
        reprs[2],
        Repr {
            src_port: 40000,
            dst_port: 80,
            seq: 0xdf3b_d8c2,
            ack: Some(0xd0e3_f42e),
            flags: Flags::ACK,
            window: 63,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: Some((0xcea6_70f7, 0xa439_92e8)),
            payload_len: 0,
        }
    );
    assert_eq!(reprs[3].flags, Flags::PSH | Flags::ACK);
    assert_eq!(reprs[3].payload_len, 12);
    let packet = Packet::new_checked(CAPTURED[3].0).unwrap();
    assert_eq!(packet.payload(), b"hello strata");
}

#[test]
fn construct() {
    let mut bytes = [0xa5u8; 40];
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_src_port(40000);
    packet.set_dst_port(80);
    packet.set_seq_number(0x0102_0304);
    packet.set_ack_number(0);
    packet.set_header_len(40);
    packet.set_flags(Flags::SYN);
    packet.set_window_len(64240);
    packet.set_urgent_at(0);
    packet.options_mut().copy_from_slice(&SYN[20..]);
    packet.fill_checksum(&V4);
    assert_eq!(&bytes[..], &with_checksum(&SYN, &V4)[..]);
}

#[test]
fn parse_and_emit_real_layouts() {
    let syn_ack = Repr {
        src_port: 80,
        dst_port: 40000,
        seq: 0xa0b0_c0d0,
        ack: Some(0x0102_0305),
        flags: Flags::SYN | Flags::ACK,
        window: 65160,
        timestamp: Some((65536, 12345)),
        ..syn_repr()
    };
    for pair in [V4, v6()] {
        for (bytes, pair, expected) in [(&SYN, pair, syn_repr()), (&SYN_ACK, rev(pair), syn_ack)] {
            let bytes = with_checksum(bytes, &pair);
            let packet = Packet::new_checked(&bytes[..]).unwrap();
            let repr = Repr::parse(&packet, &pair, &SOFTWARE).unwrap();
            assert_eq!(repr, expected);
            assert_eq!((repr.header_len(), repr.buffer_len()), (40, 40));
            let mut out = vec![0xeeu8; 40];
            repr.emit(&mut Packet::new_unchecked(&mut out[..]), &pair, &SOFTWARE)
                .unwrap();
            assert_eq!(out, bytes);
        }
    }
}

#[test]
fn payload_and_sack_blocks() {
    let repr = Repr {
        flags: Flags::PSH,
        ack: Some(7),
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        sack_ranges: [Some((10, 20)), Some((30, 40)), None],
        timestamp: Some((1, 2)),
        payload_len: 5,
        ..syn_repr()
    };
    // 20 + NOP NOP TS(10) + NOP NOP SACK(2 + 16).
    assert_eq!(repr.header_len(), 52);
    let mut buf = vec![0u8; repr.buffer_len()];
    buf[52..].copy_from_slice(b"hello");
    repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &V4, &SOFTWARE)
        .unwrap();
    let packet = Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.flags(), Flags::PSH | Flags::ACK);
    assert_eq!(packet.payload(), b"hello");
    assert_eq!(&packet.options()[..2], &[1, 1]);
    assert_eq!(&packet.options()[12..16], &[1, 1, 5, 18]);
    let parsed = Repr::parse(&packet, &V4, &SOFTWARE).unwrap();
    assert_eq!(
        parsed,
        Repr {
            flags: Flags::PSH | Flags::ACK,
            ..repr
        }
    );
}

#[test]
fn option_errors_and_eol() {
    let cases: [&[u8]; 9] = [
        &[2],                         // no length byte
        &[2, 0, 0, 0],                // length 0
        &[8, 1],                      // length 1
        &[2, 5, 0, 0, 0],             // MSS of length 5
        &[3, 2],                      // window scale of length 2
        &[4, 3, 0],                   // SACK permitted of length 3
        &[5, 9, 0, 0, 0, 0, 0, 0, 0], // SACK not a multiple of 8
        &[8, 10, 0, 0, 0, 0],         // runs past the end
        &[1, 1, 200, 4, 0],           // unknown kind running past the end
    ];
    for case in cases {
        let last = OptionIter::new(case).last();
        assert_eq!(last, Some(Err(Error::Options)), "{case:?}");
        assert_eq!(OptionIter::new(case).filter(Result::is_err).count(), 1);
    }
    // EOL stops the walk; what follows is not read.
    let options: Vec<_> = OptionIter::new(&[1, 0, 2, 0xff]).collect();
    assert_eq!(options, [Ok(TcpOption::NoOp), Ok(TcpOption::EndOfList)]);
    // Unknown kinds are kept by kind and length.
    assert_eq!(
        TcpOption::parse(&[30, 4, 1, 2, 9]),
        Ok((&[9u8][..], TcpOption::Unknown { kind: 30, len: 4 }))
    );
    // A malformed option fails Repr::parse.
    let mut bytes = SYN;
    bytes[21] = 5;
    let bytes = with_checksum(&bytes, &V4);
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&packet, &V4, &SOFTWARE), Err(Error::Options));
}

#[test]
fn length_and_checksum_errors() {
    assert_eq!(Packet::new_checked(&[][..]).err(), Some(Error::Truncated));
    assert_eq!(
        Packet::new_checked(&SYN[..19]).err(),
        Some(Error::Truncated)
    );
    assert_eq!(
        Packet::new_checked(&SYN[..39]).err(),
        Some(Error::Truncated)
    );
    let mut bytes = SYN;
    bytes[12] = 0x40;
    assert_eq!(
        Packet::new_checked(&bytes[..]).err(),
        Some(Error::HeaderLen)
    );
    bytes[12] = 0x50;
    assert_eq!(Packet::new_checked(&bytes[..]).unwrap().payload().len(), 20);

    let mut bytes = with_checksum(&SYN, &V4);
    bytes[30] ^= 1;
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&packet, &V4, &SOFTWARE), Err(Error::Checksum));
    let caps = ChecksumCaps {
        tcp: Checksum::Tx,
        ..SOFTWARE
    };
    assert!(Repr::parse(&packet, &V4, &caps).is_ok());

    let repr = Repr {
        payload_len: 5,
        ..syn_repr()
    };
    let mut short = [0u8; 44];
    let result = repr.emit(&mut Packet::new_unchecked(&mut short[..]), &V4, &SOFTWARE);
    assert_eq!(result, Err(Error::Truncated));
    let big = Repr {
        payload_len: 65_535,
        ..repr
    };
    let result = big.emit(&mut Packet::new_unchecked(&mut short[..]), &V4, &SOFTWARE);
    assert_eq!(result, Err(Error::Length));
    let too_many = Repr {
        sack_ranges: [Some((1, 2)); 3],
        ..repr
    };
    assert_eq!(too_many.header_len(), 20 + 20 + 28);
    let result = too_many.emit(&mut Packet::new_unchecked(&mut short[..]), &V4, &SOFTWARE);
    assert_eq!(result, Err(Error::HeaderLen));
}

#[test]
fn offloaded_emit_seeds_pseudo_header_sum() {
    let caps = ChecksumCaps {
        tcp: Checksum::Rx,
        ..SOFTWARE
    };
    let mut bytes = [0u8; 40];
    syn_repr()
        .emit(&mut Packet::new_unchecked(&mut bytes[..]), &V4, &caps)
        .unwrap();
    // 0a09+0001+0a09+0002+0006+0028
    assert_eq!(Packet::new_unchecked(&bytes[..]).checksum(), 0x1443);
}

#[test]
fn agrees_with_etherparse() {
    for (bytes, pair) in [(&SYN, V4), (&SYN_ACK, rev(V4))] {
        let bytes = with_checksum(bytes, &pair);
        let theirs = etherparse::TcpHeaderSlice::from_slice(&bytes).unwrap();
        let ours = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(theirs.source_port(), ours.src_port());
        assert_eq!(theirs.destination_port(), ours.dst_port());
        assert_eq!(theirs.sequence_number(), ours.seq_number());
        assert_eq!(theirs.acknowledgment_number(), ours.ack_number());
        assert_eq!(theirs.data_offset(), ours.data_offset());
        assert_eq!(theirs.syn(), ours.flags().contains(Flags::SYN));
        assert_eq!(theirs.ack(), ours.flags().contains(Flags::ACK));
        assert_eq!(theirs.window_size(), ours.window_len());
        assert_eq!(theirs.checksum(), ours.checksum());
        assert_eq!(theirs.options(), ours.options());
        let IpPair::V4 { src, dst } = pair else {
            unreachable!()
        };
        let computed = theirs
            .to_header()
            .calc_checksum_ipv4_raw(src.octets(), dst.octets(), &[])
            .unwrap();
        assert_eq!(computed, ours.checksum());
    }
}

fn arb_pair() -> impl Strategy<Value = IpPair> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<[u8; 4]>())
            .prop_map(|(s, d)| IpPair::v4(Ipv4Addr::from(s), Ipv4Addr::from(d))),
        (any::<[u8; 16]>(), any::<[u8; 16]>())
            .prop_map(|(s, d)| IpPair::v6(Ipv6Addr::from(s), Ipv6Addr::from(d))),
    ]
}

prop_compose! {
    fn arb_repr()(
        ports in (1..=u16::MAX, 1..=u16::MAX),
        seq in any::<u32>(),
        ack in any::<Option<u32>>(),
        flags in any::<u8>(),
        window in any::<u16>(),
        max_seg_size in any::<Option<u16>>(),
        window_scale in any::<Option<u8>>(),
        sack_permitted in any::<bool>(),
        blocks in 0..=3usize,
        edges in any::<[(u32, u32); 3]>(),
        timestamp in any::<Option<(u32, u32)>>(),
        payload_len in 0..200usize,
    ) -> Repr {
        let mut sack_ranges = [None; 3];
        for (slot, edge) in sack_ranges.iter_mut().zip(edges).take(blocks) {
            *slot = Some(edge);
        }
        let flags = Flags::from_bits(flags & !Flags::ACK.bits())
            | if ack.is_some() { Flags::ACK } else { Flags::empty() };
        Repr {
            src_port: ports.0, dst_port: ports.1, seq, ack, flags, window,
            max_seg_size, window_scale, sack_permitted, sack_ranges, timestamp, payload_len,
        }
    }
}

proptest! {
    #[test]
    fn round_trip(repr in arb_repr(), pair in arb_pair(), fill in any::<u8>()) {
        let mut buf = vec![fill; repr.buffer_len()];
        let result = repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &pair, &SOFTWARE);
        if repr.header_len() > MAX_HEADER_LEN {
            prop_assert_eq!(result, Err(Error::HeaderLen));
            return Ok(());
        }
        result.unwrap();
        let packet = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(usize::from(packet.header_len()), repr.header_len());
        prop_assert_eq!(Repr::parse(&packet, &pair, &SOFTWARE), Ok(repr));
        prop_assert!(packet.option_iter().all(|o| o.is_ok()));
        if let IpPair::V4 { src, dst } = pair {
            let theirs = etherparse::TcpHeaderSlice::from_slice(&buf).unwrap();
            let sum = theirs
                .to_header()
                .calc_checksum_ipv4_raw(src.octets(), dst.octets(), packet.payload())
                .unwrap();
            prop_assert_eq!(sum, packet.checksum());
        }
    }

    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80), pair in arb_pair()) {
        let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &pair, &SOFTWARE);
        let _ = OptionIter::new(&bytes).count();
        let _ = TcpOption::parse(&bytes);
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (packet.payload(), packet.verify_checksum(&pair));
            let _ = packet.option_iter().count();
            prop_assert!(packet.option_iter().filter(|o| o.is_err()).count() <= 1);
        }
    }

    #[test]
    fn options_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let mut options = bytes;
        options.resize(40, 1);
        let mut header = vec![0u8; 20];
        header[0] = 1;
        header[3] = 2;
        header[12] = 0xf0;
        header.extend_from_slice(&options);
        let caps = ChecksumCaps::offloaded();
        let _ = Repr::parse(&Packet::new_checked(&header[..]).unwrap(), &V4, &caps);
    }
}

/// Found by the fuzz target: MSS, timestamps and three SACK blocks fit 40 bytes
/// back to back but not in the aligned layout; the parsed repr must still emit
/// (packed) and read back the same.
#[test]
fn options_that_fit_only_packed_are_emitted_packed() {
    let mut options = vec![2, 4, 0x05, 0xb4]; // MSS 1460
    options.extend_from_slice(&[8, 10, 0, 0, 0, 1, 0, 0, 0, 2]); // timestamps
    options.extend_from_slice(&[5, 26]); // three SACK blocks
    for i in 0..6u32 {
        options.extend_from_slice(&(1000 * (i + 1)).to_be_bytes());
    }
    assert_eq!(options.len(), 40);
    let mut segment = vec![0u8; 20];
    segment[0..2].copy_from_slice(&40000u16.to_be_bytes());
    segment[2..4].copy_from_slice(&80u16.to_be_bytes());
    segment[12] = 15 << 4;
    segment[13] = Flags::ACK.bits();
    segment.extend_from_slice(&options);
    let pair = IpPair::v4(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2));
    Packet::new_unchecked(&mut segment[..]).fill_checksum(&pair);
    let caps = ChecksumCaps::software();
    let repr = Repr::parse(&Packet::new_checked(&segment[..]).unwrap(), &pair, &caps).unwrap();
    assert!(repr.aligned_len() > 40);
    assert_eq!(repr.header_len(), 60);
    let mut out = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut out[..]), &pair, &caps)
        .expect("a parsed repr emits");
    let again = Repr::parse(&Packet::new_checked(&out[..]).unwrap(), &pair, &caps).unwrap();
    assert_eq!(again, repr);
    assert_eq!(out, segment, "the packed layout is the sender's");
}
