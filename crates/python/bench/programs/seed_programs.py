# The seed's programs, scaled up to take measurable time: reference counts,
# self-referencing Nodes only the collector frees, and generators instead of
# lists. The whole program is timed by the runner.
import gc
import sys


class Node:
    def __init__(self):
        self.ref = None


x = []
assert sys.getrefcount(x) == 2
gc.collect()
freed = 0
for round in range(20):
    for i in range(5000):
        a = Node()
        a.ref = a
        del a
    freed += gc.collect()
assert freed > 0


def numbers(n):
    for i in range(n):
        yield i


total = 0
for rep in range(3):
    squares = [i * i for i in range(300000)]
    total += sum(squares)
    total += sum(i * i for i in range(300000))
    total += sum(v * v for v in numbers(300000))
    del squares
assert total == 3 * 3 * sum(i * i for i in range(300000))
print("RESULT freed %d" % freed)
