//! A port's queues as one device: what a worker that owns several queues of
//! one interface polls (an AF_XDP port opened on queues `0..N`, one socket
//! each, as DPDK's `net_af_xdp` takes `queue_count`).
//!
//! Receiving takes from every queue in turn, starting one further each
//! burst so no queue is starved. Transmitting uses the first queue only, as
//! one lcore uses one TX queue: a burst never splits across queues, so the
//! frames of a flow leave in order. A sleeping worker waits on every
//! queue's fd ([`Device::wait_fds`]).

use std::os::fd::RawFd;

use strata_pools::NetBuf;

use super::{Device, DeviceInfo, DeviceStats};

/// Several queues of one port as one [`Device`]. See the module
/// documentation.
pub struct QueueGroup {
    queues: Vec<Box<dyn Device>>,
    info: DeviceInfo,
    /// The queue the next receive starts at.
    next: usize,
}

impl std::fmt::Debug for QueueGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueueGroup")
            .field("info", &self.info)
            .field("queues", &self.queues.len())
            .finish()
    }
}

impl QueueGroup {
    /// Groups `queues` (of one port, in queue order); `None` if there are
    /// none. The group names itself after the first queue, with the number
    /// of queues it holds.
    pub fn new(queues: Vec<Box<dyn Device>>) -> Option<QueueGroup> {
        let first = queues.first()?;
        let info = DeviceInfo {
            queues: u16::try_from(queues.len()).unwrap_or(u16::MAX),
            ..first.info().clone()
        };
        Some(QueueGroup {
            queues,
            info,
            next: 0,
        })
    }

    /// How many queues the group holds.
    pub fn len(&self) -> usize {
        self.queues.len()
    }

    /// Whether the group holds no queue (never: [`QueueGroup::new`] refuses).
    pub fn is_empty(&self) -> bool {
        self.queues.is_empty()
    }
}

impl Device for QueueGroup {
    fn info(&self) -> &DeviceInfo {
        &self.info
    }

    fn link_up(&self) -> bool {
        self.queues.iter().any(|q| q.link_up())
    }

    fn rx_burst(&mut self, out: &mut Vec<NetBuf>, max: usize) -> usize {
        let n = self.queues.len();
        let mut got = 0;
        for i in 0..n {
            if got >= max {
                break;
            }
            let q = (self.next + i) % n;
            got += self.queues[q].rx_burst(out, max - got);
        }
        self.next = (self.next + 1) % n;
        got
    }

    fn tx_burst(&mut self, bufs: &mut Vec<NetBuf>) -> usize {
        self.queues[0].tx_burst(bufs)
    }

    fn free(&mut self, bufs: &mut Vec<NetBuf>) {
        // Into the queue the next receive starts at: the queues take turns,
        // as they do receiving.
        self.queues[self.next].free(bufs)
    }

    fn wait_fd(&self) -> Option<RawFd> {
        self.queues[0].wait_fd()
    }

    fn wait_fds(&self) -> Vec<RawFd> {
        let fds: Vec<RawFd> = self.queues.iter().filter_map(|q| q.wait_fd()).collect();
        if fds.len() == self.queues.len() {
            fds
        } else {
            // A queue without an fd cannot wake the worker: it must nap.
            Vec::new()
        }
    }

    fn arm_wake(&mut self) -> bool {
        let mut ready = false;
        for q in &mut self.queues {
            ready |= q.arm_wake();
        }
        ready
    }

    fn disarm_wake(&mut self) {
        for q in &mut self.queues {
            q.disarm_wake();
        }
    }

    fn stats(&self) -> DeviceStats {
        let mut sum = DeviceStats::default();
        for q in &self.queues {
            sum += q.stats();
        }
        sum
    }

    fn queue_stats(&self) -> Vec<DeviceStats> {
        self.queues.iter().map(|q| q.stats()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dev::{pair, PairConfig};
    use strata_pools::{Pool, PoolConfig};

    #[test]
    fn every_queue_is_received_from_and_the_first_transmits() {
        let pool = Pool::new(PoolConfig {
            frames: 256,
            ..PoolConfig::named("group-test")
        })
        .unwrap();
        let mut peers = Vec::new();
        let mut queues: Vec<Box<dyn Device>> = Vec::new();
        for _ in 0..3 {
            let (peer, ours) = pair(&PairConfig::default()).unwrap();
            peers.push(peer);
            queues.push(Box::new(ours));
        }
        assert!(QueueGroup::new(Vec::new()).is_none());
        let mut group = QueueGroup::new(queues).unwrap();
        assert_eq!((group.len(), group.info().queues), (3, 3));
        // 4 frames waiting on each queue, marked with their queue.
        for (q, peer) in peers.iter_mut().enumerate() {
            let mut out: Vec<NetBuf> = (0..4)
                .map(|_| {
                    let mut b = pool.alloc().unwrap();
                    b.put(&[q as u8]).unwrap();
                    b
                })
                .collect();
            assert_eq!(peer.tx_burst(&mut out), 4);
        }
        // A burst of 6 takes from the first queue, then the next; the next
        // burst starts one queue further.
        let mut got = Vec::new();
        assert_eq!(group.rx_burst(&mut got, 6), 6);
        let from: Vec<u8> = got.iter().map(|b| b.data()[0]).collect();
        assert_eq!(from, [0, 0, 0, 0, 1, 1]);
        got.clear();
        assert_eq!(group.rx_burst(&mut got, 32), 6);
        let from: Vec<u8> = got.iter().map(|b| b.data()[0]).collect();
        assert_eq!(from, [1, 1, 2, 2, 2, 2]);
        let per_queue: Vec<u64> = group.queue_stats().iter().map(|s| s.rx_packets).collect();
        assert_eq!(per_queue, [4, 4, 4]);
        assert_eq!(group.stats().rx_packets, 12);
        // Transmit: all on the first queue, in order.
        assert_eq!(group.tx_burst(&mut got), 6);
        let mut back = Vec::new();
        assert_eq!(peers[0].rx_burst(&mut back, 32), 6);
        assert_eq!(peers[1].rx_burst(&mut back, 32), 0);
        // One fd per queue to sleep on; a frame on any queue ends the arming.
        assert_eq!(group.wait_fds().len(), 3);
        assert!(!group.arm_wake());
        group.disarm_wake();
        let mut one = vec![pool.alloc().unwrap()];
        assert_eq!(peers[2].tx_burst(&mut one), 1);
        assert!(group.arm_wake());
        group.disarm_wake();
        drop((got, back, group, peers));
        assert_eq!(pool.stats().free, pool.capacity());
    }
}
