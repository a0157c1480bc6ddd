#!/usr/bin/env bash
# Generators at full speed (issue 5, "Performance", generator): 64-byte UDP
# frames into a veth pair, counted at the far end by an XDP program that
# drops and counts (loaded by Strata's own loader), every sender in one
# run, round after round:
#
#   strata-live      strata gen --live-frames (the kernel sends one frame
#                    through XDP live frames, BPF_PROG_RUN; no socket)
#   strata-afxdp     strata gen --backend afxdp --max-rate (native XDP,
#                    copy mode: veth has no zero-copy)
#   strata-afpacket  strata gen --backend afpacket --max-rate
#   trafgen          netsniff-ng's trafgen (--no-sock-mem --notouch-irq, so
#                    it leaves global settings alone)
#   testpmd-afxdp    dpdk-testpmd txonly on net_af_xdp
#   testpmd-afpacket dpdk-testpmd txonly on net_af_packet (qdisc_bypass)
#
#   sudo perf/gen-tx.sh [ROUNDS] [SECONDS]        (defaults: 3 rounds of 4 s)
#
# Every sender runs on CPU 0 (trafgen pins its one process there itself;
# Strata by taskset; testpmd: its forwarding lcore on CPU 0, its main lcore
# on CPU 1). On veth the receiving end's XDP program runs in
# the NAPI poll the sender's transmit schedules, on the sending core, for
# every sender alike. (testpmd needs `--stats-period`: without it, with no
# terminal, it stops after its first burst.) Reported: frames per second reaching the far end
# (the sink's count over SECONDS, after a second of ramp-up).
set -euo pipefail

rounds=${1:-3}
secs=${2:-4}
root=$(cd "$(dirname "$0")/.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
. "$root/perf/lib.sh"
needs gen-tx dpdk-testpmd trafgen ethtool

build --drop

tx=strata-perf-gtx-$$
rx=strata-perf-grx-$$
netns "$tx" "$rx"
ip link add gtx0 netns "$tx" type veth peer name grx0 netns "$rx"
ip -n "$tx" link set gtx0 up
ip -n "$rx" link set grx0 up
ip netns exec "$rx" ethtool -K grx0 gro on >/dev/null
rx_mac=$(ip -n "$rx" -br link show grx0 | awk '{print $3}')
tx_mac=$(ip -n "$tx" -br link show gtx0 | awk '{print $3}')

# trafgen's packet: the same 60-byte Ethernet/IPv4/UDP frame Strata sends
# (18-byte payload), checksums computed by trafgen.
python3 - "$rx_mac" "$tx_mac" >"$work/trafgen.cfg" <<'PY'
import sys
dst = ", ".join("0x" + b for b in sys.argv[1].split(":"))
src = ", ".join("0x" + b for b in sys.argv[2].split(":"))
print("{ %s, %s, 0x08, 0x00," % (dst, src))
print("  0x45, 0x00, const16(46), const16(0), const16(0x4000), 0x40, 0x11, csumip(14, 33),")
print("  10, 92, 0, 1, 10, 92, 0, 2,")
print("  const16(10000), const16(9), const16(26), csumudp(14, 34),")
print("  fill(0x00, 18) }")
PY

ip netns exec "$rx" "$xdp_drop" --iface grx0 --mode native --seconds 100000 >/dev/null &
sink=$!
sleep 1
sunk() { ip netns exec "$rx" ethtool -S grx0 | awk '/rx_queue_0_xdp_drops/ {print $2}'; }

start_sender() { # subject; starts it in the background, sets $pid
    case $1 in
        strata-live)
            ip netns exec "$tx" taskset -c 0 "$strata" gen --live-frames --iface gtx0 --ip 10.92.0.1/24 \
                --dst 10.92.0.2:9 --dst-mac "$rx_mac" --size 18 --max-rate --duration 600 >/dev/null 2>&1 & ;;
        strata-afxdp|strata-afpacket)
            ip netns exec "$tx" taskset -c 0 "$strata" gen --backend "${1#strata-}" --iface gtx0 --ip 10.92.0.1/24 \
                --dst 10.92.0.2:9 --dst-mac "$rx_mac" --size 18 --max-rate --duration 600 >/dev/null 2>&1 & ;;
        trafgen)
            # Its own session: on SIGINT trafgen signals its whole process group.
            setsid ip netns exec "$tx" trafgen -i "$work/trafgen.cfg" -o gtx0 -P 1 --no-sock-mem \
                --notouch-irq >/dev/null 2>&1 & ;;
        testpmd-afxdp)
            ip netns exec "$tx" dpdk-testpmd -l 0,1 --main-lcore 1 $(eal g$$) --vdev=net_af_xdp0,iface=gtx0 -- \
                --forward-mode=txonly --txpkts=60 --burst=32 --nb-cores=1 --auto-start --eth-peer=0,"$rx_mac" \
                --tx-ip=10.92.0.1,10.92.0.2 --total-num-mbufs=16384 --stats-period 1 </dev/null >/dev/null 2>&1 & ;;
        testpmd-afpacket)
            ip netns exec "$tx" dpdk-testpmd -l 0,1 --main-lcore 1 $(eal g$$) \
                --vdev=net_af_packet0,iface=gtx0,qdisc_bypass=1 -- \
                --forward-mode=txonly --txpkts=60 --burst=32 --nb-cores=1 --auto-start --eth-peer=0,"$rx_mac" \
                --tx-ip=10.92.0.1,10.92.0.2 --total-num-mbufs=16384 --stats-period 1 </dev/null >/dev/null 2>&1 & ;;
    esac
    pid=$!
}


subjects="strata-live strata-afxdp strata-afpacket trafgen testpmd-afxdp testpmd-afpacket"
for s in $subjects; do : >"$work/$s.txt"; done
for round in $(seq "$rounds"); do
    for s in $subjects; do
        start_sender "$s"
        # Strata's stack-based generators wait up to 3 s for an echo first.
        case $s in strata-afxdp|strata-afpacket) sleep 4 ;; testpmd-*) sleep 4 ;; *) sleep 1.5 ;; esac
        c0=$(sunk); sleep "$secs"; c1=$(sunk)
        # trafgen leads its own process group (setsid): signal all of it.
        if [ "$s" = trafgen ]; then kill -INT -- "-$pid" 2>/dev/null || true; fi
        kill -INT "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
        python3 -c 'import sys; print((int(sys.argv[2])-int(sys.argv[1]))/float(sys.argv[3])/1e6)' "$c0" "$c1" "$secs" >>"$work/$s.txt"
        echo "round $round: $s $(tail -1 "$work/$s.txt") Mpps" >&2
        sleep 0.5
    done
done
kill -INT "$sink"; wait "$sink" || true

echo "Generators at full speed, 64-byte UDP frames into veth, counted by an XDP drop program at the far end;"
echo "every sender on CPU 0 (the far end's XDP runs there too); $rounds round(s) of ${secs} s; median [min-max]"
for s in $subjects; do
    printf "%-17s %7s Mpps %s\n" "$s" "$(median <"$work/$s.txt")" "$(minmax <"$work/$s.txt")"
done
