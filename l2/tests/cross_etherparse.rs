//! Cross-checks against `etherparse`, an independent parser: whatever bytes
//! we are given, both must agree on whether a header is complete and on every
//! field; and every frame our `emit` builds must read back the same through
//! `etherparse::SlicedPacket::from_ethernet`.

use etherparse::{
    ArpPacketSlice, Ethernet2HeaderSlice, LinkExtSlice, LinkSlice, NetSlice, SingleVlanHeaderSlice,
    SlicedPacket,
};
use proptest::prelude::*;
use std::net::Ipv4Addr;
use strata_l2::{
    ArpHardware, ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, VlanRepr, VlanStack, VlanTag, ETHERNET_HEADER_LEN, VLAN_TAG_LEN,
};

/// Random bytes, half of them starting with a plausible prefix so the deeper
/// fields are reached often.
fn bytes_with_prefix(prefix: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    (any::<bool>(), proptest::collection::vec(any::<u8>(), 0..64)).prop_map(
        move |(use_prefix, mut bytes)| {
            if use_prefix {
                let n = bytes.len().min(prefix.len());
                bytes[..n].copy_from_slice(&prefix[..n]);
            }
            bytes
        },
    )
}

fn any_mac() -> impl Strategy<Value = EthernetAddress> {
    any::<[u8; 6]>().prop_map(EthernetAddress)
}

fn any_arp() -> impl Strategy<Value = ArpRepr> {
    (
        any::<u16>().prop_map(ArpOperation::from),
        any_mac(),
        any::<[u8; 4]>(),
        any_mac(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(operation, sha, spa, tha, tpa)| ArpRepr {
            operation,
            source_hardware_addr: sha,
            source_protocol_addr: Ipv4Addr::from(spa),
            target_hardware_addr: tha,
            target_protocol_addr: Ipv4Addr::from(tpa),
        })
}

fn any_tag() -> impl Strategy<Value = VlanRepr> {
    (0u8..8, any::<bool>(), 0u16..4095).prop_map(|(pcp, dei, vid)| VlanRepr {
        pcp,
        dei,
        vid,
        ethertype: EtherType::Arp,
    })
}

proptest! {
    #[test]
    fn ethernet_agrees(bytes in bytes_with_prefix(&[0xff; 12])) {
        let ours = EthernetFrame::new_checked(&bytes[..]);
        let theirs = Ethernet2HeaderSlice::from_slice(&bytes);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok());
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            prop_assert_eq!(ours.dst_addr().0, theirs.destination());
            prop_assert_eq!(ours.src_addr().0, theirs.source());
            prop_assert_eq!(u16::from(ours.ethertype()), theirs.ether_type().0);
        }
    }

    #[test]
    fn vlan_tag_agrees(bytes in bytes_with_prefix(&[0xe0, 0x64, 0x08, 0x00])) {
        let ours = VlanTag::new_checked(&bytes[..]);
        let theirs = SingleVlanHeaderSlice::from_slice(&bytes);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok());
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            prop_assert_eq!(ours.pcp(), theirs.priority_code_point().value());
            prop_assert_eq!(ours.dei(), theirs.drop_eligible_indicator());
            prop_assert_eq!(ours.vid(), theirs.vlan_identifier().value());
            prop_assert_eq!(u16::from(ours.ethertype()), theirs.ether_type().0);
        }
    }

    #[test]
    fn arp_agrees(bytes in bytes_with_prefix(&[0x00, 0x01, 0x08, 0x00, 0x06, 0x04])) {
        let ours = ArpPacket::new_checked(&bytes[..]);
        let theirs = ArpPacketSlice::from_slice(&bytes);
        prop_assert_eq!(ours.is_ok(), theirs.is_ok());
        if let (Ok(ours), Ok(theirs)) = (ours, theirs) {
            prop_assert_eq!(u16::from(ours.hardware_type()), theirs.hw_addr_type().0);
            prop_assert_eq!(u16::from(ours.protocol_type()), theirs.proto_addr_type().0);
            prop_assert_eq!(u16::from(ours.operation()), theirs.operation().0);
            prop_assert_eq!(ours.source_hardware_addr(), theirs.sender_hw_addr());
            prop_assert_eq!(ours.source_protocol_addr(), theirs.sender_protocol_addr());
            prop_assert_eq!(ours.target_hardware_addr(), theirs.target_hw_addr());
            prop_assert_eq!(ours.target_protocol_addr(), theirs.target_protocol_addr());
            prop_assert_eq!(ours.header_len(), theirs.slice().len());
            let ethernet_ipv4 = ours.hardware_type() == ArpHardware::Ethernet
                && ours.protocol_type() == EtherType::Ipv4
                && ours.hardware_len() == 6
                && ours.protocol_len() == 4;
            prop_assert_eq!(ArpRepr::parse(&ours).is_ok(), ethernet_ipv4);
        }
    }

    /// Ethernet, zero to two tags, ARP: built by our emit, read by etherparse.
    #[test]
    fn emitted_frames_read_back(
        src in any_mac(),
        dst in any_mac(),
        tags in proptest::collection::vec((any_tag(), any::<bool>()), 0..=2),
        arp in any_arp(),
        padding in 0usize..20,
    ) {
        let header_len = ETHERNET_HEADER_LEN + tags.len() * VLAN_TAG_LEN;
        let mut bytes = vec![0u8; header_len + arp.buffer_len() + padding];
        // The first tag is an S-tag when asked; inner tags are C-tags.
        let tpid = |i: usize, s_tag: bool| if i == 0 && s_tag { EtherType::QinQ } else { EtherType::Vlan };
        let first_type = tags.first().map_or(EtherType::Arp, |&(_, s)| tpid(0, s));
        EthernetRepr { src_addr: src, dst_addr: dst, ethertype: first_type }
            .emit(&mut EthernetFrame::new_unchecked(&mut bytes[..]));
        for (i, (tag, _)) in tags.iter().enumerate() {
            let next = if i + 1 < tags.len() { tpid(i + 1, false) } else { EtherType::Arp };
            let at = ETHERNET_HEADER_LEN + i * VLAN_TAG_LEN;
            VlanRepr { ethertype: next, ..*tag }.emit(&mut VlanTag::new_unchecked(&mut bytes[at..]));
        }
        arp.emit(&mut ArpPacket::new_unchecked(&mut bytes[header_len..]));

        // Ours.
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        let stack = VlanStack::parse(&frame).unwrap();
        prop_assert_eq!(stack.header_len, header_len);
        prop_assert_eq!(stack.ethertype, EtherType::Arp);

        // Theirs.
        let sliced = SlicedPacket::from_ethernet(&bytes).unwrap();
        let Some(LinkSlice::Ethernet2(eth)) = sliced.link else {
            return Err(TestCaseError::fail("no Ethernet II header"));
        };
        prop_assert_eq!(eth.source(), src.0);
        prop_assert_eq!(eth.destination(), dst.0);
        prop_assert_eq!(sliced.link_exts.len(), tags.len());
        for (ext, (tag, _)) in sliced.link_exts.iter().zip(&tags) {
            let LinkExtSlice::Vlan(vlan) = ext else {
                return Err(TestCaseError::fail("not a VLAN tag"));
            };
            prop_assert_eq!(vlan.priority_code_point().value(), tag.pcp);
            prop_assert_eq!(vlan.drop_eligible_indicator(), tag.dei);
            prop_assert_eq!(vlan.vlan_identifier().value(), tag.vid);
        }
        prop_assert_eq!(stack.pcp, tags.first().map(|t| t.0.pcp));
        let Some(NetSlice::Arp(theirs)) = sliced.net else {
            return Err(TestCaseError::fail("no ARP packet"));
        };
        prop_assert_eq!(u16::from(arp.operation), theirs.operation().0);
        prop_assert_eq!(theirs.sender_hw_addr(), arp.source_hardware_addr.as_bytes());
        prop_assert_eq!(theirs.sender_protocol_addr(), &arp.source_protocol_addr.octets());
        prop_assert_eq!(theirs.target_hw_addr(), arp.target_hardware_addr.as_bytes());
        prop_assert_eq!(theirs.target_protocol_addr(), &arp.target_protocol_addr.octets());
    }
}
