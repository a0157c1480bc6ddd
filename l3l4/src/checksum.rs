//! The internet checksum: computation (RFC 1071), incremental update (RFC 1624),
//! the IPv4 and IPv6 pseudo-headers (RFC 768, RFC 8200 §8.1) and checksum offload
//! capabilities.
//!
//! # Partial sums
//!
//! A *partial sum* is a `u32` holding a one's-complement sum of big-endian 16-bit words
//! that has not been inverted yet. Partial sums of different pieces add up with plain
//! `+` (as long as the total stays below 2³², i.e. for up to 65 535 folded sums) and
//! [`fold`] reduces the total to 16 bits; the checksum field is `!fold(total)`.
//!
//! [`sum`] reads a slice as if it began on a word boundary. When pieces of one message
//! lie in several buffers (a `NetBuf` chain) and a piece has an odd length, the next
//! piece starts in the middle of a word: [`combine`] and [`Accumulator`] handle that
//! by swapping the bytes of the later sum (RFC 1071 §2(B), byte-order independence).
//!
//! # Speed
//!
//! [`sum`] loads 8 bytes at a time in native byte order into four independent 64-bit
//! accumulators with end-around carry, so the loop has no byte swaps and four
//! independent dependency chains; the result is folded and swapped once at the end.
//! [`checksum_bytewise`] is the plain byte-at-a-time reference it is tested (and
//! benchmarked) against.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::wire::IpProtocol;

#[allow(unsafe_code)]
mod wide;

/// From this length on, [`sum_native`] takes the vector loop when the CPU
/// has one (below it, the vector setup and the final reduction cost more
/// than they save).
const WIDE_MIN: usize = 256;

/// Adds two 64-bit words with end-around carry (one's-complement addition).
#[inline(always)]
fn add_carry(a: u64, b: u64) -> u64 {
    let (sum, carry) = a.overflowing_add(b);
    // Cannot overflow: when `carry` is set, `sum` is at most 2^64 - 2.
    sum + u64::from(carry)
}

/// Loads 8 bytes at `at` in native byte order.
#[inline(always)]
fn load(data: &[u8], at: usize) -> u64 {
    u64::from_ne_bytes([
        data[at],
        data[at + 1],
        data[at + 2],
        data[at + 3],
        data[at + 4],
        data[at + 5],
        data[at + 6],
        data[at + 7],
    ])
}

/// One's-complement sum of `data` read as native-endian words, an odd last byte padded
/// with a zero byte.
#[inline]
fn sum_native(data: &[u8]) -> u64 {
    if data.len() < 64 {
        return sum_native_short(data);
    }
    if data.len() >= WIDE_MIN {
        if let Some(sum) = wide::sum(data) {
            return sum;
        }
    }
    let (mut a, mut b, mut c, mut d) = (0u64, 0u64, 0u64, 0u64);
    let mut blocks = data.chunks_exact(32);
    for block in &mut blocks {
        a = add_carry(a, load(block, 0));
        b = add_carry(b, load(block, 8));
        c = add_carry(c, load(block, 16));
        d = add_carry(d, load(block, 24));
    }
    let mut acc = add_carry(add_carry(a, b), add_carry(c, d));
    let mut words = blocks.remainder().chunks_exact(8);
    for word in &mut words {
        acc = add_carry(acc, load(word, 0));
    }
    // Up to 7 bytes remain, starting on a word boundary. Which 16-bit lane of the
    // accumulator a word lands in does not matter to the folded sum; only each byte's
    // place inside its word does.
    let mut tail = words.remainder();
    if let [a, b, c, d, rest @ ..] = tail {
        acc = add_carry(acc, u64::from(u32::from_ne_bytes([*a, *b, *c, *d])));
        tail = rest;
    }
    if let [a, b, rest @ ..] = tail {
        acc = add_carry(acc, u64::from(u16::from_ne_bytes([*a, *b])));
        tail = rest;
    }
    if let [last] = tail {
        // The first byte of a word, its partner a zero pad (RFC 1071 §4.1).
        acc = add_carry(acc, u64::from(u16::from_ne_bytes([*last, 0])));
    }
    acc
}

/// [`sum_native`] for short data (a small datagram, a header): each 8-byte
/// word added as its two 32-bit halves into a 64-bit accumulator, which
/// cannot overflow under 64 bytes, so no carries are handled until the fold.
#[inline(always)]
fn sum_native_short(data: &[u8]) -> u64 {
    let mut acc = 0u64;
    let mut words = data.chunks_exact(8);
    for word in &mut words {
        let word = load(word, 0);
        acc += (word & 0xffff_ffff) + (word >> 32);
    }
    // Up to 7 bytes remain, starting on a word boundary.
    let mut tail = words.remainder();
    if let [a, b, c, d, rest @ ..] = tail {
        acc += u64::from(u32::from_ne_bytes([*a, *b, *c, *d]));
        tail = rest;
    }
    if let [a, b, rest @ ..] = tail {
        acc += u64::from(u16::from_ne_bytes([*a, *b]));
        tail = rest;
    }
    if let [last] = tail {
        // The first byte of a word, its partner a zero pad (RFC 1071 §4.1).
        acc += u64::from(u16::from_ne_bytes([*last, 0]));
    }
    acc
}

/// Whether an IPv4 header (`header`, 20 bytes) and the UDP datagram after it
/// (`udp`, its whole length) both verify: one pass in native byte order, the
/// pseudo-header's addresses taken from the header. A one's-complement sum of
/// all ones reads the same in either byte order, so nothing is swapped.
/// `check_header`/`check_udp` say which of the two to verify.
#[inline(always)]
pub fn verify_ipv4_udp(
    header: &[u8; 20],
    udp: &[u8],
    check_header: bool,
    check_udp: bool,
) -> (bool, bool) {
    let word = |at: usize| {
        u64::from(u32::from_ne_bytes([
            header[at],
            header[at + 1],
            header[at + 2],
            header[at + 3],
        ]))
    };
    let addrs = word(12) + word(16);
    let header_ok = !check_header || sums_to_ones(word(0) + word(4) + word(8) + addrs);
    let udp_ok = !check_udp || {
        // The pseudo-header's zero byte and protocol, and the UDP length, as
        // big-endian 16-bit words read in native order.
        let proto_len = u64::from(u16::from_ne_bytes([0, 17]))
            + u64::from(u16::from_ne_bytes((udp.len() as u16).to_be_bytes()));
        let data = if udp.len() < 64 {
            sum_native_short(udp)
        } else {
            sum_native(udp)
        };
        sums_to_ones(addrs + proto_len + data)
    };
    (header_ok, udp_ok)
}

/// Whether a 64-bit one's-complement sum folds to all ones (`0xffff`), the
/// sum of data whose checksum verifies: without folding it. Folding keeps
/// the value modulo `0xffff` and gives `0xffff` for every non-zero multiple
/// of it, so the question is whether `sum` is a non-zero multiple of
/// `0xffff`; for an odd divisor that is one multiplication by its inverse
/// modulo 2⁶⁴ and one compare (Lemire, Kaser and Kurz, "Faster remainder by
/// direct computation", 2019), where the fold is a chain of ten dependent
/// steps.
#[inline(always)]
const fn sums_to_ones(sum: u64) -> bool {
    sum != 0 && sum.wrapping_mul(INVERSE_OF_FFFF) <= u64::MAX / 0xffff
}

/// The inverse of `0xffff` modulo 2⁶⁴ (Newton's iteration: each step
/// doubles the correct low bits, from 3).
const INVERSE_OF_FFFF: u64 = {
    let d = 0xffffu64;
    let mut x = d;
    let mut i = 0;
    while i < 5 {
        x = x.wrapping_mul(2u64.wrapping_sub(d.wrapping_mul(x)));
        i += 1;
    }
    x
};

/// Folds a 64-bit one's-complement sum to 16 bits.
#[inline(always)]
const fn fold64(sum: u64) -> u16 {
    let (low, carry) = (sum as u32).overflowing_add((sum >> 32) as u32);
    fold(low + carry as u32)
}

/// Returns the partial sum of `data` read as big-endian 16-bit words from its first
/// byte, an odd last byte padded with a zero byte (RFC 1071 §4.1).
///
/// The result is already folded (at most `0xffff`), so up to 65 535 such sums can be
/// added together before [`fold`].
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::{fold, sum};
/// assert_eq!(sum(&[0x12, 0x34, 0x56]), 0x1234 + 0x5600);
/// assert_eq!(fold(sum(&[0xff, 0xff, 0x00, 0x01])), 0x0001);
/// ```
#[inline]
pub fn sum(data: &[u8]) -> u32 {
    // The native-order sum is the byte-swapped big-endian sum on little-endian targets
    // (RFC 1071 §2(B)); `from_be` swaps it back there and is a no-op on big-endian ones.
    u32::from(u16::from_be(fold64(sum_native(data))))
}

/// The partial sum of a header whose length is a multiple of 4 bytes (an IPv4
/// header, 20 to 60 bytes): as [`sum`], without the setup that pays off only
/// over longer data. Bytes past the last whole 4-byte word are ignored.
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::{fold, sum, sum_header};
/// let header = [
///     0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
///     0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
/// ];
/// assert_eq!(fold(sum_header(&header)), fold(sum(&header)));
/// ```
#[inline]
pub fn sum_header(header: &[u8]) -> u32 {
    let mut acc = 0u64;
    for word in header.chunks_exact(4) {
        acc += u64::from(u32::from_ne_bytes([word[0], word[1], word[2], word[3]]));
    }
    u32::from(u16::from_be(fold64(acc)))
}

/// [`sum_header`] of a fixed-size array, unrolled by the compiler: the sum of a
/// 20-byte IPv4 header or the 8 address bytes of a pseudo-header in a few adds.
#[inline(always)]
pub fn sum_words<const N: usize>(words: &[u8; N]) -> u32 {
    let mut acc = 0u64;
    let mut at = 0;
    while at + 4 <= N {
        acc += u64::from(u32::from_ne_bytes([
            words[at],
            words[at + 1],
            words[at + 2],
            words[at + 3],
        ]));
        at += 4;
    }
    u32::from(u16::from_be(fold64(acc)))
}

/// Folds a partial sum to 16 bits with end-around carries.
///
/// The result is zero only for a zero sum.
#[inline(always)]
pub const fn fold(sum: u32) -> u16 {
    let sum = (sum & 0xffff) + (sum >> 16);
    let sum = (sum & 0xffff) + (sum >> 16);
    sum as u16
}

/// Returns the internet checksum of `data`: the one's complement of the folded
/// one's-complement sum of its 16-bit words.
///
/// Computing it over a message whose checksum field is filled in gives `0` when the
/// checksum is correct.
///
/// # Examples
///
/// ```
/// // An IPv4 header with a correct checksum field sums to zero.
/// let header = [
///     0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61,
///     0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
/// ];
/// assert_eq!(strata_l3l4::checksum::checksum(&header), 0);
/// ```
#[inline]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// The byte-at-a-time reference implementation of [`checksum`]: obviously correct and
/// slow. Kept for tests and as the benchmark baseline.
pub fn checksum_bytewise(data: &[u8]) -> u16 {
    let mut total: u64 = 0;
    for (i, &byte) in data.iter().enumerate() {
        total += if i % 2 == 0 {
            u64::from(byte) << 8
        } else {
            u64::from(byte)
        };
    }
    while total > 0xffff {
        total = (total & 0xffff) + (total >> 16);
    }
    !(total as u16)
}

/// Returns the partial sum of `a ++ b` from the partial sums of `a` and `b` and the
/// length of `a`.
///
/// When `a_len` is odd, `b` starts in the middle of a word and its sum is byte-swapped.
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::{combine, fold, sum};
/// let data = [1u8, 2, 3, 4, 5, 6, 7];
/// let (a, b) = data.split_at(3);
/// assert_eq!(fold(combine(sum(a), a.len(), sum(b))), fold(sum(&data)));
/// ```
#[inline]
pub const fn combine(a: u32, a_len: usize, b: u32) -> u32 {
    let b = fold(b);
    let b = if a_len % 2 == 1 { b.swap_bytes() } else { b };
    fold(a) as u32 + b as u32
}

/// Sums a message that lies in several slices (a buffer chain), in order.
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::{fold, sum, sum_chain};
/// let parts: [&[u8]; 3] = [&[0x12], &[0x34, 0x56, 0x78], &[0x9a]];
/// assert_eq!(fold(sum_chain(parts)), fold(sum(&[0x12, 0x34, 0x56, 0x78, 0x9a])));
/// ```
pub fn sum_chain<'a, I>(slices: I) -> u32
where
    I: IntoIterator<Item = &'a [u8]>,
{
    let mut acc = Accumulator::new();
    for slice in slices {
        acc.add(slice);
    }
    acc.sum()
}

/// A running checksum over a message fed in pieces of any length.
///
/// Tracks whether the bytes so far have an odd length, so that a piece which starts in
/// the middle of a 16-bit word is summed correctly.
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::{checksum, Accumulator};
/// let mut acc = Accumulator::new();
/// acc.add(&[0x45, 0x00, 0x00]).add(&[0x73, 0x00]).add_u16(0x0040);
/// assert_eq!(acc.checksum(), checksum(&[0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40]));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accumulator {
    sum: u32,
    odd: bool,
}

impl Accumulator {
    /// An empty accumulator.
    pub const fn new() -> Self {
        Accumulator { sum: 0, odd: false }
    }

    /// An accumulator that starts from a partial sum of an even number of bytes (a
    /// pseudo-header sum, say).
    pub const fn with_sum(sum: u32) -> Self {
        Accumulator {
            sum: fold(sum) as u32,
            odd: false,
        }
    }

    /// Adds the next bytes of the message.
    #[inline]
    pub fn add(&mut self, data: &[u8]) -> &mut Self {
        self.sum = combine(self.sum, usize::from(self.odd), sum(data));
        self.odd ^= data.len() % 2 == 1;
        self
    }

    /// Adds the next two bytes of the message, given as a big-endian word.
    #[inline]
    pub fn add_u16(&mut self, word: u16) -> &mut Self {
        let word = if self.odd { word.swap_bytes() } else { word };
        self.sum = u32::from(fold(self.sum + u32::from(word)));
        self
    }

    /// Adds the next four bytes of the message, given as a big-endian word.
    #[inline]
    pub fn add_u32(&mut self, word: u32) -> &mut Self {
        self.add_u16((word >> 16) as u16).add_u16(word as u16)
    }

    /// Whether the bytes added so far have an odd length.
    pub const fn is_odd(&self) -> bool {
        self.odd
    }

    /// The partial sum so far (folded, not inverted).
    pub const fn sum(&self) -> u32 {
        self.sum
    }

    /// The checksum of the bytes so far.
    pub const fn checksum(&self) -> u16 {
        !fold(self.sum)
    }
}

/// Sums a 32-bit value as two 16-bit words.
#[inline(always)]
const fn sum_u32(word: u32) -> u32 {
    (word >> 16) + (word & 0xffff)
}

/// Fills in the UDP or TCP checksum of the IP packet `ip` (from its IP
/// header on) whose sender left it to the device: Linux's
/// `CHECKSUM_PARTIAL`, which AF_PACKET reports as `TP_STATUS_CSUMNOTREADY`
/// (virtual links such as veth never compute it). Recomputed over the
/// pseudo-header and the whole segment. Returns `false`, the packet
/// untouched, for anything but an unfragmented IPv4 or an IPv6 packet
/// without extension headers carrying UDP or TCP, with consistent lengths.
pub fn fill_l4_checksum(ip: &mut [u8]) -> bool {
    let (header_len, total, protocol) = match ip.first().map(|b| b >> 4) {
        Some(4) if ip.len() >= 20 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0;
            if ihl < 20 || total < ihl || total > ip.len() || fragment {
                return false;
            }
            (ihl, total, ip[9])
        }
        Some(6) if ip.len() >= 40 => {
            let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            if 40 + payload > ip.len() {
                return false;
            }
            (40, 40 + payload, ip[6])
        }
        _ => return false,
    };
    let (proto, field) = match protocol {
        17 => (IpProtocol::Udp, 6),
        6 => (IpProtocol::Tcp, 16),
        _ => return false,
    };
    let l4_len = total - header_len;
    if l4_len < field + 2 || (proto == IpProtocol::Udp && l4_len < 8) {
        return false;
    }
    let pseudo = if header_len == 40 {
        let addr = |at: usize| {
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&ip[at..at + 16]);
            Ipv6Addr::from(bytes)
        };
        pseudo_header_v6(&addr(8), &addr(24), proto, l4_len as u32)
    } else {
        let addr = |at: usize| Ipv4Addr::new(ip[at], ip[at + 1], ip[at + 2], ip[at + 3]);
        let Ok(len) = u16::try_from(l4_len) else {
            return false;
        };
        pseudo_header_v4(addr(12), addr(16), proto, len)
    };
    let l4 = &mut ip[header_len..total];
    l4[field] = 0;
    l4[field + 1] = 0;
    let mut value = !fold(pseudo + sum(l4));
    if value == 0 && proto == IpProtocol::Udp {
        // Zero means "no checksum" in UDP (RFC 768): all ones instead.
        value = 0xffff;
    }
    l4[field..field + 2].copy_from_slice(&value.to_be_bytes());
    true
}

/// Returns the partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1): source,
/// destination, a zero byte, the protocol and the upper-layer length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: IpProtocol, length: u16) -> u32 {
    sum_u32(u32::from(src))
        + sum_u32(u32::from(dst))
        + u32::from(u8::from(protocol))
        + u32::from(length)
}

/// Returns the partial sum of the IPv6 pseudo-header (RFC 8200 §8.1): source,
/// destination, the 32-bit upper-layer length, three zero bytes and the next header.
#[inline]
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, protocol: IpProtocol, length: u32) -> u32 {
    let words = |addr: &Ipv6Addr| {
        let bits = u128::from(*addr);
        u64::from(fold64(bits as u64)) + u64::from(fold64((bits >> 64) as u64))
    };
    let total = words(src) + words(dst) + u64::from(sum_u32(length));
    u32::from(fold64(total)) + u32::from(u8::from(protocol))
}

/// Updates a checksum after a 16-bit word of the message changed from `old` to `new`,
/// without summing the message again (RFC 1624 eqn. 3: `HC' = ~(~HC + ~m + m')`).
///
/// For a byte field, pass the word it shares with its neighbour (for the IPv4 TTL:
/// `u16::from_be_bytes([ttl, protocol])`). The result equals a full recomputation
/// except when the updated message is all zero bytes, where it gives `0x0000` for
/// recomputation's `0xffff` (the two zeros of one's complement).
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::{checksum, update_u16};
/// let mut header = [0x45, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11];
/// let old = checksum(&header);
/// header[8] = 0x3f; // decrement the TTL
/// assert_eq!(update_u16(old, 0x4011, 0x3f11), checksum(&header));
/// ```
#[inline]
pub const fn update_u16(old_checksum: u16, old: u16, new: u16) -> u16 {
    !fold(!old_checksum as u32 + !old as u32 + new as u32)
}

/// Updates a checksum after an aligned 32-bit field (an IPv4 address, say) changed from
/// `old` to `new` (RFC 1624), as [`update_u16`] does for one word.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l3l4::checksum::{checksum, update_u32};
/// let mut header = [0x45, 0x00, 0x00, 0x14, 192, 168, 0, 1];
/// let old = checksum(&header);
/// let new_addr = Ipv4Addr::new(10, 0, 0, 7);
/// header[4..8].copy_from_slice(&new_addr.octets());
/// let updated = update_u32(old, u32::from(Ipv4Addr::new(192, 168, 0, 1)), u32::from(new_addr));
/// assert_eq!(updated, checksum(&header));
/// ```
#[inline]
pub const fn update_u32(old_checksum: u16, old: u32, new: u32) -> u16 {
    !fold(
        !old_checksum as u32
            + (!(old >> 16) & 0xffff)
            + (!old & 0xffff)
            + (new >> 16)
            + (new & 0xffff),
    )
}

/// What the software stack must do about one protocol's checksum, given what the
/// device offloads (smoltcp's `Checksum`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Checksum {
    /// Verify on receive and compute on transmit: the device does neither.
    #[default]
    Both,
    /// Verify on receive only: the device fills the checksum in on transmit.
    Rx,
    /// Compute on transmit only: the device verified it on receive.
    Tx,
    /// Neither: the device verifies and fills in this checksum.
    None,
}

impl Checksum {
    /// Whether received packets must be verified in software.
    #[inline]
    pub const fn rx(self) -> bool {
        matches!(self, Checksum::Both | Checksum::Rx)
    }

    /// Whether transmitted packets must have the checksum computed in software.
    #[inline]
    pub const fn tx(self) -> bool {
        matches!(self, Checksum::Both | Checksum::Tx)
    }
}

/// Per-protocol checksum duties left to software after a device's offloads (smoltcp's
/// `ChecksumCapabilities`). The default does everything in software.
///
/// When a transmit checksum is left to the device, emitters seed the field with the
/// folded pseudo-header sum (Linux's `CHECKSUM_PARTIAL` convention, which AF_XDP and
/// virtio offloads expect) or zero where there is no pseudo-header.
///
/// # Examples
///
/// ```
/// use strata_l3l4::checksum::{Checksum, ChecksumCaps};
/// let caps = ChecksumCaps { ipv4: Checksum::None, ..ChecksumCaps::software() };
/// assert!(!caps.ipv4.rx() && caps.udp.rx() && caps.udp.tx());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChecksumCaps {
    /// The IPv4 header checksum.
    pub ipv4: Checksum,
    /// The UDP checksum.
    pub udp: Checksum,
    /// The TCP checksum.
    pub tcp: Checksum,
    /// The ICMPv4 checksum.
    pub icmpv4: Checksum,
    /// The ICMPv6 checksum.
    pub icmpv6: Checksum,
}

impl ChecksumCaps {
    /// Every checksum verified and computed in software: a device without offloads.
    pub const fn software() -> Self {
        ChecksumCaps {
            ipv4: Checksum::Both,
            udp: Checksum::Both,
            tcp: Checksum::Both,
            icmpv4: Checksum::Both,
            icmpv6: Checksum::Both,
        }
    }

    /// Every checksum left to the device (or ignored, as on a loopback path).
    pub const fn offloaded() -> Self {
        ChecksumCaps {
            ipv4: Checksum::None,
            udp: Checksum::None,
            tcp: Checksum::None,
            icmpv4: Checksum::None,
            icmpv6: Checksum::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The scalar sum of any length, bypassing the vector loop.
    fn sum_native_short_or_scalar(data: &[u8]) -> u64 {
        let mut acc = 0u64;
        for piece in data.chunks(62) {
            // Every piece but the last has an even length: words stay aligned.
            acc += sum_native_short(piece);
        }
        acc
    }

    #[test]
    fn fill_l4_checksum_completes_udp_and_tcp_and_leaves_the_rest() {
        use etherparse::PacketBuilder;
        let cases: Vec<Vec<u8>> = {
            let mut v = Vec::new();
            let mut f = Vec::new();
            PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .udp(1000, 2000)
                .write(&mut f, b"partial v4 udp")
                .unwrap();
            v.push(f);
            let mut f = Vec::new();
            PacketBuilder::ipv6([0xfd; 16], [0xfe; 16], 64)
                .udp(1000, 2000)
                .write(&mut f, b"partial v6 udp!")
                .unwrap();
            v.push(f);
            let mut f = Vec::new();
            PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .tcp(1000, 2000, 7, 4096)
                .write(&mut f, b"partial tcp")
                .unwrap();
            v.push(f);
            v
        };
        for good in cases {
            let mut broken = good.clone();
            // What a sender leaves for the device: some partial sum.
            let l4 = if good[0] >> 4 == 4 { 20 } else { 40 };
            let field = l4
                + if broken[if l4 == 20 { 9 } else { 6 }] == 17 {
                    6
                } else {
                    16
                };
            broken[field] ^= 0x5a;
            broken[field + 1] ^= 0xa5;
            assert!(fill_l4_checksum(&mut broken));
            assert_eq!(broken, good);
        }
        // Not UDP or TCP, a fragment, a truncated packet: untouched.
        let mut icmp = Vec::new();
        etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .icmpv4_echo_request(1, 1)
            .write(&mut icmp, b"x")
            .unwrap();
        let before = icmp.clone();
        assert!(!fill_l4_checksum(&mut icmp));
        assert_eq!(icmp, before);
        let mut fragment = before.clone();
        fragment[9] = 17;
        fragment[6] = 0x20; // MF
        assert!(!fill_l4_checksum(&mut fragment));
        assert!(!fill_l4_checksum(&mut [0x45, 0, 0]));
        assert!(!fill_l4_checksum(&mut []));
    }

    #[test]
    fn sums_to_ones_known_values() {
        for (sum, ones) in [
            (0, false),
            (1, false),
            (0xffff, true),
            (0x1fffe, true),
            (0x1ffff, false),
        ] {
            assert_eq!(sums_to_ones(sum), ones, "{sum:#x}");
            assert_eq!(fold64(sum) == 0xffff, ones, "{sum:#x}");
        }
        assert!(sums_to_ones(0xffff * 0x1_0000_0001));
        assert_eq!(0xffffu64.wrapping_mul(INVERSE_OF_FFFF), 1);
    }

    #[test]
    fn wide_sums_all_ones_without_overflow() {
        // Every lane at its largest for a long pass.
        let data = vec![0xffu8; 2 * 1024 * 1024 + 33];
        let reference = fold64(sum_native_short_or_scalar(&data));
        for sum in wide::sum_portable(&data)
            .into_iter()
            .chain(wide::sum_every_build(&data))
        {
            assert_eq!(fold64(sum), reference);
        }
        assert_eq!(checksum(&data), checksum_bytewise(&data));
    }

    /// Whether two checksums are the same one's-complement number (0 and 0xffff are the
    /// two zeros).
    fn same_value(a: u16, b: u16) -> bool {
        a == b || (a | b == 0xffff && (a == 0 || b == 0))
    }

    #[test]
    fn known_vectors() {
        assert_eq!(checksum(&[]), 0xffff);
        assert_eq!(checksum_bytewise(&[]), 0xffff);
        // RFC 1071 §3 example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
        let rfc = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&rfc)), 0xddf2);
        assert_eq!(checksum(&rfc), !0xddf2);
        assert_eq!(checksum(&[0xff]), !0xff00);
        assert_eq!(checksum(&[0xff; 64]), 0);
    }

    #[test]
    fn real_ipv4_header_sums_to_zero() {
        // Linux, 10.9.0.1 -> 10.9.0.2, UDP, captured on a veth.
        let header = [
            0x45, 0x00, 0x00, 0x28, 0xfa, 0x22, 0x40, 0x00, 0x40, 0x11, 0x2c, 0x8e, 0x0a, 0x09,
            0x00, 0x01, 0x0a, 0x09, 0x00, 0x02,
        ];
        assert_eq!(checksum(&header), 0);
        assert_eq!(checksum_bytewise(&header), 0);
    }

    #[test]
    fn every_length_and_offset_matches_bytewise() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 37 + 11) as u8).collect();
        for start in 0..8 {
            for end in start..data.len() {
                let piece = &data[start..end];
                assert_eq!(checksum(piece), checksum_bytewise(piece), "{start}..{end}");
            }
        }
    }

    #[test]
    fn carries_survive_long_runs_of_ones() {
        let data = vec![0xffu8; 70_001];
        assert_eq!(checksum(&data), checksum_bytewise(&data));
        let data = vec![0xfeu8; 1 << 17];
        assert_eq!(checksum(&data), checksum_bytewise(&data));
    }

    #[test]
    fn accumulator_words_and_parity() {
        let mut acc = Accumulator::new();
        acc.add(&[0xab]);
        assert!(acc.is_odd());
        acc.add_u32(0x1234_5678).add(&[0xcd]);
        assert!(!acc.is_odd());
        assert_eq!(
            acc.checksum(),
            checksum(&[0xab, 0x12, 0x34, 0x56, 0x78, 0xcd])
        );
        let seeded = Accumulator::with_sum(0x1_fffe);
        assert_eq!(seeded.sum(), 0xffff);
    }

    #[test]
    fn pseudo_headers_match_their_bytes() {
        let src = Ipv4Addr::new(192, 168, 1, 1);
        let dst = Ipv4Addr::new(255, 255, 255, 254);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&[0, 17, 0xff, 0xf7]);
        assert_eq!(
            fold(pseudo_header_v4(src, dst, IpProtocol::Udp, 0xfff7)),
            fold(sum(&bytes))
        );

        let src: Ipv6Addr = "fe80::1:ffff:ffff:ffff".parse().unwrap();
        let dst: Ipv6Addr = "ff02::1:ff00:1".parse().unwrap();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&src.octets());
        bytes.extend_from_slice(&dst.octets());
        bytes.extend_from_slice(&0x0001_fffeu32.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(
            fold(pseudo_header_v6(
                &src,
                &dst,
                IpProtocol::Icmpv6,
                0x0001_fffe
            )),
            fold(sum(&bytes))
        );
    }

    #[test]
    fn caps() {
        assert_eq!(ChecksumCaps::default(), ChecksumCaps::software());
        assert!(Checksum::Rx.rx() && !Checksum::Rx.tx());
        assert!(!Checksum::Tx.rx() && Checksum::Tx.tx());
        assert!(!Checksum::None.rx() && !Checksum::None.tx());
        let off = ChecksumCaps::offloaded();
        assert!(!off.udp.rx() && !off.icmpv6.tx());
    }

    /// The one-pass IPv4 + UDP verification decides as the general path:
    /// IPv4 header checksum, then the UDP checksum over its pseudo-header.
    fn general_ipv4_udp(header: &[u8; 20], udp: &[u8]) -> (bool, bool) {
        let header_ok = checksum(header) == 0;
        let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
        let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
        let pseudo = pseudo_header_v4(src, dst, IpProtocol::Udp, udp.len() as u16);
        let udp_ok = fold(pseudo + sum(udp)) == 0xffff;
        (header_ok, udp_ok)
    }

    proptest! {
        #[test]
        fn one_pass_ipv4_udp_agrees(
            mut header in any::<[u8; 20]>(),
            mut udp in proptest::collection::vec(any::<u8>(), 8..200),
            fix_header in any::<bool>(),
            fix_udp in any::<bool>(),
        ) {
            // Make the checksums right half of the time, so both answers occur.
            if fix_header {
                header[10] = 0;
                header[11] = 0;
                let c = checksum(&header);
                header[10..12].copy_from_slice(&c.to_be_bytes());
            }
            if fix_udp {
                udp[6] = 0;
                udp[7] = 0;
                let src = Ipv4Addr::new(header[12], header[13], header[14], header[15]);
                let dst = Ipv4Addr::new(header[16], header[17], header[18], header[19]);
                let pseudo = pseudo_header_v4(src, dst, IpProtocol::Udp, udp.len() as u16);
                let c = !fold(pseudo + sum(&udp));
                udp[6..8].copy_from_slice(&c.to_be_bytes());
            }
            prop_assert_eq!(verify_ipv4_udp(&header, &udp, true, true), general_ipv4_udp(&header, &udp));
            if fix_header && fix_udp {
                prop_assert_eq!(verify_ipv4_udp(&header, &udp, true, true), (true, true));
            }
        }
    }

    proptest! {
        #[test]
        fn fast_equals_bytewise(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            prop_assert_eq!(checksum(&data), checksum_bytewise(&data));
        }

        /// The divisibility test answers as the fold, for any sum and for
        /// multiples of `0xffff` (where it matters).
        #[test]
        fn sums_to_ones_is_the_fold(sum in any::<u64>(), k in 0u64..(u64::MAX / 0xffff)) {
            prop_assert_eq!(sums_to_ones(sum), fold64(sum) == 0xffff);
            let multiple = k * 0xffff;
            prop_assert_eq!(sums_to_ones(multiple), fold64(multiple) == 0xffff);
            prop_assert_eq!(sums_to_ones(multiple + 1), fold64(multiple + 1) == 0xffff);
        }

        /// The vector loop (the build this CPU runs, and the portable build)
        /// sums as the scalar one, at every length and alignment.
        #[test]
        fn wide_equals_scalar(
            data in proptest::collection::vec(any::<u8>(), 0..4200),
            skip in 0usize..8,
        ) {
            let data = &data[skip.min(data.len())..];
            let reference = fold64(sum_native_short_or_scalar(data));
            for sum in wide::sum_portable(data) {
                prop_assert_eq!(fold64(sum), reference);
            }
            for sum in wide::sum_every_build(data) {
                prop_assert_eq!(fold64(sum), reference);
            }
        }

        #[test]
        fn split_sums_combine(
            data in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(data.len() + 1)).collect();
            points.sort_unstable();
            let mut pieces = Vec::new();
            let mut last = 0;
            for p in points {
                pieces.push(&data[last..p]);
                last = p;
            }
            pieces.push(&data[last..]);
            let expected = checksum_bytewise(&data);
            prop_assert_eq!(!fold(sum_chain(pieces.iter().copied())), expected);
            // Pairwise `combine` gives the same.
            let mut total = 0u32;
            let mut len = 0usize;
            for piece in &pieces {
                total = combine(total, len, sum(piece));
                len += piece.len();
            }
            prop_assert_eq!(!fold(total), expected);
        }

        #[test]
        fn update_u16_equals_recomputation(
            mut data in proptest::collection::vec(any::<u8>(), 2..200),
            at in any::<prop::sample::Index>(),
            new in any::<u16>(),
        ) {
            if data.len() % 2 == 1 { data.pop(); }
            let at = at.index(data.len() / 2) * 2;
            let old_csum = checksum(&data);
            let old = u16::from_be_bytes([data[at], data[at + 1]]);
            data[at..at + 2].copy_from_slice(&new.to_be_bytes());
            let updated = update_u16(old_csum, old, new);
            let recomputed = checksum(&data);
            prop_assert!(same_value(updated, recomputed), "{updated:#x} vs {recomputed:#x}");
            if data.iter().any(|&b| b != 0) {
                prop_assert_eq!(updated, recomputed);
            }
        }

        #[test]
        fn update_u32_equals_recomputation(
            mut data in proptest::collection::vec(any::<u8>(), 4..200),
            at in any::<prop::sample::Index>(),
            new in any::<u32>(),
        ) {
            data.truncate(data.len() & !1);
            let at = at.index(data.len() / 2 - 1) * 2;
            let old_csum = checksum(&data);
            let old = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
            data[at..at + 4].copy_from_slice(&new.to_be_bytes());
            let updated = update_u32(old_csum, old, new);
            let recomputed = checksum(&data);
            prop_assert!(same_value(updated, recomputed), "{updated:#x} vs {recomputed:#x}");
            if data.iter().any(|&b| b != 0) {
                prop_assert_eq!(updated, recomputed);
            }
        }
    }
}
