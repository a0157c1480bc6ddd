//! Received neighbour discovery messages: solicitations answered and learnt
//! from (RFC 4861 §7.2.3, §7.2.4), advertisements applied by the rules of
//! §7.2.5, and the link-layer addresses of router solicitations and
//! advertisements and redirects (§6.2.6, §6.3.4, §8.3).

use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, Instant};

use super::cache::{is_unicast, is_valid_lladdr, State};
use super::{multicast_lladdr, NdCache, NdEvent, NdTransmit, NdTransmitKind};
use crate::wire::ipv6::{is_solicited_node, LINK_LOCAL_ALL_NODES};
use crate::wire::ndisc::{NeighborFlags, Repr as NdiscRepr};

/// How a received message may change a neighbour's IsRouter flag when its
/// link-layer address is learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RouterFlag {
    /// Unchanged; `false` for a new entry (NS, RS: §7.2.3, §6.2.6).
    Keep,
    /// Set to true (RA §6.3.4, redirect to a router §8.3).
    Set,
}

impl<P> NdCache<P> {
    /// Handles any validated neighbour discovery message (see
    /// [`NdiscRepr::parse`]) received from `src` for `dst`; `ours` are the
    /// interface's addresses (without tentative ones, which the DAD code
    /// watches).
    ///
    /// NS and NA go to [`handle_ns`](Self::handle_ns) and
    /// [`handle_na`](Self::handle_na). From the others only the link-layer address
    /// is taken (RFC 4861 Appendix C: "NS, RS, RA, Redirect" with a link-layer
    /// address): an RA's source link-layer address (and IsRouter set, §6.3.4); a
    /// redirect's target link-layer address (IsRouter set when the target is not
    /// the destination, §8.3; the caller has checked that the redirect came from
    /// the current first hop); an RS's source link-layer address on a router only
    /// (§6.2.6: hosts ignore router solicitations). The RA's other fields are the
    /// caller's (see [`set_base_reachable_time`](Self::set_base_reachable_time)).
    pub fn handle_ndisc(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        repr: &NdiscRepr,
        ours: &[Ipv6Addr],
    ) {
        match *repr {
            NdiscRepr::NeighborSolicit { .. } => self.handle_ns(now, src, dst, repr, ours),
            NdiscRepr::NeighborAdvert { .. } => self.handle_na(now, src, dst, repr, ours),
            NdiscRepr::RouterSolicit { lladdr } => {
                self.stats.other_received += 1;
                if self.config.router && !src.is_unspecified() {
                    if let Some(lladdr) = lladdr {
                        self.learn_checked(now, src, lladdr, RouterFlag::Keep, ours);
                    }
                }
            }
            NdiscRepr::RouterAdvert { lladdr, .. } => {
                self.stats.other_received += 1;
                match lladdr {
                    Some(lladdr) => self.learn_checked(now, src, lladdr, RouterFlag::Set, ours),
                    None => {
                        if let Some(entry) = self.entries.get_mut(&src) {
                            entry.is_router = true;
                        }
                    }
                }
            }
            NdiscRepr::Redirect {
                target_addr,
                dest_addr,
                lladdr,
            } => {
                self.stats.other_received += 1;
                let router = if target_addr != dest_addr {
                    RouterFlag::Set
                } else {
                    RouterFlag::Keep
                };
                match lladdr {
                    Some(lladdr) => self.learn_checked(now, target_addr, lladdr, router, ours),
                    None => {
                        if let Some(entry) = self.entries.get_mut(&target_addr) {
                            entry.is_router |= router == RouterFlag::Set;
                        }
                    }
                }
            }
        }
    }

    /// Handles a validated neighbour solicitation received from `src` for `dst`
    /// (RFC 4861 §7.2.3, §7.2.4); `ours` are the interface's addresses.
    ///
    /// - A target that is not one of `ours` is dropped (`target_not_ours`).
    /// - From a unicast source with a source link-layer address option, the
    ///   sender's entry is created STALE, or updated (→ STALE) when the address
    ///   differs; an INCOMPLETE entry is resolved and its packets released.
    /// - The answer is an NA for the target, from the target, override flag set,
    ///   router flag from [`NdConfig::router`](super::NdConfig::router), carrying
    ///   our link-layer address: to the sender with the solicited flag, or, when
    ///   the sender is the unspecified address (a DAD probe), to all-nodes
    ///   ff02::1 with the solicited flag clear. A sender that gave no link-layer
    ///   address and is not in the cache is resolved first, the NA waiting.
    ///
    /// Sending the NA does not count as a use of the sender's entry (it does not
    /// go STALE → DELAY): the entry learnt from the solicitation stays STALE, as
    /// §7.2.3 sets it, until our own traffic uses it.
    pub fn handle_ns(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        repr: &NdiscRepr,
        ours: &[Ipv6Addr],
    ) {
        let NdiscRepr::NeighborSolicit {
            target_addr,
            lladdr,
        } = *repr
        else {
            self.stats.rx_invalid += 1;
            return;
        };
        self.stats.ns_received += 1;
        let lladdr = lladdr.map(to_lladdr);
        if lladdr == Some(self.lladdr) || ours.contains(&src) {
            self.stats.rx_own += 1;
            return;
        }
        let dad = src.is_unspecified();
        let valid = lladdr.map_or(true, is_valid_lladdr)
            && !src.is_multicast()
            && !src.is_loopback()
            && is_unicast(&target_addr)
            // §7.1.1: a DAD probe carries no link-layer address and goes to a
            // solicited-node group.
            && (!dad || (lladdr.is_none() && is_solicited_node(&dst)));
        if !valid {
            self.stats.rx_invalid += 1;
            return;
        }
        if !ours.contains(&target_addr) {
            self.stats.rx_not_ours += 1;
            return;
        }
        if let (false, Some(lladdr)) = (dad, lladdr) {
            self.learn(now, src, lladdr, RouterFlag::Keep, target_addr);
        }
        let mut advert = NdTransmit {
            src_lladdr: self.lladdr,
            dst_lladdr: EthernetAddress::UNSPECIFIED,
            src_addr: target_addr,
            dst_addr: if dad { LINK_LOCAL_ALL_NODES } else { src },
            repr: NdiscRepr::NeighborAdvert {
                flags: NeighborFlags {
                    router: self.config.router,
                    solicited: !dad,
                    override_: true,
                },
                target_addr,
                lladdr: Some(*self.lladdr.as_bytes()),
            },
            kind: if dad {
                NdTransmitKind::DadAdvert
            } else {
                NdTransmitKind::Advert
            },
        };
        if dad {
            self.stats.dad_probes_answered += 1;
            advert.dst_lladdr = multicast_lladdr(&LINK_LOCAL_ALL_NODES);
            self.push_transmit(advert);
            return;
        }
        if let Some(lladdr) = lladdr {
            advert.dst_lladdr = lladdr;
            self.push_transmit(advert);
            return;
        }
        // No link-layer address given: use the cache, or resolve the sender first.
        match self.entries.get_mut(&src) {
            Some(entry) if entry.is_resolved() => {
                advert.dst_lladdr = entry.lladdr;
                self.push_transmit(advert);
            }
            Some(entry) => {
                if entry.pending_advert.replace(advert).is_some() {
                    self.stats.advert_unresolved += 1;
                }
            }
            None => {
                if self.start_resolution(now, src, target_addr) {
                    if let Some(entry) = self.entries.get_mut(&src) {
                        entry.pending_advert = Some(advert);
                    }
                } else {
                    self.stats.advert_unresolved += 1;
                }
            }
        }
    }

    /// Handles a validated neighbour advertisement received from `src` for `dst`
    /// (RFC 4861 §7.2.5); `ours` are the interface's addresses.
    ///
    /// - A target that is one of `ours` is a duplicate address: reported
    ///   ([`NdEvent::DuplicateAddress`]) and nothing else (our own NA looped back,
    ///   carrying our link-layer address, is dropped as `own_frame` instead).
    /// - No entry for the target: dropped (`na_no_entry`); none is created.
    /// - INCOMPLETE: without a target link-layer address, dropped
    ///   (`na_no_lladdr`); otherwise the address is recorded, the entry becomes
    ///   REACHABLE if S is set and STALE if not, IsRouter is set from R, and the
    ///   waiting packets are released.
    /// - Otherwise, with O clear and a link-layer address different from the
    ///   cached one: a REACHABLE entry becomes STALE, and nothing else changes.
    /// - Otherwise (O set, or the same address, or none): a different address is
    ///   recorded; S set → REACHABLE; S clear and the address changed → STALE;
    ///   else the state is unchanged. IsRouter is set from R; a router that is
    ///   one no longer is reported ([`NdEvent::RouterLost`]).
    /// - PERMANENT entries are never changed.
    pub fn handle_na(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        repr: &NdiscRepr,
        ours: &[Ipv6Addr],
    ) {
        let NdiscRepr::NeighborAdvert {
            flags,
            target_addr,
            lladdr,
        } = *repr
        else {
            self.stats.rx_invalid += 1;
            return;
        };
        self.stats.na_received += 1;
        let lladdr = lladdr.map(to_lladdr);
        if lladdr == Some(self.lladdr) {
            self.stats.rx_own += 1;
            return;
        }
        let valid = lladdr.map_or(true, is_valid_lladdr)
            && !src.is_multicast()
            && !src.is_loopback()
            && is_unicast(&target_addr)
            // §7.1.2: a solicited advertisement answers one node.
            && !(flags.solicited && dst.is_multicast());
        if !valid {
            self.stats.rx_invalid += 1;
            return;
        }
        if ours.contains(&target_addr) {
            self.stats.duplicates_detected += 1;
            self.push_event(NdEvent::DuplicateAddress {
                addr: target_addr,
                lladdr,
            });
            return;
        }
        let until = self.reachable_until(now);
        let Some(entry) = self.entries.get_mut(&target_addr) else {
            self.stats.na_no_entry += 1;
            return;
        };
        match entry.state {
            State::Permanent => {}
            State::Incomplete { .. } => {
                let Some(lladdr) = lladdr else {
                    self.stats.na_no_lladdr += 1;
                    return;
                };
                entry.is_router = flags.router;
                let state = if flags.solicited {
                    State::Reachable { until }
                } else {
                    State::Stale { since: now }
                };
                self.set_lladdr(target_addr, lladdr, state);
            }
            _ => {
                let changed = lladdr.filter(|&new| new != entry.lladdr);
                if let (false, Some(_)) = (flags.override_, changed) {
                    if let State::Reachable { .. } = entry.state {
                        entry.state = State::Stale { since: now };
                        let deadline = entry.deadline(&self.config);
                        self.note_deadline(deadline);
                    }
                    return;
                }
                let state = if flags.solicited {
                    State::Reachable { until }
                } else if changed.is_some() {
                    State::Stale { since: now }
                } else {
                    entry.state
                };
                let was_router = entry.is_router;
                entry.is_router = flags.router;
                match changed {
                    Some(new) => self.set_lladdr(target_addr, new, state),
                    None => {
                        entry.state = state;
                        let deadline = entry.deadline(&self.config);
                        self.note_deadline(deadline);
                    }
                }
                if was_router && !flags.router {
                    self.stats.routers_lost += 1;
                    self.push_event(NdEvent::RouterLost { addr: target_addr });
                }
            }
        }
    }

    /// [`learn`](Self::learn) after checking the address and link-layer address.
    fn learn_checked(
        &mut self,
        now: Instant,
        addr: Ipv6Addr,
        lladdr: [u8; 6],
        router: RouterFlag,
        ours: &[Ipv6Addr],
    ) {
        let lladdr = to_lladdr(lladdr);
        if lladdr == self.lladdr || ours.contains(&addr) {
            self.stats.rx_own += 1;
        } else if !is_valid_lladdr(lladdr) || !is_unicast(&addr) {
            self.stats.rx_invalid += 1;
        } else {
            self.learn(now, addr, lladdr, router, Ipv6Addr::UNSPECIFIED);
        }
    }

    /// A link-layer address for `addr` from an NS, RS, RA or redirect (RFC 4861
    /// Appendix C): a new entry is STALE; an INCOMPLETE one records it, becomes
    /// STALE and releases its packets; a resolved one with a different address
    /// records it and becomes STALE; the same address changes nothing. `source`
    /// is our address to probe a new entry from, if one is known (the target of
    /// the solicitation it came in).
    fn learn(
        &mut self,
        now: Instant,
        addr: Ipv6Addr,
        lladdr: EthernetAddress,
        router: RouterFlag,
        source: Ipv6Addr,
    ) {
        let set_router = router == RouterFlag::Set;
        let stale = State::Stale { since: now };
        let Some(entry) = self.entries.get_mut(&addr) else {
            if !self.insert_resolved(addr, lladdr, stale, set_router, source) {
                self.stats.rx_cache_full += 1;
            }
            return;
        };
        if entry.state == State::Permanent {
            return;
        }
        entry.is_router |= set_router;
        if !entry.is_resolved() || entry.lladdr != lladdr {
            self.set_lladdr(addr, lladdr, stale);
        }
    }
}

fn to_lladdr(bytes: [u8; 6]) -> EthernetAddress {
    let [a, b, c, d, e, f] = bytes;
    EthernetAddress::new(a, b, c, d, e, f)
}
