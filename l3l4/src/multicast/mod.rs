//! The host side of MLDv2 (RFC 3810) for one interface: which IPv6 multicast groups
//! the interface listens to, the reports that tell the routers, and the answers to
//! their queries. Sans-I/O: no I/O, no clock, no threads; the random delays come from
//! a seeded xorshift in [`MldConfig`].
//!
//! The one type to use is [`MldListener`]:
//!
//! 1. [`MldListener::join`] and [`MldListener::leave`] groups as sockets ask for them
//!    (any-source listening: exclude mode with no sources, like a plain
//!    `IPV6_ADD_MEMBERSHIP` on Linux);
//! 2. hand every received MLD query (ICMPv6 type 130, after the IPv6 header and the
//!    extension header walk) to [`MldListener::handle_query`];
//! 3. after every call, drain [`MldListener::poll_transmit`] and send each
//!    [`MldTransmit`] (it writes the whole Ethernet frame);
//! 4. whenever `now >= poll_at()`, call [`MldListener::handle_timeout`] (or simply
//!    [`MldListener::poll_transmit`], which runs the due timers first);
//! 5. tell it the interface's link-local address once it has one
//!    ([`MldListener::set_source`]); until then reports go from `::` (RFC 3810 §5).
//!
//! Rules implemented:
//!
//! - RFC 3810 §6.1: a join sends a state-change report with a CHANGE_TO_EXCLUDE
//!   record and no sources, a leave one with a CHANGE_TO_INCLUDE record and no
//!   sources; the first goes at once, then the report is retransmitted so that it goes
//!   out Robustness Variable times in all (§9.1, default 2), each retransmission after
//!   a random delay in (0, Unsolicited Report Interval] (§9.11, default 1 s). One
//!   interface timer carries all pending changes, so changes to several groups merge
//!   into one report (at most [`MAX_RECORDS`] records
//!   per report, more reports when needed), and a new change for a group replaces the
//!   pending one (its retransmission count starts again).
//! - RFC 3810 §6.2: a general query (multicast address `::`) schedules a current-state
//!   report of every joined group (MODE_IS_EXCLUDE records) after a random delay in
//!   [0, Maximum Response Delay), unless one is already due sooner; a
//!   multicast-address-specific query schedules a report of that group if it is
//!   joined, unless a general answer is due sooner, keeping the earlier of two
//!   deadlines. A multicast address and source specific query is answered like a
//!   specific one: with exclude mode and no sources we listen to every queried source,
//!   and an IS_EXCLUDE {} record says so (a superset of the IS_INCLUDE record §6.3
//!   would give, which the report format here cannot carry).
//! - RFC 3810 §5.1.14: queries whose source is not link-local, or whose hop limit is
//!   not 1, are dropped and counted; so are malformed ones (§8.1: lengths 25–27) and
//!   bad checksums. A QRV other than 0 in an MLDv2 query becomes the robustness
//!   variable in force, as Linux does (§5.1.8). The S flag is for routers and ignored.
//! - RFC 3810 §6 and §5.2.14: reports go to ff02::16 (Ethernet 33:33:00:00:00:16,
//!   RFC 2464 §7) from the link-local source or `::`, hop limit 1, behind a
//!   hop-by-hop header with a router alert of value 0 (RFC 2711), with an ICMPv6
//!   checksum.
//! - RFC 3810 §6: the all-nodes group ff02::1 is never reported (and is always a
//!   member, [`MldListener::is_member`]); groups of scope 0 (reserved) and 1
//!   (interface-local) are refused too ([`MldError::NotReported`]).
//!
//! Not implemented: MLDv1 compatibility mode (§8.2: a host that hears an MLDv1 query
//! should switch to sending MLDv1 reports and done messages for Older Version Querier
//! Present Timeout); an MLDv1 query is answered as if it were an MLDv2 one, with an
//! MLDv2 report. Source filtering (include mode, source lists) is not supported.
//!
//! Memory is bounded: at most [`MldConfig::max_groups`] entries (joined groups and
//! left groups whose leave is still being retransmitted) and at most
//! [`MldConfig::transmit_capacity`] reports waiting to be polled.

mod listener;
mod stats;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use self::listener::MldListener;
pub use self::stats::MldStats;

use core::fmt;
use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, ETHERNET_HEADER_LEN};

use crate::checksum::ChecksumCaps;
use crate::wire::ipv6::{self, Packet as Ipv6Packet, Repr as Ipv6Repr};
use crate::wire::ipv6ext::{Header, OptionsRepr};
use crate::wire::mld::{Packet as ReportPacket, RecordRepr, ReportRepr, MAX_RECORDS};
use crate::wire::IpProtocol;

/// Settings of an [`MldListener`]; [`Default`] gives RFC 3810's (and Linux's) values.
///
/// [`MldListener::new`] clamps values that make no sense ([`MldConfig::clamped`]).
///
/// # Examples
///
/// ```
/// use strata_l3l4::MldConfig;
///
/// let config = MldConfig { max_groups: 16, seed: 7, ..MldConfig::default() };
/// assert_eq!(config.robustness, 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MldConfig {
    /// Most groups in the table (at least 1), counting left groups whose leave is
    /// still being retransmitted; a join beyond it is refused with
    /// [`MldError::TableFull`]. Default 64.
    pub max_groups: usize,
    /// The Robustness Variable (RFC 3810 §9.1): how many times a state-change report
    /// goes out (1 to 7). Default 2.
    pub robustness: u8,
    /// The Unsolicited Report Interval (RFC 3810 §9.11): the longest random delay
    /// between retransmissions of a state-change report (at least 1 ms). Default 1 s.
    pub unsolicited_report_interval: Duration,
    /// Most reports waiting in [`MldListener::poll_transmit`]'s outbox (at least 1);
    /// more are dropped and counted. Default 8.
    pub transmit_capacity: usize,
    /// Seed of the xorshift generator for the random delays (0 is replaced by a fixed
    /// non-zero value). Give each interface a different one.
    pub seed: u64,
}

impl Default for MldConfig {
    fn default() -> Self {
        MldConfig {
            max_groups: 64,
            robustness: 2,
            unsolicited_report_interval: Duration::from_secs(1),
            transmit_capacity: 8,
            seed: 0x5eed_3810,
        }
    }
}

impl MldConfig {
    /// The same settings with nonsensical values clamped to the nearest sensible one
    /// (documented on each field).
    pub fn clamped(mut self) -> MldConfig {
        self.max_groups = self.max_groups.max(1);
        self.robustness = self.robustness.clamp(1, 7);
        self.unsolicited_report_interval = self
            .unsolicited_report_interval
            .max(Duration::from_millis(1));
        self.transmit_capacity = self.transmit_capacity.max(1);
        self
    }
}

/// Why [`MldListener::join`] or [`MldListener::leave`] refused a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MldError {
    /// The address is not multicast (RFC 4291 §2.7).
    NotMulticast,
    /// A group that is never reported (RFC 3810 §6): the all-nodes group ff02::1
    /// (always joined), or a group of scope 0 (reserved) or 1 (interface-local).
    NotReported,
    /// The table holds [`MldConfig::max_groups`] joined groups.
    TableFull,
}

impl MldError {
    /// A stable snake-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            MldError::NotMulticast => "not_multicast",
            MldError::NotReported => "not_reported",
            MldError::TableFull => "table_full",
        }
    }
}

impl fmt::Display for MldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MldError::NotMulticast => "not a multicast address",
            MldError::NotReported => "a multicast group MLD does not report",
            MldError::TableFull => "multicast group table full",
        })
    }
}

impl std::error::Error for MldError {}

/// Whether MLD reports `group` (RFC 3810 §6): a multicast address of scope 2 or more
/// other than ff02::1.
///
/// # Errors
///
/// [`MldError::NotMulticast`], [`MldError::NotReported`].
pub fn check_group(group: &Ipv6Addr) -> Result<(), MldError> {
    let octets = group.octets();
    if octets[0] != 0xff {
        return Err(MldError::NotMulticast);
    }
    if octets[1] & 0x0f <= 1 || *group == ipv6::LINK_LOCAL_ALL_NODES {
        return Err(MldError::NotReported);
    }
    Ok(())
}

/// What an [`MldTransmit`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportKind {
    /// A state-change report (RFC 3810 §6.1): CHANGE_TO_EXCLUDE / CHANGE_TO_INCLUDE
    /// records, first transmission or retransmission.
    StateChange,
    /// A current-state report answering a query (RFC 3810 §6.2): MODE_IS_EXCLUDE
    /// records.
    CurrentState,
}

/// An MLDv2 report for the caller to send, from [`MldListener::poll_transmit`].
///
/// # Examples
///
/// ```
/// use strata_l2::{EthernetAddress, Instant};
/// use strata_l3l4::{MldConfig, MldListener, MldPacket};
///
/// let mac = EthernetAddress::new(2, 0, 0, 0, 9, 1);
/// let mut mld = MldListener::new(MldConfig::default(), mac);
/// mld.set_source(Some("fe80::ff:fe00:901".parse().unwrap()));
/// mld.join(Instant::ZERO, "ff02::1:ff00:901".parse().unwrap()).unwrap();
/// let tx = mld.poll_transmit(Instant::ZERO).unwrap();
/// let mut frame = vec![0u8; tx.buffer_len()];
/// assert_eq!(tx.emit(&mut frame), frame.len());
/// assert_eq!(&frame[..6], &[0x33, 0x33, 0, 0, 0, 0x16]);
/// let report = MldPacket::new_checked(&frame[14 + 40 + 8..]).unwrap();
/// assert_eq!(report.nr_records(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MldTransmit {
    /// The interface's Ethernet address (the frame's source).
    pub src_mac: EthernetAddress,
    /// The IPv6 source: the interface's link-local address, or `::` before it has one.
    pub src_addr: Ipv6Addr,
    /// What the report is for.
    pub kind: ReportKind,
    /// The records, 1 to [`MAX_RECORDS`].
    pub records: Vec<RecordRepr>,
}

impl MldTransmit {
    /// The Ethernet destination, 33:33:00:00:00:16 (RFC 2464 §7 for ff02::16).
    pub const DST_MAC: EthernetAddress =
        EthernetAddress(ipv6::multicast_mac(&ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS));

    /// The hop-by-hop header: a router alert of value 0, "MLD" (RFC 2711).
    pub const HOP_BY_HOP: OptionsRepr = OptionsRepr {
        next_header: IpProtocol::Icmpv6,
        router_alert: Some(0),
    };

    /// The report.
    pub fn report(&self) -> ReportRepr<'_> {
        ReportRepr {
            records: &self.records,
        }
    }

    /// The IPv6 header of the frame: to ff02::16, hop limit 1, next header hop-by-hop.
    pub fn ipv6_repr(&self) -> Ipv6Repr {
        Ipv6Repr {
            src_addr: self.src_addr,
            dst_addr: ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS,
            next_header: IpProtocol::HopByHop,
            payload_len: Self::HOP_BY_HOP.buffer_len() + self.report().buffer_len(),
            hop_limit: 1,
            traffic_class: 0,
            flow_label: 0,
        }
    }

    /// The Ethernet header of the frame.
    pub fn ethernet_repr(&self) -> EthernetRepr {
        EthernetRepr {
            src_addr: self.src_mac,
            dst_addr: Self::DST_MAC,
            ethertype: EtherType::Ipv6,
        }
    }

    /// Length of the whole frame [`emit`](Self::emit) writes: Ethernet, IPv6,
    /// hop-by-hop header and report (at most 14 + 1280 bytes).
    pub fn buffer_len(&self) -> usize {
        ETHERNET_HEADER_LEN + self.ipv6_repr().buffer_len()
    }

    /// Writes the whole frame at the start of `buffer` and returns its length,
    /// [`buffer_len`](Self::buffer_len). The report's checksum is computed in
    /// software.
    ///
    /// # Panics
    ///
    /// If `buffer` is shorter than [`buffer_len`](Self::buffer_len), or the records
    /// are more than [`MAX_RECORDS`] (never so for a transmit from the listener).
    pub fn emit(&self, buffer: &mut [u8]) -> usize {
        assert!(self.records.len() <= MAX_RECORDS, "too many MLD records");
        let len = self.buffer_len();
        let buffer = &mut buffer[..len];
        let mut frame = EthernetFrame::new_unchecked(&mut *buffer);
        self.ethernet_repr().emit(&mut frame);
        let ip = self.ipv6_repr();
        let ip_bytes = &mut buffer[ETHERNET_HEADER_LEN..];
        let emitted = ip.emit(&mut Ipv6Packet::new_unchecked(&mut *ip_bytes));
        debug_assert!(emitted.is_ok());
        let payload = &mut ip_bytes[ipv6::HEADER_LEN..];
        let (hbh, report) = payload.split_at_mut(Self::HOP_BY_HOP.buffer_len());
        let emitted = Self::HOP_BY_HOP.emit(&mut Header::new_unchecked(hbh));
        debug_assert!(emitted.is_ok());
        let emitted = self.report().emit(
            &mut ReportPacket::new_unchecked(report),
            &ip.src_addr,
            &ip.dst_addr,
            &ChecksumCaps::software(),
        );
        debug_assert!(emitted.is_ok());
        len
    }
}
