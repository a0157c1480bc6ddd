//! The IPv6 neighbour cache of one Ethernet interface: address resolution and
//! neighbour unreachability detection (NUD), after RFC 4861 §7. Sans-I/O: no I/O,
//! no clock, no threads; the one source of randomness (the ReachableTime jitter) is
//! a seeded xorshift.
//!
//! Standards:
//! - RFC 4861 §7.2 (address resolution): a lookup miss makes an INCOMPLETE entry
//!   and sends `MAX_MULTICAST_SOLICIT` neighbour solicitations to the target's
//!   solicited-node group `RetransTimer` apart (§7.2.2), then gives up; received
//!   solicitations are answered (§7.2.3, §7.2.4) and their source link-layer
//!   address learnt; received advertisements update the cache by the rules of
//!   §7.2.5 (the S and O flags, and IsRouter).
//! - RFC 4861 §7.3 (neighbour unreachability detection): REACHABLE for
//!   ReachableTime after a confirmation, STALE afterwards, DELAY when a STALE
//!   entry is used, PROBE (`MAX_UNICAST_SOLICIT` unicast solicitations) when no
//!   confirmation came within `DELAY_FIRST_PROBE_TIME`, removed when the probes
//!   go unanswered (§7.3.3).
//! - RFC 4861 §6.3.2, §10: the protocol constants and ReachableTime drawn
//!   uniformly from [0.5, 1.5) × BaseReachableTime.
//! - RFC 4861 Appendix C: the state machine, transition by transition.
//! - RFC 2464 §7: IPv6 multicast addresses map to Ethernet addresses 33:33 and
//!   the low 32 bits.
//!
//! The one type to use is [`NdCache`]; its documentation gives the call order.
//! Everything it reports comes back through `poll_*` methods: frames to send
//! ([`NdTransmit`]), packets released after resolution, packets whose neighbour
//! failed to resolve (for the engine to answer with ICMPv6 address unreachable,
//! §7.2.2), [`NdEvent`]s for management, and [`NdStats`] for the neighbour-discovery counters and drop
//! reasons. Duplicate address detection itself (RFC 4862 §5.4) belongs to the
//! address-configuration code: the cache only reports an advertisement for one
//! of our addresses ([`NdEvent::DuplicateAddress`]).
//!
//! # Neighbour states (RFC 4861 §7.3.2, Appendix C)
//!
//! ```text
//!              lookup miss                 NA with S=1
//!   (none) ─────────────────► INCOMPLETE ──────────────────────────────► REACHABLE
//!     │                         │  │  NA with S=0; NS, RA or redirect
//!     │                         │  └─ with a link-layer address ────────► STALE
//!     │ NS, RA or redirect with a link-layer address                       ▲
//!     └────────────────────────────────────────────────────────────────────┘
//!                               │ multicast NS every RetransTimer; after
//!                               ▼ MAX_MULTICAST_SOLICIT: removed, packets handed
//!                                 back by poll_unreachable (ICMPv6 code 3)
//!
//!   REACHABLE ── ReachableTime passes ──► STALE ── unused for stale_time ──► removed
//!       ▲                                   │ used (lookup/resolve)
//!       │ NA S=1 / confirm()                ▼
//!       ├──────────────────────────────── DELAY ── DELAY_FIRST_PROBE_TIME ──► PROBE
//!       │                                                                      │ unicast NS every
//!       └──────────────────────────────────────────────────────────────────────┤ RetransTimer,
//!                                                                              ▼ MAX_UNICAST_SOLICIT
//!                                                                          removed (Unreachable)
//!   PERMANENT: inserted by hand, never expires, never evicted, never overridden.
//! ```
//!
//! Any resolved entry learns a new link-layer address from an NS, RA or redirect
//! (→ STALE), or from an NA with the O flag set (→ STALE, or REACHABLE with S);
//! an NA with O clear and a different address turns a REACHABLE entry STALE and
//! changes nothing else (§7.2.5).

mod cache;
mod input;
mod stats;
mod timers;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use self::cache::NdCache;
pub use self::stats::NdStats;

use core::fmt;
use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, ETHERNET_HEADER_LEN};

use crate::checksum::ChecksumCaps;
use crate::wire::ipv6::{self, multicast_mac};
use crate::wire::ndisc::{self, Repr as NdiscRepr};
use crate::wire::{Error, IpProtocol, Result};

/// RFC 4861 §10 `MAX_MULTICAST_SOLICIT`: multicast solicitations sent to resolve
/// an address before giving up.
pub const MAX_MULTICAST_SOLICIT: u8 = 3;
/// RFC 4861 §10 `MAX_UNICAST_SOLICIT`: unicast probes sent to a neighbour in
/// PROBE before removing it.
pub const MAX_UNICAST_SOLICIT: u8 = 3;
/// RFC 4861 §10 `REACHABLE_TIME`: the default BaseReachableTime, 30 s.
pub const REACHABLE_TIME: Duration = Duration::from_secs(30);
/// RFC 4861 §10 `RETRANS_TIMER`: the default RetransTimer, 1 s.
pub const RETRANS_TIMER: Duration = Duration::from_secs(1);
/// RFC 4861 §10 `DELAY_FIRST_PROBE_TIME`: 5 s in DELAY before probing.
pub const DELAY_FIRST_PROBE_TIME: Duration = Duration::from_secs(5);
/// RFC 4861 §6.2.1 `MAX_REACHABLE_TIME`: the largest BaseReachableTime, 1 hour.
pub const MAX_REACHABLE_TIME: Duration = Duration::from_secs(3600);
/// How often ReachableTime is drawn again even without a new BaseReachableTime
/// (RFC 4861 §6.3.4: "at least every few hours"): 2 hours.
pub const REACHABLE_TIME_REDRAW: Duration = Duration::from_secs(2 * 60 * 60);

/// Settings of an [`NdCache`]; [`Default`] gives RFC 4861 §10's constants and
/// Linux-like bounds.
///
/// [`NdCache::new`] clamps values that would make no sense (a capacity of zero, a
/// zero RetransTimer, ...); [`NdCache::config`] shows the values in force.
///
/// # Examples
///
/// ```
/// use strata_l3l4::NdConfig;
///
/// let config = NdConfig { capacity: 64, router: true, ..NdConfig::default() };
/// assert_eq!(config.max_multicast_solicit, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NdConfig {
    /// Most entries in the cache, of all states (at least 1). When it is full, a
    /// new entry evicts the least recently used (or learnt) REACHABLE or STALE
    /// entry. Default 512.
    pub capacity: usize,
    /// Most INCOMPLETE entries at once (1 to `capacity`); lookups of further
    /// unknown addresses are refused until one resolves or fails. Default 64.
    pub max_incomplete: usize,
    /// BaseReachableTime (RFC 4861 §6.3.2, default `REACHABLE_TIME`, 30 s; 1 ms
    /// to `MAX_REACHABLE_TIME`). ReachableTime is drawn from [0.5, 1.5) times it; an RA may
    /// change it ([`NdCache::set_base_reachable_time`]).
    pub base_reachable_time: Duration,
    /// RetransTimer (RFC 4861 §6.3.2, default `RETRANS_TIMER`, 1 s; at least
    /// 1 ms): time between solicitations for the same neighbour. An RA may change
    /// it ([`NdCache::set_retrans_timer`]).
    pub retrans_timer: Duration,
    /// `DELAY_FIRST_PROBE_TIME` (RFC 4861 §10): time in DELAY before the first
    /// unicast probe. Default 5 s.
    pub delay_first_probe_time: Duration,
    /// `MAX_MULTICAST_SOLICIT` (at least 1). Default 3.
    pub max_multicast_solicit: u8,
    /// `MAX_UNICAST_SOLICIT` (at least 1). Default 3.
    pub max_unicast_solicit: u8,
    /// How long a STALE entry may go unused before it is garbage-collected
    /// (Linux `gc_stale_time`). Default 60 s.
    pub stale_time: Duration,
    /// Most packets waiting for one unresolved neighbour. Default 16.
    pub queue_per_neighbour: usize,
    /// Most packets waiting for all neighbours together, counting released
    /// packets the caller has not polled yet (at least `queue_per_neighbour`).
    /// Default 256.
    pub queue_total: usize,
    /// Whether this interface is a router: the R flag of the advertisements it
    /// sends (RFC 4861 §7.2.4), and whether router solicitations are learnt
    /// from (§6.2.6; hosts ignore them). Default `false`.
    pub router: bool,
    /// Seed of the xorshift that draws ReachableTime (mixed with splitmix64
    /// first, so any value, 0 included, will do). Give each interface its own.
    /// Default 1.
    pub seed: u64,
    /// Most frames waiting in [`NdCache::poll_transmit`]'s outbox (at least 1);
    /// more are dropped and counted. Default 64.
    pub transmit_capacity: usize,
    /// Most events waiting in [`NdCache::poll_event`]'s queue (at least 1); the
    /// oldest are dropped and counted. Default 64.
    pub event_capacity: usize,
}

impl Default for NdConfig {
    fn default() -> Self {
        NdConfig {
            capacity: 512,
            max_incomplete: 64,
            base_reachable_time: REACHABLE_TIME,
            retrans_timer: RETRANS_TIMER,
            delay_first_probe_time: DELAY_FIRST_PROBE_TIME,
            max_multicast_solicit: MAX_MULTICAST_SOLICIT,
            max_unicast_solicit: MAX_UNICAST_SOLICIT,
            stale_time: Duration::from_secs(60),
            queue_per_neighbour: 16,
            queue_total: 256,
            router: false,
            seed: 1,
            transmit_capacity: 64,
            event_capacity: 64,
        }
    }
}

impl NdConfig {
    /// The same settings with nonsensical values clamped to the nearest sensible
    /// one (documented on each field).
    pub fn clamped(mut self) -> NdConfig {
        self.capacity = self.capacity.max(1);
        self.max_incomplete = self.max_incomplete.clamp(1, self.capacity);
        self.base_reachable_time = self
            .base_reachable_time
            .clamp(Duration::from_millis(1), MAX_REACHABLE_TIME);
        self.retrans_timer = self.retrans_timer.max(Duration::from_millis(1));
        self.max_multicast_solicit = self.max_multicast_solicit.max(1);
        self.max_unicast_solicit = self.max_unicast_solicit.max(1);
        self.queue_total = self.queue_total.max(self.queue_per_neighbour);
        self.transmit_capacity = self.transmit_capacity.max(1);
        self.event_capacity = self.event_capacity.max(1);
        self
    }
}

/// The state of a cache entry (RFC 4861 §7.3.2), as `ip -6 neigh` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdState {
    /// Being resolved: multicast solicitations are going out and packets wait.
    Incomplete,
    /// Confirmed within ReachableTime.
    Reachable,
    /// Not confirmed recently; still used to send, and use moves it to DELAY.
    Stale,
    /// Used while STALE; probing starts unless confirmed within
    /// `DELAY_FIRST_PROBE_TIME`.
    Delay,
    /// Unicast solicitations are being sent to confirm reachability.
    Probe,
    /// Inserted by [`NdCache::insert_permanent`]; never expires.
    Permanent,
}

impl fmt::Display for NdState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NdState::Incomplete => "INCOMPLETE",
            NdState::Reachable => "REACHABLE",
            NdState::Stale => "STALE",
            NdState::Delay => "DELAY",
            NdState::Probe => "PROBE",
            NdState::Permanent => "PERMANENT",
        })
    }
}

/// One cache entry, as [`NdCache::neighbour`] and [`NdCache::neighbours`] report
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdNeighbour {
    /// The neighbour's IPv6 address.
    pub addr: Ipv6Addr,
    /// Its link-layer address, `None` while INCOMPLETE.
    pub lladdr: Option<EthernetAddress>,
    /// Its state.
    pub state: NdState,
    /// The IsRouter flag (RFC 4861 §5.1).
    pub is_router: bool,
    /// Packets waiting for it (only while INCOMPLETE).
    pub queued: usize,
}

/// Why a cache entry went away (in [`NdEvent::NeighbourRemoved`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdRemovalReason {
    /// STALE and unused for `stale_time`.
    Expired,
    /// Pushed out by a new entry while the cache was full.
    Evicted,
    /// `MAX_UNICAST_SOLICIT` probes in PROBE went unanswered (RFC 4861 §7.3.3).
    Unreachable,
    /// Removed by [`NdCache::remove`] or [`NdCache::flush`].
    Flushed,
}

/// Something management may want to know (Zephyr `net_mgmt` events, netlink
/// neighbour messages), from [`NdCache::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdEvent {
    /// A neighbour's link-layer address became known (resolution completed,
    /// learnt from an NS, RA or redirect, or inserted by hand).
    NeighbourAdded {
        /// The neighbour's IPv6 address.
        addr: Ipv6Addr,
        /// Its link-layer address.
        lladdr: EthernetAddress,
        /// Its IsRouter flag.
        is_router: bool,
    },
    /// A known neighbour's link-layer address changed.
    NeighbourChanged {
        /// The neighbour's IPv6 address.
        addr: Ipv6Addr,
        /// The address it had.
        old: EthernetAddress,
        /// The address it has now.
        new: EthernetAddress,
    },
    /// A neighbour reported by `NeighbourAdded` went away.
    NeighbourRemoved {
        /// The neighbour's IPv6 address.
        addr: Ipv6Addr,
        /// The link-layer address it had.
        lladdr: EthernetAddress,
        /// Why.
        reason: NdRemovalReason,
    },
    /// An INCOMPLETE entry went away unresolved: it gave up after
    /// `MAX_MULTICAST_SOLICIT` solicitations, and its waiting packets come out of
    /// [`NdCache::poll_unreachable`] for the ICMPv6 address-unreachable errors
    /// of RFC 4861 §7.2.2; or it was removed or flushed, and its waiting packets
    /// were dropped (counted under `resolution_failed`).
    ResolutionFailed {
        /// The address that could not be resolved.
        addr: Ipv6Addr,
        /// How many waiting packets were dropped (removed or flushed).
        dropped: usize,
        /// How many waiting packets were handed to [`NdCache::poll_unreachable`]
        /// (gave up).
        unreachable: usize,
    },
    /// A neighbour's IsRouter flag went from true to false through an NA with
    /// the R flag clear (RFC 4861 §7.2.5): remove it from the default router list
    /// and update destinations that used it (§7.3.3).
    RouterLost {
        /// The former router's address.
        addr: Ipv6Addr,
    },
    /// A neighbour advertisement for one of our addresses arrived: another node
    /// uses it (a duplicate address, RFC 4862 §5.4.4), for the
    /// address-configuration code to act on.
    DuplicateAddress {
        /// Our address.
        addr: Ipv6Addr,
        /// The other node's link-layer address, when the NA carried it.
        lladdr: Option<EthernetAddress>,
    },
}

/// What an [`NdTransmit`] is for (used for counting and tracing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdTransmitKind {
    /// A multicast NS to the solicited-node group, resolving an INCOMPLETE entry
    /// (RFC 4861 §7.2.2).
    Solicit,
    /// A unicast NS probing a neighbour in PROBE (RFC 4861 §7.3.3).
    Probe,
    /// A solicited NA answering an NS for one of our addresses (§7.2.4).
    Advert,
    /// An NA to all-nodes answering an NS from the unspecified address (a
    /// duplicate address detection probe, §7.2.4).
    DadAdvert,
}

/// A neighbour discovery frame for the caller to send: the NS or NA, its IPv6
/// source and destination, and the Ethernet addresses.
///
/// # Examples
///
/// ```
/// use strata_l2::{EthernetAddress, EthernetFrame, Instant};
/// use strata_l3l4::{ChecksumCaps, Ipv6Packet, NdCache, NdConfig, NdResolve, NdiscPacket, NdiscRepr};
///
/// let ours = "fe80::1".parse().unwrap();
/// let peer = "fe80::2".parse().unwrap();
/// let mut nd = NdCache::new(NdConfig::default(), EthernetAddress::new(2, 0, 0, 0, 0, 1));
/// assert!(matches!(nd.resolve(Instant::ZERO, peer, ours, ()), NdResolve::Queued { .. }));
/// let ns = nd.poll_transmit(Instant::ZERO).unwrap();
/// let mut buf = [0u8; 128];
/// let len = ns.emit(&mut buf)?;
/// let ip = Ipv6Packet::new_checked(&EthernetFrame::new_checked(&buf[..len]).unwrap().payload()[..])?;
/// let repr = NdiscRepr::parse(
///     &NdiscPacket::new_checked(ip.payload())?, &ip.src_addr(), &ip.dst_addr(),
///     ip.hop_limit(), &ChecksumCaps::software(),
/// )?;
/// assert_eq!(repr, ns.repr);
/// # Ok::<(), strata_l3l4::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NdTransmit {
    /// The Ethernet source: the interface's address.
    pub src_lladdr: EthernetAddress,
    /// The Ethernet destination: the 33:33 group of a multicast destination
    /// (RFC 2464 §7), or the neighbour's address.
    pub dst_lladdr: EthernetAddress,
    /// The IPv6 source: one of our addresses.
    pub src_addr: Ipv6Addr,
    /// The IPv6 destination: a solicited-node group, all-nodes, or the neighbour.
    pub dst_addr: Ipv6Addr,
    /// The neighbour discovery message.
    pub repr: NdiscRepr,
    /// Why it is sent.
    pub kind: NdTransmitKind,
}

impl NdTransmit {
    /// Bytes [`emit`](Self::emit) writes: Ethernet header, IPv6 header and the
    /// ICMPv6 message (86 for an NS or NA with a link-layer address option).
    pub fn buffer_len(&self) -> usize {
        ETHERNET_HEADER_LEN + ipv6::HEADER_LEN + self.repr.buffer_len()
    }

    /// The Ethernet header of the frame.
    pub fn ethernet_repr(&self) -> EthernetRepr {
        EthernetRepr {
            src_addr: self.src_lladdr,
            dst_addr: self.dst_lladdr,
            ethertype: EtherType::Ipv6,
        }
    }

    /// The IPv6 header of the frame: ICMPv6, hop limit 255 (RFC 4861 §7.1).
    pub fn ipv6_repr(&self) -> ipv6::Repr {
        ipv6::Repr {
            src_addr: self.src_addr,
            dst_addr: self.dst_addr,
            next_header: IpProtocol::Icmpv6,
            payload_len: self.repr.buffer_len(),
            hop_limit: ndisc::HOP_LIMIT,
            traffic_class: 0,
            flow_label: 0,
        }
    }

    /// Writes the whole frame (Ethernet, IPv6 and ICMPv6 with its checksum) at
    /// the start of `buffer` and returns its length,
    /// [`buffer_len`](Self::buffer_len).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if `buffer` is shorter than `buffer_len`.
    pub fn emit(&self, buffer: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        let buffer = buffer.get_mut(..len).ok_or(Error::Truncated)?;
        let mut frame = EthernetFrame::new_unchecked(&mut *buffer);
        self.ethernet_repr().emit(&mut frame);
        let mut ip = ipv6::Packet::new_unchecked(frame.payload_mut());
        self.ipv6_repr().emit(&mut ip)?;
        let mut message = ndisc::Packet::new_unchecked(ip.payload_mut());
        self.repr.emit(
            &mut message,
            &self.src_addr,
            &self.dst_addr,
            &ChecksumCaps::software(),
        )?;
        Ok(len)
    }

    /// Whether the frame is a solicitation (multicast or unicast).
    pub fn is_solicit(&self) -> bool {
        matches!(self.repr, NdiscRepr::NeighborSolicit { .. })
    }
}

/// Why a packet handed to [`NdCache::resolve`] could not wait for resolution, or
/// why [`NdCache::insert_permanent`] failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdDropReason {
    /// The address cannot be resolved (unspecified, loopback).
    Unresolvable,
    /// No room for a new entry: `max_incomplete` entries are being resolved, or
    /// the cache is full of entries that cannot be evicted.
    NoRoom,
    /// The neighbour's queue could not take the packet (see
    /// [`NdCache::resolve`] for the overflow policy).
    QueueFull,
}

impl NdDropReason {
    /// The name used in the stats' `drop_reasons`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            NdDropReason::Unresolvable => "unresolvable",
            NdDropReason::NoRoom => "no_room",
            NdDropReason::QueueFull => "queue_overflow",
        }
    }
}

impl fmt::Display for NdDropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of a packet handed to [`NdCache::resolve`].
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a packet to send or a packet handed back is inside"]
pub enum NdResolve<P> {
    /// The destination is known: send the packet to this link-layer address now.
    Send(EthernetAddress, P),
    /// The packet waits for resolution and will come out of
    /// [`NdCache::poll_released`]. `displaced` is an older packet for the same
    /// neighbour pushed out to make room (already counted as a drop); the caller
    /// frees it.
    Queued {
        /// The oldest waiting packet, dropped to keep the queue bounded.
        displaced: Option<P>,
    },
    /// The packet cannot wait: it is handed back (already counted as a drop under
    /// the reason).
    Refused(P, NdDropReason),
}

/// The Ethernet address an IPv6 multicast address maps to: 33:33 followed by the
/// low 32 bits of the group (RFC 2464 §7).
///
/// # Examples
///
/// ```
/// use strata_l2::EthernetAddress;
/// use strata_l3l4::nd::multicast_lladdr;
///
/// let group = "ff02::1:ff00:2".parse().unwrap();
/// assert_eq!(multicast_lladdr(&group), EthernetAddress::new(0x33, 0x33, 0xff, 0, 0, 2));
/// ```
pub fn multicast_lladdr(addr: &Ipv6Addr) -> EthernetAddress {
    let [a, b, c, d, e, f] = multicast_mac(addr);
    EthernetAddress::new(a, b, c, d, e, f)
}
