//! Router solicitation (RFC 4861 §6.3.7) and advertisement processing: routers,
//! prefixes, SLAAC and the two-hour rule (RFC 4861 §6.3.4, RFC 4862 §5.5.3).

use super::*;

#[test]
fn rs_is_the_kernels_rs_byte_for_byte() {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    transmits(&mut conf, ms(0));
    let out = transmits(&mut conf, ms(1000));
    assert_eq!(out.len(), 1);
    let (repr, src, dst, bytes) = parse_back(&out[0]);
    assert_eq!(
        repr,
        NdiscRepr::RouterSolicit {
            lladdr: Some(MAC_A.0)
        }
    );
    assert_eq!((src, dst), (LL_A, addr("ff02::2")));
    assert_eq!(
        out[0].dst_mac(),
        EthernetAddress::new(0x33, 0x33, 0, 0, 0, 2)
    );
    assert_eq!(bytes, frames_v6::RS);
}

#[test]
fn rs_three_times_four_seconds_apart_then_stops() {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    transmits(&mut conf, ms(0));
    let mut times = Vec::new();
    while let Some(at) = conf.poll_at() {
        for tx in transmits(&mut conf, at) {
            assert!(matches!(tx.message, AddrConfMessage::RouterSolicit { .. }));
            times.push(at);
        }
    }
    assert_eq!(times, [secs(1), secs(5), secs(9)]);
    assert_eq!(conf.stats().rs_sent, 3);
    assert!(!conf.is_soliciting());
}

#[test]
fn rs_stops_when_an_ra_arrives() {
    let mut conf = up();
    assert!(conf.is_soliciting());
    assert_eq!(conf.poll_at(), Some(secs(5)));
    handle(&mut conf, ms(2000), ROUTER, &ra(0, &[]));
    assert!(!conf.is_soliciting());
    assert!(transmits(&mut conf, secs(100)).is_empty());
    assert_eq!(conf.stats().rs_sent, 1);
}

#[test]
fn rs_during_dad_goes_from_unspecified_without_lladdr() {
    let mut conf = AddrConf::new(AddrConfConfig {
        solicit_during_dad: true,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    let out = transmits(&mut conf, ms(0));
    assert_eq!(out.len(), 2);
    let rs = out
        .iter()
        .find(|t| matches!(t.message, AddrConfMessage::RouterSolicit { .. }))
        .unwrap();
    let (repr, src, _, _) = parse_back(rs);
    assert_eq!(repr, NdiscRepr::RouterSolicit { lladdr: None });
    assert_eq!(src, Ipv6Addr::UNSPECIFIED);
    // The next one, after DAD, from the link-local address.
    let out = transmits(&mut conf, secs(4));
    let (repr, src, _, _) = parse_back(&out[0]);
    assert_eq!(src, LL_A);
    assert_eq!(
        repr,
        NdiscRepr::RouterSolicit {
            lladdr: Some(MAC_A.0)
        }
    );
}

// ---------------------------------------------------------------- router advertisements

#[test]
fn slaac_from_radvds_advertisement() {
    let mut conf = up();
    let t = secs(2);
    handle(&mut conf, t, ROUTER, &frames_v6::RA[40..]);
    assert_eq!(conf.stats().ra_received, 1);
    assert_eq!(
        conf.routers(),
        [DefaultRouter {
            addr: ROUTER,
            lladdr: Some(EthernetAddress(ROUTER_MAC)),
            expires: secs(14)
        }]
    );
    assert_eq!(
        conf.prefixes(),
        [OnLinkPrefix {
            prefix: addr("fd00:9::"),
            prefix_len: 64,
            expires: Some(secs(2 + 86400))
        }]
    );
    assert_eq!(conf.cur_hop_limit(), Some(64));
    assert_eq!(conf.mtu(), 1500);
    // The kernel's address: prefix + EUI-64, tentative.
    assert_eq!(
        slaac_state(&conf, SLAAC_A),
        Some((
            Ipv6AddrState::Tentative,
            Some(secs(2 + 14400)),
            Some(secs(2 + 86400))
        ))
    );
    let ev = events(&mut conf);
    for expected in [
        AddrConfEvent::RouterAdded { addr: ROUTER },
        AddrConfEvent::PrefixAdded {
            prefix: addr("fd00:9::"),
            prefix_len: 64,
        },
        AddrConfEvent::AddressAdded {
            addr: SLAAC_A,
            prefix_len: 64,
            origin: AddrOrigin::Slaac,
        },
    ] {
        assert!(ev.contains(&expected), "{expected:?} in {ev:?}");
    }
    // The link-local address already needs ff02::1:ff00:901.
    assert!(!ev
        .iter()
        .any(|e| matches!(e, AddrConfEvent::JoinGroup { .. })));
    assert!(ev.contains(&AddrConfEvent::LinkParameters {
        cur_hop_limit: Some(64),
        reachable_time: None,
        retrans_timer: Duration::from_secs(1),
    }));
    // DAD: probe now, preferred a second later.
    let out = transmits(&mut conf, t);
    assert_eq!(out.len(), 1);
    let (repr, _, dst, _) = parse_back(&out[0]);
    assert_eq!(
        repr,
        NdiscRepr::NeighborSolicit {
            target_addr: SLAAC_A,
            lladdr: None
        }
    );
    assert_eq!(dst, addr("ff02::1:ff00:901"));
    conf.handle_timeout(secs(3));
    assert_eq!(conf.state(SLAAC_A), Some(Ipv6AddrState::Preferred));
    assert_eq!(conf.usable_source(&addr("fd00:9::2")), Some(SLAAC_A));
    assert_eq!(conf.usable_source(&addr("2001:db8::1")), Some(SLAAC_A));
    // The router's lifetime ends at 14 s.
    conf.handle_timeout(secs(14));
    assert!(conf.routers().is_empty());
    assert!(events(&mut conf).contains(&AddrConfEvent::RouterRemoved { addr: ROUTER }));
    // Preferred lifetime, then valid lifetime.
    conf.handle_timeout(secs(2 + 14400));
    assert_eq!(conf.state(SLAAC_A), Some(Ipv6AddrState::Deprecated));
    conf.handle_timeout(secs(2 + 86400));
    assert_eq!(conf.state(SLAAC_A), None);
    assert!(conf.prefixes().is_empty());
    let ev = events(&mut conf);
    assert!(ev.contains(&AddrConfEvent::AddressDeprecated { addr: SLAAC_A }));
    assert!(ev.contains(&AddrConfEvent::AddressRemoved {
        addr: SLAAC_A,
        reason: AddrRemovalReason::Expired
    }));
    assert!(ev.contains(&AddrConfEvent::PrefixRemoved {
        prefix: addr("fd00:9::"),
        prefix_len: 64
    }));
    assert_eq!(conf.stats().addresses_expired, 1);
}

#[test]
fn every_prefix_option_is_used() {
    let mut conf = up();
    let bytes = ra(
        1800,
        &[
            prefix("2001:db8:1::", 64, true, true, 3600, 1800),
            prefix("2001:db8:2::", 64, false, true, 3600, 1800),
            prefix("2001:db8:3::", 48, true, false, 3600, 1800),
        ],
    );
    handle(&mut conf, secs(2), ROUTER, &bytes);
    let slaac: Vec<_> = conf
        .addresses()
        .filter(|a| a.origin == AddrOrigin::Slaac)
        .map(|a| a.addr)
        .collect();
    assert_eq!(
        slaac,
        [
            addr("2001:db8:1::ff:fe00:901"),
            addr("2001:db8:2::ff:fe00:901")
        ]
    );
    let onlink: Vec<_> = conf
        .prefixes()
        .iter()
        .map(|p| (p.prefix, p.prefix_len))
        .collect();
    assert_eq!(
        onlink,
        [(addr("2001:db8:1::"), 64), (addr("2001:db8:3::"), 48)]
    );
}

#[test]
fn prefixes_that_are_ignored() {
    let mut conf = up();
    let bytes = ra(
        1800,
        &[
            // (b) the link-local prefix.
            prefix("fe80::", 64, true, true, 3600, 1800),
            // (c) preferred > valid: the whole option.
            prefix("2001:db8:c::", 64, true, true, 100, 200),
            // (d) not a /64: no address, but on-link.
            prefix("2001:db8:d::", 56, true, true, 3600, 1800),
            // A new prefix with valid lifetime 0.
            prefix("2001:db8:e::", 64, true, true, 0, 0),
            // Autonomous off.
            prefix("2001:db8:f::", 64, false, false, 3600, 1800),
        ],
    );
    handle(&mut conf, secs(2), ROUTER, &bytes);
    assert_eq!(conf.addresses().count(), 1, "only the link-local");
    let onlink: Vec<_> = conf.prefixes().iter().map(|p| p.prefix).collect();
    assert_eq!(onlink, [addr("2001:db8:d::")]);
    let s = conf.stats();
    assert_eq!(
        (
            s.prefix_link_local,
            s.prefix_bad_lifetimes,
            s.prefix_bad_length
        ),
        (1, 1, 1)
    );
    // An on-link prefix with valid lifetime 0 goes.
    handle(
        &mut conf,
        secs(3),
        ROUTER,
        &ra(1800, &[prefix("2001:db8:d::", 56, true, false, 0, 0)]),
    );
    assert!(conf.prefixes().is_empty());
    // Autoconf off: on-link only.
    let mut off = AddrConf::new(AddrConfConfig {
        autoconf: false,
        ..config()
    });
    off.enable(ms(0), MAC_A).unwrap();
    handle(&mut off, secs(1), ROUTER, &frames_v6::RA[40..]);
    assert_eq!(off.addresses().count(), 1);
    assert_eq!(off.prefixes().len(), 1);
}

/// An interface with a PREFERRED SLAAC address in 2001:db8:1::/64 formed at
/// 2 s with `valid` and `preferred` lifetimes.
fn with_slaac(valid: u32, preferred: u32) -> (AddrConf, Ipv6Addr) {
    let mut conf = up();
    handle(
        &mut conf,
        secs(2),
        ROUTER,
        &ra(
            0,
            &[prefix("2001:db8:1::", 64, true, true, valid, preferred)],
        ),
    );
    conf.handle_timeout(secs(3));
    let a = addr("2001:db8:1::ff:fe00:901");
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Preferred));
    events(&mut conf);
    (conf, a)
}

fn update(conf: &mut AddrConf, now: Instant, valid: u32, preferred: u32) {
    handle(
        conf,
        now,
        ROUTER,
        &ra(
            0,
            &[prefix("2001:db8:1::", 64, true, true, valid, preferred)],
        ),
    );
}

#[test]
fn two_hour_rule_caps_a_shorter_valid_lifetime_at_two_hours() {
    // Remaining 86400 s - 8 s; received 600 s: reset to two hours.
    let (mut conf, a) = with_slaac(86400, 14400);
    update(&mut conf, secs(10), 600, 300);
    assert_eq!(
        slaac_state(&conf, a),
        Some((
            Ipv6AddrState::Preferred,
            Some(secs(310)),
            Some(secs(10 + 7200))
        ))
    );
}

#[test]
fn two_hour_rule_ignores_a_shorter_lifetime_when_two_hours_or_less_remain() {
    let (mut conf, a) = with_slaac(3600, 1800);
    // Remaining 3592 s ≤ 2 h: the received 600 s is ignored.
    update(&mut conf, secs(10), 600, 600);
    assert_eq!(
        slaac_state(&conf, a),
        Some((Ipv6AddrState::Preferred, Some(secs(610)), Some(secs(3602))))
    );
    // Even 0 cannot remove it.
    update(&mut conf, secs(20), 0, 0);
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Deprecated));
    assert_eq!(slaac_state(&conf, a).unwrap().2, Some(secs(3602)));
}

#[test]
fn two_hour_rule_accepts_longer_lifetimes() {
    let (mut conf, a) = with_slaac(3600, 1800);
    // Above two hours: taken.
    update(&mut conf, secs(10), 10800, 5400);
    assert_eq!(slaac_state(&conf, a).unwrap().2, Some(secs(10 + 10800)));
    // Below two hours but above the remaining: taken.
    let (mut conf, a) = with_slaac(1000, 500);
    update(&mut conf, secs(10), 5000, 500);
    assert_eq!(slaac_state(&conf, a).unwrap().2, Some(secs(5010)));
    // Infinite: taken, and never expires.
    update(&mut conf, secs(20), 0xffff_ffff, 0xffff_ffff);
    assert_eq!(
        slaac_state(&conf, a),
        Some((Ipv6AddrState::Preferred, None, None))
    );
    // Infinite remaining, received 600: reset to two hours.
    update(&mut conf, secs(30), 600, 600);
    assert_eq!(slaac_state(&conf, a).unwrap().2, Some(secs(30 + 7200)));
}

#[test]
fn preferred_lifetime_zero_deprecates_and_a_renewal_revives() {
    let (mut conf, a) = with_slaac(86400, 14400);
    update(&mut conf, secs(10), 86400, 0);
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Deprecated));
    assert_eq!(
        events(&mut conf),
        [AddrConfEvent::AddressDeprecated { addr: a }]
    );
    update(&mut conf, secs(20), 86400, 3600);
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Preferred));
    assert_eq!(
        events(&mut conf),
        [AddrConfEvent::AddressPreferred { addr: a }]
    );
    assert_eq!(conf.stats().addresses_deprecated, 1);
}

#[test]
fn router_lifetime_zero_removes_and_the_list_is_bounded() {
    let mut conf = AddrConf::new(AddrConfConfig {
        max_routers: 2,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    for i in 1..=3u16 {
        let src = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i);
        handle(&mut conf, secs(1), src, &ra(1800, &[]));
    }
    assert_eq!(conf.routers().len(), 2);
    assert_eq!(conf.stats().router_table_full, 1);
    handle(&mut conf, secs(2), addr("fe80::1"), &ra(0, &[]));
    assert_eq!(conf.routers().len(), 1);
    assert_eq!(conf.routers()[0].addr, addr("fe80::2"));
    // A refresh moves the expiry.
    handle(&mut conf, secs(100), addr("fe80::2"), &ra(60, &[]));
    assert_eq!(conf.routers()[0].expires, secs(160));
    assert_eq!(conf.stats().routers_removed, 1);
}

#[test]
fn invalid_advertisements_are_counted() {
    let mut conf = up();
    // Not from a link-local address.
    handle(&mut conf, secs(2), addr("2001:db8::1"), &ra(1800, &[]));
    // Truncated.
    conf.handle_ra(
        secs(2),
        ROUTER,
        &NdiscPacket::new_unchecked(&ra(1800, &[])[..12]),
    );
    // A zero-length option.
    let mut bad = ra(1800, &[]);
    bad.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    handle(&mut conf, secs(2), ROUTER, &bad);
    assert_eq!(conf.stats().ra_invalid, 3);
    assert!(conf.routers().is_empty());
    // Before enable.
    let mut off = AddrConf::new(config());
    handle(&mut off, secs(1), ROUTER, &frames_v6::RA[40..]);
    assert_eq!(off.stats().ra_disabled, 1);
    // An NS too short.
    conf.handle_ns(
        secs(2),
        ROUTER,
        &NdiscPacket::new_unchecked(&[135u8, 0, 0, 0][..]),
    );
    assert_eq!(conf.stats().nd_invalid, 1);
}

#[test]
fn mtu_option_is_bounded() {
    let mut conf = up();
    handle(
        &mut conf,
        secs(2),
        ROUTER,
        &ra(1800, &[NdiscOption::Mtu(1280)]),
    );
    assert_eq!(conf.mtu(), 1280);
    assert!(events(&mut conf).contains(&AddrConfEvent::MtuChanged { mtu: 1280 }));
    handle(
        &mut conf,
        secs(2),
        ROUTER,
        &ra(1800, &[NdiscOption::Mtu(1279)]),
    );
    handle(
        &mut conf,
        secs(2),
        ROUTER,
        &ra(1800, &[NdiscOption::Mtu(9000)]),
    );
    assert_eq!(conf.mtu(), 1280);
    assert_eq!(conf.stats().mtu_out_of_range, 2);
    handle(
        &mut conf,
        secs(2),
        ROUTER,
        &ra(1800, &[NdiscOption::Mtu(1500)]),
    );
    assert_eq!(conf.mtu(), 1500);
}

#[test]
fn link_parameters_are_surfaced_and_retrans_timer_paces_dad() {
    let mut conf = up();
    let mut bytes = ra(1800, &[]);
    {
        let mut packet = NdiscPacket::new_unchecked(&mut bytes[..]);
        packet.set_current_hop_limit(32);
        packet.set_reachable_time(20_000);
        packet.set_retrans_time(250);
    }
    handle(&mut conf, secs(2), ROUTER, &bytes);
    assert_eq!(conf.cur_hop_limit(), Some(32));
    assert_eq!(conf.reachable_time(), Some(Duration::from_secs(20)));
    assert_eq!(conf.retrans_timer(), Duration::from_millis(250));
    assert!(events(&mut conf).contains(&AddrConfEvent::LinkParameters {
        cur_hop_limit: Some(32),
        reachable_time: Some(Duration::from_secs(20)),
        retrans_timer: Duration::from_millis(250),
    }));
    // The same values again: no event.
    handle(&mut conf, secs(3), ROUTER, &bytes);
    assert!(!events(&mut conf)
        .iter()
        .any(|e| matches!(e, AddrConfEvent::LinkParameters { .. })));
    // DAD now waits 250 ms.
    let a = addr("2001:db8::7");
    conf.add_address(secs(4), a, 64, Lifetimes::INFINITE)
        .unwrap();
    assert_eq!(transmits(&mut conf, secs(4)).len(), 1);
    conf.handle_timeout(ms(4249));
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Tentative));
    conf.handle_timeout(ms(4250));
    assert_eq!(conf.state(a), Some(Ipv6AddrState::Preferred));
}

#[test]
fn slaac_respects_the_address_cap() {
    let mut conf = AddrConf::new(AddrConfConfig {
        max_addresses: 2,
        max_prefixes: 1,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    handle(
        &mut conf,
        secs(1),
        ROUTER,
        &ra(
            1800,
            &[
                prefix("2001:db8:1::", 64, true, true, 3600, 1800),
                prefix("2001:db8:2::", 64, true, true, 3600, 1800),
            ],
        ),
    );
    assert_eq!(conf.addresses().count(), 2);
    assert_eq!(conf.prefixes().len(), 1);
    let s = conf.stats();
    assert_eq!((s.address_table_full, s.prefix_table_full), (1, 1));
}

#[test]
fn queues_are_bounded_and_overflow_counted() {
    let mut conf = AddrConf::new(AddrConfConfig {
        transmit_capacity: 1,
        event_capacity: 2,
        max_addresses: 4,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    conf.add_address(ms(0), addr("2001:db8::1"), 64, Lifetimes::INFINITE)
        .unwrap();
    conf.handle_timeout(ms(0));
    assert_eq!(conf.transmits_len(), 1);
    assert_eq!(conf.stats().tx_overflow, 1);
    assert_eq!(conf.events_len(), 2);
    assert!(conf.stats().events_dropped > 0);
    conf.check_invariants();
}

#[test]
fn drop_reasons_are_unique_and_sum_to_dropped() {
    let stats = AddrConfStats {
        ra_invalid: 1,
        prefix_bad_length: 2,
        events_dropped: 100,
        ..AddrConfStats::default()
    };
    let names: Vec<_> = stats.drop_reasons().iter().map(|(n, _)| *n).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len());
    assert_eq!(stats.dropped(), 3);
}
