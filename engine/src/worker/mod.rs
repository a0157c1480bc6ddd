//! Workers: pinned threads that poll devices and run the stack (DESIGN.md,
//! "Data flow"; issue 4, "Workers and queues").
//!
//! # Ports and flow ownership
//!
//! A [`Port`] is one device queue pair with the [`Stack`] of its interface.
//! A port belongs to exactly one worker, for its whole life: the worker is
//! the only thread that touches that stack (its ARP and neighbour caches,
//! reassembly, socket demultiplexing), so none of it needs a lock, and every
//! flow arriving on that queue is owned by that worker. Several ports can be
//! given to one worker, or spread over several workers (one [`WorkerJob`]
//! each); a multi-queue device spreads flows over its queues by hash (RSS),
//! one `Device` per queue, each in a port of its own.
//!
//! # Modes
//!
//! - **Run to completion** ([`Mode::RunToCompletion`]): each round, for each
//!   port, the worker calls `rx_burst` (up to [`WorkerConfig::burst`]
//!   frames), hands the burst to [`Stack::receive`], runs the application's
//!   [`App::poll`], fires due timers ([`Stack::poll_at`] /
//!   [`Stack::handle_timeout`]), and sends what the stack queued
//!   ([`Stack::poll_transmit`] → `tx_burst`).
//! - **Pipeline** ([`Mode::Pipeline`]): each worker gets an RX thread of its
//!   own. The RX thread owns the devices (a [`Device`] is one object, both
//!   directions): it polls `rx_burst`, classifies each frame to an 802.1Q
//!   priority ([`Classifier`]: VLAN PCP, then DSCP) and through the
//!   [`PriorityMap`] to a traffic class, and pushes it into that class's
//!   SPSC ring (highest class first). The worker drains the classes in
//!   strict priority order, a burst at a time, into [`Stack::receive`]. TX
//!   frames go back from the worker to the RX thread through one SPSC ring
//!   per traffic class and port: the stack queues its frames by priority
//!   (a socket's [`UdpSocket::set_priority`](crate::stack::UdpSocket::set_priority),
//!   the protocols' own frames at
//!   [`CONTROL_PRIORITY`](crate::stack::CONTROL_PRIORITY)), the worker
//!   pushes each priority into the ring of its class (the same
//!   [`PriorityMap`]), and the RX thread drains them highest class first
//!   into `tx_burst`. A class ring that is full (either way) drops the
//!   frame, counted per class in the `queues` statistics (`<name>.rx`,
//!   `<name>.tx`).
//!
//! Frames the device refuses stay queued in order and are retried on the
//! next rounds, at most [`WorkerConfig::tx_retries`] times and at most
//! [`WorkerConfig::tx_pending_max`] of them; beyond that they are dropped
//! and counted (the interface's `tx_dropped`).
//!
//! # Adaptive polling
//!
//! A thread busy-polls while there is work. After [`IdleConfig::rounds`]
//! empty rounds and at least [`IdleConfig::spell`] without work it waits in
//! `mio` on its devices' [`Device::wait_fd`]s and an eventfd, for at most the
//! next stack timer, and at most [`IdleConfig::nap`] when a device has no fd
//! (the in-memory pair has none: it naps and polls) or
//! [`IdleConfig::max_sleep`] otherwise. The eventfd wakes it for shutdown,
//! for frames the other pipeline thread handed over, and for
//! [`WorkerWaker::wake`]. An idle worker uses well under 1% of a core (a
//! test bounds it). The application's [`App::poll`] is not called while the
//! worker waits: an application with work of its own wakes it.
//!
//! # Statistics
//!
//! Each worker (and each pipeline RX thread) publishes a
//! [`StatsSnapshot`](crate::stats::StatsSnapshot) into the
//! [`StatsReader`] every [`WorkerConfig::publish_interval`] and before it
//! waits: interfaces from the device counters, protocols from
//! [`Stack::protocols`], the pools named in the job, the class and TX rings
//! (pipeline), and stage latencies from the burst's handover to the end of
//! each of the stack's stages: `rx_l2`, `rx_l3`, `rx_l4` and `rx_socket`
//! (every datagram in its socket's ring; [`Stack::receive_timed`]), the
//! transmit stages `tx_l4`, `tx_l3` and `tx_l2` of datagrams sent through
//! socket rings (from the application's send, one in
//! [`SEND_SAMPLE`](crate::stack::SEND_SAMPLE); [`Stack::flush_sockets_timed`]), `rx_app` (until the application's poll returned, for
//! rounds where it did work) and `tx_device` (from collecting the stack's
//! frames until the device or TX ring took them). In pipeline mode the
//! handover is the worker's pop from the class rings.
//!
//! # Shutdown
//!
//! [`WorkerSet::stop`] sets a flag, wakes every thread, joins them, and
//! hands back every port (device and stack), the applications and each
//! worker's counters; frames still in rings are freed with the rings, so
//! once the ports are dropped every buffer is back in its pool.
//!
//! # Example
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//! use strata_engine::dev::{Generator, GeneratorConfig};
//! use strata_engine::pools::{Pool, PoolConfig};
//! use strata_engine::stack::{Stack, StackConfig};
//! use strata_engine::worker::{AppContext, Pinning, WorkerConfig, WorkerJob, WorkerSet};
//!
//! let pool = Pool::new(PoolConfig::named("doc-worker"))?;
//! let config = WorkerConfig { pinning: Pinning::Off, ..WorkerConfig::default() };
//! let gen = GeneratorConfig { count: Some(100), ..GeneratorConfig::default() };
//! let stack_config = StackConfig {
//!     mac: gen.dst_mac,
//!     ipv4: vec![(*gen.dst.ip(), 24)],
//!     ..StackConfig::default()
//! };
//! let mut stack = Stack::new(stack_config, pool.clone(), config.now());
//! let mut socket = stack.bind_udp(gen.dst.into())?;
//! let got = Arc::new(AtomicU64::new(0));
//! let seen = Arc::clone(&got);
//! let job = WorkerJob::new()
//!     .port(Generator::new(&gen, pool.cache()?)?, stack)
//!     // Runs on the worker's core every round.
//!     .app(move |_ctx: &mut AppContext<'_>| {
//!         let mut n = 0;
//!         while socket.recv().is_some() {
//!             n += 1;
//!         }
//!         // Relaxed: a counter, read after a bounded wait.
//!         seen.fetch_add(n, Ordering::Relaxed);
//!         n as usize
//!     });
//! let set = WorkerSet::spawn(config, vec![job])?;
//! for _ in 0..5000 {
//!     if got.load(Ordering::Relaxed) == 100 { // Relaxed: see above.
//!         break;
//!     }
//!     std::thread::sleep(std::time::Duration::from_millis(1));
//! }
//! let reports = set.stop()?;
//! assert_eq!(reports[0].counters.rx_frames, 100);
//! drop(reports);
//! assert_eq!(pool.stats().free, pool.capacity());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod classify;
mod run;
pub(crate) mod wait;

#[cfg(test)]
mod tests;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use strata_pools::Pool;
use strata_queues::classes::{ClassError, PriorityMap};

use crate::cpu::{self, CpuError};
use crate::dev::Device;
use crate::stack::Stack;
use crate::stats::{StageConfig, StatsReader};

pub use classify::{tag_frame, Classifier};
pub use wait::{current_cpu, thread_cpu_time, IdleConfig};

use run::{PipelineRx, RxOutput, WorkerLoop, WorkerOutput};
use wait::{Idler, WakeHandle};

/// How frames reach the stack.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// One thread per worker polls its devices and runs every stage.
    #[default]
    RunToCompletion,
    /// An RX thread per worker classifies into per-class rings; the worker
    /// runs L2–L4.
    Pipeline,
}

impl Mode {
    /// `rtc` or `pipeline`, as `strata bench --mode` spells them.
    pub fn name(self) -> &'static str {
        match self {
            Mode::RunToCompletion => "rtc",
            Mode::Pipeline => "pipeline",
        }
    }
}

/// Where threads run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Pinning {
    /// Not pinned: the scheduler places them.
    Off,
    /// The allowed CPUs ([`cpu::allowed_cpus`]) in order, cycled: threads
    /// are numbered worker by worker, a pipeline worker's RX thread before
    /// the worker itself.
    #[default]
    Auto,
    /// These absolute CPU ids, in the same thread order, cycled.
    Cpus(Vec<usize>),
}

/// Pipeline settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineConfig {
    /// Priority → class (802.1Q table 8-5 for 8 classes by default).
    pub map: PriorityMap,
    /// Frames each class ring holds (a power of two).
    pub class_ring: usize,
    /// Frames the TX ring from worker to RX thread holds (a power of two).
    pub tx_ring: usize,
    /// How frames get their priority.
    pub classifier: Classifier,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            // 8 is in 1..=8: `strict` cannot fail.
            map: PriorityMap::strict(8).unwrap_or_else(|_| unreachable!()),
            class_ring: 1024,
            tx_ring: 1024,
            classifier: Classifier::default(),
        }
    }
}

/// How workers run.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Run to completion or pipeline.
    pub mode: Mode,
    /// Frames per `rx_burst` and per class-ring drain (default 32).
    pub burst: usize,
    /// Where threads run.
    pub pinning: Pinning,
    /// Adaptive polling.
    pub idle: IdleConfig,
    /// Rounds a refused TX frame is retried before it is dropped (default 8).
    pub tx_retries: u32,
    /// Most refused TX frames kept per port (default 1024).
    pub tx_pending_max: usize,
    /// Per-stage timing (sampling).
    pub stages: StageConfig,
    /// Where statistics go (`None`: a reader of the set's own, see
    /// [`WorkerSet::stats`]).
    pub stats: Option<StatsReader>,
    /// How often statistics are published while busy (default 100 ms).
    pub publish_interval: Duration,
    /// The engine's epoch: stack time is the time elapsed since it (make the
    /// stacks with [`WorkerConfig::now`]).
    pub epoch: std::time::Instant,
    /// Pipeline settings.
    pub pipeline: PipelineConfig,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            mode: Mode::RunToCompletion,
            burst: 32,
            pinning: Pinning::Auto,
            idle: IdleConfig::default(),
            tx_retries: 8,
            tx_pending_max: 1024,
            stages: StageConfig::default(),
            stats: None,
            publish_interval: crate::stats::StatsPublisher::DEFAULT_INTERVAL,
            epoch: std::time::Instant::now(),
            pipeline: PipelineConfig::default(),
        }
    }
}

impl WorkerConfig {
    /// Stack time now: the time since [`WorkerConfig::epoch`].
    pub fn now(&self) -> strata_l2::Instant {
        strata_l2::Instant::from_duration(self.epoch.elapsed())
    }
}

/// Largest burst accepted.
pub const MAX_BURST: usize = 4096;

/// One device queue pair and its interface's stack. See the module
/// documentation for ownership.
pub struct Port {
    /// The device.
    pub device: Box<dyn Device>,
    /// The interface's stack.
    pub stack: Stack,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Port")
            .field("device", self.device.info())
            .field("stack", &self.stack.config().name)
            .finish()
    }
}

impl Port {
    /// A port of `device` and `stack`.
    pub fn new(device: impl Device + 'static, stack: Stack) -> Port {
        Port {
            device: Box::new(device),
            stack,
        }
    }
}

/// What an application running on a worker's core sees each round.
#[derive(Debug)]
pub struct AppContext<'a> {
    pub(crate) now: strata_l2::Instant,
    pub(crate) stacks: &'a mut [Stack],
    pub(crate) recorder: &'a mut crate::stats::StageRecorder,
}

impl AppContext<'_> {
    /// Stack time now.
    pub fn now(&self) -> strata_l2::Instant {
        self.now
    }

    /// How many ports (stacks) the worker has.
    pub fn ports(&self) -> usize {
        self.stacks.len()
    }

    /// The stack of port `i` (in the job's order), to send with.
    pub fn stack(&mut self, i: usize) -> Option<&mut Stack> {
        self.stacks.get_mut(i)
    }

    /// Sends `payload` from `local` to `dst` through port `port`'s stack, as
    /// [`Stack::send_udp`] does, timing the transmit stages (`tx_l4`,
    /// `tx_l3`, `tx_l2`, from this call) of a sample of the datagrams
    /// ([`StageRecorder::send_start`](crate::stats::StageRecorder::send_start))
    /// into the worker's statistics.
    ///
    /// # Errors
    ///
    /// As [`Stack::send_udp`]; [`SendError::NoRoute`](crate::stack::SendError::NoRoute)
    /// when the worker has no port `port`.
    pub fn send_udp(
        &mut self,
        port: usize,
        local: std::net::SocketAddr,
        dst: std::net::SocketAddr,
        payload: strata_pools::NetBuf,
    ) -> Result<(), crate::stack::SendError> {
        let stack = self
            .stacks
            .get_mut(port)
            .ok_or(crate::stack::SendError::NoRoute)?;
        let timing = self
            .recorder
            .send_start()
            .map(|t0| (&mut *self.recorder, t0));
        stack.send_udp_timed(self.now, local, dst, payload, timing)
    }
}

/// An application that runs on a worker's core, once per round (for
/// run-to-completion applications: drain sockets, answer, send).
pub trait App: Send {
    /// Does the application's work; returns how many items it handled (0
    /// counts as an idle round).
    fn poll(&mut self, ctx: &mut AppContext<'_>) -> usize;
}

impl<F> App for F
where
    F: FnMut(&mut AppContext<'_>) -> usize + Send,
{
    fn poll(&mut self, ctx: &mut AppContext<'_>) -> usize {
        self(ctx)
    }
}

/// What one worker runs: its ports, an application, the pools to report.
#[derive(Default)]
pub struct WorkerJob {
    ports: Vec<Port>,
    app: Option<Box<dyn App>>,
    pools: Vec<Pool>,
}

impl std::fmt::Debug for WorkerJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerJob")
            .field("ports", &self.ports)
            .field("app", &self.app.is_some())
            .field("pools", &self.pools)
            .finish()
    }
}

impl WorkerJob {
    /// A job with no ports yet.
    pub fn new() -> WorkerJob {
        WorkerJob::default()
    }

    /// Adds a port.
    pub fn port(mut self, device: impl Device + 'static, stack: Stack) -> WorkerJob {
        self.ports.push(Port::new(device, stack));
        self
    }

    /// Adds a port made already.
    pub fn with_port(mut self, port: Port) -> WorkerJob {
        self.ports.push(port);
        self
    }

    /// Sets the application run each round.
    pub fn app(mut self, app: impl App + 'static) -> WorkerJob {
        self.app = Some(Box::new(app));
        self
    }

    /// Adds a pool to the worker's statistics.
    pub fn pool(mut self, pool: Pool) -> WorkerJob {
        self.pools.push(pool);
        self
    }
}

/// Why workers could not start or stopped badly.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// No jobs given.
    #[error("no worker jobs given")]
    NoJobs,
    /// A job without ports.
    #[error("worker {0} has no ports")]
    NoPorts(usize),
    /// The burst size is out of range.
    #[error("burst {0} is outside 1..={MAX_BURST}")]
    Burst(usize),
    /// A thread could not be pinned (a CPU not allowed, or refused).
    #[error("{thread}: {source}")]
    Cpu {
        /// Which thread (`worker 0`, `rx 1`).
        thread: String,
        /// Why.
        source: CpuError,
    },
    /// The class rings could not be built.
    #[error("pipeline classes: {0}")]
    Classes(ClassError),
    /// The poller, the eventfd or a thread could not be created.
    #[error("{what}: {source}")]
    Io {
        /// What failed.
        what: &'static str,
        /// The system's error.
        source: std::io::Error,
    },
    /// Threads panicked; their ports are lost (freed).
    #[error("threads panicked: {0}")]
    Panicked(String),
}

/// Where a thread runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The worker it belongs to.
    pub worker: usize,
    /// Whether it is the pipeline RX thread (else the worker itself).
    pub rx: bool,
    /// The CPU it is pinned to (`None`: not pinned).
    pub cpu: Option<usize>,
}

/// A worker's counters (one writer; read at the end).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerCounters {
    /// Polling rounds.
    pub rounds: u64,
    /// Rounds that did work.
    pub busy_rounds: u64,
    /// Frames handed to the stacks.
    pub rx_frames: u64,
    /// Frames handed to the devices (or the pipeline's TX rings).
    pub tx_frames: u64,
    /// Refused TX frames retried (per retry).
    pub tx_retried: u64,
    /// Refused TX frames dropped.
    pub tx_dropped: u64,
    /// Items the application reported handling.
    pub app_items: u64,
    /// Waits in `mio`.
    pub sleeps: u64,
    /// Timer runs ([`Stack::handle_timeout`]).
    pub timer_runs: u64,
}

/// A pipeline RX thread's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Polling rounds.
    pub rounds: u64,
    /// Frames received from the devices.
    pub rx_frames: u64,
    /// Frames put in each class ring.
    pub classified: [u64; 8],
    /// Frames dropped because their class ring was full, per class.
    pub class_dropped: [u64; 8],
    /// Frames handed to the devices.
    pub tx_frames: u64,
    /// Refused TX frames dropped.
    pub tx_dropped: u64,
    /// Waits in `mio`.
    pub sleeps: u64,
}

/// What a stopped worker hands back.
pub struct WorkerReport {
    /// The worker's index.
    pub worker: usize,
    /// The mode it ran in.
    pub mode: Mode,
    /// The CPU the worker was pinned to (`None`: not pinned).
    pub cpu: Option<usize>,
    /// The CPU the worker thread last ran on (from `/proc`).
    pub last_cpu: Option<usize>,
    /// Its CPU time.
    pub cpu_time: Option<Duration>,
    /// The worker's counters.
    pub counters: WorkerCounters,
    /// The pipeline RX thread's pinned CPU.
    pub rx_cpu: Option<usize>,
    /// The RX thread's CPU time.
    pub rx_cpu_time: Option<Duration>,
    /// The RX thread's counters.
    pub rx_counters: Option<RxCounters>,
    /// The ports, back.
    pub ports: Vec<Port>,
    /// The application, back.
    pub app: Option<Box<dyn App>>,
}

impl std::fmt::Debug for WorkerReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerReport")
            .field("worker", &self.worker)
            .field("mode", &self.mode)
            .field("cpu", &self.cpu)
            .field("last_cpu", &self.last_cpu)
            .field("cpu_time", &self.cpu_time)
            .field("counters", &self.counters)
            .field("rx_cpu", &self.rx_cpu)
            .field("rx_cpu_time", &self.rx_cpu_time)
            .field("rx_counters", &self.rx_counters)
            .field("ports", &self.ports.len())
            .field("app", &self.app.is_some())
            .finish()
    }
}

/// Wakes a worker from another thread (an application with work for it).
#[derive(Debug, Clone)]
pub struct WorkerWaker(Arc<WakeHandle>);

impl WorkerWaker {
    /// Wakes the worker if it waits or is about to. Make the work visible
    /// first (push into a ring); then this cannot lose the wake-up.
    pub fn wake(&self) {
        self.0.wake_if_sleeping();
    }
}

struct Running {
    worker: usize,
    join: Option<JoinHandle<WorkerOutput>>,
    wake: Arc<WakeHandle>,
    cpu: Option<usize>,
    rx: Option<(JoinHandle<RxOutput>, Arc<WakeHandle>, Option<usize>)>,
}

/// Running workers. Dropping the set stops them (and frees their ports).
pub struct WorkerSet {
    running: Vec<Running>,
    stop: Arc<AtomicBool>,
    stats: StatsReader,
    mode: Mode,
}

impl std::fmt::Debug for WorkerSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerSet")
            .field("workers", &self.running.len())
            .field("mode", &self.mode)
            .field("placements", &self.placements())
            .finish()
    }
}

/// A thread's start-up message: the CPU it pinned to, or why it could not.
type Started = Result<Option<usize>, (String, CpuError)>;

impl WorkerSet {
    /// Starts one worker per job (and, in pipeline mode, one RX thread per
    /// worker), pinned as configured. Returns once every thread is pinned
    /// and running.
    ///
    /// # Errors
    ///
    /// [`WorkerError`]: no jobs, a job without ports, a bad burst, a CPU not
    /// allowed (checked before any thread starts), bad class rings, or a
    /// poller or thread that cannot be made. No thread is left running.
    pub fn spawn(config: WorkerConfig, jobs: Vec<WorkerJob>) -> Result<WorkerSet, WorkerError> {
        if jobs.is_empty() {
            return Err(WorkerError::NoJobs);
        }
        if let Some(i) = jobs.iter().position(|j| j.ports.is_empty()) {
            return Err(WorkerError::NoPorts(i));
        }
        if !(1..=MAX_BURST).contains(&config.burst) {
            return Err(WorkerError::Burst(config.burst));
        }
        let pipeline = config.mode == Mode::Pipeline;
        let per_job = if pipeline { 2 } else { 1 };
        let cpus = plan_cpus(&config.pinning, jobs.len() * per_job)?;
        // Check the rings' sizes before any thread starts.
        if pipeline {
            strata_queues::classes::class_set::<()>(
                config.pipeline.map,
                config.pipeline.class_ring,
                strata_queues::classes::Schedule::Strict,
            )
            .map_err(WorkerError::Classes)?;
            strata_queues::spsc::ring::<()>(config.pipeline.tx_ring)
                .map_err(|e| WorkerError::Classes(ClassError::Capacity(e)))?;
        }
        let stats = config.stats.clone().unwrap_or_default();
        let mut set = WorkerSet {
            running: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            stats,
            mode: config.mode,
        };
        let (started_tx, started_rx) = mpsc::channel::<Started>();
        let mut threads = 0;
        for (i, job) in jobs.into_iter().enumerate() {
            let cpu_of = |k: usize| cpus.as_ref().map(|c| c[(i * per_job + k) % c.len()]);
            let result = if pipeline {
                set.start_pipeline(&config, i, job, cpu_of(0), cpu_of(1), &started_tx)
            } else {
                set.start_rtc(&config, i, job, cpu_of(0), &started_tx)
            };
            match result {
                Ok(n) => threads += n,
                Err(e) => {
                    // Dropping the set stops what started.
                    drop(set);
                    return Err(e);
                }
            }
        }
        drop(started_tx);
        let mut failure = None;
        for _ in 0..threads {
            match started_rx.recv() {
                Ok(Ok(_)) => {}
                Ok(Err((thread, source))) => {
                    failure.get_or_insert(WorkerError::Cpu { thread, source });
                }
                // A thread died before reporting: it panicked.
                Err(_) => {
                    failure.get_or_insert(WorkerError::Panicked("at start-up".to_owned()));
                    break;
                }
            }
        }
        match failure {
            Some(e) => {
                drop(set);
                Err(e)
            }
            None => Ok(set),
        }
    }

    fn start_rtc(
        &mut self,
        config: &WorkerConfig,
        worker: usize,
        job: WorkerJob,
        cpu: Option<usize>,
        started: &mpsc::Sender<Started>,
    ) -> Result<usize, WorkerError> {
        let fds: Vec<_> = job.ports.iter().map(|p| p.device.wait_fds()).collect();
        let idler = Idler::new(config.idle, &fds).map_err(|source| WorkerError::Io {
            what: "worker poller",
            source,
        })?;
        let wake = idler.handle();
        let body = WorkerLoop::rtc(config, worker, job, idler, self.stats.publisher(worker));
        let join = spawn_thread(
            format!("strata-w{worker}"),
            format!("worker {worker}"),
            cpu,
            Arc::clone(&self.stop),
            started.clone(),
            move |stop| body.run(&stop),
        )?;
        self.running.push(Running {
            worker,
            join: Some(join),
            wake,
            cpu,
            rx: None,
        });
        Ok(1)
    }

    fn start_pipeline(
        &mut self,
        config: &WorkerConfig,
        worker: usize,
        job: WorkerJob,
        rx_cpu: Option<usize>,
        cpu: Option<usize>,
        started: &mpsc::Sender<Started>,
    ) -> Result<usize, WorkerError> {
        let io = |what, source| WorkerError::Io { what, source };
        let fds: Vec<_> = job.ports.iter().map(|p| p.device.wait_fds()).collect();
        let rx_idler = Idler::new(config.idle, &fds).map_err(|e| io("rx poller", e))?;
        // The worker waits only on its eventfd: the RX thread wakes it.
        let idler = Idler::new(config.idle, &[]).map_err(|e| io("worker poller", e))?;
        let wake = idler.handle();
        let rx_wake = rx_idler.handle();
        let (rx_side, body) = run::pipeline(
            config,
            worker,
            job,
            idler,
            rx_idler,
            self.stats.publisher(worker),
            self.stats.publisher(worker),
        )
        .map_err(WorkerError::Classes)?;
        let rx_join = spawn_thread(
            format!("strata-rx{worker}"),
            format!("rx {worker}"),
            rx_cpu,
            Arc::clone(&self.stop),
            started.clone(),
            move |stop| PipelineRx::run(rx_side, &stop),
        )?;
        let join = spawn_thread(
            format!("strata-w{worker}"),
            format!("worker {worker}"),
            cpu,
            Arc::clone(&self.stop),
            started.clone(),
            move |stop| body.run(&stop),
        );
        let join = match join {
            Ok(join) => join,
            Err(e) => {
                // Stop the RX thread that did start (Release: see
                // `WorkerSet::signal_stop`).
                self.stop.store(true, Ordering::Release);
                rx_wake.wake();
                let _ = rx_join.join();
                return Err(e);
            }
        };
        self.running.push(Running {
            worker,
            join: Some(join),
            wake,
            cpu,
            rx: Some((rx_join, rx_wake, rx_cpu)),
        });
        Ok(2)
    }

    /// Workers running.
    pub fn workers(&self) -> usize {
        self.running.len()
    }

    /// The mode they run in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// Where each thread runs (the worker, then its RX thread, if any).
    pub fn placements(&self) -> Vec<Placement> {
        let mut out = Vec::new();
        for r in &self.running {
            out.push(Placement {
                worker: r.worker,
                rx: false,
                cpu: r.cpu,
            });
            if let Some((_, _, cpu)) = &r.rx {
                out.push(Placement {
                    worker: r.worker,
                    rx: true,
                    cpu: *cpu,
                });
            }
        }
        out
    }

    /// The statistics the workers publish into.
    pub fn stats(&self) -> &StatsReader {
        &self.stats
    }

    /// A handle that wakes worker `worker` (for an application with work).
    pub fn waker(&self, worker: usize) -> Option<WorkerWaker> {
        self.running
            .iter()
            .find(|r| r.worker == worker)
            .map(|r| WorkerWaker(Arc::clone(&r.wake)))
    }

    fn signal_stop(&self) {
        // Release: pairs with the workers' Acquire load of the flag, so
        // whatever this thread did before asking to stop (frames pushed
        // into rings, state an application left for its last round) is
        // visible to a worker once it sees the flag, and its final round
        // and flush see it too.
        self.stop.store(true, Ordering::Release);
        for r in &self.running {
            r.wake.wake();
            if let Some((_, rx_wake, _)) = &r.rx {
                rx_wake.wake();
            }
        }
    }

    /// Stops every thread, joins them, and hands back each worker's ports,
    /// application and counters.
    ///
    /// # Errors
    ///
    /// [`WorkerError::Panicked`] if a thread panicked (the others are
    /// joined and their ports freed).
    pub fn stop(mut self) -> Result<Vec<WorkerReport>, WorkerError> {
        self.signal_stop();
        let mut reports = Vec::new();
        let mut panicked = Vec::new();
        for mut r in std::mem::take(&mut self.running) {
            let out = r.join.take().map(JoinHandle::join);
            let rx_out = r.rx.take().map(|(join, _, cpu)| (join.join(), cpu));
            let out = match out {
                Some(Ok(out)) => out,
                _ => {
                    panicked.push(format!("worker {}", r.worker));
                    continue;
                }
            };
            let mut report = WorkerReport {
                worker: r.worker,
                mode: self.mode,
                cpu: r.cpu,
                last_cpu: out.last_cpu,
                cpu_time: out.cpu_time,
                counters: out.counters,
                rx_cpu: None,
                rx_cpu_time: None,
                rx_counters: None,
                ports: Vec::new(),
                app: out.app,
            };
            match rx_out {
                None => {
                    report.ports = out
                        .devices
                        .into_iter()
                        .zip(out.stacks)
                        .map(|(device, stack)| Port { device, stack })
                        .collect();
                }
                Some((Ok(rx), cpu)) => {
                    report.rx_cpu = cpu;
                    report.rx_cpu_time = rx.cpu_time;
                    report.rx_counters = Some(rx.counters);
                    report.ports = rx
                        .devices
                        .into_iter()
                        .zip(out.stacks)
                        .map(|(device, stack)| Port { device, stack })
                        .collect();
                }
                Some((Err(_), _)) => {
                    panicked.push(format!("rx {}", r.worker));
                    continue;
                }
            }
            reports.push(report);
        }
        if panicked.is_empty() {
            Ok(reports)
        } else {
            Err(WorkerError::Panicked(panicked.join(", ")))
        }
    }
}

impl Drop for WorkerSet {
    fn drop(&mut self) {
        if self.running.is_empty() {
            return;
        }
        self.signal_stop();
        for mut r in std::mem::take(&mut self.running) {
            if let Some(join) = r.join.take() {
                let _ = join.join();
            }
            if let Some((join, _, _)) = r.rx.take() {
                let _ = join.join();
            }
        }
    }
}

/// The CPU of each of `threads` threads, or `None` when not pinning.
fn plan_cpus(pinning: &Pinning, threads: usize) -> Result<Option<Vec<usize>>, WorkerError> {
    let allowed = cpu::allowed_cpus();
    match pinning {
        Pinning::Off => Ok(None),
        Pinning::Auto => Ok(Some(
            (0..threads).map(|k| allowed[k % allowed.len()]).collect(),
        )),
        Pinning::Cpus(list) => {
            if list.is_empty() {
                return Ok(Some(
                    (0..threads).map(|k| allowed[k % allowed.len()]).collect(),
                ));
            }
            for (k, &cpu) in list.iter().enumerate() {
                if !allowed.contains(&cpu) {
                    return Err(WorkerError::Cpu {
                        thread: format!("thread {k} of the pinning list"),
                        source: CpuError::NotAllowed {
                            cpu,
                            allowed: cpu::format_cpu_list(allowed),
                        },
                    });
                }
            }
            Ok(Some((0..threads).map(|k| list[k % list.len()]).collect()))
        }
    }
}

/// Spawns a named thread that pins itself, reports, and runs `body`.
fn spawn_thread<T: Send + 'static>(
    name: String,
    label: String,
    cpu: Option<usize>,
    stop: Arc<AtomicBool>,
    started: mpsc::Sender<Started>,
    body: impl FnOnce(Arc<AtomicBool>) -> T + Send + 'static,
) -> Result<JoinHandle<T>, WorkerError> {
    std::thread::Builder::new()
        .name(name)
        .spawn(move || {
            let pinned = match cpu {
                Some(cpu) => cpu::pin_current(cpu).map(|()| Some(cpu)),
                None => Ok(None),
            };
            let failed = pinned.is_err();
            let _ = started.send(pinned.map_err(|e| (label, e)));
            drop(started);
            if failed {
                // The set is being torn down; run nothing, but still hand
                // back what we own.
                // Release: see `WorkerSet::signal_stop`.
                stop.store(true, Ordering::Release);
            }
            body(stop)
        })
        .map_err(|source| WorkerError::Io {
            what: "spawning a thread",
            source,
        })
}
