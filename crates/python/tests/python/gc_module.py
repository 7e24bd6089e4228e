# Scenarios of CPython's Lib/test/test_gc.py, written anew: each prints what
# the collector returns or what it left, so CPython and pygc-python can be
# compared line by line.
import gc
import sys


def check(name, value):
    print(name, value)


# A list that contains itself.
l = []
l.append(l)
del l
check("list cycle", gc.collect())

# A dict that contains itself.
d = {}
d[1] = d
del d
check("dict cycle", gc.collect())

# A tuple and a list holding each other.
l = []
t = (l,)
l.append(t)
del t, l
check("tuple cycle", gc.collect())


class A:
    pass


a = A()
a.a = a
del a
check("instance cycle", gc.collect())

b = A()
b.__dict__  # a materialized __dict__ is an object of its own in 3.11
b.b = b
del b
check("instance cycle with __dict__", gc.collect())


class Slotted:
    __slots__ = ("me",)


s = Slotted()
s.me = s
del s
check("__slots__ cycle", gc.collect())


class M:
    def __init__(self):
        self.init = self.__init__


m = M()
del m
check("bound method cycle", gc.collect())

x, y = A(), A()
x.other = y
y.other = x
del x, y
check("two instances", gc.collect())

# DEBUG_SAVEALL keeps the garbage in gc.garbage.
gc.set_debug(gc.DEBUG_SAVEALL)
l = []
l.append(l)
lid = id(l)
del l
gc.collect()
check("saveall", [id(o) == lid for o in gc.garbage])
gc.set_debug(0)
del gc.garbage[:]
check("garbage emptied", gc.garbage)

# __del__ runs for objects in a cycle, once.
log = []


class Del:
    def __del__(self):
        log.append("del")


d = Del()
d.me = d
del d
check("cycle with __del__", gc.collect())
check("del ran", log)

# A finalizer that resurrects its object: not collected, finalized once.
survivors = []


class Lazarus:
    def __del__(self):
        survivors.append(self)


z = Lazarus()
z.me = z
del z
check("resurrected", gc.collect())
check("survivor kept", len(survivors), )
check("is_finalized", gc.is_finalized(survivors[0]))
survivors[0].me = None
survivors.clear()
check("after resurrection", gc.collect())

# Thresholds and counts.
check("threshold", gc.get_threshold())
gc.set_threshold(100, 5, 5)
check("threshold set", gc.get_threshold())
gc.set_threshold(700, 10, 10)
gc.collect()
check("count after collect", gc.get_count())
check("enabled", gc.isenabled())
gc.disable()
check("disabled", gc.isenabled())
gc.enable()

# is_tracked, as the gc docs show it.
check("tracked 0", gc.is_tracked(0))
check("tracked 'a'", gc.is_tracked("a"))
check("tracked []", gc.is_tracked([]))
check("tracked {}", gc.is_tracked({}))
check("tracked {'a': 1}", gc.is_tracked({"a": 1}))
check("tracked {'a': []}", gc.is_tracked({"a": []}))
t = tuple([1, 2])
check("new tuple", gc.is_tracked(t))
gc.collect()
check("tuple after a collection", gc.is_tracked(t))
check("tuple of a list", gc.is_tracked(([],)))
check("instance", gc.is_tracked(A()))
check("class", gc.is_tracked(A))

# get_referents and get_referrers.
a = A()
a.x = []
a.y = "s"
refs = gc.get_referents(a)
check("referents of an instance", [type(r).__name__ for r in refs])
holder = [a]
check("referrers", any(r is holder for r in gc.get_referrers(a)))
check("referents of a list", gc.get_referents(["a", []]))

# Callbacks see each phase with CPython's info dict.
seen = []


def cb(phase, info):
    seen.append((phase, info["generation"], sorted(info)))


gc.callbacks.append(cb)
gc.collect()
gc.callbacks.remove(cb)
check("callbacks", seen)

# A broken callback is reported, and the collection still happens.
l = []
l.append(l)
del l
check("stats", sorted(gc.get_stats()[0]))
before = gc.get_stats()[2]["collections"]
gc.collect()
check("full collections counted", gc.get_stats()[2]["collections"] - before)

# Bad generations, with CPython's messages.
for g in (3, -1):
    try:
        gc.collect(g)
    except ValueError as e:
        check("collect(%d)" % g, e)
try:
    gc.get_objects(3)
except ValueError as e:
    check("get_objects(3)", e)
try:
    gc.get_objects(-2)
except ValueError as e:
    check("get_objects(-2)", e)
check("get_objects(-1) is everything", len(gc.get_objects(-1)) == len(gc.get_objects()))

# freeze moves everything to the permanent generation.
gc.freeze()
check("frozen something", gc.get_freeze_count() > 0)
check("nothing left young", len(gc.get_objects(0)))
gc.unfreeze()
check("unfrozen", gc.get_freeze_count())

# The debug flags.
check("flags", (gc.DEBUG_STATS, gc.DEBUG_COLLECTABLE, gc.DEBUG_UNCOLLECTABLE, gc.DEBUG_SAVEALL, gc.DEBUG_LEAK))
gc.set_debug(gc.DEBUG_LEAK)
check("get_debug", gc.get_debug())
gc.set_debug(0)
