# gc.collect() over a live heap of a million objects (instances of a class
# with two attributes, each holding an int): nothing to free, all to trace.
import gc
import time

N = 1000000
LOOPS = 5


class Pair:
    def __init__(self, a, b):
        self.a = a
        self.b = b


objs = [Pair(i, i) for i in range(N)]
gc.collect()
total = 0.0
for _ in range(LOOPS):
    t0 = time.perf_counter()
    collected = gc.collect()
    total += time.perf_counter() - t0
    assert collected == 0, collected
print("RESULT collect_seconds %.6f" % (total / LOOPS))
print("RESULT objects %d" % (len(objs) + 1))
