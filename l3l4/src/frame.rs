//! Where every header of a received Ethernet frame sits, found in one pass: the first
//! thing the receive path does with a frame, and what the classifier reads (VLAN PCP,
//! DSCP, the 5-tuple).
//!
//! [`FrameHeaders::parse`] walks Ethernet II, up to two VLAN tags, then ARP, IPv4 (with
//! options) or IPv6 (with its extension headers, bounded), then the UDP, TCP, ICMPv4 or
//! ICMPv6 header, checking every length field on the way, as `etherparse`'s
//! `SlicedPacket::from_ethernet` does; it keeps offsets, never copies, never allocates.
//! [`FrameHeaders::parse_checked`] adds everything the receive path must verify before
//! it trusts a packet: the IPv4 header checksum, options and fragment fields, the ARP
//! fields, and the UDP, TCP, ICMPv4 and ICMPv6 checksums (UDP's zero-checksum rules
//! included), each skipped where [`ChecksumCaps`] says the device already did it.
//!
//! A fragment (IPv4 with MF set or a non-zero offset; IPv6 with a fragment header that
//! is not atomic) stops the walk at the network layer ([`Transport::Fragment`]): its
//! transport header, if any, is read after reassembly.
//!
//! Every refusal is a [`FrameError`] that names the protocol and the drop reason to
//! count (the `drop_reasons` of the stats contract in DESIGN.md).

use core::fmt;
use std::net::Ipv6Addr;

use strata_l2::{ArpPacket, ArpRepr, EtherType, EthernetFrame, VlanStack, ETHERNET_HEADER_LEN};

use crate::checksum::ChecksumCaps;
use crate::wire::ipv6ext::{self, ChainError, ChainLimits};
use crate::wire::{icmpv4, icmpv6, ipv4, ipv6, tcp, udp, Error, IpPair, IpProtocol};

/// The network layer a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// ARP (Ethernet/IPv4).
    Arp,
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
    /// Another EtherType, not walked further.
    Other(EtherType),
}

/// The transport layer a packet carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// No IP payload was walked (ARP or another EtherType).
    None,
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// ICMPv4.
    Icmpv4,
    /// ICMPv6 (neighbour discovery and MLD included).
    Icmpv6,
    /// A fragment: the transport header is read after reassembly.
    Fragment,
    /// Another protocol, not walked (IPv6 "no next header" included).
    Other(IpProtocol),
}

/// Why a frame was refused: the protocol whose counter it goes to, and the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameError {
    /// The Ethernet header or the VLAN tags (truncated, VID 4095, a third tag, an 802.3
    /// length field).
    Ethernet(strata_l2::Error),
    /// The ARP packet.
    Arp(strata_l2::Error),
    /// The IPv4 header, by Zephyr's drop classes.
    Ipv4(ipv4::DropReason),
    /// The IPv6 fixed header.
    Ipv6(Error),
    /// The IPv6 extension header chain, with the parameter problem to answer if any.
    Ipv6Chain(ChainError),
    /// The UDP header or checksum.
    Udp(Error),
    /// The TCP header or checksum.
    Tcp(Error),
    /// The ICMPv4 header or checksum.
    Icmpv4(Error),
    /// The ICMPv6 header or checksum.
    Icmpv6(Error),
}

impl FrameError {
    /// The protocol whose `drop_reasons` count this refusal: `eth`, `arp`, `ipv4`,
    /// `ipv6`, `udp`, `tcp`, `icmpv4` or `icmpv6`.
    pub const fn protocol(self) -> &'static str {
        match self {
            FrameError::Ethernet(_) => "eth",
            FrameError::Arp(_) => "arp",
            FrameError::Ipv4(_) => "ipv4",
            FrameError::Ipv6(_) | FrameError::Ipv6Chain(_) => "ipv6",
            FrameError::Udp(_) => "udp",
            FrameError::Tcp(_) => "tcp",
            FrameError::Icmpv4(_) => "icmpv4",
            FrameError::Icmpv6(_) => "icmpv6",
        }
    }

    /// The drop reason, a snake-case label.
    pub const fn reason(self) -> &'static str {
        match self {
            FrameError::Ethernet(error) | FrameError::Arp(error) => match error {
                strata_l2::Error::Truncated => "truncated",
                strata_l2::Error::Malformed => "malformed",
                strata_l2::Error::Unsupported => "unsupported",
            },
            FrameError::Ipv4(reason) => reason.as_str(),
            FrameError::Ipv6Chain(error) => error.reason().as_str(),
            FrameError::Ipv6(error)
            | FrameError::Udp(error)
            | FrameError::Tcp(error)
            | FrameError::Icmpv4(error)
            | FrameError::Icmpv6(error) => error.as_str(),
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} dropped: {}", self.protocol(), self.reason())
    }
}

impl std::error::Error for FrameError {}

/// The headers of one received Ethernet frame: which protocols it carries and where
/// each starts. Accessors hand out checked views over the frame's bytes.
///
/// # Examples
///
/// ```
/// use strata_l3l4::frame::{FrameHeaders, Network, Transport};
/// use strata_l3l4::ChecksumCaps;
///
/// // An IPv4/UDP datagram captured on a veth pair, 10.9.0.1:40000 -> 10.9.0.2:5353,
/// // behind its Ethernet header.
/// let frame = [
///     0x02, 0x00, 0x00, 0x00, 0x09, 0x02, 0x02, 0x00, 0x00, 0x00, 0x09, 0x01, 0x08, 0x00,
///     0x45, 0x00, 0x00, 0x28, 0xfa, 0x22, 0x40, 0x00, 0x40, 0x11, 0x2c, 0x8e, 0x0a, 0x09,
///     0x00, 0x01, 0x0a, 0x09, 0x00, 0x02, 0x9c, 0x40, 0x14, 0xe9, 0x00, 0x14, 0x9c, 0x5e,
///     0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x20, 0x73, 0x74, 0x72, 0x61, 0x74, 0x61,
/// ];
/// let headers = FrameHeaders::parse_checked(&frame, &ChecksumCaps::software())?;
/// assert_eq!((headers.network(), headers.transport()), (Network::Ipv4, Transport::Udp));
/// assert_eq!(headers.ports(), Some((40000, 5353)));
/// assert_eq!(headers.udp().unwrap().payload(), b"hello strata");
/// # Ok::<(), strata_l3l4::frame::FrameError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeaders<'a> {
    frame: &'a [u8],
    vlan: VlanStack,
    network: Network,
    transport: Transport,
    /// Start of the transport header (or of the fragment's payload).
    l4_offset: usize,
    /// End of the network-layer packet: Ethernet padding after it is ignored.
    l3_end: usize,
}

impl<'a> FrameHeaders<'a> {
    /// Walks the headers of `frame`, checking every length field, without verifying
    /// checksums or the finer rules (see [`FrameHeaders::parse_checked`]).
    ///
    /// # Errors
    ///
    /// The first header that does not hold together, as a [`FrameError`].
    pub fn parse(frame: &'a [u8]) -> Result<FrameHeaders<'a>, FrameError> {
        Self::walk(frame, None)
    }

    /// Walks the headers as [`FrameHeaders::parse`] does and verifies what the receive
    /// path must before it trusts the packet: the IPv4 header checksum, options and
    /// fragment fields; the ARP fields (Ethernet hardware, IPv4 protocol, their lengths; the
    /// operation is the ARP cache's to judge); the UDP, TCP,
    /// ICMPv4 and ICMPv6 checksums, where `caps` says software verifies them. A UDP
    /// checksum of zero passes over IPv4 (none was computed) and fails over IPv6
    /// (RFC 8200 §8.1).
    ///
    /// # Errors
    ///
    /// The first check that fails, as a [`FrameError`].
    pub fn parse_checked(
        frame: &'a [u8],
        caps: &ChecksumCaps,
    ) -> Result<FrameHeaders<'a>, FrameError> {
        Self::walk(frame, Some(caps))
    }

    // The walk computes every field into locals and builds the result once at the end:
    // a struct filled in field by field and then moved out costs a store-forwarding
    // stall per frame, a third of the whole parse.
    fn walk(frame: &'a [u8], caps: Option<&ChecksumCaps>) -> Result<Self, FrameError> {
        let (vlan, network, transport, l4_offset, l3_end) = walk_parts(frame, caps)?;
        Ok(FrameHeaders {
            frame,
            vlan,
            network,
            transport,
            l4_offset,
            l3_end,
        })
    }

    /// Where the headers are, without the borrow of the frame: to keep beside the
    /// buffer while a burst moves from stage to stage. `None` for a frame longer
    /// than 64 KiB, which no device hands over.
    pub fn layout(&self) -> Option<FrameLayout> {
        FrameLayout::pack(
            &self.vlan,
            self.network,
            self.transport,
            self.l4_offset,
            self.l3_end,
        )
    }

    /// The whole frame.
    pub const fn frame(&self) -> &'a [u8] {
        self.frame
    }

    /// The VLAN walk: payload type, header length, PCP and VIDs.
    pub const fn vlan(&self) -> &VlanStack {
        &self.vlan
    }

    /// The type of the payload after the Ethernet header and its tags.
    pub const fn ethertype(&self) -> EtherType {
        self.vlan.ethertype
    }

    /// The 802.1Q priority of the outermost tag, if the frame is tagged.
    pub const fn pcp(&self) -> Option<u8> {
        self.vlan.pcp
    }

    /// The network layer.
    pub const fn network(&self) -> Network {
        self.network
    }

    /// The transport layer.
    pub const fn transport(&self) -> Transport {
        self.transport
    }

    /// Offset of the network header in the frame.
    pub const fn l3_offset(&self) -> usize {
        self.vlan.header_len
    }

    /// Offset of the transport header (or of a fragment's payload) in the frame.
    pub const fn l4_offset(&self) -> usize {
        self.l4_offset
    }

    /// The network-layer packet: from its header to the end its length field states
    /// (Ethernet padding left out). For [`Network::Other`], the rest of the frame.
    pub fn l3(&self) -> &'a [u8] {
        &self.frame[self.vlan.header_len..self.l3_end]
    }

    /// The transport header and payload (or a fragment's payload), up to the end of the
    /// network-layer packet; empty for ARP and other EtherTypes.
    pub fn l4(&self) -> &'a [u8] {
        match self.network {
            Network::Ipv4 | Network::Ipv6 => &self.frame[self.l4_offset..self.l3_end],
            Network::Arp | Network::Other(_) => &[],
        }
    }

    /// The Ethernet header view.
    pub const fn ethernet(&self) -> EthernetFrame<&'a [u8]> {
        EthernetFrame::new_unchecked(self.frame)
    }

    /// The ARP packet, if this is one.
    pub fn arp(&self) -> Option<ArpPacket<&'a [u8]>> {
        (self.network == Network::Arp).then(|| ArpPacket::new_unchecked(self.l3()))
    }

    /// The IPv4 packet, if this is one.
    pub fn ipv4(&self) -> Option<ipv4::Packet<&'a [u8]>> {
        (self.network == Network::Ipv4).then(|| ipv4::Packet::new_unchecked(self.l3()))
    }

    /// The IPv6 packet, if this is one.
    pub fn ipv6(&self) -> Option<ipv6::Packet<&'a [u8]>> {
        (self.network == Network::Ipv6).then(|| ipv6::Packet::new_unchecked(self.l3()))
    }

    /// The UDP datagram, if this is one.
    pub fn udp(&self) -> Option<udp::Packet<&'a [u8]>> {
        (self.transport == Transport::Udp).then(|| udp::Packet::new_unchecked(self.l4()))
    }

    /// The TCP segment, if this is one.
    pub fn tcp(&self) -> Option<tcp::Packet<&'a [u8]>> {
        (self.transport == Transport::Tcp).then(|| tcp::Packet::new_unchecked(self.l4()))
    }

    /// The ICMPv4 message, if this is one.
    pub fn icmpv4(&self) -> Option<icmpv4::Packet<&'a [u8]>> {
        (self.transport == Transport::Icmpv4).then(|| icmpv4::Packet::new_unchecked(self.l4()))
    }

    /// The ICMPv6 message, if this is one.
    pub fn icmpv6(&self) -> Option<icmpv6::Packet<&'a [u8]>> {
        (self.transport == Transport::Icmpv6).then(|| icmpv6::Packet::new_unchecked(self.l4()))
    }

    /// The IP source and destination addresses.
    pub fn ip_pair(&self) -> Option<IpPair> {
        match self.network {
            Network::Ipv4 => {
                let packet = ipv4::Packet::new_unchecked(self.l3());
                Some(IpPair::v4(packet.src_addr(), packet.dst_addr()))
            }
            Network::Ipv6 => {
                let packet = ipv6::Packet::new_unchecked(self.l3());
                Some(IpPair::v6(packet.src_addr(), packet.dst_addr()))
            }
            Network::Arp | Network::Other(_) => None,
        }
    }

    /// The DSCP of an IP packet.
    pub fn dscp(&self) -> Option<u8> {
        match self.network {
            Network::Ipv4 => Some(ipv4::Packet::new_unchecked(self.l3()).dscp()),
            Network::Ipv6 => Some(ipv6::Packet::new_unchecked(self.l3()).dscp()),
            Network::Arp | Network::Other(_) => None,
        }
    }

    /// The UDP or TCP source and destination ports.
    pub fn ports(&self) -> Option<(u16, u16)> {
        match self.transport {
            Transport::Udp | Transport::Tcp => {
                let l4 = self.l4();
                Some((
                    u16::from_be_bytes([l4[0], l4[1]]),
                    u16::from_be_bytes([l4[2], l4[3]]),
                ))
            }
            _ => None,
        }
    }

    /// The flow a packet belongs to, for steering it to the worker that owns it (like
    /// RSS): addresses, protocol and ports (zero for packets without ports, fragments
    /// included, so that every fragment of a datagram goes the same way).
    pub fn flow(&self) -> Option<Flow> {
        let protocol = match self.transport {
            Transport::Udp => IpProtocol::Udp,
            Transport::Tcp => IpProtocol::Tcp,
            Transport::Icmpv4 => IpProtocol::Icmp,
            Transport::Icmpv6 => IpProtocol::Icmpv6,
            Transport::Fragment | Transport::None => IpProtocol::Unknown(0),
            Transport::Other(protocol) => protocol,
        };
        let (src_port, dst_port) = self.ports().unwrap_or((0, 0));
        let (src, dst) = match self.ip_pair()? {
            IpPair::V4 { src, dst } => (src.to_ipv6_mapped(), dst.to_ipv6_mapped()),
            IpPair::V6 { src, dst } => (src, dst),
        };
        Some(Flow {
            src,
            dst,
            protocol,
            src_port,
            dst_port,
        })
    }
}

/// The result of a [`FrameHeaders`] walk without the frame it was made from: what
/// the receive path keeps beside a buffer between stages. Two packed words (16
/// bytes), built in registers, as it moves with every packet from stage to stage.
///
/// Layout: `a` = EtherType | outer VID << 16 | inner VID << 32 | L3 offset << 48 |
/// PCP << 56; `b` = network code | transport code << 8 | protocol << 16 | L4 offset
/// << 24 | L3 end << 40. A missing VID is 0xffff, a missing PCP 0xff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLayout {
    a: u64,
    b: u64,
}

const NO_VID: u64 = 0xffff;
const NO_PCP: u64 = 0xff;

impl FrameLayout {
    /// A placeholder layout: an empty untyped frame (EtherType 0, no tags,
    /// network "other", no transport), for slots not filled yet.
    pub const EMPTY: FrameLayout = FrameLayout {
        a: NO_VID << 16 | NO_VID << 32 | NO_PCP << 56,
        b: 3,
    };

    fn pack(
        vlan: &VlanStack,
        network: Network,
        transport: Transport,
        l4_offset: usize,
        l3_end: usize,
    ) -> Option<FrameLayout> {
        if l3_end > 0xffff || l4_offset > 0xffff || vlan.header_len > 0xff {
            return None;
        }
        let a = u64::from(u16::from(vlan.ethertype))
            | vlan.outer_vid.map_or(NO_VID, u64::from) << 16
            | vlan.inner_vid.map_or(NO_VID, u64::from) << 32
            | (vlan.header_len as u64) << 48
            | vlan.pcp.map_or(NO_PCP, u64::from) << 56;
        let network_code: u64 = match network {
            Network::Arp => 0,
            Network::Ipv4 => 1,
            Network::Ipv6 => 2,
            Network::Other(_) => 3,
        };
        let (transport_code, protocol): (u64, u8) = match transport {
            Transport::None => (0, 0),
            Transport::Udp => (1, 0),
            Transport::Tcp => (2, 0),
            Transport::Icmpv4 => (3, 0),
            Transport::Icmpv6 => (4, 0),
            Transport::Fragment => (5, 0),
            Transport::Other(protocol) => (6, protocol.into()),
        };
        let b = network_code
            | transport_code << 8
            | u64::from(protocol) << 16
            | (l4_offset as u64) << 24
            | (l3_end as u64) << 40;
        Some(FrameLayout { a, b })
    }

    /// Walks `frame` as [`FrameHeaders::parse_checked`] does and keeps only the
    /// layout. `Ok(None)` for a frame longer than 64 KiB, which no device hands
    /// over.
    ///
    /// # Errors
    ///
    /// As [`FrameHeaders::parse_checked`].
    pub fn parse_checked(
        frame: &[u8],
        caps: &ChecksumCaps,
    ) -> Result<Option<FrameLayout>, FrameError> {
        let (vlan, network, transport, l4_offset, l3_end) = walk_parts(frame, Some(caps))?;
        Ok(Self::pack(&vlan, network, transport, l4_offset, l3_end))
    }

    /// The headers again, over the same frame bytes the walk accepted.
    ///
    /// # Panics
    ///
    /// If `frame` is shorter than the frame the layout was made from: the layout
    /// belongs to one buffer, whose bytes before `l3_end` must not have changed
    /// length.
    pub fn headers<'a>(&self, frame: &'a [u8]) -> FrameHeaders<'a> {
        assert!(frame.len() >= self.l3_end(), "layout of a longer frame");
        FrameHeaders {
            frame,
            vlan: self.vlan(),
            network: self.network(),
            transport: self.transport(),
            l4_offset: self.l4_offset(),
            l3_end: self.l3_end(),
        }
    }

    /// The type of the payload after the Ethernet header and its tags.
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(self.a as u16)
    }

    /// The network layer.
    pub fn network(&self) -> Network {
        match self.b & 0xff {
            0 => Network::Arp,
            1 => Network::Ipv4,
            2 => Network::Ipv6,
            _ => Network::Other(self.ethertype()),
        }
    }

    /// The transport layer.
    pub fn transport(&self) -> Transport {
        match (self.b >> 8) & 0xff {
            0 => Transport::None,
            1 => Transport::Udp,
            2 => Transport::Tcp,
            3 => Transport::Icmpv4,
            4 => Transport::Icmpv6,
            5 => Transport::Fragment,
            _ => Transport::Other(IpProtocol::from((self.b >> 16) as u8)),
        }
    }

    /// Offset of the network header.
    pub const fn l3_offset(&self) -> usize {
        ((self.a >> 48) & 0xff) as usize
    }

    /// Offset of the transport header.
    pub const fn l4_offset(&self) -> usize {
        ((self.b >> 24) & 0xffff) as usize
    }

    /// End of the network-layer packet.
    pub const fn l3_end(&self) -> usize {
        ((self.b >> 40) & 0xffff) as usize
    }

    /// The 802.1Q priority of the outermost tag, if the frame is tagged.
    pub const fn pcp(&self) -> Option<u8> {
        let pcp = self.a >> 56;
        if pcp == NO_PCP {
            None
        } else {
            Some(pcp as u8)
        }
    }

    /// The VID of the outermost tag, if the frame is tagged.
    pub const fn outer_vid(&self) -> Option<u16> {
        let vid = (self.a >> 16) & 0xffff;
        if vid == NO_VID {
            None
        } else {
            Some(vid as u16)
        }
    }

    /// The VLAN walk.
    pub fn vlan(&self) -> VlanStack {
        let inner = (self.a >> 32) & 0xffff;
        VlanStack {
            ethertype: self.ethertype(),
            header_len: self.l3_offset(),
            pcp: self.pcp(),
            outer_vid: self.outer_vid(),
            inner_vid: (inner != NO_VID).then_some(inner as u16),
        }
    }
}

/// A packet's 5-tuple (IPv4 addresses as IPv4-mapped IPv6 addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flow {
    /// Source address.
    pub src: Ipv6Addr,
    /// Destination address.
    pub dst: Ipv6Addr,
    /// Transport protocol (`Unknown(0)` for fragments and packets without one).
    pub protocol: IpProtocol,
    /// Source port, or 0.
    pub src_port: u16,
    /// Destination port, or 0.
    pub dst_port: u16,
}

impl Flow {
    /// A hash of the flow that is the same in both directions (the addresses and the
    /// ports are combined symmetrically), so that a worker owns both halves of a
    /// conversation, as a symmetric RSS key does.
    pub fn symmetric_hash(&self) -> u64 {
        let src = u128::from_be_bytes(self.src.octets());
        let dst = u128::from_be_bytes(self.dst.octets());
        let (low, high) = if src <= dst { (src, dst) } else { (dst, src) };
        let (port_low, port_high) = if (src, self.src_port) <= (dst, self.dst_port) {
            (self.src_port, self.dst_port)
        } else {
            (self.dst_port, self.src_port)
        };
        let protocol: u8 = self.protocol.into();
        let mut hash = mix(0x9e37_79b9_7f4a_7c15, low as u64);
        hash = mix(hash, (low >> 64) as u64);
        hash = mix(hash, high as u64);
        hash = mix(hash, (high >> 64) as u64);
        mix(
            hash,
            u64::from(protocol) << 32 | u64::from(port_low) << 16 | u64::from(port_high),
        )
    }
}

/// One round of a multiply-xorshift mix (from splitmix64's finaliser).
const fn mix(hash: u64, word: u64) -> u64 {
    let mut z = (hash ^ word).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z ^= z >> 31;
    z = z.wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 29)
}

/// The walk itself: the VLAN stack, the layers, the transport offset and the end of
/// the network-layer packet. Inlined into each entry point, so that the result is
/// built from registers (a struct filled in field by field in memory and read back
/// whole costs a store-forwarding stall per frame).
#[inline(always)]
fn walk_parts(
    frame: &[u8],
    caps: Option<&ChecksumCaps>,
) -> Result<(VlanStack, Network, Transport, usize, usize), FrameError> {
    if let Some(ip_len) = untagged_udp4(frame, caps) {
        let l3_end = ETHERNET_HEADER_LEN + ip_len;
        let vlan = VlanStack {
            ethertype: EtherType::Ipv4,
            header_len: ETHERNET_HEADER_LEN,
            pcp: None,
            outer_vid: None,
            inner_vid: None,
        };
        return Ok((
            vlan,
            Network::Ipv4,
            Transport::Udp,
            ETHERNET_HEADER_LEN + ipv4::HEADER_LEN,
            l3_end,
        ));
    }
    walk_general(frame, caps)
}

/// What the receive path's fast lane needs of an untagged Ethernet/IPv4/UDP
/// frame ([`untagged_ipv4_udp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Udp4Frame {
    /// The IPv4 source address, as a host-order value.
    pub src: u32,
    /// The IPv4 destination address, as a host-order value.
    pub dst: u32,
    /// The UDP destination port.
    pub dst_port: u16,
    /// The IP datagram's length (its total length field): the frame's bytes
    /// after it are link padding.
    pub ip_len: usize,
}

/// The common case, decided without the general walk: an untagged
/// Ethernet/IPv4 frame without options or fragmentation carrying UDP, every
/// length consistent and every checksum `caps` asks for good. `None` for
/// anything else — including anything wrong — which
/// [`FrameLayout::parse_checked`] then judges and names. Accepts exactly what
/// the general walk accepts as such a frame (a property test checks it).
/// The destination MAC address is not looked at.
#[inline(always)]
pub fn untagged_ipv4_udp(frame: &[u8], caps: &ChecksumCaps) -> Option<Udp4Frame> {
    const L3: usize = ETHERNET_HEADER_LEN;
    let ip_len = untagged_udp4(frame, Some(caps))?;
    let headers: &[u8; L3 + ipv4::HEADER_LEN + 4] =
        frame.get(..L3 + ipv4::HEADER_LEN + 4)?.try_into().ok()?;
    let word = |at: usize| {
        u32::from_be_bytes([
            headers[at],
            headers[at + 1],
            headers[at + 2],
            headers[at + 3],
        ])
    };
    Some(Udp4Frame {
        src: word(L3 + 12),
        dst: word(L3 + 16),
        dst_port: u16::from_be_bytes([headers[L3 + 22], headers[L3 + 23]]),
        ip_len,
    })
}

/// [`untagged_ipv4_udp`]'s decision, with checksums verified only with
/// `caps`: the IP datagram's length.
#[inline(always)]
fn untagged_udp4(frame: &[u8], caps: Option<&ChecksumCaps>) -> Option<usize> {
    const L3: usize = ETHERNET_HEADER_LEN;
    const L4: usize = L3 + ipv4::HEADER_LEN;
    let headers: &[u8; L4 + udp::HEADER_LEN] =
        frame.get(..L4 + udp::HEADER_LEN)?.try_into().ok()?;
    // EtherType IPv4, version 4 with IHL 5, protocol UDP, no MF flag and offset 0.
    if headers[12..14] != [0x08, 0x00] || headers[L3] != 0x45 || headers[L3 + 9] != 17 {
        return None;
    }
    if u16::from_be_bytes([headers[L3 + 6], headers[L3 + 7]]) & 0x3fff != 0 {
        return None;
    }
    let total_len = usize::from(u16::from_be_bytes([headers[L3 + 2], headers[L3 + 3]]));
    if total_len < ipv4::HEADER_LEN + udp::HEADER_LEN || L3 + total_len > frame.len() {
        return None;
    }
    let udp_len = usize::from(u16::from_be_bytes([headers[L4 + 4], headers[L4 + 5]]));
    if udp_len < udp::HEADER_LEN || udp_len > total_len - ipv4::HEADER_LEN {
        return None;
    }
    if let Some(caps) = caps {
        let ip_header: &[u8; ipv4::HEADER_LEN] = headers[L3..L4].try_into().ok()?;
        // A zero UDP checksum over IPv4: none was computed.
        let field = u16::from_be_bytes([headers[L4 + 6], headers[L4 + 7]]);
        let (header_ok, udp_ok) = crate::checksum::verify_ipv4_udp(
            ip_header,
            &frame[L4..L4 + udp_len],
            caps.ipv4.rx(),
            caps.udp.rx() && field != 0,
        );
        if !(header_ok && udp_ok) {
            return None;
        }
    }
    Some(total_len)
}

/// The general walk: any frame.
#[inline(always)]
fn walk_general(
    frame: &[u8],
    caps: Option<&ChecksumCaps>,
) -> Result<(VlanStack, Network, Transport, usize, usize), FrameError> {
    let vlan =
        VlanStack::parse(&EthernetFrame::new_unchecked(frame)).map_err(FrameError::Ethernet)?;
    let l3_offset = vlan.header_len;
    let l3 = &frame[l3_offset..];
    let (network, transport, l4_len, l3_len) = match vlan.ethertype {
        EtherType::Ipv4 => {
            let (transport, header_len, total_len) = walk_ipv4(l3, caps)?;
            (Network::Ipv4, transport, header_len, total_len)
        }
        EtherType::Ipv6 => {
            let (transport, header_len, total_len) = walk_ipv6(l3, caps)?;
            (Network::Ipv6, transport, header_len, total_len)
        }
        EtherType::Arp => {
            let packet = ArpPacket::new_checked(l3).map_err(FrameError::Arp)?;
            if caps.is_some() {
                ArpRepr::parse(&packet).map_err(FrameError::Arp)?;
            }
            (Network::Arp, Transport::None, 0, packet.header_len())
        }
        other => (Network::Other(other), Transport::None, 0, l3.len()),
    };
    Ok((
        vlan,
        network,
        transport,
        l3_offset + l4_len,
        l3_offset + l3_len,
    ))
}

/// Walks an IPv4 packet: its transport, its header length and its total length.
fn walk_ipv4(
    l3: &[u8],
    caps: Option<&ChecksumCaps>,
) -> Result<(Transport, usize, usize), FrameError> {
    let packet = ipv4::Packet::new_unchecked(l3);
    match caps {
        Some(caps) => packet.validate(caps),
        None => packet.check_len(),
    }
    .map_err(|error| FrameError::Ipv4(error.into()))?;
    let header_len = packet.header_len();
    let total_len = usize::from(packet.total_len());
    if packet.is_fragment() {
        return Ok((Transport::Fragment, header_len, total_len));
    }
    if packet.protocol() == IpProtocol::Udp {
        // The common case, without the general path's detour through
        // addresses and representations.
        let transport = udp_over_ipv4(&l3[..total_len], header_len, caps)?;
        return Ok((transport, header_len, total_len));
    }
    let pair = caps.map(|_| IpPair::v4(packet.src_addr(), packet.dst_addr()));
    let transport = walk_transport(&l3[header_len..total_len], packet.protocol(), pair, caps)?;
    Ok((transport, header_len, total_len))
}

/// Checks the UDP header of an IPv4 datagram (`datagram` ends at its total
/// length), and with `caps` its checksum: the same rules as [`udp::Repr::parse`]
/// (a zero checksum over IPv4 means none was computed).
#[inline(always)]
fn udp_over_ipv4(
    datagram: &[u8],
    header_len: usize,
    caps: Option<&ChecksumCaps>,
) -> Result<Transport, FrameError> {
    let l4 = &datagram[header_len..];
    if l4.len() < udp::HEADER_LEN {
        return Err(FrameError::Udp(Error::Truncated));
    }
    let len = usize::from(u16::from_be_bytes([l4[4], l4[5]]));
    if len < udp::HEADER_LEN || len > l4.len() {
        return Err(FrameError::Udp(Error::Length));
    }
    if let Some(caps) = caps {
        let field = u16::from_be_bytes([l4[6], l4[7]]);
        if caps.udp.rx() && field != 0 {
            // The pseudo-header: both addresses (bytes 12..20 of the IPv4
            // header), the protocol and the UDP length.
            let pseudo = crate::checksum::sum_header(&datagram[12..20]) + 17 + len as u32;
            let total = pseudo + crate::checksum::sum(&l4[..len]);
            if crate::checksum::fold(total) != 0xffff {
                return Err(FrameError::Udp(Error::Checksum));
            }
        }
    }
    Ok(Transport::Udp)
}

/// Walks an IPv6 packet and its extension headers: its transport, the offset of the
/// transport header and the packet's length.
fn walk_ipv6(
    l3: &[u8],
    caps: Option<&ChecksumCaps>,
) -> Result<(Transport, usize, usize), FrameError> {
    let packet = ipv6::Packet::new_checked(l3).map_err(FrameError::Ipv6)?;
    if caps.is_some() {
        packet.validate().map_err(FrameError::Ipv6)?;
    }
    let payload = packet.payload();
    let total_len = ipv6::HEADER_LEN + payload.len();
    let first = packet.next_header();
    let (upper, upper_offset) = if is_extension(first) {
        let chain =
            ipv6ext::walk(first, payload, &ChainLimits::DEFAULT).map_err(FrameError::Ipv6Chain)?;
        if let Some(fragment) = chain.fragment {
            if fragment.repr.frag_offset != 0 || fragment.repr.more_frags {
                let offset = ipv6::HEADER_LEN + chain.upper_offset;
                return Ok((Transport::Fragment, offset, total_len));
            }
        }
        (chain.upper, chain.upper_offset)
    } else {
        (first, 0)
    };
    let pair = caps.map(|_| IpPair::v6(packet.src_addr(), packet.dst_addr()));
    let transport = walk_transport(&payload[upper_offset..], upper, pair, caps)?;
    Ok((transport, ipv6::HEADER_LEN + upper_offset, total_len))
}

/// Checks the transport header at the start of `l4` (and its checksum, with `caps`).
#[inline(always)]
fn walk_transport(
    l4: &[u8],
    protocol: IpProtocol,
    pair: Option<IpPair>,
    caps: Option<&ChecksumCaps>,
) -> Result<Transport, FrameError> {
    Ok(match protocol {
        IpProtocol::Udp => {
            let packet = udp::Packet::new_checked(l4).map_err(FrameError::Udp)?;
            if let (Some(caps), Some(pair)) = (caps, pair) {
                udp::Repr::parse(&packet, &pair, caps).map_err(FrameError::Udp)?;
            }
            Transport::Udp
        }
        IpProtocol::Tcp => {
            let packet = tcp::Packet::new_checked(l4).map_err(FrameError::Tcp)?;
            if let (Some(caps), Some(pair)) = (caps, pair) {
                if caps.tcp.rx() && !packet.verify_checksum(&pair) {
                    return Err(FrameError::Tcp(Error::Checksum));
                }
            }
            Transport::Tcp
        }
        IpProtocol::Icmp => {
            let packet = icmpv4::Packet::new_checked(l4).map_err(FrameError::Icmpv4)?;
            if let Some(caps) = caps {
                if caps.icmpv4.rx() && !packet.verify_checksum() {
                    return Err(FrameError::Icmpv4(Error::Checksum));
                }
            }
            Transport::Icmpv4
        }
        IpProtocol::Icmpv6 => {
            let packet = icmpv6::Packet::new_checked(l4).map_err(FrameError::Icmpv6)?;
            if let (Some(caps), Some(IpPair::V6 { src, dst })) = (caps, pair) {
                if caps.icmpv6.rx() && !packet.verify_checksum(&src, &dst) {
                    return Err(FrameError::Icmpv6(Error::Checksum));
                }
            }
            Transport::Icmpv6
        }
        other => Transport::Other(other),
    })
}

const fn is_extension(protocol: IpProtocol) -> bool {
    matches!(
        protocol,
        IpProtocol::HopByHop | IpProtocol::Ipv6Opts | IpProtocol::Ipv6Route | IpProtocol::Ipv6Frag
    )
}

#[cfg(test)]
mod tests;
