#!/usr/bin/env bash
# Short fuzz run of every target in fuzz/ (see fuzz/README.md).
#
# 1. Replays the committed corpus through every target with plain cargo (no
#    libFuzzer): the fast check that needs nothing but stable.
# 2. Installs cargo-fuzz if it is missing.
# 3. Runs each libFuzzer target for FUZZ_SECONDS (default 15) seconds from the
#    committed seeds, with AddressSanitizer.
# Exits non-zero on any crash, round-trip disagreement, leak or timeout, after
# printing the target, the crashing input (hex) and the panic message.
#
# Toolchain: `cargo +nightly fuzz` when a nightly toolchain is installed, otherwise
# cargo-fuzz on stable with RUSTC_BOOTSTRAP=1, which lets stable rustc accept the
# -Z flags cargo-fuzz passes (-Zsanitizer=address and the sancov passes).
# Override with FUZZ_TOOLCHAIN=stable|nightly, FUZZ_SANITIZER=address|none.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
FUZZ_SANITIZER="${FUZZ_SANITIZER:-address}"
FUZZ_TARGETS="${FUZZ_TARGETS:-ethernet arp ipv4 ipv6 tcp reassembly nd_cache addrconf mld_listener}"
# A fixed seed by default, so a run in CI explores the same inputs each time
# (a new crash then comes from a code change, not luck); FUZZ_SEED=0 picks one at random.

echo "--- corpus replay (stable, no libFuzzer)"
t0=$SECONDS
cargo test --quiet --manifest-path fuzz/Cargo.toml --test replay

echo "    replay took $((SECONDS - t0)) s"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "--- installing cargo-fuzz"
  t0=$SECONDS
  cargo install cargo-fuzz --locked --quiet
  echo "    install took $((SECONDS - t0)) s"
fi

toolchain="${FUZZ_TOOLCHAIN:-}"
if [ -z "$toolchain" ]; then
  if cargo +nightly --version >/dev/null 2>&1; then toolchain=nightly; else toolchain=stable; fi
fi
if [ "$toolchain" = nightly ]; then
  fuzz=(cargo +nightly fuzz)
else
  # rustup's proxy honours RUSTUP_TOOLCHAIN; RUSTC_BOOTSTRAP unlocks the -Z flags.
  export RUSTUP_TOOLCHAIN=stable RUSTC_BOOTSTRAP=1
  fuzz=(cargo fuzz)
fi
echo "--- cargo-fuzz $("${fuzz[@]}" --version | awk '{print $2}') on $toolchain, sanitizer $FUZZ_SANITIZER"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# One build of every target (each `run` below then finds it up to date).
t0=$SECONDS
if ! "${fuzz[@]}" build --fuzz-dir fuzz --sanitizer "$FUZZ_SANITIZER" >"$work/build.log" 2>&1; then
  tail -n 40 "$work/build.log"
  echo "fuzz targets failed to build"
  exit 1
fi
echo "    build took $((SECONDS - t0)) s"

failed=()
for target in $FUZZ_TARGETS; do
  # New inputs go to a scratch directory (first corpus argument); the committed seeds
  # are only read, so the repository is not touched unless something crashes.
  mkdir -p "$work/$target" "fuzz/artifacts/$target"
  log="$work/$target.log"
  start=$SECONDS
  if "${fuzz[@]}" run --fuzz-dir fuzz --sanitizer "$FUZZ_SANITIZER" "$target" \
      "$work/$target" "fuzz/corpus/$target" -- \
      -max_total_time="$FUZZ_SECONDS" -seed="${FUZZ_SEED:-1}" -rss_limit_mb=2048 -timeout=10 \
      -max_len=4096 -print_final_stats=1 >"$log" 2>&1; then
    runs=$(grep -o '^stat::number_of_executed_units: *[0-9]*' "$log" | awk '{print $2}')
    echo "ok   $target: ${runs:-?} runs in $((SECONDS - start)) s"
  else
    failed+=("$target")
    echo "FAIL $target"
    # The panic (or sanitizer report) and cargo-fuzz's summary with the input.
    grep -E -A3 "panicked at|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY" "$log" | head -n 40 || true
    sed -n '/Failing input:/,$p' "$log" | head -n 30
    for crash in $(grep -o 'fuzz/artifacts/[^ ]*' "$log" | sort -u); do
      [ -f "$crash" ] || continue
      echo "input $crash ($(wc -c <"$crash") bytes):"
      od -An -tx1 -v "$crash" | tr -s ' ' | head -n 40
      echo "replay: cargo run --manifest-path fuzz/Cargo.toml --example replay $target $crash"
    done
  fi
done

if [ "${#failed[@]}" -ne 0 ]; then
  echo "fuzz smoke FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz smoke passed"
