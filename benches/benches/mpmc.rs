//! MPMC rings: 2 producers and 2 consumers (on the machine's two CPUs)
//! moving `u64`s, Strata's `MpmcRing` in bulks of 32 and single items
//! against crossbeam's `ArrayQueue`; plus one-core bulk enqueue+dequeue.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use strata_benches::{pin, two_cpus};
use strata_queues::MpmcRing;

const CAP: usize = 4096;

/// Runs 2 producers and 2 consumers, each pinned (CPUs alternate), until
/// `total` items have been consumed; returns the wall time.
fn two_by_two<Q: Send + Sync + 'static>(
    q: Arc<Q>,
    total: u64,
    produce: fn(&Q, u64),
    consume: fn(&Q, &AtomicU64, u64),
) -> Duration {
    let cpus = two_cpus().map(|(a, b)| [a, b]);
    let barrier = Arc::new(Barrier::new(5));
    let consumed = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for i in 0..4 {
        let (q, barrier, consumed) = (q.clone(), barrier.clone(), consumed.clone());
        threads.push(std::thread::spawn(move || {
            if let Some(c) = cpus {
                pin(c[i % 2]);
            }
            barrier.wait();
            if i < 2 {
                produce(&q, total / 2);
            } else {
                consume(&q, &consumed, total);
            }
        }));
    }
    barrier.wait();
    let start = Instant::now();
    for t in threads {
        t.join().unwrap();
    }
    start.elapsed()
}

fn strata_produce(q: &MpmcRing<u64>, n: u64) {
    let items = [7u64; 32];
    let mut sent = 0;
    while sent < n {
        let k = ((n - sent) as usize).min(32);
        let got = q.push_burst_copy(&items[..k]);
        if got == 0 {
            std::thread::yield_now();
        }
        sent += got as u64;
    }
}

fn strata_consume(q: &MpmcRing<u64>, consumed: &AtomicU64, total: u64) {
    let mut out = [0u64; 32];
    // Relaxed: a shared tally to know when to stop, ordering nothing.
    while consumed.load(Ordering::Relaxed) < total {
        let k = q.pop_burst_copy(&mut out);
        if k == 0 {
            std::thread::yield_now();
        } else {
            consumed.fetch_add(k as u64, Ordering::Relaxed);
        }
    }
    black_box(&out);
}

fn strata_produce_single(q: &MpmcRing<u64>, n: u64) {
    for i in 0..n {
        while q.push(i).is_err() {
            std::thread::yield_now();
        }
    }
}

fn strata_consume_single(q: &MpmcRing<u64>, consumed: &AtomicU64, total: u64) {
    let mut local = 0;
    while consumed.load(Ordering::Relaxed) < total {
        match q.pop() {
            Some(x) => {
                black_box(x);
                local += 1;
                if local == 32 {
                    consumed.fetch_add(local, Ordering::Relaxed);
                    local = 0;
                }
            }
            None => {
                consumed.fetch_add(local, Ordering::Relaxed);
                local = 0;
                std::thread::yield_now();
            }
        }
    }
}

fn aq_produce(q: &ArrayQueue<u64>, n: u64) {
    for i in 0..n {
        while q.push(i).is_err() {
            std::thread::yield_now();
        }
    }
}

fn aq_consume(q: &ArrayQueue<u64>, consumed: &AtomicU64, total: u64) {
    let mut local = 0;
    while consumed.load(Ordering::Relaxed) < total {
        match q.pop() {
            Some(x) => {
                black_box(x);
                local += 1;
                if local == 32 {
                    consumed.fetch_add(local, Ordering::Relaxed);
                    local = 0;
                }
            }
            None => {
                consumed.fetch_add(local, Ordering::Relaxed);
                local = 0;
                std::thread::yield_now();
            }
        }
    }
}

fn two_producers_two_consumers(c: &mut Criterion) {
    let mut g = c.benchmark_group("mpmc/2p2c");
    g.throughput(Throughput::Elements(32));
    g.bench_function(BenchmarkId::new("strata-bulk", 32), |b| {
        b.iter_custom(|iters| {
            let q = Arc::new(MpmcRing::<u64>::new(CAP).unwrap());
            two_by_two(q, iters * 32, strata_produce, strata_consume)
        })
    });
    g.bench_function(BenchmarkId::new("strata-single", 32), |b| {
        b.iter_custom(|iters| {
            let q = Arc::new(MpmcRing::<u64>::new(CAP).unwrap());
            two_by_two(q, iters * 32, strata_produce_single, strata_consume_single)
        })
    });
    g.bench_function(BenchmarkId::new("crossbeam-arrayqueue", 32), |b| {
        b.iter_custom(|iters| {
            let q = Arc::new(ArrayQueue::<u64>::new(CAP));
            two_by_two(q, iters * 32, aq_produce, aq_consume)
        })
    });
    g.finish();
}

fn one_core(c: &mut Criterion) {
    if let Some((a, _)) = two_cpus() {
        pin(a);
    }
    let mut g = c.benchmark_group("mpmc/one-core/burst32");
    g.throughput(Throughput::Elements(32));
    let items = [7u64; 32];
    let mut out = [0u64; 32];
    let q = MpmcRing::<u64>::new(CAP).unwrap();
    g.bench_function(BenchmarkId::new("strata-bulk", 32), |b| {
        b.iter(|| {
            let _ = q.push_bulk_copy(black_box(&items));
            black_box(q.pop_bulk_copy(&mut out));
        })
    });
    let aq = ArrayQueue::<u64>::new(CAP);
    g.bench_function(BenchmarkId::new("crossbeam-arrayqueue", 32), |b| {
        b.iter(|| {
            for &x in black_box(&items) {
                aq.push(x).unwrap();
            }
            for o in out.iter_mut() {
                *o = aq.pop().unwrap();
            }
            black_box(&out);
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    targets = one_core, two_producers_two_consumers
}
criterion_main!(benches);
