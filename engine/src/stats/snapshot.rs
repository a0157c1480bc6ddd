//! The stats JSON contract (DESIGN.md, "Contract: stats JSON"): the types
//! `strata … --json` prints and the exporter serves at `/stats`.
//!
//! Field names are the contract: fields may be added, never renamed. Every
//! struct deserializes with missing fields defaulted, so `strata top` reads
//! the output of older and newer engines alike.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One stats JSON object: everything an engine counts, at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatsSnapshot {
    /// Per-interface packet and byte counters.
    pub interfaces: Vec<InterfaceStats>,
    /// Per-protocol counters (Zephyr's `net_stats`).
    pub protocols: Protocols,
    /// Per-stage latency percentiles (Zephyr's packet-processing statistics).
    pub stages: Vec<StageStats>,
    /// Buffer pools.
    pub pools: Vec<PoolStatsJson>,
    /// Rings, one entry per (ring, traffic class).
    pub queues: Vec<QueueStats>,
    /// Packet and bit rates over the last measuring window.
    pub rates: Rates,
}

/// One interface's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InterfaceStats {
    /// The interface's name (`eth0`, `pair0`, …).
    pub name: String,
    /// Frames received.
    pub rx_packets: u64,
    /// Bytes received (whole frames, Ethernet header included).
    pub rx_bytes: u64,
    /// Frames sent.
    pub tx_packets: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Frames received and dropped (any layer, any reason).
    pub rx_dropped: u64,
    /// Frames that could not be sent (ring full, device refused, …).
    pub tx_dropped: u64,
}

/// The counters of every protocol, in the order of the contract.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Protocols {
    /// Ethernet.
    pub eth: ProtoStats,
    /// ARP.
    pub arp: ProtoStats,
    /// IPv4.
    pub ipv4: ProtoStats,
    /// IPv6.
    pub ipv6: ProtoStats,
    /// ICMPv4.
    pub icmpv4: ProtoStats,
    /// ICMPv6 (neighbour discovery and MLD included).
    pub icmpv6: ProtoStats,
    /// UDP.
    pub udp: ProtoStats,
    /// TCP.
    pub tcp: ProtoStats,
}

impl Protocols {
    /// The protocol names, in the order of the contract.
    pub const NAMES: [&'static str; 8] = [
        "eth", "arp", "ipv4", "ipv6", "icmpv4", "icmpv6", "udp", "tcp",
    ];

    /// Every protocol with its name, in the order of [`NAMES`](Self::NAMES).
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &ProtoStats)> {
        Self::NAMES.into_iter().zip([
            &self.eth,
            &self.arp,
            &self.ipv4,
            &self.ipv6,
            &self.icmpv4,
            &self.icmpv6,
            &self.udp,
            &self.tcp,
        ])
    }

    /// Every protocol, writable, with its name.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&'static str, &mut ProtoStats)> {
        Self::NAMES.into_iter().zip([
            &mut self.eth,
            &mut self.arp,
            &mut self.ipv4,
            &mut self.ipv6,
            &mut self.icmpv4,
            &mut self.icmpv6,
            &mut self.udp,
            &mut self.tcp,
        ])
    }

    /// A protocol by its name in [`NAMES`](Self::NAMES).
    pub fn get(&self, name: &str) -> Option<&ProtoStats> {
        self.iter().find(|(n, _)| *n == name).map(|(_, p)| p)
    }

    /// Adds `other`'s counters, protocol by protocol.
    pub fn merge(&mut self, other: &Protocols) {
        for ((_, mine), (_, theirs)) in self.iter_mut().zip(other.iter()) {
            mine.merge(theirs);
        }
    }
}

/// One protocol's counters: received, sent and dropped by reason.
///
/// Invariant: `drop` is the sum of `drop_reasons` (kept by
/// [`ProtoStats::new`], [`ProtoStats::add_drop`] and
/// [`ProtoStats::merge`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProtoStats {
    /// Packets accepted by this layer.
    pub recv: u64,
    /// Packets sent by this layer.
    pub sent: u64,
    /// Packets dropped, the sum of `drop_reasons`.
    pub drop: u64,
    /// Drops by reason (`checksum`, `vhl`, `hblen`, …).
    pub drop_reasons: BTreeMap<String, u64>,
}

impl ProtoStats {
    /// Counters from their parts; `drop` is computed.
    pub fn new<'a>(
        recv: u64,
        sent: u64,
        reasons: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> Self {
        let mut stats = ProtoStats {
            recv,
            sent,
            ..ProtoStats::default()
        };
        for (reason, n) in reasons {
            stats.add_drop(reason, n);
        }
        stats
    }

    /// Adds `n` drops under `reason`, keeping `drop` the sum.
    pub fn add_drop(&mut self, reason: &str, n: u64) {
        match self.drop_reasons.get_mut(reason) {
            Some(count) => *count = count.saturating_add(n),
            None => {
                self.drop_reasons.insert(reason.to_owned(), n);
            }
        }
        self.drop = self.drop.saturating_add(n);
    }

    /// Adds `other`'s counters.
    pub fn merge(&mut self, other: &ProtoStats) {
        self.recv = self.recv.saturating_add(other.recv);
        self.sent = self.sent.saturating_add(other.sent);
        for (reason, n) in &other.drop_reasons {
            self.add_drop(reason, *n);
        }
    }
}

/// One processing stage's latency summary. Latencies are nanoseconds from
/// the start of the stage's path (the device handing the burst over on RX,
/// the application's send on TX) to the end of the stage.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StageStats {
    /// The stage ([`Stage::name`](super::Stage::name): `rx_l2`, …, `tx_device`).
    pub name: String,
    /// Packets timed (sampled bursts only).
    pub packets: u64,
    /// Median latency, ns.
    pub p50_ns: u64,
    /// 90th percentile, ns.
    pub p90_ns: u64,
    /// 99th percentile, ns.
    pub p99_ns: u64,
    /// Largest latency seen, ns.
    pub max_ns: u64,
    /// Mean latency, ns (an addition to the contract).
    pub mean_ns: f64,
    /// The traffic class, for per-class entries; absent for the entry
    /// covering every class (an addition to the contract).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<u8>,
}

impl StageStats {
    /// Merges the summary of the same stage from elsewhere: packets add, the
    /// mean is weighted, the maximum is exact, and each percentile becomes
    /// the larger of the two (an upper bound: percentiles cannot be merged
    /// exactly — merge the histograms instead, as
    /// [`StatsReader`](super::StatsReader) does).
    pub fn merge(&mut self, other: &StageStats) {
        let total = self.packets.saturating_add(other.packets);
        if total > 0 {
            self.mean_ns = (self.mean_ns * self.packets as f64
                + other.mean_ns * other.packets as f64)
                / total as f64;
        }
        if other.packets > 0 {
            self.p50_ns = self.p50_ns.max(other.p50_ns);
            self.p90_ns = self.p90_ns.max(other.p90_ns);
            self.p99_ns = self.p99_ns.max(other.p99_ns);
            self.max_ns = self.max_ns.max(other.max_ns);
        }
        self.packets = total;
    }
}

/// One buffer pool (from [`strata_pools::PoolStats`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolStatsJson {
    /// The pool's name.
    pub name: String,
    /// Frames in the pool.
    pub capacity: u64,
    /// Frames free now.
    pub free: u64,
    /// The fewest frames ever free.
    pub min_free: u64,
    /// Allocations refused because the pool was empty.
    pub alloc_failures: u64,
}

impl From<&strata_pools::PoolStats> for PoolStatsJson {
    fn from(stats: &strata_pools::PoolStats) -> Self {
        PoolStatsJson {
            name: stats.name.clone(),
            capacity: stats.capacity as u64,
            free: stats.free as u64,
            min_free: stats.min_free as u64,
            alloc_failures: stats.alloc_failures,
        }
    }
}

/// One ring (one traffic class of a queue set).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueStats {
    /// The ring's (or queue set's) name.
    pub name: String,
    /// The traffic class (0 when the ring has no class).
    pub class: u8,
    /// Items ever enqueued.
    pub enqueued: u64,
    /// Items ever dequeued.
    pub dequeued: u64,
    /// Items refused because the ring was full.
    pub dropped: u64,
    /// Highest occupancy seen.
    pub high_water: u64,
}

impl QueueStats {
    /// The entry of ring `name`, class `class`, from its counters.
    pub fn from_ring(name: impl Into<String>, class: u8, ring: &strata_queues::RingStats) -> Self {
        QueueStats {
            name: name.into(),
            class,
            enqueued: ring.enqueued,
            dequeued: ring.dequeued,
            dropped: ring.dropped,
            high_water: ring.high_water as u64,
        }
    }
}

/// Rates over a window: packets and bits per second, across interfaces.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rates {
    /// Frames received per second.
    pub rx_pps: f64,
    /// Frames sent per second.
    pub tx_pps: f64,
    /// Bits received per second (frame bytes × 8).
    pub rx_bps: f64,
    /// Bits sent per second.
    pub tx_bps: f64,
}

impl Rates {
    /// The rates between two snapshots of the same engine taken `elapsed`
    /// apart, from the interface totals. A counter that went backwards (an
    /// engine restarted) counts as zero; a zero `elapsed` gives zero rates.
    pub fn between(earlier: &StatsSnapshot, later: &StatsSnapshot, elapsed: Duration) -> Rates {
        let secs = elapsed.as_secs_f64();
        if secs <= 0.0 {
            return Rates::default();
        }
        let a = earlier.totals();
        let b = later.totals();
        let per_sec = |after: u64, before: u64| after.saturating_sub(before) as f64 / secs;
        Rates {
            rx_pps: per_sec(b.rx_packets, a.rx_packets),
            tx_pps: per_sec(b.tx_packets, a.tx_packets),
            rx_bps: per_sec(b.rx_bytes, a.rx_bytes) * 8.0,
            tx_bps: per_sec(b.tx_bytes, a.tx_bytes) * 8.0,
        }
    }

    /// Adds `other`'s rates (rates of disjoint workers add up).
    pub fn merge(&mut self, other: &Rates) {
        self.rx_pps += other.rx_pps;
        self.tx_pps += other.tx_pps;
        self.rx_bps += other.rx_bps;
        self.tx_bps += other.tx_bps;
    }
}

impl StatsSnapshot {
    /// The JSON text, indented for people.
    pub fn to_json_pretty(&self) -> String {
        // Serializing these plain structs (string keys, finite or non-finite
        // floats become null) cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The JSON text on one line, for machines.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses a stats JSON object (missing fields default).
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The interfaces summed into one entry named `total`.
    pub fn totals(&self) -> InterfaceStats {
        let mut total = InterfaceStats {
            name: "total".to_owned(),
            ..InterfaceStats::default()
        };
        for i in &self.interfaces {
            add_interface(&mut total, i);
        }
        total
    }

    /// Adds `other` (another worker's snapshot) into this one:
    ///
    /// - interfaces of the same name: counters add;
    /// - protocols: counters and drop reasons add;
    /// - stages of the same name and class: see [`StageStats::merge`];
    /// - pools of the same name are the same pool read twice: `other`'s
    ///   reading replaces this one's;
    /// - queues of the same name and class: counters add, `high_water` is
    ///   the larger;
    /// - rates add.
    ///
    /// Entries new to `self` are appended in `other`'s order.
    pub fn merge(&mut self, other: &StatsSnapshot) {
        for i in &other.interfaces {
            match self.interfaces.iter_mut().find(|m| m.name == i.name) {
                Some(mine) => add_interface(mine, i),
                None => self.interfaces.push(i.clone()),
            }
        }
        self.protocols.merge(&other.protocols);
        for s in &other.stages {
            match self
                .stages
                .iter_mut()
                .find(|m| m.name == s.name && m.class == s.class)
            {
                Some(mine) => mine.merge(s),
                None => self.stages.push(s.clone()),
            }
        }
        for p in &other.pools {
            match self.pools.iter_mut().find(|m| m.name == p.name) {
                Some(mine) => *mine = p.clone(),
                None => self.pools.push(p.clone()),
            }
        }
        for q in &other.queues {
            match self
                .queues
                .iter_mut()
                .find(|m| m.name == q.name && m.class == q.class)
            {
                Some(mine) => {
                    mine.enqueued = mine.enqueued.saturating_add(q.enqueued);
                    mine.dequeued = mine.dequeued.saturating_add(q.dequeued);
                    mine.dropped = mine.dropped.saturating_add(q.dropped);
                    mine.high_water = mine.high_water.max(q.high_water);
                }
                None => self.queues.push(q.clone()),
            }
        }
        self.rates.merge(&other.rates);
    }
}

fn add_interface(into: &mut InterfaceStats, from: &InterfaceStats) {
    into.rx_packets = into.rx_packets.saturating_add(from.rx_packets);
    into.rx_bytes = into.rx_bytes.saturating_add(from.rx_bytes);
    into.tx_packets = into.tx_packets.saturating_add(from.tx_packets);
    into.tx_bytes = into.tx_bytes.saturating_add(from.tx_bytes);
    into.rx_dropped = into.rx_dropped.saturating_add(from.rx_dropped);
    into.tx_dropped = into.tx_dropped.saturating_add(from.tx_dropped);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::Value;

    pub(crate) fn sample() -> StatsSnapshot {
        let mut s = StatsSnapshot::default();
        s.interfaces.push(InterfaceStats {
            name: "eth0".into(),
            rx_packets: 10,
            rx_bytes: 1000,
            tx_packets: 5,
            tx_bytes: 500,
            rx_dropped: 1,
            tx_dropped: 2,
        });
        s.protocols.ipv4 = ProtoStats::new(9, 5, [("checksum", 1), ("vhl", 2)]);
        s.stages.push(StageStats {
            name: "rx_l3".into(),
            packets: 10,
            p50_ns: 100,
            p90_ns: 200,
            p99_ns: 300,
            max_ns: 400,
            mean_ns: 120.0,
            class: None,
        });
        s.pools.push(PoolStatsJson {
            name: "rx".into(),
            capacity: 4096,
            free: 4000,
            min_free: 3900,
            alloc_failures: 0,
        });
        s.queues.push(QueueStats {
            name: "rx0".into(),
            class: 1,
            enqueued: 7,
            dequeued: 6,
            dropped: 1,
            high_water: 3,
        });
        s
    }

    fn keys(v: &Value) -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    }

    fn sorted(names: &[&str]) -> Vec<String> {
        let mut k: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        k.sort();
        k
    }

    #[test]
    fn json_field_names_are_the_contract() {
        let v: Value = serde_json::from_str(&sample().to_json()).unwrap();
        assert_eq!(
            keys(&v),
            sorted(&[
                "interfaces",
                "protocols",
                "stages",
                "pools",
                "queues",
                "rates"
            ])
        );
        assert_eq!(
            keys(&v["interfaces"][0]),
            sorted(&[
                "name",
                "rx_packets",
                "rx_bytes",
                "tx_packets",
                "tx_bytes",
                "rx_dropped",
                "tx_dropped"
            ])
        );
        assert_eq!(keys(&v["protocols"]), sorted(&Protocols::NAMES));
        for proto in Protocols::NAMES {
            assert_eq!(
                keys(&v["protocols"][proto]),
                sorted(&["recv", "sent", "drop", "drop_reasons"]),
                "{proto}"
            );
            assert!(v["protocols"][proto]["drop_reasons"].is_object());
        }
        assert_eq!(v["protocols"]["ipv4"]["drop"], 3);
        assert_eq!(v["protocols"]["ipv4"]["drop_reasons"]["vhl"], 2);
        let stage = keys(&v["stages"][0]);
        for k in ["name", "packets", "p50_ns", "p90_ns", "p99_ns", "max_ns"] {
            assert!(stage.contains(&k.to_string()), "{k}");
        }
        assert!(
            !stage.contains(&"class".to_string()),
            "class omitted when None"
        );
        assert_eq!(
            keys(&v["pools"][0]),
            sorted(&["name", "capacity", "free", "min_free", "alloc_failures"])
        );
        assert_eq!(
            keys(&v["queues"][0]),
            sorted(&[
                "name",
                "class",
                "enqueued",
                "dequeued",
                "dropped",
                "high_water"
            ])
        );
        assert_eq!(
            keys(&v["rates"]),
            sorted(&["rx_pps", "tx_pps", "rx_bps", "tx_bps"])
        );
        // Pretty and compact say the same, and both parse back.
        let pretty: Value = serde_json::from_str(&sample().to_json_pretty()).unwrap();
        assert_eq!(pretty, v);
        assert_eq!(
            StatsSnapshot::from_json(&sample().to_json()).unwrap(),
            sample()
        );
        // Missing fields default, unknown fields are ignored.
        let partial = StatsSnapshot::from_json(r#"{"rates":{"rx_pps":1.5},"mode":"rtc"}"#).unwrap();
        assert_eq!(partial.rates.rx_pps, 1.5);
        assert!(partial.interfaces.is_empty());
    }

    #[test]
    fn merge_adds_counters_by_name() {
        let mut a = sample();
        let mut b = sample();
        b.interfaces.push(InterfaceStats {
            name: "eth1".into(),
            rx_packets: 3,
            ..InterfaceStats::default()
        });
        b.protocols.ipv4.add_drop("frag", 4);
        b.protocols.udp = ProtoStats::new(2, 0, []);
        b.pools[0].free = 10;
        b.queues[0].high_water = 9;
        b.queues.push(QueueStats {
            name: "rx0".into(),
            class: 2,
            enqueued: 1,
            ..QueueStats::default()
        });
        b.stages[0].max_ns = 1000;
        b.stages[0].mean_ns = 140.0;
        a.merge(&b);

        assert_eq!(a.interfaces.len(), 2);
        assert_eq!(a.interfaces[0].rx_packets, 20);
        assert_eq!(a.interfaces[0].tx_bytes, 1000);
        assert_eq!(a.interfaces[0].tx_dropped, 4);
        assert_eq!(a.interfaces[1].rx_packets, 3);
        assert_eq!(a.protocols.ipv4.recv, 18);
        assert_eq!(a.protocols.ipv4.drop_reasons["checksum"], 2);
        assert_eq!(a.protocols.ipv4.drop_reasons["frag"], 4);
        assert_eq!(a.protocols.ipv4.drop, 2 + 4 + 4);
        assert_eq!(
            a.protocols.ipv4.drop,
            a.protocols.ipv4.drop_reasons.values().sum::<u64>()
        );
        assert_eq!(a.protocols.udp.recv, 2);
        assert_eq!(a.pools.len(), 1);
        assert_eq!(a.pools[0].free, 10, "a pool read twice is not added");
        assert_eq!(a.queues.len(), 2);
        assert_eq!(a.queues[0].enqueued, 14);
        assert_eq!(a.queues[0].high_water, 9);
        assert_eq!(a.stages.len(), 1);
        assert_eq!(a.stages[0].packets, 20);
        assert_eq!(a.stages[0].max_ns, 1000);
        assert!((a.stages[0].mean_ns - 130.0).abs() < 1e-9);
    }

    #[test]
    fn rates_between_snapshots() {
        let a = sample();
        let mut b = sample();
        b.interfaces[0].rx_packets += 2_000;
        b.interfaces[0].rx_bytes += 128_000;
        b.interfaces[0].tx_packets += 500;
        b.interfaces[0].tx_bytes += 1_000;
        let r = Rates::between(&a, &b, Duration::from_millis(500));
        assert_eq!(r.rx_pps, 4_000.0);
        assert_eq!(r.rx_bps, 128_000.0 * 8.0 * 2.0);
        assert_eq!(r.tx_pps, 1_000.0);
        assert_eq!(r.tx_bps, 16_000.0);
        // Backwards counters and zero time give zeros, never NaN or a panic.
        let back = Rates::between(&b, &a, Duration::from_secs(1));
        assert_eq!(back, Rates::default());
        assert_eq!(Rates::between(&a, &b, Duration::ZERO), Rates::default());
    }
}
