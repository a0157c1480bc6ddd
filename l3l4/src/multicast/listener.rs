//! [`MldListener`]: the group table, the two interface timers and the per-group query
//! timers of RFC 3810 §6, and the outbox of reports.

use core::time::Duration;
use std::collections::VecDeque;
use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, Instant};

use super::{check_group, MldConfig, MldError, MldStats, MldTransmit, ReportKind};
use crate::checksum::ChecksumCaps;
use crate::wire::ipv6;
use crate::wire::mld::{Query, QueryRepr, QueryVersion, RecordRepr, RecordType, MAX_RECORDS};
use crate::wire::Error;

/// A group in the table: joined, or left with its leave still being retransmitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    group: Ipv6Addr,
    /// Listening (exclude mode, no sources) or not (include mode, no sources).
    joined: bool,
    /// State-change transmissions still to go (RFC 3810 §6.1); the record type
    /// follows `joined`.
    change_left: u8,
    /// When the answer to a multicast-address-specific query is due (§6.2).
    query_due: Option<Instant>,
}

/// The MLDv2 listener of one interface (RFC 3810 §6): see the [module
/// documentation](super) for the call order and the rules.
///
/// # Examples
///
/// ```
/// use strata_l2::{EthernetAddress, Instant};
/// use strata_l3l4::{MldConfig, MldListener, MldRecordType};
///
/// let mut mld = MldListener::new(MldConfig::default(), EthernetAddress::new(2, 0, 0, 0, 0, 1));
/// let group = "ff05::1:3".parse().unwrap();
/// assert_eq!(mld.join(Instant::ZERO, group), Ok(true));
/// let tx = mld.poll_transmit(Instant::ZERO).unwrap();
/// assert_eq!(tx.records[0].record_type, MldRecordType::ChangeToExclude);
/// // The retransmission is due within the Unsolicited Report Interval.
/// assert!(mld.poll_at().unwrap() <= Instant::from_secs(1));
/// ```
#[derive(Debug, Clone)]
pub struct MldListener {
    config: MldConfig,
    hardware_addr: EthernetAddress,
    source: Option<Ipv6Addr>,
    robustness: u8,
    entries: Vec<Entry>,
    /// The interface state-change timer (§6.1).
    change_due: Option<Instant>,
    /// The interface timer answering general queries (§6.2).
    general_due: Option<Instant>,
    outbox: VecDeque<(ReportKind, Vec<RecordRepr>)>,
    rng: u64,
    stats: MldStats,
}

impl MldListener {
    /// A listener for the interface with Ethernet address `hardware_addr`, member of
    /// no group but ff02::1. The config is [clamped](MldConfig::clamped).
    pub fn new(config: MldConfig, hardware_addr: EthernetAddress) -> MldListener {
        let config = config.clamped();
        let rng = if config.seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            config.seed
        };
        MldListener {
            robustness: config.robustness,
            entries: Vec::with_capacity(config.max_groups),
            outbox: VecDeque::with_capacity(config.transmit_capacity),
            config,
            hardware_addr,
            source: None,
            change_due: None,
            general_due: None,
            rng,
            stats: MldStats::default(),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &MldConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &MldStats {
        &self.stats
    }

    /// The interface's Ethernet address.
    pub fn hardware_addr(&self) -> EthernetAddress {
        self.hardware_addr
    }

    /// The IPv6 source of reports: the link-local address given to
    /// [`set_source`](Self::set_source), or `None` (reports go from `::`).
    pub fn source(&self) -> Option<Ipv6Addr> {
        self.source
    }

    /// Sets the link-local address reports are sent from (RFC 3810 §5: a link-local
    /// source, or `::` while the interface has none that is not tentative). Takes
    /// effect for reports polled from now on.
    pub fn set_source(&mut self, source: Option<Ipv6Addr>) {
        self.source = source;
    }

    /// The Robustness Variable in force: the configured one, or the last non-zero QRV
    /// of an MLDv2 query (§5.1.8).
    pub fn robustness(&self) -> u8 {
        self.robustness
    }

    /// The joined groups (ff02::1 is implied, not listed).
    pub fn groups(&self) -> impl Iterator<Item = Ipv6Addr> + '_ {
        self.entries.iter().filter(|e| e.joined).map(|e| e.group)
    }

    /// How many groups are joined.
    pub fn len(&self) -> usize {
        self.entries.iter().filter(|e| e.joined).count()
    }

    /// Whether no group is joined (ff02::1 aside).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries in the table: joined groups and left groups whose leave is still being
    /// retransmitted. At most [`MldConfig::max_groups`].
    pub fn table_len(&self) -> usize {
        self.entries.len()
    }

    /// Reports waiting in the outbox. At most [`MldConfig::transmit_capacity`].
    pub fn outbox_len(&self) -> usize {
        self.outbox.len()
    }

    /// Whether the interface listens to `group`: a joined group, or ff02::1, which
    /// every node listens to (RFC 4291 §2.7.1).
    pub fn is_member(&self, group: &Ipv6Addr) -> bool {
        *group == ipv6::LINK_LOCAL_ALL_NODES
            || self.entries.iter().any(|e| e.joined && e.group == *group)
    }

    /// Starts listening to `group` from any source and schedules the state-change
    /// report (a CHANGE_TO_EXCLUDE record with no sources, RFC 3810 §6.1), sent at once
    /// and Robustness Variable times in all. Returns whether anything changed (`false`
    /// for a group already joined). Re-joining a group whose leave is still being
    /// retransmitted turns it back into a join.
    ///
    /// # Errors
    ///
    /// [`MldError::NotMulticast`], [`MldError::NotReported`] (ff02::1, scopes 0 and 1),
    /// [`MldError::TableFull`] when [`MldConfig::max_groups`] groups are joined. When
    /// the table is full only because of left groups, the oldest of them is dropped
    /// with its pending leave (counted in [`MldStats::changes_abandoned`]).
    pub fn join(&mut self, now: Instant, group: Ipv6Addr) -> Result<bool, MldError> {
        if let Err(err) = check_group(&group) {
            self.stats.joins_refused += 1;
            return Err(err);
        }
        let robustness = self.robustness;
        if let Some(entry) = self.entries.iter_mut().find(|e| e.group == group) {
            if entry.joined {
                return Ok(false);
            }
            entry.joined = true;
            entry.change_left = robustness;
        } else {
            if self.entries.len() >= self.config.max_groups {
                let Some(at) = self.entries.iter().position(|e| !e.joined) else {
                    self.stats.joins_refused += 1;
                    return Err(MldError::TableFull);
                };
                self.entries.remove(at);
                self.stats.changes_abandoned += 1;
            }
            self.entries.push(Entry {
                group,
                joined: true,
                change_left: robustness,
                query_due: None,
            });
        }
        self.stats.joins += 1;
        self.schedule_change(now);
        Ok(true)
    }

    /// Stops listening to `group` and schedules the state-change report (a
    /// CHANGE_TO_INCLUDE record with no sources, RFC 3810 §6.1), sent at once and
    /// Robustness Variable times in all. Returns whether anything changed (`false` for
    /// a group not joined).
    ///
    /// # Errors
    ///
    /// [`MldError::NotMulticast`], [`MldError::NotReported`] (ff02::1 cannot be left).
    pub fn leave(&mut self, now: Instant, group: Ipv6Addr) -> Result<bool, MldError> {
        check_group(&group)?;
        let robustness = self.robustness;
        let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.group == group && e.joined)
        else {
            return Ok(false);
        };
        entry.joined = false;
        entry.change_left = robustness;
        entry.query_due = None;
        self.stats.leaves += 1;
        self.schedule_change(now);
        Ok(true)
    }

    /// Handles an MLD query (the ICMPv6 message, type 130) received from `src` for
    /// `dst` with `hop_limit`: parses it ([`QueryRepr::parse`], checksum per `caps`),
    /// then [`handle_query_repr`](Self::handle_query_repr). Malformed queries and bad
    /// checksums are dropped and counted.
    pub fn handle_query(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        message: &[u8],
        caps: &ChecksumCaps,
    ) {
        let parsed = Query::new_checked(message)
            .and_then(|query| QueryRepr::parse(&query, &src, &dst, caps));
        match parsed {
            Ok(query) => self.handle_query_repr(now, src, hop_limit, &query),
            Err(Error::Checksum) => self.stats.query_checksum += 1,
            Err(_) => self.stats.query_malformed += 1,
        }
    }

    /// Handles a parsed query from `src` received with `hop_limit`. Drops it (and
    /// counts it) unless `src` is link-local and `hop_limit` is 1 (RFC 3810 §5.1.14).
    /// Otherwise schedules the answer (§6.2) after a random delay in
    /// [0, Maximum Response Delay): of every joined group for a general query, of the
    /// queried group if it is joined for a specific one. An MLDv1 query is answered
    /// as an MLDv2 one (no compatibility mode).
    pub fn handle_query_repr(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        hop_limit: u8,
        query: &QueryRepr<'_>,
    ) {
        if !ipv6::is_link_local(&src) {
            self.stats.query_bad_source += 1;
            return;
        }
        if hop_limit != 1 {
            self.stats.query_bad_hop_limit += 1;
            return;
        }
        self.stats.queries += 1;
        match query.version {
            QueryVersion::V1 => self.stats.v1_queries += 1,
            QueryVersion::V2 if query.qrv != 0 => self.robustness = query.qrv,
            QueryVersion::V2 => {}
        }
        let max_us = u64::from(query.max_resp_delay_ms()) * 1000;
        let due = now + Duration::from_micros(self.random_below(max_us));
        if query.is_general() {
            self.stats.general_queries += 1;
            if !self.general_due.is_some_and(|pending| pending <= due) {
                self.general_due = Some(due);
            }
            return;
        }
        let general_due = self.general_due;
        let Some(entry) = self
            .entries
            .iter_mut()
            .find(|e| e.joined && e.group == query.group)
        else {
            self.stats.queries_not_joined += 1;
            return;
        };
        if general_due.is_some_and(|general| general <= due) {
            return;
        }
        entry.query_due = Some(entry.query_due.map_or(due, |pending| pending.min(due)));
    }

    /// The earliest deadline of the listener's timers, `None` when nothing is pending.
    /// Reports already in the outbox are not timers: drain
    /// [`poll_transmit`](Self::poll_transmit) after every call.
    pub fn poll_at(&self) -> Option<Instant> {
        let groups = self.entries.iter().filter_map(|e| e.query_due);
        [self.change_due, self.general_due]
            .into_iter()
            .flatten()
            .chain(groups)
            .min()
    }

    /// Runs the timers due at `now`, putting the reports they make in the outbox.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.change_due.is_some_and(|due| due <= now) {
            self.fire_change(now);
        }
        if self.general_due.is_some_and(|due| due <= now) {
            self.general_due = None;
            let mut records = Vec::new();
            for entry in &mut self.entries {
                entry.query_due = None;
                if entry.joined {
                    records.push(current(entry.group));
                }
            }
            self.push_reports(ReportKind::CurrentState, &records);
        }
        let mut records = Vec::new();
        for entry in &mut self.entries {
            if entry.query_due.is_some_and(|due| due <= now) {
                entry.query_due = None;
                if entry.joined {
                    records.push(current(entry.group));
                }
            }
        }
        self.push_reports(ReportKind::CurrentState, &records);
    }

    /// The next report to send, after running the timers due at `now`; `None` when
    /// there is none. Call it until it returns `None` after every other call.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<MldTransmit> {
        self.handle_timeout(now);
        let (kind, records) = self.outbox.pop_front()?;
        self.stats.reports_sent += 1;
        let n = records.len() as u64;
        match kind {
            ReportKind::StateChange => self.stats.change_records_sent += n,
            ReportKind::CurrentState => self.stats.current_records_sent += n,
        }
        Some(MldTransmit {
            src_mac: self.hardware_addr,
            src_addr: self.source.unwrap_or(Ipv6Addr::UNSPECIFIED),
            kind,
            records,
        })
    }

    /// A state change happened: the interface state-change timer fires at once (§6.1:
    /// the report is sent immediately).
    fn schedule_change(&mut self, now: Instant) {
        self.change_due = Some(self.change_due.map_or(now, |due| due.min(now)));
    }

    /// Sends every pending state-change record once and schedules the next
    /// retransmission if some are left.
    fn fire_change(&mut self, now: Instant) {
        let mut records = Vec::new();
        for entry in &mut self.entries {
            if entry.change_left > 0 {
                entry.change_left -= 1;
                let record_type = if entry.joined {
                    RecordType::ChangeToExclude
                } else {
                    RecordType::ChangeToInclude
                };
                records.push(RecordRepr {
                    record_type,
                    group: entry.group,
                });
            }
        }
        self.entries.retain(|e| e.joined || e.change_left > 0);
        self.push_reports(ReportKind::StateChange, &records);
        self.change_due = if self.entries.iter().any(|e| e.change_left > 0) {
            let interval = self.config.unsolicited_report_interval;
            let max_us = u64::try_from(interval.as_micros()).unwrap_or(u64::MAX);
            // (0, Unsolicited Report Interval]
            let delay = self.random_below(max_us).saturating_add(1);
            Some(now + Duration::from_micros(delay))
        } else {
            None
        };
    }

    fn push_reports(&mut self, kind: ReportKind, records: &[RecordRepr]) {
        for chunk in records.chunks(MAX_RECORDS) {
            if self.outbox.len() >= self.config.transmit_capacity {
                self.stats.tx_overflow += 1;
            } else {
                self.outbox.push_back((kind, chunk.to_vec()));
            }
        }
    }

    /// A pseudo-random number in [0, n) (0 when n is 0), from xorshift64.
    fn random_below(&mut self, n: u64) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        if n == 0 {
            0
        } else {
            x % n
        }
    }
}

fn current(group: Ipv6Addr) -> RecordRepr {
    RecordRepr {
        record_type: RecordType::ModeIsExclude,
        group,
    }
}
