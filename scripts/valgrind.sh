#!/usr/bin/env bash
# Runs the workspace's test binaries under valgrind memcheck; any error fails.
# Heavy tests scale themselves down when PYGC_UNDER_VALGRIND is set.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is not installed (.ci/run installs it)"; exit 1; }
export PYGC_UNDER_VALGRIND=1 PROPTEST_CASES=8
# Proc-macro crates' test binaries link the toolchain's libstd dynamically.
export LD_LIBRARY_PATH="$(rustc --print target-libdir)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# Build the test binaries once, and list them with their package directory
# (cargo runs each test binary there; paths in some outputs depend on it).
mapfile -t bins < <(cargo test --workspace --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,os,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("profile", {}).get("test") and m.get("executable"):
        print(os.path.dirname(m["manifest_path"]) + "\t" + m["executable"])')
status=0
for entry in "${bins[@]}"; do
  dir=${entry%%$'\t'*}
  bin=${entry#*$'\t'}
  name=$(basename "$bin")
  # Child-process tests (debug hooks that abort on purpose) re-exec the binary;
  # valgrind follows only the parent, which checks the child's report.
  log="$PWD/target/valgrind-$name.log"
  if ! (cd "$dir" && valgrind --quiet --error-exitcode=42 --leak-check=no --track-origins=no \
        "$bin" --test-threads=2 -q) >"$log" 2>&1; then
    echo "valgrind: FAILED $name (see target/valgrind-$name.log)"; tail -30 "target/valgrind-$name.log"; status=1
  else
    echo "valgrind: clean $name"
  fi
done
exit $status
