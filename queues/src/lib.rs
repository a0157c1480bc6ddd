//! Strata's queues: Zephyr's `k_fifo` RX/TX queues, built like DPDK's `rte_ring`.
//!
//! | module | what |
//! |---|---|
//! | [`spsc`] | single-producer single-consumer ring: a [`Producer`]/[`Consumer`] pair, the hot-path hand-off between two threads |
//! | [`mpmc`] | [`MpmcRing`], DPDK's MP/MC algorithm: one CAS per burst |
//! | [`classes`] | per-class queue sets (1–8 traffic classes), the 802.1Q priority→class table, strict or weighted draining |
//! | [`wake`] | [`WakeFlag`]: the handshake that lets a consumer sleep without missing what a producer publishes |
//! | [`CachePadded`] | 128-byte padding that keeps hot indices on separate lines |
//! | [`RingStats`], [`RingMonitor`] | counters every ring keeps: enqueued, dequeued, dropped, high-water |
//!
//! Vocabulary (DPDK's): `*_bulk` moves all `n` items or none, `*_burst` as
//! many as fit; `*_copy` variants move plain `Copy` data through slices,
//! the others move owned items through a `Vec` whose refused remainder is
//! left with the caller. Nothing ever blocks, panics on a full or empty
//! ring, or drops an item it was handed.
//!
//! Capacities are powers of two up to [`MAX_CAPACITY`]; anything else is a
//! [`CapacityError`]. All `unsafe` lives in the slot storage and the ring
//! bodies, each block with a `// SAFETY:` comment; every atomic access says
//! which access it pairs with. The rings are model-checked with loom
//! (`RUSTFLAGS="--cfg loom" cargo test -p strata-queues --test loom --release`).
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod cache_padded;
pub mod classes;
mod error;
#[cfg(not(loom))]
mod monitor;
pub mod mpmc;
mod slots;
pub mod spsc;
mod stats;
mod sync;
pub mod wake;

pub use cache_padded::CachePadded;
pub use error::{CapacityError, Full, MAX_CAPACITY};
#[cfg(not(loom))]
pub use monitor::RingMonitor;
pub use mpmc::MpmcRing;
pub use spsc::{Consumer, Producer};
pub use stats::RingStats;
pub use wake::WakeFlag;
