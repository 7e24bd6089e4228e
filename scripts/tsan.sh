#!/usr/bin/env bash
# Runs pygc-sync's threaded tests (basic, world, stress) under
# ThreadSanitizer, from the nightly toolchain.
#
# usage: scripts/tsan.sh [CARGO TEST ARGS...]   default: -p pygc-sync --tests
# env:   PYGC_STRESS_OPS (operations per stress thread; default 3000)
# exit:  0 passed, 1 a test failed or TSan reported a race (TSan exits 66),
#        3 the nightly toolchain or its TSan runtime is missing.
#
# With nightly's `rust-src` (rustup +nightly component add rust-src) the
# standard library is rebuilt instrumented (-Zbuild-std): use that, it is the
# only trustworthy mode. Without it the standard library is the precompiled,
# uninstrumented one: TSan does not see std's own synchronisation (obmalloc's
# std Mutex around its arenas, libtest's channels) and reports races there. That is why the crate's protocols use parking_lot's
# primitives (compiled with the crate, instrumented) and constant statics.
# A report inside std alone (its Arc's fence-based drop, thread spawn/join)
# could be a false positive of that; a report in pygc-sync's code is not to
# be dismissed. -Cunsafe-allow-abi-mismatch=sanitizer accepts linking the
# instrumented crates against that std.
set -euo pipefail
cd "$(dirname "$0")/.."

TARGET=x86_64-unknown-linux-gnu
if ! rustc +nightly --version >/dev/null 2>&1; then
    echo "*** tsan.sh: the nightly toolchain is missing. Nothing was run." >&2
    exit 3
fi
libdir=$(rustc +nightly --print target-libdir --target "$TARGET")
if ! ls "$libdir"/librustc-nightly_rt.tsan.* >/dev/null 2>&1; then
    echo "*** tsan.sh: nightly has no ThreadSanitizer runtime in $libdir. Nothing was run." >&2
    exit 3
fi
build_std=()
if rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src'; then
    build_std=(-Zbuild-std)
fi

if [ ${#build_std[@]} -gt 0 ]; then
    export RUSTFLAGS="-Zsanitizer=thread"
else
    export RUSTFLAGS="-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer"
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target/tsan}
export TSAN_OPTIONS="halt_on_error=1:${TSAN_OPTIONS:-}"

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-p pygc-sync --tests)

start=$(date +%s)
echo "== tsan: building (${args[*]}) ${build_std[*]:-without build-std}"
cargo +nightly test -j "${CARGO_BUILD_JOBS:-2}" "${build_std[@]}" --target "$TARGET" --no-run "${args[@]}"
echo "== tsan: built in $(($(date +%s) - start)) s"
t0=$(date +%s)
status=0
cargo +nightly test -j "${CARGO_BUILD_JOBS:-2}" "${build_std[@]}" --target "$TARGET" --no-fail-fast "${args[@]}" || status=1
echo "tsan: tests $( [ $status = 0 ] && echo passed || echo FAILED ) in $(($(date +%s) - t0)) s; total $(($(date +%s) - start)) s"
exit $status
