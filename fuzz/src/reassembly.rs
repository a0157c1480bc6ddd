//! Fuzz target body for the IP fragment reassembler (`strata_l3l4::frag::reassembly`),
//! IPv4 and IPv6 address types side by side, each checked against a model of the
//! fragments it has accepted.

use core::time::Duration;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};

use strata_l2::Instant;
use strata_l3l4::frag::reassembly::{FIRST_BYTES, FRAGMENT_OVERHEAD, MAX_PAYLOAD};
use strata_l3l4::{FragDrop, FragKey, IpProtocol, Reassembled, Reassembler, ReassemblyConfig};

/// Most commands one input runs.
const REASSEMBLY_MAX_COMMANDS: usize = 256;

/// What the model knows of one datagram in progress: the fragments accepted since it
/// started, and its deadline.
#[derive(Debug, Default)]
struct Partial {
    deadline: Option<Instant>,
    /// `(start, bytes)` of each accepted fragment, duplicates not repeated.
    frags: Vec<(usize, Vec<u8>)>,
    header: Vec<u8>,
    total: Option<usize>,
}

/// One reassembler and its model.
struct Side<A> {
    r: Reassembler<A>,
    keys: [FragKey<A>; 3],
    model: HashMap<FragKey<A>, Partial>,
    calls: u64,
    errors: u64,
    done: u64,
}

impl<A: Copy + Eq + Hash + core::fmt::Debug> Side<A> {
    fn new(config: ReassemblyConfig, keys: [FragKey<A>; 3]) -> Self {
        Side {
            r: Reassembler::new(config),
            keys,
            model: HashMap::new(),
            calls: 0,
            errors: 0,
            done: 0,
        }
    }

    /// Forgets the model of datagrams whose deadline has passed (the reassembler
    /// expires them at the next fragment for their key or `handle_timeout`).
    fn age(&mut self, now: Instant) {
        self.model
            .retain(|_, p| p.deadline.is_some_and(|deadline| deadline > now));
    }

    fn fragment(
        &mut self,
        now: Instant,
        key_index: usize,
        start: u16,
        more: bool,
        header: &[u8],
        payload: &[u8],
    ) {
        self.age(now);
        let key = self.keys[key_index % 3];
        let before = *self.r.stats();
        self.calls += 1;
        let result = self
            .r
            .handle_fragment_with_header(now, key, start, more, header, payload);
        let stats = *self.r.stats();
        assert_eq!(stats.fragments, before.fragments + 1, "fragments counter");
        let start = usize::from(start);
        let end = start + payload.len();
        match result {
            Ok(Some(done)) => {
                self.done += 1;
                assert_eq!(
                    stats.reassembled,
                    before.reassembled + 1,
                    "reassembled counter"
                );
                assert_eq!(done.key, key);
                if start == 0 && !more {
                    // An atomic fragment: itself, and no state touched.
                    assert_eq!(done.payload, payload, "atomic fragment payload");
                    assert_eq!(done.header, header, "atomic fragment header");
                    assert_eq!(done.fragments, 1);
                } else {
                    let mut partial = self.model.remove(&key).unwrap_or_default();
                    if start == 0 {
                        partial.header = header.to_vec();
                    }
                    partial.frags.push((start, payload.to_vec()));
                    check_datagram(&done, &partial);
                }
            }
            Ok(None) => {
                let partial = self.model.entry(key).or_default();
                if partial.deadline.is_none() {
                    partial.deadline = Some(now + self.r.config().timeout);
                }
                let duplicate = partial
                    .frags
                    .iter()
                    .any(|(s, bytes)| *s == start && bytes == payload);
                if duplicate {
                    assert_eq!(
                        stats.duplicates,
                        before.duplicates + 1,
                        "duplicates counter"
                    );
                } else {
                    // A fragment accepted never overlaps one accepted before.
                    for (s, bytes) in &partial.frags {
                        let e = s + bytes.len();
                        assert!(e <= start || end <= *s, "overlapping fragment accepted");
                    }
                    if start == 0 {
                        partial.header = header.to_vec();
                    }
                    if !more {
                        partial.total = Some(end);
                    }
                    partial.frags.push((start, payload.to_vec()));
                }
                assert!(end <= MAX_PAYLOAD, "fragment past 65535 bytes accepted");
            }
            Err(reason) => {
                self.errors += 1;
                assert_eq!(
                    stats.dropped.get(reason),
                    before.dropped.get(reason) + 1,
                    "drop counter of {reason:?}"
                );
                match reason {
                    FragDrop::Malformed => {
                        assert!(
                            start & 7 != 0
                                || (more && (payload.is_empty() || payload.len() & 7 != 0)),
                            "well-formed fragment called malformed"
                        );
                    }
                    FragDrop::TooBig => {
                        assert!(end > MAX_PAYLOAD, "TooBig under 65535");
                        self.model.remove(&key);
                    }
                    FragDrop::Overlap | FragDrop::Inconsistent => {
                        assert!(
                            self.model.get(&key).is_some_and(|p| !p.frags.is_empty()),
                            "{reason:?} without earlier fragments"
                        );
                        self.model.remove(&key);
                    }
                    FragDrop::TooManyDatagrams => {
                        assert!(!self.model.contains_key(&key));
                    }
                    FragDrop::Discarded | FragDrop::NoMemory => {
                        self.model.remove(&key);
                    }
                }
            }
        }
        self.check_bounds();
    }

    fn timeout(&mut self, now: Instant) {
        self.age(now);
        let before = self.r.stats().timed_out;
        let max = self.r.config().max_datagrams;
        let mut reported = 0;
        for expired in self.r.handle_timeout(now) {
            reported += 1;
            if let Some(first) = expired.first_bytes() {
                assert!(first.len() <= FIRST_BYTES);
            }
        }
        assert!(reported <= max, "more expiry reports than max_datagrams");
        assert!(self.r.stats().timed_out >= before);
        if let Some(at) = self.r.poll_at() {
            assert!(at > now, "poll_at not after handle_timeout");
        }
        self.check_bounds();
    }

    fn check_bounds(&self) {
        let config = self.r.config();
        assert!(
            self.r.datagrams() <= config.max_datagrams,
            "datagrams over bound"
        );
        assert!(
            self.r.buffered_bytes() <= config.max_bytes,
            "bytes over budget"
        );
        if self.r.datagrams() == 0 {
            assert_eq!(self.r.buffered_bytes(), 0, "bytes charged with no datagram");
        }
        // Every live datagram in the model is charged at least its data.
        let modelled: usize = self
            .model
            .values()
            .map(|p| {
                p.frags.iter().map(|(_, b)| b.len()).sum::<usize>()
                    + p.frags.len() * FRAGMENT_OVERHEAD
            })
            .sum();
        assert!(
            modelled <= self.r.buffered_bytes(),
            "model holds more than the budget"
        );
        let stats = self.r.stats();
        assert_eq!(stats.fragments, self.calls, "fragments counter");
        let dropped: u64 = FragDrop::ALL.iter().map(|r| stats.dropped.get(*r)).sum();
        assert_eq!(dropped, self.errors, "drop counters");
        assert_eq!(stats.reassembled, self.done, "reassembled counter");
    }

    fn finish(&mut self, now: Instant) {
        let far = now + self.r.config().timeout + Duration::from_secs(1);
        for _ in self.r.handle_timeout(far) {}
        assert_eq!(self.r.datagrams(), 0, "datagrams left after every deadline");
        assert_eq!(
            self.r.buffered_bytes(),
            0,
            "bytes left after every deadline"
        );
        assert_eq!(self.r.poll_at(), None);
    }
}

/// The reassembled datagram must be exactly the accepted fragments, tiling
/// `[0, total)` without overlap, each at its offset.
fn check_datagram<A: core::fmt::Debug>(done: &Reassembled<A>, partial: &Partial) {
    assert!(
        done.payload.len() <= MAX_PAYLOAD,
        "datagram over 65535 bytes"
    );
    let mut frags: Vec<(usize, &[u8])> = partial
        .frags
        .iter()
        .map(|(s, b)| (*s, b.as_slice()))
        .collect();
    frags.sort_by_key(|&(s, b)| (s, b.len()));
    let mut at = 0;
    for (start, bytes) in &frags {
        assert_eq!(*start, at, "hole or overlap in a reassembled datagram");
        assert_eq!(
            &done.payload[*start..*start + bytes.len()],
            *bytes,
            "datagram bytes differ from the fragment's"
        );
        at += bytes.len();
    }
    assert_eq!(at, done.payload.len(), "datagram length");
    assert_eq!(done.fragments, frags.len(), "fragment count");
    assert_eq!(done.header, partial.header, "first fragment header");
}

/// Runs the input as a script of fragments against a small IPv4 and a small IPv6
/// reassembler.
///
/// The first byte picks the budget: `max_datagrams` 1 + (bits 0–1), `max_bytes`
/// 256, 1024, 4096 or 70000 by bits 2–3, `timeout` 1 + (bits 4–6) seconds. Then each
/// command is an opcode byte (modulo 4) and its operands:
///
/// | op | operands | command |
/// |----|----------|---------|
/// | 0, 1 | 6 bytes: `k o1 o2 l f c` | a fragment: key `k % 3` of the IPv6 (`k & 4`) or IPv4 side; offset from `o1 o2` by `f` bits 1–2 (0: `(o2 % 32) * 8`, 1: `o1 o2` raw, 2: `o1 o2 & !7`, 3: `(o2 % 4) * 8`); length from `l` by `f` bits 3–4 (0: `(l % 32) * 8`, 1: `l`, 2: `l * 256`, 3: 65535 − offset + `l % 3`); more fragments `f` bit 0; a header of `c % 24` bytes when `f` bit 5; payload byte at datagram position `p` is `c ^ (p * 31)` (bit 6 of `f` flips it, so overlaps disagree) |
/// | 2 | 1 byte `t` | advance the clock by `t * 50` ms |
/// | 3 | none | `handle_timeout(now)` on both sides |
///
/// Asserted after every command: datagrams and bytes within the budget, counters
/// consistent with the results, accepted fragments never overlapping, every
/// reassembled datagram at most 65535 bytes and equal to its fragments' bytes at their
/// offsets; at the end, everything expires and the budget returns to zero.
pub fn reassembly(data: &[u8]) {
    let Some((&setup, mut rest)) = data.split_first() else {
        return;
    };
    let config = ReassemblyConfig {
        max_datagrams: 1 + usize::from(setup & 3),
        max_bytes: [256, 1024, 4096, 70_000][usize::from((setup >> 2) & 3)],
        timeout: Duration::from_secs(1 + u64::from((setup >> 4) & 7)),
    };
    let v4 = |h: u8, protocol: IpProtocol, ident: u32| {
        FragKey::new(
            Ipv4Addr::new(10, 0, 0, h),
            Ipv4Addr::new(10, 0, 0, 2),
            protocol,
            ident,
        )
    };
    let v6 = |h: u16, ident: u32| {
        FragKey::new(
            Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, h),
            Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2),
            IpProtocol::Udp,
            ident,
        )
    };
    let mut side4 = Side::new(
        config,
        [
            v4(1, IpProtocol::Udp, 7),
            v4(1, IpProtocol::Tcp, 7),
            v4(3, IpProtocol::Udp, 0xffff),
        ],
    );
    let mut side6 = Side::new(config, [v6(1, 7), v6(1, 0xffff_ffff), v6(3, 7)]);
    let mut now = Instant::from_secs(1);
    for _ in 0..REASSEMBLY_MAX_COMMANDS {
        let Some((&op, tail)) = rest.split_first() else {
            break;
        };
        rest = tail;
        match op % 4 {
            0 | 1 => {
                let Some(args) = rest.get(..6) else { break };
                rest = &rest[6..];
                let (k, o1, o2, l, f, c) = (args[0], args[1], args[2], args[3], args[4], args[5]);
                let raw = u16::from_be_bytes([o1, o2]);
                let offset = match (f >> 1) & 3 {
                    0 => u16::from(o2 % 32) * 8,
                    1 => raw,
                    2 => raw & !7,
                    _ => u16::from(o2 % 4) * 8,
                };
                let len = match (f >> 3) & 3 {
                    0 => usize::from(l % 32) * 8,
                    1 => usize::from(l),
                    2 => usize::from(l) * 256,
                    _ => MAX_PAYLOAD - usize::from(offset) + usize::from(l % 3),
                };
                let more = f & 1 != 0;
                let header_len = if f & 0x20 != 0 {
                    usize::from(c % 24)
                } else {
                    0
                };
                let header: Vec<u8> = (0..header_len).map(|i| c.wrapping_add(i as u8)).collect();
                let flip = if f & 0x40 != 0 { 0xff } else { 0 };
                let payload: Vec<u8> = (0..len)
                    .map(|i| c ^ flip ^ ((usize::from(offset) + i) as u8).wrapping_mul(31))
                    .collect();
                if k & 4 != 0 {
                    side6.fragment(now, usize::from(k), offset, more, &header, &payload);
                } else {
                    side4.fragment(now, usize::from(k), offset, more, &header, &payload);
                }
            }
            2 => {
                let Some((&t, tail)) = rest.split_first() else {
                    break;
                };
                rest = tail;
                now += Duration::from_millis(u64::from(t) * 50);
            }
            _ => {
                side4.timeout(now);
                side6.timeout(now);
            }
        }
    }
    side4.finish(now);
    side6.finish(now);
}
