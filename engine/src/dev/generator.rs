//! A generator device: it "receives" UDP frames made from templates, as fast
//! as they are asked for, the in-memory source of `strata bench` (like
//! pktgen on the far end of a wire, with the wire left out). Each frame is
//! copied from its flow's template into a fresh pool buffer, as a NIC's DMA
//! would have written it. What is transmitted to it is counted and freed.

use std::net::{Ipv4Addr, SocketAddrV4};

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use strata_l3l4::{ChecksumCaps, IpPair, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr};
use strata_pools::{NetBuf, PoolCache};

use super::{Device, DeviceInfo, DeviceStats};

/// What a [`Generator`] sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratorConfig {
    /// The generator's own MAC (the frames' source).
    pub mac: EthernetAddress,
    /// Where the frames go: the stack's MAC.
    pub dst_mac: EthernetAddress,
    /// The frames' source address; flows differ by source port.
    pub src: Ipv4Addr,
    /// The stack's address and the bound socket's port.
    pub dst: SocketAddrV4,
    /// Frame length without the FCS: 60 for "64-byte frames", up to 1514.
    pub frame_len: usize,
    /// Distinct flows (source ports 10000, 10001, ...).
    pub flows: u16,
    /// Stop after this many frames (`None`: never).
    pub count: Option<u64>,
    /// Lend the flows' prebuilt frames instead of copying each into a fresh
    /// buffer: every frame handed over is a zero-copy clone of a pool buffer
    /// built once (read-only; the stack only moves the handle's bounds), the
    /// way a peer stack's in-memory device lends its frames. Without it, each
    /// frame costs an allocation and a copy, as a NIC's DMA into a fresh buffer.
    pub lend: bool,
    /// Tag the flows with 802.1Q priorities (VLAN 0, priority-tagged): flow
    /// `i` gets PCP `i % priorities`; 0 leaves the frames untagged.
    pub priorities: u8,
    /// Write into the first 8 payload bytes of every frame (copy mode) the
    /// nanoseconds since this instant at which the frame was handed over, big
    /// endian, the UDP checksum updated to match (RFC 1624): what
    /// [`stamp_of`] reads back to measure latency end to end.
    pub stamp: Option<std::time::Instant>,
}

/// The handover time [`GeneratorConfig::stamp`] wrote into a UDP payload,
/// in nanoseconds since the stamp's epoch.
pub fn stamp_of(payload: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(payload.get(..8)?.try_into().ok()?))
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        GeneratorConfig {
            mac: EthernetAddress([0x02, 0, 0, 0, 0, 0x02]),
            dst_mac: EthernetAddress([0x02, 0, 0, 0, 0, 0x01]),
            src: Ipv4Addr::new(10, 9, 0, 2),
            dst: SocketAddrV4::new(Ipv4Addr::new(10, 9, 0, 1), 9000),
            frame_len: 60,
            flows: 1,
            count: None,
            lend: false,
            priorities: 0,
            stamp: None,
        }
    }
}

/// Why a generator cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    /// The frame length is outside 42..=1514 (Ethernet, IPv4 and UDP headers,
    /// up to a 1500-byte MTU).
    #[error("frame length {0} is outside 42..=1514")]
    FrameLen(usize),
    /// No flows.
    #[error("at least one flow is needed")]
    NoFlows,
    /// No pool buffer for a lent frame.
    #[error("no pool buffer for the frames to lend")]
    NoBuffer,
}

/// The generator device. See the module documentation.
#[derive(Debug)]
pub struct Generator {
    info: DeviceInfo,
    cache: PoolCache,
    templates: Vec<Vec<u8>>,
    /// The templates in pool buffers, when lending.
    lent: Vec<NetBuf>,
    /// Where the UDP header starts in a frame (behind a priority tag or not).
    udp_at: usize,
    stamp: Option<std::time::Instant>,
    next: usize,
    left: Option<u64>,
    stats: DeviceStats,
}

/// Ethernet, IPv4 and UDP headers.
const HEADERS: usize = 14 + 20 + 8;

/// One UDP frame of a flow, checksums computed.
pub fn udp_frame(config: &GeneratorConfig, src_port: u16) -> Vec<u8> {
    let frame_len = config.frame_len.max(HEADERS);
    let payload_len = frame_len - HEADERS;
    let mut frame = vec![0u8; frame_len];
    EthernetRepr {
        src_addr: config.mac,
        dst_addr: config.dst_mac,
        ethertype: EtherType::Ipv4,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    for (i, byte) in frame[HEADERS..].iter_mut().enumerate() {
        *byte = (i % 251) as u8;
    }
    let software = ChecksumCaps::software();
    let pair = IpPair::v4(config.src, *config.dst.ip());
    let udp = UdpRepr {
        src_port,
        dst_port: config.dst.port(),
        payload_len,
    };
    let _ = udp.emit(
        &mut UdpPacket::new_unchecked(&mut frame[34..]),
        &pair,
        &software,
    );
    let ip = Ipv4Repr {
        src_addr: config.src,
        dst_addr: *config.dst.ip(),
        protocol: IpProtocol::Udp,
        payload_len: 8 + payload_len,
        ttl: 64,
        dscp: 0,
        ecn: 0,
    };
    let _ = ip.emit(&mut Ipv4Packet::new_unchecked(&mut frame[14..]), &software);
    frame
}

impl Generator {
    /// A generator drawing buffers from `cache`.
    ///
    /// # Errors
    ///
    /// [`GeneratorError`] for a frame length out of range or no flows.
    pub fn new(config: &GeneratorConfig, cache: PoolCache) -> Result<Generator, GeneratorError> {
        if !(HEADERS..=1514).contains(&config.frame_len) {
            return Err(GeneratorError::FrameLen(config.frame_len));
        }
        if config.flows == 0 {
            return Err(GeneratorError::NoFlows);
        }
        let templates: Vec<Vec<u8>> = (0..config.flows)
            .map(|flow| {
                let frame = udp_frame(config, 10_000u16.wrapping_add(flow));
                if config.priorities > 0 {
                    let pcp = (flow % u16::from(config.priorities)) as u8;
                    crate::worker::tag_frame(&frame, pcp, 0)
                } else {
                    frame
                }
            })
            .collect();
        let mut cache = cache;
        let mut lent = Vec::new();
        if config.lend {
            for template in &templates {
                let mut buf = cache.alloc().map_err(|_| GeneratorError::NoBuffer)?;
                buf.put(template).map_err(|_| GeneratorError::NoBuffer)?;
                lent.push(buf);
            }
        }
        Ok(Generator {
            info: DeviceInfo {
                name: "gen0".to_owned(),
                kind: "generator",
                mac: config.mac,
                mtu: 1500,
                queue: 0,
                queues: 1,
                caps: ChecksumCaps::software(),
            },
            cache,
            templates,
            lent,
            udp_at: 34 + if config.priorities > 0 { 4 } else { 0 },
            stamp: config.stamp,
            next: 0,
            left: config.count,
            stats: DeviceStats::default(),
        })
    }

    /// Whether the configured count has been sent.
    pub fn is_done(&self) -> bool {
        self.left == Some(0)
    }
}

impl Device for Generator {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let want = match self.left {
            Some(left) => max.min(usize::try_from(left).unwrap_or(usize::MAX)),
            None => max,
        };
        if !self.lent.is_empty() {
            for _ in 0..want {
                let buf = &self.lent[self.next];
                self.stats.rx_bytes += buf.len() as u64;
                out.push(buf.clone());
                self.next += 1;
                if self.next == self.lent.len() {
                    self.next = 0;
                }
            }
            self.stats.rx_packets += want as u64;
            if let Some(left) = self.left.as_mut() {
                *left -= want as u64;
            }
            return want;
        }
        let start = out.len();
        let (templates, next) = (&self.templates, &mut self.next);
        let mut bytes = 0u64;
        // Written into fresh buffers where they lie, as a NIC writes.
        let got = self.cache.alloc_filled(want, out, |room| {
            let template = &templates[*next];
            *next += 1;
            if *next == templates.len() {
                *next = 0;
            }
            // A fresh buffer has room for any template (checked at creation).
            room.get_mut(..template.len())?.copy_from_slice(template);
            bytes += template.len() as u64;
            Some(template.len())
        });
        self.stats.rx_dropped += (want - got) as u64;
        self.stats.rx_bytes += bytes;
        if let Some(epoch) = self.stamp {
            for buf in &mut out[start..] {
                let ns = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
                stamp_frame(buf, self.udp_at, ns);
            }
        }
        self.stats.rx_packets += got as u64;
        if let Some(left) = self.left.as_mut() {
            *left -= got as u64;
        }
        got
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        let n = bufs.len();
        self.stats.tx_packets += n as u64;
        self.stats.tx_bytes += bufs.iter().map(|b| b.total_len() as u64).sum::<u64>();
        self.cache.free_all(bufs);
        n
    }

    fn stats(&self) -> DeviceStats {
        self.stats
    }
}

/// Writes `ns` into the first 8 payload bytes of the UDP datagram at
/// `udp_at`, updating its checksum word by word (RFC 1624).
fn stamp_frame(buf: &mut NetBuf, udp_at: usize, ns: u64) {
    let Ok(data) = buf.data_mut() else {
        return;
    };
    let Some(udp) = data.get_mut(udp_at..) else {
        return;
    };
    if udp.len() < 16 {
        return;
    }
    let mut sum = u16::from_be_bytes([udp[6], udp[7]]);
    let new = ns.to_be_bytes();
    for i in 0..4 {
        let at = 8 + 2 * i;
        let old = u16::from_be_bytes([udp[at], udp[at + 1]]);
        let word = u16::from_be_bytes([new[2 * i], new[2 * i + 1]]);
        if sum != 0 {
            sum = strata_l3l4::checksum::update_u16(sum, old, word);
        }
        udp[at..at + 2].copy_from_slice(&word.to_be_bytes());
    }
    // A computed checksum of zero is sent as all ones (RFC 768).
    if sum == 0 && u16::from_be_bytes([udp[6], udp[7]]) != 0 {
        sum = 0xffff;
    }
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_l3l4::frame::FrameHeaders;
    use strata_pools::{Pool, PoolConfig};

    #[test]
    fn frames_are_valid_udp_of_the_asked_size_across_flows() {
        let pool = Pool::new(PoolConfig::named("gen-test")).unwrap();
        let config = GeneratorConfig {
            flows: 3,
            count: Some(7),
            ..GeneratorConfig::default()
        };
        let mut generator = Generator::new(&config, pool.cache().unwrap()).unwrap();
        let mut out = Vec::new();
        assert_eq!(generator.rx_burst(&mut out, 32), 7);
        assert!(generator.is_done());
        assert_eq!(generator.rx_burst(&mut out, 32), 0);
        let ports: Vec<u16> = out
            .iter()
            .map(|b| {
                assert_eq!(b.len(), 60);
                let headers = FrameHeaders::parse_checked(b.data(), &ChecksumCaps::software())
                    .expect("valid frame");
                headers.ports().unwrap().0
            })
            .collect();
        assert_eq!(ports, [10000, 10001, 10002, 10000, 10001, 10002, 10000]);
        assert_eq!(generator.tx_burst(&mut out), 7);
        drop(generator);
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn lent_frames_are_the_same_bytes_without_a_copy() {
        let pool = Pool::new(PoolConfig::named("gen-lend")).unwrap();
        let config = GeneratorConfig {
            flows: 2,
            lend: true,
            ..GeneratorConfig::default()
        };
        let mut lending = Generator::new(&config, pool.cache().unwrap()).unwrap();
        let mut copying = Generator::new(
            &GeneratorConfig {
                lend: false,
                ..config.clone()
            },
            pool.cache().unwrap(),
        )
        .unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        assert_eq!(lending.rx_burst(&mut a, 4), 4);
        assert_eq!(copying.rx_burst(&mut b, 4), 4);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.data(), y.data());
        }
        assert!(!a[0].is_unique(), "a lent frame shares its buffer");
        drop((a, b, lending, copying));
        assert_eq!(pool.stats().free, pool.capacity());
    }

    #[test]
    fn stamped_frames_keep_valid_checksums_and_carry_the_time() {
        let pool = Pool::new(PoolConfig::named("gen-stamp")).unwrap();
        let epoch = std::time::Instant::now();
        for priorities in [0, 8] {
            let config = GeneratorConfig {
                flows: 4,
                priorities,
                stamp: Some(epoch),
                ..GeneratorConfig::default()
            };
            let mut generator = Generator::new(&config, pool.cache().unwrap()).unwrap();
            let mut out = Vec::new();
            assert_eq!(generator.rx_burst(&mut out, 16), 16);
            let limit = u64::try_from(epoch.elapsed().as_nanos()).unwrap();
            for buf in &out {
                let headers = FrameHeaders::parse_checked(buf.data(), &ChecksumCaps::software())
                    .expect("checksums still good");
                let stamp = stamp_of(headers.udp().unwrap().payload()).unwrap();
                assert!(stamp <= limit);
            }
        }
    }

    #[test]
    fn bad_configs_are_refused() {
        let pool = Pool::new(PoolConfig::named("gen-test2")).unwrap();
        let config = GeneratorConfig {
            frame_len: 20,
            ..GeneratorConfig::default()
        };
        assert_eq!(
            Generator::new(&config, pool.cache().unwrap()).err(),
            Some(GeneratorError::FrameLen(20))
        );
    }
}
