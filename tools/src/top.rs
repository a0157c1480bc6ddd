//! `strata top`: a live view of a running engine's exporter (`serve
//! --metrics ADDR`): its `/stats` JSON fetched every interval, rates from
//! the differences, shown as a table (or printed as JSON lines).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use strata_engine::stats::StatsSnapshot;

use crate::replay::value;

/// Parsed `strata top` arguments.
#[derive(Debug)]
pub struct TopArgs {
    addr: SocketAddr,
    interval: Duration,
    count: Option<u64>,
    json: bool,
}

/// Parses the arguments after `top`.
///
/// # Errors
///
/// A message naming the flag and the value at fault; an empty message for
/// `--help`.
pub fn parse(args: &[String]) -> Result<TopArgs, String> {
    let mut addr = None;
    let mut interval = Duration::from_secs(1);
    let mut count = None;
    let mut json = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--url" | "--metrics" => {
                let text = value(flag, &mut it)?;
                let text = text.trim_start_matches("http://").trim_end_matches('/');
                addr = Some(text.parse::<SocketAddr>().map_err(|_| {
                    format!("{flag} takes ADDR:PORT such as 127.0.0.1:9100, not {text:?}")
                })?);
            }
            "--interval" => {
                let text = value(flag, &mut it)?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.05 && *s < 1e6)
                    .ok_or_else(|| {
                        format!("--interval takes seconds (at least 0.05), not {text:?}")
                    })?;
                interval = Duration::from_secs_f64(secs);
            }
            "--count" => {
                let text = value(flag, &mut it)?;
                count = Some(
                    text.parse()
                        .ok()
                        .filter(|c| *c > 0)
                        .ok_or_else(|| format!("--count takes a number from 1, not {text:?}"))?,
                );
            }
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?} for top")),
        }
    }
    let addr = addr.ok_or("top needs --url ADDR:PORT (the exporter of serve --metrics)")?;
    Ok(TopArgs {
        addr,
        interval,
        count,
        json,
    })
}

/// `GET /stats` from the exporter at `addr`.
fn fetch(addr: SocketAddr) -> Result<StatsSnapshot, String> {
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot reach the exporter at {addr}: {e}"))?;
    let _ = stream.set_read_timeout(Some(timeout));
    let _ = stream.set_write_timeout(Some(timeout));
    stream
        .write_all(b"GET /stats HTTP/1.0\r\nHost: strata\r\n\r\n")
        .map_err(|e| format!("{addr}: {e}"))?;
    let mut response = Vec::new();
    // The exporter's answers are small; a bound keeps a hostile one out.
    stream
        .take(16 << 20)
        .read_to_end(&mut response)
        .map_err(|e| format!("{addr}: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{addr}: not an HTTP answer"))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(format!(
            "{addr}: {}",
            head.lines().next().unwrap_or("no status")
        ));
    }
    serde_json::from_str(body).map_err(|e| format!("{addr}: not the stats JSON: {e}"))
}

/// Shows the exporter's figures every interval until the count is reached
/// (or forever).
///
/// # Errors
///
/// The exporter cannot be reached or does not answer the stats JSON.
pub fn run(args: &TopArgs) -> Result<(), String> {
    let mut previous = fetch(args.addr)?;
    let mut at = Instant::now();
    let mut shown = 0u64;
    loop {
        std::thread::sleep(args.interval);
        let now = fetch(args.addr)?;
        let secs = at.elapsed().as_secs_f64().max(1e-9);
        at = Instant::now();
        let rates: Vec<serde_json::Value> = now
            .interfaces
            .iter()
            .map(|i| {
                let before = previous.interfaces.iter().find(|p| p.name == i.name);
                let delta = |f: fn(&strata_engine::stats::InterfaceStats) -> u64| {
                    before.map_or(0, |b| f(i).saturating_sub(f(b))) as f64 / secs
                };
                serde_json::json!({
                    "name": i.name,
                    "rx_pps": delta(|s| s.rx_packets),
                    "tx_pps": delta(|s| s.tx_packets),
                    "rx_bps": delta(|s| s.rx_bytes) * 8.0,
                    "tx_bps": delta(|s| s.tx_bytes) * 8.0,
                    "rx_dropped": i.rx_dropped,
                    "tx_dropped": i.tx_dropped,
                })
            })
            .collect();
        if args.json {
            println!("{}", serde_json::json!({ "interfaces": rates }));
        } else {
            // Clear the screen on a terminal, as top does.
            use std::io::IsTerminal;
            if std::io::stdout().is_terminal() {
                print!("\x1b[2J\x1b[H");
            }
            println!(
                "strata top: {} every {:.1} s",
                args.addr,
                args.interval.as_secs_f64()
            );
            println!(
                "{:<12} {:>12} {:>12} {:>12} {:>12} {:>10} {:>10}",
                "interface", "rx pps", "tx pps", "rx bit/s", "tx bit/s", "rx drop", "tx drop"
            );
            for r in &rates {
                println!(
                    "{:<12} {:>12.0} {:>12.0} {:>12.0} {:>12.0} {:>10} {:>10}",
                    r["name"].as_str().unwrap_or(""),
                    r["rx_pps"].as_f64().unwrap_or(0.0),
                    r["tx_pps"].as_f64().unwrap_or(0.0),
                    r["rx_bps"].as_f64().unwrap_or(0.0),
                    r["tx_bps"].as_f64().unwrap_or(0.0),
                    r["rx_dropped"],
                    r["tx_dropped"],
                );
            }
            for (name, proto) in now.protocols.iter() {
                if proto.recv + proto.sent + proto.drop > 0 {
                    println!(
                        "  {name:<7} recv {:>12}  sent {:>12}  drop {:>8}",
                        proto.recv, proto.sent, proto.drop
                    );
                }
            }
            for stage in &now.stages {
                println!(
                    "  {:<14} p50 {:>8} ns  p99 {:>8} ns",
                    stage.name, stage.p50_ns, stage.p99_ns
                );
            }
        }
        previous = now;
        shown += 1;
        if args.count.is_some_and(|c| shown >= c) {
            return Ok(());
        }
    }
}
