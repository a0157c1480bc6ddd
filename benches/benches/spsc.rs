//! SPSC rings: Strata against rtrb (single items and its chunk API) and
//! crossbeam's ArrayQueue, single items and bursts of 8 and 32, producer
//! and consumer on one core and on two pinned cores. Items are `u64`
//! (the size of DPDK's `void *` elements).

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use strata_benches::{pin, two_cpus};
use strata_queues::spsc;

const CAP: usize = 4096;

fn one_core(c: &mut Criterion) {
    if let Some((a, _)) = two_cpus() {
        pin(a);
    }
    for burst in [1usize, 8, 32] {
        let mut g = c.benchmark_group(format!("spsc/one-core/burst{burst}"));
        g.throughput(Throughput::Elements(burst as u64));
        let items: Vec<u64> = (0..burst as u64).collect();

        let (mut tx, mut rx) = spsc::ring::<u64>(CAP).unwrap();
        let mut out = vec![0u64; burst];
        g.bench_function(BenchmarkId::new("strata-copy", burst), |b| {
            b.iter(|| {
                if burst == 1 {
                    tx.push(black_box(7)).unwrap();
                    black_box(rx.pop());
                } else {
                    let _ = tx.push_bulk_copy(black_box(&items));
                    black_box(rx.pop_bulk_copy(&mut out));
                }
            })
        });

        let mut inbuf: Vec<u64> = Vec::with_capacity(burst);
        let mut outbuf: Vec<u64> = Vec::with_capacity(burst);
        g.bench_function(BenchmarkId::new("strata-vec", burst), |b| {
            b.iter(|| {
                inbuf.extend_from_slice(black_box(&items));
                let _ = tx.push_burst(&mut inbuf);
                outbuf.clear();
                black_box(rx.pop_burst(&mut outbuf, burst));
            })
        });

        let (mut rp, mut rc) = rtrb::RingBuffer::<u64>::new(CAP);
        g.bench_function(BenchmarkId::new("rtrb", burst), |b| {
            b.iter(|| {
                for &x in black_box(&items) {
                    rp.push(x).unwrap();
                }
                for _ in 0..burst {
                    black_box(rc.pop().unwrap());
                }
            })
        });
        if burst > 1 {
            g.bench_function(BenchmarkId::new("rtrb-chunk", burst), |b| {
                b.iter(|| {
                    let chunk = rp.write_chunk_uninit(burst).unwrap();
                    chunk.fill_from_iter(black_box(&items).iter().copied());
                    let chunk = rc.read_chunk(burst).unwrap();
                    let (x, y) = chunk.as_slices();
                    out[..x.len()].copy_from_slice(x);
                    out[x.len()..x.len() + y.len()].copy_from_slice(y);
                    chunk.commit_all();
                    black_box(&out);
                })
            });
        }

        let q = ArrayQueue::<u64>::new(CAP);
        g.bench_function(BenchmarkId::new("crossbeam-arrayqueue", burst), |b| {
            b.iter(|| {
                for &x in black_box(&items) {
                    q.push(x).unwrap();
                }
                for _ in 0..burst {
                    black_box(q.pop().unwrap());
                }
            })
        });
        g.finish();
    }
}

/// Moves `total` items from a producer pinned on one CPU to a consumer
/// pinned on the other; returns the wall time from the shared start.
fn across<P, C>(total: u64, produce: P, consume: C) -> Duration
where
    P: FnOnce(u64) + Send + 'static,
    C: FnOnce(u64),
{
    let (a, b) = two_cpus().expect("two CPUs");
    let barrier = Arc::new(Barrier::new(2));
    let bar = barrier.clone();
    let producer = std::thread::spawn(move || {
        pin(b);
        bar.wait();
        produce(total);
    });
    pin(a);
    barrier.wait();
    let start = Instant::now();
    consume(total);
    let t = start.elapsed();
    producer.join().unwrap();
    t
}

fn two_cores(c: &mut Criterion) {
    if two_cpus().is_none() {
        eprintln!("spsc/two-cores skipped: fewer than two CPUs");
        return;
    }
    for burst in [1usize, 8, 32] {
        let mut g = c.benchmark_group(format!("spsc/two-cores/burst{burst}"));
        g.throughput(Throughput::Elements(burst as u64));
        g.bench_function(BenchmarkId::new("strata-copy", burst), |b| {
            b.iter_custom(|iters| {
                let (mut tx, mut rx) = spsc::ring::<u64>(CAP).unwrap();
                let total = iters * burst as u64;
                across(
                    total,
                    move |total| {
                        let items: Vec<u64> = (0..burst as u64).collect();
                        let mut sent = 0;
                        while sent < total {
                            let n = ((total - sent) as usize).min(burst);
                            sent += tx.push_burst_copy(&items[..n]) as u64;
                        }
                    },
                    |total| {
                        let mut out = vec![0u64; burst];
                        let mut got = 0;
                        while got < total {
                            got += rx.pop_burst_copy(&mut out) as u64;
                        }
                        black_box(&out);
                    },
                )
            })
        });
        g.bench_function(BenchmarkId::new("rtrb", burst), |b| {
            b.iter_custom(|iters| {
                let (mut rp, mut rc) = rtrb::RingBuffer::<u64>::new(CAP);
                let total = iters * burst as u64;
                across(
                    total,
                    move |total| {
                        let mut sent = 0;
                        while sent < total {
                            if burst == 1 {
                                if rp.push(sent).is_ok() {
                                    sent += 1;
                                }
                            } else {
                                let n = ((total - sent) as usize).min(burst).min(rp.slots());
                                if n > 0 {
                                    let chunk = rp.write_chunk_uninit(n).unwrap();
                                    sent += chunk.fill_from_iter(0..n as u64) as u64;
                                }
                            }
                        }
                    },
                    |total| {
                        let mut out = vec![0u64; burst];
                        let mut got = 0;
                        while got < total {
                            let n = rc.slots().min(burst);
                            if n > 0 {
                                let chunk = rc.read_chunk(n).unwrap();
                                let (x, y) = chunk.as_slices();
                                out[..x.len()].copy_from_slice(x);
                                out[x.len()..x.len() + y.len()].copy_from_slice(y);
                                chunk.commit_all();
                                got += n as u64;
                            }
                        }
                        black_box(&out);
                    },
                )
            })
        });
        g.bench_function(BenchmarkId::new("crossbeam-arrayqueue", burst), |b| {
            b.iter_custom(|iters| {
                let q = Arc::new(ArrayQueue::<u64>::new(CAP));
                let qp = q.clone();
                let total = iters * burst as u64;
                across(
                    total,
                    move |total| {
                        let mut sent = 0;
                        while sent < total {
                            if qp.push(sent).is_ok() {
                                sent += 1;
                            }
                        }
                    },
                    |total| {
                        let mut got = 0;
                        while got < total {
                            if let Some(x) = q.pop() {
                                black_box(x);
                                got += 1;
                            }
                        }
                    },
                )
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    targets = one_core, two_cores
}
criterion_main!(benches);
