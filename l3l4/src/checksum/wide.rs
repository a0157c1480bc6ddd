//! The checksum loop for long data, vectorised: 32-bit lanes each take one
//! 16-bit word of every block, which the compiler turns into zero-extending
//! loads and vector adds. Built for AVX-512BW (64-byte blocks) and for AVX2
//! (32-byte blocks), and chosen at run time by what the CPU has (the
//! baseline x86-64 target only promises SSE2, where the scalar loop of
//! [`super::sum_native`] is as fast).
//!
//! The only `unsafe` is the call into those builds of the (safe) loop, made
//! after the CPU was asked whether it has the instructions they use.

/// Blocks per pass before the lanes are emptied: a lane adds at most
/// `0xffff` per block, so 2^16 blocks stay below 2^32.
const BLOCKS_PER_PASS: usize = 1 << 16;

/// The native-order sum of `data` (as [`super::sum_native`] returns it: to
/// be folded), from `LANES` 32-bit lanes over blocks of `2 * LANES` bytes.
#[inline(always)]
fn sum_lanes<const LANES: usize>(data: &[u8]) -> u64 {
    let mut total = 0u64;
    for pass in data.chunks(2 * LANES * BLOCKS_PER_PASS) {
        let mut lanes = [0u32; LANES];
        let mut blocks = pass.chunks_exact(2 * LANES);
        for block in &mut blocks {
            for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(2)) {
                *lane += u32::from(u16::from_ne_bytes([word[0], word[1]]));
            }
        }
        total += lanes.iter().map(|&lane| u64::from(lane)).sum::<u64>();
        // Less than a block remains, starting on a word boundary.
        total += super::sum_native_short(blocks.remainder());
    }
    total
}

/// The loop compiled for AVX-512BW.
///
/// # Safety
///
/// The CPU must have AVX-512F and AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
unsafe fn sum_avx512(data: &[u8]) -> u64 {
    sum_lanes::<32>(data)
}

/// The loop compiled for AVX2.
///
/// # Safety
///
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sum_avx2(data: &[u8]) -> u64 {
    sum_lanes::<16>(data)
}

/// The vectorised sum of `data`, or `None` when this CPU has no vector unit
/// it is built for (the caller then runs the scalar loop).
#[inline]
pub(super) fn sum(data: &[u8]) -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: the CPU has AVX-512F and AVX-512BW (asked just above),
            // which is all `sum_avx512` requires; the loop is safe code.
            return Some(unsafe { sum_avx512(data) });
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (asked just above), which is all
            // `sum_avx2` requires; the loop is safe code.
            return Some(unsafe { sum_avx2(data) });
        }
    }
    let _ = data;
    None
}

/// The portable builds of the loop, for the tests.
#[cfg(test)]
pub(super) fn sum_portable(data: &[u8]) -> [u64; 2] {
    [sum_lanes::<16>(data), sum_lanes::<32>(data)]
}

/// Both x86 builds this CPU can run, for the tests.
#[cfg(test)]
pub(super) fn sum_every_build(data: &[u8]) -> Vec<u64> {
    let mut sums = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512f")
        {
            // SAFETY: as in `sum`.
            sums.push(unsafe { sum_avx512(data) });
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as in `sum`.
            sums.push(unsafe { sum_avx2(data) });
        }
    }
    sums
}
