//! Tests of the extension header walk on real frames (and on the kernel's answers to
//! them: its parameter-problem pointers must be ours), of the options iterator and the
//! options header repr; proptests: round trips, generated chains, no panics.

use super::*;
use crate::wire::frames_v6::*;
use crate::wire::ipv6::Packet as Ipv6Packet;
use proptest::prelude::*;

const LIMITS: ChainLimits = ChainLimits::DEFAULT;

/// Walks a captured frame from its fixed header.
fn walk_frame(frame: &[u8]) -> core::result::Result<Chain, ChainError> {
    let ip = Ipv6Packet::new_checked(frame).unwrap();
    walk(ip.next_header(), ip.payload(), &LIMITS)
}

/// The code and pointer of a captured parameter problem.
fn kernel_problem(frame: &[u8]) -> (ParamProblem, u32) {
    let p = &frame[40..];
    (
        ParamProblem::from(p[1]),
        u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
    )
}

#[test]
fn walks_real_frames() {
    let chain = walk_frame(&ECHO_REQUEST_V6).unwrap();
    assert_eq!(
        chain,
        Chain {
            upper: IpProtocol::Icmpv6,
            upper_offset: 0,
            upper_pointer: 6,
            headers: 0,
            fragment: None,
            router_alert: None,
        }
    );
    for frame in [&MLD_REPORT[..], &MLD_REPORT_ROUTER[..]] {
        let chain = walk_frame(frame).unwrap();
        assert_eq!((chain.upper, chain.upper_offset), (IpProtocol::Icmpv6, 8));
        assert_eq!((chain.headers, chain.router_alert), (1, Some(0)));
        assert_eq!(chain.upper_pointer, 40);
    }
    // Pad1, a skippable unknown option and PadN.
    let chain = walk_frame(&HBH_UDP).unwrap();
    assert_eq!((chain.upper, chain.upper_offset), (IpProtocol::Udp, 8));
    assert_eq!(chain.router_alert, None);
}

#[test]
fn param_problems_match_the_kernel() {
    let cases = [
        (&DSTOPTS_UDP[..], &PARAM_PROBLEM_OPTION[..]),
        (&RH0_UDP[..], &PARAM_PROBLEM_RH0[..]),
    ];
    for (frame, answer) in cases {
        let (code, pointer) = kernel_problem(answer);
        assert_eq!(
            walk_frame(frame),
            Err(ChainError::ParamProblem {
                code,
                pointer,
                unicast_only: false
            })
        );
    }
    // An unknown upper layer ends the walk; its pointer is the kernel's.
    let chain = walk_frame(&UNKNOWN_NH).unwrap();
    assert_eq!(chain.upper, IpProtocol::Unknown(253));
    assert_eq!(
        (ParamProblem::UnrecognizedNxtHdr, chain.upper_pointer),
        kernel_problem(&PARAM_PROBLEM_NH)
    );
}

#[test]
fn stops_at_fragments() {
    let first = first_fragment_v6();
    let chain = walk_frame(&first).unwrap();
    let fragment = chain.fragment.unwrap();
    assert_eq!(fragment.header_offset, 0);
    assert_eq!(
        fragment.repr,
        ipv6frag::Repr {
            next_header: IpProtocol::Icmpv6,
            frag_offset: 0,
            more_frags: true,
            ident: 0xff8a_9dd2
        }
    );
    assert_eq!((chain.upper, chain.upper_offset), (IpProtocol::Icmpv6, 8));
    let chain = walk_frame(&LAST_FRAGMENT_V6).unwrap();
    assert_eq!(chain.fragment.unwrap().repr.frag_offset, 1448);
    // An atomic fragment is walked through: a routing header with no segments left
    // and a destination options header follow.
    let payload = [
        43, 0, 0, 0, 1, 2, 3, 4, // fragment, atomic
        60, 0, 0, 0, 0, 0, 0, 0, // routing, type 0, no segments left
        17, 0, 1, 4, 0, 0, 0, 0, // destination options, PadN
        0, 0, // UDP starts
    ];
    let chain = walk(IpProtocol::Ipv6Frag, &payload, &LIMITS).unwrap();
    assert_eq!(
        (chain.upper, chain.upper_offset, chain.headers),
        (IpProtocol::Udp, 24, 3)
    );
    assert_eq!(chain.upper_pointer, 56);
    assert!(chain.fragment.unwrap().repr.is_atomic());
}

#[test]
fn fragment_rules() {
    // More fragments, but 9 bytes of data.
    let mut payload = vec![17, 0, 0, 1, 0, 0, 0, 9];
    payload.extend_from_slice(&[0; 9]);
    let problem = |pointer| {
        Err(ChainError::ParamProblem {
            code: ParamProblem::ErroneousHdrField,
            pointer,
            unicast_only: false,
        })
    };
    assert_eq!(walk(IpProtocol::Ipv6Frag, &payload, &LIMITS), problem(4));
    // The last fragment ends past 65535 bytes.
    payload[2..4].copy_from_slice(&0xfff8u16.to_be_bytes());
    assert_eq!(walk(IpProtocol::Ipv6Frag, &payload, &LIMITS), problem(42));
    assert_eq!(problem(42).unwrap_err().reason(), Error::Malformed);
    payload.truncate(8 + 7);
    assert!(walk(IpProtocol::Ipv6Frag, &payload, &LIMITS).is_ok());
    assert_eq!(
        walk(IpProtocol::Ipv6Frag, &payload[..7], &LIMITS),
        Err(ChainError::Drop(Error::Truncated))
    );
}

#[test]
fn option_actions() {
    let with_option = |kind: u8| [17, 0, kind, 2, 0, 0, 1, 0];
    let walk_opts = |hdr: [u8; 8]| walk(IpProtocol::Ipv6Opts, &hdr, &LIMITS);
    assert!(walk_opts(with_option(0x07)).is_ok());
    assert_eq!(
        walk_opts(with_option(0x47)),
        Err(ChainError::Drop(Error::Options))
    );
    for (kind, unicast_only) in [(0x87, false), (0xc7, true)] {
        let error = walk_opts(with_option(kind)).unwrap_err();
        assert_eq!(
            error,
            ChainError::ParamProblem {
                code: ParamProblem::UnrecognizedOption,
                pointer: 42,
                unicast_only
            }
        );
        assert_eq!(error.reason(), Error::Options);
    }
    // A router alert must be two bytes long; outside hop-by-hop it is not reported.
    assert_eq!(
        walk_opts([17, 0, 5, 3, 0, 0, 0, 0]),
        Err(ChainError::Drop(Error::Options))
    );
    assert_eq!(walk_opts(with_option(5)).unwrap().router_alert, None);
    // An option running past the header.
    assert_eq!(
        walk_opts([17, 0, 1, 5, 0, 0, 0, 0]),
        Err(ChainError::Drop(Error::Options))
    );
    assert_eq!(OptionType::from(0x3e).unknown_action(), UnknownAction::Skip);
    assert!(OptionType::from(0x3e).may_change() && !OptionType::RouterAlert.may_change());
    for n in 0..=u8::MAX {
        assert_eq!(u8::from(OptionType::from(n)), n);
    }
}

#[test]
fn chain_rules_and_limits() {
    // Hop-by-hop after a destination options header.
    let payload = [0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0];
    assert_eq!(
        walk(IpProtocol::Ipv6Opts, &payload, &LIMITS),
        Err(ChainError::ParamProblem {
            code: ParamProblem::UnrecognizedNxtHdr,
            pointer: 40,
            unicast_only: false
        })
    );
    // Nine destination options headers: one too many.
    let mut payload = Vec::new();
    for i in 0..9 {
        let next = if i == 8 { 17 } else { 60 };
        payload.extend_from_slice(&[next, 0, 1, 4, 0, 0, 0, 0]);
    }
    let result = walk(IpProtocol::Ipv6Opts, &payload, &LIMITS);
    assert_eq!(result, Err(ChainError::Drop(Error::Options)));
    let chain = walk(IpProtocol::Ipv6Opts, &payload[8..], &LIMITS).unwrap();
    assert_eq!((chain.headers, chain.upper), (8, IpProtocol::Udp));
    // A byte bound.
    let tight = ChainLimits {
        max_headers: 8,
        max_len: 16,
    };
    assert_eq!(
        walk(IpProtocol::Ipv6Opts, &payload[48..], &tight),
        Err(ChainError::Drop(Error::Options))
    );
    assert!(walk(IpProtocol::Ipv6Opts, &payload[56..], &tight).is_ok());
    assert_eq!(ChainLimits::default(), LIMITS);
    // A header longer than the payload.
    assert_eq!(
        walk(IpProtocol::HopByHop, &[17, 1, 1, 4, 0, 0, 0, 0], &LIMITS),
        Err(ChainError::Drop(Error::Truncated))
    );
    assert_eq!(
        walk(IpProtocol::Ipv6Route, &[], &LIMITS),
        Err(ChainError::Drop(Error::Truncated))
    );
    // "No next header" ends the walk like an upper layer.
    let chain = walk(IpProtocol::Ipv6NoNxt, &[], &LIMITS).unwrap();
    assert_eq!((chain.upper, chain.headers), (IpProtocol::Ipv6NoNxt, 0));
}

#[test]
fn header_view_and_options() {
    let header = Header::new_checked(&RH0_UDP[40..]).unwrap();
    assert_eq!(header.next_header(), IpProtocol::Udp);
    assert_eq!(header.header_len(), 24);
    assert_eq!((header.routing_type(), header.segments_left()), (0, 1));
    assert_eq!(header.body().len(), 22);

    let header = Header::new_checked(&HBH_UDP[40..48]).unwrap();
    let options: Vec<_> = header.options().collect::<Result<_>>().unwrap();
    let expected = [
        HeaderOption {
            kind: OptionType::Pad1,
            offset: 0,
            data: &[],
        },
        HeaderOption {
            kind: OptionType::Unknown(0x1e),
            offset: 1,
            data: &[0],
        },
        HeaderOption {
            kind: OptionType::PadN,
            offset: 4,
            data: &[],
        },
    ];
    assert_eq!(options, expected);
    let mut bad = Options::new(&[1, 4, 0]);
    assert_eq!(bad.next(), Some(Err(Error::Options)));
    assert_eq!(bad.next(), None);
    assert_eq!(Options::new(&[7]).next(), Some(Err(Error::Options)));

    let mut bytes = [0xa5u8; 8];
    let mut header = Header::new_unchecked(&mut bytes[..]);
    header.set_next_header(IpProtocol::Udp);
    header.set_header_len(8);
    header.body_mut().copy_from_slice(&HBH_UDP[42..48]);
    assert_eq!(bytes, HBH_UDP[40..48]);
    assert_eq!(
        Header::new_checked(&HBH_UDP[40..47]).err(),
        Some(Error::Truncated)
    );
    assert_eq!(
        Header::new_checked(&[0u8][..]).err(),
        Some(Error::Truncated)
    );
}

#[test]
fn options_repr_matches_linux() {
    let bytes = &MLD_REPORT[40..48];
    let repr = OptionsRepr::parse(&Header::new_checked(bytes).unwrap()).unwrap();
    assert_eq!(
        repr,
        OptionsRepr {
            next_header: IpProtocol::Icmpv6,
            router_alert: Some(0)
        }
    );
    let mut out = [0xffu8; 8];
    repr.emit(&mut Header::new_unchecked(&mut out[..])).unwrap();
    assert_eq!(out, bytes);
    let plain = OptionsRepr {
        next_header: IpProtocol::Udp,
        router_alert: None,
    };
    plain
        .emit(&mut Header::new_unchecked(&mut out[..]))
        .unwrap();
    assert_eq!(out, [17, 0, 1, 4, 0, 0, 0, 0]);
    assert_eq!(
        plain.emit(&mut Header::new_unchecked(&mut out[..7])),
        Err(Error::Truncated)
    );
    let bad = [17, 0, 5, 1, 0, 1, 0, 0];
    assert_eq!(
        OptionsRepr::parse(&Header::new_checked(&bad[..]).unwrap()),
        Err(Error::Options)
    );
}

/// A chain of options and routing headers (no segments left) with PadN bodies.
fn arb_chain() -> impl Strategy<Value = (Vec<u8>, IpProtocol, usize, usize)> {
    (
        any::<bool>(),
        proptest::collection::vec((any::<bool>(), 0..3usize), 0..7),
    )
        .prop_map(|(hop_by_hop, rest)| {
            let mut kinds = Vec::new();
            if hop_by_hop {
                kinds.push((IpProtocol::HopByHop, 0));
            }
            for (routing, units) in rest {
                let kind = if routing {
                    IpProtocol::Ipv6Route
                } else {
                    IpProtocol::Ipv6Opts
                };
                kinds.push((kind, units));
            }
            let mut bytes = Vec::new();
            for (i, &(_, units)) in kinds.iter().enumerate() {
                let next = kinds.get(i + 1).map_or(IpProtocol::Udp, |k| k.0);
                let len = (units + 1) * 8;
                let body = if kinds[i].0 == IpProtocol::Ipv6Route {
                    [0, 0] // routing type 0, no segments left
                } else {
                    [1, (len - 4) as u8] // PadN
                };
                bytes.extend_from_slice(&[u8::from(next), units as u8, body[0], body[1]]);
                bytes.resize(bytes.len() + len - 4, 0);
            }
            let first = kinds.first().map_or(IpProtocol::Udp, |k| k.0);
            let len = bytes.len();
            bytes.extend_from_slice(&[0; 8]);
            (bytes, first, kinds.len(), len)
        })
}

proptest! {
    #[test]
    fn walks_generated_chains((bytes, first, headers, len) in arb_chain()) {
        let chain = walk(first, &bytes, &LIMITS).unwrap();
        prop_assert_eq!(chain.upper, IpProtocol::Udp);
        prop_assert_eq!((chain.headers, chain.upper_offset), (headers, len));
    }

    #[test]
    fn options_repr_round_trip(nh in any::<u8>(), alert in any::<Option<u16>>()) {
        let repr = OptionsRepr { next_header: IpProtocol::from(nh), router_alert: alert };
        let mut buf = [0u8; 8];
        repr.emit(&mut Header::new_unchecked(&mut buf[..])).unwrap();
        let header = Header::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(OptionsRepr::parse(&header), Ok(repr));
        if !matches!(nh, 0 | 43 | 44 | 60) {
            let chain = walk(IpProtocol::HopByHop, &buf, &LIMITS).unwrap();
            prop_assert_eq!((chain.upper_offset, chain.router_alert), (8, alert));
        }
    }

    #[test]
    fn never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        first in prop::sample::select(vec![0u8, 43, 44, 60, 17, 59]),
        max_headers in 0..10usize,
        max_len in 0..300usize,
    ) {
        let limits = ChainLimits { max_headers, max_len };
        if let Ok(chain) = walk(IpProtocol::from(first), &bytes, &limits) {
            prop_assert!(chain.upper_offset <= bytes.len());
            prop_assert!(chain.headers <= max_headers);
        }
        prop_assert!(Options::new(&bytes).count() <= bytes.len());
        if let Ok(header) = Header::new_checked(&bytes[..]) {
            let _ = (header.body(), header.routing_type(), OptionsRepr::parse(&header));
        }
    }
}
