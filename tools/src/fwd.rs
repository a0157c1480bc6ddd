//! `strata fwd`: flags to [`FwdConfig`], a stop on Ctrl-C, per-port counts
//! and rates at the end.

use std::io::IsTerminal;
use std::time::Duration;

use strata_engine::fwd::{forward, FwdConfig, FwdMode, FwdPort, FwdReport, FwdRoute};
use strata_engine::l2::EthernetAddress;
use strata_engine::serve::Backend;

use crate::link_flags::{parse_backend, stop_flag, XdpFlags};
use crate::replay::{parse_mac, value};

/// Parsed `strata fwd` arguments.
#[derive(Debug)]
pub struct FwdArgs {
    config: FwdConfig,
    json: bool,
}

/// `PREFIX/LEN=PORT,MAC`, e.g. `10.81.2.0/24=1,02:00:00:00:00:02`.
fn parse_route(text: &str) -> Result<FwdRoute, String> {
    let bad = || {
        format!("--route takes PREFIX/LEN=PORT,MAC such as 10.0.2.0/24=1,02:00:00:00:00:02, not {text:?}")
    };
    let (net, via) = text.split_once('=').ok_or_else(bad)?;
    let (prefix, len) = net.split_once('/').ok_or_else(bad)?;
    let (port, mac) = via.split_once(',').ok_or_else(bad)?;
    let len: u8 = len.parse().ok().filter(|l| *l <= 32).ok_or_else(bad)?;
    Ok(FwdRoute {
        prefix: prefix.parse().map_err(|_| bad())?,
        len,
        port: port.parse().ok().filter(|p| *p < 2).ok_or_else(bad)?,
        mac: parse_mac(mac).map_err(|_| bad())?,
    })
}

/// Parses the arguments after `fwd`.
///
/// # Errors
///
/// A message naming the flag and the value at fault; an empty message for
/// `--help`.
pub fn parse(args: &[String]) -> Result<FwdArgs, String> {
    let mut ifaces = Vec::new();
    let mut peers = Vec::new();
    let mut backend = Backend::AfPacket;
    let mut mode = FwdMode::Io;
    let mut burst = 32;
    let mut duration = None;
    let mut json = false;
    let mut routes = Vec::new();
    let mut xdp = XdpFlags::default();
    let mut busy_poll = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if xdp.take(flag, &mut it)? {
            continue;
        }
        match flag.as_str() {
            "--iface" => ifaces.push(value(flag, &mut it)?.clone()),
            "--peer-mac" => peers.push(parse_mac(value(flag, &mut it)?)?),
            "--route" => routes.push(parse_route(value(flag, &mut it)?)?),
            "--backend" => backend = parse_backend(value(flag, &mut it)?)?,
            "--mode" => {
                mode = match value(flag, &mut it)?.as_str() {
                    "io" => FwdMode::Io,
                    "mac" => FwdMode::Mac,
                    "macswap" => FwdMode::MacSwap,
                    "rxonly" => FwdMode::RxOnly,
                    "l3" => FwdMode::L3,
                    other => {
                        return Err(format!(
                            "--mode takes io, mac, macswap, l3 or rxonly, not {other:?}"
                        ))
                    }
                }
            }
            "--burst" => {
                let text = value(flag, &mut it)?;
                burst = text
                    .parse()
                    .ok()
                    .filter(|b| (1..=1024).contains(b))
                    .ok_or_else(|| format!("--burst takes 1 to 1024, not {text:?}"))?;
            }
            "--duration" => {
                let text = value(flag, &mut it)?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| format!("--duration takes seconds, not {text:?}"))?;
                duration = Some(Duration::from_secs_f64(secs));
            }
            "--json" => json = true,
            "--busy-poll" => busy_poll = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?} for fwd")),
        }
    }
    let backend = xdp.apply(backend)?;
    let wanted = if mode == FwdMode::RxOnly { 1 } else { 2 };
    if ifaces.len() != wanted {
        return Err(if wanted == 1 {
            "--mode rxonly takes one port: --iface A".to_owned()
        } else {
            "fwd needs two ports: --iface A --iface B".to_owned()
        });
    }
    if mode == FwdMode::L3 && routes.is_empty() {
        return Err("--mode l3 needs routes: --route PREFIX/LEN=PORT,MAC".to_owned());
    }
    if mode == FwdMode::Mac && peers.len() != 2 {
        return Err("--mode mac needs --peer-mac for each port (twice)".to_owned());
    }
    let peer = |i: usize| peers.get(i).copied().unwrap_or(EthernetAddress::BROADCAST);
    let port = |iface: String, i: usize| FwdPort {
        iface,
        backend,
        mac: None,
        peer: peer(i),
    };
    Ok(FwdArgs {
        config: FwdConfig {
            ports: ifaces
                .into_iter()
                .enumerate()
                .map(|(i, iface)| port(iface, i))
                .collect(),
            mode,
            burst,
            duration,
            routes,
            busy_poll,
        },
        json,
    })
}

/// Forwards until Ctrl-C (or `--duration`), then prints the counts.
///
/// # Errors
///
/// The engine's message.
pub fn run(args: &FwdArgs) -> Result<(), String> {
    let stop = stop_flag()?;
    let live = std::io::stderr().is_terminal() && !args.json;
    let c = &args.config;
    let names: Vec<&str> = c.ports.iter().map(|p| p.iface.as_str()).collect();
    eprintln!(
        "strata fwd: {} ({}), mode {}; Ctrl-C stops",
        names.join(" <-> "),
        c.ports[0].backend.name(),
        c.mode.name()
    );
    let mut previous = vec![0u64; c.ports.len()];
    let report = forward(c, &stop, |elapsed, sent| {
        if live {
            let rates: Vec<String> = names
                .iter()
                .zip(sent.iter().zip(&previous))
                .map(|(name, (now, before))| format!("{name}: {:>9} pps", now - before))
                .collect();
            eprint!(
                "\r  {:>6.0} s  {}   ",
                elapsed.as_secs_f64(),
                rates.join("  ")
            );
        }
        previous = sent.to_vec();
    })
    .map_err(|e| e.to_string())?;
    if live {
        eprintln!();
    }
    if args.json {
        println!("{}", json(&report, c));
    } else {
        print!("{}", summary(&report, c));
    }
    if !report.buffers_home {
        return Err("not every buffer came back to the pool".to_owned());
    }
    Ok(())
}

fn json(r: &FwdReport, c: &FwdConfig) -> String {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let ports: Vec<serde_json::Value> = r
        .ports
        .iter()
        .zip(&c.ports)
        .map(|(p, cfg)| {
            serde_json::json!({
                "iface": cfg.iface,
                "rx": p.rx,
                "tx": p.tx,
                "tx_dropped": p.tx_dropped,
                "rx_lost": p.device.rx_dropped,
                "rx_pps": p.rx as f64 / secs,
                "tx_pps": p.tx as f64 / secs,
            })
        })
        .collect();
    let mut value = serde_json::to_value(&r.stats).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "fwd".to_owned(),
            serde_json::json!({
                "mode": c.mode.name(),
                "seconds": secs,
                "ports": ports,
                "cpu_seconds": r.cpu_time.map(|t| t.as_secs_f64()),
                "l3_drops": {
                    "not_ipv4": r.l3_drops.not_ipv4,
                    "bad_header": r.l3_drops.bad_header,
                    "no_route": r.l3_drops.no_route,
                    "ttl_expired": r.l3_drops.ttl_expired,
                },
                "cpu_ns_per_frame": r.cpu_time.map(|t| {
                    let frames: u64 = r.ports.iter().map(|p| p.rx).sum();
                    t.as_nanos() as f64 / frames.max(1) as f64
                }),
                "buffers_home": r.buffers_home,
            }),
        );
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn summary(r: &FwdReport, c: &FwdConfig) -> String {
    let secs = r.elapsed.as_secs_f64().max(1e-9);
    let mut text = format!("fwd: mode {}, {:.1} s\n", c.mode.name(), secs);
    for (p, cfg) in r.ports.iter().zip(&c.ports) {
        text += &format!(
            "  {:<10} rx {:>10} ({:>9.0} pps)  lost before rx {}  tx {:>10} ({:>9.0} pps)  tx dropped {}\n",
            cfg.iface,
            p.rx,
            p.rx as f64 / secs,
            p.device.rx_dropped,
            p.tx,
            p.tx as f64 / secs,
            p.tx_dropped
        );
    }
    text += &format!(
        "every buffer back: {}\n",
        if r.buffers_home { "yes" } else { "NO" }
    );
    text
}
