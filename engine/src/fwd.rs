//! `strata fwd`: forwarding between two ports, in the manner of DPDK's
//! `testpmd` (issue 5, "`strata fwd`"). Each round takes a burst from each
//! port and hands it to the other, changed as the mode says:
//!
//! - `io`: as received (the two ports joined like a wire, or a bridge);
//! - `mac`: the source MAC set to the output port's, the destination to the
//!   peer's configured for that port;
//! - `macswap`: source and destination MACs swapped;
//! - `rxonly`: one port; frames received and freed (testpmd's `rxonly`,
//!   the receive-and-drop measurement), with the thread's CPU time per
//!   frame reported.
//!
//! One thread does both directions, busy-polling while frames flow and
//! waiting on the devices' fds after an idle spell (the workers' adaptive
//! polling). Frames the output port refuses are dropped and counted. Per-port
//! counters and rates are reported.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use strata_l2::EthernetAddress;
use strata_pools::{NetBuf, Pool, PoolConfig};

use crate::dev::{Device, DeviceStats};
use crate::serve::{open_device, Backend, ServeError};
use crate::worker::wait::{IdleStep, Idler};
use crate::worker::IdleConfig;

/// How frames are changed on their way through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FwdMode {
    /// Unchanged.
    Io,
    /// Source: the output port's MAC; destination: that port's peer.
    Mac,
    /// Source and destination swapped.
    MacSwap,
    /// One port: received and freed.
    RxOnly,
}

impl FwdMode {
    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FwdMode::Io => "io",
            FwdMode::Mac => "mac",
            FwdMode::MacSwap => "macswap",
            FwdMode::RxOnly => "rxonly",
        }
    }
}

/// A port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwdPort {
    /// The interface.
    pub iface: String,
    /// Its backend.
    pub backend: Backend,
    /// Strata's MAC on it (`None`: as `serve`).
    pub mac: Option<EthernetAddress>,
    /// In `mac` mode, the destination of frames leaving through it.
    pub peer: EthernetAddress,
}

/// What to forward.
#[derive(Debug, Clone)]
pub struct FwdConfig {
    /// The two ports (one for `rxonly`).
    pub ports: Vec<FwdPort>,
    /// The mode.
    pub mode: FwdMode,
    /// Frames per burst.
    pub burst: usize,
    /// Stop after this long (`None`: at the stop signal only).
    pub duration: Option<Duration>,
}

/// A port's counters at the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FwdPortReport {
    /// Frames received on it.
    pub rx: u64,
    /// Frames sent out of it.
    pub tx: u64,
    /// Frames meant to leave through it that it refused.
    pub tx_dropped: u64,
    /// The device's own counters.
    pub device: DeviceStats,
}

/// What a forwarding run did.
#[derive(Debug, Clone)]
pub struct FwdReport {
    /// How long it ran.
    pub elapsed: Duration,
    /// Per port.
    pub ports: Vec<FwdPortReport>,
    /// The forwarding thread's CPU time, when the kernel keeps it.
    pub cpu_time: Option<Duration>,
    /// Every pool buffer back at the end.
    pub buffers_home: bool,
    /// The stats JSON of the run: the two interfaces and the pool.
    pub stats: crate::stats::StatsSnapshot,
}

/// Forwards until `stop` is set or the duration ends; `progress` gets the
/// frames forwarded out of each port so far, about once a second.
///
/// # Errors
///
/// A port's device refused ([`ServeError`]).
pub fn forward(
    config: &FwdConfig,
    stop: &AtomicBool,
    mut progress: impl FnMut(Duration, &[u64]),
) -> Result<FwdReport, ServeError> {
    let wanted = if config.mode == FwdMode::RxOnly { 1 } else { 2 };
    if config.ports.len() != wanted {
        return Err(ServeError::Config(format!(
            "mode {} takes {wanted} port(s), not {}",
            config.mode.name(),
            config.ports.len()
        )));
    }
    let pool = Pool::new(PoolConfig {
        frames: 8192,
        ..PoolConfig::named("fwd")
    })
    .map_err(|e| ServeError::Pool(e.to_string()))?;
    let mut devices = Vec::new();
    for port in &config.ports {
        let cache = pool.cache().map_err(|e| ServeError::Pool(e.to_string()))?;
        devices.push(open_device(
            &port.iface,
            port.backend,
            port.mac,
            true,
            cache,
        )?);
    }
    let macs: Vec<EthernetAddress> = devices.iter().map(|d| d.info().mac).collect();
    let fds: Vec<_> = devices.iter().map(|d| d.wait_fd()).collect();
    let mut idler = Idler::new(IdleConfig::default(), &fds).map_err(ServeError::Io)?;
    let mut cache = pool.cache().map_err(|e| ServeError::Pool(e.to_string()))?;
    let mut sent = vec![0u64; devices.len()];
    let mut report = vec![FwdPortReport::default(); devices.len()];
    let cpu_start = crate::worker::thread_cpu_time();
    let mut bufs: Vec<NetBuf> = Vec::with_capacity(config.burst);
    let start = Instant::now();
    let mut last = start;
    // Acquire: pairs with the Release store of the stop signal's flag.
    while !stop.load(Ordering::Acquire) {
        let now = Instant::now();
        if config
            .duration
            .is_some_and(|d| now.duration_since(start) >= d)
        {
            break;
        }
        let mut work = 0;
        if config.mode == FwdMode::RxOnly {
            let n = devices[0].rx_burst(&mut bufs, config.burst);
            report[0].rx += n as u64;
            sent[0] += n as u64;
            work += n;
            cache.free_all(&mut bufs);
        }
        for from in 0..devices.len() {
            if devices.len() == 1 {
                break;
            }
            let to = 1 - from;
            let n = devices[from].rx_burst(&mut bufs, config.burst);
            if n == 0 {
                continue;
            }
            report[from].rx += n as u64;
            work += n;
            for buf in &mut bufs {
                rewrite(config.mode, buf, macs[to], config.ports[to].peer);
            }
            let moved = devices[to].tx_burst(&mut bufs);
            report[to].tx += moved as u64;
            report[to].tx_dropped += bufs.len() as u64;
            bufs.clear();
            sent[to] += moved as u64;
        }
        if last.elapsed() >= Duration::from_secs(1) {
            last = Instant::now();
            progress(start.elapsed(), &sent);
        }
        if idler.after_round(work, now) == IdleStep::Wait {
            idler.wait(now, Some(Duration::from_millis(100)));
        }
    }
    let elapsed = start.elapsed();
    let cpu_time = crate::worker::thread_cpu_time()
        .zip(cpu_start)
        .map(|(end, start)| end.saturating_sub(start));
    drop(cache);
    let mut stats = crate::stats::StatsSnapshot::default();
    for (r, d) in report.iter_mut().zip(&devices) {
        r.device = d.stats();
        stats.interfaces.push(crate::stats::InterfaceStats {
            name: d.info().name.clone(),
            rx_packets: r.device.rx_packets,
            rx_bytes: r.device.rx_bytes,
            tx_packets: r.device.tx_packets,
            tx_bytes: r.device.tx_bytes,
            rx_dropped: r.device.rx_dropped,
            tx_dropped: r.device.tx_dropped + r.tx_dropped,
        });
    }
    drop(devices);
    stats.pools = vec![crate::stats::PoolStatsJson::from(&pool.stats())];
    Ok(FwdReport {
        elapsed,
        ports: report,
        cpu_time,
        buffers_home: pool.stats().free == pool.capacity(),
        stats,
    })
}

/// Changes a frame's MACs as `mode` says (frames shorter than the two
/// addresses, or shared, pass unchanged).
fn rewrite(mode: FwdMode, buf: &mut NetBuf, out_mac: EthernetAddress, peer: EthernetAddress) {
    if mode == FwdMode::Io || buf.len() < 12 {
        return;
    }
    let Ok(data) = buf.data_mut() else {
        return;
    };
    match mode {
        FwdMode::Io | FwdMode::RxOnly => {}
        FwdMode::Mac => {
            data[..6].copy_from_slice(&peer.0);
            data[6..12].copy_from_slice(&out_mac.0);
        }
        FwdMode::MacSwap => {
            let (dst, src) = data.split_at_mut(6);
            dst.swap_with_slice(&mut src[..6]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_rewrite_the_macs() {
        let pool = Pool::new(PoolConfig {
            frames: 512,
            ..PoolConfig::named("fwd-test")
        })
        .unwrap();
        let frame: Vec<u8> = (0..60).collect();
        let out = EthernetAddress([0xaa; 6]);
        let peer = EthernetAddress([0xbb; 6]);
        let run = |mode| {
            let mut buf = pool.alloc().unwrap();
            buf.put(&frame).unwrap();
            rewrite(mode, &mut buf, out, peer);
            buf.data().to_vec()
        };
        assert_eq!(run(FwdMode::Io), frame);
        let mac = run(FwdMode::Mac);
        assert_eq!(
            (&mac[..6], &mac[6..12], &mac[12..]),
            (&[0xbb; 6][..], &[0xaa; 6][..], &frame[12..])
        );
        let swapped = run(FwdMode::MacSwap);
        assert_eq!(
            (&swapped[..6], &swapped[6..12]),
            (&frame[6..12], &frame[..6])
        );
        assert_eq!(&swapped[12..], &frame[12..]);
        // Too short to have two addresses: unchanged.
        let mut short = pool.alloc().unwrap();
        short.put(&[1, 2, 3]).unwrap();
        rewrite(FwdMode::MacSwap, &mut short, out, peer);
        assert_eq!(short.data(), &[1, 2, 3]);
    }
}
