//! The smoltcp peer of the RX-path comparison (issue 4, "Targets"): smoltcp
//! 0.14's UDP receive path, from Ethernet frame to `recv_slice`, on one core.
//!
//! Shared by `examples/rx_path.rs` and `benches/rx_path.rs` through
//! `#[path = "../peers/smoltcp_rx.rs"] mod smoltcp_rx;` (smoltcp is a
//! dev-dependency of `strata-perf`, so this lives outside the library).
//!
//! What is measured, per packet:
//! - the device hands smoltcp a received frame: [`FrameDevice`]'s RX token
//!   *lends* a slice of the prebuilt frame, no copy. A NIC would have DMA'd
//!   the frame into a buffer the stack reads from in place; lending the
//!   prebuilt bytes is that, minus the DMA, the cheapest honest way (Strata's
//!   side is fed the same way: the frames, not copies, are what differ
//!   nowhere);
//! - `Interface::poll`: Ethernet (destination MAC check), IPv4 (header
//!   checksum verified in software: smoltcp's default `ChecksumCapabilities`),
//!   UDP (checksum verified in software), socket demux, the copy of the
//!   payload into the socket's ring buffer;
//! - the application's read: `recv_slice` copies each datagram out, and the
//!   loop checks its length and the frame-index tag the payload starts with
//!   (see `strata_perf::rx_frames`), on the same core (run-to-completion).
//!
//! `Interface::poll` consumes RX tokens one at a time until the device
//! returns none, then runs egress once. The device hands out bursts of
//! [`BURST`] frames (32, Strata's default burst) and then nothing until the
//! next poll, so each poll processes 32 packets (the maintenance and egress
//! checks of a poll are spread over them, as a driver's burst would do) and
//! the socket is drained after each poll: its ring holds 2 × [`BURST`]
//! datagrams, so it never overflows and nothing is dropped. Time is read
//! once per poll (`smoltcp::time::Instant::now()`), as a real poll loop would.

use std::time::Instant as StdInstant;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::udp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr};
use strata_perf::rx_frames::{self, RxOutcome, PREFIX_LEN, TARGET};

/// Frames handed to smoltcp per `Interface::poll`.
pub const BURST: usize = 32;
/// Datagrams the socket's receive ring holds (twice a burst).
pub const SOCKET_SLOTS: usize = 2 * BURST;

/// An in-memory Ethernet device whose receive side hands out the prebuilt
/// frames in a loop, [`BURST`] per poll, lending each one (no copy).
#[derive(Debug)]
pub struct FrameDevice<'f> {
    frames: &'f [Vec<u8>],
    next: usize,
    /// Frames left in the current burst.
    budget: usize,
    /// Frames handed out since creation.
    pub handed_out: u64,
    /// Frames smoltcp transmitted (none are expected: nothing answers UDP to a bound port).
    pub transmitted: u64,
    tx_buf: Vec<u8>,
}

impl<'f> FrameDevice<'f> {
    /// A device that will receive `frames`, in order, in a loop.
    pub fn new(frames: &'f [Vec<u8>]) -> Self {
        assert!(!frames.is_empty(), "no frames to receive");
        FrameDevice {
            frames,
            next: 0,
            budget: 0,
            handed_out: 0,
            transmitted: 0,
            tx_buf: vec![0; 1514],
        }
    }

    /// Makes the next `n` frames available to the next poll.
    #[inline]
    pub fn arm(&mut self, n: usize) {
        self.budget = n;
    }
}

/// Lends one prebuilt frame.
#[derive(Debug)]
pub struct RxToken<'a>(&'a [u8]);

impl phy::RxToken for RxToken<'_> {
    #[inline]
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(self.0)
    }
}

/// Writes into a scratch buffer and counts (nothing is sent anywhere).
#[derive(Debug)]
pub struct TxToken<'a> {
    buf: &'a mut Vec<u8>,
    count: &'a mut u64,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        if self.buf.len() < len {
            self.buf.resize(len, 0);
        }
        *self.count += 1;
        f(&mut self.buf[..len])
    }
}

impl Device for FrameDevice<'_> {
    type RxToken<'a>
        = RxToken<'a>
    where
        Self: 'a;
    type TxToken<'a>
        = TxToken<'a>
    where
        Self: 'a;

    #[inline]
    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        if self.budget == 0 {
            return None;
        }
        self.budget -= 1;
        let frame = &self.frames[self.next][..];
        self.next += 1;
        if self.next == self.frames.len() {
            self.next = 0;
        }
        self.handed_out += 1;
        Some((
            RxToken(frame),
            TxToken {
                buf: &mut self.tx_buf,
                count: &mut self.transmitted,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        Some(TxToken {
            buf: &mut self.tx_buf,
            count: &mut self.transmitted,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps.max_burst_size = Some(BURST);
        // `caps.checksum` stays at its default: every checksum verified and
        // computed in software.
        caps
    }
}

/// smoltcp set up to receive: the device, an interface with the target's MAC
/// and address, one UDP socket bound to the target port.
pub struct SmoltcpRx<'f> {
    device: FrameDevice<'f>,
    iface: Interface,
    sockets: SocketSet<'static>,
    handle: SocketHandle,
    /// The application's buffer `recv_slice` copies into.
    buf: Vec<u8>,
    /// Expected payload length of every datagram (all frames have one size).
    payload_len: usize,
    flows: usize,
    /// Datagrams read and checked since creation.
    pub received: u64,
    /// The frame index the next datagram must carry.
    expect: usize,
}

impl std::fmt::Debug for SmoltcpRx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmoltcpRx")
            .field("device", &self.device)
            .field("payload_len", &self.payload_len)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl<'f> SmoltcpRx<'f> {
    /// Sets smoltcp up to receive `frames` (all of one size, built by
    /// `strata_perf::rx_frames`).
    pub fn new(frames: &'f [Vec<u8>]) -> Self {
        let payload_len = frames[0].len() - rx_frames::HEADERS_LEN;
        assert!(frames.iter().all(|f| f.len() == frames[0].len()));
        let mut device = FrameDevice::new(frames);
        let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(
            *TARGET.mac.as_bytes(),
        )));
        config.random_seed = 0x5eed;
        let mut iface = Interface::new(config, &mut device, Instant::now());
        iface.update_ip_addrs(|addrs| {
            addrs
                .push(IpCidr::new(IpAddress::Ipv4(TARGET.ip), PREFIX_LEN))
                .expect("room for one address");
        });
        let rx = udp::PacketBuffer::new(
            vec![udp::PacketMetadata::EMPTY; SOCKET_SLOTS],
            vec![0u8; SOCKET_SLOTS * payload_len.max(1)],
        );
        let tx = udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 1], vec![0u8; 64]);
        let mut socket = udp::Socket::new(rx, tx);
        socket.bind(TARGET.port).expect("bind the target port");
        let mut sockets = SocketSet::new(Vec::new());
        let handle = sockets.add(socket);
        SmoltcpRx {
            device,
            iface,
            sockets,
            handle,
            buf: vec![0u8; 2048],
            payload_len,
            flows: frames.len(),
            received: 0,
            expect: 0,
        }
    }

    /// Offers `packets` frames, a burst per poll, draining the socket after
    /// every poll; returns how many datagrams were read. Panics if a datagram
    /// is not the one sent next (length or tag), which would mean smoltcp
    /// dropped or reordered one.
    #[inline(never)]
    pub fn receive(&mut self, packets: u64) -> u64 {
        let before = self.received;
        let mut left = packets;
        while left > 0 {
            let n = (left as usize).min(BURST);
            left -= n as u64;
            self.device.arm(n);
            self.iface
                .poll(Instant::now(), &mut self.device, &mut self.sockets);
            let socket = self.sockets.get_mut::<udp::Socket>(self.handle);
            while let Ok((len, _meta)) = socket.recv_slice(&mut self.buf) {
                let expect = self.expect as u32;
                assert!(
                    len == self.payload_len
                        && (len < 4 || rx_frames::payload_tag(&self.buf[..len]) == Some(expect)),
                    "datagram {} is not frame {expect}: smoltcp dropped or reordered",
                    self.received
                );
                self.received += 1;
                // The next frame index, wrapping (no division per datagram).
                self.expect = if self.expect + 1 == self.flows {
                    0
                } else {
                    self.expect + 1
                };
            }
        }
        self.received - before
    }

    /// Frames smoltcp transmitted (ARP, ICMP): zero for this traffic.
    pub fn transmitted(&self) -> u64 {
        self.device.transmitted
    }

    /// The last datagram read (for checks of the whole payload).
    pub fn last_payload(&self) -> &[u8] {
        &self.buf[..self.payload_len]
    }
}

/// The loop under measurement; `perf/callgrind-rx.sh` toggles instruction
/// collection on this function's name (`measured_rx_loop`), so it is never
/// inlined and does nothing but receive.
#[inline(never)]
pub fn measured_rx_loop(rx: &mut SmoltcpRx<'_>, packets: u64) -> u64 {
    rx.receive(packets)
}

/// Packets received before the measured part (caches, branch predictors, the
/// socket's buffers warm): a tenth of the count, at most 200 000.
pub fn warmup_packets(packets: u64) -> u64 {
    (packets / 10).clamp(BURST as u64, 200_000)
}

/// Sets smoltcp up, warms it up, then receives `packets` frames (cycling
/// through `frames`) timed with `std::time::Instant`; asserts every one
/// arrived intact and nothing was transmitted.
pub fn run(frames: &[Vec<u8>], packets: u64) -> RxOutcome {
    let mut rx = SmoltcpRx::new(frames);
    let warm = warmup_packets(packets);
    assert_eq!(rx.receive(warm), warm, "smoltcp dropped packets in warm-up");
    let start = StdInstant::now();
    let received = measured_rx_loop(&mut rx, packets);
    let elapsed = start.elapsed();
    assert_eq!(received, packets, "smoltcp dropped packets");
    assert_eq!(rx.transmitted(), 0, "smoltcp answered UDP to a bound port");
    // The whole payload of the last datagram, byte for byte (the loop checked
    // every datagram's length and tag).
    let last = ((rx.received - 1) % frames.len() as u64) as usize;
    assert_eq!(
        rx.last_payload(),
        &rx_frames::payload_of(last, rx.last_payload().len())[..],
        "smoltcp delivered a wrong payload"
    );
    RxOutcome {
        packets,
        received,
        ns_per_packet: elapsed.as_nanos() as f64 / packets.max(1) as f64,
    }
}
