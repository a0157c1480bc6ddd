//! TCP segment headers: RFC 9293 §3.1 (header format, options, the checksum over the
//! IPv4/IPv6 pseudo-header of [`IpPair`]), with the window scale and timestamps options
//! of RFC 7323 and the SACK options of RFC 2018. Checksums use the fast sum of
//! [`crate::checksum`] (RFC 1071).

use super::{read_u16, write_u16, Error, IpPair, IpProtocol, Result};
use crate::checksum::{self, ChecksumCaps};

mod field {
    use crate::wire::Field;

    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const FLAGS: Field = 12..14;
    pub const WINDOW: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
}

/// Length of the TCP header without options.
pub const HEADER_LEN: usize = 20;
/// Longest header the 4-bit data offset allows (15 words).
pub const MAX_HEADER_LEN: usize = 60;

/// Option kinds (IANA "TCP Option Kind Numbers").
mod kind {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const MSS: u8 = 2;
    pub const WS: u8 = 3;
    pub const SACK_PERM: u8 = 4;
    pub const SACK: u8 = 5;
    pub const TS: u8 = 8;
}

fn read_u32(data: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]])
}

fn write_u32(data: &mut [u8], at: usize, value: u32) {
    data[at..at + 4].copy_from_slice(&value.to_be_bytes());
}

/// The control bits of a TCP header (RFC 9293 §3.1, RFC 3168 for ECE and CWR), as a
/// small bitset in the low 8 bits of the flags word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags(u8);

impl Flags {
    /// No more data from sender.
    pub const FIN: Flags = Flags(0x01);
    /// Synchronize sequence numbers.
    pub const SYN: Flags = Flags(0x02);
    /// Reset the connection.
    pub const RST: Flags = Flags(0x04);
    /// Push function.
    pub const PSH: Flags = Flags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: Flags = Flags(0x10);
    /// The urgent pointer is significant.
    pub const URG: Flags = Flags(0x20);
    /// ECN-Echo (RFC 3168).
    pub const ECE: Flags = Flags(0x40);
    /// Congestion window reduced (RFC 3168).
    pub const CWR: Flags = Flags(0x80);

    /// No flags set.
    pub const fn empty() -> Flags {
        Flags(0)
    }

    /// The flags from their wire bits.
    pub const fn from_bits(bits: u8) -> Flags {
        Flags(bits)
    }

    /// The wire bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether every flag of `other` is set.
    pub const fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether no flag is set.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl core::ops::BitOr for Flags {
    type Output = Flags;
    fn bitor(self, rhs: Flags) -> Flags {
        Flags(self.0 | rhs.0)
    }
}

impl core::ops::BitOrAssign for Flags {
    fn bitor_assign(&mut self, rhs: Flags) {
        self.0 |= rhs.0;
    }
}

/// A read/write view of a TCP segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than 20 bytes or than the data
    /// offset. Use [`Packet::new_checked`] on bytes from the wire.
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

    /// Checks that the buffer holds the fixed header, that the data offset is at least 5
    /// words and that the header it announces fits the buffer. The segment is the whole
    /// buffer: TCP has no length field, its length comes from the IP layer.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for fewer than 20 bytes or a header past the buffer,
    /// [`Error::HeaderLen`] for a data offset below 5.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let header_len = usize::from(self.header_len());
        if header_len < HEADER_LEN {
            return Err(Error::HeaderLen);
        }
        if header_len > data.len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::SRC_PORT.start)
    }

    /// The destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::DST_PORT.start)
    }

    /// The sequence number.
    #[inline]
    pub fn seq_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::SEQ_NUM.start)
    }

    /// The acknowledgment number (meaningful only with [`Flags::ACK`]).
    #[inline]
    pub fn ack_number(&self) -> u32 {
        read_u32(self.buffer.as_ref(), field::ACK_NUM.start)
    }

    /// The data offset: header length in 32-bit words.
    #[inline]
    pub fn data_offset(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS.start] >> 4
    }

    /// The header length in bytes, options included.
    #[inline]
    pub fn header_len(&self) -> u8 {
        self.data_offset() * 4
    }

    /// The control bits.
    #[inline]
    pub fn flags(&self) -> Flags {
        Flags(self.buffer.as_ref()[field::FLAGS.start + 1])
    }

    /// The receive window (unscaled).
    #[inline]
    pub fn window_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::WINDOW.start)
    }

    /// The checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The urgent pointer.
    #[inline]
    pub fn urgent_at(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::URGENT.start)
    }

    /// The length of the segment: header and payload (the whole buffer).
    #[inline]
    pub fn segment_len(&self) -> usize {
        self.buffer.as_ref().len()
    }

    /// Whether the checksum verifies over the pseudo-header of `pair`, the header and
    /// the payload. Segments longer than 65535 bytes never verify over IPv4.
    pub fn verify_checksum(&self, pair: &IpPair) -> bool {
        let data = self.buffer.as_ref();
        if !pair.is_ipv6() && data.len() > usize::from(u16::MAX) {
            return false;
        }
        let Ok(len) = u32::try_from(data.len()) else {
            return false;
        };
        let sum = pair.pseudo_header_sum(IpProtocol::Tcp, len) + checksum::sum(data);
        checksum::fold(sum) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The option bytes, between the fixed header and the data offset.
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        &data[HEADER_LEN..usize::from(self.header_len())]
    }

    /// The options, parsed one by one.
    #[inline]
    pub fn option_iter(&self) -> OptionIter<'a> {
        OptionIter::new(self.options())
    }

    /// The payload: from the data offset to the end of the buffer.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        &data[usize::from(self.header_len())..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the source port.
    #[inline]
    pub fn set_src_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::SRC_PORT.start, port);
    }

    /// Sets the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, port: u16) {
        write_u16(self.buffer.as_mut(), field::DST_PORT.start, port);
    }

    /// Sets the sequence number.
    #[inline]
    pub fn set_seq_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::SEQ_NUM.start, value);
    }

    /// Sets the acknowledgment number.
    #[inline]
    pub fn set_ack_number(&mut self, value: u32) {
        write_u32(self.buffer.as_mut(), field::ACK_NUM.start, value);
    }

    /// Sets the header length in bytes (rounded down to whole words; at most 60). The
    /// reserved bits are cleared.
    #[inline]
    pub fn set_header_len(&mut self, len: u8) {
        self.buffer.as_mut()[field::FLAGS.start] = ((len / 4) & 0x0f) << 4;
    }

    /// Sets the control bits.
    #[inline]
    pub fn set_flags(&mut self, flags: Flags) {
        self.buffer.as_mut()[field::FLAGS.start + 1] = flags.bits();
    }

    /// Sets the receive window.
    #[inline]
    pub fn set_window_len(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::WINDOW.start, value);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Sets the urgent pointer.
    #[inline]
    pub fn set_urgent_at(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::URGENT.start, value);
    }

    /// The option bytes, mutable (as far as the data offset says).
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.header_len());
        &mut self.buffer.as_mut()[HEADER_LEN..len]
    }

    /// The payload, mutable: from the data offset to the end of the buffer.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.header_len());
        &mut self.buffer.as_mut()[len..]
    }

    /// Computes the checksum over the pseudo-header of `pair`, the header and the
    /// payload (the whole buffer) and writes it.
    pub fn fill_checksum(&mut self, pair: &IpPair) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let sum = pair.pseudo_header_sum(IpProtocol::Tcp, data.len() as u32) + checksum::sum(data);
        self.set_checksum(!checksum::fold(sum));
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// One TCP option (RFC 9293 §3.2, RFC 7323, RFC 2018).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TcpOption {
    /// End of option list (kind 0).
    EndOfList,
    /// No operation, used as padding (kind 1).
    NoOp,
    /// Maximum segment size (kind 2, SYN only).
    MaxSegmentSize(u16),
    /// Window scale shift count (kind 3, RFC 7323 §2).
    WindowScale(u8),
    /// SACK permitted (kind 4, RFC 2018 §2).
    SackPermitted,
    /// SACK blocks (kind 5, RFC 2018 §3): up to four `(left, right)` edges.
    SackRange([Option<(u32, u32)>; 4]),
    /// Timestamps (kind 8, RFC 7323 §3).
    Timestamps {
        /// Timestamp value.
        tsval: u32,
        /// Timestamp echo reply.
        tsecr: u32,
    },
    /// An option of another kind; its data are skipped.
    Unknown {
        /// The option kind.
        kind: u8,
        /// The option length, kind and length bytes included.
        len: u8,
    },
}

impl TcpOption {
    /// Parses the option at the start of `data`, returning the rest and the option.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] for an empty buffer, a length below 2, an option running past
    /// the buffer, or a known kind with the wrong length.
    pub fn parse(data: &[u8]) -> Result<(&[u8], TcpOption)> {
        let (&kind, rest) = data.split_first().ok_or(Error::Options)?;
        match kind {
            kind::END => return Ok((rest, TcpOption::EndOfList)),
            kind::NOP => return Ok((rest, TcpOption::NoOp)),
            _ => {}
        }
        let len = *rest.first().ok_or(Error::Options)?;
        let ulen = usize::from(len);
        if ulen < 2 || ulen > data.len() {
            return Err(Error::Options);
        }
        let body = &data[2..ulen];
        let option = match (kind, len) {
            (kind::MSS, 4) => TcpOption::MaxSegmentSize(read_u16(body, 0)),
            (kind::WS, 3) => TcpOption::WindowScale(body[0]),
            (kind::SACK_PERM, 2) => TcpOption::SackPermitted,
            (kind::SACK, _) if (10..=34).contains(&ulen) && (ulen - 2) % 8 == 0 => {
                let mut blocks = [None; 4];
                for (slot, edges) in blocks.iter_mut().zip(body.chunks_exact(8)) {
                    *slot = Some((read_u32(edges, 0), read_u32(edges, 4)));
                }
                TcpOption::SackRange(blocks)
            }
            (kind::TS, 10) => TcpOption::Timestamps {
                tsval: read_u32(body, 0),
                tsecr: read_u32(body, 4),
            },
            (kind::MSS | kind::WS | kind::SACK_PERM | kind::SACK | kind::TS, _) => {
                return Err(Error::Options)
            }
            _ => TcpOption::Unknown { kind, len },
        };
        Ok((&data[ulen..], option))
    }

    /// The number of bytes [`TcpOption::emit`] writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOp => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(blocks) => 2 + 8 * blocks.iter().flatten().count(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::Unknown { len, .. } => usize::from(*len).max(2),
        }
    }

    /// Writes the option at the start of `data` and returns the rest. An unknown
    /// option's data are written as zeros.
    ///
    /// # Panics
    ///
    /// If `data` is shorter than [`TcpOption::buffer_len`].
    pub fn emit<'a>(&self, data: &'a mut [u8]) -> &'a mut [u8] {
        let len = self.buffer_len();
        let (out, rest) = data.split_at_mut(len);
        match *self {
            TcpOption::EndOfList => out[0] = kind::END,
            TcpOption::NoOp => out[0] = kind::NOP,
            TcpOption::MaxSegmentSize(mss) => {
                out[..2].copy_from_slice(&[kind::MSS, 4]);
                write_u16(out, 2, mss);
            }
            TcpOption::WindowScale(shift) => out.copy_from_slice(&[kind::WS, 3, shift]),
            TcpOption::SackPermitted => out.copy_from_slice(&[kind::SACK_PERM, 2]),
            TcpOption::SackRange(blocks) => {
                out[..2].copy_from_slice(&[kind::SACK, len as u8]);
                for (i, (left, right)) in blocks.iter().flatten().enumerate() {
                    write_u32(out, 2 + 8 * i, *left);
                    write_u32(out, 6 + 8 * i, *right);
                }
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                out[..2].copy_from_slice(&[kind::TS, 10]);
                write_u32(out, 2, tsval);
                write_u32(out, 6, tsecr);
            }
            TcpOption::Unknown { kind, .. } => {
                out[0] = kind;
                out[1] = len as u8;
                out[2..].fill(0);
            }
        }
        rest
    }
}

/// An iterator over the options of a header. It yields [`TcpOption::EndOfList`] once
/// and stops there; after an error it yields the error once and stops. It never panics.
#[derive(Debug, Clone)]
pub struct OptionIter<'a> {
    data: &'a [u8],
}

impl<'a> OptionIter<'a> {
    /// Iterates over `data`, the option bytes of a header.
    pub const fn new(data: &'a [u8]) -> Self {
        OptionIter { data }
    }
}

impl Iterator for OptionIter<'_> {
    type Item = Result<TcpOption>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        match TcpOption::parse(self.data) {
            Ok((_, TcpOption::EndOfList)) => {
                self.data = &[];
                Some(Ok(TcpOption::EndOfList))
            }
            Ok((rest, option)) => {
                self.data = rest;
                Some(Ok(option))
            }
            Err(e) => {
                self.data = &[];
                Some(Err(e))
            }
        }
    }
}

/// The parsed form of a TCP header, with the options a connection acts on.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::checksum::ChecksumCaps;
/// use strata_l3l4::{IpPair, TcpFlags, TcpPacket, TcpRepr};
///
/// let pair = IpPair::v4(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2));
/// let caps = ChecksumCaps::software();
/// let repr = TcpRepr {
///     src_port: 40000,
///     dst_port: 80,
///     seq: 1,
///     ack: None,
///     flags: TcpFlags::SYN,
///     window: 64240,
///     max_seg_size: Some(1460),
///     window_scale: Some(7),
///     sack_permitted: true,
///     sack_ranges: [None; 3],
///     timestamp: Some((1, 0)),
///     payload_len: 0,
/// };
/// let mut buf = vec![0u8; repr.buffer_len()];
/// repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), &pair, &caps)?;
/// let packet = TcpPacket::new_checked(&buf[..])?;
/// assert_eq!(TcpRepr::parse(&packet, &pair, &caps)?, repr);
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number; `Some` exactly when the ACK flag is set.
    pub ack: Option<u32>,
    /// Control bits. [`Flags::ACK`] follows `ack` on emit and is set from it on parse.
    pub flags: Flags,
    /// Receive window (unscaled).
    pub window: u16,
    /// Maximum segment size option.
    pub max_seg_size: Option<u16>,
    /// Window scale option.
    pub window_scale: Option<u8>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// SACK blocks (the first three; three fit beside timestamps).
    pub sack_ranges: [Option<(u32, u32)>; 3],
    /// Timestamps option: `(tsval, tsecr)`.
    pub timestamp: Option<(u32, u32)>,
    /// Payload length in bytes.
    pub payload_len: usize,
}

impl Repr {
    /// Checks a segment received from `pair` and returns its parsed form. The checksum
    /// is verified when `caps.tcp` says software does it. Unknown options are skipped;
    /// a fourth SACK block is dropped.
    ///
    /// # Errors
    ///
    /// Those of [`Packet::check_len`], [`Error::Checksum`], [`Error::Options`] for
    /// malformed options, [`Error::Malformed`] for a zero port.
    pub fn parse<T: AsRef<[u8]>>(
        packet: &Packet<T>,
        pair: &IpPair,
        caps: &ChecksumCaps,
    ) -> Result<Repr> {
        packet.check_len()?;
        if packet.src_port() == 0 || packet.dst_port() == 0 {
            return Err(Error::Malformed);
        }
        if caps.tcp.rx() && !packet.verify_checksum(pair) {
            return Err(Error::Checksum);
        }
        let data = packet.buffer.as_ref();
        let header_len = usize::from(packet.header_len());
        let flags = packet.flags();
        let mut repr = Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq: packet.seq_number(),
            ack: flags.contains(Flags::ACK).then(|| packet.ack_number()),
            flags,
            window: packet.window_len(),
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; 3],
            timestamp: None,
            payload_len: data.len() - header_len,
        };
        for option in OptionIter::new(&data[HEADER_LEN..header_len]) {
            match option? {
                TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                TcpOption::WindowScale(shift) => repr.window_scale = Some(shift),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::SackRange(blocks) => {
                    repr.sack_ranges.copy_from_slice(&blocks[..3]);
                }
                TcpOption::Timestamps { tsval, tsecr } => repr.timestamp = Some((tsval, tsecr)),
                TcpOption::EndOfList | TcpOption::NoOp | TcpOption::Unknown { .. } => {}
            }
        }
        Ok(repr)
    }

    /// Length of the options [`Repr::emit`] writes: each group NOP-aligned so the
    /// total is a whole number of words ([`Repr::aligned_len`]), or, when that
    /// would not fit the 40 bytes a header has room for, packed without
    /// alignment ([`Repr::packed_len`]) — the form a sender that fitted these
    /// options into one header used.
    const fn options_len(&self) -> usize {
        let aligned = self.aligned_len();
        if HEADER_LEN + aligned <= MAX_HEADER_LEN {
            aligned
        } else {
            self.packed_len()
        }
    }

    /// The number of SACK blocks kept.
    const fn sack_blocks(&self) -> usize {
        let mut blocks = 0;
        let mut i = 0;
        while i < 3 {
            if self.sack_ranges[i].is_some() {
                blocks += 1;
            }
            i += 1;
        }
        blocks
    }

    /// The options in Linux's aligned layout.
    const fn aligned_len(&self) -> usize {
        let mut len = 0;
        if self.max_seg_size.is_some() {
            len += 4;
        }
        // SACK permitted and timestamps share a word-aligned group: 2 + 10 = 12; alone,
        // each is preceded by two NOPs.
        if self.sack_permitted || self.timestamp.is_some() {
            len += 2 + if self.timestamp.is_some() { 10 } else { 2 };
        }
        if self.window_scale.is_some() {
            len += 4;
        }
        let blocks = self.sack_blocks();
        if blocks > 0 {
            len += 4 + 8 * blocks;
        }
        len
    }

    /// The options back to back, the list padded with NOPs to a word.
    const fn packed_len(&self) -> usize {
        let mut len = 0;
        if self.max_seg_size.is_some() {
            len += 4;
        }
        if self.sack_permitted {
            len += 2;
        }
        if self.timestamp.is_some() {
            len += 10;
        }
        if self.window_scale.is_some() {
            len += 3;
        }
        let blocks = self.sack_blocks();
        if blocks > 0 {
            len += 2 + 8 * blocks;
        }
        len.div_ceil(4) * 4
    }

    /// Length of the header [`Repr::emit`] writes: 20 bytes and the options. May
    /// exceed [`MAX_HEADER_LEN`] when even the packed options do not fit (a repr
    /// built by hand: every option and three SACK blocks), which `emit` then
    /// refuses; a repr parsed from a segment always fits.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN + self.options_len()
    }

    /// Length of the whole segment: header and payload.
    pub const fn buffer_len(&self) -> usize {
        self.header_len().saturating_add(self.payload_len)
    }

    /// Writes the header and options into the start of `packet`'s buffer, whose payload
    /// must already be in place after the header; the segment is the first
    /// [`Repr::buffer_len`] bytes. Options go in the order Linux uses (MSS, SACK
    /// permitted, timestamps, window scale, SACK blocks), each preceded by NOPs that
    /// align it as RFC 7323 Appendix A suggests, the list padded with NOPs to a word
    /// (back to back, without the aligning NOPs, when the aligned list would not
    /// fit the header).
    /// When `caps.tcp` says software computes the checksum it is computed over the
    /// pseudo-header of `pair`; otherwise the field is seeded with the folded
    /// pseudo-header sum for the device to finish.
    ///
    /// # Errors
    ///
    /// [`Error::HeaderLen`] if the options do not fit 40 bytes, [`Error::Length`] if
    /// the segment exceeds 65535 bytes over IPv4 (or `u32` over IPv6),
    /// [`Error::Truncated`] if the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        pair: &IpPair,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        let header_len = self.header_len();
        if header_len > MAX_HEADER_LEN {
            return Err(Error::HeaderLen);
        }
        let len = self.buffer_len();
        let max = if pair.is_ipv6() {
            u32::MAX as usize
        } else {
            usize::from(u16::MAX)
        };
        if len > max {
            return Err(Error::Length);
        }
        if packet.buffer.as_ref().len() < len {
            return Err(Error::Truncated);
        }
        let mut packet = Packet::new_unchecked(&mut packet.buffer.as_mut()[..len]);
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq);
        packet.set_ack_number(self.ack.unwrap_or(0));
        packet.set_header_len(header_len as u8);
        let mut flags = Flags(self.flags.bits() & !Flags::ACK.bits());
        if self.ack.is_some() {
            flags |= Flags::ACK;
        }
        packet.set_flags(flags);
        packet.set_window_len(self.window);
        packet.set_urgent_at(0);
        self.emit_options(packet.options_mut());
        if caps.tcp.tx() {
            packet.fill_checksum(pair);
        } else {
            let seed = pair.pseudo_header_sum(IpProtocol::Tcp, len as u32);
            packet.set_checksum(checksum::fold(seed));
        }
        Ok(())
    }

    /// Writes the options into `out`, which is exactly the padded options length.
    fn emit_options(&self, out: &mut [u8]) {
        debug_assert_eq!(out.len(), self.options_len());
        let packed = self.options_len() != self.aligned_len();
        let mut at = 0;
        // Each option ends on a word boundary: `pad` NOPs go before it.
        let mut put = |out: &mut [u8], option: TcpOption, pad: usize| {
            let pad = if packed { 0 } else { pad };
            out[at..at + pad].fill(kind::NOP);
            at += pad;
            option.emit(&mut out[at..]);
            at += option.buffer_len();
        };
        if let Some(mss) = self.max_seg_size {
            put(out, TcpOption::MaxSegmentSize(mss), 0);
        }
        match (self.sack_permitted, self.timestamp) {
            (true, Some((tsval, tsecr))) => {
                put(out, TcpOption::SackPermitted, 0);
                put(out, TcpOption::Timestamps { tsval, tsecr }, 0);
            }
            (true, None) => put(out, TcpOption::SackPermitted, 2),
            (false, Some((tsval, tsecr))) => put(out, TcpOption::Timestamps { tsval, tsecr }, 2),
            (false, None) => {}
        }
        if let Some(shift) = self.window_scale {
            put(out, TcpOption::WindowScale(shift), 1);
        }
        if self.sack_ranges.iter().any(Option::is_some) {
            let mut blocks = [None; 4];
            for (slot, block) in blocks.iter_mut().zip(self.sack_ranges.iter().flatten()) {
                *slot = Some(*block);
            }
            put(out, TcpOption::SackRange(blocks), 2);
        }
        // Packed options end anywhere: NOPs up to the word.
        out[at..].fill(kind::NOP);
    }
}

#[cfg(test)]
mod tests;
