#!/usr/bin/env bash
# Runs a cargo test selection under AddressSanitizer, in two modes:
#   pools   obmalloc's pools on (the default allocator): obmalloc poisons every
#           free pool block, so a read of a freed pygc object is reported
#           (use-after-poison) although its memory stays in the pool;
#   malloc  the pools bypassed (PYGC_MALLOC=malloc): every block is a malloc
#           block of ASan's own heap, with its redzones and its quarantine
#           (heap-use-after-free, heap-buffer-overflow).
#
# usage: scripts/asan.sh [CARGO TEST ARGS...]     default: --workspace
#        e.g. scripts/asan.sh -p obmalloc
# env:   ASAN_MODES="pools malloc"  (or one of them)
# exit:  0 every mode passed, 1 a mode failed, 3 the nightly toolchain (which
#        -Zsanitizer needs) or its ASan runtime is missing: nothing was run.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
read -r -a MODES <<<"${ASAN_MODES:-pools malloc}"
for m in "${MODES[@]}"; do
    case $m in pools | malloc) ;;
    *) echo "asan.sh: unknown mode '$m' (pools, malloc)" >&2; exit 2 ;;
    esac
done

if ! rustc +nightly --version >/dev/null 2>&1; then
    echo "*** asan.sh: the nightly toolchain is missing; AddressSanitizer needs it" >&2
    echo "*** (rustup toolchain install nightly). Nothing was run under ASan." >&2
    exit 3
fi
libdir=$(rustc +nightly --print target-libdir --target "$TARGET")
if ! ls "$libdir"/librustc-nightly_rt.asan.* >/dev/null 2>&1; then
    echo "*** asan.sh: nightly has no AddressSanitizer runtime in $libdir. Nothing was run." >&2
    exit 3
fi

# --target keeps the sanitizer off build scripts and proc macros (host code);
# RUSTDOCFLAGS instruments the doctests too. A target directory of its own
# keeps the normal build's artifacts.
export RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/asan}
# detect_leaks=0: LeakSanitizer is not what this run checks (valgrind.sh does
# not check leaks either), and with the pools on it cannot be right: it scans
# malloc blocks, globals, stacks and TLS for pointers, but not obmalloc's
# mmap'd arenas, so every malloc block referenced only from a pool block would
# be reported as leaked. (The allocator also keeps its heaps and arena table
# for the life of the process, by design.)
export ASAN_OPTIONS="detect_leaks=0:${ASAN_OPTIONS:-}"
# Heavy tests scale themselves down under a checker, as under valgrind.
export PYGC_UNDER_VALGRIND=1

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(--workspace)

echo "== asan: building (${args[*]})"
start=$(date +%s)
cargo +nightly test --target "$TARGET" --no-run "${args[@]}"
echo "== asan: built in $(($(date +%s) - start)) s"

status=0
summary=()
for m in "${MODES[@]}"; do
    t0=$(date +%s)
    if [ "$m" = pools ]; then
        run=(env -u PYGC_MALLOC)
    else
        run=(env PYGC_MALLOC=malloc)
    fi
    echo "== asan: mode $m"
    if "${run[@]}" cargo +nightly test --target "$TARGET" --no-fail-fast "${args[@]}"; then
        summary+=("asan $m: passed in $(($(date +%s) - t0)) s")
    else
        summary+=("asan $m: FAILED after $(($(date +%s) - t0)) s")
        status=1
    fi
done
printf '%s\n' "${summary[@]}"
echo "asan: total $(($(date +%s) - start)) s"
exit $status
