//! ARP, the Address Resolution Protocol, for IPv4 over Ethernet.
//!
//! Standards: RFC 826 (packet format and operations), RFC 5227 (IPv4 address
//! conflict detection: ARP probes and announcements), RFC 5494 (IANA
//! registries for ARP operation codes and hardware types).
//!
//! ```text
//!  0        2        4    5    6        8
//! +--------+--------+----+----+--------+------------------------------+
//! | htype  | ptype  |hlen|plen| oper   | sha (hlen) spa (plen)        |
//! +--------+--------+----+----+--------+ tha (hlen) tpa (plen)        |
//!                                      +------------------------------+
//! ```
//!
//! The view, [`ArpPacket`], reads any hardware and protocol address lengths;
//! the parsed form, [`ArpRepr`], is Ethernet/IPv4 only (htype 1, ptype
//! 0x0800, hlen 6, plen 4: 28 bytes), the only pairing this stack resolves.
//! Bytes after the packet (Ethernet padding up to 60 bytes) are ignored.

use core::fmt;
use std::net::Ipv4Addr;

use super::{get_array, get_u16, set_u16, Error, EtherType, EthernetAddress, Field, Result};

/// An ARP hardware type (RFC 5494 / IANA "Hardware Types").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpHardware {
    /// Ethernet (10 Mb and all later speeds), 1.
    Ethernet,
    /// Any other value, kept as read.
    Unknown(u16),
}

impl From<u16> for ArpHardware {
    fn from(value: u16) -> Self {
        match value {
            1 => ArpHardware::Ethernet,
            other => ArpHardware::Unknown(other),
        }
    }
}

impl From<ArpHardware> for u16 {
    fn from(value: ArpHardware) -> Self {
        match value {
            ArpHardware::Ethernet => 1,
            ArpHardware::Unknown(other) => other,
        }
    }
}

/// An ARP operation code (RFC 826; RFC 5494 / IANA "Operation Codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpOperation {
    /// "Who has the target protocol address?", 1.
    Request,
    /// "The sender protocol address is at the sender hardware address", 2.
    Reply,
    /// Any other value (RARP, InARP, ...), kept as read.
    Unknown(u16),
}

impl From<u16> for ArpOperation {
    fn from(value: u16) -> Self {
        match value {
            1 => ArpOperation::Request,
            2 => ArpOperation::Reply,
            other => ArpOperation::Unknown(other),
        }
    }
}

impl From<ArpOperation> for u16 {
    fn from(value: ArpOperation) -> Self {
        match value {
            ArpOperation::Request => 1,
            ArpOperation::Reply => 2,
            ArpOperation::Unknown(other) => other,
        }
    }
}

mod field {
    use super::Field;

    pub const HTYPE: Field = 0..2;
    pub const PTYPE: Field = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Field = 6..8;

    // The addresses, for any address lengths.
    pub const fn sha(hlen: u8, _plen: u8) -> Field {
        let start = OPER.end;
        start..start + hlen as usize
    }
    pub const fn spa(hlen: u8, plen: u8) -> Field {
        let start = sha(hlen, plen).end;
        start..start + plen as usize
    }
    pub const fn tha(hlen: u8, plen: u8) -> Field {
        let start = spa(hlen, plen).end;
        start..start + hlen as usize
    }
    pub const fn tpa(hlen: u8, plen: u8) -> Field {
        let start = tha(hlen, plen).end;
        start..start + plen as usize
    }

    // The same, fixed for Ethernet/IPv4 (checked against the above in the
    // tests).
    pub const ETH_IPV4_SHA: Field = 8..14;
    pub const ETH_IPV4_SPA: Field = 14..18;
    pub const ETH_IPV4_THA: Field = 18..24;
    pub const ETH_IPV4_TPA: Field = 24..28;
}

/// The fixed part of an ARP packet, before the addresses.
const FIXED_LEN: usize = field::OPER.end;

/// Length of an Ethernet/IPv4 ARP packet: 28 bytes.
pub const ARP_ETHERNET_IPV4_LEN: usize = field::ETH_IPV4_TPA.end;

/// A read/write view of an ARP packet over a byte buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> ArpPacket<T> {
    /// Wraps a buffer without checking its length.
    ///
    /// # Panics
    ///
    /// The getters and setters of a view made this way panic if the buffer
    /// is shorter than the fixed part (8 bytes) or than the addresses the
    /// length fields announce; use [`new_checked`](Self::new_checked) for
    /// bytes from the outside.
    pub const fn new_unchecked(buffer: T) -> ArpPacket<T> {
        ArpPacket { buffer }
    }

    /// Wraps a buffer after checking that it holds the fixed part and the
    /// four addresses its length fields announce.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if it does not.
    pub fn new_checked(buffer: T) -> Result<ArpPacket<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the buffer holds the fixed part and the four addresses;
    /// after this no getter panics. The types and lengths are not checked
    /// against Ethernet/IPv4 here (see [`ArpRepr::parse`]).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is too short.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < FIXED_LEN || data.len() < self.header_len() {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Gives the buffer back.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Length of the packet its length fields announce: 8 plus twice the
    /// hardware and protocol address lengths (28 for Ethernet/IPv4).
    #[inline]
    pub fn header_len(&self) -> usize {
        field::tpa(self.hardware_len(), self.protocol_len()).end
    }

    /// The hardware type.
    #[inline]
    pub fn hardware_type(&self) -> ArpHardware {
        ArpHardware::from(get_u16(self.buffer.as_ref(), field::HTYPE))
    }

    /// The protocol type (an EtherType; IPv4 for this stack).
    #[inline]
    pub fn protocol_type(&self) -> EtherType {
        EtherType::from(get_u16(self.buffer.as_ref(), field::PTYPE))
    }

    /// The length of a hardware address in bytes.
    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    /// The length of a protocol address in bytes.
    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// The operation.
    #[inline]
    pub fn operation(&self) -> ArpOperation {
        ArpOperation::from(get_u16(self.buffer.as_ref(), field::OPER))
    }

    /// The sender hardware address (`hardware_len` bytes).
    #[inline]
    pub fn source_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::sha(self.hardware_len(), self.protocol_len())]
    }

    /// The sender protocol address (`protocol_len` bytes).
    #[inline]
    pub fn source_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::spa(self.hardware_len(), self.protocol_len())]
    }

    /// The target hardware address (`hardware_len` bytes).
    #[inline]
    pub fn target_hardware_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tha(self.hardware_len(), self.protocol_len())]
    }

    /// The target protocol address (`protocol_len` bytes).
    #[inline]
    pub fn target_protocol_addr(&self) -> &[u8] {
        &self.buffer.as_ref()[field::tpa(self.hardware_len(), self.protocol_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> ArpPacket<T> {
    /// Sets the hardware type.
    #[inline]
    pub fn set_hardware_type(&mut self, value: ArpHardware) {
        set_u16(self.buffer.as_mut(), field::HTYPE, value.into());
    }

    /// Sets the protocol type.
    #[inline]
    pub fn set_protocol_type(&mut self, value: EtherType) {
        set_u16(self.buffer.as_mut(), field::PTYPE, value.into());
    }

    /// Sets the hardware address length (set it before the addresses).
    #[inline]
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    /// Sets the protocol address length (set it before the addresses).
    #[inline]
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    /// Sets the operation.
    #[inline]
    pub fn set_operation(&mut self, value: ArpOperation) {
        set_u16(self.buffer.as_mut(), field::OPER, value.into());
    }

    /// Sets the sender hardware address.
    ///
    /// # Panics
    ///
    /// If `value` is not `hardware_len` bytes long.
    #[inline]
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        let range = field::sha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the sender protocol address.
    ///
    /// # Panics
    ///
    /// If `value` is not `protocol_len` bytes long.
    #[inline]
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        let range = field::spa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the target hardware address.
    ///
    /// # Panics
    ///
    /// If `value` is not `hardware_len` bytes long.
    #[inline]
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        let range = field::tha(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Sets the target protocol address.
    ///
    /// # Panics
    ///
    /// If `value` is not `protocol_len` bytes long.
    #[inline]
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        let range = field::tpa(self.hardware_len(), self.protocol_len());
        self.buffer.as_mut()[range].copy_from_slice(value);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for ArpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A parsed ARP packet for IPv4 over Ethernet.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l2::{ArpOperation, ArpPacket, ArpRepr, EthernetAddress};
///
/// let request = ArpRepr {
///     operation: ArpOperation::Request,
///     source_hardware_addr: EthernetAddress::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01),
///     source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
///     target_hardware_addr: EthernetAddress::UNSPECIFIED,
///     target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
/// };
/// let mut bytes = [0u8; 28];
/// request.emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
///
/// let parsed = ArpRepr::parse(&ArpPacket::new_checked(&bytes[..])?)?;
/// assert_eq!(parsed, request);
/// assert!(!parsed.is_probe() && !parsed.is_gratuitous());
/// assert_eq!(parsed.to_string(), "ARP request who-has 10.0.0.2 tell 10.0.0.1");
/// # Ok::<(), strata_l2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpRepr {
    /// Request, reply or another code (kept for the caller to count).
    pub operation: ArpOperation,
    /// The sender's MAC address.
    pub source_hardware_addr: EthernetAddress,
    /// The sender's IPv4 address (0.0.0.0 in a probe).
    pub source_protocol_addr: Ipv4Addr,
    /// The target's MAC address (all zero in a request).
    pub target_hardware_addr: EthernetAddress,
    /// The target's IPv4 address (the one asked about in a request).
    pub target_protocol_addr: Ipv4Addr,
}

impl ArpRepr {
    /// Reads an Ethernet/IPv4 ARP packet.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than the packet its
    /// length fields announce; [`Error::Unsupported`] unless the hardware
    /// type is Ethernet, the protocol type IPv4 and the address lengths 6
    /// and 4.
    pub fn parse<T: AsRef<[u8]>>(packet: &ArpPacket<T>) -> Result<ArpRepr> {
        packet.check_len()?;
        if packet.hardware_type() != ArpHardware::Ethernet
            || packet.protocol_type() != EtherType::Ipv4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(Error::Unsupported);
        }
        let data = packet.buffer.as_ref();
        Ok(ArpRepr {
            operation: packet.operation(),
            source_hardware_addr: EthernetAddress(get_array(data, field::ETH_IPV4_SHA)),
            source_protocol_addr: Ipv4Addr::from(get_array::<4>(data, field::ETH_IPV4_SPA)),
            target_hardware_addr: EthernetAddress(get_array(data, field::ETH_IPV4_THA)),
            target_protocol_addr: Ipv4Addr::from(get_array::<4>(data, field::ETH_IPV4_TPA)),
        })
    }

    /// Length of the packet [`emit`](Self::emit) writes: 28.
    pub const fn buffer_len(&self) -> usize {
        ARP_ETHERNET_IPV4_LEN
    }

    /// Writes the packet, types and lengths included, into the first 28 bytes
    /// of `packet`.
    ///
    /// # Panics
    ///
    /// If the buffer is shorter than [`buffer_len`](Self::buffer_len).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut ArpPacket<T>) {
        packet.set_hardware_type(ArpHardware::Ethernet);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        let data = packet.buffer.as_mut();
        data[field::ETH_IPV4_SHA].copy_from_slice(&self.source_hardware_addr.0);
        data[field::ETH_IPV4_SPA].copy_from_slice(&self.source_protocol_addr.octets());
        data[field::ETH_IPV4_THA].copy_from_slice(&self.target_hardware_addr.0);
        data[field::ETH_IPV4_TPA].copy_from_slice(&self.target_protocol_addr.octets());
    }

    /// Whether this is an ARP probe (RFC 5227 section 2.1.1): a request whose
    /// sender IPv4 address is 0.0.0.0, sent by a host checking that the
    /// target address is free before it uses it.
    pub fn is_probe(&self) -> bool {
        self.operation == ArpOperation::Request && self.source_protocol_addr.is_unspecified()
    }

    /// Whether this is a gratuitous ARP (an RFC 5227 announcement when it is
    /// a request): the sender announces its own mapping, so the sender and
    /// target IPv4 addresses are the same (and not 0.0.0.0).
    pub fn is_gratuitous(&self) -> bool {
        self.source_protocol_addr == self.target_protocol_addr
            && !self.source_protocol_addr.is_unspecified()
    }
}

impl fmt::Display for ArpRepr {
    /// Formats like tcpdump: `ARP request who-has T tell S`,
    /// `ARP reply S is-at MAC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.operation {
            ArpOperation::Request => write!(
                f,
                "ARP request who-has {} tell {}",
                self.target_protocol_addr, self.source_protocol_addr
            ),
            ArpOperation::Reply => write!(
                f,
                "ARP reply {} is-at {}",
                self.source_protocol_addr, self.source_hardware_addr
            ),
            ArpOperation::Unknown(op) => write!(
                f,
                "ARP op {op} sender {} ({}) target {} ({})",
                self.source_protocol_addr,
                self.source_hardware_addr,
                self.target_protocol_addr,
                self.target_hardware_addr
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::strategies::any_address;
    use super::*;
    use proptest::prelude::*;

    // The ARP payloads of frames captured on a veth pair between two Linux
    // 6.18 network namespaces (02:00:5e:10:00:01 is 10.0.0.1, ...:02 is
    // 10.0.0.2).

    // Request: who-has 10.0.0.2 tell 10.0.0.1.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x0a,
        0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x02,
    ];

    // Reply: 10.0.0.2 is-at 02:00:5e:10:00:02.
    const REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x02, 0x0a,
        0x00, 0x00, 0x02, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x0a, 0x00, 0x00, 0x01,
    ];

    // Gratuitous request the kernel sent for 192.168.7.1 when the link came
    // up (net.ipv4.conf.all.arp_notify=1).
    const GRATUITOUS: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0xc0,
        0xa8, 0x07, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0xa8, 0x07, 0x01,
    ];

    // An RFC 5227 probe for 10.0.0.1 as `arping -D` sends it, in a frame a
    // NIC padded to 60 bytes (46 bytes of payload: 18 of padding).
    const PROBE_PADDED: [u8; 46] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00,
    ];

    const MAC_A: EthernetAddress = EthernetAddress::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x01);
    const MAC_B: EthernetAddress = EthernetAddress::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x02);
    const IP_A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const IP_B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn request_repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: MAC_A,
            source_protocol_addr: IP_A,
            target_hardware_addr: EthernetAddress::UNSPECIFIED,
            target_protocol_addr: IP_B,
        }
    }

    fn reply_repr() -> ArpRepr {
        ArpRepr {
            operation: ArpOperation::Reply,
            source_hardware_addr: MAC_B,
            source_protocol_addr: IP_B,
            target_hardware_addr: MAC_A,
            target_protocol_addr: IP_A,
        }
    }

    #[test]
    fn fixed_fields_match_generic_ones() {
        assert_eq!(field::sha(6, 4), field::ETH_IPV4_SHA);
        assert_eq!(field::spa(6, 4), field::ETH_IPV4_SPA);
        assert_eq!(field::tha(6, 4), field::ETH_IPV4_THA);
        assert_eq!(field::tpa(6, 4), field::ETH_IPV4_TPA);
    }

    #[test]
    fn deconstruct() {
        let packet = ArpPacket::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(packet.hardware_type(), ArpHardware::Ethernet);
        assert_eq!(packet.protocol_type(), EtherType::Ipv4);
        assert_eq!(packet.hardware_len(), 6);
        assert_eq!(packet.protocol_len(), 4);
        assert_eq!(packet.header_len(), 28);
        assert_eq!(packet.operation(), ArpOperation::Request);
        assert_eq!(packet.source_hardware_addr(), MAC_A.as_bytes());
        assert_eq!(packet.source_protocol_addr(), &[10, 0, 0, 1]);
        assert_eq!(packet.target_hardware_addr(), &[0; 6]);
        assert_eq!(packet.target_protocol_addr(), &[10, 0, 0, 2]);
    }

    #[test]
    fn construct() {
        let mut bytes = [0xa5u8; 28];
        let mut packet = ArpPacket::new_unchecked(&mut bytes[..]);
        packet.set_hardware_type(ArpHardware::Ethernet);
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(ArpOperation::Reply);
        packet.set_source_hardware_addr(MAC_B.as_bytes());
        packet.set_source_protocol_addr(&IP_B.octets());
        packet.set_target_hardware_addr(MAC_A.as_bytes());
        packet.set_target_protocol_addr(&IP_A.octets());
        assert_eq!(bytes, REPLY);
    }

    #[test]
    fn parse() {
        let parse = |bytes: &[u8]| ArpRepr::parse(&ArpPacket::new_checked(bytes).unwrap());
        assert_eq!(parse(&REQUEST), Ok(request_repr()));
        assert_eq!(parse(&REPLY), Ok(reply_repr()));
        assert_eq!(
            reply_repr().to_string(),
            "ARP reply 10.0.0.2 is-at 02:00:5e:10:00:02"
        );
    }

    #[test]
    fn emit() {
        let mut bytes = [0u8; 28];
        request_repr().emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, REQUEST);
        reply_repr().emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
        assert_eq!(bytes, REPLY);
        assert_eq!(reply_repr().buffer_len(), 28);
    }

    #[test]
    fn probe_and_gratuitous() {
        let probe = ArpRepr::parse(&ArpPacket::new_checked(&PROBE_PADDED[..]).unwrap()).unwrap();
        assert!(probe.is_probe());
        assert!(!probe.is_gratuitous());
        assert_eq!(probe.target_protocol_addr, IP_A);
        assert_eq!(probe.target_hardware_addr, EthernetAddress::UNSPECIFIED);

        let garp = ArpRepr::parse(&ArpPacket::new_checked(&GRATUITOUS[..]).unwrap()).unwrap();
        assert!(garp.is_gratuitous());
        assert!(!garp.is_probe());
        assert_eq!(garp.source_protocol_addr, Ipv4Addr::new(192, 168, 7, 1));

        // A gratuitous reply counts too; a plain request and reply do not.
        let garp_reply = ArpRepr {
            operation: ArpOperation::Reply,
            target_hardware_addr: EthernetAddress::BROADCAST,
            ..garp
        };
        assert!(garp_reply.is_gratuitous());
        assert!(!request_repr().is_gratuitous() && !request_repr().is_probe());
        assert!(!reply_repr().is_gratuitous() && !reply_repr().is_probe());
        // A reply from 0.0.0.0 is not a probe.
        let odd = ArpRepr {
            operation: ArpOperation::Reply,
            ..probe
        };
        assert!(!odd.is_probe());
    }

    #[test]
    fn unsupported() {
        let parse = |bytes: &[u8]| ArpRepr::parse(&ArpPacket::new_unchecked(bytes));
        // IEEE 802 hardware type (6).
        let mut bytes = REQUEST;
        bytes[1] = 6;
        assert_eq!(parse(&bytes), Err(Error::Unsupported));
        // Protocol type other than IPv4.
        let mut bytes = REQUEST;
        bytes[2..4].copy_from_slice(&[0x86, 0xdd]);
        assert_eq!(parse(&bytes), Err(Error::Unsupported));
        // Ethernet with a 4-byte hardware length still fits in 28 bytes
        // (8 + 2 * (4 + 4) = 24) but is not Ethernet/IPv4.
        let mut bytes = REQUEST;
        bytes[4] = 4;
        assert_eq!(parse(&bytes), Err(Error::Unsupported));
        // An unknown operation is kept, not rejected.
        let mut bytes = REQUEST;
        bytes[7] = 8;
        let repr = parse(&bytes).unwrap();
        assert_eq!(repr.operation, ArpOperation::Unknown(8));
        assert!(repr.to_string().starts_with("ARP op 8 "));
    }

    #[test]
    fn other_lengths_through_the_view() {
        // EUI-64 hardware addresses (hlen 8) over IPv4: 8 + 2 * 12 = 32 bytes.
        let mut bytes = [0u8; 32];
        let mut packet = ArpPacket::new_unchecked(&mut bytes[..]);
        packet.set_hardware_type(ArpHardware::Unknown(27));
        packet.set_protocol_type(EtherType::Ipv4);
        packet.set_hardware_len(8);
        packet.set_protocol_len(4);
        packet.set_operation(ArpOperation::Request);
        packet.set_source_hardware_addr(&[1, 2, 3, 4, 5, 6, 7, 8]);
        packet.set_source_protocol_addr(&[10, 0, 0, 1]);
        packet.set_target_protocol_addr(&[10, 0, 0, 2]);
        let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
        assert_eq!(packet.header_len(), 32);
        assert_eq!(packet.source_hardware_addr(), &[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(packet.target_protocol_addr(), &[10, 0, 0, 2]);
        assert_eq!(ArpRepr::parse(&packet), Err(Error::Unsupported));
        assert_eq!(
            ArpPacket::new_checked(&bytes[..31]).map(|_| ()),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn too_short() {
        for len in 0..ARP_ETHERNET_IPV4_LEN {
            assert_eq!(
                ArpPacket::new_checked(&REQUEST[..len]).map(|_| ()),
                Err(Error::Truncated)
            );
            let packet = ArpPacket::new_unchecked(&REQUEST[..len]);
            assert_eq!(ArpRepr::parse(&packet), Err(Error::Truncated));
        }
        // Huge announced lengths: 8 + 2 * (255 + 255) bytes needed.
        let mut bytes = REQUEST;
        bytes[4] = 255;
        bytes[5] = 255;
        assert_eq!(
            ArpPacket::new_checked(&bytes[..]).map(|_| ()),
            Err(Error::Truncated)
        );
    }

    #[test]
    fn code_values() {
        for (value, op) in [
            (1, ArpOperation::Request),
            (2, ArpOperation::Reply),
            (3, ArpOperation::Unknown(3)),
        ] {
            assert_eq!(ArpOperation::from(value), op);
            assert_eq!(u16::from(op), value);
        }
        assert_eq!(ArpHardware::from(1), ArpHardware::Ethernet);
        assert_eq!(u16::from(ArpHardware::Unknown(6)), 6);
    }

    fn any_ipv4() -> impl Strategy<Value = Ipv4Addr> {
        any::<[u8; 4]>().prop_map(Ipv4Addr::from)
    }

    fn any_repr() -> impl Strategy<Value = ArpRepr> {
        (
            any::<u16>().prop_map(ArpOperation::from),
            any_address(),
            any_ipv4(),
            any_address(),
            any_ipv4(),
        )
            .prop_map(|(operation, sha, spa, tha, tpa)| ArpRepr {
                operation,
                source_hardware_addr: sha,
                source_protocol_addr: spa,
                target_hardware_addr: tha,
                target_protocol_addr: tpa,
            })
    }

    proptest! {
        #[test]
        fn repr_round_trip(repr in any_repr(), padding in 0usize..32) {
            let mut bytes = vec![0u8; repr.buffer_len() + padding];
            repr.emit(&mut ArpPacket::new_unchecked(&mut bytes[..]));
            let packet = ArpPacket::new_checked(&bytes[..]).unwrap();
            prop_assert_eq!(ArpRepr::parse(&packet), Ok(repr));
            prop_assert_eq!(packet.source_hardware_addr(), repr.source_hardware_addr.as_bytes());
            prop_assert_eq!(packet.target_protocol_addr(), &repr.target_protocol_addr.octets());
        }

        #[test]
        fn never_panics(
            ethernet_ipv4 in any::<bool>(),
            mut bytes in proptest::collection::vec(any::<u8>(), 0..48),
        ) {
            // Half the cases start like Ethernet/IPv4 ARP to reach the deep
            // paths; truncation still comes from the random length.
            if ethernet_ipv4 {
                let n = bytes.len().min(6);
                bytes[..n].copy_from_slice(&REQUEST[..n]);
            }
            let parsed = ArpRepr::parse(&ArpPacket::new_unchecked(&bytes[..]));
            match ArpPacket::new_checked(&bytes[..]) {
                Ok(packet) => {
                    prop_assert!(packet.header_len() <= bytes.len());
                    let _ = (
                        packet.hardware_type(),
                        packet.operation(),
                        packet.source_hardware_addr(),
                        packet.source_protocol_addr(),
                        packet.target_hardware_addr(),
                        packet.target_protocol_addr(),
                    );
                    prop_assert_ne!(parsed, Err(Error::Truncated));
                }
                Err(err) => {
                    prop_assert_eq!(err, Error::Truncated);
                    prop_assert_eq!(parsed, Err(Error::Truncated));
                }
            }
        }
    }
}
