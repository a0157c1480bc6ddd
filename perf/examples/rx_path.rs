//! The RX-path comparison of issue 4 ("Targets"): UDP frames received from
//! Ethernet up to a bound socket, checksums verified, drained on the same
//! core; every subject is fed the identical frames of
//! `strata_perf::rx_frames` and measured the same way, round after round, in
//! one run, beside the kernel's UDP receive over loopback.
//!
//! ```text
//! cargo run --release -p strata-perf --example rx_path -- \
//!     [--runs N] [--packets N] [--sizes 64,1500] [--flows N] [--no-kernel]
//!     [--kernel-seconds S] [--kernel-packets N] [--json FILE]
//! cargo run --release -p strata-perf --example rx_path -- \
//!     --callgrind smoltcp --packets N --size 64      # see perf/callgrind-rx.sh
//! ```
#![forbid(unsafe_code)]

#[path = "../peers/kernel_udp.rs"]
mod kernel_udp;
#[path = "../peers/smoltcp_rx.rs"]
mod smoltcp_rx;
#[path = "../peers/strata_rx.rs"]
mod strata_rx;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use strata_perf::rx_frames::{self, RxOutcome};
use strata_perf::summary::Summary;

/// One stack's in-memory receive path: sets itself up for `frames` (all of
/// one size, from `rx_frames::udp_frames`), warms up, then receives
/// `packets` frames cycling through them, timing only that part (in a
/// function named `measured_rx_loop`, never inlined, which
/// `perf/callgrind-rx.sh` counts instructions in), and checks that every
/// datagram reached the socket intact.
type RxRun = fn(frames: &[Vec<u8>], packets: u64) -> RxOutcome;

/// A subject of the comparison.
struct Subject {
    /// Column name, and the name `--callgrind` takes.
    name: &'static str,
    run: RxRun,
}

/// The column the targets are about.
const STRATA: &str = "strata";
/// The kernel's loopback figure.
const KERNEL: &str = "kernel";

/// Every in-memory subject, measured in this order in each round:
/// - `strata` (the targets are about it): the device hands over frames it
///   owns from a ring, by index, with no copy and no reference count, as
///   the AF_XDP device does with what the kernel wrote, and as smoltcp's
///   device lends slices of the prebuilt frames;
/// - `strata_copy`: every frame written into a fresh pool buffer from the
///   worker's cache, what copying devices (TAP, AF_PACKET) do: a NIC's DMA
///   done by the CPU, which smoltcp's side does not do;
/// - `strata_lend`: the frames lent as zero-copy clones of prebuilt buffers
///   (a reference count taken and dropped per frame: two atomic
///   read-modify-writes that cost more than the copy);
/// - smoltcp.
const SUBJECTS: &[Subject] = &[
    Subject {
        name: STRATA,
        run: strata_rx::run,
    },
    Subject {
        name: "strata_copy",
        run: strata_rx::run_copy,
    },
    Subject {
        name: "strata_lend",
        run: strata_rx::run_lend,
    },
    Subject {
        name: "smoltcp",
        run: smoltcp_rx::run,
    },
];

/// Strata at least `speedup` times as fast as `peer` at `size` (issue 4).
struct Target {
    size: usize,
    peer: &'static str,
    speedup: f64,
}

const TARGETS: &[Target] = &[
    Target {
        size: 64,
        peer: "smoltcp",
        speedup: 2.0,
    },
    Target {
        size: 1500,
        peer: "smoltcp",
        speedup: 2.0,
    },
    Target {
        size: 64,
        peer: KERNEL,
        speedup: 30.0,
    },
];

#[derive(Debug, Clone)]
struct Options {
    runs: usize,
    packets: u64,
    sizes: Vec<usize>,
    flows: usize,
    kernel: bool,
    kernel_seconds: f64,
    kernel_packets: u64,
    json: Option<String>,
    callgrind: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            runs: 5,
            packets: 2_000_000,
            sizes: rx_frames::DEFAULT_SIZES.to_vec(),
            flows: 16,
            kernel: true,
            kernel_seconds: 2.0,
            kernel_packets: 5_000_000,
            json: None,
            callgrind: None,
        }
    }
}

const USAGE: &str = "usage: rx_path [--runs N] [--packets N] [--sizes 64,1500] [--flows N]
               [--no-kernel] [--kernel-seconds S] [--kernel-packets N] [--json FILE]
       rx_path --callgrind SUBJECT [--packets N] [--size BYTES] [--flows N]

  Frame sizes count the 4-byte FCS (64 = 60 stored bytes, 18 bytes of UDP payload).
  --runs N            rounds; every subject is measured once per round (default 5)
  --packets N         packets per in-memory measurement (default 2000000)
  --sizes LIST        frame sizes, 64..=1518 (default 64,1500)
  --flows N           distinct source ports (default 16)
  --no-kernel         leave out the kernel's UDP over loopback
  --kernel-seconds S  at most S seconds per kernel run (default 2)
  --kernel-packets N  at most N datagrams per kernel run (default 5000000)
  --json FILE         also write the figures as JSON
  --callgrind SUBJECT only SUBJECT's receive loop, once, for valgrind (perf/callgrind-rx.sh)";

fn number<T: std::str::FromStr>(flag: &str, v: Option<&String>) -> Result<T, String> {
    v.ok_or_else(|| format!("{flag} needs a value"))?
        .parse()
        .map_err(|_| format!("{flag}: not a number"))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--runs" => {
                o.runs = number("--runs", it.next())?;
                if !(1..=1000).contains(&o.runs) {
                    return Err("--runs takes 1 to 1000".into());
                }
            }
            "--packets" => {
                o.packets = number("--packets", it.next())?;
                if o.packets == 0 {
                    return Err("--packets must be more than 0".into());
                }
            }
            "--sizes" | "--size" => {
                let v = it.next().ok_or(format!("{flag} needs a value"))?;
                o.sizes = v
                    .split(',')
                    .map(|s| {
                        let n: usize = s.trim().parse().map_err(|_| format!("{flag}: {s:?}"))?;
                        rx_frames::stored_len(n).map_err(|e| e.to_string())?;
                        Ok(n)
                    })
                    .collect::<Result<_, String>>()?;
            }
            "--flows" => o.flows = number("--flows", it.next())?,
            "--no-kernel" => o.kernel = false,
            "--kernel-seconds" => {
                o.kernel_seconds = number("--kernel-seconds", it.next())?;
                if !(o.kernel_seconds > 0.0 && o.kernel_seconds <= 60.0) {
                    return Err("--kernel-seconds takes more than 0, at most 60".into());
                }
            }
            "--kernel-packets" => o.kernel_packets = number("--kernel-packets", it.next())?,
            "--json" => o.json = Some(it.next().ok_or("--json needs a value")?.clone()),
            "--callgrind" => {
                o.callgrind = Some(it.next().ok_or("--callgrind needs a subject")?.clone())
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    if o.flows == 0 || o.flows > rx_frames::MAX_FLOWS {
        return Err(format!("--flows takes 1 to {}", rx_frames::MAX_FLOWS));
    }
    Ok(o)
}

/// Runs `f` on a thread pinned to `cpu`, so the caller stays unpinned.
fn on_cpu<T: Send>(cpu: Option<usize>, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(move || {
            if let Some(c) = cpu {
                let _ = strata_engine::cpu::pin_current(c);
            }
            f()
        })
        .join()
        .expect("measurement thread")
    })
}

/// One cell's values, one per round: (ns per packet, Mpps).
type Cell = (Vec<f64>, Vec<f64>);

/// Per (frame size, column): ns per packet and Mpps, one value per round.
#[derive(Debug, Default)]
struct Report {
    cells: BTreeMap<(usize, &'static str), Cell>,
    notes: Vec<String>,
    runs: usize,
}

impl Report {
    fn push(&mut self, size: usize, column: &'static str, ns: f64, mpps: f64) {
        let c = self.cells.entry((size, column)).or_default();
        c.0.push(ns);
        c.1.push(mpps);
    }

    fn ns(&self, size: usize, column: &str) -> Option<Summary> {
        let (_, (ns, _)) = self
            .cells
            .iter()
            .find(|((s, c), _)| *s == size && *c == column)?;
        Summary::of(ns)
    }

    fn mpps(&self, size: usize, column: &str) -> Option<Summary> {
        let (_, (_, m)) = self
            .cells
            .iter()
            .find(|((s, c), _)| *s == size && *c == column)?;
        Summary::of(m)
    }

    /// `(target, achieved speed-up)` for every target both sides of which were measured.
    fn verdicts(&self) -> Vec<(&'static Target, f64)> {
        TARGETS
            .iter()
            .filter_map(|t| {
                let ours = self.ns(t.size, STRATA)?;
                let theirs = self.ns(t.size, t.peer)?;
                Some((t, theirs.median / ours.median))
            })
            .collect()
    }

    fn columns() -> Vec<&'static str> {
        SUBJECTS
            .iter()
            .map(|s| s.name)
            .chain(std::iter::once(KERNEL))
            .collect()
    }

    fn table(&self, sizes: &[usize]) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "RX path: Ethernet/IPv4/UDP frames to a bound socket, checksums verified, \
             read on the same core;\nkernel: UDP over 127.0.0.1, sendmmsg/recvmmsg batches of {}, \
             two pinned threads. Median [min–max] of {} run(s).",
            kernel_udp::BATCH,
            self.runs
        );
        let _ = writeln!(
            s,
            "{:<7} {:<18} {:>28} {:>28}",
            "frame", "subject", "ns per packet", "Mpps"
        );
        for &size in sizes {
            for col in Self::columns() {
                let (Some(ns), Some(m)) = (self.ns(size, col), self.mpps(size, col)) else {
                    continue;
                };
                let name = if col == KERNEL {
                    "kernel (loopback)"
                } else {
                    col
                };
                let digits = if ns.median >= 100.0 { 1 } else { 2 };
                let _ = writeln!(
                    s,
                    "{:<7} {:<18} {:>28} {:>28}",
                    format!("{size} B"),
                    name,
                    ns.display(digits),
                    m.display(3)
                );
            }
        }
        let _ = writeln!(
            s,
            "\ntargets (speed-up = peer ns / Strata ns, from medians):"
        );
        let verdicts = self.verdicts();
        if verdicts.is_empty() {
            let _ = writeln!(
                s,
                "  not judged: no `{STRATA}` subject measured yet (see SUBJECTS in examples/rx_path.rs)"
            );
        }
        for (t, got) in verdicts {
            let verdict = if got >= t.speedup { "met" } else { "MISSED" };
            let _ = writeln!(
                s,
                "  {:>4} B  vs {:<8} needs ≥ {:>4.1}×  got {:>7.2}×  {verdict}",
                t.size, t.peer, t.speedup, got
            );
        }
        for n in &self.notes {
            let _ = writeln!(s, "note: {n}");
        }
        s
    }

    fn json(&self) -> String {
        let list = |v: &[f64]| {
            v.iter()
                .map(|x| format!("{x:.4}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut s = String::from("{\"scenario\":\"rx_path\",\"rows\":[");
        for (i, ((size, col), (ns, m))) in self.cells.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let (nsum, msum) = (Summary::of(ns), Summary::of(m));
            let _ = write!(
                s,
                "{{\"frame_size\":{size},\"subject\":{col:?},\
                 \"ns_per_packet\":{{\"median\":{:.4},\"min\":{:.4},\"max\":{:.4},\"runs\":[{}]}},\
                 \"mpps\":{{\"median\":{:.4},\"min\":{:.4},\"max\":{:.4},\"runs\":[{}]}}}}",
                nsum.map_or(f64::NAN, |x| x.median),
                nsum.map_or(f64::NAN, |x| x.min),
                nsum.map_or(f64::NAN, |x| x.max),
                list(ns),
                msum.map_or(f64::NAN, |x| x.median),
                msum.map_or(f64::NAN, |x| x.min),
                msum.map_or(f64::NAN, |x| x.max),
                list(m),
            );
        }
        s.push_str("],\"targets\":[");
        for (i, (t, got)) in self.verdicts().iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"frame_size\":{},\"peer\":{:?},\"needed\":{},\"speedup\":{:.3},\"met\":{}}}",
                t.size,
                t.peer,
                t.speedup,
                got,
                *got >= t.speedup
            );
        }
        s.push_str("],\"notes\":[");
        let notes: Vec<String> = self.notes.iter().map(|n| format!("{n:?}")).collect();
        s.push_str(&notes.join(","));
        s.push_str("]}");
        s
    }
}

fn callgrind(o: &Options, name: &str) -> ExitCode {
    let Some(subject) = SUBJECTS.iter().find(|s| s.name == name) else {
        let names: Vec<&str> = SUBJECTS.iter().map(|s| s.name).collect();
        eprintln!("rx_path: no subject {name:?} (have: {})", names.join(", "));
        return ExitCode::from(2);
    };
    let size = o.sizes[0];
    let frames = match rx_frames::udp_frames(size, o.flows) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("rx_path: {e}");
            return ExitCode::from(2);
        }
    };
    let out = (subject.run)(&frames, o.packets);
    println!(
        "{name}: {} packets of {size} B received in measured_rx_loop ({:.2} ns per packet under this tool)",
        out.received, out.ns_per_packet
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(msg) => {
            if msg.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("rx_path: {msg}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Some(name) = &o.callgrind {
        return callgrind(&o, name);
    }
    let cpus = strata_perf::micro::two_cpus();
    let first = cpus
        .map(|(a, _)| a)
        .or_else(|| strata_engine::cpu::allowed_cpus().first().copied());
    let mut frames = Vec::new();
    for &size in &o.sizes {
        match rx_frames::udp_frames(size, o.flows) {
            Ok(f) => frames.push((size, f)),
            Err(e) => {
                eprintln!("rx_path: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut report = Report {
        runs: o.runs,
        ..Report::default()
    };
    if cpus.is_none() {
        report
            .notes
            .push("one CPU only: the kernel's sender and receiver share it".into());
    }
    for round in 1..=o.runs {
        for (size, f) in &frames {
            eprintln!("round {round}/{}: {size} B", o.runs);
            for subject in SUBJECTS {
                let out = on_cpu(first, || (subject.run)(f, o.packets));
                report.push(*size, subject.name, out.ns_per_packet, out.mpps());
            }
            if o.kernel {
                let max = Duration::from_secs_f64(o.kernel_seconds);
                match kernel_udp::run(*size, o.kernel_packets, max, cpus) {
                    Ok(k) if k.received > 0 => {
                        report.push(*size, KERNEL, k.ns_per_packet(), k.mpps());
                        if round == 1 {
                            report.notes.push(format!(
                                "kernel {size} B, round 1: sent {}, received {} ({:.1}% lost on the loopback), \
                                 {} of the wrong length, SO_RCVBUF {} KiB",
                                k.sent,
                                k.received,
                                100.0 * (k.sent - k.received.min(k.sent)) as f64 / k.sent.max(1) as f64,
                                k.bad,
                                k.rcvbuf >> 10
                            ));
                        }
                    }
                    Ok(_) => report
                        .notes
                        .push(format!("round {round}: kernel {size} B received nothing")),
                    Err(e) => report
                        .notes
                        .push(format!("round {round}: kernel {size} B: {e}")),
                }
            }
        }
    }
    println!("{}", report.table(&o.sizes));
    if let Some(path) = &o.json {
        if let Err(e) = std::fs::write(path, report.json()) {
            eprintln!("rx_path: cannot write {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn flags_and_their_errors() {
        let o = parse(&args(
            "--runs 3 --packets 1000 --sizes 64,1518 --flows 4 --no-kernel",
        ))
        .unwrap();
        assert_eq!((o.runs, o.packets, o.flows, o.kernel), (3, 1000, 4, false));
        assert_eq!(o.sizes, [64, 1518]);
        let o = parse(&args("--callgrind smoltcp --packets 10 --size 1500")).unwrap();
        assert_eq!(
            (o.callgrind.as_deref(), o.sizes.as_slice()),
            (Some("smoltcp"), &[1500][..])
        );
        assert!(parse(&args("--sizes 60")).unwrap_err().contains("FCS"));
        assert!(parse(&args("--runs 0")).is_err());
        assert!(parse(&args("--packets"))
            .unwrap_err()
            .contains("needs a value"));
        assert!(parse(&args("--flows 0")).is_err());
        assert!(parse(&args("--bogus"))
            .unwrap_err()
            .contains("unknown flag"));
        assert_eq!(parse(&args("--help")).unwrap_err(), "");
    }

    #[test]
    fn table_json_and_targets() {
        let mut r = Report {
            runs: 3,
            ..Report::default()
        };
        for (sm, st) in [(42.0, 20.0), (40.0, 19.0), (44.0, 21.0)] {
            r.push(64, "smoltcp", sm, 1e3 / sm);
            r.push(64, STRATA, st, 1e3 / st);
            r.push(64, KERNEL, 1400.0, 0.71);
        }
        let table = r.table(&[64, 1500]);
        assert!(table.contains("42.00 [40.00–44.00]"), "{table}");
        assert!(!table.contains("1500 B"), "{table}");
        let v = r.verdicts();
        assert_eq!(v.len(), 2, "1500 B was not measured");
        assert!((v[0].1 - 2.1).abs() < 1e-9 && table.contains("met"));
        assert!((v[1].1 - 70.0).abs() < 1e-9);
        let json = r.json();
        assert!(
            json.contains("\"subject\":\"smoltcp\"") && json.contains("\"met\":true"),
            "{json}"
        );
        // Without Strata, nothing is judged.
        let mut peers_only = Report::default();
        peers_only.push(64, "smoltcp", 42.0, 23.8);
        assert!(peers_only.verdicts().is_empty());
        assert!(peers_only.table(&[64]).contains("not judged"));
    }

    #[test]
    fn every_subject_receives_a_short_run() {
        let frames = rx_frames::udp_frames(64, 3).unwrap();
        for s in SUBJECTS {
            let out = (s.run)(&frames, 500);
            assert!(out.lossless(), "{}", s.name);
        }
    }
}
