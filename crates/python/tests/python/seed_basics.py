import sys
import gc
x = []
print(sys.getrefcount(x))
print(gc.collect())
class Node:
    def __init__(self):
        self.ref = None
a = Node()
a.ref = a
del a
print(gc.collect())
def f(a): return sys.getrefcount(a)
print(f(x))
def gen(n):
    for i in range(n):
        yield i * i
print(sum(gen(10)), [i for i in range(5)], {i: i*2 for i in range(3)})
print(f"{3.5:.2f} {'a'!r} {10:>5}|", "%d-%s" % (4, "x"), "{} {}".format(1, [2]))
try:
    1/0
except ZeroDivisionError as e:
    print("caught", e)
def rec(n): return rec(n+1)
try:
    rec(0)
except RecursionError as e:
    print("rec", e)
