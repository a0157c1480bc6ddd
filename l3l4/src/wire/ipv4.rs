//! IPv4 headers: RFC 791, with the host requirements of RFC 1122 §3.2.1, the header
//! checksum of RFC 1071 and its incremental update for TTL and address rewrites
//! (RFC 1624).
//!
//! [`Packet`] reads and writes every header field, exposes options (with a light
//! validity walk) and fragment fields; [`Packet::validate`] is the receive-path check
//! whose errors map onto Zephyr's drop classes through [`DropReason`]. [`Repr`] is the
//! parsed form of an option-less header, for emitting.

use std::net::Ipv4Addr;

use super::{read_u16, write_u16, Error, IpProtocol, Result};
use crate::checksum::{self, ChecksumCaps};

mod field {
    use crate::wire::Field;

    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
}

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;
/// Longest header: IHL 15, 40 bytes of options.
pub const MAX_HEADER_LEN: usize = 60;
/// Longest datagram, or reassembled datagram, that the 16-bit total length allows.
pub const MAX_LEN: usize = 65_535;
/// The TTL that RFC 1700 recommends (and Linux uses) for locally sent datagrams.
pub const DEFAULT_TTL: u8 = 64;

const FLAG_RESERVED: u16 = 0x8000;
const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// Option types that the validity walk knows (RFC 791, RFC 2113).
mod option {
    pub const END: u8 = 0;
    pub const NOP: u8 = 1;
    pub const RECORD_ROUTE: u8 = 7;
    pub const TIMESTAMP: u8 = 68;
    pub const SECURITY: u8 = 130;
    pub const LOOSE_ROUTE: u8 = 131;
    pub const STREAM_ID: u8 = 136;
    pub const STRICT_ROUTE: u8 = 137;
    pub const ROUTER_ALERT: u8 = 148;
}

/// Why an IPv4 datagram was dropped, in the classes of Zephyr's `net_stats_ip_errors`
/// (plus [`DropReason::Options`], which Zephyr counts nowhere).
///
/// `From<Error>` classifies the errors of [`Packet::validate`] and [`Repr::parse`]:
/// errors from the first byte are `vhl`, a header that does not fit the bytes received is
/// `hblen`, a bad total-length field is `lblen`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Version not 4, or header length (IHL) below 5 (Zephyr's `vhlerr`).
    Vhl,
    /// The header, 20 bytes or IHL × 4, is longer than the bytes received (`hblenerr`).
    Hblen,
    /// The total length is below the header length or past the bytes received
    /// (`lblenerr`).
    Lblen,
    /// Inconsistent fragment fields, or a fragment that cannot be reassembled
    /// (`fragerr`).
    Frag,
    /// The header checksum does not verify (`chkerr`).
    Checksum,
    /// A protocol the stack does not handle (`protoerr`); counted by the layer that
    /// demultiplexes, since the header itself is valid.
    Proto,
    /// Malformed options.
    Options,
}

impl DropReason {
    /// Every reason, for registering counters.
    pub const ALL: [DropReason; 7] = [
        DropReason::Vhl,
        DropReason::Hblen,
        DropReason::Lblen,
        DropReason::Frag,
        DropReason::Checksum,
        DropReason::Proto,
        DropReason::Options,
    ];

    /// The reason's label in metrics and the stats JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Vhl => "vhl",
            DropReason::Hblen => "hblen",
            DropReason::Lblen => "lblen",
            DropReason::Frag => "frag",
            DropReason::Checksum => "checksum",
            DropReason::Proto => "proto",
            DropReason::Options => "options",
        }
    }
}

impl From<Error> for DropReason {
    fn from(error: Error) -> Self {
        match error {
            Error::Version | Error::HeaderLen => DropReason::Vhl,
            Error::Truncated | Error::Malformed => DropReason::Hblen,
            Error::Length => DropReason::Lblen,
            Error::Fragment => DropReason::Frag,
            Error::Checksum => DropReason::Checksum,
            Error::Unrecognized => DropReason::Proto,
            Error::Options => DropReason::Options,
        }
    }
}

/// A read/write view of an IPv4 header and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than 20 bytes, or than the header
    /// and total lengths the buffer announces. Use [`Packet::new_checked`] on bytes from
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
    /// version-4 header of a valid length, and the total length lies between the header
    /// length and the buffer length (bytes past it, such as Ethernet padding, are
    /// ignored).
    ///
    /// # Errors
    ///
    /// In this order: [`Error::Truncated`] for fewer than 20 bytes, [`Error::Version`],
    /// [`Error::HeaderLen`] for IHL < 5, [`Error::Truncated`] for a header longer than
    /// the buffer, [`Error::Length`] for a total length below the header length or
    /// past the buffer.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if data[field::VER_IHL] >> 4 != 4 {
            return Err(Error::Version);
        }
        let header_len = usize::from(data[field::VER_IHL] & 0x0f) * 4;
        if header_len < HEADER_LEN {
            return Err(Error::HeaderLen);
        }
        if data.len() < header_len {
            return Err(Error::Truncated);
        }
        let total_len = usize::from(read_u16(data, field::LENGTH.start));
        if total_len < header_len || total_len > data.len() {
            return Err(Error::Length);
        }
        Ok(())
    }

    /// The full receive-path validation: [`Packet::check_len`], then the header
    /// checksum (when `caps.ipv4` says software verifies it), then
    /// [`Packet::check_options`] and [`Packet::check_fragment`]. Convert an error into a
    /// [`DropReason`] to count it.
    ///
    /// # Errors
    ///
    /// Those of the checks above, and [`Error::Checksum`].
    pub fn validate(&self, caps: &ChecksumCaps) -> Result<()> {
        self.check_len()?;
        if caps.ipv4.rx() && !self.verify_checksum() {
            return Err(Error::Checksum);
        }
        self.check_options()?;
        self.check_fragment()
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version field (4 for a checked packet).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// The header length in bytes (IHL × 4).
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// The Differentiated Services code point (RFC 2474), 0 to 63.
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    /// The Explicit Congestion Notification bits (RFC 3168), 0 to 3.
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    /// The total length field: header and payload, in bytes.
    #[inline]
    pub fn total_len(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::LENGTH.start)
    }

    /// The payload length: total length minus header length (0 if the fields disagree).
    #[inline]
    pub fn payload_len(&self) -> usize {
        usize::from(self.total_len()).saturating_sub(self.header_len())
    }

    /// The identification field, shared by the fragments of one datagram.
    #[inline]
    pub fn ident(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::IDENT.start)
    }

    fn flags_offset(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::FLG_OFF.start)
    }

    /// The reserved flag, which RFC 791 requires to be zero (received packets are not
    /// dropped for it, as in Linux).
    #[inline]
    pub fn reserved_flag(&self) -> bool {
        self.flags_offset() & FLAG_RESERVED != 0
    }

    /// The "don't fragment" flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_offset() & FLAG_DF != 0
    }

    /// The "more fragments" flag: set on every fragment but the last.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_offset() & FLAG_MF != 0
    }

    /// The fragment offset in bytes (the field × 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flags_offset() & OFFSET_MASK) << 3
    }

    /// Whether this datagram is a fragment (more fragments follow, or the offset is not
    /// zero) and needs reassembly.
    #[inline]
    pub fn is_fragment(&self) -> bool {
        self.flags_offset() & (FLAG_MF | OFFSET_MASK) != 0
    }

    /// The time-to-live field.
    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol of the payload.
    #[inline]
    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// The header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::CHECKSUM.start)
    }

    /// The source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        let d = self.buffer.as_ref();
        Ipv4Addr::new(d[12], d[13], d[14], d[15])
    }

    /// The destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        let d = self.buffer.as_ref();
        Ipv4Addr::new(d[16], d[17], d[18], d[19])
    }

    /// Whether the header checksum verifies.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        // The header is a whole number of 4-byte words.
        checksum::fold(checksum::sum_header(
            &self.buffer.as_ref()[..self.header_len()],
        )) == 0xffff
    }

    /// Walks the options: END ends the list (the rest is padding), NOP is one byte,
    /// every other option has a length byte of at least 2 that stays inside the header;
    /// record-route, source-route, timestamp, security, stream-id and router-alert
    /// options also have their length and pointer checked (RFC 791, RFC 2113).
    ///
    /// # Errors
    ///
    /// [`Error::Options`] for the first malformed option.
    pub fn check_options(&self) -> Result<()> {
        check_options(&self.buffer.as_ref()[HEADER_LEN..self.header_len()])
    }

    /// Checks the fragment fields: a fragment followed by more must carry a non-zero
    /// multiple of 8 bytes (RFC 791), and no fragment may reach past 65535 bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Fragment`].
    pub fn check_fragment(&self) -> Result<()> {
        let payload_len = self.payload_len();
        if self.more_frags() && (payload_len == 0 || payload_len % 8 != 0) {
            return Err(Error::Fragment);
        }
        if self.header_len() + usize::from(self.frag_offset()) + payload_len > MAX_LEN {
            return Err(Error::Fragment);
        }
        Ok(())
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The option bytes (empty for IHL 5).
    #[inline]
    pub fn options(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        &data[HEADER_LEN..self.header_len()]
    }

    /// The payload: from the end of the header to the total length.
    #[inline]
    pub fn payload(&self) -> &'a [u8] {
        let data = self.buffer.as_ref();
        &data[self.header_len()..usize::from(self.total_len())]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the version field.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let d = self.buffer.as_mut();
        d[field::VER_IHL] = (d[field::VER_IHL] & 0x0f) | (version << 4);
    }

    /// Sets the header length in bytes; it must be a multiple of 4 from 20 to 60 (the
    /// low two bits are dropped).
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        let d = self.buffer.as_mut();
        d[field::VER_IHL] = (d[field::VER_IHL] & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    /// Sets the DSCP (its low six bits).
    #[inline]
    pub fn set_dscp(&mut self, dscp: u8) {
        let d = self.buffer.as_mut();
        d[field::DSCP_ECN] = (d[field::DSCP_ECN] & 0x03) | (dscp << 2);
    }

    /// Sets the ECN bits (the low two bits of `ecn`).
    #[inline]
    pub fn set_ecn(&mut self, ecn: u8) {
        let d = self.buffer.as_mut();
        d[field::DSCP_ECN] = (d[field::DSCP_ECN] & 0xfc) | (ecn & 0x03);
    }

    /// Sets the total length.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        write_u16(self.buffer.as_mut(), field::LENGTH.start, len);
    }

    /// Sets the identification field.
    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        write_u16(self.buffer.as_mut(), field::IDENT.start, ident);
    }

    fn set_flags_offset(&mut self, value: u16) {
        write_u16(self.buffer.as_mut(), field::FLG_OFF.start, value);
    }

    /// Clears the flags and the fragment offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        self.set_flags_offset(0);
    }

    /// Sets or clears the "don't fragment" flag.
    #[inline]
    pub fn set_dont_frag(&mut self, value: bool) {
        let raw = self.flags_offset() & !FLAG_DF;
        self.set_flags_offset(if value { raw | FLAG_DF } else { raw });
    }

    /// Sets or clears the "more fragments" flag.
    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        let raw = self.flags_offset() & !FLAG_MF;
        self.set_flags_offset(if value { raw | FLAG_MF } else { raw });
    }

    /// Sets the fragment offset in bytes; it must be a multiple of 8 (the low three bits
    /// are dropped).
    #[inline]
    pub fn set_frag_offset(&mut self, offset: u16) {
        let raw = self.flags_offset() & !OFFSET_MASK;
        self.set_flags_offset(raw | (offset >> 3));
    }

    /// Sets the time-to-live field (the checksum is not updated; see
    /// [`Packet::update_ttl`]).
    #[inline]
    pub fn set_ttl(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Sets the protocol field.
    #[inline]
    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = u8::from(protocol);
    }

    /// Sets the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, checksum: u16) {
        write_u16(self.buffer.as_mut(), field::CHECKSUM.start, checksum);
    }

    /// Sets the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&addr.octets());
    }

    /// Sets the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&addr.octets());
    }

    /// Computes the header checksum and writes it.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let sum = checksum::checksum(&self.buffer.as_ref()[..header_len]);
        self.set_checksum(sum);
    }

    /// Sets the TTL and updates the checksum incrementally (RFC 1624), as a router does
    /// when it forwards.
    #[inline]
    pub fn update_ttl(&mut self, ttl: u8) {
        let protocol = self.buffer.as_ref()[field::PROTOCOL];
        let old = u16::from_be_bytes([self.ttl(), protocol]);
        let new = u16::from_be_bytes([ttl, protocol]);
        let sum = checksum::update_u16(self.checksum(), old, new);
        self.set_ttl(ttl);
        self.set_checksum(sum);
    }

    /// Sets the source address and updates the checksum incrementally (RFC 1624), as
    /// address translation does. Upper-layer checksums that cover the address need
    /// their own update.
    #[inline]
    pub fn update_src_addr(&mut self, addr: Ipv4Addr) {
        let sum = checksum::update_u32(self.checksum(), self.src_addr().into(), addr.into());
        self.set_src_addr(addr);
        self.set_checksum(sum);
    }

    /// Sets the destination address and updates the checksum incrementally (RFC 1624).
    #[inline]
    pub fn update_dst_addr(&mut self, addr: Ipv4Addr) {
        let sum = checksum::update_u32(self.checksum(), self.dst_addr().into(), addr.into());
        self.set_dst_addr(addr);
        self.set_checksum(sum);
    }

    /// The option bytes, mutable.
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        &mut self.buffer.as_mut()[HEADER_LEN..header_len]
    }

    /// The payload, mutable: from the end of the header to the total length.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.header_len()..usize::from(self.total_len());
        &mut self.buffer.as_mut()[range]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The option walk of [`Packet::check_options`]. Every step consumes at least one byte,
/// so it ends after at most 40 steps.
fn check_options(mut options: &[u8]) -> Result<()> {
    while let [kind, rest @ ..] = options {
        match *kind {
            option::END => return Ok(()),
            option::NOP => options = rest,
            kind => {
                let Some(&len) = rest.first() else {
                    return Err(Error::Options);
                };
                let len = usize::from(len);
                if len < 2 || len > options.len() {
                    return Err(Error::Options);
                }
                check_option(kind, &options[..len])?;
                options = &options[len..];
            }
        }
    }
    Ok(())
}

/// Type-specific length and pointer rules for one option (`opt` includes type and length
/// bytes); unknown options pass.
/// Copies into `out` the options of `options` whose type has the "copied" flag (the
/// high bit: security, loose and strict source route, stream identifier, router
/// alert), the ones RFC 791 §3.1 says go into every fragment, padded with END to a
/// multiple of 4 bytes. The options of a first fragment are the whole set; later
/// fragments carry only these. Returns the bytes written (0 when none is copied).
///
/// # Errors
///
/// [`Error::Options`] for malformed options (as [`Packet::check_options`]);
/// [`Error::Truncated`] if `out` is too short (40 bytes always suffice).
///
/// # Examples
///
/// ```
/// use strata_l3l4::wire::ipv4::copied_options;
///
/// // Record route (not copied), then router alert (copied), then END.
/// let options = [7, 7, 4, 0, 0, 0, 0, 148, 4, 0, 0, 0];
/// let mut out = [0xaa; 40];
/// assert_eq!(copied_options(&options, &mut out), Ok(4));
/// assert_eq!(&out[..4], &[148, 4, 0, 0]);
/// ```
pub fn copied_options(options: &[u8], out: &mut [u8]) -> Result<usize> {
    check_options(options)?;
    let mut written = 0;
    let mut rest = options;
    while let [kind, tail @ ..] = rest {
        match *kind {
            option::END => break,
            option::NOP => rest = tail,
            kind => {
                // `check_options` accepted the walk: the length is in range.
                let len = usize::from(tail[0]);
                if kind & 0x80 != 0 {
                    out.get_mut(written..written + len)
                        .ok_or(Error::Truncated)?
                        .copy_from_slice(&rest[..len]);
                    written += len;
                }
                rest = &rest[len..];
            }
        }
    }
    let padded = written.next_multiple_of(4);
    out.get_mut(written..padded)
        .ok_or(Error::Truncated)?
        .fill(option::END);
    Ok(padded)
}

fn check_option(kind: u8, opt: &[u8]) -> Result<()> {
    let len = opt.len();
    let pointer = opt.get(2).copied().unwrap_or(0);
    let valid = match kind {
        option::RECORD_ROUTE | option::LOOSE_ROUTE | option::STRICT_ROUTE => {
            len >= 3 && pointer >= 4
        }
        option::TIMESTAMP => len >= 4 && pointer >= 5,
        option::SECURITY => len == 11,
        option::STREAM_ID | option::ROUTER_ALERT => len == 4,
        _ => true,
    };
    if valid {
        Ok(())
    } else {
        Err(Error::Options)
    }
}

/// The parsed form of an IPv4 header, without options or fragment fields.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::checksum::ChecksumCaps;
/// use strata_l3l4::{IpProtocol, Ipv4Packet, Ipv4Repr};
///
/// let repr = Ipv4Repr {
///     src_addr: Ipv4Addr::new(10, 9, 0, 1),
///     dst_addr: Ipv4Addr::new(10, 9, 0, 2),
///     protocol: IpProtocol::Udp,
///     payload_len: 8,
///     ttl: 64,
///     dscp: 0,
///     ecn: 0,
/// };
/// let caps = ChecksumCaps::software();
/// let mut buf = vec![0u8; repr.buffer_len()];
/// repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), &caps)?;
/// let packet = Ipv4Packet::new_checked(&buf[..])?;
/// assert_eq!(Ipv4Repr::parse(&packet, &caps)?, repr);
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol of the payload.
    pub protocol: IpProtocol,
    /// Payload length in bytes.
    pub payload_len: usize,
    /// Time to live.
    pub ttl: u8,
    /// Differentiated Services code point, 0 to 63.
    pub dscp: u8,
    /// Explicit Congestion Notification bits, 0 to 3.
    pub ecn: u8,
}

impl Repr {
    /// Validates a packet ([`Packet::validate`]) and returns its parsed form. Options
    /// are checked but not kept; a fragment parses to its own payload length.
    ///
    /// # Errors
    ///
    /// Those of [`Packet::validate`]; `DropReason::from` classifies them.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, caps: &ChecksumCaps) -> Result<Repr> {
        packet.validate(caps)?;
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            payload_len: packet.payload_len(),
            ttl: packet.ttl(),
            dscp: packet.dscp(),
            ecn: packet.ecn(),
        })
    }

    /// Length of the header [`Repr::emit`] writes.
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Length of the whole datagram: header and payload.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload_len)
    }

    /// Writes an option-less header into the start of `packet`'s buffer: identification
    /// 0 and "don't fragment" set (an atomic datagram, RFC 6864), offset 0. The payload
    /// is not touched. The checksum is computed when `caps.ipv4` says software does it,
    /// and left zero for the device otherwise. Fragmentation rewrites the flags and
    /// offset with the [`Packet`] setters afterwards.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than 20 bytes, [`Error::Length`] if
    /// the datagram would exceed 65535 bytes, [`Error::Malformed`] if `dscp` or `ecn`
    /// is out of range.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        if packet.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let total_len = match self.payload_len.checked_add(HEADER_LEN) {
            Some(len) if len <= MAX_LEN => len as u16,
            _ => return Err(Error::Length),
        };
        if self.dscp > 0x3f || self.ecn > 0x03 {
            return Err(Error::Malformed);
        }
        let header = &mut packet.buffer.as_mut()[..HEADER_LEN];
        header[field::VER_IHL] = 0x45;
        header[field::DSCP_ECN] = (self.dscp << 2) | self.ecn;
        write_u16(header, field::LENGTH.start, total_len);
        write_u16(header, field::IDENT.start, 0);
        write_u16(header, field::FLG_OFF.start, FLAG_DF);
        header[field::TTL] = self.ttl;
        header[field::PROTOCOL] = u8::from(self.protocol);
        write_u16(header, field::CHECKSUM.start, 0);
        header[field::SRC_ADDR].copy_from_slice(&self.src_addr.octets());
        header[field::DST_ADDR].copy_from_slice(&self.dst_addr.octets());
        if caps.ipv4.tx() {
            let sum = checksum::checksum(header);
            write_u16(header, field::CHECKSUM.start, sum);
        }
        Ok(())
    }
}

// The tests live in `ipv4/tests.rs`, which would push this file past 800 lines.
#[cfg(test)]
mod tests;
