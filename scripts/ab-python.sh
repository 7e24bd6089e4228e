#!/usr/bin/env bash
# Interleaved A/B timing of pygc-python builds on one benchmark program:
# runs each binary in turn, N rounds, and prints the median and minimum of
# the program's own `RESULT collect_seconds` line for each binary.
#
#   scripts/ab-python.sh 9 crates/python/bench/programs/cyclic_garbage.py OLD_BIN NEW_BIN
set -euo pipefail
if [ $# -lt 3 ]; then
    echo "usage: $0 ROUNDS PROGRAM.py BINARY [BINARY ...]" >&2
    exit 2
fi
rounds=$1 program=$2
shift 2
[ -f "$program" ] || { echo "$0: no such program: $program" >&2; exit 2; }
for b in "$@"; do
    [ -x "$b" ] || { echo "$0: not an executable: $b" >&2; exit 2; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for _ in $(seq "$rounds"); do
    for i in $(seq $#); do
        b=${!i}
        "$b" "$program" | awk '/^RESULT collect_seconds/ {print $3}' >> "$out/$i"
    done
done
for i in $(seq $#); do
    sort -n "$out/$i" | awk -v name="${!i}" '{a[NR] = $1}
        END {printf "%s: median %.2f ms, min %.2f ms (%d runs)\n", name, a[int((NR + 1) / 2)] * 1000, a[1] * 1000, NR}'
done
