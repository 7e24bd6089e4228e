#!/usr/bin/env python3
"""Compares two builds of gc_bench on pygc's rows, interleaved, in one run.

usage: scripts/bench-compare.py BEFORE_BIN AFTER_BIN [--rounds N] [--reps N] [--only a,b]

Each round runs every workload once with each binary (order alternating
between rounds), `gc_bench run pygc WORKLOAD --reps R`, and keeps the median
sample; the table gives the median over rounds and after/before. Timed rows
only (bytes_* rows are deterministic: compared once). Prints a Markdown table.
"""
import argparse, statistics, subprocess, sys

p = argparse.ArgumentParser()
p.add_argument("before"); p.add_argument("after")
p.add_argument("--rounds", type=int, default=5)
p.add_argument("--reps", type=int, default=3)
p.add_argument("--only", default="")
a = p.parse_args()

def workloads(binary):
    out = subprocess.run([binary, "--list"], capture_output=True, text=True, check=True).stdout
    return [l.split()[0] for l in out.splitlines() if l.strip()]

def sample(binary, w):
    r = subprocess.run([binary, "run", "pygc", w, "--reps", str(a.reps)], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{binary} run pygc {w} failed:\n{r.stderr}")
    vals = [float(l.split()[1]) for l in r.stdout.splitlines() if l.startswith("sample ")]
    return statistics.median(vals)

ws = a.only.split(",") if a.only else workloads(a.after)
res = {w: ([], []) for w in ws}
for rnd in range(a.rounds):
    for w in ws:
        if w.startswith("bytes_") and rnd > 0:
            continue
        order = [0, 1] if rnd % 2 == 0 else [1, 0]
        for i in order:
            res[w][i].append(sample([a.before, a.after][i], w))
    print(f"round {rnd + 1}/{a.rounds} done", file=sys.stderr)
print("| row | before | after | after/before |")
print("|---|---:|---:|---:|")
for w in ws:
    b, f = statistics.median(res[w][0]), statistics.median(res[w][1])
    print(f"| {w} | {b:.0f} | {f:.0f} | {f / b:.3f} |")
