//! Runs every fuzz target function over every corpus file, with plain stable cargo
//! and no libFuzzer: `cargo run --manifest-path fuzz/Cargo.toml --example replay`.
//!
//! With no arguments it replays `fuzz/corpus/<target>/*` (and `fuzz/artifacts/<target>/*`
//! when present) through `<target>`, and also every file through every other target,
//! since each must take any bytes. With arguments `<target> <file>...` it replays just
//! those files (a crash file from libFuzzer, say). A failure is a panic: the file name
//! and its bytes are printed first, and the exit code is non-zero.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use strata_fuzz::TARGETS;

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn run(target: &str, f: fn(&[u8]), path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        eprintln!("cannot read {}", path.display());
        return false;
    };
    let ok = std::panic::catch_unwind(|| f(&bytes)).is_ok();
    if !ok {
        eprintln!(
            "FAILED: target {target} on {} ({} bytes): {}",
            path.display(),
            bytes.len(),
            hex(&bytes)
        );
    }
    ok
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut runs = 0usize;
    let mut failures = 0usize;
    if let Some((name, files)) = args.split_first() {
        let Some(&(_, f)) = TARGETS.iter().find(|(n, _)| n == name) else {
            eprintln!("unknown target {name}; targets: ethernet arp ipv4 ipv6");
            return ExitCode::FAILURE;
        };
        for file in files {
            runs += 1;
            failures += usize::from(!run(name, f, Path::new(file)));
        }
    } else {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut all = Vec::new();
        for (name, _) in TARGETS {
            all.extend(files_in(&root.join("corpus").join(name)));
            all.extend(files_in(&root.join("artifacts").join(name)));
        }
        if all.is_empty() {
            eprintln!("no corpus under {}", root.join("corpus").display());
            return ExitCode::FAILURE;
        }
        for (name, f) in TARGETS {
            for file in &all {
                runs += 1;
                failures += usize::from(!run(name, f, file));
            }
        }
    }
    println!("replay: {runs} runs, {failures} failures");
    if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
