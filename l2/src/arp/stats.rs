//! Counters of one [`ArpCache`](super::ArpCache), a plain struct with one
//! writer (quinn-proto's `ConnectionStats` style), exported by the engine as
//! the `arp` protocol stats and their `drop_reasons`.

/// What an [`ArpCache`](super::ArpCache) has done since it was made.
///
/// Frames are counted as sent when [`poll_transmit`](super::ArpCache::poll_transmit)
/// hands them out. The `rx_*`, `queue_*`, `no_room`, `unresolvable`,
/// `tx_overflow` and `events_dropped` counters are drops; they are listed by
/// [`drop_reasons`](Self::drop_reasons). Packets handed back by
/// [`poll_unreachable`](super::ArpCache::poll_unreachable)
/// (`unreachable_returned`) are not drops: the engine answers them with an
/// ICMP error and counts that drop itself.
///
/// # Examples
///
/// ```
/// use strata_l2::ArpStats;
///
/// let stats = ArpStats { cache_misses: 2, queue_overflow: 1, ..ArpStats::default() };
/// assert_eq!(stats.dropped(), 1);
/// assert!(stats.drop_reasons().contains(&("queue_overflow", 1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ArpStats {
    /// ARP requests received (probes and announcements included).
    pub requests_received: u64,
    /// ARP replies received.
    pub replies_received: u64,
    /// Requests sent: broadcast resolution (retries included) and unicast
    /// polls of STALE entries.
    pub requests_sent: u64,
    /// Replies sent, answers to probes included.
    pub replies_sent: u64,
    /// Gratuitous requests sent: announcements and defences.
    pub announcements_sent: u64,
    /// ARP probes for our addresses answered (RFC 5227 §2.1.1).
    pub probes_answered: u64,
    /// Packets from other hosts claiming one of our addresses.
    pub conflicts: u64,
    /// Lookups that found a usable hardware address.
    pub cache_hits: u64,
    /// Lookups that did not (unknown or INCOMPLETE neighbour).
    pub cache_misses: u64,
    /// INCOMPLETE entries that gave up after `max_requests` requests.
    pub resolution_failures: u64,
    /// STALE entries removed after `max_probes` unanswered unicast polls.
    pub refresh_failures: u64,
    /// STALE entries removed after `stale_time` unused.
    pub entries_expired: u64,
    /// Entries evicted to make room for new ones.
    pub entries_evicted: u64,
    /// Drop: waiting packets pushed out (or refused) by the queue bounds.
    pub queue_overflow: u64,
    /// Waiting packets handed back by
    /// [`poll_unreachable`](super::ArpCache::poll_unreachable) after their
    /// neighbour failed to resolve (not a drop here).
    pub unreachable_returned: u64,
    /// Drop: waiting packets dropped because their neighbour was removed or
    /// flushed while INCOMPLETE, or because, having failed to resolve, they
    /// were pushed out of the `queue_total`-bounded queue of
    /// [`poll_unreachable`](super::ArpCache::poll_unreachable) by later
    /// ones while the caller was not polling.
    pub queue_failed: u64,
    /// Drop: packets refused because no INCOMPLETE entry could be made
    /// (`max_incomplete` reached, or nothing evictable).
    pub no_room: u64,
    /// Drop: packets for addresses ARP cannot resolve (0.0.0.0, loopback).
    pub unresolvable: u64,
    /// Drop: received ARP with an unknown operation code.
    pub rx_unknown_operation: u64,
    /// Drop: received ARP from our own hardware address (our frame looped
    /// back).
    pub rx_own: u64,
    /// Drop: received ARP with an impossible sender (a group or all-zero
    /// hardware address; a broadcast, multicast or loopback IPv4 address).
    pub rx_invalid: u64,
    /// Drop: received ARP about a neighbour that could not be stored
    /// because the cache was full of entries that cannot be evicted.
    pub rx_cache_full: u64,
    /// Drop: frames to send dropped because the transmit outbox was full.
    pub tx_overflow: u64,
    /// Drop: events dropped because the event queue was full.
    pub events_dropped: u64,
}

impl ArpStats {
    /// ARP packets received (the `recv` of the stats JSON): requests and
    /// replies, plus those with an unknown operation.
    pub fn received(&self) -> u64 {
        self.requests_received + self.replies_received + self.rx_unknown_operation
    }

    /// ARP frames handed out to send (the `sent` of the stats JSON).
    pub fn sent(&self) -> u64 {
        self.requests_sent + self.replies_sent + self.announcements_sent
    }

    /// Packets dropped for any reason (the `drop` of the stats JSON): the
    /// sum of [`drop_reasons`](Self::drop_reasons) but for lost events,
    /// which are not packets.
    pub fn dropped(&self) -> u64 {
        self.drop_reasons()
            .iter()
            .filter(|(name, _)| *name != "events_dropped")
            .map(|(_, n)| n)
            .sum()
    }

    /// Waiting packets dropped, whatever the reason.
    pub fn queue_drops(&self) -> u64 {
        self.queue_overflow + self.queue_failed + self.no_room + self.unresolvable
    }

    /// Every drop counter under its name in the stats JSON's
    /// `drop_reasons` (the names of [`ArpDropReason`](super::ArpDropReason)
    /// among them).
    pub fn drop_reasons(&self) -> [(&'static str, u64); 10] {
        [
            ("queue_overflow", self.queue_overflow),
            ("resolution_failed", self.queue_failed),
            ("no_room", self.no_room),
            ("unresolvable", self.unresolvable),
            ("unknown_operation", self.rx_unknown_operation),
            ("own_frame", self.rx_own),
            ("invalid_sender", self.rx_invalid),
            ("cache_full", self.rx_cache_full),
            ("tx_overflow", self.tx_overflow),
            ("events_dropped", self.events_dropped),
        ]
    }
}
