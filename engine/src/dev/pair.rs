//! An in-memory pair of devices joined back to back, like DPDK's `net_ring`:
//! what one transmits the other receives, through one SPSC ring per
//! direction. No copy: the `NetBuf` itself moves across. The two ends may be
//! polled from two threads.
//!
//! Each direction has a doorbell, so an idle worker sleeps on a pair as on
//! a real device: the end's [`Device::wait_fd`] is one side of a Unix
//! datagram socket pair. Before sleeping the worker arms it
//! ([`Device::arm_wake`]); the other end, having pushed frames, rings it
//! (one byte) only while it is armed, so a busy pair makes no system call.
//! The arming and the ringing are [`strata_queues::WakeFlag`]'s handshake
//! (model-checked with loom), so frames never wait for a sleeper that did
//! not hear them.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::sync::Arc;

use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::NetBuf;
use strata_queues::spsc::{self, Consumer, Producer};
use strata_queues::{CapacityError, WakeFlag};
use thiserror::Error;

use super::{Device, DeviceInfo, DeviceStats};

/// Settings of a [`pair`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairConfig {
    /// Base name: the ends are `<name>.a` and `<name>.b`.
    pub name: String,
    /// MAC addresses of the two ends.
    pub macs: (EthernetAddress, EthernetAddress),
    /// MTU of both ends.
    pub mtu: usize,
    /// Frames each direction holds (a power of two).
    pub ring_size: usize,
    /// What the ends claim to verify and fill in. The frames never touch a
    /// wire, so offloading every checksum is honest (as `net_ring` does);
    /// [`ChecksumCaps::software`] makes the stack do the work.
    pub caps: ChecksumCaps,
}

impl Default for PairConfig {
    fn default() -> Self {
        PairConfig {
            name: "pair0".to_owned(),
            macs: (
                EthernetAddress([0x02, 0, 0, 0, 0, 0x0a]),
                EthernetAddress([0x02, 0, 0, 0, 0, 0x0b]),
            ),
            mtu: 1500,
            ring_size: 1024,
            caps: ChecksumCaps::software(),
        }
    }
}

/// Why a [`pair`] could not be made.
#[derive(Debug, Error)]
pub enum PairError {
    /// The ring size is not a power of two in range.
    #[error("pair ring: {0}")]
    Capacity(#[from] CapacityError),
    /// The doorbells' sockets could not be made.
    #[error("pair doorbell: {0}")]
    Io(#[from] std::io::Error),
}

/// One end of a [`pair`].
#[derive(Debug)]
pub struct PairDevice {
    info: DeviceInfo,
    tx: Producer<NetBuf>,
    rx: Consumer<NetBuf>,
    /// Rung by this end after sending, when the other end sleeps.
    tx_bell: Arc<Doorbell>,
    /// This end's: armed before its worker sleeps on `wait`.
    rx_bell: Arc<Doorbell>,
    stats: DeviceStats,
}

/// One direction's wake-up: see the module documentation.
#[derive(Debug)]
struct Doorbell {
    /// The receiving end sleeps, or is about to.
    flag: WakeFlag,
    /// Written by the sending end (non-blocking).
    ring: UnixDatagram,
    /// The receiving end's wait fd (non-blocking).
    wait: UnixDatagram,
}

impl Doorbell {
    fn new() -> std::io::Result<Arc<Doorbell>> {
        let (ring, wait) = UnixDatagram::pair()?;
        ring.set_nonblocking(true)?;
        wait.set_nonblocking(true)?;
        Ok(Arc::new(Doorbell {
            flag: WakeFlag::new(),
            ring,
            wait,
        }))
    }
}

/// Makes two devices joined back to back.
///
/// # Errors
///
/// [`PairError::Capacity`] if `config.ring_size` is not a power of two in
/// range; [`PairError::Io`] if the doorbells' sockets cannot be made (out of
/// file descriptors).
///
/// # Examples
///
/// ```
/// use strata_engine::dev::{pair, Device, PairConfig};
/// use strata_engine::pools::{Pool, PoolConfig};
///
/// let pool = Pool::new(PoolConfig::named("doc"))?;
/// let (mut a, mut b) = pair(&PairConfig::default())?;
/// let mut out = vec![pool.alloc()?];
/// out[0].put(b"hello")?;
/// assert_eq!(a.tx_burst(&mut out), 1);
/// let mut got = Vec::new();
/// assert_eq!(b.rx_burst(&mut got, 32), 1);
/// assert_eq!(got[0].data(), b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn pair(config: &PairConfig) -> Result<(PairDevice, PairDevice), PairError> {
    let (a_tx, b_rx) = spsc::ring(config.ring_size)?;
    let (b_tx, a_rx) = spsc::ring(config.ring_size)?;
    let (to_a, to_b) = (Doorbell::new()?, Doorbell::new()?);
    let info = |end: &str, mac| DeviceInfo {
        name: format!("{}.{end}", config.name),
        kind: "pair",
        mac,
        mtu: config.mtu,
        queue: 0,
        queues: 1,
        caps: config.caps,
    };
    Ok((
        PairDevice {
            info: info("a", config.macs.0),
            tx: a_tx,
            rx: a_rx,
            tx_bell: Arc::clone(&to_b),
            rx_bell: Arc::clone(&to_a),
            stats: DeviceStats::default(),
        },
        PairDevice {
            info: info("b", config.macs.1),
            tx: b_tx,
            rx: b_rx,
            tx_bell: to_a,
            rx_bell: to_b,
            stats: DeviceStats::default(),
        },
    ))
}

impl Device for PairDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let start = out.len();
        let n = self.rx.pop_burst(out, max);
        self.stats.rx_packets += n as u64;
        self.stats.rx_bytes += out[start..]
            .iter()
            .map(|b| b.total_len() as u64)
            .sum::<u64>();
        n
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        let bytes: u64 = bufs.iter().map(|b| b.total_len() as u64).sum();
        let before = bufs.len();
        let n = self.tx.push_burst(bufs);
        self.stats.tx_packets += n as u64;
        // Bytes of the frames that went: all minus those left behind.
        let left: u64 = bufs.iter().map(|b| b.total_len() as u64).sum();
        self.stats.tx_bytes += bytes - left;
        debug_assert_eq!(before - bufs.len(), n);
        // After the frames are published (the ring's Release store); true
        // once per arming, so the socket never fills.
        if n > 0 && self.tx_bell.flag.should_wake() {
            // A full socket buffer (cannot happen: one byte per arming) or
            // a closed peer needs no wake-up.
            let _ = self.tx_bell.ring.send(&[1]);
        }
        n
    }

    fn wait_fd(&self) -> Option<RawFd> {
        Some(self.rx_bell.wait.as_raw_fd())
    }

    fn arm_wake(&mut self) -> bool {
        // Armed first, then the last look at the ring (`WakeFlag`).
        self.rx_bell.flag.arm();
        !self.rx.is_empty()
    }

    fn disarm_wake(&mut self) {
        // A byte rung after all is read away here.
        self.rx_bell.flag.disarm();
        let mut byte = [0u8; 8];
        while self.rx_bell.wait.recv(&mut byte).is_ok() {}
    }

    fn stats(&self) -> DeviceStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_pools::{Pool, PoolConfig};

    fn pool() -> Pool {
        Pool::new(PoolConfig {
            frames: 512,
            ..PoolConfig::named("pair-test")
        })
        .unwrap()
    }

    #[test]
    fn a_device_without_a_cache_leaves_freed_buffers_to_the_caller() {
        let pool = pool();
        let (mut a, _b) = pair(&PairConfig::default()).unwrap();
        let mut bufs = vec![pool.alloc().unwrap(), pool.alloc().unwrap()];
        a.free(&mut bufs);
        assert_eq!(bufs.len(), 2);
        let mut cache = pool.cache().unwrap();
        cache.free_all(&mut bufs);
        assert!(bufs.is_empty());
        drop(cache);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn frames_cross_in_order_and_are_counted() {
        let pool = pool();
        let (mut a, mut b) = pair(&PairConfig {
            ring_size: 4,
            ..PairConfig::default()
        })
        .unwrap();
        let mut out = Vec::new();
        for i in 0..6u8 {
            let mut buf = pool.alloc().unwrap();
            buf.put(&[i; 10]).unwrap();
            out.push(buf);
        }
        // The ring holds 4: two stay with the caller, in order.
        assert_eq!(a.tx_burst(&mut out), 4);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data()[0], 4);
        let mut got = Vec::new();
        assert_eq!(b.rx_burst(&mut got, 3), 3);
        assert_eq!(b.rx_burst(&mut got, 32), 1);
        let firsts: Vec<u8> = got.iter().map(|b| b.data()[0]).collect();
        assert_eq!(firsts, [0, 1, 2, 3]);
        assert_eq!(a.stats().tx_packets, 4);
        assert_eq!(a.stats().tx_bytes, 40);
        assert_eq!(b.stats().rx_packets, 4);
        assert_eq!(b.stats().rx_bytes, 40);
        // The other direction is separate.
        assert_eq!(a.rx_burst(&mut got, 32), 0);
        drop((got, out));
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn dropping_an_end_returns_its_frames() {
        let pool = pool();
        let (mut a, b) = pair(&PairConfig::default()).unwrap();
        let mut out = vec![pool.alloc().unwrap(), pool.alloc().unwrap()];
        assert_eq!(a.tx_burst(&mut out), 2);
        assert_eq!(pool.stats().free, pool.capacity() - 2);
        drop(b);
        drop(a);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    /// Whether `fd` becomes readable within `timeout`.
    fn readable(fd: RawFd, timeout: std::time::Duration) -> bool {
        let mut poll = mio::Poll::new().unwrap();
        poll.registry()
            .register(
                &mut mio::unix::SourceFd(&fd),
                mio::Token(0),
                mio::Interest::READABLE,
            )
            .unwrap();
        let mut events = mio::Events::with_capacity(4);
        poll.poll(&mut events, Some(timeout)).unwrap();
        !events.is_empty()
    }

    #[test]
    fn an_armed_end_is_woken_by_what_the_other_sends_and_only_then() {
        use std::time::Duration;
        let pool = pool();
        let (mut a, mut b) = pair(&PairConfig::default()).unwrap();
        let fd = b.wait_fd().expect("a pair end has a wait fd");
        assert_ne!(Some(fd), a.wait_fd(), "one doorbell per direction");
        let mut out = vec![pool.alloc().unwrap()];
        // Not armed: a busy pair rings no bell.
        assert_eq!(a.tx_burst(&mut out), 1);
        assert!(!readable(fd, Duration::ZERO));
        // Armed with a frame already waiting: do not sleep.
        assert!(b.arm_wake());
        b.disarm_wake();
        let mut got = Vec::new();
        assert_eq!(b.rx_burst(&mut got, 32), 1);
        // Armed on an empty ring: the next frame from the other thread rings.
        assert!(!b.arm_wake());
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let mut out = vec![pool.alloc().unwrap()];
            assert_eq!(a.tx_burst(&mut out), 1);
            // Rung once per arming: a second burst adds nothing.
            let mut out = vec![pool.alloc().unwrap()];
            assert_eq!(a.tx_burst(&mut out), 1);
            (a, pool)
        });
        assert!(
            readable(fd, Duration::from_secs(30)),
            "the sleeper was not woken"
        );
        let (mut a, pool) = sender.join().unwrap();
        // Disarming reads the bell away.
        b.disarm_wake();
        assert!(!readable(fd, Duration::ZERO));
        assert_eq!(b.rx_burst(&mut got, 32), 2);
        // The other direction has its own bell, untouched.
        assert!(!readable(a.wait_fd().unwrap(), Duration::ZERO));
        assert!(!a.arm_wake());
        a.disarm_wake();
        drop((got, a, b));
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn a_bad_ring_size_is_an_error() {
        let config = PairConfig {
            ring_size: 1000,
            ..PairConfig::default()
        };
        assert!(pair(&config).is_err());
    }
}
