//! `NetBuf`: a small handle to bytes in one pool frame (Zephyr's `net_buf`,
//! DPDK's `rte_mbuf`), with headroom for headers pushed in front, tailroom
//! for data appended behind, zero-copy clones by reference count, and
//! chains of fragments for payloads larger than a frame.
//!
//! Layout of a frame and the view a handle has of it:
//! ```text
//! frame start                                               frame end
//! | headroom (offset bytes) | data (len bytes) | tailroom           |
//! ```
//! Writing is allowed only through a handle whose frame is not shared
//! (reference count 1), so a clone never sees bytes change under it;
//! [`NetBuf::make_unique`] copies a shared frame first (copy-on-write).
//! Changing the view (`pull`, `trim`) never writes and is always allowed.

use std::fmt;
use std::ptr::NonNull;
use std::sync::atomic::{fence, Ordering};

use crate::error::BufError;
use crate::pool::Inner;

/// A handle to a run of bytes in a pool frame, and the head of a chain of
/// further fragments. Dropping it returns the frame to its pool once no
/// clone shares it. 24 bytes; no allocation unless the chain has more than
/// one fragment.
pub struct NetBuf {
    pool: NonNull<Inner>,
    frame: u32,
    offset: u16,
    len: u16,
    next: Option<Box<NetBuf>>,
}

// SAFETY: a `NetBuf` owns (a share of) its frame; moving it to another thread
// moves that ownership. `Inner` is `Sync` (atomics, the MPMC free ring and
// the region under the frame discipline).
unsafe impl Send for NetBuf {}
// SAFETY: through `&NetBuf` one can read the bytes (never written while
// shared or borrowed) and clone (an atomic increment).
unsafe impl Sync for NetBuf {}

impl fmt::Debug for NetBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NetBuf")
            .field("frame", &self.frame)
            .field("offset", &self.offset)
            .field("len", &self.len)
            .field("fragments", &self.fragment_count())
            .finish()
    }
}

/// Drops one reference to `frame`; returns true if it was the last, in
/// which case the caller must send the frame home.
#[inline(always)]
fn release_ref(inner: &Inner, frame: u32) -> bool {
    let rc = &inner.refcnt[frame as usize];
    // Acquire: if we are the only holder, the earlier holders' Release
    // decrements (below) order their reads of the frame before its reuse.
    if rc.load(Ordering::Acquire) == 1 {
        // Sole owner: nobody can clone (that needs a handle), so skip the
        // read-modify-write; the count stays 1, as a free frame's must.
        return true;
    }
    // Release: our reads of the frame happen before whoever frees it.
    if rc.fetch_sub(1, Ordering::Release) == 1 {
        // Acquire: pairs with the other holders' Release decrements.
        fence(Ordering::Acquire);
        // Relaxed: we own the frame now; restore the free-frame count of 1
        // before it is published through the free ring (Release there).
        rc.store(1, Ordering::Relaxed);
        return true;
    }
    false
}

impl NetBuf {
    /// A handle to a freshly allocated frame, empty, with `headroom` in front.
    #[inline(always)]
    pub(crate) fn from_frame(pool: NonNull<Inner>, frame: u32, headroom: u16) -> Self {
        Self {
            pool,
            frame,
            offset: headroom,
            len: 0,
            next: None,
        }
    }

    /// A handle on a frame holding `len` bytes at `offset` (the caller
    /// checked `offset + len <= frame_size` and owns the frame, count 1).
    #[inline(always)]
    pub(crate) fn from_frame_filled(
        pool: NonNull<Inner>,
        frame: u32,
        offset: u16,
        len: u16,
    ) -> Self {
        Self {
            pool,
            frame,
            offset,
            len,
            next: None,
        }
    }

    #[inline(always)]
    pub(crate) fn pool_ptr(&self) -> NonNull<Inner> {
        self.pool
    }

    #[inline(always)]
    fn inner(&self) -> &Inner {
        // SAFETY: a pool's `Inner` is freed only when every frame is home
        // (see `Owner::drop`); this handle holds a frame, so it is alive.
        unsafe { self.pool.as_ref() }
    }

    /// The frame index (for devices: its UMEM address is
    /// `frame_index() * frame_size`).
    pub fn frame_index(&self) -> u32 {
        self.frame
    }

    /// Byte offset of the data from the start of the region (the UMEM
    /// address of the first data byte).
    pub fn region_offset(&self) -> u64 {
        ((self.frame as u64) << self.inner().frame_shift) + u64::from(self.offset)
    }

    /// Bytes in this fragment.
    #[inline(always)]
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether this fragment holds no bytes.
    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes free in front of the data.
    #[inline(always)]
    pub fn headroom(&self) -> usize {
        usize::from(self.offset)
    }

    /// Bytes free behind the data.
    #[inline(always)]
    pub fn tailroom(&self) -> usize {
        self.inner().frame_size - usize::from(self.offset) - usize::from(self.len)
    }

    /// Whether no clone shares this fragment's frame (so it may be written).
    #[inline(always)]
    pub fn is_unique(&self) -> bool {
        // Acquire: pairs with the Release decrement of a clone being dropped,
        // so its reads are done before we may write.
        self.inner().refcnt[self.frame as usize].load(Ordering::Acquire) == 1
    }

    /// The bytes of this fragment.
    #[inline(always)]
    pub fn data(&self) -> &[u8] {
        let p = self.inner().frame_ptr(self.frame);
        // SAFETY: `offset + len <= frame_size` is an invariant of every
        // method; the frame is held by this handle for the borrow's life;
        // nobody writes it meanwhile (writes need a unique handle borrowed
        // mutably, and a shared frame is never written).
        unsafe { std::slice::from_raw_parts(p.add(usize::from(self.offset)), self.len()) }
    }

    /// The bytes of this fragment, writable.
    ///
    /// # Errors
    /// [`BufError::Shared`] if a clone shares the frame.
    #[inline(always)]
    pub fn data_mut(&mut self) -> Result<&mut [u8], BufError> {
        if !self.is_unique() {
            return Err(BufError::Shared);
        }
        Ok(self.bytes_mut(usize::from(self.offset), self.len()))
    }

    /// `len` bytes of the frame from `start`, writable. The caller checked
    /// uniqueness and bounds.
    #[inline(always)]
    fn bytes_mut(&mut self, start: usize, len: usize) -> &mut [u8] {
        debug_assert!(start + len <= self.inner().frame_size);
        let p = self.inner().frame_ptr(self.frame);
        // SAFETY: the range lies in the frame (checked by callers); the frame
        // is held only by this handle (refcount 1, checked by callers) and
        // `&mut self` keeps it from being cloned or read through this handle
        // while the slice lives.
        unsafe { std::slice::from_raw_parts_mut(p.add(start), len) }
    }

    /// For a buffer fresh from its pool (empty, unshared, no chain): hands
    /// `fill` the whole room after the headroom and keeps the length it
    /// returns (at most the room); `false`, the buffer untouched, when `fill`
    /// returns `None`.
    #[inline(always)]
    pub(crate) fn fill_fresh(&mut self, fill: impl FnOnce(&mut [u8]) -> Option<usize>) -> bool {
        debug_assert!(self.is_empty() && self.next.is_none() && self.is_unique());
        let (start, room) = (usize::from(self.offset), self.tailroom());
        match fill(self.bytes_mut(start, room)) {
            Some(len) => {
                self.len = len.min(room) as u16;
                true
            }
            None => false,
        }
    }

    /// Prepends `n` bytes (taken from the headroom) and returns them to be
    /// filled, as headers are pushed on transmit (`net_buf_push`).
    ///
    /// # Errors
    /// [`BufError::NoHeadroom`] or [`BufError::Shared`].
    #[inline]
    pub fn push(&mut self, n: usize) -> Result<&mut [u8], BufError> {
        if n > self.headroom() {
            return Err(BufError::NoHeadroom {
                wanted: n,
                available: self.headroom(),
            });
        }
        if !self.is_unique() {
            return Err(BufError::Shared);
        }
        self.offset -= n as u16;
        self.len += n as u16;
        Ok(self.bytes_mut(usize::from(self.offset), n))
    }

    /// Removes `n` bytes from the front, as headers are stripped on receive
    /// (`net_buf_pull`). Changes only this handle's view.
    ///
    /// # Errors
    /// [`BufError::TooShort`] if the fragment holds fewer than `n` bytes.
    #[inline]
    pub fn pull(&mut self, n: usize) -> Result<(), BufError> {
        if n > self.len() {
            return Err(BufError::TooShort {
                wanted: n,
                available: self.len(),
            });
        }
        self.offset += n as u16;
        self.len -= n as u16;
        Ok(())
    }

    /// Appends `bytes` from the tailroom (`net_buf_add_mem`).
    ///
    /// # Errors
    /// [`BufError::NoTailroom`] or [`BufError::Shared`].
    #[inline]
    pub fn put(&mut self, bytes: &[u8]) -> Result<(), BufError> {
        self.extend(bytes.len())?.copy_from_slice(bytes);
        Ok(())
    }

    /// Grows the data by `n` bytes at the tail and returns them to be filled
    /// (their old contents are whatever the frame held).
    ///
    /// # Errors
    /// [`BufError::NoTailroom`] or [`BufError::Shared`].
    #[inline]
    pub fn extend(&mut self, n: usize) -> Result<&mut [u8], BufError> {
        let room = self.tailroom();
        if n > room {
            return Err(BufError::NoTailroom {
                wanted: n,
                available: room,
            });
        }
        if !self.is_unique() {
            return Err(BufError::Shared);
        }
        let start = usize::from(self.offset) + self.len();
        self.len += n as u16;
        Ok(self.bytes_mut(start, n))
    }

    /// Cuts this fragment to `len` bytes (no effect if it is shorter), as
    /// Ethernet padding is removed. Changes only this handle's view.
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        if len < self.len() {
            self.len = len as u16;
        }
    }

    /// Makes this fragment's frame unshared, copying it to a new frame of
    /// the same pool if a clone shares it (copy-on-write).
    ///
    /// # Errors
    /// [`BufError::Alloc`] if the pool has no free frame for the copy.
    pub fn make_unique(&mut self) -> Result<(), BufError> {
        if self.is_unique() {
            return Ok(());
        }
        let inner = self.inner();
        let mut copy = inner.alloc_direct()?;
        copy.offset = self.offset;
        copy.len = self.len;
        let (start, len) = (usize::from(self.offset), self.len());
        copy.bytes_mut(start, len).copy_from_slice(self.data());
        let old = std::mem::replace(&mut self.frame, copy.frame);
        // `copy` now names our old frame's replacement; give `copy` the old
        // frame so its drop releases our reference to it.
        copy.frame = old;
        copy.next = None;
        drop(copy);
        Ok(())
    }

    // ----- chains -----

    /// Appends `tail` (and its own fragments) at the end of this chain.
    pub fn append(&mut self, tail: NetBuf) {
        let mut cur = self;
        while cur.next.is_some() {
            cur = cur.next.as_mut().expect("checked is_some");
        }
        cur.next = Some(Box::new(tail));
    }

    /// The next fragment, if any.
    pub fn next(&self) -> Option<&NetBuf> {
        self.next.as_deref()
    }

    /// The next fragment, writable.
    pub fn next_mut(&mut self) -> Option<&mut NetBuf> {
        self.next.as_deref_mut()
    }

    /// Detaches and returns everything after this fragment.
    pub fn split_off_next(&mut self) -> Option<NetBuf> {
        self.next.take().map(|b| *b)
    }

    /// Every fragment, this one first.
    pub fn fragments(&self) -> Fragments<'_> {
        Fragments { cur: Some(self) }
    }

    /// The bytes of every fragment, in order.
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> {
        self.fragments().map(NetBuf::data)
    }

    /// Number of fragments in the chain.
    pub fn fragment_count(&self) -> usize {
        self.fragments().count()
    }

    /// Bytes in the whole chain.
    pub fn total_len(&self) -> usize {
        self.fragments().map(NetBuf::len).sum()
    }

    /// Copies the chain's bytes into `dst`; returns how many were copied
    /// (the smaller of `dst.len()` and [`total_len`](Self::total_len)).
    pub fn copy_to(&self, dst: &mut [u8]) -> usize {
        let mut done = 0;
        for s in self.slices() {
            let k = s.len().min(dst.len() - done);
            dst[done..done + k].copy_from_slice(&s[..k]);
            done += k;
            if done == dst.len() {
                break;
            }
        }
        done
    }

    /// Makes the first `n` bytes of the chain contiguous in this fragment
    /// (for header parsing) and returns them, moving bytes from the
    /// following fragments into this one's tailroom and dropping fragments
    /// that empty (`pskb_may_pull`, `rte_pktmbuf_linearize` of a prefix).
    ///
    /// # Errors
    /// [`BufError::TooShort`] if the chain holds fewer than `n` bytes;
    /// [`BufError::NoTailroom`] if this fragment cannot hold them;
    /// [`BufError::Alloc`] if a shared frame needed copying and the pool
    /// was empty.
    pub fn pullup(&mut self, n: usize) -> Result<&[u8], BufError> {
        if self.len() >= n {
            return Ok(&self.data()[..n]);
        }
        let total = self.total_len();
        if total < n {
            return Err(BufError::TooShort {
                wanted: n,
                available: total,
            });
        }
        let need = n - self.len();
        if self.tailroom() < need {
            return Err(BufError::NoTailroom {
                wanted: need,
                available: self.tailroom(),
            });
        }
        self.make_unique()?;
        let mut moved = 0;
        while moved < need {
            let mut next = self.next.take().expect("total_len showed enough bytes");
            let k = next.len().min(need - moved);
            let start = usize::from(self.offset) + self.len();
            self.bytes_mut(start, k).copy_from_slice(&next.data()[..k]);
            self.len += k as u16;
            next.pull(k)?;
            moved += k;
            if next.is_empty() {
                self.next = next.next.take();
            } else {
                self.next = Some(next);
            }
        }
        Ok(&self.data()[..n])
    }

    /// Whether this is a single unshared fragment of pool `pool` (what
    /// [`NetBuf::try_into_sole_frame`] takes), without consuming it.
    #[inline(always)]
    pub(crate) fn is_sole_frame_of(&self, pool: NonNull<Inner>) -> bool {
        self.pool == pool && self.next.is_none() && self.is_unique()
    }

    /// If this is a single unshared fragment of pool `pool`, consumes it and
    /// returns its frame (now free, count 1); otherwise hands it back.
    #[inline(always)]
    pub(crate) fn try_into_sole_frame(self, pool: NonNull<Inner>) -> Result<u32, NetBuf> {
        if self.is_sole_frame_of(pool) {
            let this = std::mem::ManuallyDrop::new(self);
            return Ok(this.frame);
        }
        Err(self)
    }

    /// Consumes the handle without running `Drop`, calling `home(pool,
    /// frame)` for every frame whose last reference this was.
    pub(crate) fn dismantle(self, mut home: impl FnMut(NonNull<Inner>, u32)) {
        let mut cur = Some(self);
        while let Some(mut buf) = cur {
            cur = buf.next.take().map(|b| *b);
            let this = std::mem::ManuallyDrop::new(buf);
            if release_ref(this.inner(), this.frame) {
                home(this.pool, this.frame);
            }
        }
    }
}

impl Clone for NetBuf {
    /// A zero-copy clone: the same frames with one more reference each. The
    /// chain's links are copied (one small allocation per extra fragment).
    fn clone(&self) -> Self {
        // Relaxed: like `Arc::clone`, a new reference made from an existing
        // one needs no ordering; the frame is kept alive by `self`.
        self.inner().refcnt[self.frame as usize].fetch_add(1, Ordering::Relaxed);
        Self {
            pool: self.pool,
            frame: self.frame,
            offset: self.offset,
            len: self.len,
            next: self.next.clone(),
        }
    }
}

impl Drop for NetBuf {
    fn drop(&mut self) {
        // Unlink the rest first so a long chain is freed iteratively.
        let mut next = self.next.take();
        while let Some(mut b) = next {
            next = b.next.take();
            drop(b);
        }
        let inner = self.inner();
        if release_ref(inner, self.frame) {
            inner.put_frames(&[inner.tag | u64::from(self.frame)]);
        }
    }
}

/// Iterator over a chain's fragments.
#[derive(Debug)]
pub struct Fragments<'a> {
    cur: Option<&'a NetBuf>,
}

impl<'a> Iterator for Fragments<'a> {
    type Item = &'a NetBuf;
    fn next(&mut self) -> Option<&'a NetBuf> {
        let cur = self.cur?;
        self.cur = cur.next.as_deref();
        Some(cur)
    }
}
