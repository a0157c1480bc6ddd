//! Hot-path protocol counters (Zephyr's `net_stats`): received, sent, and
//! dropped by reason, one [`ProtoCounters`] per protocol in [`Counters`].
//!
//! One writer — the worker that owns them — so they are plain `u64`s, no
//! atomics. Drop reasons are registered once at setup (a `&'static str`
//! each) and get a [`ReasonId`]; counting a drop is then an array index,
//! never a map lookup or a string comparison:
//!
//! ```
//! use strata_engine::stats::ProtoCounters;
//!
//! let mut ipv4 = ProtoCounters::new();
//! let checksum = ipv4.register("checksum"); // setup
//! ipv4.recv_n(31);                           // per burst
//! ipv4.drop(checksum);                       // per bad packet
//! let stats = ipv4.to_stats();               // when publishing
//! assert_eq!((stats.recv, stats.drop), (31, 1));
//! assert_eq!(stats.drop_reasons["checksum"], 1);
//! ```

use super::snapshot::{ProtoStats, Protocols, StatsSnapshot};

/// Drop reasons one protocol can register; the last slot is `other`, which
/// takes the drops of reasons registered beyond it. A power of two, so an
/// id indexes the array with a mask and no bounds check.
pub const MAX_DROP_REASONS: usize = 32;

/// The name reported for drops of reasons registered after the table was
/// full.
const OTHER: &str = "other";

/// A registered drop reason of one [`ProtoCounters`]: an index into its
/// drop array. Ids are only meaningful for the counters that issued them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReasonId(u8);

impl ReasonId {
    /// The slot counting reasons registered after the table was full.
    pub const OTHER: ReasonId = ReasonId((MAX_DROP_REASONS - 1) as u8);

    /// The index of this reason in the drop array.
    pub fn index(self) -> usize {
        usize::from(self.0) & (MAX_DROP_REASONS - 1)
    }
}

/// One protocol's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoCounters {
    /// Packets accepted by this layer.
    pub recv: u64,
    /// Packets sent by this layer.
    pub sent: u64,
    drops: [u64; MAX_DROP_REASONS],
    names: [&'static str; MAX_DROP_REASONS],
    registered: u8,
}

impl Default for ProtoCounters {
    fn default() -> Self {
        Self::new()
    }
}

impl ProtoCounters {
    /// Zeroed counters with no reasons registered.
    pub fn new() -> Self {
        ProtoCounters {
            recv: 0,
            sent: 0,
            drops: [0; MAX_DROP_REASONS],
            names: [""; MAX_DROP_REASONS],
            registered: 0,
        }
    }

    /// Zeroed counters with `reasons` registered in order: `reasons[i]`
    /// gets the id [`reason`](Self::reason) returns for it.
    pub fn with_reasons(reasons: &[&'static str]) -> Self {
        let mut counters = Self::new();
        for reason in reasons {
            counters.register(reason);
        }
        counters
    }

    /// Registers `name` (once; registering it again returns the same id).
    /// When [`MAX_DROP_REASONS`]` - 1` reasons are registered already, the
    /// id is [`ReasonId::OTHER`] and the drops are reported as `other`.
    pub fn register(&mut self, name: &'static str) -> ReasonId {
        if let Some(id) = self.reason(name) {
            return id;
        }
        let next = usize::from(self.registered);
        if next >= MAX_DROP_REASONS - 1 {
            return ReasonId::OTHER;
        }
        self.names[next] = name;
        self.registered += 1;
        ReasonId(next as u8)
    }

    /// The id of a registered reason (a linear scan: for setup, not per
    /// packet).
    pub fn reason(&self, name: &str) -> Option<ReasonId> {
        self.names[..usize::from(self.registered)]
            .iter()
            .position(|n| *n == name)
            .map(|i| ReasonId(i as u8))
    }

    /// Counts one packet received.
    #[inline]
    pub fn recv(&mut self) {
        self.recv = self.recv.wrapping_add(1);
    }

    /// Counts `n` packets received.
    #[inline]
    pub fn recv_n(&mut self, n: u64) {
        self.recv = self.recv.wrapping_add(n);
    }

    /// Counts one packet sent.
    #[inline]
    pub fn sent(&mut self) {
        self.sent = self.sent.wrapping_add(1);
    }

    /// Counts `n` packets sent.
    #[inline]
    pub fn sent_n(&mut self, n: u64) {
        self.sent = self.sent.wrapping_add(n);
    }

    /// Counts one drop for `reason`.
    #[inline]
    pub fn drop(&mut self, reason: ReasonId) {
        self.drop_n(reason, 1);
    }

    /// Counts `n` drops for `reason`.
    #[inline]
    pub fn drop_n(&mut self, reason: ReasonId, n: u64) {
        let slot = &mut self.drops[reason.index()];
        *slot = slot.wrapping_add(n);
    }

    /// Counts a drop by name, registering the reason if needed: the slow
    /// path, for rare drops whose id was not kept.
    pub fn drop_named(&mut self, name: &'static str) {
        let id = self.register(name);
        self.drop(id);
    }

    /// Drops counted for `reason`.
    pub fn drops_of(&self, reason: ReasonId) -> u64 {
        self.drops[reason.index()]
    }

    /// Every drop, all reasons.
    pub fn dropped(&self) -> u64 {
        self.drops.iter().fold(0u64, |a, b| a.saturating_add(*b))
    }

    /// The registered reasons with their counts (zeros included, so the
    /// JSON lists every reason a protocol knows), then `other` if used.
    pub fn reasons(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        let registered = usize::from(self.registered);
        let other = self.drops[ReasonId::OTHER.index()];
        self.names[..registered]
            .iter()
            .copied()
            .zip(self.drops[..registered].iter().copied())
            .chain((other > 0).then_some((OTHER, other)))
    }

    /// The counters in the stats JSON's shape (`drop` is the sum of the
    /// reasons).
    pub fn to_stats(&self) -> ProtoStats {
        ProtoStats::new(self.recv, self.sent, self.reasons())
    }

    /// Zeroes every count; registered reasons (and their ids) stay.
    pub fn reset(&mut self) {
        self.recv = 0;
        self.sent = 0;
        self.drops = [0; MAX_DROP_REASONS];
    }
}

impl From<&ProtoCounters> for ProtoStats {
    fn from(counters: &ProtoCounters) -> Self {
        counters.to_stats()
    }
}

/// One worker's protocol counters, one [`ProtoCounters`] per protocol of
/// the stats JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Ethernet.
    pub eth: ProtoCounters,
    /// ARP.
    pub arp: ProtoCounters,
    /// IPv4.
    pub ipv4: ProtoCounters,
    /// IPv6.
    pub ipv6: ProtoCounters,
    /// ICMPv4.
    pub icmpv4: ProtoCounters,
    /// ICMPv6.
    pub icmpv6: ProtoCounters,
    /// UDP.
    pub udp: ProtoCounters,
    /// TCP.
    pub tcp: ProtoCounters,
}

impl Counters {
    /// Zeroed counters, no reasons registered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Zeroed counters with Zephyr's `net_stats` drop reasons registered
    /// (`subsys/net/ip/net_stats.h`): IP `vhl`, `hblen`, `lblen`, `frag`,
    /// `checksum`, `proto`; ICMP `type`, `checksum`; UDP `checksum`; TCP
    /// `checksum`, `rst`, `conndrop`, `segdrop`. Other reasons can be
    /// registered after.
    pub fn with_zephyr_reasons() -> Self {
        const IP: &[&str] = &["vhl", "hblen", "lblen", "frag", "checksum", "proto"];
        const ICMP: &[&str] = &["type", "checksum"];
        Counters {
            eth: ProtoCounters::new(),
            arp: ProtoCounters::new(),
            ipv4: ProtoCounters::with_reasons(IP),
            ipv6: ProtoCounters::with_reasons(IP),
            icmpv4: ProtoCounters::with_reasons(ICMP),
            icmpv6: ProtoCounters::with_reasons(ICMP),
            udp: ProtoCounters::with_reasons(&["checksum"]),
            tcp: ProtoCounters::with_reasons(&["checksum", "rst", "conndrop", "segdrop"]),
        }
    }

    /// The counters in the stats JSON's shape.
    pub fn protocols(&self) -> Protocols {
        Protocols {
            eth: self.eth.to_stats(),
            arp: self.arp.to_stats(),
            ipv4: self.ipv4.to_stats(),
            ipv6: self.ipv6.to_stats(),
            icmpv4: self.icmpv4.to_stats(),
            icmpv6: self.icmpv6.to_stats(),
            udp: self.udp.to_stats(),
            tcp: self.tcp.to_stats(),
        }
    }

    /// A snapshot holding these protocol counters and nothing else (the
    /// worker adds its interfaces, queues and pools).
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            protocols: self.protocols(),
            ..StatsSnapshot::default()
        }
    }

    /// Zeroes every count, keeping registered reasons.
    pub fn reset(&mut self) {
        for p in [
            &mut self.eth,
            &mut self.arp,
            &mut self.ipv4,
            &mut self.ipv6,
            &mut self.icmpv4,
            &mut self.icmpv6,
            &mut self.udp,
            &mut self.tcp,
        ] {
            p.reset();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_by_id_become_proto_stats_with_drop_the_sum() {
        let mut c = ProtoCounters::with_reasons(&["vhl", "checksum", "frag"]);
        let checksum = c.reason("checksum").unwrap();
        let vhl = c.reason("vhl").unwrap();
        assert_eq!(
            c.register("checksum"),
            checksum,
            "registering twice is one id"
        );
        c.recv_n(10);
        c.recv();
        c.sent_n(4);
        c.drop(checksum);
        c.drop_n(checksum, 2);
        c.drop(vhl);
        c.drop_named("ttl");
        let s = c.to_stats();
        assert_eq!((s.recv, s.sent), (11, 4));
        assert_eq!(s.drop, 5);
        assert_eq!(s.drop, s.drop_reasons.values().sum::<u64>());
        assert_eq!(s.drop_reasons["checksum"], 3);
        assert_eq!(s.drop_reasons["vhl"], 1);
        assert_eq!(
            s.drop_reasons["frag"], 0,
            "known reasons are listed at zero"
        );
        assert_eq!(s.drop_reasons["ttl"], 1);
        assert_eq!(c.dropped(), 5);
        assert_eq!(c.drops_of(checksum), 3);
        c.reset();
        assert_eq!(c.to_stats().drop, 0);
        assert_eq!(
            c.reason("ttl"),
            Some(ReasonId(3)),
            "reset keeps the reasons"
        );
    }

    #[test]
    fn reasons_beyond_the_table_count_as_other() {
        static NAMES: [&str; 40] = [
            "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "r13",
            "r14", "r15", "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23", "r24", "r25",
            "r26", "r27", "r28", "r29", "r30", "r31", "r32", "r33", "r34", "r35", "r36", "r37",
            "r38", "r39",
        ];
        let mut c = ProtoCounters::new();
        for name in NAMES {
            let id = c.register(name);
            c.drop(id);
        }
        let s = c.to_stats();
        assert_eq!(s.drop, 40);
        assert_eq!(s.drop_reasons.len(), MAX_DROP_REASONS);
        assert_eq!(s.drop_reasons["other"], 40 - (MAX_DROP_REASONS as u64 - 1));
        assert_eq!(s.drop_reasons["r30"], 1);
        assert!(!s.drop_reasons.contains_key("r31"));
    }

    #[test]
    fn counters_cover_every_protocol() {
        let mut c = Counters::with_zephyr_reasons();
        c.udp.recv_n(3);
        let cs = c.udp.reason("checksum").unwrap();
        c.udp.drop(cs);
        c.tcp.drop_named("rst");
        let p = c.protocols();
        assert_eq!(p.udp.recv, 3);
        assert_eq!(p.udp.drop, 1);
        assert_eq!(p.tcp.drop_reasons["rst"], 1);
        assert_eq!(p.ipv4.drop_reasons.len(), 6);
        assert_eq!(c.snapshot().protocols, p);
        c.reset();
        assert_eq!(c.protocols().udp.recv, 0);
    }
}
