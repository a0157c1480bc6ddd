//! The corpus check without libFuzzer: every target function over every corpus file
//! (each target must take any bytes, so every file goes through every target).

use std::path::Path;

#[test]
fn corpus_replays_through_every_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files = Vec::new();
    for (name, _) in strata_fuzz::TARGETS {
        let dir = root.join(name);
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    assert!(
        files.len() >= 40,
        "corpus went missing: {} files",
        files.len()
    );
    for (name, target) in strata_fuzz::TARGETS {
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            if std::panic::catch_unwind(|| target(&bytes)).is_err() {
                panic!(
                    "target {name} failed on {} ({} bytes): {hex}",
                    path.display(),
                    bytes.len()
                );
            }
        }
    }
}
