//! `strata replay --pcap IN [--tx-pcap OUT] [--mac MAC] [--ip ADDR/PREFIX]...
//! [--ip6 ADDR/PREFIX]... [--gateway ADDR] [--route PREFIX/LEN=GATEWAY]...
//! [--mtu N] [--udp-echo PORT]... [--linger SECS] [--json] [--config FILE]`.
//!
//! The configuration file is TOML with the same names (`pcap`, `tx_pcap`,
//! `mac`, `ip`, `ip6`, `gateway`, `route`, `mtu`, `udp_echo`, `linger`); flags
//! override it, and repeated flags (`--ip`, `--ip6`, `--route`, `--udp-echo`)
//! replace its list.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use strata_engine::l2::EthernetAddress;
use strata_engine::replay::{replay, ReplayConfig, ReplayReport};
use strata_engine::stack::StackConfig;

/// The settings a file may give.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    pcap: Option<PathBuf>,
    tx_pcap: Option<PathBuf>,
    mac: Option<String>,
    #[serde(default)]
    ip: Vec<String>,
    #[serde(default)]
    ip6: Vec<String>,
    gateway: Option<String>,
    mtu: Option<usize>,
    #[serde(default)]
    udp_echo: Vec<u16>,
    linger: Option<f64>,
    #[serde(default)]
    route: Vec<String>,
}

/// A static route: `PREFIX/LEN=GATEWAY`, IPv4 or IPv6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    V4(Ipv4Addr, u8, Ipv4Addr),
    V6(Ipv6Addr, u8, Ipv6Addr),
}

fn parse_route(text: &str) -> Result<Route, String> {
    let bad = || {
        format!("--route takes PREFIX/LEN=GATEWAY, such as 192.0.2.0/24=10.0.0.254, not {text:?}")
    };
    let (net, via) = text.split_once('=').ok_or_else(bad)?;
    let (prefix, len) = net.split_once('/').ok_or_else(bad)?;
    if let (Ok(prefix), Ok(via)) = (prefix.parse::<Ipv4Addr>(), via.parse::<Ipv4Addr>()) {
        let len = len.parse().ok().filter(|&l| l <= 32).ok_or_else(bad)?;
        return Ok(Route::V4(prefix, len, via));
    }
    if let (Ok(prefix), Ok(via)) = (prefix.parse::<Ipv6Addr>(), via.parse::<Ipv6Addr>()) {
        let len = len.parse().ok().filter(|&l| l <= 128).ok_or_else(bad)?;
        return Ok(Route::V6(prefix, len, via));
    }
    Err(bad())
}

/// A parsed `replay` command line.
#[derive(Debug)]
pub struct ReplayArgs {
    config: ReplayConfig,
    json: bool,
}

pub(crate) fn parse_mac(text: &str) -> Result<EthernetAddress, String> {
    let parts: Vec<&str> = text.split([':', '-']).collect();
    let bad = || format!("--mac takes six hex bytes such as 02:00:00:00:00:01, not {text:?}");
    if parts.len() != 6 {
        return Err(bad());
    }
    let mut mac = [0u8; 6];
    for (byte, part) in mac.iter_mut().zip(parts) {
        if part.is_empty() || part.len() > 2 {
            return Err(bad());
        }
        *byte = u8::from_str_radix(part, 16).map_err(|_| bad())?;
    }
    let mac = EthernetAddress(mac);
    if !mac.is_unicast() || mac.is_unspecified() {
        return Err(format!("--mac {text} is not an individual address"));
    }
    Ok(mac)
}

fn split_prefix(text: &str, flag: &str, max: u8) -> Result<(String, u8), String> {
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("{flag} takes ADDR/PREFIX, such as 10.0.0.1/24, not {text:?}"))?;
    let len: u8 = len
        .parse()
        .ok()
        .filter(|&l| l <= max)
        .ok_or_else(|| format!("{flag} {text}: the prefix length must be 0 to {max}"))?;
    Ok((addr.to_owned(), len))
}

pub(crate) fn parse_v4(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = split_prefix(text, "--ip", 32)?;
    let addr: Ipv4Addr = addr
        .parse()
        .map_err(|_| format!("--ip {text}: {addr:?} is not an IPv4 address"))?;
    if addr.is_unspecified() || addr.is_multicast() || addr.is_broadcast() || addr.is_loopback() {
        return Err(format!(
            "--ip {text}: not a unicast address for an interface"
        ));
    }
    Ok((addr, len))
}

pub(crate) fn parse_v6(text: &str) -> Result<(Ipv6Addr, u8), String> {
    let (addr, len) = split_prefix(text, "--ip6", 128)?;
    let addr: Ipv6Addr = addr
        .parse()
        .map_err(|_| format!("--ip6 {text}: {addr:?} is not an IPv6 address"))?;
    if addr.is_unspecified() || addr.is_multicast() || addr.is_loopback() {
        return Err(format!(
            "--ip6 {text}: not a unicast address for an interface"
        ));
    }
    Ok((addr, len))
}

pub(crate) fn value<'a>(
    flag: &str,
    it: &mut impl Iterator<Item = &'a String>,
) -> Result<&'a String, String> {
    it.next().ok_or_else(|| format!("{flag} needs a value"))
}

/// Parses the arguments after `replay`.
///
/// # Errors
///
/// A message naming the flag and the value at fault; an empty message for
/// `--help`.
pub fn parse(args: &[String]) -> Result<ReplayArgs, String> {
    let mut file = FileConfig::default();
    // The configuration file first, so that flags override it.
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if flag == "--config" {
            let path = value(flag, &mut it)?;
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("--config {path}: cannot read it: {e}"))?;
            file = toml::from_str(&text).map_err(|e| format!("--config {path}: {e}"))?;
        }
    }
    let mut pcap = file.pcap;
    let mut tx_pcap = file.tx_pcap;
    let mut mac = file.mac.as_deref().map(parse_mac).transpose()?;
    let mut ip: Vec<(Ipv4Addr, u8)> = file
        .ip
        .iter()
        .map(|t| parse_v4(t))
        .collect::<Result<_, _>>()?;
    let mut ip6: Vec<(Ipv6Addr, u8)> = file
        .ip6
        .iter()
        .map(|t| parse_v6(t))
        .collect::<Result<_, _>>()?;
    let mut gateway = file
        .gateway
        .as_deref()
        .map(|g| {
            g.parse::<Ipv4Addr>()
                .map_err(|_| format!("gateway {g:?} is not an IPv4 address"))
        })
        .transpose()?;
    let mut mtu = file.mtu;
    let mut udp_echo = file.udp_echo;
    let mut linger = file.linger;
    let mut json = false;
    let (mut flag_ip, mut flag_ip6, mut flag_echo, mut flag_route) = (false, false, false, false);
    let mut routes: Vec<Route> = file
        .route
        .iter()
        .map(|r| parse_route(r))
        .collect::<Result<_, _>>()?;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--config" => {
                it.next();
            }
            "--pcap" => pcap = Some(PathBuf::from(value(flag, &mut it)?)),
            "--tx-pcap" => tx_pcap = Some(PathBuf::from(value(flag, &mut it)?)),
            "--mac" => mac = Some(parse_mac(value(flag, &mut it)?)?),
            "--ip" => {
                if !flag_ip {
                    ip.clear();
                    flag_ip = true;
                }
                ip.push(parse_v4(value(flag, &mut it)?)?);
            }
            "--ip6" => {
                if !flag_ip6 {
                    ip6.clear();
                    flag_ip6 = true;
                }
                ip6.push(parse_v6(value(flag, &mut it)?)?);
            }
            "--gateway" => {
                let text = value(flag, &mut it)?;
                gateway = Some(
                    text.parse()
                        .map_err(|_| format!("--gateway {text:?} is not an IPv4 address"))?,
                );
            }
            "--route" => {
                if !flag_route {
                    routes.clear();
                    flag_route = true;
                }
                routes.push(parse_route(value(flag, &mut it)?)?);
            }
            "--mtu" => {
                let text = value(flag, &mut it)?;
                mtu = Some(
                    text.parse()
                        .ok()
                        .filter(|m| (1280..=9000).contains(m))
                        .ok_or_else(|| format!("--mtu takes 1280 to 9000, not {text:?}"))?,
                );
            }
            "--udp-echo" => {
                if !flag_echo {
                    udp_echo.clear();
                    flag_echo = true;
                }
                let text = value(flag, &mut it)?;
                udp_echo.push(
                    text.parse().ok().filter(|&p| p != 0).ok_or_else(|| {
                        format!("--udp-echo takes a port 1 to 65535, not {text:?}")
                    })?,
                );
            }
            "--linger" => {
                let text = value(flag, &mut it)?;
                linger = Some(
                    text.parse()
                        .ok()
                        .filter(|s: &f64| s.is_finite() && (0.0..=3600.0).contains(s))
                        .ok_or_else(|| format!("--linger takes 0 to 3600 seconds, not {text:?}"))?,
                );
            }
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?} for replay")),
        }
    }
    let input = pcap.ok_or("replay needs --pcap IN (the capture to receive)")?;
    if mtu.is_some_and(|m| !(1280..=9000).contains(&m)) {
        return Err("mtu must be 1280 to 9000".to_owned());
    }
    let stack = StackConfig {
        name: "replay0".to_owned(),
        mac: mac.unwrap_or(EthernetAddress([0x02, 0, 0, 0, 0, 0x01])),
        mtu: mtu.unwrap_or(1500),
        ipv4: ip,
        ipv6: ip6,
        gateway4: gateway,
        routes4: routes
            .iter()
            .filter_map(|r| match *r {
                Route::V4(p, l, g) => Some((p, l, g)),
                Route::V6(..) => None,
            })
            .collect(),
        routes6: routes
            .iter()
            .filter_map(|r| match *r {
                Route::V6(p, l, g) => Some((p, l, g)),
                Route::V4(..) => None,
            })
            .collect(),
        ..StackConfig::default()
    };
    let mut config = ReplayConfig::new(input, stack);
    config.output = tx_pcap;
    config.udp_echo = udp_echo;
    if let Some(secs) = linger {
        config.linger = Duration::from_secs_f64(secs);
    }
    Ok(ReplayArgs { config, json })
}

/// Runs a parsed replay; prints the summary or the stats JSON.
///
/// # Errors
///
/// The message of a capture, pool or socket error.
pub fn run(args: &ReplayArgs) -> Result<(), String> {
    let report = replay(&args.config).map_err(|e| e.to_string())?;
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

/// The stats JSON contract, with a `replay` object added.
fn json(report: &ReplayReport) -> String {
    let mut value = serde_json::to_value(&report.stats).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "replay".to_owned(),
            serde_json::json!({
                "frames_in": report.frames_in,
                "frames_out": report.frames_out,
                "buffers_home": report.buffers_home,
            }),
        );
    }
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn summary(report: &ReplayReport) -> String {
    use std::fmt::Write;
    let mut text = String::new();
    let _ = writeln!(
        text,
        "replay: {} frames in, {} frames out, every buffer back: {}",
        report.frames_in,
        report.frames_out,
        if report.buffers_home { "yes" } else { "NO" }
    );
    let _ = writeln!(
        text,
        "{:<8} {:>10} {:>10} {:>10}  drop reasons",
        "proto", "recv", "sent", "drop"
    );
    for (name, proto) in report.stats.protocols.iter() {
        let reasons: Vec<String> = proto
            .drop_reasons
            .iter()
            .filter(|(_, &n)| n > 0)
            .map(|(reason, n)| format!("{reason}={n}"))
            .collect();
        let _ = writeln!(
            text,
            "{name:<8} {:>10} {:>10} {:>10}  {}",
            proto.recv,
            proto.sent,
            proto.drop,
            reasons.join(" ")
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn flags_become_a_configuration() {
        let parsed = parse(&args(&[
            "--pcap",
            "in.pcap",
            "--tx-pcap",
            "out.pcap",
            "--mac",
            "02:00:00:00:00:09",
            "--ip",
            "10.0.0.1/24",
            "--ip6",
            "fd00::1/64",
            "--mtu",
            "1400",
            "--udp-echo",
            "7",
            "--json",
        ]))
        .unwrap();
        let stack = &parsed.config.stack;
        assert_eq!(stack.mac, EthernetAddress([2, 0, 0, 0, 0, 9]));
        assert_eq!(stack.ipv4, [(Ipv4Addr::new(10, 0, 0, 1), 24)]);
        assert_eq!(stack.ipv6, [("fd00::1".parse().unwrap(), 64)]);
        assert_eq!(stack.mtu, 1400);
        assert_eq!(parsed.config.udp_echo, [7]);
        let routed = parse(&args(&[
            "--pcap",
            "in.pcap",
            "--route",
            "192.0.2.0/24=10.0.0.254",
            "--route",
            "2001:db8::/32=fe80::1",
        ]))
        .unwrap();
        assert_eq!(
            routed.config.stack.routes4,
            [(
                Ipv4Addr::new(192, 0, 2, 0),
                24,
                Ipv4Addr::new(10, 0, 0, 254)
            )]
        );
        assert_eq!(routed.config.stack.routes6.len(), 1);
        assert!(parsed.json);
        assert_eq!(stack.dad_transmits, 0);
    }

    #[test]
    fn bad_values_name_the_flag() {
        for (list, needle) in [
            (&["--tx-pcap", "x"][..], "needs --pcap"),
            (&["--pcap"][..], "--pcap needs a value"),
            (
                &["--pcap", "a", "--mac", "zz:00:00:00:00:01"][..],
                "--mac takes",
            ),
            (
                &["--pcap", "a", "--mac", "01:00:00:00:00:01"][..],
                "not an individual",
            ),
            (&["--pcap", "a", "--ip", "10.0.0.1"][..], "ADDR/PREFIX"),
            (&["--pcap", "a", "--ip", "10.0.0.1/33"][..], "0 to 32"),
            (&["--pcap", "a", "--ip", "224.0.0.1/4"][..], "not a unicast"),
            (&["--pcap", "a", "--ip6", "fd00::1/129"][..], "0 to 128"),
            (&["--pcap", "a", "--mtu", "100"][..], "--mtu takes"),
            (&["--pcap", "a", "--udp-echo", "0"][..], "--udp-echo takes"),
            (
                &["--pcap", "a", "--config", "/nonexistent/x.toml"][..],
                "cannot read",
            ),
            (&["--pcap", "a", "--frob"][..], "unknown option"),
            (
                &["--pcap", "a", "--route", "10.0.0.0/8"][..],
                "PREFIX/LEN=GATEWAY",
            ),
            (
                &["--pcap", "a", "--route", "10.0.0.0/33=10.0.0.1"][..],
                "PREFIX/LEN=GATEWAY",
            ),
            (
                &["--pcap", "a", "--route", "10.0.0.0/8=fd00::1"][..],
                "PREFIX/LEN=GATEWAY",
            ),
        ] {
            let error = parse(&args(list)).unwrap_err();
            assert!(error.contains(needle), "{list:?}: {error}");
        }
    }

    #[test]
    fn the_file_is_overridden_by_flags() {
        let dir = std::env::temp_dir().join(format!("strata-replay-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("replay.toml");
        std::fs::write(
            &path,
            "pcap = \"from-file.pcap\"\nmac = \"02:00:00:00:00:05\"\nip = [\"10.1.0.1/16\"]\nmtu = 1400\n",
        )
        .unwrap();
        let path = path.to_str().unwrap();
        let parsed = parse(&args(&["--config", path, "--ip", "10.2.0.1/24"])).unwrap();
        assert_eq!(parsed.config.input, PathBuf::from("from-file.pcap"));
        assert_eq!(parsed.config.stack.mac, EthernetAddress([2, 0, 0, 0, 0, 5]));
        assert_eq!(parsed.config.stack.ipv4, [(Ipv4Addr::new(10, 2, 0, 1), 24)]);
        assert_eq!(parsed.config.stack.mtu, 1400);
        std::fs::write(dir.join("bad.toml"), "colour = \"blue\"\n").unwrap();
        let bad = dir.join("bad.toml");
        let error = parse(&args(&["--config", bad.to_str().unwrap()])).unwrap_err();
        assert!(error.contains("unknown field"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
