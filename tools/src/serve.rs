//! `strata serve`: flags to [`ServeConfig`], a stop on Ctrl-C (SIGINT) or
//! SIGTERM, live rates on a terminal, the stats JSON or a summary at the end.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use strata_engine::serve::{serve, ServeConfig, ServeProgress, ServeReport};

use crate::link_flags::{stop_flag, LinkFlags};
use crate::replay::value;

/// Parsed `strata serve` arguments.
#[derive(Debug)]
pub struct ServeArgs {
    config: ServeConfig,
    json: bool,
}

fn port(flag: &str, text: &str) -> Result<u16, String> {
    match text.parse::<u16>() {
        Ok(p) if p > 0 => Ok(p),
        _ => Err(format!("{flag} takes a port from 1 to 65535, not {text:?}")),
    }
}

/// Parses the arguments after `serve`.
///
/// # Errors
///
/// A message naming the flag and the value at fault; an empty message for
/// `--help`.
pub fn parse(args: &[String]) -> Result<ServeArgs, String> {
    let mut config = ServeConfig::default();
    let mut link = LinkFlags::default();
    let mut json = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if link.take(flag, &mut it)? {
            continue;
        }
        match flag.as_str() {
            "--udp-echo" => config.udp_echo.push(port(flag, value(flag, &mut it)?)?),
            "--udp-discard" => config.udp_discard.push(port(flag, value(flag, &mut it)?)?),
            "--metrics" => {
                let text = value(flag, &mut it)?;
                let addr: SocketAddr = text.parse().map_err(|_| {
                    format!("--metrics takes ADDR:PORT such as 127.0.0.1:9100, not {text:?}")
                })?;
                config.metrics = Some(addr);
            }
            "--duration" => {
                let text = value(flag, &mut it)?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| format!("--duration takes seconds, not {text:?}"))?;
                config.duration = Some(Duration::from_secs_f64(secs));
            }
            "--no-dad" => config.dad_transmits = 0,
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?} for serve")),
        }
    }
    config.backend = link.backend()?;
    config.iface = link.iface.ok_or("serve needs --iface NAME")?;
    config.mac = link.mac;
    config.ipv4 = link.ipv4;
    config.ipv6 = link.ipv6;
    config.gateway4 = link.gateway4;
    Ok(ServeArgs { config, json })
}

/// Serves until Ctrl-C (or `--duration`), then prints the stats JSON or a
/// summary.
///
/// # Errors
///
/// The engine's message.
pub fn run(args: &ServeArgs) -> Result<(), String> {
    let stop = stop_flag()?;
    let live = std::io::stderr().is_terminal() && !args.json;
    let c = &args.config;
    eprintln!(
        "strata serve: {} on {} ({}), mac {}, udp echo {:?}, discard {:?}; Ctrl-C stops",
        c.backend.name(),
        c.iface,
        addresses(c),
        c.mac
            .map_or("the interface's own".to_owned(), |m| m.to_string()),
        c.udp_echo,
        c.udp_discard
    );
    let report = serve(c, &stop, |p: &ServeProgress| {
        if live {
            let iface = p.stats.interfaces.first();
            eprint!(
                "\r  {:>6.0} s  rx {:>10} pkts  tx {:>10} pkts   ",
                p.elapsed.as_secs_f64(),
                iface.map_or(0, |i| i.rx_packets),
                iface.map_or(0, |i| i.tx_packets),
            );
        }
    })
    .map_err(|e| e.to_string())?;
    if live {
        eprintln!();
    }
    if args.json {
        println!("{}", json(&report));
    } else {
        print!("{}", summary(&report));
    }
    if !report.buffers_home {
        return Err("not every buffer came back to the pool".to_owned());
    }
    Ok(())
}

fn addresses(c: &ServeConfig) -> String {
    let mut parts: Vec<String> = c.ipv4.iter().map(|(a, l)| format!("{a}/{l}")).collect();
    parts.extend(c.ipv6.iter().map(|(a, l)| format!("{a}/{l}")));
    if parts.is_empty() {
        "no addresses".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The stats JSON contract, with a `serve` object added.
fn json(report: &ServeReport) -> String {
    let mut value = serde_json::to_value(&report.stats).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "serve".to_owned(),
            serde_json::json!({
                "iface": report.iface,
                "device": report.device,
                "queue_rx_packets": report.queue_rx,
                "mac": report.mac.to_string(),
                "seconds": report.elapsed.as_secs_f64(),
                "udp_echoed": report.echoed,
                "udp_discarded": report.discarded,
                "buffers_home": report.buffers_home,
            }),
        );
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn summary(report: &ServeReport) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "serve: {} ({}) for {:.1} s; udp echoed {}, discarded {}; every buffer back: {}",
        report.iface,
        report.device,
        report.elapsed.as_secs_f64(),
        report.echoed,
        report.discarded,
        if report.buffers_home { "yes" } else { "NO" }
    );
    for (name, proto) in report.stats.protocols.iter() {
        if proto.recv + proto.sent + proto.drop > 0 {
            let _ = writeln!(
                text,
                "  {name:<7} recv {:>8}  sent {:>8}  drop {:>6}",
                proto.recv, proto.sent, proto.drop
            );
        }
    }
    text
}
