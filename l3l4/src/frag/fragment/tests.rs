use std::net::Ipv4Addr;

use proptest::prelude::*;
use strata_l2::Instant;

use super::*;
use crate::frag::{Config, Ipv4Reassembler, Ipv6Reassembler, Key};
use crate::wire::ipv6ext::{walk, ChainLimits};

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 251) as u8).collect()
}

/// A seeded xorshift shuffle, so that every run sees the same order.
fn shuffle<T>(items: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..items.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        items.swap(i, (seed % (i as u64 + 1)) as usize);
    }
}

fn v4_repr(payload_len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: Ipv4Addr::new(192, 0, 2, 1),
        dst_addr: Ipv4Addr::new(198, 51, 100, 7),
        protocol: IpProtocol::Udp,
        payload_len,
        ttl: 64,
        dscp: 10,
        ecn: 1,
    }
}

fn v6_repr(payload_len: usize) -> Ipv6Repr {
    Ipv6Repr {
        src_addr: "2001:db8::1".parse().unwrap(),
        dst_addr: "2001:db8::2".parse().unwrap(),
        next_header: IpProtocol::Udp,
        payload_len,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0x12345,
    }
}

/// Fragments an IPv4 datagram into wire packets.
fn fragment_v4(payload: &[u8], mtu: usize, ident: u16) -> Vec<Vec<u8>> {
    let repr = v4_repr(payload.len());
    let caps = ChecksumCaps::software();
    plan_ipv4_repr(&repr, mtu)
        .unwrap()
        .map(|spec| {
            let mut buf = vec![0; mtu];
            let len = emit_ipv4_fragment(&repr, ident, &spec, payload, &mut buf, &caps).unwrap();
            assert!(len <= mtu);
            buf.truncate(len);
            buf
        })
        .collect()
}

/// Fragments an IPv6 packet into wire packets.
fn fragment_v6(payload: &[u8], mtu: usize, ident: u32) -> Vec<Vec<u8>> {
    let repr = v6_repr(payload.len());
    plan_ipv6(0, payload.len(), mtu)
        .unwrap()
        .map(|spec| {
            let mut buf = vec![0; mtu];
            let len =
                emit_ipv6_fragment(&repr, &[], IpProtocol::Udp, ident, &spec, payload, &mut buf)
                    .unwrap();
            assert!(len <= mtu);
            buf.truncate(len);
            buf
        })
        .collect()
}

/// Parses IPv4 fragments as the receive path does and feeds them to `r`.
fn reassemble_v4(r: &mut Ipv4Reassembler, packets: &[Vec<u8>]) -> Option<Vec<u8>> {
    let caps = ChecksumCaps::software();
    let mut out = None;
    for bytes in packets {
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        let repr = Ipv4Repr::parse(&packet, &caps).unwrap();
        assert!(!packet.dont_frag());
        let key = Key::new(
            repr.src_addr,
            repr.dst_addr,
            repr.protocol,
            u32::from(packet.ident()),
        );
        let now = Instant::from_secs(1);
        let (offset, more) = (packet.frag_offset(), packet.more_frags());
        let header = &bytes[..packet.header_len()];
        let got = r
            .handle_fragment_with_header(now, key, offset, more, header, packet.payload())
            .unwrap();
        if let Some(done) = got {
            assert!(out.is_none());
            // The first fragment's header came back: offset 0, MF set unless atomic.
            let first = Ipv4Packet::new_unchecked(&done.header[..]);
            assert_eq!(
                (first.frag_offset(), first.more_frags()),
                (0, packets.len() > 1)
            );
            assert_eq!(first.src_addr(), repr.src_addr);
            out = Some(done.payload);
        }
    }
    out
}

/// Parses IPv6 fragments (finding the fragment header with the chain walk) and feeds
/// them to `r`.
fn reassemble_v6(r: &mut Ipv6Reassembler, packets: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut out = None;
    for bytes in packets {
        let packet = Ipv6Packet::new_checked(&bytes[..]).unwrap();
        let repr = Ipv6Repr::parse(&packet).unwrap();
        let chain = walk(repr.next_header, packet.payload(), &ChainLimits::DEFAULT).unwrap();
        let frag = chain.fragment.unwrap();
        let data = &packet.payload()[frag.header_offset + ipv6frag::HEADER_LEN..];
        let key = Key::new(
            repr.src_addr,
            repr.dst_addr,
            frag.repr.next_header,
            frag.repr.ident,
        );
        let now = Instant::from_secs(1);
        let got = r
            .handle_fragment(now, key, frag.repr.frag_offset, frag.repr.more_frags, data)
            .unwrap();
        if let Some(done) = got {
            assert!(out.is_none());
            out = Some(done.payload);
        }
    }
    out
}

#[test]
fn plan_ipv4_aligns_to_eight() {
    // 1500 - 24 = 1476, rounded down to 1472.
    let specs: Vec<_> = plan_ipv4(24, 3000, 1500).unwrap().collect();
    assert_eq!(specs.len(), 3);
    assert!(specs.iter().all(|s| s.offset % 8 == 0));
    assert_eq!(
        specs[0],
        FragmentSpec {
            offset: 0,
            more_frags: true,
            range: 0..1472
        }
    );
    assert_eq!(
        specs[2],
        FragmentSpec {
            offset: 2944,
            more_frags: false,
            range: 2944..3000
        }
    );
    assert_eq!(plan_ipv4(24, 3000, 1500).unwrap().len(), 3);
}

#[test]
fn plan_fits_in_one() {
    let specs: Vec<_> = plan_ipv4(20, 1480, 1500).unwrap().collect();
    assert_eq!(
        specs,
        [FragmentSpec {
            offset: 0,
            more_frags: false,
            range: 0..1480
        }]
    );
    let empty: Vec<_> = plan_ipv4(20, 0, 1500).unwrap().collect();
    assert_eq!(empty.len(), 1);
    assert!(empty[0].is_empty());
}

#[test]
fn plan_limits() {
    assert_eq!(
        plan_ipv4(20, 100, 67).unwrap_err(),
        FragmentError::MtuTooSmall
    );
    assert_eq!(plan_ipv4(60, 100, 67 + 1).unwrap().chunk(), 8);
    assert_eq!(
        plan_ipv4(20, 65516, 1500).unwrap_err(),
        FragmentError::TooLong
    );
    assert!(plan_ipv4(20, 65515, 1500).is_ok());
    assert_eq!(
        plan_ipv6(0, 100, 1279).unwrap_err(),
        FragmentError::MtuTooSmall
    );
    assert_eq!(
        plan_ipv6(1240, 100, 1280).unwrap_err(),
        FragmentError::MtuTooSmall
    );
    // 1280 - 40 - 8 = 1232 bytes per IPv6 fragment.
    assert_eq!(plan_ipv6(0, 100, 1280).unwrap().chunk(), 1232);
    assert_eq!(
        plan_ipv6(0, 65528, 1280).unwrap_err(),
        FragmentError::TooLong
    );
    assert!(plan_ipv6(0, 65527, 1280).is_ok());
}

#[test]
fn emit_ipv4_fragment_fields() {
    let payload = data(2000);
    let packets = fragment_v4(&payload, 1500, 0xbeef);
    assert_eq!(packets.len(), 2);
    let caps = ChecksumCaps::software();
    let first = Ipv4Packet::new_checked(&packets[0][..]).unwrap();
    first.validate(&caps).unwrap();
    assert_eq!(
        (first.ident(), first.more_frags(), first.frag_offset()),
        (0xbeef, true, 0)
    );
    assert_eq!(
        (first.total_len(), first.dscp(), first.ecn()),
        (1500, 10, 1)
    );
    assert_eq!(first.payload(), &payload[..1480]);
    let last = Ipv4Packet::new_checked(&packets[1][..]).unwrap();
    assert!(last.verify_checksum());
    assert_eq!(
        (last.more_frags(), last.frag_offset(), last.total_len()),
        (false, 1480, 540)
    );
    assert_eq!(last.payload(), &payload[1480..]);

    // Independent parse: etherparse reads the same fragment fields.
    let sliced = etherparse::Ipv4Slice::from_slice(&packets[1]).unwrap();
    assert_eq!(sliced.header().fragments_offset().value(), 1480 / 8);
    assert!(!sliced.header().more_fragments());
    assert_eq!(sliced.header().identification(), 0xbeef);
}

#[test]
fn emit_ipv4_checksum_offloaded() {
    let payload = data(100);
    let repr = v4_repr(100);
    let spec = plan_ipv4_repr(&repr, 68).unwrap().next().unwrap();
    let mut buf = [0xff; 68];
    let caps = ChecksumCaps::offloaded();
    assert_eq!(
        emit_ipv4_fragment(&repr, 1, &spec, &payload, &mut buf, &caps),
        Ok(68)
    );
    assert_eq!(Ipv4Packet::new_checked(&buf[..]).unwrap().checksum(), 0);
}

#[test]
fn emit_errors() {
    let payload = data(100);
    let repr = v4_repr(100);
    let spec = plan_ipv4_repr(&repr, 68).unwrap().next().unwrap();
    let caps = ChecksumCaps::software();
    let mut small = [0; 60];
    assert_eq!(
        emit_ipv4_fragment(&repr, 1, &spec, &payload, &mut small, &caps),
        Err(FragmentError::BufferTooSmall)
    );
    assert_eq!(
        emit_ipv4_fragment(&repr, 1, &spec, &payload[..10], &mut [0; 100], &caps),
        Err(FragmentError::TooLong)
    );
    let v6 = v6_repr(100);
    let spec = plan_ipv6(0, 100, 1280).unwrap().next().unwrap();
    assert_eq!(
        emit_ipv6_fragment(&v6, &[], IpProtocol::Udp, 1, &spec, &payload, &mut [0; 100]),
        Err(FragmentError::BufferTooSmall)
    );
}

#[test]
fn emit_ipv6_fragment_fields() {
    let payload = data(3000);
    let packets = fragment_v6(&payload, 1280, 0x0102_0304);
    assert_eq!(packets.len(), 3);
    let first = Ipv6Packet::new_checked(&packets[0][..]).unwrap();
    assert_eq!(
        (first.next_header(), first.payload_len()),
        (IpProtocol::Ipv6Frag, 1240)
    );
    let header = Ipv6FragHeader::new_checked(&first.payload()[..8]).unwrap();
    assert_eq!(
        (header.next_header(), header.ident()),
        (IpProtocol::Udp, 0x0102_0304)
    );
    assert_eq!((header.frag_offset(), header.more_frags()), (0, true));
    let last = Ipv6Packet::new_checked(&packets[2][..]).unwrap();
    let header = Ipv6FragHeader::new_checked(&last.payload()[..8]).unwrap();
    assert_eq!((header.frag_offset(), header.more_frags()), (2464, false));
    assert_eq!(&last.payload()[8..], &payload[2464..]);

    let sliced = etherparse::Ipv6Slice::from_slice(&packets[1]).unwrap();
    let frag = sliced.extensions().first_header();
    assert_eq!(frag, Some(etherparse::IpNumber::IPV6_FRAGMENTATION_HEADER));
}

#[test]
fn emit_ipv6_with_unfragmentable_part() {
    // A hop-by-hop header (two PadN bytes and a 4-byte PadN) naming the fragment header.
    let hbh = [44, 0, 1, 4, 0, 0, 0, 0];
    let repr = Ipv6Repr {
        next_header: IpProtocol::HopByHop,
        ..v6_repr(0)
    };
    let payload = data(2000);
    let specs: Vec<_> = plan_ipv6(hbh.len(), payload.len(), 1280).unwrap().collect();
    assert_eq!(specs[0].len(), 1224);
    let mut r = Ipv6Reassembler::new(Config::IPV6);
    let mut packets = Vec::new();
    for spec in &specs {
        let mut buf = vec![0; 1280];
        let len =
            emit_ipv6_fragment(&repr, &hbh, IpProtocol::Tcp, 9, spec, &payload, &mut buf).unwrap();
        buf.truncate(len);
        packets.push(buf);
    }
    packets.reverse();
    assert_eq!(reassemble_v6(&mut r, &packets), Some(payload));
}

#[test]
fn round_trip_v4_seeded() {
    for (seed, len, mtu) in [
        (1, 10_000, 1500),
        (2, 65_515, 576),
        (3, 5000, 68),
        (4, 1, 1500),
    ] {
        let payload = data(len);
        let mut packets = fragment_v4(&payload, mtu, seed as u16);
        shuffle(&mut packets, seed);
        let mut r = Ipv4Reassembler::new(Config::IPV4);
        assert_eq!(
            reassemble_v4(&mut r, &packets),
            Some(payload),
            "{len} {mtu}"
        );
        assert_eq!((r.datagrams(), r.buffered_bytes()), (0, 0));
    }
}

#[test]
fn round_trip_v6_seeded() {
    for (seed, len, mtu) in [(5, 10_000, 1500), (6, 65_527, 1280), (7, 3000, 9000)] {
        let payload = data(len);
        let mut packets = fragment_v6(&payload, mtu, seed as u32);
        shuffle(&mut packets, seed);
        let mut r = Ipv6Reassembler::new(Config::IPV6);
        assert_eq!(
            reassemble_v6(&mut r, &packets),
            Some(payload),
            "{len} {mtu}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip_v4(len in 0usize..=20_000, mtu in 68usize..=9000, seed: u64, dup: usize) {
        let payload = data(len);
        let mut packets = fragment_v4(&payload, mtu, 7);
        // A duplicate of one fragment, anywhere in the order, changes nothing.
        if packets.len() > 1 {
            let copy = packets[dup % packets.len()].clone();
            packets.push(copy);
        }
        shuffle(&mut packets, seed);
        let mut r = Ipv4Reassembler::new(Config::IPV4);
        let got = if packets.len() == 1 {
            let packet = Ipv4Packet::new_checked(&packets[0][..]).unwrap();
            prop_assert!(!packet.is_fragment());
            Some(packet.payload().to_vec())
        } else {
            reassemble_v4(&mut r, &packets)
        };
        prop_assert_eq!(got, Some(payload));
    }

    #[test]
    fn round_trip_v6(len in 0usize..=20_000, mtu in 1280usize..=9000, seed: u64) {
        let payload = data(len);
        let mut packets = fragment_v6(&payload, mtu, 7);
        shuffle(&mut packets, seed);
        let mut r = Ipv6Reassembler::new(Config::IPV6);
        prop_assert_eq!(reassemble_v6(&mut r, &packets), Some(payload));
    }
}

/// A datagram with a router alert (copied) and a record route (not copied) option.
fn datagram_with_options(payload_len: usize, dont_frag: bool) -> Vec<u8> {
    let options = [148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0];
    let header_len = ipv4::HEADER_LEN + options.len();
    let mut bytes = vec![0u8; header_len + payload_len];
    let repr = v4_repr(payload_len);
    let mut packet = Ipv4Packet::new_unchecked(&mut bytes[..]);
    repr.emit(&mut packet, &ChecksumCaps::software()).unwrap();
    packet.set_header_len(header_len);
    packet.set_total_len((header_len + payload_len) as u16);
    packet.set_ident(0xbeef);
    packet.clear_flags();
    packet.set_dont_frag(dont_frag);
    packet.options_mut().copy_from_slice(&options);
    packet.payload_mut().copy_from_slice(&data(payload_len));
    packet.fill_checksum();
    bytes
}

fn refragment(datagram: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    let packet = Ipv4Packet::new_checked(datagram).unwrap();
    let caps = ChecksumCaps::software();
    plan_ipv4_datagram(&packet, mtu)
        .unwrap()
        .map(|spec| {
            let mut buf = vec![0u8; mtu];
            let len = emit_ipv4_fragment_of(&packet, &spec, &mut buf, &caps).unwrap();
            buf.truncate(len);
            buf
        })
        .collect()
}

#[test]
fn forwarded_datagram_keeps_only_copied_options_after_the_first_fragment() {
    let datagram = datagram_with_options(1000, false);
    let fragments = refragment(&datagram, 576);
    assert_eq!(fragments.len(), 2);
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let mut whole = None;
    for (i, bytes) in fragments.iter().enumerate() {
        assert!(bytes.len() <= 576);
        let packet = Ipv4Packet::new_checked(&bytes[..]).unwrap();
        packet.validate(&ChecksumCaps::software()).unwrap();
        assert_eq!(packet.ident(), 0xbeef);
        assert_eq!(packet.ttl(), 64);
        assert_eq!(packet.dscp(), 10);
        if i == 0 {
            assert_eq!(packet.options(), &datagram[20..32]);
        } else {
            assert_eq!(packet.options(), &[148, 4, 0, 0]);
        }
        // An independent parser reads every fragment the same way.
        let theirs = etherparse::Ipv4Slice::from_slice(bytes).unwrap();
        assert_eq!(
            theirs.header().fragments_offset().byte_offset(),
            packet.frag_offset()
        );
        assert_eq!(theirs.header().more_fragments(), packet.more_frags());
        let key = Key::new(
            packet.src_addr(),
            packet.dst_addr(),
            packet.protocol(),
            0xbeef,
        );
        let got = r
            .handle_fragment(
                Instant::from_secs(1),
                key,
                packet.frag_offset(),
                packet.more_frags(),
                packet.payload(),
            )
            .unwrap();
        if let Some(done) = got {
            whole = Some(done.payload);
        }
    }
    assert_eq!(whole.unwrap(), data(1000));
}

#[test]
fn refragmenting_a_fragment_adds_offsets_and_keeps_more_fragments() {
    let datagram = datagram_with_options(1000, false);
    let first_pass = refragment(&datagram, 576);
    // The first fragment (MF set, 544 bytes of data) through a smaller link.
    let pieces = refragment(&first_pass[0], 300);
    let mut end = 0;
    for piece in &pieces {
        let packet = Ipv4Packet::new_checked(&piece[..]).unwrap();
        assert_eq!(usize::from(packet.frag_offset()), end);
        assert!(packet.more_frags(), "the original MF stays set");
        end += packet.payload_len();
    }
    // The second fragment (last, offset 544) through the same link: offsets continue
    // from 544 and only the very last piece clears MF.
    let second = Ipv4Packet::new_checked(&first_pass[1][..]).unwrap();
    assert_eq!(usize::from(second.frag_offset()), end);
    let pieces = refragment(&first_pass[1], 300);
    for (i, piece) in pieces.iter().enumerate() {
        let packet = Ipv4Packet::new_checked(&piece[..]).unwrap();
        assert_eq!(usize::from(packet.frag_offset()), end);
        assert_eq!(packet.more_frags(), i + 1 < pieces.len());
        assert_eq!(packet.options(), &[148, 4, 0, 0]);
        end += packet.payload_len();
    }
    assert_eq!(end, 1000);
}

#[test]
fn dont_fragment_is_refused_with_the_icmp_to_send() {
    let datagram = datagram_with_options(1000, true);
    let packet = Ipv4Packet::new_checked(&datagram[..]).unwrap();
    assert_eq!(
        plan_ipv4_datagram(&packet, 576).err(),
        Some(FragmentError::DontFragment)
    );
    // It fits: no fragmentation needed, DF or not.
    assert_eq!(plan_ipv4_datagram(&packet, 1500).unwrap().len(), 1);
    let spec = plan_ipv4(32, 1000, 576).unwrap().next().unwrap();
    let mut buf = [0u8; 576];
    assert_eq!(
        emit_ipv4_fragment_of(&packet, &spec, &mut buf, &ChecksumCaps::software()),
        Err(FragmentError::DontFragment)
    );
}
