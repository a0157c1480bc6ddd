//! Per-core caches (DPDK's per-lcore mempool cache): a worker allocates and
//! frees through its own cache and touches the shared ring only to refill
//! `cache_size` frames at a time or to spill back down to `cache_size` when
//! it holds more than the flush threshold.

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::{AllocError, PoolError};
use crate::netbuf::NetBuf;
use crate::pool::{Inner, Pool, RawFrame};
use crate::raw::RawBurst;

/// A cache of free frames owned by one thread. `Send` (hand it to the
/// worker that will use it), not `Sync`. Dropping it returns its frames.
///
/// # Examples
/// ```
/// use strata_pools::{Pool, PoolConfig};
/// let pool = Pool::new(PoolConfig { frames: 1024, cache_size: 64, cache_flush_threshold: 96,
///                                   ..PoolConfig::named("worker") })?;
/// let mut cache = pool.cache()?;
/// let mut burst = Vec::with_capacity(32);
/// cache.alloc_bulk(32, &mut burst)?;
/// cache.free_all(&mut burst);
/// assert_eq!(pool.stats().free, 1024);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PoolCache {
    pool: Pool,
    /// Free frames held here, tagged (`pool tag | index`, as in the shared
    /// ring and in raw frames); used as a stack (hot frames reused first).
    frames: Vec<u64>,
    /// The pool's tag (`id << 32`).
    tag: u64,
    slot: usize,
    /// `&inner.cache_lens[slot]`, kept so publishing a length is one store.
    len_cell: NonNull<AtomicUsize>,
    size: usize,
    flush: usize,
}

// SAFETY: the cache owns its frames and a `Pool` (which is `Send + Sync`);
// `len_cell` points into that pool's `Inner` and is only written by the
// cache's owner, so moving the cache to another thread moves that role too.
unsafe impl Send for PoolCache {}

impl fmt::Debug for PoolCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolCache")
            .field("pool", &self.pool.name())
            .field("held", &self.frames.len())
            .finish()
    }
}

impl PoolCache {
    pub(crate) fn new(pool: Pool) -> Result<Self, PoolError> {
        let inner = pool.inner();
        if inner.cache_size == 0 {
            return Err(PoolError::Config(format!(
                "pool '{}' has caches disabled (cache_size 0)",
                inner.name()
            )));
        }
        let slot = inner.claim_cache_slot().ok_or_else(|| {
            PoolError::Config(format!(
                "pool '{}' already has {} caches",
                inner.name(),
                crate::pool::MAX_CACHES
            ))
        })?;
        let (size, flush) = (inner.cache_size, inner.flush_threshold);
        let tag = inner.tag;
        let len_cell = NonNull::from(&*inner.cache_lens[slot]);
        Ok(Self {
            len_cell,
            frames: Vec::with_capacity(flush + 64),
            tag,
            pool,
            slot,
            size,
            flush,
        })
    }

    #[inline(always)]
    fn inner(&self) -> &Inner {
        self.pool.inner()
    }

    #[inline(always)]
    fn publish_len(&self) {
        // SAFETY: `len_cell` points into the pool's `Inner`, which lives at
        // least as long as this cache (it holds a `Pool`).
        let cell = unsafe { self.len_cell.as_ref() };
        // Relaxed: a statistic with one writer (this cache).
        cell.store(self.frames.len(), Ordering::Relaxed);
    }

    /// Refills from the shared ring so that at least `want` frames are held
    /// (up to `size + want`); returns whether it got them.
    #[cold]
    fn refill(&mut self, want: usize) -> bool {
        let target = self.size + want;
        let have = self.frames.len();
        let inner = self.pool.inner();
        inner.free.pop_burst(&mut self.frames, target - have);
        self.publish_len();
        inner.note_free();
        self.frames.len() >= want
    }

    /// Spills frames down to `size`.
    #[cold]
    fn spill(&mut self) {
        let keep = self.size;
        self.pool.inner().put_frames(&self.frames[keep..]);
        self.frames.truncate(keep);
    }

    /// Allocates one buffer.
    ///
    /// # Errors
    /// [`AllocError`] when neither the cache nor the shared ring has a frame.
    #[inline]
    pub fn alloc(&mut self) -> Result<NetBuf, AllocError> {
        if self.frames.is_empty() && !self.refill(1) {
            self.inner().count_failure(1);
            return Err(AllocError);
        }
        let frame = self.frames.pop().ok_or(AllocError)?;
        self.publish_len();
        Ok(self.inner().make_buf(frame as u32))
    }

    /// Allocates exactly `n` buffers onto `out`, or none.
    ///
    /// # Errors
    /// [`AllocError`] when fewer than `n` frames are free (counted as `n` failures).
    #[inline]
    pub fn alloc_bulk(&mut self, n: usize, out: &mut Vec<NetBuf>) -> Result<(), AllocError> {
        if self.frames.len() < n && !self.refill(n) {
            self.inner().count_failure(n);
            return Err(AllocError);
        }
        self.take(n, out);
        Ok(())
    }

    /// Allocates up to `n` buffers onto `out`; returns how many.
    #[inline]
    pub fn alloc_burst(&mut self, n: usize, out: &mut Vec<NetBuf>) -> usize {
        if self.frames.len() < n {
            self.refill(n);
        }
        let k = n.min(self.frames.len());
        if k < n {
            self.inner().count_failure(n - k);
        }
        self.take(k, out);
        k
    }

    /// Allocates up to `n` buffers onto `out`, each written where it lies
    /// by `fill`, as a device writes received frames into fresh buffers:
    /// `fill` gets the buffer's whole room after the headroom and returns the
    /// frame's length (kept up to the room), or `None` when there is no
    /// frame to write (that buffer goes back to the cache and allocation
    /// stops). Returns how many buffers were added. Cheaper than
    /// [`PoolCache::alloc_burst`] and [`NetBuf::put`]: a fresh buffer is
    /// known to be unshared, so nothing is checked per buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// use strata_pools::{Pool, PoolConfig};
    /// let pool = Pool::new(PoolConfig::named("doc"))?;
    /// let mut cache = pool.cache()?;
    /// let frames: [&[u8]; 2] = [b"one", b"three"];
    /// let mut next = frames.iter();
    /// let mut bufs = Vec::new();
    /// let n = cache.alloc_filled(8, &mut bufs, |room| {
    ///     let frame = next.next()?;
    ///     room[..frame.len()].copy_from_slice(frame);
    ///     Some(frame.len())
    /// });
    /// assert_eq!(n, 2);
    /// assert_eq!((bufs[0].data(), bufs[1].data()), (&b"one"[..], &b"three"[..]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn alloc_filled(
        &mut self,
        n: usize,
        out: &mut Vec<NetBuf>,
        mut fill: impl FnMut(&mut [u8]) -> Option<usize>,
    ) -> usize {
        if self.frames.len() < n {
            self.refill(n);
        }
        let k = n.min(self.frames.len());
        let start = out.len();
        // Made in one go, then written where they lie (writing a buffer's
        // length and then moving it would stall on the narrow write).
        self.take(k, out);
        let mut made = 0;
        for buf in &mut out[start..] {
            if !buf.fill_fresh(&mut fill) {
                break;
            }
            made += 1;
        }
        // Buffers with no frame were never handed out: straight back.
        let ours: NonNull<Inner> = NonNull::from(self.pool.inner());
        for buf in out.drain(start + made..) {
            if let Ok(frame) = buf.try_into_sole_frame(ours) {
                self.frames.push(self.tag | u64::from(frame));
            }
        }
        self.publish_len();
        made
    }

    #[inline(always)]
    fn take(&mut self, n: usize, out: &mut Vec<NetBuf>) {
        let start = self.frames.len() - n;
        out.reserve(n);
        let inner = self.pool.inner();
        out.extend(
            self.frames[start..]
                .iter()
                .map(|&frame| inner.make_buf(frame as u32)),
        );
        self.frames.truncate(start);
        self.publish_len();
    }

    /// Frees one buffer (and its chain) into this cache; frames of other
    /// pools go to their own pool.
    #[inline]
    pub fn free(&mut self, buf: NetBuf) {
        let ours: NonNull<Inner> = NonNull::from(self.pool.inner());
        // Fast path: a single-fragment, unshared buffer of this pool.
        let buf = match buf.try_into_sole_frame(ours) {
            Ok(frame) => {
                self.frames.push(self.tag | u64::from(frame));
                if self.frames.len() > self.flush {
                    self.spill();
                }
                self.publish_len();
                return;
            }
            Err(buf) => buf,
        };
        let (frames, tag) = (&mut self.frames, self.tag);
        buf.dismantle(|pool, frame| {
            if pool == ours {
                frames.push(tag | u64::from(frame));
            } else {
                other_pool_home(pool, frame);
            }
        });
        if self.frames.len() > self.flush {
            self.spill();
        }
        self.publish_len();
    }

    /// Frees every buffer in `bufs` (leaving it empty, capacity kept).
    #[inline]
    pub fn free_all(&mut self, bufs: &mut Vec<NetBuf>) {
        let n = bufs.len();
        self.free_front(bufs, n);
    }

    /// Frees the first `n` buffers of `bufs` (all of them if it holds
    /// fewer) into this cache, as [`PoolCache::free_all`] does, keeping the
    /// rest in order: what a device does with the frames it sent.
    pub fn free_front(&mut self, bufs: &mut Vec<NetBuf>, n: usize) {
        let n = n.min(bufs.len());
        let ours: NonNull<Inner> = NonNull::from(self.pool.inner());
        self.frames.reserve(n);
        let tag = self.tag;
        if bufs[..n].iter().all(|b| b.is_sole_frame_of(ours)) {
            // The usual case, in two tight passes: every frame goes back to
            // the cache, then the handles go without running `Drop` (each is
            // one unshared fragment, so nothing else is held).
            self.frames
                .extend(bufs[..n].iter().map(|b| tag | u64::from(b.frame_index())));
            bufs.drain(..n).for_each(std::mem::forget);
            if self.frames.len() > self.flush {
                self.spill();
            }
            self.publish_len();
            return;
        }
        for buf in bufs.drain(..n) {
            // Fast path: a single-fragment, unshared buffer of this pool.
            let buf = match buf.try_into_sole_frame(ours) {
                Ok(frame) => {
                    self.frames.push(self.tag | u64::from(frame));
                    continue;
                }
                Err(buf) => buf,
            };
            let (frames, tag) = (&mut self.frames, self.tag);
            buf.dismantle(|pool, frame| {
                if pool == ours {
                    frames.push(tag | u64::from(frame));
                } else {
                    other_pool_home(pool, frame);
                }
            });
        }
        if self.frames.len() > self.flush {
            self.spill();
        }
        self.publish_len();
    }

    /// Wraps a raw frame of this pool into which a device (the kernel,
    /// through an AF_XDP ring) wrote `len` bytes at byte `offset` of the
    /// frame: a buffer holding those bytes, with no copy. The frame comes
    /// back as it was when it is of another pool or the bytes would not lie
    /// inside it.
    ///
    /// # Errors
    /// The raw frame, untouched, as said.
    #[inline]
    pub fn raw_into_buf(
        &self,
        raw: RawFrame,
        offset: usize,
        len: usize,
    ) -> Result<NetBuf, RawFrame> {
        let inner = self.inner();
        let fits = offset
            .checked_add(len)
            .is_some_and(|end| end <= inner.frame_size);
        if raw.tagged >> 32 != self.tag >> 32 || !fits {
            return Err(raw);
        }
        // The raw frame's single owner becomes the buffer (count 1 already);
        // `frame_size` fits in 16 bits (see `PoolConfig::validate`).
        Ok(NetBuf::from_frame_filled(
            NonNull::from(inner),
            raw.index(),
            offset as u16,
            len as u16,
        ))
    }

    /// Unwraps a buffer that is one unshared fragment of this pool into its
    /// raw frame and where its bytes lie in it (`offset`, `len`): what a
    /// device hands to the kernel to transmit with no copy. Any other buffer
    /// (shared, chained, of another pool) comes back untouched.
    ///
    /// # Errors
    /// The buffer, as said.
    #[inline]
    pub fn buf_into_raw(&self, buf: NetBuf) -> Result<(RawFrame, usize, usize), NetBuf> {
        let (offset, len) = (buf.headroom(), buf.len());
        let frame = buf.try_into_sole_frame(NonNull::from(self.inner()))?;
        Ok((
            RawFrame {
                tagged: self.tag | u64::from(frame),
            },
            offset,
            len,
        ))
    }

    /// [`PoolCache::raw_into_buf`] for a whole burst: every raw frame of
    /// `raws` into which a device wrote `len` bytes at byte `offset` becomes
    /// a buffer appended to `out`, in order, with one check of the pool and
    /// the bounds for the burst. Frames of another pool, and all of them
    /// when the bytes would not lie inside a frame, stay in `raws`; returns
    /// how many became buffers.
    #[inline]
    pub fn raw_into_bufs(
        &self,
        raws: &mut Vec<RawFrame>,
        offset: usize,
        len: usize,
        out: &mut Vec<NetBuf>,
    ) -> usize {
        let inner = self.inner();
        let fits = offset
            .checked_add(len)
            .is_some_and(|end| end <= inner.frame_size);
        if !fits {
            return 0;
        }
        let pool = NonNull::from(inner);
        // `frame_size` fits in 16 bits (see `PoolConfig::validate`).
        let (offset, len) = (offset as u16, len as u16);
        let tag = self.tag;
        let before = raws.len();
        // `tag`'s low half is zero, so the high half of the OR is zero
        // exactly when every word carries this pool's tag.
        let diff = RawFrame::as_words(raws)
            .iter()
            .fold(0u64, |acc, &w| acc | (w ^ tag));
        if diff >> 32 == 0 {
            // The usual case, one tight pass: each frame's single owner
            // becomes its buffer (count 1 already).
            // Read through the words in place: moving each raw frame out
            // first would stall on the narrow writes of the new handles.
            out.extend(
                RawFrame::as_words(raws)
                    .iter()
                    .map(|&w| NetBuf::from_frame_filled(pool, w as u32, offset, len)),
            );
            // Their ownership moved into the buffers (a raw frame has no
            // `Drop`).
            raws.clear();
            return before;
        }
        raws.retain(|raw| {
            if raw.tagged >> 32 == tag >> 32 {
                out.push(NetBuf::from_frame_filled(pool, raw.index(), offset, len));
                false
            } else {
                true
            }
        });
        before - raws.len()
    }

    /// [`PoolCache::buf_into_raw`] for a whole burst: every buffer of `bufs`
    /// that is one unshared fragment of this pool is unwrapped into its raw
    /// frame, appended to `out` in order, with one pass checking them all;
    /// any other buffer stays in `bufs`. Where a buffer's bytes lay is not
    /// kept: a device that posts the frames again knows where it will want
    /// them. Returns how many were unwrapped.
    #[inline]
    pub fn bufs_into_raw(&self, bufs: &mut Vec<NetBuf>, out: &mut Vec<RawFrame>) -> usize {
        let ours: NonNull<Inner> = NonNull::from(self.inner());
        let tag = self.tag;
        let before = bufs.len();
        if bufs.iter().all(|b| b.is_sole_frame_of(ours)) {
            // Two tight passes, as in `free_front`: the frames out, then the
            // handles go without running `Drop` (each held only its frame,
            // whose ownership moved to the raw frame).
            out.extend(bufs.iter().map(|b| RawFrame {
                tagged: tag | u64::from(b.frame_index()),
            }));
            bufs.drain(..).for_each(std::mem::forget);
            return before;
        }
        let mut kept = Vec::new();
        for buf in bufs.drain(..) {
            match buf.try_into_sole_frame(ours) {
                Ok(frame) => out.push(RawFrame {
                    tagged: tag | u64::from(frame),
                }),
                Err(buf) => kept.push(buf),
            }
        }
        let taken = before - kept.len();
        bufs.append(&mut kept);
        taken
    }

    /// Takes exactly `n` raw frames (no `NetBuf` around them) onto `out`,
    /// or none: the layer DPDK's `rte_mempool_get_bulk` works at, for
    /// devices that hand frames to the kernel.
    ///
    /// # Errors
    /// [`AllocError`] when fewer than `n` frames are free (counted).
    #[inline]
    pub fn alloc_raw_bulk(&mut self, n: usize, out: &mut Vec<RawFrame>) -> Result<(), AllocError> {
        if self.frames.len() < n && !self.refill(n) {
            self.inner().count_failure(n);
            return Err(AllocError);
        }
        let start = self.frames.len() - n;
        RawFrame::extend_from_words(out, &self.frames[start..]);
        self.frames.truncate(start);
        self.publish_len();
        Ok(())
    }

    /// Returns raw frames (leaving `frames` empty). Frames of another pool
    /// are refused and left in `frames`; returns how many were taken.
    #[inline]
    pub fn free_raw(&mut self, frames: &mut Vec<RawFrame>) -> usize {
        let before = frames.len();
        // The usual case, all of this pool: a branch-free check, then a
        // plain copy of the tagged words.
        let tag = self.tag;
        let words = RawFrame::as_words(frames);
        // `tag`'s low half is zero, so the high half of the OR is zero
        // exactly when every word carries this pool's tag.
        let diff = words.iter().fold(0u64, |acc, &w| acc | (w ^ tag));
        if diff >> 32 == 0 {
            self.frames.extend_from_slice(words);
            frames.clear();
        } else {
            let held = &mut self.frames;
            frames.retain(|raw| {
                if raw.tagged >> 32 == tag >> 32 {
                    held.push(raw.tagged);
                    false
                } else {
                    true
                }
            });
        }
        if self.frames.len() > self.flush {
            self.spill();
        }
        self.publish_len();
        before - frames.len()
    }

    /// Takes exactly `n` raw frames onto the end of `burst`, or none: a
    /// plain copy of `n` words, like `rte_mempool_get_bulk` from a cache.
    ///
    /// # Errors
    /// [`AllocError`] when fewer than `n` frames are free (counted), or
    /// when `burst` already holds frames of another pool.
    #[inline]
    pub fn alloc_raw_burst(&mut self, n: usize, burst: &mut RawBurst) -> Result<(), AllocError> {
        if !burst.accepts(self.tag) {
            return Err(AllocError);
        }
        if self.frames.len() < n && !self.refill(n) {
            self.inner().count_failure(n);
            return Err(AllocError);
        }
        let start = self.frames.len() - n;
        burst.words.extend_from_slice(&self.frames[start..]);
        burst.tag = self.tag;
        self.frames.truncate(start);
        self.publish_len();
        Ok(())
    }

    /// Gives every frame of `burst` back (leaving it empty) with one check
    /// of its pool; returns how many. A burst of another pool is left as it
    /// is and 0 returned.
    #[inline]
    pub fn free_raw_burst(&mut self, burst: &mut RawBurst) -> usize {
        if !burst.accepts(self.tag) {
            return 0;
        }
        let n = burst.words.len();
        self.frames.extend_from_slice(&burst.words);
        burst.words.clear();
        if self.frames.len() > self.flush {
            self.spill();
        }
        self.publish_len();
        n
    }

    /// Frames held by this cache.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the cache holds no frame.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Returns every held frame to the shared ring.
    pub fn flush(&mut self) {
        self.pool.inner().put_frames(&self.frames);
        self.frames.clear();
        self.publish_len();
    }

    /// The pool behind this cache.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Sends a frame of another pool home.
fn other_pool_home(pool: NonNull<Inner>, frame: u32) {
    // SAFETY: `pool` came from a live `NetBuf` of that pool; a pool's
    // `Inner` outlives every frame that is out (see `Owner::drop`).
    let inner = unsafe { pool.as_ref() };
    inner.put_frames(&[inner.tag | u64::from(frame)]);
}

impl Drop for PoolCache {
    fn drop(&mut self) {
        self.flush();
        self.pool.inner().release_cache_slot(self.slot);
    }
}
