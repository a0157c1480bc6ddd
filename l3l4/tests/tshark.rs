//! Frames our own emit paths and state machines (ARP cache, neighbour cache, address
//! autoconfiguration, MLD listener) produce, judged by an independent dissector: `tshark`.
//!
//! Every frame is built whole (Ethernet header included) with the crates' `emit`
//! functions and software checksums, written to a classic pcap file, and read back by
//! `tshark` with IP and UDP checksum validation turned on (tshark 4.0 always validates
//! the ICMP and ICMPv6 checksums; it has no preference for them). The test fails on any
//! expert message of severity warning or error (malformed packets, bad checksums, bad
//! lengths), on any frame tshark decodes as other protocols than the ones meant, and
//! unless tshark verified every checksum of the frame (quoted ones included) as good.
//! A second capture of deliberately corrupted frames checks that those settings really
//! make tshark complain, so a quiet run means something.
//!
//! Without `tshark` on the `PATH` the test says so and passes, unless `CI` is `true`:
//! there `scripts/install-deps.sh` should have installed it, and its absence fails.

use core::time::Duration;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use strata_l2::{
    ArpCache, ArpConfig, ArpOperation, ArpRepr, EtherType, EthernetAddress, EthernetFrame,
    EthernetRepr, Instant, TransmitKind,
};
use strata_l3l4::frag::{
    emit_ipv4_fragment, emit_ipv4_fragment_of, emit_ipv6_fragment, plan_ipv4_datagram,
    plan_ipv4_repr, plan_ipv6,
};
use strata_l3l4::icmp::{ipv4_quote_len, ipv6_quote_len};
use strata_l3l4::wire::{ipv6, ndisc};
use strata_l3l4::{
    AddrConf, AddrConfConfig, AddrConfMessage, ChecksumCaps, Icmpv4DstUnreachable, Icmpv4Packet,
    Icmpv4Repr, Icmpv4TimeExceeded, Icmpv6DstUnreachable, Icmpv6Packet, Icmpv6Repr,
    Icmpv6TimeExceeded, IpPair, IpProtocol, Ipv4Packet, Ipv4Repr, Ipv6ExtHeader, Ipv6OptionsRepr,
    Ipv6Packet, Ipv6Repr, MldConfig, MldListener, MldPacket, MldRecordRepr, MldRecordType,
    MldReportRepr, NdCache, NdConfig, NdiscPacket, NdiscRepr, NeighborFlags, UdpPacket, UdpRepr,
};

const SOFTWARE: ChecksumCaps = ChecksumCaps::software();

const OUR_MAC: EthernetAddress = EthernetAddress::new(0x02, 0x00, 0x00, 0x00, 0x09, 0x01);
const PEER_MAC: EthernetAddress = EthernetAddress::new(0x02, 0x00, 0x00, 0x00, 0x09, 0x02);
const OUR_V4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 1);
const PEER_V4: Ipv4Addr = Ipv4Addr::new(10, 9, 0, 2);
/// A destination behind us, for the datagram whose TTL runs out.
const FAR_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);
const OUR_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 1);
const PEER_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 9, 0, 0, 0, 0, 0, 2);
const FAR_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x98, 0, 0, 0, 0, 0, 1);
const OUR_LINK_LOCAL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x0901);

/// UDP ports no tshark dissector claims, so the payload stays plain `data`.
const SRC_PORT: u16 = 47001;
const DST_PORT: u16 = 47002;

/// One frame to judge: what it is, its bytes, and the `frame.protocols` tshark must
/// report for it.
struct Case {
    name: &'static str,
    frame: Vec<u8>,
    protocols: &'static str,
    /// How many checksums tshark must find and verify as good in it (quoted headers
    /// included; a fragment's UDP checksum counts in the frame that completes it).
    checksums: usize,
}

// ---- builders: every header written by a crate's `emit` -------------------------------

fn ethernet(
    src: EthernetAddress,
    dst: EthernetAddress,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let repr = EthernetRepr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    };
    let mut frame = vec![0u8; repr.buffer_len() + payload.len()];
    repr.emit(&mut EthernetFrame::new_unchecked(&mut frame[..]));
    frame[repr.buffer_len()..].copy_from_slice(payload);
    frame
}

fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, ttl: u8, payload: &[u8]) -> Vec<u8> {
    let repr = ipv4_repr(src, dst, protocol, ttl, payload.len());
    let mut packet = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut packet[..]), &SOFTWARE)
        .expect("IPv4 header emits");
    packet[repr.header_len()..].copy_from_slice(payload);
    packet
}

fn ipv4_repr(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, ttl: u8, len: usize) -> Ipv4Repr {
    Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        protocol,
        payload_len: len,
        ttl,
        dscp: 0,
        ecn: 0,
    }
}

fn ipv6(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: IpProtocol,
    hop_limit: u8,
    payload: &[u8],
) -> Vec<u8> {
    let repr = ipv6_repr(src, dst, next_header, hop_limit, payload.len());
    let mut packet = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut packet[..]))
        .expect("IPv6 header emits");
    packet[repr.header_len()..].copy_from_slice(payload);
    packet
}

fn ipv6_repr(
    src: Ipv6Addr,
    dst: Ipv6Addr,
    next_header: IpProtocol,
    hop_limit: u8,
    len: usize,
) -> Ipv6Repr {
    Ipv6Repr {
        src_addr: src,
        dst_addr: dst,
        next_header,
        payload_len: len,
        hop_limit,
        traffic_class: 0,
        flow_label: 0,
    }
}

fn udp(pair: &IpPair, data: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: SRC_PORT,
        dst_port: DST_PORT,
        payload_len: data.len(),
    };
    let mut datagram = vec![0u8; repr.buffer_len()];
    datagram[repr.header_len()..].copy_from_slice(data);
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut datagram[..]),
        pair,
        &SOFTWARE,
    )
    .expect("UDP header emits");
    datagram
}

fn icmpv4(repr: Icmpv4Repr, data: &[u8]) -> Vec<u8> {
    assert_eq!(repr.data_len(), data.len());
    let mut message = vec![0u8; repr.buffer_len()];
    message[repr.header_len()..].copy_from_slice(data);
    repr.emit(
        &mut Icmpv4Packet::new_unchecked(&mut message[..]),
        &SOFTWARE,
    )
    .expect("ICMPv4 message emits");
    message
}

fn icmpv6(repr: Icmpv6Repr, src: Ipv6Addr, dst: Ipv6Addr, data: &[u8]) -> Vec<u8> {
    assert_eq!(repr.data_len(), data.len());
    let mut message = vec![0u8; repr.buffer_len()];
    message[repr.header_len()..].copy_from_slice(data);
    repr.emit(
        &mut Icmpv6Packet::new_unchecked(&mut message[..]),
        &src,
        &dst,
        &SOFTWARE,
    )
    .expect("ICMPv6 message emits");
    message
}

fn v4_frame(ip: &[u8]) -> Vec<u8> {
    ethernet(OUR_MAC, PEER_MAC, EtherType::Ipv4, ip)
}

fn v6_frame(ip: &[u8]) -> Vec<u8> {
    ethernet(OUR_MAC, PEER_MAC, EtherType::Ipv6, ip)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

// ---- the frames -------------------------------------------------------------------------

fn arp_reply() -> Case {
    // The cache answers a peer's request for our address.
    let mut cache: ArpCache<()> = ArpCache::new(ArpConfig::default(), OUR_MAC);
    let now = Instant::from_secs(1);
    let request = ArpRepr {
        operation: ArpOperation::Request,
        source_hardware_addr: PEER_MAC,
        source_protocol_addr: PEER_V4,
        target_hardware_addr: EthernetAddress::UNSPECIFIED,
        target_protocol_addr: OUR_V4,
    };
    cache.handle_arp(now, &request, &[OUR_V4]);
    let reply = core::iter::from_fn(|| cache.poll_transmit(now))
        .find(|tx| tx.kind == TransmitKind::Reply)
        .expect("the cache answers a request for our address");
    let mut frame = vec![0u8; strata_l2::ArpTransmit::BUFFER_LEN];
    let len = reply.emit(&mut frame);
    frame.truncate(len);
    Case {
        name: "ARP reply (ArpCache)",
        frame,
        protocols: "eth:ethertype:arp",
        checksums: 0,
    }
}

fn icmpv4_echo_reply() -> Case {
    let data = pattern(40);
    let echo = Icmpv4Repr::EchoReply {
        ident: 0x1234,
        seq_no: 7,
        data_len: data.len(),
    };
    let ip = ipv4(OUR_V4, PEER_V4, IpProtocol::Icmp, 64, &icmpv4(echo, &data));
    Case {
        name: "ICMPv4 echo reply",
        frame: v4_frame(&ip),
        protocols: "eth:ethertype:ip:icmp:data",
        checksums: 2,
    }
}

fn udp_v4() -> Case {
    let pair = IpPair::v4(OUR_V4, PEER_V4);
    let ip = ipv4(
        OUR_V4,
        PEER_V4,
        IpProtocol::Udp,
        64,
        &udp(&pair, b"hello strata, odd"),
    );
    Case {
        name: "IPv4/UDP datagram",
        frame: v4_frame(&ip),
        protocols: "eth:ethertype:ip:udp:data",
        checksums: 2,
    }
}

fn icmpv4_port_unreachable() -> Case {
    // The peer's datagram to a closed port, quoted as far as RFC 1812 allows.
    let pair = IpPair::v4(PEER_V4, OUR_V4);
    let offending = ipv4(
        PEER_V4,
        OUR_V4,
        IpProtocol::Udp,
        64,
        &udp(&pair, &pattern(100)),
    );
    let quote = &offending[..ipv4_quote_len(offending.len())];
    let error = Icmpv4Repr::DstUnreachable {
        reason: Icmpv4DstUnreachable::PortUnreachable,
        next_hop_mtu: 0,
        quoted_len: quote.len(),
    };
    let ip = ipv4(OUR_V4, PEER_V4, IpProtocol::Icmp, 64, &icmpv4(error, quote));
    Case {
        name: "ICMPv4 destination unreachable (port), quoting IPv4/UDP",
        frame: v4_frame(&ip),
        protocols: "eth:ethertype:ip:icmp:ip:udp:data",
        checksums: 4,
    }
}

fn icmpv4_time_exceeded() -> Case {
    // A datagram we would forward arrives with TTL 1.
    let pair = IpPair::v4(PEER_V4, FAR_V4);
    let offending = ipv4(
        PEER_V4,
        FAR_V4,
        IpProtocol::Udp,
        1,
        &udp(&pair, &pattern(32)),
    );
    let quote = &offending[..ipv4_quote_len(offending.len())];
    let error = Icmpv4Repr::TimeExceeded {
        reason: Icmpv4TimeExceeded::TtlExpired,
        quoted_len: quote.len(),
    };
    let ip = ipv4(OUR_V4, PEER_V4, IpProtocol::Icmp, 64, &icmpv4(error, quote));
    Case {
        name: "ICMPv4 time exceeded, quoting IPv4/UDP",
        frame: v4_frame(&ip),
        protocols: "eth:ethertype:ip:icmp:ip:udp:data",
        checksums: 4,
    }
}

fn ipv4_fragments() -> Vec<Case> {
    // A 1208-byte UDP datagram over a 576-byte MTU: three fragments, reassembled by
    // tshark, whose UDP checksum it then checks over the whole datagram.
    let pair = IpPair::v4(OUR_V4, PEER_V4);
    let datagram = udp(&pair, &pattern(1200));
    let repr = ipv4_repr(OUR_V4, PEER_V4, IpProtocol::Udp, 64, datagram.len());
    let specs: Vec<_> = plan_ipv4_repr(&repr, 576).expect("plan").collect();
    assert_eq!(specs.len(), 3);
    let last = specs.len() - 1;
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut buf = vec![0u8; 576];
            let len = emit_ipv4_fragment(&repr, 0x5a17, spec, &datagram, &mut buf, &SOFTWARE)
                .expect("fragment emits");
            buf.truncate(len);
            Case {
                name: if i == last {
                    "IPv4 fragment (last, reassembles IPv4/UDP)"
                } else {
                    "IPv4 fragment"
                },
                frame: v4_frame(&buf),
                protocols: if i == last {
                    "eth:ethertype:ip:udp:data"
                } else {
                    "eth:ethertype:ip:data"
                },
                // Its IPv4 header; the last also the reassembled UDP datagram's.
                checksums: if i == last { 2 } else { 1 },
            }
        })
        .collect()
}

fn forwarded_fragments_with_options() -> Vec<Case> {
    // A 1008-byte UDP datagram from far away carrying a router alert (copied into every
    // fragment) and a record route (first fragment only), forwarded over a 576-byte
    // MTU: two fragments, as a router writes them.
    let pair = IpPair::v4(FAR_V4, PEER_V4);
    let datagram = udp(&pair, &pattern(1000));
    let options = [148, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0];
    let header_len = 20 + options.len();
    let mut whole = vec![0u8; header_len + datagram.len()];
    let repr = ipv4_repr(FAR_V4, PEER_V4, IpProtocol::Udp, 63, datagram.len());
    let mut packet = Ipv4Packet::new_unchecked(&mut whole[..]);
    repr.emit(&mut packet, &SOFTWARE).expect("header emits");
    packet.set_header_len(header_len);
    packet.set_total_len((header_len + datagram.len()) as u16);
    packet.set_ident(0x0f0f);
    packet.clear_flags();
    packet.options_mut().copy_from_slice(&options);
    packet.payload_mut().copy_from_slice(&datagram);
    packet.fill_checksum();
    let packet = Ipv4Packet::new_checked(&whole[..]).expect("datagram");
    let specs: Vec<_> = plan_ipv4_datagram(&packet, 576).expect("plan").collect();
    assert_eq!(specs.len(), 2);
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut buf = vec![0u8; 576];
            let len =
                emit_ipv4_fragment_of(&packet, spec, &mut buf, &SOFTWARE).expect("fragment emits");
            buf.truncate(len);
            let last = i == specs.len() - 1;
            Case {
                name: if last {
                    "forwarded IPv4 fragment with the copied option (last, reassembles)"
                } else {
                    "forwarded IPv4 fragment with every option"
                },
                frame: v4_frame(&buf),
                protocols: if last {
                    "eth:ethertype:ip:udp:data"
                } else {
                    "eth:ethertype:ip:data"
                },
                checksums: if last { 2 } else { 1 },
            }
        })
        .collect()
}

fn icmpv6_echo_reply() -> Case {
    let data = pattern(56);
    let echo = Icmpv6Repr::EchoReply {
        ident: 0x4a1d,
        seq_no: 3,
        data_len: data.len(),
    };
    let message = icmpv6(echo, OUR_V6, PEER_V6, &data);
    let ip = ipv6(OUR_V6, PEER_V6, IpProtocol::Icmpv6, 64, &message);
    Case {
        name: "ICMPv6 echo reply",
        frame: v6_frame(&ip),
        protocols: "eth:ethertype:ipv6:icmpv6:data",
        checksums: 1,
    }
}

fn icmpv6_port_unreachable() -> Case {
    let pair = IpPair::v6(PEER_V6, OUR_V6);
    let offending = ipv6(
        PEER_V6,
        OUR_V6,
        IpProtocol::Udp,
        64,
        &udp(&pair, &pattern(77)),
    );
    let quote = &offending[..ipv6_quote_len(offending.len())];
    let error = Icmpv6Repr::DstUnreachable {
        reason: Icmpv6DstUnreachable::PortUnreachable,
        quoted_len: quote.len(),
    };
    let message = icmpv6(error, OUR_V6, PEER_V6, quote);
    let ip = ipv6(OUR_V6, PEER_V6, IpProtocol::Icmpv6, 64, &message);
    Case {
        name: "ICMPv6 destination unreachable (port), quoting IPv6/UDP",
        frame: v6_frame(&ip),
        protocols: "eth:ethertype:ipv6:icmpv6:ipv6:udp:data",
        checksums: 2,
    }
}

fn icmpv6_time_exceeded() -> Case {
    let pair = IpPair::v6(PEER_V6, FAR_V6);
    let offending = ipv6(
        PEER_V6,
        FAR_V6,
        IpProtocol::Udp,
        1,
        &udp(&pair, &pattern(24)),
    );
    let quote = &offending[..ipv6_quote_len(offending.len())];
    let error = Icmpv6Repr::TimeExceeded {
        reason: Icmpv6TimeExceeded::HopLimitExceeded,
        quoted_len: quote.len(),
    };
    let message = icmpv6(error, OUR_V6, PEER_V6, quote);
    let ip = ipv6(OUR_V6, PEER_V6, IpProtocol::Icmpv6, 64, &message);
    Case {
        name: "ICMPv6 time exceeded, quoting IPv6/UDP",
        frame: v6_frame(&ip),
        protocols: "eth:ethertype:ipv6:icmpv6:ipv6:udp:data",
        checksums: 2,
    }
}

fn neighbour_advertisement() -> Case {
    // Our solicited answer to the peer's NS for OUR_V6.
    let na = NdiscRepr::NeighborAdvert {
        flags: NeighborFlags {
            router: false,
            solicited: true,
            override_: true,
        },
        target_addr: OUR_V6,
        lladdr: Some(OUR_MAC.0),
    };
    let mut message = vec![0u8; na.buffer_len()];
    na.emit(
        &mut NdiscPacket::new_unchecked(&mut message[..]),
        &OUR_V6,
        &PEER_V6,
        &SOFTWARE,
    )
    .expect("NA emits");
    let ip = ipv6(
        OUR_V6,
        PEER_V6,
        IpProtocol::Icmpv6,
        ndisc::HOP_LIMIT,
        &message,
    );
    Case {
        name: "NDP neighbour advertisement with target link-layer address",
        frame: v6_frame(&ip),
        protocols: "eth:ethertype:ipv6:icmpv6",
        checksums: 1,
    }
}

fn mldv2_report() -> Case {
    let records = [
        MldRecordRepr {
            record_type: MldRecordType::ChangeToExclude,
            group: ipv6::solicited_node(&OUR_LINK_LOCAL),
        },
        MldRecordRepr {
            record_type: MldRecordType::ChangeToExclude,
            group: ipv6::solicited_node(&OUR_V6),
        },
    ];
    let report = MldReportRepr { records: &records };
    let hop_by_hop = Ipv6OptionsRepr {
        next_header: IpProtocol::Icmpv6,
        router_alert: Some(0),
    };
    let dst = ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS;
    let mut payload = vec![0u8; hop_by_hop.buffer_len() + report.buffer_len()];
    let (ext, body) = payload.split_at_mut(hop_by_hop.buffer_len());
    hop_by_hop
        .emit(&mut Ipv6ExtHeader::new_unchecked(ext))
        .expect("hop-by-hop header emits");
    report
        .emit(
            &mut MldPacket::new_unchecked(body),
            &OUR_LINK_LOCAL,
            &dst,
            &SOFTWARE,
        )
        .expect("MLDv2 report emits");
    let ip = ipv6(OUR_LINK_LOCAL, dst, IpProtocol::HopByHop, 1, &payload);
    let mac = EthernetAddress(ipv6::multicast_mac(&dst));
    Case {
        name: "MLDv2 report behind a hop-by-hop router alert",
        frame: ethernet(OUR_MAC, mac, EtherType::Ipv6, &ip),
        protocols: "eth:ethertype:ipv6:ipv6.hopopts:icmpv6",
        checksums: 1,
    }
}

fn ipv6_fragments() -> Vec<Case> {
    // A 3008-byte UDP datagram over the minimum IPv6 MTU: three fragments.
    let pair = IpPair::v6(OUR_V6, PEER_V6);
    let datagram = udp(&pair, &pattern(3000));
    let repr = ipv6_repr(OUR_V6, PEER_V6, IpProtocol::Udp, 64, datagram.len());
    let specs: Vec<_> = plan_ipv6(0, datagram.len(), ipv6::MIN_MTU)
        .expect("plan")
        .collect();
    assert_eq!(specs.len(), 3);
    let last = specs.len() - 1;
    specs
        .iter()
        .enumerate()
        .map(|(i, spec)| {
            let mut buf = vec![0u8; ipv6::MIN_MTU];
            let len = emit_ipv6_fragment(
                &repr,
                &[],
                IpProtocol::Udp,
                0x0bad_cafe,
                spec,
                &datagram,
                &mut buf,
            )
            .expect("fragment emits");
            buf.truncate(len);
            Case {
                name: if i == last {
                    "IPv6 fragment (last, reassembles IPv6/UDP)"
                } else {
                    "IPv6 fragment"
                },
                frame: v6_frame(&buf),
                protocols: if i == last {
                    "eth:ethertype:ipv6:ipv6.fraghdr:udp:data"
                } else {
                    "eth:ethertype:ipv6:ipv6.fraghdr:data"
                },
                // The reassembled UDP datagram's, in the last.
                checksums: usize::from(i == last),
            }
        })
        .collect()
}

// ---- frames the IPv6 state machines send (neighbour cache, autoconfiguration, MLD) ----

fn nd_cache_frames() -> Vec<Case> {
    let mut cache: NdCache<()> = NdCache::new(NdConfig::default(), OUR_MAC);
    let now = Instant::from_secs(1);
    // A miss: multicast NS to PEER_V6's solicited-node group.
    assert_eq!(cache.lookup(now, PEER_V6, OUR_V6), None);
    let ns = cache.poll_transmit(now).expect("a solicitation");
    // The peer's NS for our address: our NA.
    let peer_ns = NdiscRepr::NeighborSolicit {
        target_addr: OUR_V6,
        lladdr: Some(PEER_MAC.0),
    };
    let solicited_node = ipv6::solicited_node(&OUR_V6);
    cache.handle_ns(now, PEER_V6, solicited_node, &peer_ns, &[OUR_V6]);
    let na = cache.poll_transmit(now).expect("an advertisement");
    [
        (ns, "neighbour cache: multicast NS"),
        (na, "neighbour cache: NA to the soliciting peer"),
    ]
    .into_iter()
    .map(|(transmit, name)| {
        let mut frame = vec![0u8; transmit.buffer_len()];
        let len = transmit.emit(&mut frame).expect("emits");
        frame.truncate(len);
        Case {
            name,
            frame,
            protocols: "eth:ethertype:ipv6:icmpv6",
            checksums: 1,
        }
    })
    .collect()
}

fn addrconf_frames() -> Vec<Case> {
    let mut conf = AddrConf::new(AddrConfConfig::default());
    let mut now = Instant::from_secs(1);
    conf.enable(now, OUR_MAC).expect("enable");
    let mut cases = Vec::new();
    // Run the clock until the DAD probe and the first router solicitation are out.
    for _ in 0..100 {
        while let Some(transmit) = conf.poll_transmit(now) {
            let mut frame = vec![0u8; transmit.buffer_len()];
            let len = transmit.emit(&mut frame);
            assert!(len > 0);
            frame.truncate(len);
            let name = match transmit.message {
                AddrConfMessage::DadProbe { .. } => "autoconfiguration: DAD probe from ::",
                AddrConfMessage::RouterSolicit { .. } => "autoconfiguration: router solicitation",
            };
            if cases.iter().all(|case: &Case| case.name != name) {
                cases.push(Case {
                    name,
                    frame,
                    protocols: "eth:ethertype:ipv6:icmpv6",
                    checksums: 1,
                });
            }
        }
        if cases.len() == 2 {
            return cases;
        }
        now = conf
            .poll_at()
            .unwrap_or(now + Duration::from_millis(100))
            .max(now);
        conf.handle_timeout(now);
    }
    panic!(
        "autoconfiguration sent {} kinds of frame, not 2",
        cases.len()
    );
}

fn mld_listener_report() -> Case {
    let mut listener = MldListener::new(MldConfig::default(), OUR_MAC);
    listener.set_source(Some(OUR_LINK_LOCAL));
    let now = Instant::from_secs(1);
    listener
        .join(now, Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb))
        .expect("join");
    let transmit = listener.poll_transmit(now).expect("a report");
    let mut frame = vec![0u8; transmit.buffer_len()];
    let len = transmit.emit(&mut frame);
    frame.truncate(len);
    Case {
        name: "MLD listener: state-change report on join",
        frame,
        protocols: "eth:ethertype:ipv6:ipv6.hopopts:icmpv6",
        checksums: 1,
    }
}

fn cases() -> Vec<Case> {
    let mut cases = vec![
        arp_reply(),
        icmpv4_echo_reply(),
        udp_v4(),
        icmpv4_port_unreachable(),
        icmpv4_time_exceeded(),
    ];
    cases.extend(ipv4_fragments());
    cases.extend(forwarded_fragments_with_options());
    cases.extend([
        icmpv6_echo_reply(),
        icmpv6_port_unreachable(),
        icmpv6_time_exceeded(),
        neighbour_advertisement(),
        mldv2_report(),
    ]);
    cases.extend(ipv6_fragments());
    cases.extend(nd_cache_frames());
    cases.extend(addrconf_frames());
    cases.push(mld_listener_report());
    cases
}

// ---- pcap and tshark --------------------------------------------------------------------

/// A classic pcap file (microsecond timestamps, little-endian), link type Ethernet.
fn pcap(frames: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes()); // magic
    out.extend_from_slice(&2u16.to_le_bytes()); // version major
    out.extend_from_slice(&4u16.to_le_bytes()); // version minor
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, frame) in frames.iter().enumerate() {
        let len = u32::try_from(frame.len()).expect("frame fits a pcap record");
        out.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes()); // ts_sec
        out.extend_from_slice(&0u32.to_le_bytes()); // ts_usec
        out.extend_from_slice(&len.to_le_bytes()); // incl_len
        out.extend_from_slice(&len.to_le_bytes()); // orig_len
        out.extend_from_slice(frame);
    }
    out
}

/// A file in the temporary directory, removed when dropped (also on panic).
struct TempFile(PathBuf);

impl TempFile {
    fn new(tag: &str, contents: &[u8]) -> TempFile {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let path = std::env::temp_dir().join(format!(
            "strata-l3l4-tshark-{tag}-{}-{nanos}.pcap",
            std::process::id()
        ));
        std::fs::write(&path, contents).expect("write the pcap file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// The preferences that turn on checksum validation. ICMP and ICMPv6 checksums are
/// validated unconditionally by tshark 4.0, which has no preference for them.
const PREFS: [&str; 2] = ["ip.check_checksum:TRUE", "udp.check_checksum:TRUE"];

/// The checksum verdicts tshark gives: 0 bad, 1 good, 2 unverified, 3 not present,
/// 4 illegal (epan/proto.h `PROTO_CHECKSUM_E_*`).
const CHECKSUM_STATUS: [&str; 4] = [
    "ip.checksum.status",
    "udp.checksum.status",
    "icmp.checksum.status",
    "icmpv6.checksum.status",
];

/// `PROTO_CHECKSUM_E_GOOD`.
const CHECKSUM_GOOD: &str = "1";

/// Separates the occurrences of one field (expert messages may contain commas).
const AGGREGATOR: &str = "\u{1f}";

/// What tshark made of one frame.
#[derive(Debug)]
struct Verdict {
    protocols: String,
    /// Expert messages of severity warning or error: (severity, message).
    complaints: Vec<(String, String)>,
    /// Checksums verified good.
    good_checksums: usize,
    /// Checksums with any other verdict: (field, status).
    other_checksums: Vec<(&'static str, String)>,
}

/// Whether `tshark` can be run. When it cannot, prints why and returns `false` (the
/// test is skipped), except under `CI=true`, where it panics.
fn tshark_available() -> bool {
    let why = match Command::new("tshark").arg("--version").output() {
        Ok(out) if out.status.success() => return true,
        Ok(out) => format!("`tshark --version` exited with {}", out.status),
        Err(e) => format!("tshark is not installed (`tshark`: {e})"),
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{why}; scripts/install-deps.sh should have installed it (Debian package `tshark`)");
    }
    eprintln!(
        "SKIPPED: {why}; the frames were not judged by tshark. \
         Install it with scripts/install-deps.sh (Debian package `tshark`)."
    );
    false
}

/// Runs tshark over `path` and returns its verdict on each frame, in order.
fn tshark(path: &Path) -> Vec<Verdict> {
    let mut command = Command::new("tshark");
    command.arg("-r").arg(path).arg("-n");
    for pref in PREFS {
        command.arg("-o").arg(pref);
    }
    command.args([
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        &format!("aggregator={AGGREGATOR}"),
        "-e",
        "frame.number",
        "-e",
        "frame.protocols",
        "-e",
        "_ws.expert.severity",
        "-e",
        "_ws.expert.message",
    ]);
    for field in CHECKSUM_STATUS {
        command.arg("-e").arg(field);
    }
    let out = command.output().expect("run tshark");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed ({}):\n{}\n{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(
                fields.len(),
                4 + CHECKSUM_STATUS.len(),
                "unexpected tshark line: {line:?}"
            );
            assert_eq!(fields[0], (i + 1).to_string(), "frames out of order");
            let split = |s: &str| -> Vec<String> {
                if s.is_empty() {
                    Vec::new()
                } else {
                    s.split(AGGREGATOR).map(str::to_owned).collect()
                }
            };
            let severities = split(fields[2]);
            let messages = split(fields[3]);
            assert_eq!(
                severities.len(),
                messages.len(),
                "unexpected tshark line: {line:?}"
            );
            let complaints = severities
                .into_iter()
                .zip(messages)
                .filter(|(severity, _)| at_least_warning(severity))
                .collect();
            let mut good_checksums = 0;
            let mut other_checksums = Vec::new();
            for (field, statuses) in CHECKSUM_STATUS.iter().zip(&fields[4..]) {
                for status in split(statuses) {
                    if status == CHECKSUM_GOOD {
                        good_checksums += 1;
                    } else {
                        other_checksums.push((*field, status));
                    }
                }
            }
            Verdict {
                protocols: fields[1].to_owned(),
                complaints,
                good_checksums,
                other_checksums,
            }
        })
        .collect()
}

/// Whether an expert severity, as tshark prints it (a number in 4.0, a name in some
/// versions), is a warning or an error.
fn at_least_warning(severity: &str) -> bool {
    // epan/proto.h: PI_WARN 0x00600000, PI_ERROR 0x00800000.
    const PI_WARN: u32 = 0x0060_0000;
    let severity = severity.trim();
    let number = severity.strip_prefix("0x").map_or_else(
        || severity.parse().ok(),
        |hex| u32::from_str_radix(hex, 16).ok(),
    );
    match number {
        Some(n) => n >= PI_WARN,
        None => {
            let lower = severity.to_ascii_lowercase();
            lower.starts_with("warn") || lower.starts_with("error")
        }
    }
}

// ---- the tests ----------------------------------------------------------------------------

#[test]
fn tshark_accepts_our_frames() {
    if !tshark_available() {
        return;
    }
    let cases = cases();
    let frames: Vec<&[u8]> = cases.iter().map(|c| &c.frame[..]).collect();
    let file = TempFile::new("frames", &pcap(&frames));
    let verdicts = tshark(&file.0);
    assert_eq!(
        verdicts.len(),
        cases.len(),
        "tshark read a different number of frames"
    );

    let mut failures = String::new();
    for (number, (case, verdict)) in cases.iter().zip(&verdicts).enumerate() {
        let number = number + 1;
        if verdict.protocols != case.protocols {
            failures += &format!(
                "frame {number} ({}): decoded as {:?}, meant {:?}\n",
                case.name, verdict.protocols, case.protocols
            );
        }
        for (field, status) in &verdict.other_checksums {
            failures += &format!(
                "frame {number} ({}): {field} is {status}, not good\n",
                case.name
            );
        }
        if verdict.good_checksums != case.checksums {
            failures += &format!(
                "frame {number} ({}): {} checksums verified good, meant {}\n",
                case.name, verdict.good_checksums, case.checksums
            );
        }
        for (severity, message) in &verdict.complaints {
            failures += &format!(
                "frame {number} ({}): expert {severity}: {message}\n",
                case.name
            );
        }
    }
    assert!(
        failures.is_empty(),
        "tshark disagrees with our frames:\n{failures}"
    );
}

/// The negative control: frames with a checksum broken on purpose must draw a
/// complaint, or the run above proves nothing.
#[test]
fn tshark_flags_broken_checksums() {
    if !tshark_available() {
        return;
    }
    // Each: the frame, and the offset (from the frame start) of a byte to flip.
    let ipv4_header = (udp_v4().frame, 14 + 10); // IPv4 header checksum
    let udp_v4 = (udp_v4().frame, 14 + 20 + 6); // UDP checksum
    let icmpv4 = (icmpv4_echo_reply().frame, 14 + 20 + 2); // ICMP checksum
    let icmpv6 = (icmpv6_echo_reply().frame, 14 + 40 + 2); // ICMPv6 checksum
    let ndisc = (neighbour_advertisement().frame, 14 + 40 + 3);
    let broken: Vec<(&str, Vec<u8>)> = [
        ("IPv4 header checksum", ipv4_header),
        ("UDP/IPv4 checksum", udp_v4),
        ("ICMPv4 checksum", icmpv4),
        ("ICMPv6 checksum", icmpv6),
        ("NA checksum", ndisc),
    ]
    .into_iter()
    .map(|(name, (mut frame, at))| {
        frame[at] ^= 0x5a;
        (name, frame)
    })
    .collect();
    let frames: Vec<&[u8]> = broken.iter().map(|(_, f)| &f[..]).collect();
    let file = TempFile::new("broken", &pcap(&frames));
    let verdicts = tshark(&file.0);
    assert_eq!(verdicts.len(), broken.len());
    for ((name, _), verdict) in broken.iter().zip(&verdicts) {
        assert!(
            !verdict.complaints.is_empty(),
            "tshark did not flag a broken {name}: {verdict:?}"
        );
    }
}
