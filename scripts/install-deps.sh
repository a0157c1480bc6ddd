#!/usr/bin/env bash
# Installs the Debian packages Strata's tests and peer comparisons need.
# Safe to run again: it installs only what is missing. Needs root (or sudo)
# to install; without it, it says what is missing and carries on.
set -euo pipefail

PACKAGES=(
  # peers for the ring and pool comparison (strata bench, strata-perf rings)
  dpdk dpdk-dev libdpdk-dev pkg-config gcc
  tshark # judges the frames our emit paths produce (l3l4/tests/tshark.rs)
  # the kernel as a peer in network namespaces (tools/tests/kernel_peer.rs)
  iproute2 iputils-ping socat python3 ethtool
  # trafgen, a peer of the generator comparison (perf/gen-tx.sh)
  netsniff-ng
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all Debian packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "install-deps: not root; missing packages (peer comparisons will skip them): ${missing[*]}"
    exit 0
  fi
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
