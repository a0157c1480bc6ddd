//! The receive stages of a [`Stack`]: L2 over the whole burst, then ARP, then
//! L3 (IPv4, IPv6), then L4 (UDP to sockets).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use strata_l2::{ArpPacket, ArpRepr, EthernetAddress, Instant, ETHERNET_HEADER_LEN};
use strata_l3l4::frame::{
    untagged_ipv4_udp, FrameError, FrameLayout, Network, Transport, Udp4Frame,
};
use strata_l3l4::ingress::{
    accept_ipv4, accept_ipv6, Ipv4Delivery, Ipv4Local, Ipv4UnicastRule, Ipv6Delivery, Ipv6Local,
};
use strata_l3l4::wire::ipv6ext::{self, ChainError, ChainLimits};
use strata_l3l4::wire::{ipv4, ipv6};
use strata_l3l4::{
    ChecksumCaps, FragKey, Icmpv4Message, Icmpv4Packet, Icmpv6Message, Icmpv6Packet, IpPair,
    IpProtocol, Ipv4Packet, Ipv6Packet, NdiscPacket, NdiscRepr, Reassembled, UdpPacket, UdpRepr,
};
use strata_pools::NetBuf;

use super::icmp::{V4Error, V6Error};
use super::Stack;
use crate::stats::{Stage, StageRecorder};

/// What the stages know of one frame of the burst, kept beside its buffer (the
/// buffers stay where the device put them until the burst is done: moving a
/// buffer from stage to stage costs more than the stages).
#[derive(Debug, Clone, Copy)]
pub(super) struct Meta {
    layout: FrameLayout,
    step: Step,
    link_mcast: bool,
    /// The socket a datagram goes to.
    socket: u32,
}

/// Where a frame of the burst stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// Dropped, counted, or consumed by a protocol: the buffer is freed.
    Done,
    Arp,
    Ipv4,
    Ipv6,
    /// A UDP datagram for L4.
    Udp,
    /// A UDP datagram for `socket`.
    Deliver,
}

/// The per-burst metadata, kept between bursts so the hot path does not
/// allocate.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    meta: Vec<Meta>,
    /// The frames the fast lane left for the stages.
    slow: Vec<NetBuf>,
    /// Datagrams on their way to one socket.
    batch: Vec<NetBuf>,
    /// The fast lane's verdict per frame: its socket, or [`NOT_FAST`].
    verdicts: Vec<usize>,
}

/// The fast lane's verdict on a frame it leaves for the stages.
const NOT_FAST: usize = usize::MAX;

/// What the fast lane checks a frame against, precomputed whenever the
/// interface's addresses change ([`FastLane::new`]).
#[derive(Debug, Clone, Copy)]
pub(super) struct FastLane {
    mac: [u8; 6],
    rule: Ipv4UnicastRule,
    caps: ChecksumCaps,
}

impl FastLane {
    /// The lane for an interface with this MAC, these IPv4 addresses and
    /// checksum capabilities; `None` (everything takes the stages) unless it
    /// has exactly one IPv4 address.
    pub(super) fn new(
        mac: EthernetAddress,
        ipv4: &[(Ipv4Addr, u8)],
        caps: ChecksumCaps,
    ) -> Option<FastLane> {
        Some(FastLane {
            mac: mac.0,
            rule: Ipv4UnicastRule::new(ipv4)?,
            caps,
        })
    }

    /// The frame's IPv4/UDP headers when it is an untagged IPv4/UDP frame to
    /// our MAC and address, from an acceptable source, every checksum the
    /// capabilities ask for good.
    #[inline(always)]
    fn admit(&self, frame: &[u8]) -> Option<Udp4Frame> {
        let dst: &[u8; 6] = frame.get(..6)?.try_into().ok()?;
        if *dst != self.mac {
            return None;
        }
        let udp4 = untagged_ipv4_udp(frame, &self.caps)?;
        self.rule.accepts(udp4.src, udp4.dst).then_some(udp4)
    }
}

/// What every checksum is trusted as once the header walk verified it.
const VERIFIED: ChecksumCaps = ChecksumCaps::offloaded();

impl Stack {
    /// Receives a burst of frames (taking every buffer out of `bufs`), runs
    /// them through the stack stage by stage, and queues whatever it answers
    /// for [`Stack::poll_transmit`].
    pub fn receive(&mut self, now: Instant, bufs: &mut Vec<NetBuf>) {
        self.receive_timed(now, bufs, None);
    }

    /// [`Stack::receive`], recording in `timing`'s recorder when each stage
    /// finished with the burst, measured from `timing`'s start (the moment
    /// the device handed the burst over): `rx_l2`, `rx_l3`, `rx_l4` and
    /// `rx_socket` (Zephyr's packet processing statistics). With `None`,
    /// exactly [`Stack::receive`]. Datagrams the L2 stage's fast lane
    /// delivers (IPv4 to a bound port) finish L3 and L4 within `rx_l2`.
    pub fn receive_timed(
        &mut self,
        now: Instant,
        bufs: &mut Vec<NetBuf>,
        mut timing: Option<(&mut StageRecorder, std::time::Instant)>,
    ) {
        let n = bufs.len() as u64;
        let mut mark = |stage: Stage| {
            if let Some((recorder, t0)) = timing.as_mut() {
                recorder.stage_done(stage, Some(*t0), n);
            }
        };
        if !self.up {
            self.counters.eth.drop_n("down", bufs.len() as u64);
            bufs.clear();
            return;
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        if let Some(lane) = self.lane {
            self.fast_lane(&lane, bufs, &mut scratch);
            std::mem::swap(bufs, &mut scratch.slow);
        }
        let meta = &mut scratch.meta;
        meta.clear();
        self.stage_l2(bufs, meta);
        mark(Stage::RxL2);
        let mut arp = false;
        for (buf, m) in bufs.iter().zip(meta.iter_mut()) {
            if m.step == Step::Arp {
                self.input_arp(now, buf, m);
                arp = true;
            }
        }
        if arp {
            // ARP replies leave before the answers that needed them.
            self.drain_protocols(now);
        }
        for (buf, m) in bufs.iter().zip(meta.iter_mut()) {
            match m.step {
                Step::Ipv4 => self.input_ipv4(now, buf, m),
                Step::Ipv6 => self.input_ipv6(now, buf, m),
                _ => {}
            }
        }
        mark(Stage::RxL3);
        for (buf, m) in bufs.iter_mut().zip(meta.iter_mut()) {
            if m.step == Step::Udp {
                self.input_udp(now, buf, m);
            }
        }
        mark(Stage::RxL4);
        self.deliver(bufs, meta);
        mark(Stage::RxSocket);
        self.scratch = scratch;
        if self.touched {
            self.drain_protocols(now);
        }
    }

    fn stage_l2(&mut self, bufs: &mut [NetBuf], meta: &mut Vec<Meta>) {
        let caps = self.config.caps;
        let mac = self.config.mac;
        for buf in bufs {
            let mut m = Meta {
                layout: FrameLayout::EMPTY,
                step: Step::Done,
                link_mcast: false,
                socket: 0,
            };
            match FrameLayout::parse_checked(buf.data(), &caps) {
                Ok(Some(layout)) => m.layout = layout,
                Ok(None) => self.counters.eth.drop("too_long"),
                Err(error) => self.frame_error(error),
            }
            if m.layout != FrameLayout::EMPTY {
                m.step = self.classify_l2(buf, &mut m, mac);
            }
            meta.push(m);
        }
    }

    /// The common case, the whole burst at once before the stages: an
    /// untagged IPv4/UDP frame to our MAC and our (single) address, from an
    /// acceptable source, with good checksums, to a bound port goes straight
    /// into its socket's ring, counted as L2, L3 and L4 count it. Everything
    /// else — anything the lane is not sure of, including every error — is
    /// moved to `scratch.slow` in order for the stages, which judge and count
    /// it; nothing is counted twice. (A datagram the stages deliver to the
    /// same socket in the same burst lands after the lane's: UDP promises
    /// no order, and it differs from them in shape — tagged, with options,
    /// fragmented.)
    ///
    /// Two passes: the first judges every frame where it lies (trimming the
    /// admitted ones to their IP datagrams), the second moves the buffers —
    /// or, when the whole burst is for one socket, the burst goes into its
    /// ring in one move.
    fn fast_lane(&mut self, lane: &FastLane, bufs: &mut Vec<NetBuf>, scratch: &mut Scratch) {
        let Scratch {
            slow,
            batch,
            verdicts,
            ..
        } = scratch;
        slow.clear();
        verdicts.clear();
        // The last lookup: consecutive datagrams to one port skip the table.
        let mut last: Option<(u16, usize)> = None;
        let (mut first, mut uniform) = (None, true);
        for buf in bufs.iter_mut() {
            let socket = self.admit(lane, buf, &mut last);
            uniform &= *first.get_or_insert(socket) == socket;
            verdicts.push(socket);
        }
        // The common case: the whole burst for one socket, moved once.
        if let Some(socket) = first.filter(|&socket| uniform && socket != NOT_FAST) {
            let n = bufs.len() as u64;
            self.push_to_socket(socket, bufs);
            self.counters.eth.recv += n;
            self.counters.ipv4.recv += n;
            self.counters.udp.recv += n;
            return;
        }
        let mut batch_socket = usize::MAX;
        let mut delivered = 0u64;
        for (buf, &socket) in bufs.drain(..).zip(verdicts.iter()) {
            if socket == NOT_FAST {
                slow.push(buf);
                continue;
            }
            if socket != batch_socket {
                self.push_to_socket(batch_socket, batch);
                batch_socket = socket;
            }
            batch.push(buf);
            delivered += 1;
        }
        self.push_to_socket(batch_socket, batch);
        self.counters.eth.recv += delivered;
        self.counters.ipv4.recv += delivered;
        self.counters.udp.recv += delivered;
    }

    /// The fast lane's verdict on one frame: the socket its datagram goes
    /// to, the buffer trimmed to the IP datagram; or `NOT_FAST`, the buffer
    /// untouched.
    #[inline(always)]
    fn admit(&self, lane: &FastLane, buf: &mut NetBuf, last: &mut Option<(u16, usize)>) -> usize {
        // Devices hand over one frame per buffer.
        if buf.next().is_some() {
            return NOT_FAST;
        }
        let Some(udp4) = lane.admit(buf.data()) else {
            return NOT_FAST;
        };
        let socket = match *last {
            Some((port, socket)) if port == udp4.dst_port => socket,
            _ => {
                let dst = IpAddr::V4(Ipv4Addr::from(udp4.dst));
                match self.udp.lookup(dst, udp4.dst_port) {
                    Some(socket) => {
                        *last = Some((udp4.dst_port, socket));
                        socket
                    }
                    None => return NOT_FAST,
                }
            }
        };
        // The 42 bytes of headers the lane read are there to pull.
        if buf.pull(ETHERNET_HEADER_LEN).is_err() {
            return NOT_FAST;
        }
        buf.truncate(udp4.ip_len);
        socket
    }

    /// Moves `batch` into socket `socket`'s ring (none for `usize::MAX`);
    /// what does not fit is dropped and counted.
    #[inline]
    fn push_to_socket(&mut self, socket: usize, batch: &mut Vec<NetBuf>) {
        if batch.is_empty() {
            return;
        }
        if let Some(ring) = self.sockets.get_mut(socket) {
            let _ = ring.push_burst(batch);
        }
        if !batch.is_empty() {
            self.counters.udp.drop_n("socket_full", batch.len() as u64);
            batch.clear();
        }
    }

    fn classify_l2(&mut self, buf: &NetBuf, m: &mut Meta, mac: EthernetAddress) -> Step {
        let dst = EthernetAddress::from_bytes(&buf.data()[..6]).unwrap_or(mac);
        m.link_mcast = dst.is_broadcast() || dst.is_multicast();
        if dst != mac && !m.link_mcast {
            self.counters.eth.drop("not_ours");
            return Step::Done;
        }
        if m.layout.outer_vid().is_some_and(|vid| vid != 0) {
            self.counters.eth.drop("vlan");
            return Step::Done;
        }
        if buf.next().is_some() {
            // Devices hand over one frame per buffer.
            self.counters.eth.drop("chained");
            return Step::Done;
        }
        self.counters.eth.recv += 1;
        match m.layout.network() {
            Network::Arp => Step::Arp,
            Network::Ipv4 => Step::Ipv4,
            Network::Ipv6 => Step::Ipv6,
            Network::Other(_) => {
                self.counters.eth.drop("unknown_ethertype");
                Step::Done
            }
        }
    }

    fn frame_error(&mut self, error: FrameError) {
        self.counters
            .by_name_mut(error.protocol())
            .drop(error.reason());
    }

    fn input_arp(&mut self, now: Instant, buf: &NetBuf, m: &mut Meta) {
        m.step = Step::Done;
        self.touched = true;
        let headers = m.layout.headers(buf.data());
        let Ok(repr) = ArpRepr::parse(&ArpPacket::new_unchecked(headers.l3())) else {
            self.counters.arp.drop("malformed");
            return;
        };
        self.counters.arp.recv += 1;
        self.arp.handle_arp(now, &repr, &self.addrs.v4);
    }

    // ---- IPv4 ---------------------------------------------------------------------

    fn input_ipv4(&mut self, now: Instant, buf: &NetBuf, m: &mut Meta) {
        m.step = Step::Done;
        let datagram = &buf.data()[m.layout.l3_offset()..m.layout.l3_end()];
        let ip = Ipv4Packet::new_unchecked(datagram);
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
        let link_mcast = m.link_mcast || delivery != Ipv4Delivery::Local;
        if m.layout.transport() == Transport::Fragment {
            let key = FragKey::new(src, dst, ip.protocol(), u32::from(ip.ident()));
            let header = &datagram[..ip.header_len()];
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
        match m.layout.transport() {
            Transport::Udp => {
                m.link_mcast = link_mcast;
                m.step = Step::Udp;
            }
            Transport::Icmpv4 => {
                let message = &datagram[m.layout.l4_offset() - m.layout.l3_offset()..];
                self.input_icmpv4(now, src, dst, message, link_mcast);
            }
            Transport::Tcp => {
                self.counters.tcp.recv += 1;
                self.counters.tcp.drop("no_listener");
            }
            _ => {
                self.counters.ipv4.drop("proto");
                let error = V4Error::ProtoUnreachable;
                let datagram = datagram.to_vec();
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
            Icmpv4Message::EchoReply => {
                self.ping_reply(
                    IpAddr::V4(src),
                    packet.echo_ident(),
                    packet.echo_seq_no(),
                    packet.data(),
                );
            }
            Icmpv4Message::DstUnreachable
            | Icmpv4Message::TimeExceeded
            | Icmpv4Message::ParamProblem => {}
            _ => self.counters.icmpv4.drop("type"),
        }
    }

    // ---- IPv6 ---------------------------------------------------------------------

    fn input_ipv6(&mut self, now: Instant, buf: &NetBuf, m: &mut Meta) {
        m.step = Step::Done;
        let headers = m.layout.headers(buf.data());
        let ip = Ipv6Packet::new_unchecked(headers.l3());
        let (src, dst) = (ip.src_addr(), ip.dst_addr());
        let local = Ipv6Local {
            addrs: &self.addrs.v6_usable,
            tentative: &self.addrs.v6_tentative,
            groups: &self.addrs.v6_groups,
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
        let link_mcast = m.link_mcast || delivery == Ipv6Delivery::Multicast;
        let tentative = delivery == Ipv6Delivery::Tentative;
        if m.layout.transport() == Transport::Fragment {
            if tentative {
                self.counters.ipv6.drop("tentative");
                return;
            }
            self.input_fragment_v6(now, &ip, link_mcast);
            return;
        }
        match m.layout.transport() {
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
            Transport::Udp => {
                m.link_mcast = link_mcast;
                m.step = Step::Udp;
            }
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
        // Neighbour discovery, MLD or an echo answer may leave work behind.
        self.touched = true;
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
                self.nd
                    .handle_ndisc(now, src, dst, &repr, &self.addrs.v6_usable);
            }
            Icmpv6Message::MldQuery => {
                self.mld
                    .handle_query(now, src, dst, hop_limit, message, &VERIFIED);
            }
            Icmpv6Message::EchoReply => {
                self.ping_reply(
                    IpAddr::V6(src),
                    packet.echo_ident(),
                    packet.echo_seq_no(),
                    packet.data(),
                );
            }
            Icmpv6Message::DstUnreachable
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

    fn input_udp(&mut self, now: Instant, buf: &mut NetBuf, m: &mut Meta) {
        m.step = Step::Done;
        let layout = m.layout;
        let data = buf.data();
        let l4 = layout.l4_offset();
        let dst_port = u16::from_be_bytes([data[l4 + 2], data[l4 + 3]]);
        let l3 = layout.l3_offset();
        let dst_ip = if layout.network() == Network::Ipv4 {
            let octets: [u8; 4] = data[l3 + 16..l3 + 20].try_into().unwrap_or([0; 4]);
            IpAddr::V4(Ipv4Addr::from(octets))
        } else {
            let octets: [u8; 16] = data[l3 + 24..l3 + 40].try_into().unwrap_or([0; 16]);
            IpAddr::V6(Ipv6Addr::from(octets))
        };
        self.counters.udp.recv += 1;
        match self.udp.lookup(dst_ip, dst_port) {
            Some(socket) => {
                // In place: the Ethernet header pulled off, the padding cut, so
                // that the datagram starts at its IP header.
                let end = layout.l3_end() - l3;
                if buf.pull(l3).is_ok() {
                    buf.truncate(end);
                    m.socket = socket as u32;
                    m.step = Step::Deliver;
                }
            }
            None => {
                self.counters.udp.drop("no_port");
                let headers = layout.headers(data);
                let packet = headers.l3().to_vec();
                if let Some(pair) = headers.ip_pair() {
                    self.port_unreachable(now, &pair, &packet, m.link_mcast);
                }
            }
        }
    }

    /// Hands the burst's datagrams to their sockets' rings, in their buffers
    /// as received, and frees the rest. When the whole burst goes to one
    /// socket (the common case under load) it moves in one bulk copy.
    fn deliver(&mut self, bufs: &mut Vec<NetBuf>, meta: &[Meta]) {
        let Some(first) = meta.first() else {
            return;
        };
        let one_socket = meta
            .iter()
            .all(|m| m.step == Step::Deliver && m.socket == first.socket);
        if one_socket {
            let ring = &mut self.sockets[first.socket as usize];
            let _ = ring.push_burst(bufs);
            if !bufs.is_empty() {
                self.counters.udp.drop_n("socket_full", bufs.len() as u64);
                bufs.clear();
            }
            return;
        }
        for (buf, m) in bufs.drain(..).zip(meta) {
            if m.step == Step::Deliver && self.sockets[m.socket as usize].push(buf).is_err() {
                self.counters.udp.drop("socket_full");
            }
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
        let _ = src_ip;
        // The headers, then the payload, copied into a chain of buffers.
        let mut whole = Vec::with_capacity(ip_header.len() + udp.len());
        whole.extend_from_slice(ip_header);
        whole.extend_from_slice(udp);
        let Some(buf) = self.chain_from(&whole) else {
            self.counters.udp.drop("no_buffer");
            return;
        };
        let _ = repr;
        if self.sockets[socket].push(buf).is_err() {
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
