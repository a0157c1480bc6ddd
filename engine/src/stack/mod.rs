//! One interface's protocol stack: what happens to a burst of received frames
//! between the device and the sockets, and to a datagram between a socket and
//! the device (DESIGN.md, "Data flow"). The protocol crates' pieces — header
//! walk, ARP and neighbour caches, address autoconfiguration, MLD, reassembly,
//! ICMP rules, UDP demultiplexing — are wired together here.
//!
//! Like the protocol code, a [`Stack`] does no I/O and reads no clock: the
//! caller (a worker, or `strata replay`) hands it bursts with the time,
//! collects the frames to transmit with [`Stack::poll_transmit`], and calls
//! [`Stack::handle_timeout`] at [`Stack::poll_at`]. Work moves in stages over
//! the whole burst: every frame passes L2 before any reaches L3, and so on.
//!
//! Receive, by stage (after the fast lane: the common case — an untagged
//! IPv4/UDP frame to our MAC and single address, from an acceptable source,
//! checksums good, to a bound port — goes over the whole burst straight into
//! the socket's ring, counted as the stages count it; a property-tested rule
//! and a differential test keep it deciding exactly as the stages):
//! - **L2**: the one-pass header walk with checksum validation
//!   ([`strata_l3l4::frame::FrameLayout::parse_checked`], checksums the device verified are
//!   trusted), the destination MAC (ours, broadcast, or multicast), untagged or
//!   priority-tagged frames only;
//! - **ARP**: the cache answers requests for our addresses and learns;
//! - **L3**: the address rules ([`strata_l3l4::ingress`]), reassembly of
//!   fragments, ICMP (echo answered in place, in the same buffer), neighbour
//!   discovery, MLD queries and autoconfiguration;
//! - **L4**: UDP to the bound socket's ring, without copying (the buffer's
//!   data becomes the payload); a closed port draws a port unreachable.
//!
//! ICMP errors follow [`strata_l3l4::icmp`]'s rules and a token bucket. Every
//! drop is counted under a named reason ([`StackCounters`]).
//!
//! Transmit: frames wait for the device in one queue per priority (0 to 7,
//! [`PRIORITIES`]), drained highest first. A socket's datagrams carry its
//! priority ([`UdpSocket::set_priority`]), also while they wait for ARP or
//! neighbour resolution ([`Parked`]); the stack's own ARP, neighbour
//! discovery, router solicitation and MLD frames go at [`CONTROL_PRIORITY`];
//! answers (echo replies, ICMP errors) at 0.

mod counters;
mod icmp;
mod mgmt;
mod ping;
mod rx;
mod tx;

use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use strata_l2::{ArpCache, ArpConfig, EthernetAddress, Instant};
use strata_l3l4::icmp::RateLimiter;
use strata_l3l4::route::RouteTable;
use strata_l3l4::udp_demux::{BindError, UdpDemux};
use strata_l3l4::{
    AddrConf, AddrConfConfig, AddrLifetimes, ChecksumCaps, Ipv4Reassembler, Ipv6Reassembler,
    MldConfig, MldListener, NdCache, NdConfig, ReassemblyConfig,
};
use strata_pools::{NetBuf, Pool};
use strata_queues::spsc::{self, Consumer, Producer};

pub use counters::{ProtoCount, StackCounters, PROTOCOLS};
pub use mgmt::{MgmtEvent, EVENT_QUEUE};

/// How an interface is set up.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The interface's name.
    pub name: String,
    /// Its Ethernet address.
    pub mac: EthernetAddress,
    /// Its MTU (IP packet size), at least 1280.
    pub mtu: usize,
    /// IPv4 addresses with prefix lengths.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses with prefix lengths (a link-local one is formed from the
    /// MAC as well).
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// IPv4 default gateway.
    pub gateway4: Option<Ipv4Addr>,
    /// Static IPv4 routes: prefix, length, gateway (`ip route add P/L via G`).
    pub routes4: Vec<(Ipv4Addr, u8, Ipv4Addr)>,
    /// Static IPv6 routes: prefix, length, gateway.
    pub routes6: Vec<(Ipv6Addr, u8, Ipv6Addr)>,
    /// Which checksums the device verifies and fills in.
    pub caps: ChecksumCaps,
    /// Duplicate address detection probes per IPv6 address (RFC 4862; 0 turns
    /// it off: addresses are usable at once, as `strata replay` needs).
    pub dad_transmits: u8,
    /// Send router solicitations (and learn addresses from advertisements).
    pub autoconf: bool,
    /// Answer pings sent to a broadcast or multicast address (Linux's
    /// `icmp_echo_ignore_broadcasts` inverted; off by default, as there).
    pub echo_broadcasts: bool,
    /// Frames each UDP socket's receive ring holds.
    pub socket_ring: usize,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            name: "eth0".to_owned(),
            mac: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            mtu: 1500,
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            gateway4: None,
            routes4: Vec::new(),
            routes6: Vec::new(),
            caps: ChecksumCaps::software(),
            dad_transmits: 1,
            autoconf: true,
            echo_broadcasts: false,
            socket_ring: 1024,
        }
    }
}

/// A datagram received on a UDP socket, in the buffer it arrived in: the data
/// starts at the IP header (the Ethernet header is pulled off, the padding cut),
/// so the addresses and ports are read from the headers when asked for. One
/// buffer handle (24 bytes), never copied on the way in.
#[derive(Debug)]
pub struct Datagram(pub(crate) NetBuf);

impl Datagram {
    /// Where the UDP header starts and how long the payload is.
    fn udp_at(&self) -> Option<(usize, usize)> {
        let data = self.0.data();
        let first = *data.first()?;
        let l4 = match first >> 4 {
            4 => usize::from(first & 0x0f) * 4,
            6 if data.get(6) == Some(&17) => 40,
            6 => {
                let next = strata_l3l4::IpProtocol::from(*data.get(6)?);
                let chain = strata_l3l4::wire::ipv6ext::walk(
                    next,
                    data.get(40..)?,
                    &strata_l3l4::wire::ipv6ext::ChainLimits::DEFAULT,
                )
                .ok()?;
                40 + chain.upper_offset
            }
            _ => return None,
        };
        let len = u16::from_be_bytes([*data.get(l4 + 4)?, *data.get(l4 + 5)?]);
        Some((l4, usize::from(len).saturating_sub(8)))
    }

    /// The payload (for a reassembled datagram longer than one buffer, its first
    /// part: see [`Datagram::payload_len`] and [`Datagram::copy_payload`]).
    pub fn payload(&self) -> &[u8] {
        let data = self.0.data();
        let Some((l4, len)) = self.udp_at() else {
            return &[];
        };
        let start = (l4 + 8).min(data.len());
        let end = (start + len).min(data.len());
        &data[start..end]
    }

    /// Where the payload starts in the buffer: pull this many bytes from
    /// [`Datagram::into_buf`]'s buffer to keep only the payload (and send it
    /// back with the headroom for new headers).
    pub fn payload_start(&self) -> usize {
        self.udp_at().map_or(0, |(l4, _)| l4 + 8)
    }

    /// The payload's length.
    pub fn payload_len(&self) -> usize {
        self.udp_at().map_or(0, |(_, len)| len)
    }

    /// Copies the whole payload to `out`; returns the bytes copied.
    pub fn copy_payload(&self, out: &mut [u8]) -> usize {
        let Some((l4, len)) = self.udp_at() else {
            return 0;
        };
        let mut skip = l4 + 8;
        let mut left = len.min(out.len());
        let mut at = 0;
        for slice in self.0.slices() {
            if left == 0 {
                break;
            }
            if skip >= slice.len() {
                skip -= slice.len();
                continue;
            }
            let part = &slice[skip..];
            skip = 0;
            let take = part.len().min(left);
            out[at..at + take].copy_from_slice(&part[..take]);
            at += take;
            left -= take;
        }
        at
    }

    fn addr_and_port(&self, source: bool) -> Option<SocketAddr> {
        let (l4, _) = self.udp_at()?;
        self.addr_and_port_at(l4, source)
    }

    /// The address and port of one end, the UDP header being at `l4`.
    fn addr_and_port_at(&self, l4: usize, source: bool) -> Option<SocketAddr> {
        let data = self.0.data();
        let port_at = if source { l4 } else { l4 + 2 };
        let port = u16::from_be_bytes([*data.get(port_at)?, *data.get(port_at + 1)?]);
        let ip = if data[0] >> 4 == 6 {
            let at = if source { 8 } else { 24 };
            let octets: [u8; 16] = data.get(at..at + 16)?.try_into().ok()?;
            IpAddr::V6(Ipv6Addr::from(octets))
        } else {
            let at = if source { 12 } else { 16 };
            let octets: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            IpAddr::V4(Ipv4Addr::from(octets))
        };
        Some(SocketAddr::new(ip, port))
    }

    /// The sender.
    pub fn src(&self) -> SocketAddr {
        self.addr_and_port(true)
            .unwrap_or(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
    }

    /// The address and port it was sent to.
    pub fn dst(&self) -> SocketAddr {
        self.addr_and_port(false)
            .unwrap_or(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), 0))
    }

    /// The payload alone, in its buffer (the headers pulled off, their room
    /// left for an answer's), and the sender: what an echo sends back.
    /// `None` when the headers cannot be read.
    pub fn into_payload(self) -> Option<(NetBuf, SocketAddr)> {
        let (l4, _) = self.udp_at()?;
        let src = self.addr_and_port_at(l4, true)?;
        let mut buf = self.0;
        buf.pull(l4 + 8).ok()?;
        Some((buf, src))
    }

    /// The buffer, from the IP header on.
    pub fn into_buf(self) -> NetBuf {
        self.0
    }
}

/// The application's end of a UDP socket bound on a [`Stack`].
///
/// It lives on the application's thread: received datagrams arrive through
/// one SPSC ring, datagrams to send leave through another, which the stack's
/// worker drains ([`Stack::flush_sockets`]). Neither side ever waits for the
/// other.
#[derive(Debug)]
pub struct UdpSocket {
    local: SocketAddr,
    rx: Consumer<NetBuf>,
    tx: Producer<Outgoing>,
    pool: Pool,
    scratch: Vec<NetBuf>,
    /// Datagrams [`UdpSocket::queue_buf`] holds until a burst is full or
    /// [`UdpSocket::flush`].
    queued: Vec<Outgoing>,
    /// Datagrams sent, for sampling their send time.
    sends: u32,
    /// The priority its datagrams leave with ([`UdpSocket::set_priority`]).
    priority: u8,
}

/// A datagram on its way from a socket to the stack.
#[derive(Debug)]
pub(crate) struct Outgoing {
    payload: NetBuf,
    dst: SocketAddr,
    /// When the application sent it, for one datagram in [`SEND_SAMPLE`]
    /// (the transmit stages are timed from here).
    sent_at: Option<std::time::Instant>,
    /// Its socket's priority when it was sent.
    priority: u8,
}

/// A frame waiting for its neighbour's link-layer address (in the ARP or
/// neighbour cache), with the priority it leaves with.
#[derive(Debug)]
pub struct Parked {
    priority: u8,
    buf: NetBuf,
}

impl Parked {
    /// The frame.
    pub fn frame(&self) -> &NetBuf {
        &self.buf
    }

    /// The priority it leaves with.
    pub fn priority(&self) -> u8 {
        self.priority
    }
}

pub use ping::{PingReply, PING_KEPT, PING_QUEUE};

/// Frame priorities: 0 to 7, as 802.1Q's PCP values.
pub const PRIORITIES: usize = 8;

/// The priority of the stack's own frames (ARP, neighbour discovery, router
/// solicitation, MLD reports): 802.1Q's "network control", so that
/// resolving a neighbour never waits behind bulk data.
pub const CONTROL_PRIORITY: u8 = 7;

/// One datagram in this many sent through a socket's ring carries its send
/// time (a clock read per datagram would cost more than the send).
pub const SEND_SAMPLE: u32 = 16;

impl UdpSocket {
    /// The address and port it is bound to (unspecified: any of ours).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next datagram received, if any.
    pub fn recv(&mut self) -> Option<Datagram> {
        self.rx.pop().map(Datagram)
    }

    /// Moves up to `max` received datagrams to `out`; returns how many.
    pub fn recv_burst(&mut self, out: &mut Vec<Datagram>, max: usize) -> usize {
        let n = self.rx.pop_burst(&mut self.scratch, max);
        out.extend(self.scratch.drain(..).map(Datagram));
        n
    }

    /// Moves up to `max` received datagrams' buffers to `out` (each from its IP
    /// header on, as [`Datagram::into_buf`] gives it); returns how many. The
    /// cheapest way to drain a socket.
    pub fn recv_bufs(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        self.rx.pop_burst(out, max)
    }

    /// The next datagram's payload copied into `buf`, with its sender: the
    /// BSD `recv_from` (a payload longer than `buf` is cut, as there).
    pub fn recv_from(&mut self, buf: &mut [u8]) -> Option<(usize, SocketAddr)> {
        let datagram = self.recv()?;
        Some((datagram.copy_payload(buf), datagram.src()))
    }

    /// A buffer from the stack's pool with room for the headers in front, to
    /// fill and hand to [`UdpSocket::send_buf`] (no copy on the way out).
    ///
    /// # Errors
    ///
    /// [`SendError::NoBuffer`] when the pool is empty.
    pub fn alloc(&self) -> Result<NetBuf, SendError> {
        self.pool.alloc().map_err(|_| SendError::NoBuffer)
    }

    /// Queues `payload` (the buffer's data) for `dst`; the headers are pushed
    /// in front of it in the buffer's headroom.
    ///
    /// # Errors
    ///
    /// [`SendError::WouldBlock`] when the socket's send ring is full (the
    /// buffer is dropped).
    pub fn send_buf(&mut self, payload: NetBuf, dst: SocketAddr) -> Result<(), SendError> {
        let out = self.outgoing(payload, dst);
        self.tx.push(out).map_err(|_| SendError::WouldBlock)
    }

    fn outgoing(&mut self, payload: NetBuf, dst: SocketAddr) -> Outgoing {
        self.sends = self.sends.wrapping_add(1);
        let sent_at = (self.sends % SEND_SAMPLE == 0).then(std::time::Instant::now);
        Outgoing {
            payload,
            dst,
            sent_at,
            priority: self.priority,
        }
    }

    /// Sets the priority (0 to 7, as 802.1Q's PCP and Linux's `SO_PRIORITY`
    /// for the usual values) of the datagrams sent from now on. The stack
    /// queues its frames for the device by priority, highest first, and a
    /// pipeline worker hands them to the device through the traffic class
    /// ring the priority maps to (`strata_queues::classes::PriorityMap`).
    /// The default is 0 (best effort).
    ///
    /// # Errors
    ///
    /// [`SocketError::Priority`] for a value above 7.
    pub fn set_priority(&mut self, priority: u8) -> Result<(), SocketError> {
        if usize::from(priority) >= PRIORITIES {
            return Err(SocketError::Priority(priority));
        }
        self.priority = priority;
        Ok(())
    }

    /// The priority its datagrams leave with.
    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// Like [`UdpSocket::send_buf`], batched: the datagram waits in the socket
    /// until 32 are queued or [`UdpSocket::flush`] is called, then they move
    /// to the stack in one burst (one hand-over between cores instead of one
    /// per datagram).
    ///
    /// # Errors
    ///
    /// [`SendError::WouldBlock`] when the send ring had no room for a full
    /// batch: the datagrams that did not fit are dropped.
    pub fn queue_buf(&mut self, payload: NetBuf, dst: SocketAddr) -> Result<(), SendError> {
        let out = self.outgoing(payload, dst);
        self.queued.push(out);
        if self.queued.len() >= 32 {
            return self.flush();
        }
        Ok(())
    }

    /// Hands every datagram [`UdpSocket::queue_buf`] holds to the stack.
    ///
    /// # Errors
    ///
    /// [`SendError::WouldBlock`] when the send ring had no room for all of
    /// them: the rest are dropped.
    pub fn flush(&mut self) -> Result<(), SendError> {
        let _ = self.tx.push_burst(&mut self.queued);
        if self.queued.is_empty() {
            Ok(())
        } else {
            self.queued.clear();
            Err(SendError::WouldBlock)
        }
    }

    /// Copies `data` into a pool buffer and queues it for `dst`: the BSD
    /// `send_to`.
    ///
    /// # Errors
    ///
    /// [`SendError::NoBuffer`] when the pool is empty, [`SendError::TooLong`]
    /// for more than a buffer holds (fragmented sends go through
    /// [`Stack::send_udp`] with a chain), [`SendError::WouldBlock`] when the
    /// send ring is full.
    pub fn send_to(&mut self, data: &[u8], dst: SocketAddr) -> Result<(), SendError> {
        let mut buf = self.alloc()?;
        buf.put(data).map_err(|_| SendError::TooLong)?;
        self.send_buf(buf, dst)
    }
}

/// Why a socket could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    /// The address and port cannot be bound.
    #[error("cannot bind: {0}")]
    Bind(#[from] BindError),
    /// The address is not one of this interface's.
    #[error("{0} is not an address of this interface")]
    NotLocal(IpAddr),
    /// The ring size is not a power of two in range.
    #[error("socket ring: {0}")]
    Ring(#[from] strata_queues::CapacityError),
    /// A priority above 7.
    #[error("priority {0} is not one of 0 to 7")]
    Priority(u8),
}

/// Why a datagram could not be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// No route or source address for the destination.
    #[error("no route to host")]
    NoRoute,
    /// No buffer for the headers (pool empty, or no headroom).
    #[error("no buffer")]
    NoBuffer,
    /// The payload does not fit one datagram (65507 bytes over IPv4).
    #[error("message too long")]
    TooLong,
    /// The socket's send ring is full: try again once the stack drained it.
    #[error("send ring full")]
    WouldBlock,
}

/// One interface's stack. See the module documentation.
#[derive(Debug)]
pub struct Stack {
    config: StackConfig,
    pool: Pool,
    arp: ArpCache<Parked>,
    nd: NdCache<Parked>,
    addrconf: AddrConf,
    mld: MldListener,
    reasm4: Ipv4Reassembler,
    reasm6: Ipv6Reassembler,
    icmp4_limit: RateLimiter,
    icmp6_limit: RateLimiter,
    udp: UdpDemux<usize>,
    sockets: Vec<Producer<NetBuf>>,
    /// The sockets' send rings and the addresses they are bound to.
    socket_tx: Vec<(SocketAddr, Consumer<Outgoing>)>,
    /// Scratch for [`Stack::flush_sockets`].
    outgoing: Vec<Outgoing>,
    /// Frames ready for the device, one queue per priority.
    tx: [VecDeque<NetBuf>; PRIORITIES],
    /// Frames in all of `tx`.
    tx_len: usize,
    /// The priority of what is being sent right now (a socket's datagram,
    /// or the protocols' own frames at [`CONTROL_PRIORITY`]).
    out_priority: u8,
    counters: StackCounters,
    ident: u16,
    /// Scratch space for one burst's stages, reused.
    scratch: rx::Scratch,
    /// A protocol state machine (ARP, ND, autoconfiguration, MLD) was handed
    /// something since its output was last drained: a burst of plain UDP
    /// skips the drain.
    touched: bool,
    /// Management events for the application.
    events: mgmt::Events,
    /// Administratively up.
    up: bool,
    /// IPv4 routes: the connected prefixes, static routes and the default
    /// gateway, longest prefix first.
    routes4: RouteTable<Ipv4Addr>,
    /// The last IPv4 lookup (destination, next hop): consecutive packets to
    /// one destination skip the table. Cleared when the table changes.
    last_route4: Option<(Ipv4Addr, Ipv4Addr)>,
    /// IPv6 routes: the configured prefixes and static routes (routers and
    /// on-link prefixes learnt from advertisements come after).
    routes6: RouteTable<Ipv6Addr>,
    /// The address sets the receive path checks against, kept current by
    /// [`Stack::refresh_addresses`] so that no packet allocates them.
    addrs: AddressSets,
    /// The receive path's fast lane for IPv4/UDP, when the interface has one
    /// IPv4 address (kept current with the addresses).
    lane: Option<rx::FastLane>,
    /// Echo replies for the application ([`Stack::send_ping`]).
    pings: ping::PingReplies,
}

/// The interface's addresses as the receive path needs them.
#[derive(Debug, Default)]
struct AddressSets {
    v4: Vec<Ipv4Addr>,
    v6_usable: Vec<Ipv6Addr>,
    v6_tentative: Vec<Ipv6Addr>,
    v6_groups: Vec<Ipv6Addr>,
}

/// Most routes per family.
const MAX_ROUTES: usize = 1024;

/// Most frames waiting for the device before new ones are dropped.
const TX_QUEUE_MAX: usize = 4096;

impl Stack {
    /// Brings up an interface: addresses configured, the link-local address
    /// formed, duplicate address detection started (unless off), gratuitous
    /// ARP announced.
    pub fn new(config: StackConfig, pool: Pool, now: Instant) -> Stack {
        let mut addrconf = AddrConf::new(AddrConfConfig {
            dup_addr_detect_transmits: config.dad_transmits,
            autoconf: config.autoconf,
            max_rtr_solicitations: if config.autoconf { 3 } else { 0 },
            link_mtu: config.mtu as u32,
            ..AddrConfConfig::default()
        });
        let mut mld = MldListener::new(MldConfig::default(), config.mac);
        let _ = addrconf.enable(now, config.mac);
        for &(addr, len) in &config.ipv6 {
            let _ = addrconf.add_address(now, addr, len, AddrLifetimes::INFINITE);
        }
        mld.set_source(addrconf.link_local());
        let mut arp = ArpCache::new(ArpConfig::default(), config.mac);
        for &(addr, _) in &config.ipv4 {
            arp.announce(now, addr);
        }
        let mut stack = Stack {
            nd: NdCache::new(NdConfig::default(), config.mac),
            reasm4: Ipv4Reassembler::new(ReassemblyConfig::IPV4),
            reasm6: Ipv6Reassembler::new(ReassemblyConfig::IPV6),
            icmp4_limit: RateLimiter::linux_default(),
            icmp6_limit: RateLimiter::linux_default(),
            udp: UdpDemux::new(1024),
            sockets: Vec::new(),
            socket_tx: Vec::new(),
            outgoing: Vec::new(),
            tx: Default::default(),
            tx_len: 0,
            out_priority: 0,
            counters: StackCounters::default(),
            ident: 1,
            scratch: rx::Scratch::default(),
            touched: true,
            events: mgmt::Events::default(),
            up: true,
            addrs: AddressSets::default(),
            lane: None,
            pings: ping::PingReplies::default(),
            routes4: RouteTable::new(MAX_ROUTES),
            last_route4: None,
            routes6: RouteTable::new(MAX_ROUTES),
            arp,
            mld,
            addrconf,
            pool,
            config,
        };
        stack.build_routes();
        stack.events.push(MgmtEvent::InterfaceUp);
        for &(addr, _) in &stack.config.ipv4 {
            stack.events.push(MgmtEvent::AddressAdded(addr.into()));
        }
        stack.drain_protocols(now);
        stack
    }

    /// The configuration in force.
    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    /// The protocol counters.
    pub fn counters(&self) -> &StackCounters {
        &self.counters
    }

    /// The ARP cache (for its statistics and neighbours).
    pub fn arp(&self) -> &ArpCache<Parked> {
        &self.arp
    }

    /// The IPv6 neighbour cache.
    pub fn nd(&self) -> &NdCache<Parked> {
        &self.nd
    }

    /// IPv6 address configuration.
    pub fn addrconf(&self) -> &AddrConf {
        &self.addrconf
    }

    fn build_routes(&mut self) {
        for &(addr, len) in &self.config.ipv4 {
            let _ = self.routes4.add(addr, len, None, 0);
        }
        for &(prefix, len, via) in &self.config.routes4 {
            let _ = self.routes4.add(prefix, len, Some(via), 0);
        }
        if let Some(gateway) = self.config.gateway4 {
            let _ = self.routes4.add(Ipv4Addr::UNSPECIFIED, 0, Some(gateway), 0);
        }
        for &(addr, len) in &self.config.ipv6 {
            let _ = self.routes6.add(addr, len, None, 0);
        }
        for &(prefix, len, via) in &self.config.routes6 {
            let _ = self.routes6.add(prefix, len, Some(via), 0);
        }
    }

    /// Adds (or replaces) an IPv4 route to `prefix/len` via `gateway`
    /// (`None`: on-link).
    ///
    /// # Errors
    ///
    /// A prefix length over 32, or a full table.
    pub fn add_route4(
        &mut self,
        prefix: Ipv4Addr,
        len: u8,
        gateway: Option<Ipv4Addr>,
    ) -> Result<(), strata_l3l4::route::RouteError> {
        self.last_route4 = None;
        self.routes4.add(prefix, len, gateway, 0)
    }

    /// Removes the IPv4 route to `prefix/len`; whether there was one.
    pub fn remove_route4(&mut self, prefix: Ipv4Addr, len: u8) -> bool {
        self.last_route4 = None;
        self.routes4.remove(prefix, len).is_some()
    }

    /// The next hop towards `dst`, by longest prefix (the last answer
    /// remembered).
    fn next_hop4(&mut self, dst: Ipv4Addr) -> Option<Ipv4Addr> {
        if let Some((last, hop)) = self.last_route4 {
            if last == dst {
                return Some(hop);
            }
        }
        let hop = self.routes4.lookup(dst)?.next_hop(dst);
        self.last_route4 = Some((dst, hop));
        Some(hop)
    }

    /// The IPv4 routes, longest prefix first.
    pub fn routes4(&self) -> Vec<strata_l3l4::route::Route<Ipv4Addr>> {
        self.routes4.routes()
    }

    /// Adds (or replaces) an IPv6 route to `prefix/len` via `gateway`
    /// (`None`: on-link).
    ///
    /// # Errors
    ///
    /// A prefix length over 128, or a full table.
    pub fn add_route6(
        &mut self,
        prefix: Ipv6Addr,
        len: u8,
        gateway: Option<Ipv6Addr>,
    ) -> Result<(), strata_l3l4::route::RouteError> {
        self.routes6.add(prefix, len, gateway, 0)
    }

    /// Adds a permanent IPv4 neighbour (`ip neigh add ... permanent`).
    ///
    /// # Errors
    ///
    /// The ARP cache's refusal: not a unicast address, or no room.
    pub fn insert_neighbour(
        &mut self,
        now: Instant,
        addr: Ipv4Addr,
        mac: EthernetAddress,
    ) -> Result<(), strata_l2::ArpDropReason> {
        self.arp.insert_permanent(now, addr, mac)
    }

    /// Opens a UDP socket on `local` (an unspecified address: any of ours).
    ///
    /// # Errors
    ///
    /// [`SocketError`] if the port is taken or the address is not ours.
    pub fn bind_udp(&mut self, local: SocketAddr) -> Result<UdpSocket, SocketError> {
        let addr = (!local.ip().is_unspecified()).then(|| local.ip());
        if let Some(ip) = addr {
            if !self.is_local(ip) {
                return Err(SocketError::NotLocal(ip));
            }
        }
        let (producer, consumer) = spsc::ring(self.config.socket_ring)?;
        let (tx_producer, tx_consumer) = spsc::ring(self.config.socket_ring)?;
        let id = self.sockets.len();
        self.udp.bind(addr, local.port(), id)?;
        self.sockets.push(producer);
        self.socket_tx.push((local, tx_consumer));
        Ok(UdpSocket {
            local,
            rx: consumer,
            tx: tx_producer,
            pool: self.pool.clone(),
            scratch: Vec::new(),
            queued: Vec::new(),
            sends: 0,
            priority: 0,
        })
    }

    /// Sends what the sockets queued (at most `max` datagrams); returns how
    /// many went out to the IP layer. Datagrams that cannot be sent (no
    /// route, no buffer) are dropped and counted under `udp`.
    pub fn flush_sockets(&mut self, now: Instant, max: usize) -> usize {
        self.flush_sockets_timed(now, max, None)
    }

    /// [`Stack::flush_sockets`], timing the transmit stages of the datagrams
    /// that carry their send time ([`SEND_SAMPLE`]) into `recorder`.
    pub fn flush_sockets_timed(
        &mut self,
        now: Instant,
        max: usize,
        mut recorder: Option<&mut crate::stats::StageRecorder>,
    ) -> usize {
        let mut sent = 0;
        let mut batch = std::mem::take(&mut self.outgoing);
        for i in 0..self.socket_tx.len() {
            let (local, ring) = &mut self.socket_tx[i];
            let local = *local;
            // One burst per socket: one hand-over between cores.
            ring.pop_burst(&mut batch, max.saturating_sub(sent));
            for out in batch.drain(..) {
                let timing = match (out.sent_at, recorder.as_deref_mut()) {
                    (Some(t0), Some(recorder)) => Some((recorder, t0)),
                    _ => None,
                };
                self.out_priority = out.priority;
                let result = self.send_udp_timed(now, local, out.dst, out.payload, timing);
                self.out_priority = 0;
                match result {
                    Ok(()) => sent += 1,
                    Err(SendError::NoRoute) => self.counters.udp.drop("no_route"),
                    Err(_) => self.counters.udp.drop("send_failed"),
                }
            }
        }
        self.outgoing = batch;
        sent
    }

    fn is_local(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => self.config.ipv4.iter().any(|&(a, _)| a == v4),
            IpAddr::V6(v6) => self.addrconf.answers_for(v6),
        }
    }

    /// Moves every frame ready for the device to `out`, the highest
    /// priority first (strict priority; in order within a priority).
    pub fn poll_transmit(&mut self, out: &mut Vec<NetBuf>) -> usize {
        let n = self.tx_len;
        for queue in self.tx.iter_mut().rev() {
            out.extend(queue.drain(..));
        }
        self.tx_len = 0;
        n
    }

    /// Moves the frames of one priority (0 to 7) ready for the device to
    /// `out`, in order; returns how many.
    pub fn poll_transmit_priority(&mut self, priority: u8, out: &mut Vec<NetBuf>) -> usize {
        let Some(queue) = self.tx.get_mut(usize::from(priority)) else {
            return 0;
        };
        let n = queue.len();
        out.extend(queue.drain(..));
        self.tx_len -= n;
        n
    }

    /// Frames waiting for [`Stack::poll_transmit`].
    pub fn transmit_len(&self) -> usize {
        self.tx_len
    }

    /// When [`Stack::handle_timeout`] wants to run next.
    pub fn poll_at(&self) -> Option<Instant> {
        [
            self.arp.poll_at(),
            self.nd.poll_at(),
            self.addrconf.poll_at(),
            self.mld.poll_at(),
            self.reasm4.poll_at(),
            self.reasm6.poll_at(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Runs every timer due at `now`: retransmissions, cache ageing,
    /// reassembly timeouts (answered with time exceeded), autoconfiguration.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.arp.handle_timeout(now);
        self.nd.handle_timeout(now);
        self.addrconf.handle_timeout(now);
        self.mld.handle_timeout(now);
        self.expire_reassembly(now);
        self.drain_protocols(now);
    }

    /// Queues a frame whose neighbour was resolved, at its own priority.
    fn queue_released(&mut self, mac: EthernetAddress, mut parked: Parked) {
        tx::set_dst_mac(&mut parked.buf, mac);
        let outer = self.out_priority;
        self.out_priority = parked.priority;
        self.queue_tx(parked.buf);
        self.out_priority = outer;
    }

    /// Queues a frame for the device at the current output priority, or
    /// drops it (counted) when the queues are full.
    fn queue_tx(&mut self, buf: NetBuf) {
        if !self.up {
            self.counters.eth.drop("down");
            return;
        }
        if self.tx_len >= TX_QUEUE_MAX {
            self.counters.eth.drop("tx_queue_full");
            return;
        }
        self.counters.eth.sent += 1;
        self.tx[usize::from(self.out_priority) % PRIORITIES].push_back(buf);
        self.tx_len += 1;
    }

    /// A fresh buffer holding `len` bytes written by `fill`, or `None` (counted)
    /// when the pool is empty or the frame does not fit.
    fn frame_with(&mut self, len: usize, fill: impl FnOnce(&mut [u8]) -> usize) -> Option<NetBuf> {
        let Ok(mut buf) = self.pool.alloc() else {
            self.counters.eth.drop("no_buffer");
            return None;
        };
        let Ok(space) = buf.extend(len) else {
            self.counters.eth.drop("frame_too_big");
            return None;
        };
        let written = fill(space);
        if written == 0 {
            self.counters.eth.drop("emit_failed");
            return None;
        }
        buf.truncate(written);
        Some(buf)
    }

    /// Turns everything the protocol state machines want sent into frames,
    /// and applies their events.
    fn drain_protocols(&mut self, now: Instant) {
        let outer = self.out_priority;
        self.out_priority = CONTROL_PRIORITY;
        self.drain_protocols_inner(now);
        self.out_priority = outer;
    }

    /// [`Stack::drain_protocols`], the protocols' own frames at
    /// [`CONTROL_PRIORITY`], released frames at the priority they were sent
    /// with, ICMP errors at 0.
    fn drain_protocols_inner(&mut self, now: Instant) {
        self.touched = false;
        self.refresh_addresses();
        while let Some(t) = self.arp.poll_transmit(now) {
            if let Some(buf) = self.frame_with(64, |b| t.emit(b)) {
                self.queue_tx(buf);
            }
        }
        while let Some((mac, parked)) = self.arp.poll_released() {
            self.queue_released(mac, parked);
        }
        while let Some((_, parked)) = self.arp.poll_unreachable() {
            self.out_priority = 0;
            self.unreachable_v4(now, &parked.buf);
            self.out_priority = CONTROL_PRIORITY;
        }
        while let Some(event) = self.arp.poll_event() {
            self.arp_event(event);
        }
        while let Some(event) = self.addrconf.poll_event() {
            self.addrconf_event(now, event);
        }
        while let Some(t) = self.addrconf.poll_transmit(now) {
            let len = t.buffer_len();
            if let Some(buf) = self.frame_with(len, |b| t.emit(b)) {
                self.counters.icmpv6.sent += 1;
                self.queue_tx(buf);
            }
        }
        self.mld.set_source(
            self.addrconf
                .link_local()
                .filter(|ll| self.addrconf.answers_for(*ll)),
        );
        while let Some(t) = self.mld.poll_transmit(now) {
            let len = t.buffer_len();
            if let Some(buf) = self.frame_with(len, |b| t.emit(b)) {
                self.counters.icmpv6.sent += 1;
                self.queue_tx(buf);
            }
        }
        while let Some(t) = self.nd.poll_transmit(now) {
            let len = t.buffer_len();
            if let Some(buf) = self.frame_with(len, |b| t.emit(b).unwrap_or(0)) {
                self.counters.icmpv6.sent += 1;
                self.queue_tx(buf);
            }
        }
        while let Some((mac, parked)) = self.nd.poll_released() {
            self.queue_released(mac, parked);
        }
        while let Some((_, parked)) = self.nd.poll_unreachable() {
            self.out_priority = 0;
            self.unreachable_v6(now, &parked.buf);
            self.out_priority = CONTROL_PRIORITY;
        }
        while let Some(event) = self.nd.poll_event() {
            self.nd_event(event);
        }
    }

    fn addrconf_event(&mut self, now: Instant, event: strata_l3l4::AddrConfEvent) {
        use strata_l3l4::AddrConfEvent as E;
        self.addrconf_mgmt(&event);
        match event {
            E::JoinGroup { group } => {
                let _ = self.mld.join(now, group);
            }
            E::LeaveGroup { group } => {
                let _ = self.mld.leave(now, group);
            }
            E::LinkParameters {
                reachable_time,
                retrans_timer,
                ..
            } => {
                if let Some(base) = reachable_time {
                    self.nd.set_base_reachable_time(now, base);
                }
                self.nd.set_retrans_timer(retrans_timer);
            }
            E::MtuChanged { mtu } => {
                self.config.mtu = (mtu as usize).clamp(1280, self.config.mtu.max(1280));
            }
            _ => {}
        }
    }

    /// Rebuilds the address sets from the configuration, autoconfiguration
    /// and MLD (after anything that may change them: protocol input, timers),
    /// reusing their memory.
    fn refresh_addresses(&mut self) {
        self.lane = rx::FastLane::new(self.config.mac, &self.config.ipv4, self.config.caps);
        let sets = &mut self.addrs;
        sets.v4.clear();
        sets.v4.extend(self.config.ipv4.iter().map(|&(a, _)| a));
        sets.v6_usable.clear();
        sets.v6_tentative.clear();
        for info in self.addrconf.addresses() {
            if self.addrconf.answers_for(info.addr) {
                sets.v6_usable.push(info.addr);
            } else {
                sets.v6_tentative.push(info.addr);
            }
        }
        sets.v6_groups.clear();
        sets.v6_groups.extend(self.addrconf.groups());
        sets.v6_groups.extend(self.mld.groups());
    }

    fn next_ident(&mut self) -> u16 {
        self.ident = self.ident.wrapping_add(1);
        self.ident
    }
}

#[cfg(test)]
mod tests;

impl Stack {
    /// The protocol counters in the stats JSON's form: the stack's own, with
    /// the drop reasons of the ARP cache (under `arp`) and of the neighbour
    /// cache, autoconfiguration and MLD (under `icmpv6`, prefixed `nd_`,
    /// `addrconf_` and `mld_`) added.
    pub fn protocols(&self) -> crate::stats::Protocols {
        use crate::stats::ProtoStats;
        let convert = |c: &ProtoCount| ProtoStats::new(c.recv, c.sent, c.drop_reasons());
        let c = &self.counters;
        let mut protocols = crate::stats::Protocols {
            eth: convert(&c.eth),
            arp: convert(&c.arp),
            ipv4: convert(&c.ipv4),
            ipv6: convert(&c.ipv6),
            icmpv4: convert(&c.icmpv4),
            icmpv6: convert(&c.icmpv6),
            udp: convert(&c.udp),
            tcp: convert(&c.tcp),
        };
        if self.events.dropped > 0 {
            protocols
                .eth
                .add_drop("events_dropped", self.events.dropped);
        }
        let arp = self.arp.stats();
        protocols.arp.sent = arp.sent();
        for (reason, n) in arp.drop_reasons() {
            if n > 0 {
                protocols.arp.add_drop(reason, n);
            }
        }
        let prefixed = [
            ("nd_", self.nd.stats().drop_reasons().to_vec()),
            ("addrconf_", self.addrconf.stats().drop_reasons().to_vec()),
            ("mld_", self.mld.stats().drop_reasons().to_vec()),
        ];
        for (prefix, reasons) in prefixed {
            for (reason, n) in reasons {
                if n > 0 {
                    protocols.icmpv6.add_drop(&format!("{prefix}{reason}"), n);
                }
            }
        }
        protocols
    }
}
