use std::collections::BTreeSet;
use std::net::Ipv6Addr;

use proptest::prelude::*;
use strata_l2::{EthernetAddress, EthernetFrame, Instant};

use super::*;
use crate::checksum::ChecksumCaps;
use crate::wire::ipv6::{self, Packet as Ipv6Packet};
use crate::wire::ipv6ext::Header;
use crate::wire::mld::{Packet, Query, QueryRepr, QueryVersion, RecordType, MAX_RECORDS};

const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

#[derive(Debug, Clone)]
enum Op {
    Join(u8),
    Leave(u8),
    General(u16),
    Specific(u8, u16),
    BadQuery(u8),
    Advance(u16),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Join),
        2 => any::<u8>().prop_map(Op::Leave),
        1 => any::<u16>().prop_map(Op::General),
        1 => (any::<u8>(), any::<u16>()).prop_map(|(g, d)| Op::Specific(g, d)),
        1 => any::<u8>().prop_map(Op::BadQuery),
        3 => any::<u16>().prop_map(Op::Advance),
    ]
}

/// A small group space, with some groups MLD refuses (ff02::1, scope 1).
fn group(g: u8) -> Ipv6Addr {
    match g % 12 {
        0 => ipv6::LINK_LOCAL_ALL_NODES,
        1 => Ipv6Addr::new(0xff01, 0, 0, 0, 0, 0, 0, 0xfb),
        n => Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 0, u16::from(n)),
    }
}

fn query(mld: &mut MldListener, now: Instant, group: Ipv6Addr, delay: u16) {
    let repr = QueryRepr {
        group,
        ..QueryRepr::general(QueryVersion::V2, u32::from(delay))
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    let dst = ipv6::LINK_LOCAL_ALL_NODES;
    repr.emit(
        &mut Query::new_unchecked(&mut buf[..]),
        &ROUTER,
        &dst,
        &ChecksumCaps::software(),
    )
    .unwrap();
    mld.handle_query(now, ROUTER, dst, 1, &buf, &ChecksumCaps::software());
}

/// Drains and checks every transmit against the model.
fn drain(mld: &mut MldListener, now: Instant, model: &BTreeSet<Ipv6Addr>) -> usize {
    let mut n = 0;
    while let Some(tx) = mld.poll_transmit(now) {
        n += 1;
        assert!(!tx.records.is_empty() && tx.records.len() <= MAX_RECORDS);
        for record in &tx.records {
            let joined = model.contains(&record.group);
            match record.record_type {
                RecordType::ChangeToExclude | RecordType::ModeIsExclude => assert!(joined),
                RecordType::ChangeToInclude => assert!(!joined),
                other => panic!("unexpected record {other:?}"),
            }
            assert_eq!(
                tx.kind == ReportKind::CurrentState,
                record.record_type == RecordType::ModeIsExclude
            );
        }
        let mut frame = vec![0u8; tx.buffer_len()];
        assert_eq!(tx.emit(&mut frame), frame.len());
        let eth = EthernetFrame::new_checked(&frame[..]).unwrap();
        let ip = Ipv6Packet::new_checked(eth.payload()).unwrap();
        assert_eq!(ip.hop_limit(), 1);
        let hbh = Header::new_checked(ip.payload()).unwrap();
        let report = Packet::new_checked(&ip.payload()[hbh.header_len()..]).unwrap();
        assert!(report.verify_checksum(&ip.src_addr(), &ip.dst_addr()));
        assert_eq!(usize::from(report.nr_records()), tx.records.len());
    }
    n
}

proptest! {
    #[test]
    fn random_sequences_keep_the_invariants(
        ops in proptest::collection::vec(op(), 0..120),
        max_groups in 1..6usize,
        seed in any::<u64>(),
    ) {
        let config = MldConfig { max_groups, transmit_capacity: 3, seed, ..MldConfig::default() };
        let mut mld = MldListener::new(config, EthernetAddress([2, 0, 0, 0, 0, 1]));
        let mut model = BTreeSet::new();
        let mut now = Instant::from_secs(1);
        for op in ops {
            match op {
                Op::Join(g) => {
                    let g = group(g);
                    match mld.join(now, g) {
                        Ok(changed) => {
                            prop_assert_eq!(changed, model.insert(g));
                        }
                        Err(MldError::TableFull) => {
                            prop_assert!(!model.contains(&g));
                            prop_assert_eq!(model.len(), max_groups);
                        }
                        Err(_) => prop_assert!(check_group(&g).is_err()),
                    }
                }
                Op::Leave(g) => {
                    let g = group(g);
                    match mld.leave(now, g) {
                        Ok(changed) => prop_assert_eq!(changed, model.remove(&g)),
                        Err(_) => prop_assert!(check_group(&g).is_err()),
                    }
                }
                Op::General(delay) => query(&mut mld, now, Ipv6Addr::UNSPECIFIED, delay),
                Op::Specific(g, delay) => query(&mut mld, now, group(g), delay),
                Op::BadQuery(b) => {
                    let bytes = [130, 0, 0, 0, b, b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
                    mld.handle_query(now, ROUTER, ROUTER, 1, &bytes[..usize::from(b % 27)], &ChecksumCaps::offloaded());
                }
                Op::Advance(ms) => {
                    now += core::time::Duration::from_millis(u64::from(ms % 4096));
                }
            }
            if let Some(at) = mld.poll_at() {
                prop_assert!(at >= now || at + core::time::Duration::from_secs(70) >= now);
            }
            drain(&mut mld, now, &model);
            prop_assert!(mld.table_len() <= max_groups);
            prop_assert!(mld.outbox_len() <= 3);
            prop_assert_eq!(mld.groups().collect::<BTreeSet<_>>(), model.clone());
            prop_assert_eq!(mld.len(), model.len());
            for g in 0..12 {
                let g = group(g);
                prop_assert_eq!(mld.is_member(&g), model.contains(&g) || g == ipv6::LINK_LOCAL_ALL_NODES);
            }
            let stats = mld.stats();
            prop_assert_eq!(stats.dropped(), stats.drop_reasons().iter().map(|(_, n)| n).sum::<u64>());
            prop_assert!(stats.general_queries + stats.queries_not_joined <= stats.queries);
        }
        // Left alone, every timer runs out (the longest: a query delay of 65.5 s, or
        // retransmissions 1 s apart) and only joined groups stay in the table.
        let mut steps = 0;
        while let Some(at) = mld.poll_at() {
            now = now.max(at);
            drain(&mut mld, now, &model);
            steps += 1;
            prop_assert!(steps < 100);
        }
        prop_assert_eq!(mld.table_len(), model.len());
    }
}
