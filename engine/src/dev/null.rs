//! The null device, like DPDK's `net_null`: a source that receives frames
//! made up on the spot and a sink that frees everything it is given.
//!
//! - **Source.** [`NullDevice::source`] takes a pool; each
//!   [`rx_burst`](Device::rx_burst) allocates up to `max` buffers of
//!   [`NullConfig::frame_len`] bytes. Their contents: the
//!   [`template`](NullConfig::template) copied to the front if one is set
//!   (the rest of the frame, if the template is shorter, and the whole frame
//!   without a template, are **left as allocated**: whatever bytes the pool
//!   frame last held, never zeroed — as `net_null` does, to cost nothing).
//!   With [`NullConfig::count`] set, the source stops after that many frames
//!   and then behaves as drained ([`NullDevice::is_done`]). A frame the pool
//!   could not supply is counted in [`DeviceStats::rx_dropped`] and still
//!   uses up one of `count`, as a frame lost on a wire for want of a buffer.
//! - **Sink.** [`tx_burst`](Device::tx_burst) takes every frame, counts it in
//!   `tx_packets`/`tx_bytes` and frees it. A device made with
//!   [`NullDevice::sink`] receives nothing.
//!
//! The source allocates through a per-core [`PoolCache`] when the pool has
//! caches enabled and a slot free, else from the pool itself; the cache goes
//! back to the pool when the device is dropped.

use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::{NetBuf, Pool, PoolCache};

use super::{Device, DeviceInfo, DeviceStats};

/// Settings of a [`NullDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullConfig {
    /// The port's name.
    pub name: String,
    /// Its Ethernet address.
    pub mac: EthernetAddress,
    /// Its MTU.
    pub mtu: usize,
    /// What it claims to check and fill in (it checks nothing; software by
    /// default).
    pub caps: ChecksumCaps,
    /// Bytes per received frame (the Ethernet frame without FCS), e.g. 60.
    pub frame_len: usize,
    /// Bytes copied to the front of every received frame; at most
    /// `frame_len` bytes.
    pub template: Option<Vec<u8>>,
    /// How many frames the source produces before it is drained; `None`
    /// for no end.
    pub count: Option<u64>,
}

impl Default for NullConfig {
    fn default() -> Self {
        NullConfig {
            name: "null0".to_owned(),
            mac: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            mtu: 1500,
            caps: ChecksumCaps::software(),
            frame_len: 64,
            template: None,
            count: None,
        }
    }
}

/// A [`NullConfig`] the device cannot honour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NullError {
    /// A frame of `frame_len` bytes does not fit in a buffer of the pool.
    #[error("null device: frames of {frame_len} bytes do not fit the pool's {room}-byte buffers")]
    FrameTooLong {
        /// The configured frame length.
        frame_len: usize,
        /// Bytes a fresh buffer of the pool holds (frame size minus headroom).
        room: usize,
    },
    /// The template is longer than a frame.
    #[error("null device: a {len}-byte template is longer than the {frame_len}-byte frames")]
    TemplateTooLong {
        /// The template's length.
        len: usize,
        /// The configured frame length.
        frame_len: usize,
    },
}

/// Where the source gets its buffers.
#[derive(Debug)]
enum Alloc {
    Cache(PoolCache),
    Pool(Pool),
}

/// DPDK's `net_null`. See the module documentation.
#[derive(Debug)]
pub struct NullDevice {
    info: DeviceInfo,
    alloc: Option<Alloc>,
    frame_len: usize,
    template: Vec<u8>,
    /// Frames the source still produces (`u64::MAX`: no end).
    remaining: u64,
    stats: DeviceStats,
}

impl NullDevice {
    /// A source (and sink) allocating its received frames from `pool`.
    ///
    /// # Errors
    ///
    /// [`NullError`] if a frame or the template does not fit.
    pub fn source(config: &NullConfig, pool: &Pool) -> Result<Self, NullError> {
        let room = pool.frame_size() - pool.headroom();
        if config.frame_len > room {
            return Err(NullError::FrameTooLong {
                frame_len: config.frame_len,
                room,
            });
        }
        let template = config.template.clone().unwrap_or_default();
        if template.len() > config.frame_len {
            return Err(NullError::TemplateTooLong {
                len: template.len(),
                frame_len: config.frame_len,
            });
        }
        let alloc = match pool.cache() {
            Ok(cache) => Alloc::Cache(cache),
            Err(_) => Alloc::Pool(pool.clone()),
        };
        Ok(NullDevice {
            info: Self::make_info(config),
            alloc: Some(alloc),
            frame_len: config.frame_len,
            template,
            remaining: config.count.unwrap_or(u64::MAX),
            stats: DeviceStats::default(),
        })
    }

    /// A sink only: it receives nothing (and is drained from the start).
    /// `frame_len`, `template` and `count` are ignored.
    pub fn sink(config: &NullConfig) -> Self {
        NullDevice {
            info: Self::make_info(config),
            alloc: None,
            frame_len: 0,
            template: Vec::new(),
            remaining: 0,
            stats: DeviceStats::default(),
        }
    }

    fn make_info(config: &NullConfig) -> DeviceInfo {
        DeviceInfo {
            name: config.name.clone(),
            kind: "null",
            mac: config.mac,
            mtu: config.mtu,
            queue: 0,
            queues: 1,
            caps: config.caps,
        }
    }

    /// Whether the source has produced its `count` frames (always true for
    /// a sink).
    pub fn is_done(&self) -> bool {
        self.remaining == 0
    }

    /// Frames the source will still produce; `None` for no end.
    pub fn remaining(&self) -> Option<u64> {
        (self.remaining != u64::MAX).then_some(self.remaining)
    }
}

impl Device for NullDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let Some(alloc) = self.alloc.as_mut() else {
            return 0;
        };
        let want = (max as u64).min(self.remaining) as usize;
        if want == 0 {
            return 0;
        }
        let start = out.len();
        let got = match alloc {
            Alloc::Cache(cache) => cache.alloc_burst(want, out),
            Alloc::Pool(pool) => pool.alloc_burst(want, out),
        };
        let (len, template) = (self.frame_len, &self.template[..]);
        for buf in &mut out[start..] {
            // A fresh buffer is unshared and the length was checked against
            // the pool's room at construction, so `extend` succeeds; were it
            // ever to fail, the frame would go out empty rather than panic.
            if let Ok(bytes) = buf.extend(len) {
                bytes[..template.len()].copy_from_slice(template);
            }
        }
        if self.remaining != u64::MAX {
            self.remaining -= want as u64;
        }
        self.stats.rx_dropped += (want - got) as u64;
        self.stats.rx_packets += got as u64;
        self.stats.rx_bytes += (got * len) as u64;
        got
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        let n = bufs.len();
        self.stats.tx_packets += n as u64;
        self.stats.tx_bytes += bufs.iter().map(|b| b.total_len() as u64).sum::<u64>();
        match self.alloc.as_mut() {
            Some(Alloc::Cache(cache)) => cache.free_all(bufs),
            _ => bufs.clear(),
        }
        n
    }

    fn stats(&self) -> DeviceStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_pools::PoolConfig;

    fn pool(frames: usize, cache_size: usize) -> Pool {
        Pool::new(PoolConfig {
            frames,
            cache_size,
            cache_flush_threshold: cache_size + cache_size / 2,
            ..PoolConfig::named("null-test")
        })
        .unwrap()
    }

    #[test]
    fn source_makes_frames_of_the_configured_size_and_template() {
        let pool = pool(64, 16);
        let template = vec![0xaa, 0xbb, 0xcc];
        let mut dev = NullDevice::source(
            &NullConfig {
                frame_len: 60,
                template: Some(template.clone()),
                ..NullConfig::default()
            },
            &pool,
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(dev.rx_burst(&mut out, 8), 8);
        assert_eq!(out.len(), 8);
        for buf in &out {
            assert_eq!(buf.total_len(), 60);
            assert_eq!(&buf.data()[..3], &template[..]);
        }
        let s = dev.stats();
        assert_eq!((s.rx_packets, s.rx_bytes, s.rx_dropped), (8, 480, 0));
        assert!(!dev.is_done());
        assert_eq!(dev.remaining(), None);
        // The sink side frees what it is given.
        assert_eq!(dev.tx_burst(&mut out), 8);
        assert!(out.is_empty());
        assert_eq!(dev.stats().tx_packets, 8);
        assert_eq!(dev.stats().tx_bytes, 480);
        drop(dev);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn count_limits_the_source_then_it_is_drained() {
        let pool = pool(64, 0);
        let mut dev = NullDevice::source(
            &NullConfig {
                count: Some(10),
                ..NullConfig::default()
            },
            &pool,
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(dev.rx_burst(&mut out, 4), 4);
        assert_eq!(dev.remaining(), Some(6));
        assert_eq!(dev.rx_burst(&mut out, 32), 6);
        assert!(dev.is_done());
        assert_eq!(dev.rx_burst(&mut out, 32), 0);
        assert_eq!(out.len(), 10);
        assert_eq!(dev.stats().rx_packets, 10);
        out.clear();
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn an_empty_pool_is_counted_as_rx_dropped() {
        let pool = pool(8, 0);
        let mut dev = NullDevice::source(&NullConfig::default(), &pool).unwrap();
        let mut out = Vec::new();
        assert_eq!(dev.rx_burst(&mut out, 6), 6);
        // Two frames left in the pool: two received, three dropped.
        assert_eq!(dev.rx_burst(&mut out, 5), 2);
        assert_eq!(dev.stats().rx_dropped, 3);
        assert_eq!(dev.stats().rx_packets, 8);
        assert_eq!(dev.rx_burst(&mut out, 5), 0);
        assert_eq!(dev.stats().rx_dropped, 8);
        // Freed by the sink, the frames come back and the source resumes.
        assert_eq!(dev.tx_burst(&mut out), 8);
        assert_eq!(dev.rx_burst(&mut out, 5), 5);
        drop(out);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn dropped_frames_use_up_the_count() {
        let pool = pool(4, 0);
        let mut dev = NullDevice::source(
            &NullConfig {
                count: Some(6),
                ..NullConfig::default()
            },
            &pool,
        )
        .unwrap();
        let mut out = Vec::new();
        assert_eq!(dev.rx_burst(&mut out, 6), 4);
        assert!(dev.is_done());
        assert_eq!(dev.stats().rx_dropped, 2);
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        let pool = pool(8, 0);
        let room = pool.frame_size() - pool.headroom();
        assert_eq!(
            NullDevice::source(
                &NullConfig {
                    frame_len: room + 1,
                    ..NullConfig::default()
                },
                &pool
            )
            .unwrap_err(),
            NullError::FrameTooLong {
                frame_len: room + 1,
                room
            }
        );
        // A frame filling the whole room is fine.
        assert!(NullDevice::source(
            &NullConfig {
                frame_len: room,
                ..NullConfig::default()
            },
            &pool
        )
        .is_ok());
        assert_eq!(
            NullDevice::source(
                &NullConfig {
                    frame_len: 2,
                    template: Some(vec![1, 2, 3]),
                    ..NullConfig::default()
                },
                &pool
            )
            .unwrap_err(),
            NullError::TemplateTooLong {
                len: 3,
                frame_len: 2
            }
        );
    }

    #[test]
    fn a_sink_receives_nothing_and_frees_chains() {
        let pool = pool(8, 0);
        let mut dev = NullDevice::sink(&NullConfig::default());
        assert!(dev.is_done());
        let mut out = Vec::new();
        assert_eq!(dev.rx_burst(&mut out, 32), 0);
        let mut head = pool.alloc().unwrap();
        head.put(&[1; 10]).unwrap();
        let mut tail = pool.alloc().unwrap();
        tail.put(&[2; 20]).unwrap();
        head.append(tail);
        let mut bufs = vec![head, pool.alloc().unwrap()];
        assert_eq!(dev.tx_burst(&mut bufs), 2);
        assert_eq!(dev.stats().tx_bytes, 30);
        assert_eq!(pool.stats().free, pool.capacity());
    }
}
