//! Byte-array tests of the ICMPv6 view and repr on real frames (construct, deconstruct,
//! parse, emit: echo and every error the kernel sent), and proptests: round trips, no
//! panics, checksums agreeing with etherparse.

use super::*;
use crate::checksum::Checksum;
use crate::wire::frames_v6::*;
use crate::wire::ipv6::Packet as Ipv6Packet;
use proptest::prelude::*;

const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

/// Splits a captured frame into its ICMPv6 message (right after the fixed header)
/// and the addresses.
fn split(frame: &[u8]) -> (&[u8], Ipv6Addr, Ipv6Addr) {
    let ip = Ipv6Packet::new_checked(frame).unwrap();
    (ip.payload(), ip.src_addr(), ip.dst_addr())
}

/// Parses a captured frame and checks that emitting its repr over the same data
/// gives the same bytes.
fn parse_and_emit(frame: &[u8]) -> Repr {
    let (bytes, src, dst) = split(frame);
    let packet = Packet::new_checked(bytes).unwrap();
    assert!(packet.verify_checksum(&src, &dst));
    let repr = Repr::parse(&packet, &src, &dst, &SOFTWARE).unwrap();
    assert_eq!(repr.buffer_len(), bytes.len());
    let mut out = bytes.to_vec();
    out[..8].fill(0xff);
    repr.emit(
        &mut Packet::new_unchecked(&mut out[..]),
        &src,
        &dst,
        &SOFTWARE,
    )
    .unwrap();
    assert_eq!(out, bytes);
    repr
}

#[test]
fn deconstruct_echo() {
    let (bytes, src, dst) = split(&ECHO_REQUEST_V6);
    let packet = Packet::new_checked(bytes).unwrap();
    assert_eq!(
        (packet.msg_type(), packet.msg_code()),
        (Message::EchoRequest, 0)
    );
    assert_eq!(packet.checksum(), 0xdb89);
    assert_eq!((packet.echo_ident(), packet.echo_seq_no()), (0x4a1d, 1));
    assert_eq!(&packet.data()[16..], &[0x10; 24]);
    assert!(packet.verify_checksum(&src, &dst));
    assert!(!packet.verify_checksum(&dst, &Ipv6Addr::LOCALHOST));
    assert!(!packet.msg_type().is_error());
}

#[test]
fn construct_echo_reply() {
    let (reply, src, dst) = split(&ECHO_REPLY_V6);
    let (request, ..) = split(&ECHO_REQUEST_V6);
    let mut bytes = vec![0xa5u8; reply.len()];
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_msg_type(Message::EchoReply);
    packet.set_msg_code(0);
    packet.set_echo_ident(0x4a1d);
    packet.set_echo_seq_no(1);
    packet.data_mut().copy_from_slice(&request[8..]);
    packet.fill_checksum(&src, &dst);
    assert_eq!(bytes, reply);
}

#[test]
fn parse_and_emit_echo() {
    let expected = Repr::EchoRequest {
        ident: 0x4a1d,
        seq_no: 1,
        data_len: 40,
    };
    assert_eq!(parse_and_emit(&ECHO_REQUEST_V6), expected);
    let expected = Repr::EchoReply {
        ident: 0x4a1d,
        seq_no: 1,
        data_len: 40,
    };
    assert_eq!(parse_and_emit(&ECHO_REPLY_V6), expected);
}

#[test]
fn parse_and_emit_errors() {
    let cases = [
        (
            &TIME_EXCEEDED_V6[..],
            Repr::TimeExceeded {
                reason: TimeExceeded::HopLimitExceeded,
                quoted_len: 104,
            },
        ),
        (
            &NO_ROUTE[..],
            Repr::DstUnreachable {
                reason: DstUnreachable::NoRoute,
                quoted_len: 104,
            },
        ),
        (
            &PORT_UNREACH_V6[..],
            Repr::DstUnreachable {
                reason: DstUnreachable::PortUnreachable,
                quoted_len: HBH_UDP.len(),
            },
        ),
        (
            &PARAM_PROBLEM_NH[..],
            Repr::ParamProblem {
                reason: ParamProblem::UnrecognizedNxtHdr,
                pointer: 6,
                quoted_len: UNKNOWN_NH.len(),
            },
        ),
        (
            &PARAM_PROBLEM_OPTION[..],
            Repr::ParamProblem {
                reason: ParamProblem::UnrecognizedOption,
                pointer: 44,
                quoted_len: DSTOPTS_UDP.len(),
            },
        ),
        (
            &PARAM_PROBLEM_RH0[..],
            Repr::ParamProblem {
                reason: ParamProblem::ErroneousHdrField,
                pointer: 42,
                quoted_len: RH0_UDP.len(),
            },
        ),
    ];
    for (frame, expected) in cases {
        assert_eq!(parse_and_emit(frame), expected);
        assert!(expected.is_error());
    }
    // The quotes are the offending packets, whole.
    let (bytes, ..) = split(&PORT_UNREACH_V6);
    assert_eq!(Packet::new_checked(bytes).unwrap().data(), &HBH_UDP[..]);
    // Packet too big: the quote is cut to keep the error within 1280 bytes.
    let frame = packet_too_big();
    assert_eq!(frame.len(), 1280);
    let repr = parse_and_emit(&frame);
    assert_eq!(
        repr,
        Repr::PktTooBig {
            mtu: 1280,
            quoted_len: MAX_QUOTED_LEN
        }
    );
}

#[test]
fn rejects() {
    let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::UNSPECIFIED);
    assert_eq!(
        Packet::new_checked(&[0u8; 7][..]).err(),
        Some(Error::Truncated)
    );
    let parse = |bytes: &[u8]| Repr::parse(&Packet::new_unchecked(bytes), &src, &dst, &SOFTWARE);
    assert_eq!(parse(&[]), Err(Error::Truncated));
    // A bad checksum, unless the device verified it.
    let (bytes, s, d) = split(&ECHO_REQUEST_V6);
    let mut bytes = bytes.to_vec();
    bytes[20] ^= 1;
    let packet = Packet::new_unchecked(&bytes[..]);
    assert_eq!(
        Repr::parse(&packet, &s, &d, &SOFTWARE),
        Err(Error::Checksum)
    );
    let caps = ChecksumCaps {
        icmpv6: Checksum::Tx,
        ..SOFTWARE
    };
    assert!(Repr::parse(&packet, &s, &d, &caps).is_ok());
    let with = |kind: u8, code: u8, data: &[u8]| {
        let mut bytes = vec![kind, code, 0, 0, 0, 0, 0, 0];
        bytes.extend_from_slice(data);
        Packet::new_unchecked(&mut bytes[..]).fill_checksum(&src, &dst);
        bytes
    };
    let quote = &UNKNOWN_NH[..];
    assert_eq!(parse(&with(135, 0, &[0; 16])), Err(Error::Unrecognized));
    assert_eq!(parse(&with(200, 0, &[])), Err(Error::Unrecognized));
    assert_eq!(parse(&with(128, 1, &[])), Err(Error::Malformed));
    assert_eq!(parse(&with(1, 4, &quote[..39])), Err(Error::Truncated));
    assert_eq!(parse(&with(3, 0, &[0x45; 40])), Err(Error::Malformed));
    assert!(parse(&with(4, 0, &quote[..40])).is_ok());
    // Emitting into too small a buffer.
    let repr = Repr::EchoReply {
        ident: 1,
        seq_no: 2,
        data_len: 10,
    };
    let mut short = [0u8; 17];
    let result = repr.emit(
        &mut Packet::new_unchecked(&mut short[..]),
        &src,
        &dst,
        &SOFTWARE,
    );
    assert_eq!(result, Err(Error::Truncated));
}

#[test]
fn offloaded_emit_seeds_pseudo_header_sum() {
    let (bytes, src, dst) = split(&ECHO_REPLY_V6);
    let caps = ChecksumCaps {
        icmpv6: Checksum::Rx,
        ..SOFTWARE
    };
    let repr = Repr::parse(&Packet::new_checked(bytes).unwrap(), &src, &dst, &SOFTWARE).unwrap();
    let mut out = bytes.to_vec();
    repr.emit(&mut Packet::new_unchecked(&mut out[..]), &src, &dst, &caps)
        .unwrap();
    let seed = checksum::pseudo_header_v6(&src, &dst, IpProtocol::Icmpv6, 48);
    assert_eq!(
        Packet::new_unchecked(&out[..]).checksum(),
        checksum::fold(seed)
    );
    // A device finishing the sum over the message gets the kernel's checksum.
    let mut partial = out.clone();
    partial[2..4].fill(0);
    let finished = !checksum::fold(seed + checksum::sum(&partial));
    assert_eq!(finished, Packet::new_unchecked(bytes).checksum());
}

#[test]
fn codes() {
    for n in 0..=u8::MAX {
        assert_eq!(u8::from(Message::from(n)), n);
        assert_eq!(u8::from(DstUnreachable::from(n)), n);
        assert_eq!(u8::from(TimeExceeded::from(n)), n);
        assert_eq!(u8::from(ParamProblem::from(n)), n);
        assert_eq!(Message::from(n).is_error(), n < 128);
    }
    assert!(Message::NeighborAdvert.is_ndisc() && !Message::MldReportV2.is_ndisc());
    assert!(Message::MldReportV2.is_mld() && !Message::EchoReply.is_mld());
}

fn arb_repr() -> impl Strategy<Value = Repr> {
    let quote = MIN_QUOTED_LEN..=MAX_QUOTED_LEN;
    prop_oneof![
        (any::<u16>(), any::<u16>(), 0..1500usize).prop_map(|(ident, seq_no, data_len)| {
            Repr::EchoRequest {
                ident,
                seq_no,
                data_len,
            }
        }),
        (any::<u16>(), any::<u16>(), 0..1500usize).prop_map(|(ident, seq_no, data_len)| {
            Repr::EchoReply {
                ident,
                seq_no,
                data_len,
            }
        }),
        (any::<u8>(), quote.clone()).prop_map(|(code, quoted_len)| Repr::DstUnreachable {
            reason: code.into(),
            quoted_len
        }),
        (any::<u32>(), quote.clone())
            .prop_map(|(mtu, quoted_len)| Repr::PktTooBig { mtu, quoted_len }),
        (any::<u8>(), quote.clone()).prop_map(|(code, quoted_len)| Repr::TimeExceeded {
            reason: code.into(),
            quoted_len
        }),
        (any::<u8>(), any::<u32>(), quote).prop_map(|(code, pointer, quoted_len)| {
            Repr::ParamProblem {
                reason: code.into(),
                pointer,
                quoted_len,
            }
        }),
    ]
}

proptest! {
    #[test]
    fn round_trip(
        repr in arb_repr(),
        fill in any::<u8>(),
        src in any::<[u8; 16]>(),
        dst in any::<[u8; 16]>(),
    ) {
        let (src, dst) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
        let mut buf = vec![fill; repr.buffer_len()];
        if repr.is_error() {
            buf[8] = 0x60;
        }
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &src, &dst, &SOFTWARE).unwrap();
        let packet = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Repr::parse(&packet, &src, &dst, &SOFTWARE), Ok(repr));
    }

    #[test]
    fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
        let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &src, &dst, &SOFTWARE);
        let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &src, &dst, &ChecksumCaps::offloaded());
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (packet.data(), packet.pkt_too_big_mtu(), packet.param_problem_ptr());
        }
    }

    #[test]
    fn emit_never_panics(repr in arb_repr(), data_len in any::<usize>(), len in 0..100usize) {
        let repr = match repr {
            Repr::EchoRequest { ident, seq_no, .. } => Repr::EchoRequest { ident, seq_no, data_len },
            Repr::PktTooBig { mtu, .. } => Repr::PktTooBig { mtu, quoted_len: data_len },
            other => other,
        };
        let mut buf = vec![0u8; len];
        let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
        let _ = repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &src, &dst, &SOFTWARE);
    }

    #[test]
    fn checksum_agrees_with_etherparse(
        src in any::<[u8; 16]>(),
        dst in any::<[u8; 16]>(),
        ident in any::<u16>(),
        payload in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let (s, d) = (Ipv6Addr::from(src), Ipv6Addr::from(dst));
        let repr = Repr::EchoRequest { ident, seq_no: 9, data_len: payload.len() };
        let mut buf = vec![0u8; repr.buffer_len()];
        buf[HEADER_LEN..].copy_from_slice(&payload);
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &s, &d, &SOFTWARE).unwrap();
        let echo = etherparse::IcmpEchoHeader { id: ident, seq: 9 };
        let theirs = etherparse::Icmpv6Header::with_checksum(
            etherparse::Icmpv6Type::EchoRequest(echo), src, dst, &payload,
        ).unwrap();
        prop_assert_eq!(&buf[..HEADER_LEN], &theirs.to_bytes()[..]);
    }
}
