#!/usr/bin/env bash
# Forwarding over AF_XDP between two veth pairs (issue 5, "Performance",
# forwarding): Strata `fwd --mode io --backend afxdp` beside `dpdk-testpmd`
# in `io` mode on two `net_af_xdp` ports, in one run, round after round.
#
#   sudo perf/afxdp-fwd.sh [ROUNDS] [SECONDS]        (defaults: 3 rounds of 4 s)
#
# Three namespaces: the sender (`strata gen --live-frames`, 64-byte frames,
# pinned to CPU 1) on one veth pair, the forwarder (its polling thread on
# CPU 0; testpmd's forwarding lcore on CPU 0, its main lcore on CPU 1)
# between the two pairs, and a counting sink on the far pair (an XDP
# program that drops and counts, loaded by Strata's own loader). On veth,
# the forwarder's receive-side XDP and copy run on the sender's core, and
# its transmit (copy mode: an sk_buff per frame, built in the `sendto`)
# and the sink's XDP on the forwarder's core.
#
# Reported per forwarder: frames per second reaching the sink, the share of
# the frames that reached the forwarder's input veth that came out, and the
# forwarder's CPU time per forwarded frame (Strata adaptive: its thread's;
# busy-polling forwarders: the whole core over the sender's time).
set -euo pipefail

rounds=${1:-3}
secs=${2:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
. "$root/perf/lib.sh"
needs afxdp-fwd dpdk-testpmd ethtool

build --drop

src=strata-perf-fs-$$
fw=strata-perf-ff-$$
dst=strata-perf-fd-$$
netns "$src" "$fw" "$dst"
ip link add fsrc0 netns "$src" type veth peer name ffw0 netns "$fw"
ip link add ffw1 netns "$fw" type veth peer name fdst0 netns "$dst"
ip -n "$src" link set fsrc0 up
ip -n "$fw" link set ffw0 up
ip -n "$fw" link set ffw1 up
ip -n "$dst" link set fdst0 up
# NAPI on the receiving ends (GRO on, set while up), so frames sent through
# XDP always have somewhere to go.
ip netns exec "$fw" ethtool -K ffw0 gro on >/dev/null
ip netns exec "$dst" ethtool -K fdst0 gro on >/dev/null
in_mac=$(ip -n "$fw" -br link show ffw0 | awk '{print $3}')

arrived() { ip netns exec "$fw" ethtool -S ffw0 | awk '/rx_queue_0_xdp_packets/ {print $2}'; }
blast() {
    ip netns exec "$src" taskset -c 1 "$strata" gen --live-frames --iface fsrc0 --ip 10.91.0.1/24 \
        --dst 10.91.0.2:9 --dst-mac "$in_mac" --size 18 --max-rate --duration "$secs" --json \
        2>/dev/null | python3 -c 'import json,sys; g=json.load(sys.stdin)["gen"]; print(g["sent"], g["seconds"])'
}
# out arrived seconds cpu_ns -> "Mpps %out cpu_ns arrived_Mpps"
row() { python3 -c 'import sys; o,a,t,c=map(float,sys.argv[1:]); print(o/t/1e6, o/max(a,1)*100, c, a/t/1e6)' "$@"; }

# The sink runs through every round.
ip netns exec "$dst" "$xdp_drop" --iface fdst0 --mode native --seconds 100000 >"$work/sink.json" &
sink=$!
sleep 1
# Frames counted by the sink so far: the sink prints only at its end, so
# the count is read from the veth's XDP counters instead.
sunk() { ip netns exec "$dst" ethtool -S fdst0 | awk '/rx_queue_0_xdp_drops/ {print $2}'; }

strata_round() { # flags, subject
    ip netns exec "$fw" taskset -c 0 "$strata" fwd --iface ffw0 --iface ffw1 --backend afxdp \
        --xdp-mode native --mode io $1 --duration $((secs + 60)) --json </dev/null \
        >"$work/strata.json" 2>"$work/strata.err" &
    local pid=$!
    sleep 1.5
    local a0 s0 a1 s1 sent took cpu got
    a0=$(arrived); s0=$(sunk); read -r sent took < <(blast); sleep 0.5; a1=$(arrived); s1=$(sunk)
    kill -INT "$pid"; wait "$pid" || { cat "$work/strata.err" >&2; exit 1; }
    got=$((s1 - s0))
    cpu=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))["fwd"]; print(d["cpu_seconds"]*1e9/max(int(sys.argv[2]),1))' "$work/strata.json" "$got")
    if [ -n "$1" ]; then
        cpu=$(python3 -c 'import sys; print(float(sys.argv[1])*1e9/max(int(sys.argv[2]),1))' "$took" "$got")
    fi
    row "$got" $((a1 - a0)) "$took" "$cpu" >>"$work/$2.txt"
}

subjects="strata strata-busy testpmd"
for s in $subjects; do : >"$work/$s.txt"; done
for round in $(seq "$rounds"); do
    strata_round "" strata
    strata_round --busy-poll strata-busy
    ip netns exec "$fw" dpdk-testpmd -l 0,1 --main-lcore 1 $(eal ff$$) \
        --vdev=net_af_xdp0,iface=ffw0,busy_budget=0 --vdev=net_af_xdp1,iface=ffw1,busy_budget=0 -- \
        --forward-mode=io --burst=32 --nb-cores=1 --auto-start --stats-period 1 --total-num-mbufs=16384 \
        </dev/null >"$work/testpmd.log" 2>&1 &
    tpid=$!
    testpmd_ready "$work/testpmd.log"
    sleep 0.5
    a0=$(arrived); s0=$(sunk); read -r sent took < <(blast); sleep 0.5; a1=$(arrived); s1=$(sunk)
    kill -INT "$tpid"; wait "$tpid" || true
    got=$((s1 - s0))
    cpu=$(python3 -c 'import sys; print(float(sys.argv[1])*1e9/max(int(sys.argv[2]),1))' "$took" "$got")
    row "$got" $((a1 - a0)) "$took" "$cpu" >>"$work/testpmd.txt"
    for s in $subjects; do echo "round $round: $s $(tail -1 "$work/$s.txt")  (Mpps out, % of arrived, CPU ns/frame, arrived Mpps)" >&2; done
done
kill -INT "$sink"; wait "$sink" || true

echo "AF_XDP forwarding (io), 64-byte frames, veth in and out, native XDP, copy mode;"
echo "sender strata gen --live-frames on CPU 1, forwarder's polling thread on CPU 0, sink: XDP drop-and-count;"
echo "$rounds round(s) of ${secs} s; median [min-max]"
for s in $subjects; do
    f="$work/$s.txt"
    printf "%-11s %7s Mpps out %-15s forwarded %7s%% of arrived   CPU %7s ns/frame %-17s arrived %6s Mpps\n" "$s" \
        "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f1 "$f" | minmax)" \
        "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f3 "$f" | minmax)" \
        "$(cut -d' ' -f4 "$f" | median)"
done
