//! `strata replay`: every frame of a capture is received, at the time it was
//! captured, as if on one Ethernet interface; everything the stack sends in
//! answer is written to another capture, stamped with the time it was sent.
//!
//! The clock is the capture's: time starts at the first frame, and between
//! frames the stack's timers run when they fall due (retransmissions, cache
//! ageing, reassembly timeouts). After the last frame the timers run on for
//! [`ReplayConfig::linger`] of capture time, so that what is pending
//! (resolution retries, a reassembly that never completes) plays out.
//!
//! Nothing listens unless configured ([`ReplayConfig::udp_echo`]). Duplicate
//! address detection and router solicitation are off: the interface's
//! addresses answer from the first frame.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use strata_l2::Instant;
use strata_pools::{NetBuf, Pool, PoolConfig};

use crate::dev::pcap::{PcapDevError, PcapReader, PcapReaderConfig, PcapWriter, PcapWriterConfig};
use crate::dev::{Device, DeviceStats};
use crate::stack::{Stack, StackConfig, UdpSocket};
use crate::stats::{InterfaceStats, PoolStatsJson, StatsSnapshot};

/// What to replay, and how.
#[derive(Debug, Clone)]
pub struct ReplayConfig {
    /// The capture to receive.
    pub input: PathBuf,
    /// Where to write what the stack sends (nothing written when `None`).
    pub output: Option<PathBuf>,
    /// The interface: MAC, addresses, MTU.
    pub stack: StackConfig,
    /// UDP ports on which an echo service answers (on every address).
    pub udp_echo: Vec<u16>,
    /// How long the timers run after the last frame.
    pub linger: Duration,
    /// Buffers in the pool.
    pub pool_frames: usize,
}

impl ReplayConfig {
    /// A replay of `input` with `stack` and the defaults: nothing written,
    /// nothing listening, 30 s of linger, 4096 buffers.
    pub fn new(input: impl Into<PathBuf>, stack: StackConfig) -> ReplayConfig {
        ReplayConfig {
            input: input.into(),
            output: None,
            stack: StackConfig {
                dad_transmits: 0,
                autoconf: false,
                ..stack
            },
            udp_echo: Vec::new(),
            linger: Duration::from_secs(30),
            pool_frames: 4096,
        }
    }
}

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The capture could not be read or written.
    #[error(transparent)]
    Capture(#[from] PcapDevError),
    /// The buffer pool could not be made.
    #[error("buffer pool: {0}")]
    Pool(#[from] strata_pools::PoolError),
    /// A UDP service could not be opened.
    #[error("udp echo: {0}")]
    Socket(#[from] crate::stack::SocketError),
}

/// What a replay did.
#[derive(Debug, Clone)]
pub struct ReplayReport {
    /// Frames read from the capture and handed to the stack.
    pub frames_in: u64,
    /// Frames the stack sent.
    pub frames_out: u64,
    /// The stats JSON contract's view of the run.
    pub stats: StatsSnapshot,
    /// Every buffer was back in the pool at the end.
    pub buffers_home: bool,
}

/// Most timer rounds run after the last frame (a bound, should a timer keep
/// falling due at the same instant).
const MAX_TIMER_ROUNDS: usize = 100_000;

/// Replays a capture. See the module documentation.
///
/// # Errors
///
/// [`ReplayError`] when the capture cannot be read or written, or the pool or
/// a service cannot be set up. Bad frames are not errors: they are dropped and
/// counted.
pub fn replay(config: &ReplayConfig) -> Result<ReplayReport, ReplayError> {
    let pool = Pool::new(PoolConfig {
        frames: config.pool_frames.max(512),
        ..PoolConfig::named("replay")
    })?;
    let report = run(config, &pool)?;
    Ok(ReplayReport {
        buffers_home: pool.stats().free == pool.capacity(),
        stats: StatsSnapshot {
            pools: vec![PoolStatsJson::from(&pool.stats())],
            ..report.stats
        },
        ..report
    })
}

fn run(config: &ReplayConfig, pool: &Pool) -> Result<ReplayReport, ReplayError> {
    let stack_config = &config.stack;
    let mut reader = PcapReader::open(
        &config.input,
        &PcapReaderConfig {
            name: stack_config.name.clone(),
            mac: stack_config.mac,
            mtu: stack_config.mtu,
            caps: stack_config.caps,
            ..PcapReaderConfig::default()
        },
        pool,
    )?;
    let mut writer = match &config.output {
        Some(path) => Some(PcapWriter::create(
            path,
            &PcapWriterConfig {
                name: format!("{}-out", stack_config.name),
                mac: stack_config.mac,
                mtu: stack_config.mtu,
                caps: stack_config.caps,
            },
        )?),
        None => None,
    };
    // The capture's clock: time 0 at the first frame.
    let origin = reader.next_timestamp().unwrap_or_default();
    let mut stack = Stack::new(stack_config.clone(), pool.clone(), Instant::ZERO);
    let mut echoes: Vec<UdpSocket> = Vec::new();
    for &port in &config.udp_echo {
        let any = SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), port);
        echoes.push(stack.bind_udp(any)?);
    }
    let mut out = Outbox {
        writer: writer.as_mut(),
        frames: 0,
        tx: DeviceStats::default(),
        bufs: Vec::new(),
    };
    let mut bufs: Vec<NetBuf> = Vec::with_capacity(1);
    let mut frames_in = 0u64;
    let mut now = Instant::ZERO;
    out.flush(&mut stack, now);
    loop {
        // One frame at a time, each at its own capture time.
        if reader.rx_burst(&mut bufs, 1) == 0 {
            if reader.is_done() {
                break;
            }
            continue;
        }
        let stamp = reader
            .burst_timestamps()
            .first()
            .copied()
            .unwrap_or_default();
        let at = Instant::from_duration(stamp.saturating_sub(origin)).max(now);
        run_timers(&mut stack, &mut out, now, at);
        now = at;
        frames_in += 1;
        stack.receive(now, &mut bufs);
        serve_echo(&mut stack, &mut echoes, now);
        out.flush(&mut stack, now);
    }
    let _ = reader.take_error();
    run_timers(&mut stack, &mut out, now, now + config.linger);
    let rx = reader.stats();
    let tx = out.tx;
    let frames_out = out.frames;
    drop(out);
    if let Some(writer) = writer {
        writer.finish()?;
    }
    let interface = InterfaceStats {
        name: stack_config.name.clone(),
        rx_packets: rx.rx_packets,
        rx_bytes: rx.rx_bytes,
        tx_packets: tx.tx_packets,
        tx_bytes: tx.tx_bytes,
        rx_dropped: rx.rx_dropped + stack.protocols().eth.drop,
        tx_dropped: tx.tx_dropped,
    };
    let stats = StatsSnapshot {
        interfaces: vec![interface],
        protocols: stack.protocols(),
        ..StatsSnapshot::default()
    };
    drop(echoes);
    drop(stack);
    drop(reader);
    Ok(ReplayReport {
        frames_in,
        frames_out,
        stats,
        buffers_home: false,
    })
}

/// Where the stack's frames go: the writer, stamped with the capture time.
struct Outbox<'w> {
    writer: Option<&'w mut PcapWriter>,
    frames: u64,
    tx: DeviceStats,
    bufs: Vec<NetBuf>,
}

impl Outbox<'_> {
    fn flush(&mut self, stack: &mut Stack, now: Instant) {
        if stack.poll_transmit(&mut self.bufs) == 0 {
            return;
        }
        self.frames += self.bufs.len() as u64;
        match self.writer.as_mut() {
            Some(writer) => {
                writer.set_time(now - Instant::ZERO);
                writer.tx_burst(&mut self.bufs);
                self.tx = writer.stats();
                self.bufs.clear();
            }
            None => {
                self.tx.tx_packets += self.bufs.len() as u64;
                self.tx.tx_bytes += self.bufs.iter().map(|b| b.total_len() as u64).sum::<u64>();
                self.bufs.clear();
            }
        }
    }
}

/// Runs every timer due before `until`, each at its own time.
fn run_timers(stack: &mut Stack, out: &mut Outbox<'_>, from: Instant, until: Instant) {
    for _ in 0..MAX_TIMER_ROUNDS {
        match stack.poll_at() {
            Some(at) if at <= until => {
                let at = at.max(from);
                stack.handle_timeout(at);
                out.flush(stack, at);
                if stack.poll_at() == Some(at) {
                    // Nothing moved at this instant: go on from the next one.
                    stack.handle_timeout(at + Duration::from_nanos(1));
                }
            }
            _ => return,
        }
    }
}

/// Answers what arrived on the echo ports, in the same buffers.
fn serve_echo(stack: &mut Stack, sockets: &mut [UdpSocket], now: Instant) {
    for socket in sockets {
        let local = socket.local_addr();
        while let Some(datagram) = socket.recv() {
            let dst = datagram.dst();
            let Some((payload, src)) = datagram.into_payload() else {
                continue;
            };
            let from = SocketAddr::new(dst.ip(), local.port());
            let _ = stack.send_udp(now, from, src, payload);
        }
    }
}
