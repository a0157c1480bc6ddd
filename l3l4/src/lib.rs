//! Strata's core protocols, after the Zephyr network stack's "core protocols" layer:
//! IPv4, IPv6, ICMPv4, ICMPv6 (with neighbour discovery and MLDv2) and UDP wire formats
//! and the internet checksum, sans-I/O (no I/O, no clock, no threads, no allocation
//! while parsing).
//!
//! # Map
//!
//! - [`checksum`]: the internet checksum (RFC 1071) with a wide, 8-bytes-at-a-time sum
//!   and a byte-wise reference; partial sums over buffer chains; IPv4/IPv6
//!   pseudo-headers; incremental update (RFC 1624); [`ChecksumCaps`], what a device
//!   offloads.
//! - [`frame`]: where every header of a received Ethernet frame sits, found in one
//!   pass, with or without checksum validation ([`frame::FrameHeaders`]), and the
//!   flow it belongs to;
//! - [`ingress`]: the receive path's address rules (martian sources and destinations,
//!   who a packet is for) and the TTL and hop-limit rules of forwarding;
//! - [`udp_demux`]: which bound UDP socket a datagram belongs to (exact address, then wildcard); none means port unreachable;
//! - [`route`]: routing tables with longest-prefix match and a default route, IPv4 and IPv6;
//! - [`icmp`]: when an ICMP error may be sent (RFC 1122, RFC 1812, RFC 4443 §2.4), how much
//!   it quotes, and a token bucket that rate-limits errors;
//! - [`multicast`]: the host side of MLDv2 (RFC 3810): joined IPv6 multicast groups,
//!   state-change and current-state reports, answers to queries: [`MldListener`];
//! - [`addrconf`]: IPv6 stateless address autoconfiguration of one interface (RFC 4862):
//!   the address table with duplicate address detection, the link-local address, router
//!   solicitation and advertisement, SLAAC addresses and their lifetimes: [`AddrConf`];
//! - [`nd`]: the IPv6 neighbour cache (RFC 4861 §7): address resolution, neighbour
//!   unreachability detection, answers to solicitations: [`NdCache`];
//! - [`frag`]: fragmentation on send and a bounded, sans-I/O reassembler for IPv4
//!   (RFC 791, RFC 815) and IPv6 (RFC 8200 §4.5), dropping overlaps (RFC 5722):
//!   [`Reassembler`], [`ReassemblyConfig`], [`FragKey`], [`FragDrop`];
//! - [`wire`]: one file per protocol, each a zero-copy `Packet` view beside a `Copy`
//!   `Repr`:
//!   - [`wire::ipv4`]: IPv4 headers with options and fragments (RFC 791, RFC 1122),
//!     drop classes after Zephyr's `net_stats` ([`Ipv4DropReason`]);
//!   - [`wire::udp`]: UDP (RFC 768) and its zero-checksum rules over IPv4 and IPv6;
//!   - [`wire::tcp`]: TCP headers and options (RFC 9293, RFC 7323, RFC 2018);
//!   - [`wire::icmpv4`]: ICMPv4 echo and error messages (RFC 792);
//!   - [`wire::ipv6`]: the IPv6 fixed header and address helpers (RFC 8200, RFC 4291);
//!   - [`wire::ipv6ext`]: the extension header walk, bounded, with options and the
//!     parameter problems it calls for (RFC 8200 §4);
//!   - [`wire::ipv6frag`]: the IPv6 fragment header (RFC 8200 §4.5);
//!   - [`wire::icmpv6`]: ICMPv6 echo and error messages (RFC 4443);
//!   - [`wire::ndisc`]: neighbour discovery messages, options and validity rules
//!     (RFC 4861, RFC 4862);
//!   - [`wire::mld`]: MLDv2 reports and MLDv1/MLDv2 queries (RFC 3810, RFC 2710).
//!
//! The names are flat at the crate root (`Ipv4Packet`, `Ipv4Repr`, `UdpPacket`, …), as
//! in smoltcp.
//!
//! # Example
//!
//! Parse a received IPv4/UDP datagram, validating both checksums:
//!
//! ```
//! use strata_l3l4::{ChecksumCaps, IpPair, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr};
//!
//! # let frame: [u8; 31] = [
//! #     0x45, 0x00, 0x00, 0x1f, 0xfa, 0x23, 0x40, 0x00, 0x40, 0x11, 0x2c, 0x96, 0x0a, 0x09,
//! #     0x00, 0x01, 0x0a, 0x09, 0x00, 0x02, 0x9c, 0x40, 0x00, 0x35, 0x00, 0x0b, 0x8a, 0xeb,
//! #     0x61, 0x62, 0x63,
//! # ];
//! let caps = ChecksumCaps::software();
//! let ip = Ipv4Packet::new_checked(&frame[..])?;
//! let ip_repr = Ipv4Repr::parse(&ip, &caps)?;
//! assert_eq!(ip_repr.protocol, IpProtocol::Udp);
//! let udp = UdpPacket::new_checked(ip.payload())?;
//! let pair = IpPair::v4(ip_repr.src_addr, ip_repr.dst_addr);
//! let udp_repr = UdpRepr::parse(&udp, &pair, &caps)?;
//! assert_eq!((udp_repr.dst_port, udp.payload()), (53, &b"abc"[..]));
//! # Ok::<(), strata_l3l4::wire::Error>(())
//! ```
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod addrconf;
pub mod checksum;
pub mod frag;
pub mod frame;
pub mod icmp;
pub mod ingress;
pub mod multicast;
pub mod nd;
pub mod route;
pub mod udp_demux;
pub mod wire;

pub use addrconf::{
    AddrConf, AddrConfConfig, AddrConfError, AddrConfEvent, AddrConfMessage, AddrConfStats,
    AddrConfTransmit, AddrOrigin, AddrRemovalReason, DefaultRouter, Ipv6AddrInfo, Ipv6AddrState,
    Lifetimes as AddrLifetimes, OnLinkPrefix,
};
pub use checksum::{Checksum, ChecksumCaps};
pub use frag::{
    Config as ReassemblyConfig, Expired as FragExpired, FragDrop, FragDropStats, FragmentError,
    FragmentSpec, Fragments, Ipv4Reassembler, Ipv6Reassembler, Key as FragKey, Reassembled,
    Reassembler, ReassemblyStats,
};
pub use multicast::{
    MldConfig, MldError, MldListener, MldStats, MldTransmit, ReportKind as MldReportKind,
};
pub use nd::{
    NdCache, NdConfig, NdDropReason, NdEvent, NdNeighbour, NdRemovalReason, NdResolve, NdState,
    NdStats, NdTransmit, NdTransmitKind,
};
pub use wire::icmpv4::{
    DstUnreachable as Icmpv4DstUnreachable, Message as Icmpv4Message, Packet as Icmpv4Packet,
    ParamProblem as Icmpv4ParamProblem, Repr as Icmpv4Repr, TimeExceeded as Icmpv4TimeExceeded,
};
pub use wire::icmpv6::{
    DstUnreachable as Icmpv6DstUnreachable, Message as Icmpv6Message, Packet as Icmpv6Packet,
    ParamProblem as Icmpv6ParamProblem, Repr as Icmpv6Repr, TimeExceeded as Icmpv6TimeExceeded,
};
pub use wire::ipv4::{DropReason as Ipv4DropReason, Packet as Ipv4Packet, Repr as Ipv4Repr};
pub use wire::ipv6::{Packet as Ipv6Packet, Repr as Ipv6Repr};
pub use wire::ipv6ext::{
    Chain as Ipv6Chain, ChainError as Ipv6ChainError, ChainLimits as Ipv6ChainLimits,
    Header as Ipv6ExtHeader, OptionsRepr as Ipv6OptionsRepr,
};
pub use wire::ipv6frag::{Header as Ipv6FragHeader, Repr as Ipv6FragRepr};
pub use wire::mld::{
    Packet as MldPacket, Query as MldQuery, QueryRepr as MldQueryRepr,
    QueryVersion as MldQueryVersion, RecordRepr as MldRecordRepr, RecordType as MldRecordType,
    ReportRepr as MldReportRepr,
};
pub use wire::ndisc::{
    NdiscOption, NdiscOptions, NeighborFlags, Packet as NdiscPacket, PrefixInfo as NdiscPrefixInfo,
    Repr as NdiscRepr, RouterFlags,
};
pub use wire::tcp::{
    Flags as TcpFlags, OptionIter as TcpOptionIter, Packet as TcpPacket, Repr as TcpRepr, TcpOption,
};
pub use wire::udp::{Packet as UdpPacket, Repr as UdpRepr};
pub use wire::{Error, IpPair, IpProtocol, Result};
