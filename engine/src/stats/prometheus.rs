//! The Prometheus text exposition (format 0.0.4) of a [`StatsSnapshot`]
//! (DESIGN.md, "Contract: metrics"): names are `strata_` + snake case;
//! labels are `iface`, `proto`, `reason`, `stage`, `class`, `worker`, plus
//! `pool`, `queue` and the summaries' `quantile`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `strata_interface_{rx,tx}_{packets,bytes}_total`, `strata_interface_{rx,tx}_dropped_total` | counter | `iface` |
//! | `strata_protocol_recv_total`, `strata_protocol_sent_total` | counter | `proto` |
//! | `strata_protocol_drop_total` | counter | `proto`, `reason` |
//! | `strata_stage_latency_ns` (`_sum`, `_count`) | summary | `stage`, `quantile` (0.5, 0.9, 0.99, 1 = max) |
//! | `strata_stage_class_latency_ns` (`_sum`, `_count`) | summary | `stage`, `class`, `quantile` |
//! | `strata_pool_capacity`, `strata_pool_free`, `strata_pool_min_free` | gauge | `pool` |
//! | `strata_pool_alloc_failures_total` | counter | `pool` |
//! | `strata_queue_{enqueued,dequeued,dropped}_total` | counter | `queue`, `class` |
//! | `strata_queue_high_water` | gauge | `queue`, `class` |
//! | `strata_rx_pps`, `strata_tx_pps`, `strata_rx_bps`, `strata_tx_bps` | gauge | |
//!
//! Every sample carries `worker` too when rendered per worker
//! ([`render_workers`]). Drops are only exposed per reason: `sum by (proto)`
//! gives a protocol's total.

use std::fmt::Write as _;

use super::snapshot::{InterfaceStats, QueueStats, StageStats, StatsSnapshot};

/// The `Content-Type` of the text this module renders.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The text exposition of one snapshot (no `worker` label).
pub fn render(snapshot: &StatsSnapshot) -> String {
    render_all(&[(None, snapshot)])
}

/// The text exposition of several workers' snapshots, each sample labelled
/// with its `worker`.
pub fn render_workers(snapshots: &[(usize, StatsSnapshot)]) -> String {
    let labelled: Vec<(Option<usize>, &StatsSnapshot)> =
        snapshots.iter().map(|(w, s)| (Some(*w), s)).collect();
    render_all(&labelled)
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// Writes families one after another, each with its HELP and TYPE lines
/// and then the samples of every snapshot.
struct Writer<'s> {
    out: String,
    snaps: &'s [(Option<usize>, &'s StatsSnapshot)],
}

impl<'s> Writer<'s> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, worker: Option<usize>, labels: &[(&str, &str)], value: Value) {
        self.out.push_str(name);
        let worker = worker.map(|w| w.to_string());
        let all = worker
            .as_deref()
            .map(|w| ("worker", w))
            .into_iter()
            .chain(labels.iter().copied());
        let mut first = true;
        for (key, val) in all {
            self.out.push(if first { '{' } else { ',' });
            first = false;
            self.out.push_str(key);
            self.out.push_str("=\"");
            escape_label_into(&mut self.out, val);
            self.out.push('"');
        }
        if !first {
            self.out.push('}');
        }
        self.out.push(' ');
        match value {
            Value::Int(v) => {
                let _ = write!(self.out, "{v}");
            }
            Value::Float(v) => write_float(&mut self.out, v),
        }
        self.out.push('\n');
    }

    /// One family with one sample per item of every snapshot.
    fn each<T: 's>(
        &mut self,
        name: &str,
        kind: &str,
        help: &str,
        items: impl Fn(&'s StatsSnapshot) -> &'s [T],
        sample: impl Fn(&'s T) -> (Labels<'s>, Value),
    ) {
        self.family(name, kind, help);
        for &(worker, snap) in self.snaps {
            for item in items(snap) {
                let (labels, value) = sample(item);
                self.sample(name, worker, &labels, value);
            }
        }
    }

    fn summary(&mut self, name: &str, help: &str, per_class: bool) {
        self.family(name, "summary", help);
        let snaps = self.snaps;
        for &(worker, snap) in snaps {
            for s in &snap.stages {
                if s.class.is_some() != per_class {
                    continue;
                }
                let class = s.class.map(|c| c.to_string());
                let mut base: Vec<(&str, &str)> = vec![("stage", s.name.as_str())];
                if let Some(c) = class.as_deref() {
                    base.push(("class", c));
                }
                for (q, v) in [
                    ("0.5", s.p50_ns),
                    ("0.9", s.p90_ns),
                    ("0.99", s.p99_ns),
                    ("1", s.max_ns),
                ] {
                    let mut labels = base.clone();
                    labels.push(("quantile", q));
                    self.sample(name, worker, &labels, Value::Int(v));
                }
                let sum = stage_sum(s);
                self.sample(&format!("{name}_sum"), worker, &base, Value::Float(sum));
                self.sample(
                    &format!("{name}_count"),
                    worker,
                    &base,
                    Value::Int(s.packets),
                );
            }
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Value {
    Int(u64),
    Float(f64),
}

fn stage_sum(s: &StageStats) -> f64 {
    (s.mean_ns * s.packets as f64).round()
}

fn render_all(snaps: &[(Option<usize>, &StatsSnapshot)]) -> String {
    let mut w = Writer {
        out: String::with_capacity(4096),
        snaps,
    };

    type IfaceField = fn(&InterfaceStats) -> u64;
    let iface: [(&str, &str, IfaceField); 6] = [
        (
            "strata_interface_rx_packets_total",
            "Frames received.",
            |i| i.rx_packets,
        ),
        ("strata_interface_rx_bytes_total", "Bytes received.", |i| {
            i.rx_bytes
        }),
        ("strata_interface_tx_packets_total", "Frames sent.", |i| {
            i.tx_packets
        }),
        ("strata_interface_tx_bytes_total", "Bytes sent.", |i| {
            i.tx_bytes
        }),
        (
            "strata_interface_rx_dropped_total",
            "Frames received and dropped.",
            |i| i.rx_dropped,
        ),
        (
            "strata_interface_tx_dropped_total",
            "Frames that could not be sent.",
            |i| i.tx_dropped,
        ),
    ];
    for (name, help, field) in iface {
        w.each(
            name,
            "counter",
            help,
            |s| &s.interfaces,
            |i| (vec![("iface", i.name.as_str())], Value::Int(field(i))),
        );
    }

    for (name, help, sent) in [
        (
            "strata_protocol_recv_total",
            "Packets accepted by a protocol layer.",
            false,
        ),
        (
            "strata_protocol_sent_total",
            "Packets sent by a protocol layer.",
            true,
        ),
    ] {
        w.family(name, "counter", help);
        for &(worker, snap) in snaps {
            for (proto, p) in snap.protocols.iter() {
                let v = if sent { p.sent } else { p.recv };
                w.sample(name, worker, &[("proto", proto)], Value::Int(v));
            }
        }
    }
    let name = "strata_protocol_drop_total";
    w.family(
        name,
        "counter",
        "Packets dropped by a protocol layer, by reason.",
    );
    for &(worker, snap) in snaps {
        for (proto, p) in snap.protocols.iter() {
            for (reason, n) in &p.drop_reasons {
                w.sample(
                    name,
                    worker,
                    &[("proto", proto), ("reason", reason)],
                    Value::Int(*n),
                );
            }
        }
    }

    w.summary(
        "strata_stage_latency_ns",
        "Nanoseconds from the start of the path to the end of a stage (sampled bursts).",
        false,
    );
    if snaps
        .iter()
        .any(|(_, s)| s.stages.iter().any(|st| st.class.is_some()))
    {
        w.summary(
            "strata_stage_class_latency_ns",
            "Stage latency of one traffic class, nanoseconds (sampled bursts).",
            true,
        );
    }

    type PoolField = fn(&super::PoolStatsJson) -> u64;
    let pool: [(&str, &str, &str, PoolField); 4] = [
        ("strata_pool_capacity", "gauge", "Frames in a pool.", |p| {
            p.capacity
        }),
        ("strata_pool_free", "gauge", "Frames free in a pool.", |p| {
            p.free
        }),
        (
            "strata_pool_min_free",
            "gauge",
            "Fewest frames ever free in a pool.",
            |p| p.min_free,
        ),
        (
            "strata_pool_alloc_failures_total",
            "counter",
            "Allocations refused because a pool was empty.",
            |p| p.alloc_failures,
        ),
    ];
    for (name, kind, help, field) in pool {
        w.each(
            name,
            kind,
            help,
            |s| &s.pools,
            |p| (vec![("pool", p.name.as_str())], Value::Int(field(p))),
        );
    }

    type QueueField = fn(&QueueStats) -> u64;
    let queue: [(&str, &str, &str, QueueField); 4] = [
        (
            "strata_queue_enqueued_total",
            "counter",
            "Items enqueued on a ring.",
            |q| q.enqueued,
        ),
        (
            "strata_queue_dequeued_total",
            "counter",
            "Items dequeued from a ring.",
            |q| q.dequeued,
        ),
        (
            "strata_queue_dropped_total",
            "counter",
            "Items refused by a full ring.",
            |q| q.dropped,
        ),
        (
            "strata_queue_high_water",
            "gauge",
            "Highest occupancy of a ring.",
            |q| q.high_water,
        ),
    ];
    for (name, kind, help, field) in queue {
        w.family(name, kind, help);
        for &(worker, snap) in snaps {
            for q in &snap.queues {
                let class = q.class.to_string();
                w.sample(
                    name,
                    worker,
                    &[("queue", q.name.as_str()), ("class", class.as_str())],
                    Value::Int(field(q)),
                );
            }
        }
    }

    type RateField = fn(&super::Rates) -> f64;
    let rates: [(&str, &str, RateField); 4] = [
        ("strata_rx_pps", "Frames received per second.", |r| r.rx_pps),
        ("strata_tx_pps", "Frames sent per second.", |r| r.tx_pps),
        ("strata_rx_bps", "Bits received per second.", |r| r.rx_bps),
        ("strata_tx_bps", "Bits sent per second.", |r| r.tx_bps),
    ];
    for (name, help, field) in rates {
        w.family(name, "gauge", help);
        for &(worker, snap) in snaps {
            w.sample(name, worker, &[], Value::Float(field(&snap.rates)));
        }
    }
    w.out
}

fn write_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "+Inf" } else { "-Inf" });
    } else {
        let _ = write!(out, "{v}");
    }
}

/// Escapes a label value: backslash, double quote and line feed.
fn escape_label_into(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Escapes HELP text: backslash and line feed.
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::stats::snapshot::tests::sample;
    use std::collections::{BTreeMap, BTreeSet};

    /// One parsed sample line.
    #[derive(Debug)]
    pub(crate) struct Line {
        pub name: String,
        pub labels: BTreeMap<String, String>,
        pub value: f64,
    }

    fn valid_name(name: &str) -> bool {
        name.strip_prefix("strata_").is_some_and(|rest| {
            !rest.is_empty()
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
    }

    /// A small parser of the text format: checks every line and returns
    /// the samples, panicking with the line on any violation.
    pub(crate) fn parse(text: &str) -> Vec<Line> {
        const LABELS: [&str; 9] = [
            "iface", "proto", "reason", "stage", "class", "worker", "pool", "queue", "quantile",
        ];
        let mut typed: BTreeMap<String, String> = BTreeMap::new();
        let mut helped = BTreeSet::new();
        let mut lines = Vec::new();
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                let mut parts = rest.splitn(3, ' ');
                let (kw, name, arg) = (parts.next(), parts.next(), parts.next());
                let name = name.unwrap_or_else(|| panic!("bad comment: {line}"));
                assert!(valid_name(name), "{line}");
                match kw {
                    Some("HELP") => assert!(helped.insert(name.to_owned()), "two HELP: {line}"),
                    Some("TYPE") => {
                        let kind = arg.unwrap_or_default();
                        assert!(["counter", "gauge", "summary"].contains(&kind), "{line}");
                        assert!(
                            typed.insert(name.to_owned(), kind.to_owned()).is_none(),
                            "{line}"
                        );
                    }
                    _ => panic!("bad comment: {line}"),
                }
                continue;
            }
            let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line}"));
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series, BTreeMap::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line}"));
                    (name, parse_labels(body, line))
                }
            };
            assert!(valid_name(name), "bad name: {line}");
            for key in labels.keys() {
                assert!(LABELS.contains(&key.as_str()), "label {key}: {line}");
            }
            let family = name
                .strip_suffix("_sum")
                .or_else(|| name.strip_suffix("_count"))
                .filter(|f| typed.get(*f).is_some_and(|k| k == "summary"))
                .unwrap_or(name);
            assert!(typed.contains_key(family), "no TYPE before: {line}");
            if typed[family] == "counter" {
                assert!(name.ends_with("_total"), "counter without _total: {line}");
            }
            lines.push(Line {
                name: name.to_owned(),
                labels,
                value,
            });
        }
        lines
    }

    fn parse_labels(body: &str, line: &str) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::new();
        let mut chars = body.chars().peekable();
        while chars.peek().is_some() {
            let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
            assert!(
                !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{line}"
            );
            assert_eq!(chars.next(), Some('"'), "{line}");
            let mut value = String::new();
            loop {
                match chars.next() {
                    Some('\\') => match chars.next() {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        _ => panic!("bad escape: {line}"),
                    },
                    Some('"') => break,
                    Some('\n') | None => panic!("unterminated: {line}"),
                    Some(c) => value.push(c),
                }
            }
            assert!(labels.insert(key, value).is_none(), "{line}");
            match chars.next() {
                Some(',') | None => {}
                _ => panic!("after a label: {line}"),
            }
        }
        labels
    }

    fn find<'a>(lines: &'a [Line], name: &str, labels: &[(&str, &str)]) -> &'a Line {
        lines
            .iter()
            .find(|l| {
                l.name == name
                    && labels.len() == l.labels.len()
                    && labels
                        .iter()
                        .all(|(k, v)| l.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .unwrap_or_else(|| panic!("no {name} {labels:?}"))
    }

    #[test]
    fn exposition_parses_and_has_the_contract_names() {
        let mut s = sample();
        s.interfaces[0].name = "we\"ird\\name\nx".into();
        s.protocols.udp.add_drop("checksum", 7);
        s.rates.rx_pps = 1.5e6;
        s.rates.tx_bps = f64::INFINITY;
        let text = render(&s);
        let lines = parse(&text);
        assert_eq!(
            find(
                &lines,
                "strata_interface_rx_packets_total",
                &[("iface", "we\"ird\\name\nx")]
            )
            .value,
            10.0
        );
        assert_eq!(
            find(&lines, "strata_protocol_recv_total", &[("proto", "ipv4")]).value,
            9.0
        );
        assert_eq!(
            find(&lines, "strata_protocol_recv_total", &[("proto", "tcp")]).value,
            0.0
        );
        assert_eq!(
            find(
                &lines,
                "strata_protocol_drop_total",
                &[("proto", "udp"), ("reason", "checksum")]
            )
            .value,
            7.0
        );
        assert_eq!(
            find(
                &lines,
                "strata_stage_latency_ns",
                &[("stage", "rx_l3"), ("quantile", "0.99")]
            )
            .value,
            300.0
        );
        assert_eq!(
            find(
                &lines,
                "strata_stage_latency_ns_count",
                &[("stage", "rx_l3")]
            )
            .value,
            10.0
        );
        assert_eq!(
            find(&lines, "strata_stage_latency_ns_sum", &[("stage", "rx_l3")]).value,
            1200.0
        );
        assert_eq!(
            find(&lines, "strata_pool_free", &[("pool", "rx")]).value,
            4000.0
        );
        assert_eq!(
            find(
                &lines,
                "strata_queue_dropped_total",
                &[("queue", "rx0"), ("class", "1")]
            )
            .value,
            1.0
        );
        assert_eq!(find(&lines, "strata_rx_pps", &[]).value, 1.5e6);
        assert_eq!(find(&lines, "strata_tx_bps", &[]).value, f64::INFINITY);
        assert!(!text.contains("strata_stage_class_latency_ns"));
    }

    proptest::proptest! {
        #[test]
        fn any_label_value_survives_escaping(
            iface in ".{0,24}",
            reason in "[ -~\n\\\"]{1,16}",
            rx in proptest::prelude::any::<u64>(),
        ) {
            let mut s = StatsSnapshot::default();
            s.interfaces.push(InterfaceStats { name: iface.clone(), rx_packets: rx, ..InterfaceStats::default() });
            s.protocols.tcp.add_drop(&reason, 3);
            let lines = parse(&render(&s));
            let got = find(&lines, "strata_interface_rx_packets_total", &[("iface", &iface)]);
            proptest::prop_assert_eq!(got.value, rx as f64);
            let got = find(&lines, "strata_protocol_drop_total", &[("proto", "tcp"), ("reason", &reason)]);
            proptest::prop_assert_eq!(got.value, 3.0);
        }
    }

    #[test]
    fn per_worker_and_per_class_render() {
        let mut a = sample();
        a.stages.push(StageStats {
            name: "rx_l3".into(),
            packets: 4,
            class: Some(2),
            ..StageStats::default()
        });
        let text = render_workers(&[(0, a), (1, sample())]);
        let lines = parse(&text);
        assert_eq!(
            find(
                &lines,
                "strata_protocol_recv_total",
                &[("worker", "1"), ("proto", "ipv4")]
            )
            .value,
            9.0
        );
        assert_eq!(
            find(
                &lines,
                "strata_stage_class_latency_ns_count",
                &[("worker", "0"), ("stage", "rx_l3"), ("class", "2")]
            )
            .value,
            4.0
        );
        assert!(lines.iter().all(|l| l.labels.contains_key("worker")));
        // Empty snapshots still render a valid document.
        parse(&render(&StatsSnapshot::default()));
    }
}
