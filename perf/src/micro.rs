//! Strata's rings and pools measured the way DPDK's own autotests measure
//! `rte_ring` and `rte_mempool`, so the figures can stand side by side:
//!
//! * **one core** (`test_burst_bulk_enqueue_dequeue`): a loop that enqueues
//!   a bulk of `n` and dequeues it again, `2^23` times; DPDK prints cycles
//!   per iteration, here converted to nanoseconds per element;
//! * **two cores** (`run_on_core_pair`): a producer thread doing `2^22`
//!   bulk enqueues (retrying with a pause when the ring is full) and a
//!   consumer doing as many bulk dequeues, each pinned to its own CPU and
//!   timing itself; DPDK reports the *sum* of the two threads' time per
//!   element, and so does [`TwoCore::sum_ns`] ([`TwoCore::wall_ns`] is
//!   the plain wall time per element);
//! * **pools** (`per_lcore_mempool_test`): for a fixed time, take `n_keep`
//!   objects in bulks of `n_get`, give them back in bulks of `n_put`, and
//!   count objects per second; here as nanoseconds per object.
//!
//! Items in rings are `u64`, the size of DPDK's `void *` elements, and the
//! rings hold 4096 slots as DPDK's test ring does.

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use strata_engine::cpu;
use strata_pools::{HugePages, NetBuf, Pool, PoolConfig, RawBurst};
use strata_queues::{spsc, MpmcRing};

/// Slots in the measured rings (DPDK's `RING_SIZE`).
pub const RING_SIZE: usize = 4096;

/// Which ring is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RingKind {
    /// [`strata_queues::spsc`], against DPDK's SP/SC.
    Spsc,
    /// [`MpmcRing`], against DPDK's MP/MC.
    Mpmc,
}

/// Nanoseconds per element for one enqueue plus one dequeue on one core,
/// in bulks of `n` (`n == 1` uses the single-item calls).
pub fn one_core(kind: RingKind, n: usize, iterations: u64) -> f64 {
    let n = black_box(n);
    let items: Vec<u64> = (0..n as u64).collect();
    let mut out = vec![0u64; n];
    let start;
    match kind {
        RingKind::Spsc => {
            let (mut tx, mut rx) = spsc::ring::<u64>(RING_SIZE).expect("valid size");
            start = Instant::now();
            if n == 1 {
                for i in 0..iterations {
                    let _ = tx.push(black_box(i));
                    black_box(rx.pop());
                }
            } else {
                for _ in 0..iterations {
                    let _ = tx.push_bulk_copy(black_box(&items));
                    black_box(rx.pop_bulk_copy(&mut out));
                }
            }
        }
        RingKind::Mpmc => {
            let ring = MpmcRing::<u64>::new(RING_SIZE).expect("valid size");
            start = Instant::now();
            if n == 1 {
                for i in 0..iterations {
                    let _ = ring.push(black_box(i));
                    black_box(ring.pop());
                }
            } else {
                for _ in 0..iterations {
                    let _ = ring.push_bulk_copy(black_box(&items));
                    black_box(ring.pop_bulk_copy(&mut out));
                }
            }
        }
    }
    let t = start.elapsed();
    black_box(&out);
    t.as_nanos() as f64 / (iterations as f64 * n as f64)
}

/// A two-core measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoCore {
    /// Producer's plus consumer's own time, per element (DPDK's figure).
    pub sum_ns: f64,
    /// Wall time per element.
    pub wall_ns: f64,
}

/// Two CPUs to pin a producer and a consumer on, if the machine has them.
pub fn two_cpus() -> Option<(usize, usize)> {
    let cpus = cpu::allowed_cpus();
    (cpus.len() >= 2).then(|| (cpus[0], cpus[1]))
}

/// Runs `producer` and `consumer` on two pinned CPUs from a shared start;
/// each returns its own loop time. `elems` is how many items moved.
pub fn run_pair(
    elems: f64,
    producer: impl FnOnce() -> Duration + Send + 'static,
    consumer: impl FnOnce() -> Duration + Send + 'static,
) -> Option<TwoCore> {
    let (a, b) = two_cpus()?;
    let barrier = Arc::new(Barrier::new(2));
    let bar = barrier.clone();
    let cons = std::thread::spawn(move || {
        let _ = cpu::pin_current(b);
        bar.wait();
        consumer()
    });
    let prod = std::thread::spawn(move || {
        let _ = cpu::pin_current(a);
        barrier.wait();
        let wall = Instant::now();
        let own = producer();
        (own, wall)
    });
    let (t_prod, wall_start) = prod.join().expect("producer thread");
    let t_cons = cons.join().expect("consumer thread");
    let wall = wall_start.elapsed().max(t_prod);
    Some(TwoCore {
        sum_ns: (t_prod + t_cons).as_nanos() as f64 / elems,
        wall_ns: wall.as_nanos() as f64 / elems,
    })
}

/// Bulk enqueue on one pinned CPU, bulk dequeue on another.
///
/// Returns `None` on a machine with one CPU.
pub fn two_cores(kind: RingKind, n: usize, iterations: u64) -> Option<TwoCore> {
    let elems = iterations as f64 * n as f64;
    match kind {
        RingKind::Spsc => {
            let (mut tx, mut rx) = spsc::ring::<u64>(RING_SIZE).expect("valid size");
            run_pair(
                elems,
                move || {
                    let items: Vec<u64> = (0..n as u64).collect();
                    let start = Instant::now();
                    for _ in 0..iterations {
                        while tx.push_bulk_copy(&items) == 0 {
                            std::hint::spin_loop();
                        }
                    }
                    start.elapsed()
                },
                move || {
                    let mut out = vec![0u64; n];
                    let start = Instant::now();
                    for _ in 0..iterations {
                        while rx.pop_bulk_copy(&mut out) == 0 {
                            std::hint::spin_loop();
                        }
                    }
                    black_box(&out);
                    start.elapsed()
                },
            )
        }
        RingKind::Mpmc => {
            let ring = Arc::new(MpmcRing::<u64>::new(RING_SIZE).expect("valid size"));
            let r2 = ring.clone();
            run_pair(
                elems,
                move || {
                    let items: Vec<u64> = (0..n as u64).collect();
                    let start = Instant::now();
                    for _ in 0..iterations {
                        while ring.push_bulk_copy(&items) == 0 {
                            std::hint::spin_loop();
                        }
                    }
                    start.elapsed()
                },
                move || {
                    let mut out = vec![0u64; n];
                    let start = Instant::now();
                    for _ in 0..iterations {
                        while r2.pop_bulk_copy(&mut out) == 0 {
                            std::hint::spin_loop();
                        }
                    }
                    black_box(&out);
                    start.elapsed()
                },
            )
        }
    }
}

/// What a pool measurement takes and gives back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolLayer {
    /// [`RawBurst`]s of raw frames: the layer of `rte_mempool_get/put`.
    Raw,
    /// [`NetBuf`] handles: the layer of `rte_pktmbuf_alloc_bulk/free_bulk`.
    NetBuf,
}

/// A pool shaped like DPDK's mempool perf test: 2048-byte elements, as
/// many as `lcores * (512 + cache) - 1` would give for two lcores.
fn perf_pool(cache: bool) -> Pool {
    Pool::new(PoolConfig {
        frames: 2 * (512 + 512) - 1,
        frame_size: 2048,
        cache_size: if cache { 512 } else { 0 },
        cache_flush_threshold: 768,
        huge_pages: HugePages::Never,
        ..PoolConfig::named("perf")
    })
    .expect("valid pool configuration")
}

const N_OBJECTS: usize = 65536;

/// Nanoseconds per object taken and given back, DPDK's mempool loop:
/// `n_keep` objects taken in bulks of `n_bulk` then given back in bulks of
/// `n_bulk`, for `seconds`.
pub fn pool_get_put(
    layer: PoolLayer,
    cache: bool,
    n_bulk: usize,
    n_keep: usize,
    seconds: f64,
) -> f64 {
    assert!(
        n_keep % n_bulk == 0 && n_keep <= 512,
        "n_keep must be a multiple of n_bulk, at most 512"
    );
    let pool = perf_pool(cache);
    let mut pcache = if cache {
        Some(pool.cache().expect("cache"))
    } else {
        None
    };
    let groups = n_keep / n_bulk;
    let mut raw: Vec<RawBurst> = (0..groups)
        .map(|_| RawBurst::with_capacity(n_bulk))
        .collect();
    let mut bufs: Vec<Vec<NetBuf>> = (0..groups).map(|_| Vec::with_capacity(n_bulk)).collect();
    let limit = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut count = 0u64;
    let mut elapsed = Duration::ZERO;
    while elapsed < limit {
        for _ in 0..N_OBJECTS / n_keep {
            match (layer, pcache.as_mut()) {
                (PoolLayer::Raw, Some(c)) => {
                    for g in raw.iter_mut() {
                        c.alloc_raw_burst(n_bulk, g).expect("pool sized for n_keep");
                    }
                    for g in raw.iter_mut() {
                        c.free_raw_burst(g);
                    }
                }
                (PoolLayer::Raw, None) => {
                    for g in raw.iter_mut() {
                        pool.alloc_raw_burst(n_bulk, g)
                            .expect("pool sized for n_keep");
                    }
                    for g in raw.iter_mut() {
                        pool.free_raw_burst(g);
                    }
                }
                (PoolLayer::NetBuf, Some(c)) => {
                    for g in bufs.iter_mut() {
                        c.alloc_bulk(n_bulk, g).expect("pool sized for n_keep");
                    }
                    for g in bufs.iter_mut() {
                        c.free_all(g);
                    }
                }
                (PoolLayer::NetBuf, None) => {
                    for g in bufs.iter_mut() {
                        pool.alloc_bulk(n_bulk, g).expect("pool sized for n_keep");
                    }
                    for g in bufs.iter_mut() {
                        pool.free_all(g);
                    }
                }
            }
        }
        count += N_OBJECTS as u64;
        elapsed = start.elapsed();
    }
    drop(pcache);
    debug_assert_eq!(pool.stats().free, pool.capacity());
    elapsed.as_nanos() as f64 / count as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tiny iteration counts: these check that the loops run and return
    // sane numbers, not speed (speed is for `strata-perf`).
    #[test]
    fn measurements_run_and_return_positive_figures() {
        for kind in [RingKind::Spsc, RingKind::Mpmc] {
            for n in [1, 8, 32] {
                let ns = one_core(kind, n, 1000);
                assert!(ns > 0.0 && ns.is_finite());
            }
            if let Some(t) = two_cores(kind, 32, 1000) {
                assert!(t.sum_ns > 0.0 && t.wall_ns > 0.0);
            }
        }
        for layer in [PoolLayer::Raw, PoolLayer::NetBuf] {
            for cache in [true, false] {
                let ns = pool_get_put(layer, cache, 32, 128, 0.001);
                assert!(ns > 0.0 && ns.is_finite());
            }
        }
    }
}
