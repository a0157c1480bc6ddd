//! The address rules of the receive path: whether a packet that parsed may be accepted
//! from the wire at all, and who it is for (us, our broadcast, a group we joined, or
//! someone we may forward to); and the TTL and hop-limit rules of forwarding.
//!
//! IPv4, after RFC 1122 §3.2.1.3 and RFC 1812 §5.3.7 (and Linux's "martian" checks in
//! `ip_route_input_slow`):
//! - no packet is accepted from a source that is a broadcast (limited or one of our
//!   subnets'), multicast, loopback (127/8) or class E (240/4) address, nor from one of
//!   our own addresses (someone else is using it, or our packet came back);
//! - the unspecified source 0.0.0.0 is accepted only towards the limited broadcast
//!   address (a DHCP client before it has an address);
//! - a packet to 0.0.0.0 or to a loopback address is refused.
//!
//! IPv6, after RFC 4291 §2.5.2, §2.5.3 and §2.7 (and Linux's `ipv6_rcv`):
//! - no packet is accepted from a multicast source, from the loopback address `::1`, or
//!   from an IPv4-mapped address (`::ffff:0:0/96`, RFC 4038 §5.1), nor from one of our
//!   own addresses;
//! - a packet to `::`, to `::1`, to an interface-local (`ff01::/16`) or scope-0
//!   multicast group is refused;
//! - the unspecified source `::` is accepted: duplicate address detection and MLD
//!   reports use it, and their own validation rules (RFC 4861 §7.1.1, RFC 3810 §5) say
//!   where it may appear.
//!
//! TTL (RFC 1122 §3.2.1.7, RFC 1812 §5.3.1): a host never drops a packet for local
//! delivery because of its TTL or hop limit, whatever the value; only forwarding
//! decrements it, and a packet that would leave with 0 is dropped and answered with a
//! time exceeded (code 0) — [`forward_ipv4`] and [`forward_ipv6`].

use core::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::{ipv4, ipv6};

/// What an interface owns, for deciding who an IPv4 packet is for.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Local<'a> {
    /// The interface's addresses and their prefix lengths.
    pub addrs: &'a [(Ipv4Addr, u8)],
    /// Multicast groups joined; 224.0.0.1 (all hosts) is always a member (RFC 1112 §4).
    pub groups: &'a [Ipv4Addr],
    /// Whether packets for other hosts may be forwarded.
    pub forwarding: bool,
}

/// Who an accepted IPv4 packet is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv4Delivery {
    /// One of our addresses.
    Local,
    /// The limited broadcast address or the broadcast address of one of our subnets.
    Broadcast,
    /// A multicast group we joined.
    Multicast,
    /// Another host: forward it (forwarding is on).
    Forward,
}

/// Who an accepted IPv6 packet is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6Delivery {
    /// One of our usable addresses.
    Local,
    /// One of our tentative addresses: only neighbour solicitations may be processed,
    /// everything else is dropped silently (RFC 4862 §5.4).
    Tentative,
    /// A multicast group we listen to.
    Multicast,
    /// Another host: forward it (forwarding is on).
    Forward,
}

/// What an interface owns, for deciding who an IPv6 packet is for.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Local<'a> {
    /// Usable (preferred or deprecated) addresses.
    pub addrs: &'a [Ipv6Addr],
    /// Addresses still under duplicate address detection.
    pub tentative: &'a [Ipv6Addr],
    /// Multicast groups listened to; ff02::1 (all nodes) is always a member.
    pub groups: &'a [Ipv6Addr],
    /// Whether packets for other hosts may be forwarded.
    pub forwarding: bool,
}

/// Why a packet was refused by the address rules: its drop reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrDrop {
    /// The source is a broadcast address.
    SrcBroadcast,
    /// The source is a multicast address.
    SrcMulticast,
    /// The source is a loopback address.
    SrcLoopback,
    /// The source is unspecified where that is not allowed.
    SrcUnspecified,
    /// The source is a reserved address (IPv4 class E, IPv4-mapped IPv6).
    SrcReserved,
    /// The source is one of our own addresses.
    SrcOurs,
    /// The destination is unspecified.
    DstUnspecified,
    /// The destination is a loopback address.
    DstLoopback,
    /// The destination is a multicast group whose scope never reaches the wire
    /// (IPv6 interface-local or reserved scope 0).
    DstScope,
    /// The destination is a group we are not a member of.
    NotMember,
    /// The destination is another host's and forwarding is off.
    NotOurs,
}

impl AddrDrop {
    /// Every reason, for registering counters.
    pub const ALL: [AddrDrop; 11] = [
        AddrDrop::SrcBroadcast,
        AddrDrop::SrcMulticast,
        AddrDrop::SrcLoopback,
        AddrDrop::SrcUnspecified,
        AddrDrop::SrcReserved,
        AddrDrop::SrcOurs,
        AddrDrop::DstUnspecified,
        AddrDrop::DstLoopback,
        AddrDrop::DstScope,
        AddrDrop::NotMember,
        AddrDrop::NotOurs,
    ];

    /// The reason's label in metrics and the stats JSON.
    pub const fn as_str(self) -> &'static str {
        match self {
            AddrDrop::SrcBroadcast => "src_broadcast",
            AddrDrop::SrcMulticast => "src_multicast",
            AddrDrop::SrcLoopback => "src_loopback",
            AddrDrop::SrcUnspecified => "src_unspecified",
            AddrDrop::SrcReserved => "src_reserved",
            AddrDrop::SrcOurs => "src_ours",
            AddrDrop::DstUnspecified => "dst_unspecified",
            AddrDrop::DstLoopback => "dst_loopback",
            AddrDrop::DstScope => "dst_scope",
            AddrDrop::NotMember => "not_member",
            AddrDrop::NotOurs => "not_ours",
        }
    }
}

impl fmt::Display for AddrDrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Applies the IPv4 address rules of the module documentation to a packet from `src`
/// to `dst` received on an interface that owns `local`.
///
/// # Errors
///
/// The [`AddrDrop`] to count.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::ingress::{accept_ipv4, AddrDrop, Ipv4Delivery, Ipv4Local};
///
/// let local = Ipv4Local { addrs: &[(Ipv4Addr::new(10, 9, 0, 2), 24)], groups: &[], forwarding: false };
/// let peer = Ipv4Addr::new(10, 9, 0, 1);
/// assert_eq!(accept_ipv4(peer, Ipv4Addr::new(10, 9, 0, 2), &local), Ok(Ipv4Delivery::Local));
/// assert_eq!(accept_ipv4(peer, Ipv4Addr::new(10, 9, 0, 255), &local), Ok(Ipv4Delivery::Broadcast));
/// assert_eq!(accept_ipv4(Ipv4Addr::new(10, 9, 0, 255), Ipv4Addr::new(10, 9, 0, 2), &local), Err(AddrDrop::SrcBroadcast));
/// assert_eq!(accept_ipv4(peer, Ipv4Addr::new(10, 9, 0, 7), &local), Err(AddrDrop::NotOurs));
/// ```
#[inline]
pub fn accept_ipv4(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    local: &Ipv4Local<'_>,
) -> Result<Ipv4Delivery, AddrDrop> {
    // One pass over the interface's addresses; the rest is arithmetic on the
    // 32-bit values (this runs for every received packet).
    let (s, d) = (u32::from(src), u32::from(dst));
    let (mut src_ours, mut src_bcast, mut dst_ours, mut dst_bcast) = (false, false, false, false);
    for &(addr, len) in local.addrs {
        let addr = u32::from(addr);
        src_ours |= addr == s;
        dst_ours |= addr == d;
        if len <= 30 {
            let broadcast = addr | u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
            src_bcast |= broadcast == s;
            dst_bcast |= broadcast == d;
        }
    }
    let src_top = s >> 24;
    if (224..240).contains(&src_top) {
        return Err(AddrDrop::SrcMulticast);
    }
    if src_top == 127 {
        return Err(AddrDrop::SrcLoopback);
    }
    if s == u32::MAX || src_bcast {
        return Err(AddrDrop::SrcBroadcast);
    }
    if src_top >= 240 {
        return Err(AddrDrop::SrcReserved);
    }
    if s == 0 && d != u32::MAX {
        return Err(AddrDrop::SrcUnspecified);
    }
    if src_ours {
        return Err(AddrDrop::SrcOurs);
    }
    if d == 0 {
        return Err(AddrDrop::DstUnspecified);
    }
    if d >> 24 == 127 {
        return Err(AddrDrop::DstLoopback);
    }
    if dst_ours {
        return Ok(Ipv4Delivery::Local);
    }
    if d == u32::MAX || dst_bcast {
        return Ok(Ipv4Delivery::Broadcast);
    }
    if dst.is_multicast() {
        let all_hosts = Ipv4Addr::new(224, 0, 0, 1);
        return if dst == all_hosts || local.groups.contains(&dst) {
            Ok(Ipv4Delivery::Multicast)
        } else {
            Err(AddrDrop::NotMember)
        };
    }
    if local.forwarding {
        Ok(Ipv4Delivery::Forward)
    } else {
        Err(AddrDrop::NotOurs)
    }
}

/// [`accept_ipv4`]'s `Ok(Ipv4Delivery::Local)` verdict for an interface with a
/// single IPv4 address, reduced to five compares of 32-bit values: the receive
/// path's fast lane asks it per packet instead of walking the address list.
/// It answers `true` exactly when [`accept_ipv4`] would deliver the packet
/// locally (a property test checks it), and `false` for everything else,
/// which the full rules then judge and name.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::ingress::Ipv4UnicastRule;
/// let rule = Ipv4UnicastRule::new(&[(Ipv4Addr::new(10, 9, 0, 2), 24)]).unwrap();
/// let (peer, us) = (u32::from(Ipv4Addr::new(10, 9, 0, 1)), u32::from(Ipv4Addr::new(10, 9, 0, 2)));
/// assert!(rule.accepts(peer, us));
/// assert!(!rule.accepts(u32::from(Ipv4Addr::new(10, 9, 0, 255)), us)); // from our broadcast
/// assert!(!rule.accepts(peer, peer)); // not ours
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4UnicastRule {
    addr: u32,
    /// The subnet's broadcast address, or `addr` again when the prefix has
    /// none (/31, /32): a source equal to `addr` is refused anyway.
    broadcast: u32,
}

impl Ipv4UnicastRule {
    /// The rule for an interface owning exactly `addrs`; `None` unless that is
    /// one address that can be a unicast destination at all (not 0.0.0.0,
    /// loopback, multicast or class E).
    pub fn new(addrs: &[(Ipv4Addr, u8)]) -> Option<Ipv4UnicastRule> {
        let &[(addr, len)] = addrs else {
            return None;
        };
        let addr = u32::from(addr);
        let top = addr >> 24;
        if addr == 0 || top == 127 || top >= 224 {
            return None;
        }
        let broadcast = if len <= 30 {
            addr | u32::MAX.checked_shr(u32::from(len)).unwrap_or(0)
        } else {
            addr
        };
        Some(Ipv4UnicastRule { addr, broadcast })
    }

    /// Whether a packet from `src` to `dst` (host-order values of the
    /// addresses) is for this interface's address and from an acceptable
    /// source.
    #[inline(always)]
    pub fn accepts(&self, src: u32, dst: u32) -> bool {
        let top = src >> 24;
        // Sources refused: 0.0.0.0 (towards a unicast address), loopback,
        // multicast, class E and 255.255.255.255 (top >= 224), ours, our
        // subnet's broadcast.
        (dst == self.addr)
            & (src != 0)
            & (top < 224)
            & (top != 127)
            & (src != self.addr)
            & (src != self.broadcast)
    }
}

/// Whether an IPv6 address is IPv4-mapped (`::ffff:0:0/96`).
fn is_v4_mapped(addr: &Ipv6Addr) -> bool {
    matches!(addr.segments(), [0, 0, 0, 0, 0, 0xffff, _, _])
}

/// Applies the IPv6 address rules of the module documentation to a packet from `src`
/// to `dst` received on an interface that owns `local`.
///
/// # Errors
///
/// The [`AddrDrop`] to count.
pub fn accept_ipv6(
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
    local: &Ipv6Local<'_>,
) -> Result<Ipv6Delivery, AddrDrop> {
    if src.is_multicast() {
        return Err(AddrDrop::SrcMulticast);
    }
    if src.is_loopback() {
        return Err(AddrDrop::SrcLoopback);
    }
    if is_v4_mapped(src) {
        return Err(AddrDrop::SrcReserved);
    }
    if !src.is_unspecified() && local.addrs.contains(src) {
        return Err(AddrDrop::SrcOurs);
    }
    if dst.is_unspecified() {
        return Err(AddrDrop::DstUnspecified);
    }
    if dst.is_loopback() {
        return Err(AddrDrop::DstLoopback);
    }
    if dst.is_multicast() {
        let scope = dst.octets()[1] & 0x0f;
        if scope <= 1 {
            return Err(AddrDrop::DstScope);
        }
        let all_nodes = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
        return if *dst == all_nodes || local.groups.contains(dst) {
            Ok(Ipv6Delivery::Multicast)
        } else {
            Err(AddrDrop::NotMember)
        };
    }
    if local.addrs.contains(dst) {
        return Ok(Ipv6Delivery::Local);
    }
    if local.tentative.contains(dst) {
        return Ok(Ipv6Delivery::Tentative);
    }
    if local.forwarding {
        Ok(Ipv6Delivery::Forward)
    } else {
        Err(AddrDrop::NotOurs)
    }
}

/// A packet's TTL or hop limit ran out while forwarding: drop it and answer with a
/// time exceeded message, code 0 ("exceeded in transit").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TtlExpired;

impl fmt::Display for TtlExpired {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("time to live exceeded in transit")
    }
}

impl std::error::Error for TtlExpired {}

/// Prepares an IPv4 packet to be forwarded (RFC 1812 §5.3.1): decrements the TTL and
/// updates the header checksum incrementally (RFC 1624), leaving the packet unchanged
/// if the TTL would reach 0.
///
/// # Errors
///
/// [`TtlExpired`] when the TTL is 0 or 1.
///
/// # Examples
///
/// ```
/// use strata_l3l4::ingress::{forward_ipv4, TtlExpired};
/// use strata_l3l4::Ipv4Packet;
///
/// let mut bytes = [
///     0x45, 0x00, 0x00, 0x14, 0x00, 0x00, 0x40, 0x00, 0x02, 0x11, 0x00, 0x00, 10, 9, 0, 1,
///     10, 9, 1, 2,
/// ];
/// let mut packet = Ipv4Packet::new_checked(&mut bytes[..]).unwrap();
/// packet.fill_checksum();
/// assert_eq!(forward_ipv4(&mut packet), Ok(()));
/// assert_eq!(packet.ttl(), 1);
/// assert!(packet.verify_checksum());
/// assert_eq!(forward_ipv4(&mut packet), Err(TtlExpired));
/// assert_eq!(packet.ttl(), 1);
/// ```
pub fn forward_ipv4<T: AsRef<[u8]> + AsMut<[u8]>>(
    packet: &mut ipv4::Packet<T>,
) -> Result<(), TtlExpired> {
    let ttl = packet.ttl();
    if ttl <= 1 {
        return Err(TtlExpired);
    }
    packet.update_ttl(ttl - 1);
    Ok(())
}

/// Prepares an IPv6 packet to be forwarded (RFC 8200 §3): decrements the hop limit,
/// leaving the packet unchanged if it would reach 0.
///
/// # Errors
///
/// [`TtlExpired`] when the hop limit is 0 or 1.
pub fn forward_ipv6<T: AsRef<[u8]> + AsMut<[u8]>>(
    packet: &mut ipv6::Packet<T>,
) -> Result<(), TtlExpired> {
    let hop_limit = packet.hop_limit();
    if hop_limit <= 1 {
        return Err(TtlExpired);
    }
    packet.set_hop_limit(hop_limit - 1);
    Ok(())
}

#[cfg(test)]
mod tests;
