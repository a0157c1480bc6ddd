//! Cache entries and their states, and small helpers shared by the other
//! files of the module.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use super::{ArpConfig, ArpTransmit, Neighbour, NeighbourState, TransmitKind};
use crate::time::Instant;
use crate::wire::{ArpOperation, ArpRepr, EthernetAddress};

/// Most announcements waiting for their next repetition; the oldest is
/// forgotten when a further address is announced.
pub(super) const MAX_PENDING_ANNOUNCEMENTS: usize = 16;

/// The state of an entry, with its timer data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
    /// `requests` broadcast requests sent; the next one (or the give-up) is
    /// due at `next`.
    Incomplete { requests: u8, next: Instant },
    /// Confirmed; becomes STALE at `until`.
    Reachable { until: Instant },
    /// Not confirmed recently. `probes` unicast polls sent, the next (or the
    /// removal) due at `next`; `next` is `None` when not polling.
    Stale { probes: u8, next: Option<Instant> },
    /// Inserted by hand.
    Permanent,
}

/// One neighbour.
#[derive(Debug)]
pub(super) struct Entry<P> {
    /// Its hardware address; unspecified while INCOMPLETE.
    pub(super) hardware_addr: EthernetAddress,
    pub(super) state: State,
    /// Our address to send requests from (from the lookup that made the
    /// entry or started the poll).
    pub(super) source: Ipv4Addr,
    /// Last lookup that found it (or its creation): for `stale_time`.
    pub(super) last_used: Instant,
    /// Order of the last use or creation: the least is evicted first.
    pub(super) use_stamp: u64,
    /// When the hardware address was last set: for `lock_time`.
    pub(super) updated: Instant,
    /// Packets waiting for resolution, oldest first (only while INCOMPLETE).
    pub(super) queue: VecDeque<P>,
}

impl<P> Entry<P> {
    /// When the entry's timer fires next ([`Instant::MAX`] for never).
    pub(super) fn deadline(&self, config: &ArpConfig) -> Instant {
        match self.state {
            State::Incomplete { next, .. } => next,
            State::Reachable { until } => until,
            State::Stale {
                next: Some(next), ..
            } => next,
            State::Stale { next: None, .. } => self.last_used + config.stale_time,
            State::Permanent => Instant::MAX,
        }
    }

    /// Whether the entry has a hardware address to send to.
    pub(super) fn is_resolved(&self) -> bool {
        !matches!(self.state, State::Incomplete { .. })
    }
}

/// An announcement with repetitions still to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Announcement {
    pub(super) addr: Ipv4Addr,
    pub(super) remaining: u8,
    pub(super) next: Instant,
}

/// A request from `our_mac` and `source` for `target`, sent to `dst_addr`.
pub(super) fn request(
    our_mac: EthernetAddress,
    source: Ipv4Addr,
    target: Ipv4Addr,
    dst_addr: EthernetAddress,
    kind: TransmitKind,
) -> ArpTransmit {
    ArpTransmit {
        dst_addr,
        repr: ArpRepr {
            operation: ArpOperation::Request,
            source_hardware_addr: our_mac,
            source_protocol_addr: source,
            target_hardware_addr: EthernetAddress::UNSPECIFIED,
            target_protocol_addr: target,
        },
        kind,
    }
}

/// Appends `item` unless `queue` holds `capacity` items already; counts
/// what does not fit in `dropped`.
pub(super) fn push_bounded<T>(
    queue: &mut VecDeque<T>,
    capacity: usize,
    item: T,
    dropped: &mut u64,
) {
    if queue.len() < capacity {
        queue.push_back(item);
    } else {
        *dropped += 1;
    }
}

/// Whether ARP can resolve `addr`: not 0.0.0.0, loopback, broadcast or
/// multicast.
pub(super) fn is_unicast(addr: Ipv4Addr) -> bool {
    !(addr.is_unspecified() || addr.is_loopback() || addr.is_broadcast() || addr.is_multicast())
}

/// The public view of an entry.
pub(super) fn view<P>(addr: Ipv4Addr, entry: &Entry<P>) -> Neighbour {
    let state = match entry.state {
        State::Incomplete { .. } => NeighbourState::Incomplete,
        State::Reachable { .. } => NeighbourState::Reachable,
        State::Stale { .. } => NeighbourState::Stale,
        State::Permanent => NeighbourState::Permanent,
    };
    Neighbour {
        addr,
        hardware_addr: entry.is_resolved().then_some(entry.hardware_addr),
        state,
        queued: entry.queue.len(),
    }
}
