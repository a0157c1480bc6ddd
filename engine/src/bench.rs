//! `strata bench`, the default job: the whole stack moving packets in memory.
//!
//! Each worker owns one port: a [`Generator`] standing in for a NIC (every
//! frame copied into a fresh pool buffer, as a NIC's DMA writes it), and an
//! interface whose UDP socket receives the generator's flows. The application
//! runs on the worker's core: it reads every datagram and sends it back (the
//! payload stays in its buffer; the headers are pushed in front of it), so
//! both the RX path (device → L2 → L3 → L4 → socket → application) and the
//! TX path (application → L4 → L3 → L2 → device) run. In pipeline mode an RX
//! thread classifies the frames into per-class rings in front of the worker.
//!
//! Rates count datagrams the application read (RX) and frames the device
//! took back (TX); bit rates count the frames with their 4-byte FCS.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant as StdInstant};

use strata_l2::EthernetAddress;
use strata_pools::{Pool, PoolConfig};
use strata_queues::classes::PriorityMap;

use crate::dev::{Generator, GeneratorConfig};
use crate::stack::{Datagram, Stack, StackConfig};
use crate::stats::{StageStats, StatsSnapshot};
use crate::worker::{
    AppContext, Mode, Pinning, PipelineConfig, Placement, WorkerConfig, WorkerJob, WorkerSet,
};

/// What `strata bench` runs.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Workers, each with its own port (default 1).
    pub workers: usize,
    /// Run to completion or pipeline.
    pub mode: Mode,
    /// Frame size with the FCS, 64 to 1518 (default 64).
    pub size: usize,
    /// UDP flows per worker (default 16).
    pub flows: u16,
    /// Traffic classes (1 to 8; more than one tags the flows with 802.1Q
    /// priorities, which pipeline mode sorts into per-class rings).
    pub classes: usize,
    /// How long to run.
    pub duration: Duration,
    /// Send every datagram back (the TX path); off: receive only.
    pub echo: bool,
    /// CPUs to pin to (`None`: the allowed CPUs in order).
    pub cpus: Option<Vec<usize>>,
    /// Time every Nth burst through the stages (0: no timing; default 16).
    pub sample_every: u32,
    /// Run the application on a thread of its own, on the next CPU, reading
    /// and sending through the sockets' rings (the pipeline through the
    /// socket ring); its latency from the device's handover (a timestamp in
    /// every frame) is reported as the stage `rx_app_thread`.
    pub app_thread: bool,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            workers: 1,
            mode: Mode::RunToCompletion,
            size: 64,
            flows: 16,
            classes: 1,
            duration: Duration::from_secs(10),
            echo: true,
            cpus: None,
            sample_every: 16,
            app_thread: false,
        }
    }
}

/// Why a bench cannot run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A setting out of range.
    #[error("{0}")]
    Config(String),
    /// The pool.
    #[error("buffer pool: {0}")]
    Pool(#[from] strata_pools::PoolError),
    /// The workers.
    #[error("workers: {0}")]
    Worker(#[from] crate::worker::WorkerError),
    /// The socket.
    #[error("socket: {0}")]
    Socket(#[from] crate::stack::SocketError),
}

/// Live figures, once a second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Time since the start.
    pub elapsed: Duration,
    /// Datagrams the applications read in the last interval, per second.
    pub rx_pps: f64,
    /// Bits per second of those frames.
    pub rx_bps: f64,
}

/// What a bench measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// The settings.
    pub config: BenchConfig,
    /// How long it ran.
    pub elapsed: Duration,
    /// Datagrams the applications read.
    pub rx_packets: u64,
    /// Frames the devices took back (echoes).
    pub tx_packets: u64,
    /// Where each thread ran.
    pub placements: Vec<Placement>,
    /// The statistics of the run (the stats JSON contract).
    pub stats: StatsSnapshot,
    /// Every buffer was back in its pool at the end.
    pub buffers_home: bool,
}

impl BenchReport {
    /// Received datagrams per second, in millions.
    pub fn rx_mpps(&self) -> f64 {
        self.rx_packets as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
    }

    /// Transmitted frames per second, in millions.
    pub fn tx_mpps(&self) -> f64 {
        self.tx_packets as f64 / self.elapsed.as_secs_f64().max(1e-9) / 1e6
    }

    /// Received bits per second (frames with FCS), in Gbit/s.
    pub fn rx_gbps(&self) -> f64 {
        self.rx_mpps() * 1e6 * (self.config.size * 8) as f64 / 1e9
    }

    /// The stage latencies measured.
    pub fn stages(&self) -> &[StageStats] {
        &self.stats.stages
    }
}

impl BenchConfig {
    fn check(&self) -> Result<(), BenchError> {
        let bad = |m: String| Err(BenchError::Config(m));
        if !(1..=64).contains(&self.workers) {
            return bad(format!("workers must be 1 to 64, not {}", self.workers));
        }
        if !(64..=1518).contains(&self.size) {
            return bad(format!("size must be 64 to 1518 bytes, not {}", self.size));
        }
        if self.flows == 0 {
            return bad("flows must be at least 1".to_owned());
        }
        if !(1..=8).contains(&self.classes) {
            return bad(format!("classes must be 1 to 8, not {}", self.classes));
        }
        if self.duration.is_zero() || self.duration > Duration::from_secs(24 * 3600) {
            return bad("duration must be more than 0 and at most a day".to_owned());
        }
        Ok(())
    }
}

const US: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
const PORT: u16 = 9000;

/// Runs a bench, calling `progress` about once a second.
///
/// # Errors
///
/// [`BenchError`] for bad settings or when the pool, sockets or workers
/// cannot be set up.
pub fn run_bench(
    config: &BenchConfig,
    mut progress: impl FnMut(&Progress),
) -> Result<BenchReport, BenchError> {
    config.check()?;
    let pool = Pool::new(PoolConfig {
        frames: 16_384 * config.workers.min(4),
        ..PoolConfig::named("bench")
    })?;
    let mut worker_config = WorkerConfig {
        mode: config.mode,
        pinning: match &config.cpus {
            Some(cpus) => Pinning::Cpus(cpus.clone()),
            None => Pinning::Auto,
        },
        ..WorkerConfig::default()
    };
    worker_config.stages.sample_every = config.sample_every;
    if config.classes > 1 {
        worker_config.pipeline = PipelineConfig {
            map: PriorityMap::strict(config.classes)
                .map_err(|e| BenchError::Config(e.to_string()))?,
            ..PipelineConfig::default()
        };
    }
    let received = Arc::new(AtomicU64::new(0));
    let epoch = std::time::Instant::now();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut app_threads = Vec::new();
    let allowed = crate::cpu::allowed_cpus();
    let mut jobs = Vec::new();
    for worker in 0..config.workers {
        let us_mac = EthernetAddress([0x02, 0, 0, 0, 0x01, worker as u8]);
        let generator = GeneratorConfig {
            mac: EthernetAddress([0x02, 0, 0, 0, 0x02, worker as u8]),
            dst_mac: us_mac,
            src: PEER,
            dst: SocketAddrV4::new(US, PORT),
            // The size counts the FCS; a priority tag adds 4 bytes of its own.
            frame_len: config.size - 4 - if config.classes > 1 { 4 } else { 0 },
            flows: config.flows,
            count: None,
            lend: false,
            priorities: if config.classes > 1 { 8 } else { 0 },
            stamp: config.app_thread.then_some(epoch),
        };
        let device = Generator::new(&generator, pool.cache().map_err(BenchError::Pool)?)
            .map_err(|e| BenchError::Config(e.to_string()))?;
        let stack_config = StackConfig {
            name: format!("bench{worker}"),
            mac: us_mac,
            ipv4: vec![(US, 24)],
            dad_transmits: 0,
            autoconf: false,
            socket_ring: 4096,
            ..StackConfig::default()
        };
        let mut stack = Stack::new(stack_config, pool.clone(), worker_config.now());
        // The peer is known: no resolution in the way of the echoes.
        stack
            .insert_neighbour(worker_config.now(), PEER, generator.mac)
            .map_err(|e| BenchError::Config(format!("neighbour: {e:?}")))?;
        let mut socket = stack.bind_udp(SocketAddr::new(US.into(), PORT))?;
        let counter = Arc::clone(&received);
        let echo = config.echo;
        if config.app_thread {
            // The application on the next CPU: reads and echoes through the
            // socket's rings; the worker only runs the stack.
            let cpu = config
                .cpus
                .as_ref()
                .and_then(|c| c.get(config.workers + worker).copied())
                .or_else(|| {
                    allowed
                        .get((config.workers + worker) % allowed.len().max(1))
                        .copied()
                });
            let stop = Arc::clone(&stop);
            app_threads.push(std::thread::spawn(move || {
                app_thread(socket, counter, stop, echo, epoch, cpu)
            }));
            jobs.push(WorkerJob::new().port(device, stack).pool(pool.clone()));
            continue;
        }
        let mut bufs = Vec::with_capacity(64);
        let app = move |ctx: &mut AppContext<'_>| {
            let n = socket.recv_bufs(&mut bufs, 64);
            if n == 0 {
                return 0;
            }
            // Relaxed: a statistic, read by the main thread once a second.
            counter.fetch_add(n as u64, Ordering::Relaxed);
            let local = socket.local_addr();
            if echo {
                for buf in bufs.drain(..) {
                    if let Some((payload, src)) = Datagram(buf).into_payload() {
                        // Timed (tx_l4, tx_l3, tx_l2) for one echo in 16.
                        let _ = ctx.send_udp(0, local, src, payload);
                    }
                }
            } else {
                bufs.clear();
            }
            n
        };
        jobs.push(
            WorkerJob::new()
                .port(device, stack)
                .app(app)
                .pool(pool.clone()),
        );
    }
    let set = WorkerSet::spawn(worker_config, jobs)?;
    let placements = set.placements();
    let start = StdInstant::now();
    let mut last = (start, 0u64);
    while start.elapsed() < config.duration {
        let left = config.duration.saturating_sub(start.elapsed());
        std::thread::sleep(left.min(Duration::from_secs(1)));
        // Relaxed: see above.
        let now_count = received.load(Ordering::Relaxed);
        let now = StdInstant::now();
        let interval = now.duration_since(last.0).as_secs_f64().max(1e-9);
        let pps = (now_count - last.1) as f64 / interval;
        progress(&Progress {
            elapsed: now.duration_since(start),
            rx_pps: pps,
            rx_bps: pps * (config.size * 8) as f64,
        });
        last = (now, now_count);
    }
    // Relaxed: the workers are about to be joined (stop synchronises).
    let rx_packets = received.load(Ordering::Relaxed);
    let elapsed = start.elapsed();
    let mut stats = set.stats().snapshot();
    // Release: pairs with the application threads' Acquire load; they stop
    // and hand back their latency histograms.
    stop.store(true, Ordering::Release);
    for handle in app_threads {
        if let Ok(latency) = handle.join() {
            stats.stages.push(latency);
        }
    }
    let reports = set.stop()?;
    let tx_packets = reports
        .iter()
        .flat_map(|r| r.ports.iter())
        .map(|p| p.device.stats().tx_packets)
        .sum();
    drop(reports);
    let buffers_home = pool.stats().free == pool.capacity();
    Ok(BenchReport {
        config: config.clone(),
        elapsed,
        rx_packets,
        tx_packets,
        placements,
        stats,
        buffers_home,
    })
}

/// The application on a thread of its own: reads every datagram from the
/// socket's ring, records how long ago the generator handed it over (the
/// stamp in its payload), and echoes it through the socket's send ring.
fn app_thread(
    mut socket: crate::stack::UdpSocket,
    counter: Arc<AtomicU64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
    echo: bool,
    epoch: std::time::Instant,
    cpu: Option<usize>,
) -> StageStats {
    if let Some(cpu) = cpu {
        let _ = crate::cpu::pin_current(cpu);
    }
    let mut latency = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
        .expect("valid histogram bounds");
    let mut bufs = Vec::with_capacity(64);
    let mut seen = 0u64;
    // Acquire: pairs with the main thread's Release store of the stop flag.
    while !stop.load(Ordering::Acquire) {
        let n = socket.recv_bufs(&mut bufs, 64);
        if n == 0 {
            std::hint::spin_loop();
            continue;
        }
        let now = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
        for buf in bufs.drain(..) {
            let datagram = Datagram(buf);
            seen += 1;
            // Every 16th datagram is timed (a clock read per datagram would
            // be most of the application's work).
            if seen % 16 == 0 {
                if let Some(stamp) = crate::dev::stamp_of(datagram.payload()) {
                    let _ = latency.record(now.saturating_sub(stamp).max(1));
                }
            }
            if echo {
                if let Some((payload, src)) = datagram.into_payload() {
                    let _ = socket.queue_buf(payload, src);
                }
            }
        }
        let _ = socket.flush();
        // Relaxed: a statistic, read by the main thread once a second.
        counter.fetch_add(n as u64, Ordering::Relaxed);
    }
    StageStats {
        name: "rx_app_thread".to_owned(),
        packets: latency.len(),
        p50_ns: latency.value_at_quantile(0.5),
        p90_ns: latency.value_at_quantile(0.9),
        p99_ns: latency.value_at_quantile(0.99),
        max_ns: latency.max(),
        mean_ns: latency.mean(),
        class: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short(mode: Mode) -> BenchConfig {
        BenchConfig {
            mode,
            duration: Duration::from_millis(300),
            cpus: None,
            ..BenchConfig::default()
        }
    }

    #[test]
    fn both_modes_move_packets_both_ways_and_bring_every_buffer_home() {
        for mode in [Mode::RunToCompletion, Mode::Pipeline] {
            let mut ticks = 0;
            let report = run_bench(&short(mode), |_| ticks += 1).unwrap();
            assert!(report.rx_packets > 1000, "{mode:?}: {}", report.rx_packets);
            assert!(report.tx_packets > 0, "{mode:?}: echoes went out");
            assert!(report.buffers_home, "{mode:?}");
            assert!(ticks >= 1);
            assert!(report.rx_mpps() > 0.0 && report.rx_gbps() > 0.0);
            assert_eq!(
                report.stats.protocols.udp.drop, 0,
                "{mode:?}: {:?}",
                report.stats.protocols.udp
            );
            // Every stage, both ways: the echoes are sent through the
            // worker's context, which times the transmit stages.
            for stage in [
                "rx_l2",
                "rx_l3",
                "rx_l4",
                "rx_socket",
                "rx_app",
                "tx_l4",
                "tx_l3",
                "tx_l2",
                "tx_device",
            ] {
                let timed = report.stages().iter().find(|s| s.name == stage);
                assert!(
                    timed.is_some_and(|s| s.packets > 0 && s.p99_ns >= s.p50_ns),
                    "{mode:?}: {stage} timed: {timed:?}"
                );
            }
        }
    }

    #[test]
    fn the_application_on_its_own_thread_reports_its_latency() {
        let config = BenchConfig {
            app_thread: true,
            duration: Duration::from_millis(300),
            ..BenchConfig::default()
        };
        let report = run_bench(&config, |_| {}).unwrap();
        assert!(report.rx_packets > 1000, "{}", report.rx_packets);
        assert!(
            report.tx_packets > 0,
            "echoes went out through the socket ring"
        );
        assert!(report.buffers_home);
        let app = report
            .stages()
            .iter()
            .find(|s| s.name == "rx_app_thread")
            .expect("latency measured");
        assert!(app.packets > 0 && app.p50_ns > 0 && app.p99_ns >= app.p50_ns);
    }

    #[test]
    fn classes_and_sizes_run() {
        let config = BenchConfig {
            mode: Mode::Pipeline,
            classes: 4,
            size: 1518,
            duration: Duration::from_millis(200),
            ..BenchConfig::default()
        };
        let report = run_bench(&config, |_| {}).unwrap();
        assert!(report.rx_packets > 0);
        assert!(report.buffers_home);
        assert!(report.stats.queues.len() >= 4, "{:?}", report.stats.queues);
    }

    #[test]
    fn bad_settings_are_refused() {
        for config in [
            BenchConfig {
                workers: 0,
                ..BenchConfig::default()
            },
            BenchConfig {
                size: 63,
                ..BenchConfig::default()
            },
            BenchConfig {
                flows: 0,
                ..BenchConfig::default()
            },
            BenchConfig {
                classes: 9,
                ..BenchConfig::default()
            },
            BenchConfig {
                duration: Duration::ZERO,
                ..BenchConfig::default()
            },
        ] {
            assert!(matches!(
                run_bench(&config, |_| {}),
                Err(BenchError::Config(_))
            ));
        }
    }
}
