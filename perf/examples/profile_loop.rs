//! One measurement in a loop, for `perf record`:
//! `cargo run --release -p strata-perf --example profile_loop -- mpmc2|spsc2|poolraw|poolbuf`
use strata_perf::micro::{self, PoolLayer, RingKind};

fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    for _ in 0..5 {
        let ns = match what.as_str() {
            "mpmc2" => micro::two_cores(RingKind::Mpmc, 32, 1 << 21).map_or(f64::NAN, |t| t.sum_ns),
            "spsc2" => micro::two_cores(RingKind::Spsc, 32, 1 << 21).map_or(f64::NAN, |t| t.sum_ns),
            "rtrb2" => {
                strata_perf::peers::two_cores(strata_perf::peers::Peer::RtrbChunk, 32, 1 << 21)
                    .map_or(f64::NAN, |t| t.sum_ns)
            }
            "poolraw" => micro::pool_get_put(PoolLayer::Raw, true, 32, 32, 1.0),
            "poolraw128" => micro::pool_get_put(PoolLayer::Raw, true, 32, 128, 1.0),
            "poolbuf" => micro::pool_get_put(PoolLayer::NetBuf, true, 32, 32, 1.0),
            _ => {
                eprintln!("usage: profile_loop mpmc2|spsc2|poolraw|poolbuf");
                std::process::exit(2);
            }
        };
        println!("{what}: {ns:.3} ns per element");
    }
}
