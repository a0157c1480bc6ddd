//! `strata gen`: flags to [`GenConfig`], a stop on Ctrl-C, the report as a
//! table or the stats JSON with a `gen` object.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::time::Duration;

use strata_engine::gen::{generate, GenConfig, GenReport};

use crate::link_flags::{stop_flag, LinkFlags};
use crate::replay::{parse_mac, value};

/// Parsed `strata gen` arguments.
#[derive(Debug)]
pub struct GenArgs {
    config: GenConfig,
    json: bool,
    /// `--live-frames`: XDP live frames instead of the stack.
    live: bool,
}

/// A number with an optional k, M or G suffix.
fn scaled(flag: &str, text: &str) -> Result<f64, String> {
    let (digits, scale) = match text.chars().last() {
        Some('k' | 'K') => (&text[..text.len() - 1], 1e3),
        Some('M') => (&text[..text.len() - 1], 1e6),
        Some('G') => (&text[..text.len() - 1], 1e9),
        _ => (text, 1.0),
    };
    digits
        .parse::<f64>()
        .ok()
        .map(|v| v * scale)
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| format!("{flag} takes a positive number (k, M, G allowed), not {text:?}"))
}

/// Parses the arguments after `gen`.
///
/// # Errors
///
/// A message naming the flag and the value at fault; an empty message for
/// `--help`.
pub fn parse(args: &[String]) -> Result<GenArgs, String> {
    let mut config = GenConfig {
        duration: None,
        ..GenConfig::default()
    };
    let mut link = LinkFlags::default();
    let mut dst = None;
    let mut bitrate = None;
    let mut json = false;
    let mut live = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if link.take(flag, &mut it)? {
            continue;
        }
        match flag.as_str() {
            "--dst" => {
                let text = value(flag, &mut it)?;
                let addr: SocketAddr = text
                    .parse()
                    .or_else(|_| {
                        text.parse::<std::net::IpAddr>()
                            .map(|ip| SocketAddr::new(ip, 0))
                    })
                    .map_err(|_| {
                        format!(
                            "--dst takes ADDR:PORT such as 10.0.0.2:7 or [fd00::2]:7 \
                             (ADDR alone with --icmp), not {text:?}"
                        )
                    })?;
                dst = Some(addr);
            }
            "--icmp" => config.icmp = true,
            "--live-frames" => live = true,
            "--dst-mac" => config.dst_mac = Some(parse_mac(value(flag, &mut it)?)?),
            "--rate" => config.rate = Some(scaled(flag, value(flag, &mut it)?)?),
            "--bitrate" => bitrate = Some(scaled(flag, value(flag, &mut it)?)?),
            "--max-rate" => config.rate = None,
            "--size" if it.clone().next().is_some_and(|v| v == "imix") => {
                let _ = it.next();
                config.sizes = strata_engine::gen::IMIX.to_vec();
            }
            "--size" => {
                let text = value(flag, &mut it)?;
                config.size = text
                    .parse()
                    .ok()
                    .filter(|s| (16..=8972).contains(s))
                    .ok_or_else(|| {
                        format!("--size takes UDP payload bytes, 16 to 8972, not {text:?}")
                    })?;
            }
            "--flows" => {
                let text = value(flag, &mut it)?;
                config.flows = text
                    .parse()
                    .ok()
                    .filter(|f| *f > 0)
                    .ok_or_else(|| format!("--flows takes a number from 1, not {text:?}"))?;
            }
            "--count" => {
                let text = value(flag, &mut it)?;
                config.count = Some(
                    text.parse()
                        .ok()
                        .filter(|c| *c > 0)
                        .ok_or_else(|| format!("--count takes a number from 1, not {text:?}"))?,
                );
            }
            "--duration" | "--linger" => {
                let text = value(flag, &mut it)?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s > 0.0 && *s < 1e9)
                    .ok_or_else(|| format!("{flag} takes seconds, not {text:?}"))?;
                if flag == "--duration" {
                    config.duration = Some(Duration::from_secs_f64(secs));
                } else {
                    config.linger = Duration::from_secs_f64(secs);
                }
            }
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?} for gen")),
        }
    }
    config.backend = link.backend()?;
    config.iface = link.iface.ok_or("gen needs --iface NAME")?;
    config.mac = link.mac;
    config.ipv4 = link.ipv4;
    config.ipv6 = link.ipv6;
    config.gateway4 = link.gateway4;
    config.dst = dst.ok_or("gen needs --dst ADDR:PORT (an echo service)")?;
    if config.dst.port() == 0 && !config.icmp {
        return Err("--dst needs a port (ADDR:PORT), unless --icmp".to_owned());
    }
    if let Some(bps) = bitrate {
        // Bits on the wire per datagram: UDP, IP and Ethernet headers, FCS,
        // preamble and the inter-frame gap.
        let ip = if config.dst.is_ipv4() { 20 } else { 40 };
        let wire = |size: usize| ((size + 8 + ip + 14).max(60) + 4 + 20) as f64;
        let mean = if config.sizes.is_empty() {
            wire(config.size)
        } else {
            config.sizes.iter().map(|&s| wire(s)).sum::<f64>() / config.sizes.len() as f64
        };
        config.rate = Some(bps / (mean * 8.0));
    }
    if config.count.is_none() && config.duration.is_none() {
        config.duration = Some(Duration::from_secs(5));
    }
    if live {
        if config.dst_mac.is_none() || !config.dst.is_ipv4() || config.ipv4.is_empty() {
            return Err(
                "--live-frames sends one fixed IPv4 frame: it needs --dst-mac MAC, --ip ADDR/PREFIX \
                 and an IPv4 --dst ADDR:PORT (nothing is resolved)"
                    .to_owned(),
            );
        }
        if config.icmp || !config.sizes.is_empty() || config.flows != 1 {
            return Err(
                "--live-frames sends one UDP flow of one size (no --icmp, imix or --flows)"
                    .to_owned(),
            );
        }
    }
    Ok(GenArgs { config, json, live })
}

/// Generates, then prints the report.
///
/// # Errors
///
/// The engine's message.
pub fn run(args: &GenArgs) -> Result<(), String> {
    if args.live {
        return run_live(args);
    }
    let stop = stop_flag()?;
    let live = std::io::stderr().is_terminal() && !args.json;
    let c = &args.config;
    eprintln!(
        "strata gen: {} on {} to {}, {} flow(s), {}-byte payloads, {}",
        c.backend.name(),
        c.iface,
        c.dst,
        c.flows,
        if c.sizes.is_empty() {
            c.size.to_string()
        } else {
            "IMIX".to_owned()
        },
        c.rate.map_or("as fast as it goes".to_owned(), |r| format!(
            "{r:.0} datagrams/s"
        ))
    );
    let report = generate(c, &stop, |sent, received| {
        if live {
            eprint!("\r  sent {sent:>10}  echoed {received:>10}   ");
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

/// `--live-frames`: one frame, sent by the kernel through XDP.
fn run_live(args: &GenArgs) -> Result<(), String> {
    use strata_engine::xdp::{live_frames, udp_frame, LiveConfig};
    let stop = stop_flag()?;
    let c = &args.config;
    let (std::net::IpAddr::V4(dst_ip), Some(dst_mac), Some(&(src, _))) =
        (c.dst.ip(), c.dst_mac, c.ipv4.first())
    else {
        return Err("--live-frames needs --dst-mac, --ip and an IPv4 --dst".to_owned());
    };
    let frame = udp_frame(
        &c.iface,
        c.mac,
        dst_mac,
        src,
        std::net::SocketAddrV4::new(dst_ip, c.dst.port()),
        c.size,
    )
    .map_err(|e| e.to_string())?;
    eprintln!(
        "strata gen: XDP live frames on {} to {} ({} bytes on the wire), {}",
        c.iface,
        c.dst,
        frame.len().max(60) + 4,
        c.rate
            .map_or("as fast as the kernel sends them".to_owned(), |r| format!(
                "{r:.0} frames/s"
            ))
    );
    let report = live_frames(
        &LiveConfig {
            iface: c.iface.clone(),
            frame,
            count: c.count,
            duration: c.duration,
            rate: c.rate,
            ..LiveConfig::default()
        },
        &stop,
    )
    .map_err(|e| e.to_string())?;
    let accuracy = report
        .rate_asked
        .map(|asked| report.rate_achieved() / asked - 1.0);
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "gen": {
                "mode": "xdp-live-frames",
                "sent": report.sent,
                "seconds": report.elapsed.as_secs_f64(),
                "rate_asked": report.rate_asked,
                "rate_achieved": report.rate_achieved(),
                "runs": report.runs,
            }})
        );
    } else {
        println!(
            "sent {} in {:.3} s = {:.0}/s{} ({} runs of the program)",
            report.sent,
            report.elapsed.as_secs_f64(),
            report.rate_achieved(),
            accuracy.map_or(String::new(), |a| format!(
                " ({:+.2}% of the asked rate)",
                a * 100.0
            )),
            report.runs
        );
    }
    Ok(())
}

fn json(r: &GenReport) -> String {
    let mut value = serde_json::to_value(&r.stats).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "gen".to_owned(),
            serde_json::json!({
                "sent": r.sent,
                "received": r.received,
                "lost": r.lost,
                "reordered": r.reordered,
                "duplicates": r.duplicates,
                "foreign": r.foreign,
                "seconds": r.sending.as_secs_f64(),
                "rate_asked": r.rate_asked,
                "rate_achieved": r.rate_achieved(),
                "latency_ns": {
                    "p50": r.latency_ns[0],
                    "p90": r.latency_ns[1],
                    "p99": r.latency_ns[2],
                    "max": r.latency_ns[3],
                },
                "warmed_up": r.warmed_up,
                "buffers_home": r.buffers_home,
            }),
        );
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn summary(r: &GenReport) -> String {
    let accuracy = r.rate_asked.map_or(String::new(), |asked| {
        format!(
            " (asked {asked:.0}/s: {:+.2}%)",
            (r.rate_achieved() / asked - 1.0) * 100.0
        )
    });
    format!(
        "sent {} in {:.3} s = {:.0}/s{accuracy}\n\
         echoed {} (lost {}, reordered {}, duplicates {}, foreign {})\n\
         round trip ns: p50 {}  p90 {}  p99 {}  max {}\n\
         frames on the wire: {}\n\
         every buffer back: {}{}\n",
        r.sent,
        r.sending.as_secs_f64(),
        r.rate_achieved(),
        r.received,
        r.lost,
        r.reordered,
        r.duplicates,
        r.foreign,
        r.latency_ns[0],
        r.latency_ns[1],
        r.latency_ns[2],
        r.latency_ns[3],
        r.stats.interfaces.first().map_or(0, |i| i.tx_packets),
        if r.buffers_home { "yes" } else { "NO" },
        if r.warmed_up {
            ""
        } else {
            "\n(no echo during the warm-up: is an echo service at --dst?)"
        },
    )
}
