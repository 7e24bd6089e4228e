"""CPython's tracemalloc on the workload of workload.rs, for bench-results/tracemalloc.md.

python3 crates/tracemalloc/benches/tracemalloc_overhead.py
  runs the workload in child interpreters without tracing and under -X tracemalloc=1 and
  -X tracemalloc=10, and prints the median time per run and the ratio to no tracing.
"""
import statistics
import subprocess
import sys
import time

RUNS = 30


def workload():
    strings = [str(i) * 3 for i in range(10_000)]
    buffers = [bytearray(64) for _ in range(10_000)]
    total = sum(map(len, strings)) + len(buffers)
    del strings, buffers
    return total


def child():
    expected = 3 * (10 + 2 * 90 + 3 * 900 + 4 * 9000) + 10_000
    assert workload() == expected
    times = []
    for _ in range(RUNS):
        t = time.perf_counter()
        workload()
        times.append(time.perf_counter() - t)
    print(statistics.median(times))


def main():
    if sys.argv[1:] == ["--child"]:
        child()
        return
    results = {}
    for label, flags in [("off", []), ("1 frame", ["-X", "tracemalloc=1"]),
                         ("10 frames", ["-X", "tracemalloc=10"])]:
        out = subprocess.run([sys.executable, *flags, __file__, "--child"],
                             check=True, capture_output=True, text=True).stdout
        results[label] = float(out)
    base = results["off"]
    print("| CPython %s tracemalloc | median per run | ratio |" % sys.version.split()[0])
    print("|---|---|---|")
    for label, t in results.items():
        print("| %s | %.2f ms | %.2fx |" % (label, t * 1e3, t / base))


main()
