//! The loops: a worker's rounds (both modes) and the pipeline RX thread's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_pools::{NetBuf, Pool};
use strata_queues::classes::{class_set, ClassConsumer, ClassError, ClassProducer, Schedule};

use super::wait::{current_cpu, thread_cpu_time, IdleStep, Idler, WakeHandle};
use super::{App, AppContext, Classifier, RxCounters, WorkerConfig, WorkerCounters, WorkerJob};
use crate::dev::Device;
use crate::stack::{Stack, PRIORITIES};
use crate::stats::{
    InterfaceStats, PoolStatsJson, QueueStats, Stage, StageRecorder, StatsPublisher, StatsSnapshot,
};

/// What a worker thread hands back.
pub(crate) struct WorkerOutput {
    pub(crate) stacks: Vec<Stack>,
    /// The devices (run to completion only; in pipeline mode the RX thread
    /// has them).
    pub(crate) devices: Vec<Box<dyn Device>>,
    pub(crate) app: Option<Box<dyn App>>,
    pub(crate) counters: WorkerCounters,
    pub(crate) cpu_time: Option<Duration>,
    pub(crate) last_cpu: Option<usize>,
}

/// What a pipeline RX thread hands back.
pub(crate) struct RxOutput {
    pub(crate) devices: Vec<Box<dyn Device>>,
    pub(crate) counters: RxCounters,
    pub(crate) cpu_time: Option<Duration>,
}

/// The knobs both loops use.
#[derive(Debug, Clone, Copy)]
struct Knobs {
    burst: usize,
    tx_retries: u32,
    tx_pending_max: usize,
    epoch: Instant,
}

impl Knobs {
    fn of(config: &WorkerConfig) -> Knobs {
        Knobs {
            burst: config.burst,
            tx_retries: config.tx_retries,
            tx_pending_max: config.tx_pending_max,
            epoch: config.epoch,
        }
    }

    fn stack_time(&self, at: Instant) -> strata_l2::Instant {
        strata_l2::Instant::from_duration(at.saturating_duration_since(self.epoch))
    }
}

/// Frames refused by a device (or a full ring), waiting for a retry.
#[derive(Debug, Default)]
pub(super) struct Pending {
    pub(super) bufs: Vec<NetBuf>,
    tries: u32,
}

impl Pending {
    /// After an attempt that moved `moved` frames: resets the retry count
    /// on progress, drops everything once the retries are spent and the
    /// excess over `max`. Returns (retried, dropped).
    fn settle(&mut self, moved: usize, knobs: &Knobs) -> (u64, u64) {
        self.settle_with(moved, knobs.tx_retries, knobs.tx_pending_max)
    }

    /// [`Pending::settle`] with the limits given.
    pub(super) fn settle_with(&mut self, moved: usize, retries: u32, max: usize) -> (u64, u64) {
        if self.bufs.is_empty() {
            self.tries = 0;
            return (0, 0);
        }
        if moved > 0 {
            self.tries = 0;
        }
        self.tries += 1;
        let mut dropped = 0;
        if self.tries > retries {
            dropped = self.bufs.len();
            self.bufs.clear();
            self.tries = 0;
        } else if self.bufs.len() > max {
            dropped = self.bufs.len() - max;
            self.bufs.truncate(max);
        }
        ((self.bufs.len()) as u64, dropped as u64)
    }
}

/// How a worker's port reaches its device.
enum Io {
    /// The worker owns the device.
    Direct(Box<dyn Device>),
    /// Through the pipeline's rings; the RX thread owns the device.
    Pipe {
        classes: ClassConsumer<NetBuf>,
        /// One TX ring per traffic class, to the RX thread.
        tx: ClassProducer<NetBuf>,
        rx_wake: Arc<WakeHandle>,
    },
}

struct PortState {
    io: Io,
    pending: Pending,
    tx_dropped: u64,
}

/// A worker thread's state.
pub(crate) struct WorkerLoop {
    knobs: Knobs,
    stacks: Vec<Stack>,
    ports: Vec<PortState>,
    app: Option<Box<dyn App>>,
    pools: Vec<Pool>,
    idler: Idler,
    publisher: StatsPublisher,
    recorder: StageRecorder,
    counters: WorkerCounters,
    rx: Vec<NetBuf>,
    scratch: Vec<NetBuf>,
    /// Something changed since the last publication.
    dirty: bool,
}

impl WorkerLoop {
    /// A run-to-completion worker over `job`'s ports.
    pub(crate) fn rtc(
        config: &WorkerConfig,
        _worker: usize,
        job: WorkerJob,
        idler: Idler,
        publisher: StatsPublisher,
    ) -> WorkerLoop {
        let mut stacks = Vec::new();
        let mut ports = Vec::new();
        for port in job.ports {
            stacks.push(port.stack);
            ports.push(PortState {
                io: Io::Direct(port.device),
                pending: Pending::default(),
                tx_dropped: 0,
            });
        }
        WorkerLoop::new(config, stacks, ports, job.app, job.pools, idler, publisher)
    }

    fn new(
        config: &WorkerConfig,
        stacks: Vec<Stack>,
        ports: Vec<PortState>,
        app: Option<Box<dyn App>>,
        pools: Vec<Pool>,
        idler: Idler,
        publisher: StatsPublisher,
    ) -> WorkerLoop {
        WorkerLoop {
            knobs: Knobs::of(config),
            stacks,
            ports,
            app,
            pools,
            idler,
            publisher: publisher.with_interval(config.publish_interval),
            recorder: StageRecorder::new(config.stages),
            counters: WorkerCounters::default(),
            rx: Vec::with_capacity(config.burst),
            scratch: Vec::with_capacity(config.burst),
            dirty: true,
        }
    }

    /// Runs until `stop` is set; hands everything back.
    pub(crate) fn run(mut self, stop: &AtomicBool) -> WorkerOutput {
        let cpu_start = thread_cpu_time();
        // Acquire: pairs with the Release store in `WorkerSet::signal_stop`
        // (see there).
        while !stop.load(Ordering::Acquire) {
            let wall = Instant::now();
            let now = self.knobs.stack_time(wall);
            let work = self.round(now);
            self.counters.rounds += 1;
            if work > 0 {
                self.counters.busy_rounds += 1;
            }
            if self.dirty && self.publisher.is_due(wall) {
                self.publish(wall, false);
            }
            if self.idler.after_round(work, wall) == IdleStep::Wait {
                if self.dirty {
                    self.publish(wall, true);
                }
                let until = self.next_timer(now);
                self.idler
                    .wait_on(wall, until, &mut self.ports, |p| match &mut p.io {
                        Io::Direct(d) => Some(&mut **d),
                        Io::Pipe { .. } => None,
                    });
            }
        }
        self.flush();
        self.counters.sleeps = self.idler.sleeps;
        self.publish(Instant::now(), true);
        let cpu_time = thread_cpu_time()
            .zip(cpu_start)
            .map(|(end, start)| end.saturating_sub(start));
        let last_cpu = current_cpu();
        let mut devices = Vec::new();
        for port in self.ports {
            if let Io::Direct(device) = port.io {
                devices.push(device);
            }
        }
        WorkerOutput {
            stacks: self.stacks,
            devices,
            app: self.app,
            counters: self.counters,
            cpu_time,
            last_cpu,
        }
    }

    /// One round over every port; returns the work done (frames and
    /// application items).
    fn round(&mut self, now: strata_l2::Instant) -> usize {
        let mut received = 0;
        let mut first_t0 = None;
        for (port, stack) in self.ports.iter_mut().zip(self.stacks.iter_mut()) {
            let n = match &mut port.io {
                Io::Direct(device) => device.rx_burst(&mut self.rx, self.knobs.burst),
                Io::Pipe { classes, .. } => classes.pop_burst(&mut self.rx, self.knobs.burst),
            };
            if n > 0 {
                let t0 = self.recorder.burst_start();
                // The stack marks rx_l2, rx_l3, rx_l4 and rx_socket itself.
                let timing = t0.map(|t0| (&mut self.recorder, t0));
                stack.receive_timed(now, &mut self.rx, timing);
                self.rx.clear();
                first_t0 = first_t0.or(t0);
                received += n;
            }
        }
        self.counters.rx_frames += received as u64;
        let mut work = received;
        if let Some(app) = self.app.as_mut() {
            let items = app.poll(&mut AppContext {
                now,
                stacks: &mut self.stacks,
                recorder: &mut self.recorder,
            });
            if items > 0 {
                self.counters.app_items += items as u64;
                self.recorder
                    .stage_done(Stage::RxApp, first_t0, received as u64);
                work += items;
            }
        }
        // What applications on other threads queued on their sockets.
        for stack in &mut self.stacks {
            work += stack.flush_sockets_timed(now, 4 * self.knobs.burst, Some(&mut self.recorder));
        }
        for stack in &mut self.stacks {
            if stack.poll_at().is_some_and(|at| at <= now) {
                stack.handle_timeout(now);
                self.counters.timer_runs += 1;
                self.dirty = true;
            }
        }
        // TX is timed on the rounds whose receive was (one sampling decision
        // per round: two calls to `burst_start` a round would always leave the
        // sample to the same one of them).
        let sample = first_t0.is_some();
        for (port, stack) in self.ports.iter_mut().zip(self.stacks.iter_mut()) {
            work += transmit(
                port,
                stack,
                &mut self.scratch,
                &mut self.recorder,
                &mut self.counters,
                &self.knobs,
                sample,
            );
        }
        if work > 0 {
            self.dirty = true;
        }
        work
    }

    /// Time until the earliest stack timer.
    fn next_timer(&self, now: strata_l2::Instant) -> Option<Duration> {
        self.stacks
            .iter()
            .filter_map(Stack::poll_at)
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    /// The last transmit attempt at shutdown; what is still refused is
    /// dropped and counted.
    fn flush(&mut self) {
        let knobs = Knobs {
            tx_retries: 0,
            ..self.knobs
        };
        for (port, stack) in self.ports.iter_mut().zip(self.stacks.iter_mut()) {
            transmit(
                port,
                stack,
                &mut self.scratch,
                &mut self.recorder,
                &mut self.counters,
                &knobs,
                false,
            );
            let left = port.pending.bufs.len() as u64;
            port.pending.bufs.clear();
            port.tx_dropped += left;
            self.counters.tx_dropped += left;
        }
    }

    fn publish(&mut self, wall: Instant, force: bool) {
        let snapshot = || {
            let mut snap = StatsSnapshot::default();
            for (port, stack) in self.ports.iter().zip(&self.stacks) {
                let mut iface = InterfaceStats {
                    name: stack.config().name.clone(),
                    ..InterfaceStats::default()
                };
                if let Io::Direct(device) = &port.io {
                    fill_interface(&mut iface, device.as_ref());
                }
                iface.tx_dropped += port.tx_dropped;
                add_interface(&mut snap, iface);
                snap.protocols.merge(&stack.protocols());
            }
            snap.pools = self
                .pools
                .iter()
                .map(|p| PoolStatsJson::from(&p.stats()))
                .collect();
            snap
        };
        if force {
            let snap = snapshot();
            self.publisher.publish(snap, Some(&mut self.recorder));
            self.dirty = false;
        } else if self
            .publisher
            .maybe_publish_with(wall, &mut self.recorder, snapshot)
        {
            self.dirty = false;
        }
    }
}

/// Collects the stack's frames and hands them to the device (or the TX
/// ring); returns how many went.
fn transmit(
    port: &mut PortState,
    stack: &mut Stack,
    scratch: &mut Vec<NetBuf>,
    recorder: &mut StageRecorder,
    counters: &mut WorkerCounters,
    knobs: &Knobs,
    sample: bool,
) -> usize {
    if stack.transmit_len() == 0 && port.pending.bufs.is_empty() {
        return 0;
    }
    let t0 = sample.then(Instant::now);
    let moved = match &mut port.io {
        Io::Direct(device) => {
            // Highest priority first; refused frames wait in order.
            stack.poll_transmit(&mut port.pending.bufs);
            device.tx_burst(&mut port.pending.bufs)
        }
        Io::Pipe { tx, rx_wake, .. } => {
            // Each priority into its class's ring, highest first; a full
            // ring drops (counted by the ring, per class, and here).
            let mut moved = 0;
            for priority in (0..PRIORITIES as u8).rev() {
                if stack.poll_transmit_priority(priority, scratch) == 0 {
                    continue;
                }
                let class = tx.map().class_of(priority);
                moved += tx.push_burst_class(scratch, class);
                let refused = scratch.len() as u64;
                counters.tx_dropped += refused;
                port.tx_dropped += refused;
                scratch.clear();
            }
            if moved > 0 {
                rx_wake.wake_if_sleeping();
            }
            moved
        }
    };
    recorder.stage_done(Stage::TxDevice, t0, moved as u64);
    counters.tx_frames += moved as u64;
    let (retried, dropped) = port.pending.settle(moved, knobs);
    counters.tx_retried += retried;
    counters.tx_dropped += dropped;
    port.tx_dropped += dropped;
    moved
}

fn fill_interface(iface: &mut InterfaceStats, device: &dyn Device) {
    let s = device.stats();
    iface.rx_packets += s.rx_packets;
    iface.rx_bytes += s.rx_bytes;
    iface.tx_packets += s.tx_packets;
    iface.tx_bytes += s.tx_bytes;
    iface.rx_dropped += s.rx_dropped;
    iface.tx_dropped += s.tx_dropped;
}

/// Adds an interface entry, merging with one of the same name.
fn add_interface(snap: &mut StatsSnapshot, iface: InterfaceStats) {
    match snap.interfaces.iter_mut().find(|i| i.name == iface.name) {
        Some(mine) => {
            mine.rx_packets += iface.rx_packets;
            mine.rx_bytes += iface.rx_bytes;
            mine.tx_packets += iface.tx_packets;
            mine.tx_bytes += iface.tx_bytes;
            mine.rx_dropped += iface.rx_dropped;
            mine.tx_dropped += iface.tx_dropped;
        }
        None => snap.interfaces.push(iface),
    }
}

/// The pipeline RX thread's state.
pub(crate) struct PipelineRx {
    knobs: Knobs,
    devices: Vec<Box<dyn Device>>,
    names: Vec<String>,
    classes: Vec<ClassProducer<NetBuf>>,
    /// Per port, the worker's TX class rings, drained highest class first.
    tx: Vec<ClassConsumer<NetBuf>>,
    pending: Vec<Pending>,
    tx_dropped: Vec<u64>,
    classifier: Classifier,
    /// One scratch vector per class, reused.
    per_class: Vec<Vec<NetBuf>>,
    rx: Vec<NetBuf>,
    idler: Idler,
    worker_wake: Arc<WakeHandle>,
    publisher: StatsPublisher,
    counters: RxCounters,
    dirty: bool,
}

/// Builds the two halves of a pipeline worker.
pub(crate) fn pipeline(
    config: &WorkerConfig,
    _worker: usize,
    job: WorkerJob,
    idler: Idler,
    rx_idler: Idler,
    publisher: StatsPublisher,
    rx_publisher: StatsPublisher,
) -> Result<(PipelineRx, WorkerLoop), ClassError> {
    let pipe = &config.pipeline;
    let rx_wake = rx_idler.handle();
    let mut stacks = Vec::new();
    let mut ports = Vec::new();
    let mut devices = Vec::new();
    let mut names = Vec::new();
    let mut producers = Vec::new();
    let mut tx_consumers = Vec::new();
    for port in job.ports {
        let (producer, consumer) = class_set(pipe.map, pipe.class_ring, Schedule::Strict)?;
        let (tx, tx_consumer) = class_set(pipe.map, pipe.tx_ring, Schedule::Strict)?;
        names.push(port.stack.config().name.clone());
        stacks.push(port.stack);
        devices.push(port.device);
        producers.push(producer);
        tx_consumers.push(tx_consumer);
        ports.push(PortState {
            io: Io::Pipe {
                classes: consumer,
                tx,
                rx_wake: Arc::clone(&rx_wake),
            },
            pending: Pending::default(),
            tx_dropped: 0,
        });
    }
    let worker_wake = idler.handle();
    let body = WorkerLoop::new(config, stacks, ports, job.app, job.pools, idler, publisher);
    let n = devices.len();
    let rx = PipelineRx {
        knobs: Knobs::of(config),
        devices,
        names,
        classes: producers,
        tx: tx_consumers,
        pending: (0..n).map(|_| Pending::default()).collect(),
        tx_dropped: vec![0; n],
        classifier: pipe.classifier.clone(),
        per_class: (0..pipe.map.classes())
            .map(|_| Vec::with_capacity(config.burst))
            .collect(),
        rx: Vec::with_capacity(config.burst),
        idler: rx_idler,
        worker_wake,
        publisher: rx_publisher.with_interval(config.publish_interval),
        counters: RxCounters::default(),
        dirty: true,
    };
    Ok((rx, body))
}

impl PipelineRx {
    /// Runs until `stop` is set; hands the devices back.
    pub(crate) fn run(mut self, stop: &AtomicBool) -> RxOutput {
        let cpu_start = thread_cpu_time();
        // Acquire: pairs with the Release store in `WorkerSet::signal_stop`.
        while !stop.load(Ordering::Acquire) {
            let wall = Instant::now();
            let work = self.round();
            self.counters.rounds += 1;
            if work > 0 {
                self.dirty = true;
            }
            if self.dirty && self.publisher.is_due(wall) {
                self.publish(wall, false);
            }
            if self.idler.after_round(work, wall) == IdleStep::Wait {
                if self.dirty {
                    self.publish(wall, true);
                }
                self.idler
                    .wait_on(wall, None, &mut self.devices, |d| Some(&mut **d));
            }
        }
        // Last TX attempt; what is refused is dropped and counted.
        let knobs = Knobs {
            tx_retries: 0,
            ..self.knobs
        };
        self.knobs = knobs;
        for i in 0..self.devices.len() {
            self.transmit(i);
            let left = self.pending[i].bufs.len() as u64;
            self.pending[i].bufs.clear();
            self.tx_dropped[i] += left;
            self.counters.tx_dropped += left;
        }
        self.counters.sleeps = self.idler.sleeps;
        self.publish(Instant::now(), true);
        let cpu_time = thread_cpu_time()
            .zip(cpu_start)
            .map(|(end, start)| end.saturating_sub(start));
        RxOutput {
            devices: self.devices,
            counters: self.counters,
            cpu_time,
        }
    }

    fn round(&mut self) -> usize {
        let mut work = 0;
        for i in 0..self.devices.len() {
            let n = self.devices[i].rx_burst(&mut self.rx, self.knobs.burst);
            if n > 0 {
                self.classify(i);
                self.counters.rx_frames += n as u64;
                work += n;
            }
            work += self.transmit(i);
        }
        work
    }

    /// Sorts the received burst into classes and pushes each class's frames
    /// into its ring, highest class first (so the worker, popping at any
    /// moment, still sees higher classes first).
    fn classify(&mut self, port: usize) {
        let producer = &mut self.classes[port];
        let map = *producer.map();
        for buf in self.rx.drain(..) {
            let class = map.class_of(self.classifier.priority(buf.data()));
            self.per_class[class].push(buf);
        }
        for class in (0..self.per_class.len()).rev() {
            let frames = &mut self.per_class[class];
            if frames.is_empty() {
                continue;
            }
            let offered = frames.len();
            let moved = producer.push_burst_class(frames, class);
            self.counters.classified[class] += moved as u64;
            // Refused: the ring counted them as dropped; free them.
            self.counters.class_dropped[class] += (offered - moved) as u64;
            frames.clear();
        }
        self.worker_wake.wake_if_sleeping();
    }

    /// Takes the worker's frames from the TX ring and hands them to the
    /// device; returns how many went.
    fn transmit(&mut self, i: usize) -> usize {
        let pending = &mut self.pending[i];
        let room = self.knobs.tx_pending_max.saturating_sub(pending.bufs.len());
        if room > 0 {
            self.tx[i].pop_burst(&mut pending.bufs, room);
        }
        if pending.bufs.is_empty() {
            return 0;
        }
        let moved = self.devices[i].tx_burst(&mut pending.bufs);
        self.counters.tx_frames += moved as u64;
        let (_, dropped) = pending.settle(moved, &self.knobs);
        self.counters.tx_dropped += dropped;
        self.tx_dropped[i] += dropped;
        moved
    }

    fn publish(&mut self, wall: Instant, force: bool) {
        let snapshot = || {
            let mut snap = StatsSnapshot::default();
            for (i, device) in self.devices.iter().enumerate() {
                let mut iface = InterfaceStats {
                    name: self.names[i].clone(),
                    ..InterfaceStats::default()
                };
                fill_interface(&mut iface, device.as_ref());
                iface.tx_dropped += self.tx_dropped[i];
                add_interface(&mut snap, iface);
                for (class, ring) in self.classes[i].stats().iter().enumerate() {
                    snap.queues.push(QueueStats::from_ring(
                        format!("{}.rx", self.names[i]),
                        class as u8,
                        ring,
                    ));
                }
                for (class, ring) in self.tx[i].stats().iter().enumerate() {
                    snap.queues.push(QueueStats::from_ring(
                        format!("{}.tx", self.names[i]),
                        class as u8,
                        ring,
                    ));
                }
            }
            snap
        };
        if force {
            let snap = snapshot();
            self.publisher.publish(snap, None);
            self.dirty = false;
        } else if self.publisher.maybe_publish(wall, snapshot) {
            self.dirty = false;
        }
    }
}
