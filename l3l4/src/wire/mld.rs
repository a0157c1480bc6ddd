//! MLDv2 reports: RFC 3810 §5.2 (the report and its multicast address records), sent
//! as RFC 3810 §5 requires: from a link-local address (or the unspecified address
//! during duplicate address detection), hop limit 1, a hop-by-hop router alert
//! ([`super::ipv6ext::OptionsRepr`]), to ff02::16. The checksum is ICMPv6's (RFC 4443).
//!
//! [`Packet`] reads a report and iterates its records ([`Records`], bounded by the
//! record count and the buffer); [`ReportRepr`] emits one for the groups a host has
//! joined, each record without sources (an exclude-mode "join" or an include-mode
//! "leave").

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
