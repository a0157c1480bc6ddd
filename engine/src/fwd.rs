//! `strata fwd`: forwarding between two ports, in the manner of DPDK's
//! `testpmd` (issue 5, "`strata fwd`"). Each round takes a burst from each
//! port and hands it to the other, changed as the mode says:
//!
//! - `io`: as received (the two ports joined like a wire, or a bridge);
//! - `mac`: the source MAC set to the output port's, the destination to the
//!   peer's configured for that port;
//! - `macswap`: source and destination MACs swapped;
//! - `l3`: IPv4 routing as DPDK's `l3fwd` does it: the longest configured
//!   prefix gives the output port and the next hop's MAC (static, no ARP);
//!   the header checksum is verified, the TTL decremented with an RFC 1624
//!   checksum update (`strata_l3l4::ingress::forward_ipv4`), the source MAC
//!   set to the output port's. Frames that are not IPv4, have a bad header,
//!   no route or a TTL that runs out are dropped and counted by reason;
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
use crate::serve::{open_device, pool_frames, Backend, ServeError};
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
    /// IPv4 routing by the configured routes.
    L3,
}

impl FwdMode {
    /// The mode's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            FwdMode::Io => "io",
            FwdMode::Mac => "mac",
            FwdMode::MacSwap => "macswap",
            FwdMode::RxOnly => "rxonly",
            FwdMode::L3 => "l3",
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
    /// `l3` mode's routes.
    pub routes: Vec<FwdRoute>,
    /// Never sleep: poll the ports all the time (a whole core, as testpmd
    /// does), instead of waiting on their descriptors after an idle spell.
    pub busy_poll: bool,
}

/// A route of `l3` mode: packets to `prefix/len` leave through port `port`
/// to the next hop `mac`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FwdRoute {
    /// The destination prefix.
    pub prefix: std::net::Ipv4Addr,
    /// Its length, 0 to 32.
    pub len: u8,
    /// The output port's index.
    pub port: usize,
    /// The next hop's Ethernet address.
    pub mac: EthernetAddress,
}

/// Why `l3` mode dropped frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct L3Drops {
    /// Not untagged IPv4.
    pub not_ipv4: u64,
    /// A header that does not parse, or whose checksum is wrong.
    pub bad_header: u64,
    /// No route to the destination.
    pub no_route: u64,
    /// The TTL ran out (no time exceeded is sent: there is no stack here).
    pub ttl_expired: u64,
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
    /// `l3` mode's drops, by reason.
    pub l3_drops: L3Drops,
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
    if let Some(route) = config
        .routes
        .iter()
        .find(|r| r.port >= config.ports.len() || r.len > 32)
    {
        return Err(ServeError::Config(format!(
            "route {}/{} names port {} of {}",
            route.prefix,
            route.len,
            route.port,
            config.ports.len()
        )));
    }
    if config.ports.len() != wanted {
        return Err(ServeError::Config(format!(
            "mode {} takes {wanted} port(s), not {}",
            config.mode.name(),
            config.ports.len()
        )));
    }
    let backends: Vec<Backend> = config.ports.iter().map(|p| p.backend).collect();
    let pool = Pool::new(PoolConfig {
        frames: pool_frames(&backends, 8192),
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
    let fds: Vec<_> = devices.iter().map(|d| d.wait_fds()).collect();
    let idle = IdleConfig {
        busy_poll: config.busy_poll,
        ..IdleConfig::default()
    };
    let mut idler = Idler::new(idle, &fds).map_err(ServeError::Io)?;
    let mut cache = pool.cache().map_err(|e| ServeError::Pool(e.to_string()))?;
    let mut sent = vec![0u64; devices.len()];
    let mut report = vec![FwdPortReport::default(); devices.len()];
    let cpu_start = crate::worker::thread_cpu_time();
    let mut l3_drops = L3Drops::default();
    // Per output port, the frames routed to it this round.
    let mut routed: Vec<Vec<NetBuf>> = (0..devices.len()).map(|_| Vec::new()).collect();
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
            // Back where the device allocates from; what it does not take,
            // into this loop's cache.
            devices[0].free(&mut bufs);
            cache.free_all(&mut bufs);
        }
        if config.mode == FwdMode::L3 {
            for from in 0..devices.len() {
                let n = devices[from].rx_burst(&mut bufs, config.burst);
                report[from].rx += n as u64;
                work += n;
                for mut buf in bufs.drain(..) {
                    match route_l3(&mut buf, &config.routes, &macs, &mut l3_drops) {
                        Some(port) => routed[port].push(buf),
                        None => cache.free(buf),
                    }
                }
            }
            for (to, frames) in routed.iter_mut().enumerate() {
                if frames.is_empty() {
                    continue;
                }
                let moved = devices[to].tx_burst(frames);
                report[to].tx += moved as u64;
                report[to].tx_dropped += frames.len() as u64;
                sent[to] += moved as u64;
                cache.free_all(frames);
            }
        }
        for from in 0..devices.len() {
            if devices.len() == 1 || config.mode == FwdMode::L3 {
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
        // One clock read per round (`now`): on a VM each read costs tens of
        // nanoseconds.
        if now.duration_since(last) >= Duration::from_secs(1) {
            last = now;
            progress(now.duration_since(start), &sent);
        }
        if idler.after_round(work, now) == IdleStep::Wait {
            idler.wait_on(now, Some(Duration::from_millis(100)), &mut devices, |d| {
                Some(&mut **d)
            });
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
        l3_drops,
        buffers_home: pool.stats().free == pool.capacity(),
        stats,
    })
}

/// Routes one frame in `l3` mode: the output port, the frame changed for
/// it; `None` (counted in `drops`) for a frame to drop.
fn route_l3(
    buf: &mut NetBuf,
    routes: &[FwdRoute],
    port_macs: &[EthernetAddress],
    drops: &mut L3Drops,
) -> Option<usize> {
    use strata_l3l4::ingress::forward_ipv4;
    use strata_l3l4::Ipv4Packet;
    let Ok(frame) = buf.data_mut() else {
        drops.bad_header += 1;
        return None;
    };
    if frame.len() < 14 + 20 || frame[12..14] != [0x08, 0x00] {
        drops.not_ipv4 += 1;
        return None;
    }
    let mut packet = match Ipv4Packet::new_checked(&mut frame[14..]) {
        Ok(packet) if packet.verify_checksum() => packet,
        _ => {
            drops.bad_header += 1;
            return None;
        }
    };
    let dst = u32::from(packet.dst_addr());
    let route = routes
        .iter()
        .filter(|r| {
            let mask = u32::MAX.checked_shl(32 - u32::from(r.len)).unwrap_or(0);
            dst & mask == u32::from(r.prefix) & mask
        })
        .max_by_key(|r| r.len);
    let Some(route) = route.copied() else {
        drops.no_route += 1;
        return None;
    };
    if forward_ipv4(&mut packet).is_err() {
        drops.ttl_expired += 1;
        return None;
    }
    let out_mac = port_macs.get(route.port)?;
    frame[..6].copy_from_slice(&route.mac.0);
    frame[6..12].copy_from_slice(&out_mac.0);
    Some(route.port)
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
        FwdMode::Io | FwdMode::RxOnly | FwdMode::L3 => {}
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
    fn l3_routes_by_the_longest_prefix_decrements_the_ttl_and_counts_drops() {
        use strata_l3l4::Ipv4Packet;
        let pool = Pool::new(PoolConfig {
            frames: 512,
            ..PoolConfig::named("fwd-l3")
        })
        .unwrap();
        let frame = |dst: [u8; 4], ttl: u8| {
            let mut f = vec![0u8; 14];
            f[12..14].copy_from_slice(&[0x08, 0x00]);
            let mut ip = [0u8; 28];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&28u16.to_be_bytes());
            ip[8] = ttl;
            ip[9] = 17;
            ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
            ip[16..20].copy_from_slice(&dst);
            let mut p = Ipv4Packet::new_unchecked(&mut ip[..]);
            p.fill_checksum();
            f.extend_from_slice(&ip);
            let mut buf = pool.alloc().unwrap();
            buf.put(&f).unwrap();
            buf
        };
        let mac = |b| EthernetAddress([b; 6]);
        let routes = [
            FwdRoute {
                prefix: [10, 2, 0, 0].into(),
                len: 16,
                port: 0,
                mac: mac(0xa0),
            },
            FwdRoute {
                prefix: [10, 2, 3, 0].into(),
                len: 24,
                port: 1,
                mac: mac(0xb0),
            },
        ];
        let ports = [mac(0x0a), mac(0x0b)];
        let mut drops = L3Drops::default();
        let mut buf = frame([10, 2, 3, 4], 64);
        assert_eq!(route_l3(&mut buf, &routes, &ports, &mut drops), Some(1));
        let data = buf.data();
        assert_eq!((&data[..6], &data[6..12]), (&[0xb0; 6][..], &[0x0b; 6][..]));
        let ip = Ipv4Packet::new_checked(&data[14..]).unwrap();
        assert_eq!(ip.ttl(), 63);
        assert!(ip.verify_checksum(), "the checksum follows the TTL");
        let mut other = frame([10, 2, 9, 9], 64);
        assert_eq!(route_l3(&mut other, &routes, &ports, &mut drops), Some(0));
        let mut lost = frame([192, 0, 2, 1], 64);
        assert_eq!(route_l3(&mut lost, &routes, &ports, &mut drops), None);
        let mut old = frame([10, 2, 3, 4], 1);
        assert_eq!(route_l3(&mut old, &routes, &ports, &mut drops), None);
        let mut corrupt = frame([10, 2, 3, 4], 64);
        corrupt.data_mut().unwrap()[14 + 10] ^= 1;
        assert_eq!(route_l3(&mut corrupt, &routes, &ports, &mut drops), None);
        let mut arp = pool.alloc().unwrap();
        arp.put(&[0u8; 60]).unwrap();
        assert_eq!(route_l3(&mut arp, &routes, &ports, &mut drops), None);
        assert_eq!(
            drops,
            L3Drops {
                not_ipv4: 1,
                bad_header: 1,
                no_route: 1,
                ttl_expired: 1
            }
        );
    }

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
