//! Cache-line padding so that the producer's and the consumer's indices never
//! share a line (false sharing would make every operation a cache miss).

use core::ops::{Deref, DerefMut};

/// Pads and aligns a value to 128 bytes.
///
/// 128 rather than 64 because Intel CPUs prefetch cache lines in adjacent
/// pairs (the "spatial prefetcher"), so two hot values 64 bytes apart still
/// interfere. crossbeam and DPDK (`RTE_CACHE_GUARD`) reason the same way.
#[derive(Debug, Default)]
#[repr(align(128))]
pub struct CachePadded<T>(T);

impl<T> CachePadded<T> {
    /// Wraps `value`.
    pub const fn new(value: T) -> Self {
        Self(value)
    }
}

impl<T> Deref for CachePadded<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> DerefMut for CachePadded<T> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_aligned_and_padded() {
        assert_eq!(core::mem::align_of::<CachePadded<u8>>(), 128);
        assert_eq!(core::mem::size_of::<CachePadded<u64>>(), 128);
        let pair = [CachePadded::new(1u64), CachePadded::new(2u64)];
        let a = &*pair[0] as *const u64 as usize;
        let b = &*pair[1] as *const u64 as usize;
        assert_eq!(b - a, 128);
        assert_eq!(*pair[1], 2);
    }
}
