//! The one place that chooses between `std` and `loom` primitives.
//!
//! Under `--cfg loom` every atomic, slot cell and spin-wait goes through loom so
//! the model checker sees each access; otherwise these are the `std` types
//! with no overhead. The ring code is written once against this module.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

/// Tells the scheduler (or loom) that this thread waits for another one.
///
/// Used in the MPMC ring while a thread waits for an earlier enqueuer or
/// dequeuer to publish its tail. On a small machine that earlier thread may
/// have been preempted, so after a short spin we yield the CPU to it.
#[inline]
pub(crate) fn wait_step(spins: &mut u32) {
    #[cfg(loom)]
    {
        let _ = spins;
        loom::thread::yield_now();
    }
    #[cfg(not(loom))]
    {
        if *spins < 64 {
            *spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
