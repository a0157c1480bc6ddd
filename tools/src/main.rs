//! `strata`: the command-line program (DESIGN.md, "Contract: the `strata` command").
//!
//! `strata bench` runs the whole stack in memory (`--rings`: the ring and
//! pool comparison beside DPDK, rtrb and crossbeam), `strata replay` a
//! capture through one interface, `strata serve` an interface on a device
//! backend (TAP so far).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use strata_perf::compare::{self, Options};

mod bench;
mod config_file;
mod fwd;
mod gen;
mod link_flags;
mod replay;
mod serve;
mod top;

const USAGE: &str = "usage: strata <command> [options]

commands:
  bench     the whole stack in memory: generators feeding UDP sockets, echoes back out
            [--workers N] [--mode rtc|pipeline] [--size BYTES] [--flows N]
            [--classes N] [--duration SECS] [--cpus LIST] [--no-echo] [--sample N]
            [--app-thread] [--json] [--config FILE]
  bench --rings
            rings and pools beside DPDK, rtrb and crossbeam (in memory, no root)
            [--runs N] [--pool-seconds S] [--scale X] [--no-dpdk] [--json] [--quiet]
  replay    receive a capture as if on one Ethernet interface, write the answers
            --pcap IN [--tx-pcap OUT] [--mac MAC] [--ip ADDR/PREFIX]...
            [--ip6 ADDR/PREFIX]... [--gateway ADDR] [--route PREFIX/LEN=GATEWAY]...
            [--mtu N] [--udp-echo PORT]... [--linger SECS] [--json] [--config FILE]
  serve     an interface on a device backend: ARP, ND and ping answered, UDP
            echo and discard, metrics on loopback; Ctrl-C stops
            --iface NAME --backend tap|afpacket|afpacket-pnet|afxdp [--mac MAC]
            [--xdp-mode native|generic] [--xdp-bind auto|copy|zero-copy] [--xdp-queues N] [--xdp-ring-size N] [--xdp-poll-fill N]
            [--ip ADDR/PREFIX]... [--ip6 ADDR/PREFIX]... [--gateway ADDR]
            [--udp-echo PORT]... [--udp-discard PORT]... [--metrics ADDR:PORT]
            [--duration SECS] [--no-dad] [--json] [--config FILE]
            (afpacket: a TPACKET_V3 ring; afpacket-pnet: pnet's datalink channel;
             afxdp: an AF_XDP socket on each of queues 0..N (default 1), one thread
             polling them all, the pool as their UMEM, zero-copy
             where the driver can (veth: copy); on veth in generic mode frames
             reach XDP only with GRO on: ethtool -K IF gro on)
  gen       UDP to an echo service at a set rate; counts the echoes: lost,
            reordered, duplicated, round-trip latency percentiles
            --iface NAME --backend tap|afpacket|afpacket-pnet|afxdp [--mac MAC]
            [--xdp-mode native|generic] [--xdp-bind auto|copy|zero-copy] [--xdp-queues N] [--xdp-ring-size N] [--xdp-poll-fill N] --ip ADDR/PREFIX
            [--ip6 ADDR/PREFIX] [--gateway ADDR] --dst ADDR:PORT [--dst-mac MAC]
            [--rate PPS | --bitrate BPS | --max-rate] [--size BYTES|imix] [--flows N]
            [--count N] [--duration SECS] [--linger SECS] [--icmp] [--json]
            [--config FILE]   (--icmp: echo requests to --dst ADDR instead of UDP)
            [--live-frames]   (one fixed UDP frame sent by the kernel itself through
             XDP live frames, BPF_PROG_RUN, no socket: needs --dst-mac; no echoes)
  fwd       forward between two ports, as testpmd does
            --iface A --iface B [--backend tap|afpacket|afpacket-pnet|afxdp]
            [--xdp-mode native|generic] [--xdp-bind auto|copy|zero-copy] [--xdp-queues N] [--xdp-ring-size N] [--xdp-poll-fill N]
            [--mode io|mac|macswap|l3]
            [--route PREFIX/LEN=PORT,MAC]...   (l3: IPv4 by static routes, TTL - 1)
            (--mode rxonly: one --iface, frames received and freed)
            [--peer-mac MAC --peer-mac MAC] [--burst N] [--busy-poll] [--duration SECS] [--json]
            [--config FILE]
  (serve, gen and fwd: --config takes TOML whose keys are the flags' names,
   e.g. iface = \"eth0\", udp-echo = [7, 9]; flags override)
  top       a live view of a running engine's exporter (serve --metrics ADDR)
            --url ADDR:PORT [--interval SECS] [--count N] [--json]";

struct BenchArgs {
    opts: Options,
    json: bool,
}

fn parse_bench(args: &[String]) -> Result<BenchArgs, String> {
    let mut opts = Options {
        runs: 1,
        ..Options::default()
    };
    let mut json = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if compare::apply_flag(&mut opts, flag, &mut it)? {
            continue;
        }
        match flag.as_str() {
            "--rings" => {}
            "--json" => json = true,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?} for bench --rings")),
        }
    }
    Ok(BenchArgs { opts, json })
}

fn main() -> ExitCode {
    // Read the process's CPUs before anything pins a thread.
    let _ = strata_engine::cpu::allowed_cpus();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("bench") if !args[1..].iter().any(|a| a == "--rings") => {
            match bench::parse(&args[1..]) {
                Ok(parsed) => match bench::run(&parsed) {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(msg) => {
                        eprintln!("strata bench: {msg}");
                        ExitCode::FAILURE
                    }
                },
                Err(msg) => usage_error(&msg),
            }
        }
        Some("bench") => match parse_bench(&args[1..]) {
            Ok(b) => {
                let cpus = strata_engine::cpu::format_cpu_list(strata_engine::cpu::allowed_cpus());
                eprintln!(
                    "strata bench: rings and pools, {} round(s), CPUs {cpus}",
                    b.opts.runs
                );
                let report = compare::run(&b.opts);
                println!("{}", report.table());
                if b.json {
                    println!("{}", report.json());
                }
                ExitCode::SUCCESS
            }
            Err(msg) => usage_error(&msg),
        },
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("replay") => match replay::parse(&args[1..]) {
            Ok(parsed) => match replay::run(&parsed) {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("strata replay: {msg}");
                    ExitCode::FAILURE
                }
            },
            Err(msg) => usage_error(&msg),
        },
        Some("serve") => match config_file::expand(&args[1..]).and_then(|a| serve::parse(&a)) {
            Ok(parsed) => match serve::run(&parsed) {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("strata serve: {msg}");
                    ExitCode::FAILURE
                }
            },
            Err(msg) => usage_error(&msg),
        },
        Some("gen") => match config_file::expand(&args[1..]).and_then(|a| gen::parse(&a)) {
            Ok(parsed) => match gen::run(&parsed) {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("strata gen: {msg}");
                    ExitCode::FAILURE
                }
            },
            Err(msg) => usage_error(&msg),
        },
        Some("fwd") => match config_file::expand(&args[1..]).and_then(|a| fwd::parse(&a)) {
            Ok(parsed) => match fwd::run(&parsed) {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("strata fwd: {msg}");
                    ExitCode::FAILURE
                }
            },
            Err(msg) => usage_error(&msg),
        },
        Some("top") => match top::parse(&args[1..]) {
            Ok(parsed) => match top::run(&parsed) {
                Ok(()) => ExitCode::SUCCESS,
                Err(msg) => {
                    eprintln!("strata top: {msg}");
                    ExitCode::FAILURE
                }
            },
            Err(msg) => usage_error(&msg),
        },
        Some(other) => usage_error(&format!("unknown command {other:?}")),
        None => usage_error("no command given"),
    }
}

fn usage_error(msg: &str) -> ExitCode {
    if msg.is_empty() {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    eprintln!("strata: {msg}\n\n{USAGE}");
    ExitCode::from(2)
}
