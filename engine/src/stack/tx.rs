//! The transmit side of a [`Stack`]: IP output with fragmentation above the
//! MTU, the next hop (on-link or the gateway), neighbour resolution with a
//! bounded wait, and the Ethernet header; and UDP send from a socket.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Instant, Resolve};
use strata_l3l4::frag::{emit_ipv4_fragment, emit_ipv6_fragment, plan_ipv4_repr, plan_ipv6};
use strata_l3l4::wire::ipv6;
use strata_l3l4::{
    ChecksumCaps, IpPair, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6Repr, NdResolve, UdpPacket, UdpRepr,
};
use strata_pools::NetBuf;

use super::rx::group_mac_v4;
use super::{Parked, SendError, Stack};

const ETH: usize = strata_l2::ETHERNET_HEADER_LEN;
const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

/// Writes the destination MAC of a frame whose Ethernet header is in place.
pub(super) fn set_dst_mac(buf: &mut NetBuf, mac: EthernetAddress) {
    if let Ok(bytes) = buf.data_mut() {
        if bytes.len() >= ETH {
            EthernetFrame::new_unchecked(bytes).set_dst_addr(mac);
        }
    }
}

fn ethernet_header(bytes: &mut [u8], src: EthernetAddress, ethertype: EtherType) {
    EthernetRepr {
        src_addr: src,
        dst_addr: EthernetAddress([0; 6]),
        ethertype,
    }
    .emit(&mut EthernetFrame::new_unchecked(bytes));
}

impl Stack {
    /// Sends an IPv4 packet carrying `l4` (a whole transport message),
    /// fragmented when it does not fit the MTU.
    pub(super) fn output_ipv4(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        protocol: IpProtocol,
        l4: &[u8],
    ) {
        let repr = Ipv4Repr {
            src_addr: src,
            dst_addr: dst,
            protocol,
            payload_len: l4.len(),
            ttl: 64,
            dscp: 0,
            ecn: 0,
        };
        let Ok(plan) = plan_ipv4_repr(&repr, self.config.mtu) else {
            self.counters.ipv4.drop("too_long");
            return;
        };
        let ident = self.next_ident();
        let mac = self.config.mac;
        for spec in plan {
            let len = ETH + 20 + spec.len();
            let frame = self.frame_with(len, |bytes| {
                ethernet_header(bytes, mac, EtherType::Ipv4);
                emit_ipv4_fragment(&repr, ident, &spec, l4, &mut bytes[ETH..], &SOFTWARE)
                    .map_or(0, |n| ETH + n)
            });
            if let Some(frame) = frame {
                self.route_v4(now, src, dst, frame);
            }
        }
    }

    /// Resolves the next hop of a ready IPv4 frame and queues it.
    fn route_v4(&mut self, now: Instant, src: Ipv4Addr, dst: Ipv4Addr, mut frame: NetBuf) {
        self.counters.ipv4.sent += 1;
        self.touched = true;
        let subnet_broadcast = self.config.ipv4.iter().any(|&(addr, len)| {
            len <= 30
                && u32::from(dst)
                    == u32::from(addr) | u32::MAX.checked_shr(u32::from(len)).unwrap_or(0)
        });
        if let Some(mac) =
            group_mac_v4(dst).or(subnet_broadcast.then_some(EthernetAddress::BROADCAST))
        {
            set_dst_mac(&mut frame, mac);
            self.queue_tx(frame);
            return;
        }
        // Longest prefix: connected networks, static routes, the default.
        let Some(next_hop) = self.next_hop4(dst) else {
            self.counters.ipv4.drop("no_route");
            return;
        };
        let parked = Parked {
            priority: self.out_priority,
            buf: frame,
        };
        match self.arp.resolve(now, next_hop, src, parked) {
            Resolve::Send(mac, mut parked) => {
                set_dst_mac(&mut parked.buf, mac);
                self.queue_tx(parked.buf);
            }
            Resolve::Queued { displaced } => {
                if displaced.is_some() {
                    self.counters.ipv4.drop("arp_queue_full");
                }
            }
            Resolve::Refused(_, _) => self.counters.ipv4.drop("unresolved"),
        }
    }

    /// Sends an IPv6 packet carrying `l4` (a whole upper-layer message),
    /// fragmented when it does not fit the MTU.
    pub(super) fn output_ipv6(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        next_header: IpProtocol,
        l4: &[u8],
    ) {
        let repr = Ipv6Repr {
            src_addr: src,
            dst_addr: dst,
            next_header,
            payload_len: l4.len(),
            hop_limit: self
                .addrconf
                .cur_hop_limit()
                .unwrap_or(ipv6::DEFAULT_HOP_LIMIT),
            traffic_class: 0,
            flow_label: 0,
        };
        let mac = self.config.mac;
        if ipv6::HEADER_LEN + l4.len() <= self.config.mtu {
            let len = ETH + ipv6::HEADER_LEN + l4.len();
            let frame = self.frame_with(len, |bytes| {
                ethernet_header(bytes, mac, EtherType::Ipv6);
                let ip = &mut bytes[ETH..];
                if repr
                    .emit(&mut strata_l3l4::Ipv6Packet::new_unchecked(&mut ip[..]))
                    .is_err()
                {
                    return 0;
                }
                ip[ipv6::HEADER_LEN..].copy_from_slice(l4);
                len
            });
            if let Some(frame) = frame {
                self.route_v6(now, src, dst, frame);
            }
            return;
        }
        let Ok(plan) = plan_ipv6(0, l4.len(), self.config.mtu) else {
            self.counters.ipv6.drop("too_long");
            return;
        };
        let ident = u32::from(self.next_ident()) | 0x5a00_0000;
        for spec in plan {
            let len = ETH + ipv6::HEADER_LEN + 8 + spec.len();
            let frame = self.frame_with(len, |bytes| {
                ethernet_header(bytes, mac, EtherType::Ipv6);
                emit_ipv6_fragment(&repr, &[], next_header, ident, &spec, l4, &mut bytes[ETH..])
                    .map_or(0, |n| ETH + n)
            });
            if let Some(frame) = frame {
                self.route_v6(now, src, dst, frame);
            }
        }
    }

    /// Resolves the next hop of a ready IPv6 frame and queues it.
    fn route_v6(&mut self, now: Instant, src: Ipv6Addr, dst: Ipv6Addr, mut frame: NetBuf) {
        self.counters.ipv6.sent += 1;
        self.touched = true;
        if dst.is_multicast() {
            set_dst_mac(&mut frame, strata_l3l4::nd::multicast_lladdr(&dst));
            self.queue_tx(frame);
            return;
        }
        let on_link = dst.segments()[0] & 0xffc0 == 0xfe80
            || self
                .config
                .ipv6
                .iter()
                .any(|&(addr, len)| same_prefix_v6(addr, dst, len))
            || self
                .addrconf
                .prefixes()
                .iter()
                .any(|p| same_prefix_v6(p.prefix, dst, p.prefix_len));
        // Configured prefixes and static routes first (longest prefix), then
        // what advertisements taught: on-link prefixes, the default router.
        let next_hop = if let Some(route) = self.routes6.lookup(dst) {
            route.next_hop(dst)
        } else if on_link {
            dst
        } else if let Some(router) = self.addrconf.routers().first() {
            router.addr
        } else {
            self.counters.ipv6.drop("no_route");
            return;
        };
        let parked = Parked {
            priority: self.out_priority,
            buf: frame,
        };
        match self.nd.resolve(now, next_hop, src, parked) {
            NdResolve::Send(mac, mut parked) => {
                set_dst_mac(&mut parked.buf, mac);
                self.queue_tx(parked.buf);
            }
            NdResolve::Queued { displaced } => {
                if displaced.is_some() {
                    self.counters.ipv6.drop("nd_queue_full");
                }
            }
            NdResolve::Refused(_, _) => self.counters.ipv6.drop("unresolved"),
        }
    }

    /// Sends `payload` from the UDP socket bound at `local` to `dst`. The
    /// headers go into the buffer's headroom (no copy) when the datagram fits
    /// the MTU; a larger one is fragmented (copied).
    ///
    /// # Errors
    ///
    /// [`SendError`] when there is no route or source, no buffer, or the
    /// payload is too long.
    pub fn send_udp(
        &mut self,
        now: Instant,
        local: SocketAddr,
        dst: SocketAddr,
        payload: NetBuf,
    ) -> Result<(), SendError> {
        self.send_udp_timed(now, local, dst, payload, None)
    }

    /// [`Stack::send_udp`], recording in `timing`'s recorder when the datagram
    /// finished each transmit stage — `tx_l4` (UDP header), `tx_l3` (IP header)
    /// and `tx_l2` (Ethernet header and neighbour resolution: queued for the
    /// device, or waiting) — measured from `timing`'s start (the
    /// application's send).
    ///
    /// # Errors
    ///
    /// As [`Stack::send_udp`].
    pub fn send_udp_timed(
        &mut self,
        now: Instant,
        local: SocketAddr,
        dst: SocketAddr,
        mut payload: NetBuf,
        mut timing: Option<(&mut crate::stats::StageRecorder, std::time::Instant)>,
    ) -> Result<(), SendError> {
        let mut mark = |stage: crate::stats::Stage| {
            if let Some((recorder, t0)) = timing.as_mut() {
                recorder.stage_done(stage, Some(*t0), 1);
            }
        };
        let src_ip = self
            .source_for(local.ip(), dst.ip())
            .ok_or(SendError::NoRoute)?;
        let pair = match (src_ip, dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => IpPair::v4(s, d),
            (IpAddr::V6(s), IpAddr::V6(d)) => IpPair::v6(s, d),
            _ => return Err(SendError::NoRoute),
        };
        let len = payload.total_len();
        let repr = UdpRepr {
            src_port: local.port(),
            dst_port: dst.port(),
            payload_len: len,
        };
        let ip_header = if pair.is_ipv6() { ipv6::HEADER_LEN } else { 20 };
        if len + 8 > 65535 - ip_header {
            return Err(SendError::TooLong);
        }
        let fits = ip_header + 8 + len <= self.config.mtu
            && payload.next().is_none()
            && payload.headroom() >= ETH + ip_header + 8;
        if !fits {
            let mut l4 = vec![0u8; 8 + len];
            payload.copy_to(&mut l4[8..]);
            repr.emit(&mut UdpPacket::new_unchecked(&mut l4[..]), &pair, &SOFTWARE)
                .map_err(|_| SendError::TooLong)?;
            self.counters.udp.sent += 1;
            match pair {
                IpPair::V4 { src, dst } => self.output_ipv4(now, src, dst, IpProtocol::Udp, &l4),
                IpPair::V6 { src, dst } => self.output_ipv6(now, src, dst, IpProtocol::Udp, &l4),
            }
            self.drain_protocols(now);
            return Ok(());
        }
        let caps = self.config.caps;
        let mac = self.config.mac;
        {
            let header = payload.push(8).map_err(|_| SendError::NoBuffer)?;
            header.fill(0);
        }
        {
            let udp = payload.data_mut().map_err(|_| SendError::NoBuffer)?;
            repr.emit(&mut UdpPacket::new_unchecked(udp), &pair, &caps)
                .map_err(|_| SendError::TooLong)?;
        }
        self.counters.udp.sent += 1;
        mark(crate::stats::Stage::TxL4);
        match pair {
            IpPair::V4 { src, dst } => {
                let ip = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    protocol: IpProtocol::Udp,
                    payload_len: 8 + len,
                    ttl: 64,
                    dscp: 0,
                    ecn: 0,
                };
                let ident = self.next_ident();
                let header = payload.push(20).map_err(|_| SendError::NoBuffer)?;
                let mut packet = Ipv4Packet::new_unchecked(header);
                ip.emit(&mut packet, &caps)
                    .map_err(|_| SendError::TooLong)?;
                packet.set_ident(ident);
                if caps.ipv4.tx() {
                    packet.fill_checksum();
                }
                mark(crate::stats::Stage::TxL3);
                ethernet_header(
                    payload.push(ETH).map_err(|_| SendError::NoBuffer)?,
                    mac,
                    EtherType::Ipv4,
                );
                self.route_v4(now, src, dst, payload);
            }
            IpPair::V6 { src, dst } => {
                let ip = Ipv6Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Udp,
                    payload_len: 8 + len,
                    hop_limit: self
                        .addrconf
                        .cur_hop_limit()
                        .unwrap_or(ipv6::DEFAULT_HOP_LIMIT),
                    traffic_class: 0,
                    flow_label: 0,
                };
                let header = payload
                    .push(ipv6::HEADER_LEN)
                    .map_err(|_| SendError::NoBuffer)?;
                ip.emit(&mut strata_l3l4::Ipv6Packet::new_unchecked(header))
                    .map_err(|_| SendError::TooLong)?;
                mark(crate::stats::Stage::TxL3);
                ethernet_header(
                    payload.push(ETH).map_err(|_| SendError::NoBuffer)?,
                    mac,
                    EtherType::Ipv6,
                );
                self.route_v6(now, src, dst, payload);
            }
        }
        mark(crate::stats::Stage::TxL2);
        if self.tx_len == 0 {
            // The datagram waits for resolution: the solicitation goes now.
            self.drain_protocols(now);
        }
        Ok(())
    }

    /// The source address for a packet to `dst` from a socket bound to
    /// `bound` (unspecified: chosen here).
    pub(super) fn source_for(&self, bound: IpAddr, dst: IpAddr) -> Option<IpAddr> {
        if !bound.is_unspecified() {
            return Some(bound);
        }
        match dst {
            IpAddr::V4(dst) => self
                .config
                .ipv4
                .iter()
                .find(|&&(addr, len)| same_prefix_v4(addr, dst, len))
                .or(self.config.ipv4.first())
                .map(|&(addr, _)| IpAddr::V4(addr)),
            IpAddr::V6(dst) => self.addrconf.usable_source(&dst).map(IpAddr::V6),
        }
    }
}

fn same_prefix_v4(a: Ipv4Addr, b: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX
        .checked_shl(32 - u32::from(len.min(32)))
        .unwrap_or(0);
    u32::from(a) & mask == u32::from(b) & mask
}

fn same_prefix_v6(a: Ipv6Addr, b: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX
        .checked_shl(128 - u32::from(len.min(128)))
        .unwrap_or(0);
    u128::from(a) & mask == u128::from(b) & mask
}
