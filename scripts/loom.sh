#!/usr/bin/env bash
# Runs the loom models of pygc-sync's count protocol and stop-the-world
# handshake (crates/pygc-sync/tests/loom.rs) against the crate's own code,
# built with `--cfg loom` (src/sync.rs then uses loom's primitives).
#
# usage: scripts/loom.sh [TEST NAME FILTER...]
# env:   LOOM_MAX_PREEMPTIONS (default 3: every interleaving with at most three
#        preemptions; raise it for a deeper, much slower search)
#        CARGO_BUILD_JOBS (default 2)
# The build goes to target/loom so the ordinary build's cache is kept.
set -euo pipefail
cd "$(dirname "$0")/.."

export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS:-3}"
export RUSTFLAGS="${RUSTFLAGS:-} --cfg loom"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/loom}"
exec cargo test -j "${CARGO_BUILD_JOBS:-2}" --release -p pygc-sync --no-default-features --test loom -- --test-threads=1 "$@"
