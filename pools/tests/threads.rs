//! Several threads allocate, clone, chain, send to each other and free at
//! random, through caches and without; afterwards every frame is back.

use std::sync::mpsc;

use strata_pools::{HugePages, NetBuf, Pool, PoolConfig};

/// A small deterministic generator, so a failure replays.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn every_frame_is_back_after_random_concurrent_use() {
    const FRAMES: usize = 512;
    const STEPS: usize = if cfg!(miri) { 200 } else { 40_000 };
    let pool = Pool::new(PoolConfig {
        frames: FRAMES,
        cache_size: 32,
        cache_flush_threshold: 48,
        huge_pages: HugePages::Never,
        ..PoolConfig::named("stress")
    })
    .unwrap();
    let threads = 4;
    let (senders, receivers): (Vec<_>, Vec<_>) =
        (0..threads).map(|_| mpsc::channel::<NetBuf>()).unzip();
    let handles: Vec<_> = receivers
        .into_iter()
        .enumerate()
        .map(|(t, rx)| {
            let pool = pool.clone();
            let peers = senders.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (t as u64 + 1));
                let mut cache = if t % 2 == 0 {
                    Some(pool.cache().unwrap())
                } else {
                    None
                };
                let mut held: Vec<NetBuf> = Vec::new();
                let mut failures = 0u64;
                let mut allocated = 0u64;
                for step in 0..STEPS {
                    while let Ok(b) = rx.try_recv() {
                        held.push(b);
                    }
                    match rng.next() % 8 {
                        0 | 1 => {
                            let r = match cache.as_mut() {
                                Some(c) => c.alloc(),
                                None => pool.alloc(),
                            };
                            match r {
                                Ok(mut b) => {
                                    allocated += 1;
                                    b.put(&(step as u32).to_le_bytes()).unwrap();
                                    held.push(b);
                                }
                                Err(_) => failures += 1,
                            }
                        }
                        2 => {
                            let mut v = Vec::new();
                            let n = (rng.next() % 8) as usize;
                            let ok = match cache.as_mut() {
                                Some(c) => c.alloc_bulk(n, &mut v).is_ok(),
                                None => pool.alloc_burst(n, &mut v) == n,
                            };
                            if !ok {
                                failures += 1;
                            }
                            allocated += v.len() as u64;
                            held.append(&mut v);
                        }
                        3 if !held.is_empty() => {
                            let i = (rng.next() as usize) % held.len();
                            let c = held[i].clone();
                            held.push(c);
                        }
                        4 if held.len() >= 2 => {
                            let b = held.pop().unwrap();
                            let i = (rng.next() as usize) % held.len();
                            if held[i].fragment_count() < 8 {
                                held[i].append(b);
                            } else {
                                held.push(b);
                            }
                        }
                        5 if !held.is_empty() => {
                            let i = (rng.next() as usize) % held.len();
                            let b = held.swap_remove(i);
                            let peer = (rng.next() as usize) % peers.len();
                            let _ = peers[peer].send(b);
                        }
                        6 if !held.is_empty() => {
                            let i = (rng.next() as usize) % held.len();
                            let mut b = held.swap_remove(i);
                            if b.make_unique().is_ok() {
                                if let Ok(d) = b.data_mut() {
                                    if let Some(x) = d.first_mut() {
                                        *x ^= 1;
                                    }
                                }
                            }
                            held.push(b);
                        }
                        _ if !held.is_empty() => {
                            let i = (rng.next() as usize) % held.len();
                            let b = held.swap_remove(i);
                            match cache.as_mut() {
                                Some(c) => c.free(b),
                                None => drop(b),
                            }
                        }
                        _ => {}
                    }
                    if held.len() > 64 {
                        let mut rest: Vec<NetBuf> = held.drain(..32).collect();
                        match cache.as_mut() {
                            Some(c) => c.free_all(&mut rest),
                            None => rest.clear(),
                        }
                    }
                }
                drop(held);
                drop(peers);
                // Drain what peers still send until they are all done.
                while let Ok(b) = rx.recv() {
                    drop(b);
                }
                (allocated, failures)
            })
        })
        .collect();
    drop(senders);
    let mut allocated = 0;
    for h in handles {
        let (a, _failures) = h.join().unwrap();
        allocated += a;
    }
    // The load really cycled the pool many times over.
    assert!(
        allocated > 4 * FRAMES as u64,
        "only {allocated} allocations"
    );
    let s = pool.stats();
    assert_eq!(s.free, FRAMES, "every frame is back: {s:?}");
    assert!(s.min_free < FRAMES);
}
