//! Strata's performance scenarios and peer comparisons (DESIGN.md,
//! "Performance method"): every figure is measured beside its peer in the
//! same run, medians of several rounds.
//!
//! | module | what |
//! |---|---|
//! | [`micro`] | Strata's rings and pools measured with DPDK's own methods |
//! | [`peers`] | rtrb and crossbeam through the same loops |
//! | [`dpdk`] | `dpdk-test ring_perf_autotest` and DPDK's mempool loop, run and parsed |
//! | [`compare`] | the side-by-side table and the targets of issue 2 |
//! | [`rx_frames`] | the identical Ethernet/IPv4/UDP frames every stack of the RX-path comparison receives (issue 4) |
//! | [`summary`] | medians and spreads |
//!
//! Run it: `cargo run --release -p strata-perf -- rings` (see `--help`).
//! The RX-path comparison: `cargo run --release -p strata-perf --example rx_path`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod compare;
pub mod dpdk;
pub mod micro;
pub mod peers;
pub mod rx_frames;
pub mod summary;
