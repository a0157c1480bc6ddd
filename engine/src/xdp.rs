//! XDP without sockets, through Strata's own `bpf(2)` loader
//! ([`crate::sys::bpf`]):
//!
//! - [`live_frames`]: the generator of `strata gen --live-frames` (issue 5):
//!   `BPF_PROG_RUN` of a two-instruction XDP program returning `XDP_TX`
//!   over live copies of one frame, with a repeat count, as xdp-tools'
//!   `xdp-trafficgen` does: the kernel sends each copy out of the interface
//!   without an `sk_buff` or a socket (Linux 5.18+). Each run costs the
//!   kernel a fixed set-up of tens of milliseconds, so runs last about a
//!   quarter of a second. At a set rate the frames of a run are spaced
//!   out: the program spins a counted loop before each `XDP_TX`, its
//!   length steered run by run ([`Spacer`]) from the time per frame the
//!   kernel reports, so the run's pace is a little above the rate and the
//!   wall clock trims the average to it. The kernel hands the frames to
//!   the interface a batch (64) at a time, so what leaves is batches of
//!   64 at the rate's spacing; below about 100 000 frames/s (the longest
//!   loop) runs go at that pace and pause between. Every frame is the same one (no
//!   sequence number, no timestamp): it measures what a receiver takes,
//!   not round trips.
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

/// Steers the spin loop of the live-frames program so each frame takes a
/// set time: the time per frame grows with the loop's turns (about 0.2 ns a
/// turn here, on top of the 60 ns the kernel takes to send and receive a
/// frame on veth), so after each run the turns move by the error over the
/// slope, and the slope is learned from the last two runs. Pure: fed the
/// kernel's measured time per frame, it answers the next run's turns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spacer {
    /// The time per frame the rate gives, ns.
    period: f64,
    /// The time per frame aimed at (the period less each frame's share of
    /// a run's set-up, and a little headroom), ns.
    target: f64,
    spin: u32,
    /// ns per turn, as last measured (or assumed).
    slope: f64,
    last: Option<(u32, f64)>,
}

impl Spacer {
    /// What a frame costs with no loop, assumed before the first run (ns).
    const BASE_NS: f64 = 60.0;
    /// The slope assumed before two runs measured it (ns per turn).
    const SLOPE_NS: f64 = 0.2;
    /// The run's pace is this much above the rate; the wall clock keeps the
    /// average (a pace below it could never catch up).
    const HEADROOM: f64 = 1.02;

    /// A spacer for `rate` frames per second (positive).
    pub fn new(rate: f64) -> Spacer {
        let period = 1e9 / rate;
        let target = period / Self::HEADROOM;
        let mut s = Spacer {
            period,
            target,
            spin: 0,
            slope: Self::SLOPE_NS,
            last: None,
        };
        s.spin = s.turns((target - Self::BASE_NS) / Self::SLOPE_NS);
        s
    }

    /// The loop's turns for the next run.
    pub fn spin(&self) -> u32 {
        self.spin
    }

    fn turns(&self, x: f64) -> u32 {
        if x.is_finite() {
            x.clamp(0.0, f64::from(bpf::programs::MAX_SPIN)) as u32
        } else {
            self.spin
        }
    }

    /// Whether the loop can slow frames to the rate: not when even the
    /// longest loop leaves them faster (then runs must be short, and pause
    /// between).
    pub fn keeps_pace(&self) -> bool {
        // Against the rate's own period: the target also takes each
        // frame's share of the set-up out, which short runs inflate.
        self.spin < bpf::programs::MAX_SPIN
            || self.last.is_some_and(|(_, ns)| ns >= self.period * 0.9)
    }

    /// Each run also costs the kernel a set-up in which nothing is sent:
    /// `ns` per frame of the run, taken out of the time a frame may take.
    pub fn set_overhead(&mut self, ns: f64) {
        if ns.is_finite() && ns >= 0.0 {
            self.target = (self.period - ns).max(0.0) / Self::HEADROOM;
        }
    }

    /// A run of `frames` with [`Spacer::spin`] turns took `wall_ns` in all,
    /// `kernel_ns` per frame by the kernel's own count (0: unknown). The
    /// rest of the wall time is the run's set-up, shared out over a whole
    /// `slice` (the runs a kept pace makes), not over this run: short runs
    /// (a rate the loop cannot reach) would make the share look large.
    pub fn ran(&mut self, frames: u64, slice: u64, wall_ns: f64, kernel_ns: f64) {
        let frames = frames.max(1) as f64;
        let ns = if kernel_ns > 0.0 {
            kernel_ns
        } else {
            wall_ns / frames
        };
        self.set_overhead((wall_ns - ns * frames).max(0.0) / (slice.max(1) as f64).max(frames));
        self.observe(ns);
    }

    /// A run with [`Spacer::spin`] turns took `ns` per frame.
    pub fn observe(&mut self, ns: f64) {
        if !(ns.is_finite() && ns > 0.0) {
            return;
        }
        if let Some((spin, was)) = self.last {
            let turns = f64::from(self.spin) - f64::from(spin);
            let slope = (ns - was) / turns;
            // Two runs far enough apart to tell, with a sane answer.
            if turns.abs() >= 16.0 && (0.01..=20.0).contains(&slope) {
                self.slope = slope;
            }
        }
        self.last = Some((self.spin, ns));
        let next = f64::from(self.spin) + (self.target - ns) / self.slope;
        self.spin = self.turns(next);
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
    let load = |spin| {
        Program::load_xdp(&bpf::programs::transmit_spaced(spin), "strata_livegen").map_err(
            |source| XdpError::Load {
                iface: iface.clone(),
                source,
            },
        )
    };
    let mut spacer = config.rate.map(Spacer::new);
    let mut loaded = spacer.map_or(0, |s| s.spin());
    let mut program = load(loaded)?;
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
            // The run's own pace (the spin loop) keeps it on the schedule,
            // so a run starts whenever the schedule is not behind us; ahead
            // of it (the loop cannot be long enough, or the pace is off) we
            // wait for it.
            let due = (elapsed.as_secs_f64() * rate) as u64;
            let step = (slice / 8).max(1);
            let paced = spacer.is_some_and(|s| s.keeps_pace());
            // Paced runs start when the schedule is not behind us; runs
            // faster than the rate (no loop is long enough) send what is
            // due, a step at least, and so never get ahead of it.
            let ready = if paced {
                sent <= due + step
            } else {
                due >= sent + step
            };
            if over.is_none() && !ready {
                // Until `due` reaches the frame count that makes it ready.
                let at = if paced { sent - step } else { sent + step };
                let wait = at.saturating_sub(due) as f64 / rate;
                std::thread::sleep(Duration::from_secs_f64(wait.clamp(0.0, 0.01)));
                continue;
            }
            if !paced && over.is_none() {
                n = n.min(due - sent);
            }
            // Never past what the whole duration allows: once all of it
            // went, wait for the end.
            if let Some(d) = config.duration {
                let rest = ((d.as_secs_f64() * rate) as u64).saturating_sub(sent);
                if rest == 0 {
                    let wait = d.saturating_sub(elapsed).min(Duration::from_millis(10));
                    std::thread::sleep(wait);
                    continue;
                }
                n = n.min(rest);
            }
        }
        if let Some(spin) = spacer.map(|s| s.spin()) {
            // A new loop length is a new program (the verifier bounds the
            // loop by its constant); loading one takes about a millisecond.
            if spin != loaded {
                program = load(spin)?;
                loaded = spin;
            }
        }
        let t0 = Instant::now();
        let per_frame = program
            .run_live(index, &config.frame, n as u32, config.batch)
            .map_err(|source| XdpError::Kernel {
                iface: iface.clone(),
                what: "running the program over live frames",
                source,
            })?;
        if let Some(s) = spacer.as_mut() {
            let wall = t0.elapsed().as_secs_f64() * 1e9;
            s.ran(n, slice, wall, f64::from(per_frame));
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender's time per frame with `spin` turns: `base` ns, then `slope`
    /// ns a turn, a little bent (the first turns cost more, as measured).
    fn plant(base: f64, slope: f64, spin: u32) -> f64 {
        let x = f64::from(spin);
        base + slope * x + 20.0 * (1.0 - (-x / 50.0).exp())
    }

    fn settle(rate: f64, base: f64, slope: f64, runs: usize) -> (Spacer, f64) {
        let mut s = Spacer::new(rate);
        let mut ns = 0.0;
        for _ in 0..runs {
            ns = plant(base, slope, s.spin());
            s.observe(ns);
        }
        (s, ns)
    }

    #[test]
    fn the_spacer_finds_the_pace_of_the_rate() {
        for rate in [120e3, 300e3, 1e6, 4e6, 8e6] {
            for (base, slope) in [(60.0, 0.17), (115.0, 0.17), (60.0, 0.5)] {
                let (s, ns) = settle(rate, base, slope, 8);
                let target = 1e9 / (rate * Spacer::HEADROOM);
                assert!(
                    (ns / target - 1.0).abs() < 0.02,
                    "rate {rate}, base {base}, slope {slope}: {ns} ns a frame for {target} (spin {})",
                    s.spin()
                );
            }
        }
    }

    #[test]
    fn rates_past_the_ends_get_no_loop_or_the_longest() {
        // Faster than the sender goes: no loop at all.
        let (s, _) = settle(30e6, 60.0, 0.17, 4);
        assert_eq!(s.spin(), 0);
        assert!(s.keeps_pace());
        // Slower than the longest loop spaces frames: the longest (the
        // wall clock then keeps the average, in short runs).
        let (s, _) = settle(1e3, 60.0, 0.17, 4);
        assert_eq!(s.spin(), bpf::programs::MAX_SPIN);
        assert!(!s.keeps_pace());
        let (s, _) = settle(1e6, 60.0, 0.17, 4);
        assert!(s.keeps_pace());
        // Short runs' set-up is shared over a whole slice: at 20 000/s the
        // longest loop (11 µs a frame) is still too fast.
        // Runs of 625 frames (what is due), each with 25 ms of set-up.
        let mut s = Spacer::new(2e4);
        for _ in 0..4 {
            let ns = plant(60.0, 0.17, s.spin());
            s.ran(625, 5000, 25e6 + 625.0 * ns, ns);
        }
        assert_eq!(s.spin(), bpf::programs::MAX_SPIN);
        assert!(!s.keeps_pace());
    }

    #[test]
    fn nonsense_measurements_change_nothing() {
        let mut s = Spacer::new(1e6);
        let before = s;
        for ns in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            s.observe(ns);
        }
        assert_eq!(s, before);
    }
}
