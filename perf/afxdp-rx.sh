#!/usr/bin/env bash
# AF_XDP receive-and-drop of 64-byte frames on a veth pair (issue 5,
# "Performance"), every subject fed by the same sender in one run, round
# after round:
#
#   strata    Strata's AF_XDP device, native XDP (`strata fwd --mode rxonly
#             --backend afxdp`): frames land in the pool (the UMEM) and are freed;
#             adaptive polling (the default: it sleeps on the socket when idle)
#   strata-busy  the same with --busy-poll (never sleeps, as testpmd)
#   testpmd   DPDK's af_xdp PMD in rxonly mode (`dpdk-testpmd --vdev
#             net_af_xdp0,iface=...,busy_budget=0`), as PEERS.md runs it
#   ceiling   a bare XDP program that drops and counts every frame, loaded by
#             Strata's own loader (examples/xdp_drop.rs): no socket at all
#
#   sudo [LADDER_RUNS=N] perf/afxdp-rx.sh [ROUNDS] [SECONDS] [LADDER]
#        defaults: 3 rounds of 4 s; LADDER (Mpps, for the loss-free rate)
#        0.5,1,1.4,2,4,6,8, each rate run LADDER_RUNS times (3) per subject
#
# Part 1, the same offered load: the sender is `strata gen --live-frames`
# (the kernel sends one frame over and over through XDP live frames, about
# as fast as it can), pinned to CPU 1. On veth, the receiving side's XDP
# program and the copy into the socket's UMEM run in the NAPI poll that the
# sender's transmit schedules, on the sending core: the receiver's own
# thread (pinned to CPU 0; testpmd's forwarding lcore on CPU 0, its main
# lcore on CPU 1) only takes frames off the RX ring. Per subject: frames
# received per second over the sender's time, the share of the frames that
# reached the receiving veth (its rx_queue_0_xdp_packets), and the
# receiver's CPU time per frame (Strata adaptive: its thread's, from the
# kernel; busy-polling receivers: a whole core over the sender's time).
#
# Part 2, the highest rate received with under 0.1% loss: a sender at a
# set rate, LADDER_RUNS runs of SECONDS per rate of the LADDER and subject
# (the medians count: on this project's VMs a receiving thread is now and
# then held off for 1-7 ms while the sender runs, which decides single
# runs near 0.1%). Up to 1 Mpps the sender is `strata gen --backend afxdp
# --rate R` (the stack's UDP through an AF_XDP socket, paced per burst of
# 32 by the wall clock: about 1.1-1.5 Mpps at most, sharing its core with
# the receive-side copy); above, `strata gen --live-frames --rate R` (frames
# spaced out by a spin loop in its XDP program, leaving in the kernel's
# batches of 64). The receive-side work shares the sender's core, so a
# rung above what the sender reaches with a given receiver is offered only
# as fast as it gets: each rung shows what was offered, and counts as
# received loss-free only if at least 97% of its rate was offered.
#
# Both ends of the veth pair are in namespaces this script creates and
# removes (also on failure).
set -euo pipefail

rounds=${1:-3}
secs=${2:-4}
ladder=${3:-0.5,1,1.4,2,4,6,8}
ladder_runs=${LADDER_RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
. "$root/perf/lib.sh"
needs afxdp-rx dpdk-testpmd ethtool

build --drop

tx=strata-perf-xtx-$$
rx=strata-perf-xrx-$$
netns "$tx" "$rx"
ip link add xtx0 netns "$tx" type veth peer name xrx0 netns "$rx"
ip -n "$tx" link set xtx0 up
ip -n "$rx" link set xrx0 up
# GRO on (set while up) keeps the receiving veth's NAPI running between
# subjects, so frames sent through XDP always have somewhere to go.
ip netns exec "$rx" ethtool -K xrx0 gro on >/dev/null
ip -n "$rx" addr add 10.90.0.2/24 dev xrx0
ip -n "$tx" addr add 10.90.0.1/24 dev xtx0
rx_mac=$(ip -n "$rx" -br link show xrx0 | awk '{print $3}')

# Frames that reached the receiving veth (before any XDP program ran).
arrived() { ip netns exec "$rx" ethtool -S xrx0 | awk '/rx_queue_0_xdp_packets/ {print $2}'; }

# The sender at full speed on CPU 1 for $secs; prints "frames seconds".
blast() {
    ip netns exec "$tx" taskset -c 1 "$strata" gen --live-frames --iface xtx0 --ip 10.90.0.1/24 \
        --dst 10.90.0.2:9 --dst-mac "$rx_mac" --size 18 --max-rate --duration "$secs" --json \
        2>/dev/null | python3 -c 'import json,sys; g=json.load(sys.stdin)["gen"]; print(g["sent"], g["seconds"])'
}

# got arrived sent seconds cpu_ns -> "Mpps %received cpu_ns offered_Mpps"
row() { python3 -c 'import sys; g,a,s,t,c=map(float,sys.argv[1:]); print(g/t/1e6, g/max(a,1)*100, c, s/t/1e6)' "$@"; }

# Strata: fwd rxonly on AF_XDP, its thread pinned to CPU 0; adaptive polling
# (it sleeps on the socket after an idle spell: the default) or --busy-poll.
strata_round() { # flags, subject
    ip netns exec "$rx" taskset -c 0 "$strata" fwd --iface xrx0 --backend afxdp --xdp-mode native \
        --mode rxonly $1 --duration $((secs + 60)) --json </dev/null >"$work/strata.json" 2>"$work/strata.err" &
    spid=$!
    sleep 1.5
    a0=$(arrived); read -r sent took < <(blast); sleep 0.5; a1=$(arrived)
    kill -INT "$spid"; wait "$spid" || { cat "$work/strata.err" >&2; exit 1; }
    read -r got cpu < <(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["fwd"]["ports"][0]["rx"], d["fwd"]["cpu_ns_per_frame"] or 0)' "$work/strata.json")
    if [ -n "$1" ]; then
        # Busy-polling, like testpmd: the whole core over the sender's time.
        cpu=$(python3 -c 'import sys; print(float(sys.argv[1])*1e9/max(int(sys.argv[2]),1))' "$took" "$got")
    fi
    row "$got" $((a1 - a0)) "$sent" "$took" "$cpu" >>"$work/$2.txt"
}

subjects="strata strata-busy testpmd ceiling"
for s in $subjects; do : >"$work/$s.txt"; done
for round in $(seq "$rounds"); do
    strata_round "" strata
    strata_round --busy-poll strata-busy

    # testpmd rxonly on net_af_xdp: its forwarding lcore on CPU 0.
    ip netns exec "$rx" dpdk-testpmd -l 0,1 --main-lcore 1 $(eal xrx$$) \
        --vdev=net_af_xdp0,iface=xrx0,busy_budget=0 -- \
        --forward-mode=rxonly --burst=32 --nb-cores=1 --auto-start --stats-period 1 --total-num-mbufs=16384 \
        </dev/null >"$work/testpmd.log" 2>&1 &
    tpid=$!
    testpmd_ready "$work/testpmd.log"
    sleep 0.5
    a0=$(arrived); read -r sent took < <(blast); sleep 0.5; a1=$(arrived)
    kill -INT "$tpid"; wait "$tpid" || true
    got=$(grep -E "RX-packets:" "$work/testpmd.log" | tail -1 | sed -E 's/.*RX-packets: *([0-9]+).*/\1/')
    [ -n "$got" ] || { echo "afxdp-rx: testpmd reported nothing:" >&2; tail -20 "$work/testpmd.log" >&2; exit 1; }
    # A busy-polling core: all of its time over the frames it took.
    cpu=$(python3 -c 'import sys; print(float(sys.argv[1])*1e9/max(int(sys.argv[2]),1))' "$took" "$got")
    row "$got" $((a1 - a0)) "$sent" "$took" "$cpu" >>"$work/testpmd.txt"

    # The ceiling: drop and count in XDP.
    ip netns exec "$rx" "$xdp_drop" --iface xrx0 --mode native --seconds $((secs + 60)) >"$work/drop.json" &
    dpid=$!
    sleep 1
    a0=$(arrived); read -r sent took < <(blast); sleep 0.5; a1=$(arrived)
    kill -INT "$dpid"; wait "$dpid"
    got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dropped"])' "$work/drop.json")
    row "$got" $((a1 - a0)) "$sent" "$took" 0 >>"$work/ceiling.txt"
    for s in $subjects; do echo "round $round: $s $(tail -1 "$work/$s.txt")  (Mpps, % of arrived, CPU ns/frame, offered Mpps)" >&2; done
done

echo "AF_XDP receive-and-drop, 64-byte frames, veth, native XDP, copy mode (veth has no zero-copy);"
echo "sender: strata gen --live-frames on CPU 1 (the receive-side XDP and copy run there too), receiver's thread on CPU 0;"
echo "$rounds round(s) of ${secs} s; median [min-max]"
for s in $subjects; do
    f="$work/$s.txt"
    printf "%-11s %7s Mpps %-15s received %7s%% of arrived   receiver CPU %7s ns/frame %-17s offered %6s Mpps\n" "$s" \
        "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f1 "$f" | minmax)" \
        "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" "$(cut -d' ' -f3 "$f" | minmax)" \
        "$(cut -d' ' -f4 "$f" | median)"
done

# Part 2: the paced sender, rate by rate; a subject's loss-free rate is the
# highest rung where it received at least 99.9% of what arrived.
paced() { # rate in Mpps
    local how=(--backend afxdp --xdp-mode native --linger 0.2)
    if python3 -c 'import sys; sys.exit(float(sys.argv[1]) <= 1.0)' "$1"; then how=(--live-frames); fi
    ip netns exec "$tx" taskset -c 1 "$strata" gen "${how[@]}" --iface xtx0 --ip 10.90.0.1/24 \
        --dst 10.90.0.2:9 --dst-mac "$rx_mac" --size 18 --rate "$1"M --duration "$secs" --json \
        2>/dev/null | python3 -c 'import json,sys; g=json.load(sys.stdin)["gen"]; print(g["sent"], g["seconds"])'
}
: >"$work/ladder.txt"
for rate in ${ladder//,/ }; do
    line="$rate"
    for s in strata strata-busy testpmd ceiling; do : >"$work/rung-$s.txt"; done
    for run in $(seq "$ladder_runs"); do
    for s in strata strata-busy testpmd ceiling; do
        case $s in
            strata|strata-busy)
                flags=""; [ "$s" = strata-busy ] && flags=--busy-poll
                ip netns exec "$rx" taskset -c 0 "$strata" fwd --iface xrx0 --backend afxdp --xdp-mode native \
                    --mode rxonly $flags --duration $((secs + 60)) --json </dev/null >"$work/strata.json" 2>"$work/strata.err" &
                pid=$!; sleep 1.5 ;;
            testpmd)
                ip netns exec "$rx" dpdk-testpmd -l 0,1 --main-lcore 1 $(eal xrx$$) \
                    --vdev=net_af_xdp0,iface=xrx0,busy_budget=0 -- \
                    --forward-mode=rxonly --burst=32 --nb-cores=1 --auto-start --stats-period 1 --total-num-mbufs=16384 \
                    </dev/null >"$work/testpmd.log" 2>&1 &
                pid=$!; testpmd_ready "$work/testpmd.log"; sleep 0.5 ;;
            ceiling)
                ip netns exec "$rx" "$xdp_drop" --iface xrx0 --mode native --seconds $((secs + 60)) >"$work/drop.json" &
                pid=$!; sleep 1 ;;
        esac
        a0=$(arrived); read -r sent took < <(paced "$rate"); sleep 0.5; a1=$(arrived)
        kill -INT "$pid"; wait "$pid" || true
        case $s in
            strata|strata-busy) got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fwd"]["ports"][0]["rx"])' "$work/strata.json") ;;
            testpmd) got=$(grep -E "RX-packets:" "$work/testpmd.log" | tail -1 | sed -E 's/.*RX-packets: *([0-9]+).*/\1/') ;;
            ceiling) got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dropped"])' "$work/drop.json") ;;
        esac
        # Per run: % of the arrived frames received, and the rate offered
        # (Mpps, frames sent over the sender's time).
        python3 -c 'import sys; g,a,s,t=map(float,sys.argv[1:]); print("%.3f %.3f" % (min(g,a)/max(a,1)*100, s/t/1e6))' "$got" $((a1 - a0)) "$sent" "$took" >>"$work/rung-$s.txt"
    done
    done
    for s in strata strata-busy testpmd ceiling; do
        # Each cell: the medians over the rung's runs.
        line="$line $(cut -d' ' -f1 "$work/rung-$s.txt" | median)/$(cut -d' ' -f2 "$work/rung-$s.txt" | median)"
        echo "paced $rate Mpps, $s, per run (received % of arrived, offered Mpps): $(tr '\n' ' ' <"$work/rung-$s.txt")" >&2
    done
    echo "$line" >>"$work/ladder.txt"
    echo "paced $rate Mpps: received % of arrived / offered Mpps (strata strata-busy testpmd ceiling): ${line#* }" >&2
done
echo
echo "Loss-free rate (a sender at a set rate on CPU 1, ${secs} s per rate: strata gen --backend afxdp up to 1 Mpps, --live-frames above):"
echo "% of arrived frames received / Mpps offered, medians of $ladder_runs run(s) per rate and subject"
printf "%-10s %18s %18s %18s %18s\n" "asked" strata strata-busy testpmd ceiling
while read -r rate a b c d; do
    printf "%-10s %18s %18s %18s %18s\n" "$rate Mpps" "$a" "$b" "$c" "$d"
done <"$work/ladder.txt"
for col in 2 3 4 5; do
    # A rung counts if under 0.1% was lost and at least 97% of it offered.
    best=$(awk -v c=$col '{split($c, v, "/"); if (v[1] >= 99.9 && v[2] >= 0.97 * $1) r=$1} END {print (r == "" ? "none" : r " Mpps")}' "$work/ladder.txt")
    name=$(echo "strata strata-busy testpmd ceiling" | cut -d' ' -f$((col - 1)))
    echo "  highest rung received with under 0.1% loss, $name: $best"
done
