//! Timers: retries and give-ups of INCOMPLETE entries, REACHABLE to STALE,
//! unicast polls and removal of STALE entries, repeated announcements.
//!
//! Every entry's next deadline is derived from its state
//! ([`Entry::deadline`]); `next_deadline` is a lower bound of them all,
//! lowered whenever a state changes and recomputed exactly by
//! `handle_timeout`, so `poll_at` may be early but is never late.

use std::net::Ipv4Addr;

use super::entry::{push_bounded, request, Entry, State};
use super::{ArpCache, ArpConfig, ArpTransmit, RemovalReason, TransmitKind};
use crate::time::Instant;
use crate::wire::EthernetAddress;

/// What a timer did to an entry.
enum Expiry {
    /// Failed to resolve: remove it and hand its packets back.
    Failed,
    /// Unused while STALE for `stale_time`.
    Expired,
    /// Unicast polls went unanswered.
    Unreachable,
}

impl<P> ArpCache<P> {
    /// When [`handle_timeout`](Self::handle_timeout) has work next, or
    /// `None` when no timer runs. May be early (a timer that was pushed
    /// back), never late.
    pub fn poll_at(&self) -> Option<Instant> {
        (self.next_deadline != Instant::MAX).then_some(self.next_deadline)
    }

    /// Runs the timers due at `now`: retries and give-ups of INCOMPLETE
    /// entries, REACHABLE to STALE, unicast polls and removal of STALE
    /// entries, repeated announcements. Cheap when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_deadline {
            return;
        }
        let mut next = Instant::MAX;
        let mut expired: Vec<(Ipv4Addr, Expiry)> = Vec::new();
        let ArpCache {
            config,
            hardware_addr,
            entries,
            transmits,
            stats,
            ..
        } = self;
        for (&addr, entry) in entries.iter_mut() {
            if entry.deadline(config) <= now {
                let (transmit, expiry) = expire(entry, addr, now, config, *hardware_addr);
                if let Some(transmit) = transmit {
                    push_bounded(
                        transmits,
                        config.transmit_capacity,
                        transmit,
                        &mut stats.tx_overflow,
                    );
                }
                if let Some(expiry) = expiry {
                    expired.push((addr, expiry));
                    continue;
                }
            }
            next = next.min(entry.deadline(config));
        }
        for (addr, expiry) in expired {
            let reason = match expiry {
                Expiry::Failed => {
                    self.stats.resolution_failures += 1;
                    self.give_up(addr);
                    continue;
                }
                Expiry::Expired => {
                    self.stats.entries_expired += 1;
                    RemovalReason::Expired
                }
                Expiry::Unreachable => {
                    self.stats.refresh_failures += 1;
                    RemovalReason::Unreachable
                }
            };
            self.remove_entry(addr, reason);
        }
        self.next_deadline = next;
        self.run_announcements(now);
    }

    /// Sends due announcements and forgets finished ones.
    fn run_announcements(&mut self, now: Instant) {
        let mut due = Vec::new();
        for announcement in &mut self.announcements {
            if announcement.next <= now {
                due.push(announcement.addr);
                announcement.remaining -= 1;
                announcement.next = now + self.config.announce_interval;
            }
        }
        self.announcements.retain(|a| a.remaining > 0);
        for addr in due {
            let announcement = self.announcement(addr, TransmitKind::Announcement);
            self.push_transmit(announcement);
        }
        if let Some(next) = self.announcements.iter().map(|a| a.next).min() {
            self.note_deadline(next);
        }
    }
}

/// Runs the due timer of one entry: what to send, and whether it goes.
fn expire<P>(
    entry: &mut Entry<P>,
    addr: Ipv4Addr,
    now: Instant,
    config: &ArpConfig,
    our_mac: EthernetAddress,
) -> (Option<ArpTransmit>, Option<Expiry>) {
    let retransmit = now + config.retransmit_interval;
    if let State::Reachable { .. } = entry.state {
        entry.state = State::Stale {
            probes: 0,
            next: None,
        };
        // Fall through: an entry unused for long goes at once.
    }
    match entry.state {
        State::Incomplete { requests, .. } if requests < config.max_requests => {
            entry.state = State::Incomplete {
                requests: requests + 1,
                next: retransmit,
            };
            let request = request(
                our_mac,
                entry.source,
                addr,
                EthernetAddress::BROADCAST,
                TransmitKind::Request,
            );
            (Some(request), None)
        }
        State::Incomplete { .. } => (None, Some(Expiry::Failed)),
        State::Stale {
            probes,
            next: Some(_),
        } if probes < config.max_probes => {
            entry.state = State::Stale {
                probes: probes + 1,
                next: Some(retransmit),
            };
            let poll = request(
                our_mac,
                entry.source,
                addr,
                entry.hardware_addr,
                TransmitKind::Refresh,
            );
            (Some(poll), None)
        }
        State::Stale { next: Some(_), .. } => (None, Some(Expiry::Unreachable)),
        State::Stale { next: None, .. } if entry.last_used + config.stale_time <= now => {
            (None, Some(Expiry::Expired))
        }
        State::Stale { .. } | State::Reachable { .. } | State::Permanent => (None, None),
    }
}
