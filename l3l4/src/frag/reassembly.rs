//! Reassembly of IPv4 and IPv6 fragments: RFC 791 §3.2 (the procedure), RFC 815 (the
//! hole bookkeeping, here a sorted list of the fragments received), RFC 5722
//! (overlapping fragments discard the whole datagram, applied to IPv4 as well) and
//! RFC 8200 §4.5 (the 60-second IPv6 limit, the ICMP time exceeded on timeout).
//!
//! [`Reassembler`] is sans-I/O: it never reads a clock. The caller passes `now` into
//! every call, asks [`Reassembler::poll_at`] for the next deadline, and calls
//! [`Reassembler::handle_timeout`] when it has passed. The call order:
//!
//! 1. for each received fragment, parse its header, build a [`Key`] and call
//!    [`Reassembler::handle_fragment`] with the fragment's data (the bytes after the
//!    IPv4 header, or after the IPv6 fragment header), or
//!    [`Reassembler::handle_fragment_with_header`] to have the first fragment's header
//!    kept as well (the IPv4 header with its options, or the IPv6 header and the
//!    unfragmentable part before the fragment header);
//! 2. when that returns a [`Reassembled`] datagram, rebuild the header from
//!    [`Reassembled::header`] (fixing the lengths, and for IPv6 the next header that
//!    named the fragment header) and process it as if it had arrived whole;
//! 3. whenever `now >= poll_at()`, call [`Reassembler::handle_timeout`] and, for each
//!    [`Expired`] datagram whose first fragment had arrived, send an ICMP time
//!    exceeded (code 1) quoting [`Expired::first_bytes`].
//!
//! Memory is bounded three ways ([`Config`]): the number of datagrams in progress, the
//! bytes buffered across all of them, and 65535 bytes of data per datagram.

use core::time::Duration;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

use strata_l2::Instant;

use crate::wire::IpProtocol;

/// Largest reassembled payload: the 16-bit length fields of both IPv4 and IPv6.
pub const MAX_PAYLOAD: usize = 65_535;

/// Bytes charged to the budget for each fragment's bookkeeping, beside its data.
pub const FRAGMENT_OVERHEAD: usize = 8;

/// How many bytes of the first fragment's data [`Expired`] keeps: the 8 bytes that an
/// ICMPv4 error quotes after the header (RFC 792).
pub const FIRST_BYTES: usize = 8;

/// What identifies the fragments of one datagram.
///
/// RFC 791 keys IPv4 datagrams by source, destination, protocol and identification.
/// RFC 8200 §4.5 keys IPv6 packets by source, destination and identification only; for
/// IPv6 pass the fragment header's next header (or any fixed value) as `protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key<A> {
    /// Source address.
    pub src: A,
    /// Destination address.
    pub dst: A,
    /// IPv4 protocol, or the IPv6 fragment header's next header.
    pub protocol: IpProtocol,
    /// Identification: 16 bits for IPv4, 32 for IPv6.
    pub ident: u32,
}

impl<A> Key<A> {
    /// A key from its four parts.
    pub const fn new(src: A, dst: A, protocol: IpProtocol, ident: u32) -> Key<A> {
        Key {
            src,
            dst,
            protocol,
            ident,
        }
    }
}

/// Bounds and timeout of a [`Reassembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Config {
    /// Most datagrams in progress at once (including those remembered after an
    /// overlap).
    pub max_datagrams: usize,
    /// Most bytes buffered across all datagrams: each datagram's buffer (as long as the
    /// furthest fragment end seen) plus [`FRAGMENT_OVERHEAD`] per fragment.
    pub max_bytes: usize,
    /// Time from a datagram's first fragment to its expiry.
    pub timeout: Duration,
}

impl Config {
    /// IPv4: a 30-second timeout, as Linux's `ipfrag_time` (RFC 791 suggests 15 s as a
    /// lower bound), 64 datagrams, 4 MiB (Linux's `ipfrag_high_thresh`).
    pub const IPV4: Config = Config {
        max_datagrams: 64,
        max_bytes: 4 << 20,
        timeout: Duration::from_secs(30),
    };

    /// IPv6: the 60-second timeout of RFC 8200 §4.5, 64 datagrams, 4 MiB.
    pub const IPV6: Config = Config {
        max_datagrams: 64,
        max_bytes: 4 << 20,
        timeout: Duration::from_secs(60),
    };
}

/// Why a fragment was dropped. Each reason has a counter in [`FragDropStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FragDrop {
    /// The fragment overlaps another one of its datagram without being an exact
    /// duplicate: the whole datagram is discarded and its key remembered until its
    /// timeout (RFC 5722).
    Overlap,
    /// The fragment's data ends past 65535 bytes: the whole datagram is discarded.
    TooBig,
    /// The fragment belongs to a datagram discarded for an overlap or an inconsistent
    /// length whose timeout has not passed yet.
    Discarded,
    /// The fragment disagrees with the datagram's length: a second last fragment with
    /// another end, or data past the last fragment's end. The whole datagram is
    /// discarded and its key remembered, as for an overlap.
    Inconsistent,
    /// The fragment's offset is not a multiple of 8, or more fragments follow and its
    /// length is zero or not a multiple of 8 (RFC 791, RFC 8200 §4.5).
    Malformed,
    /// Buffering the fragment would pass [`Config::max_bytes`]: a new datagram is not
    /// started, one in progress is discarded.
    NoMemory,
    /// The fragment would start a datagram past [`Config::max_datagrams`].
    TooManyDatagrams,
}

impl FragDrop {
    /// Every reason, for registering counters.
    pub const ALL: [FragDrop; 7] = [
        FragDrop::Overlap,
        FragDrop::TooBig,
        FragDrop::Discarded,
        FragDrop::Inconsistent,
        FragDrop::Malformed,
        FragDrop::NoMemory,
        FragDrop::TooManyDatagrams,
    ];

    /// The reason's label in metrics.
    pub const fn as_str(self) -> &'static str {
        match self {
            FragDrop::Overlap => "frag_overlap",
            FragDrop::TooBig => "frag_too_big",
            FragDrop::Discarded => "frag_discarded",
            FragDrop::Inconsistent => "frag_inconsistent",
            FragDrop::Malformed => "frag_malformed",
            FragDrop::NoMemory => "frag_no_memory",
            FragDrop::TooManyDatagrams => "frag_too_many_datagrams",
        }
    }
}

/// Fragments dropped, by reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FragDropStats {
    /// [`FragDrop::Overlap`].
    pub overlap: u64,
    /// [`FragDrop::TooBig`].
    pub too_big: u64,
    /// [`FragDrop::Discarded`].
    pub discarded: u64,
    /// [`FragDrop::Inconsistent`].
    pub inconsistent: u64,
    /// [`FragDrop::Malformed`].
    pub malformed: u64,
    /// [`FragDrop::NoMemory`].
    pub no_memory: u64,
    /// [`FragDrop::TooManyDatagrams`].
    pub too_many_datagrams: u64,
}

impl FragDropStats {
    /// The counter of one reason.
    pub const fn get(&self, reason: FragDrop) -> u64 {
        match reason {
            FragDrop::Overlap => self.overlap,
            FragDrop::TooBig => self.too_big,
            FragDrop::Discarded => self.discarded,
            FragDrop::Inconsistent => self.inconsistent,
            FragDrop::Malformed => self.malformed,
            FragDrop::NoMemory => self.no_memory,
            FragDrop::TooManyDatagrams => self.too_many_datagrams,
        }
    }

    fn count(&mut self, reason: FragDrop) {
        let counter = match reason {
            FragDrop::Overlap => &mut self.overlap,
            FragDrop::TooBig => &mut self.too_big,
            FragDrop::Discarded => &mut self.discarded,
            FragDrop::Inconsistent => &mut self.inconsistent,
            FragDrop::Malformed => &mut self.malformed,
            FragDrop::NoMemory => &mut self.no_memory,
            FragDrop::TooManyDatagrams => &mut self.too_many_datagrams,
        };
        *counter += 1;
    }
}

/// Counters of a [`Reassembler`], a plain struct with one writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ReassemblyStats {
    /// Fragments passed to [`Reassembler::handle_fragment`].
    pub fragments: u64,
    /// Exact duplicates, tolerated and ignored.
    pub duplicates: u64,
    /// Datagrams reassembled.
    pub reassembled: u64,
    /// Datagrams that expired incomplete.
    pub timed_out: u64,
    /// Fragments dropped, by reason.
    pub dropped: FragDropStats,
}

/// A reassembled datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassembled<A> {
    /// The datagram's key.
    pub key: Key<A>,
    /// The header passed with the first fragment (offset 0) to
    /// [`Reassembler::handle_fragment_with_header`]; empty if none was.
    pub header: Vec<u8>,
    /// The data of all fragments, in order: the IPv4 payload, or the IPv6 fragmentable
    /// part.
    pub payload: Vec<u8>,
    /// How many fragments it was made of (duplicates not counted).
    pub fragments: usize,
}

/// A datagram that expired before it was complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expired<A> {
    /// The datagram's key.
    pub key: Key<A>,
    /// The header passed with the first fragment to
    /// [`Reassembler::handle_fragment_with_header`]: with [`Expired::first_bytes`], what
    /// an ICMPv4 time exceeded quotes (RFC 792). Empty if the first fragment did not
    /// arrive or came without a header.
    pub header: Vec<u8>,
    first: [u8; FIRST_BYTES],
    first_len: Option<u8>,
}

impl<A> Expired<A> {
    /// Up to [`FIRST_BYTES`] bytes of the first fragment's data, or `None` if the first
    /// fragment never arrived: then no ICMP time exceeded is sent (RFC 792, RFC 8200
    /// §4.5).
    pub fn first_bytes(&self) -> Option<&[u8]> {
        self.first_len.map(|len| &self.first[..usize::from(len)])
    }
}

#[derive(Debug)]
struct Datagram {
    deadline: Instant,
    /// `None` once discarded for an overlap: the key is only remembered.
    state: Option<Buffer>,
}

#[derive(Debug, Default)]
struct Buffer {
    /// Data at its offset, as long as the furthest fragment end seen.
    data: Vec<u8>,
    /// Received fragments as `(start, end)`, sorted, never overlapping.
    frags: Vec<(usize, usize)>,
    /// The first fragment's header, if given.
    header: Vec<u8>,
    /// Bytes received, the sum of the fragment lengths.
    received: usize,
    /// The end given by the last fragment (more fragments clear).
    total: Option<usize>,
}

impl Buffer {
    fn charge(&self) -> usize {
        self.data.len() + self.header.len() + self.frags.len() * FRAGMENT_OVERHEAD
    }
}

/// Reassembles fragmented datagrams of one IP version, generic over the address type.
///
/// See the [module documentation](self) for the call order.
///
/// # Examples
///
/// ```
/// use std::net::Ipv4Addr;
/// use strata_l2::Instant;
/// use strata_l3l4::{FragKey, IpProtocol, ReassemblyConfig, Reassembler};
///
/// let mut r = Reassembler::new(ReassemblyConfig::IPV4);
/// let key = FragKey::new(Ipv4Addr::new(10, 0, 0, 1), Ipv4Addr::new(10, 0, 0, 2), IpProtocol::Udp, 7);
/// let now = Instant::from_secs(1);
/// // The last fragment first: 4 bytes at offset 8.
/// assert_eq!(r.handle_fragment(now, key, 8, false, b"orld"), Ok(None));
/// assert_eq!(r.poll_at(), Some(now + ReassemblyConfig::IPV4.timeout));
/// // Then the first, 8 bytes with more fragments following: complete.
/// let done = r.handle_fragment(now, key, 0, true, b"hello, w").unwrap().unwrap();
/// assert_eq!(done.payload, b"hello, world");
/// assert_eq!(r.poll_at(), None);
/// assert_eq!(r.stats().reassembled, 1);
/// ```
#[derive(Debug)]
pub struct Reassembler<A> {
    config: Config,
    datagrams: HashMap<Key<A>, Datagram>,
    bytes: usize,
    expired: Vec<Expired<A>>,
    stats: ReassemblyStats,
}

impl<A: Copy + Eq + Hash> Reassembler<A> {
    /// An empty reassembler.
    pub fn new(config: Config) -> Reassembler<A> {
        Reassembler {
            config,
            datagrams: HashMap::new(),
            bytes: 0,
            expired: Vec::new(),
            stats: ReassemblyStats::default(),
        }
    }

    /// The configuration.
    pub const fn config(&self) -> &Config {
        &self.config
    }

    /// The counters.
    pub const fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    /// Datagrams in progress, including keys remembered after an overlap.
    pub fn datagrams(&self) -> usize {
        self.datagrams.len()
    }

    /// Bytes charged against [`Config::max_bytes`].
    pub const fn buffered_bytes(&self) -> usize {
        self.bytes
    }

    /// Takes one fragment's data at `offset` bytes into its datagram; `more_fragments`
    /// is the MF (IPv4) or M (IPv6) flag. Returns the datagram once its last missing
    /// fragment arrives, and `Ok(None)` while it is incomplete or for an exact duplicate.
    ///
    /// A fragment with offset 0 and no more fragments is a whole datagram (an IPv6
    /// atomic fragment, RFC 6946): it is returned at once and touches no state.
    ///
    /// A datagram whose deadline has passed is expired first (and reported by the next
    /// [`Reassembler::handle_timeout`]); the fragment then starts a new one.
    ///
    /// # Errors
    ///
    /// A [`FragDrop`] when the fragment is dropped; it is already counted in
    /// [`ReassemblyStats::dropped`].
    pub fn handle_fragment(
        &mut self,
        now: Instant,
        key: Key<A>,
        offset: u16,
        more_fragments: bool,
        payload: &[u8],
    ) -> Result<Option<Reassembled<A>>, FragDrop> {
        self.handle_fragment_with_header(now, key, offset, more_fragments, &[], payload)
    }

    /// As [`Reassembler::handle_fragment`], and keeps `header` if this is the first
    /// fragment (offset 0): the IPv4 header, or the IPv6 header with the unfragmentable
    /// part. It is charged to the byte budget, and returned in [`Reassembled::header`]
    /// and [`Expired::header`]. Other fragments' headers are ignored.
    ///
    /// # Errors
    ///
    /// As [`Reassembler::handle_fragment`].
    pub fn handle_fragment_with_header(
        &mut self,
        now: Instant,
        key: Key<A>,
        offset: u16,
        more_fragments: bool,
        header: &[u8],
        payload: &[u8],
    ) -> Result<Option<Reassembled<A>>, FragDrop> {
        self.stats.fragments += 1;
        let header = if offset == 0 { header } else { &[] };
        let result = self.insert(
            now,
            key,
            usize::from(offset),
            more_fragments,
            header,
            payload,
        );
        if let Err(reason) = result {
            self.stats.dropped.count(reason);
        }
        result
    }

    fn insert(
        &mut self,
        now: Instant,
        key: Key<A>,
        start: usize,
        more: bool,
        header: &[u8],
        payload: &[u8],
    ) -> Result<Option<Reassembled<A>>, FragDrop> {
        let end = start + payload.len();
        if start % 8 != 0 || (more && (payload.is_empty() || payload.len() % 8 != 0)) {
            return Err(FragDrop::Malformed);
        }
        if self.datagrams.get(&key).is_some_and(|d| d.deadline <= now) {
            self.expire(key);
        }
        if end > MAX_PAYLOAD {
            self.discard(key, false);
            return Err(FragDrop::TooBig);
        }
        if start == 0 && !more {
            self.stats.reassembled += 1;
            return Ok(Some(Reassembled {
                key,
                header: header.to_vec(),
                payload: payload.to_vec(),
                fragments: 1,
            }));
        }
        if !self.datagrams.contains_key(&key) {
            if self.datagrams.len() >= self.config.max_datagrams {
                return Err(FragDrop::TooManyDatagrams);
            }
            if self.bytes + end + header.len() + FRAGMENT_OVERHEAD > self.config.max_bytes {
                return Err(FragDrop::NoMemory);
            }
            let datagram = Datagram {
                deadline: now + self.config.timeout,
                state: Some(Buffer::default()),
            };
            self.datagrams.insert(key, datagram);
        }
        let datagram = self.datagrams.get_mut(&key).expect("inserted above");
        let Some(buffer) = datagram.state.as_mut() else {
            return Err(FragDrop::Discarded);
        };

        // Where the fragment goes among those received, and whether it fits there.
        let index = buffer.frags.partition_point(|&(s, _)| s < start);
        if let Some(&(s, e)) = buffer.frags.get(index) {
            if s == start && e == end && buffer.data[s..e] == *payload {
                self.stats.duplicates += 1;
                return Ok(None);
            }
            if s < end || (s == start && start == end) {
                self.discard(key, true);
                return Err(FragDrop::Overlap);
            }
        }
        if index > 0 && buffer.frags[index - 1].1 > start {
            self.discard(key, true);
            return Err(FragDrop::Overlap);
        }
        let consistent = match (buffer.total, more) {
            (Some(total), false) => total == end,
            (Some(total), true) => end <= total,
            (None, false) => buffer.data.len() <= end,
            (None, true) => true,
        };
        if !consistent {
            self.discard(key, true);
            return Err(FragDrop::Inconsistent);
        }

        let grow = end.saturating_sub(buffer.data.len()) + header.len() + FRAGMENT_OVERHEAD;
        if self.bytes + grow > self.config.max_bytes {
            self.discard(key, false);
            return Err(FragDrop::NoMemory);
        }
        self.bytes += grow;
        if buffer.data.len() < end {
            buffer.data.resize(end, 0);
        }
        buffer.data[start..end].copy_from_slice(payload);
        buffer.header.extend_from_slice(header);
        buffer.frags.insert(index, (start, end));
        buffer.received += payload.len();
        if !more {
            buffer.total = Some(end);
        }
        if buffer.total != Some(buffer.received) {
            return Ok(None);
        }

        let buffer = self
            .datagrams
            .remove(&key)
            .and_then(|d| d.state)
            .expect("complete");
        self.bytes -= buffer.charge();
        self.stats.reassembled += 1;
        Ok(Some(Reassembled {
            key,
            header: buffer.header,
            fragments: buffer.frags.len(),
            payload: buffer.data,
        }))
    }

    /// Frees a datagram's buffer; with `remember`, keeps its key until its deadline so
    /// that later fragments are dropped too (RFC 5722). A key already remembered stays
    /// remembered either way.
    fn discard(&mut self, key: Key<A>, remember: bool) {
        if remember {
            if let Some(datagram) = self.datagrams.get_mut(&key) {
                if let Some(buffer) = datagram.state.take() {
                    self.bytes -= buffer.charge();
                }
            }
        } else if self.datagrams.get(&key).is_some_and(|d| d.state.is_some()) {
            let buffer = self.datagrams.remove(&key).and_then(|d| d.state);
            self.bytes -= buffer.map_or(0, |b| b.charge());
        }
    }

    /// Removes a datagram whose deadline passed, queueing its report if it was still
    /// collecting (remembered keys expire silently).
    fn expire(&mut self, key: Key<A>) {
        let Some(datagram) = self.datagrams.remove(&key) else {
            return;
        };
        let Some(buffer) = datagram.state else {
            return;
        };
        self.bytes -= buffer.charge();
        self.stats.timed_out += 1;
        let mut first = [0; FIRST_BYTES];
        let first_len = match buffer.frags.first() {
            Some(&(0, end)) => {
                let len = end.min(FIRST_BYTES);
                first[..len].copy_from_slice(&buffer.data[..len]);
                Some(len as u8)
            }
            _ => None,
        };
        if self.expired.len() >= self.config.max_datagrams {
            // Reports the caller has not collected stay bounded; the count goes on.
            return;
        }
        self.expired.push(Expired {
            key,
            header: buffer.header,
            first,
            first_len,
        });
    }

    /// Expires every datagram whose deadline is at or before `now` and returns those
    /// that were still collecting (keys remembered after an overlap go silently), with
    /// any expired earlier by [`Reassembler::handle_fragment`].
    ///
    /// The scan is linear in the datagrams in progress, at most
    /// [`Config::max_datagrams`]. Reports waiting for this call are bounded by
    /// [`Config::max_datagrams`] too: past that, expiries are only counted.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::net::Ipv6Addr;
    /// use strata_l2::Instant;
    /// use strata_l3l4::{FragKey, IpProtocol, Ipv6Reassembler, ReassemblyConfig};
    ///
    /// let mut r = Ipv6Reassembler::new(ReassemblyConfig::IPV6);
    /// let key = FragKey::new(Ipv6Addr::LOCALHOST, Ipv6Addr::LOCALHOST, IpProtocol::Udp, 1);
    /// r.handle_fragment(Instant::ZERO, key, 0, true, b"8 bytes!").unwrap();
    /// let deadline = r.poll_at().unwrap();
    /// assert_eq!(deadline, Instant::from_secs(60));
    /// for expired in r.handle_timeout(deadline) {
    ///     // Send an ICMPv6 time exceeded (code 1) quoting the first fragment.
    ///     assert_eq!(expired.first_bytes(), Some(&b"8 bytes!"[..]));
    /// }
    /// assert_eq!(r.stats().timed_out, 1);
    /// ```
    pub fn handle_timeout(&mut self, now: Instant) -> std::vec::Drain<'_, Expired<A>> {
        let due: Vec<Key<A>> = self
            .datagrams
            .iter()
            .filter(|(_, d)| d.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for key in due {
            self.expire(key);
        }
        self.expired.drain(..)
    }

    /// The earliest deadline among the datagrams in progress, or `None` when there is
    /// none. An expiry not yet reported counts as due now: the earliest instant is
    /// [`Instant::ZERO`] then.
    pub fn poll_at(&self) -> Option<Instant> {
        if !self.expired.is_empty() {
            return Some(Instant::ZERO);
        }
        self.datagrams.values().map(|d| d.deadline).min()
    }
}

/// A reassembler of IPv4 datagrams (RFC 791).
pub type Ipv4Reassembler = Reassembler<Ipv4Addr>;
/// A reassembler of IPv6 packets (RFC 8200 §4.5).
pub type Ipv6Reassembler = Reassembler<Ipv6Addr>;

// The tests live in `reassembly/tests.rs`, which keeps this file short.
#[cfg(test)]
mod tests;
