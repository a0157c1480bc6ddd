//! Parsing a received frame's headers, over the mix of the L2/L3 issue: Ethernet/IPv4/
//! UDP, Ethernet/IPv4/TCP, Ethernet/IPv6/UDP, Ethernet/VLAN/IPv4/UDP and an ARP request,
//! each small (a 64-byte frame on the wire, or near it).
//!
//! In one group, per frame of the mix:
//! - `strata_parse`: `FrameHeaders::parse`, the header walk with every length checked;
//! - `strata_parse_checked`: `FrameHeaders::parse_checked`, the walk plus the IPv4 header
//!   checksum, options and fragment checks and the UDP/TCP checksums;
//! - `etherparse`: `etherparse::SlicedPacket::from_ethernet`, the peer, which checks
//!   lengths but verifies no checksum.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use etherparse::{
    ArpHardwareId, ArpOperation, ArpPacket, EtherType, PacketBuilder, SlicedPacket, VlanId,
};
use strata_l3l4::frame::FrameHeaders;
use strata_l3l4::ChecksumCaps;

const SRC: [u8; 6] = [2, 0, 0, 0, 9, 1];
const DST: [u8; 6] = [2, 0, 0, 0, 9, 2];
const V4: ([u8; 4], [u8; 4]) = ([10, 9, 0, 1], [10, 9, 0, 2]);
const V6: ([u8; 16], [u8; 16]) = (
    [0xfd, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
    [0xfd, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
);

/// The five frames of the mix, built (with correct checksums) by etherparse.
fn mix() -> Vec<Vec<u8>> {
    let payload = [0x5au8; 18];
    let mut frames = Vec::new();
    let mut frame = Vec::new();
    PacketBuilder::ethernet2(SRC, DST)
        .ipv4(V4.0, V4.1, 64)
        .udp(40000, 5353)
        .write(&mut frame, &payload)
        .unwrap();
    frames.push(std::mem::take(&mut frame));
    PacketBuilder::ethernet2(SRC, DST)
        .ipv4(V4.0, V4.1, 64)
        .tcp(40000, 80, 1, 65535)
        .ack(1)
        .write(&mut frame, &payload[..6])
        .unwrap();
    frames.push(std::mem::take(&mut frame));
    PacketBuilder::ethernet2(SRC, DST)
        .ipv6(V6.0, V6.1, 64)
        .udp(40000, 5353)
        .write(&mut frame, &payload)
        .unwrap();
    frames.push(std::mem::take(&mut frame));
    PacketBuilder::ethernet2(SRC, DST)
        .single_vlan(VlanId::try_new(100).unwrap())
        .ipv4(V4.0, V4.1, 64)
        .udp(40000, 5353)
        .write(&mut frame, &payload)
        .unwrap();
    frames.push(std::mem::take(&mut frame));
    let arp = ArpPacket::new(
        ArpHardwareId::ETHERNET,
        EtherType::IPV4,
        ArpOperation::REQUEST,
        &SRC,
        &V4.0,
        &[0; 6],
        &V4.1,
    )
    .unwrap();
    PacketBuilder::ethernet2(SRC, [0xff; 6])
        .arp(arp)
        .write(&mut frame)
        .unwrap();
    frames.push(frame);
    frames
}

fn parse(c: &mut Criterion) {
    let frames = mix();
    let caps = ChecksumCaps::software();
    for frame in &frames {
        // Both sides must accept every frame, or the comparison means nothing.
        FrameHeaders::parse_checked(frame, &caps).expect("strata accepts the mix");
        SlicedPacket::from_ethernet(frame).expect("etherparse accepts the mix");
    }
    let mut g = c.benchmark_group("parse_mix");
    g.throughput(Throughput::Elements(frames.len() as u64));
    g.bench_function("strata_parse", |b| {
        b.iter(|| {
            for frame in &frames {
                let headers = FrameHeaders::parse(black_box(frame));
                black_box(&headers);
            }
        })
    });
    g.bench_function("strata_parse_checked", |b| {
        b.iter(|| {
            for frame in &frames {
                let headers = FrameHeaders::parse_checked(black_box(frame), &caps);
                black_box(&headers);
            }
        })
    });
    g.bench_function("etherparse", |b| {
        b.iter(|| {
            for frame in &frames {
                let sliced = SlicedPacket::from_ethernet(black_box(frame));
                black_box(&sliced);
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(30);
    targets = parse
}
criterion_main!(benches);
