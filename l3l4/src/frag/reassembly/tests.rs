use super::*;

const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn key(ident: u32) -> Key<Ipv4Addr> {
    Key::new(A, B, IpProtocol::Udp, ident)
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

fn t(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

fn config(max_datagrams: usize, max_bytes: usize) -> Config {
    Config {
        max_datagrams,
        max_bytes,
        timeout: Duration::from_secs(30),
    }
}

#[test]
fn in_order() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(40);
    assert_eq!(r.handle_fragment(t(0), key(1), 0, true, &d[..16]), Ok(None));
    assert_eq!(
        r.handle_fragment(t(0), key(1), 16, true, &d[16..32]),
        Ok(None)
    );
    assert_eq!(r.buffered_bytes(), 32 + 2 * FRAGMENT_OVERHEAD);
    let done = r
        .handle_fragment(t(1), key(1), 32, false, &d[32..])
        .unwrap()
        .unwrap();
    assert_eq!(done.payload, d);
    assert_eq!(done.key, key(1));
    assert_eq!(done.fragments, 3);
    assert_eq!(
        (r.datagrams(), r.buffered_bytes(), r.poll_at()),
        (0, 0, None)
    );
    assert_eq!(r.stats().fragments, 3);
    assert_eq!(r.stats().reassembled, 1);
}

#[test]
fn out_of_order_and_interleaved() {
    let mut r = Ipv6Reassembler::new(Config::IPV6);
    let (a, b) = ("fd00::1".parse().unwrap(), "fd00::2".parse().unwrap());
    let k1 = Key::new(a, b, IpProtocol::Udp, 0xdead_beef);
    let k2 = Key::new(b, a, IpProtocol::Udp, 0xdead_beef);
    let d = data(100);
    assert_eq!(r.handle_fragment(t(0), k1, 96, false, &d[96..]), Ok(None));
    assert_eq!(r.handle_fragment(t(0), k2, 0, true, &d[..48]), Ok(None));
    assert_eq!(r.handle_fragment(t(0), k1, 48, true, &d[48..96]), Ok(None));
    assert_eq!(r.poll_at(), Some(t(60)));
    let done = r
        .handle_fragment(t(0), k1, 0, true, &d[..48])
        .unwrap()
        .unwrap();
    assert_eq!(done.payload, d);
    assert_eq!(r.datagrams(), 1);
}

#[test]
fn atomic_fragment_touches_no_state() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(8);
    assert_eq!(r.handle_fragment(t(0), key(1), 0, true, &d), Ok(None));
    let whole = r
        .handle_fragment(t(0), key(1), 0, false, b"abc")
        .unwrap()
        .unwrap();
    assert_eq!(
        (whole.payload.as_slice(), whole.fragments),
        (&b"abc"[..], 1)
    );
    assert_eq!(r.datagrams(), 1);
}

#[test]
fn duplicate_tolerated() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(24);
    assert_eq!(
        r.handle_fragment(t(0), key(1), 8, true, &d[8..16]),
        Ok(None)
    );
    assert_eq!(
        r.handle_fragment(t(0), key(1), 8, true, &d[8..16]),
        Ok(None)
    );
    assert_eq!(r.stats().duplicates, 1);
    assert_eq!(
        r.handle_fragment(t(0), key(1), 16, false, &d[16..]),
        Ok(None)
    );
    assert_eq!(
        r.handle_fragment(t(0), key(1), 16, false, &d[16..]),
        Ok(None)
    );
    let done = r
        .handle_fragment(t(0), key(1), 0, true, &d[..8])
        .unwrap()
        .unwrap();
    assert_eq!((done.payload, done.fragments), (d, 3));
    assert_eq!(r.stats().duplicates, 2);
}

fn assert_discarded(r: &mut Ipv4Reassembler, d: &[u8]) {
    assert_eq!(r.buffered_bytes(), 0);
    assert_eq!(r.datagrams(), 1, "the key is remembered");
    // Every later fragment, even the missing ones, is dropped.
    for (offset, more, range) in [(0, true, 0..8), (8, true, 8..16), (16, false, 16..24)] {
        assert_eq!(
            r.handle_fragment(t(5), key(1), offset, more, &d[range]),
            Err(FragDrop::Discarded)
        );
    }
    // Until the deadline: the key is forgotten silently, then a new datagram starts.
    assert_eq!(r.poll_at(), Some(t(30)));
    assert_eq!(r.handle_timeout(t(30)).count(), 0);
    assert_eq!(r.stats().timed_out, 0);
    assert_eq!(r.handle_fragment(t(30), key(1), 0, true, &d[..8]), Ok(None));
}

#[test]
fn same_offset_other_bytes_is_overlap() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(24);
    assert_eq!(
        r.handle_fragment(t(0), key(1), 8, true, &d[8..16]),
        Ok(None)
    );
    assert_eq!(
        r.handle_fragment(t(1), key(1), 8, true, &[0; 8]),
        Err(FragDrop::Overlap)
    );
    assert_discarded(&mut r, &d);
    assert_eq!(r.stats().dropped.overlap, 1);
    assert_eq!(r.stats().dropped.discarded, 3);
}

#[test]
fn overlap_drops_whole_datagram() {
    let d = data(40);
    // A fragment reaching into the next one, one starting inside the previous one,
    // one covering two, and a longer one at the same offset.
    let cases: [(u16, bool, Range); 4] = [
        (0, true, 0..16),
        (16, true, 16..32),
        (0, true, 0..32),
        (8, true, 8..24),
    ];
    for (offset, more, range) in cases {
        let mut r = Ipv4Reassembler::new(Config::IPV4);
        assert_eq!(
            r.handle_fragment(t(0), key(1), 8, true, &d[8..16]),
            Ok(None)
        );
        assert_eq!(
            r.handle_fragment(t(0), key(1), 24, false, &d[24..40]),
            Ok(None)
        );
        let got = r.handle_fragment(t(1), key(1), offset, more, &d[range.clone()]);
        assert_eq!(got, Err(FragDrop::Overlap), "{offset} {range:?}");
        assert_discarded(&mut r, &d);
    }
}

type Range = core::ops::Range<usize>;

#[test]
fn inconsistent_length_discards() {
    let d = data(32);
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    assert_eq!(
        r.handle_fragment(t(0), key(1), 16, false, &d[16..24]),
        Ok(None)
    );
    // Data past the end the last fragment gave.
    assert_eq!(
        r.handle_fragment(t(0), key(1), 24, true, &d[24..32]),
        Err(FragDrop::Inconsistent)
    );
    assert_discarded(&mut r, &d);

    let mut r = Ipv4Reassembler::new(Config::IPV4);
    assert_eq!(
        r.handle_fragment(t(0), key(1), 16, true, &d[16..24]),
        Ok(None)
    );
    // A last fragment ending before data already received.
    assert_eq!(
        r.handle_fragment(t(0), key(1), 8, false, &[]),
        Err(FragDrop::Inconsistent)
    );
    assert_eq!(r.stats().dropped.inconsistent, 1);
}

#[test]
fn malformed() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(16);
    assert_eq!(
        r.handle_fragment(t(0), key(1), 4, false, &d),
        Err(FragDrop::Malformed)
    );
    assert_eq!(
        r.handle_fragment(t(0), key(1), 0, true, &d[..12]),
        Err(FragDrop::Malformed)
    );
    assert_eq!(
        r.handle_fragment(t(0), key(1), 8, true, &[]),
        Err(FragDrop::Malformed)
    );
    assert_eq!(r.stats().dropped.malformed, 3);
    assert_eq!(r.datagrams(), 0);
}

#[test]
fn too_big() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(16);
    assert_eq!(r.handle_fragment(t(0), key(1), 0, true, &d[..8]), Ok(None));
    // 65528 + 16 > 65535: the fragment and its datagram go.
    assert_eq!(
        r.handle_fragment(t(0), key(1), 65528, false, &d),
        Err(FragDrop::TooBig)
    );
    assert_eq!((r.datagrams(), r.buffered_bytes()), (0, 0));
    // Exactly 65535 is allowed.
    assert_eq!(
        r.handle_fragment(t(0), key(2), 65528, false, &d[..7]),
        Ok(None)
    );
    assert_eq!(r.stats().dropped.too_big, 1);
}

#[test]
fn largest_datagram_reassembles() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(MAX_PAYLOAD);
    let mut done = None;
    for (i, chunk) in d.chunks(1480).enumerate() {
        let more = (i + 1) * 1480 < d.len();
        done = r
            .handle_fragment(t(0), key(9), (i * 1480) as u16, more, chunk)
            .unwrap();
    }
    assert_eq!(done.unwrap().payload, d);
}

#[test]
fn timeout_reports_first_bytes() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(48);
    assert_eq!(
        r.handle_fragment(t(10), key(1), 0, true, &d[..16]),
        Ok(None)
    );
    assert_eq!(
        r.handle_fragment(t(20), key(2), 16, true, &d[16..32]),
        Ok(None)
    );
    assert_eq!(r.poll_at(), Some(t(40)));
    assert_eq!(r.handle_timeout(t(39)).count(), 0);
    let expired: Vec<_> = r.handle_timeout(t(40)).collect();
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].key, key(1));
    assert_eq!(expired[0].first_bytes(), Some(&d[..8]));
    assert_eq!(r.poll_at(), Some(t(50)));
    let expired: Vec<_> = r.handle_timeout(t(100)).collect();
    assert_eq!((expired[0].key, expired[0].first_bytes()), (key(2), None));
    assert_eq!(
        (r.datagrams(), r.buffered_bytes(), r.poll_at()),
        (0, 0, None)
    );
    assert_eq!(r.stats().timed_out, 2);
}

#[test]
fn late_fragment_expires_stale_datagram() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(16);
    assert_eq!(r.handle_fragment(t(0), key(1), 0, true, &d[..8]), Ok(None));
    // The caller missed the deadline: the old datagram expires, a new one starts and
    // cannot complete with the stale data.
    assert_eq!(
        r.handle_fragment(t(31), key(1), 8, false, &d[8..]),
        Ok(None)
    );
    assert_eq!(r.poll_at(), Some(Instant::ZERO));
    let expired: Vec<_> = r.handle_timeout(t(31)).collect();
    assert_eq!(expired[0].first_bytes(), Some(&d[..8]));
    assert_eq!(r.poll_at(), Some(t(61)));
}

#[test]
fn timeout_without_first_fragment() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    assert_eq!(r.handle_fragment(t(0), key(1), 8, false, b"x"), Ok(None));
    let e: Vec<_> = r.handle_timeout(t(30)).collect();
    assert_eq!(e[0].first_bytes(), None);
}

#[test]
fn datagram_limit() {
    let mut r = Ipv4Reassembler::new(config(2, 1 << 20));
    let d = data(16);
    assert_eq!(r.handle_fragment(t(0), key(1), 0, true, &d[..8]), Ok(None));
    assert_eq!(r.handle_fragment(t(0), key(2), 0, true, &d[..8]), Ok(None));
    assert_eq!(
        r.handle_fragment(t(0), key(3), 0, true, &d[..8]),
        Err(FragDrop::TooManyDatagrams)
    );
    // Datagrams in progress still take fragments.
    assert!(r
        .handle_fragment(t(0), key(1), 8, false, &d[8..])
        .unwrap()
        .is_some());
    assert_eq!(r.handle_fragment(t(0), key(3), 0, true, &d[..8]), Ok(None));
    assert_eq!(r.stats().dropped.too_many_datagrams, 1);
}

#[test]
fn byte_budget() {
    let budget = 64 + 2 * FRAGMENT_OVERHEAD;
    let mut r = Ipv4Reassembler::new(config(16, budget));
    let d = data(128);
    assert_eq!(r.handle_fragment(t(0), key(1), 0, true, &d[..32]), Ok(None));
    assert_eq!(r.handle_fragment(t(0), key(2), 0, true, &d[..32]), Ok(None));
    assert_eq!(r.buffered_bytes(), budget);
    // A new datagram does not start.
    assert_eq!(
        r.handle_fragment(t(0), key(3), 0, true, &d[..8]),
        Err(FragDrop::NoMemory)
    );
    assert_eq!(r.datagrams(), 2);
    // A datagram in progress that would grow past the budget is discarded.
    assert_eq!(
        r.handle_fragment(t(0), key(1), 32, false, &d[32..40]),
        Err(FragDrop::NoMemory)
    );
    assert_eq!(
        (r.datagrams(), r.buffered_bytes()),
        (1, 32 + FRAGMENT_OVERHEAD)
    );
    // The freed room serves the next one.
    assert_eq!(r.handle_fragment(t(0), key(3), 0, true, &d[..8]), Ok(None));
    assert_eq!(r.stats().dropped.no_memory, 2);
}

#[test]
fn last_fragment_first_charges_whole_buffer() {
    let mut r = Ipv4Reassembler::new(config(4, 1000));
    let d = data(8);
    assert_eq!(
        r.handle_fragment(t(0), key(1), 2000, false, &d),
        Err(FragDrop::NoMemory)
    );
    assert_eq!((r.datagrams(), r.buffered_bytes()), (0, 0));
}

#[test]
fn drop_reason_labels() {
    let stats = FragDropStats::default();
    for reason in FragDrop::ALL {
        assert!(reason.as_str().starts_with("frag_"));
        assert_eq!(stats.get(reason), 0);
    }
}

#[test]
fn first_fragment_header_kept() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(24);
    let (h0, h1) = ([0x45; 20], [0x46; 24]);
    assert_eq!(
        r.handle_fragment_with_header(t(0), key(1), 0, true, &h0, &d[..8]),
        Ok(None)
    );
    // A later fragment's header is neither kept nor charged.
    assert_eq!(
        r.handle_fragment_with_header(t(0), key(1), 16, false, &h1, &d[16..]),
        Ok(None)
    );
    assert_eq!(r.buffered_bytes(), 24 + 20 + 2 * FRAGMENT_OVERHEAD);
    let done = r
        .handle_fragment(t(0), key(1), 8, true, &d[8..16])
        .unwrap()
        .unwrap();
    assert_eq!((done.header.as_slice(), done.payload), (&h0[..], d.clone()));
    assert_eq!(r.buffered_bytes(), 0);

    // On timeout the header comes back with the first bytes, for the ICMP quote.
    assert_eq!(
        r.handle_fragment_with_header(t(0), key(2), 0, true, &h0, &d[..16]),
        Ok(None)
    );
    let expired: Vec<_> = r.handle_timeout(t(30)).collect();
    assert_eq!(expired[0].header, h0);
    assert_eq!(expired[0].first_bytes(), Some(&d[..8]));

    // An atomic fragment returns its header too.
    let whole = r
        .handle_fragment_with_header(t(0), key(3), 0, false, &h0, b"x")
        .unwrap();
    assert_eq!(whole.unwrap().header, h0);
}

#[test]
fn remembered_key_survives_too_big() {
    let mut r = Ipv4Reassembler::new(Config::IPV4);
    let d = data(16);
    assert_eq!(r.handle_fragment(t(0), key(1), 0, true, &d[..16]), Ok(None));
    assert_eq!(
        r.handle_fragment(t(0), key(1), 8, true, &d[..8]),
        Err(FragDrop::Overlap)
    );
    assert_eq!(
        r.handle_fragment(t(0), key(1), 65528, false, &d),
        Err(FragDrop::TooBig)
    );
    assert_eq!(
        r.handle_fragment(t(0), key(1), 16, false, &d),
        Err(FragDrop::Discarded)
    );
}

#[test]
fn uncollected_reports_bounded() {
    let mut r = Ipv4Reassembler::new(config(2, 1 << 20));
    let d = data(8);
    for round in 0..10u64 {
        for ident in 0..2 {
            let now = t(round * 30);
            assert_eq!(r.handle_fragment(now, key(ident), 0, true, &d), Ok(None));
        }
    }
    assert_eq!(r.stats().timed_out, 18);
    assert_eq!(r.handle_timeout(t(300)).count(), 2);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Arbitrary fragments never panic, never pass the bounds, and leave nothing
        /// behind once every deadline has passed.
        #[test]
        fn arbitrary_fragments_stay_bounded(
            frags in proptest::collection::vec(
                (0u32..4, 0u16..=8191, any::<bool>(), 0usize..374, any::<bool>(), 0u64..40, 0usize..70),
                0..64,
            ),
        ) {
            let max_bytes = 16 * 1024;
            let mut r = Ipv4Reassembler::new(config(3, max_bytes));
            let d = data(3000);
            let mut now = 0;
            for (ident, unit, more, units, odd, step, header) in frags {
                now += step;
                // Mostly whole 8-byte units, sometimes not.
                let len = units * 8 + usize::from(odd) * 3;
                let got = r.handle_fragment_with_header(
                    t(now), key(ident), unit * 8, more, &d[..header], &d[..len],
                );
                if let Ok(Some(done)) = got {
                    prop_assert!(done.payload.len() <= MAX_PAYLOAD);
                }
                prop_assert!(r.buffered_bytes() <= max_bytes);
                prop_assert!(r.datagrams() <= 3);
                let _ = r.handle_timeout(t(now)).count();
            }
            let _ = r.handle_timeout(t(now + 30)).count();
            prop_assert_eq!((r.datagrams(), r.buffered_bytes(), r.poll_at()), (0, 0, None));
        }
    }
}
