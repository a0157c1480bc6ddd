//! Received ARP packets (RFC 826's reception algorithm, RFC 5227's probes
//! and conflicts), announcements of our addresses and upper-layer
//! confirmations.

use std::net::Ipv4Addr;

use super::entry::{is_unicast, Announcement, State, MAX_PENDING_ANNOUNCEMENTS};
use super::{ArpCache, ArpEvent, ArpTransmit, TransmitKind};
use crate::time::Instant;
use crate::wire::{ArpOperation, ArpRepr, EthernetAddress};

impl<P> ArpCache<P> {
    /// Handles a received ARP packet; `ours` are the interface's IPv4
    /// addresses.
    ///
    /// In order:
    /// 1. Packets with an unknown operation, from our own hardware address
    ///    (looped back), or with an impossible sender (group or zero
    ///    hardware address; broadcast, multicast or loopback IPv4 address)
    ///    are dropped and counted.
    /// 2. An ARP probe (sender IPv4 0.0.0.0, RFC 5227 §2.1.1) asking for one
    ///    of `ours` is answered, in defence of the address, with a reply to
    ///    the prober whose target address is 0.0.0.0 (as Linux does).
    ///    Probes teach nothing.
    /// 3. A packet whose sender claims one of `ours` is a conflict
    ///    (RFC 5227 §2.4): counted, reported as [`ArpEvent::Conflict`], and
    ///    defended with one announcement per `defend_interval`. Nothing is
    ///    learned from it.
    /// 4. RFC 826's merge: an existing entry for the sender is refreshed
    ///    with its hardware address, whoever the target is (a new address
    ///    within `lock_time` of the last change is ignored unless the packet
    ///    is gratuitous: the first of several replies wins). A reply to our
    ///    hardware address confirms the neighbour (REACHABLE); other packets
    ///    only set the address (STALE if it changed). PERMANENT entries are
    ///    left alone. An INCOMPLETE entry resolves and releases its packets.
    /// 5. If the target is one of `ours`, a sender not in the cache is
    ///    added, and a request is answered with a reply.
    pub fn handle_arp(&mut self, now: Instant, repr: &ArpRepr, ours: &[Ipv4Addr]) {
        match repr.operation {
            ArpOperation::Request => self.stats.requests_received += 1,
            ArpOperation::Reply => self.stats.replies_received += 1,
            ArpOperation::Unknown(_) => {
                self.stats.rx_unknown_operation += 1;
                return;
            }
        }
        let sender_mac = repr.source_hardware_addr;
        let sender = repr.source_protocol_addr;
        let target = repr.target_protocol_addr;
        if sender_mac == self.hardware_addr {
            self.stats.rx_own += 1;
            return;
        }
        if sender_mac.is_multicast() || sender_mac.is_unspecified() {
            self.stats.rx_invalid += 1;
            return;
        }
        let is_request = repr.operation == ArpOperation::Request;
        if sender.is_unspecified() {
            if is_request && ours.contains(&target) {
                let answer = self.reply(target, sender_mac, sender, TransmitKind::ProbeReply);
                self.push_transmit(answer);
            }
            return;
        }
        if !is_unicast(sender) {
            self.stats.rx_invalid += 1;
            return;
        }
        if ours.contains(&sender) {
            self.conflict(now, sender, sender_mac);
            return;
        }

        let confirms = repr.operation == ArpOperation::Reply
            && repr.target_hardware_addr == self.hardware_addr;
        let merged = self.merge(now, sender, sender_mac, confirms, repr.is_gratuitous());
        if !ours.contains(&target) {
            return;
        }
        if !merged {
            let state = self.confirmed_state(now, confirms);
            if !self.insert_resolved(now, sender, sender_mac, state) {
                self.stats.rx_cache_full += 1;
            }
        }
        if is_request {
            let reply = self.reply(target, sender_mac, sender, TransmitKind::Reply);
            self.push_transmit(reply);
        }
    }

    /// Announces our address `addr` (RFC 5227 §2.3): a gratuitous request
    /// now and `announce_count - 1` more, `announce_interval` apart, so that
    /// neighbours update their caches. Call it when an address is added to
    /// the interface (or the link comes up). Announcing an address again
    /// restarts its series; 0.0.0.0 and non-unicast addresses are ignored.
    pub fn announce(&mut self, now: Instant, addr: Ipv4Addr) {
        self.cancel_announce(addr);
        if self.config.announce_count == 0 || !is_unicast(addr) {
            return;
        }
        let announcement = self.announcement(addr, TransmitKind::Announcement);
        self.push_transmit(announcement);
        if self.config.announce_count > 1 {
            if self.announcements.len() >= MAX_PENDING_ANNOUNCEMENTS {
                self.announcements.remove(0);
            }
            let next = now + self.config.announce_interval;
            self.announcements.push(Announcement {
                addr,
                remaining: self.config.announce_count - 1,
                next,
            });
            self.note_deadline(next);
        }
    }

    /// Stops announcing `addr` and forgets its defence (call it when the
    /// address is removed from the interface). Frames already in the
    /// outbox stay there.
    pub fn cancel_announce(&mut self, addr: Ipv4Addr) {
        self.announcements.retain(|a| a.addr != addr);
        self.defended.remove(&addr);
    }

    /// Upper-layer advice that `addr` is reachable (RFC 1122 §2.3.2.1, e.g.
    /// TCP saw new data acknowledged): a REACHABLE or STALE entry becomes
    /// REACHABLE for another `reachable_time`, stopping any unicast poll,
    /// and counts as used (for `stale_time`). Other entries are left alone.
    pub fn confirm(&mut self, now: Instant, addr: Ipv4Addr) {
        let state = self.confirmed_state(now, true);
        let Some(entry) = self.entries.get_mut(&addr) else {
            return;
        };
        if matches!(entry.state, State::Reachable { .. } | State::Stale { .. }) {
            entry.state = state;
            entry.last_used = now;
            let deadline = entry.deadline(&self.config);
            self.note_deadline(deadline);
        }
    }

    /// RFC 826's "merge": refreshes the entry for `sender` if there is one.
    /// Returns the merge flag (whether there was one).
    fn merge(
        &mut self,
        now: Instant,
        sender: Ipv4Addr,
        sender_mac: EthernetAddress,
        confirms: bool,
        gratuitous: bool,
    ) -> bool {
        let lock_time = self.config.lock_time;
        let confirmed = self.confirmed_state(now, confirms);
        let Some(entry) = self.entries.get_mut(&sender) else {
            return false;
        };
        let state = entry.state;
        match state {
            State::Permanent => {}
            State::Incomplete { .. } => {
                self.set_hardware_addr(now, sender, sender_mac, confirmed);
            }
            State::Reachable { .. } | State::Stale { .. } if entry.hardware_addr != sender_mac => {
                if gratuitous || now >= entry.updated + lock_time {
                    self.set_hardware_addr(now, sender, sender_mac, confirmed);
                }
            }
            State::Reachable { .. } | State::Stale { .. } => {
                if confirms {
                    entry.state = confirmed;
                    let deadline = entry.deadline(&self.config);
                    self.note_deadline(deadline);
                }
            }
        }
        true
    }

    /// The state of a neighbour just heard from: REACHABLE if the packet
    /// confirms it, STALE otherwise.
    fn confirmed_state(&self, now: Instant, confirms: bool) -> State {
        if confirms {
            State::Reachable {
                until: now + self.config.reachable_time,
            }
        } else {
            State::Stale {
                probes: 0,
                next: None,
            }
        }
    }

    /// Someone else (`other`) claims our `addr`.
    fn conflict(&mut self, now: Instant, addr: Ipv4Addr, other: EthernetAddress) {
        self.stats.conflicts += 1;
        let interval = self.config.defend_interval;
        self.defended.retain(|_, at| now < *at + interval);
        let defended = !self.defended.contains_key(&addr);
        if defended {
            self.defended.insert(addr, now);
            let defence = self.announcement(addr, TransmitKind::Defence);
            self.push_transmit(defence);
        }
        self.push_event(ArpEvent::Conflict {
            addr,
            hardware_addr: other,
            defended,
        });
    }

    /// A reply from our `addr` to `asker` at `asker_mac`.
    fn reply(
        &self,
        addr: Ipv4Addr,
        asker_mac: EthernetAddress,
        asker: Ipv4Addr,
        kind: TransmitKind,
    ) -> ArpTransmit {
        ArpTransmit {
            dst_addr: asker_mac,
            repr: ArpRepr {
                operation: ArpOperation::Reply,
                source_hardware_addr: self.hardware_addr,
                source_protocol_addr: addr,
                target_hardware_addr: asker_mac,
                target_protocol_addr: asker,
            },
            kind,
        }
    }
}
