# gc.collect() freeing 200,000 garbage two-object cycles (400,000 objects),
# built with automatic collection off so that the timed call finds them all.
import gc
import time

N = 200000


class Pair:
    def __init__(self, a, b):
        self.a = a
        self.b = b


gc.collect()
gc.disable()
for i in range(N):
    x = Pair(None, None)
    y = Pair(x, None)
    x.b = y
del x, y
t0 = time.perf_counter()
collected = gc.collect()
elapsed = time.perf_counter() - t0
gc.enable()
assert collected == 2 * N, collected
print("RESULT collect_seconds %.6f" % elapsed)
