//! The address table of one interface, its timers and the `poll_*`
//! outputs. DAD and received neighbour messages are in `dad.rs`, router
//! solicitation and advertisement in `router.rs`.

use core::time::Duration;
use std::collections::VecDeque;
use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, Instant};

use super::{
    common_prefix_len, link_local_from_mac, AddrConfConfig, AddrConfError, AddrConfEvent,
    AddrConfStats, AddrConfTransmit, AddrOrigin, AddrRemovalReason, DefaultRouter, Ipv6AddrInfo,
    Ipv6AddrState, Lifetimes, OnLinkPrefix,
};
use crate::wire::ipv6::{
    is_link_local, multicast_scope, solicited_node, MulticastScope, LINK_LOCAL_ALL_NODES,
};

/// DAD in progress for a tentative address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Dad {
    /// When the next probe goes (or, after the last, when DAD succeeds).
    pub(super) next: Instant,
    /// Probes sent so far.
    pub(super) sent: u8,
    /// The RFC 7527 nonce of our probes.
    pub(super) nonce: Option<[u8; 6]>,
    /// Probes without a nonce received for the address (RFC 4862
    /// Appendix A counting).
    pub(super) received: u8,
}

/// One address of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) addr: Ipv6Addr,
    pub(super) prefix_len: u8,
    pub(super) origin: AddrOrigin,
    pub(super) state: Ipv6AddrState,
    pub(super) valid_until: Option<Instant>,
    pub(super) preferred_until: Option<Instant>,
    /// `Some` exactly while TENTATIVE.
    pub(super) dad: Option<Dad>,
}

/// Router solicitation in progress (RFC 4861 §6.3.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Solicit {
    pub(super) next: Instant,
    pub(super) sent: u8,
}

/// Stateless address autoconfiguration of one Ethernet interface: its
/// IPv6 address table with DAD, the default router list, the on-link prefix
/// list and router solicitation.
///
/// Sans-I/O: time comes in as `now`, deadlines go out through
/// [`poll_at`](Self::poll_at), frames to send come out of
/// [`poll_transmit`](Self::poll_transmit) for the caller to
/// [`emit`](AddrConfTransmit::emit).
///
/// # Call order
///
/// 1. [`enable`](Self::enable) with the interface's MAC when the link comes
///    up: the link-local address is formed and DAD starts; then router
///    solicitations. [`add_address`](Self::add_address) adds manual
///    addresses (DAD too).
/// 2. For each received neighbour discovery message that passed
///    [`NdiscRepr::parse`](crate::NdiscRepr::parse),
///    [`handle_ndisc`](Self::handle_ndisc) (or
///    [`handle_ns`](Self::handle_ns), [`handle_na`](Self::handle_na),
///    [`handle_ra`](Self::handle_ra)); the neighbour cache gets NS and NA
///    too, and asks [`answers_for`](Self::answers_for) before answering.
/// 3. When `now` reaches [`poll_at`](Self::poll_at),
///    [`handle_timeout`](Self::handle_timeout) (`poll_transmit` runs due
///    timers itself).
/// 4. After any of the above, drain [`poll_event`](Self::poll_event) first
///    (so that the solicited-node group is joined before a probe for it
///    goes, RFC 4862 §5.4.2), then [`poll_transmit`](Self::poll_transmit),
///    each until `None`.
/// 5. Pick sources with [`usable_source`](Self::usable_source).
///
/// Every table and queue is bounded ([`AddrConfConfig`]); what does not fit
/// is dropped and counted in [`stats`](Self::stats).
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use strata_l2::{EthernetAddress, Instant};
/// use strata_l3l4::{AddrConf, AddrConfConfig, AddrConfEvent, Ipv6AddrState};
///
/// let config = AddrConfConfig { max_rtr_solicitation_delay: Duration::ZERO,
///                               ..AddrConfConfig::default() };
/// let mut conf = AddrConf::new(config);
/// let ll = conf.enable(Instant::ZERO, EthernetAddress::new(0x52, 0x54, 0, 0x12, 0x34, 0x56))?;
/// assert_eq!(conf.state(ll), Some(Ipv6AddrState::Tentative));
/// assert!(conf.poll_transmit(Instant::ZERO).is_some()); // the DAD probe
/// // One second later, nobody objected: the address is ours, and a router
/// // solicitation goes from it.
/// let rs = conf.poll_transmit(Instant::from_secs(1)).unwrap();
/// assert_eq!(rs.src_addr, ll);
/// assert_eq!(conf.state(ll), Some(Ipv6AddrState::Preferred));
/// assert_eq!(conf.usable_source(&"ff02::1".parse()?), Some(ll));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct AddrConf {
    pub(super) config: AddrConfConfig,
    /// The MAC, once enabled.
    pub(super) mac: Option<EthernetAddress>,
    /// Autoconfiguration stopped: the link-local address is a duplicate.
    pub(super) stopped: bool,
    pub(super) addresses: Vec<Entry>,
    pub(super) routers: Vec<DefaultRouter>,
    pub(super) prefixes: Vec<OnLinkPrefix>,
    pub(super) solicit: Option<Solicit>,
    /// Whether the DAD of the link-local address ran its random delay
    /// (so the first solicitation need not wait again, RFC 4861 §6.3.7).
    pub(super) delayed: bool,
    pub(super) cur_hop_limit: Option<u8>,
    pub(super) reachable_time: Option<Duration>,
    pub(super) retrans_timer: Duration,
    pub(super) mtu: u32,
    /// The groups reported joined by events.
    pub(super) joined: Vec<Ipv6Addr>,
    pub(super) transmits: VecDeque<AddrConfTransmit>,
    pub(super) events: VecDeque<AddrConfEvent>,
    pub(super) rng: u64,
    pub(super) stats: AddrConfStats,
}

impl AddrConf {
    /// A disabled interface with `config` [clamped](AddrConfConfig::clamped):
    /// no addresses until [`enable`](Self::enable).
    pub fn new(config: AddrConfConfig) -> AddrConf {
        let config = config.clamped();
        let rng = if config.seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            config.seed
        };
        AddrConf {
            retrans_timer: config.retrans_timer,
            mtu: config.link_mtu,
            config,
            mac: None,
            stopped: false,
            addresses: Vec::new(),
            routers: Vec::new(),
            prefixes: Vec::new(),
            solicit: None,
            delayed: false,
            cur_hop_limit: None,
            reachable_time: None,
            joined: Vec::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            rng,
            stats: AddrConfStats::default(),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &AddrConfConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &AddrConfStats {
        &self.stats
    }

    /// The MAC given to [`enable`](Self::enable), while enabled.
    pub fn mac(&self) -> Option<EthernetAddress> {
        self.mac
    }

    /// Whether autoconfiguration stopped because the link-local address is
    /// a duplicate (RFC 4862 §5.4.5).
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Brings the interface up (RFC 4862 §5.3): forms the link-local address
    /// fe80::/64 with the modified EUI-64 identifier of `mac`, starts its
    /// DAD and schedules router solicitations. Returns the link-local
    /// address. Enabling an enabled interface with the same MAC does
    /// nothing; with another MAC, it is [disabled](Self::disable) first.
    ///
    /// # Errors
    ///
    /// [`AddrConfError::Invalid`] if `mac` is a group or all-zero address.
    pub fn enable(
        &mut self,
        now: Instant,
        mac: EthernetAddress,
    ) -> Result<Ipv6Addr, AddrConfError> {
        if !mac.is_unicast() || mac.is_unspecified() {
            return Err(AddrConfError::Invalid);
        }
        let link_local = link_local_from_mac(mac);
        match self.mac {
            Some(current) if current == mac => return Ok(link_local),
            Some(_) => self.disable(),
            None => {}
        }
        self.mac = Some(mac);
        self.stopped = false;
        self.delayed = self.config.dup_addr_detect_transmits > 0;
        self.sync_groups();
        // The link-local address goes first: evict nothing for it, but a
        // full table of manual addresses cannot exist while disabled.
        self.insert(
            now,
            link_local,
            64,
            AddrOrigin::LinkLocal,
            Lifetimes::INFINITE,
        )?;
        // Otherwise solicitations start when the link-local address's DAD
        // succeeds (`dad_succeeded`).
        if self.config.max_rtr_solicitations > 0 && self.config.solicit_during_dad {
            let next = now + self.random_delay();
            self.solicit = Some(Solicit { next, sent: 0 });
        }
        Ok(link_local)
    }

    /// Brings the interface down: every address, router and prefix is
    /// removed (with their events), solicitations stop, groups are left.
    pub fn disable(&mut self) {
        for entry in core::mem::take(&mut self.addresses) {
            self.push_event(AddrConfEvent::AddressRemoved {
                addr: entry.addr,
                reason: AddrRemovalReason::Removed,
            });
        }
        for router in core::mem::take(&mut self.routers) {
            self.push_event(AddrConfEvent::RouterRemoved { addr: router.addr });
        }
        for prefix in core::mem::take(&mut self.prefixes) {
            self.push_event(AddrConfEvent::PrefixRemoved {
                prefix: prefix.prefix,
                prefix_len: prefix.prefix_len,
            });
        }
        self.mac = None;
        self.stopped = false;
        self.solicit = None;
        self.transmits.clear();
        self.sync_groups();
    }

    /// Adds an address by hand (`ip addr add`) and starts its DAD: after a
    /// random delay in `[0, max_rtr_solicitation_delay)`,
    /// `dup_addr_detect_transmits` probes `RetransTimer` apart (RFC 4862
    /// §5.4.2); PREFERRED after the last one if nobody objects.
    ///
    /// # Errors
    ///
    /// [`AddrConfError::NotEnabled`] before [`enable`](Self::enable);
    /// [`AddrConfError::Invalid`] for an unspecified, loopback or multicast
    /// address or a prefix length above 128; [`AddrConfError::Exists`];
    /// [`AddrConfError::TableFull`].
    pub fn add_address(
        &mut self,
        now: Instant,
        addr: Ipv6Addr,
        prefix_len: u8,
        lifetimes: Lifetimes,
    ) -> Result<(), AddrConfError> {
        if self.mac.is_none() {
            return Err(AddrConfError::NotEnabled);
        }
        self.insert(now, addr, prefix_len, AddrOrigin::Manual, lifetimes)
    }

    /// Removes an address (`ip addr del`), whatever its state; its group is
    /// left if no other address needs it.
    ///
    /// # Errors
    ///
    /// [`AddrConfError::NotFound`].
    pub fn remove_address(&mut self, addr: Ipv6Addr) -> Result<(), AddrConfError> {
        let index = self
            .addresses
            .iter()
            .position(|e| e.addr == addr)
            .ok_or(AddrConfError::NotFound)?;
        self.addresses.remove(index);
        self.push_event(AddrConfEvent::AddressRemoved {
            addr,
            reason: AddrRemovalReason::Removed,
        });
        self.sync_groups();
        Ok(())
    }

    /// Puts a new address in the table and starts its DAD.
    pub(super) fn insert(
        &mut self,
        now: Instant,
        addr: Ipv6Addr,
        prefix_len: u8,
        origin: AddrOrigin,
        lifetimes: Lifetimes,
    ) -> Result<(), AddrConfError> {
        if addr.is_unspecified() || addr.is_loopback() || addr.is_multicast() || prefix_len > 128 {
            return Err(AddrConfError::Invalid);
        }
        if self.addresses.iter().any(|e| e.addr == addr) {
            return Err(AddrConfError::Exists);
        }
        if self.addresses.len() >= self.config.max_addresses {
            self.stats.address_table_full += 1;
            return Err(AddrConfError::TableFull);
        }
        let valid_until = lifetimes.valid.map(|d| now + d);
        let preferred_until = min_deadline(lifetimes.preferred.map(|d| now + d), valid_until);
        self.addresses.push(Entry {
            addr,
            prefix_len,
            origin,
            state: Ipv6AddrState::Tentative,
            valid_until,
            preferred_until,
            dad: None,
        });
        self.stats.addresses_added += 1;
        self.push_event(AddrConfEvent::AddressAdded {
            addr,
            prefix_len,
            origin,
        });
        self.sync_groups();
        let index = self.addresses.len() - 1;
        self.start_dad(now, index);
        Ok(())
    }

    /// The state of `addr`, if it is in the table.
    pub fn state(&self, addr: Ipv6Addr) -> Option<Ipv6AddrState> {
        self.addresses
            .iter()
            .find(|e| e.addr == addr)
            .map(|e| e.state)
    }

    /// Whether `addr` is ours to answer neighbour solicitations for and to
    /// receive packets on: PREFERRED or DEPRECATED, never TENTATIVE (RFC 4862
    /// §5.4) or DUPLICATE.
    pub fn answers_for(&self, addr: Ipv6Addr) -> bool {
        matches!(
            self.state(addr),
            Some(Ipv6AddrState::Preferred | Ipv6AddrState::Deprecated)
        )
    }

    /// The link-local address formed by [`enable`](Self::enable), whatever
    /// its state, while it is in the table.
    pub fn link_local(&self) -> Option<Ipv6Addr> {
        self.addresses
            .iter()
            .find(|e| e.origin == AddrOrigin::LinkLocal)
            .map(|e| e.addr)
    }

    /// Every address of the table, in the order they were added.
    pub fn addresses(&self) -> impl Iterator<Item = Ipv6AddrInfo> + '_ {
        self.addresses.iter().map(|e| Ipv6AddrInfo {
            addr: e.addr,
            prefix_len: e.prefix_len,
            state: e.state,
            origin: e.origin,
            valid_until: e.valid_until,
            preferred_until: e.preferred_until,
        })
    }

    /// The default router list (RFC 4861 §6.3.4).
    pub fn routers(&self) -> &[DefaultRouter] {
        &self.routers
    }

    /// The on-link prefix list, fe80::/64 not included (it is always
    /// on-link).
    pub fn prefixes(&self) -> &[OnLinkPrefix] {
        &self.prefixes
    }

    /// The hop limit routers ask for (`None` until an RA gives one; use
    /// 64 then).
    pub fn cur_hop_limit(&self) -> Option<u8> {
        self.cur_hop_limit
    }

    /// `BaseReachableTime` from the last RA that gave one (`None`: the
    /// neighbour cache keeps its default, 30 s).
    pub fn reachable_time(&self) -> Option<Duration> {
        self.reachable_time
    }

    /// `RetransTimer` in force: the configured one until an RA gives one.
    pub fn retrans_timer(&self) -> Duration {
        self.retrans_timer
    }

    /// The link MTU in force (the configured link MTU until an RA's MTU
    /// option).
    pub fn mtu(&self) -> u32 {
        self.mtu
    }

    /// Whether router solicitations are still to be sent.
    pub fn is_soliciting(&self) -> bool {
        self.solicit.is_some()
    }

    /// The multicast groups the interface must listen on, sorted: all-nodes
    /// ff02::1 and the solicited-node group of every address that is not
    /// DUPLICATE, tentative ones included (RFC 4862 §5.4.2). Empty while
    /// disabled. [`AddrConfEvent::JoinGroup`] and
    /// [`AddrConfEvent::LeaveGroup`] report changes.
    pub fn groups(&self) -> Vec<Ipv6Addr> {
        let mut groups = Vec::with_capacity(self.addresses.len() + 1);
        if self.mac.is_some() {
            groups.push(LINK_LOCAL_ALL_NODES);
            groups.extend(
                self.addresses
                    .iter()
                    .filter(|e| e.state != Ipv6AddrState::Duplicate)
                    .map(|e| solicited_node(&e.addr)),
            );
        }
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    /// The source address for a packet to `dst`, a subset of RFC 6724 §5:
    /// only PREFERRED and DEPRECATED addresses are candidates (never
    /// TENTATIVE or DUPLICATE);
    ///
    /// 1. `dst` itself if it is one of them (rule 1);
    /// 2. the scope must match (rule 2, made strict): a link-local address
    ///    for a link-local unicast destination or an interface- or
    ///    link-local-scope multicast group, otherwise a non-link-local one
    ///    (`None` if there is none: a link-local source cannot reach
    ///    beyond the link);
    /// 3. PREFERRED before DEPRECATED (rule 3);
    /// 4. the longest prefix in common with `dst` (rule 8), then the
    ///    oldest address.
    pub fn usable_source(&self, dst: &Ipv6Addr) -> Option<Ipv6Addr> {
        let usable = |e: &&Entry| {
            matches!(
                e.state,
                Ipv6AddrState::Preferred | Ipv6AddrState::Deprecated
            )
        };
        if self.addresses.iter().filter(usable).any(|e| e.addr == *dst) {
            return Some(*dst);
        }
        let want_link_local = is_link_local(dst)
            || matches!(
                multicast_scope(dst),
                Some(MulticastScope::InterfaceLocal | MulticastScope::LinkLocal)
            );
        let mut best: Option<(bool, u32, Ipv6Addr)> = None;
        for entry in self.addresses.iter().filter(usable) {
            if is_link_local(&entry.addr) != want_link_local {
                continue;
            }
            let key = (
                entry.state == Ipv6AddrState::Preferred,
                common_prefix_len(entry.addr, *dst),
                entry.addr,
            );
            if best.map_or(true, |b| (key.0, key.1) > (b.0, b.1)) {
                best = Some(key);
            }
        }
        best.map(|b| b.2)
    }

    /// The next frame to send, after running the timers due at `now`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<AddrConfTransmit> {
        self.handle_timeout(now);
        self.transmits.pop_front()
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<AddrConfEvent> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) has work next, or
    /// `None` when no timer runs.
    pub fn poll_at(&self) -> Option<Instant> {
        let addresses = self.addresses.iter().flat_map(|e| {
            let preferred = (e.state == Ipv6AddrState::Preferred)
                .then_some(e.preferred_until)
                .flatten();
            [e.dad.map(|d| d.next), preferred, e.valid_until]
        });
        let routers = self.routers.iter().map(|r| Some(r.expires));
        let prefixes = self.prefixes.iter().map(|p| p.expires);
        addresses
            .chain(routers)
            .chain(prefixes)
            .chain([self.solicit.map(|s| s.next)])
            .flatten()
            .min()
    }

    /// Runs the timers due at `now`: DAD probes and successes, router
    /// solicitations, preferred and valid lifetimes of addresses (RFC 4862
    /// §5.5.4), router and prefix lifetimes (RFC 4861 §6.3.5).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.run_dad(now);
        self.run_lifetimes(now);
        self.run_solicit(now);
        self.sync_groups();
    }

    /// Deprecates and removes addresses, removes routers and prefixes,
    /// whose lifetimes ended.
    pub(super) fn run_lifetimes(&mut self, now: Instant) {
        let mut index = 0;
        while index < self.addresses.len() {
            let entry = self.addresses[index];
            if entry.valid_until.is_some_and(|t| t <= now) {
                self.addresses.remove(index);
                self.stats.addresses_expired += 1;
                self.push_event(AddrConfEvent::AddressRemoved {
                    addr: entry.addr,
                    reason: AddrRemovalReason::Expired,
                });
                continue;
            }
            if entry.state == Ipv6AddrState::Preferred
                && entry.preferred_until.is_some_and(|t| t <= now)
            {
                self.addresses[index].state = Ipv6AddrState::Deprecated;
                self.stats.addresses_deprecated += 1;
                self.push_event(AddrConfEvent::AddressDeprecated { addr: entry.addr });
            }
            index += 1;
        }
        let mut index = 0;
        while index < self.routers.len() {
            if self.routers[index].expires <= now {
                let router = self.routers.remove(index);
                self.stats.routers_removed += 1;
                self.push_event(AddrConfEvent::RouterRemoved { addr: router.addr });
            } else {
                index += 1;
            }
        }
        let mut index = 0;
        while index < self.prefixes.len() {
            if self.prefixes[index].expires.is_some_and(|t| t <= now) {
                let prefix = self.prefixes.remove(index);
                self.push_event(AddrConfEvent::PrefixRemoved {
                    prefix: prefix.prefix,
                    prefix_len: prefix.prefix_len,
                });
            } else {
                index += 1;
            }
        }
    }

    /// Reports the difference between the groups needed now and those last
    /// reported as join and leave events.
    pub(super) fn sync_groups(&mut self) {
        let groups = self.groups();
        if groups == self.joined {
            return;
        }
        let old = core::mem::take(&mut self.joined);
        for group in old.iter().filter(|g| !groups.contains(g)) {
            self.push_event(AddrConfEvent::LeaveGroup { group: *group });
        }
        for group in groups.iter().filter(|g| !old.contains(g)) {
            self.push_event(AddrConfEvent::JoinGroup { group: *group });
        }
        self.joined = groups;
    }

    /// Queues an event, dropping the oldest when the queue is full.
    pub(super) fn push_event(&mut self, event: AddrConfEvent) {
        if self.events.len() >= self.config.event_capacity {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    /// Queues a frame, or counts it dropped when the outbox is full.
    pub(super) fn push_transmit(&mut self, transmit: AddrConfTransmit) -> bool {
        if self.transmits.len() >= self.config.transmit_capacity {
            self.stats.tx_overflow += 1;
            return false;
        }
        self.transmits.push_back(transmit);
        true
    }

    /// The next xorshift64 value (Marsaglia's 13, 7, 17).
    pub(super) fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// A random delay in `[0, max_rtr_solicitation_delay)`.
    pub(super) fn random_delay(&mut self) -> Duration {
        let max = self.config.max_rtr_solicitation_delay.as_nanos();
        if max == 0 {
            return Duration::ZERO;
        }
        let nanos = u128::from(self.next_random()) % max;
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Events waiting (at most `event_capacity`).
    pub fn events_len(&self) -> usize {
        self.events.len()
    }

    /// Frames waiting (at most `transmit_capacity`).
    pub fn transmits_len(&self) -> usize {
        self.transmits.len()
    }

    /// Checks the structural invariants (tests and fuzzing): bounds hold,
    /// addresses are unique, DAD runs exactly for TENTATIVE ones.
    ///
    /// # Panics
    ///
    /// If one is broken (a bug).
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        assert!(self.addresses.len() <= self.config.max_addresses);
        assert!(self.routers.len() <= self.config.max_routers);
        assert!(self.prefixes.len() <= self.config.max_prefixes);
        assert!(self.transmits.len() <= self.config.transmit_capacity);
        assert!(self.events.len() <= self.config.event_capacity);
        for (i, e) in self.addresses.iter().enumerate() {
            assert!(self.addresses[..i].iter().all(|o| o.addr != e.addr));
            assert_eq!(e.dad.is_some(), e.state == Ipv6AddrState::Tentative);
        }
        for (i, r) in self.routers.iter().enumerate() {
            assert!(self.routers[..i].iter().all(|o| o.addr != r.addr));
        }
        assert!(self.mtu >= 1280 && self.mtu <= self.config.link_mtu);
        if self.mac.is_none() {
            assert!(self.addresses.is_empty() && self.solicit.is_none());
        }
    }
}

/// The earlier of two deadlines, `None` being never.
pub(super) fn min_deadline(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
