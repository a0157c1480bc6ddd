//! AF_XDP sockets (`Documentation/networking/af_xdp.rst`, `linux/if_xdp.h`):
//! a UMEM (here: a pool's whole region, so received frames land in pool
//! buffers) registered with the socket, and four single-producer,
//! single-consumer rings shared with the kernel:
//!
//! - fill (we produce): frames the kernel may receive into;
//! - RX (the kernel produces): received frames, as (address, length);
//! - TX (we produce): frames to send;
//! - completion (the kernel produces): sent frames, free again.
//!
//! Each ring is a power-of-two array of entries and two free-running `u32`
//! indices in shared memory. The producer writes entries, then publishes
//! its index with a Release store; the consumer loads that index with
//! Acquire before reading the entries, and publishes its own index with a
//! Release store once it has read them, so the producer (which loads it
//! with Acquire) never overwrites an entry still being read — the pairing
//! of the kernel's `xsk_queue.h`. Each side caches the other's index and
//! reloads it only when the cached value says the ring is full (empty).
//!
//! Writing goes through a [`Reservation`]: entries are written one by one
//! and only those written are published when it ends; a reservation
//! shorter than asked, or left half-used, loses nothing.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU32, Ordering};

use super::packet::{self, check};

/// One RX or TX ring entry (`struct xdp_desc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(C)]
pub struct Desc {
    /// The frame's address in the UMEM (its first byte).
    pub addr: u64,
    /// Its length.
    pub len: u32,
    /// Flags (`XDP_PKT_CONTD` for multi-buffer frames; 0 here).
    pub options: u32,
}

/// A mapping of one ring, unmapped on drop.
#[derive(Debug)]
struct Mapping {
    base: NonNull<u8>,
    len: usize,
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are exactly what mmap(2) returned and was
        // asked for; the ring structs that point into it are dropped with
        // (before) it, as they live in the same socket.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
    }
}

/// One ring: its shared indices and entries, and our cached view.
#[derive(Debug)]
pub struct Ring<T> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    entries: NonNull<T>,
    mask: u32,
    size: u32,
    /// Our view of the producer index (ours when we produce).
    cached_prod: u32,
    /// Our view of the consumer index (ours when we consume).
    cached_cons: u32,
}

impl<T: Copy> Ring<T> {
    /// The ring described by `off` inside `map` (of `size` entries).
    ///
    /// # Errors
    ///
    /// Offsets the kernel gave that do not lie inside the mapping.
    fn new(map: &Mapping, off: &libc::xdp_ring_offset, size: u32) -> io::Result<Ring<T>> {
        let within = |at: u64, len: usize| {
            usize::try_from(at)
                .ok()
                .and_then(|a| a.checked_add(len))
                .is_some_and(|end| end <= map.len)
        };
        let entries_len = std::mem::size_of::<T>() * size as usize;
        if !(within(off.producer, 4)
            && within(off.consumer, 4)
            && within(off.flags, 4)
            && within(off.desc, entries_len)
            && off.producer % 4 == 0
            && off.consumer % 4 == 0
            && off.flags % 4 == 0
            && off.desc % std::mem::align_of::<T>() as u64 == 0)
        {
            return Err(io::Error::other("ring offsets outside the ring's mapping"));
        }
        let at = |offset: u64| {
            // SAFETY: `offset` lies inside the mapping (checked above), so
            // the pointer stays in the same allocation.
            unsafe { NonNull::new_unchecked(map.base.as_ptr().add(offset as usize)) }
        };
        let mut ring = Ring {
            producer: at(off.producer).cast(),
            consumer: at(off.consumer).cast(),
            flags: at(off.flags).cast(),
            entries: at(off.desc).cast(),
            mask: size - 1,
            size,
            cached_prod: 0,
            cached_cons: 0,
        };
        // Acquire: the kernel initialised the ring before we mapped it;
        // start from its indices.
        ring.cached_prod = ring.producer().load(Ordering::Acquire);
        ring.cached_cons = ring.consumer().load(Ordering::Acquire);
        Ok(ring)
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into the live mapping owned by the same socket
        // (checked in-bounds and aligned in `new`); the kernel also only
        // touches it atomically.
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    /// Whether the kernel asks to be woken (`XDP_RING_NEED_WAKEUP`) to
    /// look at this ring.
    pub fn needs_wakeup(&self) -> bool {
        // SeqCst fence: our index store before it must be visible before we
        // read the flag, or the kernel could set the flag after last looking
        // at the ring and we would miss it (store→load ordering, which
        // Release/Acquire do not give).
        fence(Ordering::SeqCst);
        // SAFETY: as for `producer`.
        let flags = unsafe { self.flags.as_ref() };
        // Relaxed: ordered by the fence above.
        flags.load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    /// Entries the ring holds.
    pub fn size(&self) -> u32 {
        self.size
    }

    // --- producer side (fill, TX) ---

    /// Room for up to `want` entries (at least what is free now, at most
    /// `want`).
    pub fn reserve(&mut self, want: u32) -> Reservation<'_, T> {
        let mut free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        if free < want {
            // Acquire: pairs with the kernel's Release of the consumer index,
            // so its reads of those entries are done before we overwrite them.
            self.cached_cons = self.consumer().load(Ordering::Acquire);
            free = self.size - self.cached_prod.wrapping_sub(self.cached_cons);
        }
        Reservation {
            room: free.min(want),
            written: 0,
            ring: self,
        }
    }

    /// Entries we produced that the kernel has not consumed yet.
    pub fn outstanding(&mut self) -> u32 {
        // Acquire: as in `reserve`.
        self.cached_cons = self.consumer().load(Ordering::Acquire);
        self.cached_prod.wrapping_sub(self.cached_cons)
    }

    // --- consumer side (RX, completion) ---

    /// How many entries are ready to read, at most `max`.
    pub fn ready(&mut self, max: u32) -> u32 {
        let mut avail = self.cached_prod.wrapping_sub(self.cached_cons);
        if avail < max {
            // Acquire: pairs with the kernel's Release of the producer index,
            // so the entries it wrote before are visible.
            self.cached_prod = self.producer().load(Ordering::Acquire);
            avail = self.cached_prod.wrapping_sub(self.cached_cons);
        }
        avail.min(max).min(self.size)
    }

    /// Entry `i` of those [`Ring::ready`] counted (`i` below that count).
    pub fn read(&self, i: u32) -> T {
        let slot = (self.cached_cons.wrapping_add(i) & self.mask) as usize;
        // SAFETY: `slot <= mask < size`, inside the entries array (checked
        // in `new`); the kernel wrote it before publishing its producer
        // index, which we loaded with Acquire, and will not write it again
        // until we release it.
        unsafe { self.entries.as_ptr().add(slot).read_volatile() }
    }

    /// Hands the first `n` ready entries back to the kernel.
    pub fn release(&mut self, n: u32) {
        self.cached_cons = self.cached_cons.wrapping_add(n);
        // Release: our reads of those entries happen before the kernel may
        // overwrite them.
        self.consumer().store(self.cached_cons, Ordering::Release);
    }
}

/// Room in a ring being written; publishes what was written when dropped.
#[derive(Debug)]
pub struct Reservation<'r, T: Copy> {
    ring: &'r mut Ring<T>,
    room: u32,
    written: u32,
}

impl<T: Copy> Reservation<'_, T> {
    /// Entries that can still be written.
    pub fn room(&self) -> u32 {
        self.room - self.written
    }

    /// Writes the next entry; `false` (nothing written) when full.
    pub fn push(&mut self, entry: T) -> bool {
        if self.written == self.room {
            return false;
        }
        let ring = &mut *self.ring;
        let slot = (ring.cached_prod.wrapping_add(self.written) & ring.mask) as usize;
        // SAFETY: `slot < size`, inside the entries array; it lies in the
        // free part of the ring (at most `room` past our producer index,
        // which the consumer index we loaded with Acquire allows), so the
        // kernel does not read it until we publish it.
        unsafe { ring.entries.as_ptr().add(slot).write_volatile(entry) };
        self.written += 1;
        true
    }
}

impl<T: Copy> Drop for Reservation<'_, T> {
    fn drop(&mut self) {
        if self.written == 0 {
            return;
        }
        let ring = &mut *self.ring;
        ring.cached_prod = ring.cached_prod.wrapping_add(self.written);
        // Release: the entries written above are visible before the index
        // that hands them to the kernel.
        ring.producer().store(ring.cached_prod, Ordering::Release);
    }
}

/// How to bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XskConfig {
    /// The interface's index.
    pub ifindex: u32,
    /// Its receive/transmit queue.
    pub queue: u32,
    /// Entries in each of the four rings (a power of two).
    pub ring_size: u32,
    /// Bind in zero-copy mode (`XDP_ZEROCOPY`) rather than copy mode.
    pub zero_copy: bool,
    /// Ask the kernel to say when it needs a wakeup (`XDP_USE_NEED_WAKEUP`).
    pub need_wakeup: bool,
}

/// The UMEM: where frames live.
#[derive(Debug, Clone, Copy)]
pub struct Umem {
    /// The region's first byte (page-aligned).
    pub base: *mut u8,
    /// Its length (a multiple of `chunk`).
    pub len: usize,
    /// Bytes per frame (a power of two, 2048 to the page size).
    pub chunk: u32,
}

/// The kernel's counters of a socket (`struct xdp_statistics`).
pub type XskStatistics = libc::xdp_statistics;

/// A bound AF_XDP socket and its rings. The UMEM's memory must outlive it.
#[derive(Debug)]
pub struct XskSocket {
    /// Frames to receive into.
    pub fill: Ring<u64>,
    /// Frames sent.
    pub completion: Ring<u64>,
    /// Frames received.
    pub rx: Ring<Desc>,
    /// Frames to send.
    pub tx: Ring<Desc>,
    // The rings point into these: dropped after them (field order).
    _maps: [Mapping; 4],
    fd: OwnedFd,
}

// SAFETY: the ring mappings are owned by this value alone, and the kernel
// side synchronises through the ring indices; moving the owner to another
// thread moves that ownership.
unsafe impl Send for XskSocket {}

/// `setsockopt(fd, SOL_XDP, name, value)`.
fn setsockopt<T>(fd: RawFd, name: libc::c_int, value: &T) -> io::Result<()> {
    packet::setsockopt(fd, libc::SOL_XDP, name, value)
}

fn map_ring(fd: RawFd, len: usize, offset: u64) -> io::Result<Mapping> {
    // SAFETY: mapping a ring the kernel made for this socket, at the page
    // offset that names it; the result is checked below.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_POPULATE,
            fd,
            offset as libc::off_t,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let base = NonNull::new(p.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
    Ok(Mapping { base, len })
}

/// The step of [`XskSocket::open`] that failed, with the kernel's answer.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {source}")]
pub struct XskError {
    /// What was being done.
    pub step: &'static str,
    /// The kernel's answer.
    pub source: io::Error,
}

impl XskSocket {
    /// Opens an AF_XDP socket on `umem`, sets up its rings and binds it.
    ///
    /// # Errors
    ///
    /// [`XskError`]: the step and the kernel's answer (`EPERM` without
    /// `CAP_NET_RAW`; `EOPNOTSUPP` for zero-copy on a driver without it;
    /// `EBUSY` when the queue has a socket already).
    pub fn open(umem: Umem, config: XskConfig) -> Result<XskSocket, XskError> {
        let step = |step: &'static str| move |source: io::Error| XskError { step, source };
        if !config.ring_size.is_power_of_two() {
            return Err(XskError {
                step: "ring size",
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a power of two"),
            });
        }
        // SAFETY: a plain socket(2) call; the descriptor is owned right below.
        let fd =
            check(unsafe { libc::socket(libc::AF_XDP, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) })
                .map_err(step("socket(AF_XDP)"))?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        let reg = libc::xdp_umem_reg {
            addr: umem.base as u64,
            len: umem.len as u64,
            chunk_size: umem.chunk,
            headroom: 0,
            flags: 0,
            tx_metadata_len: 0,
        };
        setsockopt(raw, libc::XDP_UMEM_REG, &reg).map_err(step("registering the UMEM"))?;
        let n = config.ring_size;
        setsockopt(raw, libc::XDP_UMEM_FILL_RING, &n).map_err(step("fill ring"))?;
        setsockopt(raw, libc::XDP_UMEM_COMPLETION_RING, &n).map_err(step("completion ring"))?;
        setsockopt(raw, libc::XDP_RX_RING, &n).map_err(step("RX ring"))?;
        setsockopt(raw, libc::XDP_TX_RING, &n).map_err(step("TX ring"))?;
        // SAFETY: an all-zero `xdp_mmap_offsets` is a valid value.
        let mut off: libc::xdp_mmap_offsets = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::xdp_mmap_offsets>() as libc::socklen_t;
        // SAFETY: `off` is a live struct of `len` bytes for the kernel to fill.
        check(unsafe {
            libc::getsockopt(
                raw,
                libc::SOL_XDP,
                libc::XDP_MMAP_OFFSETS,
                (&mut off as *mut libc::xdp_mmap_offsets).cast(),
                &mut len,
            )
        })
        .map_err(step("ring offsets"))?;
        if len as usize != std::mem::size_of::<libc::xdp_mmap_offsets>() {
            return Err(XskError {
                step: "ring offsets",
                source: io::Error::other("a kernel without ring flags (before 5.4)"),
            });
        }
        let n64 = u64::from(n);
        let ring_len = |o: &libc::xdp_ring_offset, entry: u64| (o.desc + n64 * entry) as usize;
        let fill_map = map_ring(raw, ring_len(&off.fr, 8), libc::XDP_UMEM_PGOFF_FILL_RING)
            .map_err(step("mapping the fill ring"))?;
        let comp_map = map_ring(
            raw,
            ring_len(&off.cr, 8),
            libc::XDP_UMEM_PGOFF_COMPLETION_RING,
        )
        .map_err(step("mapping the completion ring"))?;
        let rx_map = map_ring(raw, ring_len(&off.rx, 16), libc::XDP_PGOFF_RX_RING as u64)
            .map_err(step("mapping the RX ring"))?;
        let tx_map = map_ring(
            raw,
            ring_len(&off.tx, 16),
            libc::XDP_PGOFF_TX_RING as u32 as u64,
        )
        .map_err(step("mapping the TX ring"))?;
        let bad = step("ring layout");
        let fill = Ring::new(&fill_map, &off.fr, n).map_err(bad)?;
        let completion = Ring::new(&comp_map, &off.cr, n).map_err(step("ring layout"))?;
        let rx = Ring::new(&rx_map, &off.rx, n).map_err(step("ring layout"))?;
        let tx = Ring::new(&tx_map, &off.tx, n).map_err(step("ring layout"))?;
        let socket = XskSocket {
            fill,
            completion,
            rx,
            tx,
            _maps: [fill_map, comp_map, rx_map, tx_map],
            fd,
        };
        let mut flags = if config.zero_copy {
            libc::XDP_ZEROCOPY
        } else {
            libc::XDP_COPY
        };
        if config.need_wakeup {
            flags |= libc::XDP_USE_NEED_WAKEUP;
        }
        let addr = libc::sockaddr_xdp {
            sxdp_family: libc::AF_XDP as u16,
            sxdp_flags: flags,
            sxdp_ifindex: config.ifindex,
            sxdp_queue_id: config.queue,
            sxdp_shared_umem_fd: 0,
        };
        // SAFETY: `addr` is a live `sockaddr_xdp` of the size passed.
        check(unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_xdp).cast(),
                std::mem::size_of::<libc::sockaddr_xdp>() as libc::socklen_t,
            )
        })
        .map_err(step("bind"))?;
        Ok(socket)
    }

    /// The socket's descriptor: readable when the RX ring has frames; its
    /// value goes into the XSKMAP.
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Asks the kernel to transmit what the TX ring holds (copy mode, or
    /// when it asked for a wakeup). Busy or out-of-buffer answers mean "try
    /// again later" and are not errors.
    pub fn kick_tx(&self) -> io::Result<()> {
        // SAFETY: a zero-length send on our own socket; no buffer is passed.
        let rc = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                std::ptr::null(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null(),
                0,
            )
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            return match e.raw_os_error() {
                Some(libc::EAGAIN | libc::EBUSY | libc::ENOBUFS | libc::ENETDOWN) => Ok(()),
                _ => Err(e),
            };
        }
        Ok(())
    }

    /// Wakes the kernel to refill from the fill ring (when it asked).
    pub fn kick_rx(&self) {
        // SAFETY: a zero-length, non-blocking receive on our own socket; no
        // buffer is passed. Its answer does not matter (it is a wakeup).
        unsafe {
            libc::recvfrom(
                self.fd.as_raw_fd(),
                std::ptr::null_mut(),
                0,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            );
        }
    }

    /// The kernel's counters for this socket.
    ///
    /// # Errors
    ///
    /// The kernel's refusal.
    pub fn statistics(&self) -> io::Result<XskStatistics> {
        // SAFETY: an all-zero `xdp_statistics` is a valid value.
        let mut stats: XskStatistics = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<XskStatistics>() as libc::socklen_t;
        // SAFETY: `stats` is a live struct of `len` bytes for the kernel to fill.
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_STATISTICS,
                (&mut stats as *mut XskStatistics).cast(),
                &mut len,
            )
        })?;
        Ok(stats)
    }

    /// Whether the socket is bound in zero-copy mode (`XDP_OPTIONS`).
    pub fn is_zero_copy(&self) -> bool {
        let mut opts = libc::xdp_options { flags: 0 };
        let mut len = std::mem::size_of::<libc::xdp_options>() as libc::socklen_t;
        // SAFETY: `opts` is a live struct of `len` bytes for the kernel to fill.
        let rc = unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_XDP,
                libc::XDP_OPTIONS,
                (&mut opts as *mut libc::xdp_options).cast(),
                &mut len,
            )
        };
        rc == 0 && opts.flags & libc::XDP_OPTIONS_ZEROCOPY != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring over plain memory, both ends driven here, to check the index
    /// arithmetic (the kernel side is exercised by the kernel tests).
    fn ring_over(mem: &mut [u64; 16], size: u32) -> Ring<u64> {
        let base = NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap();
        let map = Mapping {
            base,
            len: std::mem::size_of_val(mem),
        };
        let off = libc::xdp_ring_offset {
            producer: 0,
            consumer: 8,
            flags: 16,
            desc: 64,
        };
        let ring = Ring::new(&map, &off, size).unwrap();
        // The memory is not ours to unmap.
        std::mem::forget(map);
        ring
    }

    #[test]
    fn reservations_publish_only_what_was_written_and_wrap() {
        let mut mem = [0u64; 16];
        let mut ring = ring_over(&mut mem, 4);
        {
            let mut r = ring.reserve(8);
            assert_eq!(r.room(), 4, "never more than the ring holds");
            assert!(r.push(10) && r.push(11));
        }
        assert_eq!(ring.cached_prod, 2, "two written, two published");
        // Consume them as the other side: the consumer index moves.
        assert_eq!(ring.ready(8), 2);
        assert_eq!((ring.read(0), ring.read(1)), (10, 11));
        ring.release(2);
        for round in 0..5u64 {
            let mut r = ring.reserve(3);
            assert_eq!(r.room(), 3);
            for k in 0..3 {
                assert!(r.push(round * 10 + k));
            }
            drop(r);
            assert_eq!(ring.ready(8), 3);
            for k in 0..3 {
                assert_eq!(ring.read(k as u32), round * 10 + k);
            }
            ring.release(3);
        }
        assert_eq!(ring.cached_prod, 17, "indices run free and wrap the mask");
        let mut r = ring.reserve(4);
        assert!((0..4).all(|k| r.push(k)));
        assert!(!r.push(99), "full");
    }

    #[test]
    fn offsets_outside_the_mapping_are_refused() {
        let mut mem = [0u64; 16];
        let map = Mapping {
            base: NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap(),
            len: std::mem::size_of_val(&mem),
        };
        let off = libc::xdp_ring_offset {
            producer: 0,
            consumer: 8,
            flags: 16,
            desc: 64,
        };
        assert!(
            Ring::<u64>::new(&map, &off, 16).is_err(),
            "16 entries do not fit"
        );
        std::mem::forget(map);
    }
}
