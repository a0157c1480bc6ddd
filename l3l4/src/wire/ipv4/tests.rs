//! Byte-array tests of the IPv4 view and repr on real frames (construct, deconstruct,
//! parse, emit), drop classification, and proptests: round trips, no panics, agreement
//! with etherparse.

use super::*;
use crate::checksum::Checksum;
use crate::wire::frames::*;
use proptest::prelude::*;

const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

fn udp_repr() -> Repr {
    Repr {
        src_addr: Ipv4Addr::new(10, 9, 0, 1),
        dst_addr: Ipv4Addr::new(10, 9, 0, 2),
        protocol: IpProtocol::Udp,
        payload_len: 20,
        ttl: 64,
        dscp: 0,
        ecn: 0,
    }
}

#[test]
fn deconstruct() {
    let packet = Packet::new_checked(&UDP_FRAME[..]).unwrap();
    assert_eq!(packet.version(), 4);
    assert_eq!(packet.header_len(), 20);
    assert_eq!((packet.dscp(), packet.ecn()), (0, 0));
    assert_eq!(packet.total_len(), 40);
    assert_eq!(packet.ident(), 0xfa22);
    assert!(packet.dont_frag() && !packet.more_frags() && !packet.reserved_flag());
    assert_eq!(packet.frag_offset(), 0);
    assert!(!packet.is_fragment());
    assert_eq!(packet.ttl(), 64);
    assert_eq!(packet.protocol(), IpProtocol::Udp);
    assert_eq!(packet.checksum(), 0x2c8e);
    assert_eq!(packet.src_addr(), Ipv4Addr::new(10, 9, 0, 1));
    assert_eq!(packet.dst_addr(), Ipv4Addr::new(10, 9, 0, 2));
    assert!(packet.verify_checksum());
    assert!(packet.options().is_empty());
    assert_eq!(packet.payload(), &UDP_FRAME[20..]);
    assert_eq!(packet.validate(&SOFTWARE), Ok(()));
}

#[test]
fn construct() {
    let mut bytes = [0xa5u8; 40];
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_version(4);
    packet.set_header_len(20);
    packet.set_dscp(0);
    packet.set_ecn(0);
    packet.set_total_len(40);
    packet.set_ident(0xfa22);
    packet.clear_flags();
    packet.set_dont_frag(true);
    packet.set_more_frags(false);
    packet.set_frag_offset(0);
    packet.set_ttl(64);
    packet.set_protocol(IpProtocol::Udp);
    packet.set_src_addr(Ipv4Addr::new(10, 9, 0, 1));
    packet.set_dst_addr(Ipv4Addr::new(10, 9, 0, 2));
    packet.payload_mut().copy_from_slice(&UDP_FRAME[20..]);
    packet.fill_checksum();
    assert_eq!(bytes, UDP_FRAME);
}

#[test]
fn parse_and_emit() {
    let packet = Packet::new_checked(&UDP_FRAME[..]).unwrap();
    let repr = Repr::parse(&packet, &SOFTWARE).unwrap();
    assert_eq!(repr, udp_repr());
    assert_eq!(repr.buffer_len(), UDP_FRAME.len());

    let mut bytes = UDP_FRAME;
    bytes[..20].fill(0);
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    repr.emit(&mut packet, &SOFTWARE).unwrap();
    assert!(packet.verify_checksum());
    // Emit writes identification 0; with Linux's value the frame is identical.
    packet.set_ident(0xfa22);
    packet.fill_checksum();
    assert_eq!(bytes, UDP_FRAME);
}

#[test]
fn dscp_and_ttl() {
    let repr = Repr::parse(&Packet::new_unchecked(&EF_FRAME[..]), &SOFTWARE).unwrap();
    assert_eq!(
        (repr.dscp, repr.ecn, repr.ttl, repr.payload_len),
        (46, 0, 17, 8)
    );
    let mut bytes = EF_FRAME;
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    repr.emit(&mut packet, &SOFTWARE).unwrap();
    packet.set_ident(0xfa25);
    packet.fill_checksum();
    assert_eq!(bytes, EF_FRAME);
}

#[test]
fn options() {
    let packet = Packet::new_checked(&OPTIONS_FRAME[..]).unwrap();
    assert_eq!(packet.header_len(), 32);
    assert_eq!(packet.options(), &OPTIONS_FRAME[20..32]);
    assert_eq!(packet.payload(), &OPTIONS_FRAME[32..]);
    assert_eq!(packet.validate(&SOFTWARE), Ok(()));
    let repr = Repr::parse(&packet, &SOFTWARE).unwrap();
    assert_eq!(repr.payload_len, 11);

    let packet = Packet::new_checked(&ICMP_OPTIONS_FRAME[..]).unwrap();
    assert_eq!((packet.dscp(), packet.protocol()), (48, IpProtocol::Icmp));
    assert_eq!(packet.options()[..3], [7, 11, 12]);
    assert_eq!(packet.validate(&SOFTWARE), Ok(()));
}

#[test]
fn malformed_options() {
    let bad: &[&[u8]] = &[
        &[0x44, 0, 0, 0],          // length byte 0
        &[0x01, 0x44, 0x05, 0],    // runs past the header
        &[0x01, 0x01, 0x01, 0x07], // no room for a length byte
        &[0x07, 0x03, 0x03, 0],    // record route pointer below 4
        &[0x44, 0x04, 0x04, 0],    // timestamp pointer below 5
        &[0x94, 0x03, 0x00, 0],    // router alert of length 3
    ];
    for options in bad {
        let mut bytes = [0u8; 24];
        bytes[..20].copy_from_slice(&UDP_FRAME[..20]);
        bytes[20..].copy_from_slice(options);
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_header_len(24);
        packet.set_total_len(24);
        packet.fill_checksum();
        assert_eq!(
            packet.validate(&SOFTWARE),
            Err(Error::Options),
            "{options:?}"
        );
        assert_eq!(DropReason::from(Error::Options), DropReason::Options);
    }
    for good in [
        [0x94, 0x04, 0, 0],
        [0x01, 0x01, 0x01, 0x00],
        [0x00, 0x07, 0xff, 0xff],
    ] {
        assert_eq!(check_options(&good), Ok(()));
    }
}

#[test]
fn fragments() {
    let mut first = vec![0u8; 572];
    first[..20].copy_from_slice(&FIRST_FRAGMENT_HEADER);
    let packet = Packet::new_checked(&first[..]).unwrap();
    assert!(packet.more_frags() && packet.is_fragment() && !packet.dont_frag());
    assert_eq!((packet.frag_offset(), packet.payload_len()), (0, 552));
    assert_eq!(packet.validate(&SOFTWARE), Ok(()));

    let mut last = vec![0u8; 244];
    last[..20].copy_from_slice(&LAST_FRAGMENT_HEADER);
    let packet = Packet::new_checked(&last[..]).unwrap();
    assert!(!packet.more_frags() && packet.is_fragment());
    assert_eq!((packet.frag_offset(), packet.payload_len()), (552, 224));
    assert_eq!(packet.validate(&SOFTWARE), Ok(()));

    // A non-final fragment of 551 bytes is not a multiple of 8.
    let mut packet = Packet::new_unchecked(&mut first[..571]);
    packet.set_total_len(571);
    packet.fill_checksum();
    assert_eq!(packet.validate(&SOFTWARE), Err(Error::Fragment));
    // The last fragment may not reach past 65535 bytes.
    let mut packet = Packet::new_unchecked(&mut last[..]);
    packet.set_frag_offset(65_528 - 224);
    packet.fill_checksum();
    assert_eq!(packet.validate(&SOFTWARE), Err(Error::Fragment));
    assert_eq!(DropReason::from(Error::Fragment).as_str(), "frag");
}

#[test]
fn length_errors_and_drop_reasons() {
    let cases: [(&[u8], Error, DropReason); 6] = [
        (&[], Error::Truncated, DropReason::Hblen),
        (&UDP_FRAME[..19], Error::Truncated, DropReason::Hblen),
        (&OPTIONS_FRAME[..24], Error::Truncated, DropReason::Hblen),
        (&UDP_FRAME[..39], Error::Length, DropReason::Lblen),
        (&[0x65; 40], Error::Version, DropReason::Vhl),
        (&[0x44; 40], Error::HeaderLen, DropReason::Vhl),
    ];
    for (bytes, error, reason) in cases {
        assert_eq!(Packet::new_checked(bytes).err(), Some(error));
        assert_eq!(DropReason::from(error), reason);
    }
    // A total length below the header length.
    let mut bytes = UDP_FRAME;
    Packet::new_unchecked(&mut bytes[..]).set_total_len(19);
    assert_eq!(Packet::new_checked(&bytes[..]).err(), Some(Error::Length));
    // Ethernet padding past the total length is ignored.
    let mut padded = [0u8; 60];
    padded[..28].copy_from_slice(&EF_FRAME);
    let packet = Packet::new_checked(&padded[..]).unwrap();
    assert_eq!(packet.payload(), &EF_FRAME[20..]);
    let labels: Vec<_> = DropReason::ALL.iter().map(|r| r.as_str()).collect();
    assert_eq!(
        labels,
        ["vhl", "hblen", "lblen", "frag", "checksum", "proto", "options"]
    );
}

#[test]
fn checksum_errors_follow_caps() {
    let mut bytes = UDP_FRAME;
    bytes[11] ^= 1;
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(Repr::parse(&packet, &SOFTWARE), Err(Error::Checksum));
    assert_eq!(DropReason::from(Error::Checksum).as_str(), "checksum");
    let offloaded = ChecksumCaps {
        ipv4: Checksum::Tx,
        ..SOFTWARE
    };
    assert_eq!(Repr::parse(&packet, &offloaded), Ok(udp_repr()));

    let mut out = [0xffu8; 20];
    let caps = ChecksumCaps {
        ipv4: Checksum::Rx,
        ..SOFTWARE
    };
    let repr = Repr {
        payload_len: 0,
        ..udp_repr()
    };
    repr.emit(&mut Packet::new_unchecked(&mut out[..]), &caps)
        .unwrap();
    assert_eq!(Packet::new_unchecked(&out[..]).checksum(), 0);
}

#[test]
fn incremental_updates_match_recomputation() {
    let mut bytes = OPTIONS_FRAME;
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.update_ttl(packet.ttl() - 1);
    assert!(packet.verify_checksum());
    packet.update_src_addr(Ipv4Addr::new(192, 0, 2, 200));
    packet.update_dst_addr(Ipv4Addr::new(255, 255, 255, 255));
    assert!(packet.verify_checksum());
    let updated = packet.checksum();
    packet.fill_checksum();
    assert_eq!(packet.checksum(), updated);
    assert_eq!(packet.ttl(), 63);
}

#[test]
fn emit_errors() {
    let caps = SOFTWARE;
    let mut short = [0u8; 19];
    let result = udp_repr().emit(&mut Packet::new_unchecked(&mut short[..]), &caps);
    assert_eq!(result, Err(Error::Truncated));
    let mut buf = [0u8; 20];
    let big = Repr {
        payload_len: MAX_LEN - 19,
        ..udp_repr()
    };
    assert_eq!(
        big.emit(&mut Packet::new_unchecked(&mut buf[..]), &caps),
        Err(Error::Length)
    );
    let huge = Repr {
        payload_len: usize::MAX,
        ..udp_repr()
    };
    assert_eq!(
        huge.emit(&mut Packet::new_unchecked(&mut buf[..]), &caps),
        Err(Error::Length)
    );
    let bad = Repr {
        dscp: 64,
        ..udp_repr()
    };
    assert_eq!(
        bad.emit(&mut Packet::new_unchecked(&mut buf[..]), &caps),
        Err(Error::Malformed)
    );
}

fn arb_repr() -> impl Strategy<Value = Repr> {
    (
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<u8>(),
        0..1500usize,
        any::<u8>(),
        0..64u8,
        0..4u8,
    )
        .prop_map(|(src, dst, protocol, payload_len, ttl, dscp, ecn)| Repr {
            src_addr: Ipv4Addr::from(src),
            dst_addr: Ipv4Addr::from(dst),
            protocol: IpProtocol::from(protocol),
            payload_len,
            ttl,
            dscp,
            ecn,
        })
}

/// A header that passes `check_len` more often than random bytes do.
fn arb_header() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::collection::vec(any::<u8>(), 20..100),
        5..16u8,
        any::<bool>(),
    )
        .prop_map(|(mut bytes, ihl, fix_len)| {
            bytes[0] = 0x40 | ihl;
            if fix_len {
                let len = bytes.len() as u16;
                bytes[2..4].copy_from_slice(&len.to_be_bytes());
            }
            bytes
        })
}

proptest! {
    #[test]
    fn round_trip(repr in arb_repr()) {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &SOFTWARE).unwrap();
        let packet = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Repr::parse(&packet, &SOFTWARE), Ok(repr));
    }

    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &SOFTWARE);
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (packet.options(), packet.payload(), packet.validate(&SOFTWARE));
            let _ = (packet.frag_offset(), packet.src_addr(), packet.dst_addr());
        }
    }

    #[test]
    fn emit_never_panics(
        repr in arb_repr(),
        payload_len in any::<usize>(),
        (dscp, ecn) in any::<(u8, u8)>(),
        len in 0..64usize,
    ) {
        let repr = Repr { payload_len, dscp, ecn, ..repr };
        let mut buf = vec![0u8; len];
        let _ = repr.buffer_len();
        let _ = repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &SOFTWARE);
    }

    #[test]
    fn never_panics_on_near_headers(bytes in arb_header()) {
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (packet.options(), packet.payload(), packet.validate(&SOFTWARE));
        }
    }

    #[test]
    fn agrees_with_etherparse(bytes in arb_header()) {
        let ours = Packet::new_checked(&bytes[..]);
        let theirs = etherparse::Ipv4Slice::from_slice(&bytes);
        // etherparse also parses an authentication header after IPv4 (protocol 51).
        prop_assume!(bytes[9] != 51);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok());
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            let header = theirs.header();
            prop_assert_eq!(ours.header_len(), header.slice().len());
            prop_assert_eq!(ours.total_len(), header.total_len());
            prop_assert_eq!(ours.dscp(), u8::from(header.dcp()));
            prop_assert_eq!(ours.ecn(), u8::from(header.ecn()));
            prop_assert_eq!(ours.ident(), header.identification());
            prop_assert_eq!(ours.dont_frag(), header.dont_fragment());
            prop_assert_eq!(ours.more_frags(), header.more_fragments());
            prop_assert_eq!(ours.frag_offset() / 8, u16::from(header.fragments_offset()));
            prop_assert_eq!(ours.ttl(), header.ttl());
            prop_assert_eq!(u8::from(ours.protocol()), header.protocol().0);
            prop_assert_eq!(ours.src_addr(), header.source_addr());
            prop_assert_eq!(ours.dst_addr(), header.destination_addr());
            prop_assert_eq!(ours.options(), header.options());
            prop_assert_eq!(ours.payload(), theirs.payload().payload);
            let expected = header.to_header().calc_header_checksum();
            let field = ours.checksum();
            // 0xffff is the other one's-complement zero and also verifies.
            prop_assert_eq!(
                ours.verify_checksum(),
                field == expected || (expected == 0 && field == 0xffff)
            );
        }
    }
}
