//! Counters of one [`NdCache`](super::NdCache), a plain struct with one writer,
//! for the engine's neighbour-discovery counters (Zephyr's `nd` statistics:
//! received, sent, dropped) and their `drop_reasons`.

/// What an [`NdCache`](super::NdCache) has done since it was made.
///
/// Frames are counted as sent when [`poll_transmit`](super::NdCache::poll_transmit)
/// hands them out. The counters listed by [`drop_reasons`](Self::drop_reasons)
/// are drops. Packets handed back by
/// [`poll_unreachable`](super::NdCache::poll_unreachable) (`unreachable_returned`)
/// are not: the engine answers them with an ICMPv6 error and counts that drop
/// itself.
///
/// # Examples
///
/// ```
/// use strata_l3l4::NdStats;
///
/// let stats = NdStats { cache_misses: 2, queue_overflow: 1, ..NdStats::default() };
/// assert_eq!(stats.dropped(), 1);
/// assert!(stats.drop_reasons().contains(&("queue_overflow", 1)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NdStats {
    /// Neighbour solicitations received (handed to the cache).
    pub ns_received: u64,
    /// Neighbour advertisements received (handed to the cache).
    pub na_received: u64,
    /// Router solicitations, router advertisements and redirects received (for
    /// their link-layer addresses).
    pub other_received: u64,
    /// Multicast solicitations sent to resolve addresses (retries included).
    pub solicits_sent: u64,
    /// Unicast solicitations sent to probe neighbours in PROBE.
    pub probes_sent: u64,
    /// Advertisements sent in answer to solicitations (DAD probes included).
    pub adverts_sent: u64,
    /// Solicitations from the unspecified address (DAD probes) for our addresses
    /// that were answered to all-nodes.
    pub dad_probes_answered: u64,
    /// Advertisements for one of our addresses: duplicates reported as
    /// [`NdEvent::DuplicateAddress`](super::NdEvent::DuplicateAddress).
    pub duplicates_detected: u64,
    /// Neighbours whose IsRouter flag was cleared by an advertisement.
    pub routers_lost: u64,
    /// Lookups that found a usable link-layer address.
    pub cache_hits: u64,
    /// Lookups that did not (unknown or INCOMPLETE neighbour).
    pub cache_misses: u64,
    /// INCOMPLETE entries that gave up after `max_multicast_solicit`
    /// solicitations.
    pub resolution_failures: u64,
    /// Entries removed after `max_unicast_solicit` unanswered probes.
    pub probe_failures: u64,
    /// STALE entries removed after `stale_time` unused.
    pub entries_expired: u64,
    /// Entries evicted to make room for new ones.
    pub entries_evicted: u64,
    /// Drop: waiting packets pushed out (or refused) by the queue bounds.
    pub queue_overflow: u64,
    /// Waiting packets handed back by
    /// [`poll_unreachable`](super::NdCache::poll_unreachable) after their
    /// neighbour failed to resolve (not a drop here).
    pub unreachable_returned: u64,
    /// Drop: waiting packets dropped because their neighbour was removed or
    /// flushed while INCOMPLETE, or because, having failed to resolve, they were
    /// pushed out of the `queue_total`-bounded queue of
    /// [`poll_unreachable`](super::NdCache::poll_unreachable) by later ones while
    /// the caller was not polling.
    pub resolution_failed: u64,
    /// Drop: packets refused because no INCOMPLETE entry could be made
    /// (`max_incomplete` reached, or nothing evictable).
    pub no_room: u64,
    /// Drop: packets for addresses that cannot be resolved (unspecified,
    /// loopback).
    pub unresolvable: u64,
    /// Drop: solicitations whose target is not one of our addresses (§7.2.3).
    pub rx_not_ours: u64,
    /// Drop: messages carrying our own link-layer address (our frame looped
    /// back).
    pub rx_own: u64,
    /// Drop: messages that cannot be acted on: a group or all-zero link-layer
    /// address, a multicast or loopback source, a solicited advertisement to a
    /// group, a message of another type handed to `handle_ns`/`handle_na`.
    pub rx_invalid: u64,
    /// Drop: advertisements for a neighbour not in the cache (§7.2.5: silently
    /// discarded, no entry is created).
    pub na_no_entry: u64,
    /// Drop: advertisements without a target link-layer address for an
    /// INCOMPLETE entry (§7.2.5).
    pub na_no_lladdr: u64,
    /// Drop: a neighbour's link-layer address could not be stored because the
    /// cache was full of entries that cannot be evicted.
    pub rx_cache_full: u64,
    /// Drop: advertisements we could not send because the soliciting neighbour's
    /// link-layer address could not be resolved.
    pub advert_unresolved: u64,
    /// Drop: frames to send dropped because the transmit outbox was full.
    pub tx_overflow: u64,
    /// Drop: events dropped because the event queue was full.
    pub events_dropped: u64,
}

impl NdStats {
    /// Neighbour discovery messages handed to the cache.
    pub fn received(&self) -> u64 {
        self.ns_received + self.na_received + self.other_received
    }

    /// Frames handed out to send.
    pub fn sent(&self) -> u64 {
        self.solicits_sent + self.probes_sent + self.adverts_sent
    }

    /// Packets dropped for any reason: the sum of
    /// [`drop_reasons`](Self::drop_reasons) but for lost events, which are not
    /// packets.
    pub fn dropped(&self) -> u64 {
        self.drop_reasons()
            .iter()
            .filter(|(name, _)| *name != "events_dropped")
            .map(|(_, n)| n)
            .sum()
    }

    /// Waiting packets dropped, whatever the reason.
    pub fn queue_drops(&self) -> u64 {
        self.queue_overflow + self.resolution_failed + self.no_room + self.unresolvable
    }

    /// Every drop counter under its snake-case name in the stats JSON's
    /// `drop_reasons` (the names of [`NdDropReason`](super::NdDropReason) among
    /// them).
    pub fn drop_reasons(&self) -> [(&'static str, u64); 13] {
        [
            ("queue_overflow", self.queue_overflow),
            ("resolution_failed", self.resolution_failed),
            ("no_room", self.no_room),
            ("unresolvable", self.unresolvable),
            ("target_not_ours", self.rx_not_ours),
            ("own_frame", self.rx_own),
            ("invalid", self.rx_invalid),
            ("na_no_entry", self.na_no_entry),
            ("na_no_lladdr", self.na_no_lladdr),
            ("cache_full", self.rx_cache_full),
            ("advert_unresolved", self.advert_unresolved),
            ("tx_overflow", self.tx_overflow),
            ("events_dropped", self.events_dropped),
        ]
    }
}
