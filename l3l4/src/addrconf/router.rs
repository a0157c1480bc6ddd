//! Router solicitation (RFC 4861 §6.3.7) and router advertisement
//! processing: the default router list, link parameters and the MTU
//! (RFC 4861 §6.3.4), on-link prefixes, and SLAAC addresses with the
//! lifetime rules of RFC 4862 §5.5.3.

use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, Instant};

use super::conf::min_deadline;
use super::{
    eui64_interface_id, mask_prefix, secs, with_interface_id, AddrConf, AddrConfEvent,
    AddrConfMessage, AddrConfTransmit, AddrOrigin, DefaultRouter, Ipv6AddrState, Lifetimes,
    OnLinkPrefix, TWO_HOURS,
};
use crate::wire::icmpv6::Message;
use crate::wire::ipv6::{is_link_local, LINK_LOCAL_ALL_ROUTERS};
use crate::wire::ndisc::{NdiscOption, Packet as NdiscPacket, PrefixInfo};

/// Whether lifetime `a` is longer than `b` (`None` is infinite).
fn longer(a: Option<Duration>, b: Option<Duration>) -> bool {
    match (a, b) {
        (None, None) => false,
        (None, Some(_)) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => a > b,
    }
}

impl AddrConf {
    /// Sends a due router solicitation: from the link-local address with
    /// the source link-layer option once it is PREFERRED, from `::`
    /// without it before (RFC 4861 §6.3.7); `max_rtr_solicitations` of
    /// them, `rtr_solicitation_interval` apart.
    pub(super) fn run_solicit(&mut self, now: Instant) {
        let (Some(mut solicit), Some(mac)) = (self.solicit, self.mac) else {
            return;
        };
        if solicit.next > now {
            return;
        }
        let link_local = self
            .addresses
            .iter()
            .find(|e| e.origin == AddrOrigin::LinkLocal && e.state == Ipv6AddrState::Preferred)
            .map(|e| e.addr);
        let rs = AddrConfTransmit {
            src_mac: mac,
            src_addr: link_local.unwrap_or(Ipv6Addr::UNSPECIFIED),
            dst_addr: LINK_LOCAL_ALL_ROUTERS,
            message: AddrConfMessage::RouterSolicit {
                lladdr: link_local.map(|_| mac),
            },
        };
        if self.push_transmit(rs) {
            self.stats.rs_sent += 1;
        }
        solicit.sent += 1;
        solicit.next = now + self.config.rtr_solicitation_interval;
        self.solicit = (solicit.sent < self.config.max_rtr_solicitations).then_some(solicit);
    }

    /// A received router advertisement from `src`, already checked with
    /// [`NdiscRepr::parse`](crate::NdiscRepr::parse) (RFC 4861 §6.1.2);
    /// every option is read, so every prefix information option counts.
    ///
    /// - Solicitations stop (RFC 4861 §6.3.7 asks it for a non-zero router
    ///   lifetime; as Linux, any advertisement stops them).
    /// - The router lifetime adds, refreshes or (0) removes `src` in the
    ///   default router list (§6.3.4).
    /// - Non-zero cur hop limit, reachable time and retrans timer replace
    ///   those in force ([`AddrConfEvent::LinkParameters`]).
    /// - An MTU option between 1280 and the link MTU becomes the MTU.
    /// - Each prefix information option: the link-local prefix is ignored,
    ///   and (as Linux does) so is an option whose preferred lifetime exceeds
    ///   its valid lifetime (RFC 4862 §5.5.3 (c)); with L set, the on-link
    ///   prefix list (§6.3.4: added, refreshed, or removed at valid lifetime
    ///   0); with A set and a /64, SLAAC (RFC 4862 §5.5.3 (d), (e)).
    ///
    /// Advertisements are ignored (and counted) before
    /// [`enable`](Self::enable) and after a duplicate link-local address.
    pub fn handle_ra<T: AsRef<[u8]> + ?Sized>(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        packet: &NdiscPacket<&T>,
    ) {
        if self.mac.is_none() || self.stopped {
            self.stats.ra_disabled += 1;
            return;
        }
        if packet.check_len().is_err()
            || packet.msg_type() != Message::RouterAdvert
            || !is_link_local(&src)
            || packet.options().any(|option| option.is_err())
        {
            self.stats.ra_invalid += 1;
            return;
        }
        self.stats.ra_received += 1;
        self.solicit = None;
        let lladdr = packet.options().flatten().find_map(|option| match option {
            NdiscOption::SourceLinkLayerAddr(mac) => Some(EthernetAddress(mac)),
            _ => None,
        });
        self.update_router(now, src, packet.router_lifetime(), lladdr);
        self.update_parameters(packet);
        for option in packet.options().flatten() {
            match option {
                NdiscOption::Mtu(mtu) => self.update_mtu(mtu),
                NdiscOption::PrefixInformation(info) => self.handle_prefix(now, &info),
                _ => {}
            }
        }
        self.handle_timeout(now);
    }

    /// The default router list (RFC 4861 §6.3.4).
    fn update_router(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        lifetime: u16,
        lladdr: Option<EthernetAddress>,
    ) {
        let index = self.routers.iter().position(|r| r.addr == src);
        let expires = now + Duration::from_secs(u64::from(lifetime));
        match index {
            Some(index) if lifetime == 0 => {
                self.routers.remove(index);
                self.stats.routers_removed += 1;
                self.push_event(AddrConfEvent::RouterRemoved { addr: src });
            }
            Some(index) => {
                let router = &mut self.routers[index];
                router.expires = expires;
                router.lladdr = lladdr.or(router.lladdr);
            }
            None if lifetime == 0 => {}
            None if self.routers.len() >= self.config.max_routers => {
                self.stats.router_table_full += 1;
            }
            None => {
                self.routers.push(DefaultRouter {
                    addr: src,
                    lladdr,
                    expires,
                });
                self.stats.routers_added += 1;
                self.push_event(AddrConfEvent::RouterAdded { addr: src });
            }
        }
    }

    /// Cur hop limit, reachable time and retrans timer (RFC 4861 §6.3.4:
    /// 0 means unspecified and changes nothing).
    fn update_parameters<T: AsRef<[u8]> + ?Sized>(&mut self, packet: &NdiscPacket<&T>) {
        let before = (self.cur_hop_limit, self.reachable_time, self.retrans_timer);
        if packet.current_hop_limit() != 0 {
            self.cur_hop_limit = Some(packet.current_hop_limit());
        }
        if packet.reachable_time() != 0 {
            self.reachable_time = Some(Duration::from_millis(u64::from(packet.reachable_time())));
        }
        if packet.retrans_time() != 0 {
            self.retrans_timer = Duration::from_millis(u64::from(packet.retrans_time()));
        }
        if before != (self.cur_hop_limit, self.reachable_time, self.retrans_timer) {
            self.push_event(AddrConfEvent::LinkParameters {
                cur_hop_limit: self.cur_hop_limit,
                reachable_time: self.reachable_time,
                retrans_timer: self.retrans_timer,
            });
        }
    }

    /// The MTU option: kept between 1280 and the link MTU (RFC 4861 §6.3.4).
    fn update_mtu(&mut self, mtu: u32) {
        if !(1280..=self.config.link_mtu).contains(&mtu) {
            self.stats.mtu_out_of_range += 1;
        } else if mtu != self.mtu {
            self.mtu = mtu;
            self.push_event(AddrConfEvent::MtuChanged { mtu });
        }
    }

    /// One prefix information option.
    fn handle_prefix(&mut self, now: Instant, info: &PrefixInfo) {
        if is_link_local(&info.prefix) {
            self.stats.prefix_link_local += 1;
            return;
        }
        if info.preferred_lifetime > info.valid_lifetime {
            self.stats.prefix_bad_lifetimes += 1;
            return;
        }
        if info.on_link {
            self.update_on_link(now, info);
        }
        if info.autonomous && self.config.autoconf {
            self.autoconfigure(now, info);
        }
    }

    /// The on-link prefix list (RFC 4861 §6.3.4).
    fn update_on_link(&mut self, now: Instant, info: &PrefixInfo) {
        let prefix = mask_prefix(info.prefix, info.prefix_len);
        let prefix_len = info.prefix_len;
        let expires = secs(info.valid_lifetime).map(|d| now + d);
        let index = self
            .prefixes
            .iter()
            .position(|p| p.prefix == prefix && p.prefix_len == prefix_len);
        match index {
            Some(index) if info.valid_lifetime == 0 => {
                self.prefixes.remove(index);
                self.push_event(AddrConfEvent::PrefixRemoved { prefix, prefix_len });
            }
            Some(index) => self.prefixes[index].expires = expires,
            None if info.valid_lifetime == 0 => {}
            None if self.prefixes.len() >= self.config.max_prefixes => {
                self.stats.prefix_table_full += 1;
            }
            None => {
                self.prefixes.push(OnLinkPrefix {
                    prefix,
                    prefix_len,
                    expires,
                });
                self.push_event(AddrConfEvent::PrefixAdded { prefix, prefix_len });
            }
        }
    }

    /// SLAAC from an autonomous prefix (RFC 4862 §5.5.3 (d), (e)).
    fn autoconfigure(&mut self, now: Instant, info: &PrefixInfo) {
        let Some(mac) = self.mac else {
            return;
        };
        if info.prefix_len != 64 {
            self.stats.prefix_bad_length += 1;
            return;
        }
        let prefix = mask_prefix(info.prefix, 64);
        let existing = self
            .addresses
            .iter()
            .position(|e| e.origin == AddrOrigin::Slaac && mask_prefix(e.addr, 64) == prefix);
        let received = Lifetimes::from_secs(info.valid_lifetime, info.preferred_lifetime);
        let Some(index) = existing else {
            // (d): a new address, unless the valid lifetime is 0.
            if info.valid_lifetime != 0 {
                let addr = with_interface_id(prefix, eui64_interface_id(mac));
                // An error is a manual address of the same value (kept) or
                // a full table (counted by `insert`).
                let _ = self.insert(now, addr, 64, AddrOrigin::Slaac, received);
            }
            return;
        };
        // (e): the preferred lifetime is reset; the valid lifetime follows
        // the two-hour rule.
        let entry = &mut self.addresses[index];
        let remaining = entry.valid_until.map(|t| t.saturating_duration_since(now));
        let two_hours = Some(TWO_HOURS);
        let valid = if longer(received.valid, two_hours) || longer(received.valid, remaining) {
            received.valid
        } else if !longer(remaining, two_hours) {
            remaining
        } else {
            two_hours
        };
        entry.valid_until = valid.map(|d| now + d);
        entry.preferred_until =
            min_deadline(received.preferred.map(|d| now + d), entry.valid_until);
        let addr = entry.addr;
        if entry.state == Ipv6AddrState::Deprecated
            && entry.preferred_until.map_or(true, |t| t > now)
        {
            entry.state = Ipv6AddrState::Preferred;
            self.push_event(AddrConfEvent::AddressPreferred { addr });
        }
    }
}
