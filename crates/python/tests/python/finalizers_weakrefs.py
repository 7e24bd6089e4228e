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
