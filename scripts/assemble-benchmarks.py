#!/usr/bin/env python3
"""Builds BENCHMARKS.md: the summary in bench-results/summary.md, then each
area's table as its benchmark command wrote it (bench-results/<area>.md)."""
from pathlib import Path

root = Path(__file__).resolve().parent.parent
results = root / "bench-results"
order = ["core-rework", "allocators", "gc", "heap-features", "sync", "tracemalloc", "objgraph", "mprof", "python"]
parts = [(results / "summary.md").read_text().rstrip() + "\n"]
for name in order:
    text = (results / f"{name}.md").read_text().strip()
    # Each area's file starts with a level-1 or level-2 title; nest it under ours.
    lines = text.splitlines()
    while lines and not lines[0].startswith("#"):
        lines.pop(0)
    if lines:
        lines[0] = "## " + lines[0].lstrip("#").strip()
    body = "\n".join(l if not l.startswith("## ") or i == 0 else "#" + l for i, l in enumerate(lines))
    parts.append(f"\n<!-- from bench-results/{name}.md -->\n{body}\n")
(root / "BENCHMARKS.md").write_text("\n".join(parts))
print("wrote BENCHMARKS.md")
