//! The pool: a region of frames, a reference count per frame, and a
//! lock-free shared free ring (an [`MpmcRing`] of frame indices) that
//! per-core caches ([`PoolCache`]) sit in front of.
//!
//! Frame ownership is the rule everything rests on: a frame index is, at
//! any moment, either in the free ring, in exactly one cache, or owned by
//! the set of [`NetBuf`] handles that share it (its reference count). Only
//! the owner touches a frame's bytes.

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use strata_queues::{CachePadded, MpmcRing};

use crate::cache::PoolCache;
use crate::config::PoolConfig;
use crate::error::{AllocError, PoolError};
use crate::netbuf::NetBuf;
use crate::raw::RawBurst;
use crate::region::Region;

/// Pool identities for [`RawFrame`]s (Relaxed: only uniqueness matters).
static NEXT_POOL_ID: AtomicU32 = AtomicU32::new(1);

/// A frame taken from a pool without a [`NetBuf`] around it: what a
/// device hands to hardware or the kernel (an AF_XDP fill ring entry), the
/// layer DPDK's `rte_mempool_get` works at. 8 bytes; not `Clone`, so a raw
/// frame has one owner; it names its pool, so it can only go home to it.
/// Dropping one without freeing it keeps its frame out of the pool until
/// the pool itself is dropped (a leak, never a double use).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a raw frame must be freed back to its pool"]
#[repr(transparent)]
pub struct RawFrame {
    /// Pool id in the high 32 bits, frame index in the low 32: one word,
    /// so bursts of raw frames move and check like DPDK's pointers.
    pub(crate) tagged: u64,
}

impl RawFrame {
    /// Views raw frames as their tagged words.
    #[inline(always)]
    pub(crate) fn as_words(frames: &[RawFrame]) -> &[u64] {
        // SAFETY: `RawFrame` is `repr(transparent)` over `u64`, so a slice of
        // one is a slice of the other with the same length and alignment;
        // the words are only read.
        unsafe { std::slice::from_raw_parts(frames.as_ptr().cast::<u64>(), frames.len()) }
    }

    /// Appends the frames named by tagged `words` to `out` with one copy.
    /// The caller owns those frames (they came out of a free list).
    #[inline(always)]
    pub(crate) fn extend_from_words(out: &mut Vec<RawFrame>, words: &[u64]) {
        out.reserve(words.len());
        let len = out.len();
        // SAFETY: `reserve` made room for `words.len()` more; `RawFrame` is
        // `repr(transparent)` over `u64`, so copying the words initialises
        // that many `RawFrame`s, after which the length covers them.
        unsafe {
            std::ptr::copy_nonoverlapping(
                words.as_ptr(),
                out.as_mut_ptr().add(len).cast::<u64>(),
                words.len(),
            );
            out.set_len(len + words.len());
        }
    }

    /// The id of the pool the frame belongs to.
    #[inline(always)]
    pub(crate) fn pool(&self) -> u32 {
        (self.tagged >> 32) as u32
    }

    /// The frame's index in its pool (its UMEM address is `index * frame_size`).
    #[inline(always)]
    pub fn index(&self) -> u32 {
        self.tagged as u32
    }
}

/// The most per-core caches one pool tracks.
pub const MAX_CACHES: usize = 64;

/// A snapshot of a pool's counters (the `pools` entries of the stats JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolStats {
    /// The pool's name.
    pub name: String,
    /// Frames in the pool.
    pub capacity: usize,
    /// Frames not held by any buffer (in the shared ring or in caches).
    pub free: usize,
    /// The lowest `free` seen, sampled whenever an allocation reached the
    /// shared ring (every uncached allocation, every cache refill).
    pub min_free: usize,
    /// Allocations refused because no frame was free.
    pub alloc_failures: u64,
    /// Bytes per frame.
    pub frame_size: usize,
    /// Whether the region is on huge pages.
    pub huge_pages: bool,
}

/// Everything a `NetBuf` reaches through its pool pointer.
pub(crate) struct Inner {
    pub(crate) region: Region,
    pub(crate) frame_shift: u32,
    pub(crate) frame_size: usize,
    pub(crate) frames: usize,
    pub(crate) headroom: usize,
    /// Per-frame reference count. Invariant: 1 for every frame that is not
    /// shared by clones (free, raw, or held by one handle), so allocation
    /// writes nothing and a unique handle frees without a read-modify-write.
    pub(crate) refcnt: Box<[AtomicU32]>,
    /// This pool's identity, carried by [`RawFrame`]s.
    pub(crate) id: u32,
    /// `id << 32`: free frames travel as `tag | index` (the free ring, the
    /// caches, raw frames), one word each, like DPDK's object pointers.
    pub(crate) tag: u64,
    /// Free frame indices.
    pub(crate) free: MpmcRing<u64>,
    pub(crate) cache_size: usize,
    pub(crate) flush_threshold: usize,
    /// Frames held by each registered cache (each written by its cache only).
    pub(crate) cache_lens: Box<[CachePadded<AtomicUsize>]>,
    /// Which `cache_lens` slots are taken.
    cache_slots: AtomicU64,
    alloc_failures: CachePadded<AtomicU64>,
    min_free: AtomicUsize,
    name: String,
}

impl Inner {
    /// The first byte of frame `frame`.
    #[inline(always)]
    pub(crate) fn frame_ptr(&self, frame: u32) -> *mut u8 {
        debug_assert!((frame as usize) < self.frames);
        // SAFETY: `frame < frames`, so the offset lies inside the region.
        unsafe { self.region.base().add((frame as usize) << self.frame_shift) }
    }

    #[cold]
    pub(crate) fn count_failure(&self, n: usize) {
        // Relaxed: a statistic.
        self.alloc_failures.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Frames held in caches right now.
    fn cached_frames(&self) -> usize {
        // Relaxed: statistics, each slot has one writer.
        let mut bits = self.cache_slots.load(Ordering::Relaxed);
        let mut sum = 0;
        while bits != 0 {
            let i = bits.trailing_zeros() as usize;
            sum += self.cache_lens[i].load(Ordering::Relaxed);
            bits &= bits - 1;
        }
        sum
    }

    pub(crate) fn free_frames(&self) -> usize {
        (self.free.len() + self.cached_frames()).min(self.frames)
    }

    /// Samples the low-water mark after an allocation reached the ring.
    #[inline]
    pub(crate) fn note_free(&self) {
        let now = self.free_frames();
        // Relaxed: a statistic; load first so the usual case writes nothing.
        if now < self.min_free.load(Ordering::Relaxed) {
            self.min_free.fetch_min(now, Ordering::Relaxed);
        }
    }

    /// Turns a frame just taken from the free ring or a cache into a handle.
    /// Its count is already 1 (see `refcnt`).
    #[inline(always)]
    pub(crate) fn make_buf(&self, frame: u32) -> NetBuf {
        debug_assert_eq!(self.refcnt[frame as usize].load(Ordering::Relaxed), 1);
        NetBuf::from_frame(NonNull::from(self), frame, self.headroom as u16)
    }

    /// Takes one frame straight from the shared ring.
    pub(crate) fn alloc_direct(&self) -> Result<NetBuf, AllocError> {
        match self.free.pop() {
            Some(tagged) => {
                self.note_free();
                Ok(self.make_buf(tagged as u32))
            }
            None => {
                self.count_failure(1);
                Err(AllocError)
            }
        }
    }

    /// Returns frames whose last handle is gone to the shared ring.
    #[inline]
    pub(crate) fn put_frames(&self, frames: &[u64]) {
        let k = self.free.push_burst_copy(frames);
        // The ring has a slot for every frame of the pool, so a frame coming
        // home always fits; anything else is a double free.
        assert_eq!(
            k,
            frames.len(),
            "strata-pools: frame returned twice to pool '{}'",
            self.name
        );
    }

    pub(crate) fn claim_cache_slot(&self) -> Option<usize> {
        // Relaxed on the load; AcqRel on the CAS so a slot's previous
        // owner's last length store is ordered before our first one.
        let mut bits = self.cache_slots.load(Ordering::Relaxed);
        loop {
            let i = (!bits).trailing_zeros() as usize;
            if i >= MAX_CACHES {
                return None;
            }
            match self.cache_slots.compare_exchange(
                bits,
                bits | (1 << i),
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Some(i),
                Err(now) => bits = now,
            }
        }
    }

    pub(crate) fn release_cache_slot(&self, slot: usize) {
        // Relaxed: statistic; Release on the bit clear so the zero is
        // ordered before the slot can be claimed again.
        self.cache_lens[slot].store(0, Ordering::Relaxed);
        self.cache_slots
            .fetch_and(!(1u64 << slot), Ordering::Release);
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// Owns the `Inner` and decides, when the last `Pool` handle goes, whether
/// the memory can be released.
struct Owner {
    inner: NonNull<Inner>,
}

// SAFETY: `Inner` is shared by reference only; all its mutable state is
// atomics, the free ring, or frames governed by ownership.
unsafe impl Send for Owner {}
// SAFETY: as above.
unsafe impl Sync for Owner {}

impl Drop for Owner {
    fn drop(&mut self) {
        // SAFETY: `inner` came from `Box::into_raw` and is only freed here.
        let inner = unsafe { self.inner.as_ref() };
        // Every cache holds a `Pool`, so all caches are gone and flushed; a
        // frame not in the ring is held by a `NetBuf` that may still be used.
        let home = inner.free.len();
        if home == inner.frames {
            // SAFETY: no cache and no `NetBuf` can reach `inner` any more
            // (every frame is home, and handles exist only for frames that
            // are out), and this is the last `Pool`.
            drop(unsafe { Box::from_raw(self.inner.as_ptr()) });
        } else {
            // Buffers outlive their pool: keep the memory so they stay valid
            // (their drop puts the frames into this leaked ring). A bounded,
            // one-time leak instead of a dangling pointer.
            eprintln!(
                "strata-pools: pool '{}' dropped with {} of {} frames still in use; \
                 its memory is kept for them",
                inner.name(),
                inner.frames - home,
                inner.frames
            );
        }
    }
}

/// A pool of packet buffers. Cheap to clone (an `Arc`); `Send + Sync`.
///
/// # Examples
/// ```
/// use strata_pools::{Pool, PoolConfig};
/// let pool = Pool::new(PoolConfig { frames: 64, cache_size: 16, ..PoolConfig::named("rx") })?;
/// let mut buf = pool.alloc()?;
/// buf.put(&[0xaa; 64])?;                  // payload
/// buf.push(14)?.copy_from_slice(&[0; 14]); // a header, in the headroom
/// assert_eq!(buf.len(), 78);
/// drop(buf);                               // the frame goes home
/// assert_eq!(pool.stats().free, 64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Pool {
    owner: Arc<Owner>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("stats", &self.stats())
            .finish()
    }
}

impl Pool {
    /// Maps the region and puts every frame in the free ring.
    ///
    /// # Errors
    /// [`PoolError::Config`] for a bad configuration (the message names the
    /// value), [`PoolError::Map`] if the system refuses the memory.
    pub fn new(config: PoolConfig) -> Result<Self, PoolError> {
        config.validate()?;
        let region = Region::map(&config)?;
        let ring_cap = config.frames.next_power_of_two();
        let free =
            MpmcRing::new(ring_cap).map_err(|e| PoolError::Config(format!("free ring: {e}")))?;
        let id = NEXT_POOL_ID.fetch_add(1, Ordering::Relaxed);
        let tag = u64::from(id) << 32;
        let all: Vec<u64> = (0..config.frames as u64).map(|f| tag | f).collect();
        for chunk in all.chunks(4096) {
            let k = free.push_bulk_copy(chunk);
            debug_assert_eq!(k, chunk.len());
        }
        let inner = Box::new(Inner {
            region,
            frame_shift: config.frame_size.trailing_zeros(),
            frame_size: config.frame_size,
            frames: config.frames,
            headroom: config.headroom,
            refcnt: (0..config.frames).map(|_| AtomicU32::new(1)).collect(),
            id,
            tag,
            free,
            cache_size: config.cache_size,
            flush_threshold: config.cache_flush_threshold,
            cache_lens: (0..MAX_CACHES)
                .map(|_| CachePadded::new(AtomicUsize::new(0)))
                .collect(),
            cache_slots: AtomicU64::new(0),
            alloc_failures: CachePadded::new(AtomicU64::new(0)),
            min_free: AtomicUsize::new(config.frames),
            name: config.name,
        });
        let inner = NonNull::from(Box::leak(inner));
        Ok(Self {
            owner: Arc::new(Owner { inner }),
        })
    }

    #[inline(always)]
    pub(crate) fn inner(&self) -> &Inner {
        // SAFETY: `Owner` frees `inner` only when the last `Pool` is dropped,
        // and `self` is a `Pool`.
        unsafe { self.owner.inner.as_ref() }
    }

    /// Whether `buf` came from this pool.
    pub fn owns(&self, buf: &NetBuf) -> bool {
        buf.pool_ptr() == self.owner.inner
    }

    /// Allocates one buffer straight from the shared ring (no cache).
    ///
    /// # Errors
    /// [`AllocError`] when no frame is free (counted).
    #[inline]
    pub fn alloc(&self) -> Result<NetBuf, AllocError> {
        self.inner().alloc_direct()
    }

    /// Allocates exactly `n` buffers onto `out`, or none (DPDK's
    /// `rte_mempool_get_bulk`), straight from the shared ring.
    ///
    /// # Errors
    /// [`AllocError`] when fewer than `n` frames are free (counted as `n` failures).
    pub fn alloc_bulk(&self, n: usize, out: &mut Vec<NetBuf>) -> Result<(), AllocError> {
        let inner = self.inner();
        let mut frames = [0u64; 64];
        // Bulks above 64 are claimed in one all-or-nothing step through a Vec.
        if n > frames.len() {
            let mut v = Vec::with_capacity(n);
            if inner.free.pop_bulk(&mut v, n) == 0 {
                inner.count_failure(n);
                return Err(AllocError);
            }
            inner.note_free();
            out.extend(v.into_iter().map(|f| inner.make_buf(f as u32)));
            return Ok(());
        }
        if inner.free.pop_bulk_copy(&mut frames[..n]) == 0 && n > 0 {
            inner.count_failure(n);
            return Err(AllocError);
        }
        inner.note_free();
        out.extend(frames[..n].iter().map(|&f| inner.make_buf(f as u32)));
        Ok(())
    }

    /// Allocates up to `n` buffers onto `out`; returns how many (DPDK's
    /// burst semantics). Shortfalls are counted as failures.
    pub fn alloc_burst(&self, n: usize, out: &mut Vec<NetBuf>) -> usize {
        let inner = self.inner();
        let mut frames = [0u64; 64];
        let mut done = 0;
        while done < n {
            let want = (n - done).min(frames.len());
            let k = inner.free.pop_burst_copy(&mut frames[..want]);
            out.extend(frames[..k].iter().map(|&f| inner.make_buf(f as u32)));
            done += k;
            if k < want {
                break;
            }
        }
        if done > 0 {
            inner.note_free();
        }
        if done < n {
            inner.count_failure(n - done);
        }
        done
    }

    /// Frees every buffer in `bufs` (leaving it empty), returning frames of
    /// this pool to the shared ring in bursts rather than one by one.
    pub fn free_all(&self, bufs: &mut Vec<NetBuf>) {
        let inner = self.inner();
        let ours = self.owner.inner;
        let mut batch = [0u64; 64];
        let mut n = 0;
        for buf in bufs.drain(..) {
            match buf.try_into_sole_frame(ours) {
                Ok(frame) => {
                    batch[n] = inner.tag | u64::from(frame);
                    n += 1;
                    if n == batch.len() {
                        inner.put_frames(&batch);
                        n = 0;
                    }
                }
                Err(buf) => drop(buf),
            }
        }
        inner.put_frames(&batch[..n]);
    }

    /// Takes exactly `n` raw frames straight from the shared ring, or none.
    ///
    /// # Errors
    /// [`AllocError`] when fewer than `n` frames are free (counted).
    pub fn alloc_raw_bulk(&self, n: usize, out: &mut Vec<RawFrame>) -> Result<(), AllocError> {
        let inner = self.inner();
        let mut small = [0u64; 64];
        let mut large = Vec::new();
        let frames: &mut [u64] = if n <= small.len() {
            &mut small[..n]
        } else {
            large.resize(n, 0);
            &mut large
        };
        if n > 0 && inner.free.pop_bulk_copy(frames) == 0 {
            inner.count_failure(n);
            return Err(AllocError);
        }
        inner.note_free();
        out.extend(frames.iter().map(|&tagged| RawFrame { tagged }));
        Ok(())
    }

    /// Returns raw frames to the shared ring (leaving `frames` empty).
    /// Frames of another pool are refused and left in `frames`; returns how
    /// many were taken.
    pub fn free_raw(&self, frames: &mut Vec<RawFrame>) -> usize {
        let inner = self.inner();
        let before = frames.len();
        let mut batch = [0u64; 64];
        let mut n = 0;
        frames.retain(|raw| {
            if raw.pool() != inner.id {
                return true;
            }
            batch[n] = raw.tagged;
            n += 1;
            if n == batch.len() {
                inner.put_frames(&batch);
                n = 0;
            }
            false
        });
        inner.put_frames(&batch[..n]);
        before - frames.len()
    }

    /// Takes exactly `n` raw frames straight from the shared ring onto the
    /// end of `burst`, or none.
    ///
    /// # Errors
    /// [`AllocError`] when fewer than `n` frames are free (counted), or
    /// when `burst` holds frames of another pool.
    pub fn alloc_raw_burst(&self, n: usize, burst: &mut RawBurst) -> Result<(), AllocError> {
        let inner = self.inner();
        if !burst.accepts(inner.tag) {
            return Err(AllocError);
        }
        if n > 0 && inner.free.pop_bulk(&mut burst.words, n) == 0 {
            inner.count_failure(n);
            return Err(AllocError);
        }
        burst.tag = inner.tag;
        inner.note_free();
        Ok(())
    }

    /// Gives every frame of `burst` back to the shared ring (leaving it
    /// empty) with one check of its pool; returns how many. A burst of
    /// another pool is left as it is and 0 returned.
    pub fn free_raw_burst(&self, burst: &mut RawBurst) -> usize {
        let inner = self.inner();
        if !burst.accepts(inner.tag) {
            return 0;
        }
        inner.put_frames(&burst.words);
        let n = burst.words.len();
        burst.words.clear();
        n
    }

    /// A per-core cache in front of this pool (one per worker thread).
    ///
    /// # Errors
    /// [`PoolError::Config`] if caches are disabled (`cache_size == 0`) or
    /// [`MAX_CACHES`] caches already exist.
    pub fn cache(&self) -> Result<PoolCache, PoolError> {
        PoolCache::new(self.clone())
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PoolStats {
        let inner = self.inner();
        PoolStats {
            name: inner.name.clone(),
            capacity: inner.frames,
            free: inner.free_frames(),
            // Relaxed: statistics.
            min_free: inner.min_free.load(Ordering::Relaxed),
            alloc_failures: inner.alloc_failures.load(Ordering::Relaxed),
            frame_size: inner.frame_size,
            huge_pages: inner.region.is_huge(),
        }
    }

    /// Frames in the pool.
    pub fn capacity(&self) -> usize {
        self.inner().frames
    }

    /// Bytes per frame.
    pub fn frame_size(&self) -> usize {
        self.inner().frame_size
    }

    /// Headroom of a new buffer.
    pub fn headroom(&self) -> usize {
        self.inner().headroom
    }

    /// The region's base address and length, for registering it with a
    /// device (the AF_XDP UMEM). Frame `i` starts at `base + i * frame_size`.
    pub fn region(&self) -> (*mut u8, usize) {
        let r = &self.inner().region;
        (r.base(), r.len())
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        self.inner().name()
    }
}
