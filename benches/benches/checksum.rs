//! The internet checksum (RFC 1071) over 64, 576 and 1500 bytes: Strata's
//! wide-accumulating routine against a plain byte-at-a-time loop.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use strata_l3l4::checksum;

fn checksums(c: &mut Criterion) {
    for len in [64usize, 576, 1500] {
        let data: Vec<u8> = (0..len).map(|i| (i * 131 + 7) as u8).collect();
        assert_eq!(
            checksum::checksum(&data),
            checksum::checksum_bytewise(&data)
        );
        let mut g = c.benchmark_group(format!("checksum/{len}"));
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_function(BenchmarkId::new("strata", len), |b| {
            b.iter(|| checksum::checksum(black_box(&data)))
        });
        g.bench_function(BenchmarkId::new("bytewise", len), |b| {
            b.iter(|| checksum::checksum_bytewise(black_box(&data)))
        });
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1)).sample_size(20);
    targets = checksums
}
criterion_main!(benches);
