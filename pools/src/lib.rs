//! Strata's packet buffer pools: Zephyr's `net_buf` pools, built like DPDK's mempool.
//!
//! | item | what |
//! |---|---|
//! | [`PoolConfig`] | frame size and count, headroom, cache size and flush threshold, huge pages |
//! | [`Pool`] | one page-aligned region (memmap2; 2 MiB huge pages when configured) cut into frames aligned to their size, a reference count per frame, a lock-free shared free ring |
//! | [`NetBuf`] | a 24-byte handle: headroom/tailroom, `push`/`pull`/`put`/`truncate`, zero-copy clones, copy-on-write, chains of fragments |
//! | [`PoolCache`] | a per-core cache in front of the shared ring: bulk (all-or-nothing) and burst allocation, frees from any pool |
//! | [`RawFrame`], [`RawBurst`] | frames without a handle, for devices: one tagged word each; a burst of one pool is freed with a single check |
//! | [`PoolStats`] | capacity, free, min_free, alloc_failures (the `pools` entries of the stats JSON) |
//!
//! Frame `i` lives at byte `i * frame_size` of the region, so the region can
//! be registered as an AF_XDP UMEM without copying ([`Pool::region`]).
//! Exhaustion is an [`AllocError`], counted, never a block or a panic; a bad
//! configuration is a [`PoolError`] naming the value. Frames are freed from
//! any thread: a `NetBuf` dropped anywhere goes straight to the shared ring,
//! one freed through a [`PoolCache`] into that cache.
//!
//! `unsafe` is confined to the region and the handle's byte access, each
//! block with a `// SAFETY:` comment; every atomic says what it pairs with.
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

mod cache;
mod config;
mod error;
mod netbuf;
mod pool;
mod raw;
mod region;
#[cfg(test)]
mod tests;

pub use cache::PoolCache;
pub use config::{HugePages, PoolConfig, MAX_FRAMES, MAX_FRAME_SIZE, MIN_FRAME_SIZE};
pub use error::{AllocError, BufError, PoolError};
pub use netbuf::{Fragments, NetBuf};
pub use pool::{Pool, PoolStats, RawFrame, MAX_CACHES};
pub use raw::RawBurst;
