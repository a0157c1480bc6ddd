//! Devices: where frames enter and leave the engine (Zephyr's device drivers,
//! DPDK's ethdev PMDs).
//!
//! A [`Device`] is one receive/transmit queue pair of a port, owned by the one
//! worker that polls it (a multi-queue port opens one `Device` per queue, as
//! an AF_XDP socket binds one queue). Frames move in bursts of [`NetBuf`]s:
//!
//! - [`Device::rx_burst`] appends up to `max` received frames to a `Vec` the
//!   worker reuses, so the hot path never allocates;
//! - [`Device::tx_burst`] takes frames from the front of a `Vec`, as many as
//!   the device accepts, and leaves the rest there, in order, for the worker
//!   to retry or drop (and count). A frame the device accepted is its to free.
//!
//! Devices that need no privileges live here: the in-memory [`pair()`]
//! (DPDK's `net_ring`), the [`null`] source and sink (`net_null`), the
//! [`generator`] of UDP flows, the [`pcap`] file reader and writer, and the
//! [`impair`] wrapper that adds loss, duplication, reordering, corruption,
//! delay and a rate cap to any device. With `CAP_NET_ADMIN`: [`tap`], a TAP
//! interface with the kernel on its other side; with `CAP_NET_RAW`:
//! [`afpacket`], any interface through an AF_PACKET TPACKET_V3 ring, or
//! [`pnet`], through pnet's datalink channel; with `CAP_BPF` and
//! `CAP_NET_ADMIN` as well: [`afxdp`], an interface's queues through AF_XDP
//! sockets whose UMEM is the pool.

use std::os::fd::RawFd;

use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::NetBuf;

pub mod afpacket;
pub mod afxdp;
pub mod generator;
pub mod group;
pub mod impair;
pub mod null;
pub mod pair;
pub mod pcap;
pub mod pnet;
pub mod tap;

pub use afpacket::{AfPacketConfig, AfPacketCounters, AfPacketDevice, AfPacketError};
pub use afxdp::{AfXdpConfig, AfXdpCounters, AfXdpDevice, AfXdpError, XdpBind, XdpMode};
pub use generator::{stamp_of, Generator, GeneratorConfig, GeneratorError};
pub use group::QueueGroup;
pub use impair::{ImpairConfig, ImpairCounters, ImpairError, ImpairStats, Impaired, Impairments};
pub use null::{NullConfig, NullDevice, NullError};
pub use pair::{pair, PairConfig, PairDevice, PairError};
pub use pcap::{
    PcapDevError, PcapReader, PcapReaderConfig, PcapReaderStats, PcapWriter, PcapWriterConfig,
};
pub use pnet::{PnetDevice, PnetError};
pub use tap::{TapConfig, TapDevice, TapError};

/// What a device is and offers. Fixed for the device's life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// The port's name (`veth0`, `pair0.a`, `capture.pcap`).
    pub name: String,
    /// What kind of device: `pair`, `null`, `pcap`, `afxdp`, ...
    pub kind: &'static str,
    /// Its Ethernet address.
    pub mac: EthernetAddress,
    /// The largest IP packet it carries (the Ethernet payload), e.g. 1500.
    pub mtu: usize,
    /// This queue pair's index in the port.
    pub queue: u16,
    /// How many queue pairs the port has.
    pub queues: u16,
    /// Which checksums the device verifies on receive and fills in on
    /// transmit: the software does the rest.
    pub caps: ChecksumCaps,
}

/// A device's own counters (DPDK's `rte_eth_stats`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeviceStats {
    /// Frames handed to the engine.
    pub rx_packets: u64,
    /// Their bytes.
    pub rx_bytes: u64,
    /// Frames lost before the engine saw them (no buffer, ring full).
    pub rx_dropped: u64,
    /// Frames the device accepted for transmission.
    pub tx_packets: u64,
    /// Their bytes.
    pub tx_bytes: u64,
    /// Frames the device accepted and then lost.
    pub tx_dropped: u64,
}

impl std::ops::AddAssign for DeviceStats {
    /// Counts `other`'s frames too (a port's queues summed).
    fn add_assign(&mut self, other: DeviceStats) {
        self.rx_packets += other.rx_packets;
        self.rx_bytes += other.rx_bytes;
        self.rx_dropped += other.rx_dropped;
        self.tx_packets += other.tx_packets;
        self.tx_bytes += other.tx_bytes;
        self.tx_dropped += other.tx_dropped;
    }
}

/// One receive/transmit queue pair of a port. See the module documentation.
pub trait Device: Send {
    /// What the device is.
    fn info(&self) -> &DeviceInfo;

    /// Whether the link is up: frames can move.
    fn link_up(&self) -> bool {
        true
    }

    /// Appends up to `max` received frames to `out`; returns how many.
    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize;

    /// Takes as many frames as the device accepts from the front of `bufs`;
    /// returns how many. Those not taken stay in `bufs`, in order.
    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize;

    /// Frees buffers of `bufs` where this device takes its next frames
    /// from, so that it gets the frames just used back first: warm in the
    /// caches and the TLB, as DPDK frees into the lcore's mempool cache
    /// (an AF_XDP device's kernel copy walks far less memory so). Buffers
    /// the device does not take stay in `bufs` for the caller to free; by
    /// default it takes none.
    fn free(&mut self, bufs: &mut Vec<NetBuf>) {
        let _ = bufs;
    }

    /// A file descriptor that becomes readable when frames arrive, for an
    /// idle worker to sleep on; `None` when the device cannot wake anyone
    /// (the worker then naps and polls).
    fn wait_fd(&self) -> Option<RawFd> {
        None
    }

    /// Every fd an idle worker must sleep on to hear this device (a
    /// [`QueueGroup`] has one per queue); empty when the device cannot wake
    /// anyone. By default, [`Device::wait_fd`].
    fn wait_fds(&self) -> Vec<RawFd> {
        self.wait_fd().into_iter().collect()
    }

    /// Called by an idle worker just before it sleeps on
    /// [`Device::wait_fd`]. A device whose fd does not become readable by
    /// itself when frames arrive (the in-memory [`PairDevice`]) starts making it
    /// so. Returns whether frames are already waiting, in which case the
    /// worker does not sleep. Every call is followed by
    /// [`Device::disarm_wake`].
    fn arm_wake(&mut self) -> bool {
        false
    }

    /// Called when the worker is awake again: the device stops signalling
    /// and clears its fd.
    fn disarm_wake(&mut self) {}

    /// The device's counters.
    fn stats(&self) -> DeviceStats;

    /// The counters of each queue the device holds, in queue order (a
    /// [`QueueGroup`] has several); by default the device's own.
    fn queue_stats(&self) -> Vec<DeviceStats> {
        vec![self.stats()]
    }
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn info(&self) -> &DeviceInfo {
        (**self).info()
    }
    fn link_up(&self) -> bool {
        (**self).link_up()
    }
    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        (**self).rx_burst(out, max)
    }
    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        (**self).tx_burst(bufs)
    }
    fn free(&mut self, bufs: &mut Vec<NetBuf>) {
        (**self).free(bufs)
    }
    fn wait_fd(&self) -> Option<RawFd> {
        (**self).wait_fd()
    }
    fn wait_fds(&self) -> Vec<RawFd> {
        (**self).wait_fds()
    }
    fn queue_stats(&self) -> Vec<DeviceStats> {
        (**self).queue_stats()
    }
    fn arm_wake(&mut self) -> bool {
        (**self).arm_wake()
    }
    fn disarm_wake(&mut self) {
        (**self).disarm_wake()
    }
    fn stats(&self) -> DeviceStats {
        (**self).stats()
    }
}
