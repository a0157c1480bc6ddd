//! The Rust peers measured by the same loops as Strata's rings
//! ([`crate::micro`]): rtrb with its chunk API and crossbeam's ArrayQueue.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_queue::ArrayQueue;

use crate::micro::{run_pair, TwoCore, RING_SIZE};

/// A Rust ring peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// `rtrb` 0.4: `write_chunk_uninit` + `fill_from_iter`, `read_chunk` + `commit_all`
    /// for bulks; `push`/`pop` for single items.
    RtrbChunk,
    /// `crossbeam_queue::ArrayQueue`, one item at a time (it has no bulk calls).
    ArrayQueue,
}

/// Nanoseconds per element for enqueue+dequeue of bulks of `n` on one core.
pub fn one_core(peer: Peer, n: usize, iterations: u64) -> f64 {
    let n = black_box(n);
    let items: Vec<u64> = (0..n as u64).collect();
    let mut out = vec![0u64; n];
    let start;
    match peer {
        Peer::RtrbChunk => {
            let (mut p, mut c) = rtrb::RingBuffer::<u64>::new(RING_SIZE);
            start = Instant::now();
            for _ in 0..iterations {
                if n == 1 {
                    let _ = p.push(black_box(1));
                    black_box(c.pop().ok());
                    continue;
                }
                if let Ok(chunk) = p.write_chunk_uninit(n) {
                    chunk.fill_from_iter(black_box(&items).iter().copied());
                }
                if let Ok(chunk) = c.read_chunk(n) {
                    let (x, y) = chunk.as_slices();
                    out[..x.len()].copy_from_slice(x);
                    out[x.len()..x.len() + y.len()].copy_from_slice(y);
                    chunk.commit_all();
                }
                black_box(&out);
            }
        }
        Peer::ArrayQueue => {
            let q = ArrayQueue::<u64>::new(RING_SIZE);
            start = Instant::now();
            for _ in 0..iterations {
                for &x in black_box(&items) {
                    let _ = q.push(x);
                }
                for o in out.iter_mut() {
                    *o = q.pop().unwrap_or_default();
                }
                black_box(&out);
            }
        }
    }
    start.elapsed().as_nanos() as f64 / (iterations as f64 * n as f64)
}

/// Bulks of `n` from a producer on one CPU to a consumer on another.
pub fn two_cores(peer: Peer, n: usize, iterations: u64) -> Option<TwoCore> {
    let elems = iterations as f64 * n as f64;
    match peer {
        Peer::RtrbChunk => {
            let (mut p, mut c) = rtrb::RingBuffer::<u64>::new(RING_SIZE);
            run_pair(
                elems,
                move || {
                    let items: Vec<u64> = (0..n as u64).collect();
                    let start = Instant::now();
                    for _ in 0..iterations {
                        loop {
                            if let Ok(chunk) = p.write_chunk_uninit(n) {
                                chunk.fill_from_iter(items.iter().copied());
                                break;
                            }
                            std::hint::spin_loop();
                        }
                    }
                    start.elapsed()
                },
                move || {
                    let mut out = vec![0u64; n];
                    let start = Instant::now();
                    for _ in 0..iterations {
                        loop {
                            if let Ok(chunk) = c.read_chunk(n) {
                                let (x, y) = chunk.as_slices();
                                out[..x.len()].copy_from_slice(x);
                                out[x.len()..x.len() + y.len()].copy_from_slice(y);
                                chunk.commit_all();
                                break;
                            }
                            std::hint::spin_loop();
                        }
                    }
                    black_box(&out);
                    start.elapsed()
                },
            )
        }
        Peer::ArrayQueue => {
            let q = Arc::new(ArrayQueue::<u64>::new(RING_SIZE));
            let q2 = q.clone();
            run_pair(
                elems,
                move || {
                    let start = Instant::now();
                    for i in 0..iterations * n as u64 {
                        while q.push(i).is_err() {
                            std::hint::spin_loop();
                        }
                    }
                    start.elapsed()
                },
                move || {
                    let start = Instant::now();
                    for _ in 0..iterations * n as u64 {
                        loop {
                            if let Some(x) = q2.pop() {
                                black_box(x);
                                break;
                            }
                            std::hint::spin_loop();
                        }
                    }
                    start.elapsed()
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_loops_run() {
        for peer in [Peer::RtrbChunk, Peer::ArrayQueue] {
            assert!(one_core(peer, 32, 100) > 0.0);
            if let Some(t) = two_cores(peer, 32, 100) {
                assert!(t.sum_ns > 0.0);
            }
        }
    }
}
