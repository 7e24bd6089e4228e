# tracemalloc with Python frames: which line of this file allocated what.
import tracemalloc

HERE = __file__


def check(name, *values):
    print(name, *values)


def mine(snapshot):
    return snapshot.filter_traces([tracemalloc.Filter(True, HERE)])


check("tracing before start", tracemalloc.is_tracing(), tracemalloc.get_traced_memory())
try:
    tracemalloc.take_snapshot()
except RuntimeError as e:
    check("RuntimeError", e)
for bad in (0, 65536):
    try:
        tracemalloc.start(bad)
    except ValueError as e:
        check("ValueError", e)

tracemalloc.start(5)
check("tracing", tracemalloc.is_tracing(), tracemalloc.get_traceback_limit())


def make(n):
    return [str(i) * 20 for i in range(n)]


big = make(5000)
small = [[i] for i in range(10)]
snap = tracemalloc.take_snapshot()
check("limit", snap.traceback_limit)
stats = mine(snap).statistics("lineno")
top = stats[0]
check("top line", top.traceback[0].lineno, top.traceback[0].filename == HERE)
check("str starts with the file", str(top).startswith(HERE + ":31: size="))
check("repr", repr(top).startswith("<Statistic traceback=<Traceback (<Frame filename="))
check("count and size", top.count >= 5000, top.size > 5000 * 20)
check("small lists' line among the top", 35 in [s.traceback[0].lineno for s in stats[:3]])
by_tb = mine(snap).statistics("traceback")
check("traceback frames", [f.lineno for f in by_tb[0].traceback])
check("format", [line.strip() for line in by_tb[0].traceback.format()])
check("most recent first", by_tb[0].traceback.format(limit=1, most_recent_first=True))
by_file = mine(snap).statistics("filename")
check("by file", len(by_file), by_file[0].traceback[0].lineno)
cumulative = mine(snap).statistics("lineno", cumulative=True)
check("cumulative lines", sorted(s.traceback[0].lineno for s in cumulative)[:3])
try:
    snap.statistics("traceback", cumulative=True)
except ValueError as e:
    check("ValueError", e)
try:
    snap.statistics("bogus")
except ValueError as e:
    check("ValueError", e)

# Filters: by line, exclusive, and by domain.
only32 = snap.filter_traces([tracemalloc.Filter(True, HERE, lineno=32)])
check("lineno filter", [s.traceback[0].lineno for s in only32.statistics("lineno")])
without = mine(snap).filter_traces([tracemalloc.Filter(False, HERE, lineno=31)])
check("exclusive", 31 in [s.traceback[0].lineno for s in without.statistics("lineno")])
f = tracemalloc.Filter(True, "*.py", lineno=3, all_frames=True)
check("filter attributes", f.inclusive, f.filename_pattern, f.lineno, f.all_frames, f.domain)
df = tracemalloc.DomainFilter(False, 7)
check("domain filter", df.inclusive, df.domain)

# compare_to: what changed between two snapshots.
del big
more = make(100)
snap2 = tracemalloc.take_snapshot()
diffs = mine(snap2).compare_to(mine(snap), "lineno")
for d in diffs:
    if d.traceback[0].lineno == 31:
        check("diff", d.size_diff < 0, d.count_diff < 0, str(d).count("(") >= 2)

# Where an object was made (a set: CPython reuses lists from a free list,
# which tracemalloc does not see again, and 3.11 cannot find the trace of an
# instance, whose block starts before its pre-header).
obj = {1, 2, 3}
tb = tracemalloc.get_object_traceback(obj)
check("object traceback", tb[0].lineno, len(tb) >= 1)
check("untraced", tracemalloc.get_object_traceback(1))

# Traced memory, the peak and clearing.
current, peak = tracemalloc.get_traced_memory()
check("current <= peak", current <= peak, current > 0)
tracemalloc.reset_peak()
current2, peak2 = tracemalloc.get_traced_memory()
check("peak reset", peak2 <= peak)
tracemalloc.clear_traces()
check("cleared", tracemalloc.get_traced_memory()[0] < 1000)
check("tracemalloc's own memory", tracemalloc.get_tracemalloc_memory() > 0)
tracemalloc.stop()
check("stopped", tracemalloc.is_tracing(), tracemalloc.get_traced_memory())
