//! The RX path of issue 4 under criterion: UDP frames from Ethernet up to a
//! bound socket, checksums verified, read on the same core, one element per
//! packet. Groups `rx_udp/64` and `rx_udp/1500` (frame sizes count the FCS:
//! see `strata_perf::rx_frames`), one function per stack, all fed the same
//! frames.
//!
//! `cargo bench -p strata-perf --bench rx_path`
#![forbid(unsafe_code)]

#[path = "../peers/smoltcp_rx.rs"]
#[allow(dead_code)]
mod smoltcp_rx;
#[path = "../peers/strata_rx.rs"]
#[allow(dead_code)]
mod strata_rx;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use strata_perf::rx_frames;

/// Source ports in the frames (as `examples/rx_path.rs` uses by default).
const FLOWS: usize = 16;

fn rx_udp(c: &mut Criterion) {
    for size in rx_frames::DEFAULT_SIZES {
        let frames = rx_frames::udp_frames(size, FLOWS).expect("valid frame size");
        let mut group = c.benchmark_group(format!("rx_udp/{size}"));
        group.throughput(Throughput::Elements(1));
        group.measurement_time(Duration::from_secs(3));

        for (name, feed) in [
            ("strata", strata_rx::Feed::Ring),
            ("strata_copy", strata_rx::Feed::Copy),
            ("strata_lend", strata_rx::Feed::Lend),
        ] {
            let mut strata = strata_rx::StrataRx::new(&frames, feed);
            group.bench_function(name, |b| {
                b.iter_custom(|iters| {
                    let start = Instant::now();
                    let got = strata.receive(iters);
                    let elapsed = start.elapsed();
                    assert_eq!(got, iters, "Strata dropped packets");
                    elapsed
                });
            });
        }

        let mut smoltcp = smoltcp_rx::SmoltcpRx::new(&frames);
        group.bench_function("smoltcp", |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                let got = smoltcp.receive(iters);
                let elapsed = start.elapsed();
                assert_eq!(got, iters, "smoltcp dropped packets");
                elapsed
            });
        });
        group.finish();
    }
}

criterion_group!(benches, rx_udp);
criterion_main!(benches);
