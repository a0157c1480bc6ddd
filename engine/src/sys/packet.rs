//! AF_PACKET sockets with a TPACKET_V3 receive ring (`packet(7)`,
//! `Documentation/networking/packet_mmap.rst`): the kernel writes received
//! frames into blocks of a ring shared with us, and hands a whole block over
//! at once (`TP_STATUS_USER`); we hand it back (`TP_STATUS_KERNEL`) once its
//! frames are copied out. Transmit is one `send` per frame.
//!
//! The ring is memory the kernel writes concurrently: it is only ever read
//! through raw pointers, a block's frames only after its status was read
//! with Acquire ordering, and a block is returned with a Release store after
//! the last read of it. Transmit is `sendmmsg` over runs of frames
//! ([`PacketSocket::send_many`]), or one `send`.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// The ring's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingConfig {
    /// Bytes per block (a multiple of the page size, a power of two).
    pub block_size: u32,
    /// Blocks in the ring.
    pub blocks: u32,
    /// How long the kernel may keep a partly filled block before handing
    /// it over, in milliseconds (the latency floor of a quiet link).
    pub retire_ms: u32,
}

impl Default for RingConfig {
    fn default() -> Self {
        RingConfig {
            block_size: 1 << 16,
            blocks: 64,
            retire_ms: 1,
        }
    }
}

/// One frame of a block, as the kernel described it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxFrame {
    /// Where the frame's bytes start, from the block's start.
    pub offset: usize,
    /// Bytes captured.
    pub len: usize,
    /// `tp_status` (`TP_STATUS_CSUMNOTREADY`, `TP_STATUS_VLAN_VALID`, ...).
    pub status: u32,
    /// The VLAN tag the kernel took off the frame (with `TP_STATUS_VLAN_VALID`).
    pub vlan_tci: u16,
    /// Its TPID (with `TP_STATUS_VLAN_TPID_VALID`; 0x8100 otherwise).
    pub vlan_tpid: u16,
}

/// An AF_PACKET socket bound to one interface, with its receive ring.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ring: NonNull<u8>,
    ring_len: usize,
    config: RingConfig,
    ifindex: i32,
}

// SAFETY: the ring mapping is owned by this value alone (nothing else holds
// its pointer), and the kernel side synchronises through the block status
// words; moving the owner to another thread moves that ownership.
unsafe impl Send for PacketSocket {}

/// `TPACKET_V3` of `enum tpacket_versions` (`linux/if_packet.h`).
const TPACKET_V3: libc::c_int = 2;

/// A system call's return value, or the error it left in `errno`.
pub(super) fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(rc)
    }
}

/// `setsockopt(2)` with a value of type `T`.
pub(super) fn setsockopt<T>(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    // SAFETY: `value` points to a live `T` of the size passed; the kernel
    // only reads it.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (value as *const T).cast(),
            std::mem::size_of::<T>() as libc::socklen_t,
        )
    };
    check(rc).map(|_| ())
}

/// The index of interface `name` in the calling thread's namespace.
///
/// # Errors
///
/// No such interface.
pub fn ifindex(name: &str) -> io::Result<i32> {
    let c = std::ffi::CString::new(name)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in interface name"))?;
    // SAFETY: `c` is a NUL-terminated string that outlives the call.
    let index = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if index == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(index as i32)
}

/// The Ethernet address of interface `name` (`SIOCGIFHWADDR`).
///
/// # Errors
///
/// No such interface.
pub fn hw_addr(name: &str) -> io::Result<[u8; 6]> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    // SAFETY: a plain socket(2) call; the descriptor is owned right below.
    let fd =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an all-zero `ifreq` is a valid value (plain integers and arrays).
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *slot = byte as libc::c_char;
    }
    // SAFETY: `req` is a live `ifreq` with a NUL-terminated name; the kernel
    // writes the hardware address into its union.
    check(unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFHWADDR as _, &mut req) })?;
    // SAFETY: SIOCGIFHWADDR filled the `ifru_hwaddr` member of the union.
    let addr = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (m, b) in mac.iter_mut().zip(addr.sa_data.iter()) {
        *m = *b as u8;
    }
    Ok(mac)
}

impl PacketSocket {
    /// Opens an AF_PACKET socket on `iface` with a TPACKET_V3 receive ring;
    /// with `promiscuous`, the interface passes frames for any MAC.
    ///
    /// # Errors
    ///
    /// The kernel's refusal (`EPERM` without `CAP_NET_RAW`), no such
    /// interface, a ring shape it does not take.
    pub fn open(iface: &str, config: RingConfig, promiscuous: bool) -> io::Result<PacketSocket> {
        let ifindex = ifindex(iface)?;
        let protocol = (libc::ETH_P_ALL as u16).to_be();
        // SAFETY: a plain socket(2) call; the descriptor is owned right below.
        let fd = check(unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                libc::c_int::from(protocol),
            )
        })?;
        // SAFETY: `fd` was just returned by socket(2) and is owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let raw = fd.as_raw_fd();
        setsockopt(raw, libc::SOL_PACKET, libc::PACKET_VERSION, &TPACKET_V3)?;
        // Our own transmissions are not received back (Linux 4.20+; older
        // kernels refuse the option and the frames come back: the stack
        // drops them as not for it).
        let _ = setsockopt(
            raw,
            libc::SOL_PACKET,
            libc::PACKET_IGNORE_OUTGOING,
            &1 as &libc::c_int,
        );
        let frame_size = 2048u32;
        let req = libc::tpacket_req3 {
            tp_block_size: config.block_size,
            tp_block_nr: config.blocks,
            tp_frame_size: frame_size,
            tp_frame_nr: config.block_size / frame_size * config.blocks,
            tp_retire_blk_tov: config.retire_ms,
            tp_sizeof_priv: 0,
            tp_feature_req_word: 0,
        };
        setsockopt(raw, libc::SOL_PACKET, libc::PACKET_RX_RING, &req)?;
        let ring_len = config.block_size as usize * config.blocks as usize;
        // SAFETY: mapping the ring the kernel just made for this socket, of
        // the size it was given; the result is checked below.
        let ring = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                raw,
                0,
            )
        };
        if ring == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ring = NonNull::new(ring.cast::<u8>()).ok_or_else(io::Error::last_os_error)?;
        let socket = PacketSocket {
            fd,
            ring,
            ring_len,
            config,
            ifindex,
        };
        // SAFETY: an all-zero `sockaddr_ll` is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_protocol = protocol;
        addr.sll_ifindex = ifindex;
        // SAFETY: `addr` is a live `sockaddr_ll` of the size passed.
        check(unsafe {
            libc::bind(
                raw,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        })?;
        if promiscuous {
            // SAFETY: an all-zero `packet_mreq` is a valid value.
            let mut mreq: libc::packet_mreq = unsafe { std::mem::zeroed() };
            mreq.mr_ifindex = ifindex;
            mreq.mr_type = libc::PACKET_MR_PROMISC as u16;
            setsockopt(raw, libc::SOL_PACKET, libc::PACKET_ADD_MEMBERSHIP, &mreq)?;
        }
        Ok(socket)
    }

    /// The socket, to wait on (readable when a block is handed over).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// The frames the kernel dropped for want of a free block since the
    /// last call (`PACKET_STATISTICS`: the kernel counts from zero again
    /// after each read).
    ///
    /// # Errors
    ///
    /// The kernel's refusal.
    pub fn take_drops(&self) -> io::Result<u64> {
        // SAFETY: an all-zero `tpacket_stats_v3` is a valid value.
        let mut stats: libc::tpacket_stats_v3 = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::tpacket_stats_v3>() as libc::socklen_t;
        // SAFETY: `stats` is a live struct of `len` bytes for the kernel to
        // fill (the TPACKET_V3 form, as the ring is V3).
        check(unsafe {
            libc::getsockopt(
                self.fd.as_raw_fd(),
                libc::SOL_PACKET,
                libc::PACKET_STATISTICS,
                (&mut stats as *mut libc::tpacket_stats_v3).cast(),
                &mut len,
            )
        })?;
        Ok(u64::from(stats.tp_drops))
    }

    /// The interface's index.
    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }

    /// Blocks in the ring.
    pub fn blocks(&self) -> u32 {
        self.config.blocks
    }

    fn block(&self, index: u32) -> *mut u8 {
        let at = (index % self.config.blocks) as usize * self.config.block_size as usize;
        // SAFETY: `at` is the start of a block inside the mapping.
        unsafe { self.ring.as_ptr().add(at) }
    }

    /// The status word of block `index` (`tpacket_hdr_v1.block_status`, at
    /// offset 8 of the block descriptor).
    fn status(&self, index: u32) -> &AtomicU32 {
        // SAFETY: offset 8 of a block is its 4-byte aligned status word,
        // inside the mapping for the mapping's life (which `&self` bounds);
        // the kernel and we both access it atomically.
        unsafe { &*self.block(index).add(8).cast::<AtomicU32>() }
    }

    /// Reads a `u32` at `offset` of block `index`.
    fn read_u32(&self, index: u32, offset: usize) -> u32 {
        // SAFETY: callers pass offsets inside the block (checked against the
        // block size); the block is ours (status USER, read with Acquire).
        unsafe { self.block(index).add(offset).cast::<u32>().read_unaligned() }
    }

    /// Whether block `index` holds frames for us; Acquire: the kernel's
    /// writes of the frames happen before we read them.
    pub fn block_ready(&self, index: u32) -> bool {
        self.status(index).load(Ordering::Acquire) & libc::TP_STATUS_USER != 0
    }

    /// The frames of block `index` (which must be ready): their count and
    /// the offset of the first.
    pub fn block_frames(&self, index: u32) -> (u32, usize) {
        (self.read_u32(index, 12), self.read_u32(index, 16) as usize)
    }

    /// The frame header at `offset` of block `index`, and the offset of the
    /// next one. `None` for a header that does not lie inside the block.
    pub fn frame_at(&self, index: u32, offset: usize) -> Option<(RxFrame, usize)> {
        let block = self.config.block_size as usize;
        if offset.checked_add(48)? > block {
            return None;
        }
        let next = self.read_u32(index, offset) as usize;
        let snaplen = self.read_u32(index, offset + 12) as usize;
        let status = self.read_u32(index, offset + 20);
        let mac_and_net = self.read_u32(index, offset + 24);
        let mac = (mac_and_net & 0xffff) as usize;
        let vlan_tci = self.read_u32(index, offset + 32) as u16;
        let vlan_tpid = (self.read_u32(index, offset + 36) & 0xffff) as u16;
        let start = offset.checked_add(mac)?;
        if start.checked_add(snaplen)? > block {
            return None;
        }
        Some((
            RxFrame {
                offset: start,
                len: snaplen,
                status,
                vlan_tci,
                vlan_tpid,
            },
            offset + next,
        ))
    }

    /// Copies a frame of block `index` into `dst` (at most `dst.len()`
    /// bytes); returns how many.
    pub fn copy_frame(&self, index: u32, frame: &RxFrame, dst: &mut [u8]) -> usize {
        let n = frame.len.min(dst.len());
        // SAFETY: `frame` came from `frame_at`, which checked that it lies
        // inside the block; the block is ours until `release`; `dst` is a
        // distinct, writable slice of at least `n` bytes.
        unsafe {
            std::ptr::copy_nonoverlapping(self.block(index).add(frame.offset), dst.as_mut_ptr(), n);
        }
        n
    }

    /// Hands block `index` back to the kernel; Release: our reads of its
    /// frames happen before the kernel writes into it again.
    pub fn release(&self, index: u32) {
        self.status(index)
            .store(libc::TP_STATUS_KERNEL, Ordering::Release);
    }

    /// Sends one frame; `Ok(false)` when the socket's queue is full.
    ///
    /// # Errors
    ///
    /// The kernel's refusal of the frame (too long, interface down).
    pub fn send(&self, frame: &[u8]) -> io::Result<bool> {
        // SAFETY: `frame` is a live slice of the length passed; the kernel
        // only reads it.
        let rc = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                libc::MSG_DONTWAIT,
            )
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) {
                return Ok(false);
            }
            return Err(e);
        }
        Ok(true)
    }
}

/// Frames per `sendmmsg` call at most.
pub const SEND_BATCH: usize = 64;

impl PacketSocket {
    /// Sends `frames` (at most [`SEND_BATCH`] are looked at) in one
    /// `sendmmsg`; returns how many the kernel took, from the front (0 when
    /// its queue is full).
    ///
    /// # Errors
    ///
    /// The kernel's refusal of the first frame (too long, interface down);
    /// the caller drops that one and goes on.
    pub fn send_many(&self, frames: &[&[u8]]) -> io::Result<usize> {
        let n = frames.len().min(SEND_BATCH);
        if n == 0 {
            return Ok(0);
        }
        // SAFETY: all-zero `iovec`s and `mmsghdr`s are valid values (null
        // pointers, zero lengths).
        let mut iov: [libc::iovec; SEND_BATCH] = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        let mut msgs: [libc::mmsghdr; SEND_BATCH] = unsafe { std::mem::zeroed() };
        for i in 0..n {
            iov[i] = libc::iovec {
                iov_base: frames[i].as_ptr() as *mut libc::c_void,
                iov_len: frames[i].len(),
            };
            msgs[i].msg_hdr.msg_iov = &mut iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: `msgs[..n]` each point to one live `iovec` that points to a
        // live frame slice of its length; all outlive the call, and the
        // kernel only reads the frames (it writes `msg_len` back).
        let rc = unsafe {
            libc::sendmmsg(
                self.fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                n as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS) {
                return Ok(0);
            }
            return Err(e);
        }
        Ok(rc as usize)
    }
}

impl Drop for PacketSocket {
    fn drop(&mut self) {
        // SAFETY: the mapping was made by `open` with this length and is
        // not used after this (the socket closes right after).
        unsafe {
            libc::munmap(self.ring.as_ptr().cast(), self.ring_len);
        }
    }
}
