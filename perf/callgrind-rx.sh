#!/usr/bin/env bash
# Instructions per packet of an RX-path subject, counted exactly by callgrind
# (hardware counters are not available on these VMs; callgrind counts the
# same on a noisy machine).
#
#   perf/callgrind-rx.sh [SUBJECT] [PACKETS] [SIZE]     (defaults: smoltcp 200000 64)
#
# Runs `examples/rx_path --callgrind SUBJECT` under valgrind with collection
# off at the start and toggled on only inside `measured_rx_loop` (set-up and
# warm-up are not counted), then prints the instructions (Ir) counted there
# divided by the packets received. SIZE counts the FCS (64 = 60 stored bytes).
set -euo pipefail

subject=${1:-smoltcp}
packets=${2:-200000}
size=${3:-64}

root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
command -v valgrind >/dev/null || { echo "callgrind-rx: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }

(cd "$root" && cargo build --release -q -p strata-perf --example rx_path)
bin=$target/release/examples/rx_path
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured_rx_loop*' \
    --callgrind-out-file="$out/callgrind.out" \
    "$bin" --callgrind "$subject" --packets "$packets" --size "$size" --flows 16 \
    >"$out/stdout" 2>"$out/valgrind.log" || { cat "$out/valgrind.log" >&2; exit 1; }
cat "$out/stdout"

# The "totals:" line of the output file is every instruction collected, i.e.
# those executed inside measured_rx_loop and what it calls.
ir=$(awk '/^totals:/ {print $2}' "$out/callgrind.out")
[ -n "$ir" ] && [ "$ir" -gt 0 ] || { echo "callgrind-rx: nothing collected (is measured_rx_loop in the binary?)" >&2; exit 1; }
awk -v ir="$ir" -v n="$packets" -v s="$subject" -v z="$size" \
    'BEGIN { printf "%s, %d-byte frames: %d instructions in measured_rx_loop for %d packets = %.1f instructions per packet\n", s, z, ir, n, ir / n }'
