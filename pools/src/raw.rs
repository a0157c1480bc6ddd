//! Bursts of raw frames from one pool: the fast path for devices (an
//! AF_XDP fill or completion ring moves frames by the burst) and the layer
//! DPDK's `rte_mempool_get_bulk`/`put_bulk` work at.
//!
//! A [`RawBurst`] remembers which pool its frames belong to, so giving a
//! burst back costs one comparison, not one per frame, and a frame can
//! never be returned to a pool it did not come from (which would hand one
//! frame to two owners). Single [`RawFrame`]s carry their pool in their
//! own word and are checked as they enter a burst.

use crate::pool::RawFrame;

/// Raw frames of one pool, in order. Not `Clone`: each frame has one owner.
/// Dropping a non-empty burst keeps its frames out of the pool until the
/// pool itself is dropped (a leak, never a double use).
#[derive(Debug, Default, PartialEq, Eq)]
#[must_use = "raw frames must be freed back to their pool"]
pub struct RawBurst {
    /// Tagged words (`pool id << 32 | frame index`); all share one tag.
    pub(crate) words: Vec<u64>,
    /// The tag of the pool every word belongs to (meaningless when empty).
    pub(crate) tag: u64,
}

impl RawBurst {
    /// An empty burst with room for `n` frames.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            words: Vec::with_capacity(n),
            tag: 0,
        }
    }

    /// Frames in the burst.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the burst holds no frame.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The frame indices, in order (their UMEM addresses are `index * frame_size`).
    pub fn indices(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().map(|&w| w as u32)
    }

    /// Takes the last frame out.
    pub fn pop(&mut self) -> Option<RawFrame> {
        self.words.pop().map(|tagged| RawFrame { tagged })
    }

    /// Adds a frame; a frame of another pool than the burst's is handed back.
    ///
    /// # Errors
    /// The frame itself, if the burst holds frames of another pool.
    pub fn push(&mut self, frame: RawFrame) -> Result<(), RawFrame> {
        if self.words.is_empty() {
            self.tag = frame.tagged & !u64::from(u32::MAX);
        } else if frame.tagged & !u64::from(u32::MAX) != self.tag {
            return Err(frame);
        }
        self.words.push(frame.tagged);
        Ok(())
    }

    /// Whether the burst may take frames of the pool tagged `tag`.
    #[inline(always)]
    pub(crate) fn accepts(&self, tag: u64) -> bool {
        self.words.is_empty() || self.tag == tag
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_keeps_to_one_pool() {
        let mut b = RawBurst::with_capacity(4);
        assert!(b.is_empty());
        b.push(RawFrame {
            tagged: (7 << 32) | 1,
        })
        .unwrap();
        b.push(RawFrame {
            tagged: (7 << 32) | 2,
        })
        .unwrap();
        let foreign = RawFrame {
            tagged: (8 << 32) | 1,
        };
        assert_eq!(b.push(foreign).unwrap_err().index(), 1);
        assert_eq!(b.indices().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(b.pop().map(|f| f.index()), Some(2));
        assert_eq!(b.len(), 1);
        assert!(b.accepts(7 << 32) && !b.accepts(8 << 32));
        let _ = b.pop();
        assert!(b.accepts(8 << 32));
    }
}
