//! AF_XDP with the pool as the UMEM (issue 5, "AF_XDP backend"): the pool's
//! whole region is registered with the socket, so the kernel receives
//! straight into pool frames, which become [`NetBuf`]s with no copy in user
//! space; transmit hands pool frames to the kernel and their completions
//! return them to the pool.
//!
//! Set-up ([`AfXdpDevice::open_port`]): an XSKMAP and a six-instruction XDP
//! program that redirects each receive queue to its socket (frames of a
//! queue with no socket pass to the kernel), loaded through `bpf(2)`
//! ([`crate::sys::bpf`]) and attached through a bpf link in native
//! (driver) or generic (skb) mode; one socket per queue
//! ([`crate::sys::xsk`]), bound zero-copy when the driver can and in copy
//! mode otherwise (veth: copy only) — the mode it got is in
//! [`AfXdpDevice::bind_mode`] and in the device's `kind`.
//!
//! Ownership: every frame handed to the kernel (in the fill ring, or sent
//! and not yet completed) is held in a table by frame index; what comes
//! back is looked up there (an address the device did not hand out is
//! counted and ignored, never trusted), and on drop, after the socket is
//! closed, every frame still held goes home to the pool.

use std::io;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::{NetBuf, PoolCache, RawFrame};

use super::{Device, DeviceInfo, DeviceStats};
use crate::sys::bpf::{self, Link, LoadError, Map, Program};
use crate::sys::packet;
use crate::sys::prefetch;
use crate::sys::xsk::{Desc, Umem, XskConfig, XskError, XskSocket};

pub use crate::sys::bpf::XdpMode;

/// How a socket is bound to its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XdpBind {
    /// Zero-copy when the driver supports it, copy otherwise.
    Auto,
    /// Copy mode: the kernel copies frames between its buffers and the UMEM.
    Copy,
    /// Zero-copy only: refused where the driver cannot.
    ZeroCopy,
}

impl XdpBind {
    /// The name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            XdpBind::Auto => "auto",
            XdpBind::Copy => "copy",
            XdpBind::ZeroCopy => "zero-copy",
        }
    }
}

/// Settings of an AF_XDP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfXdpConfig {
    /// The interface, e.g. `veth0`.
    pub iface: String,
    /// Strata's Ethernet address (`None`: the interface's own).
    pub mac: Option<EthernetAddress>,
    /// Where the XDP program runs.
    pub mode: XdpMode,
    /// Copy or zero-copy.
    pub bind: XdpBind,
    /// The queues to open, one socket each (e.g. `0..1`).
    pub queues: std::ops::Range<u16>,
    /// Entries per ring (fill, completion, RX, TX), a power of two
    /// (default 4096: on veth, 6 interleaved runs against 2048 received
    /// 1.3% more busy-polling and lost half as much sleeping between
    /// bursts).
    pub ring_size: u32,
    /// Use the kernel's `need_wakeup` flags (fewer system calls).
    pub need_wakeup: bool,
    /// Frames kept in the fill ring while the worker polls and frames
    /// arrive fast, in copy mode (default [`DEFAULT_POLLING_FILL`]): fewer
    /// keep the kernel's copy in its caches, more ride out longer hold-offs
    /// of the receiving thread. Zero-copy binds, sleeps, and arrivals the
    /// whole receive budget holds a millisecond of use all of it.
    pub polling_fill: u32,
    /// The MTU Strata uses on the link.
    pub mtu: usize,
}

impl Default for AfXdpConfig {
    fn default() -> Self {
        AfXdpConfig {
            iface: "veth0".to_owned(),
            mac: None,
            mode: XdpMode::Native,
            bind: XdpBind::Auto,
            queues: 0..1,
            ring_size: 4096,
            need_wakeup: true,
            polling_fill: DEFAULT_POLLING_FILL,
            mtu: 1500,
        }
    }
}

/// Why an AF_XDP port could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AfXdpError {
    /// The interface is not there.
    #[error("AF_XDP on {iface:?}: {source} (does the interface exist in this namespace?)")]
    Interface {
        /// The interface.
        iface: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// The kernel refused a map or the program.
    #[error("AF_XDP on {iface:?}: {what}: {source} (loading XDP programs needs CAP_BPF and CAP_NET_ADMIN, or root)")]
    Bpf {
        /// The interface.
        iface: String,
        /// What was refused.
        what: &'static str,
        /// The kernel's answer.
        source: io::Error,
    },
    /// The verifier refused the program.
    #[error("AF_XDP on {iface:?}: {source}")]
    Load {
        /// The interface.
        iface: String,
        /// The refusal, with the verifier's log.
        source: LoadError,
    },
    /// The program could not be attached.
    #[error("AF_XDP on {iface:?}: attaching XDP in {mode} mode: {source}{hint}")]
    Attach {
        /// The interface.
        iface: String,
        /// The mode asked for.
        mode: &'static str,
        /// The kernel's answer.
        source: io::Error,
        /// What to try instead.
        hint: &'static str,
    },
    /// A socket could not be set up or bound.
    #[error("AF_XDP on {iface:?} queue {queue}: {source}{hint}")]
    Socket {
        /// The interface.
        iface: String,
        /// The queue.
        queue: u16,
        /// The step and the kernel's answer.
        source: XskError,
        /// What to try instead.
        hint: &'static str,
    },
    /// The pool does not fit the UMEM's rules or cannot fill the rings.
    #[error("AF_XDP: {0}")]
    Pool(String),
}

/// Counters of what the rings did besides moving frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AfXdpCounters {
    /// Addresses the kernel returned that this device did not hand out
    /// (ignored).
    pub bad_addresses: u64,
    /// Frames transmitted from a copy (shared, chained or of another pool).
    pub tx_copied: u64,
    /// `sendto` wakeups for transmit.
    pub tx_kicks: u64,
    /// Wakeups for the fill ring.
    pub fill_kicks: u64,
    /// Receives that found the pool empty (the fill ring ran low).
    pub fill_starved: u64,
}

/// The program, its map and its attachment, shared by a port's sockets;
/// detached when the last of them closes.
#[derive(Debug)]
struct Attachment {
    // Field order: the link goes first, detaching the program.
    _link: Link,
    map: Map,
    _program: Program,
}

/// One queue of an interface through an AF_XDP socket. See the module
/// documentation.
#[derive(Debug)]
pub struct AfXdpDevice {
    // Field order: the socket closes first, so the kernel lets go of every
    // frame before `Drop` hands the held ones back to the pool.
    socket: Option<XskSocket>,
    _attachment: Arc<Attachment>,
    info: DeviceInfo,
    cache: PoolCache,
    /// Frames the kernel holds, by index.
    held: Vec<Option<RawFrame>>,
    frame_shift: u32,
    frame_mask: u64,
    zero_copy: bool,
    need_wakeup: bool,
    /// The most frames the kernel holds for receiving (in the fill ring,
    /// or received and not read yet): a share of the pool per queue, all
    /// handed over before the worker sleeps.
    rx_budget: u32,
    /// What it is topped up to while the worker polls and frames arrive
    /// fast ([`polling_fill`]).
    poll_budget: u32,
    /// Whether frames arrive slowly enough for the whole budget to be kept
    /// while polling ([`keeps_whole_budget`]).
    whole_budget: bool,
    /// Frames received since `window_start` (the rate's window).
    window_frames: u32,
    /// When the arrival-rate window began (`None`: not yet).
    window_start: Option<Instant>,
    /// How many it holds now.
    rx_held: u32,
    raw: Vec<RawFrame>,
    scratch: Vec<NetBuf>,
    stats: DeviceStats,
    counters: AfXdpCounters,
}

/// Frames the fill ring is topped up by at a time.
const FILL_BATCH: u32 = 64;

/// Frames kept in the fill ring while the worker polls and frames arrive
/// fast, in copy mode (`AfXdpConfig::polling_fill`'s default; while the
/// whole receive budget holds a millisecond of arrivals, all of it is kept).
///
/// The fill ring is first in, first out, so every frame in it is written
/// once per turn of the ring: the deeper it is kept, the more memory the
/// kernel's copy walks through (each 2048-byte frame is half a page of the
/// kernel's own mapping of the UMEM, and a line of it is written). Received
/// frames freed through the device come back first ([`Device::free`]), so
/// the frames in use stay about these few. On veth, busy-polling a 4096-entry
/// ring of 64-byte frames (`perf/afxdp-rx.sh` arrangement, interleaved runs,
/// medians): 4096 kept received 8.7 Mpps, 2048 10.3, 1024 11.2, 896 11.6,
/// 768 11.9, 640 12.2; 512 swung between 10.7 and 12.3 and 256 gave 10.3
/// (the kernel finds the ring empty more often). Before the worker sleeps
/// the ring is filled to the whole receive budget (`arm_wake`), so a sleep
/// still has all of it to receive into. Zero-copy binds keep the whole
/// budget: there the device writes the frames, not a copy on a CPU.
pub const DEFAULT_POLLING_FILL: u32 = 640;

/// What the fill ring is topped up to while the worker polls: `asked`
/// (copy mode) or the whole budget (zero-copy), never less than a refill
/// batch nor more than the budget.
fn polling_fill(asked: u32, rx_budget: u32, zero_copy: bool) -> u32 {
    let want = if zero_copy { rx_budget } else { asked };
    want.max(FILL_BATCH).min(rx_budget)
}

/// Frames received between clock reads for the arrival rate.
const RATE_CHECK: u32 = 1024;

/// The shortest time the arrival rate is measured over: long enough that
/// the backlog a stall leaves, received all at once, does not read as a
/// fast rate.
const RATE_WINDOW: Duration = Duration::from_millis(10);

/// The arrivals the whole receive budget must hold for it to be kept in
/// the fill ring while polling.
const WHOLE_BUDGET_HOLDS: Duration = Duration::from_millis(1);

/// Whether the fill ring is kept at the whole receive budget while polling,
/// given the arrival rate (frames per second) over the last window and
/// whether it is now.
///
/// A receiving thread is now and then held off for a millisecond or more
/// (on this project's VMs, 1 to 7 ms about once a second while a local
/// sender runs): the frames that arrive meanwhile need room in the fill
/// ring. While the whole
/// budget holds at least [`WHOLE_BUDGET_HOLDS`] of arrivals, it is all kept
/// there (4096 frames: up to about 4 Mpps); faster, no depth the budget
/// allows rides out such a stall, and the ring is kept at the polling fill,
/// where the kernel's copy is cheapest. Going back takes two thirds of that
/// rate, so a rate near the edge does not flip it every window.
fn keeps_whole_budget(rate: f64, budget: u32, now: bool) -> bool {
    let holds = f64::from(budget) / rate.max(1.0);
    let needs = WHOLE_BUDGET_HOLDS.as_secs_f64() * if now { 1.0 } else { 1.5 };
    holds >= needs
}

impl AfXdpDevice {
    /// Opens `config.queues` of `config.iface`, one device per queue, each
    /// taking buffers from its cache in `caches` (caches of one pool: its
    /// region is the UMEM).
    ///
    /// # Errors
    ///
    /// [`AfXdpError`]: no interface, no permission, a driver or kernel that
    /// refuses the mode (with what to try), a pool that does not fit.
    pub fn open_port(
        config: &AfXdpConfig,
        caches: Vec<PoolCache>,
    ) -> Result<Vec<AfXdpDevice>, AfXdpError> {
        let iface = config.iface.clone();
        if caches.len() != config.queues.len() || caches.is_empty() {
            return Err(AfXdpError::Pool(format!(
                "{} queue(s) need as many pool caches, got {}",
                config.queues.len(),
                caches.len()
            )));
        }
        let pool = caches[0].pool().clone();
        let frame_size = pool.frame_size();
        let page = 4096;
        if !(2048..=page).contains(&frame_size) {
            return Err(AfXdpError::Pool(format!(
                "UMEM frames must be 2048 to {page} bytes, the pool's are {frame_size}"
            )));
        }
        let need = 256 + config.mtu + strata_l2::ETHERNET_HEADER_LEN + 4;
        if need > frame_size {
            return Err(AfXdpError::Pool(format!(
                "a {}-byte MTU needs {need}-byte frames (256 bytes of XDP headroom first), the pool's are {frame_size}",
                config.mtu
            )));
        }
        let ifindex = packet::ifindex(&iface).map_err(|source| AfXdpError::Interface {
            iface: iface.clone(),
            source,
        })?;
        let own =
            EthernetAddress(
                packet::hw_addr(&iface).map_err(|source| AfXdpError::Interface {
                    iface: iface.clone(),
                    source,
                })?,
            );
        let bpf_error = |what| {
            let iface = iface.clone();
            move |source| AfXdpError::Bpf {
                iface,
                what,
                source,
            }
        };
        let map = Map::create(
            bpf::MAP_XSKMAP,
            4,
            u32::from(config.queues.end.max(1)),
            "strata_xsks",
        )
        .map_err(bpf_error("creating the XSKMAP"))?;
        let program = Program::load_xdp(&bpf::programs::redirect_to_xsk(&map), "strata_xsk")
            .map_err(|source| AfXdpError::Load {
                iface: iface.clone(),
                source,
            })?;
        let link = program
            .attach(ifindex as u32, config.mode)
            .map_err(|source| AfXdpError::Attach {
                iface: iface.clone(),
                mode: config.mode.name(),
                hint: match (source.raw_os_error(), config.mode) {
                    (Some(libc::EOPNOTSUPP), XdpMode::Native) => {
                        " (the driver has no native XDP: try --xdp-mode generic)"
                    }
                    (Some(libc::EBUSY | libc::EEXIST), _) => {
                        " (another XDP program is attached to the interface: `ip link set dev IF xdp off`, or detach its owner)"
                    }
                    _ => "",
                },
                source,
            })?;
        let attachment = Arc::new(Attachment {
            _link: link,
            map,
            _program: program,
        });
        let (base, len) = pool.region();
        let umem = Umem {
            base,
            len,
            chunk: frame_size as u32,
        };
        let mut devices = Vec::with_capacity(caches.len());
        for (queue, cache) in config.queues.clone().zip(caches) {
            let open = |zero_copy| {
                XskSocket::open(
                    umem,
                    XskConfig {
                        ifindex: ifindex as u32,
                        queue: u32::from(queue),
                        ring_size: config.ring_size,
                        zero_copy,
                        need_wakeup: config.need_wakeup,
                    },
                )
            };
            let socket = match config.bind {
                XdpBind::Copy => open(false),
                XdpBind::ZeroCopy => open(true),
                XdpBind::Auto => match open(true) {
                    Err(e)
                        if matches!(
                            e.source.raw_os_error(),
                            Some(libc::EOPNOTSUPP | libc::EINVAL | libc::EPROTONOSUPPORT)
                        ) =>
                    {
                        open(false)
                    }
                    other => other,
                },
            }
            .map_err(|source| AfXdpError::Socket {
                iface: iface.clone(),
                queue,
                hint: match source.source.raw_os_error() {
                    Some(libc::EOPNOTSUPP) if config.bind == XdpBind::ZeroCopy => {
                        " (the driver cannot bind zero-copy, veth among them: use --xdp-bind copy)"
                    }
                    Some(libc::EBUSY) => " (the queue has an AF_XDP socket already)",
                    Some(libc::EINVAL) if source.step == "bind" => {
                        " (no such queue on the interface?)"
                    }
                    Some(libc::EPERM) => " (AF_XDP needs CAP_NET_RAW)",
                    _ => "",
                },
                source,
            })?;
            attachment
                .map
                .set_u32(u32::from(queue), socket.fd() as u32)
                .map_err(bpf_error("putting the socket in the XSKMAP"))?;
            let zero_copy = socket.is_zero_copy();
            let mut device = AfXdpDevice {
                socket: Some(socket),
                _attachment: Arc::clone(&attachment),
                info: DeviceInfo {
                    name: iface.clone(),
                    kind: match (config.mode, zero_copy) {
                        (XdpMode::Native, true) => "afxdp-native-zerocopy",
                        (XdpMode::Native, false) => "afxdp-native-copy",
                        (XdpMode::Generic, true) => "afxdp-generic-zerocopy",
                        (XdpMode::Generic, false) => "afxdp-generic-copy",
                    },
                    mac: config.mac.unwrap_or(own),
                    mtu: config.mtu,
                    queue,
                    queues: config.queues.end,
                    caps: ChecksumCaps::software(),
                },
                held: Vec::new(),
                frame_shift: frame_size.trailing_zeros(),
                frame_mask: frame_size as u64 - 1,
                zero_copy,
                need_wakeup: config.need_wakeup,
                // Half the pool's frames at most wait in the kernel for
                // receiving: the rest are for the stack, the sockets and
                // transmit.
                rx_budget: config
                    .ring_size
                    .min((pool.capacity() / (2 * config.queues.len())) as u32),
                poll_budget: 0,
                whole_budget: true,
                window_frames: 0,
                window_start: None,
                rx_held: 0,
                raw: Vec::with_capacity(FILL_BATCH as usize),
                scratch: Vec::with_capacity(64),
                cache,
                stats: DeviceStats::default(),
                counters: AfXdpCounters::default(),
            };
            device.held.resize_with(pool.capacity(), || None);
            device.poll_budget = polling_fill(config.polling_fill, device.rx_budget, zero_copy);
            device.refill(device.rx_budget);
            if device.socket().fill.outstanding() == 0 {
                return Err(AfXdpError::Pool(
                    "the pool has no frames for the fill ring".to_owned(),
                ));
            }
            devices.push(device);
        }
        Ok(devices)
    }

    fn socket(&mut self) -> &mut XskSocket {
        // Only `Drop` takes the socket out.
        self.socket.as_mut().unwrap_or_else(|| unreachable!())
    }

    /// Whether the socket is bound zero-copy (else the kernel copies).
    pub fn bind_mode(&self) -> &'static str {
        if self.zero_copy {
            "zero-copy"
        } else {
            "copy"
        }
    }

    /// What the rings did besides moving frames.
    pub fn counters(&self) -> AfXdpCounters {
        self.counters
    }

    /// The kernel's counters for the socket (drops for want of fill
    /// entries or RX room, invalid descriptors).
    ///
    /// # Errors
    ///
    /// The kernel's refusal.
    pub fn kernel_statistics(&self) -> io::Result<crate::sys::xsk::XskStatistics> {
        match &self.socket {
            Some(s) => s.statistics(),
            None => Err(io::Error::other("closed")),
        }
    }

    /// Tops the fill ring up with up to `want` fresh frames.
    fn refill(&mut self, want: u32) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let mut r = socket.fill.reserve(want);
        let mut left = r.room();
        while left > 0 {
            let n = left.min(FILL_BATCH);
            if self
                .cache
                .alloc_raw_bulk(n as usize, &mut self.raw)
                .is_err()
            {
                self.counters.fill_starved += 1;
                break;
            }
            for raw in self.raw.drain(..) {
                let index = raw.index() as usize;
                let addr = (index as u64) << self.frame_shift;
                // Cannot fail: `n` fits the reservation.
                let _ = r.push(addr);
                self.held[index] = Some(raw);
            }
            self.rx_held += n;
            left -= n;
        }
        drop(r);
        if self.need_wakeup && socket.fill.needs_wakeup() {
            self.counters.fill_kicks += 1;
            socket.kick_rx();
        }
    }

    /// The frame the kernel names by `addr`, if this device handed it out.
    fn take_held(&mut self, addr: u64) -> Option<(RawFrame, usize)> {
        let index = usize::try_from(addr >> self.frame_shift).ok()?;
        let raw = self.held.get_mut(index)?.take()?;
        Some((raw, (addr & self.frame_mask) as usize))
    }

    /// Takes back the frames the kernel finished sending.
    fn reap_completions(&mut self) {
        let Some(socket) = self.socket.as_mut() else {
            return;
        };
        let n = socket.completion.ready(u32::MAX);
        if n == 0 {
            return;
        }
        let mut bad = 0;
        for i in 0..n {
            let addr = socket.completion.read(i);
            let index = usize::try_from(addr >> self.frame_shift).ok();
            match index
                .and_then(|k| self.held.get_mut(k))
                .and_then(Option::take)
            {
                Some(raw) => self.raw.push(raw),
                None => bad += 1,
            }
        }
        socket.completion.release(n);
        self.counters.bad_addresses += bad;
        self.cache.free_raw(&mut self.raw);
    }
}

impl Device for AfXdpDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let (got, bytes) = {
            let mut got = 0;
            let mut bytes = 0u64;
            let socket = self.socket.as_mut().unwrap_or_else(|| unreachable!());
            let n = socket.rx.ready(max.min(u32::MAX as usize) as u32);
            let mut descs = [Desc::default(); 64];
            let mut done = 0;
            while done < n {
                let k = (n - done).min(descs.len() as u32);
                let socket = self.socket.as_mut().unwrap_or_else(|| unreachable!());
                for (i, d) in descs.iter_mut().take(k as usize).enumerate() {
                    *d = socket.rx.read(done + i as u32);
                }
                for d in &descs[..k as usize] {
                    let Some((raw, offset)) = self.take_held(d.addr) else {
                        self.counters.bad_addresses += 1;
                        continue;
                    };
                    self.rx_held = self.rx_held.saturating_sub(1);
                    match self.cache.raw_into_buf(raw, offset, d.len as usize) {
                        Ok(buf) => {
                            out.push(buf);
                            got += 1;
                            bytes += u64::from(d.len);
                        }
                        Err(raw) => {
                            // A length past the frame's end: dropped, the
                            // frame home.
                            self.counters.bad_addresses += 1;
                            self.stats.rx_dropped += 1;
                            self.raw.push(raw);
                            self.cache.free_raw(&mut self.raw);
                        }
                    }
                }
                done += k;
            }
            if n > 0 {
                self.socket().rx.release(n);
            }
            (got, bytes)
        };
        if got > 0 {
            self.window_frames = self.window_frames.saturating_add(got as u32);
            if self.window_frames % RATE_CHECK < got as u32 {
                // Crossed a multiple of RATE_CHECK: look at the clock.
                let now = Instant::now();
                match self.window_start {
                    None => {
                        self.window_start = Some(now);
                        self.window_frames = 0;
                    }
                    Some(start) if now.duration_since(start) >= RATE_WINDOW => {
                        let secs = now.duration_since(start).as_secs_f64();
                        let rate = f64::from(self.window_frames) / secs;
                        self.whole_budget =
                            keeps_whole_budget(rate, self.rx_budget, self.whole_budget);
                        self.window_start = Some(now);
                        self.window_frames = 0;
                    }
                    Some(_) => {}
                }
            }
        }
        // Keep the kernel's polling share topped up once a batch of it is
        // back (after a sleep it holds more, until that is received).
        let target = if self.whole_budget {
            self.rx_budget
        } else {
            self.poll_budget
        };
        let missing = target.saturating_sub(self.rx_held);
        if missing >= FILL_BATCH.min(target) {
            self.refill(missing);
        }
        self.stats.rx_packets += got as u64;
        self.stats.rx_bytes += bytes;
        got
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        self.reap_completions();
        if bufs.is_empty() {
            return 0;
        }
        let want = bufs.len().min(u32::MAX as usize) as u32;
        let room = {
            let socket = self.socket.as_mut().unwrap_or_else(|| unreachable!());
            socket.tx.reserve(want).room()
        };
        if room < want {
            // A full ring: let the kernel drain it, then look again.
            let socket = self.socket();
            if socket.kick_tx().is_ok() {
                self.counters.tx_kicks += 1;
            }
            self.reap_completions();
        }
        let socket = self.socket.as_mut().unwrap_or_else(|| unreachable!());
        let mut r = socket.tx.reserve(want);
        let n = r.room() as usize;
        if !self.zero_copy {
            // In copy mode the kernel copies each frame into an sk_buff
            // inside the `sendto` below, one frame after another, so every
            // frame whose bytes another core wrote (a forwarded frame: the
            // receive side's copy runs where the NAPI poll runs) costs it a
            // full miss. Asking for all of them first overlaps the misses:
            // 5-7% more frames forwarded on veth (perf/afxdp-fwd.sh).
            for buf in &bufs[..n] {
                prefetch::read(buf.data());
            }
        }
        let mut sent = 0u64;
        let mut bytes = 0u64;
        for buf in bufs.drain(..n) {
            let (raw, offset, len) = match self.cache.buf_into_raw(buf) {
                Ok(parts) => parts,
                Err(buf) => {
                    // Shared, chained or of another pool: sent from a copy.
                    let total = buf.total_len();
                    self.scratch.clear();
                    let made = self.cache.alloc_filled(1, &mut self.scratch, |room| {
                        let room = room.get_mut(..total)?;
                        buf.copy_to(room);
                        Some(total)
                    });
                    drop(buf);
                    let copy = match (made, self.scratch.pop()) {
                        (1, Some(copy)) => copy,
                        _ => {
                            self.stats.tx_dropped += 1;
                            continue;
                        }
                    };
                    self.counters.tx_copied += 1;
                    match self.cache.buf_into_raw(copy) {
                        Ok(parts) => parts,
                        Err(_) => {
                            self.stats.tx_dropped += 1;
                            continue;
                        }
                    }
                }
            };
            let index = raw.index() as usize;
            let addr = ((index as u64) << self.frame_shift) + offset as u64;
            if !r.push(Desc {
                addr,
                len: len as u32,
                options: 0,
            }) {
                // Cannot happen (`n` fits the reservation); never leak.
                self.raw.push(raw);
                self.cache.free_raw(&mut self.raw);
                self.stats.tx_dropped += 1;
                continue;
            }
            self.held[index] = Some(raw);
            sent += 1;
            bytes += len as u64;
        }
        drop(r);
        let socket = self.socket.as_mut().unwrap_or_else(|| unreachable!());
        // Copy mode transmits only inside a system call; zero-copy drivers
        // say when they need one.
        let kick = !self.zero_copy || !self.need_wakeup || socket.tx.needs_wakeup();
        if kick && socket.kick_tx().is_ok() {
            self.counters.tx_kicks += 1;
        }
        self.stats.tx_packets += sent;
        self.stats.tx_bytes += bytes;
        n
    }

    fn arm_wake(&mut self) -> bool {
        // A sleep may last: give the kernel the whole budget to receive
        // into meanwhile.
        self.refill(self.rx_budget.saturating_sub(self.rx_held));
        // Frames already received: no sleep.
        self.socket().rx.ready(1) > 0
    }

    fn free(&mut self, bufs: &mut Vec<NetBuf>) {
        // The fill ring is topped up from this cache: frames go round it
        // and the ring, not through the whole pool's free ring.
        self.cache.free_all(bufs);
    }

    fn wait_fd(&self) -> Option<RawFd> {
        self.socket.as_ref().map(XskSocket::fd)
    }

    fn stats(&self) -> DeviceStats {
        let mut s = self.stats;
        if let Some(Ok(k)) = self.socket.as_ref().map(XskSocket::statistics) {
            // `rx_dropped` counts the frames lost for want of a fill entry
            // (what `rx_fill_ring_empty_descs` counts too), `rx_ring_full`
            // those lost for want of room in the RX ring.
            s.rx_dropped += k.rx_dropped + k.rx_ring_full;
            s.tx_dropped += k.tx_invalid_descs;
        }
        s
    }
}

impl Drop for AfXdpDevice {
    fn drop(&mut self) {
        // Close the socket first: the kernel lets go of the UMEM's frames.
        self.socket = None;
        let mut raw: Vec<RawFrame> = self.held.iter_mut().filter_map(Option::take).collect();
        self.cache.free_raw(&mut raw);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_mode_polls_with_the_asked_fill_within_a_batch_and_the_budget() {
        assert_eq!(polling_fill(DEFAULT_POLLING_FILL, 4096, false), 640);
        assert_eq!(polling_fill(3000, 4096, false), 3000);
        // Never past the budget, never under a refill batch.
        assert_eq!(polling_fill(640, 256, false), 256);
        assert_eq!(polling_fill(1, 4096, false), FILL_BATCH);
        assert_eq!(polling_fill(0, 32, false), 32);
    }

    #[test]
    fn the_whole_budget_is_kept_while_it_holds_a_millisecond_of_arrivals() {
        // 4096 frames hold a millisecond up to 4.096 Mpps.
        assert!(keeps_whole_budget(0.0, 4096, true));
        assert!(keeps_whole_budget(1e6, 4096, true));
        assert!(keeps_whole_budget(4.0e6, 4096, true));
        assert!(!keeps_whole_budget(4.2e6, 4096, true));
        assert!(!keeps_whole_budget(12e6, 4096, true));
        // Back only at two thirds of that rate.
        assert!(!keeps_whole_budget(3.0e6, 4096, false));
        assert!(keeps_whole_budget(2.7e6, 4096, false));
        // A deeper budget keeps it at higher rates.
        assert!(keeps_whole_budget(12e6, 16384, true));
    }

    #[test]
    fn zero_copy_polls_with_the_whole_budget() {
        assert_eq!(polling_fill(DEFAULT_POLLING_FILL, 4096, true), 4096);
        assert_eq!(polling_fill(64, 1024, true), 1024);
    }
}
