import gc, weakref, sys
class Res:
    def __init__(self, name): self.name = name
    def __del__(self): print("del", self.name)
r = Res("a"); del r
a = Res("cyc"); a.me = a; del a
print("collect", gc.collect())
class O: pass
o = O()
w = weakref.ref(o, lambda ref: print("callback, dead:", ref() is None))
print(w() is o, weakref.getweakrefcount(o))
del o
print(w())
def deep(n):
    return deep(n + 1) if n < 10000 else n
try:
    deep(0)
except RecursionError:
    print("RecursionError", sys.getrecursionlimit())
def inf():
    i = 0
    while True:
        yield i
        i += 1
g = inf()
print([next(g) for _ in range(5)])
g.close()
print(next(g, "done"))
keep = Res("end")


# A weakref made after a resurrection refers to the object; the weakrefs the
# collector cleared before the finalizer ran stay dead.
saved_phoenix = []


class Phoenix:
    def __del__(self):
        saved_phoenix.append(self)


p = Phoenix()
p.me = p
old_ref = weakref.ref(p)
del p
gc.collect()
print("old ref dead:", old_ref() is None, "resurrected:", len(saved_phoenix))
new_ref = weakref.ref(saved_phoenix[0])
print("new ref alive:", new_ref() is saved_phoenix[0], weakref.getweakrefcount(saved_phoenix[0]))
saved_phoenix.clear()
print("still in its cycle:", new_ref() is not None)
print("collected:", gc.collect(), "new ref dead:", new_ref() is None)


# A weakref with a callback, made by the finalizer of an object that is then
# collected: the callback runs.
late = []


class MakesRef:
    def __del__(self):
        late.append(weakref.ref(self, lambda r: print("late callback ran")))


m = MakesRef()
m.me = m
del m
print("collected:", gc.collect())
print("late ref dead:", late[0]() is None)
late.clear()


# weakref.finalize registered by a __del__ on its own condemned object runs
# when the collector clears the object.
class FinalizesItself:
    def __del__(self):
        weakref.finalize(self, print, "finalize of a condemned object ran")


f = FinalizesItself()
f.me = f
del f
print("collected:", gc.collect())
print("after the collection")
