//! An impairment wrapper around any [`Device`], like Linux's `netem` or
//! DPDK's fault injection: seeded loss, duplication, reordering,
//! corruption, delay and a rate cap, for the TCP and reliability work to
//! lean on.
//!
//! Each direction has its own [`Impairments`] (the default, [`Impairments::none`],
//! leaves a direction untouched) and its own seeded generator (a xorshift;
//! no `rand`), so a run with the same seed and the same traffic makes the
//! same decisions. A frame goes through the stages in this order:
//!
//! 1. **loss**: dropped with probability `loss`;
//! 2. **corruption**: with probability `corrupt`, one random bit of one
//!    random byte is flipped (the fragment is made unshared first, copying
//!    it if a clone shares it; if the pool has no frame for the copy the
//!    frame goes on intact and `corrupt_failed` counts it);
//! 3. **duplication**: with probability `duplicate`, a zero-copy clone of
//!    the frame follows it (both go on through the next stages);
//! 4. **reordering**: with probability `reorder`, when no frame is already
//!    held back, the frame is held back and released right after the next
//!    `reorder_gap` frames have passed this stage (one frame at a time, as
//!    `netem`'s `gap`); a held frame waits for followers, however long;
//! 5. **delay**: every frame waits until `now + delay`;
//! 6. **rate cap**: a token bucket of `rate_burst_bytes` filling at
//!    `rate_bps` bits per second; a frame leaves when the bucket is not
//!    empty and takes its size in bits from it (the bucket may go into
//!    debt by one frame), frames behind wait in order (a shaper, not a
//!    policer).
//!
//! **Clock.** The wrapper never reads a clock: the worker tells it the time
//! with [`Impaired::set_now`] (a [`Duration`] since any epoch it likes: the
//! engine's monotonic start, or the capture's timestamps in a replay) before
//! polling, and [`Impaired::poll_at`] says when held frames come due, so an
//! idle worker knows when to poll again (the inner device's wait fd does not
//! wake for them). Transmit-side frames that come due are sent on the next
//! [`tx_burst`](Device::tx_burst), which may be empty.
//!
//! **Bounds.** Each direction holds at most [`ImpairConfig::max_held`]
//! frames across its reorder slot, delay queue and rate queue; a frame that
//! would exceed it is dropped and counted (`overflow`). Frames the inner
//! device refused stay in a ready queue and the wrapper takes no new frames
//! from the caller until they are gone (back-pressure, as the device
//! itself would give). Dropping the wrapper returns every held frame to
//! its pool.

use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::time::Duration;

use strata_pools::{BufError, NetBuf};

use super::{Device, DeviceInfo, DeviceStats};

/// What one direction suffers. Probabilities are in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairments {
    /// Probability a frame is lost.
    pub loss: f64,
    /// Probability a frame is followed by a duplicate.
    pub duplicate: f64,
    /// Probability one bit of a frame is flipped.
    pub corrupt: f64,
    /// Probability a frame is held back behind the next `reorder_gap` frames.
    pub reorder: f64,
    /// How many frames overtake a held-back one (at least 1 if `reorder > 0`).
    pub reorder_gap: usize,
    /// How long every frame waits.
    pub delay: Duration,
    /// The rate cap in bits per second (Ethernet frame bytes × 8, without
    /// preamble, FCS and gap); 0 for none.
    pub rate_bps: u64,
    /// The token bucket's depth in bytes: how far a burst may run ahead of
    /// the rate (at least 1 if `rate_bps > 0`).
    pub rate_burst_bytes: usize,
}

impl Impairments {
    /// Nothing: frames pass untouched.
    pub const fn none() -> Self {
        Impairments {
            loss: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            reorder: 0.0,
            reorder_gap: 1,
            delay: Duration::ZERO,
            rate_bps: 0,
            rate_burst_bytes: 1514,
        }
    }

    /// Whether this leaves frames untouched.
    pub fn is_none(&self) -> bool {
        self.loss == 0.0
            && self.duplicate == 0.0
            && self.corrupt == 0.0
            && self.reorder == 0.0
            && self.delay.is_zero()
            && self.rate_bps == 0
    }

    fn validate(&self) -> Result<(), ImpairError> {
        for (what, value) in [
            ("loss", self.loss),
            ("duplicate", self.duplicate),
            ("corrupt", self.corrupt),
            ("reorder", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ImpairError::Probability { what, value });
            }
        }
        if self.reorder > 0.0 && self.reorder_gap == 0 {
            return Err(ImpairError::ReorderGap);
        }
        if self.rate_bps > 0 && self.rate_burst_bytes == 0 {
            return Err(ImpairError::RateBurst);
        }
        Ok(())
    }

    fn holds(&self) -> bool {
        self.reorder > 0.0 || !self.delay.is_zero() || self.rate_bps > 0
    }
}

impl Default for Impairments {
    fn default() -> Self {
        Self::none()
    }
}

/// Settings of an [`Impaired`] device.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImpairConfig {
    /// Seed of the generators (the two directions derive their own).
    pub seed: u64,
    /// What frames handed to [`tx_burst`](Device::tx_burst) suffer.
    pub tx: Impairments,
    /// What frames received from the inner device suffer.
    pub rx: Impairments,
    /// Frames each direction may hold (reorder slot, delay and rate queues).
    pub max_held: usize,
}

impl Default for ImpairConfig {
    fn default() -> Self {
        ImpairConfig {
            seed: 0x5eed,
            tx: Impairments::none(),
            rx: Impairments::none(),
            max_held: 1024,
        }
    }
}

/// An [`ImpairConfig`] that makes no sense.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum ImpairError {
    /// A probability outside `[0, 1]` (or NaN).
    #[error("impairment: {what} probability {value} is not in [0, 1]")]
    Probability {
        /// Which one.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// Reordering with a gap of 0.
    #[error("impairment: reordering needs a gap of at least 1 frame")]
    ReorderGap,
    /// A rate cap with an empty bucket.
    #[error("impairment: a rate cap needs a bucket of at least 1 byte")]
    RateBurst,
    /// Delay, reordering or a rate cap with `max_held` 0.
    #[error("impairment: delay, reordering and rate caps need max_held > 0")]
    NoRoom,
}

/// Counters of one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImpairCounters {
    /// Frames that entered.
    pub frames_in: u64,
    /// Frames that left (to the inner device, or to the caller).
    pub frames_out: u64,
    /// Frames lost on purpose.
    pub lost: u64,
    /// Duplicates made.
    pub duplicated: u64,
    /// Frames with one bit flipped.
    pub corrupted: u64,
    /// Frames to corrupt that could not be (no pool frame for the copy).
    pub corrupt_failed: u64,
    /// Frames held back for reordering.
    pub reordered: u64,
    /// Frames that waited in the delay queue.
    pub delayed: u64,
    /// Frames that waited for the rate cap.
    pub rate_limited: u64,
    /// Frames dropped because `max_held` frames were already held.
    pub overflow: u64,
}

/// Counters of both directions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImpairStats {
    /// The transmit side.
    pub tx: ImpairCounters,
    /// The receive side.
    pub rx: ImpairCounters,
}

/// xorshift64* (Vigna): small, fast, good enough to decide which frame to
/// drop; not for anything secret.
#[derive(Debug, Clone)]
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        // Zero is the one state xorshift never leaves.
        XorShift(if seed == 0 {
            0x9e37_79b9_7f4a_7c15
        } else {
            seed
        })
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `p`; draws nothing when `p` is 0 or 1.
    fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        // 53 random bits as a float in [0, 1).
        ((self.next() >> 11) as f64) * (1.0 / (1u64 << 53) as f64) < p
    }

    /// A number below `n` (> 0); the modulo bias is negligible here.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const NANOS: i128 = 1_000_000_000;

/// One direction's pipeline.
#[derive(Debug)]
struct Lane {
    cfg: Impairments,
    rng: XorShift,
    max_held: usize,
    reorder_slot: Option<(NetBuf, usize)>,
    delay_q: VecDeque<(Duration, NetBuf)>,
    rate_q: VecDeque<NetBuf>,
    /// Bucket content in bit-nanoseconds (bits × 10⁹), so refills are exact.
    tokens: i128,
    refilled_at: Duration,
    /// Frames out of the pipeline, not yet taken by the next hop.
    ready: VecDeque<NetBuf>,
    counters: ImpairCounters,
}

impl Lane {
    fn new(cfg: Impairments, seed: u64, max_held: usize) -> Self {
        Lane {
            cfg,
            rng: XorShift::new(seed),
            max_held,
            reorder_slot: None,
            delay_q: VecDeque::new(),
            rate_q: VecDeque::new(),
            tokens: Self::bucket(&cfg),
            refilled_at: Duration::ZERO,
            ready: VecDeque::new(),
            counters: ImpairCounters::default(),
        }
    }

    fn bucket(cfg: &Impairments) -> i128 {
        cfg.rate_burst_bytes as i128 * 8 * NANOS
    }

    fn held(&self) -> usize {
        usize::from(self.reorder_slot.is_some()) + self.delay_q.len() + self.rate_q.len()
    }

    /// Room for one more held frame; counts the overflow if none.
    fn room(&mut self) -> bool {
        if self.held() >= self.max_held {
            self.counters.overflow += 1;
            return false;
        }
        true
    }

    /// One frame enters the pipeline.
    fn push(&mut self, mut frame: NetBuf, now: Duration) {
        self.counters.frames_in += 1;
        if self.rng.chance(self.cfg.loss) {
            self.counters.lost += 1;
            return;
        }
        if self.rng.chance(self.cfg.corrupt) {
            let len = frame.total_len();
            if len > 0 {
                let (byte, bit) = (self.rng.below(len), self.rng.below(8) as u8);
                match flip_bit(&mut frame, byte, bit) {
                    Ok(()) => self.counters.corrupted += 1,
                    Err(_) => self.counters.corrupt_failed += 1,
                }
            }
        }
        let dup = if self.rng.chance(self.cfg.duplicate) {
            self.counters.duplicated += 1;
            Some(frame.clone())
        } else {
            None
        };
        self.reorder_stage(frame, now);
        if let Some(dup) = dup {
            self.reorder_stage(dup, now);
        }
    }

    fn reorder_stage(&mut self, frame: NetBuf, now: Duration) {
        if self.reorder_slot.is_none() && self.rng.chance(self.cfg.reorder) {
            if self.room() {
                self.counters.reordered += 1;
                self.reorder_slot = Some((frame, self.cfg.reorder_gap));
            }
            return;
        }
        self.delay_stage(frame, now);
        if let Some((_, left)) = self.reorder_slot.as_mut() {
            *left -= 1;
            if *left == 0 {
                if let Some((held, _)) = self.reorder_slot.take() {
                    self.delay_stage(held, now);
                }
            }
        }
    }

    fn delay_stage(&mut self, frame: NetBuf, now: Duration) {
        if self.cfg.delay.is_zero() {
            return self.rate_stage(frame, now);
        }
        if self.room() {
            self.counters.delayed += 1;
            self.delay_q.push_back((now + self.cfg.delay, frame));
        }
    }

    fn rate_stage(&mut self, frame: NetBuf, now: Duration) {
        if self.cfg.rate_bps == 0 {
            self.ready.push_back(frame);
            return;
        }
        self.refill(now);
        if self.rate_q.is_empty() && self.tokens > 0 {
            self.tokens -= frame.total_len() as i128 * 8 * NANOS;
            self.ready.push_back(frame);
        } else if self.room() {
            self.counters.rate_limited += 1;
            self.rate_q.push_back(frame);
        }
    }

    fn refill(&mut self, now: Duration) {
        // Time never runs backwards here: an earlier `now` adds nothing.
        if now > self.refilled_at {
            let ns = (now - self.refilled_at).as_nanos() as i128;
            let add = ns.saturating_mul(i128::from(self.cfg.rate_bps));
            self.tokens = self.tokens.saturating_add(add).min(Self::bucket(&self.cfg));
            self.refilled_at = now;
        }
    }

    /// Moves frames that came due by `now` on to `ready`.
    fn service(&mut self, now: Duration) {
        while self.delay_q.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, frame)) = self.delay_q.pop_front() {
                self.rate_stage(frame, now);
            }
        }
        if self.rate_q.is_empty() {
            return;
        }
        self.refill(now);
        while self.tokens > 0 {
            let Some(frame) = self.rate_q.pop_front() else {
                break;
            };
            self.tokens -= frame.total_len() as i128 * 8 * NANOS;
            self.ready.push_back(frame);
        }
    }

    /// When held frames next come due (the reorder slot waits for frames,
    /// not time).
    fn poll_at(&self) -> Option<Duration> {
        let delay = self.delay_q.front().map(|(due, _)| *due);
        let rate = (!self.rate_q.is_empty() && self.cfg.rate_bps > 0).then(|| {
            if self.tokens > 0 {
                return self.refilled_at;
            }
            // Nanoseconds until the bucket holds more than nothing.
            let need = (1 - self.tokens) as u128;
            let rate = u128::from(self.cfg.rate_bps);
            let ns = need.div_ceil(rate).min(u128::from(u64::MAX)) as u64;
            self.refilled_at.saturating_add(Duration::from_nanos(ns))
        });
        match (delay, rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Flips bit `bit` of byte `idx` of the chain, making that fragment
/// unshared first.
fn flip_bit(buf: &mut NetBuf, mut idx: usize, bit: u8) -> Result<(), BufError> {
    let mut cur = buf;
    loop {
        if idx < cur.len() {
            cur.make_unique()?;
            cur.data_mut()?[idx] ^= 1 << bit;
            return Ok(());
        }
        idx -= cur.len();
        cur = match cur.next_mut() {
            Some(next) => next,
            None => {
                return Err(BufError::TooShort {
                    wanted: idx + 1,
                    available: 0,
                })
            }
        };
    }
}

/// A device whose frames suffer [`Impairments`]. See the module
/// documentation.
#[derive(Debug)]
pub struct Impaired<D: Device> {
    inner: D,
    now: Duration,
    tx: Lane,
    rx: Lane,
    scratch: Vec<NetBuf>,
}

impl<D: Device> Impaired<D> {
    /// Wraps `inner`.
    ///
    /// # Errors
    ///
    /// [`ImpairError`] for a probability out of range, a zero reorder gap
    /// or bucket, or nothing to hold frames in.
    pub fn new(inner: D, config: &ImpairConfig) -> Result<Self, ImpairError> {
        config.tx.validate()?;
        config.rx.validate()?;
        if config.max_held == 0 && (config.tx.holds() || config.rx.holds()) {
            return Err(ImpairError::NoRoom);
        }
        Ok(Impaired {
            inner,
            now: Duration::ZERO,
            tx: Lane::new(config.tx, config.seed, config.max_held),
            // A different stream for the other direction.
            rx: Lane::new(
                config.rx,
                config.seed ^ 0xa076_1d64_78bd_642f,
                config.max_held,
            ),
            scratch: Vec::new(),
        })
    }

    /// Tells the wrapper the time (a `Duration` since the worker's epoch).
    /// Earlier times than the last are taken as the last.
    pub fn set_now(&mut self, now: Duration) {
        self.now = self.now.max(now);
    }

    /// The time last set.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// When held frames next come due, if any wait for time (frames in
    /// the reorder slot wait for followers instead). Frames already due on
    /// the transmit side are sent by the next `tx_burst`.
    pub fn poll_at(&self) -> Option<Duration> {
        match (self.tx.poll_at(), self.rx.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Frames held (transmit, receive), including those ready but not yet
    /// taken by the inner device or the caller.
    pub fn held(&self) -> (usize, usize) {
        (
            self.tx.held() + self.tx.ready.len(),
            self.rx.held() + self.rx.ready.len(),
        )
    }

    /// The impairment counters.
    pub fn impair_stats(&self) -> ImpairStats {
        ImpairStats {
            tx: self.tx.counters,
            rx: self.rx.counters,
        }
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// The wrapped device, mutably.
    pub fn inner_mut(&mut self) -> &mut D {
        &mut self.inner
    }

    /// Unwraps the device; held frames go back to their pools.
    pub fn into_inner(self) -> D {
        self.inner
    }

    /// Hands the transmit side's ready frames to the inner device.
    fn flush_tx(&mut self) {
        if self.tx.ready.is_empty() {
            return;
        }
        self.scratch.clear();
        self.scratch.extend(self.tx.ready.drain(..));
        let sent = self.inner.tx_burst(&mut self.scratch);
        self.tx.counters.frames_out += sent as u64;
        self.tx.ready.extend(self.scratch.drain(..));
    }
}

impl<D: Device> Device for Impaired<D> {
    fn info(&self) -> &DeviceInfo {
        self.inner.info()
    }

    fn link_up(&self) -> bool {
        self.inner.link_up()
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        if self.rx.cfg.is_none() && self.rx.ready.is_empty() && self.rx.held() == 0 {
            let n = self.inner.rx_burst(out, max);
            self.rx.counters.frames_in += n as u64;
            self.rx.counters.frames_out += n as u64;
            return n;
        }
        let now = self.now;
        self.rx.service(now);
        let room = max.saturating_sub(self.rx.ready.len());
        if room > 0 {
            self.scratch.clear();
            self.inner.rx_burst(&mut self.scratch, room);
            for frame in self.scratch.drain(..) {
                self.rx.push(frame, now);
            }
        }
        let n = max.min(self.rx.ready.len());
        out.extend(self.rx.ready.drain(..n));
        self.rx.counters.frames_out += n as u64;
        n
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        if self.tx.cfg.is_none() && self.tx.ready.is_empty() && self.tx.held() == 0 {
            let n = self.inner.tx_burst(bufs);
            self.tx.counters.frames_in += n as u64;
            self.tx.counters.frames_out += n as u64;
            return n;
        }
        let now = self.now;
        self.tx.service(now);
        self.flush_tx();
        if !self.tx.ready.is_empty() {
            // The inner device is full: take nothing new.
            return 0;
        }
        let n = bufs.len();
        for frame in bufs.drain(..) {
            self.tx.push(frame, now);
        }
        self.flush_tx();
        n
    }

    fn wait_fd(&self) -> Option<RawFd> {
        self.inner.wait_fd()
    }

    fn wait_fds(&self) -> Vec<RawFd> {
        self.inner.wait_fds()
    }

    fn arm_wake(&mut self) -> bool {
        self.inner.arm_wake()
    }

    fn disarm_wake(&mut self) {
        self.inner.disarm_wake()
    }

    /// The inner device's counters, with the frames the wrapper dropped
    /// (lost on purpose, or over `max_held`) added to `tx_dropped` and
    /// `rx_dropped`. (`rx_packets` counts what the inner device received,
    /// before the receive impairments.)
    fn stats(&self) -> DeviceStats {
        let mut s = self.inner.stats();
        s.tx_dropped += self.tx.counters.lost + self.tx.counters.overflow;
        s.rx_dropped += self.rx.counters.lost + self.rx.counters.overflow;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::{NullConfig, NullDevice};
    use strata_l2::EthernetAddress;
    use strata_l3l4::ChecksumCaps;
    use strata_pools::{Pool, PoolConfig};

    /// A device that keeps what it is sent (up to `accept` per burst) and
    /// receives what a test put in `rx`.
    #[derive(Debug)]
    struct Capture {
        info: DeviceInfo,
        got: Vec<NetBuf>,
        rx: VecDeque<NetBuf>,
        accept: usize,
    }

    impl Capture {
        fn new() -> Self {
            Capture {
                info: DeviceInfo {
                    name: "cap".into(),
                    kind: "test",
                    mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
                    mtu: 1500,
                    queue: 0,
                    queues: 1,
                    caps: ChecksumCaps::software(),
                },
                got: Vec::new(),
                rx: VecDeque::new(),
                accept: usize::MAX,
            }
        }
    }

    impl Device for Capture {
        fn info(&self) -> &DeviceInfo {
            &self.info
        }
        fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
            let n = max.min(self.rx.len());
            out.extend(self.rx.drain(..n));
            n
        }
        fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
            let n = self.accept.min(bufs.len());
            self.got.extend(bufs.drain(..n));
            n
        }
        fn stats(&self) -> DeviceStats {
            DeviceStats::default()
        }
    }

    fn pool(frames: usize) -> Pool {
        Pool::new(PoolConfig {
            frames,
            cache_size: 0,
            ..PoolConfig::named("impair-test")
        })
        .unwrap()
    }

    /// A frame whose first two bytes number it.
    fn frame(pool: &Pool, i: u16, len: usize) -> NetBuf {
        let mut b = pool.alloc().unwrap();
        let bytes = b.extend(len).unwrap();
        bytes.fill(0x5a);
        bytes[..2].copy_from_slice(&i.to_be_bytes());
        b
    }

    fn number(b: &NetBuf) -> u16 {
        u16::from_be_bytes([b.data()[0], b.data()[1]])
    }

    fn tx_config(tx: Impairments) -> ImpairConfig {
        ImpairConfig {
            seed: 42,
            tx,
            ..ImpairConfig::default()
        }
    }

    #[test]
    fn half_loss_over_ten_thousand_frames() {
        let pool = pool(64);
        let cfg = tx_config(Impairments {
            loss: 0.5,
            ..Impairments::none()
        });
        let mut dev = Impaired::new(NullDevice::sink(&NullConfig::default()), &cfg).unwrap();
        for i in 0..10_000u16 {
            let mut bufs = vec![frame(&pool, i, 60)];
            assert_eq!(dev.tx_burst(&mut bufs), 1);
        }
        let st = dev.impair_stats().tx;
        let sent = dev.inner().stats().tx_packets;
        // 10k Bernoulli(0.5): sigma = 50; allow 4 sigma.
        assert!((4800..=5200).contains(&sent), "{sent} sent");
        assert_eq!(st.lost + sent, 10_000);
        assert_eq!(st.frames_out, sent);
        assert_eq!(dev.stats().tx_dropped, st.lost);
        drop(dev);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn the_same_seed_makes_the_same_decisions() {
        let pool = pool(512);
        let cfg = tx_config(Impairments {
            loss: 0.3,
            ..Impairments::none()
        });
        let run = || {
            let mut dev = Impaired::new(Capture::new(), &cfg).unwrap();
            for i in 0..200 {
                dev.tx_burst(&mut vec![frame(&pool, i, 60)]);
            }
            dev.inner().got.iter().map(number).collect::<Vec<_>>()
        };
        assert_eq!(run(), run());
    }

    #[test]
    fn duplication_sends_zero_copy_clones() {
        let pool = pool(64);
        let mut dev = Impaired::new(
            Capture::new(),
            &tx_config(Impairments {
                duplicate: 1.0,
                ..Impairments::none()
            }),
        )
        .unwrap();
        let mut bufs = vec![frame(&pool, 1, 60), frame(&pool, 2, 60)];
        assert_eq!(dev.tx_burst(&mut bufs), 2);
        let got = &dev.inner().got;
        assert_eq!(got.iter().map(number).collect::<Vec<_>>(), [1, 1, 2, 2]);
        // Zero-copy: the duplicate shares the original's frame.
        assert_eq!(got[0].frame_index(), got[1].frame_index());
        assert_eq!(pool.stats().free, pool.capacity() - 2);
        assert_eq!(dev.impair_stats().tx.duplicated, 2);
        drop(dev);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn half_duplication_over_ten_thousand_frames() {
        let pool = pool(64);
        let cfg = tx_config(Impairments {
            duplicate: 0.5,
            ..Impairments::none()
        });
        let mut dev = Impaired::new(NullDevice::sink(&NullConfig::default()), &cfg).unwrap();
        for i in 0..10_000u16 {
            dev.tx_burst(&mut vec![frame(&pool, i, 60)]);
        }
        let sent = dev.inner().stats().tx_packets;
        assert!((14_800..=15_200).contains(&sent), "{sent}");
        assert_eq!(dev.impair_stats().tx.duplicated, sent - 10_000);
    }

    #[test]
    fn reordering_releases_a_held_frame_after_the_gap() {
        let pool = pool(64);
        let mut dev = Impaired::new(
            Capture::new(),
            &tx_config(Impairments {
                reorder: 1.0,
                reorder_gap: 2,
                ..Impairments::none()
            }),
        )
        .unwrap();
        let mut bufs: Vec<NetBuf> = (0..8).map(|i| frame(&pool, i, 60)).collect();
        assert_eq!(dev.tx_burst(&mut bufs), 8);
        // 0 held, 1 and 2 pass, then 0; 3 held; 4, 5, 3; 6 held; 7 passes.
        let order: Vec<u16> = dev.inner().got.iter().map(number).collect();
        assert_eq!(order, [1, 2, 0, 4, 5, 3, 7]);
        assert_eq!(dev.held(), (1, 0));
        assert_eq!(dev.impair_stats().tx.reordered, 3);
        drop(dev);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn random_reordering_keeps_every_frame() {
        let pool = pool(256);
        let mut dev = Impaired::new(
            Capture::new(),
            &tx_config(Impairments {
                reorder: 0.25,
                reorder_gap: 3,
                ..Impairments::none()
            }),
        )
        .unwrap();
        let mut bufs: Vec<NetBuf> = (0..200).map(|i| frame(&pool, i, 60)).collect();
        dev.tx_burst(&mut bufs);
        let order: Vec<u16> = dev.inner().got.iter().map(number).collect();
        let held = dev.held().0;
        assert_eq!(order.len() + held, 200);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), order.len(), "no duplicates");
        // Each reordered frame comes out exactly 3 places later than its
        // turn: it is overtaken by exactly 3 frames numbered after it.
        let reordered = dev.impair_stats().tx.reordered as usize;
        assert!(reordered > 20, "{reordered}");
        let late = order
            .iter()
            .enumerate()
            .filter(|&(pos, &x)| order[..pos].iter().any(|&y| y > x))
            .count();
        assert_eq!(late + held, reordered);
        for (pos, &x) in order.iter().enumerate() {
            let overtaken_by = order[..pos].iter().filter(|&&y| y > x).count();
            assert!(
                overtaken_by == 0 || overtaken_by == 3,
                "{x}: {overtaken_by}"
            );
        }
    }

    #[test]
    fn corruption_flips_exactly_one_bit_and_copies_shared_frames() {
        let pool = pool(64);
        let mut dev = Impaired::new(
            Capture::new(),
            &tx_config(Impairments {
                corrupt: 1.0,
                ..Impairments::none()
            }),
        )
        .unwrap();
        for i in 0..20 {
            let original = frame(&pool, i, 100);
            let keep = original.clone();
            dev.tx_burst(&mut vec![original]);
            let sent = dev.inner().got.last().unwrap();
            // The clone we kept is untouched: the frame was copied first.
            assert_eq!(number(&keep), i);
            assert_ne!(sent.frame_index(), keep.frame_index());
            let flipped: u32 = sent
                .data()
                .iter()
                .zip(keep.data())
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert_eq!(flipped, 1);
        }
        assert_eq!(dev.impair_stats().tx.corrupted, 20);
        drop(dev);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn corruption_reaches_later_fragments_of_a_chain() {
        let pool = pool(64);
        let mut dev = Impaired::new(
            Capture::new(),
            &tx_config(Impairments {
                corrupt: 1.0,
                ..Impairments::none()
            }),
        )
        .unwrap();
        let mut in_tail = 0;
        let mut tail_bytes = vec![0x5a; 400];
        tail_bytes[..2].fill(0);
        for i in 0..50 {
            let mut head = frame(&pool, i, 4);
            head.append(frame(&pool, 0, 400));
            dev.tx_burst(&mut vec![head]);
            let sent = dev.inner_mut().got.pop().unwrap();
            let mut expected = vec![0x5a; 4];
            expected[..2].copy_from_slice(&i.to_be_bytes());
            expected.extend_from_slice(&tail_bytes);
            let ones: u32 = sent
                .slices()
                .flatten()
                .zip(&expected)
                .map(|(a, b)| (a ^ b).count_ones())
                .sum();
            assert_eq!(ones, 1);
            if sent.next().unwrap().data() != &tail_bytes[..] {
                in_tail += 1;
            }
        }
        assert!(in_tail > 30, "{in_tail}");
    }

    #[test]
    fn corruption_without_a_spare_frame_is_counted() {
        let pool = pool(1);
        let mut dev = Impaired::new(
            Capture::new(),
            &tx_config(Impairments {
                corrupt: 1.0,
                ..Impairments::none()
            }),
        )
        .unwrap();
        let original = frame(&pool, 7, 60);
        let keep = original.clone();
        dev.tx_burst(&mut vec![original]);
        assert_eq!(dev.impair_stats().tx.corrupt_failed, 1);
        assert_eq!(dev.inner().got[0].data(), keep.data());
    }

    #[test]
    fn delay_releases_at_the_right_time() {
        let pool = pool(64);
        let mut dev = Impaired::new(
            Capture::new(),
            &tx_config(Impairments {
                delay: Duration::from_millis(10),
                ..Impairments::none()
            }),
        )
        .unwrap();
        dev.set_now(Duration::from_secs(100));
        let mut bufs: Vec<NetBuf> = (0..5).map(|i| frame(&pool, i, 60)).collect();
        assert_eq!(dev.tx_burst(&mut bufs), 5);
        assert!(dev.inner().got.is_empty());
        dev.set_now(Duration::from_millis(100_005));
        dev.tx_burst(&mut vec![frame(&pool, 5, 60)]);
        assert_eq!(
            dev.poll_at(),
            Some(Duration::from_millis(100_010)),
            "the first batch is due first"
        );
        dev.set_now(Duration::from_millis(100_010) - Duration::from_nanos(1));
        dev.tx_burst(&mut Vec::new());
        assert!(dev.inner().got.is_empty());
        dev.set_now(Duration::from_millis(100_010));
        dev.tx_burst(&mut Vec::new());
        assert_eq!(
            dev.inner().got.iter().map(number).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        assert_eq!(dev.poll_at(), Some(Duration::from_millis(100_015)));
        dev.set_now(Duration::from_millis(100_015));
        dev.tx_burst(&mut Vec::new());
        assert_eq!(dev.inner().got.len(), 6);
        assert_eq!(dev.poll_at(), None);
        assert_eq!(dev.impair_stats().tx.delayed, 6);
    }

    #[test]
    fn receive_side_delay_leaves_the_transmit_side_alone() {
        let pool = pool(64);
        let mut inner = Capture::new();
        for i in 0..10 {
            inner.rx.push_back(frame(&pool, i, 60));
        }
        let mut dev = Impaired::new(
            inner,
            &ImpairConfig {
                rx: Impairments {
                    delay: Duration::from_millis(1),
                    ..Impairments::none()
                },
                ..ImpairConfig::default()
            },
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(dev.rx_burst(&mut out, 4), 0);
        assert_eq!(dev.held(), (0, 4));
        dev.set_now(Duration::from_millis(1));
        assert_eq!(dev.rx_burst(&mut out, 32), 4);
        assert_eq!(out.iter().map(number).collect::<Vec<_>>(), [0, 1, 2, 3]);
        // The transmit side is untouched.
        let mut bufs = vec![frame(&pool, 99, 60)];
        assert_eq!(dev.tx_burst(&mut bufs), 1);
        assert_eq!(dev.inner().got.len(), 1);
        drop((dev, out));
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn the_rate_cap_holds_the_rate() {
        let pool = pool(2048);
        // 8 Mbit/s = 1 MB/s; 1000-byte frames offered at 5 MB/s for 1 s.
        let mut dev = Impaired::new(
            NullDevice::sink(&NullConfig::default()),
            &ImpairConfig {
                max_held: 64,
                ..tx_config(Impairments {
                    rate_bps: 8_000_000,
                    rate_burst_bytes: 3000,
                    ..Impairments::none()
                })
            },
        )
        .unwrap();
        for ms in 0..=1000u64 {
            dev.set_now(Duration::from_millis(ms));
            let mut bufs: Vec<NetBuf> = (0..5).map(|i| frame(&pool, i, 1000)).collect();
            assert_eq!(dev.tx_burst(&mut bufs), 5);
            assert!(dev.held().0 <= 64);
        }
        let bytes = dev.inner().stats().tx_bytes;
        // 1 s at 1 MB/s, plus the bucket, plus one frame of debt.
        assert!(
            (1_000_000..=1_000_000 + 3000 + 1000).contains(&bytes),
            "{bytes}"
        );
        let st = dev.impair_stats().tx;
        assert!(st.overflow > 3000, "{st:?}");
        assert_eq!(
            st.frames_in,
            st.frames_out + st.overflow + dev.held().0 as u64
        );
        assert_eq!(dev.stats().tx_dropped, st.overflow);
        // The next frame is due when the bucket has refilled past zero.
        let at = dev.poll_at().unwrap();
        assert!(at > Duration::from_millis(1000) && at <= Duration::from_millis(1001));
        drop(dev);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn held_frames_are_bounded_and_returned_on_drop() {
        let pool = pool(64);
        let mut dev = Impaired::new(
            Capture::new(),
            &ImpairConfig {
                max_held: 8,
                ..tx_config(Impairments {
                    delay: Duration::from_secs(1),
                    duplicate: 0.5,
                    reorder: 0.5,
                    reorder_gap: 1,
                    ..Impairments::none()
                })
            },
        )
        .unwrap();
        let mut bufs: Vec<NetBuf> = (0..32).map(|i| frame(&pool, i, 60)).collect();
        assert_eq!(dev.tx_burst(&mut bufs), 32);
        assert_eq!(dev.held().0, 8);
        assert!(dev.impair_stats().tx.overflow > 0);
        assert!(pool.stats().free < pool.capacity());
        drop(dev);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn a_full_inner_device_pushes_back() {
        let pool = pool(64);
        let mut inner = Capture::new();
        inner.accept = 2;
        let mut dev = Impaired::new(
            inner,
            &tx_config(Impairments {
                duplicate: 1.0,
                ..Impairments::none()
            }),
        )
        .unwrap();
        let mut bufs: Vec<NetBuf> = (0..3).map(|i| frame(&pool, i, 60)).collect();
        assert_eq!(dev.tx_burst(&mut bufs), 3);
        assert_eq!(dev.held().0, 4, "six made, two taken");
        let mut more = vec![frame(&pool, 3, 60)];
        assert_eq!(dev.tx_burst(&mut more), 0, "still two left: nothing new");
        assert_eq!(more.len(), 1);
        assert_eq!(dev.tx_burst(&mut more), 1);
        assert_eq!(
            dev.inner().got.iter().map(number).collect::<Vec<_>>(),
            [0, 0, 1, 1, 2, 2, 3, 3]
        );
        assert_eq!(dev.held().0, 0);
    }

    fn arb_impairments() -> impl proptest::strategy::Strategy<Value = Impairments> {
        use proptest::prelude::*;
        (
            (0.0..=1.0f64, 0.0..=1.0f64, 0.0..=1.0f64, 0.0..=1.0f64),
            1usize..5,
            0u64..5_000_000,
            prop_oneof![Just(0u64), 1_000_000u64..100_000_000],
            1usize..5000,
        )
            .prop_map(
                |((loss, duplicate, corrupt, reorder), reorder_gap, delay_ns, rate_bps, burst)| {
                    Impairments {
                        loss,
                        duplicate,
                        corrupt,
                        reorder,
                        reorder_gap,
                        delay: Duration::from_nanos(delay_ns),
                        rate_bps,
                        rate_burst_bytes: burst,
                    }
                },
            )
    }

    fn check_counters(c: &ImpairCounters, held: usize) {
        assert_eq!(
            c.frames_in + c.duplicated,
            c.lost + c.overflow + c.frames_out + held as u64,
            "{c:?} held {held}"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// Any impairments and any traffic: held frames stay within
        /// bounds, every frame is accounted for, and all go home.
        #[test]
        fn frames_are_bounded_and_accounted_for(
            tx in arb_impairments(),
            rx in arb_impairments(),
            seed in proptest::num::u64::ANY,
            ops in proptest::collection::vec((0u8..4, 0usize..40, 0u64..3_000_000), 1..60),
        ) {
            let pool = pool(1024);
            let max_held = 16;
            let mut dev = Impaired::new(
                Capture::new(),
                &ImpairConfig { seed, tx, rx, max_held },
            )
            .unwrap();
            let mut now = Duration::ZERO;
            let mut out = Vec::new();
            let mut seq = 0u16;
            for (op, n, dt) in ops {
                match op {
                    0 => {
                        let mut bufs: Vec<NetBuf> =
                            (0..n).map(|_| { seq = seq.wrapping_add(1); frame(&pool, seq, 60 + n) }).collect();
                        dev.tx_burst(&mut bufs);
                    }
                    1 => {
                        for _ in 0..n {
                            seq = seq.wrapping_add(1);
                            let f = frame(&pool, seq, 100);
                            dev.inner_mut().rx.push_back(f);
                        }
                        dev.rx_burst(&mut out, n);
                        out.clear();
                    }
                    2 => {
                        now += Duration::from_nanos(dt);
                        dev.set_now(now);
                        dev.tx_burst(&mut Vec::new());
                    }
                    _ => {
                        dev.inner_mut().accept = n % 3;
                        dev.inner_mut().got.clear();
                    }
                }
                let (ht, hr) = dev.held();
                proptest::prop_assert!(dev.tx.held() <= max_held && dev.rx.held() <= max_held);
                check_counters(&dev.impair_stats().tx, ht);
                check_counters(&dev.impair_stats().rx, hr);
                if dev.poll_at().is_some() {
                    proptest::prop_assert!(ht + hr > 0);
                }
                if dev.inner().got.len() > 256 {
                    dev.inner_mut().got.clear();
                }
            }
            drop(dev);
            proptest::prop_assert_eq!(pool.stats().free, pool.capacity());
        }
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        let bad = |tx: Impairments, max_held| {
            Impaired::new(
                Capture::new(),
                &ImpairConfig {
                    max_held,
                    ..tx_config(tx)
                },
            )
            .unwrap_err()
        };
        assert_eq!(
            bad(
                Impairments {
                    loss: 1.5,
                    ..Impairments::none()
                },
                8
            ),
            ImpairError::Probability {
                what: "loss",
                value: 1.5
            }
        );
        assert!(matches!(
            bad(
                Impairments {
                    corrupt: f64::NAN,
                    ..Impairments::none()
                },
                8
            ),
            ImpairError::Probability {
                what: "corrupt",
                ..
            }
        ));
        assert_eq!(
            bad(
                Impairments {
                    reorder: 0.1,
                    reorder_gap: 0,
                    ..Impairments::none()
                },
                8
            ),
            ImpairError::ReorderGap
        );
        assert_eq!(
            bad(
                Impairments {
                    rate_bps: 1000,
                    rate_burst_bytes: 0,
                    ..Impairments::none()
                },
                8
            ),
            ImpairError::RateBurst
        );
        assert_eq!(
            bad(
                Impairments {
                    delay: Duration::from_millis(1),
                    ..Impairments::none()
                },
                0
            ),
            ImpairError::NoRoom
        );
    }
}
