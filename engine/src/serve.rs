//! `strata serve`: the appliance (issue 5). One interface on a device
//! backend, with IPv4 and IPv6 addresses; the stack answers ARP, neighbour
//! discovery and ping by itself, UDP echo and discard run on chosen ports,
//! the statistics are served on loopback, and a stop (Ctrl-C, or the end of a
//! set duration) shuts every worker down with every buffer back in the pool.
//!
//! Backends: `tap` (a TAP interface, the kernel on its other side),
//! `afpacket` (any interface, through a TPACKET_V3 ring), `afpacket-pnet`
//! (through pnet's datalink channel) and `afxdp` (an AF_XDP socket whose
//! UMEM is the pool, in native or generic XDP mode, zero-copy where the
//! driver can and copy mode otherwise).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use strata_l2::EthernetAddress;
use strata_pools::{Pool, PoolConfig};

use crate::dev::{
    AfPacketConfig, AfPacketDevice, AfPacketError, AfXdpConfig, AfXdpDevice, AfXdpError, Device,
    PnetDevice, QueueGroup, TapConfig, TapDevice, TapError, XdpBind, XdpMode,
};
use crate::stack::{Datagram, SocketError, Stack, StackConfig};
use crate::stats::{Exporter, StatsReader, StatsSnapshot};
use crate::worker::{AppContext, Pinning, WorkerConfig, WorkerError, WorkerJob, WorkerSet};

/// Which device backend carries the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A TAP interface.
    Tap,
    /// AF_XDP on any interface (queue 0).
    AfXdp(XdpOptions),
    /// AF_PACKET (TPACKET_V3) on any interface.
    AfPacket,
    /// AF_PACKET through pnet's datalink channel.
    AfPacketPnet,
}

impl Backend {
    /// The backend's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Tap => "tap",
            Backend::AfXdp(_) => "afxdp",
            Backend::AfPacket => "afpacket",
            Backend::AfPacketPnet => "afpacket-pnet",
        }
    }

    /// The most pool frames the device can hold at once: an AF_XDP socket
    /// keeps its fill ring topped up and has its TX ring's frames in flight
    /// (a ring's worth each, per queue); the copying backends hold none
    /// between calls.
    pub fn frames_held(self) -> usize {
        match self {
            Backend::AfXdp(x) => usize::from(x.queues.max(1)) * 2 * x.ring_size as usize,
            Backend::Tap | Backend::AfPacket | Backend::AfPacketPnet => 0,
        }
    }
}

/// The most frames [`pool_frames`] asks for: 512 MiB of 2048-byte frames
/// (the UMEM is pinned memory). Past it each AF_XDP queue keeps at most its
/// share of half the pool for receiving, so the pool still serves, with
/// fewer frames in flight than the rings could take.
pub const MAX_POOL_FRAMES: usize = 1 << 18;

/// Frames for a pool that `devices` share: `spare` for the stack, the
/// sockets and the caches, on top of what the devices can hold (see
/// [`Backend::frames_held`]), at most [`MAX_POOL_FRAMES`]. Sized so, two
/// AF_XDP ports never commit the whole pool to their fill rings (which
/// left `fwd` forwarding from an empty pool, 20% slower).
pub fn pool_frames(devices: &[Backend], spare: usize) -> usize {
    devices
        .iter()
        .map(|b| b.frames_held())
        .fold(spare, usize::saturating_add)
        .min(MAX_POOL_FRAMES)
}

/// How an AF_XDP backend attaches and binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XdpOptions {
    /// Native (driver) or generic (skb) XDP.
    pub mode: XdpMode,
    /// Copy or zero-copy (`Auto`: zero-copy where the driver can).
    pub bind: XdpBind,
    /// Queues `0..queues` of the interface, one socket each, polled by one
    /// thread as a [`QueueGroup`] (default 1).
    pub queues: u16,
    /// Entries per ring of each socket (fill, completion, RX, TX), a power
    /// of two (default 4096).
    pub ring_size: u32,
    /// Frames kept in the fill ring while polling, in copy mode (default
    /// [`DEFAULT_POLLING_FILL`](crate::dev::afxdp::DEFAULT_POLLING_FILL)).
    pub polling_fill: u32,
}

impl Default for XdpOptions {
    fn default() -> Self {
        XdpOptions {
            mode: XdpMode::Native,
            bind: XdpBind::Auto,
            queues: 1,
            ring_size: AfXdpConfig::default().ring_size,
            polling_fill: AfXdpConfig::default().polling_fill,
        }
    }
}

/// What to serve.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// The interface (for `tap`: created if it does not exist).
    pub iface: String,
    /// The device backend.
    pub backend: Backend,
    /// Strata's Ethernet address on the link (`None`: for `tap` a fixed
    /// local address, otherwise the interface's own).
    pub mac: Option<EthernetAddress>,
    /// IPv4 addresses and prefix lengths.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses and prefix lengths (a link-local one is formed too).
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// The IPv4 default gateway.
    pub gateway4: Option<Ipv4Addr>,
    /// Ports whose datagrams are sent back to their sender.
    pub udp_echo: Vec<u16>,
    /// Ports whose datagrams are read and dropped.
    pub udp_discard: Vec<u16>,
    /// Where to serve `/stats` and `/metrics` (loopback only).
    pub metrics: Option<SocketAddr>,
    /// Stop after this long (`None`: at the stop signal only).
    pub duration: Option<Duration>,
    /// Duplicate address detection probes per IPv6 address (RFC 4862).
    pub dad_transmits: u8,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            iface: "stap0".to_owned(),
            backend: Backend::Tap,
            mac: None,
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            gateway4: None,
            udp_echo: Vec::new(),
            udp_discard: Vec::new(),
            metrics: None,
            duration: None,
            dad_transmits: 1,
        }
    }
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The TAP interface could not be opened.
    #[error(transparent)]
    Tap(#[from] TapError),
    /// The AF_PACKET socket could not be opened.
    #[error(transparent)]
    AfPacket(#[from] AfPacketError),
    /// The AF_XDP port could not be opened.
    #[error(transparent)]
    AfXdp(#[from] AfXdpError),
    /// The pool could not be made.
    #[error("pool: {0}")]
    Pool(String),
    /// A port could not be bound.
    #[error("UDP port {port}: {source}")]
    Bind {
        /// The port.
        port: u16,
        /// Why.
        source: SocketError,
    },
    /// The metrics address is not on loopback, or could not be bound.
    #[error("metrics on {addr}: {reason}")]
    Metrics {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// The workers could not start or stop.
    #[error(transparent)]
    Worker(#[from] WorkerError),
    /// The configuration cannot work.
    #[error("{0}")]
    Config(String),
    /// The wait for the devices could not be set up.
    #[error("waiting on the devices: {0}")]
    Io(std::io::Error),
}

/// What a serve run did.
#[derive(Debug, Clone)]
pub struct ServeReport {
    /// Strata's Ethernet address on the link.
    pub mac: EthernetAddress,
    /// How long it ran.
    pub elapsed: Duration,
    /// Datagrams echoed.
    pub echoed: u64,
    /// Datagrams discarded.
    pub discarded: u64,
    /// The last statistics.
    pub stats: StatsSnapshot,
    /// Every pool buffer back at the end.
    pub buffers_home: bool,
    /// The device's name as the kernel knows it.
    pub iface: String,
    /// What carried it, as the device names itself (`tap`, `afpacket`,
    /// `afxdp-native-copy`, …): the mode it really got.
    pub device: &'static str,
    /// Frames received on each queue of the port, in queue order (one
    /// entry unless several AF_XDP queues were opened).
    pub queue_rx: Vec<u64>,
}

/// Live figures, once a second.
#[derive(Debug, Clone)]
pub struct ServeProgress {
    /// Time since the start.
    pub elapsed: Duration,
    /// The latest statistics.
    pub stats: StatsSnapshot,
}

/// Opens `iface` on `backend` with buffers from `cache` (`mac`: Strata's
/// address on the link; `None`, for `tap` a fixed local one, otherwise the
/// interface's own; `promiscuous`: receive frames for every MAC, as a
/// forwarder must — AF_XDP's program sees every frame the interface
/// receives, so it takes no flag).
///
/// # Errors
///
/// [`ServeError`]: the device's refusal.
pub fn open_device(
    iface: &str,
    backend: Backend,
    mac: Option<EthernetAddress>,
    promiscuous: bool,
    cache: strata_pools::PoolCache,
) -> Result<Box<dyn Device>, ServeError> {
    Ok(match backend {
        Backend::Tap => Box::new(TapDevice::open(
            &TapConfig {
                name: iface.to_owned(),
                mac: mac.unwrap_or(TapConfig::default().mac),
                ..TapConfig::default()
            },
            cache,
        )?),
        Backend::AfPacket => Box::new(AfPacketDevice::open(
            &AfPacketConfig {
                iface: iface.to_owned(),
                mac,
                promiscuous,
                ..AfPacketConfig::default()
            },
            cache,
        )?),
        Backend::AfPacketPnet => Box::new(
            PnetDevice::open(iface, mac, promiscuous, 1500, cache)
                .map_err(|e| ServeError::Config(e.to_string()))?,
        ),
        Backend::AfXdp(xdp) => {
            // One cache per queue, all of one pool (its region is the UMEM).
            let pool = cache.pool().clone();
            let mut caches = vec![cache];
            for _ in 1..xdp.queues {
                caches.push(pool.cache().map_err(|e| ServeError::Pool(e.to_string()))?);
            }
            let devices = AfXdpDevice::open_port(
                &AfXdpConfig {
                    iface: iface.to_owned(),
                    mac,
                    mode: xdp.mode,
                    bind: xdp.bind,
                    queues: 0..xdp.queues.max(1),
                    ring_size: xdp.ring_size,
                    polling_fill: xdp.polling_fill,
                    ..AfXdpConfig::default()
                },
                caches,
            )?;
            let no_queue = || ServeError::Config("AF_XDP opened no queue".to_owned());
            let mut queues: Vec<Box<dyn Device>> = devices
                .into_iter()
                .map(|d| Box::new(d) as Box<dyn Device>)
                .collect();
            if queues.len() == 1 {
                queues.pop().ok_or_else(no_queue)?
            } else {
                Box::new(QueueGroup::new(queues).ok_or_else(no_queue)?)
            }
        }
    })
}

/// Serves until `stop` is set or the duration ends; calls `progress` about
/// once a second.
///
/// # Errors
///
/// [`ServeError`]: a backend not available, the device refused, a port that
/// cannot be bound, a metrics address off loopback.
pub fn serve(
    config: &ServeConfig,
    stop: &AtomicBool,
    mut progress: impl FnMut(&ServeProgress),
) -> Result<ServeReport, ServeError> {
    if let Some(addr) = config.metrics {
        if !addr.ip().is_loopback() {
            return Err(ServeError::Metrics {
                addr,
                reason: "metrics are served on loopback only".to_owned(),
            });
        }
    }
    let pool = Pool::new(PoolConfig {
        frames: pool_frames(&[config.backend], 4096),
        ..PoolConfig::named("serve")
    })
    .map_err(|e| ServeError::Pool(e.to_string()))?;
    let cache = pool.cache().map_err(|e| ServeError::Pool(e.to_string()))?;
    let device = open_device(&config.iface, config.backend, config.mac, false, cache)?;
    let iface = device.info().name.clone();
    let mac = device.info().mac;
    let kind = device.info().kind;
    let reader = StatsReader::new();
    let worker_config = WorkerConfig {
        pinning: Pinning::Off,
        stats: Some(reader.clone()),
        ..WorkerConfig::default()
    };
    let mut stack = Stack::new(
        StackConfig {
            name: iface.clone(),
            mac,
            ipv4: config.ipv4.clone(),
            ipv6: config.ipv6.clone(),
            gateway4: config.gateway4,
            dad_transmits: config.dad_transmits,
            ..StackConfig::default()
        },
        pool.clone(),
        worker_config.now(),
    );
    let wildcard = |port| SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
    let mut bind = |ports: &[u16]| {
        ports
            .iter()
            .map(|&port| {
                stack
                    .bind_udp(wildcard(port))
                    .map_err(|source| ServeError::Bind { port, source })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let mut echo = bind(&config.udp_echo)?;
    let mut discard = bind(&config.udp_discard)?;
    let echoed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let discarded = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let (echo_count, discard_count) = (Arc::clone(&echoed), Arc::clone(&discarded));
    let mut bufs = Vec::with_capacity(64);
    let app = move |ctx: &mut AppContext<'_>| {
        let mut items = 0;
        for socket in &mut echo {
            let local = socket.local_addr();
            let n = socket.recv_bufs(&mut bufs, 64);
            for buf in bufs.drain(..) {
                if let Some((payload, src)) = Datagram(buf).into_payload() {
                    let local = SocketAddr::new(
                        match src.ip() {
                            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                        },
                        local.port(),
                    );
                    let _ = ctx.send_udp(0, local, src, payload);
                }
            }
            // Relaxed: a statistic, read at the end.
            echo_count.fetch_add(n as u64, Ordering::Relaxed);
            items += n;
        }
        for socket in &mut discard {
            let n = socket.recv_bufs(&mut bufs, 64);
            bufs.clear();
            // Relaxed: as above.
            discard_count.fetch_add(n as u64, Ordering::Relaxed);
            items += n;
        }
        items
    };
    let exporter = match config.metrics {
        Some(addr) => {
            Some(
                Exporter::spawn(addr, reader.clone()).map_err(|e| ServeError::Metrics {
                    addr,
                    reason: e.to_string(),
                })?,
            )
        }
        None => None,
    };
    let job = WorkerJob::new()
        .port(device, stack)
        .app(app)
        .pool(pool.clone());
    let set = WorkerSet::spawn(worker_config, vec![job])?;
    let start = StdInstant::now();
    let mut last_progress = start;
    // Acquire: pairs with the Release store of whoever asks to stop (the
    // signal handler's flag).
    while !stop.load(Ordering::Acquire) {
        let elapsed = start.elapsed();
        if config.duration.is_some_and(|d| elapsed >= d) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
        if last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = StdInstant::now();
            progress(&ServeProgress {
                elapsed: start.elapsed(),
                stats: reader.snapshot(),
            });
        }
    }
    let elapsed = start.elapsed();
    let reports = set.stop()?;
    let stats = reader.snapshot();
    if let Some(exporter) = exporter {
        exporter.shutdown();
    }
    let queue_rx = reports
        .iter()
        .flat_map(|r| &r.ports)
        .flat_map(|p| p.device.queue_stats())
        .map(|q| q.rx_packets)
        .collect();
    drop(reports);
    Ok(ServeReport {
        elapsed,
        // Relaxed: the workers have stopped (joined).
        echoed: echoed.load(Ordering::Relaxed),
        discarded: discarded.load(Ordering::Relaxed),
        stats,
        buffers_home: pool.stats().free == pool.capacity(),
        iface,
        mac,
        device: kind,
        queue_rx,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn afxdp(queues: u16, ring_size: u32) -> Backend {
        Backend::AfXdp(XdpOptions {
            queues,
            ring_size,
            ..XdpOptions::default()
        })
    }

    #[test]
    fn the_pool_holds_what_every_device_can_take_and_the_spare() {
        // Two AF_XDP ports with 4096-entry rings: each keeps a fill ring
        // and a TX ring of frames; 8192 stay for the rest.
        let ports = [afxdp(1, 4096), afxdp(1, 4096)];
        assert_eq!(pool_frames(&ports, 8192), 8192 + 2 * 2 * 4096);
        // Each port's receive share (at most half the pool per queue, and
        // at most its ring) leaves the spare free.
        let frames = pool_frames(&ports, 8192);
        let fill = 4096usize.min(frames / 2);
        assert!(frames - 2 * fill >= 8192);
        // Queues multiply; copying backends hold nothing between calls.
        assert_eq!(pool_frames(&[afxdp(4, 1024)], 100), 100 + 4 * 2 * 1024);
        assert_eq!(
            pool_frames(
                &[Backend::Tap, Backend::AfPacket, Backend::AfPacketPnet],
                4096
            ),
            4096
        );
    }

    #[test]
    fn the_pool_is_capped_whatever_the_flags_ask() {
        let huge = [afxdp(64, 32768), afxdp(64, 32768)];
        assert_eq!(pool_frames(&huge, 8192), MAX_POOL_FRAMES);
        assert_eq!(pool_frames(&[], usize::MAX), MAX_POOL_FRAMES);
    }
}
