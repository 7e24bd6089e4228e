#!/usr/bin/env bash
# Instructions per allocator-suite workload (crates/bench alloc_bench, the
# obmalloc build), counted by callgrind, for another revision and for this
# tree, side by side: a before/after comparison that the machine's load does
# not move. Threads are counted together (callgrind serialises them).
#
# usage: scripts/callgrind-alloc-rows.sh BASE_REV     env: SCALE=0.02
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
BASE=${1:?usage: scripts/callgrind-alloc-rows.sh BASE_REV}
SCALE=${SCALE:-0.02}
out=target/callgrind-alloc-rows
mkdir -p "$out"
if [ ! -d "$out/base-src" ]; then
    git worktree add --detach "$out/base-src" "$BASE" >/dev/null
fi
git -C "$out/base-src" checkout --quiet --detach "$BASE"
export CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
build() { # source-dir target-dir
    (cd "$1" && cargo build --quiet --release -p bench --features obmalloc --bin alloc_bench --target-dir "$2")
}
build "$out/base-src" "$PWD/$out/base-target"
build . "$PWD/$out/head-target"
base="$out/base-target/release/alloc_bench"
head="$out/head-target/release/alloc_bench"
irs() { # binary workload -> total instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" --only "$2" --scale "$SCALE" --reps 1 2>&1 >/dev/null \
        | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
echo "| workload (scale $SCALE) | $BASE (Ir) | HEAD $(git rev-parse --short HEAD) (Ir) | ratio |"
echo "|---|---:|---:|---:|"
while read -r w; do
    a=$(irs "$base" "$w")
    b=$(irs "$head" "$w")
    python3 -c "print(f'| $w | {$a:,} | {$b:,} | {$b / $a:.3f} |')"
done < <("$head" --list)
