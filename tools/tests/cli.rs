//! The `strata` command's contract: bad input gives a clear message and a
//! non-zero exit, never a panic; `bench` runs and prints its table.

use std::process::Command;

fn strata(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .output()
        .expect("run strata");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_is_a_clear_error() {
    for (args, needle) in [
        (&[][..], "no command given"),
        (&["frobnicate"][..], "unknown command"),
        (&["bench", "--rings", "--runs"][..], "--runs needs a value"),
        (
            &["bench", "--rings", "--runs", "0"][..],
            "--runs takes a number",
        ),
        (
            &["bench", "--rings", "--runs", "many"][..],
            "--runs takes a number",
        ),
        (
            &["bench", "--rings", "--scale", "-1"][..],
            "--scale takes a factor",
        ),
        (
            &["bench", "--rings", "--pool-seconds", "NaN"][..],
            "--pool-seconds takes seconds",
        ),
        (&["bench", "--rings", "--what"][..], "unknown option"),
        (&["bench", "--what"][..], "unknown option"),
        (
            &["bench", "--mode", "warp"][..],
            "--mode takes rtc or pipeline",
        ),
        (&["serve"][..], "serve needs --iface NAME"),
        (
            &["serve", "--iface", "x", "--backend", "dpdk"][..],
            "--backend takes afxdp, afpacket, afpacket-pnet or tap",
        ),
        (
            &["serve", "--iface", "x", "--udp-echo", "0"][..],
            "--udp-echo takes a port",
        ),
        (
            &["serve", "--iface", "x", "--ip", "10.0.0.1/33"][..],
            "--ip",
        ),
        (
            &["serve", "--iface", "x", "--duration", "-3"][..],
            "--duration takes seconds",
        ),
        (&["gen"][..], "gen needs --iface NAME"),
        (&["gen", "--iface", "x"][..], "gen needs --dst ADDR:PORT"),
        (
            &["gen", "--iface", "x", "--dst", "10.0.0.1"][..],
            "--dst needs a port",
        ),
        (
            &["gen", "--iface", "x", "--dst", "ten"][..],
            "--dst takes ADDR:PORT",
        ),
        (
            &["gen", "--iface", "x", "--rate", "fast"][..],
            "--rate takes a positive number",
        ),
        (
            &["gen", "--iface", "x", "--size", "8"][..],
            "--size takes UDP payload bytes",
        ),
        (&["fwd"][..], "fwd needs two ports"),
        (
            &["fwd", "--iface", "a", "--iface", "b", "--mode", "l9"][..],
            "--mode takes io, mac, macswap, l3 or rxonly",
        ),
        (
            &["fwd", "--iface", "a", "--iface", "b", "--mode", "mac"][..],
            "--mode mac needs --peer-mac",
        ),
        (
            &["fwd", "--iface", "a", "--iface", "b", "--mode", "l3"][..],
            "--mode l3 needs routes",
        ),
        (
            &[
                "fwd",
                "--iface",
                "a",
                "--iface",
                "b",
                "--route",
                "10.0.0.0/33=1,02:00:00:00:00:01",
            ][..],
            "--route takes PREFIX/LEN=PORT,MAC",
        ),
        (
            &[
                "serve",
                "--iface",
                "nosuchif0",
                "--backend",
                "tap",
                "--xdp-mode",
                "generic",
            ][..],
            "--xdp-* flags are for --backend afxdp",
        ),
        (
            &[
                "fwd",
                "--iface",
                "a",
                "--iface",
                "b",
                "--backend",
                "afxdp",
                "--xdp-bind",
                "some",
            ][..],
            "--xdp-bind takes auto, copy or zero-copy",
        ),
        (
            &[
                "serve",
                "--iface",
                "a",
                "--backend",
                "afxdp",
                "--xdp-queues",
                "0",
            ][..],
            "--xdp-queues takes 1 to 64",
        ),
        (
            &[
                "fwd",
                "--iface",
                "a",
                "--mode",
                "rxonly",
                "--backend",
                "afxdp",
                "--xdp-poll-fill",
                "63",
            ][..],
            "--xdp-poll-fill takes 64 to 32768",
        ),
        (&["top"][..], "top needs --url ADDR:PORT"),
        (&["top", "--url", "here"][..], "--url takes ADDR:PORT"),
        (
            &["top", "--url", "127.0.0.1:9", "--interval", "0"][..],
            "--interval takes seconds",
        ),
    ] {
        let (code, _, err) = strata(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let (code, out, _) = strata(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("bench"));
    // Refusals at run time: exit status 1 and the reason.
    for (args, needle) in [
        (
            &["serve", "--iface", "nosuchif0", "--backend", "afxdp"][..],
            "AF_XDP on \"nosuchif0\"",
        ),
        (
            &["serve", "--iface", "x", "--metrics", "192.0.2.1:9100"][..],
            "loopback only",
        ),
        // No such interface, on each backend: named, with what to check
        // (nothing is opened: the name does not exist, or is not valid).
        (
            &[
                "serve",
                "--iface",
                "nosuchif0",
                "--backend",
                "afpacket",
                "--duration",
                "1",
            ][..],
            "AF_PACKET on \"nosuchif0\"",
        ),
        (
            &[
                "serve",
                "--iface",
                "nosuchif0",
                "--backend",
                "afpacket-pnet",
                "--duration",
                "1",
            ][..],
            "no interface \"nosuchif0\" here",
        ),
        (
            &[
                "serve",
                "--iface",
                "a-name-far-too-long",
                "--backend",
                "tap",
                "--duration",
                "1",
            ][..],
            "1 to 15 bytes",
        ),
        (
            &[
                "gen",
                "--iface",
                "nosuchif0",
                "--backend",
                "afpacket",
                "--ip",
                "10.0.0.1/24",
                "--dst",
                "10.0.0.2:7",
            ][..],
            "AF_PACKET on \"nosuchif0\"",
        ),
        (
            &[
                "fwd",
                "--iface",
                "nosuchif0",
                "--iface",
                "nosuchif1",
                "--duration",
                "1",
            ][..],
            "AF_PACKET on \"nosuchif0\"",
        ),
    ] {
        let (code, _, err) = strata(args);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn bench_prints_its_table_and_json() {
    let (code, out, err) = strata(&[
        "bench",
        "--rings",
        "--no-dpdk",
        "--scale",
        "0.001",
        "--pool-seconds",
        "0.01",
        "--json",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("SPSC bulk 32, 1 core"), "{out}");
    assert!(out.contains("NetBuf alloc+free 32, cache"), "{out}");
    let json = out
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    assert!(
        json.contains("\"subject\":\"SPSC bulk 32, 1 core\"") && json.contains("\"strata\""),
        "{json}"
    );
}

#[test]
fn bench_runs_the_stack_and_prints_its_table_and_the_stats_json() {
    let (code, out, err) = strata(&["bench", "--duration", "0.5"]);
    assert_eq!(code, 0, "{err}");
    for needle in [
        "Mpps",
        "Gbit/s",
        "rx_socket",
        "drops:",
        "every buffer back in the pool: yes",
    ] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    let (code, out, err) = strata(&["bench", "--duration", "0.5", "--mode", "pipeline", "--json"]);
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    for key in [
        "interfaces",
        "protocols",
        "stages",
        "pools",
        "queues",
        "rates",
        "bench",
    ] {
        assert!(json.get(key).is_some(), "{key}: {out}");
    }
    assert_eq!(json["bench"]["mode"], "pipeline");
    assert!(json["bench"]["rx_packets"].as_u64().unwrap() > 0);
    assert_eq!(json["bench"]["buffers_home"], true);
}

/// An exporter whose interface counts a thousand more frames at every read.
struct Rising(std::sync::atomic::AtomicU64);

impl strata_engine::stats::StatsSource for Rising {
    fn stats(&self) -> strata_engine::stats::StatsSnapshot {
        // Relaxed: a test counter.
        let n = self.0.fetch_add(1000, std::sync::atomic::Ordering::Relaxed);
        let mut snap = strata_engine::stats::StatsSnapshot::default();
        snap.interfaces.push(strata_engine::stats::InterfaceStats {
            name: "eth0".to_owned(),
            rx_packets: n,
            rx_bytes: n * 64,
            ..Default::default()
        });
        snap
    }
}

#[test]
fn top_shows_the_rates_of_a_running_exporter() {
    let exporter = strata_engine::stats::Exporter::spawn(
        "127.0.0.1:0".parse().unwrap(),
        Rising(std::sync::atomic::AtomicU64::new(0)),
    )
    .expect("exporter");
    let url = exporter.local_addr().to_string();
    let (code, out, err) = strata(&[
        "top",
        "--url",
        &url,
        "--interval",
        "0.1",
        "--count",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{out}");
    for line in &lines {
        let iface = &line["interfaces"][0];
        assert_eq!(iface["name"], "eth0");
        assert!(iface["rx_pps"].as_f64().unwrap() > 0.0, "{line}");
    }
    // The table form names the interface too.
    let (code, out, _) = strata(&["top", "--url", &url, "--interval", "0.1", "--count", "1"]);
    assert_eq!(code, 0);
    assert!(out.contains("eth0") && out.contains("rx pps"), "{out}");
    exporter.shutdown();
    // Nobody there: a clear error.
    let (code, _, err) = strata(&["top", "--url", &url, "--count", "1"]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot reach the exporter"), "{err}");
}
