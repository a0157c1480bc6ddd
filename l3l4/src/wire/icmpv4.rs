//! ICMP for IPv4: RFC 792, with the host requirements of RFC 1122 §3.2.2, the quoting
//! rules of RFC 1812 §4.3.2.3 and the next-hop MTU of RFC 1191 in "fragmentation
//! needed". The checksum covers the whole message (RFC 1071).
//!
//! Error messages quote the offending datagram; [`Repr`] keeps only the quote's length,
//! since the bytes stay in the buffer (`Packet::data`).

use super::{enum_with_unknown, read_u16, write_u16, Error, Result};
use crate::checksum::{self, ChecksumCaps};

mod field {
    use crate::wire::Field;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const UNUSED: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ_NO: Field = 6..8;
    pub const POINTER: usize = 4;
    pub const MTU: Field = 6..8;
}

/// Length of the ICMP header (type, code, checksum and the four type-specific bytes).
pub const HEADER_LEN: usize = 8;
/// Shortest quote an error message may carry for it to be accepted: an IPv4 header
/// and the first 8 bytes of its payload (RFC 792), enough to find the transport ports.
pub const MIN_QUOTED_LEN: usize = 28;
/// Longest quote that keeps an error within 576 bytes (RFC 1812 §4.3.2.3) under an
/// option-less IPv4 header.
pub const MAX_QUOTED_LEN: usize = 576 - 20 - HEADER_LEN;

enum_with_unknown! {
    /// An ICMPv4 message type.
    pub enum Message(u8) {
        /// Echo reply.
        EchoReply = 0,
        /// Destination unreachable.
        DstUnreachable = 3,
        /// Source quench (deprecated by RFC 6633).
        SourceQuench = 4,
        /// Redirect.
        Redirect = 5,
        /// Echo request.
        EchoRequest = 8,
        /// Router advertisement (RFC 1256).
        RouterAdvert = 9,
        /// Router solicitation (RFC 1256).
        RouterSolicit = 10,
        /// Time exceeded.
        TimeExceeded = 11,
        /// Parameter problem.
        ParamProblem = 12,
        /// Timestamp request.
        Timestamp = 13,
        /// Timestamp reply.
        TimestampReply = 14,
    }
}

impl Message {
    /// Whether this is an error message (RFC 1122 §3.2.2): destination unreachable,
    /// source quench, redirect, time exceeded or parameter problem. No ICMP error may be
    /// sent in answer to one.
    pub const fn is_error(self) -> bool {
        matches!(
            self,
            Message::DstUnreachable
                | Message::SourceQuench
                | Message::Redirect
                | Message::TimeExceeded
                | Message::ParamProblem
        )
    }
}

enum_with_unknown! {
    /// The code of a destination-unreachable message (RFC 792, RFC 1122 §3.2.2.1,
    /// RFC 1812 §5.2.7.1).
    pub enum DstUnreachable(u8) {
        /// Network unreachable.
        NetUnreachable = 0,
        /// Host unreachable.
        HostUnreachable = 1,
        /// Protocol unreachable.
        ProtoUnreachable = 2,
        /// Port unreachable.
        PortUnreachable = 3,
        /// Fragmentation needed and "don't fragment" set; carries the next-hop MTU.
        FragRequired = 4,
        /// Source route failed.
        SrcRouteFailed = 5,
        /// Destination network unknown.
        DstNetUnknown = 6,
        /// Destination host unknown.
        DstHostUnknown = 7,
        /// Source host isolated.
        SrcHostIsolated = 8,
        /// Network administratively prohibited.
        NetProhibited = 9,
        /// Host administratively prohibited.
        HostProhibited = 10,
        /// Network unreachable for the type of service.
        NetUnreachToS = 11,
        /// Host unreachable for the type of service.
        HostUnreachToS = 12,
        /// Communication administratively prohibited.
        CommProhibited = 13,
        /// Host precedence violation.
        HostPrecedViol = 14,
        /// Precedence cutoff in effect.
        PrecedCutoff = 15,
    }
}

enum_with_unknown! {
    /// The code of a time-exceeded message.
    pub enum TimeExceeded(u8) {
        /// TTL expired in transit.
        TtlExpired = 0,
        /// Fragment reassembly time exceeded.
        FragExpired = 1,
    }
}

enum_with_unknown! {
    /// The code of a parameter-problem message (RFC 792, RFC 1122 §3.2.2.5).
    pub enum ParamProblem(u8) {
        /// The pointer names the offending byte.
        AtPointer = 0,
        /// A required option is missing.
        MissingOption = 1,
        /// Bad length.
        BadLength = 2,
    }
}

/// A read/write view of an ICMPv4 message: the whole IPv4 payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than 8 bytes. Use
    /// [`Packet::new_checked`] on bytes from the wire.
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

    /// Checks that the buffer holds the 8-byte header. The message runs to the end of
    /// the buffer (ICMP has no length field of its own).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for fewer than 8 bytes.
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(Error::Truncated)
        } else {
            Ok(())
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> Message {
        Message::from(self.buffer.as_ref()[field::TYPE])
    }

    /// The message code (its meaning depends on the type).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The identifier of an echo request or reply.
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_IDENT.start)
    }

    /// The sequence number of an echo request or reply.
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::ECHO_SEQ_NO.start)
    }

    /// The pointer of a parameter-problem message: the offset of the offending byte in
    /// the quoted header.
    #[inline]
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[field::POINTER]
    }

    /// The next-hop MTU of a destination-unreachable message (RFC 1191; zero except in
    /// "fragmentation needed").
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::MTU.start)
    }

    /// Whether the checksum over the whole message verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.buffer.as_ref()) == 0
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the header: echo data, or the quoted datagram of an error.
    #[inline]
    pub fn data(&self) -> &'a [u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type.
    #[inline]
    pub fn set_msg_type(&mut self, message: Message) {
        self.buffer.as_mut()[field::TYPE] = u8::from(message);
    }

    /// Sets the message code.
    #[inline]
    pub fn set_msg_code(&mut self, code: u8) {
        self.buffer.as_mut()[field::CODE] = code;
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Sets the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_IDENT.start, ident);
    }

    /// Sets the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, seq_no: u16) {
        write_u16(self.buffer.as_mut(), field::ECHO_SEQ_NO.start, seq_no);
    }

    /// Sets the parameter-problem pointer.
    #[inline]
    pub fn set_pointer(&mut self, pointer: u8) {
        self.buffer.as_mut()[field::POINTER] = pointer;
    }

    /// Sets the next-hop MTU of a destination-unreachable message.
    #[inline]
    pub fn set_next_hop_mtu(&mut self, mtu: u16) {
        write_u16(self.buffer.as_mut(), field::MTU.start, mtu);
    }

    /// Zeroes the four type-specific bytes, unused in most error messages.
    #[inline]
    pub fn clear_unused(&mut self) {
        self.buffer.as_mut()[field::UNUSED].fill(0);
    }

    /// Computes the checksum over the whole buffer and writes it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let sum = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(sum);
    }

    /// The bytes after the header, mutable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// Checks the quote of an error message: an IPv4 header (version 4, IHL ≥ 5) and at
/// least 8 bytes after it, as Linux requires before it hands an error to a socket.
fn check_quote(quote: &[u8]) -> Result<()> {
    let Some(&ver_ihl) = quote.first() else {
        return Err(Error::Truncated);
    };
    let header_len = usize::from(ver_ihl & 0x0f) * 4;
    if ver_ihl >> 4 != 4 || header_len < 20 {
        return Err(Error::Malformed);
    }
    if quote.len() < header_len + 8 {
        return Err(Error::Truncated);
    }
    Ok(())
}

/// The parsed form of the ICMPv4 messages the stack handles: echo and errors.
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::ChecksumCaps;
/// use strata_l3l4::{Icmpv4Packet, Icmpv4Repr};
///
/// let caps = ChecksumCaps::software();
/// let repr = Icmpv4Repr::EchoRequest { ident: 0x1234, seq_no: 1, data_len: 4 };
/// let mut buf = vec![0u8; repr.buffer_len()];
/// buf[8..].copy_from_slice(b"ping");
/// repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]), &caps)?;
/// let packet = Icmpv4Packet::new_checked(&buf[..])?;
/// assert_eq!(Icmpv4Repr::parse(&packet, &caps)?, repr);
/// assert_eq!(packet.data(), b"ping");
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr {
    /// Echo request.
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Length of the echo data.
        data_len: usize,
    },
    /// Echo reply.
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Length of the echo data.
        data_len: usize,
    },
    /// Destination unreachable.
    DstUnreachable {
        /// The code.
        reason: DstUnreachable,
        /// Next-hop MTU (RFC 1191): zero except for [`DstUnreachable::FragRequired`].
        next_hop_mtu: u16,
        /// Length of the quoted datagram.
        quoted_len: usize,
    },
    /// Time exceeded.
    TimeExceeded {
        /// The code.
        reason: TimeExceeded,
        /// Length of the quoted datagram.
        quoted_len: usize,
    },
    /// Parameter problem.
    ParamProblem {
        /// The code.
        reason: ParamProblem,
        /// Offset of the offending byte in the quoted datagram.
        pointer: u8,
        /// Length of the quoted datagram.
        quoted_len: usize,
    },
}

impl Repr {
    /// Checks a message and returns its parsed form. The checksum is verified when
    /// `caps.icmpv4` says software does it; an error message must quote at least an
    /// IPv4 header and 8 bytes ([`MIN_QUOTED_LEN`] for an option-less one).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for a buffer shorter than the header or a short quote,
    /// [`Error::Checksum`], [`Error::Unrecognized`] for a type the stack does not handle
    /// (Zephyr's ICMP `typeerr`), [`Error::Malformed`] for an echo with a non-zero code
    /// or a quote that is not an IPv4 header.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, caps: &ChecksumCaps) -> Result<Repr> {
        packet.check_len()?;
        if caps.icmpv4.rx() && !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        let data = &packet.buffer.as_ref()[HEADER_LEN..];
        let code = packet.msg_code();
        let repr = match packet.msg_type() {
            Message::EchoRequest | Message::EchoReply if code != 0 => return Err(Error::Malformed),
            Message::EchoRequest => Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data_len: data.len(),
            },
            Message::EchoReply => Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data_len: data.len(),
            },
            Message::DstUnreachable => Repr::DstUnreachable {
                reason: DstUnreachable::from(code),
                next_hop_mtu: packet.next_hop_mtu(),
                quoted_len: data.len(),
            },
            Message::TimeExceeded => Repr::TimeExceeded {
                reason: TimeExceeded::from(code),
                quoted_len: data.len(),
            },
            Message::ParamProblem => Repr::ParamProblem {
                reason: ParamProblem::from(code),
                pointer: packet.pointer(),
                quoted_len: data.len(),
            },
            _ => return Err(Error::Unrecognized),
        };
        if repr.is_error() {
            check_quote(data)?;
        }
        Ok(repr)
    }

    /// Whether this is an error message.
    pub const fn is_error(&self) -> bool {
        !matches!(self, Repr::EchoRequest { .. } | Repr::EchoReply { .. })
    }

    /// Length of the data after the header: echo data or the quote.
    pub const fn data_len(&self) -> usize {
        match *self {
            Repr::EchoRequest { data_len, .. } | Repr::EchoReply { data_len, .. } => data_len,
            Repr::DstUnreachable { quoted_len, .. }
            | Repr::TimeExceeded { quoted_len, .. }
            | Repr::ParamProblem { quoted_len, .. } => quoted_len,
        }
    }

    /// Length of the header [`Repr::emit`] writes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Length of the whole message: header and data.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.data_len())
    }

    /// Writes the header into the start of `packet`'s buffer, whose data (echo data or
    /// quote) must already be in place after it, and computes the checksum over the
    /// message when `caps.icmpv4` says software does it (zero otherwise).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        let len = self.buffer_len();
        if packet.buffer.as_ref().len() < len {
            return Err(Error::Truncated);
        }
        let mut message = Packet::new_unchecked(&mut packet.buffer.as_mut()[..len]);
        message.clear_unused();
        match *self {
            Repr::EchoRequest { ident, seq_no, .. } | Repr::EchoReply { ident, seq_no, .. } => {
                let request = matches!(self, Repr::EchoRequest { .. });
                message.set_msg_type(if request {
                    Message::EchoRequest
                } else {
                    Message::EchoReply
                });
                message.set_msg_code(0);
                message.set_echo_ident(ident);
                message.set_echo_seq_no(seq_no);
            }
            Repr::DstUnreachable {
                reason,
                next_hop_mtu,
                ..
            } => {
                message.set_msg_type(Message::DstUnreachable);
                message.set_msg_code(reason.into());
                message.set_next_hop_mtu(next_hop_mtu);
            }
            Repr::TimeExceeded { reason, .. } => {
                message.set_msg_type(Message::TimeExceeded);
                message.set_msg_code(reason.into());
            }
            Repr::ParamProblem {
                reason, pointer, ..
            } => {
                message.set_msg_type(Message::ParamProblem);
                message.set_msg_code(reason.into());
                message.set_pointer(pointer);
            }
        }
        if caps.icmpv4.tx() {
            message.fill_checksum();
        } else {
            message.set_checksum(0);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checksum::Checksum;
    use crate::wire::frames::*;
    use proptest::prelude::*;

    const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

    #[test]
    fn deconstruct_echo() {
        let packet = Packet::new_checked(&ECHO_REQUEST[20..]).unwrap();
        assert_eq!(
            (packet.msg_type(), packet.msg_code()),
            (Message::EchoRequest, 0)
        );
        assert_eq!(packet.checksum(), 0x26f8);
        assert_eq!((packet.echo_ident(), packet.echo_seq_no()), (0x1234, 1));
        assert_eq!(packet.data(), &ECHO_REQUEST[28..]);
        assert!(packet.verify_checksum());
        assert!(!packet.msg_type().is_error());
    }

    #[test]
    fn construct_echo_reply() {
        let mut bytes = [0xa5u8; 48];
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        packet.set_msg_type(Message::EchoReply);
        packet.set_msg_code(0);
        packet.set_echo_ident(0x1234);
        packet.set_echo_seq_no(1);
        packet.data_mut().copy_from_slice(&ECHO_REQUEST[28..]);
        packet.fill_checksum();
        assert_eq!(bytes, ECHO_REPLY[20..]);
    }

    #[test]
    fn echo_reply_in_place_by_incremental_update() {
        // Turn the request into the reply as a zero-copy responder would.
        let mut bytes = ECHO_REQUEST[20..].to_vec();
        let mut packet = Packet::new_unchecked(&mut bytes[..]);
        let sum = checksum::update_u16(packet.checksum(), 0x0800, 0x0000);
        packet.set_msg_type(Message::EchoReply);
        packet.set_checksum(sum);
        assert_eq!(bytes, ECHO_REPLY[20..]);
    }

    #[test]
    fn parse_and_emit_echo() {
        for (bytes, request) in [(&ECHO_REQUEST[20..], true), (&ECHO_REPLY[20..], false)] {
            let repr = Repr::parse(&Packet::new_checked(bytes).unwrap(), &SOFTWARE).unwrap();
            let (ident, seq_no, data_len) = (0x1234, 1, 40);
            let expected = if request {
                Repr::EchoRequest {
                    ident,
                    seq_no,
                    data_len,
                }
            } else {
                Repr::EchoReply {
                    ident,
                    seq_no,
                    data_len,
                }
            };
            assert_eq!(repr, expected);
            let mut out = bytes.to_vec();
            out[..8].fill(0xff);
            repr.emit(&mut Packet::new_unchecked(&mut out[..]), &SOFTWARE)
                .unwrap();
            assert_eq!(out, bytes);
        }
    }

    #[test]
    fn parse_and_emit_port_unreachable() {
        let frames: [&[u8]; 2] = [&PORT_UNREACH[20..], &ICMP_OPTIONS_FRAME[32..]];
        for bytes in frames {
            let packet = Packet::new_checked(bytes).unwrap();
            assert!(packet.msg_type().is_error());
            let repr = Repr::parse(&packet, &SOFTWARE).unwrap();
            let expected = Repr::DstUnreachable {
                reason: DstUnreachable::PortUnreachable,
                next_hop_mtu: 0,
                quoted_len: bytes.len() - 8,
            };
            assert_eq!(repr, expected);
            assert!(repr.is_error());
            let mut out = bytes.to_vec();
            out[..8].fill(0xff);
            repr.emit(&mut Packet::new_unchecked(&mut out[..]), &SOFTWARE)
                .unwrap();
            assert_eq!(out, bytes);
        }
        // The quote is the offending datagram, whole here.
        let packet = Packet::new_checked(&PORT_UNREACH[20..]).unwrap();
        assert_eq!(packet.data(), &ODD_UDP[..]);
    }

    #[test]
    fn other_errors_round_trip() {
        let reprs = [
            Repr::DstUnreachable {
                reason: DstUnreachable::FragRequired,
                next_hop_mtu: 1400,
                quoted_len: 28,
            },
            Repr::TimeExceeded {
                reason: TimeExceeded::TtlExpired,
                quoted_len: 31,
            },
            Repr::ParamProblem {
                reason: ParamProblem::AtPointer,
                pointer: 8,
                quoted_len: 31,
            },
        ];
        for repr in reprs {
            let mut buf = vec![0u8; repr.buffer_len()];
            buf[8..].copy_from_slice(&ODD_UDP[..repr.data_len()]);
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &SOFTWARE)
                .unwrap();
            let packet = Packet::new_checked(&buf[..]).unwrap();
            assert!(packet.verify_checksum());
            assert_eq!(Repr::parse(&packet, &SOFTWARE), Ok(repr));
        }
        // Fragmentation needed, byte for byte.
        let mut buf = [0u8; 36];
        buf[8..].copy_from_slice(&ODD_UDP[..28]);
        reprs[0]
            .emit(&mut Packet::new_unchecked(&mut buf[..]), &SOFTWARE)
            .unwrap();
        assert_eq!(buf[..8], [0x03, 0x04, 0xd0, 0x17, 0x00, 0x00, 0x05, 0x78]);
    }

    #[test]
    fn rejects() {
        assert_eq!(
            Packet::new_checked(&[0u8; 7][..]).err(),
            Some(Error::Truncated)
        );
        let parse = |bytes: &[u8]| Repr::parse(&Packet::new_unchecked(bytes), &SOFTWARE);
        assert_eq!(parse(&[]), Err(Error::Truncated));
        // A bad checksum, unless the device verified it.
        let mut bytes = ECHO_REQUEST[20..].to_vec();
        bytes[30] ^= 1;
        assert_eq!(parse(&bytes), Err(Error::Checksum));
        let caps = ChecksumCaps {
            icmpv4: Checksum::Tx,
            ..SOFTWARE
        };
        assert!(Repr::parse(&Packet::new_unchecked(&bytes[..]), &caps).is_ok());
        // Unknown types, echo with a code, short or non-IPv4 quotes.
        let with = |kind: u8, code: u8, data: &[u8]| {
            let mut bytes = vec![kind, code, 0, 0, 0, 0, 0, 0];
            bytes.extend_from_slice(data);
            Packet::new_unchecked(&mut bytes[..]).fill_checksum();
            bytes
        };
        assert_eq!(parse(&with(13, 0, &[0; 12])), Err(Error::Unrecognized));
        assert_eq!(parse(&with(42, 0, &[])), Err(Error::Unrecognized));
        assert_eq!(parse(&with(8, 1, &[])), Err(Error::Malformed));
        assert_eq!(parse(&with(3, 3, &ODD_UDP[..27])), Err(Error::Truncated));
        assert_eq!(parse(&with(11, 0, &[])), Err(Error::Truncated));
        assert_eq!(parse(&with(11, 0, &[0x65; 28])), Err(Error::Malformed));
        assert_eq!(parse(&with(12, 0, &[0x44; 28])), Err(Error::Malformed));
        // A quoted header with options needs its 8 payload bytes too.
        assert_eq!(
            parse(&with(3, 3, &OPTIONS_FRAME[..39])),
            Err(Error::Truncated)
        );
        assert!(parse(&with(3, 3, &OPTIONS_FRAME[..40])).is_ok());
        // Emitting into too small a buffer.
        let repr = Repr::EchoReply {
            ident: 1,
            seq_no: 2,
            data_len: 10,
        };
        let mut short = [0u8; 17];
        let result = repr.emit(&mut Packet::new_unchecked(&mut short[..]), &SOFTWARE);
        assert_eq!(result, Err(Error::Truncated));
        let huge = Repr::EchoReply {
            ident: 1,
            seq_no: 2,
            data_len: usize::MAX,
        };
        assert_eq!(huge.buffer_len(), usize::MAX);
    }

    #[test]
    fn codes() {
        for n in 0..=u8::MAX {
            assert_eq!(u8::from(Message::from(n)), n);
            assert_eq!(u8::from(DstUnreachable::from(n)), n);
            assert_eq!(u8::from(TimeExceeded::from(n)), n);
            assert_eq!(u8::from(ParamProblem::from(n)), n);
        }
        assert!(Message::Redirect.is_error() && !Message::Unknown(42).is_error());
        let mut out = [0u8; 36];
        out[8..].copy_from_slice(&ODD_UDP[..28]);
        let caps = ChecksumCaps {
            icmpv4: Checksum::Rx,
            ..SOFTWARE
        };
        let repr = Repr::TimeExceeded {
            reason: TimeExceeded::FragExpired,
            quoted_len: 28,
        };
        repr.emit(&mut Packet::new_unchecked(&mut out[..]), &caps)
            .unwrap();
        assert_eq!(Packet::new_unchecked(&out[..]).checksum(), 0);
    }

    fn arb_repr() -> impl Strategy<Value = Repr> {
        let quote = MIN_QUOTED_LEN..600usize;
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
            (any::<u8>(), any::<u16>(), quote.clone()).prop_map(
                |(code, next_hop_mtu, quoted_len)| {
                    Repr::DstUnreachable {
                        reason: code.into(),
                        next_hop_mtu,
                        quoted_len,
                    }
                }
            ),
            (any::<u8>(), quote.clone()).prop_map(|(code, quoted_len)| Repr::TimeExceeded {
                reason: code.into(),
                quoted_len
            }),
            (any::<u8>(), any::<u8>(), quote).prop_map(|(code, pointer, quoted_len)| {
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
        fn round_trip(repr in arb_repr(), fill in any::<u8>()) {
            let mut buf = vec![fill; repr.buffer_len()];
            if repr.is_error() {
                // A plausible quote: an option-less IPv4 header first.
                buf[8] = 0x45;
            }
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &SOFTWARE).unwrap();
            let packet = Packet::new_checked(&buf[..]).unwrap();
            prop_assert_eq!(Repr::parse(&packet, &SOFTWARE), Ok(repr));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &SOFTWARE);
            let _ = Repr::parse(&Packet::new_unchecked(&bytes[..]), &ChecksumCaps::offloaded());
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                let _ = (packet.data(), packet.verify_checksum(), packet.msg_type());
            }
        }

        #[test]
        fn emit_never_panics(repr in arb_repr(), data_len in any::<usize>(), len in 0..100usize) {
            let repr = match repr {
                Repr::EchoRequest { ident, seq_no, .. } => Repr::EchoRequest { ident, seq_no, data_len },
                Repr::ParamProblem { reason, pointer, .. } => {
                    Repr::ParamProblem { reason, pointer, quoted_len: data_len }
                }
                other => other,
            };
            let mut buf = vec![0u8; len];
            let _ = repr.emit(&mut Packet::new_unchecked(&mut buf[..]), &SOFTWARE);
        }

        #[test]
        fn agrees_with_etherparse(bytes in proptest::collection::vec(any::<u8>(), 8..80)) {
            let ours = Packet::new_checked(&bytes[..]).unwrap();
            let theirs = etherparse::Icmpv4Slice::from_slice(&bytes).unwrap();
            prop_assert_eq!(u8::from(ours.msg_type()), theirs.type_u8());
            prop_assert_eq!(ours.msg_code(), theirs.code_u8());
            prop_assert_eq!(ours.checksum(), theirs.checksum());
            prop_assert_eq!(&bytes[4..8], &theirs.bytes5to8()[..]);
        }
    }
}
