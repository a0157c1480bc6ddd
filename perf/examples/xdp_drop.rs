//! The receive ceiling of an interface (issue 5, "Performance"): an XDP
//! program that drops and counts every frame, loaded and attached by
//! Strata's own loader (Debian's `xdp-bench` 1.3.1 cannot attach on kernels
//! 6.16 and later). Prints the frames dropped while it was attached, as
//! JSON, when the time is up or on SIGINT/SIGTERM.
//!
//! ```text
//! xdp_drop --iface IF [--mode native|generic] [--seconds S]
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_engine::dev::XdpMode;
use strata_engine::xdp::DropCeiling;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut iface = None;
    let mut mode = XdpMode::Native;
    let mut seconds = 3600.0;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match (flag.as_str(), it.next()) {
            ("--iface", Some(v)) => iface = Some(v.clone()),
            ("--mode", Some(v)) if v == "native" => mode = XdpMode::Native,
            ("--mode", Some(v)) if v == "generic" => mode = XdpMode::Generic,
            ("--seconds", Some(v)) => match v.parse::<f64>() {
                Ok(s) if s > 0.0 && s < 1e6 => seconds = s,
                _ => {
                    eprintln!("xdp_drop: --seconds takes a positive number");
                    return ExitCode::from(2);
                }
            },
            _ => {
                eprintln!("usage: xdp_drop --iface IF [--mode native|generic] [--seconds S]");
                return ExitCode::from(2);
            }
        }
    }
    let Some(iface) = iface else {
        eprintln!("usage: xdp_drop --iface IF [--mode native|generic] [--seconds S]");
        return ExitCode::from(2);
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("xdp_drop: cannot catch signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let ceiling = match DropCeiling::attach(&iface, mode) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xdp_drop: {e}");
            return ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    // Acquire: pairs with the signal handler's store.
    while !stop.load(Ordering::Acquire) && start.elapsed().as_secs_f64() < seconds {
        std::thread::sleep(Duration::from_millis(20));
    }
    match ceiling.dropped() {
        Ok(n) => {
            println!(
                "{{\"iface\":{iface:?},\"dropped\":{n},\"seconds\":{:.3}}}",
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("xdp_drop: reading the counter: {e}");
            ExitCode::FAILURE
        }
    }
}
