//! Error values of the pool crate, each sized to the caller's decision.

use core::fmt;

/// A pool configuration that cannot be built, or a region the system refused.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A configuration value is out of range; the message says which and why.
    #[error("pool configuration: {0}")]
    Config(String),
    /// The operating system refused the memory.
    #[error("pool region of {bytes} bytes could not be mapped: {source}")]
    Map {
        /// Bytes asked for.
        bytes: usize,
        /// What the system said.
        source: std::io::Error,
    },
}

/// The pool (or the cache in front of it) had no free frame. Counted in
/// [`PoolStats::alloc_failures`](crate::PoolStats::alloc_failures); never a
/// block, never a panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocError;

impl fmt::Display for AllocError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("packet buffer pool exhausted")
    }
}

impl std::error::Error for AllocError {}

/// An operation on a [`NetBuf`](crate::NetBuf) that its room or sharing forbids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufError {
    /// Not enough headroom to push this many bytes in front.
    NoHeadroom {
        /// Bytes asked for.
        wanted: usize,
        /// Headroom left.
        available: usize,
    },
    /// Not enough tailroom to append this many bytes.
    NoTailroom {
        /// Bytes asked for.
        wanted: usize,
        /// Tailroom left.
        available: usize,
    },
    /// Fewer bytes in the buffer (or chain) than asked for.
    TooShort {
        /// Bytes asked for.
        wanted: usize,
        /// Bytes present.
        available: usize,
    },
    /// The frame is shared with a clone: writing would change what the clone
    /// sees. Use [`NetBuf::make_unique`](crate::NetBuf::make_unique) first.
    Shared,
    /// A copy-on-write or a pull-up needed a new frame and the pool had none.
    Alloc(AllocError),
}

impl fmt::Display for BufError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoHeadroom { wanted, available } => {
                write!(
                    f,
                    "cannot push {wanted} bytes: only {available} bytes of headroom"
                )
            }
            Self::NoTailroom { wanted, available } => {
                write!(
                    f,
                    "cannot append {wanted} bytes: only {available} bytes of tailroom"
                )
            }
            Self::TooShort { wanted, available } => {
                write!(f, "wanted {wanted} bytes but the buffer holds {available}")
            }
            Self::Shared => f.write_str("buffer is shared with a clone and cannot be written"),
            Self::Alloc(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BufError {}

impl From<AllocError> for BufError {
    fn from(e: AllocError) -> Self {
        Self::Alloc(e)
    }
}
