//! From workers to readers: each worker owns its counters and recorder and
//! publishes into a slot of its own every [`StatsPublisher::DEFAULT_INTERVAL`];
//! a [`StatsReader`] (the `strata bench` display, the exporter) merges the
//! slots of every worker when it reads.
//!
//! # Why a mutex is fine here
//!
//! Each slot is a `Mutex` touched by its worker once per publishing
//! interval (100 ms by default), never per packet or per burst, and the
//! worker only ever [`try_lock`](std::sync::Mutex::try_lock)s it: if a
//! reader holds the slot at that moment, the worker goes back to its
//! packets and publishes on its next call, losing nothing (its counters
//! are cumulative and its stage samples stay in its recorder until they
//! are moved). A reader never blocks a worker's hot path; it can only
//! delay one publication.
//!
//! Publishing moves the recorder's samples into the slot's histograms
//! ([`StageRecorder::drain_into`]: an add and a reset, no allocation) and
//! replaces the slot's snapshot with the one the worker builds.

use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::{Duration, Instant};

use super::snapshot::{Rates, StatsSnapshot};
use super::stage::StageRecorder;

/// What one worker last published.
#[derive(Debug, Default)]
struct SlotState {
    snapshot: StatsSnapshot,
    /// Every stage sample the worker has published, cumulative.
    stages: Option<StageRecorder>,
    publications: u64,
}

#[derive(Debug)]
struct Slot {
    worker: usize,
    state: Mutex<SlotState>,
}

impl Slot {
    /// The state even if a thread panicked while holding it (the data is
    /// plain counters: a half-written publication is still counters).
    fn lock(&self) -> MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn try_lock(&self) -> Option<MutexGuard<'_, SlotState>> {
        match self.state.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }
}

/// A worker's end: publishes its statistics at most once per interval.
#[derive(Debug)]
pub struct StatsPublisher {
    slot: Arc<Slot>,
    interval: Duration,
    next: Option<Instant>,
}

impl StatsPublisher {
    /// The default publishing interval.
    pub const DEFAULT_INTERVAL: Duration = Duration::from_millis(100);

    /// Sets the publishing interval (zero publishes on every call).
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The worker id this publisher was made for.
    pub fn worker(&self) -> usize {
        self.slot.worker
    }

    /// Whether a publication is due at `now`.
    #[inline]
    pub fn is_due(&self, now: Instant) -> bool {
        self.next.map_or(true, |next| now >= next)
    }

    /// Publishes `build()` if the interval has passed since the last
    /// publication and no reader holds the slot; `build` runs only then.
    /// Returns whether it published.
    #[inline]
    pub fn maybe_publish(&mut self, now: Instant, build: impl FnOnce() -> StatsSnapshot) -> bool {
        if !self.is_due(now) {
            return false;
        }
        self.publish_locked(now, None, build)
    }

    /// [`maybe_publish`](Self::maybe_publish), also moving `recorder`'s
    /// stage samples into the slot (the recorder is empty afterwards).
    #[inline]
    pub fn maybe_publish_with(
        &mut self,
        now: Instant,
        recorder: &mut StageRecorder,
        build: impl FnOnce() -> StatsSnapshot,
    ) -> bool {
        if !self.is_due(now) {
            return false;
        }
        self.publish_locked(now, Some(recorder), build)
    }

    /// Publishes now, waiting for the slot if a reader holds it (for the
    /// last publication when a worker stops).
    pub fn publish(&mut self, snapshot: StatsSnapshot, recorder: Option<&mut StageRecorder>) {
        let mut state = self.slot.lock();
        Self::store(&mut state, snapshot, recorder);
        self.next = Some(Instant::now() + self.interval);
    }

    fn publish_locked(
        &mut self,
        now: Instant,
        recorder: Option<&mut StageRecorder>,
        build: impl FnOnce() -> StatsSnapshot,
    ) -> bool {
        let Some(mut state) = self.slot.try_lock() else {
            return false;
        };
        Self::store(&mut state, build(), recorder);
        self.next = Some(now + self.interval);
        true
    }

    fn store(state: &mut SlotState, snapshot: StatsSnapshot, recorder: Option<&mut StageRecorder>) {
        state.snapshot = snapshot;
        if let Some(recorder) = recorder {
            let into = state
                .stages
                .get_or_insert_with(|| StageRecorder::new(recorder.config()));
            recorder.drain_into(into);
        }
        state.publications += 1;
    }
}

#[derive(Debug, Default)]
struct RateState {
    /// Interface totals and when they were read.
    baseline: Option<(Instant, StatsSnapshot)>,
    last: Rates,
}

#[derive(Debug)]
struct ReaderInner {
    slots: Mutex<Vec<Arc<Slot>>>,
    rates: Mutex<RateState>,
    rate_window: Duration,
}

/// The readers' end: hands out publishers and merges what they publish.
/// Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct StatsReader {
    inner: Arc<ReaderInner>,
}

impl Default for StatsReader {
    fn default() -> Self {
        Self::new()
    }
}

impl StatsReader {
    /// The shortest window [`snapshot`](Self::snapshot) computes rates over.
    pub const DEFAULT_RATE_WINDOW: Duration = Duration::from_secs(1);

    /// A reader with no workers yet.
    pub fn new() -> Self {
        Self::with_rate_window(Self::DEFAULT_RATE_WINDOW)
    }

    /// A reader computing rates over windows of at least `window`.
    pub fn with_rate_window(window: Duration) -> Self {
        StatsReader {
            inner: Arc::new(ReaderInner {
                slots: Mutex::new(Vec::new()),
                rates: Mutex::new(RateState::default()),
                rate_window: window,
            }),
        }
    }

    /// A publisher for worker `worker` (ids are labels; they need not be
    /// unique or dense), publishing every
    /// [`StatsPublisher::DEFAULT_INTERVAL`].
    pub fn publisher(&self, worker: usize) -> StatsPublisher {
        let slot = Arc::new(Slot {
            worker,
            state: Mutex::new(SlotState::default()),
        });
        self.slots().push(Arc::clone(&slot));
        StatsPublisher {
            slot,
            interval: StatsPublisher::DEFAULT_INTERVAL,
            next: None,
        }
    }

    fn slots(&self) -> MutexGuard<'_, Vec<Arc<Slot>>> {
        self.inner.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishers handed out.
    pub fn workers(&self) -> usize {
        self.slots().len()
    }

    /// Publications so far, all workers together.
    pub fn publications(&self) -> u64 {
        let slots: Vec<Arc<Slot>> = self.slots().clone();
        slots.iter().map(|s| s.lock().publications).sum()
    }

    /// Each worker's latest snapshot, its stages summarised from its own
    /// histograms, with its worker id.
    pub fn per_worker(&self) -> Vec<(usize, StatsSnapshot)> {
        let slots: Vec<Arc<Slot>> = self.slots().clone();
        slots
            .iter()
            .map(|slot| {
                let state = slot.lock();
                let mut snap = state.snapshot.clone();
                if let Some(rec) = &state.stages {
                    snap.stages = with_histogram_stages(rec, &snap);
                }
                (slot.worker, snap)
            })
            .collect()
    }

    /// Every worker's latest snapshot merged
    /// ([`StatsSnapshot::merge`]), with stage percentiles from the merged
    /// histograms (a stage a worker reported in its snapshot but not in
    /// histograms is kept as merged summaries) and rates over the window
    /// since an earlier call at least the rate window ago (zero on the
    /// first call).
    pub fn snapshot(&self) -> StatsSnapshot {
        let slots: Vec<Arc<Slot>> = self.slots().clone();
        let mut merged = StatsSnapshot::default();
        let mut stages: Option<StageRecorder> = None;
        for slot in &slots {
            let state = slot.lock();
            merged.merge(&state.snapshot);
            if let Some(rec) = &state.stages {
                match &mut stages {
                    Some(acc) => acc.merge(rec),
                    None => stages = Some(rec.clone()),
                }
            }
        }
        if let Some(rec) = &stages {
            merged.stages = with_histogram_stages(rec, &merged);
        }
        merged.rates = self.rates_at(Instant::now(), &merged);
        merged
    }

    fn rates_at(&self, now: Instant, current: &StatsSnapshot) -> Rates {
        let mut rates = self.inner.rates.lock().unwrap_or_else(|e| e.into_inner());
        let totals = StatsSnapshot {
            interfaces: vec![current.totals()],
            ..StatsSnapshot::default()
        };
        match &rates.baseline {
            None => rates.baseline = Some((now, totals)),
            Some((then, before)) => {
                let elapsed = now.saturating_duration_since(*then);
                if elapsed >= self.inner.rate_window {
                    rates.last = Rates::between(before, &totals, elapsed);
                    rates.baseline = Some((now, totals));
                }
            }
        }
        rates.last
    }
}

/// The stages of `rec`, then those of `snap` it does not cover.
fn with_histogram_stages(
    rec: &StageRecorder,
    snap: &StatsSnapshot,
) -> Vec<super::snapshot::StageStats> {
    let mut stages = rec.stage_stats();
    for s in &snap.stages {
        if !stages
            .iter()
            .any(|h| h.name == s.name && h.class == s.class)
        {
            stages.push(s.clone());
        }
    }
    stages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Counters, InterfaceStats, Stage, StageConfig};

    fn worker_snapshot(c: &Counters, rx: u64) -> StatsSnapshot {
        let mut s = c.snapshot();
        s.interfaces.push(InterfaceStats {
            name: "eth0".into(),
            rx_packets: rx,
            rx_bytes: rx * 64,
            ..InterfaceStats::default()
        });
        s
    }

    #[test]
    fn publishes_at_most_once_per_interval() {
        let reader = StatsReader::new();
        let mut p = reader.publisher(3);
        assert_eq!(p.worker(), 3);
        let t = Instant::now();
        let mut builds = 0;
        assert!(p.maybe_publish(t, || {
            builds += 1;
            StatsSnapshot::default()
        }));
        assert!(!p.maybe_publish(t + Duration::from_millis(50), || {
            builds += 1;
            StatsSnapshot::default()
        }));
        assert!(p.maybe_publish(t + Duration::from_millis(100), || {
            builds += 1;
            StatsSnapshot::default()
        }));
        assert_eq!(builds, 2, "build runs only when publishing");
        assert_eq!(reader.publications(), 2);
    }

    #[test]
    fn a_held_slot_defers_publication_without_loss() {
        let reader = StatsReader::new();
        let mut p = reader.publisher(0).with_interval(Duration::ZERO);
        let mut rec = StageRecorder::new(StageConfig::default());
        rec.record_ns(Stage::RxL2, 0, 500, 32);
        {
            let slots = reader.slots().clone();
            let _held = slots[0].lock();
            assert!(!p.maybe_publish_with(Instant::now(), &mut rec, StatsSnapshot::default));
        }
        assert!(!rec.is_empty(), "samples stay with the worker");
        assert!(p.maybe_publish_with(Instant::now(), &mut rec, StatsSnapshot::default));
        assert!(rec.is_empty());
        assert_eq!(reader.snapshot().stages[0].packets, 32);
    }

    #[test]
    fn reader_merges_workers_counters_and_histograms() {
        let reader = StatsReader::with_rate_window(Duration::ZERO);
        let mut handles = Vec::new();
        for w in 0..3u64 {
            let mut p = reader.publisher(w as usize);
            handles.push(std::thread::spawn(move || {
                let mut c = Counters::with_zephyr_reasons();
                let checksum = c.udp.reason("checksum").unwrap();
                let mut rec = StageRecorder::new(StageConfig {
                    sample_every: 1,
                    classes: 1,
                });
                for i in 0..100u64 {
                    let t0 = rec.burst_start();
                    c.udp.recv_n(32);
                    if i % 10 == 0 {
                        c.udp.drop(checksum);
                    }
                    rec.record_ns(Stage::RxL4, 0, (w + 1) * 1000, 32);
                    rec.stage_done(Stage::RxL2, t0, 32);
                    p.maybe_publish_with(Instant::now(), &mut rec, || {
                        worker_snapshot(&c, 32 * (i + 1))
                    });
                }
                p.publish(worker_snapshot(&c, 3200), Some(&mut rec));
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(reader.workers(), 3);
        let first = reader.snapshot();
        let s = reader.snapshot();
        assert_eq!(
            s,
            StatsSnapshot {
                rates: s.rates,
                ..first
            }
        );
        assert_eq!(s.protocols.udp.recv, 3 * 3200);
        assert_eq!(s.protocols.udp.drop, 3 * 10);
        assert_eq!(s.protocols.udp.drop_reasons["checksum"], 30);
        assert_eq!(s.interfaces.len(), 1);
        assert_eq!(s.interfaces[0].rx_packets, 3 * 3200);
        let l4 = s.stages.iter().find(|x| x.name == "rx_l4").unwrap();
        assert_eq!(l4.packets, 3 * 3200);
        // Percentiles of the merged histograms, not of one worker.
        assert!(l4.p50_ns.abs_diff(2000) <= 2, "{l4:?}");
        assert!(l4.max_ns.abs_diff(3000) <= 3, "{l4:?}");
        assert_eq!(
            s.stages.iter().find(|x| x.name == "rx_l2").unwrap().packets,
            9600
        );
        let per = reader.per_worker();
        assert_eq!(per.len(), 3);
        for (w, snap) in per {
            let l4 = snap.stages.iter().find(|x| x.name == "rx_l4").unwrap();
            assert!(l4.max_ns.abs_diff((w as u64 + 1) * 1000) <= 3);
        }
    }

    #[test]
    fn rates_come_from_successive_reads() {
        let reader = StatsReader::with_rate_window(Duration::from_millis(20));
        let mut p = reader.publisher(0).with_interval(Duration::ZERO);
        let c = Counters::new();
        p.publish(worker_snapshot(&c, 0), None);
        assert_eq!(
            reader.snapshot().rates,
            Rates::default(),
            "first read: no window"
        );
        p.publish(worker_snapshot(&c, 1000), None);
        std::thread::sleep(Duration::from_millis(30));
        let r = reader.snapshot().rates;
        // 1000 packets over at least 30 ms: positive, at most 1000/0.03.
        assert!(r.rx_pps > 0.0 && r.rx_pps <= 1000.0 / 0.03, "{r:?}");
        assert!((r.rx_bps - r.rx_pps * 64.0 * 8.0).abs() < 1e-6 * r.rx_bps);
        // Within the window the last rates are repeated.
        assert_eq!(reader.snapshot().rates, r);
    }
}
