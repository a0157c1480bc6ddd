//! Pools: allocate and free 1 and 32 buffers, through a per-core cache and
//! straight from the shared ring.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use strata_benches::{pin, two_cpus};
use strata_pools::{HugePages, Pool, PoolConfig};

fn pool() -> Pool {
    Pool::new(PoolConfig {
        frames: 8192,
        cache_size: 512,
        cache_flush_threshold: 768,
        huge_pages: HugePages::Auto,
        ..PoolConfig::named("bench")
    })
    .unwrap()
}

fn alloc_free(c: &mut Criterion) {
    if let Some((a, _)) = two_cpus() {
        pin(a);
    }
    let p = pool();
    for n in [1usize, 32] {
        let mut g = c.benchmark_group(format!("pool/alloc-free/{n}"));
        g.throughput(Throughput::Elements(n as u64));
        let mut cache = p.cache().unwrap();
        let mut bufs = Vec::with_capacity(64);
        g.bench_function(BenchmarkId::new("cache", n), |b| {
            b.iter(|| {
                if n == 1 {
                    let buf = cache.alloc().unwrap();
                    cache.free(black_box(buf));
                } else {
                    cache.alloc_bulk(n, &mut bufs).unwrap();
                    black_box(&bufs);
                    cache.free_all(&mut bufs);
                }
            })
        });
        drop(cache);
        g.bench_function(BenchmarkId::new("no-cache", n), |b| {
            b.iter(|| {
                if n == 1 {
                    drop(black_box(p.alloc().unwrap()));
                } else {
                    p.alloc_bulk(n, &mut bufs).unwrap();
                    black_box(&bufs);
                    bufs.clear();
                }
            })
        });
        g.finish();
    }
    assert_eq!(p.stats().free, p.capacity());
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(20);
    targets = alloc_free
}
criterion_main!(benches);
