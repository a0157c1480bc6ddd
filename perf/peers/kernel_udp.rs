//! The kernel peer of the RX-path comparison (issue 4, "Targets"): the Linux
//! kernel's UDP receive over loopback, `sendmmsg` and `recvmmsg` in batches of
//! [`BATCH`], one sender thread and one receiver thread pinned to two CPUs.
//!
//! Shared by `examples/rx_path.rs` (and any bench) through
//! `#[path = "../peers/kernel_udp.rs"] mod kernel_udp;` (nix is a
//! dev-dependency of `strata-perf`).
//!
//! The datagrams carry the payload of a 64-byte frame (18 bytes, see
//! `strata_perf::rx_frames`), or of any other frame size asked for. Both
//! sockets are bound to 127.0.0.1 and the sender is connected to the
//! receiver's 127.0.0.1 port: nothing is sent anywhere else. The run is
//! bounded in count and in time: the sender stops after `packets` datagrams
//! or `max_time`, whichever comes first; the receiver stops when it has them
//! all, or [`RECV_IDLE`] after the sender stopped. The loopback drops what
//! does not fit the receiver's buffer (SO_RCVBUF is raised to 16 MiB, forced
//! past `rmem_max` when the process may); the figure is what was received,
//! per second from the start to the last datagram read.

use std::io;
use std::io::{IoSlice, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::socket::{
    recvmmsg, sendmmsg, setsockopt, sockopt, ControlMessage, MsgFlags, MultiHeaders, SockaddrIn,
};
use strata_perf::rx_frames;

/// Datagrams per `sendmmsg` and per `recvmmsg`.
pub const BATCH: usize = 32;
/// How long the receiver waits for more once the sender has stopped.
pub const RECV_IDLE: Duration = Duration::from_millis(200);
/// The receive buffer asked for.
pub const RCVBUF: usize = 16 << 20;

/// What one loopback run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelOutcome {
    /// Datagrams the sender handed to the kernel.
    pub sent: u64,
    /// Datagrams the receiver read (each of the right length).
    pub received: u64,
    /// Datagrams of the wrong length (none expected).
    pub bad: u64,
    /// Seconds from the start to the last datagram read.
    pub seconds: f64,
    /// The receive buffer the kernel granted, bytes.
    pub rcvbuf: usize,
}

impl KernelOutcome {
    /// Millions of datagrams received per second.
    pub fn mpps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.received as f64 / self.seconds / 1e6
        } else {
            0.0
        }
    }

    /// Nanoseconds per received datagram.
    pub fn ns_per_packet(&self) -> f64 {
        if self.received > 0 {
            self.seconds * 1e9 / self.received as f64
        } else {
            f64::NAN
        }
    }
}

fn nix_err(e: Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

/// Sends up to `packets` datagrams of the payload of a `size`-byte frame from
/// one pinned thread to another over 127.0.0.1, for at most `max_time`, and
/// counts what arrives. `cpus` are (receiver, sender); `None` leaves the
/// threads unpinned.
///
/// # Errors
/// A socket that cannot be created, bound or connected; a size outside the
/// frame sizes of `rx_frames`.
pub fn run(
    size: usize,
    packets: u64,
    max_time: Duration,
    cpus: Option<(usize, usize)>,
) -> io::Result<KernelOutcome> {
    let payload_len = rx_frames::payload_len(size)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    let localhost = Ipv4Addr::LOCALHOST;
    let rx = UdpSocket::bind((localhost, 0))?;
    if setsockopt(&rx, sockopt::RcvBufForce, &RCVBUF).is_err() {
        setsockopt(&rx, sockopt::RcvBuf, &RCVBUF).map_err(nix_err)?;
    }
    let rcvbuf = nix::sys::socket::getsockopt(&rx, sockopt::RcvBuf).map_err(nix_err)?;
    rx.set_read_timeout(Some(RECV_IDLE))?;
    let to = rx.local_addr()?;
    let tx = UdpSocket::bind((localhost, 0))?;
    // Never anywhere but the loopback receiver above.
    assert!(matches!(to, SocketAddr::V4(a) if *a.ip() == localhost));
    tx.connect(to)?;

    let barrier = Arc::new(Barrier::new(2));
    let sender_done = Arc::new(AtomicBool::new(false));
    let (bar, done) = (barrier.clone(), sender_done.clone());
    let sender = std::thread::spawn(move || -> io::Result<u64> {
        if let Some((_, c)) = cpus {
            let _ = strata_engine::cpu::pin_current(c);
        }
        let payloads: Vec<Vec<u8>> = (0..BATCH)
            .map(|i| rx_frames::payload_of(i, payload_len))
            .collect();
        let iovs: Vec<[IoSlice<'_>; 1]> = payloads.iter().map(|p| [IoSlice::new(p)]).collect();
        let addrs: Vec<Option<SockaddrIn>> = vec![None; BATCH];
        let mut headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
        let fd = tx.as_raw_fd();
        bar.wait();
        let start = Instant::now();
        let mut sent = 0u64;
        let result = loop {
            if sent >= packets || start.elapsed() >= max_time {
                break Ok(sent);
            }
            let n = BATCH.min((packets - sent) as usize);
            let cmsgs: [ControlMessage<'_>; 0] = [];
            match sendmmsg(
                fd,
                &mut headers,
                &iovs[..n],
                &addrs[..n],
                cmsgs,
                MsgFlags::empty(),
            ) {
                Ok(results) => sent += results.count() as u64,
                // A full queue on the way: try again.
                Err(Errno::ENOBUFS | Errno::EAGAIN | Errno::EINTR) => std::thread::yield_now(),
                // The receiver's port refused a datagram (it is gone): stop.
                Err(Errno::ECONNREFUSED) => break Ok(sent),
                Err(e) => break Err(nix_err(e)),
            }
        };
        done.store(true, Ordering::Release);
        result
    });

    // The receiver runs on its own pinned thread too, so the caller stays unpinned.
    let receiver = std::thread::spawn(move || -> io::Result<(u64, u64, f64)> {
        if let Some((c, _)) = cpus {
            let _ = strata_engine::cpu::pin_current(c);
        }
        let mut bufs = vec![[0u8; 2048]; BATCH];
        let mut headers = MultiHeaders::<SockaddrIn>::preallocate(BATCH, None);
        let fd = rx.as_raw_fd();
        let (mut received, mut bad) = (0u64, 0u64);
        barrier.wait();
        let start = Instant::now();
        let mut last = start;
        let hard_stop = max_time + Duration::from_secs(2);
        while received + bad < packets && start.elapsed() < hard_stop {
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> =
                bufs.iter_mut().map(|b| [IoSliceMut::new(b)]).collect();
            match recvmmsg(fd, &mut headers, &mut iovs, MsgFlags::MSG_WAITFORONE, None) {
                Ok(results) => {
                    for m in results {
                        if m.bytes == payload_len {
                            received += 1;
                        } else {
                            bad += 1;
                        }
                    }
                    last = Instant::now();
                }
                Err(Errno::EAGAIN | Errno::EINTR) => {
                    if sender_done.load(Ordering::Acquire) && last.elapsed() >= RECV_IDLE {
                        break;
                    }
                }
                Err(e) => return Err(nix_err(e)),
            }
        }
        Ok((received, bad, last.duration_since(start).as_secs_f64()))
    });
    let received = receiver
        .join()
        .map_err(|_| io::Error::other("receiver thread panicked"));
    let sent = sender
        .join()
        .map_err(|_| io::Error::other("sender thread panicked"))??;
    let (received, bad, seconds) = received??;
    Ok(KernelOutcome {
        sent,
        received,
        bad,
        seconds,
        rcvbuf,
    })
}
