# memory_profiler's @profile and memory_usage on Python functions: the
# table's lines, occurrences and contents (its MiB figures are measured).
from memory_profiler import memory_usage, profile


class Sink:
    def __init__(self):
        self.parts = []

    def write(self, s):
        self.parts.append(s)


def rows(text):
    """(line, occurrences, contents) of each row of a table."""
    out = []
    for row in text.splitlines()[4:]:
        if not row.strip():
            continue
        cols = row.split("MiB")
        line = int(row[:6])
        if len(cols) == 3:
            occ, contents = cols[2][:13].strip(), cols[2][13:].strip()
        else:
            occ, contents = "", row[6:].strip()
        out.append((line, occ, contents))
    return out


sink = Sink()


@profile(stream=sink, precision=3)
def loops(n):
    total = 0
    for i in range(n):
        total += i
    while n > 0:
        n -= 1
    data = [0] * 1000
    del data
    return total


print(loops(4))
text = "".join(sink.parts)
lines = text.splitlines()
print(lines[0].startswith("Filename: ") and lines[0].endswith("memory_profiler_module.py"))
print(lines[2])
print(lines[3])
for r in rows(text):
    print(r)
print("MiB" in lines[4], lines[4].split()[1].count(".") == 1, len(lines[4].split()[1].split(".")[1]))


def helper():
    return [1] * 100


sink2 = Sink()


@profile(stream=sink2)
def outer():
    x = helper()
    y = helper()
    return len(x) + len(y)


print(outer())
for r in rows("".join(sink2.parts)):
    print(r)


def fails():
    raise ValueError("boom")


sink3 = Sink()
try:
    profile(fails, stream=sink3)()
except ValueError as e:
    print("raised", e, sink3.parts)

usage = memory_usage(-1, interval=0.01, timeout=0.05)
print(type(usage).__name__, len(usage) >= 1, all(isinstance(m, float) for m in usage))
print(type(memory_usage()).__name__, len(memory_usage()))
peak = memory_usage((helper, (), {}), max_usage=True)
print(type(peak).__name__)
mem, ret = memory_usage((helper, ()), retval=True, interval=0.01)
print(len(ret), isinstance(mem, list))
