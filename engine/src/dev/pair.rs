//! An in-memory pair of devices joined back to back, like DPDK's `net_ring`:
//! what one transmits the other receives, through one SPSC ring per
//! direction. No copy: the `NetBuf` itself moves across. The two ends may be
//! polled from two threads.

use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::NetBuf;
use strata_queues::spsc::{self, Consumer, Producer};
use strata_queues::CapacityError;

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

/// One end of a [`pair`].
#[derive(Debug)]
pub struct PairDevice {
    info: DeviceInfo,
    tx: Producer<NetBuf>,
    rx: Consumer<NetBuf>,
    stats: DeviceStats,
}

/// Makes two devices joined back to back.
///
/// # Errors
///
/// [`CapacityError`] if `config.ring_size` is not a power of two in range.
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
pub fn pair(config: &PairConfig) -> Result<(PairDevice, PairDevice), CapacityError> {
    let (a_tx, b_rx) = spsc::ring(config.ring_size)?;
    let (b_tx, a_rx) = spsc::ring(config.ring_size)?;
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
            stats: DeviceStats::default(),
        },
        PairDevice {
            info: info("b", config.macs.1),
            tx: b_tx,
            rx: b_rx,
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
        n
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

    #[test]
    fn a_bad_ring_size_is_an_error() {
        let config = PairConfig {
            ring_size: 1000,
            ..PairConfig::default()
        };
        assert!(pair(&config).is_err());
    }
}
