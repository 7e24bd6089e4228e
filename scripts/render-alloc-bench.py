#!/usr/bin/env python3
"""Render the JSON lines of alloc_bench runs into the markdown table of
bench-results/allocators.md.

Each input line is one process's summary of one quantity (median/min/max of
its in-process repetitions). Per row and allocator the table shows the median
of the per-process medians and, in brackets, their min-max across processes.
The goal column is the issue's goal for the row, evaluated against the peers
measured in the same run.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys

ALLOCS = [("sys", "glibc"), ("mimalloc", "mimalloc v3"), ("jemalloc", "jemalloc"), ("obmalloc", "obmalloc")]

# (workload, metric, label, lower_is_better, goal) where goal is
# ("peer", name) = as good as that peer, ("best",) = best of the three peers,
# ("max", value) = at most value, ("base", value) = at most baseline + value.
SECTIONS = [
    ("Single thread: thread CPU ns per alloc+free", [
        ("pair", "ns_op", "pair {size} B", True, ("peer", "jemalloc")),
        ("batch1k", "ns_op", "batch1k {size} B", True, ("peer", "mimalloc")),
        ("shuffled", "ns_op", "shuffled free, 1M x {size} B", True, ("peer", "mimalloc")),
        ("shuffled", "free_ns_op", "  free phase only, {size} B", True, ("peer", "mimalloc")),
        ("churn", "ns_op", "churn, Python-like sizes, 1M live (ns/step)", True, ("peer", "jemalloc")),
    ]),
    ("Memory (MiB)", [
        ("churn", "rss", "churn RSS after 10M steps", True, ("peer", "mimalloc")),
        ("churn", "live_payload", "  churn live payload (same for all)", True, None),
        ("lifecycle", "rss_baseline", "life cycle: baseline (pointer tables mapped)", True, None),
        ("lifecycle", "rss_all_live", "  2M x 64 B all live (122 MiB payload)", True, ("best",)),
        ("lifecycle", "rss_freed_75pct", "  75% freed at random", True, ("best",)),
        ("lifecycle", "rss_refilled_48b", "  +1.5M x 48 B", True, ("best",)),
        ("lifecycle", "rss_freed_all", "  all freed, immediately", True, ("best",)),
        ("lifecycle", "rss_freed_all_1s", "  all freed, +1 s (no explicit call)", True, ("base", 8.0)),
        ("lifecycle", "retained_1s", "  retained over baseline at +1 s", True, ("max", 8.0)),
        ("lifecycle", "hwm", "  VmHWM (peak)", True, ("best",)),
        ("lifecycle", "lazyfree", "  LazyFree at +1 s", True, None),
        ("lifecycle", "rss_after_trim", "  then after the explicit trim call (*)", True, ("base", 8.0)),
    ]),
    ("Latency of 1000-operation batches in the life cycle (thread CPU us)", [
        ("lifecycle", "batch_p50", "p50", True, ("best",)),
        ("lifecycle", "batch_p999", "p99.9 (G11)", True, ("best",)),
        ("lifecycle", "batch_max", "max", True, ("best",)),
    ]),
    ("Two threads", [
        ("pc", "cpu_ns_obj", "producer->consumer {size} B, CPU ns/object (both threads)", True, ("peer", "mimalloc")),
        ("pc", "wall_ns_obj", "  wall ns/object, {size} B", True, ("peer", "mimalloc")),
        ("scaling", "mops_1t", "batch1k 64 B, 1 thread (Mops/s, wall)", False, ("best",)),
        ("scaling", "mops_2t", "batch1k 64 B, 2 threads (Mops/s, wall)", False, ("best",)),
        ("scaling", "ratio", "  scaling 2 threads / 1 thread (x)", False, ("best",)),
        ("scaling", "cpu_ns_op_1t", "  CPU ns/op, 1 thread", True, ("best",)),
        ("scaling", "cpu_ns_op_2t", "  CPU ns/op per thread, 2 threads", True, ("best",)),
    ]),
]


def load(path):
    data = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                r = json.loads(line)
                key = (r["workload"], r["metric"], int(r["size"]))
                data.setdefault(key, {}).setdefault(r["alloc"], []).append(float(r["median"]))
            except (ValueError, KeyError) as e:
                sys.exit(f"render-alloc-bench: {path}:{n}: bad result line ({e}): {line[:120]}")
    return data


def fmt(x):
    if x != x:
        return "n/a"
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def cell(values):
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med)
    return f"{fmt(med)} [{fmt(min(values))}-{fmt(max(values))}]"


def goal_cell(goal, lower, meds, baseline):
    """Returns (goal text, verdict text) for obmalloc."""
    if goal is None:
        return "", ""
    peers = {a: meds[a] for a in ("sys", "mimalloc", "jemalloc") if a in meds}
    if goal[0] == "peer":
        name = goal[1]
        if name not in peers:
            return f"as {name}", ""
        target, text = peers[name], f"<= {name} ({fmt(peers[name])})" if lower else f">= {name} ({fmt(peers[name])})"
    elif goal[0] == "best":
        if not peers:
            return "best of three", ""
        best = min(peers, key=peers.get) if lower else max(peers, key=peers.get)
        target = peers[best]
        text = f"best of three: {best} ({fmt(target)})"
    elif goal[0] == "max":
        target, text = goal[1], f"<= {fmt(goal[1])}"
    else:
        if baseline is None:
            return f"baseline + {fmt(goal[1])}", ""
        target = baseline + goal[1]
        text = f"<= baseline + {fmt(goal[1])} ({fmt(target)})"
    if "obmalloc" not in meds:
        return text, ""
    ob = meds["obmalloc"]
    ok = ob <= target if lower else ob >= target
    ratio = f"{ob / target:.2f}x" if target else ""
    return text, f"{'met' if ok else 'not met'} {ratio}".strip()


def machine():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        rustc = "rustc ?"
    libc = " ".join(platform.libc_ver())
    return f"{os.cpu_count()}-vCPU KVM guest, {model}, Linux {platform.release()}, {libc}, {rustc}"


def render(data, args):
    present = [(a, label) for a, label in ALLOCS if any(a in v for v in data.values())]
    out = []
    out.append("## Allocators: glibc vs mimalloc vs jemalloc vs obmalloc\n")
    out.append(f"- Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    out.append(f"- Machine: {machine()} (shared with other builds; load average {args.load})")
    out.append(f"- Command: `{args.command}` ({args.runs} interleaved process runs, {args.elapsed} s)")
    if args.obmalloc_commit:
        out.append(f"- obmalloc measured at: `{args.obmalloc_commit}`")
    out.append("- Cells: median of the per-process medians [min-max across processes]. "
               "Single-thread loops use thread CPU time; every block is tagged on allocation "
               "and the tag checked before free (a corrupted or lost block fails the run). "
               "Crates: mimalloc 0.1.52 (bundled mimalloc v3), tikv-jemallocator 0.7 (jemalloc 5.3.1); "
               "fat LTO, codegen-units=1.")
    out.append("- Goal: the issue's goal for the row (\"best of three\" where it names none), "
               "against the peers of this same run; the last column says whether obmalloc met it "
               "and its ratio to the target.\n")
    baseline = None
    bl = data.get(("lifecycle", "rss_baseline", 0), {}).get("obmalloc")
    if bl:
        baseline = statistics.median(bl)
    for title, rows in SECTIONS:
        out.append(f"### {title}\n")
        out.append("| row | " + " | ".join(label for _, label in present) + " | goal | obmalloc vs goal |")
        out.append("|---|" + "---|" * (len(present) + 2))
        for workload, metric, label, lower, goal in rows:
            sizes = sorted(s for (w, m, s) in data if w == workload and m == metric)
            for size in sizes:
                vals = data[(workload, metric, size)]
                meds = {a: statistics.median(v) for a, v in vals.items()}
                g, verdict = goal_cell(goal, lower, meds, baseline)
                cells = [cell(vals.get(a, [])) for a, _ in present]
                out.append(f"| {label.format(size=size)} | " + " | ".join(cells) + f" | {g} | {verdict} |")
        out.append("")
    out.append("The wall-clock rows of the two-thread section (and so the scaling ratio) need both "
               "cores free; with a load average above 2 they mostly measure the other tenants. "
               "The CPU ns rows (thread CPU time of both threads) are the robust ones: a lock or "
               "false sharing would show as CPU ns/op rising from 1 to 2 threads.\n")
    out.append("(*) glibc `malloc_trim(0)`, mimalloc `mi_collect(true)`, jemalloc "
               "`mallctl(\"arena.4096.purge\")`, obmalloc `obmalloc::collect()`.\n")
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("raw")
    p.add_argument("out")
    p.add_argument("--command", default="scripts/bench-alloc.sh")
    p.add_argument("--runs", default="?")
    p.add_argument("--elapsed", default="?")
    p.add_argument("--load", default="?")
    p.add_argument("--obmalloc-commit", default="")
    args = p.parse_args()
    try:
        data = load(args.raw)
    except OSError as e:
        sys.exit(f"render-alloc-bench: cannot read {args.raw}: {e}")
    if not data:
        sys.exit(f"render-alloc-bench: {args.raw} holds no results")
    with open(args.out, "w") as f:
        f.write(render(data, args))


if __name__ == "__main__":
    main()
