//! The receive stages of a [`Stack`]: L2 over the whole burst, then ARP, then
//! L3 (IPv4, IPv6), then L4 (UDP to sockets).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use strata_l2::{ArpPacket, ArpRepr, EthernetAddress, Instant};
use strata_l3l4::frame::{FrameError, FrameHeaders, FrameLayout, Network, Transport};
use strata_l3l4::ingress::{
    accept_ipv4, accept_ipv6, Ipv4Delivery, Ipv4Local, Ipv6Delivery, Ipv6Local,
};
use strata_l3l4::wire::ipv6ext::{self, ChainError, ChainLimits};
use strata_l3l4::wire::{ipv4, ipv6};
use strata_l3l4::{
    ChecksumCaps, FragKey, Icmpv4Message, Icmpv4Packet, Icmpv6Message, Icmpv6Packet, IpPair,
    IpProtocol, Ipv4Packet, Ipv6Packet, NdiscPacket, NdiscRepr, Reassembled, UdpPacket, UdpRepr,
};
use strata_pools::NetBuf;

use super::icmp::{V4Error, V6Error};
use super::{Datagram, Stack};

/// One received frame between stages: its buffer, where its headers are,
/// and whether it came as a link-layer broadcast or multicast.
#[derive(Debug)]
pub(super) struct Item {
    pub buf: NetBuf,
    pub layout: FrameLayout,
    pub link_mcast: bool,
}

/// A UDP datagram that passed L3, waiting for L4.
#[derive(Debug)]
pub(super) struct UdpItem {
    item: Item,
    pair: IpPair,
}

/// The per-stage vectors of a burst, kept between bursts so the hot path
/// does not allocate.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    arp: Vec<Item>,
    v4: Vec<Item>,
    v6: Vec<Item>,
    udp: Vec<UdpItem>,
}

/// What every checksum is trusted as once the header walk verified it.
const VERIFIED: ChecksumCaps = ChecksumCaps::offloaded();

impl Stack {
    /// Receives a burst of frames (taking every buffer out of `bufs`), runs
    /// them through the stack stage by stage, and queues whatever it answers
    /// for [`Stack::poll_transmit`].
    pub fn receive(&mut self, now: Instant, bufs: &mut Vec<NetBuf>) {
        let mut scratch = std::mem::take(&mut self.scratch);
        self.stage_l2(bufs, &mut scratch);
        for item in scratch.arp.drain(..) {
            self.input_arp(now, &item);
        }
        if self.arp.poll_at().is_some() {
            // ARP replies leave before the answers that needed them.
            self.drain_protocols(now);
        }
        for item in scratch.v4.drain(..) {
            self.input_ipv4(now, item, &mut scratch.udp);
        }
        for item in scratch.v6.drain(..) {
            self.input_ipv6(now, item, &mut scratch.udp);
        }
        for udp in scratch.udp.drain(..) {
            self.input_udp(now, udp);
        }
        self.scratch = scratch;
        self.drain_protocols(now);
    }

    fn stage_l2(&mut self, bufs: &mut Vec<NetBuf>, scratch: &mut Scratch) {
        let caps = self.config.caps;
        let mac = self.config.mac;
        for buf in bufs.drain(..) {
            let headers = match FrameHeaders::parse_checked(buf.data(), &caps) {
                Ok(headers) => headers,
                Err(error) => {
                    self.frame_error(error);
                    continue;
                }
            };
            let dst = headers.ethernet().dst_addr();
            let link_mcast = dst.is_broadcast() || dst.is_multicast();
            if dst != mac && !link_mcast {
                self.counters.eth.drop("not_ours");
                continue;
            }
            if headers.vlan().outer_vid.is_some_and(|vid| vid != 0) {
                self.counters.eth.drop("vlan");
                continue;
            }
            if buf.next().is_some() {
                // Devices hand over one frame per buffer.
                self.counters.eth.drop("chained");
                continue;
            }
            self.counters.eth.recv += 1;
            let layout = headers.layout();
            let item = Item {
                buf,
                layout,
                link_mcast,
            };
            match layout.network() {
                Network::Arp => scratch.arp.push(item),
                Network::Ipv4 => scratch.v4.push(item),
                Network::Ipv6 => scratch.v6.push(item),
                Network::Other(_) => self.counters.eth.drop("unknown_ethertype"),
            }
        }
    }

    fn frame_error(&mut self, error: FrameError) {
        self.counters
            .by_name_mut(error.protocol())
            .drop(error.reason());
    }

    fn input_arp(&mut self, now: Instant, item: &Item) {
        let headers = item.layout.headers(item.buf.data());
        let Ok(repr) = ArpRepr::parse(&ArpPacket::new_unchecked(headers.l3())) else {
            self.counters.arp.drop("malformed");
            return;
        };
        self.counters.arp.recv += 1;
        let ours: Vec<Ipv4Addr> = self.config.ipv4.iter().map(|&(a, _)| a).collect();
        self.arp.handle_arp(now, &repr, &ours);
    }

    // ---- IPv4 ---------------------------------------------------------------------

    fn input_ipv4(&mut self, now: Instant, item: Item, udp: &mut Vec<UdpItem>) {
        let headers = item.layout.headers(item.buf.data());
        let ip = Ipv4Packet::new_unchecked(headers.l3());
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let local = Ipv4Local {
            addrs: &self.config.ipv4,
            groups: &[],
            forwarding: false,
        };
        let delivery = match accept_ipv4(src, dst, &local) {
            Ok(delivery) => delivery,
            Err(reason) => {
                self.counters.ipv4.drop(reason.as_str());
                return;
            }
        };
        self.counters.ipv4.recv += 1;
        let link_mcast = item.link_mcast || delivery != Ipv4Delivery::Local;
        if item.layout.transport() == Transport::Fragment {
            let key = FragKey::new(src, dst, ip.protocol(), u32::from(ip.ident()));
            let header = &headers.l3()[..ip.header_len()];
            let result = self.reasm4.handle_fragment_with_header(
                now,
                key,
                ip.frag_offset(),
                ip.more_frags(),
                header,
                ip.payload(),
            );
            match result {
                Ok(Some(datagram)) => self.input_reassembled_v4(now, &datagram, link_mcast),
                Ok(None) => {}
                Err(drop) => self.counters.ipv4.drop(drop.as_str()),
            }
            return;
        }
        match item.layout.transport() {
            Transport::Udp => udp.push(UdpItem {
                pair: IpPair::v4(src, dst),
                item: Item { link_mcast, ..item },
            }),
            Transport::Icmpv4 => {
                let message = headers.l4();
                self.input_icmpv4(now, src, dst, message, link_mcast);
            }
            Transport::Tcp => {
                self.counters.tcp.recv += 1;
                self.counters.tcp.drop("no_listener");
            }
            _ => {
                self.counters.ipv4.drop("proto");
                let error = V4Error::ProtoUnreachable;
                let datagram = headers.l3().to_vec();
                self.icmpv4_error(now, error, &datagram, link_mcast);
            }
        }
    }

    fn input_reassembled_v4(
        &mut self,
        now: Instant,
        datagram: &Reassembled<Ipv4Addr>,
        link_mcast: bool,
    ) {
        let key = datagram.key;
        let payload = &datagram.payload;
        match key.protocol {
            IpProtocol::Icmp => {
                let ok = Icmpv4Packet::new_checked(&payload[..])
                    .is_ok_and(|packet| packet.verify_checksum());
                if !ok {
                    self.counters.icmpv4.drop("checksum");
                    return;
                }
                self.input_icmpv4(now, key.src, key.dst, payload, link_mcast);
            }
            IpProtocol::Udp => {
                let pair = IpPair::v4(key.src, key.dst);
                self.input_udp_bytes(now, pair, payload, &datagram.header, link_mcast);
            }
            IpProtocol::Tcp => {
                self.counters.tcp.recv += 1;
                self.counters.tcp.drop("no_listener");
            }
            _ => {
                self.counters.ipv4.drop("proto");
                let mut whole = datagram.header.clone();
                whole.extend_from_slice(payload);
                self.icmpv4_error(now, V4Error::ProtoUnreachable, &whole, link_mcast);
            }
        }
    }

    fn input_icmpv4(
        &mut self,
        now: Instant,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        message: &[u8],
        link_mcast: bool,
    ) {
        let Ok(packet) = Icmpv4Packet::new_checked(message) else {
            self.counters.icmpv4.drop("truncated");
            return;
        };
        self.counters.icmpv4.recv += 1;
        match packet.msg_type() {
            Icmpv4Message::EchoRequest => {
                if link_mcast && !self.config.echo_broadcasts {
                    self.counters.icmpv4.drop("echo_broadcast");
                    return;
                }
                let source = if self.config.ipv4.iter().any(|&(a, _)| a == dst) {
                    dst
                } else {
                    match self.config.ipv4.first() {
                        Some(&(a, _)) => a,
                        None => return,
                    }
                };
                // The reply: the request with type 0, its checksum updated.
                let mut reply = message.to_vec();
                reply[0] = 0;
                let mut packet = Icmpv4Packet::new_unchecked(&mut reply[..]);
                packet.fill_checksum();
                self.counters.icmpv4.sent += 1;
                self.output_ipv4(now, source, src, IpProtocol::Icmp, &reply);
            }
            Icmpv4Message::EchoReply
            | Icmpv4Message::DstUnreachable
            | Icmpv4Message::TimeExceeded
            | Icmpv4Message::ParamProblem => {}
            _ => self.counters.icmpv4.drop("type"),
        }
    }

    // ---- IPv6 ---------------------------------------------------------------------

    fn input_ipv6(&mut self, now: Instant, item: Item, udp: &mut Vec<UdpItem>) {
        let headers = item.layout.headers(item.buf.data());
        let ip = Ipv6Packet::new_unchecked(headers.l3());
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let usable = self.usable_v6();
        let tentative: Vec<Ipv6Addr> = self
            .addrconf
            .addresses()
            .map(|info| info.addr)
            .filter(|a| !usable.contains(a))
            .collect();
        let mut groups = self.addrconf.groups();
        groups.extend(self.mld.groups());
        let local = Ipv6Local {
            addrs: &usable,
            tentative: &tentative,
            groups: &groups,
            forwarding: false,
        };
        let delivery = match accept_ipv6(&src, &dst, &local) {
            Ok(delivery) => delivery,
            Err(reason) => {
                self.counters.ipv6.drop(reason.as_str());
                return;
            }
        };
        self.counters.ipv6.recv += 1;
        let link_mcast = item.link_mcast || delivery == Ipv6Delivery::Multicast;
        let tentative = delivery == Ipv6Delivery::Tentative;
        if item.layout.transport() == Transport::Fragment {
            if tentative {
                self.counters.ipv6.drop("tentative");
                return;
            }
            self.input_fragment_v6(now, &ip, link_mcast);
            return;
        }
        match item.layout.transport() {
            Transport::Icmpv6 => {
                let message = headers.l4();
                self.input_icmpv6(
                    now,
                    src,
                    dst,
                    ip.hop_limit(),
                    message,
                    tentative,
                    link_mcast,
                );
            }
            _ if tentative => self.counters.ipv6.drop("tentative"),
            Transport::Udp => udp.push(UdpItem {
                pair: IpPair::v6(src, dst),
                item: Item { link_mcast, ..item },
            }),
            Transport::Tcp => {
                self.counters.tcp.recv += 1;
                self.counters.tcp.drop("no_listener");
            }
            Transport::Other(IpProtocol::Ipv6NoNxt) => {}
            _ => {
                // An unknown upper layer: parameter problem, code 1, at the
                // next-header field that named it (RFC 8200 §4).
                self.counters.ipv6.drop("proto");
                let pointer = upper_pointer(&ip);
                let packet = headers.l3().to_vec();
                self.icmpv6_error(
                    now,
                    V6Error::UnknownNextHeader(pointer),
                    &packet,
                    link_mcast,
                );
            }
        }
    }

    fn input_fragment_v6(&mut self, now: Instant, ip: &Ipv6Packet<&[u8]>, link_mcast: bool) {
        let payload = ip.payload();
        let Ok(chain) = ipv6ext::walk(ip.next_header(), payload, &ChainLimits::DEFAULT) else {
            self.counters.ipv6.drop("frag");
            return;
        };
        let Some(fragment) = chain.fragment else {
            return;
        };
        let data_at = fragment.header_offset + strata_l3l4::wire::ipv6frag::HEADER_LEN;
        let header_len = ipv6::HEADER_LEN + fragment.header_offset;
        let packet = ip.as_ref();
        let key = FragKey::new(
            ip.src_addr(),
            ip.dst_addr(),
            fragment.repr.next_header,
            fragment.repr.ident,
        );
        let result = self.reasm6.handle_fragment_with_header(
            now,
            key,
            fragment.repr.frag_offset,
            fragment.repr.more_frags,
            &packet[..header_len],
            &payload[data_at..],
        );
        match result {
            Ok(Some(datagram)) => {
                self.input_reassembled_v6(now, &datagram, ip.hop_limit(), link_mcast)
            }
            Ok(None) => {}
            Err(drop) => self.counters.ipv6.drop(drop.as_str()),
        }
    }

    fn input_reassembled_v6(
        &mut self,
        now: Instant,
        datagram: &Reassembled<Ipv6Addr>,
        hop_limit: u8,
        link_mcast: bool,
    ) {
        let key = datagram.key;
        let chain = match ipv6ext::walk(key.protocol, &datagram.payload, &ChainLimits::DEFAULT) {
            Ok(chain) if chain.fragment.is_none() => chain,
            Ok(_) | Err(ChainError::Drop(_)) | Err(ChainError::ParamProblem { .. }) => {
                self.counters.ipv6.drop("frag");
                return;
            }
        };
        let upper = &datagram.payload[chain.upper_offset..];
        match chain.upper {
            IpProtocol::Icmpv6 => {
                let ok = Icmpv6Packet::new_checked(upper)
                    .is_ok_and(|packet| packet.verify_checksum(&key.src, &key.dst));
                if !ok {
                    self.counters.icmpv6.drop("checksum");
                    return;
                }
                self.input_icmpv6(now, key.src, key.dst, hop_limit, upper, false, link_mcast);
            }
            IpProtocol::Udp => {
                let pair = IpPair::v6(key.src, key.dst);
                self.input_udp_bytes(now, pair, upper, &datagram.header, link_mcast);
            }
            IpProtocol::Tcp => {
                self.counters.tcp.recv += 1;
                self.counters.tcp.drop("no_listener");
            }
            _ => self.counters.ipv6.drop("proto"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn input_icmpv6(
        &mut self,
        now: Instant,
        src: Ipv6Addr,
        dst: Ipv6Addr,
        hop_limit: u8,
        message: &[u8],
        tentative: bool,
        link_mcast: bool,
    ) {
        let Ok(packet) = Icmpv6Packet::new_checked(message) else {
            self.counters.icmpv6.drop("truncated");
            return;
        };
        self.counters.icmpv6.recv += 1;
        let msg_type = packet.msg_type();
        if tentative && msg_type != Icmpv6Message::NeighborSolicit {
            self.counters.icmpv6.drop("tentative");
            return;
        }
        match msg_type {
            Icmpv6Message::EchoRequest => {
                if link_mcast && !self.config.echo_broadcasts {
                    self.counters.icmpv6.drop("echo_multicast");
                    return;
                }
                let source = if dst.is_multicast() {
                    match self.addrconf.usable_source(&src) {
                        Some(source) => source,
                        None => return,
                    }
                } else {
                    dst
                };
                let mut reply = message.to_vec();
                reply[0] = Icmpv6Message::EchoReply.into();
                let mut packet = Icmpv6Packet::new_unchecked(&mut reply[..]);
                packet.fill_checksum(&source, &src);
                self.counters.icmpv6.sent += 1;
                self.output_ipv6(now, source, src, IpProtocol::Icmpv6, &reply);
            }
            Icmpv6Message::RouterSolicit
            | Icmpv6Message::RouterAdvert
            | Icmpv6Message::NeighborSolicit
            | Icmpv6Message::NeighborAdvert
            | Icmpv6Message::Redirect => {
                let Ok(nd_packet) = NdiscPacket::new_checked(message) else {
                    self.counters.icmpv6.drop("nd_invalid");
                    return;
                };
                let Ok(repr) = NdiscRepr::parse(&nd_packet, &src, &dst, hop_limit, &VERIFIED)
                else {
                    self.counters.icmpv6.drop("nd_invalid");
                    return;
                };
                self.addrconf.handle_ndisc(now, src, &nd_packet);
                let ours = self.usable_v6();
                self.nd.handle_ndisc(now, src, dst, &repr, &ours);
            }
            Icmpv6Message::MldQuery => {
                self.mld
                    .handle_query(now, src, dst, hop_limit, message, &VERIFIED);
            }
            Icmpv6Message::EchoReply
            | Icmpv6Message::DstUnreachable
            | Icmpv6Message::PktTooBig
            | Icmpv6Message::TimeExceeded
            | Icmpv6Message::ParamProblem
            | Icmpv6Message::MldReport
            | Icmpv6Message::MldReportV2
            | Icmpv6Message::MldDone => {}
            _ => self.counters.icmpv6.drop("type"),
        }
    }

    // ---- UDP ----------------------------------------------------------------------

    fn input_udp(&mut self, now: Instant, udp: UdpItem) {
        let UdpItem { item, pair } = udp;
        let mut buf = item.buf;
        let (src_port, dst_port, payload_len) = {
            let headers = item.layout.headers(buf.data());
            let packet = UdpPacket::new_unchecked(headers.l4());
            (
                packet.src_port(),
                packet.dst_port(),
                usize::from(packet.len()) - 8,
            )
        };
        self.counters.udp.recv += 1;
        let (src_ip, dst_ip) = ip_addrs(&pair);
        let Some(socket) = self.udp.lookup(dst_ip, dst_port) else {
            self.counters.udp.drop("no_port");
            let headers = item.layout.headers(buf.data());
            let packet = headers.l3().to_vec();
            self.port_unreachable(now, &pair, &packet, item.link_mcast);
            return;
        };
        // The payload in place: the headers pulled off, the padding cut.
        let start = item.layout.l4_offset() + 8;
        if buf.pull(start).is_err() {
            self.counters.udp.drop("malformed");
            return;
        }
        buf.truncate(payload_len);
        let datagram = Datagram {
            payload: buf,
            src: SocketAddr::new(src_ip, src_port),
            dst: SocketAddr::new(dst_ip, dst_port),
        };
        if self.sockets[socket].push(datagram).is_err() {
            self.counters.udp.drop("socket_full");
        }
    }

    /// A UDP datagram from reassembly: checked, then copied into buffers.
    fn input_udp_bytes(
        &mut self,
        now: Instant,
        pair: IpPair,
        udp: &[u8],
        ip_header: &[u8],
        link_mcast: bool,
    ) {
        let Ok(packet) = UdpPacket::new_checked(udp) else {
            self.counters.udp.drop("length");
            return;
        };
        let Ok(repr) = UdpRepr::parse(&packet, &pair, &ChecksumCaps::software()) else {
            self.counters.udp.drop("checksum");
            return;
        };
        self.counters.udp.recv += 1;
        let (src_ip, dst_ip) = ip_addrs(&pair);
        let Some(socket) = self.udp.lookup(dst_ip, repr.dst_port) else {
            self.counters.udp.drop("no_port");
            let mut whole = ip_header.to_vec();
            whole.extend_from_slice(udp);
            self.port_unreachable(now, &pair, &whole, link_mcast);
            return;
        };
        let Some(payload) = self.chain_from(packet.payload()) else {
            self.counters.udp.drop("no_buffer");
            return;
        };
        let datagram = Datagram {
            payload,
            src: SocketAddr::new(src_ip, repr.src_port),
            dst: SocketAddr::new(dst_ip, repr.dst_port),
        };
        if self.sockets[socket].push(datagram).is_err() {
            self.counters.udp.drop("socket_full");
        }
    }

    fn port_unreachable(&mut self, now: Instant, pair: &IpPair, packet: &[u8], link_mcast: bool) {
        match pair {
            IpPair::V4 { .. } => {
                self.icmpv4_error(now, V4Error::PortUnreachable, packet, link_mcast);
            }
            IpPair::V6 { .. } => {
                self.icmpv6_error(now, V6Error::PortUnreachable, packet, link_mcast);
            }
        }
    }

    /// `bytes` copied into a chain of pool buffers.
    pub(super) fn chain_from(&mut self, bytes: &[u8]) -> Option<NetBuf> {
        let mut head: Option<NetBuf> = None;
        let mut rest = bytes;
        loop {
            let mut buf = self.pool.alloc().ok()?;
            let take = rest.len().min(buf.tailroom());
            buf.put(&rest[..take]).ok()?;
            rest = &rest[take..];
            match head.as_mut() {
                Some(head) => head.append(buf),
                None => head = Some(buf),
            }
            if rest.is_empty() {
                return head;
            }
        }
    }
}

fn ip_addrs(pair: &IpPair) -> (IpAddr, IpAddr) {
    match *pair {
        IpPair::V4 { src, dst } => (IpAddr::V4(src), IpAddr::V4(dst)),
        IpPair::V6 { src, dst } => (IpAddr::V6(src), IpAddr::V6(dst)),
    }
}

/// The parameter-problem pointer of an unknown upper layer: the next-header
/// field that named it.
fn upper_pointer(ip: &Ipv6Packet<&[u8]>) -> u32 {
    match ipv6ext::walk(ip.next_header(), ip.payload(), &ChainLimits::DEFAULT) {
        Ok(chain) => chain.upper_pointer,
        Err(_) => 6,
    }
}

/// The destination MAC for an IP multicast or broadcast destination.
pub(super) fn group_mac_v4(dst: Ipv4Addr) -> Option<EthernetAddress> {
    if dst.is_broadcast() {
        Some(EthernetAddress::BROADCAST)
    } else if dst.is_multicast() {
        Some(strata_l2::multicast_hardware_addr(dst))
    } else {
        None
    }
}

/// The IPv4 header length of a datagram (for quoting).
#[allow(dead_code)]
pub(super) fn ipv4_header_len(packet: &[u8]) -> usize {
    ipv4::Packet::new_checked(packet).map_or(0, |p| p.header_len())
}
