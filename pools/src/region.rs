//! The pool's memory: one page-aligned anonymous mapping, cut into frames
//! aligned to their size. Frame `i` lives at byte offset `i * frame_size`,
//! which is also its address in an AF_XDP UMEM registered over the region.

use std::io::BufRead;

use memmap2::{MmapMut, MmapOptions};

use crate::config::{HugePages, PoolConfig};
use crate::error::PoolError;

const HUGE_PAGE: usize = 2 << 20;

/// One mapped region. The mapping is only ever touched through `base`, by
/// the frame discipline of [`crate::pool`]; `map` is kept to unmap on drop.
#[derive(Debug)]
pub(crate) struct Region {
    _map: MmapMut,
    base: *mut u8,
    len: usize,
    huge: bool,
}

// SAFETY: the region is plain memory; which thread may touch which frame is
// decided by frame ownership (a frame index is held by exactly one free list
// slot or one set of `NetBuf` handles), not by the region itself.
unsafe impl Send for Region {}
// SAFETY: as above; shared access to the region hands out no references by
// itself, only raw pointers used under the frame discipline.
unsafe impl Sync for Region {}

/// Free 2 MiB huge pages the system has configured, from /proc/meminfo.
fn free_huge_pages() -> usize {
    let Ok(file) = std::fs::File::open("/proc/meminfo") else {
        return 0;
    };
    let mut free = 0;
    let mut size_kib = 0;
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        let mut words = line.split_whitespace();
        match (
            words.next(),
            words.next().and_then(|w| w.parse::<usize>().ok()),
        ) {
            (Some("HugePages_Free:"), Some(n)) => free = n,
            (Some("Hugepagesize:"), Some(n)) => size_kib = n,
            _ => {}
        }
    }
    if size_kib * 1024 == HUGE_PAGE {
        free
    } else {
        0
    }
}

impl Region {
    /// Maps the region for `config` (already validated).
    pub(crate) fn map(config: &PoolConfig) -> Result<Self, PoolError> {
        let bytes = config.region_bytes();
        let want_huge = config.huge_pages != HugePages::Never;
        let huge_len = bytes.div_ceil(HUGE_PAGE) * HUGE_PAGE;
        if want_huge && free_huge_pages() * HUGE_PAGE >= huge_len {
            match MmapOptions::new()
                .len(huge_len)
                .huge(Some(21))
                .populate()
                .map_anon()
            {
                Ok(map) => return Ok(Self::from_map(map, bytes, true)),
                Err(e) if config.huge_pages == HugePages::Require => {
                    return Err(PoolError::Map {
                        bytes: huge_len,
                        source: e,
                    })
                }
                Err(_) => {}
            }
        } else if config.huge_pages == HugePages::Require {
            return Err(PoolError::Config(format!(
                "pool '{}' requires huge pages but the system has fewer than {} free 2 MiB pages \
                 (see /proc/sys/vm/nr_hugepages)",
                config.name,
                huge_len / HUGE_PAGE
            )));
        }
        if want_huge && bytes >= HUGE_PAGE {
            eprintln!(
                "note: pool '{}' uses ordinary pages: no free 2 MiB huge pages \
                 (echo N > /proc/sys/vm/nr_hugepages to enable)",
                config.name
            );
        }
        let mut options = MmapOptions::new();
        options.len(bytes);
        // Pre-fault the region so the first packets do not pay for page
        // faults (Miri models only plain private anonymous mappings).
        if !cfg!(miri) {
            options.populate();
        }
        let map = options
            .map_anon()
            .map_err(|source| PoolError::Map { bytes, source })?;
        Ok(Self::from_map(map, bytes, false))
    }

    fn from_map(mut map: MmapMut, len: usize, huge: bool) -> Self {
        let base = map.as_mut_ptr();
        Self {
            _map: map,
            base,
            len,
            huge,
        }
    }

    /// The first byte of the region.
    #[inline(always)]
    pub(crate) fn base(&self) -> *mut u8 {
        self.base
    }

    /// Bytes in the region (frames × frame size).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the region sits on huge pages.
    pub(crate) fn is_huge(&self) -> bool {
        self.huge
    }
}
