# The seed's Python, in the seed's order: reference counting, the garbage
# collector, a leak only the collector fixes, generators instead of lists,
# and the three tools (objgraph, memory_profiler, tracemalloc).
#
#   pygc-python crates/python/examples/seed.py
#   target/pyvenv/bin/python crates/python/examples/seed.py   # the same, on CPython
#
# Both print the same text except what cannot match between two
# interpreters: addresses, timings, memory figures and the census of each
# interpreter's own start-up objects (see tests/seed.rs for the exact list).

import sys
import gc

print("== Reference counting")
x = []
print(sys.getrefcount(x))  # 2: the name x, and getrefcount's own argument

print("== Garbage collection")
print(gc.collect())  # 0: nothing is garbage yet

print("== A memory leak only the collector can fix")


class Node:
    def __init__(self):
        self.ref = None


a = Node()
a.ref = a  # a reference cycle
del a      # the count never reaches 0: reference counting alone leaks it
print(gc.collect())  # 1: the collector found the unreachable Node


print("== Generators instead of lists")


def numbers(n):
    for i in range(n):
        yield i


squares = [i * i for i in range(100000)]   # every value at once
print(sum(squares))
squares = (i * i for i in range(100000))   # one value at a time
print(sum(squares))
print(sum(i * i for i in numbers(100000)))
del squares

print("== objgraph")
import objgraph

print("-- objgraph.show_most_common_types()")
objgraph.show_most_common_types()
print("-- objgraph.show_growth()")
objgraph.show_growth()
nodes = [Node() for i in range(100)]
print("-- objgraph.show_growth() after 100 Nodes")
objgraph.show_growth()
leak = Node()
leak.ref = leak
print(objgraph.count("Node"))
print(objgraph.find_backref_chain(leak, lambda o: o is leak)[0] is leak)
del nodes, leak
print(gc.collect())

print("== memory_profiler")
from memory_profiler import profile


@profile
def my_func():
    a = [1] * (10 ** 6)
    b = [2] * (2 * 10 ** 7)
    del b
    return a


print(len(my_func()))

print("== tracemalloc")
import tracemalloc

tracemalloc.start()
# ... run your application ...
words = [str(i) * 10 for i in range(10000)]
pairs = [(i, [i]) for i in range(100)]
snapshot = tracemalloc.take_snapshot()
top_stats = snapshot.statistics('lineno')

print("[ Top 10 ]")
for stat in top_stats[:10]:
    print(stat)
tracemalloc.stop()
