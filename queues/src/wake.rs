//! Sleeping without a lost wake-up: the handshake between a consumer about
//! to sleep on some file descriptor and a producer that publishes work into
//! a ring.
//!
//! The consumer *arms* ([`WakeFlag::arm`]: a store and a `SeqCst` fence),
//! then looks at its rings once more, and sleeps only if they are empty. The
//! producer first publishes its work (a ring push: a Release store), then
//! asks [`WakeFlag::should_wake`] (a `SeqCst` fence and a load). This is
//! the store-buffering pattern (Dekker's): with a fence between the store
//! and the load on both sides, at least one side sees the other's store, so
//! either the consumer's last look finds the work or the producer sees the
//! flag and wakes it (an eventfd, a socket byte: anything that stays
//! readable until the sleeper reads it). `should_wake` answers `true` at
//! most once per arming, so a busy producer makes one wake-up call, not one
//! per push. Model-checked with loom (`tests/loom.rs`).

use crate::sync::{fence, AtomicBool, Ordering};

/// The consumer's "I am about to sleep" flag. See the module documentation.
#[derive(Debug, Default)]
pub struct WakeFlag {
    armed: AtomicBool,
}

impl WakeFlag {
    /// A flag not armed.
    pub fn new() -> WakeFlag {
        WakeFlag {
            armed: AtomicBool::new(false),
        }
    }

    /// The consumer, before its last look at the rings: it will sleep if
    /// they are empty.
    #[inline]
    pub fn arm(&self) {
        // Relaxed store, then the SeqCst fence that orders it before the
        // consumer's next look at its rings, against the fence in
        // `should_wake` (module documentation).
        self.armed.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
    }

    /// The consumer, awake again (or not sleeping after all).
    #[inline]
    pub fn disarm(&self) {
        // Relaxed: a producer that still sees `true` makes one spurious
        // wake-up call, which the consumer reads away; never a lost one.
        self.armed.store(false, Ordering::Relaxed);
    }

    /// The producer, after publishing work: whether it must wake the
    /// consumer. `true` at most once per [`WakeFlag::arm`].
    #[inline]
    pub fn should_wake(&self) -> bool {
        // SeqCst fence: orders the producer's earlier publication before
        // the load below, against the fence in `arm` (module
        // documentation). The load and swap are Relaxed: the fences carry
        // the ordering, and the swap only makes one producer call.
        fence(Ordering::SeqCst);
        self.armed.load(Ordering::Relaxed) && self.armed.swap(false, Ordering::Relaxed)
    }

    /// Whether the consumer is armed (for tests and statistics).
    pub fn is_armed(&self) -> bool {
        // Relaxed: a snapshot.
        self.armed.load(Ordering::Relaxed)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn one_wake_per_arming() {
        let flag = WakeFlag::new();
        assert!(!flag.should_wake(), "not armed: no call");
        flag.arm();
        assert!(flag.is_armed());
        assert!(flag.should_wake());
        assert!(!flag.should_wake(), "one call per arming");
        flag.arm();
        flag.disarm();
        assert!(!flag.should_wake());
    }
}
