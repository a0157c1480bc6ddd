//! ARP protocol logic for one Ethernet interface: the neighbour cache, address
//! resolution with retry and give-up, packets waiting for resolution, answers
//! to requests and probes, conflict detection and announcements. Sans-I/O:
//! no I/O, no clock, no threads.
//!
//! Standards:
//! - RFC 826, "An Ethernet Address Resolution Protocol": the packet
//!   reception algorithm and its merge rule (an existing entry for the
//!   sender is refreshed whoever the target is; a new one is added only when
//!   we are the target), and the reply to a request for our address.
//! - RFC 1122 §2.3.2 (Requirements for Internet Hosts, ARP): cache
//!   validation by timeout and by unicast poll (§2.3.2.1), ARP flooding
//!   prevention — at most one request per second per destination by default
//!   — and saving the latest packets for an unresolved address (§2.3.2.2).
//! - RFC 5227, "IPv4 Address Conflict Detection": ARP probes (sender
//!   0.0.0.0) answered in defence of our address, conflicts detected from
//!   packets claiming our address, defence limited to one announcement per
//!   `DEFEND_INTERVAL` (§2.4 (c)), and announcements (`ANNOUNCE_NUM`
//!   gratuitous requests `ANNOUNCE_INTERVAL` apart, §2.3) when an address is
//!   added.
//!
//! The one type to use is [`ArpCache`]; its documentation gives the call
//! order. Everything it reports comes back through `poll_*` methods:
//! frames to send ([`ArpTransmit`]), packets released after resolution,
//! packets whose neighbour failed to resolve (for the engine to answer with
//! ICMP host unreachable, as Linux does), [`ArpEvent`]s for management, and
//! [`ArpStats`] for the `arp` protocol counters and drop reasons.
//!
//! # Neighbour states
//!
//! Modelled on the Linux neighbour table (`ip neigh`), reduced to what ARP
//! needs:
//!
//! ```text
//!            lookup miss                 reply / request from it
//!   (none) ──────────────► INCOMPLETE ───────────────────────────► REACHABLE or STALE
//!                          │  broadcast request every retransmit_interval,
//!                          │  max_requests times, then removed (ResolutionFailed;
//!                          ▼  queued packets handed back by poll_unreachable)
//!
//!   REACHABLE ── reachable_time passes ──► STALE ── unused for stale_time ──► removed
//!       ▲                                    │
//!       └──── reply to us / confirm() ───────┤ used while STALE: unicast requests
//!                                            │ (RFC 1122 unicast poll), max_probes
//!                                            ▼ unanswered → removed (Unreachable)
//!   PERMANENT: inserted by hand, never expires, never evicted, never overridden.
//! ```
//!
//! STALE entries are still used to send (as in Linux); the unicast poll
//! they trigger brings them back to REACHABLE or removes them.

mod cache;
mod entry;
mod input;
mod stats;
mod timers;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use self::cache::ArpCache;
pub use self::stats::ArpStats;

use core::fmt;
use core::time::Duration;
use std::net::Ipv4Addr;

use crate::wire::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetAddress, EthernetFrame, EthernetRepr,
    ARP_ETHERNET_IPV4_LEN, ETHERNET_HEADER_LEN,
};

/// Settings of an [`ArpCache`]; [`Default`] gives Linux-like values.
///
/// [`ArpCache::new`] clamps values that would make no sense (a capacity of
/// zero, a zero retransmit interval, ...); [`ArpCache::config`] shows the
/// values in force.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use strata_l2::ArpConfig;
///
/// let config = ArpConfig {
///     capacity: 64,
///     reachable_time: Duration::from_secs(10),
///     ..ArpConfig::default()
/// };
/// assert_eq!(config.max_requests, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArpConfig {
    /// Most entries in the cache, of all states (at least 1). When it is
    /// full, a new entry evicts the least recently used (or learned)
    /// REACHABLE or STALE entry. Default 512.
    pub capacity: usize,
    /// Most INCOMPLETE entries at once (1 to `capacity`); lookups of further
    /// unknown addresses are refused until one resolves or fails.
    /// Default 64.
    pub max_incomplete: usize,
    /// How long an entry stays REACHABLE after a confirmation (Linux
    /// `base_reachable_time`, 30 s; not randomised here). Default 30 s.
    pub reachable_time: Duration,
    /// How long a STALE entry may go unused before it is removed (Linux
    /// `gc_stale_time`). Default 60 s.
    pub stale_time: Duration,
    /// Time between requests for the same address, broadcast or unicast
    /// (Linux `retrans_time`; at least 1 ms). The default, 1 s, is RFC 1122
    /// §2.3.2.1's recommended maximum rate.
    pub retransmit_interval: Duration,
    /// Broadcast requests sent for an INCOMPLETE entry before giving up
    /// (Linux `mcast_solicit`; at least 1). Default 3.
    pub max_requests: u8,
    /// Unicast requests sent to refresh a STALE entry in use before it is
    /// removed (Linux `ucast_solicit`; at least 1). Default 3.
    pub max_probes: u8,
    /// After an entry's hardware address is set, a different one from a
    /// non-gratuitous packet is ignored for this long: the first of several
    /// replies wins (Linux `locktime`). Default 1 s.
    pub lock_time: Duration,
    /// Most packets waiting for one unresolved neighbour. Default 16.
    pub queue_per_neighbour: usize,
    /// Most packets waiting for all neighbours together, counting released
    /// packets the caller has not polled yet (at least
    /// `queue_per_neighbour`). Default 256.
    pub queue_total: usize,
    /// Gratuitous requests sent by [`ArpCache::announce`] (RFC 5227
    /// `ANNOUNCE_NUM`). Default 2.
    pub announce_count: u8,
    /// Time between announcements (RFC 5227 `ANNOUNCE_INTERVAL`).
    /// Default 2 s.
    pub announce_interval: Duration,
    /// At most one defending announcement per address in this interval
    /// (RFC 5227 `DEFEND_INTERVAL`). Default 10 s.
    pub defend_interval: Duration,
    /// Most frames waiting in [`ArpCache::poll_transmit`]'s outbox (at
    /// least 1); more are dropped and counted. Default 64.
    pub transmit_capacity: usize,
    /// Most events waiting in [`ArpCache::poll_event`]'s queue (at least
    /// 1); the oldest are dropped and counted. Default 64.
    pub event_capacity: usize,
}

impl Default for ArpConfig {
    fn default() -> Self {
        ArpConfig {
            capacity: 512,
            max_incomplete: 64,
            reachable_time: Duration::from_secs(30),
            stale_time: Duration::from_secs(60),
            retransmit_interval: Duration::from_secs(1),
            max_requests: 3,
            max_probes: 3,
            lock_time: Duration::from_secs(1),
            queue_per_neighbour: 16,
            queue_total: 256,
            announce_count: 2,
            announce_interval: Duration::from_secs(2),
            defend_interval: Duration::from_secs(10),
            transmit_capacity: 64,
            event_capacity: 64,
        }
    }
}

impl ArpConfig {
    /// The same settings with nonsensical values clamped to the nearest
    /// sensible one (documented on each field).
    pub fn clamped(mut self) -> ArpConfig {
        self.capacity = self.capacity.max(1);
        self.max_incomplete = self.max_incomplete.clamp(1, self.capacity);
        self.retransmit_interval = self.retransmit_interval.max(Duration::from_millis(1));
        self.max_requests = self.max_requests.max(1);
        self.max_probes = self.max_probes.max(1);
        self.queue_total = self.queue_total.max(self.queue_per_neighbour);
        self.transmit_capacity = self.transmit_capacity.max(1);
        self.event_capacity = self.event_capacity.max(1);
        self
    }
}

/// The state of a cache entry, as `ip neigh` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NeighbourState {
    /// Being resolved: broadcast requests are going out and packets wait.
    Incomplete,
    /// Confirmed recently (a reply to us, or [`ArpCache::confirm`]).
    Reachable,
    /// Not confirmed recently, still used to send; use triggers a unicast
    /// poll.
    Stale,
    /// Inserted by [`ArpCache::insert_permanent`]; never expires.
    Permanent,
}

impl fmt::Display for NeighbourState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NeighbourState::Incomplete => "INCOMPLETE",
            NeighbourState::Reachable => "REACHABLE",
            NeighbourState::Stale => "STALE",
            NeighbourState::Permanent => "PERMANENT",
        })
    }
}

/// One cache entry, as [`ArpCache::neighbour`] and [`ArpCache::neighbours`]
/// report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Neighbour {
    /// The neighbour's IPv4 address.
    pub addr: Ipv4Addr,
    /// Its hardware address, `None` while INCOMPLETE.
    pub hardware_addr: Option<EthernetAddress>,
    /// Its state.
    pub state: NeighbourState,
    /// Packets waiting for it (only while INCOMPLETE).
    pub queued: usize,
}

/// Why a cache entry went away (in [`ArpEvent::NeighbourRemoved`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RemovalReason {
    /// STALE and unused for `stale_time`.
    Expired,
    /// Pushed out by a new entry while the cache was full.
    Evicted,
    /// Used while STALE, and `max_probes` unicast requests went unanswered.
    Unreachable,
    /// Removed by [`ArpCache::remove`] or [`ArpCache::flush`].
    Flushed,
}

/// Something management may want to know (Zephyr `net_mgmt` events, netlink
/// neighbour messages), from [`ArpCache::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpEvent {
    /// A neighbour's hardware address became known (resolution completed,
    /// learned from a request to us, or inserted by hand).
    NeighbourAdded {
        /// The neighbour's IPv4 address.
        addr: Ipv4Addr,
        /// Its hardware address.
        hardware_addr: EthernetAddress,
    },
    /// A known neighbour's hardware address changed.
    NeighbourChanged {
        /// The neighbour's IPv4 address.
        addr: Ipv4Addr,
        /// The address it had.
        old: EthernetAddress,
        /// The address it has now.
        new: EthernetAddress,
    },
    /// A neighbour reported by `NeighbourAdded` went away.
    NeighbourRemoved {
        /// The neighbour's IPv4 address.
        addr: Ipv4Addr,
        /// The hardware address it had.
        hardware_addr: EthernetAddress,
        /// Why.
        reason: RemovalReason,
    },
    /// An INCOMPLETE entry went away without being resolved: it gave up
    /// after `max_requests` requests, and its waiting packets come out of
    /// [`ArpCache::poll_unreachable`]; or it was removed or flushed, and its
    /// waiting packets were dropped (and counted in
    /// [`ArpStats::queue_failed`]).
    ResolutionFailed {
        /// The address that could not be resolved.
        addr: Ipv4Addr,
        /// How many waiting packets were dropped (removed or flushed).
        dropped: usize,
        /// How many waiting packets were handed to
        /// [`ArpCache::poll_unreachable`] (gave up).
        unreachable: usize,
    },
    /// Another host sent an ARP packet claiming one of our addresses
    /// (RFC 5227 §2.4). The engine may give the address up, e.g. after
    /// repeated conflicts.
    Conflict {
        /// Our address.
        addr: Ipv4Addr,
        /// The other host's hardware address.
        hardware_addr: EthernetAddress,
        /// Whether a defending announcement was sent; `false` when one
        /// already went out within `defend_interval`.
        defended: bool,
    },
}

/// What an [`ArpTransmit`] is for (used for counting and tracing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TransmitKind {
    /// A broadcast request resolving an INCOMPLETE entry (first or retry).
    Request,
    /// A unicast request polling a STALE entry (RFC 1122 §2.3.2.1).
    Refresh,
    /// A reply to a request for one of our addresses.
    Reply,
    /// A reply to an ARP probe for one of our addresses (RFC 5227 §2.1.1),
    /// sent to the prober with target address 0.0.0.0.
    ProbeReply,
    /// A gratuitous request announcing one of our addresses (RFC 5227 §2.3).
    Announcement,
    /// An announcement defending one of our addresses after a conflict
    /// (RFC 5227 §2.4).
    Defence,
}

/// An ARP frame for the caller to send: the ARP packet and the Ethernet
/// destination it goes to.
///
/// # Examples
///
/// ```
/// use strata_l2::{ArpPacket, ArpRepr, ArpTransmit, EtherType, EthernetFrame};
/// # use std::net::Ipv4Addr;
/// # use strata_l2::{ArpOperation, EthernetAddress, TransmitKind};
/// # let tx = ArpTransmit {
/// #     dst_addr: EthernetAddress::BROADCAST,
/// #     repr: ArpRepr {
/// #         operation: ArpOperation::Request,
/// #         source_hardware_addr: EthernetAddress::new(2, 0, 0, 0, 0, 1),
/// #         source_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
/// #         target_hardware_addr: EthernetAddress::UNSPECIFIED,
/// #         target_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
/// #     },
/// #     kind: TransmitKind::Request,
/// # };
/// let mut frame = [0u8; 64];
/// let len = tx.emit(&mut frame);
/// assert_eq!(len, ArpTransmit::BUFFER_LEN);
/// let eth = EthernetFrame::new_checked(&frame[..len])?;
/// assert_eq!(eth.ethertype(), EtherType::Arp);
/// assert_eq!(ArpRepr::parse(&ArpPacket::new_checked(eth.payload())?)?, tx.repr);
/// # Ok::<(), strata_l2::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ArpTransmit {
    /// The Ethernet destination: broadcast for requests and announcements,
    /// the asker for replies, the neighbour for unicast polls.
    pub dst_addr: EthernetAddress,
    /// The ARP packet; its sender hardware address is the interface's.
    pub repr: ArpRepr,
    /// Why it is sent.
    pub kind: TransmitKind,
}

impl ArpTransmit {
    /// Bytes [`emit`](Self::emit) writes: an Ethernet header and an ARP
    /// packet, 42 (the device pads to the 60-byte minimum).
    pub const BUFFER_LEN: usize = ETHERNET_HEADER_LEN + ARP_ETHERNET_IPV4_LEN;

    /// The Ethernet header of the frame.
    pub fn ethernet_repr(&self) -> EthernetRepr {
        EthernetRepr {
            src_addr: self.repr.source_hardware_addr,
            dst_addr: self.dst_addr,
            ethertype: EtherType::Arp,
        }
    }

    /// Writes the whole frame (Ethernet header and ARP packet) at the start
    /// of `buffer` and returns its length, [`BUFFER_LEN`](Self::BUFFER_LEN).
    ///
    /// # Panics
    ///
    /// If `buffer` is shorter than [`BUFFER_LEN`](Self::BUFFER_LEN).
    pub fn emit(&self, buffer: &mut [u8]) -> usize {
        let buffer = &mut buffer[..Self::BUFFER_LEN];
        let mut frame = EthernetFrame::new_unchecked(&mut *buffer);
        self.ethernet_repr().emit(&mut frame);
        self.repr
            .emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
        Self::BUFFER_LEN
    }

    /// Whether the frame is a request (including announcements).
    pub fn is_request(&self) -> bool {
        self.repr.operation == ArpOperation::Request
    }
}

/// Why a packet handed to [`ArpCache::resolve`] could not wait for
/// resolution, or why [`ArpCache::insert_permanent`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ArpDropReason {
    /// The address cannot be resolved by ARP (0.0.0.0, loopback).
    Unresolvable,
    /// No room for a new entry: `max_incomplete` entries are being
    /// resolved, or the cache is full of entries that cannot be evicted.
    NoRoom,
    /// The neighbour's queue could not take the packet (see
    /// [`ArpCache::resolve`] for the overflow policy).
    QueueFull,
}

impl ArpDropReason {
    /// The name used in the stats' `drop_reasons`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            ArpDropReason::Unresolvable => "unresolvable",
            ArpDropReason::NoRoom => "no_room",
            ArpDropReason::QueueFull => "queue_overflow",
        }
    }
}

impl fmt::Display for ArpDropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a packet handed to [`ArpCache::resolve`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a packet to send or a packet handed back is inside"]
pub enum Resolve<P> {
    /// The destination is known: send the packet to this hardware address
    /// now.
    Send(EthernetAddress, P),
    /// The packet waits for resolution and will come out of
    /// [`ArpCache::poll_released`]. `displaced` is an older packet for the
    /// same neighbour that was pushed out to make room (already counted as
    /// a drop); the caller frees it.
    Queued {
        /// The oldest waiting packet, dropped to keep the queue bounded.
        displaced: Option<P>,
    },
    /// The packet cannot wait: it is handed back (already counted as a
    /// drop under the reason).
    Refused(P, ArpDropReason),
}

/// The Ethernet address an IPv4 multicast address maps to (RFC 1112 §6.4:
/// 01:00:5e followed by the low 23 bits of the group).
pub fn multicast_hardware_addr(addr: Ipv4Addr) -> EthernetAddress {
    let [_, b, c, d] = addr.octets();
    EthernetAddress::new(0x01, 0x00, 0x5e, b & 0x7f, c, d)
}
