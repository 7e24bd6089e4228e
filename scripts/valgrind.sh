#!/usr/bin/env bash
# Runs test binaries under valgrind memcheck; any error fails. Two modes:
#   pools   obmalloc's pools on (the default allocator): obmalloc detects
#           memcheck and describes its pools to it (a memcheck mempool), so a
#           read of a freed pool block is reported as inside a block "free'd";
#   malloc  the pools bypassed (PYGC_MALLOC=malloc), CPython's way under
#           valgrind: every block is a malloc block that memcheck tracks itself.
#
# usage: scripts/valgrind.sh [CARGO TEST ARGS...]   default: --workspace
#        e.g. scripts/valgrind.sh -p obmalloc
# env:   VALGRIND_MODES="pools malloc"  (or one of them; default both)
# Heavy tests scale themselves down when PYGC_UNDER_VALGRIND is set.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (.ci/run installs it)"; exit 1; }
read -r -a MODES <<<"${VALGRIND_MODES:-pools malloc}"
for m in "${MODES[@]}"; do
  case $m in pools | malloc) ;;
  *) echo "valgrind.sh: unknown mode '$m' (pools, malloc)" >&2; exit 2 ;;
  esac
done
args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--workspace)
export PYGC_UNDER_VALGRIND=1 PROPTEST_CASES=8
# Proc-macro crates' test binaries link the toolchain's libstd dynamically.
export LD_LIBRARY_PATH="$(rustc --print target-libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
start=$(date +%s)
# Build the test binaries once, and list them with their package directory
# (cargo runs each test binary there; paths in some outputs depend on it).
mapfile -t bins < <(cargo test "${args[@]}" --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,os,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])')
[ ${#bins[@]} -gt 0 ] || { echo "valgrind.sh: no test binary was built for: ${args[*]}"; exit 1; }
echo "valgrind: ${#bins[@]} test binaries built in $(($(date +%s) - start)) s"
# One mode's pass over every binary; its summary line goes to "$2".
# valgrind runs a program's threads one at a time, so the two modes run side
# by side, one per core, when the machine has two.
run_mode() { # mode summary-file
  local mode=$1 t0 failed=0 entry dir bin name log run
  t0=$(date +%s)
  for entry in "${bins[@]}"; do
    dir=${entry%%$'\t'*}
    bin=${entry#*$'\t'}
    name=$(basename "$bin")
    # Child-process tests (debug hooks that abort on purpose) re-exec the binary;
    # valgrind follows only the parent, which checks the child's report.
    log="$PWD/target/valgrind-$mode-$name.log"
    if [ "$mode" = pools ]; then run=(env -u PYGC_MALLOC); else run=(env PYGC_MALLOC=malloc); fi
    if ! (cd "$dir" && "${run[@]}" valgrind --quiet --error-exitcode=42 --leak-check=no --track-origins=no \
          "$bin" --test-threads=2 -q) >"$log" 2>&1; then
      echo "valgrind $mode: FAILED $name (see ${log#"$PWD"/})"; tail -30 "$log"; failed=$((failed + 1))
    else
      echo "valgrind $mode: clean $name"
    fi
  done
  if [ $failed -eq 0 ]; then
    echo "valgrind $mode: ${#bins[@]} binaries clean in $(($(date +%s) - t0)) s" >"$2"
  else
    echo "valgrind $mode: $failed of ${#bins[@]} binaries FAILED ($(($(date +%s) - t0)) s)" >"$2"
    return 1
  fi
}
status=0
pids=()
summaries=()
parallel=$([ "$(nproc)" -ge 2 ] && echo 1 || echo 0)
for mode in "${MODES[@]}"; do
  f="$PWD/target/valgrind-$mode.summary"
  summaries+=("$f")
  if [ "$parallel" = 1 ]; then
    run_mode "$mode" "$f" &
    pids+=($!)
  else
    run_mode "$mode" "$f" || status=1
  fi
done
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
summary=()
for f in "${summaries[@]}"; do summary+=("$(cat "$f")"); done
printf '%s\n' "${summary[@]}"
echo "valgrind: total $(($(date +%s) - start)) s"
exit $status
