//! The protocol counters one interface's stack keeps (Zephyr's `net_stats`):
//! received, sent and dropped by named reason, per protocol. One writer (the
//! worker that owns the interface); a drop reason is a `&'static str` found
//! by a short linear scan of the few reasons a protocol has met so far.

use std::collections::BTreeMap;

/// The protocols counted, in the order of the stats JSON.
pub const PROTOCOLS: [&str; 8] = [
    "eth", "arp", "ipv4", "ipv6", "icmpv4", "icmpv6", "udp", "tcp",
];

/// One protocol's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtoCount {
    /// Packets received (accepted by this layer).
    pub recv: u64,
    /// Packets sent.
    pub sent: u64,
    /// Drops by reason, in the order first seen.
    drops: Vec<(&'static str, u64)>,
}

impl ProtoCount {
    /// Counts a drop for `reason`.
    #[inline]
    pub fn drop(&mut self, reason: &'static str) {
        self.drop_n(reason, 1);
    }

    /// Counts `n` drops for `reason`.
    pub fn drop_n(&mut self, reason: &'static str, n: u64) {
        if let Some(entry) = self.drops.iter_mut().find(|(r, _)| *r == reason) {
            entry.1 += n;
        } else {
            self.drops.push((reason, n));
        }
    }

    /// Total drops.
    pub fn dropped(&self) -> u64 {
        self.drops.iter().map(|(_, n)| n).sum()
    }

    /// The drops of `reason`.
    pub fn drops_of(&self, reason: &str) -> u64 {
        self.drops
            .iter()
            .find(|(r, _)| *r == reason)
            .map_or(0, |(_, n)| *n)
    }

    /// Drops by reason, sorted by name.
    pub fn drop_reasons(&self) -> BTreeMap<&'static str, u64> {
        self.drops.iter().copied().collect()
    }
}

/// Every protocol's counters for one interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackCounters {
    /// Ethernet.
    pub eth: ProtoCount,
    /// ARP (the cache's own statistics are added when reported).
    pub arp: ProtoCount,
    /// IPv4.
    pub ipv4: ProtoCount,
    /// IPv6.
    pub ipv6: ProtoCount,
    /// ICMPv4.
    pub icmpv4: ProtoCount,
    /// ICMPv6 (neighbour discovery and MLD included).
    pub icmpv6: ProtoCount,
    /// UDP.
    pub udp: ProtoCount,
    /// TCP.
    pub tcp: ProtoCount,
}

impl StackCounters {
    /// The counters of a protocol by its name in [`PROTOCOLS`].
    pub fn by_name(&self, name: &str) -> Option<&ProtoCount> {
        Some(match name {
            "eth" => &self.eth,
            "arp" => &self.arp,
            "ipv4" => &self.ipv4,
            "ipv6" => &self.ipv6,
            "icmpv4" => &self.icmpv4,
            "icmpv6" => &self.icmpv6,
            "udp" => &self.udp,
            "tcp" => &self.tcp,
            _ => return None,
        })
    }

    /// The counters of a protocol by name, writable; unknown names go to `eth`.
    pub fn by_name_mut(&mut self, name: &str) -> &mut ProtoCount {
        match name {
            "arp" => &mut self.arp,
            "ipv4" => &mut self.ipv4,
            "ipv6" => &mut self.ipv6,
            "icmpv4" => &mut self.icmpv4,
            "icmpv6" => &mut self.icmpv6,
            "udp" => &mut self.udp,
            "tcp" => &mut self.tcp,
            _ => &mut self.eth,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_add_up_by_reason() {
        let mut c = ProtoCount::default();
        c.drop("checksum");
        c.drop_n("vhl", 2);
        c.drop("checksum");
        assert_eq!(c.dropped(), 4);
        assert_eq!(c.drops_of("checksum"), 2);
        assert_eq!(c.drops_of("nothing"), 0);
        let reasons: Vec<_> = c.drop_reasons().into_iter().collect();
        assert_eq!(reasons, [("checksum", 2), ("vhl", 2)]);
    }

    #[test]
    fn names_reach_every_protocol() {
        let mut all = StackCounters::default();
        for name in PROTOCOLS {
            all.by_name_mut(name).recv += 1;
            assert_eq!(all.by_name(name).unwrap().recv, 1, "{name}");
        }
        assert!(all.by_name("sctp").is_none());
    }
}
