//! Counters every ring keeps: cheap enough to leave on.

/// A snapshot of one ring's counters.
///
/// `enqueued` and `dequeued` are the ring's own producer and consumer
/// positions, so counting them costs nothing. `dropped` counts items refused
/// because the ring was full (the caller got them back; an engine drops and
/// counts them). `high_water` is the highest occupancy seen at the moments
/// one side synchronised with the other: it never exceeds the true maximum,
/// and it reaches the capacity whenever an enqueue found the ring full.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingStats {
    /// Slots in the ring.
    pub capacity: usize,
    /// Items in the ring when the snapshot was taken.
    pub len: usize,
    /// Items ever enqueued.
    pub enqueued: u64,
    /// Items ever dequeued.
    pub dequeued: u64,
    /// Items refused because the ring was full.
    pub dropped: u64,
    /// Highest occupancy observed.
    pub high_water: usize,
}
