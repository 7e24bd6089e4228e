# Scenarios of CPython's Lib/test/test_weakref.py, written anew.
import gc
import weakref


class Obj:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return "Obj(%s)" % self.name


def check(name, *values):
    print(name, *values)


# A ref and its callback: the callback gets the (dead) ref.
events = []
o = Obj("o")


def callback(wr):
    events.append(("callback", wr() is None))


r = weakref.ref(o, callback)
check("alive", r() is o, repr(r).startswith("<weakref at 0x"))
del o
check("after del", r(), events)

# Callback-less refs are shared; refs with callbacks are not.
o = Obj("o")
check("shared", weakref.ref(o) is weakref.ref(o))
check("with callback", weakref.ref(o, callback) is weakref.ref(o, callback))
check("count", weakref.getweakrefcount(o))
r1 = weakref.ref(o)
r2 = weakref.ref(o, callback)
check("count kept", weakref.getweakrefcount(o), len(weakref.getweakrefs(o)))
check("equal while alive", r1 == r2, hash(r1) == hash(o))

# The callback does not run if the weakref dies first.
events.clear()
p = Obj("p")
rp = weakref.ref(p, callback)
del rp
del p
check("weakref died first", events)

# Weakrefs to objects in a garbage cycle: cleared, callbacks run.
events.clear()
c = Obj("c")
c.me = c
rc = weakref.ref(c, callback)
del c
check("collected", gc.collect())
check("cycle callback", events, rc())

# What can be weakly referenced.
for v in (1, "s", [], {}, (1,)):
    try:
        weakref.ref(v)
    except TypeError as e:
        check("TypeError", e)
check("class", weakref.ref(Obj)() is Obj)


def f():
    pass


check("function", weakref.ref(f)() is f)
check("set", weakref.ref(set()) is not None)

# A bound method is a new object each time: its weakref dies at once.
o = Obj("m")
wm = weakref.ref(o.__repr__)
check("bound method", wm())

# Proxies forward attributes and calls, then raise ReferenceError.
o = Obj("x")
px = weakref.proxy(o)
check("proxy attr", px.name)
px.name = "y"
check("proxy set", o.name)
del o
try:
    px.name
except ReferenceError as e:
    check("ReferenceError", e)

# WeakValueDictionary.
d = weakref.WeakValueDictionary()
keep = [Obj(i) for i in range(5)]
for i, v in enumerate(keep):
    d[i] = v
check("wvd len", len(d), sorted(d.keys()))
del keep[2]
check("wvd after del", len(d), 2 in d, sorted(d))
check("wvd get", d.get(1), d.get(2, "gone"))
check("wvd items", sorted((k, v.name) for k, v in d.items()))
check("wvd pop", d.pop(0), len(d))
try:
    d[2]
except KeyError as e:
    check("wvd KeyError", e)
del keep
check("wvd empty", len(d), list(d))

# WeakKeyDictionary.
k = weakref.WeakKeyDictionary()
a, b = Obj("a"), Obj("b")
k[a] = 1
k[b] = 2
check("wkd", len(k), k[a], b in k)
del a
check("wkd after del", len(k), [o.name for o in k])
k[b] += 10
check("wkd update", k[b], sorted(k.values()))

# WeakSet.
s = weakref.WeakSet()
x, y = Obj("x"), Obj("y")
s.add(x)
s.add(y)
s.add(x)
check("ws", len(s), x in s)
del x
check("ws after del", len(s), [o.name for o in s])
s.discard(y)
check("ws discard", len(s))

# finalize: once, at collection, by call, or detached.
log = []
o = Obj("f")
fin = weakref.finalize(o, log.append, "collected")
check("finalize alive", fin.alive, fin.peek()[0] is o)
del o
check("finalize ran", log, fin.alive, fin())
o = Obj("g")
fin = weakref.finalize(o, lambda: "called")
check("finalize call", fin(), fin.alive, fin())
fin = weakref.finalize(o, log.append, "never")
check("detach", fin.detach()[1] is log.append, fin.alive, fin.detach())
del o
check("detached", log)
o = Obj("cycle")
o.me = o
weakref.finalize(o, log.append, "cycle")
del o
gc.collect()
check("finalize in a cycle", log)

# At exit, live finalizers run, newest first, after this line.
keep_a, keep_b = Obj("a"), Obj("b")
weakref.finalize(keep_a, print, "at exit: a")
weakref.finalize(keep_b, print, "at exit: b")
no = weakref.finalize(keep_a, print, "at exit: never")
no.atexit = False
print("end of the program")
