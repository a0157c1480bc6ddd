//! CPU ids for pinning workers, always absolute.
//!
//! `core_affinity::get_core_ids()` lists only the CPUs the *calling thread*
//! may still run on, so a thread pinned first hides every other CPU from
//! the threads it spawns. Here the process's allowed set is read once, from
//! `/proc/self/status` (the main thread's mask), before anything is pinned,
//! and pinning takes absolute CPU ids checked against that set.

use std::sync::OnceLock;

/// Why a CPU list or a pin request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CpuError {
    /// The text is not a CPU list such as `0-3,6`.
    #[error("bad CPU list {text:?}: {why}")]
    BadList {
        /// The text given.
        text: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The CPU is not one this process may run on.
    #[error("CPU {cpu} is not available to this process (allowed: {allowed})")]
    NotAllowed {
        /// The CPU asked for.
        cpu: usize,
        /// The allowed list, formatted.
        allowed: String,
    },
    /// The system refused the affinity change.
    #[error("could not pin the thread to CPU {0}")]
    PinFailed(usize),
}

/// The highest CPU id accepted in a list (Linux's default `NR_CPUS` limit).
pub const MAX_CPU_ID: usize = 8191;

/// Parses a Linux CPU list (`0-3,6,8-9`) into sorted, unique ids.
///
/// # Errors
/// [`CpuError::BadList`] for anything else: empty parts, reversed ranges,
/// ids above [`MAX_CPU_ID`], stray characters.
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, CpuError> {
    let bad = |why| CpuError::BadList {
        text: text.to_owned(),
        why,
    };
    let mut cpus = Vec::new();
    for part in text.trim().split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(bad("empty entry"));
        }
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (part, part),
        };
        let num = |s: &str| -> Result<usize, CpuError> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("not a number"));
            }
            match s.parse::<usize>() {
                Ok(n) if n <= MAX_CPU_ID => Ok(n),
                _ => Err(bad("CPU id too large")),
            }
        };
        let (lo, hi) = (num(lo)?, num(hi)?);
        if lo > hi {
            return Err(bad("range runs backwards"));
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Formats ids as a compact CPU list (`0-3,6`).
pub fn format_cpu_list(cpus: &[usize]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < cpus.len() {
        let start = cpus[i];
        let mut end = start;
        while i + 1 < cpus.len() && cpus[i + 1] == end + 1 {
            i += 1;
            end = cpus[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}-{end}"));
        }
        i += 1;
    }
    out
}

fn read_allowed() -> Vec<usize> {
    let from_status = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .and_then(|list| parse_cpu_list(list).ok())
        });
    let from_online = || {
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ok()
            .and_then(|s| parse_cpu_list(&s).ok())
    };
    from_status
        .or_else(from_online)
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
        })
}

/// The CPUs this process may use, as absolute ids, read once.
pub fn allowed_cpus() -> &'static [usize] {
    static ALLOWED: OnceLock<Vec<usize>> = OnceLock::new();
    ALLOWED.get_or_init(read_allowed)
}

/// Pins the calling thread to absolute CPU `cpu`.
///
/// # Errors
/// [`CpuError::NotAllowed`] if the process may not use that CPU,
/// [`CpuError::PinFailed`] if the system refused.
pub fn pin_current(cpu: usize) -> Result<(), CpuError> {
    let allowed = allowed_cpus();
    if !allowed.contains(&cpu) {
        return Err(CpuError::NotAllowed {
            cpu,
            allowed: format_cpu_list(allowed),
        });
    }
    if core_affinity::set_for_current(core_affinity::CoreId { id: cpu }) {
        Ok(())
    } else {
        Err(CpuError::PinFailed(cpu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_and_format() {
        assert_eq!(
            parse_cpu_list("0-3,6,8-9\n").unwrap(),
            [0, 1, 2, 3, 6, 8, 9]
        );
        assert_eq!(parse_cpu_list("5,1,1-2").unwrap(), [1, 2, 5]);
        assert_eq!(format_cpu_list(&[0, 1, 2, 3, 6, 8, 9]), "0-3,6,8-9");
        assert_eq!(format_cpu_list(&[]), "");
        for bad in [
            "",
            ",",
            "1,,2",
            "3-1",
            "a",
            "1-",
            "-1",
            "99999",
            "1-99999999999999999999",
            "0x1",
        ] {
            assert!(parse_cpu_list(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn pinning_uses_absolute_ids_and_later_threads_still_see_all() {
        let allowed = allowed_cpus().to_vec();
        assert!(!allowed.is_empty());
        let last = *allowed.last().unwrap();
        let first = allowed[0];
        std::thread::spawn(move || {
            pin_current(last).unwrap();
            // A thread pinned to one CPU can still pin a child elsewhere.
            std::thread::spawn(move || pin_current(first).unwrap())
                .join()
                .unwrap();
            assert_eq!(allowed_cpus(), &allowed[..]);
        })
        .join()
        .unwrap();
        assert!(matches!(
            pin_current(MAX_CPU_ID + 1),
            Err(CpuError::NotAllowed { .. })
        ));
    }
}
