//! `strata gen`: a rate-controlled UDP traffic generator with a receive side
//! (issue 5, "`strata gen`"), in the manner of pktgen and MoonGen but through
//! the whole stack: the destination's MAC is resolved by ARP or neighbour
//! discovery, every datagram carries a sequence number and its send time,
//! and the echoes that come back are counted — lost, reordered, duplicated —
//! with their round-trip latency in an `hdrhistogram`.
//!
//! The generator runs on a worker's core as its application. Sending is
//! paced by the wall clock: each round sends what the rate allows by now
//! (at most a burst), so the achieved rate tracks the asked one over the
//! run (the report gives both). Before the measured run, one datagram every
//! 10 ms goes out until the first echo comes back (at most 3 s): the
//! neighbour is resolved and the peer is answering; those are not counted.
//!
//! Payload: the sequence number (8 bytes, big-endian), the send time in
//! nanoseconds since the run's start (8 bytes), then zeros to `size`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant as StdInstant};

use hdrhistogram::Histogram;
use strata_l2::EthernetAddress;
use strata_pools::{Pool, PoolConfig};

use crate::serve::{open_device, pool_frames, Backend, ServeError};
use crate::stack::{Datagram, Stack, StackConfig};
use crate::stats::{StatsReader, StatsSnapshot};
use crate::worker::{AppContext, Pinning, WorkerConfig, WorkerJob, WorkerSet};

/// Bytes of the payload the generator reads back: sequence and send time.
pub const STAMP_LEN: usize = 16;
/// The simple IMIX as UDP payload bytes over IPv4: seven 64-byte frames,
/// four of 576 and one of 1518 (FCS included), in that order.
pub const IMIX: [usize; 12] = [18, 18, 18, 18, 18, 18, 18, 530, 530, 530, 530, 1472];

/// Most datagrams whose duplicates are tracked (one bit each: 16 MiB).
pub const TRACKED: u64 = 1 << 27;

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenConfig {
    /// The interface and its backend.
    pub iface: String,
    /// The device backend.
    pub backend: Backend,
    /// Strata's Ethernet address (`None`: as `serve`).
    pub mac: Option<EthernetAddress>,
    /// IPv4 addresses and prefix lengths.
    pub ipv4: Vec<(Ipv4Addr, u8)>,
    /// IPv6 addresses and prefix lengths.
    pub ipv6: Vec<(Ipv6Addr, u8)>,
    /// The IPv4 default gateway.
    pub gateway4: Option<Ipv4Addr>,
    /// Where the datagrams go (an echo service answers them).
    pub dst: SocketAddr,
    /// The destination's MAC, when it is not to be resolved (IPv4 only):
    /// entered as a permanent neighbour.
    pub dst_mac: Option<EthernetAddress>,
    /// The first source port; flow `i` sends from `src_port + i`.
    pub src_port: u16,
    /// Flows (source ports), sent round robin.
    pub flows: u16,
    /// UDP payload bytes (at least [`STAMP_LEN`]).
    pub size: usize,
    /// Payload sizes to cycle through instead of `size` (an IMIX: see
    /// [`IMIX`]); empty: every datagram has `size` bytes.
    pub sizes: Vec<usize>,
    /// Datagrams per second (`None`: as fast as the path takes them).
    pub rate: Option<f64>,
    /// Datagrams to send (`None`: until `duration`).
    pub count: Option<u64>,
    /// How long to send (`None`: until `count`).
    pub duration: Option<Duration>,
    /// How long to wait for echoes after the last send.
    pub linger: Duration,
    /// ICMP (or ICMPv6) echo requests instead of UDP: Strata pings `dst`
    /// (its port is not used), each request stamped the same way.
    pub icmp: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            iface: "stap0".to_owned(),
            backend: Backend::Tap,
            mac: None,
            ipv4: Vec::new(),
            ipv6: Vec::new(),
            gateway4: None,
            dst: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 7),
            dst_mac: None,
            src_port: 40000,
            flows: 1,
            size: 64,
            sizes: Vec::new(),
            rate: Some(10_000.0),
            count: None,
            duration: Some(Duration::from_secs(5)),
            linger: Duration::from_millis(500),
            icmp: false,
        }
    }
}

/// What a generator run measured.
#[derive(Debug, Clone)]
pub struct GenReport {
    /// Datagrams sent (measured run).
    pub sent: u64,
    /// Distinct datagrams echoed back.
    pub received: u64,
    /// Sent and never echoed.
    pub lost: u64,
    /// Echoes that arrived after a later one.
    pub reordered: u64,
    /// Echoes of a datagram already echoed.
    pub duplicates: u64,
    /// Echoes that were not ours (too short, or a sequence never sent).
    pub foreign: u64,
    /// Time from the first to the last send.
    pub sending: Duration,
    /// The rate asked for (datagrams per second).
    pub rate_asked: Option<f64>,
    /// Round-trip latency percentiles, nanoseconds: p50, p90, p99, max.
    pub latency_ns: [u64; 4],
    /// Whether the warm-up saw an echo before the measured run.
    pub warmed_up: bool,
    /// The statistics at the end.
    pub stats: StatsSnapshot,
    /// Every pool buffer back at the end.
    pub buffers_home: bool,
}

impl GenReport {
    /// Datagrams per second achieved while sending.
    pub fn rate_achieved(&self) -> f64 {
        self.sent as f64 / self.sending.as_secs_f64().max(1e-9)
    }
}

/// Why a generator run failed.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// The configuration cannot work.
    #[error("{0}")]
    Config(String),
    /// The device, a socket, or the workers.
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// Counters the worker updates and the caller reads.
#[derive(Debug, Default)]
struct Shared {
    sent: AtomicU64,
    received: AtomicU64,
    reordered: AtomicU64,
    duplicates: AtomicU64,
    foreign: AtomicU64,
    warmed_up: AtomicBool,
    /// Sending is over (count or duration reached).
    sending_done: AtomicBool,
    /// Nanoseconds from the start to the last send.
    last_send_ns: AtomicU64,
    latency: Mutex<Option<Histogram<u64>>>,
}

/// Runs the generator until it is done or `stop` is set.
///
/// # Errors
///
/// [`GenError`]: a bad configuration, the device's refusal.
pub fn generate(
    config: &GenConfig,
    stop: &AtomicBool,
    mut progress: impl FnMut(u64, u64),
) -> Result<GenReport, GenError> {
    if config.size < STAMP_LEN || config.sizes.iter().any(|&s| s < STAMP_LEN) {
        return Err(GenError::Config(format!(
            "--size must be at least {STAMP_LEN} bytes (sequence and time stamp)"
        )));
    }
    if config.count.is_none() && config.duration.is_none() {
        return Err(GenError::Config("give --count or --duration".to_owned()));
    }
    if config.flows == 0 || u32::from(config.src_port) + u32::from(config.flows) > 65536 {
        return Err(GenError::Config(
            "--flows must fit the ports above the first".to_owned(),
        ));
    }
    if config.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err(GenError::Config("--rate must be above 0".to_owned()));
    }
    let pool = Pool::new(PoolConfig {
        frames: pool_frames(&[config.backend], 8192),
        ..PoolConfig::named("gen")
    })
    .map_err(|e| GenError::Config(format!("pool: {e}")))?;
    let cache = pool
        .cache()
        .map_err(|e| GenError::Config(format!("pool: {e}")))?;
    let device = open_device(&config.iface, config.backend, config.mac, false, cache)?;
    let info = device.info().clone();
    let reader = StatsReader::new();
    let worker_config = WorkerConfig {
        pinning: Pinning::Off,
        stats: Some(reader.clone()),
        ..WorkerConfig::default()
    };
    let mut stack = Stack::new(
        StackConfig {
            name: info.name.clone(),
            mac: info.mac,
            ipv4: config.ipv4.clone(),
            ipv6: config.ipv6.clone(),
            gateway4: config.gateway4,
            dad_transmits: 0,
            ..StackConfig::default()
        },
        pool.clone(),
        worker_config.now(),
    );
    if let Some(mac) = config.dst_mac {
        let IpAddr::V4(dst) = config.dst.ip() else {
            return Err(GenError::Config(
                "--dst-mac is for IPv4 destinations".to_owned(),
            ));
        };
        stack
            .insert_neighbour(worker_config.now(), dst, mac)
            .map_err(|e| GenError::Config(format!("--dst-mac: {e:?}")))?;
    }
    let unspecified = match config.dst.ip() {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let mut sockets = Vec::new();
    for i in 0..config.flows {
        let port = config.src_port + i;
        let socket = stack
            .bind_udp(SocketAddr::new(unspecified, port))
            .map_err(|source| ServeError::Bind { port, source })?;
        sockets.push(socket);
    }
    let shared = Arc::new(Shared::default());
    let app = GenApp::new(config, sockets, Arc::clone(&shared));
    let job = WorkerJob::new()
        .port(device, stack)
        .app(app)
        .pool(pool.clone());
    let set = WorkerSet::spawn(worker_config, vec![job]).map_err(ServeError::from)?;
    let mut last = StdInstant::now();
    let mut lingering: Option<StdInstant> = None;
    // Acquire: pairs with the Release store of the stop signal's flag.
    while !stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(10));
        // Acquire: pairs with the app's Release store when sending ended.
        if shared.sending_done.load(Ordering::Acquire) {
            let since = *lingering.get_or_insert_with(StdInstant::now);
            // Relaxed: counters (the exact ones are read after the stop).
            let all_back =
                shared.received.load(Ordering::Relaxed) >= shared.sent.load(Ordering::Relaxed);
            if all_back || since.elapsed() >= config.linger {
                break;
            }
        }
        if last.elapsed() >= Duration::from_secs(1) {
            last = StdInstant::now();
            // Relaxed: a progress figure.
            progress(
                shared.sent.load(Ordering::Relaxed),
                shared.received.load(Ordering::Relaxed),
            );
        }
    }
    let reports = set.stop().map_err(ServeError::from)?;
    drop(reports);
    let stats = reader.snapshot();
    // Relaxed: the worker has been joined.
    let sent = shared.sent.load(Ordering::Relaxed);
    let received = shared.received.load(Ordering::Relaxed);
    let latency_ns = shared
        .latency
        .lock()
        .ok()
        .and_then(|h| {
            h.as_ref().map(|h| {
                [
                    h.value_at_quantile(0.5),
                    h.value_at_quantile(0.9),
                    h.value_at_quantile(0.99),
                    h.max(),
                ]
            })
        })
        .unwrap_or_default();
    Ok(GenReport {
        sent,
        received,
        lost: sent.saturating_sub(received),
        reordered: shared.reordered.load(Ordering::Relaxed),
        duplicates: shared.duplicates.load(Ordering::Relaxed),
        foreign: shared.foreign.load(Ordering::Relaxed),
        sending: Duration::from_nanos(shared.last_send_ns.load(Ordering::Relaxed)),
        rate_asked: config.rate,
        latency_ns,
        warmed_up: shared.warmed_up.load(Ordering::Relaxed),
        stats,
        buffers_home: pool.stats().free == pool.capacity(),
    })
}

/// The generator's application on the worker.
struct GenApp {
    sockets: Vec<crate::stack::UdpSocket>,
    /// Echo requests instead of UDP (identifier `ident`).
    icmp: bool,
    ident: u16,
    flows: u64,
    dst: SocketAddr,
    size: usize,
    sizes: Vec<usize>,
    rate: Option<f64>,
    count: Option<u64>,
    duration: Option<Duration>,
    shared: Arc<Shared>,
    /// Set when the measured run starts (after the warm-up).
    start: Option<StdInstant>,
    warmup_start: Option<StdInstant>,
    last_probe: Option<StdInstant>,
    next_seq: u64,
    /// The highest sequence echoed so far, per flow (order is judged within
    /// a flow: datagrams of different flows may pass each other).
    highest_seen: Vec<Option<u64>>,
    seen: Vec<u64>,
    latency: Histogram<u64>,
    bufs: Vec<strata_pools::NetBuf>,
    /// The echoes of a round: (sequence, send time), `None` for a foreign one.
    stamps: Vec<Option<(u64, u64)>>,
    done: bool,
}

/// Datagrams sent per round at most (one burst).
const BURST: u64 = 32;
/// The warm-up's longest wait for a first echo.
const WARMUP: Duration = Duration::from_secs(3);
/// The warm-up's probes carry sequence numbers from here (never measured).
const PROBE_SEQ: u64 = u64::MAX / 2;

impl GenApp {
    fn new(config: &GenConfig, sockets: Vec<crate::stack::UdpSocket>, shared: Arc<Shared>) -> Self {
        GenApp {
            sockets,
            icmp: config.icmp,
            ident: (std::process::id() & 0xffff) as u16,
            flows: u64::from(config.flows),
            dst: config.dst,
            size: config.size,
            sizes: config.sizes.clone(),
            rate: config.rate,
            count: config.count,
            duration: config.duration,
            shared,
            start: None,
            warmup_start: None,
            last_probe: None,
            next_seq: 0,
            highest_seen: vec![None; usize::from(config.flows)],
            seen: Vec::new(),
            latency: Histogram::new_with_bounds(1, 60_000_000_000, 3)
                .expect("valid constant histogram bounds"),
            bufs: Vec::with_capacity(64),
            stamps: Vec::with_capacity(64),
            done: false,
        }
    }

    /// The payload size of datagram `seq`.
    fn size_of(&self, seq: u64) -> usize {
        if self.sizes.is_empty() {
            self.size
        } else {
            self.sizes[(seq % self.sizes.len() as u64) as usize]
        }
    }

    /// Sends datagram `seq` from flow `seq % flows`, stamped `ns`.
    fn send(&mut self, ctx: &mut AppContext<'_>, seq: u64, ns: u64) -> bool {
        if self.icmp {
            let mut payload = vec![0u8; self.size_of(seq)];
            payload[..8].copy_from_slice(&seq.to_be_bytes());
            payload[8..16].copy_from_slice(&ns.to_be_bytes());
            let now = ctx.now();
            let Some(stack) = ctx.stack(0) else {
                return false;
            };
            return stack
                .send_ping(now, self.dst.ip(), self.ident, seq as u16, &payload)
                .is_ok();
        }
        let flow = (seq % self.sockets.len() as u64) as usize;
        let socket = &self.sockets[flow];
        let Ok(mut buf) = socket.alloc() else {
            return false;
        };
        let Ok(payload) = buf.extend(self.size_of(seq)) else {
            return false;
        };
        payload.fill(0);
        payload[..8].copy_from_slice(&seq.to_be_bytes());
        payload[8..16].copy_from_slice(&ns.to_be_bytes());
        let local = socket.local_addr();
        ctx.send_udp(0, local, self.dst, buf).is_ok()
    }

    /// Reads every echo waiting.
    fn receive(&mut self, ctx: &mut AppContext<'_>, now_ns: Option<u64>) -> usize {
        let stamp_of = |p: &[u8]| {
            p.get(..STAMP_LEN).map(|p| {
                let mut seq = [0u8; 8];
                let mut ns = [0u8; 8];
                seq.copy_from_slice(&p[..8]);
                ns.copy_from_slice(&p[8..16]);
                (u64::from_be_bytes(seq), u64::from_be_bytes(ns))
            })
        };
        // Reused round after round (no allocation per poll).
        let mut stamps = std::mem::take(&mut self.stamps);
        stamps.clear();
        if self.icmp {
            if let Some(stack) = ctx.stack(0) {
                while let Some(reply) = stack.poll_ping_reply() {
                    if reply.ident == self.ident && reply.from == self.dst.ip() {
                        stamps.push(stamp_of(&reply.head[..reply.len.min(STAMP_LEN)]));
                    }
                }
            }
        } else {
            for socket in &mut self.sockets {
                socket.recv_bufs(&mut self.bufs, 64);
            }
            stamps.extend(
                self.bufs
                    .drain(..)
                    .map(|buf| stamp_of(Datagram(buf).payload())),
            );
        }
        let n = stamps.len();
        for stamp in stamps.drain(..) {
            let Some((seq, sent_ns)) = stamp else {
                // Relaxed: counters, read after the worker is joined.
                self.shared.foreign.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            if seq >= PROBE_SEQ {
                // A warm-up probe came back: the path works.
                self.shared.warmed_up.store(true, Ordering::Relaxed);
                continue;
            }
            let Some(now_ns) = now_ns else { continue };
            if seq >= self.next_seq {
                self.shared.foreign.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if seq < TRACKED {
                let (word, bit) = ((seq / 64) as usize, seq % 64);
                if self.seen.len() <= word {
                    self.seen.resize(word + 1, 0);
                }
                if self.seen[word] & (1 << bit) != 0 {
                    self.shared.duplicates.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                self.seen[word] |= 1 << bit;
            }
            let flow = (seq % self.flows) as usize;
            let highest = &mut self.highest_seen[flow];
            if highest.is_some_and(|h| seq < h) {
                self.shared.reordered.fetch_add(1, Ordering::Relaxed);
            }
            *highest = Some(highest.map_or(seq, |h| h.max(seq)));
            let _ = self.latency.record(now_ns.saturating_sub(sent_ns).max(1));
            self.shared.received.fetch_add(1, Ordering::Relaxed);
        }
        self.stamps = stamps;
        n
    }
}

impl crate::worker::App for GenApp {
    fn poll(&mut self, ctx: &mut AppContext<'_>) -> usize {
        let now = StdInstant::now();
        let Some(start) = self.start else {
            // Warm-up: a probe every 10 ms until one comes back.
            let warmup_start = *self.warmup_start.get_or_insert(now);
            let _ = self.receive(ctx, None);
            // Relaxed: set by this thread.
            let answered = self.shared.warmed_up.load(Ordering::Relaxed);
            if answered || now.duration_since(warmup_start) >= WARMUP {
                self.start = Some(now);
                return 1;
            }
            if self
                .last_probe
                .map_or(true, |t| now.duration_since(t) >= Duration::from_millis(10))
            {
                self.last_probe = Some(now);
                let seq =
                    PROBE_SEQ + u64::from(now.duration_since(warmup_start).as_millis() as u32);
                self.send(ctx, seq, 0);
            }
            return 0;
        };
        let elapsed = now.duration_since(start);
        let ns = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let mut work = self.receive(ctx, Some(ns));
        if self.done {
            return work;
        }
        let over = self.duration.is_some_and(|d| elapsed >= d)
            || self.count.is_some_and(|c| self.next_seq >= c);
        if over {
            self.done = true;
            if let Ok(mut slot) = self.shared.latency.lock() {
                *slot = Some(self.latency.clone());
            }
            // Release: the counters and the histogram before the flag.
            self.shared.sending_done.store(true, Ordering::Release);
            return work + 1;
        }
        let due = match self.rate {
            Some(rate) => (elapsed.as_secs_f64() * rate) as u64,
            None => u64::MAX,
        };
        let mut allowed = due.saturating_sub(self.next_seq).min(BURST);
        if let Some(count) = self.count {
            allowed = allowed.min(count - self.next_seq);
        }
        let before = self.next_seq;
        for _ in 0..allowed {
            if !self.send(ctx, self.next_seq, ns) {
                break;
            }
            self.next_seq += 1;
            work += 1;
        }
        if self.next_seq > before {
            // Relaxed: counters, read after the worker is joined.
            self.shared.sent.store(self.next_seq, Ordering::Relaxed);
            self.shared.last_send_ns.store(ns, Ordering::Relaxed);
            // Now and then, the latencies so far (for a run stopped early).
            if before / 4096 != self.next_seq / 4096 {
                if let Ok(mut slot) = self.shared.latency.try_lock() {
                    *slot = Some(self.latency.clone());
                }
            }
        }
        work
    }
}

impl std::fmt::Debug for GenApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GenApp")
            .field("dst", &self.dst)
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}
