//! Counters of one [`AddrConf`](super::AddrConf), a plain struct with one
//! writer, exported by the engine beside the `icmpv6` protocol stats.

/// What an [`AddrConf`](super::AddrConf) has done since it was made.
///
/// Frames are counted as sent when they are queued for
/// [`poll_transmit`](super::AddrConf::poll_transmit). The counters listed by
/// [`drop_reasons`](Self::drop_reasons) are drops: messages (or options, or
/// frames, or events) that were not acted on, each under its reason.
///
/// # Examples
///
/// ```
/// use strata_l3l4::AddrConfStats;
///
/// let stats = AddrConfStats { ra_invalid: 2, ra_received: 5, ..AddrConfStats::default() };
/// assert_eq!(stats.dropped(), 2);
/// assert!(stats.drop_reasons().contains(&("ra_invalid", 2)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AddrConfStats {
    /// DAD probes (neighbour solicitations from `::`) sent.
    pub dad_probes_sent: u64,
    /// Addresses whose DAD found no conflict (or ran with DAD off).
    pub dad_succeeded: u64,
    /// Addresses found DUPLICATE (RFC 4862 §5.4.3, §5.4.4).
    pub dad_failed: u64,
    /// Our own DAD probes seen again (looped back) and ignored.
    pub dad_looped_back: u64,
    /// Router solicitations sent.
    pub rs_sent: u64,
    /// Router advertisements accepted and processed.
    pub ra_received: u64,
    /// Neighbour solicitations seen (whether they concern us or not).
    pub ns_received: u64,
    /// Neighbour advertisements seen (whether they concern us or not).
    pub na_received: u64,
    /// Neighbour advertisements for one of our PREFERRED or DEPRECATED
    /// addresses: another node claims it after DAD (RFC 4862 §5.4.4 leaves
    /// this to logging).
    pub na_conflicts: u64,
    /// Addresses that entered the table.
    pub addresses_added: u64,
    /// Addresses whose preferred lifetime ended.
    pub addresses_deprecated: u64,
    /// Addresses whose valid lifetime ended.
    pub addresses_expired: u64,
    /// Routers added to the default router list.
    pub routers_added: u64,
    /// Routers that left it (lifetime 0 or expired).
    pub routers_removed: u64,
    /// Drop: a router advertisement that is not one, not from a link-local
    /// address, or with a malformed option (the caller should have
    /// validated it).
    pub ra_invalid: u64,
    /// Drop: a router advertisement while autoconfiguration is off (not
    /// enabled, or stopped after a duplicate link-local, RFC 4862 §5.4.5).
    pub ra_disabled: u64,
    /// Drop: a neighbour solicitation or advertisement too short or of
    /// another type.
    pub nd_invalid: u64,
    /// Drop: a neighbour solicitation for a tentative address from a
    /// unicast source (address resolution), silently discarded (RFC 4862
    /// §5.4.3).
    pub ns_tentative_target: u64,
    /// Drop: a prefix information option for the link-local prefix
    /// (RFC 4861 §6.3.4, RFC 4862 §5.5.3 (b)).
    pub prefix_link_local: u64,
    /// Drop: a prefix information option whose preferred lifetime exceeds
    /// its valid lifetime (RFC 4862 §5.5.3 (c)).
    pub prefix_bad_lifetimes: u64,
    /// Drop: an autonomous prefix whose length plus the 64-bit interface
    /// identifier is not 128 (RFC 4862 §5.5.3 (d)).
    pub prefix_bad_length: u64,
    /// Drop: an MTU option below 1280 or above the link MTU (RFC 4861
    /// §6.3.4).
    pub mtu_out_of_range: u64,
    /// Drop: an address that could not enter the full address table.
    pub address_table_full: u64,
    /// Drop: a router that could not enter the full default router list.
    pub router_table_full: u64,
    /// Drop: an on-link prefix that could not enter the full prefix list.
    pub prefix_table_full: u64,
    /// Drop: frames to send dropped because the outbox was full.
    pub tx_overflow: u64,
    /// Drop: events dropped because the event queue was full.
    pub events_dropped: u64,
}

impl AddrConfStats {
    /// Frames handed out to send.
    pub fn sent(&self) -> u64 {
        self.dad_probes_sent + self.rs_sent
    }

    /// Drops of any reason but lost events (which are not packets): the sum
    /// of [`drop_reasons`](Self::drop_reasons) without `events_dropped`.
    pub fn dropped(&self) -> u64 {
        self.drop_reasons()
            .iter()
            .filter(|(name, _)| *name != "events_dropped")
            .map(|(_, n)| n)
            .sum()
    }

    /// Every drop counter under its name in the stats JSON's `drop_reasons`.
    pub fn drop_reasons(&self) -> [(&'static str, u64); 13] {
        [
            ("ra_invalid", self.ra_invalid),
            ("ra_disabled", self.ra_disabled),
            ("nd_invalid", self.nd_invalid),
            ("ns_tentative_target", self.ns_tentative_target),
            ("prefix_link_local", self.prefix_link_local),
            ("prefix_bad_lifetimes", self.prefix_bad_lifetimes),
            ("prefix_bad_length", self.prefix_bad_length),
            ("mtu_out_of_range", self.mtu_out_of_range),
            ("address_table_full", self.address_table_full),
            ("router_table_full", self.router_table_full),
            ("prefix_table_full", self.prefix_table_full),
            ("tx_overflow", self.tx_overflow),
            ("events_dropped", self.events_dropped),
        ]
    }
}
