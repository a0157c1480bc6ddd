//! A bounded single-producer single-consumer ring (DPDK's SP/SC `rte_ring`,
//! rtrb's design): a [`Producer`] and a [`Consumer`] handle over one shared
//! buffer.
//!
//! Each side owns one index and keeps a cached copy of the other side's
//! index, so it touches the other side's cache line only when its cached
//! view says the ring is full (producer) or empty (consumer). Bursts move
//! as one or two `memcpy`s and one release store.
//!
//! Operations follow DPDK's vocabulary: `*_bulk` moves all items or none,
//! `*_burst` moves as many as fit. Items refused because the ring is full
//! stay with the caller (a [`Full`] error or the rest of the caller's
//! `Vec`) and are counted as `dropped` in [`RingStats`].
//!
//! Memory orderings, in one place (each use repeats why):
//! * the producer writes slots, then stores `tail` with **Release**; the
//!   consumer loads `tail` with **Acquire** before reading those slots;
//! * the consumer reads slots, then stores `head` with **Release**; the
//!   producer loads `head` with **Acquire** before overwriting those slots;
//! * each side reads its *own* index from a plain field, never atomically;
//! * statistics are single-writer counters stored with Relaxed ordering:
//!   they order nothing.

use core::fmt;
use core::mem;

use crate::cache_padded::CachePadded;
use crate::error::{check_capacity, CapacityError, Full};
use crate::slots::Slots;
use crate::stats::RingStats;
use crate::sync::{Arc, AtomicU64, AtomicUsize, Ordering};

/// The producer's position, alone on its cache line: the consumer polls it.
#[derive(Debug)]
struct ProducerSide {
    /// Items ever enqueued (wrapping); the next slot to write.
    tail: AtomicUsize,
}

/// The consumer's position, alone on its cache line: the producer polls it.
#[derive(Debug)]
struct ConsumerSide {
    /// Items ever dequeued (wrapping); the next slot to read.
    head: AtomicUsize,
}

/// Counters, on a line of their own so that counting (say, refusals while
/// a producer retries on a full ring) never disturbs the line the other
/// side polls.
#[derive(Debug)]
struct SideStats {
    /// Items refused because the ring was full (producer only).
    dropped: AtomicU64,
    /// Highest occupancy this side observed.
    high_water: AtomicUsize,
}

#[derive(Debug)]
struct Shared<T> {
    prod: CachePadded<ProducerSide>,
    cons: CachePadded<ConsumerSide>,
    prod_stats: CachePadded<SideStats>,
    cons_stats: CachePadded<SideStats>,
    slots: Slots<T>,
}

impl<T> Shared<T> {
    fn stats(&self) -> RingStats {
        // Relaxed everywhere: a statistics snapshot orders nothing. Reading
        // `head` before `tail` keeps `tail - head` from going negative.
        let head = self.cons.head.load(Ordering::Relaxed);
        let tail = self.prod.tail.load(Ordering::Relaxed);
        let capacity = self.slots.capacity();
        let hw = self.prod_stats.high_water.load(Ordering::Relaxed);
        let hw = hw.max(self.cons_stats.high_water.load(Ordering::Relaxed));
        RingStats {
            capacity,
            len: tail.wrapping_sub(head).min(capacity),
            enqueued: tail as u64,
            dequeued: head as u64,
            dropped: self.prod_stats.dropped.load(Ordering::Relaxed),
            high_water: hw,
        }
    }
}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // Both handles are gone (this is the last `Arc`), and dropping an
        // `Arc` orders all their accesses before this point, so Relaxed
        // loads see the final positions.
        let head = self.cons.head.load(Ordering::Relaxed);
        let tail = self.prod.tail.load(Ordering::Relaxed);
        // SAFETY: exactly the slots in `head..tail` hold values, and no
        // handle is left to reach them.
        unsafe { self.slots.drop_range(head, tail) };
    }
}

/// Creates a ring of `capacity` slots and returns its two handles.
///
/// # Errors
/// [`CapacityError`] if `capacity` is zero, not a power of two, or larger
/// than [`MAX_CAPACITY`](crate::MAX_CAPACITY).
///
/// # Examples
/// ```
/// let (mut tx, mut rx) = strata_queues::spsc::ring::<u32>(8)?;
/// tx.push(1).unwrap();
/// let mut burst = vec![2, 3, 4];
/// assert_eq!(tx.push_burst(&mut burst), 3);
/// let mut out = Vec::with_capacity(32);
/// assert_eq!(rx.pop_burst(&mut out, 32), 4);
/// assert_eq!(out, [1, 2, 3, 4]);
/// # Ok::<(), strata_queues::CapacityError>(())
/// ```
pub fn ring<T>(capacity: usize) -> Result<(Producer<T>, Consumer<T>), CapacityError> {
    check_capacity(capacity, mem::size_of::<T>())?;
    let shared = Arc::new(Shared {
        prod: CachePadded::new(ProducerSide {
            tail: AtomicUsize::new(0),
        }),
        cons: CachePadded::new(ConsumerSide {
            head: AtomicUsize::new(0),
        }),
        prod_stats: CachePadded::new(SideStats {
            dropped: AtomicU64::new(0),
            high_water: AtomicUsize::new(0),
        }),
        cons_stats: CachePadded::new(SideStats {
            dropped: AtomicU64::new(0),
            high_water: AtomicUsize::new(0),
        }),
        slots: Slots::new(capacity),
    });
    let producer = Producer {
        shared: shared.clone(),
        tail: 0,
        cached_head: 0,
        high_water: 0,
        dropped: 0,
    };
    let consumer = Consumer {
        shared,
        head: 0,
        cached_tail: 0,
        high_water: 0,
    };
    Ok((producer, consumer))
}

/// The sending half of an SPSC ring. `Send`, not `Clone`.
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    /// Our position; mirrors `shared.prod.tail`.
    tail: usize,
    /// The consumer's position when we last looked.
    cached_head: usize,
    /// Mirrors `shared.prod_stats.high_water`.
    high_water: usize,
    /// Mirrors `shared.prod_stats.dropped`.
    dropped: u64,
}

impl<T> fmt::Debug for Producer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Producer")
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> Producer<T> {
    /// Free slots, looking at the consumer's position only if the cached
    /// one shows fewer than `wanted`.
    #[inline(always)]
    fn free_for(&mut self, wanted: usize) -> usize {
        let cap = self.shared.slots.capacity();
        let free = cap - self.tail.wrapping_sub(self.cached_head);
        if free >= wanted {
            return free;
        }
        // Acquire: pairs with the Release store of `head` in
        // `Consumer::release`, so the consumer's reads of the slots we are
        // about to reuse happen before our writes to them.
        self.cached_head = self.shared.cons.head.load(Ordering::Acquire);
        let used = self.tail.wrapping_sub(self.cached_head);
        if used > self.high_water {
            self.high_water = used;
            // Relaxed: a statistic with one writer (us).
            self.shared
                .prod_stats
                .high_water
                .store(used, Ordering::Relaxed);
        }
        cap - used
    }

    #[cold]
    fn count_dropped(&mut self, n: usize) {
        self.dropped += n as u64;
        // Relaxed: a statistic with one writer (us).
        self.shared
            .prod_stats
            .dropped
            .store(self.dropped, Ordering::Relaxed);
    }

    /// Makes `n` freshly written slots visible to the consumer.
    #[inline(always)]
    fn publish(&mut self, n: usize) {
        self.tail = self.tail.wrapping_add(n);
        // Release: pairs with the Acquire load of `tail` in
        // `Consumer::available_for`; our slot writes happen before the
        // consumer reads them.
        self.shared.prod.tail.store(self.tail, Ordering::Release);
    }

    /// Enqueues one item.
    ///
    /// # Errors
    /// [`Full`] with the item if there is no free slot.
    #[inline]
    pub fn push(&mut self, item: T) -> Result<(), Full<T>> {
        if self.free_for(1) == 0 {
            self.count_dropped(1);
            return Err(Full(item));
        }
        // SAFETY: `free_for` showed this slot is free: the consumer released
        // it (Acquire above) and only we write slots.
        unsafe { self.shared.slots.write_one(self.tail, item) };
        self.publish(1);
        Ok(())
    }

    /// Moves all of `items` into the ring, or none of them (DPDK's
    /// `enqueue_bulk`). Returns the number moved: `items.len()` or 0. On
    /// success `items` is left empty; on refusal it is untouched.
    #[inline]
    #[must_use = "items refused stay in the Vec and must be dealt with"]
    pub fn push_bulk(&mut self, items: &mut Vec<T>) -> usize {
        let n = items.len();
        if n == 0 {
            return 0;
        }
        if self.free_for(n) < n {
            self.count_dropped(n);
            return 0;
        }
        self.move_from_vec(items, n);
        n
    }

    /// Moves as many of `items` as fit, from the front (DPDK's
    /// `enqueue_burst`). Returns how many moved; the rest stay in `items`,
    /// in order.
    #[inline]
    #[must_use = "items refused stay in the Vec and must be dealt with"]
    pub fn push_burst(&mut self, items: &mut Vec<T>) -> usize {
        let n = items.len();
        let k = n.min(self.free_for(n));
        if k < n {
            self.count_dropped(n - k);
        }
        if k > 0 {
            self.move_from_vec(items, k);
        }
        k
    }

    #[inline(always)]
    fn move_from_vec(&mut self, items: &mut Vec<T>, k: usize) {
        let n = items.len();
        debug_assert!(k <= n);
        let src = items.as_mut_ptr();
        // SAFETY: `k` slots from `tail` are free (checked by the caller
        // through `free_for`) and `src` holds `n >= k` initialised items.
        // Ownership of the first `k` moves into the ring; the remaining
        // `n - k` are shifted to the front and the length set so the Vec
        // never drops a moved item. Nothing in between can panic.
        unsafe {
            self.shared.slots.write_from(self.tail, src, k);
            core::ptr::copy(src.add(k), src, n - k);
            items.set_len(n - k);
        }
        self.publish(k);
    }

    /// Free slots right now (may grow as the consumer works).
    pub fn free_slots(&mut self) -> usize {
        self.free_for(usize::MAX)
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.shared.slots.capacity()
    }

    /// A snapshot of the ring's counters.
    pub fn stats(&self) -> RingStats {
        self.shared.stats()
    }

    /// A handle that reads this ring's counters from any thread.
    #[cfg(not(loom))]
    pub fn monitor(&self) -> crate::RingMonitor
    where
        T: Send + 'static,
    {
        crate::RingMonitor::new(self.shared.clone())
    }
}

impl<T: Copy> Producer<T> {
    /// Copies all of `items` into the ring, or none (`enqueue_bulk` for
    /// plain data such as frame indices). Returns `items.len()` or 0.
    #[inline]
    #[must_use = "a refused bulk enqueue moved nothing"]
    pub fn push_bulk_copy(&mut self, items: &[T]) -> usize {
        let n = items.len();
        if n == 0 {
            return 0;
        }
        if self.free_for(n) < n {
            self.count_dropped(n);
            return 0;
        }
        // SAFETY: `n` slots are free; `T: Copy`, so copying moves nothing
        // the caller still owns.
        unsafe { self.shared.slots.write_from(self.tail, items.as_ptr(), n) };
        self.publish(n);
        n
    }

    /// Copies as many of `items` as fit; returns how many.
    #[inline]
    #[must_use = "items not copied were not enqueued"]
    pub fn push_burst_copy(&mut self, items: &[T]) -> usize {
        let n = items.len();
        let k = n.min(self.free_for(n));
        if k < n {
            self.count_dropped(n - k);
        }
        if k > 0 {
            // SAFETY: `k` slots are free; `T: Copy`.
            unsafe { self.shared.slots.write_from(self.tail, items.as_ptr(), k) };
            self.publish(k);
        }
        k
    }
}

/// The receiving half of an SPSC ring. `Send`, not `Clone`.
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
    /// Our position; mirrors `shared.cons.head`.
    head: usize,
    /// The producer's position when we last looked.
    cached_tail: usize,
    /// Mirrors `shared.cons_stats.high_water`.
    high_water: usize,
}

impl<T> fmt::Debug for Consumer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Consumer")
            .field("stats", &self.stats())
            .finish()
    }
}

impl<T> Consumer<T> {
    /// Items available, looking at the producer's position only if the
    /// cached one shows fewer than `wanted`.
    #[inline(always)]
    fn available_for(&mut self, wanted: usize) -> usize {
        let avail = self.cached_tail.wrapping_sub(self.head);
        if avail >= wanted {
            return avail;
        }
        // Acquire: pairs with the Release store of `tail` in
        // `Producer::publish`; the producer's slot writes happen before our
        // reads of them.
        self.cached_tail = self.shared.prod.tail.load(Ordering::Acquire);
        let avail = self.cached_tail.wrapping_sub(self.head);
        if avail > self.high_water {
            self.high_water = avail;
            // Relaxed: a statistic with one writer (us).
            self.shared
                .cons_stats
                .high_water
                .store(avail, Ordering::Relaxed);
        }
        avail
    }

    /// Hands `n` read slots back to the producer.
    #[inline(always)]
    fn release(&mut self, n: usize) {
        self.head = self.head.wrapping_add(n);
        // Release: pairs with the Acquire load of `head` in
        // `Producer::free_for`; our reads of these slots happen before the
        // producer overwrites them.
        self.shared.cons.head.store(self.head, Ordering::Release);
    }

    /// Dequeues one item, or `None` if the ring is empty.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        if self.available_for(1) == 0 {
            return None;
        }
        // SAFETY: the slot at `head` was published by the producer (Acquire
        // in `available_for`) and only we read slots.
        let item = unsafe { self.shared.slots.read_one(self.head) };
        self.release(1);
        Some(item)
    }

    /// Appends exactly `n` items to `out`, or none if fewer are available
    /// (DPDK's `dequeue_bulk`). Returns `n` or 0.
    #[inline]
    #[must_use = "a refused bulk dequeue moved nothing"]
    pub fn pop_bulk(&mut self, out: &mut Vec<T>, n: usize) -> usize {
        if n == 0 || self.available_for(n) < n {
            return 0;
        }
        self.move_into_vec(out, n);
        n
    }

    /// Appends up to `max` items to `out` (DPDK's `dequeue_burst`); returns
    /// how many. `out` grows only if its spare capacity is short: keep one
    /// with room for a burst to stay allocation-free.
    #[inline]
    pub fn pop_burst(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        let k = max.min(self.available_for(max));
        if k > 0 {
            self.move_into_vec(out, k);
        }
        k
    }

    #[inline(always)]
    fn move_into_vec(&mut self, out: &mut Vec<T>, k: usize) {
        out.reserve(k);
        let len = out.len();
        // SAFETY: `k` slots from `head` hold published items (checked by the
        // caller through `available_for`); `out` has room for `k` more after
        // `reserve`; ownership moves into the Vec, and the slots are handed
        // back to the producer only afterwards.
        unsafe {
            self.shared
                .slots
                .read_into(self.head, out.as_mut_ptr().add(len), k);
            out.set_len(len + k);
        }
        self.release(k);
    }

    /// Items in the ring right now (may grow as the producer works).
    pub fn len(&mut self) -> usize {
        self.available_for(usize::MAX)
    }

    /// Whether the ring is empty right now.
    pub fn is_empty(&mut self) -> bool {
        self.available_for(1) == 0
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.shared.slots.capacity()
    }

    /// A snapshot of the ring's counters.
    pub fn stats(&self) -> RingStats {
        self.shared.stats()
    }

    /// A handle that reads this ring's counters from any thread.
    #[cfg(not(loom))]
    pub fn monitor(&self) -> crate::RingMonitor
    where
        T: Send + 'static,
    {
        crate::RingMonitor::new(self.shared.clone())
    }
}

impl<T: Copy> Consumer<T> {
    /// Fills all of `out`, or nothing if fewer items are available. Returns
    /// `out.len()` or 0.
    #[inline]
    #[must_use = "a refused bulk dequeue moved nothing"]
    pub fn pop_bulk_copy(&mut self, out: &mut [T]) -> usize {
        let n = out.len();
        if n == 0 || self.available_for(n) < n {
            return 0;
        }
        // SAFETY: `n` published slots from `head`; `out` holds `n`.
        unsafe { self.shared.slots.read_into(self.head, out.as_mut_ptr(), n) };
        self.release(n);
        n
    }

    /// Fills the front of `out` with as many items as are available; returns how many.
    #[inline]
    pub fn pop_burst_copy(&mut self, out: &mut [T]) -> usize {
        let k = out.len().min(self.available_for(out.len()));
        if k > 0 {
            // SAFETY: `k` published slots from `head`; `out` holds at least `k`.
            unsafe { self.shared.slots.read_into(self.head, out.as_mut_ptr(), k) };
            self.release(k);
        }
        k
    }
}

#[cfg(not(loom))]
impl<T: Send> crate::monitor::StatsSource for Shared<T> {
    fn stats(&self) -> RingStats {
        Shared::stats(self)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    #[test]
    fn bad_capacities_are_errors() {
        assert!(matches!(ring::<u8>(0), Err(CapacityError::Zero)));
        assert!(matches!(
            ring::<u8>(6),
            Err(CapacityError::NotPowerOfTwo(6))
        ));
        assert!(matches!(
            ring::<u8>(1 << 31),
            Err(CapacityError::TooLarge { .. })
        ));
    }

    #[test]
    fn single_items_in_order_and_full_hands_back() {
        let (mut tx, mut rx) = ring::<String>(4).unwrap();
        for i in 0..4 {
            tx.push(i.to_string()).unwrap();
        }
        let Err(Full(back)) = tx.push("x".into()) else {
            panic!("ring should be full")
        };
        assert_eq!(back, "x");
        for i in 0..4 {
            assert_eq!(rx.pop().as_deref(), Some(i.to_string().as_str()));
        }
        assert_eq!(rx.pop(), None);
        let s = tx.stats();
        assert_eq!(
            (s.enqueued, s.dequeued, s.dropped, s.high_water, s.len),
            (4, 4, 1, 4, 0)
        );
    }

    #[test]
    fn bulk_is_all_or_nothing_and_burst_keeps_the_rest() {
        let (mut tx, mut rx) = ring::<u64>(8).unwrap();
        let mut v: Vec<u64> = (0..6).collect();
        assert_eq!(tx.push_bulk(&mut v), 6);
        assert!(v.is_empty());
        let mut v: Vec<u64> = (6..10).collect();
        assert_eq!(tx.push_bulk(&mut v), 0);
        assert_eq!(v, [6, 7, 8, 9]);
        assert_eq!(tx.push_burst(&mut v), 2);
        assert_eq!(v, [8, 9]);
        let mut out = Vec::new();
        assert_eq!(rx.pop_bulk(&mut out, 9), 0);
        assert_eq!(rx.pop_bulk(&mut out, 3), 3);
        assert_eq!(rx.pop_burst(&mut out, 100), 5);
        assert_eq!(out, (0..8).collect::<Vec<_>>());
        assert_eq!(tx.stats().dropped, 6);
    }

    #[test]
    fn copy_bursts_wrap_around() {
        let (mut tx, mut rx) = ring::<u32>(8).unwrap();
        let mut out = [0u32; 8];
        let mut next = 0u32;
        let mut expect = 0u32;
        for round in 0..100 {
            let n = (round % 7) + 1;
            let items: Vec<u32> = (next..next + n).collect();
            let k = tx.push_burst_copy(&items);
            next += k as u32;
            let got = rx.pop_burst_copy(&mut out[..(round as usize % 8) + 1]);
            for &x in &out[..got] {
                assert_eq!(x, expect);
                expect += 1;
            }
        }
        while let Some(x) = rx.pop() {
            assert_eq!(x, expect);
            expect += 1;
        }
        assert_eq!(expect, next);
    }

    #[test]
    fn dropping_the_ring_drops_what_is_left() {
        use std::rc::Rc;
        let token = Rc::new(());
        {
            // Rc is !Send, which the ring does not require for local use.
            let (mut tx, rx) = ring::<Rc<()>>(8).unwrap();
            for _ in 0..5 {
                tx.push(token.clone()).unwrap();
            }
            drop(rx);
            assert_eq!(Rc::strong_count(&token), 6);
        }
        assert_eq!(Rc::strong_count(&token), 1);
    }

    #[test]
    fn two_threads_move_every_item_in_order() {
        const N: u64 = if cfg!(miri) { 500 } else { 200_000 };
        let (mut tx, mut rx) = ring::<u64>(64).unwrap();
        let producer = std::thread::spawn(move || {
            let mut i = 0;
            let mut burst = Vec::with_capacity(32);
            while i < N {
                while burst.len() < 32 && i < N {
                    burst.push(i);
                    i += 1;
                }
                while !burst.is_empty() {
                    if tx.push_burst(&mut burst) == 0 {
                        std::thread::yield_now();
                    }
                }
            }
        });
        let mut expect = 0;
        let mut out = Vec::with_capacity(32);
        while expect < N {
            out.clear();
            if rx.pop_burst(&mut out, 32) == 0 {
                std::thread::yield_now();
            }
            for &x in &out {
                assert_eq!(x, expect);
                expect += 1;
            }
        }
        producer.join().unwrap();
        let s = rx.stats();
        assert_eq!((s.enqueued, s.dequeued, s.len), (N, N, 0));
        assert!(s.high_water <= 64 && s.high_water >= 1);
    }

    proptest::proptest! {
        /// Any sequence of operations behaves like a bounded `VecDeque`.
        #[test]
        fn matches_a_vecdeque_model(cap_log in 0u32..5, ops in proptest::collection::vec((0u8..6, 0usize..12), 0..200)) {
            let cap = 1usize << cap_log;
            let (mut tx, mut rx) = ring::<u32>(cap).unwrap();
            let mut model: VecDeque<u32> = VecDeque::new();
            let mut next = 0u32;
            let mut dropped = 0u64;
            for (op, n) in ops {
                match op {
                    0 => {
                        let r = tx.push(next);
                        if model.len() < cap { proptest::prop_assert!(r.is_ok()); model.push_back(next); }
                        else { proptest::prop_assert_eq!(r.unwrap_err().0, next); dropped += 1; }
                        next += 1;
                    }
                    1 | 2 => {
                        let mut v: Vec<u32> = (next..next + n as u32).collect();
                        next += n as u32;
                        let free = cap - model.len();
                        let moved = if op == 1 { tx.push_bulk(&mut v) } else { tx.push_burst(&mut v) };
                        let expect = if op == 1 { if n <= free && n > 0 { n } else { 0 } } else { n.min(free) };
                        proptest::prop_assert_eq!(moved, expect);
                        proptest::prop_assert_eq!(v.len(), n - moved);
                        dropped += (n - moved) as u64;
                        model.extend((next - n as u32)..(next - n as u32 + moved as u32));
                    }
                    3 => { proptest::prop_assert_eq!(rx.pop(), model.pop_front()); }
                    4 => {
                        let mut out = Vec::new();
                        let got = rx.pop_bulk(&mut out, n);
                        if n > 0 && n <= model.len() {
                            proptest::prop_assert_eq!(got, n);
                            let want: Vec<u32> = model.drain(..n).collect();
                            proptest::prop_assert_eq!(out, want);
                        } else { proptest::prop_assert_eq!(got, 0); }
                    }
                    _ => {
                        let mut out = vec![0u32; n];
                        let got = rx.pop_burst_copy(&mut out);
                        let want: Vec<u32> = model.drain(..n.min(model.len())).collect();
                        proptest::prop_assert_eq!(&out[..got], &want[..]);
                    }
                }
                let s = tx.stats();
                proptest::prop_assert_eq!(s.len, model.len());
                proptest::prop_assert_eq!(s.dropped, dropped);
                proptest::prop_assert!(s.high_water <= cap);
            }
        }
    }
}
