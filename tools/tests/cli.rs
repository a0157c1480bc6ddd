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
        (&["bench", "--runs"][..], "--runs needs a value"),
        (&["bench", "--runs", "0"][..], "--runs takes a number"),
        (&["bench", "--runs", "many"][..], "--runs takes a number"),
        (&["bench", "--scale", "-1"][..], "--scale takes a factor"),
        (
            &["bench", "--pool-seconds", "NaN"][..],
            "--pool-seconds takes seconds",
        ),
        (&["bench", "--what"][..], "unknown option"),
        (&["serve"][..], "not available yet"),
    ] {
        let (code, _, err) = strata(args);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
    let (code, out, _) = strata(&["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("bench"));
}

#[test]
fn bench_prints_its_table_and_json() {
    let (code, out, err) = strata(&[
        "bench",
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
