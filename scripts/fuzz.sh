#!/usr/bin/env bash
# Fuzzes the heap with random operations against the reachability model
# (fuzz/fuzz_targets/heap_ops.rs), under AddressSanitizer, with the pools on
# and with the pools bypassed (PYGC_MALLOC=malloc).
#
# usage: scripts/fuzz.sh [SECONDS per mode]   (default 60)
#
# First every committed seed in fuzz/seeds/heap_ops runs once (the
# regression corpus: inputs that found bugs stay there), then the fuzzer
# explores from a scratch copy of it. An input that fails is copied into
# fuzz/seeds/heap_ops (commit it) and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_MODE=${1:-60}
if ! [[ $SECONDS_PER_MODE =~ ^[0-9]+$ ]]; then
    echo "fuzz.sh: SECONDS must be a whole number, got '$SECONDS_PER_MODE'" >&2
    exit 2
fi
if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz.sh: the nightly toolchain is missing: cargo fuzz needs it; NOT FUZZED" >&2
    exit 3
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --quiet

seeds=fuzz/seeds/heap_ops
work=target/fuzz-corpus/heap_ops
mkdir -p "$work"
cp -n "$seeds"/* "$work"/ 2>/dev/null || true
status=0
for mode in pymalloc malloc; do
    echo "== fuzz heap_ops, PYGC_MALLOC=$mode, ${SECONDS_PER_MODE}s"
    rm -rf fuzz/artifacts
    # The regression seeds, each once.
    if ! PYGC_MALLOC=$mode cargo +nightly fuzz run --fuzz-dir fuzz heap_ops "$seeds" -- -runs=0; then
        status=1
    elif [ "$SECONDS_PER_MODE" -gt 0 ] && ! PYGC_MALLOC=$mode cargo +nightly fuzz run --fuzz-dir fuzz heap_ops "$work" -- \
            -max_total_time="$SECONDS_PER_MODE" -max_len=512 -print_final_stats=1; then
        status=1
    fi
    if [ -d fuzz/artifacts/heap_ops ]; then
        for f in fuzz/artifacts/heap_ops/*; do
            [ -e "$f" ] || continue
            cp "$f" "$seeds/regression-$(basename "$f")"
            echo "fuzz.sh: failing input kept as $seeds/regression-$(basename "$f"): commit it"
        done
    fi
done
exit $status
