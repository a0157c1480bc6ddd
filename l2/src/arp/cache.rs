//! The ARP cache of one interface: lookups and the packets waiting for
//! resolution, entries added and removed, and the `poll_*` outputs. Timers
//! are in `timers.rs`, received ARP packets and announcements in
//! `input.rs`.

use std::collections::{BTreeMap, VecDeque};
use std::net::Ipv4Addr;

use super::entry::{is_unicast, push_bounded, request, view, Announcement, Entry, State};
use super::{
    multicast_hardware_addr, ArpConfig, ArpDropReason, ArpEvent, ArpStats, ArpTransmit, Neighbour,
    RemovalReason, Resolve, TransmitKind,
};
use crate::time::Instant;
use crate::wire::EthernetAddress;

/// The outcome of a lookup.
enum Lookup {
    Hit(EthernetAddress),
    Pending,
    NoRoom,
    Unresolvable,
}

/// The ARP cache and resolver of one Ethernet interface, generic over the
/// packet type `P` that waits for resolution (the engine's `NetBuf`).
///
/// Sans-I/O: time comes in as `now` (an [`Instant`] on the caller's clock),
/// deadlines go out through [`poll_at`](Self::poll_at), frames to send come
/// out of [`poll_transmit`](Self::poll_transmit) for the caller to
/// [`emit`](ArpTransmit::emit) into a buffer of its own.
///
/// # Call order
///
/// 1. For each received ARP packet, [`handle_arp`](Self::handle_arp) with
///    the interface's current IPv4 addresses.
/// 2. For each IPv4 packet to send, [`resolve`](Self::resolve) its next hop
///    (or [`lookup`](Self::lookup) when there is no packet): send it now,
///    or it waits.
/// 3. When an address is added to the interface,
///    [`announce`](Self::announce) it; when one is removed,
///    [`cancel_announce`](Self::cancel_announce).
/// 4. When `now` reaches [`poll_at`](Self::poll_at),
///    [`handle_timeout`](Self::handle_timeout) (`poll_transmit` also runs
///    due timers itself).
/// 5. After any of the above, drain the outputs: first
///    [`poll_released`](Self::poll_released) (so that released packets go
///    out before later ones to the same neighbour), then
///    [`poll_unreachable`](Self::poll_unreachable) (answer each packet with
///    an ICMP destination unreachable, code 1), then
///    [`poll_transmit`](Self::poll_transmit), then
///    [`poll_event`](Self::poll_event), each until `None`.
/// 6. Sleep until [`poll_at`](Self::poll_at) or the next packet.
///
/// Every queue inside is bounded ([`ArpConfig`]); what does not fit is
/// dropped and counted in [`stats`](Self::stats). Released packets count
/// against `queue_total` until polled, so a caller that stops draining sees
/// later packets refused, never unbounded memory. Packets waiting for
/// [`poll_unreachable`](Self::poll_unreachable) are held apart, at most
/// `queue_total` of them: the oldest are dropped to make room.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l2::{
///     ArpCache, ArpConfig, ArpOperation, ArpRepr, EthernetAddress, Instant, Resolve,
/// };
///
/// let ours = Ipv4Addr::new(10, 0, 0, 1);
/// let peer = Ipv4Addr::new(10, 0, 0, 2);
/// let our_mac = EthernetAddress::new(2, 0, 0, 0, 0, 1);
/// let peer_mac = EthernetAddress::new(2, 0, 0, 0, 0, 2);
/// let mut arp = ArpCache::new(ArpConfig::default(), our_mac);
///
/// // Sending to an unknown neighbour: the packet waits, a request goes out.
/// let now = Instant::ZERO;
/// assert!(matches!(arp.resolve(now, peer, ours, "hello"), Resolve::Queued { .. }));
/// let request = arp.poll_transmit(now).unwrap();
/// assert_eq!(request.dst_addr, EthernetAddress::BROADCAST);
/// assert_eq!(request.repr.target_protocol_addr, peer);
///
/// // The reply resolves it and releases the packet.
/// let reply = ArpRepr {
///     operation: ArpOperation::Reply,
///     source_hardware_addr: peer_mac,
///     source_protocol_addr: peer,
///     target_hardware_addr: our_mac,
///     target_protocol_addr: ours,
/// };
/// arp.handle_arp(Instant::from_millis(3), &reply, &[ours]);
/// assert_eq!(arp.poll_released(), Some((peer_mac, "hello")));
/// assert_eq!(arp.resolve(Instant::from_millis(4), peer, ours, "again"),
///            Resolve::Send(peer_mac, "again"));
/// assert_eq!(arp.stats().cache_hits, 1);
/// ```
#[derive(Debug)]
pub struct ArpCache<P> {
    pub(super) config: ArpConfig,
    pub(super) hardware_addr: EthernetAddress,
    pub(super) entries: BTreeMap<Ipv4Addr, Entry<P>>,
    /// INCOMPLETE entries in `entries`.
    pub(super) incomplete: usize,
    /// Packets in the entries' queues plus those in `released`.
    pub(super) queued: usize,
    pub(super) released: VecDeque<(EthernetAddress, P)>,
    /// Packets whose neighbour failed to resolve, for `poll_unreachable`
    /// (at most `queue_total`, not counted in `queued`).
    pub(super) unreachable: VecDeque<(Ipv4Addr, P)>,
    pub(super) transmits: VecDeque<ArpTransmit>,
    pub(super) events: VecDeque<ArpEvent>,
    pub(super) announcements: Vec<Announcement>,
    /// Our addresses and when we last defended them.
    pub(super) defended: BTreeMap<Ipv4Addr, Instant>,
    /// No timer fires before this (it may be early, never late).
    pub(super) next_deadline: Instant,
    pub(super) stamp: u64,
    pub(super) stats: ArpStats,
}

impl<P> ArpCache<P> {
    /// An empty cache for an interface whose hardware address is
    /// `hardware_addr`, with `config` [clamped](ArpConfig::clamped).
    pub fn new(config: ArpConfig, hardware_addr: EthernetAddress) -> ArpCache<P> {
        ArpCache {
            config: config.clamped(),
            hardware_addr,
            entries: BTreeMap::new(),
            incomplete: 0,
            queued: 0,
            released: VecDeque::new(),
            unreachable: VecDeque::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            announcements: Vec::new(),
            defended: BTreeMap::new(),
            next_deadline: Instant::MAX,
            stamp: 0,
            stats: ArpStats::default(),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &ArpConfig {
        &self.config
    }

    /// The interface's hardware address, used as the sender of everything
    /// sent.
    pub fn hardware_addr(&self) -> EthernetAddress {
        self.hardware_addr
    }

    /// The counters.
    pub fn stats(&self) -> &ArpStats {
        &self.stats
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

    /// Packets waiting for resolution or released and not yet polled (at
    /// most `queue_total`).
    pub fn queued_len(&self) -> usize {
        self.queued
    }

    /// Packets whose neighbour failed to resolve, waiting for
    /// [`poll_unreachable`](Self::poll_unreachable) (at most `queue_total`,
    /// apart from [`queued_len`](Self::queued_len)).
    pub fn unreachable_len(&self) -> usize {
        self.unreachable.len()
    }

    /// The entry for `addr`, if there is one.
    pub fn neighbour(&self, addr: Ipv4Addr) -> Option<Neighbour> {
        self.entries.get(&addr).map(|entry| view(addr, entry))
    }

    /// Every entry, in address order (for `ip neigh`-like listings).
    pub fn neighbours(&self) -> impl Iterator<Item = Neighbour> + '_ {
        self.entries.iter().map(|(&addr, entry)| view(addr, entry))
    }

    /// The hardware address to send to `addr`, if known.
    ///
    /// The limited broadcast address maps to the broadcast address and
    /// multicast addresses to their RFC 1112 group address, without the
    /// cache. A usable entry (REACHABLE, STALE, PERMANENT) is a cache hit
    /// and counts as a use; using a STALE entry starts a unicast poll of it
    /// from `source`. Otherwise it is a miss: an unknown address gets an
    /// INCOMPLETE entry and a broadcast request from `source` (our address
    /// to put in the request: the packet's source address or the
    /// interface's primary address), if there is room.
    ///
    /// Returns `None` for 0.0.0.0 and loopback addresses, which ARP cannot
    /// resolve.
    pub fn lookup(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        source: Ipv4Addr,
    ) -> Option<EthernetAddress> {
        match self.lookup_inner(now, addr, source) {
            Lookup::Hit(hardware_addr) => Some(hardware_addr),
            Lookup::Pending | Lookup::NoRoom | Lookup::Unresolvable => None,
        }
    }

    /// Resolves the next hop `addr` of `packet`, as [`lookup`](Self::lookup)
    /// does, and keeps the packet while the address resolves.
    ///
    /// Waiting packets come out of [`poll_released`](Self::poll_released)
    /// in the order they came in once the neighbour answers, or out of
    /// [`poll_unreachable`](Self::poll_unreachable) if it never does (they
    /// are dropped, counted in [`ArpStats::queue_failed`], if the entry is
    /// removed or flushed by hand instead).
    ///
    /// Queue overflow policy: the *oldest* packet gives way. When the
    /// neighbour already holds `queue_per_neighbour` packets, or all
    /// neighbours together `queue_total`, the neighbour's oldest waiting
    /// packet is dropped and handed back in [`Resolve::Queued`] so that the
    /// newest data waits (RFC 1122 §2.3.2.2 asks to keep "the latest", and
    /// Linux does the same). A neighbour never pushes out another's packets:
    /// when the total is reached and this neighbour holds none, the new
    /// packet is refused ([`ArpDropReason::QueueFull`]).
    pub fn resolve(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        source: Ipv4Addr,
        packet: P,
    ) -> Resolve<P> {
        match self.lookup_inner(now, addr, source) {
            Lookup::Hit(hardware_addr) => Resolve::Send(hardware_addr, packet),
            Lookup::Unresolvable => {
                self.stats.unresolvable += 1;
                Resolve::Refused(packet, ArpDropReason::Unresolvable)
            }
            Lookup::NoRoom => {
                self.stats.no_room += 1;
                Resolve::Refused(packet, ArpDropReason::NoRoom)
            }
            Lookup::Pending => self.enqueue(addr, packet),
        }
    }

    /// Inserts or overwrites a PERMANENT entry (`ip neigh add ...
    /// permanent`): never expired, evicted or changed by received ARP.
    /// Packets waiting for `addr` are released to `hardware_addr`.
    ///
    /// # Errors
    ///
    /// [`ArpDropReason::Unresolvable`] if `addr` is not a unicast address
    /// or `hardware_addr` is not an individual one;
    /// [`ArpDropReason::NoRoom`] if the cache is full of entries that
    /// cannot be evicted.
    pub fn insert_permanent(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        hardware_addr: EthernetAddress,
    ) -> Result<(), ArpDropReason> {
        if !is_unicast(addr) || !hardware_addr.is_unicast() || hardware_addr.is_unspecified() {
            return Err(ArpDropReason::Unresolvable);
        }
        if !self.entries.contains_key(&addr) {
            if !self.make_room() {
                return Err(ArpDropReason::NoRoom);
            }
            let stamp = self.next_stamp();
            self.entries.insert(
                addr,
                Entry {
                    hardware_addr,
                    state: State::Permanent,
                    source: Ipv4Addr::UNSPECIFIED,
                    last_used: now,
                    use_stamp: stamp,
                    updated: now,
                    queue: VecDeque::new(),
                },
            );
            self.push_event(ArpEvent::NeighbourAdded {
                addr,
                hardware_addr,
            });
            return Ok(());
        }
        self.set_hardware_addr(now, addr, hardware_addr, State::Permanent);
        Ok(())
    }

    /// Removes the entry for `addr`, if any (`ip neigh del`); its waiting
    /// packets are dropped and counted. Returns whether there was one.
    pub fn remove(&mut self, addr: Ipv4Addr) -> bool {
        self.remove_entry(addr, RemovalReason::Flushed)
    }

    /// Removes every entry (`ip neigh flush`, or the link went down).
    pub fn flush(&mut self) {
        while let Some((&addr, _)) = self.entries.iter().next() {
            self.remove_entry(addr, RemovalReason::Flushed);
        }
    }

    /// The next frame to send, after running the timers due at `now`.
    /// Counted as sent when handed out.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<ArpTransmit> {
        self.handle_timeout(now);
        let transmit = self.transmits.pop_front()?;
        match transmit.kind {
            TransmitKind::Request | TransmitKind::Refresh => self.stats.requests_sent += 1,
            TransmitKind::Reply => self.stats.replies_sent += 1,
            TransmitKind::ProbeReply => {
                self.stats.replies_sent += 1;
                self.stats.probes_answered += 1;
            }
            TransmitKind::Announcement | TransmitKind::Defence => {
                self.stats.announcements_sent += 1;
            }
        }
        Some(transmit)
    }

    /// The next packet released by a resolution, with the hardware address
    /// to send it to; per neighbour in the order they were queued.
    pub fn poll_released(&mut self) -> Option<(EthernetAddress, P)> {
        let released = self.released.pop_front()?;
        self.queued -= 1;
        Some(released)
    }

    /// The next packet whose neighbour failed to resolve, with the address
    /// that could not be resolved (the packet's next hop); in the order they
    /// were queued. Counted in [`ArpStats::unreachable_returned`].
    ///
    /// When an INCOMPLETE entry gives up after `max_requests` requests, its
    /// waiting packets come out here instead of being dropped, so that the
    /// engine can answer each with an ICMP destination unreachable, code 1
    /// (host unreachable), to its source, as Linux does (RFC 1812 §4.3.3.1:
    /// a last-hop router that finds no path to the destination host MUST;
    /// RFC 792 for a host). The engine must not answer packets that may not
    /// get an ICMP error (RFC 1122 §3.2.2: ICMP errors, broadcasts,
    /// non-first fragments, ...).
    ///
    /// At most `queue_total` packets wait here; when more fail while the
    /// caller is not polling, the oldest are dropped and counted in
    /// [`ArpStats::queue_failed`].
    pub fn poll_unreachable(&mut self) -> Option<(Ipv4Addr, P)> {
        let unreachable = self.unreachable.pop_front()?;
        self.stats.unreachable_returned += 1;
        Some(unreachable)
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ArpEvent> {
        self.events.pop_front()
    }

    // ---- internals shared with input.rs ----

    fn lookup_inner(&mut self, now: Instant, addr: Ipv4Addr, source: Ipv4Addr) -> Lookup {
        if addr.is_broadcast() {
            return Lookup::Hit(EthernetAddress::BROADCAST);
        }
        if addr.is_multicast() {
            return Lookup::Hit(multicast_hardware_addr(addr));
        }
        if addr.is_unspecified() || addr.is_loopback() {
            return Lookup::Unresolvable;
        }
        let stamp = self.next_stamp();
        let retransmit = self.config.retransmit_interval;
        let Some(entry) = self.entries.get_mut(&addr) else {
            self.stats.cache_misses += 1;
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
        entry.last_used = now;
        entry.use_stamp = stamp;
        let hardware_addr = entry.hardware_addr;
        if let State::Stale {
            probes: 0,
            next: None,
        } = entry.state
        {
            // RFC 1122 §2.3.2.1 unicast poll: ask the neighbour directly.
            let next = now + retransmit;
            entry.state = State::Stale {
                probes: 1,
                next: Some(next),
            };
            entry.source = source;
            self.note_deadline(next);
            let poll = self.request(source, addr, hardware_addr, TransmitKind::Refresh);
            self.push_transmit(poll);
        }
        Lookup::Hit(hardware_addr)
    }

    /// Makes an INCOMPLETE entry for `addr` and sends the first request.
    fn start_resolution(&mut self, now: Instant, addr: Ipv4Addr, source: Ipv4Addr) -> bool {
        if self.incomplete >= self.config.max_incomplete || !self.make_room() {
            return false;
        }
        let next = now + self.config.retransmit_interval;
        let stamp = self.next_stamp();
        self.entries.insert(
            addr,
            Entry {
                hardware_addr: EthernetAddress::UNSPECIFIED,
                state: State::Incomplete { requests: 1, next },
                source,
                last_used: now,
                use_stamp: stamp,
                updated: now,
                queue: VecDeque::new(),
            },
        );
        self.incomplete += 1;
        self.note_deadline(next);
        let request = self.request(
            source,
            addr,
            EthernetAddress::BROADCAST,
            TransmitKind::Request,
        );
        self.push_transmit(request);
        true
    }

    /// Queues `packet` on the INCOMPLETE entry of `addr`.
    fn enqueue(&mut self, addr: Ipv4Addr, packet: P) -> Resolve<P> {
        let per_neighbour = self.config.queue_per_neighbour;
        let total_full = self.queued >= self.config.queue_total;
        let Some(entry) = self.entries.get_mut(&addr) else {
            // Not reached: lookup_inner just found or made the entry.
            self.stats.no_room += 1;
            return Resolve::Refused(packet, ArpDropReason::NoRoom);
        };
        if entry.queue.len() < per_neighbour && !total_full {
            entry.queue.push_back(packet);
            self.queued += 1;
            return Resolve::Queued { displaced: None };
        }
        self.stats.queue_overflow += 1;
        match entry.queue.pop_front() {
            Some(oldest) => {
                entry.queue.push_back(packet);
                Resolve::Queued {
                    displaced: Some(oldest),
                }
            }
            None => Resolve::Refused(packet, ArpDropReason::QueueFull),
        }
    }

    /// Sets the hardware address of the existing entry for `addr` and its
    /// new state, reporting the change and releasing waiting packets.
    pub(super) fn set_hardware_addr(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        hardware_addr: EthernetAddress,
        state: State,
    ) {
        let Some(entry) = self.entries.get_mut(&addr) else {
            return;
        };
        let was_resolved = entry.is_resolved();
        let old = entry.hardware_addr;
        if old != hardware_addr {
            entry.updated = now;
        }
        entry.hardware_addr = hardware_addr;
        entry.state = state;
        let deadline = entry.deadline(&self.config);
        let queue = core::mem::take(&mut entry.queue);
        self.note_deadline(deadline);
        if !was_resolved {
            self.incomplete -= 1;
            self.released
                .extend(queue.into_iter().map(|packet| (hardware_addr, packet)));
            self.push_event(ArpEvent::NeighbourAdded {
                addr,
                hardware_addr,
            });
        } else if old != hardware_addr {
            self.push_event(ArpEvent::NeighbourChanged {
                addr,
                old,
                new: hardware_addr,
            });
        }
    }

    /// Adds a resolved entry for a neighbour not in the cache, evicting one
    /// if the cache is full. Returns whether it was added.
    pub(super) fn insert_resolved(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        hardware_addr: EthernetAddress,
        state: State,
    ) -> bool {
        if !self.make_room() {
            return false;
        }
        let stamp = self.next_stamp();
        let entry = Entry {
            hardware_addr,
            state,
            source: Ipv4Addr::UNSPECIFIED,
            last_used: now,
            use_stamp: stamp,
            updated: now,
            queue: VecDeque::new(),
        };
        self.note_deadline(entry.deadline(&self.config));
        self.entries.insert(addr, entry);
        self.push_event(ArpEvent::NeighbourAdded {
            addr,
            hardware_addr,
        });
        true
    }

    /// Ensures there is room for one more entry, evicting the least
    /// recently used (or learned) REACHABLE or STALE entry if the cache is
    /// full. Returns false if it is full of entries that cannot be evicted.
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
                self.remove_entry(addr, RemovalReason::Evicted)
            }
            None => false,
        }
    }

    /// Removes the INCOMPLETE entry of `addr` that gave up, handing its
    /// waiting packets to [`poll_unreachable`](Self::poll_unreachable).
    pub(super) fn give_up(&mut self, addr: Ipv4Addr) {
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
                self.stats.queue_failed += 1;
            }
            self.unreachable.push_back((addr, packet));
        }
        self.remove_entry_with(addr, RemovalReason::Flushed, unreachable);
    }

    /// Removes an entry, dropping its waiting packets and reporting it.
    pub(super) fn remove_entry(&mut self, addr: Ipv4Addr, reason: RemovalReason) -> bool {
        self.remove_entry_with(addr, reason, 0)
    }

    /// Removes an entry, dropping its waiting packets and reporting it;
    /// `unreachable` packets were taken from it for `poll_unreachable`.
    fn remove_entry_with(
        &mut self,
        addr: Ipv4Addr,
        reason: RemovalReason,
        unreachable: usize,
    ) -> bool {
        let Some(entry) = self.entries.remove(&addr) else {
            return false;
        };
        if entry.is_resolved() {
            self.push_event(ArpEvent::NeighbourRemoved {
                addr,
                hardware_addr: entry.hardware_addr,
                reason,
            });
        } else {
            let dropped = entry.queue.len();
            self.incomplete -= 1;
            self.queued -= dropped;
            self.stats.queue_failed += dropped as u64;
            self.push_event(ArpEvent::ResolutionFailed {
                addr,
                dropped,
                unreachable,
            });
        }
        true
    }

    /// A request from us (`source`) for `target`, sent to `dst_addr`.
    pub(super) fn request(
        &self,
        source: Ipv4Addr,
        target: Ipv4Addr,
        dst_addr: EthernetAddress,
        kind: TransmitKind,
    ) -> ArpTransmit {
        request(self.hardware_addr, source, target, dst_addr, kind)
    }

    /// A gratuitous request for our `addr` (RFC 5227 §2.3).
    pub(super) fn announcement(&self, addr: Ipv4Addr, kind: TransmitKind) -> ArpTransmit {
        self.request(addr, addr, EthernetAddress::BROADCAST, kind)
    }

    pub(super) fn push_transmit(&mut self, transmit: ArpTransmit) {
        push_bounded(
            &mut self.transmits,
            self.config.transmit_capacity,
            transmit,
            &mut self.stats.tx_overflow,
        );
    }

    /// Queues an event, dropping the oldest when the queue is full.
    pub(super) fn push_event(&mut self, event: ArpEvent) {
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

    fn next_stamp(&mut self) -> u64 {
        self.stamp += 1;
        self.stamp
    }

    /// Checks every bound and bookkeeping invariant (tests only).
    #[cfg(test)]
    pub(super) fn check_invariants(&self) {
        let config = &self.config;
        assert!(self.entries.len() <= config.capacity, "capacity");
        let incomplete = self.entries.values().filter(|e| !e.is_resolved()).count();
        assert_eq!(incomplete, self.incomplete, "incomplete count");
        assert!(incomplete <= config.max_incomplete, "max_incomplete");
        let waiting: usize = self.entries.values().map(|e| e.queue.len()).sum();
        assert_eq!(waiting + self.released.len(), self.queued, "queued count");
        assert!(self.queued <= config.queue_total, "queue_total");
        assert!(
            self.unreachable.len() <= config.queue_total,
            "unreachable bound"
        );
        for entry in self.entries.values() {
            assert!(
                entry.queue.len() <= config.queue_per_neighbour,
                "per neighbour"
            );
            assert!(entry.is_resolved() || entry.hardware_addr.is_unspecified());
            assert!(
                entry.queue.is_empty() || !entry.is_resolved(),
                "queue on resolved"
            );
            assert!(
                entry.deadline(config) >= self.next_deadline,
                "deadline late"
            );
        }
        for a in &self.announcements {
            assert!(a.next >= self.next_deadline, "announcement late");
        }
        assert!(self.announcements.len() <= super::entry::MAX_PENDING_ANNOUNCEMENTS);
        assert!(
            self.transmits.len() <= config.transmit_capacity,
            "transmits"
        );
        assert!(self.events.len() <= config.event_capacity, "events");
    }
}
