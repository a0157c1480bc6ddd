//! The neighbour cache of one interface: entries and their states, lookups and
//! the packets waiting for resolution, entries added and removed, and the
//! `poll_*` outputs. Timers are in `timers.rs`, received neighbour discovery
//! messages in `input.rs`.

use core::time::Duration;
use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, Instant};

use super::{
    multicast_lladdr, NdConfig, NdDropReason, NdEvent, NdNeighbour, NdRemovalReason, NdResolve,
    NdState, NdStats, NdTransmit, NdTransmitKind, MAX_REACHABLE_TIME, REACHABLE_TIME_REDRAW,
};
use crate::wire::ipv6::solicited_node;
use crate::wire::ndisc::Repr as NdiscRepr;

/// The state of an entry, with its timer data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// `solicits` multicast solicitations sent; the next one (or the give-up) is
    /// due at `next`.
    Incomplete { solicits: u8, next: Instant },
    /// Confirmed; becomes STALE at `until`.
    Reachable { until: Instant },
    /// STALE since `since`; garbage-collected at `since + stale_time`.
    Stale { since: Instant },
    /// Used while STALE; the first probe is due at `until`.
    Delay { until: Instant },
    /// `probes` unicast solicitations sent; the next one (or the removal) is due
    /// at `next`.
    Probe { probes: u8, next: Instant },
    /// Inserted by hand.
    Permanent,
}

/// One neighbour.
#[derive(Debug)]
pub(super) struct Entry<P> {
    /// Its link-layer address; unspecified while INCOMPLETE.
    pub(super) lladdr: EthernetAddress,
    pub(super) state: State,
    /// RFC 4861 §5.1 IsRouter.
    pub(super) is_router: bool,
    /// Our address to send solicitations from (RFC 4861 §7.2.2: the source of the
    /// packet that prompted them).
    pub(super) source: Ipv6Addr,
    /// Order of the last use or creation: the least is evicted first.
    pub(super) use_stamp: u64,
    /// Packets waiting for resolution, oldest first (only while INCOMPLETE).
    pub(super) queue: VecDeque<P>,
    /// An advertisement answering this neighbour's solicitation, waiting for its
    /// link-layer address (only while INCOMPLETE).
    pub(super) pending_advert: Option<NdTransmit>,
}

impl<P> Entry<P> {
    /// When the entry's timer fires next ([`Instant::MAX`] for never).
    pub(super) fn deadline(&self, config: &NdConfig) -> Instant {
        match self.state {
            State::Incomplete { next, .. } | State::Probe { next, .. } => next,
            State::Reachable { until } | State::Delay { until } => until,
            State::Stale { since } => since + config.stale_time,
            State::Permanent => Instant::MAX,
        }
    }

    /// Whether the entry has a link-layer address to send to.
    pub(super) fn is_resolved(&self) -> bool {
        !matches!(self.state, State::Incomplete { .. })
    }

    /// The public state.
    pub(super) fn nd_state(&self) -> NdState {
        match self.state {
            State::Incomplete { .. } => NdState::Incomplete,
            State::Reachable { .. } => NdState::Reachable,
            State::Stale { .. } => NdState::Stale,
            State::Delay { .. } => NdState::Delay,
            State::Probe { .. } => NdState::Probe,
            State::Permanent => NdState::Permanent,
        }
    }
}

/// The outcome of a lookup.
enum Lookup {
    Hit(EthernetAddress),
    Pending,
    NoRoom,
    Unresolvable,
}

/// The IPv6 neighbour cache and resolver of one Ethernet interface (RFC 4861
/// §7), generic over the packet type `P` that waits for resolution (the engine's
/// `NetBuf`).
///
/// Sans-I/O: time comes in as `now` (an [`Instant`] on the caller's clock),
/// deadlines go out through [`poll_at`](Self::poll_at), frames to send come out
/// of [`poll_transmit`](Self::poll_transmit) for the caller to
/// [`emit`](NdTransmit::emit) into a buffer of its own.
///
/// # Call order
///
/// 1. For each received, validated ([`NdiscRepr::parse`]) neighbour discovery
///    message, [`handle_ndisc`](Self::handle_ndisc) (or
///    [`handle_ns`](Self::handle_ns) / [`handle_na`](Self::handle_na)) with its
///    IPv6 source and destination and the interface's current (non-tentative)
///    addresses.
/// 2. For each IPv6 packet to send, [`resolve`](Self::resolve) its next hop (or
///    [`lookup`](Self::lookup) when there is no packet): send it now, or it
///    waits. When an upper layer sees forward progress (a TCP ACK for new data),
///    [`confirm`](Self::confirm) the next hop (RFC 4861 §7.3.1).
/// 3. When a router advertisement carries a reachable time or retransmission
///    timer, [`set_base_reachable_time`](Self::set_base_reachable_time) and
///    [`set_retrans_timer`](Self::set_retrans_timer).
/// 4. When `now` reaches [`poll_at`](Self::poll_at),
///    [`handle_timeout`](Self::handle_timeout) (`poll_transmit` also runs due
///    timers itself).
/// 5. After any of the above, drain the outputs: first
///    [`poll_released`](Self::poll_released), then
///    [`poll_unreachable`](Self::poll_unreachable) (answer each packet with an
///    ICMPv6 destination unreachable, code 3), then
///    [`poll_transmit`](Self::poll_transmit), then
///    [`poll_event`](Self::poll_event), each until `None`.
///
/// Every queue inside is bounded ([`NdConfig`]); what does not fit is dropped and
/// counted in [`stats`](Self::stats). Released packets count against
/// `queue_total` until polled; packets waiting for
/// [`poll_unreachable`](Self::poll_unreachable) are held apart, at most
/// `queue_total` of them, the oldest dropped to make room.
///
/// # Examples
///
/// ```
/// use std::net::Ipv6Addr;
/// use strata_l2::{EthernetAddress, Instant};
/// use strata_l3l4::{NdCache, NdConfig, NdResolve, NdState, NdiscRepr, NeighborFlags};
///
/// let ours: Ipv6Addr = "fd00:9::1".parse().unwrap();
/// let peer: Ipv6Addr = "fd00:9::2".parse().unwrap();
/// let peer_mac = EthernetAddress::new(2, 0, 0, 0, 9, 2);
/// let mut nd = NdCache::new(NdConfig::default(), EthernetAddress::new(2, 0, 0, 0, 9, 1));
///
/// // Sending to an unknown neighbour: the packet waits, an NS goes out.
/// assert!(matches!(nd.resolve(Instant::ZERO, peer, ours, "hello"), NdResolve::Queued { .. }));
/// let ns = nd.poll_transmit(Instant::ZERO).unwrap();
/// assert_eq!(ns.dst_addr, "ff02::1:ff00:2".parse::<Ipv6Addr>().unwrap());
///
/// // The solicited advertisement resolves it and releases the packet.
/// let na = NdiscRepr::NeighborAdvert {
///     flags: NeighborFlags { router: false, solicited: true, override_: true },
///     target_addr: peer,
///     lladdr: Some([2, 0, 0, 0, 9, 2]),
/// };
/// nd.handle_na(Instant::from_millis(3), peer, ours, &na, &[ours]);
/// assert_eq!(nd.poll_released(), Some((peer_mac, "hello")));
/// assert_eq!(nd.neighbour(peer).unwrap().state, NdState::Reachable);
/// ```
#[derive(Debug)]
pub struct NdCache<P> {
    pub(super) config: NdConfig,
    pub(super) lladdr: EthernetAddress,
    pub(super) entries: BTreeMap<Ipv6Addr, Entry<P>>,
    /// INCOMPLETE entries in `entries`.
    pub(super) incomplete: usize,
    /// Packets in the entries' queues plus those in `released`.
    pub(super) queued: usize,
    pub(super) released: VecDeque<(EthernetAddress, P)>,
    /// Packets whose neighbour failed to resolve, for `poll_unreachable` (at
    /// most `queue_total`, not counted in `queued`).
    pub(super) unreachable: VecDeque<(Ipv6Addr, P)>,
    pub(super) transmits: VecDeque<NdTransmit>,
    pub(super) events: VecDeque<NdEvent>,
    /// ReachableTime in force and when it was drawn.
    pub(super) reachable_time: Duration,
    pub(super) reachable_drawn: Option<Instant>,
    pub(super) rng: u64,
    /// No timer fires before this (it may be early, never late).
    pub(super) next_deadline: Instant,
    pub(super) stamp: u64,
    pub(super) stats: NdStats,
}

impl<P> NdCache<P> {
    /// An empty cache for an interface whose link-layer address is `lladdr`, with
    /// `config` [clamped](NdConfig::clamped).
    pub fn new(config: NdConfig, lladdr: EthernetAddress) -> NdCache<P> {
        let config = config.clamped();
        // splitmix64 of the seed: neighbouring seeds give unrelated draws, and the
        // xorshift state is never 0.
        let mut z = config.seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        let rng = (z ^ (z >> 31)).max(1);
        let mut cache = NdCache {
            config,
            lladdr,
            entries: BTreeMap::new(),
            incomplete: 0,
            queued: 0,
            released: VecDeque::new(),
            unreachable: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            reachable_time: Duration::ZERO,
            reachable_drawn: None,
            rng,
            next_deadline: Instant::MAX,
            stamp: 0,
            stats: NdStats::default(),
        };
        cache.draw_reachable_time(None);
        cache
    }

    /// The settings in force (with the latest BaseReachableTime and
    /// RetransTimer).
    pub fn config(&self) -> &NdConfig {
        &self.config
    }

    /// The interface's link-layer address, the source of everything sent.
    pub fn lladdr(&self) -> EthernetAddress {
        self.lladdr
    }

    /// The counters.
    pub fn stats(&self) -> &NdStats {
        &self.stats
    }

    /// ReachableTime in force: BaseReachableTime times a factor drawn from
    /// [0.5, 1.5) (RFC 4861 §6.3.2).
    pub fn reachable_time(&self) -> Duration {
        self.reachable_time
    }

    /// Sets BaseReachableTime (from a router advertisement's non-zero Reachable
    /// Time, RFC 4861 §6.3.4) and draws ReachableTime again. Entries already
    /// REACHABLE keep their deadline. A zero duration is ignored (unspecified);
    /// more than `MAX_REACHABLE_TIME` (1 hour, RFC 4861 §6.2.1) is clamped.
    pub fn set_base_reachable_time(&mut self, now: Instant, base: Duration) {
        if base.is_zero() {
            return;
        }
        self.config.base_reachable_time = base.min(MAX_REACHABLE_TIME);
        self.draw_reachable_time(Some(now));
    }

    /// Sets RetransTimer (from a router advertisement's non-zero Retrans Timer,
    /// RFC 4861 §6.3.4); it applies from the next solicitation. A zero duration is
    /// ignored (unspecified).
    pub fn set_retrans_timer(&mut self, retrans_timer: Duration) {
        if !retrans_timer.is_zero() {
            self.config.retrans_timer = retrans_timer.max(Duration::from_millis(1));
        }
    }

    /// Entries in the cache, of every state.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// INCOMPLETE entries (at most `max_incomplete`).
    pub fn incomplete_len(&self) -> usize {
        self.incomplete
    }

    /// Packets waiting for resolution or released and not yet polled (at most
    /// `queue_total`).
    pub fn queued_len(&self) -> usize {
        self.queued
    }

    /// Packets whose neighbour failed to resolve, waiting for
    /// [`poll_unreachable`](Self::poll_unreachable) (at most `queue_total`, apart
    /// from [`queued_len`](Self::queued_len)).
    pub fn unreachable_len(&self) -> usize {
        self.unreachable.len()
    }

    /// The entry for `addr`, if there is one.
    pub fn neighbour(&self, addr: Ipv6Addr) -> Option<NdNeighbour> {
        self.entries.get(&addr).map(|entry| view(addr, entry))
    }

    /// Every entry, in address order (for `ip -6 neigh`-like listings).
    pub fn neighbours(&self) -> impl Iterator<Item = NdNeighbour> + '_ {
        self.entries.iter().map(|(&addr, entry)| view(addr, entry))
    }

    /// The link-layer address to send to `addr`, if known (RFC 4861 §7.2.2,
    /// §7.3.3).
    ///
    /// Multicast addresses map to their RFC 2464 §7 group address without the
    /// cache. A resolved entry is a cache hit and counts as a use: a STALE entry
    /// goes to DELAY (its first probe `DELAY_FIRST_PROBE_TIME` later), from
    /// `source`. Otherwise it is a miss: an unknown address gets an INCOMPLETE
    /// entry and a multicast solicitation to its solicited-node group from
    /// `source` (our address to send it from: the packet's source, §7.2.2), if
    /// there is room.
    ///
    /// Returns `None` for the unspecified and loopback addresses, which cannot be
    /// resolved, and for a miss when `source` is not a unicast address (there is
    /// nothing to solicit from); both are counted as `unresolvable`.
    pub fn lookup(
        &mut self,
        now: Instant,
        addr: Ipv6Addr,
        source: Ipv6Addr,
    ) -> Option<EthernetAddress> {
        match self.lookup_inner(now, addr, source) {
            Lookup::Hit(lladdr) => Some(lladdr),
            Lookup::Pending | Lookup::NoRoom => None,
            Lookup::Unresolvable => {
                self.stats.unresolvable += 1;
                None
            }
        }
    }

    /// Resolves the next hop of `packet`: [`NdResolve::Send`] when its link-layer
    /// address is known, else the packet waits in its neighbour's queue until
    /// resolution succeeds ([`poll_released`](Self::poll_released)) or fails
    /// ([`poll_unreachable`](Self::poll_unreachable); dropped and counted if the
    /// entry is removed or flushed instead). As [`lookup`](Self::lookup)
    /// otherwise.
    ///
    /// The queues are bounded like the ARP cache's: when the neighbour already
    /// holds `queue_per_neighbour` packets, or `queue_total` packets wait in all,
    /// the neighbour's oldest packet gives way to the new one (it comes back as
    /// `displaced`). A neighbour never pushes out another's packets: when the
    /// total is reached and this neighbour holds none, the new packet is refused
    /// ([`NdDropReason::QueueFull`]).
    pub fn resolve(
        &mut self,
        now: Instant,
        addr: Ipv6Addr,
        source: Ipv6Addr,
        packet: P,
    ) -> NdResolve<P> {
        match self.lookup_inner(now, addr, source) {
            Lookup::Hit(lladdr) => NdResolve::Send(lladdr, packet),
            Lookup::Unresolvable => {
                self.stats.unresolvable += 1;
                NdResolve::Refused(packet, NdDropReason::Unresolvable)
            }
            Lookup::NoRoom => {
                self.stats.no_room += 1;
                NdResolve::Refused(packet, NdDropReason::NoRoom)
            }
            Lookup::Pending => self.enqueue(addr, packet),
        }
    }

    /// Upper-layer reachability confirmation (RFC 4861 §7.3.1, Appendix C): a
    /// resolved entry (not PERMANENT) becomes REACHABLE for ReachableTime.
    /// Returns whether there was such an entry.
    pub fn confirm(&mut self, now: Instant, addr: Ipv6Addr) -> bool {
        let until = self.reachable_until(now);
        let stamp = self.next_stamp();
        let Some(entry) = self.entries.get_mut(&addr) else {
            return false;
        };
        if !entry.is_resolved() || entry.state == State::Permanent {
            return false;
        }
        entry.state = State::Reachable { until };
        entry.use_stamp = stamp;
        self.note_deadline(until);
        true
    }

    /// Inserts or overwrites a PERMANENT entry (`ip -6 neigh add ... permanent`):
    /// never expired, evicted or changed by received messages. Packets waiting for
    /// `addr` are released to `lladdr`.
    ///
    /// # Errors
    ///
    /// [`NdDropReason::Unresolvable`] if `addr` is not a unicast address or
    /// `lladdr` is not an individual one; [`NdDropReason::NoRoom`] if the cache is
    /// full of entries that cannot be evicted.
    pub fn insert_permanent(
        &mut self,
        addr: Ipv6Addr,
        lladdr: EthernetAddress,
        is_router: bool,
    ) -> Result<(), NdDropReason> {
        if !is_unicast(&addr) || !is_valid_lladdr(lladdr) {
            return Err(NdDropReason::Unresolvable);
        }
        if !self.entries.contains_key(&addr) {
            if !self.insert_resolved(
                addr,
                lladdr,
                State::Permanent,
                is_router,
                Ipv6Addr::UNSPECIFIED,
            ) {
                return Err(NdDropReason::NoRoom);
            }
            return Ok(());
        }
        self.set_lladdr(addr, lladdr, State::Permanent);
        if let Some(entry) = self.entries.get_mut(&addr) {
            entry.is_router = is_router;
        }
        Ok(())
    }

    /// Removes the entry for `addr`, if any (`ip -6 neigh del`); its waiting
    /// packets are dropped and counted. Returns whether there was one.
    pub fn remove(&mut self, addr: Ipv6Addr) -> bool {
        self.remove_entry(addr, NdRemovalReason::Flushed)
    }

    /// Removes every entry (`ip -6 neigh flush`, or the link went down).
    pub fn flush(&mut self) {
        while let Some((&addr, _)) = self.entries.iter().next() {
            self.remove_entry(addr, NdRemovalReason::Flushed);
        }
    }

    /// The next frame to send, after running the timers due at `now`. Counted as
    /// sent when handed out.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<NdTransmit> {
        self.handle_timeout(now);
        let transmit = self.transmits.pop_front()?;
        match transmit.kind {
            NdTransmitKind::Solicit => self.stats.solicits_sent += 1,
            NdTransmitKind::Probe => self.stats.probes_sent += 1,
            NdTransmitKind::Advert | NdTransmitKind::DadAdvert => self.stats.adverts_sent += 1,
        }
        Some(transmit)
    }

    /// The next packet released by a resolution, with the link-layer address to
    /// send it to; per neighbour in the order they were queued.
    pub fn poll_released(&mut self) -> Option<(EthernetAddress, P)> {
        let released = self.released.pop_front()?;
        self.queued -= 1;
        Some(released)
    }

    /// The next packet whose neighbour failed to resolve, with the address that
    /// could not be resolved (the packet's next hop); in the order they were
    /// queued. Counted in [`NdStats::unreachable_returned`].
    ///
    /// When an INCOMPLETE entry gives up after `max_multicast_solicit`
    /// solicitations, its waiting packets come out here instead of being
    /// dropped, so that the engine can answer each with an ICMPv6 destination
    /// unreachable, code 3 (address unreachable), as RFC 4861 §7.2.2 asks ("for
    /// each packet queued awaiting address resolution ... SHOULD send an ICMP
    /// destination unreachable message") and Linux does, subject to RFC 4443
    /// §2.4 (e) (no error about an ICMPv6 error, a multicast destination, ...).
    /// Packets never wait for an entry in PROBE (it has a link-layer address and
    /// they are sent), so the removal of an unanswered PROBE entry hands nothing
    /// back.
    ///
    /// At most `queue_total` packets wait here; when more fail while the caller
    /// is not polling, the oldest are dropped and counted in
    /// [`NdStats::resolution_failed`].
    pub fn poll_unreachable(&mut self) -> Option<(Ipv6Addr, P)> {
        let unreachable = self.unreachable.pop_front()?;
        self.stats.unreachable_returned += 1;
        Some(unreachable)
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<NdEvent> {
        self.events.pop_front()
    }

    // ---- internals shared with input.rs and timers.rs ----

    fn lookup_inner(&mut self, now: Instant, addr: Ipv6Addr, source: Ipv6Addr) -> Lookup {
        if addr.is_multicast() {
            return Lookup::Hit(multicast_lladdr(&addr));
        }
        if addr.is_unspecified() || addr.is_loopback() {
            return Lookup::Unresolvable;
        }
        let stamp = self.next_stamp();
        let delay = self.config.delay_first_probe_time;
        let Some(entry) = self.entries.get_mut(&addr) else {
            self.stats.cache_misses += 1;
            if !is_unicast(&source) {
                // No address to solicit from (§7.2.2 needs one of ours).
                return Lookup::Unresolvable;
            }
            return if self.start_resolution(now, addr, source) {
                Lookup::Pending
            } else {
                Lookup::NoRoom
            };
        };
        if !entry.is_resolved() {
            self.stats.cache_misses += 1;
            return Lookup::Pending;
        }
        self.stats.cache_hits += 1;
        entry.use_stamp = stamp;
        let lladdr = entry.lladdr;
        if let State::Stale { .. } = entry.state {
            // RFC 4861 §7.3.3 / Appendix C: STALE, sending packet → DELAY.
            let until = now + delay;
            entry.state = State::Delay { until };
            if is_unicast(&source) {
                entry.source = source;
            }
            self.note_deadline(until);
        }
        Lookup::Hit(lladdr)
    }

    /// Makes an INCOMPLETE entry for `addr` and sends the first solicitation.
    pub(super) fn start_resolution(
        &mut self,
        now: Instant,
        addr: Ipv6Addr,
        source: Ipv6Addr,
    ) -> bool {
        if self.incomplete >= self.config.max_incomplete || !self.make_room() {
            return false;
        }
        let next = now + self.config.retrans_timer;
        let stamp = self.next_stamp();
        self.entries.insert(
            addr,
            Entry {
                lladdr: EthernetAddress::UNSPECIFIED,
                state: State::Incomplete { solicits: 1, next },
                is_router: false,
                source,
                use_stamp: stamp,
                queue: VecDeque::new(),
                pending_advert: None,
            },
        );
        self.incomplete += 1;
        self.note_deadline(next);
        let solicit = self.solicit(source, addr, None);
        self.push_transmit(solicit);
        true
    }

    /// Queues `packet` on the INCOMPLETE entry of `addr`.
    fn enqueue(&mut self, addr: Ipv6Addr, packet: P) -> NdResolve<P> {
        let per_neighbour = self.config.queue_per_neighbour;
        let total_full = self.queued >= self.config.queue_total;
        let Some(entry) = self.entries.get_mut(&addr) else {
            // Not reached: lookup_inner just found or made the entry.
            self.stats.no_room += 1;
            return NdResolve::Refused(packet, NdDropReason::NoRoom);
        };
        if entry.queue.len() < per_neighbour && !total_full {
            entry.queue.push_back(packet);
            self.queued += 1;
            return NdResolve::Queued { displaced: None };
        }
        self.stats.queue_overflow += 1;
        match entry.queue.pop_front() {
            Some(oldest) => {
                entry.queue.push_back(packet);
                NdResolve::Queued {
                    displaced: Some(oldest),
                }
            }
            None => NdResolve::Refused(packet, NdDropReason::QueueFull),
        }
    }

    /// Sets the link-layer address of the existing entry for `addr` and its new
    /// state, reporting the change and releasing waiting packets (and a waiting
    /// advertisement) when it was INCOMPLETE.
    pub(super) fn set_lladdr(&mut self, addr: Ipv6Addr, lladdr: EthernetAddress, state: State) {
        let Some(entry) = self.entries.get_mut(&addr) else {
            return;
        };
        let was_resolved = entry.is_resolved();
        let old = entry.lladdr;
        entry.lladdr = lladdr;
        entry.state = state;
        let is_router = entry.is_router;
        let deadline = entry.deadline(&self.config);
        let queue = core::mem::take(&mut entry.queue);
        let advert = entry.pending_advert.take();
        self.note_deadline(deadline);
        if !was_resolved {
            self.incomplete -= 1;
            self.released
                .extend(queue.into_iter().map(|packet| (lladdr, packet)));
            if let Some(mut advert) = advert {
                advert.dst_lladdr = lladdr;
                self.push_transmit(advert);
            }
            self.push_event(NdEvent::NeighbourAdded {
                addr,
                lladdr,
                is_router,
            });
        } else if old != lladdr {
            self.push_event(NdEvent::NeighbourChanged {
                addr,
                old,
                new: lladdr,
            });
        }
    }

    /// Adds a resolved entry for a neighbour not in the cache, evicting one if the
    /// cache is full. Returns whether it was added.
    pub(super) fn insert_resolved(
        &mut self,
        addr: Ipv6Addr,
        lladdr: EthernetAddress,
        state: State,
        is_router: bool,
        source: Ipv6Addr,
    ) -> bool {
        if !self.make_room() {
            return false;
        }
        let stamp = self.next_stamp();
        let entry = Entry {
            lladdr,
            state,
            is_router,
            source,
            use_stamp: stamp,
            queue: VecDeque::new(),
            pending_advert: None,
        };
        self.note_deadline(entry.deadline(&self.config));
        self.entries.insert(addr, entry);
        self.push_event(NdEvent::NeighbourAdded {
            addr,
            lladdr,
            is_router,
        });
        true
    }

    /// Ensures there is room for one more entry, evicting the least recently used
    /// (or learnt) REACHABLE or STALE entry if the cache is full. Returns false if
    /// it is full of entries that cannot be evicted.
    ///
    /// A linear scan, run only when the cache is full.
    fn make_room(&mut self) -> bool {
        if self.entries.len() < self.config.capacity {
            return true;
        }
        let victim = self
            .entries
            .iter()
            .filter(|(_, e)| matches!(e.state, State::Reachable { .. } | State::Stale { .. }))
            .min_by_key(|(_, e)| e.use_stamp)
            .map(|(&addr, _)| addr);
        match victim {
            Some(addr) => {
                self.stats.entries_evicted += 1;
                self.remove_entry(addr, NdRemovalReason::Evicted)
            }
            None => false,
        }
    }

    /// Removes the INCOMPLETE entry of `addr` that gave up (RFC 4861 §7.2.2),
    /// handing its waiting packets to [`poll_unreachable`](Self::poll_unreachable).
    pub(super) fn give_up(&mut self, addr: Ipv6Addr) {
        let queue = match self.entries.get_mut(&addr) {
            Some(entry) if !entry.is_resolved() => core::mem::take(&mut entry.queue),
            _ => VecDeque::new(),
        };
        let unreachable = queue.len();
        self.queued -= unreachable;
        for packet in queue {
            if self.unreachable.len() >= self.config.queue_total {
                // The caller is not polling: the oldest goes.
                self.unreachable.pop_front();
                self.stats.resolution_failed += 1;
            }
            self.unreachable.push_back((addr, packet));
        }
        self.remove_entry_with(addr, NdRemovalReason::Flushed, unreachable);
    }

    /// Removes an entry, dropping its waiting packets and reporting it.
    pub(super) fn remove_entry(&mut self, addr: Ipv6Addr, reason: NdRemovalReason) -> bool {
        self.remove_entry_with(addr, reason, 0)
    }

    /// Removes an entry, dropping its waiting packets and reporting it;
    /// `unreachable` packets were taken from it for `poll_unreachable`.
    fn remove_entry_with(
        &mut self,
        addr: Ipv6Addr,
        reason: NdRemovalReason,
        unreachable: usize,
    ) -> bool {
        let Some(entry) = self.entries.remove(&addr) else {
            return false;
        };
        if entry.is_resolved() {
            self.push_event(NdEvent::NeighbourRemoved {
                addr,
                lladdr: entry.lladdr,
                reason,
            });
        } else {
            let dropped = entry.queue.len();
            self.incomplete -= 1;
            self.queued -= dropped;
            self.stats.resolution_failed += dropped as u64;
            if entry.pending_advert.is_some() {
                self.stats.advert_unresolved += 1;
            }
            self.push_event(NdEvent::ResolutionFailed {
                addr,
                dropped,
                unreachable,
            });
        }
        true
    }

    /// A solicitation from our `source` for `target`: multicast to the target's
    /// solicited-node group when `unicast` is `None` (§7.2.2), else unicast to the
    /// target at that link-layer address (a NUD probe, §7.3.3). Always carries
    /// our link-layer address (§4.3: it may be omitted only from the unspecified
    /// source, which the cache never uses).
    pub(super) fn solicit(
        &self,
        source: Ipv6Addr,
        target: Ipv6Addr,
        unicast: Option<EthernetAddress>,
    ) -> NdTransmit {
        solicit(self.lladdr, source, target, unicast)
    }

    pub(super) fn push_transmit(&mut self, transmit: NdTransmit) {
        if self.transmits.len() < self.config.transmit_capacity {
            self.transmits.push_back(transmit);
        } else {
            self.stats.tx_overflow += 1;
        }
    }

    /// Queues an event, dropping the oldest when the queue is full.
    pub(super) fn push_event(&mut self, event: NdEvent) {
        if self.events.len() >= self.config.event_capacity {
            self.events.pop_front();
            self.stats.events_dropped += 1;
        }
        self.events.push_back(event);
    }

    /// Records that a timer may fire at `deadline`.
    pub(super) fn note_deadline(&mut self, deadline: Instant) {
        self.next_deadline = self.next_deadline.min(deadline);
    }

    pub(super) fn next_stamp(&mut self) -> u64 {
        self.stamp += 1;
        self.stamp
    }

    /// When an entry confirmed at `now` stops being REACHABLE; draws ReachableTime
    /// again when the last draw is `REACHABLE_TIME_REDRAW` old.
    pub(super) fn reachable_until(&mut self, now: Instant) -> Instant {
        if self
            .reachable_drawn
            .is_some_and(|drawn| now.saturating_duration_since(drawn) >= REACHABLE_TIME_REDRAW)
        {
            self.draw_reachable_time(Some(now));
        } else if self.reachable_drawn.is_none() {
            self.reachable_drawn = Some(now);
        }
        now + self.reachable_time
    }

    /// ReachableTime = BaseReachableTime × a factor uniform in [0.5, 1.5)
    /// (RFC 4861 §6.3.2 `MIN_RANDOM_FACTOR`, `MAX_RANDOM_FACTOR`).
    fn draw_reachable_time(&mut self, now: Option<Instant>) {
        // xorshift64 (Marsaglia).
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        let base = self.config.base_reachable_time.as_nanos();
        let fraction = u128::from(x >> 11); // 53 bits: [0, 2^53)
        let nanos = base / 2 + ((base * fraction) >> 53);
        self.reachable_time = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        self.reachable_drawn = now;
    }

    /// Checks every bound and bookkeeping invariant, for tests and fuzzing:
    /// `Err` names the first one broken (none ever should be).
    ///
    /// # Errors
    ///
    /// The name of the broken invariant.
    #[doc(hidden)]
    pub fn check_invariants(&self) -> core::result::Result<(), &'static str> {
        let check = |ok: bool, what: &'static str| if ok { Ok(()) } else { Err(what) };
        let config = &self.config;
        check(self.entries.len() <= config.capacity, "capacity")?;
        let incomplete = self.entries.values().filter(|e| !e.is_resolved()).count();
        check(incomplete == self.incomplete, "incomplete count")?;
        check(incomplete <= config.max_incomplete, "max_incomplete")?;
        let waiting: usize = self.entries.values().map(|e| e.queue.len()).sum();
        check(waiting + self.released.len() == self.queued, "queued count")?;
        check(self.queued <= config.queue_total, "queue_total")?;
        check(
            self.unreachable.len() <= config.queue_total,
            "unreachable bound",
        )?;
        for (addr, entry) in &self.entries {
            check(is_unicast(addr), "entry for a non-unicast address")?;
            check(
                entry.queue.len() <= config.queue_per_neighbour,
                "per neighbour",
            )?;
            check(
                entry.is_resolved() == is_valid_lladdr(entry.lladdr),
                "lladdr and state",
            )?;
            check(
                !entry.is_resolved() || (entry.queue.is_empty() && entry.pending_advert.is_none()),
                "queue on a resolved entry",
            )?;
            check(
                entry.deadline(config) >= self.next_deadline,
                "deadline late",
            )?;
        }
        check(
            self.transmits.len() <= config.transmit_capacity,
            "transmits",
        )?;
        check(self.events.len() <= config.event_capacity, "events")?;
        let base = config.base_reachable_time.as_nanos();
        let reachable = self.reachable_time.as_nanos();
        check(
            reachable >= base / 2 && reachable < base / 2 + base,
            "ReachableTime",
        )
    }
}

/// A solicitation (see [`NdCache::solicit`]).
pub(super) fn solicit(
    our_lladdr: EthernetAddress,
    source: Ipv6Addr,
    target: Ipv6Addr,
    unicast: Option<EthernetAddress>,
) -> NdTransmit {
    let (dst_addr, dst_lladdr, kind) = match unicast {
        Some(lladdr) => (target, lladdr, NdTransmitKind::Probe),
        None => {
            let group = solicited_node(&target);
            (group, multicast_lladdr(&group), NdTransmitKind::Solicit)
        }
    };
    NdTransmit {
        src_lladdr: our_lladdr,
        dst_lladdr,
        src_addr: source,
        dst_addr,
        repr: NdiscRepr::NeighborSolicit {
            target_addr: target,
            lladdr: Some(*our_lladdr.as_bytes()),
        },
        kind,
    }
}

/// Whether `addr` can have a cache entry: not unspecified, loopback or multicast.
pub(super) fn is_unicast(addr: &Ipv6Addr) -> bool {
    !(addr.is_unspecified() || addr.is_loopback() || addr.is_multicast())
}

/// Whether `lladdr` can be a neighbour's address: an individual, non-zero one.
pub(super) fn is_valid_lladdr(lladdr: EthernetAddress) -> bool {
    lladdr.is_unicast() && !lladdr.is_unspecified()
}

/// The public view of an entry.
fn view<P>(addr: Ipv6Addr, entry: &Entry<P>) -> NdNeighbour {
    NdNeighbour {
        addr,
        lladdr: entry.is_resolved().then_some(entry.lladdr),
        state: entry.nd_state(),
        is_router: entry.is_router,
        queued: entry.queue.len(),
    }
}
