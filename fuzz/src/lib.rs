//! The bodies of Strata's fuzz targets, one public function per parser family.
//!
//! Every function takes any byte slice. It must never panic except through the
//! `assert!`s below, which state the properties the fuzzer hunts for:
//!
//! - parsing never panics (no index out of bounds, no overflow, no unbounded loop);
//! - when a parse succeeds, emitting the parsed representation into a buffer of
//!   exactly `buffer_len()` bytes succeeds, and parsing that buffer again gives the
//!   same representation (the round trip agrees).
//!
//! The `fuzz_targets/*.rs` files are one-line libFuzzer wrappers around these
//! functions, and `src/bin/replay.rs` runs them over the corpus with plain cargo.
//!
//! | target     | input                                   | function        |
//! |------------|-----------------------------------------|-----------------|
//! | `ethernet` | an Ethernet II frame                    | [`ethernet`]    |
//! | `arp`      | ARP packets and ARP cache commands      | [`arp`]         |
//! | `ipv4`     | an IPv4 datagram (from the IP header)   | [`ipv4`]        |
//! | `ipv6`     | an IPv6 packet (from the IP header)     | [`ipv6`]        |
//! | `tcp`      | a TCP segment (from the TCP header)     | [`tcp`]         |
//! | `reassembly` | a script of IPv4 and IPv6 fragments   | [`reassembly`]  |
//! | `nd_cache` | a script of ND messages and lookups     | [`nd_cache`]    |
//! | `addrconf` | a script of RAs, DAD probes and NAs     | [`addrconf`]    |
//! | `mld_listener` | an MLD query, then a listener script | [`mld_listener`] |
#![forbid(unsafe_code)]

use std::net::{Ipv4Addr, Ipv6Addr};

use strata_l2::{
    ArpCache, ArpConfig, ArpOperation, ArpPacket, ArpRepr, ArpTransmit, EtherType, EthernetAddress,
    EthernetFrame, EthernetRepr, Instant, Resolve, VlanRepr, VlanStack, VlanTag,
    ETHERNET_HEADER_LEN, VLAN_TAG_LEN,
};
use strata_l3l4::checksum::ChecksumCaps;
use strata_l3l4::frame::FrameHeaders;
use strata_l3l4::wire::ipv6ext::{self, ChainError, ChainLimits};
use strata_l3l4::wire::{icmpv6, mld, ndisc};
use strata_l3l4::{
    Icmpv4Packet, Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpPair, IpProtocol, Ipv4DropReason,
    Ipv4Packet, Ipv4Repr, Ipv6ExtHeader, Ipv6FragHeader, Ipv6FragRepr, Ipv6OptionsRepr, Ipv6Packet,
    Ipv6Repr, MldPacket, MldRecordRepr, MldReportRepr, NdiscOptions, NdiscPacket, NdiscRepr,
    UdpPacket, UdpRepr,
};

mod addrconf;
mod mld_listener;
mod nd_cache;
mod reassembly;
mod tcp;

pub use addrconf::addrconf;
pub use mld_listener::{mld_listener, mld_query, mld_script};
pub use nd_cache::nd_cache;
pub use reassembly::reassembly;
pub use tcp::{tcp, tcp_pairs};

/// A fuzz target's body.
pub type Target = fn(&[u8]);

/// The targets by name, for the replay binary.
pub const TARGETS: [(&str, Target); 9] = [
    ("ethernet", ethernet),
    ("arp", arp),
    ("ipv4", ipv4),
    ("ipv6", ipv6),
    ("tcp", tcp),
    ("reassembly", reassembly),
    ("nd_cache", nd_cache),
    ("addrconf", addrconf),
    ("mld_listener", mld_listener),
];

const SOFTWARE: ChecksumCaps = ChecksumCaps::software();
const OFFLOADED: ChecksumCaps = ChecksumCaps::offloaded();

// ---------------------------------------------------------------------------------
// Ethernet and VLAN
// ---------------------------------------------------------------------------------

/// The one-pass header walk of the receive path: never a panic, and the checked walk
/// accepts only what the plain walk accepts, finding the same headers; every view it
/// hands out reads without panicking.
fn frame_headers(data: &[u8]) {
    let plain = FrameHeaders::parse(data);
    for caps in [SOFTWARE, OFFLOADED] {
        let Ok(checked) = FrameHeaders::parse_checked(data, &caps) else {
            continue;
        };
        assert_eq!(
            plain,
            Ok(checked),
            "checked walk accepted what the plain walk refused"
        );
    }
    if let Ok(headers) = plain {
        assert!(headers.l3().len() <= data.len());
        assert!(headers.l4().len() <= headers.l3().len());
        let _ = (
            headers.flow().map(|f| f.symmetric_hash()),
            headers.dscp(),
            headers.ports(),
        );
        if let Some(udp) = headers.udp() {
            let _ = (udp.payload(), udp.checksum());
        }
        if let Some(tcp) = headers.tcp() {
            let _ = (tcp.payload(), tcp.option_iter().count());
        }
        if let Some(arp) = headers.arp() {
            let _ = arp.header_len();
        }
    }
}

/// Ethernet II header, the VLAN stack walk and every tag, then the payload handed to
/// the ARP, IPv4 or IPv6 target by the type the walk found.
pub fn ethernet(data: &[u8]) {
    frame_headers(data);
    let unchecked = EthernetFrame::new_unchecked(data);
    let parsed = EthernetRepr::parse(&unchecked);
    let Ok(frame) = EthernetFrame::new_checked(data) else {
        assert!(
            parsed.is_err(),
            "EthernetRepr::parse accepted a short frame"
        );
        return;
    };
    let _ = (
        frame.dst_addr(),
        frame.src_addr(),
        frame.ethertype(),
        frame.payload(),
    );
    if let Ok(repr) = parsed {
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        let again = EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap());
        assert_eq!(again, Ok(repr), "Ethernet round trip");
        assert_eq!(
            &buf[..],
            &data[..ETHERNET_HEADER_LEN],
            "Ethernet header bytes"
        );
    }

    // Every tag on its own, as the walk would meet it.
    let mut at = ETHERNET_HEADER_LEN;
    for _ in 0..4 {
        let Some(rest) = data.get(at..) else { break };
        if let Ok(tag) = VlanTag::new_checked(rest) {
            let _ = (
                tag.pcp(),
                tag.dei(),
                tag.vid(),
                tag.ethertype(),
                tag.payload(),
            );
        }
        if let Ok(repr) = VlanRepr::parse(&VlanTag::new_unchecked(rest)) {
            vlan_round_trip(&repr);
        }
        at += VLAN_TAG_LEN;
    }

    let stack = match VlanStack::parse(&frame) {
        Ok(stack) => stack,
        Err(_) => return,
    };
    assert!(!stack.ethertype.is_vlan(), "VlanStack ended on a VLAN type");
    assert!(stack.tag_count() <= VlanStack::MAX_TAGS);
    assert!(
        stack.header_len <= data.len(),
        "VlanStack header_len past the frame"
    );
    vlan_stack_round_trip(data, &stack);

    let payload = &data[stack.header_len..];
    match stack.ethertype {
        EtherType::Arp => {
            arp_repr(payload);
        }
        EtherType::Ipv4 => ipv4(payload),
        EtherType::Ipv6 => ipv6(payload),
        _ => {}
    }
}

fn vlan_round_trip(repr: &VlanRepr) {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
    let again = VlanRepr::parse(&VlanTag::new_checked(&buf[..]).unwrap());
    assert_eq!(again, Ok(*repr), "VLAN tag round trip");
}

/// Rebuilds the Ethernet header and tags from the parsed stack and walks it again.
fn vlan_stack_round_trip(data: &[u8], stack: &VlanStack) {
    let mut buf = data[..stack.header_len].to_vec();
    let eth = EthernetRepr {
        src_addr: EthernetAddress::from_bytes(&data[6..12]).unwrap(),
        dst_addr: EthernetAddress::from_bytes(&data[0..6]).unwrap(),
        ethertype: EtherType::from(u16::from_be_bytes([data[12], data[13]])),
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
    let mut at = ETHERNET_HEADER_LEN;
    while at < stack.header_len {
        let tag = VlanRepr::parse(&VlanTag::new_checked(&data[at..]).unwrap())
            .expect("a tag VlanStack accepted does not parse on its own");
        tag.emit(&mut VlanTag::new_unchecked(&mut buf[at..]));
        at += VLAN_TAG_LEN;
    }
    let again = VlanStack::parse(&EthernetFrame::new_checked(&buf[..]).unwrap());
    assert_eq!(again, Ok(*stack), "VLAN stack round trip");
}

// ---------------------------------------------------------------------------------
// ARP: the wire format, then the cache driven by the input
// ---------------------------------------------------------------------------------

/// The whole input as an ARP packet (parse and round trip), then the input as a
/// script of ARP cache commands (see [`arp_cache`]).
pub fn arp(data: &[u8]) {
    arp_repr(data);
    arp_cache(data);
}

/// Parses an ARP packet; a parsed one must emit and parse back to itself.
pub fn arp_repr(data: &[u8]) -> Option<ArpRepr> {
    if let Ok(packet) = ArpPacket::new_checked(data) {
        let _ = (
            packet.hardware_type(),
            packet.protocol_type(),
            packet.operation(),
            packet.source_hardware_addr(),
            packet.source_protocol_addr(),
            packet.target_hardware_addr(),
            packet.target_protocol_addr(),
        );
    }
    let repr = ArpRepr::parse(&ArpPacket::new_unchecked(data)).ok()?;
    let _ = (repr.is_probe(), repr.is_gratuitous(), repr.to_string());
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
    let again = ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap());
    assert_eq!(again, Ok(repr), "ARP round trip");
    Some(repr)
}

/// Our interface in the ARP cache script: the host 10.0.0.2 of the captured frames.
pub const ARP_OURS_MAC: EthernetAddress = EthernetAddress::new(0x02, 0x00, 0x5e, 0x10, 0x00, 0x02);
/// Our IPv4 addresses in the ARP cache script.
pub const ARP_OURS: [Ipv4Addr; 2] = [Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)];

/// Most commands one input runs (inputs are small anyway; this bounds the run time).
const ARP_MAX_COMMANDS: usize = 512;

/// Runs the input as a script of commands on a small ARP cache. Each command is an
/// opcode byte (taken modulo 8) and its operands:
///
/// | op | operands            | command                                            |
/// |----|---------------------|----------------------------------------------------|
/// | 0  | 28 bytes            | parse them as an ARP packet and `handle_arp` it    |
/// | 1  | 2 bytes, BE         | advance the clock by that many times 10 ms         |
/// | 2  | 1 byte `h`          | `resolve(10.0.0.h)` with a packet                  |
/// | 3  | 1 byte `h`          | `lookup(10.0.0.h)`                                 |
/// | 4  | none                | `handle_timeout` at `poll_at` (or now)             |
/// | 5  | 1 byte `h`          | `announce(10.0.0.h)`                               |
/// | 6  | 1 byte `h`          | `insert_permanent(10.0.0.h)` / `remove` / `confirm` |
/// | 7  | none                | `flush`                                            |
///
/// After every command the outputs are drained: every transmit is emitted, parsed
/// back and checked, the cache's bounds are asserted, and every packet handed in
/// is accounted for exactly once (sent, handed back, released, returned
/// unreachable, still waiting, or dropped). Packets whose neighbour failed to
/// resolve are left unpolled after a command whose opcode byte has its top bit
/// set, so that their bounded queue fills.
pub fn arp_cache(data: &[u8]) {
    let config = ArpConfig {
        capacity: 4,
        max_incomplete: 2,
        queue_per_neighbour: 2,
        queue_total: 4,
        transmit_capacity: 4,
        event_capacity: 4,
        ..ArpConfig::default()
    };
    let mut cache: ArpCache<u32> = ArpCache::new(config.clone(), ARP_OURS_MAC);
    let mut now_ms: u64 = 1_000;
    let mut next_packet: u32 = 0;
    // Packets handed in, and what became of them.
    let (mut handed, mut sent_now, mut handed_back, mut polled) = (0u64, 0u64, 0u64, 0u64);
    let host = |h: u8| Ipv4Addr::new(10, 0, 0, h);
    let mut rest = data;
    for _ in 0..ARP_MAX_COMMANDS {
        let Some((&op, tail)) = rest.split_first() else {
            break;
        };
        rest = tail;
        let now = Instant::from_millis(now_ms);
        match op % 8 {
            0 => {
                let Some(bytes) = rest.get(..28) else { break };
                rest = &rest[28..];
                if let Some(repr) = arp_repr(bytes) {
                    cache.handle_arp(now, &repr, &ARP_OURS);
                }
            }
            1 => {
                let Some(bytes) = rest.get(..2) else { break };
                rest = &rest[2..];
                now_ms += u64::from(u16::from_be_bytes([bytes[0], bytes[1]])) * 10;
            }
            2 | 3 | 5 | 6 => {
                let Some((&h, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                let addr = host(h);
                match op % 8 {
                    2 => {
                        next_packet += 1;
                        handed += 1;
                        match cache.resolve(now, addr, ARP_OURS[0], next_packet) {
                            Resolve::Send(mac, _) => {
                                assert!(!mac.is_unspecified(), "resolved to 00:00:00:00:00:00");
                                sent_now += 1;
                            }
                            Resolve::Queued { displaced } => {
                                handed_back += u64::from(displaced.is_some());
                            }
                            Resolve::Refused(..) => handed_back += 1,
                        }
                    }
                    3 => {
                        if let Some(mac) = cache.lookup(now, addr, ARP_OURS[0]) {
                            assert!(!mac.is_unspecified(), "looked up 00:00:00:00:00:00");
                        }
                    }
                    5 => cache.announce(now, addr),
                    _ => match h % 3 {
                        0 => {
                            let mac = EthernetAddress::new(0x02, 0, 0, 0, 0, h);
                            let _ = cache.insert_permanent(now, addr, mac);
                        }
                        1 => {
                            cache.remove(addr);
                        }
                        _ => cache.confirm(now, addr),
                    },
                }
            }
            4 => {
                let at = cache.poll_at().unwrap_or(now).max(now);
                now_ms = u64::try_from(at.since_epoch().as_millis()).unwrap_or(u64::MAX / 2);
                cache.handle_timeout(at);
            }
            _ => cache.flush(),
        }
        polled += drain_arp(
            &mut cache,
            &config,
            Instant::from_millis(now_ms),
            op & 0x80 == 0,
        );
        let stats = cache.stats();
        assert_eq!(
            handed,
            sent_now
                + handed_back
                + polled
                + cache.queued_len() as u64
                + cache.unreachable_len() as u64
                + stats.queue_failed,
            "a packet handed to the ARP cache was lost or duplicated"
        );
    }
    let stats = cache.stats();
    let _ = (
        stats.received(),
        stats.sent(),
        stats.dropped(),
        stats.drop_reasons(),
    );
}

/// Drains the outputs of the cache (those of `poll_unreachable` only if
/// `unreachable`), checking each; returns the packets released or returned
/// unreachable.
fn drain_arp(
    cache: &mut ArpCache<u32>,
    config: &ArpConfig,
    now: Instant,
    unreachable: bool,
) -> u64 {
    assert!(cache.len() <= config.capacity, "ARP cache over capacity");
    assert!(
        cache.incomplete_len() <= config.max_incomplete,
        "too many INCOMPLETE"
    );
    assert!(
        cache.queued_len() <= config.queue_total,
        "ARP queue over its bound"
    );
    assert!(
        cache.unreachable_len() <= config.queue_total,
        "ARP unreachable queue over its bound"
    );
    let mut frame = [0u8; ArpTransmit::BUFFER_LEN];
    let mut sent = 0;
    while let Some(tx) = cache.poll_transmit(now) {
        sent += 1;
        assert!(sent <= config.transmit_capacity + 1, "ARP outbox unbounded");
        assert_eq!(
            tx.repr.source_hardware_addr, ARP_OURS_MAC,
            "ARP sent as someone else"
        );
        let len = tx.emit(&mut frame);
        let eth = EthernetFrame::new_checked(&frame[..len]).unwrap();
        assert_eq!(EthernetRepr::parse(&eth), Ok(tx.ethernet_repr()));
        let back = ArpRepr::parse(&ArpPacket::new_checked(eth.payload()).unwrap());
        assert_eq!(back, Ok(tx.repr), "ARP transmit does not parse back");
        assert_ne!(tx.repr.operation, ArpOperation::Unknown(0));
    }
    let mut released = 0;
    while cache.poll_released().is_some() {
        released += 1;
        assert!(released <= config.queue_total + 1, "ARP released unbounded");
    }
    let mut returned = 0;
    if unreachable {
        while let Some((addr, _)) = cache.poll_unreachable() {
            returned += 1;
            assert!(returned <= config.queue_total, "ARP unreachable unbounded");
            assert_eq!(&addr.octets()[..3], &[10, 0, 0], "unreachable: not a host");
        }
    }
    let mut events = 0;
    while cache.poll_event().is_some() {
        events += 1;
        assert!(events <= config.event_capacity + 1, "ARP events unbounded");
    }
    let _ = cache.neighbours().count();
    (released + returned) as u64
}

// ---------------------------------------------------------------------------------
// IPv4, UDP, ICMPv4
// ---------------------------------------------------------------------------------

/// IPv4: the view, `validate`, the drop class, `Repr` with software and offloaded
/// checksums and its round trip, incremental checksum updates, then UDP or ICMPv4
/// over the payload.
pub fn ipv4(data: &[u8]) {
    fill_checksum_checked(data);
    let unchecked = Ipv4Packet::new_unchecked(data);
    for caps in [SOFTWARE, OFFLOADED] {
        let parsed = Ipv4Repr::parse(&unchecked, &caps);
        if let Err(err) = parsed {
            let _ = Ipv4DropReason::from(err).as_str();
        }
    }
    let Ok(packet) = Ipv4Packet::new_checked(data) else {
        return;
    };
    let _ = (
        packet.version(),
        packet.dscp(),
        packet.ecn(),
        packet.ident(),
        packet.more_frags(),
        packet.dont_frag(),
        packet.frag_offset(),
        packet.is_fragment(),
        packet.check_options(),
        packet.check_fragment(),
        packet.options(),
        packet.validate(&SOFTWARE),
    );
    let sum_ok = packet.verify_checksum();
    let caps = if sum_ok { SOFTWARE } else { OFFLOADED };
    let Ok(repr) = Ipv4Repr::parse(&packet, &caps) else {
        return;
    };
    let payload = packet.payload();
    assert_eq!(repr.payload_len, payload.len(), "IPv4 payload_len");

    // Round trip: an option-less header over the same payload.
    let mut buf = vec![0u8; repr.buffer_len()];
    buf[repr.header_len()..].copy_from_slice(payload);
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]), &SOFTWARE)
        .expect("IPv4 emit of a parsed repr failed");
    let again = Ipv4Repr::parse(&Ipv4Packet::new_checked(&buf[..]).unwrap(), &SOFTWARE);
    assert_eq!(again, Ok(repr), "IPv4 round trip");

    // RFC 1624 incremental updates keep a valid checksum valid.
    if sum_ok {
        let mut copy = data[..usize::from(packet.total_len())].to_vec();
        let mut p = Ipv4Packet::new_unchecked(&mut copy[..]);
        p.update_ttl(repr.ttl.wrapping_sub(1));
        assert!(p.verify_checksum(), "IPv4 checksum wrong after update_ttl");
        p.update_src_addr(Ipv4Addr::new(192, 0, 2, 1));
        p.update_dst_addr(repr.src_addr);
        assert!(
            p.verify_checksum(),
            "IPv4 checksum wrong after address rewrite"
        );
    }

    let pair = IpPair::v4(repr.src_addr, repr.dst_addr);
    match repr.protocol {
        IpProtocol::Udp => udp(payload, &pair),
        IpProtocol::Icmp => icmpv4(payload),
        _ => {
            udp(payload, &pair);
            icmpv4(payload);
        }
    }
}

/// UDP over `pair`: parse with software and offloaded checksums; a parsed datagram
/// re-emitted with a software checksum must parse back to itself.
pub fn udp(data: &[u8], pair: &IpPair) {
    let unchecked = UdpPacket::new_unchecked(data);
    let soft = UdpRepr::parse(&unchecked, pair, &SOFTWARE);
    let Ok(repr) = UdpRepr::parse(&unchecked, pair, &OFFLOADED) else {
        assert!(soft.is_err(), "UDP parses with checksums on but not off");
        return;
    };
    let packet = UdpPacket::new_checked(data).expect("UdpRepr::parse accepted a bad length");
    let _ = (packet.src_port(), packet.dst_port(), packet.checksum());
    let payload = packet.payload();
    assert_eq!(repr.payload_len, payload.len(), "UDP payload_len");
    let mut buf = vec![0u8; repr.buffer_len()];
    buf[repr.header_len()..].copy_from_slice(payload);
    repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), pair, &SOFTWARE)
        .expect("UDP emit of a parsed repr failed");
    let again = UdpRepr::parse(&UdpPacket::new_checked(&buf[..]).unwrap(), pair, &SOFTWARE);
    assert_eq!(again, Ok(repr), "UDP round trip");
}

/// ICMPv4: parse with software and offloaded checksums and round trip.
pub fn icmpv4(data: &[u8]) {
    let unchecked = Icmpv4Packet::new_unchecked(data);
    let _ = Icmpv4Repr::parse(&unchecked, &SOFTWARE);
    let Ok(repr) = Icmpv4Repr::parse(&unchecked, &OFFLOADED) else {
        return;
    };
    let packet = Icmpv4Packet::new_checked(data).unwrap();
    let _ = (
        packet.msg_type().is_error(),
        packet.pointer(),
        packet.next_hop_mtu(),
    );
    let body = packet.data();
    assert_eq!(repr.data_len(), body.len(), "ICMPv4 data_len");
    let mut buf = vec![0u8; repr.buffer_len()];
    buf[repr.header_len()..].copy_from_slice(body);
    repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]), &SOFTWARE)
        .expect("ICMPv4 emit of a parsed repr failed");
    let again = Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&buf[..]).unwrap(), &SOFTWARE);
    assert_eq!(again, Ok(repr), "ICMPv4 round trip");
}

// ---------------------------------------------------------------------------------
// IPv6, extension headers, ICMPv6, NDP, MLD
// ---------------------------------------------------------------------------------

/// IPv6: `Repr` and its round trip, the extension header walk (default and tight
/// limits) with options and fragment headers round-tripped, then the upper layer
/// the walk found: UDP, ICMPv6, neighbour discovery or an MLDv2 report.
pub fn ipv6(data: &[u8]) {
    fill_checksum_checked(data);
    let unchecked = Ipv6Packet::new_unchecked(data);
    let parsed = Ipv6Repr::parse(&unchecked);
    let Ok(packet) = Ipv6Packet::new_checked(data) else {
        return;
    };
    let _ = (
        packet.traffic_class(),
        packet.dscp(),
        packet.ecn(),
        packet.validate(),
    );
    let Ok(repr) = parsed else { return };
    let payload = packet.payload();
    assert_eq!(repr.payload_len, payload.len(), "IPv6 payload_len");

    let mut buf = vec![0u8; repr.buffer_len()];
    buf[repr.header_len()..].copy_from_slice(payload);
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]))
        .expect("IPv6 emit of a parsed repr failed");
    let again = Ipv6Repr::parse(&Ipv6Packet::new_checked(&buf[..]).unwrap());
    assert_eq!(again, Ok(repr), "IPv6 round trip");

    // The first extension header on its own, if it is one.
    ext_header(repr.next_header, payload);

    let tight = ChainLimits {
        max_headers: 2,
        max_len: 64,
    };
    let _ = ipv6ext::walk(repr.next_header, payload, &tight);
    let chain = match ipv6ext::walk(repr.next_header, payload, &ChainLimits::DEFAULT) {
        Ok(chain) => chain,
        Err(err) => {
            let _ = err.reason();
            if let ChainError::ParamProblem { pointer, .. } = err {
                assert!(
                    (pointer as usize) < data.len().max(40 + payload.len()),
                    "parameter problem pointer past the packet"
                );
            }
            return;
        }
    };
    assert!(
        chain.headers <= ChainLimits::DEFAULT.max_headers,
        "walk over max_headers"
    );
    assert!(
        chain.upper_offset <= payload.len(),
        "upper_offset past the payload"
    );
    if let Some(fragment) = chain.fragment {
        frag_round_trip(&fragment.repr);
        if !fragment.repr.is_atomic() {
            return; // the rest needs reassembly
        }
    }
    let upper = &payload[chain.upper_offset..];
    let (src, dst) = (repr.src_addr, repr.dst_addr);
    match chain.upper {
        IpProtocol::Udp => udp(upper, &IpPair::v6(src, dst)),
        IpProtocol::Icmpv6 => icmpv6_any(upper, &src, &dst, repr.hop_limit),
        _ => {}
    }
}

fn ext_header(first: IpProtocol, payload: &[u8]) {
    let Ok(header) = Ipv6ExtHeader::new_checked(payload) else {
        return;
    };
    let _ = (header.header_len(), header.body());
    match first {
        IpProtocol::HopByHop | IpProtocol::Ipv6Opts => {
            for option in header.options().take(2048) {
                let _ = option;
            }
            if let Ok(repr) = Ipv6OptionsRepr::parse(&header) {
                let mut buf = vec![0u8; repr.buffer_len()];
                repr.emit(&mut Ipv6ExtHeader::new_unchecked(&mut buf[..]))
                    .expect("IPv6 options emit of a parsed repr failed");
                let again = Ipv6OptionsRepr::parse(&Ipv6ExtHeader::new_checked(&buf[..]).unwrap());
                assert_eq!(again, Ok(repr), "IPv6 options header round trip");
            }
        }
        IpProtocol::Ipv6Route => {
            let _ = (header.routing_type(), header.segments_left());
        }
        IpProtocol::Ipv6Frag => {
            if let Ok(repr) = Ipv6FragRepr::parse(&Ipv6FragHeader::new_unchecked(payload)) {
                frag_round_trip(&repr);
            }
        }
        _ => {}
    }
}

fn frag_round_trip(repr: &Ipv6FragRepr) {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Ipv6FragHeader::new_unchecked(&mut buf[..]))
        .expect("IPv6 fragment header emit of a parsed repr failed");
    let again = Ipv6FragRepr::parse(&Ipv6FragHeader::new_checked(&buf[..]).unwrap());
    assert_eq!(again, Ok(*repr), "IPv6 fragment header round trip");
}

/// An ICMPv6 message of any kind, dispatched by type.
pub fn icmpv6_any(data: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr, hop_limit: u8) {
    let kind = match data.first() {
        Some(&kind) => icmpv6::Message::from(kind),
        None => return,
    };
    icmpv6_msg(data, src, dst);
    if kind.is_ndisc() {
        ndisc_msg(data, src, dst, hop_limit);
        // The same message as if it had come with hop limit 255 and a valid checksum.
        ndisc_msg(data, src, dst, ndisc::HOP_LIMIT);
    }
    if kind.is_mld() {
        mld_msg(data, src, dst);
    }
}

fn icmpv6_msg(data: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) {
    let unchecked = Icmpv6Packet::new_unchecked(data);
    let _ = Icmpv6Repr::parse(&unchecked, src, dst, &SOFTWARE);
    let Ok(repr) = Icmpv6Repr::parse(&unchecked, src, dst, &OFFLOADED) else {
        return;
    };
    let packet = Icmpv6Packet::new_checked(data).unwrap();
    let body = packet.data();
    assert_eq!(repr.data_len(), body.len(), "ICMPv6 data_len");
    let mut buf = vec![0u8; repr.buffer_len()];
    buf[repr.header_len()..].copy_from_slice(body);
    repr.emit(
        &mut Icmpv6Packet::new_unchecked(&mut buf[..]),
        src,
        dst,
        &SOFTWARE,
    )
    .expect("ICMPv6 emit of a parsed repr failed");
    let again = Icmpv6Repr::parse(
        &Icmpv6Packet::new_checked(&buf[..]).unwrap(),
        src,
        dst,
        &SOFTWARE,
    );
    assert_eq!(again, Ok(repr), "ICMPv6 round trip");
}

fn ndisc_msg(data: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr, hop_limit: u8) {
    let Ok(packet) = NdiscPacket::new_checked(data) else {
        return;
    };
    let _ = ndisc::validate(&packet, hop_limit, src, dst);
    // Every option: emit it alone and read it back.
    if let Some(fixed) = ndisc::fixed_len(packet.msg_type()) {
        for option in NdiscOptions::new(&data[fixed..]).take(1024) {
            let Ok(option) = option else { continue };
            let mut buf = vec![0u8; option.buffer_len()];
            let len = option
                .emit(&mut buf)
                .expect("NDP option emit of a parsed option failed");
            assert_eq!(len, buf.len(), "NDP option emit length");
            let again = NdiscOptions::new(&buf).next();
            assert_eq!(again, Some(Ok(option)), "NDP option round trip");
        }
    }
    let _ = NdiscRepr::parse(&packet, src, dst, hop_limit, &SOFTWARE);
    let Ok(repr) = NdiscRepr::parse(&packet, src, dst, hop_limit, &OFFLOADED) else {
        return;
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(
        &mut NdiscPacket::new_unchecked(&mut buf[..]),
        src,
        dst,
        &SOFTWARE,
    )
    .expect("NDP emit of a parsed repr failed");
    let again = NdiscRepr::parse(
        &NdiscPacket::new_checked(&buf[..]).unwrap(),
        src,
        dst,
        hop_limit,
        &SOFTWARE,
    );
    assert_eq!(again, Ok(repr), "NDP round trip");
}

fn mld_msg(data: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) {
    let Ok(packet) = MldPacket::new_checked(data) else {
        return;
    };
    let _ = (packet.nr_records(), packet.verify_checksum(src, dst));
    let mut records = Vec::new();
    for record in packet.records() {
        let Ok(record) = record else { return };
        records.push(MldRecordRepr {
            record_type: record.record_type,
            group: record.group,
        });
    }
    // A report of the same records (sources and aux data are not in the repr).
    let report = MldReportRepr { records: &records };
    let mut buf = vec![0u8; report.buffer_len()];
    report
        .emit(
            &mut MldPacket::new_unchecked(&mut buf[..]),
            src,
            dst,
            &SOFTWARE,
        )
        .expect("MLD emit of parsed records failed");
    let again = MldPacket::new_checked(&buf[..]).expect("emitted MLD report does not check");
    assert!(
        again.verify_checksum(src, dst),
        "emitted MLD report has a bad checksum"
    );
    let back: Vec<MldRecordRepr> = again
        .records()
        .map(|r| {
            let r = r.expect("emitted MLD record does not parse");
            MldRecordRepr {
                record_type: r.record_type,
                group: r.group,
            }
        })
        .collect();
    assert_eq!(back, records, "MLD report round trip");
    let _ = mld::RECORD_LEN;
}

/// `fill_l4_checksum` (what the AF_PACKET driver runs on frames the kernel
/// marks `TP_STATUS_CSUMNOTREADY`) on any bytes: no panic, the length
/// unchanged, and a packet it filled in verifies afterwards (filling twice
/// changes nothing).
fn fill_checksum_checked(data: &[u8]) {
    let mut once = data.to_vec();
    if strata_l3l4::checksum::fill_l4_checksum(&mut once) {
        let mut twice = once.clone();
        assert!(strata_l3l4::checksum::fill_l4_checksum(&mut twice));
        assert_eq!(once, twice, "filling a filled checksum changed it");
    } else {
        assert_eq!(once, data, "a refused packet was changed");
    }
}
