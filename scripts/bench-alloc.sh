#!/usr/bin/env bash
# Builds the allocator benchmark harness once per global allocator and runs
# the workloads interleaved, then renders bench-results/allocators.md.
#
# usage: scripts/bench-alloc.sh [RUNS]        (default 5 process runs)
# env:   ALLOCS="sys mimalloc jemalloc obmalloc"  which binaries to compare
#        SCALE=1      multiplier on the operation counts (0.05 for a smoke run)
#        OUT=bench-results/allocators.md   RAW=<jsonl file of all results>
#
# Fairness: one binary per allocator,
# each built with fat LTO and one codegen unit; every (run, workload) pair
# starts a fresh process per allocator, in an order rotated from one run to
# the next; the renderer takes the median of the per-process medians.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${1:-5}
if ! [[ $RUNS =~ ^[1-9][0-9]*$ ]]; then
    echo "bench-alloc: RUNS must be a positive integer, got '$RUNS'" >&2
    exit 2
fi
read -r -a ALLOCS <<<"${ALLOCS:-sys mimalloc jemalloc obmalloc}"
SCALE=${SCALE:-1}
OUT=${OUT:-bench-results/allocators.md}
RAW=${RAW:-target/bench-alloc/results.jsonl}
for a in "${ALLOCS[@]}"; do
    case $a in sys | mimalloc | jemalloc | obmalloc) ;;
    *)
        echo "bench-alloc: unknown allocator '$a' (valid: sys mimalloc jemalloc obmalloc)" >&2
        exit 2
        ;;
    esac
done

# Release with fat LTO and one codegen unit, without touching the root
# Cargo.toml's profiles.
export CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
for a in "${ALLOCS[@]}"; do
    echo "== build $a" >&2
    CARGO_TARGET_DIR=target/bench-alloc/$a cargo build --quiet --release -p bench \
        --features "$a" --bin alloc_bench
done
bin() { echo "target/bench-alloc/$1/release/alloc_bench"; }

mapfile -t WORKLOADS < <("$(bin "${ALLOCS[0]}")" --list)
mkdir -p "$(dirname "$RAW")" "$(dirname "$OUT")"
: >"$RAW"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
n=${#ALLOCS[@]}
for ((run = 0; run < RUNS; run++)); do
    for ((w = 0; w < ${#WORKLOADS[@]}; w++)); do
        for ((i = 0; i < n; i++)); do
            a=${ALLOCS[$(((i + run + w) % n))]}
            echo "== run $((run + 1))/$RUNS ${WORKLOADS[$w]} $a" >&2
            "$(bin "$a")" --only "${WORKLOADS[$w]}" --scale "$SCALE" >>"$RAW"
        done
    done
done
elapsed=$(($(date +%s) - start))
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

python3 scripts/render-alloc-bench.py "$RAW" "$OUT" \
    --command "scripts/bench-alloc.sh $RUNS  (ALLOCS=\"${ALLOCS[*]}\" SCALE=$SCALE)" \
    --runs "$RUNS" --elapsed "$elapsed" --load "$load_before -> $load_after" \
    --obmalloc-commit "$(git log -1 --format='%h %s' -- crates/obmalloc)"
echo "== wrote $OUT (raw results: $RAW)" >&2
