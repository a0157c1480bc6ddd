//! Timers (RFC 4861 §7.2.2, §7.3.3, Appendix C): retransmissions and give-up of
//! INCOMPLETE entries, REACHABLE to STALE after ReachableTime, DELAY to PROBE
//! after `DELAY_FIRST_PROBE_TIME`, unicast probes and removal in PROBE, and
//! garbage collection of unused STALE entries.
//!
//! Every entry's next deadline is derived from its state (`Entry::deadline`);
//! `next_deadline` is a lower bound of them all, lowered whenever a state changes
//! and recomputed exactly by `handle_timeout`, so `poll_at` may be early but is
//! never late.

use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, Instant};

use super::cache::{is_unicast, solicit, Entry, State};
use super::{NdCache, NdConfig, NdRemovalReason, NdTransmit};

/// What a timer did to an entry.
enum Expiry {
    /// Failed to resolve: remove it and hand its packets back.
    Failed,
    /// Unused while STALE for `stale_time`.
    Expired,
    /// Probes went unanswered.
    Unreachable,
}

impl<P> NdCache<P> {
    /// When [`handle_timeout`](Self::handle_timeout) has work next, or `None` when
    /// no timer runs. May be early (a timer that was pushed back), never late.
    pub fn poll_at(&self) -> Option<Instant> {
        (self.next_deadline != Instant::MAX).then_some(self.next_deadline)
    }

    /// Runs the timers due at `now` (RFC 4861 Appendix C): retransmitted
    /// multicast solicitations and give-ups of INCOMPLETE entries, REACHABLE to
    /// STALE, DELAY to PROBE with the first unicast probe, further probes and the
    /// removal of unanswered PROBE entries, removal of STALE entries unused for
    /// `stale_time`. Cheap when nothing is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now < self.next_deadline {
            return;
        }
        let mut next = Instant::MAX;
        let mut expired: Vec<(Ipv6Addr, Expiry)> = Vec::new();
        let mut sends: Vec<NdTransmit> = Vec::new();
        let NdCache {
            config,
            lladdr,
            entries,
            ..
        } = self;
        for (&addr, entry) in entries.iter_mut() {
            if entry.deadline(config) <= now {
                let (transmit, expiry) = expire(entry, addr, now, config, *lladdr);
                sends.extend(transmit);
                if let Some(expiry) = expiry {
                    expired.push((addr, expiry));
                    continue;
                }
            }
            next = next.min(entry.deadline(config));
        }
        for transmit in sends {
            self.push_transmit(transmit);
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
                    NdRemovalReason::Expired
                }
                Expiry::Unreachable => {
                    self.stats.probe_failures += 1;
                    NdRemovalReason::Unreachable
                }
            };
            self.remove_entry(addr, reason);
        }
        self.next_deadline = next;
    }
}

/// Runs the due timer of one entry: what to send, and whether it goes. An entry
/// whose timers fell far behind (`now` well past the deadline) takes one step
/// per deadline and may take several in one call: REACHABLE to STALE to removed.
fn expire<P>(
    entry: &mut Entry<P>,
    addr: Ipv6Addr,
    now: Instant,
    config: &NdConfig,
    our_lladdr: EthernetAddress,
) -> (Option<NdTransmit>, Option<Expiry>) {
    let retransmit = now + config.retrans_timer;
    if let State::Reachable { until } = entry.state {
        // Appendix C: REACHABLE, timeout → STALE, from the moment it expired.
        entry.state = State::Stale { since: until };
        if until + config.stale_time > now {
            return (None, None);
        }
    }
    match entry.state {
        // §7.2.2: retransmit every RetransTimer until MAX_MULTICAST_SOLICIT sent.
        State::Incomplete { solicits, .. } if solicits < config.max_multicast_solicit => {
            entry.state = State::Incomplete {
                solicits: solicits + 1,
                next: retransmit,
            };
            (Some(solicit(our_lladdr, entry.source, addr, None)), None)
        }
        // §7.2.2: no answer after the last RetransTimer: give up.
        State::Incomplete { .. } => (None, Some(Expiry::Failed)),
        // Appendix C: DELAY, delay timeout → first unicast probe, PROBE.
        State::Delay { .. } => {
            entry.state = State::Probe {
                probes: 1,
                next: retransmit,
            };
            (probe(entry, addr, our_lladdr), None)
        }
        // §7.3.3: probe again every RetransTimer until MAX_UNICAST_SOLICIT sent.
        State::Probe { probes, .. } if probes < config.max_unicast_solicit => {
            entry.state = State::Probe {
                probes: probes + 1,
                next: retransmit,
            };
            (probe(entry, addr, our_lladdr), None)
        }
        // §7.3.3: no answer after the last probe's RetransTimer: remove.
        State::Probe { .. } => (None, Some(Expiry::Unreachable)),
        State::Stale { since } if since + config.stale_time <= now => (None, Some(Expiry::Expired)),
        State::Stale { .. } | State::Reachable { .. } | State::Permanent => (None, None),
    }
}

/// A unicast probe of `entry` (RFC 4861 §7.3.3), from the address of the lookup
/// that moved it to DELAY; none when no such address is known (the caller gave
/// none that is unicast), in which case the probe counts as lost.
fn probe<P>(entry: &Entry<P>, addr: Ipv6Addr, our_lladdr: EthernetAddress) -> Option<NdTransmit> {
    is_unicast(&entry.source).then(|| solicit(our_lladdr, entry.source, addr, Some(entry.lladdr)))
}
