//! AF_PACKET through pnet's datalink channel (`pnet_datalink`): the design
//! card's portable backend, selectable as `afpacket-pnet` beside the
//! TPACKET_V3 ring ([`super::afpacket`], the default). Every frame is a
//! `recvfrom` (after a zero-timeout `poll`) or a `sendto`, and pnet copies it
//! once more: measured on this kind of machine at about 1.2 µs of CPU per
//! received frame, against about 25 ns for the ring.
//!
//! pnet keeps its socket to itself, so the device has no wait fd: an idle
//! worker naps and polls. Nor does it show the kernel's `CHECKSUM_PARTIAL`
//! mark (the ring's `TP_STATUS_CSUMNOTREADY`): a UDP or TCP checksum a
//! local sender left to the device (veth, with TX checksum offload on) does
//! not verify and the datagram is dropped, counted. Turn the sender's
//! offload off (`ethtool -K IF tx off`) or use the ring. Frames with our own source MAC (our transmissions,
//! which the socket also sees) are skipped.

use std::io;
use std::time::Duration;

use pnet_datalink::{Channel, Config, DataLinkReceiver, DataLinkSender};
use strata_l2::EthernetAddress;
use strata_l3l4::ChecksumCaps;
use strata_pools::{NetBuf, PoolCache};

use super::{Device, DeviceInfo, DeviceStats};

/// Why a pnet channel could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PnetError {
    /// No interface of that name in this namespace.
    #[error("no interface {0:?} here (pnet lists: {1})")]
    NoInterface(String, String),
    /// The interface has no Ethernet address.
    #[error("interface {0:?} has no Ethernet address")]
    NoMac(String),
    /// The channel was refused.
    #[error("pnet channel on {iface:?}: {source} (needs CAP_NET_RAW)")]
    Open {
        /// The interface.
        iface: String,
        /// The answer.
        source: io::Error,
    },
    /// pnet gave a channel that is not Ethernet.
    #[error("pnet gave no Ethernet channel on {0:?}")]
    NotEthernet(String),
}

/// An interface through pnet's datalink channel.
pub struct PnetDevice {
    tx: Box<dyn DataLinkSender>,
    rx: Box<dyn DataLinkReceiver>,
    info: DeviceInfo,
    own: [u8; 6],
    cache: PoolCache,
    stats: DeviceStats,
}

impl std::fmt::Debug for PnetDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PnetDevice")
            .field("info", &self.info)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl PnetDevice {
    /// Opens `iface` (Strata's MAC: `mac`, or the interface's own; another
    /// one, or `promiscuous`, puts it in promiscuous mode).
    ///
    /// # Errors
    ///
    /// [`PnetError`].
    pub fn open(
        iface: &str,
        mac: Option<EthernetAddress>,
        promiscuous: bool,
        mtu: usize,
        cache: PoolCache,
    ) -> Result<PnetDevice, PnetError> {
        let interfaces = pnet_datalink::interfaces();
        let Some(interface) = interfaces.iter().find(|i| i.name == iface) else {
            let names: Vec<&str> = interfaces.iter().map(|i| i.name.as_str()).collect();
            return Err(PnetError::NoInterface(iface.to_owned(), names.join(", ")));
        };
        let own = interface
            .mac
            .map(|m| [m.0, m.1, m.2, m.3, m.4, m.5])
            .ok_or_else(|| PnetError::NoMac(iface.to_owned()))?;
        let mac = mac.unwrap_or(EthernetAddress(own));
        let config = Config {
            read_timeout: Some(Duration::ZERO),
            write_timeout: Some(Duration::ZERO),
            read_buffer_size: 65536,
            write_buffer_size: 65536,
            promiscuous: promiscuous || mac.0 != own,
            ..Config::default()
        };
        let (tx, rx) = match pnet_datalink::channel(interface, config) {
            Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
            Ok(_) => return Err(PnetError::NotEthernet(iface.to_owned())),
            Err(source) => {
                return Err(PnetError::Open {
                    iface: iface.to_owned(),
                    source,
                })
            }
        };
        Ok(PnetDevice {
            tx,
            rx,
            info: DeviceInfo {
                name: iface.to_owned(),
                kind: "afpacket-pnet",
                mac,
                mtu,
                queue: 0,
                queues: 1,
                caps: ChecksumCaps::software(),
            },
            own: mac.0,
            cache,
            stats: DeviceStats::default(),
        })
    }
}

impl Device for PnetDevice {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let mut got = 0;
        while got < max {
            let frame = match self.rx.next() {
                Ok(frame) => frame,
                // Nothing waiting (the zero timeout), or an error: stop.
                Err(_) => break,
            };
            if frame.get(6..12) == Some(&self.own[..]) {
                // Our own transmission, seen by the socket too.
                continue;
            }
            let len = frame.len();
            let n = self.cache.alloc_filled(1, out, |room| {
                room.get_mut(..len)?.copy_from_slice(frame);
                Some(len)
            });
            if n == 0 {
                // No buffer, or too long for one: dropped.
                self.stats.rx_dropped += 1;
                continue;
            }
            got += 1;
            self.stats.rx_bytes += len as u64;
        }
        self.stats.rx_packets += got as u64;
        got
    }

    fn free(&mut self, bufs: &mut Vec<NetBuf>) {
        // Into the cache the next receive allocates from.
        self.cache.free_all(bufs);
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        let mut taken = 0;
        let mut scratch = Vec::new();
        for buf in bufs.iter() {
            let data = if buf.next().is_none() {
                buf.data()
            } else {
                scratch.resize(buf.total_len(), 0);
                buf.copy_to(&mut scratch);
                &scratch[..]
            };
            match self.tx.send_to(data, None) {
                Some(Ok(())) => {
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += data.len() as u64;
                }
                Some(Err(e)) if e.kind() == io::ErrorKind::WouldBlock => break,
                Some(Err(_)) | None => self.stats.tx_dropped += 1,
            }
            taken += 1;
        }
        self.cache.free_front(bufs, taken);
        taken
    }

    fn stats(&self) -> DeviceStats {
        self.stats
    }
}
