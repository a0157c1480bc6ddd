//! The storage of a ring: `capacity` slots that are written by whichever
//! side owns them at the moment. Which side owns a slot is decided by the
//! ring's indices; this module only moves values in and out.
//!
//! Every function here is `unsafe` because the caller promises ownership of
//! the slots it names. Under `loom` each slot is accessed on its own so the
//! model checker can see every access; otherwise bursts are two `memcpy`s.

use core::mem::MaybeUninit;

use crate::sync::UnsafeCell;

/// `capacity` possibly-uninitialised slots; capacity is a power of two.
#[derive(Debug)]
pub(crate) struct Slots<T> {
    cells: Box<[UnsafeCell<MaybeUninit<T>>]>,
    mask: usize,
}

impl<T> Slots<T> {
    /// Allocates `capacity` empty slots. The caller checked the capacity.
    pub(crate) fn new(capacity: usize) -> Self {
        debug_assert!(capacity.is_power_of_two());
        let cells = (0..capacity)
            .map(|_| UnsafeCell::new(MaybeUninit::uninit()))
            .collect();
        Self {
            cells,
            mask: capacity - 1,
        }
    }

    #[inline(always)]
    pub(crate) fn capacity(&self) -> usize {
        self.mask + 1
    }

    /// A pointer to the first slot, valid for all of them.
    #[cfg(not(loom))]
    #[inline(always)]
    fn base(&self) -> *mut T {
        // Our `UnsafeCell` is `repr(transparent)` over `core::cell::UnsafeCell`,
        // which is `repr(transparent)` over `MaybeUninit<T>`, itself
        // layout-compatible with `T`: the slots form one contiguous `[T]`.
        core::cell::UnsafeCell::raw_get(
            self.cells
                .as_ptr()
                .cast::<core::cell::UnsafeCell<MaybeUninit<T>>>(),
        )
        .cast::<T>()
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
        #[cfg(not(loom))]
        {
            let start = pos & self.mask;
            let first = core::cmp::min(n, self.capacity() - start);
            let base = self.base();
            // SAFETY: `start + first <= capacity` and `n - first <= start`, so
            // both ranges lie inside the slots; the caller owns those slots
            // and `src` holds `n` values, and a ring slot never overlaps the
            // caller's buffer.
            unsafe {
                core::ptr::copy_nonoverlapping(src, base.add(start), first);
                core::ptr::copy_nonoverlapping(src.add(first), base, n - first);
            }
        }
        #[cfg(loom)]
        for i in 0..n {
            let cell = &self.cells[(pos.wrapping_add(i)) & self.mask];
            // SAFETY: the caller owns this slot and `src.add(i)` is one of the
            // `n` values it hands over.
            cell.with_mut(|p| unsafe { p.cast::<T>().write(src.add(i).read()) });
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
        #[cfg(not(loom))]
        {
            let start = pos & self.mask;
            let first = core::cmp::min(n, self.capacity() - start);
            let base = self.base();
            // SAFETY: as in `write_from`, both ranges lie inside the slots,
            // which the caller owns and which hold initialised values; `dst`
            // has room for `n` and does not overlap the ring.
            unsafe {
                core::ptr::copy_nonoverlapping(base.add(start), dst, first);
                core::ptr::copy_nonoverlapping(base, dst.add(first), n - first);
            }
        }
        #[cfg(loom)]
        for i in 0..n {
            let cell = &self.cells[(pos.wrapping_add(i)) & self.mask];
            // SAFETY: the caller owns this initialised slot and `dst.add(i)`
            // is inside its buffer.
            cell.with_mut(|p| unsafe { dst.add(i).write(p.cast::<T>().read()) });
        }
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
            let cell = &self.cells[pos & self.mask];
            // SAFETY: the caller promises the slot holds a value no one else
            // can reach; it is dropped once and then counts as empty.
            cell.with_mut(|p| unsafe { core::ptr::drop_in_place(p.cast::<T>()) });
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

impl<T> Slots<T> {
    /// Moves one value into the slot at position `pos`.
    ///
    /// # Safety
    /// As for [`Slots::write_from`] with `n == 1`.
    #[inline(always)]
    pub(crate) unsafe fn write_one(&self, pos: usize, value: T) {
        let cell = &self.cells[pos & self.mask];
        // SAFETY: the caller owns this empty slot until it publishes it.
        cell.with_mut(|p| unsafe { p.cast::<T>().write(value) });
    }

    /// Moves the value out of the slot at position `pos`.
    ///
    /// # Safety
    /// As for [`Slots::read_into`] with `n == 1`.
    #[inline(always)]
    pub(crate) unsafe fn read_one(&self, pos: usize) -> T {
        let cell = &self.cells[pos & self.mask];
        // SAFETY: the caller owns this slot and it holds a published value,
        // which is moved out exactly once.
        cell.with_mut(|p| unsafe { p.cast::<T>().read() })
    }
}
