//! Byte-array tests of the neighbour discovery view, options and repr on frames from
//! Linux and radvd (deconstruct, construct, parse, emit), the RFC 4861 validity rules,
//! and proptests: round trips, no panics.

use super::*;
use crate::checksum::Checksum;
use crate::wire::frames_v6::*;
use crate::wire::ipv6::{solicited_node, Packet as Ipv6Packet};
use proptest::prelude::*;

const SOFTWARE: ChecksumCaps = ChecksumCaps::software();
const MAC_A: EthernetAddr = [0x02, 0, 0, 0, 0x09, 0x01];
const MAC_B: EthernetAddr = [0x02, 0, 0, 0, 0x09, 0x02];

fn addr(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

/// The ICMPv6 message, addresses and hop limit of a captured frame.
fn split(frame: &[u8]) -> (&[u8], Ipv6Addr, Ipv6Addr, u8) {
    let ip = Ipv6Packet::new_checked(frame).unwrap();
    (ip.payload(), ip.src_addr(), ip.dst_addr(), ip.hop_limit())
}

fn parse_frame(frame: &[u8]) -> Result<Repr> {
    let (bytes, src, dst, hop_limit) = split(frame);
    Repr::parse(
        &Packet::new_checked(bytes)?,
        &src,
        &dst,
        hop_limit,
        &SOFTWARE,
    )
}

fn prefix() -> PrefixInfo {
    PrefixInfo {
        prefix_len: 64,
        on_link: true,
        autonomous: true,
        valid_lifetime: 86_400,
        preferred_lifetime: 14_400,
        prefix: addr("fd00:9::"),
    }
}

#[test]
fn deconstruct_ra() {
    let (bytes, src, dst, _) = split(&RA);
    let packet = Packet::new_checked(bytes).unwrap();
    assert_eq!(
        (packet.msg_type(), packet.msg_code()),
        (Message::RouterAdvert, 0)
    );
    assert!(packet.verify_checksum(&src, &dst));
    assert_eq!(packet.current_hop_limit(), 64);
    assert_eq!(packet.router_flags(), RouterFlags::default());
    assert_eq!(packet.router_lifetime(), 12);
    assert_eq!((packet.reachable_time(), packet.retrans_time()), (0, 0));
    let options: Vec<_> = packet.options().collect::<Result<_>>().unwrap();
    assert_eq!(
        options,
        [
            NdiscOption::PrefixInformation(prefix()),
            NdiscOption::Mtu(1500),
            NdiscOption::SourceLinkLayerAddr(MAC_B),
        ]
    );
}

#[test]
fn deconstruct_ns_and_na() {
    let (bytes, ..) = split(&NS);
    let packet = Packet::new_checked(bytes).unwrap();
    assert_eq!(packet.target_addr(), addr("fd00:9::2"));
    let (bytes, ..) = split(&NA);
    let packet = Packet::new_checked(bytes).unwrap();
    let flags = NeighborFlags {
        router: true,
        solicited: true,
        override_: true,
    };
    assert_eq!(packet.neighbor_flags(), flags);
    assert_eq!(packet.target_addr(), addr("fd00:9::2"));
    // The DAD probe carries a nonce (RFC 7527), which the repr ignores.
    let (bytes, ..) = split(&DAD_NS);
    let packet = Packet::new_checked(bytes).unwrap();
    let nonce = [0x0c, 0x83, 0x0c, 0x34, 0x44, 0x6e];
    assert_eq!(
        packet.options().collect::<Vec<_>>(),
        [Ok(NdiscOption::Nonce(&nonce[..]))]
    );
}

#[test]
fn construct_na() {
    let (expected, src, dst, _) = split(&NA);
    let mut bytes = vec![0xa5u8; expected.len()];
    let mut packet = Packet::new_unchecked(&mut bytes[..]);
    packet.set_msg_type(Message::NeighborAdvert);
    packet.set_neighbor_flags(NeighborFlags {
        router: true,
        solicited: true,
        override_: true,
    });
    packet.set_target_addr(addr("fd00:9::2"));
    NdiscOption::TargetLinkLayerAddr(MAC_B)
        .emit(&mut bytes[24..])
        .unwrap();
    icmpv6::Packet::new_unchecked(&mut bytes[..]).fill_checksum(&src, &dst);
    assert_eq!(bytes, expected);
}

#[test]
fn parse_and_emit_real_frames() {
    let cases = [
        (
            &RS[..],
            Repr::RouterSolicit {
                lladdr: Some(MAC_A),
            },
        ),
        (
            &RA[..],
            Repr::RouterAdvert {
                hop_limit: 64,
                flags: RouterFlags::default(),
                router_lifetime: 12,
                reachable_time: 0,
                retrans_time: 0,
                lladdr: Some(MAC_B),
                mtu: Some(1500),
                prefix_info: Some(prefix()),
            },
        ),
        (
            &NS[..],
            Repr::NeighborSolicit {
                target_addr: addr("fd00:9::2"),
                lladdr: Some(MAC_A),
            },
        ),
        (
            &NA[..],
            Repr::NeighborAdvert {
                flags: NeighborFlags {
                    router: true,
                    solicited: true,
                    override_: true,
                },
                target_addr: addr("fd00:9::2"),
                lladdr: Some(MAC_B),
            },
        ),
        (
            &NA_UNICAST[..],
            Repr::NeighborAdvert {
                flags: NeighborFlags {
                    solicited: true,
                    ..NeighborFlags::default()
                },
                target_addr: addr("fe80::ff:fe00:901"),
                lladdr: None,
            },
        ),
    ];
    for (frame, expected) in cases {
        let repr = parse_frame(frame).unwrap();
        assert_eq!(repr, expected);
        let (bytes, src, dst, _) = split(frame);
        assert_eq!(repr.buffer_len(), bytes.len());
        let mut out = vec![0xffu8; bytes.len()];
        repr.emit(
            &mut Packet::new_unchecked(&mut out[..]),
            &src,
            &dst,
            &SOFTWARE,
        )
        .unwrap();
        assert_eq!(out, bytes);
    }
    assert_eq!(
        parse_frame(&DAD_NS),
        Ok(Repr::NeighborSolicit {
            target_addr: addr("fd00:9::1"),
            lladdr: None
        })
    );
}

#[test]
fn validity_rules() {
    let (ns, src, dst, _) = split(&NS);
    let check = |bytes: &[u8], hop_limit: u8, src: &Ipv6Addr, dst: &Ipv6Addr| {
        validate(&Packet::new_unchecked(bytes), hop_limit, src, dst)
    };
    assert_eq!(check(ns, 255, &src, &dst), Ok(()));
    // Forwarded by a router, or a non-zero code.
    assert_eq!(check(ns, 254, &src, &dst), Err(Error::Malformed));
    let mut coded = ns.to_vec();
    coded[1] = 1;
    assert_eq!(check(&coded, 255, &src, &dst), Err(Error::Malformed));
    // Options of length 0 or running past the message.
    let mut bad = ns.to_vec();
    bad[25] = 0;
    assert_eq!(check(&bad, 255, &src, &dst), Err(Error::Options));
    bad[25] = 2;
    assert_eq!(check(&bad, 255, &src, &dst), Err(Error::Options));
    assert_eq!(check(&ns[..23], 255, &src, &dst), Err(Error::Truncated));
    // From the unspecified address: no source link-layer address, and only to a
    // solicited-node group.
    let unspecified = Ipv6Addr::UNSPECIFIED;
    assert_eq!(check(ns, 255, &unspecified, &dst), Err(Error::Malformed));
    let (dad, ..) = split(&DAD_NS);
    assert_eq!(check(dad, 255, &unspecified, &dst), Ok(()));
    let unicast = addr("fd00:9::2");
    assert_eq!(
        check(dad, 255, &unspecified, &unicast),
        Err(Error::Malformed)
    );
    let (rs, ..) = split(&RS);
    assert_eq!(check(rs, 255, &unspecified, &dst), Err(Error::Malformed));
    // A multicast target.
    let mut multicast = ns.to_vec();
    multicast[8] = 0xff;
    assert_eq!(check(&multicast, 255, &src, &dst), Err(Error::Malformed));
    // A solicited NA to a multicast group.
    let (na, na_src, ..) = split(&NA);
    let all_nodes = crate::wire::ipv6::LINK_LOCAL_ALL_NODES;
    assert_eq!(check(na, 255, &na_src, &all_nodes), Err(Error::Malformed));
    // An RA from a global address.
    let (ra, _, ra_dst, _) = split(&RA);
    assert_eq!(check(ra, 255, &unicast, &ra_dst), Err(Error::Malformed));
    // Checksums follow the capabilities.
    let (bytes, src, dst, hop_limit) = split(&NS);
    let mut corrupt = bytes.to_vec();
    corrupt[30] ^= 1;
    let packet = Packet::new_checked(&corrupt[..]).unwrap();
    assert_eq!(
        Repr::parse(&packet, &src, &dst, hop_limit, &SOFTWARE),
        Err(Error::Checksum)
    );
    let caps = ChecksumCaps {
        icmpv6: Checksum::Tx,
        ..SOFTWARE
    };
    assert!(Repr::parse(&packet, &src, &dst, hop_limit, &caps).is_ok());
    // Not a neighbour discovery message.
    let (echo, ..) = split(&ECHO_REQUEST_V6);
    assert_eq!(Packet::new_checked(echo).err(), Some(Error::Unrecognized));
    assert_eq!(Packet::new_checked(&[][..]).err(), Some(Error::Truncated));
}

#[test]
fn redirect() {
    let (src, dst) = (addr("fe80::1"), addr("fd00:9::1"));
    let repr = Repr::Redirect {
        target_addr: addr("fe80::2"),
        dest_addr: addr("fd00:99::1"),
        lladdr: Some(MAC_B),
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    assert_eq!(buf.len(), 48);
    repr.emit(
        &mut Packet::new_unchecked(&mut buf[..]),
        &src,
        &dst,
        &SOFTWARE,
    )
    .unwrap();
    let packet = Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(packet.dest_addr(), addr("fd00:99::1"));
    assert_eq!(Repr::parse(&packet, &src, &dst, 255, &SOFTWARE), Ok(repr));
    // From a global address, or to a target that is neither link-local nor the
    // destination.
    assert_eq!(validate(&packet, 255, &dst, &src), Err(Error::Malformed));
    let mut bad = buf.clone();
    bad[8] = 0xfd;
    assert_eq!(
        validate(&Packet::new_unchecked(&bad[..]), 255, &src, &dst),
        Err(Error::Malformed)
    );
}

#[test]
fn options() {
    let redirected = [0x60u8, 0, 0, 0, 0, 8, 17, 64];
    let nonce = [1u8, 2, 3, 4, 5, 6];
    let options = [
        NdiscOption::SourceLinkLayerAddr(MAC_A),
        NdiscOption::TargetLinkLayerAddr(MAC_B),
        NdiscOption::PrefixInformation(PrefixInfo {
            on_link: false,
            valid_lifetime: INFINITE_LIFETIME,
            ..prefix()
        }),
        NdiscOption::RedirectedHeader(&redirected),
        NdiscOption::Mtu(1280),
        NdiscOption::Nonce(&nonce),
        NdiscOption::Unknown {
            kind: 38,
            data: &[9; 14],
        },
    ];
    let mut buf = vec![0u8; 256];
    let mut len = 0;
    for option in &options {
        len += option.emit(&mut buf[len..]).unwrap();
    }
    assert_eq!(len, 8 + 8 + 32 + 16 + 8 + 8 + 16);
    let parsed: Vec<_> = NdiscOptions::new(&buf[..len])
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(parsed, options);
    // Malformed options: a long link-layer address, a prefix length past 128.
    let long_mac = [1u8, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        NdiscOptions::new(&long_mac).next(),
        Some(Err(Error::Options))
    );
    let mut wide = [0u8; 32];
    NdiscOption::PrefixInformation(prefix())
        .emit(&mut wide)
        .unwrap();
    wide[2] = 129;
    assert_eq!(NdiscOptions::new(&wide).next(), Some(Err(Error::Options)));
    // A length byte missing, or zero: one error, then the end.
    let mut zero = NdiscOptions::new(&[1, 0, 1, 1, 0, 0, 0, 0]);
    assert_eq!(zero.next(), Some(Err(Error::Options)));
    assert_eq!(zero.next(), None);
    assert_eq!(NdiscOptions::new(&[1]).next(), Some(Err(Error::Options)));
    // Emitting into too small a buffer.
    assert_eq!(
        NdiscOption::Mtu(1500).emit(&mut [0u8; 7]),
        Err(Error::Truncated)
    );
    let huge = [0u8; 2048];
    let result = NdiscOption::Unknown {
        kind: 9,
        data: &huge,
    }
    .emit(&mut vec![0u8; 4096]);
    assert_eq!(result, Err(Error::Length));
    for n in 0..=u8::MAX {
        assert_eq!(u8::from(OptionKind::from(n)), n);
    }
}

#[test]
fn offloaded_emit_and_short_buffers() {
    let (bytes, src, dst, _) = split(&RS);
    let repr = parse_frame(&RS).unwrap();
    let caps = ChecksumCaps {
        icmpv6: Checksum::Rx,
        ..SOFTWARE
    };
    let mut out = vec![0u8; bytes.len()];
    repr.emit(&mut Packet::new_unchecked(&mut out[..]), &src, &dst, &caps)
        .unwrap();
    assert_eq!(out[4..], bytes[4..]);
    assert_ne!(out[2..4], bytes[2..4]);
    let result = repr.emit(
        &mut Packet::new_unchecked(&mut out[..15]),
        &src,
        &dst,
        &SOFTWARE,
    );
    assert_eq!(result, Err(Error::Truncated));
}

fn arb_mac() -> impl Strategy<Value = Option<EthernetAddr>> {
    any::<Option<EthernetAddr>>()
}

fn arb_unicast() -> impl Strategy<Value = Ipv6Addr> {
    any::<[u8; 16]>().prop_map(|mut o| {
        o[0] &= 0xfe;
        Ipv6Addr::from(o)
    })
}

fn arb_link_local() -> impl Strategy<Value = Ipv6Addr> {
    any::<u64>().prop_map(|low| Ipv6Addr::from((0xfe80u128 << 112) | u128::from(low)))
}

fn arb_repr() -> impl Strategy<Value = Repr> {
    let prefix_info = (
        0..=128u8,
        any::<bool>(),
        any::<bool>(),
        any::<u32>(),
        any::<u32>(),
        arb_unicast(),
    )
        .prop_map(
            |(prefix_len, on_link, autonomous, valid, preferred, prefix)| PrefixInfo {
                prefix_len,
                on_link,
                autonomous,
                valid_lifetime: valid,
                preferred_lifetime: preferred,
                prefix,
            },
        );
    let ra_fields = (
        any::<u8>(),
        any::<(bool, bool)>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
    );
    prop_oneof![
        arb_mac().prop_map(|lladdr| Repr::RouterSolicit { lladdr }),
        (
            ra_fields,
            arb_mac(),
            any::<Option<u32>>(),
            proptest::option::of(prefix_info)
        )
            .prop_map(
                |(
                    (hop_limit, (managed, other), lifetime, reachable, retrans),
                    lladdr,
                    mtu,
                    prefix_info,
                )| {
                    Repr::RouterAdvert {
                        hop_limit,
                        flags: RouterFlags { managed, other },
                        router_lifetime: lifetime,
                        reachable_time: reachable,
                        retrans_time: retrans,
                        lladdr,
                        mtu,
                        prefix_info,
                    }
                }
            ),
        (arb_unicast(), arb_mac()).prop_map(|(target_addr, lladdr)| Repr::NeighborSolicit {
            target_addr,
            lladdr
        }),
        (any::<(bool, bool, bool)>(), arb_unicast(), arb_mac()).prop_map(
            |((router, solicited, override_), target_addr, lladdr)| Repr::NeighborAdvert {
                flags: NeighborFlags {
                    router,
                    solicited,
                    override_,
                },
                target_addr,
                lladdr,
            }
        ),
        (arb_link_local(), arb_unicast(), arb_mac()).prop_map(
            |(target_addr, dest_addr, lladdr)| {
                Repr::Redirect {
                    target_addr,
                    dest_addr,
                    lladdr,
                }
            }
        ),
    ]
}

proptest! {
    #[test]
    fn round_trip(repr in arb_repr(), src in arb_link_local(), dst in arb_unicast()) {
        let dst = match repr {
            Repr::NeighborSolicit { target_addr, .. } => solicited_node(&target_addr),
            _ => dst,
        };
        let mut buf = vec![0xa5u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &src, &dst, &SOFTWARE).unwrap();
        let packet = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(Repr::parse(&packet, &src, &dst, HOP_LIMIT, &SOFTWARE), Ok(repr));
    }

    #[test]
    fn never_panics(
        kind in 133..=137u8,
        mut bytes in proptest::collection::vec(any::<u8>(), 0..120),
        src in arb_link_local(),
        hop_limit in prop::sample::select(vec![255u8, 1]),
    ) {
        if let Some(first) = bytes.first_mut() {
            *first = kind;
        }
        let dst = crate::wire::ipv6::LINK_LOCAL_ALL_NODES;
        for caps in [SOFTWARE, ChecksumCaps::offloaded()] {
            let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &src, &dst, hop_limit, &caps);
        }
        let _ = validate(&Packet::new_unchecked(&bytes[..]), hop_limit, &src, &dst);
        prop_assert!(NdiscOptions::new(&bytes).count() <= bytes.len() / 8 + 1);
        if let Ok(packet) = Packet::new_checked(&bytes[..]) {
            let _ = (packet.options().count(), packet.router_flags(), packet.msg_code());
        }
    }

    #[test]
    fn emit_never_panics(repr in arb_repr(), len in 0..100usize) {
        let mut buf = vec![0u8; len];
        let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
        let _ = repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &src, &dst, &SOFTWARE);
    }
}

/// Reading another message type's fields never panics, even on the
/// shortest valid message: they read as zero where the buffer ends.
#[test]
fn foreign_field_accessors_do_not_panic() {
    // A router solicitation: type 133, code 0, checksum, reserved (8 bytes).
    let rs = [133u8, 0, 0, 0, 0, 0, 0, 0];
    let p = Packet::new_checked(&rs[..]).unwrap();
    assert_eq!(p.target_addr(), std::net::Ipv6Addr::UNSPECIFIED);
    assert_eq!(p.dest_addr(), std::net::Ipv6Addr::UNSPECIFIED);
    assert_eq!(
        (p.reachable_time(), p.retrans_time(), p.router_lifetime()),
        (0, 0, 0)
    );
    let _ = (p.neighbor_flags(), p.router_flags(), p.current_hop_limit());
    let empty: [u8; 0] = [];
    let q = Packet::new_unchecked(&empty[..]);
    assert_eq!((q.msg_code(), q.current_hop_limit()), (0, 0));
}
