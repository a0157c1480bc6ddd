//! Read-only access to a ring's counters from any thread (the metrics
//! exporter's view), whatever the ring's item type.

use std::fmt;
use std::sync::Arc;

use crate::stats::RingStats;

/// Anything that can report [`RingStats`].
pub(crate) trait StatsSource: Send + Sync {
    fn stats(&self) -> RingStats;
}

/// A cloneable handle that reads one ring's counters; it keeps the ring's
/// memory alive but cannot move items.
#[derive(Clone)]
pub struct RingMonitor {
    source: Arc<dyn StatsSource>,
}

impl RingMonitor {
    pub(crate) fn new<S: StatsSource + 'static>(source: Arc<S>) -> Self {
        Self { source }
    }

    /// A monitor for an MPMC ring shared through an `Arc`.
    pub fn of_mpmc<T: Send + 'static>(ring: &Arc<crate::MpmcRing<T>>) -> Self {
        Self::new(ring.clone())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RingStats {
        self.source.stats()
    }
}

impl fmt::Debug for RingMonitor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RingMonitor")
            .field("stats", &self.stats())
            .finish()
    }
}
