//! Neighbour discovery messages: RFC 4861 (router and neighbour solicitations and
//! advertisements, redirects, their options and the validity rules of §6.1 and §7.1),
//! RFC 4862 (the prefix information that SLAAC reads: autonomous flag and lifetimes),
//! RFC 7527 (the nonce option of enhanced duplicate address detection).
//!
//! [`Packet`] is a view of an ICMPv6 message of one of the five neighbour discovery
//! types; [`NdiscOptions`] iterates its options, bounded by the buffer. [`validate`]
//! applies RFC 4861's receive rules, given the IPv6 hop limit and addresses; [`Repr`]
//! parses and emits the messages with the options a host uses. The link layer is
//! Ethernet: link-layer address options hold 6-byte MACs.

use std::net::Ipv6Addr;

use super::icmpv6::{self, Message};
use super::ipv6::{is_link_local, is_solicited_node};
use super::{enum_with_unknown, write_u16, Error, Result};
use crate::checksum::ChecksumCaps;

mod field {
    use crate::wire::Field;

    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const RESERVED: Field = 4..8;
    pub const CUR_HOP_LIMIT: usize = 4;
    pub const ROUTER_FLAGS: usize = 5;
    pub const ROUTER_LIFETIME: Field = 6..8;
    pub const REACHABLE_TIME: Field = 8..12;
    pub const RETRANS_TIME: Field = 12..16;
    pub const NEIGHBOR_FLAGS: usize = 4;
    pub const TARGET_ADDR: Field = 8..24;
    pub const DEST_ADDR: Field = 24..40;
}

/// The hop limit every neighbour discovery message is sent with, and must arrive with
/// (RFC 4861 §6.1, §7.1): a message that crossed a router is refused.
pub const HOP_LIMIT: u8 = 255;
/// An infinite lifetime in a prefix information option.
pub const INFINITE_LIFETIME: u32 = 0xffff_ffff;

/// A 6-byte Ethernet address.
pub type EthernetAddr = [u8; 6];

const ROUTER_FLAG_MANAGED: u8 = 0x80;
const ROUTER_FLAG_OTHER: u8 = 0x40;
const NEIGHBOR_FLAG_ROUTER: u8 = 0x80;
const NEIGHBOR_FLAG_SOLICITED: u8 = 0x40;
const NEIGHBOR_FLAG_OVERRIDE: u8 = 0x20;
const PREFIX_FLAG_ON_LINK: u8 = 0x80;
const PREFIX_FLAG_AUTONOMOUS: u8 = 0x40;

/// Length of the fixed part of a message of `message`'s type (ICMPv6 header included),
/// where its options start; `None` for a type that is not neighbour discovery.
pub const fn fixed_len(message: Message) -> Option<usize> {
    match message {
        Message::RouterSolicit => Some(8),
        Message::RouterAdvert => Some(16),
        Message::NeighborSolicit | Message::NeighborAdvert => Some(24),
        Message::Redirect => Some(40),
        _ => None,
    }
}

/// The M and O flags of a router advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RouterFlags {
    /// Managed address configuration: addresses come from DHCPv6.
    pub managed: bool,
    /// Other configuration: other information comes from DHCPv6.
    pub other: bool,
}

/// The R, S and O flags of a neighbour advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct NeighborFlags {
    /// The sender is a router.
    pub router: bool,
    /// Sent in answer to a solicitation.
    pub solicited: bool,
    /// Override an existing cache entry.
    pub override_: bool,
}

enum_with_unknown! {
    /// A neighbour discovery option type (RFC 4861 §4.6, RFC 7527).
    pub enum OptionKind(u8) {
        /// Source link-layer address.
        SourceLinkLayerAddr = 1,
        /// Target link-layer address.
        TargetLinkLayerAddr = 2,
        /// Prefix information.
        PrefixInformation = 3,
        /// Redirected header.
        RedirectedHeader = 4,
        /// MTU.
        Mtu = 5,
        /// Nonce (RFC 7527).
        Nonce = 14,
    }
}

/// The prefix information option (RFC 4861 §4.6.2): on-link determination and, with
/// the autonomous flag, SLAAC (RFC 4862 §5.5.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PrefixInfo {
    /// Prefix length in bits, at most 128.
    pub prefix_len: u8,
    /// L: the prefix is on-link.
    pub on_link: bool,
    /// A: the prefix may be used for stateless address autoconfiguration.
    pub autonomous: bool,
    /// Valid lifetime in seconds ([`INFINITE_LIFETIME`] for ever).
    pub valid_lifetime: u32,
    /// Preferred lifetime in seconds ([`INFINITE_LIFETIME`] for ever).
    pub preferred_lifetime: u32,
    /// The prefix; bits past `prefix_len` are ignored by receivers.
    pub prefix: Ipv6Addr,
}

/// One neighbour discovery option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NdiscOption<'a> {
    /// The sender's link-layer address.
    SourceLinkLayerAddr(EthernetAddr),
    /// The target's link-layer address.
    TargetLinkLayerAddr(EthernetAddr),
    /// Prefix information.
    PrefixInformation(PrefixInfo),
    /// The start of the redirected packet (after the option's 6 reserved bytes).
    RedirectedHeader(&'a [u8]),
    /// The link MTU.
    Mtu(u32),
    /// A duplicate-address-detection nonce (RFC 7527).
    Nonce(&'a [u8]),
    /// An option of another type, with its data (ignored by receivers, §4.6).
    Unknown {
        /// The option type.
        kind: u8,
        /// The bytes after type and length.
        data: &'a [u8],
    },
}

impl NdiscOption<'_> {
    /// Length of the option on the wire: a multiple of 8.
    pub fn buffer_len(&self) -> usize {
        match self {
            NdiscOption::SourceLinkLayerAddr(_)
            | NdiscOption::TargetLinkLayerAddr(_)
            | NdiscOption::Mtu(_) => 8,
            NdiscOption::PrefixInformation(_) => 32,
            NdiscOption::RedirectedHeader(data) => (data.len() + 8).next_multiple_of(8),
            NdiscOption::Nonce(data) | NdiscOption::Unknown { data, .. } => {
                (data.len() + 2).next_multiple_of(8)
            }
        }
    }

    /// Writes the option at the start of `buf`, padding with zeros to a multiple of 8
    /// bytes, and returns its length.
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if `buf` is shorter than [`NdiscOption::buffer_len`],
    /// [`Error::Length`] if the option exceeds 2040 bytes.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let len = self.buffer_len();
        if len > 255 * 8 {
            return Err(Error::Length);
        }
        let out = buf.get_mut(..len).ok_or(Error::Truncated)?;
        out.fill(0);
        out[1] = (len / 8) as u8;
        out[0] = match *self {
            NdiscOption::SourceLinkLayerAddr(mac) => {
                out[2..8].copy_from_slice(&mac);
                1
            }
            NdiscOption::TargetLinkLayerAddr(mac) => {
                out[2..8].copy_from_slice(&mac);
                2
            }
            NdiscOption::PrefixInformation(info) => {
                out[2] = info.prefix_len;
                out[3] = if info.on_link { PREFIX_FLAG_ON_LINK } else { 0 }
                    | if info.autonomous {
                        PREFIX_FLAG_AUTONOMOUS
                    } else {
                        0
                    };
                out[4..8].copy_from_slice(&info.valid_lifetime.to_be_bytes());
                out[8..12].copy_from_slice(&info.preferred_lifetime.to_be_bytes());
                out[16..32].copy_from_slice(&info.prefix.octets());
                3
            }
            NdiscOption::RedirectedHeader(data) => {
                out[8..8 + data.len()].copy_from_slice(data);
                4
            }
            NdiscOption::Mtu(mtu) => {
                out[4..8].copy_from_slice(&mtu.to_be_bytes());
                5
            }
            NdiscOption::Nonce(data) => {
                out[2..2 + data.len()].copy_from_slice(data);
                14
            }
            NdiscOption::Unknown { kind, data } => {
                out[2..2 + data.len()].copy_from_slice(data);
                kind
            }
        };
        Ok(len)
    }
}

/// Parses one option from its whole bytes (`bytes.len()` is its length field × 8).
fn parse_option(bytes: &[u8]) -> Result<NdiscOption<'_>> {
    let data = &bytes[2..];
    let mac = || {
        let mut mac = [0u8; 6];
        mac.copy_from_slice(&data[..6]);
        mac
    };
    let u32_at =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let kind = OptionKind::from(bytes[0]);
    let fixed = match kind {
        OptionKind::SourceLinkLayerAddr | OptionKind::TargetLinkLayerAddr | OptionKind::Mtu => 8,
        OptionKind::PrefixInformation => 32,
        _ => bytes.len(),
    };
    if bytes.len() != fixed {
        return Err(Error::Options);
    }
    Ok(match kind {
        OptionKind::SourceLinkLayerAddr => NdiscOption::SourceLinkLayerAddr(mac()),
        OptionKind::TargetLinkLayerAddr => NdiscOption::TargetLinkLayerAddr(mac()),
        OptionKind::PrefixInformation => {
            if bytes[2] > 128 {
                return Err(Error::Options);
            }
            let mut prefix = [0u8; 16];
            prefix.copy_from_slice(&bytes[16..32]);
            NdiscOption::PrefixInformation(PrefixInfo {
                prefix_len: bytes[2],
                on_link: bytes[3] & PREFIX_FLAG_ON_LINK != 0,
                autonomous: bytes[3] & PREFIX_FLAG_AUTONOMOUS != 0,
                valid_lifetime: u32_at(4),
                preferred_lifetime: u32_at(8),
                prefix: Ipv6Addr::from(prefix),
            })
        }
        OptionKind::RedirectedHeader => NdiscOption::RedirectedHeader(&bytes[8..]),
        OptionKind::Mtu => NdiscOption::Mtu(u32_at(4)),
        OptionKind::Nonce => NdiscOption::Nonce(data),
        OptionKind::Unknown(kind) => NdiscOption::Unknown { kind, data },
    })
}

/// An iterator over neighbour discovery options. An option of length 0, running past
/// the buffer ([`Error::Options`] for both, RFC 4861 §4.6) or malformed (a link-layer
/// address or MTU option not 8 bytes long, a prefix option not 32, a prefix length
/// above 128: also [`Error::Options`]) yields one error; a length-0 or overlong option
/// ends the iteration, since nothing after it can be found.
#[derive(Debug, Clone)]
pub struct NdiscOptions<'a> {
    data: &'a [u8],
}

impl<'a> NdiscOptions<'a> {
    /// Iterates over the options in `data`.
    pub const fn new(data: &'a [u8]) -> Self {
        NdiscOptions { data }
    }
}

impl<'a> Iterator for NdiscOptions<'a> {
    type Item = Result<NdiscOption<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        let len = usize::from(self.data.get(1).copied().unwrap_or(0)) * 8;
        if len == 0 || len > self.data.len() {
            self.data = &[];
            return Some(Err(Error::Options));
        }
        let (option, rest) = self.data.split_at(len);
        self.data = rest;
        Some(parse_option(option))
    }
}

/// A read/write view of a neighbour discovery message: the whole ICMPv6 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it.
    ///
    /// The read accessors never panic: a field beyond the end of the buffer
    /// (say, an NA's target read from an RS) reads as zero. Use
    /// [`Packet::new_checked`] on bytes from the wire so fields are meaningful.
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    ///
    /// # Errors
    ///
    /// As [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// Checks that the message is of a neighbour discovery type and holds its fixed
    /// part (8 bytes for RS, 16 for RA, 24 for NS and NA, 40 for redirect).
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] for a short buffer, [`Error::Unrecognized`] for another
    /// type.
    pub fn check_len(&self) -> Result<()> {
        let data = self.buffer.as_ref();
        let kind = data.first().ok_or(Error::Truncated)?;
        let fixed = fixed_len(Message::from(*kind)).ok_or(Error::Unrecognized)?;
        if data.len() < fixed {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// Consumes the view, returning the buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// The message type.
    #[inline]
    pub fn msg_type(&self) -> Message {
        Message::from(self.byte(field::TYPE))
    }

    /// The message code (0 in a valid message).
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.byte(field::CODE)
    }

    /// Whether the ICMPv6 checksum over the pseudo-header of `src` and `dst` verifies.
    #[inline]
    pub fn verify_checksum(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        icmpv6::Packet::new_unchecked(self.buffer.as_ref()).verify_checksum(src, dst)
    }

    /// The byte at `at`, or 0 past the end of the buffer.
    fn byte(&self, at: usize) -> u8 {
        self.buffer.as_ref().get(at).copied().unwrap_or(0)
    }

    fn u16_at(&self, at: usize) -> u16 {
        u16::from_be_bytes([self.byte(at), self.byte(at + 1)])
    }

    fn u32_at(&self, at: usize) -> u32 {
        u32::from_be_bytes([
            self.byte(at),
            self.byte(at + 1),
            self.byte(at + 2),
            self.byte(at + 3),
        ])
    }

    fn addr_at(&self, range: super::Field) -> Ipv6Addr {
        let mut octets = [0u8; 16];
        if let Some(bytes) = self.buffer.as_ref().get(range) {
            octets.copy_from_slice(bytes);
        }
        Ipv6Addr::from(octets)
    }

    /// RA: the hop limit hosts should use (0: unspecified).
    #[inline]
    pub fn current_hop_limit(&self) -> u8 {
        self.byte(field::CUR_HOP_LIMIT)
    }

    /// RA: the M and O flags.
    #[inline]
    pub fn router_flags(&self) -> RouterFlags {
        let flags = self.byte(field::ROUTER_FLAGS);
        RouterFlags {
            managed: flags & ROUTER_FLAG_MANAGED != 0,
            other: flags & ROUTER_FLAG_OTHER != 0,
        }
    }

    /// RA: how long the sender is a default router, in seconds (0: not one).
    #[inline]
    pub fn router_lifetime(&self) -> u16 {
        self.u16_at(field::ROUTER_LIFETIME.start)
    }

    /// RA: the reachable time in milliseconds (0: unspecified).
    #[inline]
    pub fn reachable_time(&self) -> u32 {
        self.u32_at(field::REACHABLE_TIME.start)
    }

    /// RA: the retransmission timer in milliseconds (0: unspecified).
    #[inline]
    pub fn retrans_time(&self) -> u32 {
        self.u32_at(field::RETRANS_TIME.start)
    }

    /// NA: the R, S and O flags.
    #[inline]
    pub fn neighbor_flags(&self) -> NeighborFlags {
        let flags = self.byte(field::NEIGHBOR_FLAGS);
        NeighborFlags {
            router: flags & NEIGHBOR_FLAG_ROUTER != 0,
            solicited: flags & NEIGHBOR_FLAG_SOLICITED != 0,
            override_: flags & NEIGHBOR_FLAG_OVERRIDE != 0,
        }
    }

    /// NS, NA, redirect: the target address.
    #[inline]
    pub fn target_addr(&self) -> Ipv6Addr {
        self.addr_at(field::TARGET_ADDR)
    }

    /// Redirect: the destination address.
    #[inline]
    pub fn dest_addr(&self) -> Ipv6Addr {
        self.addr_at(field::DEST_ADDR)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The options after the fixed part.
    #[inline]
    pub fn options(&self) -> NdiscOptions<'a> {
        let data = self.buffer.as_ref();
        let fixed = fixed_len(self.msg_type()).unwrap_or(data.len());
        NdiscOptions::new(&data[fixed.min(data.len())..])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Sets the message type and zeroes the code, checksum and reserved bytes after it.
    #[inline]
    pub fn set_msg_type(&mut self, message: Message) {
        let d = self.buffer.as_mut();
        d[field::TYPE] = u8::from(message);
        d[field::CODE..field::RESERVED.end].fill(0);
    }

    /// RA: sets the current hop limit.
    #[inline]
    pub fn set_current_hop_limit(&mut self, hop_limit: u8) {
        self.buffer.as_mut()[field::CUR_HOP_LIMIT] = hop_limit;
    }

    /// RA: sets the M and O flags (the other bits are cleared).
    #[inline]
    pub fn set_router_flags(&mut self, flags: RouterFlags) {
        let managed = if flags.managed {
            ROUTER_FLAG_MANAGED
        } else {
            0
        };
        let other = if flags.other { ROUTER_FLAG_OTHER } else { 0 };
        self.buffer.as_mut()[field::ROUTER_FLAGS] = managed | other;
    }

    /// RA: sets the router lifetime.
    #[inline]
    pub fn set_router_lifetime(&mut self, seconds: u16) {
        write_u16(self.buffer.as_mut(), field::ROUTER_LIFETIME.start, seconds);
    }

    /// RA: sets the reachable time.
    #[inline]
    pub fn set_reachable_time(&mut self, ms: u32) {
        self.buffer.as_mut()[field::REACHABLE_TIME].copy_from_slice(&ms.to_be_bytes());
    }

    /// RA: sets the retransmission timer.
    #[inline]
    pub fn set_retrans_time(&mut self, ms: u32) {
        self.buffer.as_mut()[field::RETRANS_TIME].copy_from_slice(&ms.to_be_bytes());
    }

    /// NA: sets the R, S and O flags (the other bits are cleared).
    #[inline]
    pub fn set_neighbor_flags(&mut self, flags: NeighborFlags) {
        let router = if flags.router {
            NEIGHBOR_FLAG_ROUTER
        } else {
            0
        };
        let solicited = if flags.solicited {
            NEIGHBOR_FLAG_SOLICITED
        } else {
            0
        };
        let override_ = if flags.override_ {
            NEIGHBOR_FLAG_OVERRIDE
        } else {
            0
        };
        self.buffer.as_mut()[field::NEIGHBOR_FLAGS] = router | solicited | override_;
    }

    /// NS, NA, redirect: sets the target address.
    #[inline]
    pub fn set_target_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::TARGET_ADDR].copy_from_slice(&addr.octets());
    }

    /// Redirect: sets the destination address.
    #[inline]
    pub fn set_dest_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DEST_ADDR].copy_from_slice(&addr.octets());
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// RFC 4861's validity rules for a received message (§6.1.1, §6.1.2, §7.1.1, §7.1.2,
/// §8.1), given the IPv6 hop limit and addresses it came with; the ICMPv6 checksum is
/// checked apart ([`Repr::parse`] does both):
///
/// - the hop limit is 255 and the code 0;
/// - the message holds its fixed part and every option has a non-zero length and fits;
/// - RS: from the unspecified address, no source link-layer address option;
/// - RA and redirect: from a link-local address;
/// - NS and NA: the target is not multicast; an NS from the unspecified address goes to
///   a solicited-node group and carries no source link-layer address option; an NA
///   sent to a multicast group has the S flag clear;
/// - redirect: the destination is not multicast, and the target is link-local or the
///   destination itself.
///
/// # Errors
///
/// [`Error::Malformed`] for a broken rule, [`Error::Options`] for a bad option,
/// [`Error::Truncated`] or [`Error::Unrecognized`] from [`Packet::check_len`].
pub fn validate<T: AsRef<[u8]> + ?Sized>(
    packet: &Packet<&T>,
    hop_limit: u8,
    src: &Ipv6Addr,
    dst: &Ipv6Addr,
) -> Result<()> {
    packet.check_len()?;
    if hop_limit != HOP_LIMIT || packet.msg_code() != 0 {
        return Err(Error::Malformed);
    }
    let mut has_source_lladdr = false;
    for option in packet.options() {
        has_source_lladdr |= matches!(option?, NdiscOption::SourceLinkLayerAddr(_));
    }
    let unspecified = src.is_unspecified();
    let valid = match packet.msg_type() {
        Message::RouterSolicit => !(unspecified && has_source_lladdr),
        Message::RouterAdvert => is_link_local(src),
        Message::NeighborSolicit => {
            // From the unspecified address (a DAD probe): no link-layer address, and
            // only to a solicited-node group.
            let dad_ok = !unspecified || (!has_source_lladdr && is_solicited_node(dst));
            !packet.target_addr().is_multicast() && dad_ok
        }
        Message::NeighborAdvert => {
            // A solicited advertisement answers one node: never to a group.
            let solicited_ok = !dst.is_multicast() || !packet.neighbor_flags().solicited;
            !packet.target_addr().is_multicast() && solicited_ok
        }
        _ => {
            let (target, dest) = (packet.target_addr(), packet.dest_addr());
            is_link_local(src) && !dest.is_multicast() && (is_link_local(&target) || target == dest)
        }
    };
    if valid {
        Ok(())
    } else {
        Err(Error::Malformed)
    }
}

/// The parsed form of a neighbour discovery message, with the options a host acts on.
/// A router advertisement may carry several prefixes: the repr keeps the first, and
/// [`Packet::options`] finds them all. Unknown options are ignored (RFC 4861 §4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repr {
    /// Router solicitation.
    RouterSolicit {
        /// The source link-layer address option.
        lladdr: Option<EthernetAddr>,
    },
    /// Router advertisement.
    RouterAdvert {
        /// Current hop limit (0: unspecified).
        hop_limit: u8,
        /// M and O flags.
        flags: RouterFlags,
        /// Router lifetime in seconds.
        router_lifetime: u16,
        /// Reachable time in milliseconds.
        reachable_time: u32,
        /// Retransmission timer in milliseconds.
        retrans_time: u32,
        /// The source link-layer address option.
        lladdr: Option<EthernetAddr>,
        /// The MTU option.
        mtu: Option<u32>,
        /// The first prefix information option.
        prefix_info: Option<PrefixInfo>,
    },
    /// Neighbour solicitation.
    NeighborSolicit {
        /// The address being resolved or checked.
        target_addr: Ipv6Addr,
        /// The source link-layer address option.
        lladdr: Option<EthernetAddr>,
    },
    /// Neighbour advertisement.
    NeighborAdvert {
        /// R, S and O flags.
        flags: NeighborFlags,
        /// The address advertised.
        target_addr: Ipv6Addr,
        /// The target link-layer address option.
        lladdr: Option<EthernetAddr>,
    },
    /// Redirect (the redirected header option is not kept).
    Redirect {
        /// The better first hop.
        target_addr: Ipv6Addr,
        /// The destination being redirected.
        dest_addr: Ipv6Addr,
        /// The target link-layer address option.
        lladdr: Option<EthernetAddr>,
    },
}

impl Repr {
    /// Checks a message received from `src` for `dst` with `hop_limit` — the ICMPv6
    /// checksum when `caps.icmpv6` says software does it, then [`validate`] — and
    /// returns its parsed form.
    ///
    /// # Errors
    ///
    /// [`Error::Checksum`], and those of [`validate`].
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        hop_limit: u8,
        caps: &ChecksumCaps,
    ) -> Result<Repr> {
        packet.check_len()?;
        if caps.icmpv6.rx() && !packet.verify_checksum(src, dst) {
            return Err(Error::Checksum);
        }
        validate(packet, hop_limit, src, dst)?;
        let (mut source, mut target, mut mtu, mut prefix_info) = (None, None, None, None);
        for option in packet.options().flatten() {
            match option {
                NdiscOption::SourceLinkLayerAddr(mac) => source = source.or(Some(mac)),
                NdiscOption::TargetLinkLayerAddr(mac) => target = target.or(Some(mac)),
                NdiscOption::Mtu(value) => mtu = mtu.or(Some(value)),
                NdiscOption::PrefixInformation(info) => prefix_info = prefix_info.or(Some(info)),
                _ => {}
            }
        }
        Ok(match packet.msg_type() {
            Message::RouterSolicit => Repr::RouterSolicit { lladdr: source },
            Message::RouterAdvert => Repr::RouterAdvert {
                hop_limit: packet.current_hop_limit(),
                flags: packet.router_flags(),
                router_lifetime: packet.router_lifetime(),
                reachable_time: packet.reachable_time(),
                retrans_time: packet.retrans_time(),
                lladdr: source,
                mtu,
                prefix_info,
            },
            Message::NeighborSolicit => Repr::NeighborSolicit {
                target_addr: packet.target_addr(),
                lladdr: source,
            },
            Message::NeighborAdvert => Repr::NeighborAdvert {
                flags: packet.neighbor_flags(),
                target_addr: packet.target_addr(),
                lladdr: target,
            },
            _ => Repr::Redirect {
                target_addr: packet.target_addr(),
                dest_addr: packet.dest_addr(),
                lladdr: target,
            },
        })
    }

    /// The ICMPv6 type of this message.
    pub const fn message(&self) -> Message {
        match self {
            Repr::RouterSolicit { .. } => Message::RouterSolicit,
            Repr::RouterAdvert { .. } => Message::RouterAdvert,
            Repr::NeighborSolicit { .. } => Message::NeighborSolicit,
            Repr::NeighborAdvert { .. } => Message::NeighborAdvert,
            Repr::Redirect { .. } => Message::Redirect,
        }
    }

    /// The options [`Repr::emit`] writes, in order (radvd's order for an RA: prefix,
    /// MTU, source link-layer address).
    fn options(&self) -> [Option<NdiscOption<'static>>; 3] {
        let lladdr = match *self {
            Repr::RouterSolicit { lladdr }
            | Repr::RouterAdvert { lladdr, .. }
            | Repr::NeighborSolicit { lladdr, .. } => lladdr.map(NdiscOption::SourceLinkLayerAddr),
            Repr::NeighborAdvert { lladdr, .. } | Repr::Redirect { lladdr, .. } => {
                lladdr.map(NdiscOption::TargetLinkLayerAddr)
            }
        };
        match *self {
            Repr::RouterAdvert {
                mtu, prefix_info, ..
            } => [
                prefix_info.map(NdiscOption::PrefixInformation),
                mtu.map(NdiscOption::Mtu),
                lladdr,
            ],
            _ => [lladdr, None, None],
        }
    }

    /// Length of the whole message: fixed part and options.
    pub fn buffer_len(&self) -> usize {
        let fixed = fixed_len(self.message()).unwrap_or(0);
        fixed
            + self
                .options()
                .iter()
                .flatten()
                .map(NdiscOption::buffer_len)
                .sum::<usize>()
    }

    /// Writes the message (type, code 0, fixed fields, options) into the start of
    /// `packet`'s buffer, and its ICMPv6 checksum over the pseudo-header of `src` and
    /// `dst` as [`icmpv6::Repr::emit`] does. Send it with hop limit [`HOP_LIMIT`].
    ///
    /// # Errors
    ///
    /// [`Error::Truncated`] if the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: &Ipv6Addr,
        dst: &Ipv6Addr,
        caps: &ChecksumCaps,
    ) -> Result<()> {
        let len = self.buffer_len();
        let bytes = packet
            .buffer
            .as_mut()
            .get_mut(..len)
            .ok_or(Error::Truncated)?;
        let fixed = fixed_len(self.message()).unwrap_or(0);
        bytes[..fixed].fill(0);
        let mut message = Packet::new_unchecked(&mut bytes[..]);
        message.set_msg_type(self.message());
        match *self {
            Repr::RouterSolicit { .. } => {}
            Repr::RouterAdvert {
                hop_limit,
                flags,
                router_lifetime,
                reachable_time,
                retrans_time,
                ..
            } => {
                message.set_current_hop_limit(hop_limit);
                message.set_router_flags(flags);
                message.set_router_lifetime(router_lifetime);
                message.set_reachable_time(reachable_time);
                message.set_retrans_time(retrans_time);
            }
            Repr::NeighborSolicit { target_addr, .. } => message.set_target_addr(target_addr),
            Repr::NeighborAdvert {
                flags, target_addr, ..
            } => {
                message.set_neighbor_flags(flags);
                message.set_target_addr(target_addr);
            }
            Repr::Redirect {
                target_addr,
                dest_addr,
                ..
            } => {
                message.set_target_addr(target_addr);
                message.set_dest_addr(dest_addr);
            }
        }
        let mut at = fixed;
        for option in self.options().iter().flatten() {
            at += option.emit(&mut bytes[at..])?;
        }
        icmpv6::Packet::new_unchecked(bytes).finish_checksum(src, dst, caps);
        Ok(())
    }
}

// The tests live in `ndisc/tests.rs`, which would push this file past 800 lines.
#[cfg(test)]
mod tests;
