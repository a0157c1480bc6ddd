//! `strata-perf`: peer comparisons. `strata-perf rings [--runs N]
//! [--pool-seconds S] [--scale X] [--no-dpdk] [--json FILE]`.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use strata_perf::compare::{self, Options};

const USAGE: &str =
    "usage: strata-perf rings [--runs N] [--pool-seconds S] [--scale X] [--no-dpdk] [--json FILE]

  rings   Strata's rings and pools beside DPDK (dpdk-test ring_perf_autotest and
          DPDK's mempool loop), rtrb and crossbeam, measured the same way in one
          run; prints medians [min–max] in ns per element and the issue-2 targets.
          --runs N          rounds (default 5)
          --pool-seconds S  seconds per pool measurement (default 1)
          --scale X         scale the ring loop counts (default 1)
          --no-dpdk         leave DPDK out
          --json FILE       also write the figures as JSON

  mempool-autotest  DPDK's own mempool_perf_autotest in full (about an hour here),
          to check that DPDK's mempool loop as `rings` runs it matches it; prints
          the one-core bulk-32 lines.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("mempool-autotest") {
        let cpus =
            strata_perf::micro::two_cpus().map_or("0".to_owned(), |(a, b)| format!("{a},{b}"));
        return match strata_perf::dpdk::mempool_autotest(&cpus) {
            Ok(lines) => {
                for l in lines
                    .iter()
                    .filter(|l| l.cores == 1 && l.n_get == 32 && l.n_put == 32)
                {
                    println!(
                        "cache={} n_keep={} rate_persec={:.0} ({:.3} ns per object)",
                        l.cache,
                        l.n_keep,
                        l.rate,
                        1e9 / l.rate
                    );
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("strata-perf: {e}");
                ExitCode::FAILURE
            }
        };
    }
    match parse(&args) {
        Ok((opts, json)) => {
            let report = compare::run(&opts);
            println!("{}", report.table());
            if let Some(path) = json {
                if let Err(e) = std::fs::write(&path, report.json()) {
                    eprintln!("strata-perf: cannot write {path}: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Err(msg) => {
            eprintln!("strata-perf: {msg}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn parse(args: &[String]) -> Result<(Options, Option<String>), String> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("rings") => {}
        Some("-h" | "--help") | None => return Err("choose a scenario".into()),
        Some(other) => return Err(format!("unknown scenario {other:?}")),
    }
    let mut opts = Options::default();
    let mut json = None;
    while let Some(flag) = it.next() {
        if compare::apply_flag(&mut opts, flag, &mut it)? {
            continue;
        }
        match flag.as_str() {
            "--json" => json = Some(it.next().cloned().ok_or("--json needs a value")?),
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok((opts, json))
}
