//! A TAP interface as a device: Strata on one side, the kernel on the other
//! (issue 5, "TAP backend"), for users without a second interface and for
//! tests against the kernel. One Ethernet frame per `read`/`write` on the
//! non-blocking `/dev/net/tun` descriptor ([`crate::sys::tap`]); the
//! descriptor is the device's [`Device::wait_fd`], so an idle worker sleeps.
//!
//! Receive copies each frame from the kernel into a fresh pool buffer
//! ([`PoolCache::alloc_filled`]); transmit writes each frame (a chain is
//! gathered into one contiguous copy first) and frees the buffer. A frame
//! longer than a buffer's room is cut by the kernel's `read`: it is counted
//! as dropped (`rx_dropped`) rather than handed over cut.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};

use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::{NetBuf, PoolCache};

use super::{Device, DeviceInfo, DeviceStats};
use crate::sys;

/// Settings of a [`TapDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TapConfig {
    /// The interface to create (or attach to), e.g. `stap0`.
    pub name: String,
    /// Strata's own Ethernet address on the link (the kernel's side of the
    /// TAP interface has another one).
    pub mac: EthernetAddress,
    /// The MTU Strata uses on the link.
    pub mtu: usize,
    /// Bring the kernel's side of the interface up (`ip link set NAME up`).
    pub set_up: bool,
}

impl Default for TapConfig {
    fn default() -> Self {
        TapConfig {
            name: "stap0".to_owned(),
            mac: EthernetAddress([0x02, 0x53, 0x54, 0, 0, 0x01]),
            mtu: 1500,
            set_up: true,
        }
    }
}

/// Why a TAP device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum TapError {
    /// `/dev/net/tun` or the interface was refused.
    #[error("cannot open TAP interface {name:?}: {source}")]
    Open {
        /// The interface asked for.
        name: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// Not permitted: no `CAP_NET_ADMIN`.
    #[error(
        "cannot open TAP interface {name:?}: not permitted (run as root, or grant CAP_NET_ADMIN)"
    )]
    Permission {
        /// The interface asked for.
        name: String,
    },
    /// The interface could not be brought up.
    #[error("cannot bring TAP interface {name:?} up: {source}")]
    Up {
        /// The interface.
        name: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// A buffer of the pool cannot hold a frame of the MTU.
    #[error("pool buffers hold {room} bytes, a {mtu}-byte MTU needs {need}")]
    BufferTooSmall {
        /// Room after the headroom.
        room: usize,
        /// The MTU asked for.
        mtu: usize,
        /// The room a full frame needs.
        need: usize,
    },
}

/// A TAP interface. See the module documentation.
#[derive(Debug)]
pub struct TapDevice {
    file: File,
    info: DeviceInfo,
    cache: PoolCache,
    stats: DeviceStats,
    /// Frames the kernel handed over longer than a buffer (cut, dropped).
    pub oversized: u64,
    /// Gathers a chained frame for its one `write`.
    scratch: Vec<u8>,
}

impl TapDevice {
    /// Opens (creating if needed) the TAP interface of `config` in the
    /// calling thread's network namespace, taking buffers from `cache`.
    ///
    /// # Errors
    ///
    /// [`TapError`]: permissions, a busy or non-TAP interface of that name, a
    /// pool whose buffers cannot hold a full frame.
    pub fn open(config: &TapConfig, cache: PoolCache) -> Result<TapDevice, TapError> {
        let room = cache.pool().frame_size() - cache.pool().headroom();
        let need = config.mtu + strata_l2::ETHERNET_HEADER_LEN;
        // Strictly more room than a full frame: a read that fills the buffer
        // is then known to have been cut.
        if room <= need {
            return Err(TapError::BufferTooSmall {
                room,
                mtu: config.mtu,
                need,
            });
        }
        let (file, name) = sys::tap::open(&config.name).map_err(|source| {
            if source.kind() == io::ErrorKind::PermissionDenied {
                TapError::Permission {
                    name: config.name.clone(),
                }
            } else {
                TapError::Open {
                    name: config.name.clone(),
                    source,
                }
            }
        })?;
        if config.set_up {
            sys::tap::set_up(&name).map_err(|source| TapError::Up {
                name: name.clone(),
                source,
            })?;
        }
        Ok(TapDevice {
            file,
            info: DeviceInfo {
                name,
                kind: "tap",
                mac: config.mac,
                mtu: config.mtu,
                queue: 0,
                queues: 1,
                caps: ChecksumCaps::software(),
            },
            cache,
            stats: DeviceStats::default(),
            oversized: 0,
            scratch: Vec::new(),
        })
    }
}

impl Device for TapDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn link_up(&self) -> bool {
        true
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let file = &mut self.file;
        let (mut bytes, mut oversized) = (0u64, 0u64);
        let mut got = 0;
        // One buffer at a time: most polls find nothing, and a buffer taken
        // from the cache for nothing would go straight back.
        while got < max {
            let n = self.cache.alloc_filled(1, out, |room| loop {
                match file.read(room) {
                    // Filled to the brim: the kernel may have cut it. Dropped;
                    // the next frame goes into the same buffer.
                    Ok(len) if len == room.len() => oversized += 1,
                    Ok(len) if len > 0 => {
                        bytes += len as u64;
                        return Some(len);
                    }
                    // Nothing waiting (WouldBlock), or an error: stop.
                    _ => return None,
                }
            });
            if n == 0 {
                break;
            }
            got += n;
        }
        self.oversized += oversized;
        self.stats.rx_dropped += oversized;
        self.stats.rx_packets += got as u64;
        self.stats.rx_bytes += bytes;
        got
    }

    fn free(&mut self, bufs: &mut Vec<NetBuf>) {
        // Into the cache the next receive allocates from.
        self.cache.free_all(bufs);
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        let mut sent = 0;
        for buf in bufs.iter() {
            let result = if buf.next().is_none() {
                self.file.write(buf.data())
            } else {
                self.scratch.resize(buf.total_len(), 0);
                buf.copy_to(&mut self.scratch);
                self.file.write(&self.scratch)
            };
            match result {
                Ok(_) => {
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += buf.total_len() as u64;
                }
                // The kernel's queue is full: the rest waits for a retry.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Refused (too long, interface down): dropped and counted.
                Err(_) => self.stats.tx_dropped += 1,
            }
            sent += 1;
        }
        self.cache.free_front(bufs, sent);
        sent
    }

    fn wait_fd(&self) -> Option<RawFd> {
        Some(self.file.as_raw_fd())
    }

    fn stats(&self) -> DeviceStats {
        self.stats
    }
}
