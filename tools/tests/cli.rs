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
            "--backend takes afxdp, afpacket or tap",
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
            "--mode takes io, mac, macswap or rxonly",
        ),
        (
            &["fwd", "--iface", "a", "--iface", "b", "--mode", "mac"][..],
            "--mode mac needs --peer-mac",
        ),
        (&["top"][..], "not available yet"),
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
            &["serve", "--iface", "x", "--backend", "afxdp"][..],
            "backend afxdp is not available yet",
        ),
        (
            &["serve", "--iface", "x", "--metrics", "192.0.2.1:9100"][..],
            "loopback only",
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
