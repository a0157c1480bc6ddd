//! Per-stage timing after Zephyr's packet-processing statistics
//! (`CONFIG_NET_PKT_RXTIME_STATS_DETAIL`, `CONFIG_NET_PKT_TXTIME_STATS_DETAIL`):
//! on RX, the time from the device handing a burst over to the end of each
//! later stage; on TX, the time from the application's send to the end of
//! each stage down to the device.
//!
//! # Clock and cost
//!
//! The TSC (`_rdtsc`) would need `unsafe`, which this crate forbids, so the
//! clock is [`std::time::Instant`]: on Linux a vDSO `clock_gettime
//! (CLOCK_MONOTONIC)` that reads the TSC itself when the kernel's
//! clocksource is `tsc` — about 19 ns a read on the development machine
//! (measured with a loop of 10 million reads; [`StageClock::cost`] measures
//! it on yours). A sampled burst reads the clock once at its start and once
//! per stage; with 32-packet bursts, 9 stages and `sample_every = 16`, that
//! is under 1 ns per packet, plus one histogram increment per stage per
//! sampled burst ([`hdrhistogram::Histogram::record_n`] counts the whole
//! burst at once). Unsampled bursts cost a decrement and a branch.
//!
//! # Memory
//!
//! Each histogram covers 1 ns to 60 s with 3 significant digits: 27 648
//! `u64` buckets, 216 KiB. A recorder has one per stage
//! (9), or one per stage and traffic class when `classes > 1`, so about
//! 1.9 MiB per worker, or up to 15 MiB with 8 classes — twice that
//! counting the slot the worker publishes into. Publishing (every 100 ms by
//! default) adds the worker's histograms into the slot's, a pass over their
//! buckets (about 250 thousand for 9 stages): a few hundred microseconds
//! every 100 ms, well under 1% of a core.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::snapshot::StageStats;

/// Largest latency a histogram keeps, ns (60 s); larger values are clamped.
pub const HIGHEST_NS: u64 = 60_000_000_000;
/// Significant digits of the histograms.
pub const SIGFIG: u8 = 3;
/// Most traffic classes a recorder distinguishes (802.1Q priorities).
pub const MAX_CLASSES: u8 = 8;

/// A processing stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// RX: L2 done (Ethernet validated and stripped, ARP answered).
    RxL2,
    /// RX: L3 done (IPv4/IPv6 validated, reassembled, ICMP answered).
    RxL3,
    /// RX: L4 done (checksum checked, demultiplexed).
    RxL4,
    /// RX: in the socket's ring.
    RxSocket,
    /// RX: read by the application.
    RxApp,
    /// TX: L4 header written.
    TxL4,
    /// TX: L3 header written (fragmented if needed).
    TxL3,
    /// TX: L2 header written (neighbour resolved).
    TxL2,
    /// TX: handed to the device.
    TxDevice,
}

impl Stage {
    /// Every stage, RX then TX, in path order.
    pub const ALL: [Stage; 9] = [
        Stage::RxL2,
        Stage::RxL3,
        Stage::RxL4,
        Stage::RxSocket,
        Stage::RxApp,
        Stage::TxL4,
        Stage::TxL3,
        Stage::TxL2,
        Stage::TxDevice,
    ];

    /// Number of stages.
    pub const COUNT: usize = Self::ALL.len();

    /// The stage's name in the stats JSON and the metrics.
    pub fn name(self) -> &'static str {
        match self {
            Stage::RxL2 => "rx_l2",
            Stage::RxL3 => "rx_l3",
            Stage::RxL4 => "rx_l4",
            Stage::RxSocket => "rx_socket",
            Stage::RxApp => "rx_app",
            Stage::TxL4 => "tx_l4",
            Stage::TxL3 => "tx_l3",
            Stage::TxL2 => "tx_l2",
            Stage::TxDevice => "tx_device",
        }
    }

    /// The stage of a name, if any.
    pub fn from_name(name: &str) -> Option<Stage> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The clock stages are timed with (see the module docs for why
/// [`Instant`] and what it costs).
#[derive(Debug, Clone, Copy, Default)]
pub struct StageClock;

impl StageClock {
    /// Now.
    #[inline]
    pub fn now() -> Instant {
        Instant::now()
    }

    /// Nanoseconds since `since`, saturating.
    #[inline]
    pub fn elapsed_ns(since: Instant) -> u64 {
        u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    /// The mean cost of one [`now`](Self::now), measured over `reads`
    /// reads (for reports such as `strata bench`'s; not a test).
    pub fn cost(reads: u32) -> Duration {
        let reads = reads.max(1);
        let start = Instant::now();
        let mut last = start;
        for _ in 0..reads {
            last = std::hint::black_box(Self::now());
        }
        last.saturating_duration_since(start) / reads
    }
}

/// How a [`StageRecorder`] samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageConfig {
    /// Time every Nth burst; 0 turns timing off, 1 times every burst.
    pub sample_every: u32,
    /// Traffic classes kept apart (1 to [`MAX_CLASSES`]); with 1, the
    /// class argument is ignored and the recorder holds one histogram per
    /// stage.
    pub classes: u8,
}

impl Default for StageConfig {
    /// Every 16th burst, classes not kept apart.
    fn default() -> Self {
        StageConfig {
            sample_every: 16,
            classes: 1,
        }
    }
}

/// One worker's stage histograms (one writer, no sharing).
///
/// Shaped for burst processing: the worker asks once per burst whether to
/// time it, then records each stage once for the whole burst.
///
/// ```
/// use strata_engine::stats::{Stage, StageConfig, StageRecorder};
///
/// let mut rec = StageRecorder::new(StageConfig { sample_every: 2, classes: 1 });
/// for _ in 0..4 {
///     let t0 = rec.burst_start(); // Some on every 2nd burst
///     // … L2 on the whole burst …
///     rec.stage_done(Stage::RxL2, t0, 32);
/// }
/// let l2 = &rec.stage_stats()[0];
/// assert_eq!((l2.name.as_str(), l2.packets), ("rx_l2", 64));
/// ```
#[derive(Debug, Clone)]
pub struct StageRecorder {
    config: StageConfig,
    /// `Stage::COUNT × classes` histograms, stage-major.
    hists: Vec<Histogram<u64>>,
    countdown: u32,
    bursts: u64,
    sampled: u64,
    /// Sends until the next timed one ([`StageRecorder::send_start`]).
    send_countdown: u32,
}

/// Sends per burst in [`StageRecorder::send_start`]'s sampling: one send is
/// timed per `sample_every × 32`, the share of packets timed on receive with
/// bursts of 32.
pub const SENDS_PER_BURST: u32 = 32;

fn new_histogram() -> Histogram<u64> {
    // Constant bounds that satisfy every precondition of `new_with_bounds`
    // (low ≥ 1, high ≥ 2 × low, sigfig ≤ 5): this cannot fail.
    Histogram::new_with_bounds(1, HIGHEST_NS, SIGFIG).expect("valid constant histogram bounds")
}

impl StageRecorder {
    /// An empty recorder; `classes` is clamped to 1..=[`MAX_CLASSES`].
    pub fn new(config: StageConfig) -> Self {
        let config = StageConfig {
            sample_every: config.sample_every,
            classes: config.classes.clamp(1, MAX_CLASSES),
        };
        let n = Stage::COUNT * usize::from(config.classes);
        StageRecorder {
            config,
            hists: (0..n).map(|_| new_histogram()).collect(),
            countdown: config.sample_every,
            bursts: 0,
            sampled: 0,
            send_countdown: config.sample_every.saturating_mul(SENDS_PER_BURST),
        }
    }

    /// The configuration (with `classes` clamped).
    pub fn config(&self) -> StageConfig {
        self.config
    }

    /// Starts a send: `Some(now)` for one send in `sample_every` ×
    /// [`SENDS_PER_BURST`] (the transmit stages of a datagram sent directly
    /// through a stack are timed from here), `None` otherwise or when timing
    /// is off.
    #[inline]
    pub fn send_start(&mut self) -> Option<Instant> {
        if self.config.sample_every == 0 {
            return None;
        }
        self.send_countdown = self.send_countdown.saturating_sub(1);
        if self.send_countdown == 0 {
            self.send_countdown = self.config.sample_every.saturating_mul(SENDS_PER_BURST);
            Some(StageClock::now())
        } else {
            None
        }
    }

    /// Starts a burst: `Some(now)` when this burst is to be timed (every
    /// `sample_every`th), `None` otherwise or when timing is off.
    #[inline]
    pub fn burst_start(&mut self) -> Option<Instant> {
        if self.config.sample_every == 0 {
            return None;
        }
        self.bursts += 1;
        self.countdown = self.countdown.saturating_sub(1);
        if self.countdown == 0 {
            self.countdown = self.config.sample_every;
            self.sampled += 1;
            Some(StageClock::now())
        } else {
            None
        }
    }

    /// Records that `packets` packets of a burst started at `t0` finished
    /// `stage` now (nothing when `t0` is `None`).
    #[inline]
    pub fn stage_done(&mut self, stage: Stage, t0: Option<Instant>, packets: u64) {
        self.stage_done_class(stage, 0, t0, packets);
    }

    /// [`stage_done`](Self::stage_done) for packets of traffic class
    /// `class` (folded into class 0 unless classes are kept apart; classes
    /// beyond the configured ones count as the last).
    #[inline]
    pub fn stage_done_class(&mut self, stage: Stage, class: u8, t0: Option<Instant>, packets: u64) {
        if let Some(t0) = t0 {
            self.record_ns(stage, class, StageClock::elapsed_ns(t0), packets);
        }
    }

    /// [`stage_done_class`](Self::stage_done_class) with the end time given
    /// (when the caller has read the clock already).
    #[inline]
    pub fn stage_done_at(
        &mut self,
        stage: Stage,
        class: u8,
        t0: Option<Instant>,
        now: Instant,
        packets: u64,
    ) {
        if let Some(t0) = t0 {
            let ns =
                u64::try_from(now.saturating_duration_since(t0).as_nanos()).unwrap_or(u64::MAX);
            self.record_ns(stage, class, ns, packets);
        }
    }

    /// Records `packets` samples of `ns` nanoseconds for `stage` (for
    /// latencies measured elsewhere, e.g. an application thread reading a
    /// timestamp carried with the packet). `ns` is clamped to 1 ns..60 s;
    /// `packets == 0` records nothing.
    #[inline]
    pub fn record_ns(&mut self, stage: Stage, class: u8, ns: u64, packets: u64) {
        if packets == 0 {
            return;
        }
        let i = self.slot(stage, class);
        self.hists[i].saturating_record_n(ns.clamp(1, HIGHEST_NS), packets);
    }

    fn slot(&self, stage: Stage, class: u8) -> usize {
        let classes = self.config.classes;
        let class = if classes > 1 {
            class.min(classes - 1)
        } else {
            0
        };
        stage.index() * usize::from(classes) + usize::from(class)
    }

    /// Bursts started with timing on.
    pub fn bursts(&self) -> u64 {
        self.bursts
    }

    /// Bursts that were timed.
    pub fn sampled_bursts(&self) -> u64 {
        self.sampled
    }

    /// The histogram of `stage`, class `class` (`None` if out of range).
    pub fn histogram(&self, stage: Stage, class: u8) -> Option<&Histogram<u64>> {
        (class < self.config.classes).then(|| &self.hists[self.slot(stage, class)])
    }

    /// Whether nothing has been recorded since the last reset.
    pub fn is_empty(&self) -> bool {
        self.hists.iter().all(Histogram::is_empty)
    }

    /// Adds `other`'s samples (another worker's). Classes match by number;
    /// those beyond this recorder's count as its last.
    pub fn merge(&mut self, other: &StageRecorder) {
        for stage in Stage::ALL {
            for class in 0..other.config.classes {
                let theirs = &other.hists[other.slot(stage, class)];
                let i = self.slot(stage, class);
                // Same bounds on both sides, so the sum always fits; an
                // error could only lose these samples, never corrupt.
                let _ = self.hists[i].add(theirs);
            }
        }
        self.bursts = self.bursts.saturating_add(other.bursts);
        self.sampled = self.sampled.saturating_add(other.sampled);
    }

    /// Moves every sample into `into` and empties this recorder (what a
    /// worker does when publishing; no allocation).
    pub fn drain_into(&mut self, into: &mut StageRecorder) {
        into.merge(self);
        self.reset();
    }

    /// Forgets every sample (the sampling phase is kept).
    pub fn reset(&mut self) {
        for h in self.hists.iter_mut().filter(|h| !h.is_empty()) {
            h.reset();
        }
        self.bursts = 0;
        self.sampled = 0;
    }

    /// The summaries: one entry per stage over all classes (always all
    /// [`Stage::ALL`], zero when nothing was timed), then, when classes are
    /// kept apart, one entry per (stage, class) that has samples.
    pub fn stage_stats(&self) -> Vec<StageStats> {
        let classes = self.config.classes;
        let mut out = Vec::with_capacity(Stage::COUNT);
        for stage in Stage::ALL {
            let first = &self.hists[self.slot(stage, 0)];
            if classes == 1 {
                out.push(summarize(stage, None, first));
            } else {
                let mut all = first.clone();
                for class in 1..classes {
                    let _ = all.add(&self.hists[self.slot(stage, class)]);
                }
                out.push(summarize(stage, None, &all));
            }
        }
        if classes > 1 {
            for stage in Stage::ALL {
                for class in 0..classes {
                    let h = &self.hists[self.slot(stage, class)];
                    if !h.is_empty() {
                        out.push(summarize(stage, Some(class), h));
                    }
                }
            }
        }
        out
    }
}

fn summarize(stage: Stage, class: Option<u8>, h: &Histogram<u64>) -> StageStats {
    if h.is_empty() {
        return StageStats {
            name: stage.name().to_owned(),
            class,
            ..StageStats::default()
        };
    }
    StageStats {
        name: stage.name().to_owned(),
        packets: h.len(),
        p50_ns: h.value_at_quantile(0.50),
        p90_ns: h.value_at_quantile(0.90),
        p99_ns: h.value_at_quantile(0.99),
        max_ns: h.max(),
        mean_ns: h.mean(),
        class,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats_of<'a>(all: &'a [StageStats], name: &str, class: Option<u8>) -> &'a StageStats {
        all.iter()
            .find(|s| s.name == name && s.class == class)
            .unwrap_or_else(|| panic!("no {name} {class:?}"))
    }

    #[test]
    fn every_second_burst_is_timed() {
        let mut rec = StageRecorder::new(StageConfig {
            sample_every: 2,
            classes: 1,
        });
        let mut timed = 0;
        for burst in 0..10 {
            let t0 = rec.burst_start();
            assert_eq!(t0.is_some(), burst % 2 == 1, "burst {burst}");
            if t0.is_some() {
                timed += 1;
            }
            std::thread::sleep(Duration::from_micros(200));
            rec.stage_done(Stage::RxL3, t0, 32);
            rec.stage_done(Stage::RxL4, t0, 30);
        }
        assert_eq!(timed, 5);
        assert_eq!(rec.bursts(), 10);
        assert_eq!(rec.sampled_bursts(), 5);
        let all = rec.stage_stats();
        assert_eq!(all.len(), Stage::COUNT);
        let l3 = stats_of(&all, "rx_l3", None);
        assert_eq!(l3.packets, 5 * 32);
        // At least the 200 µs slept, and ordered percentiles.
        assert!(l3.p50_ns >= 190_000, "{l3:?}");
        assert!(l3.p50_ns <= l3.p90_ns && l3.p90_ns <= l3.p99_ns && l3.p99_ns <= l3.max_ns);
        assert!(l3.max_ns < 10_000_000_000, "{l3:?}");
        let l4 = stats_of(&all, "rx_l4", None);
        assert_eq!(l4.packets, 5 * 30);
        assert!(l4.p50_ns >= l3.p50_ns / 2);
        let l2 = stats_of(&all, "rx_l2", None);
        assert_eq!(
            (l2.packets, l2.max_ns),
            (0, 0),
            "untimed stages are listed at zero"
        );
    }

    #[test]
    fn timing_off_records_nothing() {
        let mut rec = StageRecorder::new(StageConfig {
            sample_every: 0,
            classes: 1,
        });
        for _ in 0..100 {
            let t0 = rec.burst_start();
            assert!(t0.is_none());
            rec.stage_done(Stage::TxDevice, t0, 32);
        }
        assert!(rec.is_empty());
        assert_eq!(rec.bursts(), 0);
    }

    #[test]
    fn percentiles_of_known_values_and_merge() {
        let mut a = StageRecorder::new(StageConfig::default());
        let mut b = StageRecorder::new(StageConfig::default());
        // 1..=100 µs once each, split over two workers.
        for us in 1..=100u64 {
            let rec = if us % 2 == 0 { &mut a } else { &mut b };
            rec.record_ns(Stage::TxL3, 0, us * 1000, 1);
        }
        a.merge(&b);
        let s = a.stage_stats();
        let l3 = stats_of(&s, "tx_l3", None);
        assert_eq!(l3.packets, 100);
        let near = |got: u64, want: u64| got.abs_diff(want) <= want / 100 + 1;
        assert!(near(l3.p50_ns, 50_000), "{l3:?}");
        assert!(near(l3.p90_ns, 90_000), "{l3:?}");
        assert!(near(l3.p99_ns, 99_000), "{l3:?}");
        assert!(near(l3.max_ns, 100_000), "{l3:?}");
        assert!((l3.mean_ns - 50_500.0).abs() < 100.0, "{l3:?}");
        // Out-of-range values are clamped, never an error.
        a.record_ns(Stage::TxL3, 0, 0, 1);
        a.record_ns(Stage::TxL3, 0, u64::MAX, 1);
        let l3 = a.stage_stats()[Stage::TxL3 as usize].clone();
        assert_eq!(l3.packets, 102);
        assert!(l3.max_ns >= HIGHEST_NS && l3.max_ns <= HIGHEST_NS + HIGHEST_NS / 500);
        // Draining moves everything.
        let mut sink = StageRecorder::new(StageConfig::default());
        a.drain_into(&mut sink);
        assert!(a.is_empty());
        assert_eq!(sink.stage_stats()[Stage::TxL3 as usize].packets, 102);
    }

    #[test]
    fn classes_are_kept_apart_when_configured() {
        let mut rec = StageRecorder::new(StageConfig {
            sample_every: 1,
            classes: 3,
        });
        rec.record_ns(Stage::RxL2, 0, 100, 10);
        rec.record_ns(Stage::RxL2, 2, 10_000, 5);
        rec.record_ns(Stage::RxL2, 7, 10_000, 1); // beyond: the last class
        let s = rec.stage_stats();
        assert_eq!(stats_of(&s, "rx_l2", None).packets, 16);
        assert_eq!(stats_of(&s, "rx_l2", Some(0)).packets, 10);
        assert_eq!(stats_of(&s, "rx_l2", Some(2)).packets, 6);
        assert!(
            s.iter().all(|e| e.class != Some(1)),
            "empty classes are omitted"
        );
        assert_eq!(s.len(), Stage::COUNT + 2);
        assert!(rec.histogram(Stage::RxL2, 3).is_none());
        // A one-class recorder folds the classes together on merge.
        let mut one = StageRecorder::new(StageConfig::default());
        one.merge(&rec);
        assert_eq!(one.stage_stats()[0].packets, 16);
        assert_eq!(
            StageRecorder::new(StageConfig {
                sample_every: 1,
                classes: 200
            })
            .config()
            .classes,
            MAX_CLASSES
        );
    }

    #[test]
    fn one_send_in_sample_every_bursts_of_sends_is_timed() {
        let mut on = StageRecorder::new(StageConfig {
            sample_every: 2,
            classes: 1,
        });
        let timed: Vec<usize> = (1..=200).filter(|_| on.send_start().is_some()).collect();
        assert_eq!(timed.len(), 200 / (2 * SENDS_PER_BURST as usize));
        let mut off = StageRecorder::new(StageConfig {
            sample_every: 0,
            classes: 1,
        });
        assert!((0..1000).all(|_| off.send_start().is_none()));
    }

    #[test]
    fn names_round_trip() {
        for s in Stage::ALL {
            assert_eq!(Stage::from_name(s.name()), Some(s));
        }
        assert_eq!(Stage::from_name("rx_l7"), None);
        assert!(StageClock::cost(1000) < Duration::from_millis(1));
    }
}
