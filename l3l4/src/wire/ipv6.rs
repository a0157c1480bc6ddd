//! IPv6 headers: RFC 8200 (the fixed header), RFC 4291 (addressing: link-local and
//! multicast scopes, solicited-node groups), RFC 2464 §7 (multicast to Ethernet
//! addresses), RFC 2474 and RFC 3168 (the traffic class as DSCP and ECN), RFC 6437 (the
//! flow label).
//!
//! [`Packet`] reads and writes the 40-byte fixed header; extension headers are walked by
//! [`super::ipv6ext`]. [`Repr`] is the parsed fixed header, for emitting. The address
//! helpers ([`solicited_node`], [`is_link_local`], [`multicast_scope`], …) are what
//! neighbour discovery and MLD need, written out here because the matching `Ipv6Addr`
//! methods are newer than this crate's minimum Rust.

use std::net::Ipv6Addr;

use super::{enum_with_unknown, read_u16, write_u16, Error, IpProtocol, Result};

mod field {
    use crate::wire::Field;

    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
}

/// Length of the fixed header.
pub const HEADER_LEN: usize = 40;
/// Longest payload the 16-bit payload length allows (jumbograms, RFC 2675, are not
/// supported).
pub const MAX_PAYLOAD_LEN: usize = 65_535;
/// The minimum link MTU of IPv6 (RFC 8200 §5): every link carries 1280-byte packets.
pub const MIN_MTU: usize = 1280;
/// The hop limit Linux uses for locally sent unicast packets.
pub const DEFAULT_HOP_LIMIT: u8 = 64;

/// The all-nodes link-local multicast group, ff02::1.
pub const LINK_LOCAL_ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// The all-routers link-local multicast group, ff02::2.
pub const LINK_LOCAL_ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// The all-MLDv2-capable-routers group, ff02::16, where MLDv2 reports go (RFC 3810 §5.2.14).
pub const LINK_LOCAL_ALL_MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);

enum_with_unknown! {
    /// The scope of a multicast address (RFC 4291 §2.7, RFC 7346).
    pub enum MulticastScope(u8) {
        /// Interface-local (1): loopback only.
        InterfaceLocal = 1,
        /// Link-local (2).
        LinkLocal = 2,
        /// Realm-local (3).
        RealmLocal = 3,
        /// Admin-local (4).
        AdminLocal = 4,
        /// Site-local (5).
        SiteLocal = 5,
        /// Organization-local (8).
        OrganizationLocal = 8,
        /// Global (14).
        Global = 14,
    }
}

/// The solicited-node multicast group of a unicast or anycast address: ff02::1:ff00:0/104
/// followed by the address's low 24 bits (RFC 4291 §2.7.1). Neighbour solicitations
/// for the address go there, so a node joins it for each of its addresses.
///
/// # Examples
///
/// ```
/// use std::net::Ipv6Addr;
/// use strata_l3l4::wire::ipv6::solicited_node;
/// let addr: Ipv6Addr = "fd00:9::ff:fe00:901".parse().unwrap();
/// assert_eq!(solicited_node(&addr), "ff02::1:ff00:901".parse::<Ipv6Addr>().unwrap());
/// ```
pub const fn solicited_node(addr: &Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | o[13] as u16,
        ((o[14] as u16) << 8) | o[15] as u16,
    )
}

/// Whether `addr` is a solicited-node multicast address (ff02::1:ff00:0/104).
pub const fn is_solicited_node(addr: &Ipv6Addr) -> bool {
    let s = addr.segments();
    s[0] == 0xff02
        && s[1] == 0
        && s[2] == 0
        && s[3] == 0
        && s[4] == 0
        && s[5] == 1
        && s[6] >> 8 == 0xff
}

/// Whether `addr` is a link-local unicast address (fe80::/10).
pub const fn is_link_local(addr: &Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// The scope of a multicast address, or `None` for a unicast one.
pub const fn multicast_scope(addr: &Ipv6Addr) -> Option<MulticastScope> {
    let o = addr.octets();
    if o[0] != 0xff {
        return None;
    }
    Some(match o[1] & 0x0f {
        1 => MulticastScope::InterfaceLocal,
        2 => MulticastScope::LinkLocal,
        3 => MulticastScope::RealmLocal,
        4 => MulticastScope::AdminLocal,
        5 => MulticastScope::SiteLocal,
        8 => MulticastScope::OrganizationLocal,
        14 => MulticastScope::Global,
        other => MulticastScope::Unknown(other),
    })
}

/// The Ethernet address a multicast IPv6 address maps to: 33:33 and the address's low
/// 32 bits (RFC 2464 §7).
pub const fn multicast_mac(addr: &Ipv6Addr) -> [u8; 6] {
    let o = addr.octets();
    [0x33, 0x33, o[12], o[13], o[14], o[15]]
}

/// A read/write view of an IPv6 fixed header and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than 40 bytes, or than the header
    /// and the payload length it announces. Use [`Packet::new_checked`] on bytes from
    /// the wire.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    ///
    /// # Errors
    ///
    /// As [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that every accessor can be called without panicking: the buffer holds a
    /// version-6 header and the payload length it announces (bytes past it, such as
    /// Ethernet padding, are ignored).
    ///
    /// # Errors
    ///
    /// In this order: [`Error::Truncated`] for fewer than 40 bytes, [`Error::Version`],
    /// [`Error::Length`] for a payload length past the buffer.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if data[0] >> 4 != 6 {
            return Err(Error::Version);
        }
        if HEADER_LEN + usize::from(read_u16(data, field::LENGTH.start)) > data.len() {
            return Err(Error::Length);
        }
        Ok(())
    }

    /// The receive-path check of the fixed header: [`Packet::check_len`], then the
    /// source address, which may not be multicast (RFC 4291 §2.7).
    ///
    /// # Errors
    ///
    /// Those of [`Packet::check_len`], and [`Error::Malformed`] for a multicast source.
    pub fn validate(&self) -> Result<()> {
        self.check_len()?;
        if self.src_addr().is_multicast() {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn ver_tc_flow(&self) -> u32 {
        let d = self.buffer.as_ref();
        u32::from_be_bytes([d[0], d[1], d[2], d[3]])
    }

    /// The version field (6 for a checked packet).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    /// The traffic class: DSCP in the high six bits, ECN in the low two.
    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    /// The Differentiated Services code point (RFC 2474), 0 to 63.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    /// The Explicit Congestion Notification bits (RFC 3168), 0 to 3.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    /// The 20-bit flow label (RFC 6437).
    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    /// The payload length field: extension headers and upper-layer data, in bytes.
    #[inline]
    pub fn payload_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The next header: the first extension header or the upper-layer protocol.
    #[inline]
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    /// The hop limit.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&self.buffer.as_ref()[field::SRC_ADDR]);
        Ipv6Addr::from(octets)
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&self.buffer.as_ref()[field::DST_ADDR]);
        Ipv6Addr::from(octets)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The payload: from the end of the fixed header to the payload length.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        &data[HEADER_LEN..HEADER_LEN + usize::from(self.payload_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn set_ver_tc_flow(&mut self, value: u32) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&value.to_be_bytes());
    }

    /// Sets the version field.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let raw = self.ver_tc_flow() & 0x0fff_ffff;
        self.set_ver_tc_flow(raw | (u32::from(version) << 28));
    }

    /// Sets the traffic class.
    #[inline]
    pub fn set_traffic_class(&mut self, tc: u8) {
        let raw = self.ver_tc_flow() & 0xf00f_ffff;
        self.set_ver_tc_flow(raw | (u32::from(tc) << 20));
    }

    /// Sets the flow label (its low 20 bits).
    #[inline]
    pub fn set_flow_label(&mut self, label: u32) {
        let raw = self.ver_tc_flow() & 0xfff0_0000;
        self.set_ver_tc_flow(raw | (label & 0x000f_ffff));
    }

    /// Sets the payload length.
    #[inline]
    pub fn set_payload_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets the next header.
    #[inline]
    pub fn set_next_header(&mut self, next_header: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = u8::from(next_header);
    }

    /// Sets the hop limit.
    #[inline]
    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = hop_limit;
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// The payload, mutable: from the end of the fixed header to the payload length.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + usize::from(self.payload_len());
        &mut self.buffer.as_mut()[HEADER_LEN..end]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed form of an IPv6 fixed header.
///
/// # Examples
///
/// ```
/// use strata_l3l4::{IpProtocol, Ipv6Packet, Ipv6Repr};
///
/// let repr = Ipv6Repr {
///     src_addr: "fd00:9::1".parse().unwrap(),
///     dst_addr: "fd00:9::2".parse().unwrap(),
///     next_header: IpProtocol::Udp,
///     payload_len: 8,
///     hop_limit: 64,
///     traffic_class: 0,
///     flow_label: 0x4b5b0,
/// };
/// let mut buf = vec![0u8; repr.buffer_len()];
/// repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]))?;
/// let packet = Ipv6Packet::new_checked(&buf[..])?;
/// assert_eq!(Ipv6Repr::parse(&packet)?, repr);
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv6Addr,
    /// Destination address.
    pub dst_addr: Ipv6Addr,
    /// The first extension header or the upper-layer protocol.
    pub next_header: IpProtocol,
    /// Payload length in bytes (extension headers included).
    pub payload_len: usize,
    /// Hop limit.
    pub hop_limit: u8,
    /// Traffic class (DSCP and ECN).
    pub traffic_class: u8,
    /// Flow label, 20 bits.
    pub flow_label: u32,
}

impl Repr {
    /// Validates a packet ([`Packet::validate`]) and returns its parsed form.
    ///
    /// # Errors
    ///
    /// Those of [`Packet::validate`].
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        packet.validate()?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Length of the header [`Repr::emit`] writes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Length of the whole packet: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload_len)
    }

    /// Writes the fixed header into the start of `packet`'s buffer; the payload is not
    /// touched.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 40 bytes, [`Error::Length`] if
    /// the payload exceeds [`MAX_PAYLOAD_LEN`], [`Error::Malformed`] if the flow label
    /// does not fit 20 bits.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) -> Result<()> {
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.payload_len > MAX_PAYLOAD_LEN {
            return Err(Error::Length);
        }
        if self.flow_label > 0x000f_ffff {
            return Err(Error::Malformed);
        }
        packet.set_ver_tc_flow((6 << 28) | (u32::from(self.traffic_class) << 20) | self.flow_label);
        packet.set_payload_len(self.payload_len as u16);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frames::UDP_V6_FRAME;
    use crate::wire::frames_v6::*;
    use proptest::prelude::*;

    fn addr(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    fn udp_repr() -> Repr {
        Repr {
            src_addr: addr("fd00:9::1"),
            dst_addr: addr("fd00:9::2"),
            next_header: IpProtocol::Udp,
            payload_len: 23,
            hop_limit: 64,
            traffic_class: 0,
            flow_label: 0x4b5b0,
        }
    }

    #[test]
    fn deconstruct() {
        let packet = Packet::new_checked(&UDP_V6_FRAME[..]).unwrap();
        assert_eq!(packet.version(), 6);
        assert_eq!(
            (packet.traffic_class(), packet.dscp(), packet.ecn()),
            (0, 0, 0)
        );
        assert_eq!(packet.flow_label(), 0x4b5b0);
        assert_eq!(packet.payload_len(), 23);
        assert_eq!(packet.next_header(), IpProtocol::Udp);
        assert_eq!(packet.hop_limit(), 64);
        assert_eq!(packet.src_addr(), addr("fd00:9::1"));
        assert_eq!(packet.dst_addr(), addr("fd00:9::2"));
        assert_eq!(packet.payload(), &UDP_V6_FRAME[40..]);
        assert_eq!(packet.validate(), Ok(()));
        // An MLD report: hop-by-hop first, hop limit 1, from the unspecified address.
        let mld = Packet::new_checked(&MLD_REPORT_ROUTER[..]).unwrap();
        assert_eq!(mld.next_header(), IpProtocol::HopByHop);
        assert_eq!(mld.hop_limit(), 1);
        assert!(mld.src_addr().is_unspecified());
        assert_eq!(mld.dst_addr(), LINK_LOCAL_ALL_MLDV2_ROUTERS);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 63];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_version(6);
        packet.set_traffic_class(0);
        packet.set_flow_label(0x4b5b0);
        packet.set_payload_len(23);
        packet.set_next_header(IpProtocol::Udp);
        packet.set_hop_limit(64);
        packet.set_src_addr(addr("fd00:9::1"));
        packet.set_dst_addr(addr("fd00:9::2"));
        packet.payload_mut().copy_from_slice(&UDP_V6_FRAME[40..]);
        assert_eq!(bytes, UDP_V6_FRAME);
        // Setting the traffic class leaves version and flow label alone.
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_traffic_class(0xb9);
        assert_eq!((packet.dscp(), packet.ecn(), packet.version()), (46, 1, 6));
        assert_eq!(packet.flow_label(), 0x4b5b0);
    }

    #[test]
    fn parse_and_emit() {
        let packet = Packet::new_checked(&UDP_V6_FRAME[..]).unwrap();
        let repr = Repr::parse(&packet).unwrap();
        assert_eq!(repr, udp_repr());
        assert_eq!(repr.buffer_len(), UDP_V6_FRAME.len());
        let mut bytes = UDP_V6_FRAME;
        bytes[..40].fill(0xff);
        repr.emit(&mut Packet::new_unchecked(&mut bytes[..]))
            .unwrap();
        assert_eq!(bytes, UDP_V6_FRAME);
        // Every captured frame parses and re-emits to its own header.
        let frames: [&[u8]; 5] = [&ECHO_REQUEST_V6, &RA, &DAD_NS, &HBH_UDP, &PORT_UNREACH_V6];
        for frame in frames {
            let repr = Repr::parse(&Packet::new_checked(frame).unwrap()).unwrap();
            let mut out = [0u8; 40];
            repr.emit(&mut Packet::new_unchecked(&mut out[..])).unwrap();
            assert_eq!(out, frame[..40]);
        }
    }

    #[test]
    fn rejects() {
        let check = |bytes: &[u8]| Packet::new_checked(bytes).err();
        assert_eq!(check(&[]), Some(Error::Truncated));
        assert_eq!(check(&UDP_V6_FRAME[..39]), Some(Error::Truncated));
        assert_eq!(check(&UDP_V6_FRAME[..62]), Some(Error::Length));
        let mut bytes = UDP_V6_FRAME;
        bytes[0] = 0x45;
        assert_eq!(check(&bytes), Some(Error::Version));
        // Ethernet padding past the payload length is ignored.
        let mut padded = UDP_V6_FRAME.to_vec();
        padded.extend_from_slice(&[0; 5]);
        let packet = Packet::new_checked(&padded[..]).unwrap();
        assert_eq!(packet.payload(), &UDP_V6_FRAME[40..]);
        // A multicast source is refused.
        let mut bytes = UDP_V6_FRAME;
        bytes[8] = 0xff;
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Err(Error::Malformed));
        // Emit errors.
        let mut short = [0u8; 39];
        let repr = udp_repr();
        assert_eq!(
            repr.emit(&mut Packet::new_unchecked(&mut short[..])),
            Err(Error::Truncated)
        );
        let mut buf = [0u8; 40];
        let big = Repr {
            payload_len: 65_536,
            ..repr
        };
        assert_eq!(
            big.emit(&mut Packet::new_unchecked(&mut buf[..])),
            Err(Error::Length)
        );
        let label = Repr {
            flow_label: 1 << 20,
            ..repr
        };
        assert_eq!(
            label.emit(&mut Packet::new_unchecked(&mut buf[..])),
            Err(Error::Malformed)
        );
        let huge = Repr {
            payload_len: usize::MAX,
            ..repr
        };
        assert_eq!(huge.buffer_len(), usize::MAX);
    }

    #[test]
    fn address_helpers() {
        // The groups the captured DAD and NS frames were sent to.
        assert_eq!(solicited_node(&addr("fd00:9::1")), addr("ff02::1:ff00:1"));
        assert_eq!(
            solicited_node(&addr("fe80::ff:fe00:902")),
            addr("ff02::1:ff00:902")
        );
        assert_eq!(
            solicited_node(&addr("2001:db8::abcd:1234:5678")),
            addr("ff02::1:ff34:5678")
        );
        assert!(is_solicited_node(&addr("ff02::1:ff00:1")));
        assert!(!is_solicited_node(&addr("ff02::1")));
        assert!(!is_solicited_node(&addr("ff02::2:ff00:1")));
        assert!(is_link_local(&addr("fe80::1")));
        assert!(is_link_local(&addr("febf::1")));
        assert!(!is_link_local(&addr("fec0::1")));
        assert!(!is_link_local(&addr("fd00:9::1")));
        assert_eq!(multicast_scope(&addr("fd00:9::1")), None);
        assert_eq!(
            multicast_scope(&LINK_LOCAL_ALL_NODES),
            Some(MulticastScope::LinkLocal)
        );
        assert_eq!(
            multicast_scope(&addr("ff05::2")),
            Some(MulticastScope::SiteLocal)
        );
        assert_eq!(
            multicast_scope(&addr("ff1e::1")),
            Some(MulticastScope::Global)
        );
        assert_eq!(
            multicast_scope(&addr("ff07::1")),
            Some(MulticastScope::Unknown(7))
        );
        assert_eq!(
            multicast_mac(&addr("ff02::1:ff00:901")),
            [0x33, 0x33, 0xff, 0x00, 0x09, 0x01]
        );
        for n in 0..=u8::MAX {
            assert_eq!(u8::from(MulticastScope::from(n)), n);
        }
    }

    fn arb_repr() -> impl Strategy<Value = Repr> {
        (
            any::<[u8; 16]>(),
            any::<[u8; 16]>(),
            any::<u8>(),
            0..=MAX_PAYLOAD_LEN,
            any::<u8>(),
            any::<u8>(),
            0..=0x000f_ffffu32,
        )
            .prop_map(|(src, dst, nh, payload_len, hop_limit, tc, flow_label)| {
                let mut src = src;
                if src[0] == 0xff {
                    src[0] = 0xfe;
                }
                Repr {
                    src_addr: Ipv6Addr::from(src),
                    dst_addr: Ipv6Addr::from(dst),
                    next_header: IpProtocol::from(nh),
                    payload_len,
                    hop_limit,
                    traffic_class: tc,
                    flow_label,
                }
            })
    }

    proptest! {
        #[test]
        fn round_trip(repr in arb_repr()) {
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..])).unwrap();
            let packet = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&packet), Ok(repr));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]));
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.payload(), packet.flow_label(), packet.dst_addr());
            }
        }

        #[test]
        fn emit_never_panics(repr in arb_repr(), payload_len in any::<usize>(), len in 0..60usize) {
            let repr = Repr { payload_len, ..repr };
            let mut buf = vec![0u8; len];
            let _ = repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
        }

        #[test]
        fn agrees_with_etherparse(mut bytes in proptest::collection::vec(any::<u8>(), 40..80)) {
            bytes[0] = 0x60 | (bytes[0] & 0x0f);
            let len = (bytes.len() - 40) as u16;
            bytes[4..6].copy_from_slice(&len.to_be_bytes());
            let ours = Packet::new_checked(&bytes[..]).unwrap();
            let theirs = etherparse::Ipv6HeaderSlice::from_slice(&bytes).unwrap();
            prop_assert_eq!(ours.traffic_class(), theirs.traffic_class());
            prop_assert_eq!(ours.flow_label(), theirs.flow_label().value());
            prop_assert_eq!(ours.payload_len(), theirs.payload_length());
            prop_assert_eq!(u8::from(ours.next_header()), theirs.next_header().0);
            prop_assert_eq!(ours.hop_limit(), theirs.hop_limit());
            prop_assert_eq!(ours.src_addr(), theirs.source_addr());
            prop_assert_eq!(ours.dst_addr(), theirs.destination_addr());
        }
    }
}
