//! Ethernet II frames and MAC addresses.
//!
//! Standards: IEEE 802.3-2022 clause 3 (MAC frame format: destination,
//! source, length/type; values of 0x0600 and above are a type), IEEE 802-2014
//! clause 8 (MAC addresses: the individual/group bit and the
//! universal/local bit of the first octet), and the IEEE EtherType registry
//! for the type values named in [`EtherType`].
//!
//! ```text
//!  0                   6                  12        14
//! +-------------------+-------------------+---------+---------------
//! | destination (6)   | source (6)        | type(2) | payload ...
//! +-------------------+-------------------+---------+---------------
//! ```
//!
//! The frame check sequence is not part of the view: devices strip it on
//! receive and add it on transmit. Short frames padded to the 60-byte minimum
//! are accepted; the padding is part of the payload and the layer above
//! trims it by its own length field.

use core::fmt;
use core::str::FromStr;

use super::{get_array, get_u16, set_u16, Error, Field, Rest, Result};

/// A six-octet IEEE 802 MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// The all-zero address, used where an address is not known yet (the
    /// target hardware address of an ARP request).
    pub const UNSPECIFIED: EthernetAddress = EthernetAddress([0; 6]);

    /// Builds an address from its six octets.
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) -> EthernetAddress {
        EthernetAddress([a, b, c, d, e, f])
    }

    /// Builds an address from a slice, or `None` unless it holds exactly six
    /// octets.
    pub fn from_bytes(data: &[u8]) -> Option<EthernetAddress> {
        <[u8; 6]>::try_from(data).ok().map(EthernetAddress)
    }

    /// The six octets of the address.
    pub const fn as_bytes(&self) -> &[u8; 6] {
        &self.0
    }

    /// Whether this is the broadcast address `ff:ff:ff:ff:ff:ff`.
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Whether the individual/group bit is set: a group address, including
    /// broadcast.
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Whether this is an individual address (the individual/group bit is
    /// clear).
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Whether the universal/local bit is set: a locally administered
    /// address (as on veth, TAP and most virtual devices).
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }

    /// Whether this is the all-zero address.
    pub fn is_unspecified(&self) -> bool {
        *self == Self::UNSPECIFIED
    }
}

impl From<[u8; 6]> for EthernetAddress {
    fn from(octets: [u8; 6]) -> Self {
        EthernetAddress(octets)
    }
}

impl From<EthernetAddress> for [u8; 6] {
    fn from(addr: EthernetAddress) -> Self {
        addr.0
    }
}

impl fmt::Display for EthernetAddress {
    /// Formats as six lower-case hex pairs separated by colons.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// Why a string is not a MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressParseError {
    /// Not 17 characters long (six pairs of hex digits and five separators).
    Length,
    /// A character that should be a hex digit is not one.
    Digit,
    /// A separator is neither `:` nor `-`, or the separators are mixed.
    Separator,
}

impl fmt::Display for AddressParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AddressParseError::Length => {
                "MAC address must be six hex pairs separated by ':' or '-'"
            }
            AddressParseError::Digit => "MAC address has a character that is not a hex digit",
            AddressParseError::Separator => "MAC address separators must all be ':' or all '-'",
        })
    }
}

impl std::error::Error for AddressParseError {}

impl FromStr for EthernetAddress {
    type Err = AddressParseError;

    /// Parses `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`, either case.
    ///
    /// # Errors
    ///
    /// [`AddressParseError`] says whether the length, a digit or a
    /// separator is wrong.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        fn hex(c: u8) -> core::result::Result<u8, AddressParseError> {
            match c {
                b'0'..=b'9' => Ok(c - b'0'),
                b'a'..=b'f' => Ok(c - b'a' + 10),
                b'A'..=b'F' => Ok(c - b'A' + 10),
                _ => Err(AddressParseError::Digit),
            }
        }
        let bytes: &[u8; 17] = s
            .as_bytes()
            .try_into()
            .map_err(|_| AddressParseError::Length)?;
        let sep = bytes[2];
        if sep != b':' && sep != b'-' {
            return Err(AddressParseError::Separator);
        }
        let mut octets = [0u8; 6];
        for (i, octet) in octets.iter_mut().enumerate() {
            let at = i * 3;
            *octet = (hex(bytes[at])? << 4) | hex(bytes[at + 1])?;
            if i < 5 && bytes[at + 2] != sep {
                return Err(AddressParseError::Separator);
            }
        }
        Ok(EthernetAddress(octets))
    }
}

/// The type field of an Ethernet II frame or of a VLAN tag.
///
/// Values below 0x0600 are 802.3 length fields, not types; they come out as
/// [`EtherType::Unknown`] and [`EthernetRepr::parse`] rejects them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EtherType {
    /// Internet Protocol version 4, 0x0800.
    Ipv4,
    /// Address Resolution Protocol, 0x0806.
    Arp,
    /// Internet Protocol version 6, 0x86DD.
    Ipv6,
    /// IEEE 802.1Q customer VLAN tag (C-tag), 0x8100.
    Vlan,
    /// IEEE 802.1ad service VLAN tag (S-tag, "QinQ"), 0x88A8.
    QinQ,
    /// Any other value, kept as read.
    Unknown(u16),
}

impl EtherType {
    /// The smallest value that is a type rather than an 802.3 length.
    pub const MIN_TYPE: u16 = 0x0600;

    /// Whether this value announces a VLAN tag (802.1Q or 802.1ad).
    pub const fn is_vlan(&self) -> bool {
        matches!(self, EtherType::Vlan | EtherType::QinQ)
    }

    /// Whether the raw value is an 802.3 length field (below 0x0600) rather
    /// than a type.
    pub fn is_length(&self) -> bool {
        u16::from(*self) < Self::MIN_TYPE
    }
}

impl From<u16> for EtherType {
    fn from(value: u16) -> Self {
        match value {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86DD => EtherType::Ipv6,
            0x8100 => EtherType::Vlan,
            0x88A8 => EtherType::QinQ,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(value: EtherType) -> Self {
        match value {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86DD,
            EtherType::Vlan => 0x8100,
            EtherType::QinQ => 0x88A8,
            EtherType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EtherType::Ipv4 => f.write_str("IPv4"),
            EtherType::Arp => f.write_str("ARP"),
            EtherType::Ipv6 => f.write_str("IPv6"),
            EtherType::Vlan => f.write_str("802.1Q"),
            EtherType::QinQ => f.write_str("802.1ad"),
            EtherType::Unknown(other) => write!(f, "0x{other:04x}"),
        }
    }
}

mod field {
    use super::{Field, Rest};

    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: Rest = 14..;
}

/// Length of the Ethernet II header: two addresses and the type.
pub const ETHERNET_HEADER_LEN: usize = field::PAYLOAD.start;

/// A read/write view of an Ethernet II frame over a byte buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking its length.
    ///
    /// # Panics
    ///
    /// The getters and setters of a view made this way panic if the buffer
    /// is shorter than [`ETHERNET_HEADER_LEN`]; use
    /// [`new_checked`](Self::new_checked) for bytes from the outside.
    pub const fn new_unchecked(buffer: T) -> EthernetFrame<T> {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer after checking that it holds a whole header.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 14 bytes.
    pub fn new_checked(buffer: T) -> Result<EthernetFrame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// Checks that the buffer holds a whole header; after this no getter
    /// panics.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 14 bytes.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < ETHERNET_HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the header: always [`ETHERNET_HEADER_LEN`].
    pub const fn header_len() -> usize {
        ETHERNET_HEADER_LEN
    }

    /// Length of a frame carrying `payload_len` bytes.
    pub const fn buffer_len(payload_len: usize) -> usize {
        ETHERNET_HEADER_LEN + payload_len
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress(get_array(self.buffer.as_ref(), field::DESTINATION))
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress(get_array(self.buffer.as_ref(), field::SOURCE))
    }

    /// The type field.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType::from(get_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> EthernetFrame<&'a T> {
    /// The bytes after the header, borrowed from the underlying buffer (so the
    /// view can be dropped while the payload is still read).
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the type field.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        set_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.into());
    }

    /// The bytes after the header, writable.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for EthernetFrame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed header of an Ethernet II frame.
///
/// # Examples
///
/// ```
/// use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
///
/// let repr = EthernetRepr {
///     src_addr: EthernetAddress::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01),
///     dst_addr: EthernetAddress::BROADCAST,
///     ethertype: EtherType::Arp,
/// };
/// let mut bytes = [0u8; 14 + 28];
/// let mut frame = EthernetFrame::new_unchecked(&mut bytes[..]);
/// repr.emit(&mut frame);
///
/// let frame = EthernetFrame::new_checked(&bytes[..])?;
/// assert_eq!(EthernetRepr::parse(&frame)?, repr);
/// assert_eq!(frame.payload().len(), 28);
/// # Ok::<(), strata_l2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EthernetRepr {
    /// The sender's address.
    pub src_addr: EthernetAddress,
    /// The receiver's address (individual, group or broadcast).
    pub dst_addr: EthernetAddress,
    /// What the payload is.
    pub ethertype: EtherType,
}

impl EthernetRepr {
    /// Reads the header of a frame.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 14 bytes;
    /// [`Error::Unsupported`] if the type field is an 802.3 length (below
    /// 0x0600), i.e. the frame is not Ethernet II but 802.3 with LLC.
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<EthernetRepr> {
        frame.check_len()?;
        let ethertype = frame.ethertype();
        if ethertype.is_length() {
            return Err(Error::Unsupported);
        }
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype,
        })
    }

    /// Length of the header [`emit`](Self::emit) writes: 14.
    pub const fn buffer_len(&self) -> usize {
        ETHERNET_HEADER_LEN
    }

    /// Writes the header into the first 14 bytes of `frame`, leaving the
    /// payload alone.
    ///
    /// # Panics
    ///
    /// If the frame's buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_dst_addr(self.dst_addr);
        frame.set_src_addr(self.src_addr);
        frame.set_ethertype(self.ethertype);
    }
}

impl fmt::Display for EthernetRepr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "EthernetII src={} dst={} type={}",
            self.src_addr, self.dst_addr, self.ethertype
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::strategies::{any_address, any_ethertype};
    use super::*;
    use proptest::prelude::*;

    // Captured on a veth pair: Linux 6.18 resolving 10.0.0.2 from 10.0.0.1
    // (an ARP request, 42 bytes: veth does not pad to 60).
    const ARP_REQUEST: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x0a, 0x00,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
    ];

    // Captured on the same pair: a UDP datagram "strata" to port 9.
    const IPV4_UDP: [u8; 48] = [
        0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x22, 0x22, 0x80, 0x40, 0x00, 0x40, 0x11, 0x04, 0x49, 0x0a, 0x00, 0x00, 0x01,
        0x0a, 0x00, 0x00, 0x02, 0xb3, 0xc8, 0x00, 0x09, 0x00, 0x0e, 0x14, 0x22, 0x73, 0x74, 0x72,
        0x61, 0x74, 0x61,
    ];

    // Captured on the same pair: the first bytes of an MLDv2 report, sent by
    // the kernel to 33:33:00:00:00:16 (IPv6 multicast, RFC 2464 mapping).
    const IPV6_MLD_HEAD: [u8; 22] = [
        0x33, 0x33, 0x00, 0x00, 0x00, 0x16, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x86, 0xdd, 0x60,
        0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x01,
    ];

    const HOST_A: EthernetAddress = EthernetAddress::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01);
    const HOST_B: EthernetAddress = EthernetAddress::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x02);

    #[test]
    fn deconstruct() {
        let frame = EthernetFrame::new_checked(&ARP_REQUEST[..]).unwrap();
        assert_eq!(frame.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(frame.src_addr(), HOST_A);
        assert_eq!(frame.ethertype(), EtherType::Arp);
        assert_eq!(frame.payload(), &ARP_REQUEST[14..]);

        let frame = EthernetFrame::new_checked(&IPV4_UDP[..]).unwrap();
        assert_eq!(frame.dst_addr(), HOST_B);
        assert_eq!(frame.src_addr(), HOST_A);
        assert_eq!(frame.ethertype(), EtherType::Ipv4);
        assert_eq!(frame.payload()[0], 0x45);

        let frame = EthernetFrame::new_checked(&IPV6_MLD_HEAD[..]).unwrap();
        assert!(frame.dst_addr().is_multicast());
        assert!(!frame.dst_addr().is_broadcast());
        assert_eq!(frame.ethertype(), EtherType::Ipv6);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 48];
        let mut frame = EthernetFrame::new_unchecked(&mut bytes[..]);
        frame.set_dst_addr(HOST_B);
        frame.set_src_addr(HOST_A);
        frame.set_ethertype(EtherType::Ipv4);
        frame.payload_mut().copy_from_slice(&IPV4_UDP[14..]);
        assert_eq!(bytes, IPV4_UDP);
    }

    #[test]
    fn parse() {
        let frame = EthernetFrame::new_checked(&ARP_REQUEST[..]).unwrap();
        let repr = EthernetRepr::parse(&frame).unwrap();
        assert_eq!(
            repr,
            EthernetRepr {
                src_addr: HOST_A,
                dst_addr: EthernetAddress::BROADCAST,
                ethertype: EtherType::Arp,
            }
        );
        assert_eq!(
            repr.to_string(),
            "EthernetII src=02:00:5e:10:00:01 dst=ff:ff:ff:ff:ff:ff type=ARP"
        );
    }

    #[test]
    fn emit() {
        let repr = EthernetRepr {
            src_addr: HOST_A,
            dst_addr: EthernetAddress::BROADCAST,
            ethertype: EtherType::Arp,
        };
        let mut bytes = ARP_REQUEST;
        bytes[..14].fill(0);
        repr.emit(&mut EthernetFrame::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, ARP_REQUEST);
        assert_eq!(repr.buffer_len(), 14);
    }

    #[test]
    fn too_short() {
        for len in 0..ETHERNET_HEADER_LEN {
            assert_eq!(
                EthernetFrame::new_checked(&IPV4_UDP[..len]),
                Err(Error::Truncated)
            );
            let frame = EthernetFrame::new_unchecked(&IPV4_UDP[..len]);
            assert_eq!(EthernetRepr::parse(&frame), Err(Error::Truncated));
        }
        // Exactly a header, no payload: fine.
        let frame = EthernetFrame::new_checked(&IPV4_UDP[..14]).unwrap();
        assert!(frame.payload().is_empty());
    }

    #[test]
    fn length_field_is_unsupported() {
        // An 802.3 frame with LLC (spanning tree BPDU to 01:80:c2:00:00:00).
        let mut bytes = [0u8; 60];
        bytes[..6].copy_from_slice(&[0x01, 0x80, 0xc2, 0x00, 0x00, 0x00]);
        bytes[12..17].copy_from_slice(&[0x00, 0x27, 0x42, 0x42, 0x03]);
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        assert_eq!(frame.ethertype(), EtherType::Unknown(0x0027));
        assert!(frame.ethertype().is_length());
        assert_eq!(EthernetRepr::parse(&frame), Err(Error::Unsupported));
        // 0x0600 itself is a type (XNS IDP).
        bytes[12..14].copy_from_slice(&[0x06, 0x00]);
        let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
        assert!(EthernetRepr::parse(&frame).is_ok());
    }

    #[test]
    fn address_classes() {
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert!(EthernetAddress::BROADCAST.is_multicast());
        assert!(!EthernetAddress::BROADCAST.is_unicast());
        let mdns = EthernetAddress::new(0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb);
        assert!(mdns.is_multicast() && !mdns.is_broadcast() && !mdns.is_local());
        assert!(HOST_A.is_unicast() && HOST_A.is_local());
        let universal = EthernetAddress::new(0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x50);
        assert!(universal.is_unicast() && !universal.is_local());
        assert!(EthernetAddress::UNSPECIFIED.is_unspecified());
        assert!(!HOST_A.is_unspecified());
        assert_eq!(
            EthernetAddress::from_bytes(&ARP_REQUEST[6..12]),
            Some(HOST_A)
        );
        assert_eq!(EthernetAddress::from_bytes(&ARP_REQUEST[6..11]), None);
        assert_eq!(<[u8; 6]>::from(HOST_A), *HOST_A.as_bytes());
    }

    #[test]
    fn address_text() {
        assert_eq!(HOST_A.to_string(), "02:00:5e:10:00:01");
        assert_eq!("02:00:5e:10:00:01".parse(), Ok(HOST_A));
        assert_eq!("02-00-5E-10-00-01".parse(), Ok(HOST_A));
        assert_eq!("FF:ff:FF:ff:FF:ff".parse(), Ok(EthernetAddress::BROADCAST));
        let err = |s: &str| s.parse::<EthernetAddress>().unwrap_err();
        assert_eq!(err(""), AddressParseError::Length);
        assert_eq!(err("02:00:5e:10:00:1"), AddressParseError::Length);
        assert_eq!(err("02:00:5e:10:00:011"), AddressParseError::Length);
        assert_eq!(err("02:00:5e:10:00:0g"), AddressParseError::Digit);
        assert_eq!(err("02:00:5e:10:00:0é"), AddressParseError::Length);
        assert_eq!(err("02:00:5e:10:0é:1"), AddressParseError::Digit);
        assert_eq!(err("02:00-5e:10:00:01"), AddressParseError::Separator);
        assert_eq!(err("02.00.5e.10.00.01"), AddressParseError::Separator);
        assert_eq!(err("0200:5e:10:00:01:"), AddressParseError::Separator);
        assert!(!err("x").to_string().is_empty());
    }

    #[test]
    fn ethertype_values() {
        for (value, ty) in [
            (0x0800, EtherType::Ipv4),
            (0x0806, EtherType::Arp),
            (0x86dd, EtherType::Ipv6),
            (0x8100, EtherType::Vlan),
            (0x88a8, EtherType::QinQ),
            (0x88cc, EtherType::Unknown(0x88cc)),
        ] {
            assert_eq!(EtherType::from(value), ty);
            assert_eq!(u16::from(ty), value);
        }
        assert!(EtherType::Vlan.is_vlan() && EtherType::QinQ.is_vlan());
        assert!(!EtherType::Ipv4.is_vlan());
        assert_eq!(EtherType::Unknown(0x88cc).to_string(), "0x88cc");
        assert_eq!(EtherType::QinQ.to_string(), "802.1ad");
    }

    #[test]
    fn error_display() {
        let err: Box<dyn std::error::Error> = Box::new(Error::Truncated);
        assert_eq!(err.to_string(), "truncated packet");
    }

    proptest! {
        #[test]
        fn repr_round_trip(
            src_addr in any_address(),
            dst_addr in any_address(),
            ethertype in any_ethertype(),
            payload in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let repr = EthernetRepr { src_addr, dst_addr, ethertype };
            let mut bytes = vec![0u8; EthernetFrame::<&[u8]>::buffer_len(payload.len())];
            let mut frame = EthernetFrame::new_unchecked(&mut bytes[..]);
            repr.emit(&mut frame);
            frame.payload_mut().copy_from_slice(&payload);
            let frame = EthernetFrame::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(EthernetRepr::parse(&frame), Ok(repr));
            prop_assert_eq!(frame.payload(), &payload[..]);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let unchecked = EthernetFrame::new_unchecked(&bytes[..]);
            let parsed = EthernetRepr::parse(&unchecked);
            match EthernetFrame::new_checked(&bytes[..]) {
                Ok(frame) => {
                    let _ = (frame.dst_addr(), frame.src_addr(), frame.payload());
                    prop_assert_eq!(parsed.is_ok(), !frame.ethertype().is_length());
                }
                Err(err) => {
                    prop_assert_eq!(err, Error::Truncated);
                    prop_assert_eq!(parsed, Err(Error::Truncated));
                }
            }
        }

        #[test]
        fn address_text_round_trip(addr in any_address()) {
            prop_assert_eq!(addr.to_string().parse(), Ok(addr));
        }

        #[test]
        fn address_parse_never_panics(s in "\\PC{0,20}") {
            let _ = s.parse::<EthernetAddress>();
        }
    }
}
