#!/usr/bin/env bash
# Instructions per alloc+free pair of obmalloc's fast paths, counted by
# callgrind on crates/obmalloc/examples/alloc_free_loop.rs, for this tree and
# for another revision of crates/obmalloc (default: main), built the same way.
# Each is run with R and 2R rounds; the difference divided by the R*64 extra
# pairs cancels start-up and exit.
#
# usage: scripts/callgrind-alloc.sh [BASE_REV]      env: ROUNDS=20000
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed"; exit 1; }
BASE=${1:-main}
R=${ROUNDS:-20000}
out=target/callgrind-alloc
rm -rf "$out/base" && mkdir -p "$out/base"

# The other revision's obmalloc, alone in a small workspace, with this tree's example.
git archive "$BASE" crates/obmalloc | tar -x -C "$out/base"
mkdir -p "$out/base/crates/obmalloc/examples"
cp crates/obmalloc/examples/alloc_free_loop.rs "$out/base/crates/obmalloc/examples/"
# Its workspace manifest: the base's own [workspace.package] and lint tables,
# with only the two dependencies obmalloc takes from the workspace.
git show "$BASE:Cargo.toml" | python3 -c '
import sys
keep, out = False, ["[workspace]", "resolver = \"2\"", "members = [\"crates/obmalloc\"]"]
for line in sys.stdin.read().splitlines():
    if line.startswith("["):
        keep = line.startswith("[workspace.package]") or line.startswith("[workspace.lints")
    if keep:
        out.append(line)
out += ["[workspace.dependencies]", "libc = \"0.2\"", "proptest = \"1\""]
print("\n".join(out))' >"$out/base/Cargo.toml"

build() { # manifest target-dir
    cargo build --quiet --release -p obmalloc --example alloc_free_loop --manifest-path "$1" --target-dir "$2"
}
build Cargo.toml "$out/head-target"
build "$out/base/Cargo.toml" "$out/base-target"

irs() { # binary rounds -> total instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$1" "$2" 2>&1 \
        | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}
for which in base head; do
    bin="$out/$which-target/release/examples/alloc_free_loop"
    a=$(irs "$bin" "$R")
    b=$(irs "$bin" $((2 * R)))
    per=$(python3 -c "print(f'{($b - $a) / ($R * 64):.2f}')")
    label=$([ $which = base ] && echo "$BASE" || echo "HEAD ($(git rev-parse --short HEAD)$(git diff --quiet -- crates/obmalloc || echo '+changes'))")
    echo "$label: $per instructions per alloc+free pair ($a Ir at $R rounds, $b at $((2 * R)))"
done
