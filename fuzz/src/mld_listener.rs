//! Fuzz target body for the MLDv2 listener (`strata_l3l4::multicast`) and the MLD
//! query wire format (`strata_l3l4::wire::mld::Query`).

use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use strata_l2::{EthernetAddress, EthernetFrame, Instant};
use strata_l3l4::checksum::ChecksumCaps;
use strata_l3l4::wire::ipv6;
use strata_l3l4::wire::mld::{Query, QueryRepr, MAX_RECORDS};
use strata_l3l4::{
    Ipv6ExtHeader, Ipv6OptionsRepr, Ipv6Packet, MldConfig, MldError, MldListener, MldPacket,
    MldRecordType, MldReportKind,
};

/// Most commands one input runs.
const MLD_MAX_COMMANDS: usize = 512;
/// Groups in the listener's table.
const MLD_MAX_GROUPS: usize = 4;
/// Reports in its outbox.
const MLD_TRANSMIT_CAPACITY: usize = 2;
/// The querier's link-local address.
const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

/// A small group space: ff05::2..ff05::9, plus groups MLD refuses (ff02::1, an
/// interface-local one, a unicast address).
fn group(g: u8) -> Ipv6Addr {
    match g % 12 {
        0 => ipv6::LINK_LOCAL_ALL_NODES,
        1 => Ipv6Addr::new(0xff01, 0, 0, 0, 0, 0, 0, 0xfb),
        10 => Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 9),
        11 => Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00, 0x0901),
        n => Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 0, u16::from(n)),
    }
}

/// The whole input parsed as an MLD query (view, repr with software and offloaded
/// checksums, emit/parse round trip), then run as a script against a small listener
/// (see [`mld_script`]).
pub fn mld_listener(data: &[u8]) {
    mld_query(data, &ROUTER, &ipv6::LINK_LOCAL_ALL_NODES);
    mld_script(data);
}

/// Parses `data` as a query; a parsed one must emit into exactly `buffer_len()` bytes
/// and parse back to itself.
pub fn mld_query(data: &[u8], src: &Ipv6Addr, dst: &Ipv6Addr) {
    let software = ChecksumCaps::software();
    let offloaded = ChecksumCaps::offloaded();
    let unchecked = Query::new_unchecked(data);
    let Ok(query) = Query::new_checked(data) else {
        assert!(
            QueryRepr::parse(&unchecked, src, dst, &offloaded).is_err(),
            "QueryRepr::parse accepted what check_len refused"
        );
        return;
    };
    let _ = (
        query.version(),
        query.max_resp_code(),
        query.max_resp_delay_ms(),
        query.group(),
        query.s_flag(),
        query.qqic(),
        query.verify_checksum(src, dst),
    );
    assert!(query.qrv() <= 7);
    assert_eq!(
        query.sources().len(),
        usize::from(query.nr_sources()) * 16,
        "query sources length"
    );
    let soft = QueryRepr::parse(&query, src, dst, &software);
    let repr = QueryRepr::parse(&query, src, dst, &offloaded)
        .expect("a checked query does not parse with offloaded checksums");
    if let Ok(soft) = soft {
        assert_eq!(soft, repr, "query parse depends on checksum caps");
    }
    assert!(
        repr.buffer_len() <= data.len(),
        "query repr longer than its bytes"
    );
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Query::new_unchecked(&mut buf[..]), src, dst, &software)
        .expect("query emit of a parsed repr failed");
    let again = Query::new_checked(&buf[..]).expect("emitted query does not check");
    assert!(again.verify_checksum(src, dst), "emitted query checksum");
    assert_eq!(
        QueryRepr::parse(&again, src, dst, &software),
        Ok(repr),
        "query round trip"
    );
}

/// Runs the input as commands on a listener with [`MLD_MAX_GROUPS`] groups and an
/// outbox of [`MLD_TRANSMIT_CAPACITY`]. Each command is an opcode byte (modulo 8)
/// and its operands:
///
/// | op | operands               | command                                          |
/// |----|------------------------|--------------------------------------------------|
/// | 0  | 1 byte `g`             | `join(group(g))`                                  |
/// | 1  | 1 byte `g`             | `leave(group(g))`                                 |
/// | 2  | 1 byte `n`, `n` bytes  | `handle_query` of those bytes (offloaded checksum), from the router, hop limit 1 |
/// | 3  | 1 byte `g`, 2 bytes BE | a well-formed MLDv2 query for `group(g)` (`::` if `g` is 0) with that max response code |
/// | 4  | 2 bytes BE             | advance the clock by that many milliseconds       |
/// | 5  | none                   | `handle_timeout` at `poll_at` (or now)            |
/// | 6  | 1 byte `b`             | a query with a bad source (`b` odd) or hop limit `b` |
/// | 7  | 1 byte `b`             | set the source: none (`b` even) or fe80::`b`      |
///
/// After every command the outbox is drained: every report is emitted, parsed back
/// (Ethernet, IPv6 hop limit 1, hop-by-hop router alert, MLD report with a valid
/// checksum) and checked against a model of the joined groups; bounds and counters
/// are asserted.
pub fn mld_script(data: &[u8]) {
    let config = MldConfig {
        max_groups: MLD_MAX_GROUPS,
        transmit_capacity: MLD_TRANSMIT_CAPACITY,
        seed: data.len() as u64 + 1,
        ..MldConfig::default()
    };
    let mac = EthernetAddress::new(0x02, 0, 0, 0, 0x09, 0x01);
    let mut mld = MldListener::new(config, mac);
    let mut model: BTreeSet<Ipv6Addr> = BTreeSet::new();
    let mut now = Instant::from_secs(1);
    let offloaded = ChecksumCaps::offloaded();
    let all_nodes = ipv6::LINK_LOCAL_ALL_NODES;
    let mut rest = data;
    for _ in 0..MLD_MAX_COMMANDS {
        let Some((&op, tail)) = rest.split_first() else {
            break;
        };
        rest = tail;
        match op % 8 {
            0 | 1 | 6 | 7 => {
                let Some((&b, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                match op % 8 {
                    0 => match mld.join(now, group(b)) {
                        Ok(changed) => assert_eq!(changed, model.insert(group(b)), "join"),
                        Err(MldError::TableFull) => {
                            assert_eq!(model.len(), MLD_MAX_GROUPS, "table full early")
                        }
                        Err(_) => assert!(matches!(b % 12, 0 | 1 | 10), "join refused"),
                    },
                    1 => match mld.leave(now, group(b)) {
                        Ok(changed) => assert_eq!(changed, model.remove(&group(b)), "leave"),
                        Err(_) => assert!(matches!(b % 12, 0 | 1 | 10), "leave refused"),
                    },
                    6 => {
                        let repr = QueryRepr::general(strata_l3l4::MldQueryVersion::V2, 0);
                        let mut buf = vec![0u8; repr.buffer_len()];
                        let (src, hop_limit) = if b % 2 == 1 {
                            (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(b)), 1)
                        } else {
                            (ROUTER, b.max(2))
                        };
                        repr.emit(
                            &mut Query::new_unchecked(&mut buf[..]),
                            &src,
                            &all_nodes,
                            &offloaded,
                        )
                        .expect("query emit");
                        let before = mld.stats().dropped();
                        mld.handle_query(now, src, all_nodes, hop_limit, &buf, &offloaded);
                        assert_eq!(mld.stats().dropped(), before + 1, "bad query not dropped");
                    }
                    _ => {
                        let source = (b % 2 == 1)
                            .then(|| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u16::from(b)));
                        mld.set_source(source);
                    }
                }
            }
            2 => {
                let Some((&n, tail)) = rest.split_first() else {
                    break;
                };
                let n = usize::from(n).min(tail.len());
                let (bytes, tail) = tail.split_at(n);
                rest = tail;
                mld_query(bytes, &ROUTER, &all_nodes);
                mld.handle_query(now, ROUTER, all_nodes, 1, bytes, &offloaded);
            }
            3 => {
                let Some(bytes) = rest.get(..3) else { break };
                rest = &rest[3..];
                let target = if bytes[0] == 0 {
                    Ipv6Addr::UNSPECIFIED
                } else {
                    group(bytes[0])
                };
                let repr = QueryRepr {
                    group: target,
                    max_resp_code: u16::from_be_bytes([bytes[1], bytes[2]]),
                    ..QueryRepr::general(strata_l3l4::MldQueryVersion::V2, 0)
                };
                let mut buf = vec![0u8; repr.buffer_len()];
                repr.emit(
                    &mut Query::new_unchecked(&mut buf[..]),
                    &ROUTER,
                    &all_nodes,
                    &offloaded,
                )
                .expect("query emit");
                let before = mld.stats().queries;
                mld.handle_query(now, ROUTER, all_nodes, 1, &buf, &offloaded);
                assert_eq!(mld.stats().queries, before + 1, "good query not accepted");
            }
            4 => {
                let Some(bytes) = rest.get(..2) else { break };
                rest = &rest[2..];
                now += core::time::Duration::from_millis(u64::from(u16::from_be_bytes([
                    bytes[0], bytes[1],
                ])));
            }
            _ => {
                if let Some(at) = mld.poll_at() {
                    now = now.max(at);
                }
                mld.handle_timeout(now);
            }
        }
        drain(&mut mld, now, &model);
        assert!(mld.table_len() <= MLD_MAX_GROUPS, "table over its bound");
        assert!(
            mld.outbox_len() <= MLD_TRANSMIT_CAPACITY,
            "outbox over its bound"
        );
        assert_eq!(mld.len(), model.len(), "joined count");
        let groups: BTreeSet<Ipv6Addr> = mld.groups().collect();
        assert_eq!(groups, model, "groups differ from the model");
        for g in 0..12 {
            let g = group(g);
            assert_eq!(
                mld.is_member(&g),
                model.contains(&g) || g == ipv6::LINK_LOCAL_ALL_NODES,
                "is_member"
            );
        }
        let stats = mld.stats();
        assert!(stats.general_queries + stats.queries_not_joined <= stats.queries);
        assert_eq!(stats.sent(), stats.reports_sent);
    }
    // Left alone, every timer runs out and only joined groups remain.
    for _ in 0..64 {
        let Some(at) = mld.poll_at() else { break };
        now = now.max(at);
        drain(&mut mld, now, &model);
    }
    assert_eq!(mld.poll_at(), None, "timers never run out");
    assert_eq!(mld.table_len(), model.len(), "left groups never go");
}

/// Polls every report out at `now`, emits it and checks the frame.
fn drain(mld: &mut MldListener, now: Instant, model: &BTreeSet<Ipv6Addr>) {
    for _ in 0..=MLD_TRANSMIT_CAPACITY + MLD_MAX_GROUPS {
        let Some(tx) = mld.poll_transmit(now) else {
            return;
        };
        assert!(!tx.records.is_empty() && tx.records.len() <= MAX_RECORDS);
        for record in &tx.records {
            let joined = model.contains(&record.group);
            let ok = match record.record_type {
                MldRecordType::ChangeToExclude => joined && tx.kind == MldReportKind::StateChange,
                MldRecordType::ChangeToInclude => !joined && tx.kind == MldReportKind::StateChange,
                MldRecordType::ModeIsExclude => joined && tx.kind == MldReportKind::CurrentState,
                _ => false,
            };
            assert!(ok, "record {record:?} in a {:?} report", tx.kind);
        }
        let mut frame = vec![0u8; tx.buffer_len()];
        assert_eq!(tx.emit(&mut frame), frame.len(), "emit length");
        let eth = EthernetFrame::new_checked(&frame[..]).expect("frame");
        assert_eq!(
            eth.dst_addr(),
            EthernetAddress::new(0x33, 0x33, 0, 0, 0, 0x16)
        );
        let ip = Ipv6Packet::new_checked(eth.payload()).expect("IPv6 header");
        assert_eq!(ip.hop_limit(), 1);
        assert_eq!(ip.dst_addr(), ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS);
        let hbh = Ipv6ExtHeader::new_checked(ip.payload()).expect("hop-by-hop header");
        let options = Ipv6OptionsRepr::parse(&hbh).expect("hop-by-hop options");
        assert_eq!(options.router_alert, Some(0), "router alert");
        let report = MldPacket::new_checked(&ip.payload()[hbh.header_len()..]).expect("report");
        assert!(
            report.verify_checksum(&ip.src_addr(), &ip.dst_addr()),
            "report checksum"
        );
        assert_eq!(usize::from(report.nr_records()), tx.records.len());
    }
    panic!("the outbox does not drain");
}
