import gc
print(gc.collect())
class Node:
    def __init__(self):
        self.ref = None
a = Node(); a.ref = a; del a
print(gc.collect())
a = Node(); b = Node(); a.ref = b; b.ref = a; del a, b
print(gc.collect())
l = []; l.append(l); del l
print(gc.collect())
class S:
    __slots__ = ("ref",)
s = S(); s.ref = s; del s
print(gc.collect())
print(gc.get_threshold())
print(gc.isenabled()); gc.disable(); print(gc.isenabled()); gc.enable()
print(gc.is_tracked(1), gc.is_tracked("s"), gc.is_tracked([]))
try:
    gc.collect(3)
except ValueError as e:
    print(e)
