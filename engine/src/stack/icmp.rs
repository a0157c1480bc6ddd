//! ICMP errors a [`Stack`] sends: only where RFC 1122, RFC 1812 and RFC 4443
//! allow ([`strata_l3l4::icmp`]), rate-limited, quoting as much of the
//! offending packet as fits.

use std::net::Ipv4Addr;

use strata_l2::Instant;
use strata_l3l4::icmp::{
    check_ipv4, check_ipv6, ipv4_quote_len, ipv6_quote_len, Icmpv6ErrorKind, Ipv4Offender,
    Ipv6Offender,
};
use strata_l3l4::wire::ipv6ext::{self, ChainLimits};
use strata_l3l4::{
    ChecksumCaps, Icmpv4DstUnreachable, Icmpv4Packet, Icmpv4Repr, Icmpv4TimeExceeded,
    Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6ParamProblem, Icmpv6Repr, Icmpv6TimeExceeded,
    IpProtocol, Ipv4Packet, Ipv6Packet,
};

use super::Stack;

/// An ICMPv4 error to send about a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum V4Error {
    PortUnreachable,
    ProtoUnreachable,
    HostUnreachable,
    ReassemblyTimeout,
}

/// An ICMPv6 error to send about a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum V6Error {
    PortUnreachable,
    AddressUnreachable,
    /// Parameter problem, unrecognised next header, at this pointer.
    UnknownNextHeader(u32),
    ReassemblyTimeout,
}

impl Stack {
    /// Sends `error` about `datagram` (its IPv4 header first), if the rules
    /// and the rate limit allow; counts why not otherwise.
    pub(super) fn icmpv4_error(
        &mut self,
        now: Instant,
        error: V4Error,
        datagram: &[u8],
        link_mcast: bool,
    ) {
        // The quote may be cut short (a reassembly timeout quotes the first
        // fragment's header and 8 bytes): read the fixed fields only.
        if datagram.len() < 20 {
            return;
        }
        let offending = Ipv4Packet::new_unchecked(datagram);
        let header_len = offending.header_len();
        if header_len < 20 || header_len > datagram.len() {
            return;
        }
        let (src, dst) = (offending.src_addr(), offending.dst_addr());
        let is_icmp_error = offending.protocol() == IpProtocol::Icmp && {
            let payload = &datagram[header_len..];
            // Only echo request/reply and the informational types are not errors.
            !matches!(payload.first(), Some(0 | 8 | 13 | 14))
        };
        let subnet_broadcast = self.config.ipv4.iter().find_map(|&(addr, len)| {
            (len <= 30).then(|| {
                Ipv4Addr::from(u32::from(addr) | u32::MAX.checked_shr(u32::from(len)).unwrap_or(0))
            })
        });
        let offender = Ipv4Offender {
            src,
            dst,
            subnet_broadcast,
            link_broadcast: link_mcast,
            frag_offset: offending.frag_offset(),
            is_icmp_error,
        };
        if let Err(why) = check_ipv4(&offender) {
            self.counters.icmpv4.drop(why.as_str());
            return;
        }
        if !self.icmp4_limit.allow(now) {
            self.counters.icmpv4.drop("rate_limited");
            return;
        }
        // From the address it was sent to, or our first one.
        let source = if self.config.ipv4.iter().any(|&(a, _)| a == dst) {
            dst
        } else {
            match self.config.ipv4.first() {
                Some(&(a, _)) => a,
                None => return,
            }
        };
        let quoted = &datagram[..ipv4_quote_len(datagram.len())];
        let repr = match error {
            V4Error::PortUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::PortUnreachable,
                next_hop_mtu: 0,
                quoted_len: quoted.len(),
            },
            V4Error::ProtoUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::ProtoUnreachable,
                next_hop_mtu: 0,
                quoted_len: quoted.len(),
            },
            V4Error::HostUnreachable => Icmpv4Repr::DstUnreachable {
                reason: Icmpv4DstUnreachable::HostUnreachable,
                next_hop_mtu: 0,
                quoted_len: quoted.len(),
            },
            V4Error::ReassemblyTimeout => Icmpv4Repr::TimeExceeded {
                reason: Icmpv4TimeExceeded::FragExpired,
                quoted_len: quoted.len(),
            },
        };
        let mut message = vec![0u8; repr.buffer_len()];
        message[repr.header_len()..].copy_from_slice(quoted);
        if repr
            .emit(
                &mut Icmpv4Packet::new_unchecked(&mut message[..]),
                &ChecksumCaps::software(),
            )
            .is_err()
        {
            return;
        }
        self.counters.icmpv4.sent += 1;
        self.output_ipv4(now, source, src, IpProtocol::Icmp, &message);
    }

    /// Sends `error` about `packet` (its IPv6 header first), if the rules and
    /// the rate limit allow; counts why not otherwise.
    pub(super) fn icmpv6_error(
        &mut self,
        now: Instant,
        error: V6Error,
        packet: &[u8],
        link_mcast: bool,
    ) {
        // The quote may be cut short (a reassembly timeout): fixed fields only.
        if packet.len() < 40 {
            return;
        }
        let offending = Ipv6Packet::new_unchecked(packet);
        let (src, dst) = (offending.src_addr(), offending.dst_addr());
        let payload = &packet[40..];
        let chain = ipv6ext::walk(offending.next_header(), payload, &ChainLimits::DEFAULT);
        let (is_icmp_error, non_first_fragment) = match chain {
            Ok(chain) => {
                let upper = payload.get(chain.upper_offset..).unwrap_or(&[]);
                let is_error = chain.upper == IpProtocol::Icmpv6
                    && upper.first().is_some_and(|&t| t < 128 || t == 137);
                let non_first = chain.fragment.is_some_and(|f| f.repr.frag_offset != 0);
                (is_error, non_first)
            }
            Err(_) => (false, false),
        };
        let offender = Ipv6Offender {
            src,
            dst,
            link_multicast: link_mcast,
            non_first_fragment,
            is_icmp_error,
            kind: Icmpv6ErrorKind::Other,
        };
        if let Err(why) = check_ipv6(&offender) {
            self.counters.icmpv6.drop(why.as_str());
            return;
        }
        if !self.icmp6_limit.allow(now) {
            self.counters.icmpv6.drop("rate_limited");
            return;
        }
        let source = if self.addrconf.answers_for(dst) {
            dst
        } else {
            match self.addrconf.usable_source(&src) {
                Some(source) => source,
                None => return,
            }
        };
        let quoted = &packet[..ipv6_quote_len(packet.len())];
        let repr = match error {
            V6Error::PortUnreachable => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::PortUnreachable,
                quoted_len: quoted.len(),
            },
            V6Error::AddressUnreachable => Icmpv6Repr::DstUnreachable {
                reason: Icmpv6DstUnreachable::AddrUnreachable,
                quoted_len: quoted.len(),
            },
            V6Error::UnknownNextHeader(pointer) => Icmpv6Repr::ParamProblem {
                reason: Icmpv6ParamProblem::UnrecognizedNxtHdr,
                pointer,
                quoted_len: quoted.len(),
            },
            V6Error::ReassemblyTimeout => Icmpv6Repr::TimeExceeded {
                reason: Icmpv6TimeExceeded::FragReassemblyExceeded,
                quoted_len: quoted.len(),
            },
        };
        let mut message = vec![0u8; repr.buffer_len()];
        message[repr.header_len()..].copy_from_slice(quoted);
        if repr
            .emit(
                &mut Icmpv6Packet::new_unchecked(&mut message[..]),
                &source,
                &src,
                &ChecksumCaps::software(),
            )
            .is_err()
        {
            return;
        }
        self.counters.icmpv6.sent += 1;
        self.output_ipv6(now, source, src, IpProtocol::Icmpv6, &message);
    }

    /// A packet whose next hop never answered ARP: host unreachable.
    pub(super) fn unreachable_v4(&mut self, now: Instant, frame: &strata_pools::NetBuf) {
        let data = frame.data();
        if let Some(datagram) = data.get(strata_l2::ETHERNET_HEADER_LEN..) {
            let datagram = datagram.to_vec();
            self.icmpv4_error(now, V4Error::HostUnreachable, &datagram, false);
        }
    }

    /// A packet whose next hop never answered neighbour solicitation:
    /// address unreachable (RFC 4861 §7.2.2).
    pub(super) fn unreachable_v6(&mut self, now: Instant, frame: &strata_pools::NetBuf) {
        let data = frame.data();
        if let Some(packet) = data.get(strata_l2::ETHERNET_HEADER_LEN..) {
            let packet = packet.to_vec();
            self.icmpv6_error(now, V6Error::AddressUnreachable, &packet, false);
        }
    }

    /// Datagrams whose reassembly timed out: time exceeded, when the first
    /// fragment arrived (RFC 792, RFC 8200 §4.5).
    pub(super) fn expire_reassembly(&mut self, now: Instant) {
        let expired: Vec<_> = self.reasm4.handle_timeout(now).collect();
        for datagram in expired {
            self.counters.ipv4.drop("reassembly_timeout");
            if let Some(first) = datagram.first_bytes() {
                let mut quoted = datagram.header.clone();
                quoted.extend_from_slice(first);
                self.icmpv4_error(now, V4Error::ReassemblyTimeout, &quoted, false);
            }
        }
        let expired: Vec<_> = self.reasm6.handle_timeout(now).collect();
        for datagram in expired {
            self.counters.ipv6.drop("reassembly_timeout");
            if let Some(first) = datagram.first_bytes() {
                let mut quoted = datagram.header.clone();
                quoted.extend_from_slice(first);
                // The quoted header's payload length still names the whole
                // fragment; the quote is the part we kept.
                self.icmpv6_error(now, V6Error::ReassemblyTimeout, &quoted, false);
            }
        }
    }
}
