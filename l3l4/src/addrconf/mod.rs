//! IPv6 stateless address autoconfiguration for one Ethernet interface: the
//! address table with duplicate address detection, the link-local address,
//! router solicitation and router advertisement processing (default
//! routers, on-link prefixes, SLAAC addresses and their lifetimes).
//! Sans-I/O: no I/O, no clock, no threads; randomness comes from a seeded
//! xorshift in the [`AddrConfConfig`].
//!
//! Standards:
//! - RFC 4862, "IPv6 Stateless Address Autoconfiguration": link-local
//!   address formation (§5.3), duplicate address detection (§5.4: the random
//!   delay of §5.4.2, `DupAddrDetectTransmits` probes `RetransTimer` apart,
//!   the conflicts of §5.4.3 and §5.4.4, and §5.4.5's "stop autoconfiguration
//!   when the link-local address is a duplicate"), SLAAC from prefix
//!   information options (§5.5.3, with the two-hour rule of (e)), and
//!   address lifetimes (§5.5.4: preferred → deprecated, valid → removed).
//! - RFC 4291 Appendix A: the modified EUI-64 interface identifier formed
//!   from the MAC (`52:54:00:12:34:56` → `5054:ff:fe12:3456`).
//! - RFC 4861: router solicitations (§6.3.7: initial delay,
//!   `MAX_RTR_SOLICITATIONS` solicitations `RTR_SOLICITATION_INTERVAL`
//!   apart, from the unspecified address without a link-layer option while
//!   no link-local address is usable), router advertisement processing
//!   (§6.3.4: default router list, cur hop limit, reachable time, retrans
//!   timer, MTU option, on-link prefixes), router and prefix expiry (§6.3.5).
//! - RFC 7527, "Enhanced Duplicate Address Detection": a nonce in our DAD
//!   probes, so a looped-back copy of our own probe is recognised.
//! - RFC 6724 (a subset, see [`AddrConf::usable_source`]): source address
//!   selection.
//! - RFC 2464 §7: IPv6 multicast onto Ethernet (33:33 and the group's low 32
//!   bits).
//!
//! The one type to use is [`AddrConf`]; its documentation gives the call
//! order. Everything it reports comes back through `poll_*` methods: frames
//! to send ([`AddrConfTransmit`]), [`AddrConfEvent`]s (addresses, routers,
//! prefixes, RA parameters, multicast groups to join or leave), and
//! [`AddrConfStats`] with the drop reasons.
//!
//! # Address states
//!
//! ```text
//!  add_address / enable / RA prefix      DAD: no conflict after the last
//!  (none) ───────────────────► TENTATIVE ─────────────────────────────► PREFERRED
//!                                  │ NS from :: or NA for it              │ preferred
//!                                  ▼ (RFC 4862 §5.4.3, §5.4.4)            ▼ lifetime ends
//!                              DUPLICATE (never used; kept until       DEPRECATED
//!                              removed or its valid lifetime ends)         │ valid lifetime
//!                                                                         ▼ ends
//!                                                                      removed
//! ```
//!
//! TENTATIVE addresses never answer neighbour solicitations and are never a
//! source ([`AddrConf::answers_for`], [`AddrConf::usable_source`]); the
//! neighbour cache (`nd`) asks before it answers.
//!
//! # Looped-back probes
//!
//! A host that sees its own multicast frames looped back must not take its
//! own DAD probe for another node's (RFC 4862 §5.4.3). By default each probe
//! carries a random 6-byte nonce option (RFC 7527 §4.2, Linux's
//! `enhanced_dad`): a received probe with the nonce we sent for that address
//! is our own and is ignored; one with another nonce, or none at all, comes
//! from another node. With [`AddrConfConfig::dad_nonce`] off, RFC 4862
//! Appendix A's counting rule is used instead: probes received for a
//! tentative address are counted, and only those beyond the number we sent
//! mean a duplicate.

mod conf;
mod dad;
mod router;
mod stats;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use self::conf::AddrConf;
pub use self::stats::AddrConfStats;

use core::fmt;
use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, ETHERNET_HEADER_LEN};

use crate::checksum::ChecksumCaps;
use crate::wire::icmpv6::{self, Message};
use crate::wire::ipv6::{self, multicast_mac, HEADER_LEN as IPV6_HEADER_LEN};
use crate::wire::ndisc::{self, NdiscOption};
use crate::wire::IpProtocol;

/// RFC 4861 §10 `MAX_RTR_SOLICITATION_DELAY`: the largest random delay
/// before the first solicitation (and, RFC 4862 §5.4.2, the first DAD
/// probe).
pub const MAX_RTR_SOLICITATION_DELAY: Duration = Duration::from_secs(1);
/// RFC 4861 §10 `RTR_SOLICITATION_INTERVAL`.
pub const RTR_SOLICITATION_INTERVAL: Duration = Duration::from_secs(4);
/// RFC 4861 §10 `MAX_RTR_SOLICITATIONS`.
pub const MAX_RTR_SOLICITATIONS: u8 = 3;
/// RFC 4861 §10 `RETRANS_TIMER`: the default time between DAD probes.
pub const RETRANS_TIMER: Duration = Duration::from_secs(1);
/// The two hours of RFC 4862 §5.5.3 (e): a received valid lifetime cannot
/// cut an address's remaining lifetime below this.
pub const TWO_HOURS: Duration = Duration::from_secs(2 * 60 * 60);

/// Settings of an [`AddrConf`]; [`Default`] gives the RFC and Linux values.
///
/// [`AddrConf::new`] clamps values that would make no sense
/// ([`AddrConfConfig::clamped`]); [`AddrConf::config`] shows those in force.
///
/// # Examples
///
/// ```
/// use strata_l3l4::AddrConfConfig;
///
/// let config = AddrConfConfig { seed: 42, max_addresses: 4, ..AddrConfConfig::default() };
/// assert_eq!(config.dup_addr_detect_transmits, 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrConfConfig {
    /// Most addresses in the table, of every state, the link-local included
    /// (at least 1). Default 16.
    pub max_addresses: usize,
    /// Most entries in the default router list (at least 1). Default 8.
    pub max_routers: usize,
    /// Most entries in the on-link prefix list (at least 1). Default 16.
    pub max_prefixes: usize,
    /// RFC 4862 §5.1 `DupAddrDetectTransmits`: probes per tentative
    /// address; 0 turns DAD off (addresses are PREFERRED at once).
    /// Default 1.
    pub dup_addr_detect_transmits: u8,
    /// RFC 4861 `RetransTimer`: time between DAD probes and after the last
    /// (at least 1 ms). A router advertisement's retrans timer replaces it.
    /// Default 1 s.
    pub retrans_timer: Duration,
    /// The random delay before the first DAD probe and the first router
    /// solicitation is drawn from `[0, max_rtr_solicitation_delay)`
    /// (RFC 4861 §6.3.7, RFC 4862 §5.4.2); zero sends at once. Default 1 s.
    pub max_rtr_solicitation_delay: Duration,
    /// RFC 4861 `MAX_RTR_SOLICITATIONS`; 0 sends none. Default 3.
    pub max_rtr_solicitations: u8,
    /// RFC 4861 `RTR_SOLICITATION_INTERVAL` (at least 1 ms). Default 4 s.
    pub rtr_solicitation_interval: Duration,
    /// Start soliciting routers at [`AddrConf::enable`] (after the random
    /// delay), from `::` while the link-local address is tentative, instead
    /// of when the link-local address's DAD succeeds (Linux's way, the
    /// default: `false`).
    pub solicit_during_dad: bool,
    /// Form addresses from autonomous prefixes (RFC 4862 §5.5.3; Linux
    /// `autoconf`). Default `true`.
    pub autoconf: bool,
    /// Put an RFC 7527 nonce in DAD probes (Linux `enhanced_dad`); see the
    /// module documentation for the looped-back probe rule. Default `true`.
    pub dad_nonce: bool,
    /// The link's largest MTU (RFC 4861 §6.3.4 keeps an MTU option between
    /// 1280 and this); at least 1280. Default 1500.
    pub link_mtu: u32,
    /// Seed of the internal xorshift that draws delays and nonces; any value
    /// (0 is replaced by a fixed non-zero one). Default 0.
    pub seed: u64,
    /// Most frames waiting in [`AddrConf::poll_transmit`]'s outbox (at least
    /// 1); more are dropped and counted. Default 16.
    pub transmit_capacity: usize,
    /// Most events waiting in [`AddrConf::poll_event`]'s queue (at least 1);
    /// the oldest are dropped and counted. Default 64.
    pub event_capacity: usize,
}

impl Default for AddrConfConfig {
    fn default() -> Self {
        AddrConfConfig {
            max_addresses: 16,
            max_routers: 8,
            max_prefixes: 16,
            dup_addr_detect_transmits: 1,
            retrans_timer: RETRANS_TIMER,
            max_rtr_solicitation_delay: MAX_RTR_SOLICITATION_DELAY,
            max_rtr_solicitations: MAX_RTR_SOLICITATIONS,
            rtr_solicitation_interval: RTR_SOLICITATION_INTERVAL,
            solicit_during_dad: false,
            autoconf: true,
            dad_nonce: true,
            link_mtu: 1500,
            seed: 0,
            transmit_capacity: 16,
            event_capacity: 64,
        }
    }
}

impl AddrConfConfig {
    /// The same settings with nonsensical values clamped to the nearest
    /// sensible one (documented on each field).
    pub fn clamped(mut self) -> AddrConfConfig {
        self.max_addresses = self.max_addresses.max(1);
        self.max_routers = self.max_routers.max(1);
        self.max_prefixes = self.max_prefixes.max(1);
        self.retrans_timer = self.retrans_timer.max(Duration::from_millis(1));
        self.rtr_solicitation_interval =
            self.rtr_solicitation_interval.max(Duration::from_millis(1));
        self.link_mtu = self.link_mtu.max(ipv6::MIN_MTU as u32);
        self.transmit_capacity = self.transmit_capacity.max(1);
        self.event_capacity = self.event_capacity.max(1);
        self
    }
}

/// The state of an address in the table (RFC 4862 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ipv6AddrState {
    /// Duplicate address detection runs; not used, answers nothing.
    Tentative,
    /// Unique, and within its preferred lifetime: used freely.
    Preferred,
    /// Past its preferred lifetime, within its valid lifetime: kept for
    /// existing communication, not chosen for new ones (RFC 4862 §5.5.4).
    Deprecated,
    /// DAD found another node using it (RFC 4862 §5.4.5): never used.
    Duplicate,
}

impl fmt::Display for Ipv6AddrState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ipv6AddrState::Tentative => "TENTATIVE",
            Ipv6AddrState::Preferred => "PREFERRED",
            Ipv6AddrState::Deprecated => "DEPRECATED",
            Ipv6AddrState::Duplicate => "DUPLICATE",
        })
    }
}

/// Where an address came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrOrigin {
    /// Formed by [`AddrConf::enable`] from the MAC (RFC 4862 §5.3).
    LinkLocal,
    /// Added by [`AddrConf::add_address`].
    Manual,
    /// Formed from an autonomous prefix of a router advertisement
    /// (RFC 4862 §5.5.3).
    Slaac,
}

/// The lifetimes of an address; `None` is infinite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Lifetimes {
    /// How long the address stays valid (then it is removed).
    pub valid: Option<Duration>,
    /// How long it stays preferred (then it is deprecated); capped at
    /// `valid`.
    pub preferred: Option<Duration>,
}

impl Lifetimes {
    /// Infinite lifetimes (a manual address, as `ip addr add` makes).
    pub const INFINITE: Lifetimes = Lifetimes {
        valid: None,
        preferred: None,
    };

    /// Lifetimes from the seconds of a prefix information option, where
    /// 0xffffffff is infinite (RFC 4861 §4.6.2).
    pub fn from_secs(valid: u32, preferred: u32) -> Lifetimes {
        Lifetimes {
            valid: secs(valid),
            preferred: secs(preferred),
        }
    }
}

/// Seconds of a lifetime field, `None` when infinite (0xffffffff).
pub(crate) fn secs(value: u32) -> Option<Duration> {
    (value != ndisc::INFINITE_LIFETIME).then(|| Duration::from_secs(u64::from(value)))
}

/// One address of the table, as [`AddrConf::addresses`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Ipv6AddrInfo {
    /// The address.
    pub addr: Ipv6Addr,
    /// Its prefix length (64 for link-local and SLAAC addresses).
    pub prefix_len: u8,
    /// Its state.
    pub state: Ipv6AddrState,
    /// Where it came from.
    pub origin: AddrOrigin,
    /// When it stops being valid (`None`: never).
    pub valid_until: Option<strata_l2::Instant>,
    /// When it stops being preferred (`None`: never).
    pub preferred_until: Option<strata_l2::Instant>,
}

/// One default router (RFC 4861 §6.3.4), as [`AddrConf::routers`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DefaultRouter {
    /// The router's link-local address (the RA's source).
    pub addr: Ipv6Addr,
    /// Its link-layer address, from the RA's source link-layer option.
    pub lladdr: Option<EthernetAddress>,
    /// When it stops being a default router.
    pub expires: strata_l2::Instant,
}

/// One on-link prefix (RFC 4861 §6.3.4), as [`AddrConf::prefixes`]
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OnLinkPrefix {
    /// The prefix, bits past `prefix_len` cleared.
    pub prefix: Ipv6Addr,
    /// Its length in bits.
    pub prefix_len: u8,
    /// When it stops being on-link (`None`: never).
    pub expires: Option<strata_l2::Instant>,
}

/// Why an address left the table (in [`AddrConfEvent::AddressRemoved`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrRemovalReason {
    /// Its valid lifetime ended (RFC 4862 §5.5.4).
    Expired,
    /// [`AddrConf::remove_address`] or [`AddrConf::disable`].
    Removed,
}

/// Something the engine, the neighbour cache or MLD must know, from
/// [`AddrConf::poll_event`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrConfEvent {
    /// An address entered the table, TENTATIVE (or PREFERRED at once when
    /// DAD is off).
    AddressAdded {
        /// The address.
        addr: Ipv6Addr,
        /// Its prefix length.
        prefix_len: u8,
        /// Where it came from.
        origin: AddrOrigin,
    },
    /// DAD found no conflict: the address is PREFERRED (or DEPRECATED if its
    /// preferred lifetime ended meanwhile) and may be used.
    DadSucceeded {
        /// The address.
        addr: Ipv6Addr,
    },
    /// Another node uses a tentative address (RFC 4862 §5.4.5): it is
    /// DUPLICATE and never used.
    DuplicateAddressDetected {
        /// The address.
        addr: Ipv6Addr,
        /// Where it came from.
        origin: AddrOrigin,
    },
    /// The MAC-derived link-local address is a duplicate: autoconfiguration
    /// stopped on the interface (RFC 4862 §5.4.5): no more solicitations,
    /// router advertisements ignored. IPv6 should be disabled on it.
    AutoconfDisabled,
    /// An address's preferred lifetime ended (RFC 4862 §5.5.4).
    AddressDeprecated {
        /// The address.
        addr: Ipv6Addr,
    },
    /// A deprecated address became preferred again (a router advertisement
    /// renewed its preferred lifetime).
    AddressPreferred {
        /// The address.
        addr: Ipv6Addr,
    },
    /// An address left the table.
    AddressRemoved {
        /// The address.
        addr: Ipv6Addr,
        /// Why.
        reason: AddrRemovalReason,
    },
    /// A router entered the default router list.
    RouterAdded {
        /// Its link-local address.
        addr: Ipv6Addr,
    },
    /// A router left the default router list (lifetime 0 or expired).
    RouterRemoved {
        /// Its link-local address.
        addr: Ipv6Addr,
    },
    /// A prefix entered the on-link prefix list.
    PrefixAdded {
        /// The prefix.
        prefix: Ipv6Addr,
        /// Its length.
        prefix_len: u8,
    },
    /// A prefix left the on-link prefix list.
    PrefixRemoved {
        /// The prefix.
        prefix: Ipv6Addr,
        /// Its length.
        prefix_len: u8,
    },
    /// A router advertisement changed link parameters (RFC 4861 §6.3.4) for
    /// the neighbour cache and the IPv6 output path to take; the values are
    /// those now in force.
    LinkParameters {
        /// Hop limit for unicast packets sent (`None`: not advertised yet).
        cur_hop_limit: Option<u8>,
        /// `BaseReachableTime` (`None`: not advertised yet).
        reachable_time: Option<Duration>,
        /// `RetransTimer` in force.
        retrans_timer: Duration,
    },
    /// The link MTU changed (an RA's MTU option).
    MtuChanged {
        /// The new MTU.
        mtu: u32,
    },
    /// The interface must listen on this multicast group (all-nodes, or the
    /// solicited-node group of an address, tentative ones included, RFC 4862
    /// §5.4.2): join it, with MLD.
    JoinGroup {
        /// The group.
        group: Ipv6Addr,
    },
    /// No address needs this group any more: leave it.
    LeaveGroup {
        /// The group.
        group: Ipv6Addr,
    },
}

/// Why [`AddrConf::add_address`] or [`AddrConf::enable`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrConfError {
    /// [`AddrConf::enable`] has not been called: there is no MAC to send
    /// from.
    NotEnabled,
    /// The address table holds `max_addresses` addresses.
    TableFull,
    /// The address is already in the table.
    Exists,
    /// Not a unicast address one can assign (unspecified, loopback,
    /// multicast), a prefix length above 128, or a group MAC.
    Invalid,
    /// Not in the table ([`AddrConf::remove_address`]).
    NotFound,
}

impl AddrConfError {
    /// A short name, for logs.
    pub const fn as_str(&self) -> &'static str {
        match self {
            AddrConfError::NotEnabled => "not_enabled",
            AddrConfError::TableFull => "table_full",
            AddrConfError::Exists => "exists",
            AddrConfError::Invalid => "invalid",
            AddrConfError::NotFound => "not_found",
        }
    }
}

impl fmt::Display for AddrConfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for AddrConfError {}

/// The message of an [`AddrConfTransmit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddrConfMessage {
    /// A DAD probe (RFC 4862 §5.4.2): a neighbour solicitation from `::` to
    /// the target's solicited-node group, without a source link-layer
    /// option, with an RFC 7527 nonce option when configured.
    DadProbe {
        /// The tentative address.
        target: Ipv6Addr,
        /// The nonce option's 6 bytes.
        nonce: Option<[u8; 6]>,
    },
    /// A router solicitation (RFC 4861 §6.3.7) to ff02::2; the source
    /// link-layer option only when sent from the link-local address.
    RouterSolicit {
        /// The source link-layer address option.
        lladdr: Option<EthernetAddress>,
    },
}

/// A frame for the caller to send: the Ethernet, IPv6 and ICMPv6 headers of a
/// DAD probe or a router solicitation.
///
/// # Examples
///
/// ```
/// use strata_l2::{EthernetAddress, Instant};
/// use strata_l3l4::{AddrConf, AddrConfConfig, Ipv6Packet, NdiscPacket, NdiscRepr};
/// use strata_l3l4::checksum::ChecksumCaps;
///
/// let config = AddrConfConfig { max_rtr_solicitation_delay: Default::default(),
///                               ..AddrConfConfig::default() };
/// let mut conf = AddrConf::new(config);
/// conf.enable(Instant::ZERO, EthernetAddress::new(0x52, 0x54, 0, 0x12, 0x34, 0x56))?;
/// let probe = conf.poll_transmit(Instant::ZERO).unwrap();
/// let mut frame = [0u8; 128];
/// let len = probe.emit(&mut frame);
/// let ip = Ipv6Packet::new_checked(&frame[14..len])?;
/// let ns = NdiscPacket::new_checked(ip.payload())?;
/// let repr = NdiscRepr::parse(&ns, &ip.src_addr(), &ip.dst_addr(), ip.hop_limit(),
///                             &ChecksumCaps::software())?;
/// assert_eq!(repr, NdiscRepr::NeighborSolicit {
///     target_addr: "fe80::5054:ff:fe12:3456".parse().unwrap(),
///     lladdr: None,
/// });
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddrConfTransmit {
    /// The interface's MAC.
    pub src_mac: EthernetAddress,
    /// The IPv6 source: `::` for DAD probes and early solicitations, the
    /// link-local address otherwise.
    pub src_addr: Ipv6Addr,
    /// The IPv6 destination: a solicited-node group or ff02::2.
    pub dst_addr: Ipv6Addr,
    /// The message.
    pub message: AddrConfMessage,
}

impl AddrConfTransmit {
    /// The Ethernet destination: 33:33 and the group's low 32 bits (RFC 2464
    /// §7).
    pub fn dst_mac(&self) -> EthernetAddress {
        EthernetAddress(multicast_mac(&self.dst_addr))
    }

    /// The neighbour discovery message without the nonce option (which
    /// [`NdiscRepr`](crate::NdiscRepr) does not keep).
    pub fn ndisc_repr(&self) -> ndisc::Repr {
        match self.message {
            AddrConfMessage::DadProbe { target, .. } => ndisc::Repr::NeighborSolicit {
                target_addr: target,
                lladdr: None,
            },
            AddrConfMessage::RouterSolicit { lladdr } => ndisc::Repr::RouterSolicit {
                lladdr: lladdr.map(|mac| mac.0),
            },
        }
    }

    /// The options written after the fixed part.
    fn option(&self) -> Option<NdiscOption<'_>> {
        match &self.message {
            AddrConfMessage::DadProbe { nonce, .. } => {
                nonce.as_ref().map(|nonce| NdiscOption::Nonce(&nonce[..]))
            }
            AddrConfMessage::RouterSolicit { lladdr } => {
                lladdr.map(|mac| NdiscOption::SourceLinkLayerAddr(mac.0))
            }
        }
    }

    /// Length of the ICMPv6 message.
    pub fn icmp_len(&self) -> usize {
        let fixed = match self.message {
            AddrConfMessage::DadProbe { .. } => 24,
            AddrConfMessage::RouterSolicit { .. } => 8,
        };
        fixed + self.option().map_or(0, |o| o.buffer_len())
    }

    /// Length of the whole frame [`emit`](Self::emit) writes.
    pub fn buffer_len(&self) -> usize {
        ETHERNET_HEADER_LEN + IPV6_HEADER_LEN + self.icmp_len()
    }

    /// Writes the whole frame — Ethernet header, IPv6 header with hop limit
    /// 255 (RFC 4861 §6.1), the ICMPv6 message with its checksum computed —
    /// at the start of `buffer` and returns its length,
    /// [`buffer_len`](Self::buffer_len). Returns 0 and writes nothing if
    /// `buffer` is shorter.
    pub fn emit(&self, buffer: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let Some(buffer) = buffer.get_mut(..len) else {
            return 0;
        };
        buffer.fill(0);
        let mut frame = EthernetFrame::new_unchecked(&mut *buffer);
        EthernetRepr {
            src_addr: self.src_mac,
            dst_addr: self.dst_mac(),
            ethertype: EtherType::Ipv6,
        }
        .emit(&mut frame);
        let ip_repr = ipv6::Repr {
            src_addr: self.src_addr,
            dst_addr: self.dst_addr,
            next_header: IpProtocol::Icmpv6,
            payload_len: self.icmp_len(),
            hop_limit: ndisc::HOP_LIMIT,
            traffic_class: 0,
            flow_label: 0,
        };
        let ip_bytes = &mut buffer[ETHERNET_HEADER_LEN..];
        let mut ip = ipv6::Packet::new_unchecked(&mut *ip_bytes);
        if ip_repr.emit(&mut ip).is_err() {
            return 0;
        }
        let icmp = &mut ip_bytes[IPV6_HEADER_LEN..];
        let mut message = ndisc::Packet::new_unchecked(&mut *icmp);
        let fixed = match self.message {
            AddrConfMessage::DadProbe { target, .. } => {
                message.set_msg_type(Message::NeighborSolicit);
                message.set_target_addr(target);
                24
            }
            AddrConfMessage::RouterSolicit { .. } => {
                message.set_msg_type(Message::RouterSolicit);
                8
            }
        };
        if let Some(option) = self.option() {
            if option.emit(&mut icmp[fixed..]).is_err() {
                return 0;
            }
        }
        icmpv6::Packet::new_unchecked(icmp).finish_checksum(
            &self.src_addr,
            &self.dst_addr,
            &ChecksumCaps::software(),
        );
        len
    }
}

/// The modified EUI-64 interface identifier of a MAC (RFC 4291 Appendix A,
/// RFC 2464 §4): ff:fe in the middle, the universal/local bit inverted.
pub fn eui64_interface_id(mac: EthernetAddress) -> [u8; 8] {
    let m = mac.0;
    [m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]
}

/// The link-local address of a MAC: fe80::/64 and its modified EUI-64
/// identifier (RFC 4862 §5.3).
///
/// ```
/// use strata_l2::EthernetAddress;
/// use strata_l3l4::addrconf::link_local_from_mac;
///
/// let mac = EthernetAddress::new(0x52, 0x54, 0x00, 0x12, 0x34, 0x56);
/// assert_eq!(link_local_from_mac(mac), "fe80::5054:ff:fe12:3456".parse::<std::net::Ipv6Addr>().unwrap());
/// ```
pub fn link_local_from_mac(mac: EthernetAddress) -> Ipv6Addr {
    with_interface_id(
        Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0),
        eui64_interface_id(mac),
    )
}

/// The first 64 bits of `prefix` followed by `iid`.
pub fn with_interface_id(prefix: Ipv6Addr, iid: [u8; 8]) -> Ipv6Addr {
    let mut octets = prefix.octets();
    octets[8..].copy_from_slice(&iid);
    Ipv6Addr::from(octets)
}

/// `addr` with the bits past `len` cleared.
pub fn mask_prefix(addr: Ipv6Addr, len: u8) -> Ipv6Addr {
    let len = u32::from(len.min(128));
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    Ipv6Addr::from(u128::from(addr) & mask)
}

/// How many leading bits `a` and `b` share (RFC 6724 §2.2 `CommonPrefixLen`).
pub(crate) fn common_prefix_len(a: Ipv6Addr, b: Ipv6Addr) -> u32 {
    (u128::from(a) ^ u128::from(b)).leading_zeros()
}
