"""Oracle for tests/python_formats.rs: CPython's tracemalloc on the same traces.

Usage: python3 tests/python_oracle.py INPUT.json > tests/fixtures/python_oracle.txt

INPUT.json (written by the Rust test) holds snapshots as lists of raw traces
(domain, size, frames most recent first, total_nframe), byte sizes to format, and filters.
The script builds real tracemalloc.Snapshot objects from them and prints str()/repr() of
every statistic, diff, trace and filter result, which the Rust side must reproduce exactly.
"""
import json
import sys
import tracemalloc
from tracemalloc import DomainFilter, Filter, Snapshot


def snapshot(spec):
    traces = [(d, s, tuple((f, l) for f, l in frames), n) for d, s, frames, n in spec["traces"]]
    return Snapshot(traces, spec["limit"])


def main():
    data = json.load(open(sys.argv[1]))
    out = []
    out.append("## sizes")
    for s in data["sizes"]:
        out.append("%s | %s" % (tracemalloc._format_size(s, False), tracemalloc._format_size(s, True)))
    snaps = [snapshot(s) for s in data["snapshots"]]
    for i, snap in enumerate(snaps):
        out.append("## snapshot %d traces" % i)
        for t in snap.traces:
            out.append(str(t))
            out.append(repr(t))
        for key in ("lineno", "filename", "traceback"):
            for cumulative in (False, True):
                out.append("## snapshot %d statistics %s %s" % (i, key, cumulative))
                try:
                    for st in snap.statistics(key, cumulative):
                        out.append(str(st))
                        out.append(repr(st))
                except ValueError as e:
                    out.append("error: %s" % e)
    for key in ("lineno", "filename", "traceback", "foo"):
        for cumulative in (False, True):
            out.append("## compare %s %s" % (key, cumulative))
            try:
                for st in snaps[1].compare_to(snaps[0], key, cumulative):
                    out.append(str(st))
                    out.append(repr(st))
            except ValueError as e:
                out.append("error: %s" % e)
    for j, spec in enumerate(data["filters"]):
        filters = []
        for f in spec:
            if f["kind"] == "domain":
                filters.append(DomainFilter(f["inclusive"], f["domain"]))
            else:
                filters.append(Filter(f["inclusive"], f["pattern"], lineno=f["lineno"],
                                      all_frames=f["all_frames"], domain=f["domain"]))
        out.append("## filter %d" % j)
        for st in snaps[1].filter_traces(filters).statistics("traceback"):
            out.append(str(st))
    try:
        tracemalloc.start(0)
    except ValueError as e:
        out.append("## start(0): %s" % e)
    try:
        tracemalloc.take_snapshot()
    except RuntimeError as e:
        out.append("## take_snapshot: %s" % e)
    print("\n".join(out))


main()
