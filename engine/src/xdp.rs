//! XDP without sockets, through Strata's own `bpf(2)` loader
//! ([`crate::sys::bpf`]):
//!
//! - [`live_frames`]: the generator of `strata gen --live-frames` (issue 5):
//!   `BPF_PROG_RUN` of a two-instruction XDP program returning `XDP_TX`
//!   over live copies of one frame, with a repeat count, as xdp-tools'
//!   `xdp-trafficgen` does: the kernel sends each copy out of the interface
//!   without an `sk_buff` or a socket (Linux 5.18+). Each run costs the
//!   kernel a fixed set-up of tens of milliseconds, so runs last about a
//!   quarter of a second: at a set rate the average is kept by the wall clock, but the
//!   frames of a run leave as fast as the kernel sends them (bursts of
//!   250 ms). Every frame is the same one (no sequence number, no
//!   timestamp): it measures what a receiver takes, not round trips.
//! - [`DropCeiling`]: an XDP program that drops and counts every frame an
//!   interface receives: the receive ceiling AF_XDP receivers are compared
//!   with (`perf/afxdp-rx.sh`).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::sys::bpf::{self, Link, LoadError, Map, Program, XdpMode};
use crate::sys::packet;

/// Why an XDP tool could not run.
#[derive(Debug, thiserror::Error)]
pub enum XdpError {
    /// The interface is not there.
    #[error("{iface:?}: {source} (does the interface exist in this namespace?)")]
    Interface {
        /// The interface.
        iface: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// The kernel refused a map, the program, its attachment or its run.
    #[error("{what} on {iface:?}: {source} (XDP needs CAP_BPF and CAP_NET_ADMIN, or root; live frames need Linux 5.18+)")]
    Kernel {
        /// The interface.
        iface: String,
        /// What was refused.
        what: &'static str,
        /// The kernel's answer.
        source: io::Error,
    },
    /// The verifier refused the program.
    #[error("{iface:?}: {source}")]
    Load {
        /// The interface.
        iface: String,
        /// The refusal, with the verifier's log.
        source: LoadError,
    },
    /// The frame or the settings cannot work.
    #[error("{0}")]
    Config(String),
}

fn ifindex(iface: &str) -> Result<u32, XdpError> {
    packet::ifindex(iface)
        .map(|i| i as u32)
        .map_err(|source| XdpError::Interface {
            iface: iface.to_owned(),
            source,
        })
}

/// A UDP/IPv4 frame from `iface` (`mac`: its source address, `None` for
/// the interface's own) to `dst` at `dst_mac`, with `payload` bytes and
/// every checksum computed: what `strata gen --live-frames` sends.
///
/// # Errors
///
/// [`XdpError`]: no interface; a payload that does not fit 1500 bytes.
pub fn udp_frame(
    iface: &str,
    mac: Option<strata_l2::EthernetAddress>,
    dst_mac: strata_l2::EthernetAddress,
    src: std::net::Ipv4Addr,
    dst: std::net::SocketAddrV4,
    payload: usize,
) -> Result<Vec<u8>, XdpError> {
    if payload > 1472 {
        return Err(XdpError::Config(format!(
            "a {payload}-byte payload does not fit a 1500-byte MTU"
        )));
    }
    let mac = match mac {
        Some(mac) => mac,
        None => strata_l2::EthernetAddress(packet::hw_addr(iface).map_err(|source| {
            XdpError::Interface {
                iface: iface.to_owned(),
                source,
            }
        })?),
    };
    let config = crate::dev::generator::GeneratorConfig {
        mac,
        dst_mac,
        src,
        dst,
        frame_len: 14 + 20 + 8 + payload,
        ..crate::dev::generator::GeneratorConfig::default()
    };
    Ok(crate::dev::generator::udp_frame(&config, 10_000))
}

/// What [`live_frames`] sends.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The interface the frames leave from.
    pub iface: String,
    /// The frame (Ethernet header on, no FCS), 14 to 3520 bytes.
    pub frame: Vec<u8>,
    /// Stop after this many frames.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Frames per second (`None`: as fast as the kernel sends them).
    pub rate: Option<f64>,
    /// Frames the kernel handles per batch inside one run (1 to 256).
    pub batch: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            iface: "veth0".to_owned(),
            frame: Vec::new(),
            count: None,
            duration: Some(Duration::from_secs(5)),
            rate: None,
            batch: 64,
        }
    }
}

/// What [`live_frames`] did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LiveReport {
    /// Frames handed to the kernel to send.
    pub sent: u64,
    /// From the first run to the end of the last.
    pub elapsed: Duration,
    /// The rate asked for.
    pub rate_asked: Option<f64>,
    /// `BPF_PROG_RUN` calls made.
    pub runs: u64,
}

impl LiveReport {
    /// Frames per second achieved.
    pub fn rate_achieved(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How long one run should last: each `BPF_PROG_RUN` call costs a fixed
/// few tens of milliseconds of set-up in the kernel (measured here: about
/// 24 ms), so runs are long (a quarter of a second); a stop or the end of the duration is noticed
/// within one.
const RUN_TARGET: Duration = Duration::from_millis(250);
/// Bounds of the repeat count of one run.
const MIN_SLICE: u64 = 1 << 10;
const MAX_SLICE: u64 = 1 << 24;

/// Sends `config.frame` out of `config.iface` until the count or the
/// duration is reached or `stop` is set.
///
/// # Errors
///
/// [`XdpError`]: no interface, no permission, a kernel without live frames,
/// a frame the kernel refuses.
pub fn live_frames(config: &LiveConfig, stop: &AtomicBool) -> Result<LiveReport, XdpError> {
    if !(14..=3520).contains(&config.frame.len()) {
        return Err(XdpError::Config(format!(
            "a live frame is 14 to 3520 bytes, not {}",
            config.frame.len()
        )));
    }
    if !(1..=256).contains(&config.batch) {
        return Err(XdpError::Config("the batch is 1 to 256 frames".to_owned()));
    }
    if config.rate.is_some_and(|r| !(r.is_finite() && r > 0.0)) {
        return Err(XdpError::Config("the rate must be positive".to_owned()));
    }
    let iface = &config.iface;
    let index = ifindex(iface)?;
    let program =
        Program::load_xdp(&bpf::programs::transmit(), "strata_livegen").map_err(|source| {
            XdpError::Load {
                iface: iface.clone(),
                source,
            }
        })?;
    // Frames per run: sized from the last run to last about RUN_TARGET;
    // at a set rate, what the rate allows in RUN_TARGET.
    let mut slice = config.rate.map_or(1 << 16, |r| {
        ((r * RUN_TARGET.as_secs_f64()) as u64).clamp(1, MAX_SLICE)
    });
    let start = Instant::now();
    let mut sent = 0u64;
    let mut runs = 0u64;
    loop {
        // Acquire: pairs with the Release store of whoever asks to stop.
        if stop.load(Ordering::Acquire) {
            break;
        }
        let mut elapsed = start.elapsed();
        let over = config.duration.filter(|&d| elapsed >= d);
        if let Some(d) = over {
            // At a set rate, what was due by the end still goes.
            let owed = config
                .rate
                .map_or(0, |r| (d.as_secs_f64() * r) as u64)
                .saturating_sub(sent);
            if owed == 0 {
                break;
            }
            elapsed = d;
        }
        let left = config.count.map_or(u64::MAX, |c| c - sent);
        if left == 0 {
            break;
        }
        let mut n = slice.min(left);
        if let Some(rate) = config.rate {
            // What the rate allows by now, in runs of at least half a
            // slice (or the rest owed at the end): wait for it.
            let due = (elapsed.as_secs_f64() * rate) as u64;
            if over.is_none() && due < sent + (n / 2).max(1) {
                let wait = (sent + (n / 2).max(1)) as f64 / rate - elapsed.as_secs_f64();
                std::thread::sleep(Duration::from_secs_f64(wait.clamp(0.0, 0.01)));
                continue;
            }
            n = n.min(due - sent);
        }
        let t0 = Instant::now();
        program
            .run_live(index, &config.frame, n as u32, config.batch)
            .map_err(|source| XdpError::Kernel {
                iface: iface.clone(),
                what: "running the program over live frames",
                source,
            })?;
        sent += n;
        runs += 1;
        if config.rate.is_none() {
            let per_frame = t0.elapsed().as_secs_f64() / n as f64;
            slice = ((RUN_TARGET.as_secs_f64() / per_frame.max(1e-12)) as u64)
                .clamp(MIN_SLICE, MAX_SLICE);
        }
    }
    Ok(LiveReport {
        sent,
        elapsed: start.elapsed(),
        rate_asked: config.rate,
        runs,
    })
}

/// An XDP program that drops and counts every frame an interface receives,
/// attached while this lives.
#[derive(Debug)]
pub struct DropCeiling {
    // Field order: the link goes first, detaching the program.
    _link: Link,
    counter: Map,
    _program: Program,
}

impl DropCeiling {
    /// Attaches the drop-and-count program to `iface` in `mode`.
    ///
    /// # Errors
    ///
    /// [`XdpError`]: no interface, no permission, a mode the driver refuses,
    /// another program attached.
    pub fn attach(iface: &str, mode: XdpMode) -> Result<DropCeiling, XdpError> {
        let index = ifindex(iface)?;
        let kernel = |what| {
            move |source| XdpError::Kernel {
                iface: iface.to_owned(),
                what,
                source,
            }
        };
        let counter = Map::create(bpf::MAP_ARRAY, 8, 1, "strata_drops")
            .map_err(kernel("creating the counter"))?;
        let program = Program::load_xdp(&bpf::programs::drop_and_count(&counter), "strata_drop")
            .map_err(|source| XdpError::Load {
                iface: iface.to_owned(),
                source,
            })?;
        let link = program
            .attach(index, mode)
            .map_err(kernel("attaching the drop program"))?;
        Ok(DropCeiling {
            _link: link,
            counter,
            _program: program,
        })
    }

    /// Frames dropped so far.
    ///
    /// # Errors
    ///
    /// The kernel's refusal to read the counter.
    pub fn dropped(&self) -> io::Result<u64> {
        self.counter.get_u64(0)
    }
}
