//! Asking the CPU to bring bytes into its cache ahead of use.

/// Starts loading the cache line holding the first byte of `bytes` (and the
/// next one, when the bytes reach into it) into every cache level, without
/// waiting for it. A hint: it never faults and has no other effect.
#[inline(always)]
pub fn read(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let p = bytes.as_ptr().cast::<i8>();
        // SAFETY: a prefetch is a hint that never faults and reads nothing
        // into the program; `p` points into a live slice anyway.
        unsafe { _mm_prefetch(p, _MM_HINT_T0) };
        if bytes.len() > 64 - (p as usize & 63) {
            // SAFETY: as above; the address is inside the same slice.
            unsafe { _mm_prefetch(p.wrapping_add(64), _MM_HINT_T0) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}
