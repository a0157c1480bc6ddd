//! Strata's in-memory receive path, measured exactly as the smoltcp peer is:
//! the same prebuilt frames (`strata_perf::rx_frames`), bursts of 32 through
//! the whole stack (header walk with every checksum verified in software,
//! address rules, UDP demultiplexing) into a bound socket's ring, drained on
//! the same core by the application, which checks every datagram's length
//! and tag.
//!
//! Three ways to hand the frames over:
//! - `ring` (the subject `strata`, the one the targets judge): a ring of
//!   pool frames the device owns, written once with the frames, as a NIC's
//!   posted buffers are after its DMA. Every receive turns the next frames
//!   into `NetBuf`s by index (`PoolCache::raw_into_buf`), and after the
//!   application read a datagram its frame goes back on the ring by index
//!   (`PoolCache::buf_into_raw`): the AF_XDP device's own hand-over, with no
//!   copy and no reference count taken, the analogue of smoltcp's device
//!   lending a slice of a prebuilt frame. The stack reads every byte (both
//!   checksums) wherever the frame lies, as smoltcp does;
//! - `copy` (the subject `strata_copy`): fresh pool buffers from the
//!   worker's cache, every frame copied into one (`PoolCache::alloc_filled`,
//!   the call copying devices such as TAP and AF_PACKET use), each freed
//!   after the application read it: a NIC's DMA done by the CPU, work
//!   smoltcp's side does not do;
//! - `lend` (the subject `strata_lend`): each frame sits in a pool buffer
//!   built once, and every receive hands the stack a zero-copy clone of it;
//!   the reference count taken and dropped per frame (two atomic
//!   read-modify-writes) costs more than the copy.

use std::net::SocketAddr;
use std::time::Instant as StdInstant;

use strata_engine::l2::{EthernetAddress, Instant};
use strata_engine::l3l4::ChecksumCaps;
use strata_engine::pools::{NetBuf, Pool, PoolCache, PoolConfig, RawFrame};
use strata_engine::stack::{Stack, StackConfig, UdpSocket};
use strata_perf::rx_frames::{self, RxOutcome, PREFIX_LEN, TARGET};

/// Frames handed to the stack per `Stack::receive`.
pub const BURST: usize = 32;

/// How frames reach the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    /// Frames the device owns, handed over and taken back by index.
    Ring,
    /// A copy into a fresh buffer per frame.
    Copy,
    /// Zero-copy clones of prebuilt buffers.
    Lend,
}

/// Frames in the `Ring` feed's ring: one burst.
const RING_FRAMES: usize = BURST;

/// Strata set up to receive: a pool, one interface, one bound socket.
pub struct StrataRx {
    stack: Stack,
    socket: UdpSocket,
    cache: PoolCache,
    feed: Feed,
    frames: Vec<Vec<u8>>,
    lent: Vec<NetBuf>,
    /// The `Ring` feed's frames, in the order they are handed over, and
    /// where the frame's bytes lie in each.
    ring: Vec<RawFrame>,
    /// The frames being handed over.
    taking: Vec<RawFrame>,
    ring_offset: usize,
    ring_len: usize,
    next: usize,
    burst: Vec<NetBuf>,
    got: Vec<NetBuf>,
    payload_len: usize,
    /// Datagrams read and checked since creation.
    pub received: u64,
    /// The frame index the next datagram must carry.
    expect: usize,
    now: Instant,
    epoch: StdInstant,
    _pool: Pool,
}

impl StrataRx {
    /// Sets Strata up to receive `frames` (all of one size).
    pub fn new(frames: &[Vec<u8>], feed: Feed) -> StrataRx {
        let pool = Pool::new(PoolConfig {
            frames: 8192,
            ..PoolConfig::named("rx-path")
        })
        .expect("pool");
        let config = StackConfig {
            mac: EthernetAddress(*TARGET.mac.as_bytes()),
            ipv4: vec![(TARGET.ip, PREFIX_LEN)],
            caps: ChecksumCaps::software(),
            dad_transmits: 0,
            autoconf: false,
            ..StackConfig::default()
        };
        let now = Instant::from_secs(1);
        let mut stack = Stack::new(config, pool.clone(), now);
        let socket = stack
            .bind_udp(SocketAddr::new(TARGET.ip.into(), TARGET.port))
            .expect("bind");
        // Bring-up announcements are not part of the measurement.
        let mut out = Vec::new();
        stack.poll_transmit(&mut out);
        let mut cache = pool.cache().expect("cache");
        let lent = match feed {
            Feed::Lend => frames
                .iter()
                .map(|f| {
                    let mut buf = cache.alloc().expect("buffer");
                    buf.put(f).expect("frame fits");
                    buf
                })
                .collect(),
            Feed::Ring | Feed::Copy => Vec::new(),
        };
        // The ring holds a whole number of rounds through the frames, so
        // the frame at each place stays the one the application expects
        // there.
        let mut ring = Vec::new();
        let (mut ring_offset, mut ring_len) = (0, 0);
        if feed == Feed::Ring {
            let rounds = RING_FRAMES.div_ceil(frames.len());
            for f in frames.iter().cycle().take(rounds * frames.len()) {
                let mut buf = cache.alloc().expect("buffer");
                buf.put(f).expect("frame fits");
                let (raw, offset, len) = cache.buf_into_raw(buf).expect("a sole frame");
                (ring_offset, ring_len) = (offset, len);
                ring.push(raw);
            }
        }
        StrataRx {
            stack,
            socket,
            cache,
            feed,
            frames: frames.to_vec(),
            lent,
            ring,
            taking: Vec::with_capacity(BURST),
            ring_offset,
            ring_len,
            next: 0,
            burst: Vec::with_capacity(BURST),
            got: Vec::with_capacity(2 * BURST),
            payload_len: frames[0].len() - rx_frames::HEADERS_LEN,
            received: 0,
            expect: 0,
            now,
            epoch: StdInstant::now(),
            _pool: pool,
        }
    }

    /// Offers `packets` frames, a burst per receive, draining the socket after
    /// every burst; returns how many datagrams were read. Panics if one is not
    /// the frame sent next (length or tag).
    #[inline(never)]
    pub fn receive(&mut self, packets: u64) -> u64 {
        let before = self.received;
        let flows = self.frames.len();
        let mut left = packets;
        while left > 0 {
            let n = (left as usize).min(BURST);
            left -= n as u64;
            match self.feed {
                Feed::Ring => {
                    // As the AF_XDP device turns what the kernel wrote into
                    // buffers: the ring's first `n` frames.
                    self.taking.extend(self.ring.drain(..n));
                    let got = self.cache.raw_into_bufs(
                        &mut self.taking,
                        self.ring_offset,
                        self.ring_len,
                        &mut self.burst,
                    );
                    assert_eq!(got, n, "frames of this pool");
                }
                Feed::Lend => {
                    for _ in 0..n {
                        self.burst.push(self.lent[self.next].clone());
                        self.next = if self.next + 1 == flows {
                            0
                        } else {
                            self.next + 1
                        };
                    }
                }
                Feed::Copy => {
                    // As a device writes received frames into fresh buffers
                    // from the worker's cache.
                    let (frames, next) = (&self.frames, &mut self.next);
                    let got = self.cache.alloc_filled(n, &mut self.burst, |room| {
                        let frame = &frames[*next];
                        room.get_mut(..frame.len())?.copy_from_slice(frame);
                        *next = if *next + 1 == flows { 0 } else { *next + 1 };
                        Some(frame.len())
                    });
                    assert_eq!(got, n, "pool has room");
                }
            }
            // The clock read once per burst, as a worker's round (and the
            // smoltcp peer's poll) does.
            let now = self.now + self.epoch.elapsed();
            self.stack.receive(now, &mut self.burst);
            self.socket.recv_bufs(&mut self.got, 2 * BURST);
            for buf in &self.got {
                // The buffer starts at the IP header: 20 bytes, then UDP's 8.
                let payload = &buf.data()[28..];
                let expect = self.expect as u32;
                assert!(
                    payload.len() == self.payload_len
                        && (payload.len() < 4 || rx_frames::payload_tag(payload) == Some(expect)),
                    "datagram {} is not frame {expect}: Strata dropped or reordered",
                    self.received
                );
                self.received += 1;
                // The next frame index, wrapping (no division per datagram).
                self.expect = if self.expect + 1 == flows {
                    0
                } else {
                    self.expect + 1
                };
            }
            if self.feed == Feed::Ring {
                // Every frame back on the ring, unchanged (the stack only
                // moved the buffer's start), as a driver posts it again.
                self.cache.bufs_into_raw(&mut self.got, &mut self.ring);
                assert!(self.got.is_empty(), "sole frames");
            } else {
                self.cache.free_all(&mut self.got);
            }
        }
        self.received - before
    }

    /// Frames the stack wanted to send (none for this traffic).
    pub fn transmitted(&mut self) -> usize {
        let mut out = Vec::new();
        self.stack.poll_transmit(&mut out)
    }
}

/// The loop under measurement (see `perf/callgrind-rx.sh`).
#[inline(never)]
pub fn measured_rx_loop(rx: &mut StrataRx, packets: u64) -> u64 {
    rx.receive(packets)
}

fn run_with(frames: &[Vec<u8>], packets: u64, feed: Feed) -> RxOutcome {
    let mut rx = StrataRx::new(frames, feed);
    let warm = (packets / 10).clamp(BURST as u64, 200_000);
    assert_eq!(rx.receive(warm), warm, "Strata dropped packets in warm-up");
    let start = StdInstant::now();
    let received = measured_rx_loop(&mut rx, packets);
    let elapsed = start.elapsed();
    assert_eq!(received, packets, "Strata dropped packets");
    assert_eq!(rx.transmitted(), 0, "Strata answered UDP to a bound port");
    RxOutcome {
        packets,
        received,
        ns_per_packet: elapsed.as_nanos() as f64 / packets.max(1) as f64,
    }
}

/// The subject `strata`: frames handed over from the device's ring by
/// index (see the module documentation).
pub fn run(frames: &[Vec<u8>], packets: u64) -> RxOutcome {
    run_with(frames, packets, Feed::Ring)
}

/// The subject `strata_copy`: every frame written into a fresh buffer.
pub fn run_copy(frames: &[Vec<u8>], packets: u64) -> RxOutcome {
    run_with(frames, packets, Feed::Copy)
}

/// The subject `strata_lend`: frames lent as zero-copy clones.
pub fn run_lend(frames: &[Vec<u8>], packets: u64) -> RxOutcome {
    run_with(frames, packets, Feed::Lend)
}
