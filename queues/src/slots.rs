//! The storage of a ring: `capacity` slots that are written by whichever
//! side owns them at the moment. Which side owns a slot is decided by the
//! ring's indices; this module only moves values in and out.
//!
//! Every function here is `unsafe` because the caller promises ownership of
//! the slots it names. Under `loom` each slot is accessed on its own so the
//! model checker can see every access; otherwise bursts are two `memcpy`s.

#[cfg(loom)]
use core::mem::MaybeUninit;

#[cfg(loom)]
use crate::sync::UnsafeCell;

/// `capacity` possibly-uninitialised slots; capacity is a power of two.
///
/// The storage is aligned to 128 bytes, so bursts of a power-of-two size
/// never share a cache line (or an adjacent-line prefetch pair) with the
/// neighbouring burst the other thread is working on.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct Slots<T> {
    ptr: core::ptr::NonNull<T>,
    mask: usize,
    _owns: core::marker::PhantomData<T>,
}

#[cfg(not(loom))]
const SLOT_ALIGN: usize = 128;

/// Copies `n` items, four at a time, inline: bursts are short (8 to 64
/// items), where a call into the C library's `memcpy` costs more than the
/// copy, and its widest vector stores do not help a line another core reads.
///
/// # Safety
/// `src` valid for `n` reads, `dst` for `n` writes, no overlap.
#[cfg(not(loom))]
#[inline(always)]
unsafe fn copy_items<T>(src: *const T, dst: *mut T, n: usize) {
    let mut i = 0;
    while i + 4 <= n {
        // SAFETY: `i + 4 <= n` items lie within both buffers.
        unsafe {
            let block = src.add(i).cast::<[T; 4]>().read_unaligned();
            dst.add(i).cast::<[T; 4]>().write_unaligned(block);
        }
        i += 4;
    }
    while i < n {
        // SAFETY: `i < n`.
        unsafe { dst.add(i).write(src.add(i).read()) };
        i += 1;
    }
}

#[cfg(not(loom))]
impl<T> Slots<T> {
    fn layout(capacity: usize) -> std::alloc::Layout {
        let align = SLOT_ALIGN.max(core::mem::align_of::<T>());
        // The capacity was checked (`check_capacity`): the size fits isize.
        std::alloc::Layout::from_size_align(capacity * core::mem::size_of::<T>(), align)
            .expect("checked capacity")
    }

    /// Allocates `capacity` empty slots. The caller checked the capacity.
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity.is_power_of_two());
        let layout = Self::layout(capacity);
        let ptr = if layout.size() == 0 {
            core::ptr::NonNull::<T>::dangling()
        } else {
            // SAFETY: the layout has a non-zero size.
            let raw = unsafe { std::alloc::alloc(layout) };
            match core::ptr::NonNull::new(raw.cast::<T>()) {
                Some(p) => p,
                None => std::alloc::handle_alloc_error(layout),
            }
        };
        Self {
            ptr,
            mask: capacity - 1,
            _owns: core::marker::PhantomData,
        }
    }

    #[inline(always)]
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// A pointer to the slot at position `pos` (taken modulo the capacity).
    #[inline(always)]
    fn slot(&self, pos: usize) -> *mut T {
        // SAFETY: `pos & mask < capacity`, so the offset stays inside the
        // allocation (or is zero bytes for a zero-sized `T`).
        unsafe { self.ptr.as_ptr().add(pos & self.mask) }
    }

    /// Moves `n` values from `src` into the slots starting at position `pos`
    /// (taken modulo the capacity, wrapping around the end).
    ///
    /// # Safety
    /// The caller owns the `n` slots from `pos` (none of them holds a live
    /// value and no other thread touches them until the caller publishes
    /// them), `n <= capacity`, and `src` points to `n` initialised values
    /// whose ownership moves into the ring (the caller must forget them).
    #[inline(always)]
    pub(crate) unsafe fn write_from(&self, pos: usize, src: *const T, n: usize) {
        debug_assert!(n <= self.capacity());
        let start = pos & self.mask;
        let first = core::cmp::min(n, self.capacity() - start);
        // SAFETY: `start + first <= capacity` and `n - first <= start`, so
        // both ranges lie inside the slots; the caller owns those slots and
        // `src` holds `n` values; a ring slot never overlaps the caller's buffer.
        unsafe {
            copy_items(src, self.slot(start), first);
            copy_items(src.add(first), self.ptr.as_ptr(), n - first);
        }
    }

    /// Moves `n` values out of the slots starting at position `pos` into `dst`.
    ///
    /// # Safety
    /// The caller owns the `n` slots from `pos`, each holds an initialised
    /// value (published by the other side), `n <= capacity`, and `dst` has
    /// room for `n` values. Afterwards the slots count as empty.
    #[inline(always)]
    pub(crate) unsafe fn read_into(&self, pos: usize, dst: *mut T, n: usize) {
        debug_assert!(n <= self.capacity());
        let start = pos & self.mask;
        let first = core::cmp::min(n, self.capacity() - start);
        // SAFETY: as in `write_from`; the slots hold initialised values and
        // `dst` has room for `n` and does not overlap the ring.
        unsafe {
            copy_items(self.slot(start), dst, first);
            copy_items(self.ptr.as_ptr(), dst.add(first), n - first);
        }
    }

    /// Moves one value into the slot at position `pos`.
    ///
    /// # Safety
    /// As for [`Slots::write_from`] with `n == 1`.
    #[inline(always)]
    pub(crate) unsafe fn write_one(&self, pos: usize, value: T) {
        // SAFETY: the caller owns this empty slot until it publishes it.
        unsafe { self.slot(pos).write(value) }
    }

    /// Moves the value out of the slot at position `pos`.
    ///
    /// # Safety
    /// As for [`Slots::read_into`] with `n == 1`.
    #[inline(always)]
    pub(crate) unsafe fn read_one(&self, pos: usize) -> T {
        // SAFETY: the caller owns this slot and it holds a published value,
        // which is moved out exactly once.
        unsafe { self.slot(pos).read() }
    }

    /// Drops the values in positions `from..to` (wrapping).
    ///
    /// # Safety
    /// Exactly those slots hold initialised values and nobody else can reach them.
    pub(crate) unsafe fn drop_range(&self, from: usize, to: usize) {
        if !core::mem::needs_drop::<T>() {
            return;
        }
        let mut pos = from;
        while pos != to {
            // SAFETY: the caller promises the slot holds a value no one else
            // can reach; it is dropped once and then counts as empty.
            unsafe { core::ptr::drop_in_place(self.slot(pos)) };
            pos = pos.wrapping_add(1);
        }
    }
}

#[cfg(not(loom))]
impl<T> Drop for Slots<T> {
    fn drop(&mut self) {
        let layout = Self::layout(self.capacity());
        if layout.size() != 0 {
            // SAFETY: allocated in `new` with this very layout; the values
            // left in it were dropped by the ring (`drop_range`) first.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr().cast::<u8>(), layout) };
        }
    }
}

/// Under loom: one loom cell per slot, so every access is modelled.
#[cfg(loom)]
#[derive(Debug)]
pub(crate) struct Slots<T> {
    cells: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
}

#[cfg(loom)]
impl<T> Slots<T> {
    pub(crate) fn new(capacity: usize) -> Self {
        let cells = (0..capacity)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        Self {
            cells,
            mask: capacity - 1,
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    fn cell(&self, pos: usize) -> &UnsafeCell<MaybeUninit<T>> {
        &self.cells[pos & self.mask]
    }

    /// See the non-loom version.
    pub(crate) unsafe fn write_from(&self, pos: usize, src: *const T, n: usize) {
        for i in 0..n {
            // SAFETY: the caller owns this slot and `src.add(i)` is one of
            // the `n` values it hands over.
            self.cell(pos.wrapping_add(i))
                .with_mut(|p| unsafe { p.cast::<T>().write(src.add(i).read()) });
        }
    }

    /// See the non-loom version.
    pub(crate) unsafe fn read_into(&self, pos: usize, dst: *mut T, n: usize) {
        for i in 0..n {
            // SAFETY: the caller owns this initialised slot and `dst.add(i)`
            // is inside its buffer.
            self.cell(pos.wrapping_add(i))
                .with_mut(|p| unsafe { dst.add(i).write(p.cast::<T>().read()) });
        }
    }

    /// See the non-loom version.
    pub(crate) unsafe fn write_one(&self, pos: usize, value: T) {
        // SAFETY: the caller owns this empty slot until it publishes it.
        self.cell(pos)
            .with_mut(|p| unsafe { p.cast::<T>().write(value) });
    }

    /// See the non-loom version.
    pub(crate) unsafe fn read_one(&self, pos: usize) -> T {
        // SAFETY: the caller owns this slot and it holds a published value.
        self.cell(pos).with_mut(|p| unsafe { p.cast::<T>().read() })
    }

    /// See the non-loom version.
    pub(crate) unsafe fn drop_range(&self, from: usize, to: usize) {
        let mut pos = from;
        while pos != to {
            // SAFETY: the slot holds a value no one else can reach.
            self.cell(pos)
                .with_mut(|p| unsafe { core::ptr::drop_in_place(p.cast::<T>()) });
            pos = pos.wrapping_add(1);
        }
    }
}

// SAFETY: the slots hold `T`s that move between threads; which thread may
// touch a slot is governed by the ring's acquire/release protocol, so sending
// and sharing the storage is sound exactly when `T: Send`.
unsafe impl<T: Send> Send for Slots<T> {}
// SAFETY: see above; no `&T` is ever handed out from a shared slot, values are
// only moved, so `T: Sync` is not needed.
unsafe impl<T: Send> Sync for Slots<T> {}
