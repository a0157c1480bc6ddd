//! Unit tests of pools, buffers and caches together (they share fixtures).

use crate::*;

fn pool(frames: usize) -> Pool {
    Pool::new(PoolConfig {
        frames,
        cache_size: 8.min(frames),
        cache_flush_threshold: 12,
        huge_pages: HugePages::Never,
        ..PoolConfig::named("test")
    })
    .unwrap()
}

#[test]
fn frames_are_aligned_offsets_in_one_page_aligned_region() {
    let p = pool(16);
    let (base, len) = p.region();
    assert_eq!(base as usize % 4096, 0);
    assert_eq!(len, 16 * 2048);
    let bufs: Vec<NetBuf> = (0..16).map(|_| p.alloc().unwrap()).collect();
    let mut frames: Vec<u32> = bufs.iter().map(NetBuf::frame_index).collect();
    frames.sort_unstable();
    assert_eq!(frames, (0..16).collect::<Vec<_>>());
    for b in &bufs {
        assert_eq!(b.region_offset(), u64::from(b.frame_index()) * 2048 + 128);
        assert_eq!(
            b.data().as_ptr() as usize,
            base as usize + b.region_offset() as usize
        );
        assert_eq!((b.data().as_ptr() as usize - 128) % 2048, 0);
    }
}

#[test]
fn headroom_and_tailroom() {
    let p = pool(4);
    let mut b = p.alloc().unwrap();
    assert_eq!((b.headroom(), b.len(), b.tailroom()), (128, 0, 2048 - 128));
    b.put(b"payload").unwrap();
    b.push(4).unwrap().copy_from_slice(b"HDR:");
    assert_eq!(b.data(), b"HDR:payload");
    b.pull(4).unwrap();
    assert_eq!(b.data(), b"payload");
    b.truncate(3);
    assert_eq!(b.data(), b"pay");
    assert_eq!(
        b.push(200).unwrap_err(),
        BufError::NoHeadroom {
            wanted: 200,
            available: 128
        }
    );
    assert!(matches!(b.extend(5000), Err(BufError::NoTailroom { .. })));
    assert_eq!(
        b.pull(4).unwrap_err(),
        BufError::TooShort {
            wanted: 4,
            available: 3
        }
    );
    b.data_mut().unwrap()[0] = b'P';
    assert_eq!(b.data(), b"Pay");
    // The whole frame can be filled and no more.
    let mut c = p.alloc().unwrap();
    c.push(128).unwrap();
    c.extend(2048 - 128).unwrap();
    assert_eq!(c.len(), 2048);
    assert!(c.push(1).is_err() && c.extend(1).is_err());
}

#[test]
fn exhaustion_is_an_error_and_counted() {
    let p = pool(2);
    let a = p.alloc().unwrap();
    let b = p.alloc().unwrap();
    assert_eq!(p.alloc().unwrap_err(), AllocError);
    let mut v = Vec::new();
    assert!(p.alloc_bulk(2, &mut v).is_err());
    assert!(v.is_empty());
    assert_eq!(p.alloc_burst(3, &mut v), 0);
    let s = p.stats();
    assert_eq!((s.free, s.min_free, s.alloc_failures), (0, 0, 6));
    drop((a, b));
    assert_eq!(p.alloc_burst(3, &mut v), 2);
    assert_eq!(p.stats().alloc_failures, 7);
    v.clear();
    assert_eq!(p.stats().free, 2);
}

#[test]
fn clones_share_and_writes_need_uniqueness() {
    let p = pool(4);
    let mut a = p.alloc().unwrap();
    a.put(b"hello").unwrap();
    let mut b = a.clone();
    assert_eq!(p.stats().free, 3, "a clone takes no frame");
    assert!(!a.is_unique());
    assert_eq!(a.data_mut().unwrap_err(), BufError::Shared);
    assert_eq!(b.push(1).unwrap_err(), BufError::Shared);
    assert_eq!(b.put(b"!").unwrap_err(), BufError::Shared);
    // Views may differ without writing.
    b.pull(1).unwrap();
    assert_eq!((a.data(), b.data()), (&b"hello"[..], &b"ello"[..]));
    // Copy-on-write leaves the clone untouched.
    b.make_unique().unwrap();
    b.data_mut().unwrap()[0] = b'E';
    assert_eq!((a.data(), b.data()), (&b"hello"[..], &b"Ello"[..]));
    assert!(a.is_unique() && b.is_unique());
    assert_eq!(p.stats().free, 2);
    drop(a);
    drop(b);
    assert_eq!(p.stats().free, 4);
}

#[test]
fn make_unique_fails_cleanly_when_exhausted() {
    let p = pool(1);
    let mut a = p.alloc().unwrap();
    a.put(b"x").unwrap();
    let b = a.clone();
    assert_eq!(a.make_unique().unwrap_err(), BufError::Alloc(AllocError));
    assert_eq!(a.data(), b"x");
    drop((a, b));
    assert_eq!(p.stats().free, 1);
}

#[test]
fn chains_iterate_copy_and_pull_up() {
    let p = pool(8);
    let mut head = p.alloc().unwrap();
    head.put(b"ab").unwrap();
    for part in [&b"cde"[..], b"", b"fghij"] {
        let mut f = p.alloc().unwrap();
        f.put(part).unwrap();
        head.append(f);
    }
    assert_eq!(head.fragment_count(), 4);
    assert_eq!(head.total_len(), 10);
    let joined: Vec<u8> = head.slices().flatten().copied().collect();
    assert_eq!(joined, b"abcdefghij");
    let mut out = [0u8; 6];
    assert_eq!(head.copy_to(&mut out), 6);
    assert_eq!(&out, b"abcdef");
    let mut big = [0u8; 32];
    assert_eq!(head.copy_to(&mut big), 10);
    // A zero-copy clone of the whole chain.
    let clone = head.clone();
    assert_eq!(p.stats().free, 4);
    assert_eq!(head.pullup(6).unwrap(), b"abcdef");
    assert_eq!(head.total_len(), 10);
    assert_eq!(head.fragment_count(), 2, "emptied fragments are dropped");
    assert_eq!(
        clone.slices().flatten().copied().collect::<Vec<u8>>(),
        b"abcdefghij"
    );
    assert!(matches!(
        head.pullup(11),
        Err(BufError::TooShort {
            wanted: 11,
            available: 10
        })
    ));
    drop(clone);
    drop(head);
    assert_eq!(p.stats().free, 8);
}

#[test]
fn a_long_chain_drops_without_recursion() {
    let p = Pool::new(PoolConfig {
        frames: 100_000,
        frame_size: 512,
        headroom: 0,
        cache_size: 0,
        huge_pages: HugePages::Never,
        ..PoolConfig::named("long")
    })
    .unwrap();
    let mut head = p.alloc().unwrap();
    let mut tail = Vec::new();
    assert_eq!(p.alloc_burst(99_999, &mut tail), 99_999);
    // Build the chain back to front so `append` stays cheap.
    let mut chain = tail.pop().unwrap();
    while let Some(mut b) = tail.pop() {
        b.append(chain);
        chain = b;
    }
    head.append(chain);
    assert_eq!(head.fragment_count(), 100_000);
    drop(head);
    assert_eq!(p.stats().free, 100_000);
}

#[test]
fn caches_refill_spill_and_flush() {
    let p = pool(64);
    let mut c = p.cache().unwrap();
    let mut v = Vec::new();
    c.alloc_bulk(4, &mut v).unwrap();
    assert_eq!(c.len(), 8, "refilled to size + n, then handed out n");
    assert_eq!(p.stats().free, 60);
    c.alloc_bulk(20, &mut v).unwrap();
    c.free_all(&mut v);
    assert!(c.len() <= 12, "spilled above the flush threshold");
    assert_eq!(p.stats().free, 64);
    // Caches can be exhausted along with the pool, and say so.
    assert!(c.alloc_bulk(65, &mut v).is_err());
    assert_eq!(c.alloc_burst(70, &mut v), 64);
    assert!(c.alloc().is_err());
    c.free_all(&mut v);
    drop(c);
    let s = p.stats();
    assert_eq!(s.free, 64);
    assert!(s.alloc_failures > 65 + 6);
}

#[test]
fn cache_free_sends_foreign_frames_home() {
    let p1 = pool(4);
    let p2 = pool(4);
    let mut c = p1.cache().unwrap();
    let mut b = p1.alloc().unwrap();
    b.append(p2.alloc().unwrap());
    c.free(b);
    assert_eq!(c.len(), 1);
    assert_eq!(p2.stats().free, 4);
    drop(c);
    assert_eq!(p1.stats().free, 4);
}

#[test]
fn cache_errors_are_clear() {
    let p = Pool::new(PoolConfig {
        cache_size: 0,
        frames: 4,
        ..PoolConfig::named("nocache")
    })
    .unwrap();
    assert!(p
        .cache()
        .unwrap_err()
        .to_string()
        .contains("caches disabled"));
    let p = pool(64);
    let caches: Vec<PoolCache> = (0..MAX_CACHES).map(|_| p.cache().unwrap()).collect();
    assert!(p
        .cache()
        .unwrap_err()
        .to_string()
        .contains("already has 64 caches"));
    drop(caches);
    assert!(p.cache().is_ok());
}

#[test]
fn a_pool_outlived_by_a_buffer_keeps_its_memory() {
    let p = pool(2);
    let mut b = p.alloc().unwrap();
    b.put(b"still here").unwrap();
    drop(p);
    assert_eq!(b.data(), b"still here");
    drop(b);
}

#[test]
fn bad_configs_are_errors_not_panics() {
    for cfg in [
        PoolConfig {
            frames: 0,
            ..PoolConfig::default()
        },
        PoolConfig {
            frame_size: 3000,
            ..PoolConfig::default()
        },
        PoolConfig {
            headroom: 4096,
            frame_size: 4096,
            ..PoolConfig::default()
        },
        PoolConfig {
            huge_pages: HugePages::Require,
            frames: 1 << 24,
            ..PoolConfig::default()
        },
    ] {
        assert!(Pool::new(cfg).is_err());
    }
}

proptest::proptest! {
    /// push/pull/put/truncate never break the frame bounds, whatever the sequence.
    #[test]
    fn buffer_views_stay_in_bounds(ops in proptest::collection::vec((0u8..5, 0usize..3000), 0..64)) {
        let p = pool(2);
        let mut b = p.alloc().unwrap();
        for (op, n) in ops {
            let before = (b.headroom(), b.len(), b.tailroom());
            let r = match op {
                0 => b.push(n).map(|_| ()),
                1 => b.pull(n),
                2 => b.extend(n).map(|_| ()),
                3 => { b.truncate(n); Ok(()) }
                _ => b.pullup(n).map(|_| ()),
            };
            proptest::prop_assert_eq!(b.headroom() + b.len() + b.tailroom(), 2048);
            if r.is_err() {
                proptest::prop_assert_eq!(before, (b.headroom(), b.len(), b.tailroom()));
            }
        }
    }
}

#[test]
fn raw_frames_go_home_only_to_their_pool() {
    let p1 = pool(16);
    let p2 = pool(16);
    let mut c1 = p1.cache().unwrap();
    let mut raw = Vec::new();
    c1.alloc_raw_bulk(4, &mut raw).unwrap();
    p2.alloc_raw_bulk(2, &mut raw).unwrap();
    assert_eq!(raw.len(), 6);
    assert!(raw[..4].iter().all(|r| (r.index() as usize) < 16));
    assert_eq!(p1.stats().free, 12);
    // Pool 1 takes its own four and leaves pool 2's two.
    assert_eq!(c1.free_raw(&mut raw), 4);
    assert_eq!(raw.len(), 2);
    assert_eq!(p1.free_raw(&mut raw), 0);
    assert_eq!(p2.free_raw(&mut raw), 2);
    assert!(raw.is_empty());
    assert!(c1.alloc_raw_bulk(17, &mut raw).is_err());
    drop(c1);
    assert_eq!((p1.stats().free, p2.stats().free), (16, 16));
}

#[test]
fn bulk_free_paths_handle_shared_and_chained_buffers() {
    let p = pool(16);
    let mut bufs = Vec::new();
    p.alloc_bulk(6, &mut bufs).unwrap();
    let keep = bufs[0].clone();
    let tail = bufs.pop().unwrap();
    bufs[1].append(tail);
    p.free_all(&mut bufs);
    assert!(bufs.is_empty());
    assert_eq!(p.stats().free, 15, "the shared frame stays out");
    assert!(keep.is_unique(), "the clone is now the sole owner");
    let mut c = p.cache().unwrap();
    let mut more = vec![keep];
    c.alloc_bulk(3, &mut more).unwrap();
    let shared = more[1].clone();
    c.free_all(&mut more);
    drop(shared);
    drop(c);
    assert_eq!(p.stats().free, 16);
}

#[test]
fn raw_bursts_move_whole_and_only_to_their_pool() {
    let p1 = pool(64);
    let p2 = pool(64);
    let mut c1 = p1.cache().unwrap();
    let mut b1 = RawBurst::with_capacity(32);
    c1.alloc_raw_burst(32, &mut b1).unwrap();
    p1.alloc_raw_burst(4, &mut b1).unwrap();
    assert_eq!(b1.len(), 36);
    let mut seen: Vec<u32> = b1.indices().collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 36, "distinct frames");
    let mut b2 = RawBurst::with_capacity(8);
    p2.alloc_raw_burst(8, &mut b2).unwrap();
    // Neither pool takes the other's burst, nor tops one up.
    assert_eq!(c1.free_raw_burst(&mut b2), 0);
    assert_eq!(p1.free_raw_burst(&mut b2), 0);
    assert!(c1.alloc_raw_burst(1, &mut b2).is_err());
    assert_eq!(b2.len(), 8);
    // A single frame moved between bursts keeps its pool.
    let f = b2.pop().unwrap();
    assert!(b1.push(f).is_err());
    assert_eq!(p1.stats().free, 28);
    assert_eq!(c1.free_raw_burst(&mut b1), 36);
    assert!(b1.is_empty());
    assert_eq!(p2.free_raw_burst(&mut b2), 7);
    assert!(c1.alloc_raw_burst(65, &mut b1).is_err());
    drop(c1);
    assert_eq!(p1.stats().free, 64);
    assert_eq!(
        p2.stats().free,
        63,
        "the frame popped out alone is still out"
    );
}

#[test]
fn alloc_filled_writes_fresh_buffers_and_stops_when_the_frames_run_out() {
    let pool = pool(64);
    let mut cache = pool.cache().unwrap();
    let room = pool.frame_size() - pool.headroom();
    let frames: Vec<Vec<u8>> = (1..=5u8).map(|i| vec![i; usize::from(i) * 10]).collect();
    let mut next = frames.iter();
    let mut bufs = Vec::new();
    let n = cache.alloc_filled(8, &mut bufs, |area| {
        assert_eq!(area.len(), room, "the whole room after the headroom");
        let frame = next.next()?;
        area[..frame.len()].copy_from_slice(frame);
        Some(frame.len())
    });
    assert_eq!(n, 5);
    for (buf, frame) in bufs.iter().zip(&frames) {
        assert_eq!(buf.data(), &frame[..]);
        assert_eq!(buf.headroom(), pool.headroom());
        assert!(buf.is_unique());
    }
    // A length past the room is cut to the room.
    let mut more = Vec::new();
    assert_eq!(cache.alloc_filled(1, &mut more, |_| Some(usize::MAX)), 1);
    assert_eq!(more[0].len(), room);
    // Asking for more than the pool has gives what it has.
    let mut rest = Vec::new();
    let got = cache.alloc_filled(1000, &mut rest, |_| Some(1));
    assert_eq!(got, 64 - 6);
    drop((bufs, more, rest));
    cache.flush();
    assert_eq!(
        pool.stats().free,
        64,
        "every frame home, none lost to the stop"
    );
}

#[test]
fn free_front_frees_the_first_buffers_and_keeps_the_rest_in_order() {
    let pool = pool(64);
    let mut cache = pool.cache().unwrap();
    let mut bufs = Vec::new();
    for i in 0..5u8 {
        let mut buf = cache.alloc().unwrap();
        buf.put(&[i]).unwrap();
        bufs.push(buf);
    }
    cache.free_front(&mut bufs, 3);
    let left: Vec<u8> = bufs.iter().map(|b| b.data()[0]).collect();
    assert_eq!(left, [3, 4]);
    cache.free_front(&mut bufs, 10);
    assert!(bufs.is_empty());
    cache.flush();
    assert_eq!(pool.stats().free, 64);
}

#[test]
fn free_front_takes_the_slow_way_for_shared_and_chained_buffers() {
    let pool = pool(64);
    let mut cache = pool.cache().unwrap();
    let mut bufs = Vec::new();
    for i in 0..4u8 {
        let mut buf = cache.alloc().unwrap();
        buf.put(&[i]).unwrap();
        bufs.push(buf);
    }
    // One shared with a clone kept here, one a chain of two frames.
    let kept = bufs[1].clone();
    let tail = cache.alloc().unwrap();
    bufs[2].append(tail);
    cache.free_front(&mut bufs, 4);
    assert!(bufs.is_empty());
    assert_eq!(kept.data(), [1], "the clone still reads its frame");
    cache.flush();
    assert_eq!(pool.stats().free, 63, "all but the clone's frame are home");
    drop(kept);
    assert_eq!(pool.stats().free, 64);
}

#[test]
fn raw_frames_become_buffers_and_back_without_a_copy() {
    let other = pool(8);
    let pool = pool(8);
    let mut cache = pool.cache().unwrap();
    let mut raw = Vec::new();
    cache.alloc_raw_bulk(1, &mut raw).unwrap();
    let frame = raw.pop().unwrap();
    let index = frame.index();
    // Too long for the frame: refused, the frame handed back.
    let frame = cache
        .raw_into_buf(frame, 256, pool.frame_size())
        .unwrap_err();
    let mut buf = cache.raw_into_buf(frame, 256, 4).unwrap();
    assert_eq!(
        (buf.frame_index(), buf.headroom(), buf.len()),
        (index, 256, 4)
    );
    buf.data_mut().unwrap().copy_from_slice(b"xdp!");
    // A shared buffer cannot be handed over; the sole one can.
    let clone = buf.clone();
    let buf = cache.buf_into_raw(buf).unwrap_err();
    drop(clone);
    let (frame, offset, len) = cache.buf_into_raw(buf).unwrap();
    assert_eq!((frame.index(), offset, len), (index, 256, 4));
    // A frame of another pool is refused both ways.
    let other_cache = other.cache().unwrap();
    let frame = other_cache.raw_into_buf(frame, 0, 1).unwrap_err();
    let mut back = vec![frame];
    cache.free_raw(&mut back);
    cache.flush();
    assert_eq!(pool.stats().free, 8);
}

#[test]
fn raw_bursts_become_buffers_and_back_in_one_pass() {
    let other = pool(8);
    let pool = pool(16);
    let mut cache = pool.cache().unwrap();
    let mut other_cache = other.cache().unwrap();
    let mut raws = Vec::new();
    cache.alloc_raw_bulk(4, &mut raws).unwrap();
    let indexes: Vec<u32> = raws.iter().map(RawFrame::index).collect();
    let mut bufs = Vec::new();
    // Bytes past a frame's end: nothing converted, nothing lost.
    assert_eq!(
        cache.raw_into_bufs(&mut raws, 1, pool.frame_size(), &mut bufs),
        0
    );
    assert_eq!((raws.len(), bufs.len()), (4, 0));
    // The usual case: all of them, in order, where the device wrote.
    assert_eq!(cache.raw_into_bufs(&mut raws, 64, 10, &mut bufs), 4);
    assert!(raws.is_empty());
    let got: Vec<(u32, usize, usize)> = bufs
        .iter()
        .map(|b| (b.frame_index(), b.headroom(), b.len()))
        .collect();
    let want: Vec<(u32, usize, usize)> = indexes.iter().map(|&i| (i, 64, 10)).collect();
    assert_eq!(got, want);
    // A frame of another pool among them stays behind; the rest convert.
    let mut mixed = Vec::new();
    cache.alloc_raw_bulk(1, &mut mixed).unwrap();
    other_cache.alloc_raw_bulk(1, &mut mixed).unwrap();
    cache.alloc_raw_bulk(1, &mut mixed).unwrap();
    let mut more = Vec::new();
    assert_eq!(cache.raw_into_bufs(&mut mixed, 0, 8, &mut more), 2);
    assert_eq!(mixed.len(), 1);
    other_cache.free_raw(&mut mixed);
    assert!(mixed.is_empty());

    // Back: sole buffers unwrap in order; a shared one stays, and so does
    // its clone's frame until both are gone.
    let mut back = Vec::new();
    assert_eq!(cache.bufs_into_raw(&mut bufs, &mut back), 4);
    assert!(bufs.is_empty());
    assert_eq!(
        back.iter().map(RawFrame::index).collect::<Vec<_>>(),
        indexes
    );
    let clone = more[1].clone();
    assert_eq!(cache.bufs_into_raw(&mut more, &mut back), 1);
    assert_eq!(more.len(), 1, "the shared buffer stays");
    drop(clone);
    assert_eq!(cache.bufs_into_raw(&mut more, &mut back), 1);
    cache.free_raw(&mut back);
    cache.flush();
    assert_eq!(pool.stats().free, 16, "every frame home");
    other_cache.flush();
    assert_eq!(other.stats().free, 8);
}
