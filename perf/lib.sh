# What the perf/ scenarios that run in network namespaces share; sourced,
# after `set -euo pipefail`, by afpacket-rx.sh, afxdp-rx.sh, afxdp-fwd.sh
# and gen-tx.sh.
#
#   needs NAME TOOL...   exits unless root and every TOOL is installed
#   netns NS...          creates the namespaces (and $work, a scratch
#                        directory); everything they hold is killed and they
#                        are removed on exit, also on failure
#   build [--drop]       builds the strata command into $strata (and, with
#                        --drop, examples/xdp_drop into $xdp_drop), under the
#                        $root and $target the script set
#   eal PREFIX           DPDK EAL flags for a machine without PCI or huge pages
#   median, minmax       of numbers on stdin, one per line

build() {
    (cd "$root" && cargo build --release -q -p strata-tools)
    strata=$target/release/strata
    if [ "${1:-}" = --drop ]; then
        (cd "$root" && cargo build --release -q -p strata-perf --example xdp_drop)
        xdp_drop=$target/release/examples/xdp_drop
    fi
}

needs() {
    local name=$1; shift
    [ "$(id -u)" -eq 0 ] || { echo "$name: needs root (namespaces)" >&2; exit 1; }
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || { echo "$name: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
    done
}

perf_namespaces=()
work=$(mktemp -d)
perf_cleanup() {
    local ns pid
    for ns in "${perf_namespaces[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap perf_cleanup EXIT

netns() {
    local ns
    for ns in "$@"; do
        perf_namespaces+=("$ns")
        ip netns add "$ns"
    done
}

eal() { echo "--no-pci --no-huge -m 512 --file-prefix $1 --log-level=lib.eal:error"; }
# Waits (30 s at most) until the testpmd logging to $1 forwards: its set-up
# (512 MiB of memory touched page by page without huge pages) takes from
# under a second to several, longer when a busy-polling lcore shares its
# main lcore's CPU, and must not count as sending or receiving time.
testpmd_ready() {
    local i
    for i in $(seq 150); do
        grep -q "packet forwarding - ports=" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    echo "testpmd did not start forwarding in 30 s:" >&2; tail -20 "$1" >&2; return 1
}
median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
minmax() { sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "[%.3f-%.3f]", lo, hi}'; }
