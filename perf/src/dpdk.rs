//! DPDK as the peer: `dpdk-test`'s `ring_perf_autotest`, and DPDK's
//! mempool perf loop (`perf/dpdk/mempool_perf.c`, built here against the
//! system's libdpdk with `gcc` and `pkg-config`), both run on this machine
//! with EAL flags that need neither huge pages nor PCI devices.
//!
//! Debian: `apt-get install dpdk-dev libdpdk-dev pkg-config gcc` provides
//! `dpdk-test`, the headers and the libraries (`scripts/install-deps.sh`
//! does it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// EAL flags for a machine without PCI devices or huge pages.
pub const EAL_FLAGS: &[&str] = &["--no-huge", "--no-pci", "-m", "512"];

/// What `ring_perf_autotest` reported (legacy pointer API), converted to
/// nanoseconds per element (one enqueue plus one dequeue).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RingFigures {
    /// TSC frequency DPDK measured, Hz.
    pub tsc_hz: f64,
    /// SP/SC single enqueue+dequeue, one core.
    pub spsc_single: Option<f64>,
    /// SP/SC bulk of 8, one core.
    pub spsc_bulk8: Option<f64>,
    /// SP/SC bulk of 32, one core.
    pub spsc_bulk32: Option<f64>,
    /// MP/MC bulk of 32, one core.
    pub mpmc_bulk32: Option<f64>,
    /// SP/SC bulk of 32 across two cores (sum of both threads' time per element).
    pub spsc_bulk32_two_cores: Option<f64>,
    /// MP/MC bulk of 32 across two cores (same convention).
    pub mpmc_bulk32_two_cores: Option<f64>,
}

/// Why a DPDK run gave no figures.
#[derive(Debug, thiserror::Error)]
pub enum DpdkError {
    /// A program is missing.
    #[error("{0} not found: install Debian's dpdk-dev, libdpdk-dev, pkg-config and gcc (scripts/install-deps.sh)")]
    Missing(&'static str),
    /// A program ran and failed.
    #[error("{what} failed: {detail}")]
    Failed {
        /// Which program.
        what: String,
        /// Its last words.
        detail: String,
    },
    /// Its output held no figures.
    #[error("could not read {0} from DPDK's output")]
    Parse(&'static str),
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// Whether `dpdk-test` is installed.
pub fn available() -> bool {
    which("dpdk-test").is_some()
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    lines.into_iter().rev().collect::<Vec<_>>().join(" | ")
}

/// Runs `ring_perf_autotest` once on CPUs `cpus` (e.g. "0-1").
///
/// # Errors
/// [`DpdkError`] if `dpdk-test` is missing, fails, or prints no figures.
pub fn ring_perf(cpus: &str) -> Result<RingFigures, DpdkError> {
    let exe = which("dpdk-test").ok_or(DpdkError::Missing("dpdk-test"))?;
    let prefix = format!("strata-perf-{}", std::process::id());
    let mut child = Command::new(exe)
        .args(["-l", cpus])
        .args(EAL_FLAGS)
        .args(["--file-prefix", &prefix, "--log-level=lib.eal:debug"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| DpdkError::Failed {
            what: "dpdk-test".into(),
            detail: e.to_string(),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"ring_perf_autotest\nquit\n");
    }
    let out = child.wait_with_output().map_err(|e| DpdkError::Failed {
        what: "dpdk-test".into(),
        detail: e.to_string(),
    })?;
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !text.contains("Test OK") {
        return Err(DpdkError::Failed {
            what: "ring_perf_autotest".into(),
            detail: tail(&text),
        });
    }
    parse_ring_perf(&text)
}

/// Reads the figures out of `ring_perf_autotest`'s output.
///
/// # Errors
/// [`DpdkError::Parse`] if the TSC frequency or the SP/SC bulk-32 line is missing.
pub fn parse_ring_perf(text: &str) -> Result<RingFigures, DpdkError> {
    let mut f = RingFigures::default();
    let mut section = "";
    for line in text.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("EAL: TSC frequency is ~") {
            if let Some(khz) = rest
                .strip_suffix(" KHz")
                .and_then(|k| k.trim().parse::<f64>().ok())
            {
                f.tsc_hz = khz * 1000.0;
            }
        }
        if line.starts_with("### ") {
            section = if line.contains("two physical cores") {
                "two"
            } else if line.contains("single element") || line.contains("bulk enq/deq") {
                "one"
            } else {
                ""
            };
            continue;
        }
        // Only the legacy (pointer) API, whose elements are 8 bytes like ours.
        let Some(rest) = line.strip_prefix("legacy APIs: ") else {
            continue;
        };
        let Some((what, value)) = rest.rsplit_once(": ") else {
            continue;
        };
        let Ok(v) = value.trim().parse::<f64>() else {
            continue;
        };
        match (section, what) {
            ("one", "SP/SC: single") => f.spsc_single = Some(v),
            ("one", "SP/SC: bulk (size: 8)") => f.spsc_bulk8 = Some(v / 8.0),
            ("one", "SP/SC: bulk (size: 32)") => f.spsc_bulk32 = Some(v / 32.0),
            ("one", "MP/MC: bulk (size: 32)") => f.mpmc_bulk32 = Some(v / 32.0),
            ("two", "SP/SC: bulk (size: 32)") => f.spsc_bulk32_two_cores = Some(v),
            ("two", "MP/MC: bulk (size: 32)") => f.mpmc_bulk32_two_cores = Some(v),
            _ => {}
        }
    }
    if f.tsc_hz <= 0.0 {
        return Err(DpdkError::Parse("the TSC frequency"));
    }
    if f.spsc_bulk32.is_none() {
        return Err(DpdkError::Parse("the SP/SC bulk-32 figure"));
    }
    // Cycles to nanoseconds.
    let ns = 1e9 / f.tsc_hz;
    for v in [
        &mut f.spsc_single,
        &mut f.spsc_bulk8,
        &mut f.spsc_bulk32,
        &mut f.mpmc_bulk32,
        &mut f.spsc_bulk32_two_cores,
        &mut f.mpmc_bulk32_two_cores,
    ] {
        *v = v.map(|c| c * ns);
    }
    Ok(f)
}

/// Builds `perf/dpdk/mempool_perf.c` into `out_dir` (once) and returns the binary.
///
/// # Errors
/// [`DpdkError`] if gcc, pkg-config or libdpdk are missing or the build fails.
pub fn build_mempool_perf(source: &Path, out_dir: &Path) -> Result<PathBuf, DpdkError> {
    let bin = out_dir.join("mempool_perf");
    let fresh = match (
        bin.metadata().and_then(|m| m.modified()),
        source.metadata().and_then(|m| m.modified()),
    ) {
        (Ok(b), Ok(s)) => b >= s,
        _ => false,
    };
    if fresh {
        return Ok(bin);
    }
    which("gcc").ok_or(DpdkError::Missing("gcc"))?;
    which("pkg-config").ok_or(DpdkError::Missing("pkg-config"))?;
    let flags = Command::new("pkg-config")
        .args(["--cflags", "--libs", "libdpdk"])
        .output()
        .map_err(|e| DpdkError::Failed {
            what: "pkg-config".into(),
            detail: e.to_string(),
        })?;
    if !flags.status.success() {
        return Err(DpdkError::Missing("libdpdk (pkg-config libdpdk)"));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| DpdkError::Failed {
        what: "mkdir".into(),
        detail: e.to_string(),
    })?;
    let flags = String::from_utf8_lossy(&flags.stdout).to_string();
    let out = Command::new("gcc")
        .args(["-O3", "-o"])
        .arg(&bin)
        .arg(source)
        .args(flags.split_whitespace())
        .output()
        .map_err(|e| DpdkError::Failed {
            what: "gcc".into(),
            detail: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(DpdkError::Failed {
            what: "gcc mempool_perf.c".into(),
            detail: tail(&String::from_utf8_lossy(&out.stderr)),
        });
    }
    Ok(bin)
}

/// What to measure with DPDK's mempool loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolCase {
    /// Per-lcore cache size (DPDK's test uses 512 or 0).
    pub cache: usize,
    /// Objects per get and per put.
    pub n_bulk: usize,
    /// Objects taken before they are given back.
    pub n_keep: usize,
    /// Packet buffers through `rte_pktmbuf_alloc_bulk`/`free_bulk` instead of raw objects.
    pub mbuf: bool,
}

/// Runs DPDK's mempool loop once on CPU `cpu`; returns nanoseconds per object.
///
/// # Errors
/// [`DpdkError`] if the run fails or prints no rate.
pub fn mempool_perf(
    bin: &Path,
    cpu: usize,
    case: MempoolCase,
    seconds: f64,
) -> Result<f64, DpdkError> {
    let prefix = format!("strata-perf-mp-{}", std::process::id());
    let mut cmd = Command::new(bin);
    cmd.args(["-l", &cpu.to_string()])
        .args(EAL_FLAGS)
        .args(["--file-prefix", &prefix, "--log-level=lib.eal:error", "--"])
        .args([case.cache, case.n_bulk, case.n_bulk, case.n_keep].map(|v| v.to_string()))
        .arg(seconds.to_string());
    if case.mbuf {
        cmd.arg("mbuf");
    }
    let out = cmd.output().map_err(|e| DpdkError::Failed {
        what: "mempool_perf".into(),
        detail: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(DpdkError::Failed {
            what: "mempool_perf".into(),
            detail: tail(&format!("{text}{}", String::from_utf8_lossy(&out.stderr))),
        });
    }
    let rate = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rate_persec="))
        .and_then(|r| r.parse::<f64>().ok())
        .filter(|r| *r > 0.0)
        .ok_or(DpdkError::Parse("rate_persec"))?;
    Ok(1e9 / rate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "EAL: TSC frequency is ~2600000 KHz
RTE>>ring_perf_autotest

### Testing single element enq/deq ###
legacy APIs: SP/SC: single: 12.23
legacy APIs: MP/MC: single: 37.89

### Testing burst enq/deq ###
legacy APIs: SP/SC: burst (size: 32): 53.81

### Testing bulk enq/deq ###
legacy APIs: SP/SC: bulk (size: 8): 24.29
legacy APIs: SP/SC: bulk (size: 32): 52.40
legacy APIs: MP/MC: bulk (size: 32): 67.63

### Testing using two physical cores ###
legacy APIs: SP/SC: bulk (size: 32): 36.24
legacy APIs: MP/MC: bulk (size: 32): 34.81
elem APIs: element size 16B: SP/SC: bulk (size: 32): 13.26
Test OK
";

    #[test]
    fn parses_ring_perf_output() {
        let f = parse_ring_perf(SAMPLE).unwrap();
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() < 1e-9;
        assert_eq!(f.tsc_hz, 2.6e9);
        assert!(close(f.spsc_single, 12.23 / 2.6));
        assert!(close(f.spsc_bulk8, 24.29 / 8.0 / 2.6));
        assert!(close(f.spsc_bulk32, 52.40 / 32.0 / 2.6), "bulk, not burst");
        assert!(close(f.mpmc_bulk32, 67.63 / 32.0 / 2.6));
        assert!(
            close(f.spsc_bulk32_two_cores, 36.24 / 2.6),
            "legacy, not elem"
        );
        assert!(close(f.mpmc_bulk32_two_cores, 34.81 / 2.6));
    }

    #[test]
    fn refuses_output_without_figures() {
        assert!(matches!(
            parse_ring_perf("nothing"),
            Err(DpdkError::Parse(_))
        ));
        assert!(matches!(
            parse_ring_perf("EAL: TSC frequency is ~1000 KHz\n"),
            Err(DpdkError::Parse("the SP/SC bulk-32 figure"))
        ));
    }
}

/// One line of `mempool_perf_autotest`'s output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutotestLine {
    /// Cache size.
    pub cache: usize,
    /// Lcores used.
    pub cores: usize,
    /// Objects per get.
    pub n_get: usize,
    /// Objects per put.
    pub n_put: usize,
    /// Objects kept before putting back.
    pub n_keep: usize,
    /// Objects per second (all cores).
    pub rate: f64,
}

/// Parses the `mempool_autotest ... rate_persec=N` lines of DPDK's own
/// `mempool_perf_autotest` (the full test takes about an hour here: each of
/// several hundred configurations runs for 5 s).
pub fn parse_mempool_autotest(text: &str) -> Vec<AutotestLine> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("mempool_autotest ")?;
            let mut l = AutotestLine {
                cache: 0,
                cores: 0,
                n_get: 0,
                n_put: 0,
                n_keep: 0,
                rate: 0.0,
            };
            for kv in rest.split_whitespace() {
                let (k, v) = kv.split_once('=')?;
                match k {
                    "cache" => l.cache = v.parse().ok()?,
                    "cores" => l.cores = v.parse().ok()?,
                    "n_get_bulk" => l.n_get = v.parse().ok()?,
                    "n_put_bulk" => l.n_put = v.parse().ok()?,
                    "n_keep" => l.n_keep = v.parse().ok()?,
                    "rate_persec" => l.rate = v.parse().ok()?,
                    _ => {}
                }
            }
            (l.rate > 0.0).then_some(l)
        })
        .collect()
}

/// Runs DPDK's own `mempool_perf_autotest` in full (slow: about an hour)
/// and returns its lines.
///
/// # Errors
/// [`DpdkError`] if `dpdk-test` is missing or fails.
pub fn mempool_autotest(cpus: &str) -> Result<Vec<AutotestLine>, DpdkError> {
    let exe = which("dpdk-test").ok_or(DpdkError::Missing("dpdk-test"))?;
    let prefix = format!("strata-perf-mpa-{}", std::process::id());
    let mut child = Command::new(exe)
        .args(["-l", cpus])
        .args(EAL_FLAGS)
        .args(["--file-prefix", &prefix])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| DpdkError::Failed {
            what: "dpdk-test".into(),
            detail: e.to_string(),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"mempool_perf_autotest\nquit\n");
    }
    let out = child.wait_with_output().map_err(|e| DpdkError::Failed {
        what: "dpdk-test".into(),
        detail: e.to_string(),
    })?;
    let lines = parse_mempool_autotest(&String::from_utf8_lossy(&out.stdout));
    if lines.is_empty() {
        return Err(DpdkError::Parse("mempool_perf_autotest rates"));
    }
    Ok(lines)
}

#[cfg(test)]
mod autotest_tests {
    use super::*;

    #[test]
    fn parses_autotest_lines() {
        let text = "start performance test (with cache)\n\
            mempool_autotest cache=512 cores=1 n_get_bulk=32 n_put_bulk=32 n_keep=32 constant_n=0 rate_persec=2007982004\n\
            mempool_autotest cache=512 cores=1 n_get_bulk=32 n_put_bulk=32 n_keep=128 rate_persec=garbage\n";
        let lines = parse_mempool_autotest(text);
        assert_eq!(lines.len(), 1);
        assert_eq!(
            (lines[0].cache, lines[0].n_keep, lines[0].rate),
            (512, 32, 2007982004.0)
        );
    }
}
