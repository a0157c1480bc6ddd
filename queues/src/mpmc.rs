//! A bounded multi-producer multi-consumer ring, DPDK's MP/MC `rte_ring`
//! algorithm: each side has a `head` that threads claim ranges from with one
//! compare-and-swap per burst, and a `tail` that publishes finished ranges
//! in claim order.
//!
//! An enqueue of `n` items:
//! 1. reads the producer `head` and the consumer `tail`, computes free
//!    space, and claims `head..head+k` with a CAS on the producer `head`;
//! 2. writes its items into the claimed slots;
//! 3. waits until the producer `tail` reaches its `head` (earlier claimers
//!    have published), then moves the producer `tail` to `head+k`.
//!
//! Dequeue mirrors it on the consumer side. One CAS per burst is what makes
//! bursts of 32 cheap; the price, as in DPDK, is that a thread preempted
//! between steps 1 and 3 holds up the publication of later ranges (not
//! their claims). The wait spins briefly and then yields the CPU, so on an
//! oversubscribed machine the preempted thread gets to run.
//!
//! Memory orderings (each use repeats why):
//! * a producer loads the consumer `tail` with **Acquire**, pairing with the
//!   consumers' Release store of it: their reads of the slots it frees
//!   happen before our writes;
//! * a producer's wait for the producer `tail` uses **Acquire** and its
//!   store of it **Release**: the store publishes our slot writes *and*
//!   (through the acquire) those of every earlier producer, so a consumer
//!   that acquires the tail may read all slots below it;
//! * the consumer side is symmetric;
//! * the CAS on a `head` is Relaxed: it only divides slots among threads of
//!   one side, the data itself is ordered by the tails.

use core::fmt;
use core::mem;

use crate::cache_padded::CachePadded;
use crate::error::{check_capacity, CapacityError, Full};
use crate::slots::Slots;
use crate::stats::RingStats;
use crate::sync::{wait_step, AtomicU64, AtomicUsize, Ordering};

/// One side's indices. Unlike DPDK's `rte_ring_headtail`, `head` and
/// `tail` sit on separate cache lines: the other side polls only `tail`,
/// so the claiming CAS on `head` stays on a line no other side reads and
/// does not have to take it back from the other core on every burst.
#[derive(Debug)]
struct HeadTail {
    /// Claimed up to here (wrapping); touched only by this side's threads.
    head: CachePadded<AtomicUsize>,
    /// Published up to here (wrapping); read by the other side.
    tail: CachePadded<AtomicUsize>,
}

impl HeadTail {
    fn new() -> Self {
        Self {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
        }
    }
}

/// Counters, on their own line so counting never disturbs the indices
/// the other side polls.
#[derive(Debug)]
struct RingCounters {
    /// Highest occupancy producers observed.
    high_water: AtomicUsize,
    /// Items refused.
    dropped: AtomicU64,
}

/// How many items a claim must get.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// All `n` or nothing.
    Fixed,
    /// As many as possible, up to `n`.
    Variable,
}

/// A bounded MPMC ring shared by reference (`&self` methods); wrap it in an
/// `Arc` to share it between threads.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// let ring = Arc::new(strata_queues::MpmcRing::<u32>::new(1024)?);
/// let r = ring.clone();
/// std::thread::spawn(move || { let _ = r.push_bulk_copy(&[1, 2, 3]); }).join().unwrap();
/// let mut out = [0u32; 8];
/// assert_eq!(ring.pop_burst_copy(&mut out), 3);
/// # Ok::<(), strata_queues::CapacityError>(())
/// ```
pub struct MpmcRing<T> {
    prod: HeadTail,
    cons: HeadTail,
    counters: CachePadded<RingCounters>,
    slots: Slots<T>,
}

impl<T> fmt::Debug for MpmcRing<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MpmcRing")
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> MpmcRing<T> {
    /// Creates a ring of `capacity` slots.
    ///
    /// # Errors
    /// [`CapacityError`] if `capacity` is zero, not a power of two, or too large.
    pub fn new(capacity: usize) -> Result<Self, CapacityError> {
        check_capacity(capacity, mem::size_of::<T>())?;
        Ok(Self {
            prod: HeadTail::new(),
            cons: HeadTail::new(),
            counters: CachePadded::new(RingCounters {
                high_water: AtomicUsize::new(0),
                dropped: AtomicU64::new(0),
            }),
            slots: Slots::new(capacity),
        })
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.slots.capacity()
    }

    /// Items in the ring (a snapshot; other threads move on).
    pub fn len(&self) -> usize {
        // Relaxed: an estimate for callers and statistics, ordering nothing.
        let head = self.cons.tail.load(Ordering::Relaxed);
        let tail = self.prod.tail.load(Ordering::Relaxed);
        tail.wrapping_sub(head).min(self.capacity())
    }

    /// Whether the ring looks empty (a snapshot).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A snapshot of the ring's counters.
    pub fn stats(&self) -> RingStats {
        // Relaxed: statistics order nothing.
        let dequeued = self.cons.tail.load(Ordering::Relaxed);
        let enqueued = self.prod.tail.load(Ordering::Relaxed);
        RingStats {
            capacity: self.capacity(),
            len: enqueued.wrapping_sub(dequeued).min(self.capacity()),
            enqueued: enqueued as u64,
            dequeued: dequeued as u64,
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            high_water: self.counters.high_water.load(Ordering::Relaxed),
        }
    }

    #[cold]
    fn count_dropped(&self, n: usize) {
        // Relaxed: a statistic; RMW because several producers count.
        self.counters.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Claims up to `n` free slots; returns `(start, count)`.
    #[inline(always)]
    fn claim_free(&self, n: usize, behaviour: Behaviour) -> (usize, usize) {
        let cap = self.capacity();
        let mut head = self.prod.head.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the Release store of the consumer tail in
            // `finish_dequeue`; consumers' reads of slots below it happen
            // before we overwrite them.
            let cons_tail = self.cons.tail.load(Ordering::Acquire);
            let used = head.wrapping_sub(cons_tail);
            if used > cap {
                // Our `head` is stale (the consumers moved past it): reload.
                wait_step(&mut 0);
                head = self.prod.head.load(Ordering::Relaxed);
                continue;
            }
            let free = cap - used;
            let k = match behaviour {
                Behaviour::Fixed if free < n => 0,
                Behaviour::Fixed => n,
                Behaviour::Variable => n.min(free),
            };
            if k == 0 {
                return (head, 0);
            }
            // Strong CAS (same instruction as weak on x86; no spurious failures
            // for loom to explore). Relaxed: the CAS only divides slots among
            // producers; slot data
            // is ordered by the tails (see the module doc).
            match self.prod.head.compare_exchange(
                head,
                head.wrapping_add(k),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    let occupancy = used + k;
                    // Relaxed: a statistic. Load first so the common case
                    // does no read-modify-write.
                    if occupancy > self.counters.high_water.load(Ordering::Relaxed) {
                        self.counters
                            .high_water
                            .fetch_max(occupancy, Ordering::Relaxed);
                    }
                    return (head, k);
                }
                Err(now) => head = now,
            }
        }
    }

    /// Publishes the producer range `start..start+k` once earlier ranges are out.
    #[inline(always)]
    fn finish_enqueue(&self, start: usize, k: usize) {
        let mut spins = 0;
        // Acquire: pairs with the Release store below by the producer that
        // claimed the range before ours, so its slot writes are ordered
        // before our Release store, which consumers acquire.
        while self.prod.tail.load(Ordering::Acquire) != start {
            wait_step(&mut spins);
        }
        // Release: publishes our slot writes (and, through the Acquire
        // above, the earlier ones) to consumers' Acquire in `claim_filled`.
        self.prod
            .tail
            .store(start.wrapping_add(k), Ordering::Release);
    }

    /// Claims up to `n` filled slots; returns `(start, count)`.
    #[inline(always)]
    fn claim_filled(&self, n: usize, behaviour: Behaviour) -> (usize, usize) {
        let mut head = self.cons.head.load(Ordering::Relaxed);
        loop {
            // Acquire: pairs with the Release store of the producer tail in
            // `finish_enqueue`; slot writes below it happen before our reads.
            let prod_tail = self.prod.tail.load(Ordering::Acquire);
            let avail = prod_tail.wrapping_sub(head);
            if avail > self.capacity() {
                // Our `head` is stale: reload.
                wait_step(&mut 0);
                head = self.cons.head.load(Ordering::Relaxed);
                continue;
            }
            let k = match behaviour {
                Behaviour::Fixed if avail < n => 0,
                Behaviour::Fixed => n,
                Behaviour::Variable => n.min(avail),
            };
            if k == 0 {
                return (head, 0);
            }
            // Relaxed: divides slots among consumers only.
            match self.cons.head.compare_exchange(
                head,
                head.wrapping_add(k),
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return (head, k),
                Err(now) => head = now,
            }
        }
    }

    /// Hands the consumer range `start..start+k` back once earlier ones are.
    #[inline(always)]
    fn finish_dequeue(&self, start: usize, k: usize) {
        let mut spins = 0;
        // Acquire: the earlier consumer's slot reads are ordered before our
        // Release store, which producers acquire before reusing the slots.
        while self.cons.tail.load(Ordering::Acquire) != start {
            wait_step(&mut spins);
        }
        // Release: pairs with the producers' Acquire in `claim_free`.
        self.cons
            .tail
            .store(start.wrapping_add(k), Ordering::Release);
    }

    /// Enqueues one item.
    ///
    /// # Errors
    /// [`Full`] with the item when no slot is free.
    #[inline]
    pub fn push(&self, item: T) -> Result<(), Full<T>> {
        let (start, k) = self.claim_free(1, Behaviour::Fixed);
        if k == 0 {
            self.count_dropped(1);
            return Err(Full(item));
        }
        // SAFETY: the CAS gave us slot `start` exclusively, and the consumer
        // tail (acquired) shows it was released by consumers.
        unsafe { self.slots.write_one(start, item) };
        self.finish_enqueue(start, 1);
        Ok(())
    }

    /// Dequeues one item, or `None` when empty.
    #[inline]
    pub fn pop(&self) -> Option<T> {
        let (start, k) = self.claim_filled(1, Behaviour::Fixed);
        if k == 0 {
            return None;
        }
        // SAFETY: the CAS gave us slot `start` exclusively, and the producer
        // tail (acquired) shows it was published.
        let item = unsafe { self.slots.read_one(start) };
        self.finish_dequeue(start, 1);
        Some(item)
    }

    #[inline(always)]
    fn push_vec(&self, items: &mut Vec<T>, behaviour: Behaviour) -> usize {
        let n = items.len();
        if n == 0 {
            return 0;
        }
        let (start, k) = self.claim_free(n, behaviour);
        if k < n {
            self.count_dropped(n - k);
        }
        if k == 0 {
            return 0;
        }
        let src = items.as_mut_ptr();
        // SAFETY: we claimed `k` free slots from `start`; `src` holds `n >= k`
        // items; the first `k` move into the ring and the rest move to the
        // front before the length is set, so nothing is dropped twice.
        unsafe {
            self.slots.write_from(start, src, k);
            core::ptr::copy(src.add(k), src, n - k);
            items.set_len(n - k);
        }
        self.finish_enqueue(start, k);
        k
    }

    /// Moves all of `items` in, or none. Returns `items.len()` or 0.
    #[inline]
    #[must_use = "items refused stay in the Vec and must be dealt with"]
    pub fn push_bulk(&self, items: &mut Vec<T>) -> usize {
        self.push_vec(items, Behaviour::Fixed)
    }

    /// Moves as many of `items` as fit, from the front; returns how many.
    #[inline]
    #[must_use = "items refused stay in the Vec and must be dealt with"]
    pub fn push_burst(&self, items: &mut Vec<T>) -> usize {
        self.push_vec(items, Behaviour::Variable)
    }

    #[inline(always)]
    fn pop_vec(&self, out: &mut Vec<T>, n: usize, behaviour: Behaviour) -> usize {
        if n == 0 {
            return 0;
        }
        let (start, k) = self.claim_filled(n, behaviour);
        if k == 0 {
            return 0;
        }
        // Reserve before touching the slots, so an allocation failure (which
        // aborts) cannot leave a claimed range unpublished in normal use.
        out.reserve(k);
        let len = out.len();
        // SAFETY: we claimed `k` published slots; `out` has room for `k`.
        unsafe {
            self.slots.read_into(start, out.as_mut_ptr().add(len), k);
            out.set_len(len + k);
        }
        self.finish_dequeue(start, k);
        k
    }

    /// Appends exactly `n` items to `out`, or none. Returns `n` or 0.
    #[inline]
    #[must_use = "a refused bulk dequeue moved nothing"]
    pub fn pop_bulk(&self, out: &mut Vec<T>, n: usize) -> usize {
        self.pop_vec(out, n, Behaviour::Fixed)
    }

    /// Appends up to `max` items to `out`; returns how many.
    #[inline]
    pub fn pop_burst(&self, out: &mut Vec<T>, max: usize) -> usize {
        self.pop_vec(out, max, Behaviour::Variable)
    }
}

impl<T: Copy> MpmcRing<T> {
    #[inline(always)]
    fn push_slice(&self, items: &[T], behaviour: Behaviour) -> usize {
        let n = items.len();
        if n == 0 {
            return 0;
        }
        let (start, k) = self.claim_free(n, behaviour);
        if k < n {
            self.count_dropped(n - k);
        }
        if k > 0 {
            // SAFETY: we claimed `k` free slots; `T: Copy`.
            unsafe { self.slots.write_from(start, items.as_ptr(), k) };
            self.finish_enqueue(start, k);
        }
        k
    }

    /// Copies all of `items` in, or none. Returns `items.len()` or 0.
    #[inline]
    #[must_use = "a refused bulk enqueue moved nothing"]
    pub fn push_bulk_copy(&self, items: &[T]) -> usize {
        self.push_slice(items, Behaviour::Fixed)
    }

    /// Copies as many of `items` as fit; returns how many.
    #[inline]
    #[must_use = "items not copied were not enqueued"]
    pub fn push_burst_copy(&self, items: &[T]) -> usize {
        self.push_slice(items, Behaviour::Variable)
    }

    #[inline(always)]
    fn pop_slice(&self, out: &mut [T], behaviour: Behaviour) -> usize {
        let n = out.len();
        if n == 0 {
            return 0;
        }
        let (start, k) = self.claim_filled(n, behaviour);
        if k > 0 {
            // SAFETY: we claimed `k` published slots; `out` holds at least `k`.
            unsafe { self.slots.read_into(start, out.as_mut_ptr(), k) };
            self.finish_dequeue(start, k);
        }
        k
    }

    /// Fills all of `out`, or nothing. Returns `out.len()` or 0.
    #[inline]
    #[must_use = "a refused bulk dequeue moved nothing"]
    pub fn pop_bulk_copy(&self, out: &mut [T]) -> usize {
        self.pop_slice(out, Behaviour::Fixed)
    }

    /// Fills the front of `out` with what is available; returns how many.
    #[inline]
    pub fn pop_burst_copy(&self, out: &mut [T]) -> usize {
        self.pop_slice(out, Behaviour::Variable)
    }
}

impl<T> Drop for MpmcRing<T> {
    fn drop(&mut self) {
        // `&mut self`: no other thread can hold a reference, and whatever
        // handed us exclusivity (an `Arc` drop, a join) ordered their
        // accesses before this point, so Relaxed loads see final values.
        let head = self.cons.tail.load(Ordering::Relaxed);
        let tail = self.prod.tail.load(Ordering::Relaxed);
        // SAFETY: exactly `head..tail` hold values and nobody else can reach them.
        unsafe { self.slots.drop_range(head, tail) };
    }
}

#[cfg(not(loom))]
impl<T: Send> crate::monitor::StatsSource for MpmcRing<T> {
    fn stats(&self) -> RingStats {
        MpmcRing::stats(self)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::Arc;

    #[test]
    fn bad_capacities_are_errors() {
        assert!(MpmcRing::<u8>::new(0).is_err());
        assert!(MpmcRing::<u8>::new(100).is_err());
    }

    #[test]
    fn bulk_and_burst_semantics() {
        let r = MpmcRing::<u64>::new(8).unwrap();
        assert_eq!(r.push_bulk_copy(&[1, 2, 3, 4, 5, 6]), 6);
        assert_eq!(r.push_bulk_copy(&[7, 8, 9]), 0);
        assert_eq!(r.push_burst_copy(&[7, 8, 9]), 2);
        let mut out = [0u64; 10];
        assert_eq!(r.pop_bulk_copy(&mut out[..9]), 0);
        assert_eq!(r.pop_burst_copy(&mut out), 8);
        assert_eq!(&out[..8], &[1, 2, 3, 4, 5, 6, 7, 8]);
        let s = r.stats();
        assert_eq!(
            (s.enqueued, s.dequeued, s.dropped, s.high_water),
            (8, 8, 4, 8)
        );
    }

    #[test]
    fn owned_items_are_dropped_once() {
        let token = Arc::new(());
        {
            let r = MpmcRing::<Arc<()>>::new(4).unwrap();
            let mut v: Vec<_> = (0..6).map(|_| token.clone()).collect();
            assert_eq!(r.push_burst(&mut v), 4);
            assert_eq!(v.len(), 2);
            let Err(Full(back)) = r.push(token.clone()) else {
                panic!("full")
            };
            drop(back);
            let mut out = Vec::new();
            assert_eq!(r.pop_bulk(&mut out, 2), 2);
            drop(v);
            drop(out);
            assert_eq!(Arc::strong_count(&token), 3);
        }
        assert_eq!(Arc::strong_count(&token), 1);
    }

    #[test]
    fn many_threads_lose_and_duplicate_nothing() {
        const PER: u64 = if cfg!(miri) { 200 } else { 50_000 };
        const THREADS: u64 = 3;
        let r = Arc::new(MpmcRing::<u64>::new(64).unwrap());
        let producers: Vec<_> = (0..THREADS)
            .map(|t| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut i = 0;
                    while i < PER {
                        let n = (PER - i).min(1 + (i % 13));
                        let items: Vec<u64> = (i..i + n).map(|x| t * PER + x).collect();
                        let k = r.push_burst_copy(&items);
                        i += k as u64;
                        if k == 0 {
                            std::thread::yield_now();
                        }
                    }
                })
            })
            .collect();
        // Consumers stop when every item has been taken by one of them, so
        // producers can never be left facing a full ring with nobody to drain it.
        let taken = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let r = r.clone();
                let taken = taken.clone();
                std::thread::spawn(move || {
                    let mut seen = Vec::new();
                    let mut out = Vec::with_capacity(32);
                    // Relaxed: a tally to know when to stop, ordering nothing.
                    while taken.load(std::sync::atomic::Ordering::Relaxed) < THREADS * PER {
                        out.clear();
                        let k = r.pop_burst(&mut out, 32);
                        if k == 0 {
                            std::thread::yield_now();
                        } else {
                            taken.fetch_add(k as u64, std::sync::atomic::Ordering::Relaxed);
                            seen.extend_from_slice(&out);
                        }
                    }
                    seen
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all: Vec<u64> = Vec::new();
        for c in consumers {
            let seen = c.join().unwrap();
            for t in 0..THREADS {
                let mine: Vec<u64> = seen.iter().copied().filter(|x| x / PER == t).collect();
                assert!(
                    mine.windows(2).all(|w| w[0] < w[1]),
                    "per-producer order kept"
                );
            }
            all.extend(seen);
        }
        assert!(r.is_empty());
        all.sort_unstable();
        assert_eq!(all.len() as u64, THREADS * PER);
        assert!(all.iter().enumerate().all(|(i, &x)| x == i as u64));
    }

    proptest::proptest! {
        #[test]
        fn matches_a_vecdeque_model(cap_log in 0u32..5, ops in proptest::collection::vec((0u8..4, 0usize..12), 0..200)) {
            let cap = 1usize << cap_log;
            let r = MpmcRing::<u32>::new(cap).unwrap();
            let mut model: VecDeque<u32> = VecDeque::new();
            let mut next = 0u32;
            for (op, n) in ops {
                match op {
                    0 => {
                        let items: Vec<u32> = (next..next + n as u32).collect();
                        next += n as u32;
                        let got = r.push_bulk_copy(&items);
                        let want = if n > 0 && n <= cap - model.len() { n } else { 0 };
                        proptest::prop_assert_eq!(got, want);
                        model.extend(&items[..got]);
                    }
                    1 => {
                        let mut items: Vec<u32> = (next..next + n as u32).collect();
                        next += n as u32;
                        let all = items.clone();
                        let got = r.push_burst(&mut items);
                        proptest::prop_assert_eq!(got, n.min(cap - model.len()));
                        proptest::prop_assert_eq!(&items[..], &all[got..]);
                        model.extend(&all[..got]);
                    }
                    2 => {
                        let mut out = vec![0; n];
                        let got = r.pop_bulk_copy(&mut out);
                        if n > 0 && n <= model.len() {
                            proptest::prop_assert_eq!(got, n);
                            let want: Vec<u32> = model.drain(..n).collect();
                            proptest::prop_assert_eq!(out, want);
                        } else { proptest::prop_assert_eq!(got, 0); }
                    }
                    _ => {
                        let mut out = Vec::new();
                        let got = r.pop_burst(&mut out, n);
                        let want: Vec<u32> = model.drain(..n.min(model.len())).collect();
                        proptest::prop_assert_eq!(got, want.len());
                        proptest::prop_assert_eq!(out, want);
                    }
                }
                proptest::prop_assert_eq!(r.len(), model.len());
            }
        }
    }
}
