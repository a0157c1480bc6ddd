//! AF_PACKET with a TPACKET_V3 receive ring ([`crate::sys::packet`]): the
//! portable backend for any Linux interface (issue 5, "AF_PACKET backend").
//!
//! Receive walks the blocks the kernel handed over and copies each frame
//! into a fresh pool buffer ([`PoolCache::alloc_filled`]), putting back the
//! VLAN tag the kernel took off, and filling in the UDP or TCP checksum the
//! sender left to the device (`TP_STATUS_CSUMNOTREADY`: veth and other
//! virtual links never compute it); a block goes back to the kernel as soon
//! as its last frame is copied. Transmit hands runs of frames to one
//! `sendmmsg` (a chained frame is gathered and sent alone). The socket
//! is the device's [`Device::wait_fd`]: readable when a block is ready.

use std::cell::Cell;
use std::io;
use std::os::fd::RawFd;

use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::{NetBuf, PoolCache};

use super::{Device, DeviceInfo, DeviceStats};
use crate::sys::packet::{self, PacketSocket, RingConfig, RxFrame};

/// Settings of an [`AfPacketDevice`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfPacketConfig {
    /// The interface, e.g. `veth0`.
    pub iface: String,
    /// Strata's Ethernet address (`None`: the interface's own). Another
    /// address puts the interface in promiscuous mode.
    pub mac: Option<EthernetAddress>,
    /// The receive ring's shape.
    pub ring: RingConfig,
    /// Receive frames for every MAC (as a forwarder must); also on when
    /// `mac` is not the interface's own.
    pub promiscuous: bool,
    /// The MTU Strata uses on the link.
    pub mtu: usize,
}

impl Default for AfPacketConfig {
    fn default() -> Self {
        AfPacketConfig {
            iface: "veth0".to_owned(),
            mac: None,
            ring: RingConfig::default(),
            promiscuous: false,
            mtu: 1500,
        }
    }
}

/// Why an AF_PACKET device could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum AfPacketError {
    /// The socket, its ring or its binding was refused.
    #[error("AF_PACKET on {iface:?}: {source} (needs CAP_NET_RAW; does the interface exist in this namespace?)")]
    Open {
        /// The interface.
        iface: String,
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
        /// The room a full (tagged) frame needs.
        need: usize,
    },
}

/// Counters of what the ring handed over that is not a plain frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AfPacketCounters {
    /// Frames whose VLAN tag the kernel had taken off, put back.
    pub vlan_restored: u64,
    /// Frames whose UDP or TCP checksum was filled in here.
    pub checksums_filled: u64,
    /// Frames longer than a buffer (dropped).
    pub oversized: u64,
    /// Block headers that did not describe frames inside the block (the
    /// rest of such a block is skipped).
    pub bad_headers: u64,
}

/// An AF_PACKET socket with a TPACKET_V3 ring. See the module documentation.
#[derive(Debug)]
pub struct AfPacketDevice {
    socket: PacketSocket,
    info: DeviceInfo,
    cache: PoolCache,
    stats: DeviceStats,
    /// Frames the kernel dropped for want of a free block, summed from the
    /// socket's statistics (which reset on each read) as `stats` reads them.
    kernel_drops: Cell<u64>,
    counters: AfPacketCounters,
    /// The block being read, and what is left of it.
    block: u32,
    left: u32,
    next: usize,
    scratch: Vec<u8>,
}

impl AfPacketDevice {
    /// Opens `config.iface` in the calling thread's network namespace,
    /// taking buffers from `cache`.
    ///
    /// # Errors
    ///
    /// [`AfPacketError`]: permissions, no such interface, a pool whose
    /// buffers cannot hold a full frame.
    pub fn open(
        config: &AfPacketConfig,
        cache: PoolCache,
    ) -> Result<AfPacketDevice, AfPacketError> {
        let room = cache.pool().frame_size() - cache.pool().headroom();
        let need = config.mtu + strata_l2::ETHERNET_HEADER_LEN + 4;
        if room < need {
            return Err(AfPacketError::BufferTooSmall {
                room,
                mtu: config.mtu,
                need,
            });
        }
        let open_error = |source| AfPacketError::Open {
            iface: config.iface.clone(),
            source,
        };
        let own = EthernetAddress(packet::hw_addr(&config.iface).map_err(open_error)?);
        let mac = config.mac.unwrap_or(own);
        let socket =
            PacketSocket::open(&config.iface, config.ring, mac != own).map_err(open_error)?;
        Ok(AfPacketDevice {
            socket,
            info: DeviceInfo {
                name: config.iface.clone(),
                kind: "afpacket",
                mac,
                mtu: config.mtu,
                queue: 0,
                queues: 1,
                caps: ChecksumCaps::software(),
            },
            cache,
            stats: DeviceStats::default(),
            kernel_drops: Cell::new(0),
            counters: AfPacketCounters::default(),
            block: 0,
            left: 0,
            next: 0,
            scratch: Vec::new(),
        })
    }

    /// What the ring handed over that was not a plain frame.
    pub fn counters(&self) -> AfPacketCounters {
        self.counters
    }

    /// The current block is done: back to the kernel, on to the next.
    fn finish_block(&mut self) {
        self.socket.release(self.block);
        self.block = (self.block + 1) % self.socket.blocks();
        self.left = 0;
    }

    /// Copies `frame` into `room` the way the engine wants it (tag back in,
    /// checksum filled); its length, or `None` when it does not fit.
    fn write_frame(
        socket: &PacketSocket,
        block: u32,
        frame: &RxFrame,
        room: &mut [u8],
        counters: &mut AfPacketCounters,
    ) -> Option<usize> {
        let tagged = frame.status & libc::TP_STATUS_VLAN_VALID != 0 && frame.len >= 12;
        let len = frame.len + if tagged { 4 } else { 0 };
        if len > room.len() {
            return None;
        }
        let n = socket.copy_frame(block, frame, &mut room[..frame.len]);
        let mut l3 = strata_l2::ETHERNET_HEADER_LEN;
        if tagged {
            // Shift the frame after the MACs by 4 and put the tag there.
            room.copy_within(12..n, 16);
            let tpid = if frame.status & libc::TP_STATUS_VLAN_TPID_VALID != 0 {
                frame.vlan_tpid
            } else {
                0x8100
            };
            room[12..14].copy_from_slice(&tpid.to_be_bytes());
            room[14..16].copy_from_slice(&frame.vlan_tci.to_be_bytes());
            counters.vlan_restored += 1;
            l3 += 4;
        }
        if frame.status & libc::TP_STATUS_CSUMNOTREADY != 0 && len > l3 {
            let ethertype = u16::from_be_bytes([room[l3 - 2], room[l3 - 1]]);
            if (ethertype == 0x0800 || ethertype == 0x86dd)
                && strata_l3l4::checksum::fill_l4_checksum(&mut room[l3..len])
            {
                counters.checksums_filled += 1;
            }
        }
        Some(len)
    }
}

impl Device for AfPacketDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let mut got = 0;
        let mut bytes = 0u64;
        while got < max {
            if self.left == 0 {
                if !self.socket.block_ready(self.block) {
                    break;
                }
                let (frames, first) = self.socket.block_frames(self.block);
                if frames == 0 {
                    self.finish_block();
                    continue;
                }
                self.left = frames;
                self.next = first;
            }
            let Some((frame, next)) = self.socket.frame_at(self.block, self.next) else {
                self.counters.bad_headers += 1;
                self.finish_block();
                continue;
            };
            let (socket, block, counters) = (&self.socket, self.block, &mut self.counters);
            let mut fits = true;
            let n = self.cache.alloc_filled(1, out, |room| {
                let written = Self::write_frame(socket, block, &frame, room, counters);
                fits = written.is_some();
                // A frame too long for a buffer is dropped below; the buffer
                // goes back unused.
                written
            });
            if n == 0 && fits {
                // The pool is empty: the frame waits in the ring.
                break;
            }
            if n == 0 {
                self.counters.oversized += 1;
                self.stats.rx_dropped += 1;
            } else {
                got += 1;
                bytes += frame.len as u64;
            }
            self.next = next;
            self.left -= 1;
            if self.left == 0 {
                self.finish_block();
            }
        }
        self.stats.rx_packets += got as u64;
        self.stats.rx_bytes += bytes;
        got
    }

    fn free(&mut self, bufs: &mut Vec<NetBuf>) {
        // Into the cache the next receive allocates from.
        self.cache.free_all(bufs);
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        let mut taken = 0;
        while taken < bufs.len() {
            // A run of single-buffer frames goes in one `sendmmsg`.
            let run = bufs[taken..]
                .iter()
                .take(packet::SEND_BATCH)
                .take_while(|b| b.next().is_none())
                .count();
            if run > 0 {
                let mut frames: [&[u8]; packet::SEND_BATCH] = [&[]; packet::SEND_BATCH];
                for (slot, buf) in frames.iter_mut().zip(&bufs[taken..taken + run]) {
                    *slot = buf.data();
                }
                match self.socket.send_many(&frames[..run]) {
                    Ok(0) => break,
                    Ok(sent) => {
                        for buf in &bufs[taken..taken + sent] {
                            self.stats.tx_packets += 1;
                            self.stats.tx_bytes += buf.len() as u64;
                        }
                        taken += sent;
                    }
                    // The first one was refused (too long, interface down):
                    // dropped and counted; the rest go on.
                    Err(_) => {
                        self.stats.tx_dropped += 1;
                        taken += 1;
                    }
                }
                continue;
            }
            // A chained frame: gathered, then sent alone.
            let buf = &bufs[taken];
            self.scratch.resize(buf.total_len(), 0);
            buf.copy_to(&mut self.scratch);
            match self.socket.send(&self.scratch) {
                Ok(true) => {
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += self.scratch.len() as u64;
                }
                Ok(false) => break,
                Err(_) => self.stats.tx_dropped += 1,
            }
            taken += 1;
        }
        self.cache.free_front(bufs, taken);
        taken
    }

    fn wait_fd(&self) -> Option<RawFd> {
        Some(self.socket.fd())
    }

    fn stats(&self) -> DeviceStats {
        // Frames the ring had no room for are lost on the device's side:
        // counted with `rx_dropped`, so the idle spell sees a sleep's losses.
        if let Ok(drops) = self.socket.take_drops() {
            self.kernel_drops.set(self.kernel_drops.get() + drops);
        }
        let mut s = self.stats;
        s.rx_dropped += self.kernel_drops.get();
        s
    }
}
