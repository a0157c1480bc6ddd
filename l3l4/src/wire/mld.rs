//! MLDv2 reports: RFC 3810 §5.2 (the report and its multicast address records), sent
//! as RFC 3810 §5 requires: from a link-local address (or the unspecified address
//! during duplicate address detection), hop limit 1, a hop-by-hop router alert
//! ([`super::ipv6ext::OptionsRepr`]), to ff02::16. The checksum is ICMPv6's (RFC 4443).
//!
//! [`Packet`] reads a report and iterates its records ([`Records`], bounded by the
//! record count and the buffer); [`ReportRepr`] emits one for the groups a host has
//! joined, each record without sources (an exclude-mode "join" or an include-mode
//! "leave").
//!
//! Queries (ICMPv6 type 130) come in two versions told apart by length (RFC 3810
//! §8.1): the 24-byte MLDv1 query (RFC 2710 §3) and the MLDv2 query of at least 28
//! bytes (RFC 3810 §5.1) with its exponential Maximum Response Code (§5.1.3), S flag,
//! QRV, QQIC (§5.1.9) and sources. [`Query`] is the view, [`QueryRepr`] the parsed
//! form; both are bounds-checked and never panic on a checked buffer.

use std::net::Ipv6Addr;

use super::icmpv6::{self, Message};
use super::{enum_with_unknown, read_u16, write_u16, Error, Result};
use crate::checksum::ChecksumCaps;

mod field {
    use crate::wire::Field;

    pub const TYPE: usize = 0;
    pub const RESERVED: Field = 1..2;
    pub const NR_RECORDS: Field = 6..8;
}

/// Length of the report header (type, reserved, checksum, reserved, record count).
pub const HEADER_LEN: usize = 8;
/// Length of a multicast address record without sources or auxiliary data.
pub const RECORD_LEN: usize = 20;
/// Most source-less records that fit a report within the minimum MTU: 1280 bytes less
/// the IPv6 header, the 8-byte hop-by-hop header and the report header.
pub const MAX_RECORDS: usize = (1280 - 40 - 8 - HEADER_LEN) / RECORD_LEN;

enum_with_unknown! {
    /// The type of a multicast address record (RFC 3810 §5.2.12).
    pub enum RecordType(u8) {
        /// Current state: include mode, listening to the listed sources.
        ModeIsInclude = 1,
        /// Current state: exclude mode, listening to all but the listed sources.
        ModeIsExclude = 2,
        /// Filter change to include mode (with no sources: leave the group).
        ChangeToInclude = 3,
        /// Filter change to exclude mode (with no sources: join the group).
        ChangeToExclude = 4,
        /// Source list change: allow new sources.
        AllowNewSources = 5,
        /// Source list change: block old sources.
        BlockOldSources = 6,
    }
}

/// One multicast address record read from a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressRecord<'a> {
    /// The record type.
    pub record_type: RecordType,
    /// The multicast address.
    pub group: Ipv6Addr,
    /// The source addresses, 16 bytes each.
    pub sources: &'a [u8],
    /// The auxiliary data (none in RFC 3810).
    pub aux_data: &'a [u8],
}

/// An iterator over the records of a report: as many as the header counts, each
/// checked against the bytes left; a record running past them yields one
/// `Err(`[`Error::Truncated`]`)` and ends the iteration.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    data: &'a [u8],
    left: u16,
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<AddressRecord<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let data = self.data;
        let parsed = (|| {
            let fixed = data.get(..RECORD_LEN).ok_or(Error::Truncated)?;
            let sources_len = usize::from(read_u16(fixed, 2)) * 16;
            let aux_len = usize::from(fixed[1]) * 4;
            let len = RECORD_LEN + sources_len + aux_len;
            if data.len() < len {
                return Err(Error::Truncated);
            }
            let mut group = [0u8; 16];
            group.copy_from_slice(&fixed[4..20]);
            let record = AddressRecord {
                record_type: RecordType::from(fixed[0]),
                group: Ipv6Addr::from(group),
                sources: &data[RECORD_LEN..RECORD_LEN + sources_len],
                aux_data: &data[RECORD_LEN + sources_len..len],
            };
            Ok((record, len))
        })();
        match parsed {
            Ok((record, len)) => {
                self.data = &data[len..];
                Some(Ok(record))
            }
            Err(error) => {
                self.left = 0;
                Some(Err(error))
            }
        }
    }
}

/// A read/write view of an MLDv2 report: the whole ICMPv6 message.
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

    /// Checks that the buffer holds the 8-byte header of a message of type 143. The
    /// records are checked as they are read.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for fewer than 8 bytes, [`Error::Unrecognized`] for another
    /// type.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if Message::from(data[field::TYPE]) != Message::MldReportV2 {
            return Err(Error::Unrecognized);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The number of address records.
    #[inline]
    pub fn nr_records(&self) -> u16 {
        read_u16(self.buffer.as_ref(), field::NR_RECORDS.start)
    }

    /// Whether the ICMPv6 checksum over the pseudo-header of `src` and `dst` verifies.
    #[inline]
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        icmpv6::Packet::new_unchecked(self.buffer.as_ref()).verify_checksum(src, dst)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The address records.
    #[inline]
    pub fn records(&self) -> Records<'a> {
        Records {
            data: &self.buffer.as_ref()[HEADER_LEN..],
            left: self.nr_records(),
        }
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A source-less record to report: a group and what happened to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordRepr {
    /// The record type: [`RecordType::ChangeToExclude`] to join a group,
    /// [`RecordType::ChangeToInclude`] to leave it, [`RecordType::ModeIsExclude`] when
    /// answering a query.
    pub record_type: RecordType,
    /// The multicast address.
    pub group: Ipv6Addr,
}

/// An MLDv2 report to emit: one source-less record per group.
///
/// # Examples
///
/// ```
/// use std::net::Ipv6Addr;
/// use strata_l3l4::checksum::ChecksumCaps;
/// use strata_l3l4::wire::mld::{Packet, RecordRepr, RecordType, ReportRepr};
///
/// let group: Ipv6Addr = "ff02::1:ff00:1".parse().unwrap();
/// let records = [RecordRepr { record_type: RecordType::ChangeToExclude, group }];
/// let report = ReportRepr { records: &records };
/// let (src, dst) = ("fe80::1".parse().unwrap(), "ff02::16".parse().unwrap());
/// let mut buf = vec![0u8; report.buffer_len()];
/// report.emit(&mut Packet::new_unchecked(&mut buf[..]), &src, &dst, &ChecksumCaps::software())?;
/// let packet = Packet::new_checked(&buf[..])?;
/// assert_eq!(packet.records().next().unwrap()?.group, group);
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReportRepr<'a> {
    /// The records, in order.
    pub records: &'a [RecordRepr],
}

impl ReportRepr<'_> {
    /// Length of the whole report.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.records.len().saturating_mul(RECORD_LEN))
    }

    /// Writes the report into the start of `packet`'s buffer, with its ICMPv6 checksum
    /// over the pseudo-header of `src` and `dst` as [`icmpv6::Repr::emit`] does. More
    /// than [`MAX_RECORDS`] records make a report too long for the minimum MTU: split
    /// them over several reports.
    ///
    /// # Errors
    ///
    /// [`Error::Length`] for more than 65535 records, [`Error::Truncated`] if the
    /// buffer is shorter than [`ReportRepr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        let count = u16::try_from(self.records.len()).map_err(|_| Error::Length)?;
        let len = self.buffer_len();
        let bytes = packet
            .buffer
            .as_mut()
            .get_mut(..len)
            .ok_or(Error::Truncated)?;
        bytes[..HEADER_LEN].fill(0);
        bytes[field::TYPE] = u8::from(Message::MldReportV2);
        bytes[field::RESERVED].fill(0);
        write_u16(bytes, field::NR_RECORDS.start, count);
        for (record, out) in self
            .records
            .iter()
            .zip(bytes[HEADER_LEN..].chunks_exact_mut(RECORD_LEN))
        {
            out[..4].copy_from_slice(&[u8::from(record.record_type), 0, 0, 0]);
            out[4..].copy_from_slice(&record.group.octets());
        }
        icmpv6::Packet::new_unchecked(bytes).finish_checksum(src, dst, caps);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------
// Queries (RFC 3810 §5.1, RFC 2710 §3)
// ---------------------------------------------------------------------------------

mod query_field {
    use crate::wire::Field;

    pub const MAX_RESP_CODE: Field = 4..6;
    pub const GROUP: Field = 8..24;
    pub const FLAGS: usize = 24;
    pub const QQIC: usize = 25;
    pub const NR_SOURCES: Field = 26..28;
}

/// Length of an MLDv1 query (RFC 2710 §3), and the part an MLDv2 query shares with it.
pub const QUERY_V1_LEN: usize = 24;
/// Length of an MLDv2 query without sources (RFC 3810 §5.1).
pub const QUERY_V2_HEADER_LEN: usize = 28;

/// The Maximum Response Delay in milliseconds that a Maximum Response Code stands for
/// (RFC 3810 §5.1.3): the code itself below 32768, else the floating-point form
/// `1 | exp (3 bits) | mant (12 bits)` meaning `(mant | 0x1000) << (exp + 3)`.
///
/// # Examples
///
/// ```
/// use strata_l3l4::wire::mld::{decode_max_resp_code, encode_max_resp_code};
/// assert_eq!(decode_max_resp_code(10_000), 10_000);
/// assert_eq!(decode_max_resp_code(0x8000), 0x1000 << 3);
/// assert_eq!(decode_max_resp_code(encode_max_resp_code(100_015)), 100_000);
/// ```
pub const fn decode_max_resp_code(code: u16) -> u32 {
    if code < 0x8000 {
        code as u32
    } else {
        let exp = ((code >> 12) & 0x7) as u32;
        let mant = (code & 0x0fff) as u32;
        (mant | 0x1000) << (exp + 3)
    }
}

/// The largest Maximum Response Code for a delay of at most `millis` milliseconds
/// (rounding down; delays past the largest representable one, 8 387 584 ms, give
/// `0xffff`). The inverse of [`decode_max_resp_code`] on the values it yields.
pub const fn encode_max_resp_code(millis: u32) -> u16 {
    if millis < 0x8000 {
        return millis as u16;
    }
    let mut exp = 0u32;
    while exp < 8 {
        let mant = millis >> (exp + 3);
        if mant < 0x2000 {
            return 0x8000 | ((exp as u16) << 12) | (mant as u16 & 0x0fff);
        }
        exp += 1;
    }
    0xffff
}

/// The Querier's Query Interval in seconds that a QQIC stands for (RFC 3810 §5.1.9):
/// the code itself below 128, else `1 | exp (3 bits) | mant (4 bits)` meaning
/// `(mant | 0x10) << (exp + 3)`.
///
/// # Examples
///
/// ```
/// use strata_l3l4::wire::mld::{decode_qqic, encode_qqic};
/// assert_eq!(decode_qqic(125), 125);
/// assert_eq!(decode_qqic(0x80), 128);
/// assert_eq!(decode_qqic(encode_qqic(1000)), 992);
/// ```
pub const fn decode_qqic(qqic: u8) -> u32 {
    if qqic < 0x80 {
        qqic as u32
    } else {
        let exp = ((qqic >> 4) & 0x7) as u32;
        let mant = (qqic & 0x0f) as u32;
        (mant | 0x10) << (exp + 3)
    }
}

/// The largest QQIC for an interval of at most `secs` seconds (rounding down; past
/// 31 744 s, `0xff`). The inverse of [`decode_qqic`] on the values it yields.
pub const fn encode_qqic(secs: u32) -> u8 {
    if secs < 0x80 {
        return secs as u8;
    }
    let mut exp = 0u32;
    while exp < 8 {
        let mant = secs >> (exp + 3);
        if mant < 0x20 {
            return 0x80 | ((exp as u8) << 4) | (mant as u8 & 0x0f);
        }
        exp += 1;
    }
    0xff
}

/// Which version of MLD a query is, told by its length (RFC 3810 §8.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryVersion {
    /// An MLDv1 query (RFC 2710): exactly 24 bytes.
    V1,
    /// An MLDv2 query (RFC 3810 §5.1): at least 28 bytes.
    V2,
}

/// A read/write view of an MLD query (ICMPv6 type 130), version 1 or 2.
///
/// Byte layout of an MLDv2 query (RFC 3810 §5.1); an MLDv1 query stops after the
/// multicast address:
///
/// ```text
///  0      type 130 | code | checksum
///  4      maximum response code | reserved
///  8..24  multicast address (:: for a general query)
///  24     resv (4) | S (1) | QRV (3)
///  25     QQIC
///  26..28 number of sources N
///  28..   N source addresses, 16 bytes each
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Query<T> {
    /// Wraps a buffer without checking it.
    ///
    /// # Panics
    ///
    /// The accessors panic if the buffer is shorter than the fields they read. Use
    /// [`Query::new_checked`] on bytes from the wire.
    pub const fn new_unchecked(buffer: T) -> Query<T> {
        Query { buffer }
    }

    /// Wraps a buffer after [`Query::check_len`].
    ///
    /// # Errors
    ///
    /// As [`Query::check_len`].
    pub fn new_checked(buffer: T) -> Result<Query<T>> {
        let query = Self::new_unchecked(buffer);
        query.check_len()?;
        Ok(query)
    }

    /// Checks that the buffer holds a query of type 130 of a length RFC 3810 §8.1
    /// accepts: 24 bytes (MLDv1) or at least 28 bytes with room for the sources the
    /// query counts (MLDv2). Bytes after the sources (additional data, §5.1.12) are
    /// allowed.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for fewer than 24 bytes or fewer than the sources need,
    /// [`Error::Unrecognized`] for another type, [`Error::Length`] for 25 to 27 bytes
    /// (neither version; §8.1 says to ignore such a query).
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        if data.len() < QUERY_V1_LEN {
            return Err(Error::Truncated);
        }
        if Message::from(data[field::TYPE]) != Message::MldQuery {
            return Err(Error::Unrecognized);
        }
        match data.len() {
            QUERY_V1_LEN => Ok(()),
            len if len < QUERY_V2_HEADER_LEN => Err(Error::Length),
            len => {
                let sources = usize::from(read_u16(data, query_field::NR_SOURCES.start)) * 16;
                if len < QUERY_V2_HEADER_LEN + sources {
                    Err(Error::Truncated)
                } else {
                    Ok(())
                }
            }
        }
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The version, by length: [`QueryVersion::V1`] for exactly 24 bytes.
    #[inline]
    pub fn version(&self) -> QueryVersion {
        if self.buffer.as_ref().len() == QUERY_V1_LEN {
            QueryVersion::V1
        } else {
            QueryVersion::V2
        }
    }

    /// The Maximum Response Code (MLDv2, §5.1.3) or the Maximum Response Delay in
    /// milliseconds (MLDv1).
    #[inline]
    pub fn max_resp_code(&self) -> u16 {
        read_u16(self.buffer.as_ref(), query_field::MAX_RESP_CODE.start)
    }

    /// The Maximum Response Delay in milliseconds: the MLDv1 field as is, the MLDv2
    /// code decoded by [`decode_max_resp_code`].
    #[inline]
    pub fn max_resp_delay_ms(&self) -> u32 {
        match self.version() {
            QueryVersion::V1 => u32::from(self.max_resp_code()),
            QueryVersion::V2 => decode_max_resp_code(self.max_resp_code()),
        }
    }

    /// The multicast address: `::` in a general query (§5.1.5).
    #[inline]
    pub fn group(&self) -> Ipv6Addr {
        let mut octets = [0u8; 16];
        octets.copy_from_slice(&self.buffer.as_ref()[query_field::GROUP]);
        Ipv6Addr::from(octets)
    }

    /// The S flag, "suppress router-side processing" (§5.1.7); false for MLDv1.
    #[inline]
    pub fn s_flag(&self) -> bool {
        self.v2_byte(query_field::FLAGS) & 0x08 != 0
    }

    /// The Querier's Robustness Variable (§5.1.8); 0 for MLDv1.
    #[inline]
    pub fn qrv(&self) -> u8 {
        self.v2_byte(query_field::FLAGS) & 0x07
    }

    /// The Querier's Query Interval Code (§5.1.9); 0 for MLDv1.
    #[inline]
    pub fn qqic(&self) -> u8 {
        self.v2_byte(query_field::QQIC)
    }

    /// The number of sources (§5.1.10); 0 for MLDv1.
    #[inline]
    pub fn nr_sources(&self) -> u16 {
        match self.version() {
            QueryVersion::V1 => 0,
            QueryVersion::V2 => read_u16(self.buffer.as_ref(), query_field::NR_SOURCES.start),
        }
    }

    /// Whether the ICMPv6 checksum over the pseudo-header of `src` and `dst` verifies.
    #[inline]
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        icmpv6::Packet::new_unchecked(self.buffer.as_ref()).verify_checksum(src, dst)
    }

    fn v2_byte(&self, at: usize) -> u8 {
        match self.version() {
            QueryVersion::V1 => 0,
            QueryVersion::V2 => self.buffer.as_ref()[at],
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Query<&'a T> {
    /// The source addresses, 16 bytes each (empty for MLDv1). Requires a checked view.
    #[inline]
    pub fn sources(&self) -> &'a [u8] {
        let len = usize::from(self.nr_sources()) * 16;
        match self.version() {
            QueryVersion::V1 => &[],
            QueryVersion::V2 => {
                &self.buffer.as_ref()[QUERY_V2_HEADER_LEN..QUERY_V2_HEADER_LEN + len]
            }
        }
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Query<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The parsed form of an MLD query, version 1 or 2.
///
/// An MLDv1 query has no S flag, QRV, QQIC or sources: [`QueryRepr::parse`] gives them
/// as `false`, 0, 0 and empty, and [`QueryRepr::emit`] writes only the 24 bytes.
///
/// # Examples
///
/// ```
/// use std::net::Ipv6Addr;
/// use strata_l3l4::checksum::ChecksumCaps;
/// use strata_l3l4::wire::mld::{Query, QueryRepr, QueryVersion};
///
/// let query = QueryRepr::general(QueryVersion::V2, 10_000);
/// let (src, dst) = ("fe80::1".parse().unwrap(), "ff02::1".parse().unwrap());
/// let caps = ChecksumCaps::software();
/// let mut buf = vec![0u8; query.buffer_len()];
/// query.emit(&mut Query::new_unchecked(&mut buf[..]), &src, &dst, &caps)?;
/// let parsed = QueryRepr::parse(&Query::new_checked(&buf[..])?, &src, &dst, &caps)?;
/// assert_eq!(parsed, query);
/// assert!(parsed.is_general());
/// # Ok::<(), strata_l3l4::wire::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct QueryRepr<'a> {
    /// MLDv1 (24 bytes) or MLDv2.
    pub version: QueryVersion,
    /// The Maximum Response Code as on the wire (MLDv1: the delay in milliseconds).
    pub max_resp_code: u16,
    /// The multicast address, `::` for a general query.
    pub group: Ipv6Addr,
    /// The S flag (§5.1.7).
    pub s_flag: bool,
    /// The Querier's Robustness Variable, 0 to 7 (§5.1.8).
    pub qrv: u8,
    /// The Querier's Query Interval Code (§5.1.9).
    pub qqic: u8,
    /// The source addresses, 16 bytes each.
    pub sources: &'a [u8],
}

impl<'a> QueryRepr<'a> {
    /// A general query of `version` with a Maximum Response Delay of `max_delay_ms`
    /// (encoded for MLDv2, capped at 65535 for MLDv1), QRV 2 and a QQIC of 125 s
    /// (the defaults of RFC 3810 §9.1 and §9.2) for MLDv2.
    pub const fn general(version: QueryVersion, max_delay_ms: u32) -> QueryRepr<'static> {
        let (max_resp_code, qrv, qqic) = match version {
            QueryVersion::V1 => (
                if max_delay_ms > 0xffff {
                    0xffff
                } else {
                    max_delay_ms as u16
                },
                0,
                0,
            ),
            QueryVersion::V2 => (encode_max_resp_code(max_delay_ms), 2, 125),
        };
        QueryRepr {
            version,
            max_resp_code,
            group: Ipv6Addr::UNSPECIFIED,
            s_flag: false,
            qrv,
            qqic,
            sources: &[],
        }
    }

    /// Checks a query received from `src` for `dst` and returns its parsed form. The
    /// checksum is verified when `caps.icmpv6` says software does it. The code and the
    /// reserved bits are ignored (§5.1.1, §5.1.6).
    ///
    /// # Errors
    ///
    /// As [`Query::check_len`], and [`Error::Checksum`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        query: &Query<&'a T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        caps: &ChecksumCaps,
    ) -> Result<QueryRepr<'a>> {
        query.check_len()?;
        if caps.icmpv6.rx() && !query.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        Ok(QueryRepr {
            version: query.version(),
            max_resp_code: query.max_resp_code(),
            group: query.group(),
            s_flag: query.s_flag(),
            qrv: query.qrv(),
            qqic: query.qqic(),
            sources: query.sources(),
        })
    }

    /// Whether this is a general query (multicast address `::`, §5.1.5).
    pub fn is_general(&self) -> bool {
        self.group.is_unspecified()
    }

    /// The Maximum Response Delay in milliseconds (§5.1.3 for MLDv2).
    pub const fn max_resp_delay_ms(&self) -> u32 {
        match self.version {
            QueryVersion::V1 => self.max_resp_code as u32,
            QueryVersion::V2 => decode_max_resp_code(self.max_resp_code),
        }
    }

    /// The number of sources (whole 16-byte addresses in `sources`).
    pub const fn nr_sources(&self) -> usize {
        self.sources.len() / 16
    }

    /// Length of the query [`QueryRepr::emit`] writes.
    pub const fn buffer_len(&self) -> usize {
        match self.version {
            QueryVersion::V1 => QUERY_V1_LEN,
            QueryVersion::V2 => QUERY_V2_HEADER_LEN.saturating_add(self.nr_sources() * 16),
        }
    }

    /// Writes the query into the start of `query`'s buffer with its ICMPv6 checksum,
    /// as [`ReportRepr::emit`] does. An MLDv1 query ignores the v2-only fields.
    ///
    /// # Errors
    ///
    /// [`Error::Length`] for more than 65535 sources or a `sources` length that is not
    /// a multiple of 16 (MLDv2), or a QRV above 7; [`Error::Truncated`] if the buffer
    /// is shorter than [`QueryRepr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        query: &mut Query<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        let v2 = self.version == QueryVersion::V2;
        let count = u16::try_from(self.nr_sources()).map_err(|_| Error::Length)?;
        if v2 && (self.sources.len() % 16 != 0 || self.qrv > 7) {
            return Err(Error::Length);
        }
        let len = self.buffer_len();
        let bytes = query
            .buffer
            .as_mut()
            .get_mut(..len)
            .ok_or(Error::Truncated)?;
        bytes[..QUERY_V1_LEN].fill(0);
        bytes[field::TYPE] = u8::from(Message::MldQuery);
        write_u16(bytes, query_field::MAX_RESP_CODE.start, self.max_resp_code);
        bytes[query_field::GROUP].copy_from_slice(&self.group.octets());
        if v2 {
            bytes[query_field::FLAGS] = (u8::from(self.s_flag) << 3) | self.qrv;
            bytes[query_field::QQIC] = self.qqic;
            write_u16(bytes, query_field::NR_SOURCES.start, count);
            bytes[QUERY_V2_HEADER_LEN..].copy_from_slice(self.sources);
        }
        icmpv6::Packet::new_unchecked(bytes).finish_checksum(src, dst, caps);
        Ok(())
    }
}

#[cfg(test)]
mod query_tests {
    use super::*;
    use proptest::prelude::*;

    const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

    fn addr(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    /// An MLDv2 general query as a Linux querier sends it (`net.ipv6.conf.*`
    /// defaults: maximum response delay 10 s, QRV 2, QQIC 125) from fe80::1 to
    /// ff02::1; the checksum is computed over that pseudo-header.
    const GENERAL_V2: [u8; 28] = [
        0x82, 0x00, 0x56, 0x96, 0x27, 0x10, 0x00, 0x00, //
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, //
        0x02, 0x7d, 0x00, 0x00,
    ];

    /// An MLDv1 group-specific query for ff02::1:ff00:901 from fe80::1, 1 s delay.
    const SPECIFIC_V1: [u8; 24] = [
        0x82, 0x00, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, //
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, 0x00, 0x09, 0x01,
    ];

    fn with_checksum(bytes: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) -> Vec<u8> {
        let mut v = bytes.to_vec();
        icmpv6::Packet::new_unchecked(&mut v[..]).fill_checksum(src, dst);
        v
    }

    #[test]
    fn general_v2_from_real_bytes() {
        let (src, dst) = (addr("fe80::1"), addr("ff02::1"));
        let query = Query::new_checked(&GENERAL_V2[..]).unwrap();
        assert!(query.verify_checksum(&src, &dst));
        assert_eq!(query.version(), QueryVersion::V2);
        assert_eq!(query.max_resp_delay_ms(), 10_000);
        assert_eq!((query.qrv(), query.qqic(), query.s_flag()), (2, 125, false));
        let repr = QueryRepr::parse(&query, &src, &dst, &SOFTWARE).unwrap();
        assert_eq!(repr, QueryRepr::general(QueryVersion::V2, 10_000));
        assert!(repr.is_general());
        assert_eq!(repr.nr_sources(), 0);
        let mut buf = [0xa5u8; 28];
        repr.emit(
            &mut Query::new_unchecked(&mut buf[..]),
            &src,
            &dst,
            &SOFTWARE,
        )
        .unwrap();
        assert_eq!(buf, GENERAL_V2);
        // A wrong pseudo-header fails the checksum, unless it is offloaded.
        let other = addr("fe80::2");
        assert_eq!(
            QueryRepr::parse(&query, &other, &dst, &SOFTWARE),
            Err(Error::Checksum)
        );
        assert!(QueryRepr::parse(&query, &other, &dst, &ChecksumCaps::offloaded()).is_ok());
    }

    #[test]
    fn specific_v1_and_sources_v2() {
        let (src, group) = (addr("fe80::1"), addr("ff02::1:ff00:901"));
        let bytes = with_checksum(&SPECIFIC_V1, &src, &group);
        let query = Query::new_checked(&bytes[..]).unwrap();
        let repr = QueryRepr::parse(&query, &src, &group, &SOFTWARE).unwrap();
        assert_eq!(repr.version, QueryVersion::V1);
        assert_eq!(repr.group, group);
        assert_eq!(repr.max_resp_delay_ms(), 1000);
        assert_eq!(
            (repr.qrv, repr.qqic, repr.s_flag, repr.sources),
            (0, 0, false, &[][..])
        );
        assert_eq!(query.nr_sources(), 0);
        assert!(query.sources().is_empty());

        // MLDv2 source-specific query with two sources, S flag, QRV 3, an
        // exponential maximum response code, and 4 bytes of additional data.
        let mut v2 = vec![0x82, 0, 0, 0, 0x80, 0x00, 0, 0];
        v2.extend_from_slice(&group.octets());
        v2.extend_from_slice(&[0x0b, 0x90, 0, 2]);
        v2.extend_from_slice(&addr("2001:db8::1").octets());
        v2.extend_from_slice(&addr("2001:db8::2").octets());
        v2.extend_from_slice(&[1, 2, 3, 4]);
        let v2 = with_checksum(&v2, &src, &group);
        let query = Query::new_checked(&v2[..]).unwrap();
        let repr = QueryRepr::parse(&query, &src, &group, &SOFTWARE).unwrap();
        assert!(repr.s_flag);
        assert_eq!((repr.qrv, repr.qqic), (3, 0x90));
        assert_eq!(decode_qqic(repr.qqic), 256);
        assert_eq!(repr.max_resp_delay_ms(), 32_768);
        assert_eq!(repr.nr_sources(), 2);
        assert_eq!(&repr.sources[16..], &addr("2001:db8::2").octets()[..]);
        // Emit drops the additional data and the reserved bits; it parses back equal.
        let mut buf = vec![0u8; repr.buffer_len()];
        assert_eq!(buf.len(), 60);
        repr.emit(
            &mut Query::new_unchecked(&mut buf[..]),
            &src,
            &group,
            &SOFTWARE,
        )
        .unwrap();
        assert_eq!(&buf[4..60], &v2[4..60]);
        let again = QueryRepr::parse(
            &Query::new_checked(&buf[..]).unwrap(),
            &src,
            &group,
            &SOFTWARE,
        );
        assert_eq!(again, Ok(repr));
    }

    #[test]
    fn rejects() {
        let mut bytes = SPECIFIC_V1.to_vec();
        assert_eq!(
            Query::new_checked(&bytes[..23]).err(),
            Some(Error::Truncated)
        );
        bytes[0] = 143;
        assert_eq!(
            Query::new_checked(&bytes[..]).err(),
            Some(Error::Unrecognized)
        );
        bytes[0] = 130;
        for len in 25..28 {
            bytes.resize(len, 0);
            assert_eq!(Query::new_checked(&bytes[..]).err(), Some(Error::Length));
        }
        // Counts one source, carries half of it.
        bytes.resize(28, 0);
        bytes[27] = 1;
        bytes.extend_from_slice(&[0; 8]);
        assert_eq!(Query::new_checked(&bytes[..]).err(), Some(Error::Truncated));
        bytes.extend_from_slice(&[0; 8]);
        assert!(Query::new_checked(&bytes[..]).is_ok());
        // Emit errors.
        let (src, dst) = (addr("fe80::1"), addr("ff02::1"));
        let mut repr = QueryRepr::general(QueryVersion::V2, 1000);
        let mut short = [0u8; 27];
        assert_eq!(
            repr.emit(
                &mut Query::new_unchecked(&mut short[..]),
                &src,
                &dst,
                &SOFTWARE
            ),
            Err(Error::Truncated)
        );
        repr.qrv = 8;
        let mut buf = [0u8; 28];
        assert_eq!(
            repr.emit(
                &mut Query::new_unchecked(&mut buf[..]),
                &src,
                &dst,
                &SOFTWARE
            ),
            Err(Error::Length)
        );
        repr.qrv = 2;
        repr.sources = &[0; 15];
        assert_eq!(
            repr.emit(
                &mut Query::new_unchecked(&mut buf[..]),
                &src,
                &dst,
                &SOFTWARE
            ),
            Err(Error::Length)
        );
    }

    #[test]
    fn codes() {
        assert_eq!(decode_max_resp_code(0x7fff), 32_767);
        assert_eq!(decode_max_resp_code(0xffff), 0x1fff << 10);
        assert_eq!(encode_max_resp_code(32_767), 0x7fff);
        assert_eq!(encode_max_resp_code(32_768), 0x8000);
        assert_eq!(encode_max_resp_code(u32::MAX), 0xffff);
        assert_eq!(decode_qqic(0xff), 31 << 10);
        assert_eq!(encode_qqic(127), 127);
        assert_eq!(encode_qqic(u32::MAX), 0xff);
        for code in 0..=u16::MAX {
            assert_eq!(encode_max_resp_code(decode_max_resp_code(code)), code);
        }
        for code in 0..=u8::MAX {
            assert_eq!(encode_qqic(decode_qqic(code)), code);
        }
    }

    proptest! {
        #[test]
        fn encode_rounds_down(ms in any::<u32>(), secs in any::<u32>()) {
            let d = decode_max_resp_code(encode_max_resp_code(ms));
            prop_assert!(d <= ms || ms > 0x1fff << 10);
            let q = decode_qqic(encode_qqic(secs));
            prop_assert!(q <= secs || secs > 31 << 10);
        }

        #[test]
        fn round_trip(
            v2 in any::<bool>(),
            code in any::<u16>(),
            group in any::<u128>(),
            s_flag in any::<bool>(),
            qrv in 0..8u8,
            qqic in any::<u8>(),
            sources in proptest::collection::vec(any::<u8>(), 0..5).prop_map(|n| n.len()),
            src in any::<u128>(),
        ) {
            let source_bytes = vec![0x5au8; sources * 16];
            let repr = if v2 {
                QueryRepr { version: QueryVersion::V2, max_resp_code: code, group: Ipv6Addr::from(group), s_flag, qrv, qqic, sources: &source_bytes }
            } else {
                QueryRepr { version: QueryVersion::V1, max_resp_code: code, group: Ipv6Addr::from(group), s_flag: false, qrv: 0, qqic: 0, sources: &[] }
            };
            let (src, dst) = (Ipv6Addr::from(src), addr("ff02::1"));
            let mut buf = vec![0xa5u8; repr.buffer_len()];
            repr.emit(&mut Query::new_unchecked(&mut buf[..]), &src, &dst, &SOFTWARE).unwrap();
            let query = Query::new_checked(&buf[..]).unwrap();
            prop_assert!(query.verify_checksum(&src, &dst));
            prop_assert_eq!(QueryRepr::parse(&query, &src, &dst, &SOFTWARE), Ok(repr));
        }

        #[test]
        fn never_panics(mut bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            if let Some(first) = bytes.first_mut() {
                *first = 130;
            }
            let src = Ipv6Addr::LOCALHOST;
            if let Ok(query) = Query::new_checked(&bytes[..]) {
                let _ = (query.version(), query.max_resp_delay_ms(), query.group(), query.s_flag(), query.qrv(), query.qqic());
                prop_assert_eq!(query.sources().len(), usize::from(query.nr_sources()) * 16);
                let repr = QueryRepr::parse(&query, &src, &src, &ChecksumCaps::offloaded()).unwrap();
                let mut buf = vec![0u8; repr.buffer_len()];
                repr.emit(&mut Query::new_unchecked(&mut buf[..]), &src, &src, &SOFTWARE).unwrap();
                prop_assert_eq!(QueryRepr::parse(&Query::new_checked(&buf[..]).unwrap(), &src, &src, &SOFTWARE), Ok(repr));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frames_v6::*;
    use crate::wire::ipv6::{self, Packet as Ipv6Packet, Repr as Ipv6Repr};
    use crate::wire::ipv6ext::{Header, OptionsRepr};
    use crate::wire::IpProtocol;
    use proptest::prelude::*;

    const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

    fn addr(text: &str) -> Ipv6Addr {
        text.parse().unwrap()
    }

    fn record(record_type: RecordType, group: &str) -> RecordRepr {
        RecordRepr {
            record_type,
            group: addr(group),
        }
    }

    /// The records of a report, as reprs.
    fn records_of(packet: &Packet<&[u8]>) -> Vec<RecordRepr> {
        packet
            .records()
            .map(|r| {
                let r = r.unwrap();
                assert!(r.sources.is_empty() && r.aux_data.is_empty());
                RecordRepr {
                    record_type: r.record_type,
                    group: r.group,
                }
            })
            .collect()
    }

    #[test]
    fn deconstruct() {
        let ip = Ipv6Packet::new_checked(&MLD_REPORT_ROUTER[..]).unwrap();
        let packet = Packet::new_checked(&ip.payload()[8..]).unwrap();
        assert!(packet.verify_checksum(&ip.src_addr(), &ip.dst_addr()));
        assert_eq!(packet.nr_records(), 4);
        let join = RecordType::ChangeToExclude;
        assert_eq!(
            records_of(&packet),
            [
                record(join, "ff02::1:ff00:902"),
                record(join, "ff02::1:ff00:2"),
                record(join, "ff05::2"),
                record(join, "ff02::2"),
            ]
        );
    }

    #[test]
    fn emits_the_kernels_report() {
        // The whole frame: IPv6 header, hop-by-hop router alert, report.
        let records = [
            record(RecordType::ChangeToExclude, "ff02::1:ff00:901"),
            record(RecordType::ChangeToExclude, "ff02::1:ff00:1"),
        ];
        let report = ReportRepr { records: &records };
        let hop_by_hop = OptionsRepr {
            next_header: IpProtocol::Icmpv6,
            router_alert: Some(0),
        };
        let ip = Ipv6Repr {
            src_addr: addr("fe80::ff:fe00:901"),
            dst_addr: ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS,
            next_header: IpProtocol::HopByHop,
            payload_len: hop_by_hop.buffer_len() + report.buffer_len(),
            hop_limit: 1,
            traffic_class: 0,
            flow_label: 0,
        };
        let mut frame = vec![0xa5u8; ip.buffer_len()];
        ip.emit(&mut Ipv6Packet::new_unchecked(&mut frame[..]))
            .unwrap();
        hop_by_hop
            .emit(&mut Header::new_unchecked(&mut frame[40..]))
            .unwrap();
        report
            .emit(
                &mut Packet::new_unchecked(&mut frame[48..]),
                &ip.src_addr,
                &ip.dst_addr,
                &SOFTWARE,
            )
            .unwrap();
        assert_eq!(frame, MLD_REPORT);
    }

    #[test]
    fn rejects() {
        assert_eq!(
            Packet::new_checked(&[143u8; 7][..]).err(),
            Some(Error::Truncated)
        );
        assert_eq!(
            Packet::new_checked(&[131u8, 0, 0, 0, 0, 0, 0, 0][..]).err(),
            Some(Error::Unrecognized)
        );
        // Two records counted, one and a half present.
        let mut bytes = vec![143u8, 0, 0, 0, 0, 0, 0, 2];
        bytes.extend_from_slice(&[4, 0, 0, 0]);
        bytes.extend_from_slice(&addr("ff02::1").octets());
        bytes.extend_from_slice(&[4, 0, 0, 1]);
        bytes.extend_from_slice(&addr("ff02::2").octets());
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        let mut records = packet.records();
        assert!(records.next().unwrap().is_ok());
        assert_eq!(records.next(), Some(Err(Error::Truncated)));
        assert_eq!(records.next(), None);
        // A record with a source parses.
        bytes.extend_from_slice(&addr("fd00::1").octets());
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        let second = packet.records().nth(1).unwrap().unwrap();
        assert_eq!(second.sources, &addr("fd00::1").octets()[..]);
        // Emit errors.
        let records = [record(RecordType::ModeIsExclude, "ff02::1"); 2];
        let report = ReportRepr { records: &records };
        let mut short = [0u8; 47];
        let (src, dst) = (Ipv6Addr::UNSPECIFIED, ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS);
        assert_eq!(
            report.emit(
                &mut Packet::new_unchecked(&mut short[..]),
                &src,
                &dst,
                &SOFTWARE
            ),
            Err(Error::Truncated)
        );
        let many = vec![records[0]; 65_536];
        let report = ReportRepr { records: &many };
        let mut buf = vec![0u8; report.buffer_len()];
        assert_eq!(
            report.emit(
                &mut Packet::new_unchecked(&mut buf[..]),
                &src,
                &dst,
                &SOFTWARE
            ),
            Err(Error::Length)
        );
        assert_eq!(MAX_RECORDS, 61);
        for n in 0..=u8::MAX {
            assert_eq!(u8::from(RecordType::from(n)), n);
        }
    }

    proptest! {
        #[test]
        fn round_trip(
            raw in proptest::collection::vec((1..=6u8, any::<u128>()), 0..MAX_RECORDS),
            src in any::<[u8; 16]>(),
        ) {
            let records: Vec<_> = raw
                .iter()
                .map(|&(kind, group)| RecordRepr {
                    record_type: RecordType::from(kind),
                    group: Ipv6Addr::from(group | (0xff02u128 << 112)),
                })
                .collect();
            let report = ReportRepr { records: &records };
            let (src, dst) = (Ipv6Addr::from(src), ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS);
            let mut buf = vec![0xa5u8; report.buffer_len()];
            report.emit(&mut Packet::new_unchecked(&mut buf[..]), &src, &dst, &SOFTWARE).unwrap();
            let packet = Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(packet.verify_checksum(&src, &dst));
            prop_assert_eq!(records_of(&packet), records);
        }

        #[test]
        fn never_panics(mut bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Some(first) = bytes.first_mut() {
                *first = 143;
            }
            if let Ok(packet) = Packet::new_checked(&bytes[..]) {
                prop_assert!(packet.records().count() <= usize::from(packet.nr_records()));
            }
        }
    }
}
