//! Statistics: Zephyr's `net_stats` counters and packet-processing timing,
//! published by workers and read, merged, as the stats JSON and Prometheus
//! text (DESIGN.md, "Statistics", "Contract: stats JSON", "Contract: metrics").
//!
//! | file | what |
//! |---|---|
//! | [`snapshot`] | [`StatsSnapshot`], the stats JSON contract, with [`StatsSnapshot::merge`] and [`Rates::between`] |
//! | [`counters`] | [`ProtoCounters`] / [`Counters`]: hot-path protocol counters, drops by a registered [`ReasonId`] |
//! | [`stage`] | [`Stage`], [`StageClock`], [`StageRecorder`]: sampled per-stage latency histograms |
//! | [`publish`] | [`StatsPublisher`] / [`StatsReader`]: workers publish every 100 ms, readers merge |
//! | [`prometheus`] | the Prometheus text exposition of a snapshot |
//! | [`exporter`] | [`Exporter`]: a tiny HTTP server for `/metrics` and `/stats` |
//!
//! # Life of a number
//!
//! A worker owns a [`Counters`] and a [`StageRecorder`] and writes them with
//! plain (non-atomic) arithmetic: one writer, no sharing, no locks. Every
//! [`StatsPublisher::DEFAULT_INTERVAL`] it calls
//! [`StatsPublisher::maybe_publish`], which builds a [`StatsSnapshot`] and
//! moves the recorder's samples into a slot shared with readers. A
//! [`StatsReader`] merges the slots of every worker: counters are added,
//! histograms are added ([`hdrhistogram::Histogram::add`]) and only then
//! summarised into percentiles, so the merged p99 is the p99 of all samples,
//! not an average of per-worker p99s.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use strata_engine::stats::{Counters, Stage, StageConfig, StageRecorder, StatsReader};
//!
//! let reader = StatsReader::new();
//! let mut publisher = reader.publisher(0).with_interval(Duration::ZERO);
//! let mut counters = Counters::new();
//! let checksum = counters.udp.register("checksum");
//! let mut stages = StageRecorder::new(StageConfig { sample_every: 1, classes: 1 });
//!
//! // The worker's burst loop.
//! let t0 = stages.burst_start();
//! counters.udp.recv_n(31);
//! counters.udp.drop(checksum);
//! stages.stage_done(Stage::RxL4, t0, 32);
//! publisher.maybe_publish_with(Instant::now(), &mut stages, || counters.snapshot());
//!
//! // Any other thread.
//! let snap = reader.snapshot();
//! assert_eq!(snap.protocols.udp.recv, 31);
//! assert_eq!(snap.protocols.udp.drop, 1);
//! assert_eq!(snap.stages.iter().find(|s| s.name == "rx_l4").unwrap().packets, 32);
//! ```

pub mod counters;
pub mod exporter;
pub mod prometheus;
pub mod publish;
pub mod snapshot;
pub mod stage;

pub use counters::{Counters, ProtoCounters, ReasonId, MAX_DROP_REASONS};
pub use exporter::{Exporter, ExporterConfig, ExporterHandle, StatsSource};
pub use publish::{StatsPublisher, StatsReader};
pub use snapshot::{
    InterfaceStats, PoolStatsJson, ProtoStats, Protocols, QueueStats, Rates, StageStats,
    StatsSnapshot,
};
pub use stage::{Stage, StageClock, StageConfig, StageRecorder};
