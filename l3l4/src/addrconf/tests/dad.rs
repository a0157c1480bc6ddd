//! Duplicate address detection: timing, frames, both conflict kinds, looped-back
//! probes (RFC 4862 §5.4).

use super::*;

#[test]
fn dad_succeeds_after_one_retrans_timer_with_exact_frames() {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    // The groups are announced before any probe (RFC 4862 §5.4.2).
    assert_eq!(
        events(&mut conf),
        [
            AddrConfEvent::JoinGroup {
                group: addr("ff02::1")
            },
            AddrConfEvent::AddressAdded {
                addr: LL_A,
                prefix_len: 64,
                origin: AddrOrigin::LinkLocal
            },
            AddrConfEvent::JoinGroup {
                group: addr("ff02::1:ff00:901")
            },
        ]
    );
    assert_eq!(conf.groups(), [addr("ff02::1"), addr("ff02::1:ff00:901")]);
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Tentative));
    assert!(!conf.answers_for(LL_A));
    assert_eq!(conf.usable_source(&addr("ff02::1")), None);

    let out = transmits(&mut conf, ms(0));
    assert_eq!(out.len(), 1);
    let (repr, src, dst, bytes) = parse_back(&out[0]);
    assert_eq!(
        repr,
        NdiscRepr::NeighborSolicit {
            target_addr: LL_A,
            lladdr: None
        }
    );
    assert_eq!(
        (src, dst),
        (Ipv6Addr::UNSPECIFIED, addr("ff02::1:ff00:901"))
    );
    assert_eq!(
        out[0].dst_mac(),
        EthernetAddress::new(0x33, 0x33, 0xff, 0, 0x09, 0x01)
    );
    // Same layout as the kernel's DAD probe: 40 + 24 + an 8-byte nonce.
    assert_eq!(bytes.len(), frames_v6::DAD_NS.len());
    assert_eq!(bytes[..8], [0x60, 0, 0, 0, 0, 0x20, 0x3a, 0xff]);
    assert_eq!(bytes[64..66], [14, 1], "nonce option");
    assert_eq!(conf.stats().dad_probes_sent, 1);

    assert_eq!(conf.poll_at(), Some(ms(1000)));
    assert!(transmits(&mut conf, ms(999)).is_empty());
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Tentative));
    conf.handle_timeout(ms(1000));
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Preferred));
    assert!(conf.answers_for(LL_A));
    assert_eq!(
        events(&mut conf),
        [AddrConfEvent::DadSucceeded { addr: LL_A }]
    );
    assert_eq!(conf.stats().dad_succeeded, 1);
}

#[test]
fn dad_with_three_transmits_probes_one_second_apart() {
    let mut conf = AddrConf::new(AddrConfConfig {
        dup_addr_detect_transmits: 3,
        max_rtr_solicitations: 0,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    let mut times = Vec::new();
    let mut now = ms(0);
    while let Some(at) = conf.poll_at() {
        now = at;
        let out = transmits(&mut conf, now);
        if !out.is_empty() {
            times.push(now);
        }
    }
    assert_eq!(times, [ms(0), ms(1000), ms(2000)]);
    assert_eq!(
        now,
        ms(3000),
        "success one RetransTimer after the last probe"
    );
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Preferred));
    assert_eq!(conf.stats().dad_probes_sent, 3);
}

#[test]
fn dad_waits_a_random_delay_below_one_second() {
    let mut delays = Vec::new();
    for seed in 1..=20 {
        let mut conf = AddrConf::new(AddrConfConfig {
            seed,
            ..AddrConfConfig::default()
        });
        conf.enable(ms(0), MAC_A).unwrap();
        let at = conf.poll_at().unwrap();
        assert!(at < ms(1000), "seed {seed}: {at}");
        if at > ms(0) {
            let before = Instant::from_duration(at.since_epoch() - Duration::from_nanos(1));
            assert!(transmits(&mut conf, before).is_empty());
        }
        assert_eq!(transmits(&mut conf, at).len(), 1);
        delays.push(at);
    }
    delays.sort();
    delays.dedup();
    assert!(delays.len() > 10, "the delays vary with the seed");
    // The same seed gives the same delay.
    let first = |seed| {
        let mut conf = AddrConf::new(AddrConfConfig {
            seed,
            ..AddrConfConfig::default()
        });
        conf.enable(ms(0), MAC_A).unwrap();
        conf.poll_at()
    };
    assert_eq!(first(3), first(3));
}

#[test]
fn dad_off_makes_addresses_preferred_at_once() {
    let mut conf = AddrConf::new(AddrConfConfig {
        dup_addr_detect_transmits: 0,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Preferred));
    // No probe; the RS goes (after its own delay, zero here).
    let out = transmits(&mut conf, ms(0));
    assert_eq!(out.len(), 1);
    assert!(matches!(
        out[0].message,
        AddrConfMessage::RouterSolicit { .. }
    ));
    assert_eq!(conf.stats().dad_probes_sent, 0);
}

#[test]
fn probe_from_another_node_makes_link_local_duplicate_and_stops_autoconf() {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    transmits(&mut conf, ms(0));
    events(&mut conf);
    handle(
        &mut conf,
        ms(400),
        Ipv6Addr::UNSPECIFIED,
        &probe(LL_A, Some([1, 2, 3, 4, 5, 6])),
    );
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Duplicate));
    assert!(conf.is_stopped());
    assert_eq!(
        events(&mut conf),
        [
            AddrConfEvent::DuplicateAddressDetected {
                addr: LL_A,
                origin: AddrOrigin::LinkLocal
            },
            AddrConfEvent::AutoconfDisabled,
            AddrConfEvent::LeaveGroup {
                group: addr("ff02::1:ff00:901")
            },
        ]
    );
    // Never used, no RS at 1 s nor later, RAs ignored.
    assert!(transmits(&mut conf, secs(20)).is_empty());
    assert_eq!(conf.usable_source(&addr("ff02::2")), None);
    assert!(!conf.answers_for(LL_A));
    handle(&mut conf, secs(21), ROUTER, &frames_v6::RA[40..]);
    assert_eq!(conf.stats().ra_disabled, 1);
    assert!(conf.routers().is_empty());
    assert_eq!(conf.stats().dad_failed, 1);
}

#[test]
fn probe_without_nonce_is_another_node_when_we_send_nonces() {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    transmits(&mut conf, ms(0));
    handle(&mut conf, ms(10), Ipv6Addr::UNSPECIFIED, &probe(LL_A, None));
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Duplicate));
}

#[test]
fn na_for_a_tentative_manual_address_makes_it_duplicate() {
    let mut conf = up();
    let manual = addr("2001:db8::1");
    conf.add_address(secs(2), manual, 64, Lifetimes::INFINITE)
        .unwrap();
    assert_eq!(transmits(&mut conf, secs(2)).len(), 1);
    events(&mut conf);
    handle(&mut conf, ms(2500), manual, &na(manual));
    assert_eq!(conf.state(manual), Some(Ipv6AddrState::Duplicate));
    assert!(!conf.is_stopped(), "only the link-local stops autoconf");
    assert_eq!(
        events(&mut conf)[0],
        AddrConfEvent::DuplicateAddressDetected {
            addr: manual,
            origin: AddrOrigin::Manual
        }
    );
    // No success later; the link-local is untouched.
    conf.handle_timeout(secs(10));
    assert_eq!(conf.state(manual), Some(Ipv6AddrState::Duplicate));
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Preferred));
    assert_eq!(conf.usable_source(&addr("2001:db8::9")), None);
    // An NA for a preferred address is only counted.
    handle(&mut conf, secs(11), LL_A, &na(LL_A));
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Preferred));
    assert_eq!(conf.stats().na_conflicts, 1);
}

#[test]
fn our_own_looped_back_probe_is_ignored() {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    let out = transmits(&mut conf, ms(0));
    let (_, src, _, bytes) = parse_back(&out[0]);
    // The frame comes back as it went.
    handle(&mut conf, ms(1), src, &bytes[40..]);
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Tentative));
    assert_eq!(conf.stats().dad_looped_back, 1);
    conf.handle_timeout(ms(1000));
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Preferred));
}

#[test]
fn without_nonces_only_probes_beyond_those_sent_are_conflicts() {
    let mut conf = AddrConf::new(AddrConfConfig {
        dad_nonce: false,
        dup_addr_detect_transmits: 2,
        ..config()
    });
    conf.enable(ms(0), MAC_A).unwrap();
    let out = transmits(&mut conf, ms(0));
    let (_, _, _, bytes) = parse_back(&out[0]);
    assert_eq!(bytes.len(), 64, "no nonce option");
    // One sent, one received: ours (RFC 4862 Appendix A).
    handle(&mut conf, ms(1), Ipv6Addr::UNSPECIFIED, &bytes[40..]);
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Tentative));
    assert_eq!(conf.stats().dad_looped_back, 1);
    // A second probe before we sent a second one: another node.
    handle(&mut conf, ms(2), Ipv6Addr::UNSPECIFIED, &bytes[40..]);
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Duplicate));
}

#[test]
fn ns_from_a_unicast_source_for_a_tentative_address_is_discarded() {
    let mut conf = AddrConf::new(config());
    conf.enable(ms(0), MAC_A).unwrap();
    let repr = NdiscRepr::NeighborSolicit {
        target_addr: LL_A,
        lladdr: Some(ROUTER_MAC),
    };
    handle(
        &mut conf,
        ms(10),
        ROUTER,
        &ndisc_bytes(&repr, ROUTER, solicited(LL_A)),
    );
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Tentative));
    assert_eq!(conf.stats().ns_tentative_target, 1);
    assert_eq!(conf.stats().dropped(), 1);
    // An NS for someone else is nothing to us.
    let other = NdiscRepr::NeighborSolicit {
        target_addr: ROUTER,
        lladdr: None,
    };
    handle(
        &mut conf,
        ms(11),
        Ipv6Addr::UNSPECIFIED,
        &ndisc_bytes(&other, Ipv6Addr::UNSPECIFIED, solicited(ROUTER)),
    );
    assert_eq!(conf.state(LL_A), Some(Ipv6AddrState::Tentative));
    assert_eq!(conf.stats().ns_received, 2);
}
