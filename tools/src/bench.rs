//! `strata bench [--workers N] [--mode rtc|pipeline] [--size BYTES] [--flows N]
//! [--classes N] [--duration SECS] [--cpus LIST] [--no-echo] [--sample N]
//! [--app-thread] [--json] [--config FILE]`: the whole stack in memory (see `strata_engine::bench`).
//!
//! The configuration file is TOML with the same names (`workers`, `mode`,
//! `size`, `flows`, `classes`, `duration`, `cpus`, `echo`, `app_thread`); flags
//! override it.
//! `strata bench --rings [...]` runs the ring and pool comparison instead.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

use serde::Deserialize;
use strata_engine::bench::{run_bench, BenchConfig, BenchReport, Progress};
use strata_engine::worker::Mode;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    workers: Option<usize>,
    mode: Option<String>,
    size: Option<usize>,
    flows: Option<u16>,
    classes: Option<usize>,
    duration: Option<f64>,
    cpus: Option<String>,
    echo: Option<bool>,
    app_thread: Option<bool>,
}

/// A parsed `bench` command line.
#[derive(Debug)]
pub struct BenchArgs {
    config: BenchConfig,
    json: bool,
}

fn mode(text: &str) -> Result<Mode, String> {
    match text {
        "rtc" | "run-to-completion" => Ok(Mode::RunToCompletion),
        "pipeline" => Ok(Mode::Pipeline),
        other => Err(format!("--mode takes rtc or pipeline, not {other:?}")),
    }
}

fn number<T: std::str::FromStr>(
    flag: &str,
    text: &str,
    ok: impl Fn(&T) -> bool,
    what: &str,
) -> Result<T, String> {
    text.parse()
        .ok()
        .filter(|v| ok(v))
        .ok_or_else(|| format!("{flag} takes {what}, not {text:?}"))
}

fn seconds(flag: &str, text: &str) -> Result<Duration, String> {
    let secs: f64 = number(
        flag,
        text,
        |s: &f64| s.is_finite() && *s > 0.0 && *s <= 86_400.0,
        "seconds (more than 0, at most 86400)",
    )?;
    Ok(Duration::from_secs_f64(secs))
}

fn cpus(text: &str) -> Result<Vec<usize>, String> {
    strata_engine::cpu::parse_cpu_list(text).map_err(|e| format!("--cpus {text:?}: {e}"))
}

/// Parses the arguments after `bench` (without `--rings`).
///
/// # Errors
///
/// A message naming the flag and value at fault; empty for `--help`.
pub fn parse(args: &[String]) -> Result<BenchArgs, String> {
    let mut file = FileConfig::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--config" {
            let path = it.next().ok_or("--config needs a value")?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--config {path}: cannot read it: {e}"))?;
            file = toml::from_str(&text).map_err(|e| format!("--config {path}: {e}"))?;
        }
    }
    let mut config = BenchConfig::default();
    if let Some(n) = file.workers {
        config.workers = n;
    }
    if let Some(m) = &file.mode {
        config.mode = mode(m)?;
    }
    if let Some(s) = file.size {
        config.size = s;
    }
    if let Some(f) = file.flows {
        config.flows = f;
    }
    if let Some(c) = file.classes {
        config.classes = c;
    }
    if let Some(d) = file.duration {
        config.duration = seconds("duration", &d.to_string())?;
    }
    if let Some(c) = &file.cpus {
        config.cpus = Some(cpus(c)?);
    }
    if let Some(e) = file.echo {
        config.echo = e;
    }
    if let Some(a) = file.app_thread {
        config.app_thread = a;
    }
    let mut json = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--config" => {
                value()?;
            }
            "--workers" => {
                config.workers =
                    number(flag, value()?, |n: &usize| (1..=64).contains(n), "1 to 64")?
            }
            "--mode" => config.mode = mode(value()?)?,
            "--size" => {
                config.size = number(
                    flag,
                    value()?,
                    |n: &usize| (64..=1518).contains(n),
                    "64 to 1518 bytes",
                )?
            }
            "--flows" => config.flows = number(flag, value()?, |n: &u16| *n >= 1, "1 to 65535")?,
            "--classes" => {
                config.classes = number(flag, value()?, |n: &usize| (1..=8).contains(n), "1 to 8")?
            }
            "--duration" => config.duration = seconds(flag, value()?)?,
            "--cpus" => config.cpus = Some(cpus(value()?)?),
            "--no-echo" => config.echo = false,
            "--app-thread" => config.app_thread = true,
            "--sample" => {
                config.sample_every = number(
                    flag,
                    value()?,
                    |_: &u32| true,
                    "a count of bursts (0: no stage timing)",
                )?
            }
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?} for bench")),
        }
    }
    Ok(BenchArgs { config, json })
}

/// Runs a parsed bench and prints its table (or the stats JSON).
///
/// # Errors
///
/// The engine's message.
pub fn run(args: &BenchArgs) -> Result<(), String> {
    let live = std::io::stderr().is_terminal() && !args.json;
    let c = &args.config;
    eprintln!(
        "strata bench: {}, {} worker(s), {}-byte frames, {} flow(s), {} class(es), {:.1} s",
        c.mode.name(),
        c.workers,
        c.size,
        c.flows,
        c.classes,
        c.duration.as_secs_f64()
    );
    let report = run_bench(c, |p: &Progress| {
        if live {
            eprint!(
                "\r  {:>5.1} s  {:>8.3} Mpps  {:>7.3} Gbit/s   ",
                p.elapsed.as_secs_f64(),
                p.rx_pps / 1e6,
                p.rx_bps / 1e9
            );
        }
    })
    .map_err(|e| e.to_string())?;
    if live {
        eprintln!();
    }
    if args.json {
        println!("{}", json(&report));
    } else {
        print!("{}", table(&report));
    }
    if !report.buffers_home {
        return Err("not every buffer came back to the pool".to_owned());
    }
    Ok(())
}

fn json(report: &BenchReport) -> String {
    let mut value = serde_json::to_value(&report.stats).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        let cpus: Vec<serde_json::Value> = report
            .placements
            .iter()
            .map(|p| serde_json::json!({"worker": p.worker, "rx_thread": p.rx, "cpu": p.cpu}))
            .collect();
        object.insert(
            "bench".to_owned(),
            serde_json::json!({
                "mode": report.config.mode.name(),
                "workers": report.config.workers,
                "size": report.config.size,
                "flows": report.config.flows,
                "classes": report.config.classes,
                "echo": report.config.echo,
                "sample_every": report.config.sample_every,
                "app_thread": report.config.app_thread,
                "seconds": report.elapsed.as_secs_f64(),
                "rx_packets": report.rx_packets,
                "tx_packets": report.tx_packets,
                "rx_mpps": report.rx_mpps(),
                "tx_mpps": report.tx_mpps(),
                "rx_gbps": report.rx_gbps(),
                "cpus": cpus,
                "buffers_home": report.buffers_home,
            }),
        );
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn table(report: &BenchReport) -> String {
    let mut s = String::new();
    let places: Vec<String> = report
        .placements
        .iter()
        .map(|p| {
            let role = if p.rx { "rx" } else { "worker" };
            let cpu = p.cpu.map_or("unpinned".to_owned(), |c| format!("CPU {c}"));
            format!("{role} {} on {cpu}", p.worker)
        })
        .collect();
    let _ = writeln!(
        s,
        "mode {}: {}",
        report.config.mode.name(),
        places.join(", ")
    );
    let _ = writeln!(
        s,
        "RX  {:>8.3} Mpps  {:>7.3} Gbit/s  ({} datagrams read by the application in {:.2} s)",
        report.rx_mpps(),
        report.rx_gbps(),
        report.rx_packets,
        report.elapsed.as_secs_f64()
    );
    let _ = writeln!(
        s,
        "TX  {:>8.3} Mpps                  ({} echoes taken by the device)",
        report.tx_mpps(),
        report.tx_packets
    );
    let _ = writeln!(
        s,
        "{:<12} {:>12} {:>9} {:>9} {:>9} {:>9}",
        "stage", "packets", "p50 ns", "p90 ns", "p99 ns", "max ns"
    );
    for stage in report.stages().iter().filter(|s| s.packets > 0) {
        let _ = writeln!(
            s,
            "{:<12} {:>12} {:>9} {:>9} {:>9} {:>9}",
            stage.name, stage.packets, stage.p50_ns, stage.p90_ns, stage.p99_ns, stage.max_ns
        );
    }
    let drops: Vec<String> = report
        .stats
        .protocols
        .iter()
        .flat_map(|(proto, stats)| {
            stats
                .drop_reasons
                .iter()
                .filter(|(_, &n)| n > 0)
                .map(move |(reason, n)| format!("{proto} {reason}={n}"))
        })
        .chain(
            report
                .stats
                .queues
                .iter()
                .filter(|q| q.dropped > 0)
                .map(|q| format!("queue {} class {}={}", q.name, q.class, q.dropped)),
        )
        .collect();
    let _ = writeln!(
        s,
        "drops: {}",
        if drops.is_empty() {
            "none".to_owned()
        } else {
            drops.join(", ")
        }
    );
    let _ = writeln!(
        s,
        "every buffer back in the pool: {}",
        if report.buffers_home { "yes" } else { "NO" }
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_and_file() {
        let parsed = parse(&args(&[
            "--workers",
            "2",
            "--mode",
            "pipeline",
            "--size",
            "1518",
            "--flows",
            "4",
            "--classes",
            "3",
            "--duration",
            "0.5",
            "--json",
        ]))
        .unwrap();
        let c = &parsed.config;
        assert_eq!(
            (c.workers, c.mode, c.size, c.flows, c.classes),
            (2, Mode::Pipeline, 1518, 4, 3)
        );
        assert_eq!(c.duration, Duration::from_millis(500));
        assert!(parsed.json);
        let dir = std::env::temp_dir().join(format!("strata-bench-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bench.toml");
        std::fs::write(&path, "mode = \"pipeline\"\nsize = 512\nduration = 2.0\n").unwrap();
        let parsed = parse(&args(&[
            "--config",
            path.to_str().unwrap(),
            "--size",
            "128",
        ]))
        .unwrap();
        assert_eq!(
            (parsed.config.mode, parsed.config.size),
            (Mode::Pipeline, 128)
        );
        assert_eq!(parsed.config.duration, Duration::from_secs(2));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (list, needle) in [
            (&["--workers", "0"][..], "--workers takes"),
            (&["--mode", "fast"][..], "--mode takes"),
            (&["--size", "63"][..], "--size takes"),
            (&["--flows", "0"][..], "--flows takes"),
            (&["--classes", "9"][..], "--classes takes"),
            (&["--duration", "-1"][..], "--duration takes"),
            (&["--duration"][..], "--duration needs a value"),
            (&["--cpus", "x"][..], "--cpus"),
            (&["--config", "/nonexistent.toml"][..], "cannot read"),
            (&["--frob"][..], "unknown option"),
        ] {
            let error = parse(&args(list)).unwrap_err();
            assert!(error.contains(needle), "{list:?}: {error}");
        }
    }
}
