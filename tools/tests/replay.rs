//! `strata replay` on crafted captures: every request gets its answer, hostile
//! frames are dropped and counted by reason, every buffer comes home, and every
//! frame Strata wrote passes tshark with checksum validation and no expert
//! warning (tshark judges only when installed; under `CI=true` it must be).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, IpNumber, NetSlice, PacketBuilder,
    SlicedPacket, TransportSlice,
};

const US_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
const US4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const PEER4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
const US6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1);
const PEER6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2);

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("strata-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A classic pcap file, microsecond stamps, one frame every 10 ms.
fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    bytes.extend_from_slice(&2u16.to_le_bytes());
    bytes.extend_from_slice(&4u16.to_le_bytes());
    bytes.extend_from_slice(&[0; 8]);
    bytes.extend_from_slice(&65535u32.to_le_bytes());
    bytes.extend_from_slice(&1u32.to_le_bytes());
    for (i, frame) in frames.iter().enumerate() {
        let micros = 1_000_000 + i as u32 * 10_000;
        bytes.extend_from_slice(&(micros / 1_000_000).to_le_bytes());
        bytes.extend_from_slice(&(micros % 1_000_000).to_le_bytes());
        bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        bytes.extend_from_slice(frame);
    }
    std::fs::write(path, bytes).unwrap();
}

/// The frames of a classic pcap file (either byte order, any stamp unit).
fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let little = match &bytes[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        other => panic!("not a pcap file: {other:02x?}"),
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = bytes[at..at + 4].try_into().unwrap();
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let mut frames = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let len = u32_at(at + 8) as usize;
        frames.push(bytes[at + 16..at + 16 + len].to_vec());
        at += 16 + len;
    }
    frames
}

fn arp_request() -> Vec<u8> {
    let arp = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REQUEST,
        &PEER_MAC,
        &PEER4.octets(),
        &[0; 6],
        &US4.octets(),
    )
    .unwrap();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, [0xff; 6])
        .arp(arp)
        .write(&mut frame)
        .unwrap();
    frame
}

fn ping4(ident: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv4(PEER4.octets(), US4.octets(), 64)
        .icmpv4_echo_request(ident, 1)
        .write(&mut frame, payload)
        .unwrap();
    frame
}

fn ping6(ident: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv6(PEER6.octets(), US6.octets(), 64)
        .icmpv6_echo_request(ident, 1)
        .write(&mut frame, payload)
        .unwrap();
    frame
}

fn udp4(port: u16, payload: &[u8]) -> Vec<u8> {
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, US_MAC)
        .ipv4(PEER4.octets(), US4.octets(), 64)
        .udp(40000, port)
        .write(&mut frame, payload)
        .unwrap();
    frame
}

/// The IPv4 fragments (1480 data bytes each) of `frame`, as Linux sends them.
fn fragment4(frame: &[u8], ident: u16) -> Vec<Vec<u8>> {
    let ip = &frame[14..];
    let l4 = &ip[20..];
    l4.chunks(1480)
        .enumerate()
        .map(|(i, chunk)| {
            let offset = i * 1480;
            let more = offset + chunk.len() < l4.len();
            let mut header = ip[..20].to_vec();
            header[2..4].copy_from_slice(&((20 + chunk.len()) as u16).to_be_bytes());
            header[4..6].copy_from_slice(&ident.to_be_bytes());
            let flags_offset = (u16::from(more) << 13) | (offset / 8) as u16;
            header[6..8].copy_from_slice(&flags_offset.to_be_bytes());
            header[10..12].fill(0);
            let sum = internet_checksum(&header);
            header[10..12].copy_from_slice(&sum.to_be_bytes());
            let mut out = frame[..14].to_vec();
            out.extend_from_slice(&header);
            out.extend_from_slice(chunk);
            out
        })
        .collect()
}

/// The IPv6 fragments (1232 data bytes each) of `frame`.
fn fragment6(frame: &[u8], ident: u32) -> Vec<Vec<u8>> {
    let ip = &frame[14..];
    let next_header = ip[6];
    let l4 = &ip[40..];
    l4.chunks(1232)
        .enumerate()
        .map(|(i, chunk)| {
            let offset = i * 1232;
            let more = offset + chunk.len() < l4.len();
            let mut out = frame[..14].to_vec();
            let mut header = ip[..40].to_vec();
            header[4..6].copy_from_slice(&((8 + chunk.len()) as u16).to_be_bytes());
            header[6] = 44;
            out.extend_from_slice(&header);
            out.push(next_header);
            out.push(0);
            out.extend_from_slice(&((offset as u16) | u16::from(more)).to_be_bytes());
            out.extend_from_slice(&ident.to_be_bytes());
            out.extend_from_slice(chunk);
            out
        })
        .collect()
}

fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The peer's neighbour solicitation for our address, with its link-layer
/// address (built by hand: type 135, target, option 1).
fn neighbour_solicitation() -> Vec<u8> {
    let target = US6.octets();
    let group = Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(target[13]),
        u16::from_be_bytes([target[14], target[15]]),
    );
    let mut message = vec![135, 0, 0, 0, 0, 0, 0, 0];
    message.extend_from_slice(&target);
    message.extend_from_slice(&[1, 1]);
    message.extend_from_slice(&PEER_MAC);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&PEER6.octets());
    pseudo.extend_from_slice(&group.octets());
    pseudo.extend_from_slice(&(message.len() as u32).to_be_bytes());
    pseudo.extend_from_slice(&[0, 0, 0, 58]);
    pseudo.extend_from_slice(&message);
    let sum = internet_checksum(&pseudo);
    message[2..4].copy_from_slice(&sum.to_be_bytes());
    let g = group.octets();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(PEER_MAC, [0x33, 0x33, g[12], g[13], g[14], g[15]])
        .ipv6(PEER6.octets(), g, 255)
        .write(&mut frame, IpNumber::IPV6_ICMP, &message)
        .unwrap();
    frame
}

fn run_replay(dir: &Path, frames: &[Vec<u8>], extra: &[&str]) -> (serde_json::Value, Vec<Vec<u8>>) {
    let input = dir.join("in.pcap");
    let output = dir.join("out.pcap");
    write_pcap(&input, frames);
    let mut args: Vec<String> = [
        "replay",
        "--pcap",
        input.to_str().unwrap(),
        "--tx-pcap",
        output.to_str().unwrap(),
        "--mac",
        "02:00:00:00:00:01",
        "--ip",
        "10.9.0.1/24",
        "--ip6",
        "fd00:9::1/64",
        "--json",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(&args)
        .output()
        .expect("run strata");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "strata replay failed: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("replay --json prints one JSON object");
    (json, read_pcap(&output))
}

/// What one written frame is.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    ArpReply,
    ArpRequest,
    EchoReply4 {
        ident: u16,
        len: usize,
    },
    EchoReply6 {
        ident: u16,
        len: usize,
    },
    PortUnreachable4,
    NeighborAdvert,
    /// Our own solicitations and reports (resolution, probes, MLD).
    NeighborSolicit,
    MldReport,
    Fragment4,
    Fragment6,
    Other(String),
}

fn classify(frame: &[u8]) -> Answer {
    let sliced = SlicedPacket::from_ethernet(frame).expect("every frame we write parses");
    match (&sliced.net, &sliced.transport) {
        (Some(NetSlice::Arp(arp)), _) => match arp.operation() {
            ArpOperation::REPLY => Answer::ArpReply,
            _ => Answer::ArpRequest,
        },
        (Some(NetSlice::Ipv4(ip)), _) if ip.header().is_fragmenting_payload() => Answer::Fragment4,
        (Some(NetSlice::Ipv6(ip)), _) if ip.is_payload_fragmented() => Answer::Fragment6,
        (_, Some(TransportSlice::Icmpv4(icmp))) => match icmp.icmp_type() {
            etherparse::Icmpv4Type::EchoReply(echo) => Answer::EchoReply4 {
                ident: echo.id,
                len: icmp.payload().len(),
            },
            etherparse::Icmpv4Type::DestinationUnreachable(_) => Answer::PortUnreachable4,
            other => Answer::Other(format!("{other:?}")),
        },
        (_, Some(TransportSlice::Icmpv6(icmp))) => match icmp.icmp_type() {
            etherparse::Icmpv6Type::EchoReply(echo) => Answer::EchoReply6 {
                ident: echo.id,
                len: icmp.payload().len(),
            },
            etherparse::Icmpv6Type::NeighborAdvertisement(na) if na.solicited => {
                Answer::NeighborAdvert
            }
            etherparse::Icmpv6Type::NeighborSolicitation => Answer::NeighborSolicit,
            etherparse::Icmpv6Type::Unknown { type_u8: 143, .. } => Answer::MldReport,
            other => Answer::Other(format!("{other:?}")),
        },
        other => Answer::Other(format!("{other:?}")),
    }
}

#[test]
fn requests_are_answered_and_hostile_frames_counted() {
    let dir = TempDir::new("replay");
    let big: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    let mut bad_checksum = udp4(9, b"bad");
    let last = bad_checksum.len() - 1;
    bad_checksum[last] ^= 0x55;
    let mut frames = vec![
        arp_request(),
        ping4(1, b"hello"),
        udp4(9999, b"nobody listens"),
        neighbour_solicitation(),
        ping6(2, b"hello6"),
        bad_checksum,
        vec![0xff; 9],
        vec![0u8; 60],
    ];
    frames.extend(fragment4(&ping4(3, &big), 0x4444));
    frames.extend(fragment6(&ping6(4, &big), 0x5555));
    let (json, written) = run_replay(&dir.0, &frames, &[]);
    let answers: Vec<Answer> = written.iter().map(|f| classify(f)).collect();
    let has = |a: &Answer| answers.contains(a);
    assert!(has(&Answer::ArpReply), "{answers:?}");
    assert!(has(&Answer::EchoReply4 { ident: 1, len: 5 }), "{answers:?}");
    assert!(has(&Answer::PortUnreachable4), "{answers:?}");
    assert!(has(&Answer::NeighborAdvert), "{answers:?}");
    assert!(has(&Answer::EchoReply6 { ident: 2, len: 6 }), "{answers:?}");
    // The 3000-byte pings come back fragmented: 3 IPv4 and 3 IPv6 fragments.
    let count = |a: Answer| answers.iter().filter(|x| **x == a).count();
    assert_eq!(count(Answer::Fragment4), 3, "{answers:?}");
    assert_eq!(count(Answer::Fragment6), 3, "{answers:?}");
    for answer in &answers {
        assert!(
            !matches!(answer, Answer::Other(_)),
            "unexpected frame {answer:?}"
        );
    }

    assert_eq!(json["replay"]["frames_in"], frames.len());
    assert_eq!(json["replay"]["buffers_home"], true);
    assert_eq!(json["protocols"]["udp"]["drop_reasons"]["checksum"], 1);
    assert_eq!(json["protocols"]["eth"]["drop_reasons"]["truncated"], 1);
    assert!(json["protocols"]["icmpv4"]["sent"].as_u64().unwrap() >= 2);
    for key in [
        "interfaces",
        "protocols",
        "stages",
        "pools",
        "queues",
        "rates",
    ] {
        assert!(json.get(key).is_some(), "stats JSON lacks {key}");
    }
    judge_with_tshark(&dir.0.join("out.pcap"), written.len());
}

#[test]
fn udp_echo_answers_when_configured() {
    let dir = TempDir::new("replay-echo");
    let frames = vec![arp_request(), udp4(7, b"echo me")];
    let (json, written) = run_replay(&dir.0, &frames, &["--udp-echo", "7"]);
    let echoed = written.iter().any(|frame| {
        let sliced = SlicedPacket::from_ethernet(frame).unwrap();
        matches!(&sliced.transport, Some(TransportSlice::Udp(udp))
            if udp.source_port() == 7 && udp.destination_port() == 40000 && udp.payload() == b"echo me")
    });
    assert!(echoed, "no echo among {} frames", written.len());
    assert_eq!(json["protocols"]["udp"]["sent"], 1);
}

#[test]
fn a_broken_capture_is_an_error_not_a_panic() {
    let dir = TempDir::new("replay-broken");
    let input = dir.0.join("broken.pcap");
    std::fs::write(&input, b"this is not a capture file at all").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(["replay", "--pcap", input.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("capture file"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn tshark_available() -> bool {
    if Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "tshark is missing; scripts/install-deps.sh installs it (Debian package `tshark`)"
    );
    eprintln!("SKIPPED: tshark is not installed; the replayed frames were not judged by tshark");
    false
}

/// tshark with IP and UDP checksum validation on: every frame decodes, no
/// checksum is bad, no expert message of warning or error severity.
fn judge_with_tshark(path: &Path, frames: usize) {
    if !tshark_available() {
        return;
    }
    let out = Command::new("tshark")
        .arg("-r")
        .arg(path)
        .args([
            "-n",
            "-o",
            "ip.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
        ])
        .args(["-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "_ws.expert.severity",
            "-e",
            "_ws.expert.message",
        ])
        .args(["-e", "ip.checksum.status", "-e", "udp.checksum.status"])
        .args(["-e", "icmp.checksum.status", "-e", "icmpv6.checksum.status"])
        .output()
        .expect("run tshark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), frames, "tshark read every frame");
    for line in lines {
        let fields: Vec<&str> = line.split('\t').collect();
        // Severity: PI_WARN is 0x00600000, PI_ERROR 0x00800000.
        for severity in fields[1].split('|').filter(|s| !s.is_empty()) {
            let value = severity
                .strip_prefix("0x")
                .map_or_else(
                    || severity.parse().ok(),
                    |h| u32::from_str_radix(h, 16).ok(),
                )
                .unwrap_or(u32::MAX);
            assert!(
                value < 0x0060_0000,
                "tshark complains about frame {}: {line}",
                fields[0]
            );
        }
        for status in fields[3..].iter().flat_map(|f| f.split('|')) {
            assert!(
                status != "0",
                "a bad checksum in frame {}: {line}",
                fields[0]
            );
        }
    }
}
