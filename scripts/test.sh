#!/usr/bin/env bash
# The one test command: installs what the tests need, then runs everything.
# `.ci/run` calls exactly this. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

step() { echo; echo "=== $* ==="; }

step "dependencies"
./scripts/install-deps.sh

step "licences of every dependency"
python3 scripts/check-licences.py

step "format"
cargo fmt --all -- --check

step "clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "unit, property, integration and doc tests"
cargo test --workspace

step "loom models of the lock-free rings"
RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom \
  cargo test --release -p strata-queues --test loom

step "miri (the Miri-friendly subset)"
if cargo miri --version >/dev/null 2>&1; then
  # pools maps its region with mmap, which Miri cannot run; the rings are plain memory.
  cargo miri test -p strata-queues --lib
else
  echo "skipped: Miri needs a nightly toolchain, and this machine has only stable"
fi

step "benches compile"
cargo bench --workspace --no-run --quiet

echo
echo "all tests passed"
