use proptest::prelude::*;

use super::*;

const US: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const GROUP: Ipv4Addr = Ipv4Addr::new(239, 1, 2, 3);

fn v4(forwarding: bool) -> Ipv4Local<'static> {
    const ADDRS: [(Ipv4Addr, u8); 2] = [(US, 24), (Ipv4Addr::new(192, 0, 2, 1), 32)];
    Ipv4Local {
        addrs: &ADDRS,
        groups: &[GROUP],
        forwarding,
    }
}

#[test]
fn ipv4_sources() {
    let local = v4(false);
    let cases = [
        (Ipv4Addr::new(10, 9, 0, 255), AddrDrop::SrcBroadcast),
        (Ipv4Addr::BROADCAST, AddrDrop::SrcBroadcast),
        (Ipv4Addr::new(224, 0, 0, 1), AddrDrop::SrcMulticast),
        (Ipv4Addr::new(127, 0, 0, 1), AddrDrop::SrcLoopback),
        (Ipv4Addr::new(127, 9, 9, 9), AddrDrop::SrcLoopback),
        (Ipv4Addr::new(240, 0, 0, 1), AddrDrop::SrcReserved),
        (Ipv4Addr::UNSPECIFIED, AddrDrop::SrcUnspecified),
        (US, AddrDrop::SrcOurs),
        (Ipv4Addr::new(192, 0, 2, 1), AddrDrop::SrcOurs),
    ];
    for (src, reason) in cases {
        assert_eq!(accept_ipv4(src, US, &local), Err(reason), "{src}");
    }
    // A /32 has no broadcast address: 192.0.2.1's "subnet broadcast" is itself, which
    // must not make a peer's ordinary address look like a broadcast.
    assert_eq!(accept_ipv4(PEER, US, &local), Ok(Ipv4Delivery::Local));
    // 10.9.1.255 is not our subnet's broadcast: an ordinary remote host.
    assert_eq!(
        accept_ipv4(Ipv4Addr::new(10, 9, 1, 255), US, &local),
        Ok(Ipv4Delivery::Local)
    );
}

#[test]
fn dhcp_discover_from_the_unspecified_address_is_accepted() {
    let local = v4(false);
    assert_eq!(
        accept_ipv4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::BROADCAST, &local),
        Ok(Ipv4Delivery::Broadcast)
    );
    assert_eq!(
        accept_ipv4(Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(10, 9, 0, 255), &local),
        Err(AddrDrop::SrcUnspecified)
    );
}

#[test]
fn ipv4_destinations() {
    let local = v4(false);
    assert_eq!(accept_ipv4(PEER, US, &local), Ok(Ipv4Delivery::Local));
    assert_eq!(
        accept_ipv4(PEER, Ipv4Addr::BROADCAST, &local),
        Ok(Ipv4Delivery::Broadcast)
    );
    assert_eq!(
        accept_ipv4(PEER, Ipv4Addr::new(10, 9, 0, 255), &local),
        Ok(Ipv4Delivery::Broadcast)
    );
    assert_eq!(
        accept_ipv4(PEER, GROUP, &local),
        Ok(Ipv4Delivery::Multicast)
    );
    assert_eq!(
        accept_ipv4(PEER, Ipv4Addr::new(224, 0, 0, 1), &local),
        Ok(Ipv4Delivery::Multicast)
    );
    assert_eq!(
        accept_ipv4(PEER, Ipv4Addr::new(239, 9, 9, 9), &local),
        Err(AddrDrop::NotMember)
    );
    assert_eq!(
        accept_ipv4(PEER, Ipv4Addr::UNSPECIFIED, &local),
        Err(AddrDrop::DstUnspecified)
    );
    assert_eq!(
        accept_ipv4(PEER, Ipv4Addr::new(127, 0, 0, 1), &local),
        Err(AddrDrop::DstLoopback)
    );
    let other = Ipv4Addr::new(198, 51, 100, 7);
    assert_eq!(accept_ipv4(PEER, other, &local), Err(AddrDrop::NotOurs));
    assert_eq!(
        accept_ipv4(PEER, other, &v4(true)),
        Ok(Ipv4Delivery::Forward)
    );
}

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

fn v6(forwarding: bool) -> Ipv6Local<'static> {
    const ADDRS: [Ipv6Addr; 2] = [
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x902),
        Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2),
    ];
    const TENTATIVE: [Ipv6Addr; 1] = [Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 0x99)];
    const GROUPS: [Ipv6Addr; 1] = [Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2)];
    Ipv6Local {
        addrs: &ADDRS,
        tentative: &TENTATIVE,
        groups: &GROUPS,
        forwarding,
    }
}

#[test]
fn ipv6_rules() {
    let local = v6(false);
    let us = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2);
    let peer = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1);
    let sources = [
        (ALL_NODES, AddrDrop::SrcMulticast),
        (Ipv6Addr::LOCALHOST, AddrDrop::SrcLoopback),
        (
            Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped(),
            AddrDrop::SrcReserved,
        ),
        (us, AddrDrop::SrcOurs),
    ];
    for (src, reason) in sources {
        assert_eq!(accept_ipv6(&src, &us, &local), Err(reason), "{src}");
    }
    // DAD and MLD send from the unspecified address.
    let solicited = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 2);
    assert_eq!(
        accept_ipv6(&Ipv6Addr::UNSPECIFIED, &solicited, &local),
        Ok(Ipv6Delivery::Multicast)
    );
    let destinations = [
        (Ipv6Addr::UNSPECIFIED, Err(AddrDrop::DstUnspecified)),
        (Ipv6Addr::LOCALHOST, Err(AddrDrop::DstLoopback)),
        (
            Ipv6Addr::new(0xff01, 0, 0, 0, 0, 0, 0, 1),
            Err(AddrDrop::DstScope),
        ),
        (
            Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 1),
            Err(AddrDrop::DstScope),
        ),
        (ALL_NODES, Ok(Ipv6Delivery::Multicast)),
        (
            Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb),
            Err(AddrDrop::NotMember),
        ),
        (us, Ok(Ipv6Delivery::Local)),
        (
            Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 0x99),
            Ok(Ipv6Delivery::Tentative),
        ),
        (
            Ipv6Addr::new(0xfd00, 7, 0, 0, 0, 0, 0, 1),
            Err(AddrDrop::NotOurs),
        ),
    ];
    for (dst, verdict) in destinations {
        assert_eq!(accept_ipv6(&peer, &dst, &local), verdict, "{dst}");
    }
    let remote = Ipv6Addr::new(0xfd00, 7, 0, 0, 0, 0, 0, 1);
    assert_eq!(
        accept_ipv6(&peer, &remote, &v6(true)),
        Ok(Ipv6Delivery::Forward)
    );
}

#[test]
fn reasons_have_distinct_labels() {
    let mut labels: Vec<_> = AddrDrop::ALL.iter().map(|r| r.as_str()).collect();
    labels.sort_unstable();
    labels.dedup();
    assert_eq!(labels.len(), AddrDrop::ALL.len());
}

#[test]
fn hop_limit_forwarding() {
    let mut bytes = [0u8; 40];
    bytes[0] = 0x60;
    let mut packet = ipv6::Packet::new_checked(&mut bytes[..]).unwrap();
    packet.set_hop_limit(2);
    assert_eq!(forward_ipv6(&mut packet), Ok(()));
    assert_eq!(packet.hop_limit(), 1);
    assert_eq!(forward_ipv6(&mut packet), Err(TtlExpired));
    packet.set_hop_limit(0);
    assert_eq!(forward_ipv6(&mut packet), Err(TtlExpired));
    assert_eq!(packet.hop_limit(), 0);
}

proptest! {
    /// The incremental checksum update after a TTL decrement equals a full recompute.
    #[test]
    fn ttl_decrement_keeps_the_checksum(ttl in 0u8..=255, rest in any::<[u8; 20]>()) {
        let mut bytes = rest;
        bytes[0] = 0x45;
        bytes[2..4].copy_from_slice(&20u16.to_be_bytes());
        bytes[8] = ttl;
        let mut packet = ipv4::Packet::new_checked(&mut bytes[..]).unwrap();
        packet.fill_checksum();
        let result = forward_ipv4(&mut packet);
        prop_assert_eq!(result.is_ok(), ttl > 1);
        prop_assert_eq!(packet.ttl(), if ttl > 1 { ttl - 1 } else { ttl });
        prop_assert!(packet.verify_checksum());
    }

    /// Whatever the addresses: a source the rules refuse is never accepted, an accepted
    /// local delivery is to one of our addresses, and nothing panics.
    #[test]
    fn ipv4_verdicts_are_consistent(src in any::<u32>(), dst in any::<u32>(), forwarding in any::<bool>()) {
        let (src, dst) = (Ipv4Addr::from(src), Ipv4Addr::from(dst));
        let local = v4(forwarding);
        match accept_ipv4(src, dst, &local) {
            Ok(delivery) => {
                prop_assert!(!src.is_multicast() && !src.is_loopback() && !src.is_broadcast());
                prop_assert!(!dst.is_unspecified() && !dst.is_loopback());
                if delivery == Ipv4Delivery::Local {
                    prop_assert!(local.addrs.iter().any(|&(a, _)| a == dst));
                }
                if delivery == Ipv4Delivery::Forward {
                    prop_assert!(forwarding && !dst.is_multicast());
                }
            }
            Err(reason) => prop_assert!(AddrDrop::ALL.contains(&reason)),
        }
    }

    /// The fast lane's precomputed rule agrees with the full rules on every
    /// pair of addresses: random ones, and ones drawn from the interface's own
    /// address, its broadcast, and the special values.
    #[test]
    fn unicast_rule_agrees_with_accept_ipv4(
        addr in any::<u32>(),
        len in 0u8..=40,
        src in any::<u32>(),
        dst in any::<u32>(),
        pick_src in 0usize..8,
        pick_dst in 0usize..8,
        forwarding in any::<bool>(),
    ) {
        let addrs = [(Ipv4Addr::from(addr), len)];
        let broadcast = addr | u32::MAX.checked_shr(u32::from(len.min(32))).unwrap_or(0);
        let special = [src, addr, broadcast, 0, u32::MAX, 0x7f00_0001, 0xe000_0001, 0xf000_0001];
        let (src, dst) = (special[pick_src], [dst, addr, broadcast, 0, u32::MAX, 0x7f00_0001, 0xe000_0001, 0xf000_0001][pick_dst]);
        let local = Ipv4Local { addrs: &addrs, groups: &[], forwarding };
        let full = accept_ipv4(Ipv4Addr::from(src), Ipv4Addr::from(dst), &local) == Ok(Ipv4Delivery::Local);
        match Ipv4UnicastRule::new(&addrs) {
            Some(rule) => prop_assert_eq!(rule.accepts(src, dst), full),
            // No rule only for addresses that never receive unicast.
            None => prop_assert!(!full || addr == 0 || addr >> 24 == 127 || addr >> 24 >= 224),
        }
    }
}

#[test]
fn the_unicast_rule_needs_exactly_one_usable_address() {
    let a = (Ipv4Addr::new(10, 9, 0, 2), 24);
    assert!(Ipv4UnicastRule::new(&[a]).is_some());
    assert_eq!(Ipv4UnicastRule::new(&[]), None);
    assert_eq!(
        Ipv4UnicastRule::new(&[a, (Ipv4Addr::new(10, 9, 1, 2), 24)]),
        None
    );
    assert_eq!(Ipv4UnicastRule::new(&[(Ipv4Addr::LOCALHOST, 8)]), None);
    assert_eq!(
        Ipv4UnicastRule::new(&[(Ipv4Addr::new(224, 0, 0, 1), 4)]),
        None
    );
}
