//! The ring and pool comparison: Strata, DPDK (`dpdk-test`
//! `ring_perf_autotest` and DPDK's mempool loop), rtrb and crossbeam, all
//! measured in the same run, round after round, reported as medians with
//! their spread and as ratios against the targets of issue 2.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use crate::dpdk::{self, MempoolCase};
use crate::micro::{self, PoolLayer, RingKind};
use crate::peers::{self, Peer};
use crate::summary::Summary;

/// Knobs of a comparison run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Rounds; every subject and peer is measured once per round.
    pub runs: usize,
    /// Seconds per pool measurement (DPDK's autotest uses 5).
    pub pool_seconds: f64,
    /// Scale of the ring loop counts (1.0 = 2^22 bulk iterations on one core).
    pub scale: f64,
    /// Where `perf/dpdk/mempool_perf.c` lives.
    pub mempool_source: PathBuf,
    /// Where to build it.
    pub build_dir: PathBuf,
    /// Whether to run DPDK at all.
    pub dpdk: bool,
    /// Progress lines on stderr.
    pub verbose: bool,
}

impl Default for Options {
    fn default() -> Self {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        Self {
            runs: 5,
            pool_seconds: 1.0,
            scale: 1.0,
            mempool_source: root.join("dpdk/mempool_perf.c"),
            build_dir: root.join("../target/strata-perf"),
            dpdk: true,
            verbose: true,
        }
    }
}

/// Column names.
pub const STRATA: &str = "strata";
/// DPDK's figure.
pub const DPDK: &str = "dpdk";
/// rtrb (chunk API for bulks).
pub const RTRB: &str = "rtrb";
/// crossbeam's ArrayQueue.
pub const ARRAY_QUEUE: &str = "crossbeam";

/// One subject with every column's per-round values (ns per element).
#[derive(Debug, Clone, Default)]
pub struct Row {
    /// What is measured.
    pub subject: String,
    /// Column → one value per round.
    pub values: BTreeMap<&'static str, Vec<f64>>,
}

/// A target: Strata at least `speedup` times as fast as `peer` on `subject`.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Row subject.
    pub subject: &'static str,
    /// Column compared with.
    pub peer: &'static str,
    /// Required `peer_ns / strata_ns`.
    pub speedup: f64,
}

/// Row subjects, in table order.
pub const SUBJECTS: &[&str] = &[
    "SPSC single, 1 core",
    "SPSC bulk 8, 1 core",
    "SPSC bulk 32, 1 core",
    "SPSC bulk 32, 2 cores",
    "MPMC bulk 32, 1 core",
    "MPMC bulk 32, 2 cores",
    "pool get+put 32, cache, keep 32",
    "pool get+put 32, cache, keep 128",
    "pool get+put 32, no cache, keep 32",
    "NetBuf alloc+free 32, cache",
];

/// The targets of issue 2.
pub const TARGETS: &[Target] = &[
    Target {
        subject: "SPSC bulk 32, 1 core",
        peer: DPDK,
        speedup: 1.0,
    },
    Target {
        subject: "SPSC bulk 32, 2 cores",
        peer: DPDK,
        speedup: 1.0,
    },
    Target {
        subject: "MPMC bulk 32, 1 core",
        peer: DPDK,
        speedup: 1.0,
    },
    Target {
        subject: "MPMC bulk 32, 2 cores",
        peer: DPDK,
        speedup: 1.0,
    },
    Target {
        subject: "pool get+put 32, cache, keep 32",
        peer: DPDK,
        speedup: 1.0,
    },
    Target {
        subject: "pool get+put 32, cache, keep 128",
        peer: DPDK,
        speedup: 1.0,
    },
    Target {
        subject: "SPSC bulk 32, 1 core",
        peer: RTRB,
        speedup: 2.0,
    },
    Target {
        subject: "SPSC bulk 32, 2 cores",
        peer: RTRB,
        speedup: 2.0,
    },
    Target {
        subject: "SPSC bulk 32, 1 core",
        peer: ARRAY_QUEUE,
        speedup: 10.0,
    },
    Target {
        subject: "SPSC bulk 32, 2 cores",
        peer: ARRAY_QUEUE,
        speedup: 10.0,
    },
];

/// The result of a comparison run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// One row per subject.
    pub rows: Vec<Row>,
    /// Problems met (a peer that could not run), for the reader.
    pub notes: Vec<String>,
    /// The TSC frequency DPDK measured, Hz (0 if DPDK did not run).
    pub tsc_hz: f64,
}

impl Report {
    fn push(&mut self, subject: &str, column: &'static str, value: Option<f64>) {
        let Some(v) = value else { return };
        let row = match self.rows.iter_mut().position(|r| r.subject == subject) {
            Some(i) => &mut self.rows[i],
            None => {
                self.rows.push(Row {
                    subject: subject.to_owned(),
                    ..Row::default()
                });
                self.rows.last_mut().expect("just pushed")
            }
        };
        row.values.entry(column).or_default().push(v);
    }

    /// The summary of one cell.
    pub fn cell(&self, subject: &str, column: &str) -> Option<Summary> {
        let row = self.rows.iter().find(|r| r.subject == subject)?;
        Summary::of(row.values.get(column)?)
    }

    /// `(target, achieved speedup)` for every target both sides of which were measured.
    pub fn verdicts(&self) -> Vec<(Target, f64)> {
        TARGETS
            .iter()
            .filter_map(|t| {
                let ours = self.cell(t.subject, STRATA)?;
                let theirs = self.cell(t.subject, t.peer)?;
                Some((*t, theirs.median / ours.median))
            })
            .collect()
    }

    /// The table a user can quote.
    pub fn table(&self) -> String {
        let cols = [STRATA, DPDK, RTRB, ARRAY_QUEUE];
        let mut s = String::new();
        let runs = self
            .rows
            .first()
            .and_then(|r| r.values.get(STRATA))
            .map_or(0, Vec::len);
        let _ = writeln!(s, "ns per element (one enqueue + one dequeue; pools: one get + one put), median [min–max] of {runs} run(s)");
        let _ = writeln!(
            s,
            "{:<36} {:>22} {:>22} {:>22} {:>22}",
            "subject", cols[0], cols[1], "rtrb (chunk)", "crossbeam ArrayQueue"
        );
        for subject in SUBJECTS {
            let mut line = format!("{subject:<36}");
            for c in cols {
                let text = self
                    .cell(subject, c)
                    .map_or("-".to_owned(), |x| x.display(2));
                let _ = write!(line, " {text:>22}");
            }
            let _ = writeln!(s, "{line}");
        }
        let _ = writeln!(
            s,
            "\ntargets (speed-up = peer ns / Strata ns, from medians):"
        );
        for (t, got) in self.verdicts() {
            let verdict = if got >= t.speedup { "met" } else { "MISSED" };
            let _ = writeln!(
                s,
                "  {:<36} vs {:<10} needs ≥ {:>4.1}×  got {:>6.2}×  {verdict}",
                t.subject, t.peer, t.speedup, got
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }

    /// The report as JSON (hand-written: the schema is flat).
    pub fn json(&self) -> String {
        let mut s = String::from("{\"unit\":\"ns_per_element\",\"rows\":[");
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(s, "{{\"subject\":{:?},\"columns\":{{", row.subject);
            for (j, (col, vals)) in row.values.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                let sum = Summary::of(vals);
                let vals: Vec<String> = vals.iter().map(|v| format!("{v:.4}")).collect();
                let _ = write!(
                    s,
                    "{col:?}:{{\"median\":{:.4},\"min\":{:.4},\"max\":{:.4},\"runs\":[{}]}}",
                    sum.map_or(f64::NAN, |x| x.median),
                    sum.map_or(f64::NAN, |x| x.min),
                    sum.map_or(f64::NAN, |x| x.max),
                    vals.join(",")
                );
            }
            s.push_str("}}");
        }
        s.push_str("],\"targets\":[");
        for (i, (t, got)) in self.verdicts().iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"subject\":{:?},\"peer\":{:?},\"needed\":{},\"speedup\":{:.3},\"met\":{}}}",
                t.subject,
                t.peer,
                t.speedup,
                got,
                *got >= t.speedup
            );
        }
        let _ = write!(s, "],\"tsc_hz\":{}}}", self.tsc_hz);
        s
    }
}

/// Runs `f` on a thread pinned to `cpu` (so the caller stays unpinned).
fn on_cpu<T: Send + 'static>(cpu: Option<usize>, f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(move || {
        if let Some(c) = cpu {
            let _ = strata_engine::cpu::pin_current(c);
        }
        f()
    })
    .join()
    .expect("measurement thread")
}

/// Runs the comparison.
pub fn run(opts: &Options) -> Report {
    let mut report = Report::default();
    let cpus = micro::two_cpus();
    let first = cpus
        .map(|(a, _)| a)
        .or_else(|| strata_engine::cpu::allowed_cpus().first().copied());
    let dpdk_cpus = cpus.map_or_else(
        || first.unwrap_or(0).to_string(),
        |(a, b)| format!("{a},{b}"),
    );
    let iters = |base: u64| ((base as f64 * opts.scale).max(1000.0)) as u64;
    let mempool_bin = if opts.dpdk && dpdk::available() {
        match dpdk::build_mempool_perf(&opts.mempool_source, &opts.build_dir) {
            Ok(b) => Some(b),
            Err(e) => {
                report
                    .notes
                    .push(format!("DPDK mempool loop not built: {e}"));
                None
            }
        }
    } else {
        if opts.dpdk {
            report
                .notes
                .push(dpdk::DpdkError::Missing("dpdk-test").to_string());
        }
        None
    };
    let pool_cases: [(&str, PoolLayer, MempoolCase); 4] = [
        (
            "pool get+put 32, cache, keep 32",
            PoolLayer::Raw,
            MempoolCase {
                cache: 512,
                n_bulk: 32,
                n_keep: 32,
                mbuf: false,
            },
        ),
        (
            "pool get+put 32, cache, keep 128",
            PoolLayer::Raw,
            MempoolCase {
                cache: 512,
                n_bulk: 32,
                n_keep: 128,
                mbuf: false,
            },
        ),
        (
            "pool get+put 32, no cache, keep 32",
            PoolLayer::Raw,
            MempoolCase {
                cache: 0,
                n_bulk: 32,
                n_keep: 32,
                mbuf: false,
            },
        ),
        (
            "NetBuf alloc+free 32, cache",
            PoolLayer::NetBuf,
            MempoolCase {
                cache: 512,
                n_bulk: 32,
                n_keep: 32,
                mbuf: true,
            },
        ),
    ];
    for round in 1..=opts.runs {
        if opts.verbose {
            eprintln!("round {round}/{}: rings", opts.runs);
        }
        // Strata and the Rust peers, one core.
        let s = iters(1 << 22);
        let p = iters(1 << 20);
        let one = on_cpu(first, move || {
            [
                micro::one_core(RingKind::Spsc, 1, 4 * s),
                micro::one_core(RingKind::Spsc, 8, s),
                micro::one_core(RingKind::Spsc, 32, s),
                micro::one_core(RingKind::Mpmc, 32, s),
                peers::one_core(Peer::RtrbChunk, 1, 4 * p),
                peers::one_core(Peer::RtrbChunk, 8, p),
                peers::one_core(Peer::RtrbChunk, 32, p),
                peers::one_core(Peer::ArrayQueue, 1, 4 * p),
                peers::one_core(Peer::ArrayQueue, 8, p),
                peers::one_core(Peer::ArrayQueue, 32, p / 4),
            ]
        });
        report.push(SUBJECTS[0], STRATA, Some(one[0]));
        report.push(SUBJECTS[1], STRATA, Some(one[1]));
        report.push(SUBJECTS[2], STRATA, Some(one[2]));
        report.push(SUBJECTS[4], STRATA, Some(one[3]));
        report.push(SUBJECTS[0], RTRB, Some(one[4]));
        report.push(SUBJECTS[1], RTRB, Some(one[5]));
        report.push(SUBJECTS[2], RTRB, Some(one[6]));
        report.push(SUBJECTS[0], ARRAY_QUEUE, Some(one[7]));
        report.push(SUBJECTS[1], ARRAY_QUEUE, Some(one[8]));
        report.push(SUBJECTS[2], ARRAY_QUEUE, Some(one[9]));
        // Two cores.
        let t = iters(1 << 21);
        report.push(
            SUBJECTS[3],
            STRATA,
            micro::two_cores(RingKind::Spsc, 32, t).map(|x| x.sum_ns),
        );
        report.push(
            SUBJECTS[5],
            STRATA,
            micro::two_cores(RingKind::Mpmc, 32, t).map(|x| x.sum_ns),
        );
        report.push(
            SUBJECTS[3],
            RTRB,
            peers::two_cores(Peer::RtrbChunk, 32, t / 2).map(|x| x.sum_ns),
        );
        report.push(
            SUBJECTS[3],
            ARRAY_QUEUE,
            peers::two_cores(Peer::ArrayQueue, 32, t / 16).map(|x| x.sum_ns),
        );
        if cpus.is_none() && round == 1 {
            report
                .notes
                .push("one CPU only: the two-core rows were not measured".into());
        }
        // DPDK's ring test.
        if opts.dpdk && dpdk::available() {
            match dpdk::ring_perf(&dpdk_cpus) {
                Ok(f) => {
                    report.tsc_hz = f.tsc_hz;
                    report.push(SUBJECTS[0], DPDK, f.spsc_single);
                    report.push(SUBJECTS[1], DPDK, f.spsc_bulk8);
                    report.push(SUBJECTS[2], DPDK, f.spsc_bulk32);
                    report.push(SUBJECTS[3], DPDK, f.spsc_bulk32_two_cores);
                    report.push(SUBJECTS[4], DPDK, f.mpmc_bulk32);
                    report.push(SUBJECTS[5], DPDK, f.mpmc_bulk32_two_cores);
                }
                Err(e) => report.notes.push(format!("round {round}: {e}")),
            }
        }
        if opts.verbose {
            eprintln!("round {round}/{}: pools", opts.runs);
        }
        for (subject, layer, case) in pool_cases {
            let secs = opts.pool_seconds;
            let cache = case.cache > 0;
            let ours = on_cpu(first, move || {
                micro::pool_get_put(layer, cache, case.n_bulk, case.n_keep, secs)
            });
            report.push(subject, STRATA, Some(ours));
            if let Some(bin) = &mempool_bin {
                match dpdk::mempool_perf(bin, first.unwrap_or(0), case, secs) {
                    Ok(ns) => report.push(subject, DPDK, Some(ns)),
                    Err(e) => report.notes.push(format!("round {round}: {e}")),
                }
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_json_show_medians_and_verdicts() {
        let mut r = Report::default();
        for (s, d) in [(0.5, 0.7), (0.6, 0.6), (0.4, 0.8)] {
            r.push("SPSC bulk 32, 1 core", STRATA, Some(s));
            r.push("SPSC bulk 32, 1 core", DPDK, Some(d));
        }
        r.push("SPSC bulk 32, 1 core", RTRB, Some(1.0));
        let v = r.verdicts();
        assert_eq!(v.len(), 2);
        assert!((v[0].1 - 0.7 / 0.5).abs() < 1e-9 && v[0].1 >= v[0].0.speedup);
        assert!((v[1].1 - 2.0).abs() < 1e-9);
        let table = r.table();
        assert!(table.contains("0.50 [0.40–0.60]"), "{table}");
        assert!(table.contains("met"));
        let json = r.json();
        assert!(
            json.contains("\"median\":0.5000") && json.contains("\"met\":true"),
            "{json}"
        );
        r.push("MPMC bulk 32, 1 core", STRATA, Some(2.0));
        r.push("MPMC bulk 32, 1 core", DPDK, Some(1.0));
        assert!(r.table().contains("MISSED"));
    }

    #[test]
    fn a_tiny_run_fills_the_strata_column() {
        let opts = Options {
            runs: 1,
            pool_seconds: 0.001,
            scale: 0.0,
            dpdk: false,
            verbose: false,
            ..Options::default()
        };
        let r = run(&opts);
        for subject in [
            "SPSC single, 1 core",
            "SPSC bulk 32, 1 core",
            "MPMC bulk 32, 1 core",
            "NetBuf alloc+free 32, cache",
        ] {
            assert!(r.cell(subject, STRATA).is_some(), "{subject}");
        }
    }
}

/// Reads one of the comparison's own flags (`--runs N`, `--pool-seconds S`,
/// `--scale X`, `--no-dpdk`, `--quiet`) into `opts`, taking its value from
/// `rest` when it has one. Returns `Ok(false)` for a flag that is not one of
/// these, so the caller can handle its own.
///
/// # Errors
/// A message naming the flag and its range when the value is missing or out of range.
pub fn apply_flag<'a>(
    opts: &mut Options,
    flag: &str,
    rest: &mut impl Iterator<Item = &'a String>,
) -> Result<bool, String> {
    let mut value = |name: &str| {
        rest.next()
            .cloned()
            .ok_or_else(|| format!("{name} needs a value"))
    };
    match flag {
        "--runs" => {
            opts.runs = value("--runs")?
                .parse()
                .ok()
                .filter(|n| (1..=1000).contains(n))
                .ok_or("--runs takes a number from 1 to 1000")?;
        }
        "--pool-seconds" => {
            opts.pool_seconds = value("--pool-seconds")?
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 60.0)
                .ok_or("--pool-seconds takes seconds, more than 0 and at most 60")?;
        }
        "--scale" => {
            opts.scale = value("--scale")?
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s <= 100.0)
                .ok_or("--scale takes a factor, more than 0 and at most 100")?;
        }
        "--no-dpdk" => opts.dpdk = false,
        "--quiet" => opts.verbose = false,
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod flag_tests {
    use super::*;

    #[test]
    fn flags_and_their_errors() {
        let mut o = Options::default();
        let args: Vec<String> = ["3", "x"].iter().map(|s| s.to_string()).collect();
        let mut it = args.iter();
        assert_eq!(apply_flag(&mut o, "--runs", &mut it), Ok(true));
        assert_eq!(o.runs, 3);
        assert!(apply_flag(&mut o, "--scale", &mut it)
            .unwrap_err()
            .contains("--scale takes"));
        assert!(apply_flag(&mut o, "--runs", &mut it)
            .unwrap_err()
            .contains("needs a value"));
        assert_eq!(apply_flag(&mut o, "--json", &mut it), Ok(false));
        assert_eq!(apply_flag(&mut o, "--no-dpdk", &mut it), Ok(true));
        assert!(!o.dpdk);
    }
}
