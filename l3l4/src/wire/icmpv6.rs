//! ICMP for IPv6: RFC 4443 (echo and error messages, the 1280-byte limit on errors),
//! with the codes added by RFC 7112 (incomplete header chain) and the message types of
//! neighbour discovery (RFC 4861, see [`super::ndisc`]) and MLDv2 (RFC 3810, see
//! [`super::mld`]). The checksum covers the IPv6 pseudo-header (RFC 8200 §8.1) and the
//! whole message.
//!
//! Error messages quote the offending packet; [`Repr`] keeps only the quote's length,
//! since the bytes stay in the buffer (`Packet::data`).

use std::net::Ipv6Addr;

use super::{enum_with_unknown, read_u16, write_u16, Error, IpProtocol, Result};
use crate::checksum::{self, ChecksumCaps};

mod field {
    use crate::wire::Field;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Field = 2..4;
    pub const UNUSED: Field = 4..8;
    pub const ECHO_IDENT: Field = 4..6;
    pub const ECHO_SEQ_NO: Field = 6..8;
    pub const MTU: Field = 4..8;
    pub const POINTER: Field = 4..8;
}

/// Length of the header of echo and error messages (type, code, checksum and four
/// type-specific bytes); neighbour discovery bodies start after the first four.
pub const HEADER_LEN: usize = 8;
/// Shortest quote an error message may carry for it to be accepted: the offending
/// packet's fixed IPv6 header.
pub const MIN_QUOTED_LEN: usize = 40;
/// Longest quote that keeps an error within the minimum MTU of 1280 bytes (RFC 4443
/// §2.4(c)) under a fixed IPv6 header.
pub const MAX_QUOTED_LEN: usize = 1280 - 40 - HEADER_LEN;

enum_with_unknown! {
    /// An ICMPv6 message type (RFC 4443, RFC 4861, RFC 3810).
    pub enum Message(u8) {
        /// Destination unreachable.
        DstUnreachable = 1,
        /// Packet too big.
        PktTooBig = 2,
        /// Time exceeded.
        TimeExceeded = 3,
        /// Parameter problem.
        ParamProblem = 4,
        /// Echo request.
        EchoRequest = 128,
        /// Echo reply.
        EchoReply = 129,
        /// Multicast listener query (RFC 2710, RFC 3810).
        MldQuery = 130,
        /// MLDv1 report (RFC 2710).
        MldReport = 131,
        /// MLDv1 done (RFC 2710).
        MldDone = 132,
        /// Router solicitation (RFC 4861).
        RouterSolicit = 133,
        /// Router advertisement (RFC 4861).
        RouterAdvert = 134,
        /// Neighbour solicitation (RFC 4861).
        NeighborSolicit = 135,
        /// Neighbour advertisement (RFC 4861).
        NeighborAdvert = 136,
        /// Redirect (RFC 4861).
        Redirect = 137,
        /// MLDv2 report (RFC 3810).
        MldReportV2 = 143,
    }
}

impl Message {
    /// Whether this is an error message (types 0 to 127, RFC 4443 §2.1). No ICMPv6 error
    /// may be sent in answer to one.
    pub const fn is_error(self) -> bool {
        let raw = match self {
            Message::DstUnreachable => 1,
            Message::PktTooBig => 2,
            Message::TimeExceeded => 3,
            Message::ParamProblem => 4,
            Message::Unknown(n) => n,
            _ => 128,
        };
        raw < 128
    }

    /// Whether this is one of the five neighbour discovery messages (RFC 4861).
    pub const fn is_ndisc(self) -> bool {
        matches!(
            self,
            Message::RouterSolicit
                | Message::RouterAdvert
                | Message::NeighborSolicit
                | Message::NeighborAdvert
                | Message::Redirect
        )
    }

    /// Whether this is a multicast listener discovery message (RFC 2710, RFC 3810).
    pub const fn is_mld(self) -> bool {
        matches!(
            self,
            Message::MldQuery | Message::MldReport | Message::MldDone | Message::MldReportV2
        )
    }
}

enum_with_unknown! {
    /// The code of a destination-unreachable message (RFC 4443 §3.1).
    pub enum DstUnreachable(u8) {
        /// No route to destination.
        NoRoute = 0,
        /// Communication administratively prohibited.
        AdminProhibit = 1,
        /// Beyond the scope of the source address.
        BeyondScope = 2,
        /// Address unreachable (neighbour discovery failed).
        AddrUnreachable = 3,
        /// Port unreachable.
        PortUnreachable = 4,
        /// Source address failed ingress/egress policy.
        FailedPolicy = 5,
        /// Reject route to destination.
        RejectRoute = 6,
    }
}

enum_with_unknown! {
    /// The code of a time-exceeded message (RFC 4443 §3.3).
    pub enum TimeExceeded(u8) {
        /// Hop limit exceeded in transit.
        HopLimitExceeded = 0,
        /// Fragment reassembly time exceeded.
        FragReassemblyExceeded = 1,
    }
}

enum_with_unknown! {
    /// The code of a parameter-problem message (RFC 4443 §3.4, RFC 7112).
    pub enum ParamProblem(u8) {
        /// Erroneous header field; the pointer names it.
        ErroneousHdrField = 0,
        /// Unrecognized next header type; the pointer names the next-header field.
        UnrecognizedNxtHdr = 1,
        /// Unrecognized IPv6 option; the pointer names its type byte.
        UnrecognizedOption = 2,
        /// The first fragment does not hold the whole header chain (RFC 7112).
        IncompleteChain = 3,
    }
}

/// A read/write view of an ICMPv6 message: the whole upper-layer payload.
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
    /// the buffer (the IPv6 payload length bounds it).
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

    fn u32_at(&self, at: usize) -> u32 {
        let d = self.buffer.as_ref();
        u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]])
    }

    /// The MTU of a packet-too-big message.
    #[inline]
    pub fn pkt_too_big_mtu(&self) -> u32 {
        self.u32_at(field::MTU.start)
    }

    /// The pointer of a parameter-problem message: the offset of the offending byte
    /// from the start of the quoted IPv6 header.
    #[inline]
    pub fn param_problem_ptr(&self) -> u32 {
        self.u32_at(field::POINTER.start)
    }

    /// Whether the checksum over the pseudo-header of `src` and `dst` and the whole
    /// message verifies.
    #[inline]
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let data = self.buffer.as_ref();
        let sum = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, data.len() as u32)
            + checksum::sum(data);
        checksum::fold(sum) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The bytes after the 8-byte header: echo data, or the quoted packet of an error.
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

    /// Sets the MTU of a packet-too-big message.
    #[inline]
    pub fn set_pkt_too_big_mtu(&mut self, mtu: u32) {
        self.buffer.as_mut()[field::MTU].copy_from_slice(&mtu.to_be_bytes());
    }

    /// Sets the parameter-problem pointer.
    #[inline]
    pub fn set_param_problem_ptr(&mut self, pointer: u32) {
        self.buffer.as_mut()[field::POINTER].copy_from_slice(&pointer.to_be_bytes());
    }

    /// Zeroes the four type-specific bytes, unused in some error messages.
    #[inline]
    pub fn clear_unused(&mut self) {
        self.buffer.as_mut()[field::UNUSED].fill(0);
    }

    /// Computes the checksum over the pseudo-header of `src` and `dst` and the whole
    /// buffer, and writes it.
    #[inline]
    pub fn fill_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let sum = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, data.len() as u32)
            + checksum::sum(data);
        self.set_checksum(!checksum::fold(sum));
    }

    /// Finishes a message whose body is written: computes the checksum when
    /// `caps.icmpv6` says software does it, and otherwise seeds the field with the
    /// folded pseudo-header sum for the device to finish.
    pub(crate) fn finish_checksum(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr, caps: &ChecksumCaps) {
        if caps.icmpv6.tx() {
            self.fill_checksum(src, dst);
        } else {
            let len = self.buffer.as_ref().len() as u32;
            let seed = checksum::pseudo_header_v6(src, dst, IpProtocol::Icmpv6, len);
            self.set_checksum(checksum::fold(seed));
        }
    }

    /// The bytes after the 8-byte header, mutable.
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

/// Checks the quote of an error message: it starts with a version-6 header.
fn check_quote(quote: &[u8]) -> Result<()> {
    if quote.len() < MIN_QUOTED_LEN {
        return Err(Error::Truncated);
    }
    if quote[0] >> 4 != 6 {
        return Err(Error::Malformed);
    }
    Ok(())
}

/// The parsed form of the ICMPv6 echo and error messages. Neighbour discovery and MLD
/// messages parse with [`super::ndisc::Repr`] and [`super::mld`]; [`Repr::parse`] calls
/// them [`Error::Unrecognized`].
///
/// # Examples
///
/// ```
/// use std::net::Ipv6Addr;
/// use strata_l3l4::checksum::ChecksumCaps;
/// use strata_l3l4::{Icmpv6Packet, Icmpv6Repr};
///
/// let (src, dst) = (Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST);
/// let caps = ChecksumCaps::software();
/// let repr = Icmpv6Repr::EchoRequest { ident: 7, seq_no: 1, data_len: 4 };
/// let mut buf = vec![0u8; repr.buffer_len()];
/// buf[8..].copy_from_slice(b"ping");
/// repr.emit(&mut Icmpv6Packet::new_unchecked(&mut buf[..]), &src, &dst, &caps)?;
/// let packet = Icmpv6Packet::new_checked(&buf[..])?;
/// assert_eq!(Icmpv6Repr::parse(&packet, &src, &dst, &caps)?, repr);
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
        /// Length of the quoted packet.
        quoted_len: usize,
    },
    /// Packet too big.
    PktTooBig {
        /// The MTU of the next-hop link.
        mtu: u32,
        /// Length of the quoted packet.
        quoted_len: usize,
    },
    /// Time exceeded.
    TimeExceeded {
        /// The code.
        reason: TimeExceeded,
        /// Length of the quoted packet.
        quoted_len: usize,
    },
    /// Parameter problem.
    ParamProblem {
        /// The code.
        reason: ParamProblem,
        /// Offset of the offending byte from the start of the quoted packet.
        pointer: u32,
        /// Length of the quoted packet.
        quoted_len: usize,
    },
}

impl Repr {
    /// Checks a message received from `src` for `dst` and returns its parsed form. The
    /// checksum is verified when `caps.icmpv6` says software does it; an error message
    /// must quote at least an IPv6 header ([`MIN_QUOTED_LEN`]).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for a buffer shorter than the header or a short quote,
    /// [`Error::Checksum`], [`Error::Unrecognized`] for another type (neighbour
    /// discovery, MLD, unknown), [`Error::Malformed`] for an echo with a non-zero code
    /// or a quote that is not an IPv6 header.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        caps: &ChecksumCaps,
    ) -> Result<Repr> {
        packet.check_len()?;
        if caps.icmpv6.rx() && !packet.verify_checksum(src, dst) {
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
                quoted_len: data.len(),
            },
            Message::PktTooBig => Repr::PktTooBig {
                mtu: packet.pkt_too_big_mtu(),
                quoted_len: data.len(),
            },
            Message::TimeExceeded => Repr::TimeExceeded {
                reason: TimeExceeded::from(code),
                quoted_len: data.len(),
            },
            Message::ParamProblem => Repr::ParamProblem {
                reason: ParamProblem::from(code),
                pointer: packet.param_problem_ptr(),
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
            | Repr::PktTooBig { quoted_len, .. }
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
    /// quote, at most [`MAX_QUOTED_LEN`] bytes of it for an error) must already be in
    /// place after it. The checksum over the pseudo-header of `src` and `dst` is
    /// computed when `caps.icmpv6` says software does it; otherwise the field is seeded
    /// with the folded pseudo-header sum for the device to finish.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than [`Repr::buffer_len`],
    /// [`Error::Length`] if the message does not fit a 32-bit length.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        let len = self.buffer_len();
        if len > u32::MAX as usize {
            return Err(Error::Length);
        }
        if packet.buffer.as_ref().len() < len {
            return Err(Error::Truncated);
        }
        let mut message = Packet::new_unchecked(&mut packet.buffer.as_mut()[..len]);
        message.clear_unused();
        let (kind, code) = match *self {
            Repr::EchoRequest { ident, seq_no, .. } | Repr::EchoReply { ident, seq_no, .. } => {
                message.set_echo_ident(ident);
                message.set_echo_seq_no(seq_no);
                let request = matches!(self, Repr::EchoRequest { .. });
                let kind = if request {
                    Message::EchoRequest
                } else {
                    Message::EchoReply
                };
                (kind, 0)
            }
            Repr::DstUnreachable { reason, .. } => (Message::DstUnreachable, reason.into()),
            Repr::PktTooBig { mtu, .. } => {
                message.set_pkt_too_big_mtu(mtu);
                (Message::PktTooBig, 0)
            }
            Repr::TimeExceeded { reason, .. } => (Message::TimeExceeded, reason.into()),
            Repr::ParamProblem {
                reason, pointer, ..
            } => {
                message.set_param_problem_ptr(pointer);
                (Message::ParamProblem, reason.into())
            }
        };
        message.set_msg_type(kind);
        message.set_msg_code(code);
        message.finish_checksum(src, dst, caps);
        Ok(())
    }
}

// The tests live in `icmpv6/tests.rs`, which would push this file past 800 lines.
#[cfg(test)]
mod tests;
