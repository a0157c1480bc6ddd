#!/usr/bin/env bash
# AF_PACKET receive-and-drop of 64-byte frames on a veth pair (issue 5,
# "Performance", the AF_PACKET line): Strata's TPACKET_V3 path
# (`strata fwd --mode rxonly`), Strata through pnet's datalink channel
# (`--backend afpacket-pnet`), and DPDK's af_packet PMD
# (`dpdk-testpmd --vdev net_af_packet0,...` in `rxonly` mode), both fed by the
# same sender — testpmd `txonly` on net_af_packet in the other namespace —
# round after round in one run.
#
#   sudo perf/afpacket-rx.sh [ROUNDS] [SECONDS]        (defaults: 3 rounds of 5 s)
#
# Arrangement on a 2-core machine: the receiver's polling thread on CPU 0,
# the sender's forwarding lcore on CPU 1 (each testpmd's main lcore on the
# other core, where it only prints statistics); on veth the copy into the
# receiving socket runs on the sending core. Both ends of the veth pair are in
# namespaces this script creates and removes (also on failure).
#
# Reported per subject: frames received per second over the sender's
# active time, the share of the sender's frames received, and the
# receiver's CPU time per frame (Strata: its thread's, from the kernel;
# testpmd: one busy-polling core over the frames it received).
set -euo pipefail

rounds=${1:-3}
secs=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
. "$root/perf/lib.sh"
needs afpacket-rx dpdk-testpmd

build

tx=strata-perf-tx-$$
rx=strata-perf-rx-$$
netns "$tx" "$rx"
ip link add ptx0 netns "$tx" type veth peer name prx0 netns "$rx"
ip -n "$tx" link set ptx0 up
ip -n "$rx" link set prx0 up
rx_mac=$(ip -n "$rx" -br link show prx0 | awk '{print $3}')


# Starts the sender, lets it run $secs once it forwards, stops it; prints
# the frames it sent.
send() {
    ip netns exec "$tx" dpdk-testpmd -l 0,1 --main-lcore 0 $(eal tx$$) \
        --vdev=net_af_packet0,iface=ptx0,qdisc_bypass=1 -- \
        --forward-mode=txonly --txpkts=60 --burst=32 --nb-cores=1 --auto-start \
        --eth-peer=0,"$rx_mac" --stats-period 1 --total-num-mbufs=16384 </dev/null >"$work/tx.log" 2>&1 &
    local pid=$!
    testpmd_ready "$work/tx.log" || { kill -INT "$pid"; exit 1; }
    sleep "$secs"
    kill -INT "$pid"; wait "$pid" || true
    grep -E "TX-packets:" "$work/tx.log" | tail -1 | sed -E 's/.*TX-packets: *([0-9]+).*/\1/'
}


: >"$work/strata.txt"; : >"$work/testpmd.txt"
strata_round() { # backend, result file
    # Strata: its polling thread pinned to CPU 0.
    ip netns exec "$rx" taskset -c 0 "$strata" fwd --iface prx0 --backend "$1" --mode rxonly \
        --duration $((secs + 60)) --json </dev/null >"$work/strata.json" 2>"$work/strata.err" &
    spid=$!
    sleep 1
    sent=$(send)
    sleep 1
    kill -INT "$spid"; wait "$spid" || true
    python3 - "$work/strata.json" "$sent" "$secs" >>"$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); sent = int(sys.argv[2]); secs = float(sys.argv[3])
got = d["fwd"]["ports"][0]["rx"]
print(got / secs / 1e6, got / max(sent, 1) * 100, d["fwd"]["cpu_ns_per_frame"] or 0)
PY
}

: >"$work/strata-pnet.txt"
for round in $(seq "$rounds"); do
    strata_round afpacket "$work/strata.txt"
    strata_round afpacket-pnet "$work/strata-pnet.txt"
    # testpmd rxonly: its forwarding lcore on CPU 0.
    ip netns exec "$rx" dpdk-testpmd -l 0,1 --main-lcore 1 $(eal rx$$) \
        --vdev=net_af_packet0,iface=prx0,qdisc_bypass=1 -- \
        --forward-mode=rxonly --burst=32 --nb-cores=1 --auto-start --stats-period 1 --total-num-mbufs=16384 \
        </dev/null >"$work/rx.log" 2>&1 &
    tpid=$!
    testpmd_ready "$work/rx.log"
    sleep 0.5
    sent=$(send)
    sleep 1
    kill -INT "$tpid"; wait "$tpid" || true
    got=$(grep -E "RX-packets:" "$work/rx.log" | tail -1 | sed -E 's/.*RX-packets: *([0-9]+).*/\1/')
    python3 -c "import sys; got=int(sys.argv[1]); sent=int(sys.argv[2]); s=float(sys.argv[3]); print(got/s/1e6, got/max(sent,1)*100, s*1e9/max(got,1))" \
        "$got" "$sent" "$secs" >>"$work/testpmd.txt"
    echo "round $round: strata $(tail -1 "$work/strata.txt")  strata-pnet $(tail -1 "$work/strata-pnet.txt")  testpmd $(tail -1 "$work/testpmd.txt")  (Mpps, % of sent, CPU ns/frame)" >&2
done

echo "AF_PACKET receive-and-drop, 64-byte frames, veth, sender testpmd txonly (net_af_packet) on CPU 1; $rounds round(s) of ${secs} s; median [min-max]"
for s in strata strata-pnet testpmd; do
    f="$work/$s.txt"
    printf "%-8s  %8s Mpps %s   received %6s%% of sent   CPU %8s ns/frame %s\n" "$s" \
        "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f1 "$f" | minmax)" \
        "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f3 "$f" | minmax)"
done
