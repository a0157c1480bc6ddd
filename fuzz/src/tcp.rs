//! Fuzz target body for the TCP header (`strata_l3l4::wire::tcp`): the view, the
//! option walk, and `Repr` parse/emit round trips over IPv4 and IPv6 pseudo-headers.

use std::net::{Ipv4Addr, Ipv6Addr};

use strata_l3l4::checksum::ChecksumCaps;
use strata_l3l4::wire::tcp::{HEADER_LEN, MAX_HEADER_LEN};
use strata_l3l4::{IpPair, TcpOption, TcpOptionIter, TcpPacket, TcpRepr};

/// The pseudo-header pairs the segment is tried with: the IPv4 pair of the captured
/// seeds (10.9.0.1 → 10.9.0.2, so their checksums verify) and an IPv6 one.
pub fn tcp_pairs() -> [IpPair; 2] {
    [
        IpPair::v4(Ipv4Addr::new(10, 9, 0, 1), Ipv4Addr::new(10, 9, 0, 2)),
        IpPair::v6(
            Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1),
            Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2),
        ),
    ]
}

/// A TCP segment (from the TCP header): view getters, every option (bounded, each
/// emitted and parsed back), then `TcpRepr::parse` over both pairs with software and
/// offloaded checksums; a parsed segment is emitted into exactly `buffer_len()` bytes
/// (payload copied in) and must parse back equal, with the same payload.
pub fn tcp(data: &[u8]) {
    let software = ChecksumCaps::software();
    let offloaded = ChecksumCaps::offloaded();
    let checked = TcpPacket::new_checked(data);
    if let Ok(packet) = &checked {
        let header_len = usize::from(packet.header_len());
        assert!(
            (HEADER_LEN..=MAX_HEADER_LEN).contains(&header_len) && header_len <= data.len(),
            "checked header length out of range"
        );
        let _ = (
            packet.src_port(),
            packet.dst_port(),
            packet.seq_number(),
            packet.ack_number(),
            packet.data_offset(),
            packet.flags(),
            packet.window_len(),
            packet.checksum(),
            packet.urgent_at(),
            packet.segment_len(),
        );
        let options = packet.options();
        assert_eq!(options.len(), header_len - HEADER_LEN, "options length");
        assert_eq!(
            packet.payload().len(),
            data.len() - header_len,
            "payload length"
        );
        tcp_options(options);
    }
    // Option walks over arbitrary bytes too, not only over a header's options.
    tcp_options(data.get(HEADER_LEN..).unwrap_or(&[]));

    for pair in tcp_pairs() {
        let unchecked = TcpPacket::new_unchecked(data);
        let soft = TcpRepr::parse(&unchecked, &pair, &software);
        let Ok(repr) = TcpRepr::parse(&unchecked, &pair, &offloaded) else {
            assert!(soft.is_err(), "TCP parses with checksums on but not off");
            continue;
        };
        if let Ok(soft) = soft {
            assert_eq!(soft, repr, "TCP parse depends on checksum caps");
        }
        let packet = checked
            .as_ref()
            .expect("TcpRepr::parse accepted what new_checked refused");
        let payload = packet.payload();
        assert_eq!(repr.payload_len, payload.len(), "TCP payload_len");
        assert_eq!(
            repr.ack.is_some(),
            repr.flags.contains(strata_l3l4::TcpFlags::ACK)
        );
        for caps in [software, offloaded] {
            let mut buf = vec![0u8; repr.buffer_len()];
            let header_len = repr.header_len();
            buf[header_len..].copy_from_slice(payload);
            repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), &pair, &caps)
                .expect("TCP emit of a parsed repr failed");
            let again = TcpPacket::new_checked(&buf[..]).expect("emitted TCP does not check");
            assert_eq!(
                usize::from(again.header_len()),
                header_len,
                "emitted header length"
            );
            assert_eq!(again.payload(), payload, "TCP payload moved");
            if caps.tcp.tx() {
                assert!(again.verify_checksum(&pair), "emitted TCP checksum");
            }
            let back = TcpRepr::parse(&again, &pair, &caps);
            assert_eq!(back, Ok(repr), "TCP round trip");
        }
    }
}

/// Walks `options`: never more items than bytes; each option parsed emits into its
/// `buffer_len()` and parses back to itself.
fn tcp_options(options: &[u8]) {
    let mut count = 0;
    for option in TcpOptionIter::new(options) {
        count += 1;
        assert!(count <= options.len(), "option walk longer than its bytes");
        let Ok(option) = option else { continue };
        let len = option.buffer_len();
        let mut buf = vec![0u8; len];
        let rest = option.emit(&mut buf);
        assert!(rest.is_empty(), "option emit length");
        let (rest, again) = TcpOption::parse(&buf).expect("emitted option does not parse");
        assert!(rest.is_empty(), "option parse length");
        assert_eq!(again, option, "TCP option round trip");
    }
}
