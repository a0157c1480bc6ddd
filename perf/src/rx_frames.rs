//! The frames of the RX-path comparison (issue 4, "Targets"): identical
//! Ethernet II / IPv4 / UDP frames for every stack measured (Strata, smoltcp,
//! the kernel's payload size), built with Strata's own emit code.
//!
//! # Frame sizes
//!
//! A size is counted the way DPDK, pktgen and the "64-byte frame" figures
//! count it: with the 4-byte FCS, which a NIC checks and strips and which no
//! stack here ever sees. So a **64-byte frame is 60 stored bytes** (the
//! Ethernet minimum without FCS): 14 Ethernet + 20 IPv4 + 8 UDP + **18 bytes
//! of payload**; a 1500-byte frame is 1496 stored bytes with 1454 bytes of
//! payload. [`stored_len`] and [`payload_len`] do the arithmetic; sizes from
//! [`MIN_FRAME_SIZE`] (64) to [`MAX_FRAME_SIZE`] (1518, a 1500-byte MTU) are
//! accepted.
//!
//! # The frames
//!
//! [`udp_frames`] builds `flows` frames from [`PEER`] to [`TARGET`], frame `k`
//! from source port [`RxPeer::base_port`]` + k`. Each has a valid IPv4 header
//! checksum (identification 0, DF, TTL 64) and a valid UDP checksum, so a
//! stack verifying both in software accepts every one. The payload starts
//! with the frame's index `k` as a big-endian `u32` (when the payload has room
//! for it: [`payload_tag`]) followed by the bytes `k + i` (mod 256), so a
//! receiver can check cheaply that what it read is what was sent, in order.
//! Every stack is fed these frames in a loop: frame `n % flows` is the `n`-th
//! packet.
//!
//! [`RxOutcome`] is what every subject of the comparison reports.

use std::fmt;
use std::net::Ipv4Addr;

use strata_engine::l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr};
use strata_engine::l3l4::{
    ChecksumCaps, IpPair, IpProtocol, Ipv4Packet, Ipv4Repr, UdpPacket, UdpRepr,
};

/// The 4-byte frame check sequence, counted in a frame size but never stored.
pub const FCS_LEN: usize = 4;
/// Ethernet II + IPv4 (no options) + UDP headers.
pub const HEADERS_LEN: usize = 14 + 20 + 8;
/// The smallest frame size (with FCS): 60 stored bytes.
pub const MIN_FRAME_SIZE: usize = 64;
/// The largest frame size (with FCS) for a 1500-byte MTU: 1514 stored bytes.
pub const MAX_FRAME_SIZE: usize = 1518;
/// Sizes the comparison reports by default.
pub const DEFAULT_SIZES: [usize; 2] = [64, 1500];

/// The receiving side: the address of the stack under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxTarget {
    /// The receiving interface's MAC address.
    pub mac: EthernetAddress,
    /// The receiving interface's IPv4 address.
    pub ip: Ipv4Addr,
    /// The UDP port the socket under test is bound to.
    pub port: u16,
}

/// The sending side the frames claim to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxPeer {
    /// The sender's MAC address.
    pub mac: EthernetAddress,
    /// The sender's IPv4 address.
    pub ip: Ipv4Addr,
    /// Source port of flow 0; flow `k` uses `base_port + k`.
    pub base_port: u16,
}

/// Where every stack under test listens: 02:00:00:00:00:02, 10.0.0.2, UDP 9000.
pub const TARGET: RxTarget = RxTarget {
    mac: EthernetAddress::new(0x02, 0x00, 0x00, 0x00, 0x00, 0x02),
    ip: Ipv4Addr::new(10, 0, 0, 2),
    port: 9000,
};

/// Where the frames come from: 02:00:00:00:00:01, 10.0.0.1, ports 10000 and up.
pub const PEER: RxPeer = RxPeer {
    mac: EthernetAddress::new(0x02, 0x00, 0x00, 0x00, 0x00, 0x01),
    ip: Ipv4Addr::new(10, 0, 0, 1),
    base_port: 10000,
};

/// The prefix length of the target's address (10.0.0.0/24).
pub const PREFIX_LEN: u8 = 24;

/// Why frames could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameSpecError {
    /// The size is outside [`MIN_FRAME_SIZE`]..=[`MAX_FRAME_SIZE`].
    Size(usize),
    /// No flows, or more than the source ports from the peer's base port allow.
    Flows(usize),
}

impl fmt::Display for FrameSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameSpecError::Size(s) => write!(
                f,
                "frame size {s} is outside {MIN_FRAME_SIZE}..={MAX_FRAME_SIZE} (sizes count the 4-byte FCS)"
            ),
            FrameSpecError::Flows(n) => write!(f, "{n} flows: need 1 to 4096"),
        }
    }
}

impl std::error::Error for FrameSpecError {}

/// The most flows [`udp_frames`] builds.
pub const MAX_FLOWS: usize = 4096;

/// Stored bytes of a frame of `size` bytes counted with its FCS (`size - 4`).
///
/// # Errors
/// [`FrameSpecError::Size`] outside 64..=1518.
pub const fn stored_len(size: usize) -> Result<usize, FrameSpecError> {
    if size < MIN_FRAME_SIZE || size > MAX_FRAME_SIZE {
        return Err(FrameSpecError::Size(size));
    }
    Ok(size - FCS_LEN)
}

/// UDP payload bytes of a frame of `size` bytes (with FCS): 18 at 64, 1454 at 1500.
///
/// # Errors
/// [`FrameSpecError::Size`] outside 64..=1518.
pub const fn payload_len(size: usize) -> Result<usize, FrameSpecError> {
    match stored_len(size) {
        Ok(n) => Ok(n - HEADERS_LEN),
        Err(e) => Err(e),
    }
}

/// The tag a received payload starts with: the big-endian frame index of its
/// first four bytes (`None` for a payload shorter than that).
#[inline]
pub fn payload_tag(payload: &[u8]) -> Option<u32> {
    payload
        .get(..4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The payload of frame `index` of `len` bytes, as [`udp_frames`] writes it.
pub fn payload_of(index: usize, len: usize) -> Vec<u8> {
    let mut p: Vec<u8> = (0..len).map(|i| (index + i) as u8).collect();
    let tag = (index as u32).to_be_bytes();
    let n = len.min(4);
    p[..n].copy_from_slice(&tag[..n]);
    p
}

/// Builds `flows` frames of `size` bytes (counted with the FCS; see the module
/// docs) from `peer` to `target`, frame `k` from source port
/// `peer.base_port + k`, with both checksums computed.
///
/// # Errors
/// [`FrameSpecError`] for a size outside 64..=1518 or a flow count outside
/// 1..=[`MAX_FLOWS`] (or past port 65535).
pub fn udp_frames_between(
    peer: &RxPeer,
    target: &RxTarget,
    size: usize,
    flows: usize,
) -> Result<Vec<Vec<u8>>, FrameSpecError> {
    let stored = stored_len(size)?;
    let payload = stored - HEADERS_LEN;
    if flows == 0 || flows > MAX_FLOWS || usize::from(peer.base_port) + flows - 1 > 65535 {
        return Err(FrameSpecError::Flows(flows));
    }
    let caps = ChecksumCaps::software();
    let pair = IpPair::v4(peer.ip, target.ip);
    let eth = EthernetRepr {
        src_addr: peer.mac,
        dst_addr: target.mac,
        ethertype: EtherType::Ipv4,
    };
    let udp_len = 8 + payload;
    let ip = Ipv4Repr {
        src_addr: peer.ip,
        dst_addr: target.ip,
        protocol: IpProtocol::Udp,
        payload_len: udp_len,
        ttl: 64,
        dscp: 0,
        ecn: 0,
    };
    let mut frames = Vec::with_capacity(flows);
    for k in 0..flows {
        let mut f = vec![0u8; stored];
        eth.emit(&mut EthernetFrame::new_unchecked(&mut f[..]));
        let l3 = eth.buffer_len();
        let l4 = l3 + ip.header_len();
        // The payload is in place before the UDP header is emitted (its checksum covers it).
        f[l4 + 8..].copy_from_slice(&payload_of(k, payload));
        let udp = UdpRepr {
            src_port: peer.base_port + k as u16,
            dst_port: target.port,
            payload_len: payload,
        };
        udp.emit(&mut UdpPacket::new_unchecked(&mut f[l4..]), &pair, &caps)
            .expect("the buffer holds the datagram and the payload is below the limit");
        ip.emit(&mut Ipv4Packet::new_unchecked(&mut f[l3..]), &caps)
            .expect("the buffer holds the header and the datagram is below 64 KiB");
        frames.push(f);
    }
    Ok(frames)
}

/// [`udp_frames_between`] from [`PEER`] to [`TARGET`]: the frames every stack
/// of the comparison receives.
///
/// # Errors
/// As [`udp_frames_between`].
pub fn udp_frames(size: usize, flows: usize) -> Result<Vec<Vec<u8>>, FrameSpecError> {
    udp_frames_between(&PEER, &TARGET, size, flows)
}

/// What one measurement of a receive path reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RxOutcome {
    /// Packets offered to the stack in the measured part.
    pub packets: u64,
    /// Datagrams the application read, each checked (length and tag).
    pub received: u64,
    /// Wall-clock nanoseconds per offered packet over the measured part.
    pub ns_per_packet: f64,
}

impl RxOutcome {
    /// Millions of packets received per second.
    pub fn mpps(&self) -> f64 {
        if self.ns_per_packet > 0.0 && self.packets > 0 {
            1e3 / self.ns_per_packet * (self.received as f64 / self.packets as f64)
        } else {
            0.0
        }
    }

    /// Whether every offered packet reached the application.
    pub fn lossless(&self) -> bool {
        self.received == self.packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strata_engine::l3l4::frame::{FrameHeaders, Network, Transport};

    #[test]
    fn sizes_count_the_fcs() {
        assert_eq!(stored_len(64), Ok(60));
        assert_eq!(payload_len(64), Ok(18));
        assert_eq!(stored_len(1500), Ok(1496));
        assert_eq!(payload_len(1500), Ok(1454));
        assert_eq!(payload_len(1518), Ok(1472));
        assert_eq!(stored_len(63), Err(FrameSpecError::Size(63)));
        assert_eq!(stored_len(1519), Err(FrameSpecError::Size(1519)));
        assert!(udp_frames(64, 0).is_err());
        assert!(udp_frames(64, MAX_FLOWS + 1).is_err());
        assert!(udp_frames_between(
            &RxPeer {
                base_port: 65535,
                ..PEER
            },
            &TARGET,
            64,
            2
        )
        .is_err());
        assert!(FrameSpecError::Size(2).to_string().contains("FCS"));
    }

    #[test]
    fn frames_parse_back_with_strata_and_checksums_verified() {
        for size in [64, 65, 128, 1500, 1518] {
            let frames = udp_frames(size, 7).unwrap();
            assert_eq!(frames.len(), 7);
            for (k, f) in frames.iter().enumerate() {
                assert_eq!(f.len(), size - 4);
                let h = FrameHeaders::parse_checked(f, &ChecksumCaps::software())
                    .unwrap_or_else(|e| panic!("size {size} frame {k}: {e}"));
                assert_eq!(
                    (h.network(), h.transport()),
                    (Network::Ipv4, Transport::Udp)
                );
                assert_eq!(h.ports(), Some((PEER.base_port + k as u16, TARGET.port)));
                let ip = h.ipv4().unwrap();
                assert_eq!((ip.src_addr(), ip.dst_addr()), (PEER.ip, TARGET.ip));
                assert!(ip.verify_checksum());
                let udp = h.udp().unwrap();
                assert!(udp.verify_checksum(&IpPair::v4(PEER.ip, TARGET.ip)));
                assert_ne!(udp.checksum(), 0, "a computed checksum, not 'none'");
                assert_eq!(udp.payload(), payload_of(k, payload_len(size).unwrap()));
                assert_eq!(payload_tag(udp.payload()), Some(k as u32));
                let eth =
                    EthernetRepr::parse(&EthernetFrame::new_checked(&f[..]).unwrap()).unwrap();
                assert_eq!((eth.src_addr, eth.dst_addr), (PEER.mac, TARGET.mac));
            }
        }
    }

    #[test]
    fn a_flipped_byte_fails_the_udp_checksum() {
        let mut f = udp_frames(64, 1).unwrap().remove(0);
        *f.last_mut().unwrap() ^= 1;
        assert!(FrameHeaders::parse_checked(&f, &ChecksumCaps::software()).is_err());
        assert!(FrameHeaders::parse(&f).is_ok());
    }

    #[test]
    fn etherparse_agrees() {
        use etherparse::{NetSlice, SlicedPacket, TransportSlice};
        for size in [64, 1500] {
            for (k, f) in udp_frames(size, 3).unwrap().iter().enumerate() {
                let p = SlicedPacket::from_ethernet(f).unwrap();
                let Some(NetSlice::Ipv4(ip)) = &p.net else {
                    panic!("not IPv4")
                };
                let h = ip.header().to_header();
                assert_eq!(h.header_checksum, h.calc_header_checksum());
                assert_eq!(h.source, PEER.ip.octets());
                assert_eq!(h.destination, TARGET.ip.octets());
                assert!(h.dont_fragment);
                let Some(TransportSlice::Udp(udp)) = &p.transport else {
                    panic!("not UDP")
                };
                let uh = udp.to_header();
                assert_eq!(uh.source_port, PEER.base_port + k as u16);
                assert_eq!(uh.destination_port, TARGET.port);
                assert_eq!(
                    uh.checksum,
                    uh.calc_checksum_ipv4(&h, udp.payload()).unwrap()
                );
                assert_eq!(udp.payload().len(), payload_len(size).unwrap());
            }
        }
    }

    #[test]
    fn outcome_rates() {
        let o = RxOutcome {
            packets: 100,
            received: 100,
            ns_per_packet: 40.0,
        };
        assert!((o.mpps() - 25.0).abs() < 1e-9 && o.lossless());
        let half = RxOutcome { received: 50, ..o };
        assert!((half.mpps() - 12.5).abs() < 1e-9 && !half.lossless());
    }
}
