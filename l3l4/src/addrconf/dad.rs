//! Duplicate address detection (RFC 4862 §5.4): probes, success, and the
//! conflicts found in received neighbour solicitations and advertisements.

use std::net::Ipv6Addr;

use strata_l2::Instant;

use super::conf::Dad;
use super::{
    AddrConf, AddrConfEvent, AddrConfMessage, AddrConfTransmit, AddrOrigin, Ipv6AddrState,
};
use crate::wire::icmpv6::Message;
use crate::wire::ipv6::solicited_node;
use crate::wire::ndisc::{NdiscOption, Packet as NdiscPacket};

impl AddrConf {
    /// Starts DAD for the TENTATIVE address at `index` (RFC 4862 §5.4.2):
    /// the first probe after a random delay; with DAD off, the address is
    /// usable at once.
    pub(super) fn start_dad(&mut self, now: Instant, index: usize) {
        if self.config.dup_addr_detect_transmits == 0 {
            self.dad_succeeded(now, index);
            return;
        }
        let delay = self.random_delay();
        let nonce = self.config.dad_nonce.then(|| {
            let bytes = self.next_random().to_be_bytes();
            [bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]]
        });
        self.addresses[index].dad = Some(Dad {
            next: now + delay,
            sent: 0,
            nonce,
            received: 0,
        });
    }

    /// Sends due probes and ends DAD for addresses whose last probe went
    /// `RetransTimer` ago without conflict.
    pub(super) fn run_dad(&mut self, now: Instant) {
        let Some(mac) = self.mac else {
            return;
        };
        for index in 0..self.addresses.len() {
            let entry = self.addresses[index];
            let Some(mut dad) = entry.dad else {
                continue;
            };
            if dad.next > now {
                continue;
            }
            if dad.sent < self.config.dup_addr_detect_transmits {
                dad.sent += 1;
                dad.next = now + self.retrans_timer;
                self.addresses[index].dad = Some(dad);
                let probe = AddrConfTransmit {
                    src_mac: mac,
                    src_addr: Ipv6Addr::UNSPECIFIED,
                    dst_addr: solicited_node(&entry.addr),
                    message: AddrConfMessage::DadProbe {
                        target: entry.addr,
                        nonce: dad.nonce,
                    },
                };
                if self.push_transmit(probe) {
                    self.stats.dad_probes_sent += 1;
                }
            } else {
                self.dad_succeeded(now, index);
            }
        }
    }

    /// The address at `index` passed DAD: PREFERRED, or DEPRECATED if its
    /// preferred lifetime ended meanwhile. Solicitations start when it is
    /// the link-local address.
    fn dad_succeeded(&mut self, now: Instant, index: usize) {
        let entry = &mut self.addresses[index];
        entry.dad = None;
        entry.state = if entry.preferred_until.is_some_and(|t| t <= now) {
            Ipv6AddrState::Deprecated
        } else {
            Ipv6AddrState::Preferred
        };
        let (addr, origin) = (entry.addr, entry.origin);
        self.stats.dad_succeeded += 1;
        self.push_event(AddrConfEvent::DadSucceeded { addr });
        if origin == AddrOrigin::LinkLocal
            && self.solicit.is_none()
            && !self.config.solicit_during_dad
            && self.config.max_rtr_solicitations > 0
        {
            // The DAD delay served as the solicitation delay (RFC 4861
            // §6.3.7); without DAD, a delay of its own.
            let delay = if self.delayed {
                core::time::Duration::ZERO
            } else {
                self.random_delay()
            };
            self.solicit = Some(super::conf::Solicit {
                next: now + delay,
                sent: 0,
            });
        }
    }

    /// Marks the address at `index` DUPLICATE (RFC 4862 §5.4.5); for the
    /// MAC-derived link-local address, autoconfiguration stops.
    fn mark_duplicate(&mut self, index: usize) {
        let entry = &mut self.addresses[index];
        entry.dad = None;
        entry.state = Ipv6AddrState::Duplicate;
        let (addr, origin) = (entry.addr, entry.origin);
        self.stats.dad_failed += 1;
        self.push_event(AddrConfEvent::DuplicateAddressDetected { addr, origin });
        if origin == AddrOrigin::LinkLocal && !self.stopped {
            self.stopped = true;
            self.solicit = None;
            self.push_event(AddrConfEvent::AutoconfDisabled);
        }
        self.sync_groups();
    }

    /// The index of `addr` if it is TENTATIVE.
    fn tentative(&self, addr: Ipv6Addr) -> Option<usize> {
        self.addresses
            .iter()
            .position(|e| e.addr == addr && e.state == Ipv6AddrState::Tentative)
    }

    /// Dispatches a received neighbour discovery message, already checked
    /// with [`NdiscRepr::parse`](crate::NdiscRepr::parse), from `src`: NS to
    /// [`handle_ns`](Self::handle_ns), NA to [`handle_na`](Self::handle_na),
    /// RA to [`handle_ra`](Self::handle_ra); others are not ours.
    pub fn handle_ndisc<T: AsRef<[u8]> + ?Sized>(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        packet: &NdiscPacket<&T>,
    ) {
        match packet.msg_type() {
            Message::NeighborSolicit => self.handle_ns(now, src, packet),
            Message::NeighborAdvert => self.handle_na(now, packet),
            Message::RouterAdvert => self.handle_ra(now, src, packet),
            _ => {}
        }
    }

    /// A received neighbour solicitation (RFC 4862 §5.4.3). One from `::`
    /// for a TENTATIVE address of ours is another node's DAD probe — unless
    /// it is our own, looped back (see the module documentation: same
    /// nonce, or with nonces off, no more probes than we sent) — and makes
    /// the address DUPLICATE. One from a unicast source for a tentative
    /// address is silently discarded. Others are not ours.
    pub fn handle_ns<T: AsRef<[u8]> + ?Sized>(
        &mut self,
        _now: Instant,
        src: Ipv6Addr,
        packet: &NdiscPacket<&T>,
    ) {
        if packet.check_len().is_err() || packet.msg_type() != Message::NeighborSolicit {
            self.stats.nd_invalid += 1;
            return;
        }
        self.stats.ns_received += 1;
        let Some(index) = self.tentative(packet.target_addr()) else {
            return;
        };
        if !src.is_unspecified() {
            self.stats.ns_tentative_target += 1;
            return;
        }
        let Some(mut dad) = self.addresses[index].dad else {
            return;
        };
        let nonce = packet.options().flatten().find_map(|option| match option {
            NdiscOption::Nonce(data) => Some(data),
            _ => None,
        });
        let looped_back = match (nonce, dad.nonce) {
            (Some(theirs), Some(ours)) => theirs == ours,
            (Some(_), None) => false,
            (None, Some(_)) => false,
            (None, None) => {
                // RFC 4862 Appendix A: only probes beyond those we sent
                // show another node.
                dad.received = dad.received.saturating_add(1);
                self.addresses[index].dad = Some(dad);
                dad.received <= dad.sent
            }
        };
        if looped_back {
            self.stats.dad_looped_back += 1;
        } else {
            self.mark_duplicate(index);
        }
    }

    /// A received neighbour advertisement (RFC 4862 §5.4.4): one for a
    /// TENTATIVE address makes it DUPLICATE; one for a PREFERRED or
    /// DEPRECATED address is counted ([`AddrConfStats::na_conflicts`]) and
    /// otherwise left to the neighbour cache.
    ///
    /// [`AddrConfStats::na_conflicts`]: super::AddrConfStats::na_conflicts
    pub fn handle_na<T: AsRef<[u8]> + ?Sized>(&mut self, _now: Instant, packet: &NdiscPacket<&T>) {
        if packet.check_len().is_err() || packet.msg_type() != Message::NeighborAdvert {
            self.stats.nd_invalid += 1;
            return;
        }
        self.stats.na_received += 1;
        let target = packet.target_addr();
        if let Some(index) = self.tentative(target) {
            self.mark_duplicate(index);
        } else if self.answers_for(target) {
            self.stats.na_conflicts += 1;
        }
    }
}
