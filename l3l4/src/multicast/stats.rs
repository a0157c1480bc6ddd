//! Counters of one [`MldListener`](super::MldListener), a plain struct with one writer,
//! exported by the engine beside the `icmpv6` protocol stats.

/// What an [`MldListener`](super::MldListener) has done since it was made.
///
/// Reports are counted as sent when [`poll_transmit`](super::MldListener::poll_transmit)
/// hands them out. The `query_*` drop counters and `tx_overflow` are listed by
/// [`drop_reasons`](Self::drop_reasons).
///
/// # Examples
///
/// ```
/// use strata_l3l4::MldStats;
///
/// let stats = MldStats { queries: 3, query_bad_source: 1, ..MldStats::default() };
/// assert_eq!(stats.dropped(), 1);
/// assert_eq!(stats.received(), 4);
/// assert!(stats.drop_reasons().contains(&("query_bad_source", 1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MldStats {
    /// Groups joined (joins of a group already joined are not counted).
    pub joins: u64,
    /// Groups left (leaves of a group not joined are not counted).
    pub leaves: u64,
    /// Joins refused: not multicast, not reported, table full.
    pub joins_refused: u64,
    /// Left groups whose pending leave retransmissions were dropped to make room for
    /// a join while the table was full.
    pub changes_abandoned: u64,
    /// Queries accepted (general and specific, both versions).
    pub queries: u64,
    /// Of those, general queries.
    pub general_queries: u64,
    /// Of those, MLDv1 queries (answered as MLDv2 ones).
    pub v1_queries: u64,
    /// Of those, queries for a group not joined (nothing to answer).
    pub queries_not_joined: u64,
    /// Reports handed out by `poll_transmit`.
    pub reports_sent: u64,
    /// State-change records in those reports (CHANGE_TO_EXCLUDE / CHANGE_TO_INCLUDE).
    pub change_records_sent: u64,
    /// Current-state records in those reports (MODE_IS_EXCLUDE).
    pub current_records_sent: u64,
    /// Drop: queries that do not parse (short, 25–27 bytes, sources past the end).
    pub query_malformed: u64,
    /// Drop: queries with a bad checksum.
    pub query_checksum: u64,
    /// Drop: queries whose source is not link-local (RFC 3810 §5.1.14).
    pub query_bad_source: u64,
    /// Drop: queries whose hop limit is not 1 (RFC 3810 §5.1.14).
    pub query_bad_hop_limit: u64,
    /// Drop: reports dropped because the outbox was full.
    pub tx_overflow: u64,
}

impl MldStats {
    /// Queries received, accepted or dropped.
    pub fn received(&self) -> u64 {
        self.queries
            + self.query_malformed
            + self.query_checksum
            + self.query_bad_source
            + self.query_bad_hop_limit
    }

    /// Reports handed out to send.
    pub fn sent(&self) -> u64 {
        self.reports_sent
    }

    /// Packets dropped for any reason: the sum of [`drop_reasons`](Self::drop_reasons).
    pub fn dropped(&self) -> u64 {
        self.drop_reasons().iter().map(|(_, n)| n).sum()
    }

    /// Every drop counter under its name in the stats JSON's `drop_reasons`.
    pub fn drop_reasons(&self) -> [(&'static str, u64); 5] {
        [
            ("query_malformed", self.query_malformed),
            ("query_checksum", self.query_checksum),
            ("query_bad_source", self.query_bad_source),
            ("query_bad_hop_limit", self.query_bad_hop_limit),
            ("tx_overflow", self.tx_overflow),
        ]
    }
}
