use core::time::Duration;
use std::net::Ipv6Addr;

use strata_l2::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, Instant};

use super::*;
use crate::checksum::ChecksumCaps;
use crate::wire::frames_v6::MLD_REPORT;
use crate::wire::ipv6::{self, Packet as Ipv6Packet, Repr as Ipv6Repr};
use crate::wire::ipv6ext::{Header, OptionsRepr};
use crate::wire::mld::{Packet, Query, QueryRepr, QueryVersion, RecordType, MAX_RECORDS};
use crate::wire::IpProtocol;

const SOFTWARE: ChecksumCaps = ChecksumCaps::software();
const MAC: EthernetAddress = EthernetAddress([0x02, 0x00, 0x00, 0x00, 0x09, 0x01]);
const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x902);

fn addr(text: &str) -> Ipv6Addr {
    text.parse().unwrap()
}

fn t(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

fn listener() -> MldListener {
    MldListener::new(MldConfig::default(), MAC)
}

/// Record type and group of every record of a transmit.
fn records(tx: &MldTransmit) -> Vec<(RecordType, Ipv6Addr)> {
    tx.records
        .iter()
        .map(|r| (r.record_type, r.group))
        .collect()
}

/// Drains the outbox at `now`.
fn drain(mld: &mut MldListener, now: Instant) -> Vec<MldTransmit> {
    std::iter::from_fn(|| mld.poll_transmit(now)).collect()
}

/// Runs the listener until `until`, firing its timers at their deadlines; returns
/// every transmit with the time it went out.
fn run(mld: &mut MldListener, until: Instant) -> Vec<(Instant, MldTransmit)> {
    let mut out = Vec::new();
    while let Some(at) = mld.poll_at() {
        if at > until {
            break;
        }
        for tx in drain(mld, at) {
            out.push((at, tx));
        }
    }
    out
}

fn query_bytes(repr: &QueryRepr<'_>, src: &Ipv6Addr, dst: &Ipv6Addr) -> Vec<u8> {
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Query::new_unchecked(&mut buf[..]), src, dst, &SOFTWARE)
        .unwrap();
    buf
}

fn general_query(mld: &mut MldListener, now: Instant, max_delay_ms: u32) {
    let repr = QueryRepr::general(QueryVersion::V2, max_delay_ms);
    let bytes = query_bytes(&repr, &ROUTER, &ipv6::LINK_LOCAL_ALL_NODES);
    mld.handle_query(
        now,
        ROUTER,
        ipv6::LINK_LOCAL_ALL_NODES,
        1,
        &bytes,
        &SOFTWARE,
    );
}

fn specific_query(mld: &mut MldListener, now: Instant, group: Ipv6Addr, max_delay_ms: u32) {
    let repr = QueryRepr {
        group,
        ..QueryRepr::general(QueryVersion::V2, max_delay_ms)
    };
    let bytes = query_bytes(&repr, &ROUTER, &group);
    mld.handle_query(now, ROUTER, group, 1, &bytes, &SOFTWARE);
}

#[test]
fn join_sends_two_change_to_exclude_reports() {
    let mut mld = listener();
    let group = addr("ff05::1:3");
    assert_eq!(mld.join(t(10_000), group), Ok(true));
    assert_eq!(mld.join(t(10_000), group), Ok(false));
    assert_eq!(mld.poll_at(), Some(t(10_000)));
    let first = drain(&mut mld, t(10_000));
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].kind, ReportKind::StateChange);
    assert_eq!(records(&first[0]), [(RecordType::ChangeToExclude, group)]);
    assert_eq!(first[0].src_addr, Ipv6Addr::UNSPECIFIED);
    // The retransmission: within (0, 1 s].
    let at = mld.poll_at().unwrap();
    assert!(at > t(10_000) && at <= t(11_000), "{at}");
    assert!(drain(
        &mut mld,
        Instant::from_duration(at.since_epoch() - Duration::from_micros(1))
    )
    .is_empty());
    let second = drain(&mut mld, at);
    assert_eq!(second.len(), 1);
    assert_eq!(records(&second[0]), [(RecordType::ChangeToExclude, group)]);
    // Robustness 2: two in all.
    assert_eq!(mld.poll_at(), None);
    assert!(drain(&mut mld, t(60_000)).is_empty());
    assert!(mld.is_member(&group));
    assert_eq!(mld.groups().collect::<Vec<_>>(), [group]);
    let stats = mld.stats();
    assert_eq!(
        (stats.joins, stats.reports_sent, stats.change_records_sent),
        (1, 2, 2)
    );
}

#[test]
fn leave_sends_two_change_to_include_reports() {
    let mut mld = listener();
    let group = addr("ff0e::db8:1");
    mld.join(t(0), group).unwrap();
    assert_eq!(run(&mut mld, t(5_000)).len(), 2);
    assert_eq!(mld.leave(t(5_000), group), Ok(true));
    assert_eq!(mld.leave(t(5_000), group), Ok(false));
    assert!(!mld.is_member(&group));
    assert_eq!(mld.len(), 0);
    assert_eq!(mld.table_len(), 1, "the leave is still being retransmitted");
    let sent = run(&mut mld, t(10_000));
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, t(5_000));
    assert!(sent[1].0 > t(5_000) && sent[1].0 <= t(6_000));
    for (_, tx) in &sent {
        assert_eq!(records(tx), [(RecordType::ChangeToInclude, group)]);
    }
    assert_eq!(mld.table_len(), 0);
    assert_eq!(mld.stats().leaves, 1);
}

#[test]
fn leave_before_the_retransmission_replaces_the_join() {
    let mut mld = listener();
    let group = addr("ff02::fb");
    mld.join(t(0), group).unwrap();
    assert_eq!(drain(&mut mld, t(0)).len(), 1);
    mld.leave(t(1), group).unwrap();
    let sent = run(&mut mld, t(5_000));
    assert_eq!(
        sent.len(),
        2,
        "the leave goes out twice, the join not again"
    );
    assert_eq!(sent[0].0, t(1));
    for (_, tx) in &sent {
        assert_eq!(records(tx), [(RecordType::ChangeToInclude, group)]);
    }
}

#[test]
fn several_joins_merge_into_one_report() {
    let mut mld = listener();
    let groups = [addr("ff02::1:ff00:1"), addr("ff02::fb"), addr("ff05::2")];
    for group in groups {
        mld.join(t(100), group).unwrap();
    }
    let sent = run(&mut mld, t(5_000));
    assert_eq!(sent.len(), 2);
    for (_, tx) in &sent {
        let expect: Vec<_> = groups
            .iter()
            .map(|g| (RecordType::ChangeToExclude, *g))
            .collect();
        assert_eq!(records(tx), expect);
    }
    // A join during the retransmission interval rides along the pending records.
    let late = addr("ff05::3");
    mld.leave(t(6_000), groups[0]).unwrap();
    mld.join(t(6_000), late).unwrap();
    let tx = &drain(&mut mld, t(6_000))[0];
    assert_eq!(
        records(tx),
        [
            (RecordType::ChangeToInclude, groups[0]),
            (RecordType::ChangeToExclude, late)
        ]
    );
}

#[test]
fn many_joins_split_into_reports_of_max_records() {
    let config = MldConfig {
        max_groups: 100,
        ..MldConfig::default()
    };
    let mut mld = MldListener::new(config, MAC);
    for i in 0..70u16 {
        mld.join(t(0), Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, i))
            .unwrap();
    }
    let sent = drain(&mut mld, t(0));
    assert_eq!(
        sent.iter().map(|tx| tx.records.len()).collect::<Vec<_>>(),
        [MAX_RECORDS, 70 - MAX_RECORDS]
    );
    for tx in &sent {
        assert!(tx.buffer_len() <= 14 + ipv6::MIN_MTU);
    }
}

#[test]
fn general_query_is_answered_once_with_every_group() {
    let mut mld = listener();
    mld.set_source(Some(addr("fe80::ff:fe00:901")));
    let groups = [addr("ff02::1:ff00:901"), addr("ff05::2"), addr("ff02::fb")];
    for group in groups {
        mld.join(t(0), group).unwrap();
    }
    run(&mut mld, t(2_000));
    assert_eq!(mld.poll_at(), None);
    general_query(&mut mld, t(10_000), 10_000);
    let at = mld.poll_at().unwrap();
    assert!(at >= t(10_000) && at < t(20_000), "{at}");
    // A second general query with a later delay does not postpone the answer, and
    // is not answered again.
    general_query(&mut mld, t(10_000), 10_000);
    assert!(mld.poll_at().unwrap() <= at);
    let at = mld.poll_at().unwrap();
    let sent = run(&mut mld, t(30_000));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, at);
    let (_, tx) = &sent[0];
    assert_eq!(tx.kind, ReportKind::CurrentState);
    let expect: Vec<_> = groups
        .iter()
        .map(|g| (RecordType::ModeIsExclude, *g))
        .collect();
    assert_eq!(records(tx), expect);
    assert_eq!(tx.src_addr, addr("fe80::ff:fe00:901"));
    let stats = mld.stats();
    assert_eq!((stats.queries, stats.general_queries), (2, 2));
    assert_eq!(stats.current_records_sent, 3);
}

#[test]
fn general_query_delays_spread_over_the_maximum_response_delay() {
    let mut delays = Vec::new();
    for seed in 1..50 {
        let config = MldConfig {
            seed,
            ..MldConfig::default()
        };
        let mut mld = MldListener::new(config, MAC);
        mld.join(t(0), addr("ff05::2")).unwrap();
        run(&mut mld, t(2_000));
        general_query(&mut mld, t(10_000), 1_000);
        let at = mld.poll_at().unwrap();
        assert!(at >= t(10_000) && at < t(11_000));
        delays.push(at);
    }
    delays.sort();
    delays.dedup();
    assert!(delays.len() > 40, "delays are random");
    // A zero delay answers at once.
    let mut mld = listener();
    mld.join(t(0), addr("ff05::2")).unwrap();
    run(&mut mld, t(2_000));
    general_query(&mut mld, t(3_000), 0);
    assert_eq!(drain(&mut mld, t(3_000)).len(), 1);
}

#[test]
fn specific_query_reports_that_group_only() {
    let mut mld = listener();
    let (a, b) = (addr("ff05::2"), addr("ff05::3"));
    mld.join(t(0), a).unwrap();
    mld.join(t(0), b).unwrap();
    run(&mut mld, t(2_000));
    specific_query(&mut mld, t(5_000), b, 1_000);
    let sent = run(&mut mld, t(10_000));
    assert_eq!(sent.len(), 1);
    assert!(sent[0].0 >= t(5_000) && sent[0].0 < t(6_000));
    assert_eq!(records(&sent[0].1), [(RecordType::ModeIsExclude, b)]);
    // Not joined: nothing to say.
    specific_query(&mut mld, t(20_000), addr("ff05::4"), 1_000);
    assert_eq!(mld.poll_at(), None);
    assert_eq!(mld.stats().queries_not_joined, 1);
    // A specific query while a general answer is due sooner adds nothing.
    general_query(&mut mld, t(30_000), 0);
    specific_query(&mut mld, t(30_000), a, 1_000);
    let sent = run(&mut mld, t(40_000));
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1.records.len(), 2);
}

#[test]
fn mldv1_query_is_answered_as_mldv2() {
    let mut mld = listener();
    let group = addr("ff05::2");
    mld.join(t(0), group).unwrap();
    run(&mut mld, t(2_000));
    let repr = QueryRepr::general(QueryVersion::V1, 1_000);
    let bytes = query_bytes(&repr, &ROUTER, &ipv6::LINK_LOCAL_ALL_NODES);
    assert_eq!(bytes.len(), 24);
    mld.handle_query(
        t(3_000),
        ROUTER,
        ipv6::LINK_LOCAL_ALL_NODES,
        1,
        &bytes,
        &SOFTWARE,
    );
    let sent = run(&mut mld, t(5_000));
    assert_eq!(sent.len(), 1);
    assert_eq!(records(&sent[0].1), [(RecordType::ModeIsExclude, group)]);
    assert_eq!(mld.stats().v1_queries, 1);
}

#[test]
fn query_robustness_variable_is_adopted() {
    let mut mld = listener();
    let repr = QueryRepr {
        qrv: 3,
        ..QueryRepr::general(QueryVersion::V2, 1_000)
    };
    let bytes = query_bytes(&repr, &ROUTER, &ipv6::LINK_LOCAL_ALL_NODES);
    mld.handle_query(
        t(0),
        ROUTER,
        ipv6::LINK_LOCAL_ALL_NODES,
        1,
        &bytes,
        &SOFTWARE,
    );
    assert_eq!(mld.robustness(), 3);
    run(&mut mld, t(2_000));
    mld.join(t(5_000), addr("ff05::2")).unwrap();
    assert_eq!(run(&mut mld, t(10_000)).len(), 3);
}

#[test]
fn bad_queries_are_dropped_and_counted() {
    let mut mld = listener();
    mld.join(t(0), addr("ff05::2")).unwrap();
    run(&mut mld, t(2_000));
    let all = ipv6::LINK_LOCAL_ALL_NODES;
    let repr = QueryRepr::general(QueryVersion::V2, 0);
    // Not link-local: a global source, and the unspecified address.
    for src in [addr("2001:db8::1"), Ipv6Addr::UNSPECIFIED] {
        let bytes = query_bytes(&repr, &src, &all);
        mld.handle_query(t(3_000), src, all, 1, &bytes, &SOFTWARE);
    }
    // Hop limit 255.
    let bytes = query_bytes(&repr, &ROUTER, &all);
    mld.handle_query(t(3_000), ROUTER, all, 255, &bytes, &SOFTWARE);
    // Bad checksum.
    let mut bad = bytes.clone();
    bad[3] ^= 1;
    mld.handle_query(t(3_000), ROUTER, all, 1, &bad, &SOFTWARE);
    // 26 bytes: neither version (RFC 3810 §8.1); 10 bytes: truncated.
    mld.handle_query(
        t(3_000),
        ROUTER,
        all,
        1,
        &bytes[..26],
        &ChecksumCaps::offloaded(),
    );
    mld.handle_query(t(3_000), ROUTER, all, 1, &bytes[..10], &SOFTWARE);
    assert_eq!(mld.poll_at(), None);
    assert!(drain(&mut mld, t(3_000)).is_empty());
    let stats = mld.stats();
    assert_eq!(stats.query_bad_source, 2);
    assert_eq!(stats.query_bad_hop_limit, 1);
    assert_eq!(stats.query_checksum, 1);
    assert_eq!(stats.query_malformed, 2);
    assert_eq!(stats.queries, 0);
    assert_eq!(stats.dropped(), 6);
    assert_eq!(stats.received(), 6);
    // The same query, valid, is answered.
    mld.handle_query(t(3_000), ROUTER, all, 1, &bytes, &SOFTWARE);
    assert_eq!(drain(&mut mld, t(3_000)).len(), 1);
}

#[test]
fn refuses_groups_it_must_not_report() {
    let mut mld = listener();
    let cases = [
        ("ff02::1", MldError::NotReported),
        ("ff01::fb", MldError::NotReported),
        ("ff00::fb", MldError::NotReported),
        ("ff10::1", MldError::NotReported),
        ("fe80::1", MldError::NotMulticast),
        ("::", MldError::NotMulticast),
    ];
    for (text, err) in cases {
        assert_eq!(mld.join(t(0), addr(text)), Err(err), "{text}");
        assert_eq!(mld.leave(t(0), addr(text)), Err(err), "{text}");
    }
    assert_eq!(mld.stats().joins_refused, 6);
    assert!(mld.is_member(&ipv6::LINK_LOCAL_ALL_NODES));
    assert!(!mld.is_member(&addr("ff02::2")));
    assert_eq!(mld.poll_at(), None);
    assert_eq!(MldError::TableFull.as_str(), "table_full");
    assert_eq!(
        MldError::NotMulticast.to_string(),
        "not a multicast address"
    );
}

#[test]
fn table_is_bounded() {
    let config = MldConfig {
        max_groups: 2,
        ..MldConfig::default()
    };
    let mut mld = MldListener::new(config, MAC);
    let [a, b, c] = [addr("ff05::a"), addr("ff05::b"), addr("ff05::c")];
    mld.join(t(0), a).unwrap();
    mld.join(t(0), b).unwrap();
    assert_eq!(mld.join(t(0), c), Err(MldError::TableFull));
    assert_eq!(mld.stats().joins_refused, 1);
    // A left group still being reported gives its place up to a join.
    mld.leave(t(0), a).unwrap();
    assert_eq!(mld.table_len(), 2);
    assert_eq!(mld.join(t(0), c), Ok(true));
    assert_eq!(mld.table_len(), 2);
    assert_eq!(mld.stats().changes_abandoned, 1);
    let tx = &drain(&mut mld, t(0))[0];
    assert_eq!(
        records(tx),
        [
            (RecordType::ChangeToExclude, b),
            (RecordType::ChangeToExclude, c)
        ]
    );
    // Default: 64.
    let mut mld = listener();
    for i in 0..64u16 {
        mld.join(t(0), Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 0, i + 1))
            .unwrap();
    }
    assert_eq!(mld.join(t(0), addr("ff05::1:1")), Err(MldError::TableFull));
    assert_eq!(mld.len(), 64);
}

#[test]
fn outbox_is_bounded() {
    let config = MldConfig {
        max_groups: 200,
        transmit_capacity: 2,
        ..MldConfig::default()
    };
    let mut mld = MldListener::new(config, MAC);
    for i in 0..200u16 {
        mld.join(t(0), Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, i))
            .unwrap();
    }
    mld.handle_timeout(t(0));
    assert_eq!(mld.outbox_len(), 2);
    assert_eq!(mld.stats().tx_overflow, 2, "200 records need 4 reports");
    assert_eq!(drain(&mut mld, t(0)).len(), 2);
}

#[test]
fn emits_the_kernels_report_frame() {
    // The report Linux sent when fe80::ff:fe00:901 came up (wire::frames_v6).
    let mut mld = listener();
    mld.set_source(Some(addr("fe80::ff:fe00:901")));
    mld.join(t(0), addr("ff02::1:ff00:901")).unwrap();
    mld.join(t(0), addr("ff02::1:ff00:1")).unwrap();
    let tx = mld.poll_transmit(t(0)).unwrap();
    let mut frame = vec![0xa5u8; tx.buffer_len() + 10];
    let len = tx.emit(&mut frame);
    assert_eq!(len, 14 + MLD_REPORT.len());
    assert_eq!(&frame[14..len], &MLD_REPORT[..]);
    let eth = EthernetFrame::new_checked(&frame[..len]).unwrap();
    assert_eq!(
        EthernetRepr::parse(&eth).unwrap(),
        EthernetRepr {
            src_addr: MAC,
            dst_addr: EthernetAddress([0x33, 0x33, 0, 0, 0, 0x16]),
            ethertype: EtherType::Ipv6,
        }
    );
}

#[test]
fn emitted_frames_parse_back() {
    let mut mld = listener();
    let groups = [addr("ff05::1:3"), addr("ff0e::101")];
    for group in groups {
        mld.join(t(0), group).unwrap();
    }
    mld.leave(t(0), groups[1]).unwrap();
    for source in [None, Some(addr("fe80::1"))] {
        mld.set_source(source);
        general_query(&mut mld, t(10_000), 0);
        mld.leave(t(10_000), groups[0]).unwrap();
        mld.join(t(10_000), groups[1]).unwrap();
        for tx in drain(&mut mld, t(10_000)) {
            let mut frame = vec![0u8; tx.buffer_len()];
            assert_eq!(tx.emit(&mut frame), frame.len());
            let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
            assert_eq!(eth.dst_addr(), MldTransmit::DST_MAC);
            assert_eq!(eth.ethertype(), EtherType::Ipv6);
            let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
            let ip_repr = Ipv6Repr::parse(&ip).unwrap();
            assert_eq!(ip_repr.src_addr, source.unwrap_or(Ipv6Addr::UNSPECIFIED));
            assert_eq!(ip_repr.dst_addr, ipv6::LINK_LOCAL_ALL_MLDV2_ROUTERS);
            assert_eq!(ip_repr.hop_limit, 1);
            assert_eq!(ip_repr.next_header, IpProtocol::HopByHop);
            let hbh = Header::new_checked(ip.payload()).unwrap();
            assert_eq!(
                OptionsRepr::parse(&hbh).unwrap(),
                OptionsRepr {
                    next_header: IpProtocol::Icmpv6,
                    router_alert: Some(0)
                }
            );
            let report = Packet::new_checked(&ip.payload()[hbh.header_len()..]).unwrap();
            assert!(report.verify_checksum(&ip_repr.src_addr, &ip_repr.dst_addr));
            let back: Vec<_> = report
                .records()
                .map(|r| r.unwrap())
                .map(|r| (r.record_type, r.group))
                .collect();
            assert_eq!(back, records(&tx));
        }
        run(&mut mld, t(12_000));
    }
}

#[test]
fn config_is_clamped_and_stats_named() {
    let config = MldConfig {
        max_groups: 0,
        robustness: 0,
        unsolicited_report_interval: Duration::ZERO,
        transmit_capacity: 0,
        seed: 0,
    };
    let mut mld = MldListener::new(config, MAC);
    assert_eq!(mld.config().max_groups, 1);
    assert_eq!(mld.robustness(), 1);
    assert_eq!(mld.hardware_addr(), MAC);
    assert_eq!(mld.source(), None);
    mld.join(t(0), addr("ff05::2")).unwrap();
    assert_eq!(run(&mut mld, t(1_000)).len(), 1);
    assert!(!mld.is_empty());
    let names: Vec<_> = mld.stats().drop_reasons().iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "query_malformed",
            "query_checksum",
            "query_bad_source",
            "query_bad_hop_limit",
            "tx_overflow"
        ]
    );
    assert_eq!(mld.stats().sent(), 1);
}
