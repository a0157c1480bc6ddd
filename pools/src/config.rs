//! Pool configuration and its validation.

use crate::error::PoolError;

/// Whether the region should come from huge pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HugePages {
    /// Use 2 MiB huge pages when the system has enough free ones configured,
    /// otherwise ordinary pages with a one-line note.
    #[default]
    Auto,
    /// Ordinary pages only.
    Never,
    /// Huge pages or an error.
    Require,
}

/// How a pool is cut. Defaults: 4096 frames of 2048 bytes, 128 bytes of
/// headroom, per-core caches of 256 frames flushed above 384 (DPDK's
/// 1.5× rule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// A name for statistics and messages.
    pub name: String,
    /// Bytes per frame: a power of two from 512 to 32768. Frames are aligned
    /// to their size, so a region of 2048- or 4096-byte frames can be
    /// registered as an AF_XDP UMEM as it is.
    pub frame_size: usize,
    /// Number of frames (at least 1, at most 2^24).
    pub frames: usize,
    /// Bytes kept free in front of the data of a new buffer so headers can
    /// be pushed without copying; less than `frame_size`.
    pub headroom: usize,
    /// Frames a per-core cache refills to; 0 disables caches.
    pub cache_size: usize,
    /// A cache holding more than this spills back down to `cache_size`.
    pub cache_flush_threshold: usize,
    /// Huge page policy.
    pub huge_pages: HugePages,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            name: "pool".to_owned(),
            frame_size: 2048,
            frames: 4096,
            headroom: 128,
            cache_size: 256,
            cache_flush_threshold: 384,
            huge_pages: HugePages::Auto,
        }
    }
}

/// The most frames a pool holds.
pub const MAX_FRAMES: usize = 1 << 24;
/// The smallest frame.
pub const MIN_FRAME_SIZE: usize = 512;
/// The largest frame (offsets and lengths are 16-bit).
pub const MAX_FRAME_SIZE: usize = 32768;

impl PoolConfig {
    /// A default configuration with this name.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            ..Self::default()
        }
    }

    /// Checks every value.
    ///
    /// # Errors
    /// [`PoolError::Config`] naming the first bad value.
    pub fn validate(&self) -> Result<(), PoolError> {
        let bad = |m: String| Err(PoolError::Config(m));
        if !self.frame_size.is_power_of_two()
            || !(MIN_FRAME_SIZE..=MAX_FRAME_SIZE).contains(&self.frame_size)
        {
            return bad(format!(
                "frame size {} must be a power of two from {MIN_FRAME_SIZE} to {MAX_FRAME_SIZE}",
                self.frame_size
            ));
        }
        if self.frames == 0 || self.frames > MAX_FRAMES {
            return bad(format!(
                "frame count {} must be from 1 to {MAX_FRAMES}",
                self.frames
            ));
        }
        if self.headroom >= self.frame_size {
            return bad(format!(
                "headroom {} leaves no room for data in a {}-byte frame",
                self.headroom, self.frame_size
            ));
        }
        if self.cache_size > self.frames {
            return bad(format!(
                "cache size {} is larger than the pool ({} frames)",
                self.cache_size, self.frames
            ));
        }
        if self.cache_size > 0 && self.cache_flush_threshold < self.cache_size {
            return bad(format!(
                "cache flush threshold {} is below the cache size {}",
                self.cache_flush_threshold, self.cache_size
            ));
        }
        if self.cache_flush_threshold > 4 * MAX_FRAMES {
            return bad(format!(
                "cache flush threshold {} is too large",
                self.cache_flush_threshold
            ));
        }
        Ok(())
    }

    /// Bytes of the region this configuration maps.
    pub fn region_bytes(&self) -> usize {
        self.frame_size * self.frames
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let ok = PoolConfig::default();
        assert!(ok.validate().is_ok());
        let cases: Vec<(PoolConfig, &str)> = vec![
            (
                PoolConfig {
                    frame_size: 1000,
                    ..ok.clone()
                },
                "frame size 1000",
            ),
            (
                PoolConfig {
                    frame_size: 256,
                    ..ok.clone()
                },
                "frame size 256",
            ),
            (
                PoolConfig {
                    frame_size: 65536,
                    ..ok.clone()
                },
                "frame size 65536",
            ),
            (
                PoolConfig {
                    frames: 0,
                    ..ok.clone()
                },
                "frame count 0",
            ),
            (
                PoolConfig {
                    frames: MAX_FRAMES + 1,
                    ..ok.clone()
                },
                "frame count",
            ),
            (
                PoolConfig {
                    headroom: 2048,
                    ..ok.clone()
                },
                "headroom 2048",
            ),
            (
                PoolConfig {
                    frames: 10,
                    cache_size: 11,
                    ..ok.clone()
                },
                "cache size 11",
            ),
            (
                PoolConfig {
                    cache_flush_threshold: 10,
                    ..ok.clone()
                },
                "flush threshold 10",
            ),
        ];
        for (cfg, needle) in cases {
            let msg = cfg.validate().unwrap_err().to_string();
            assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
        }
    }
}
