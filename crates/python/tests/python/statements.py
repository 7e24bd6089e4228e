# Every statement of the supported language, each printing what it did.
import sys

# Assignment, unpacking, augmented assignment, targets.
a = b = 1
c, (d, e) = 2, (3, 4)
first, *middle, last = range(6)
print(a, b, c, d, e, first, middle, last)
x = [0, 1, 2, 3, 4, 5]
x[1] = "one"
x[2:4] = ["two", "three", "extra"]
print(x)
a += 5
a -= 1
a *= 3
a //= 2
a **= 2
a %= 7
a <<= 3
a >>= 1
a |= 1
a &= 13
a ^= 6
print(a)
s = "ab"
s += "cd"
s *= 2
print(s)
lst = [1]
lst += [2, 3]
print(lst)


class P:
    pass


p = P()
p.attr = 1
p.attr += 41
print(p.attr)
d = {"k": [1]}
d["k"] += [2]
d["n"] = d.get("n", 0) + 1
print(d)

# del: names, attributes, items, slices.
del p.attr
print(hasattr(p, "attr"))
del x[0]
del x[1:3]
print(x)
del d["n"]
print(d)
zz = 1
del zz
try:
    zz
except NameError as err:
    print("NameError", err)

# if / elif / else, while / for with else, break, continue.
for n in range(6):
    if n == 0:
        continue
    elif n % 2:
        print("odd", n)
    else:
        print("even", n)
    if n == 4:
        break
else:
    print("not reached")
for n in range(2):
    pass
else:
    print("for else", n)
i = 0
while i < 3:
    i += 1
else:
    print("while else", i)
while True:
    i -= 1
    if i == 0:
        break
print("while break", i)

# Functions: defaults, *args, **kwargs, keyword-only, positional-only.


def f(a, b=2, *args, c, d=4, **kwargs):
    return a, b, args, c, d, sorted(kwargs.items())


print(f(1, c=3))
print(f(1, 2, 3, 4, c=5, e=6, d=7))
print(f(*[1, 2, 3], **{"c": 0, "z": 9}))


def pos(a, b, /, c):
    return a + b + c


print(pos(1, 2, c=3))
try:
    pos(a=1, b=2, c=3)
except TypeError as err:
    print("TypeError", err)
try:
    f()
except TypeError as err:
    print("TypeError", err)
square = lambda v: v * v  # noqa: E731
print(square(7), (lambda *a, **k: (a, k))(1, k=2))


# global and nonlocal.
counter = 0


def bump():
    global counter
    counter += 1


bump()
bump()
print(counter)


def make_counter():
    count = 0

    def inc():
        nonlocal count
        count += 1
        return count

    return inc


inc = make_counter()
inc()
print(inc())

# return, assert, pass.


def nothing():
    pass


print(nothing())
try:
    assert 1 == 2, "one is not two"
except AssertionError as err:
    print("AssertionError", err)
assert True

# try / except / else / finally, raise, raise from.
def risky(kind):
    try:
        if kind == "value":
            raise ValueError("bad value")
        if kind == "key":
            {}["missing"]
        result = "ok"
    except ValueError as err:
        result = "value: %s" % err
    except (KeyError, IndexError) as err:
        result = "lookup: %r" % err
    else:
        result += " (else)"
    finally:
        result += " (finally)"
    return result


for kind in ("value", "key", "none"):
    print(risky(kind))
try:
    try:
        1 / 0
    except ZeroDivisionError as err:
        raise RuntimeError("wrapped") from err
except RuntimeError as err:
    print(type(err.__cause__).__name__, err.__suppress_context__)
try:
    try:
        raise KeyError("inner")
    except KeyError:
        raise ValueError("outer")
except ValueError as err:
    print(repr(err.__context__))


def finally_return():
    try:
        return "try"
    finally:
        print("finally runs before the return")


print(finally_return())
try:
    raise
except RuntimeError as err:
    print("RuntimeError", err)

# with.


class Ctx:
    def __init__(self, name, swallow=False):
        self.name = name
        self.swallow = swallow

    def __enter__(self):
        print("enter", self.name)
        return self.name

    def __exit__(self, ty, val, tb):
        print("exit", self.name, ty.__name__ if ty else None)
        return self.swallow


with Ctx("a") as name, Ctx("b"):
    print("inside", name)
with Ctx("c", swallow=True):
    raise ValueError("swallowed")
try:
    with Ctx("d"):
        raise KeyError("escapes")
except KeyError:
    print("escaped")

# import / from import of the built-in modules.
import gc as collector
from sys import getrefcount as grc, argv
from time import perf_counter
print(collector.isenabled(), grc([]) > 0, isinstance(perf_counter(), float), len(argv))
try:
    import no_such_module
except ImportError as err:
    print(type(err).__name__, err)
try:
    from sys import no_such_name
except ImportError as err:
    print(type(err).__name__, err)

# Comprehensions and generator expressions.
print([n * n for n in range(5) if n % 2 == 0])
print({n: n * n for n in range(3)})
print(sorted({n % 3 for n in range(10)}))
print(sum(n for n in range(101)))
print([(a, b) for a in range(3) for b in range(a)])


# Generators: yield, send, yield from, close, return values.
def gen():
    received = yield 1
    print("received", received)
    yield 2
    return "done"


g = gen()
print(next(g), g.send("hello"))
try:
    next(g)
except StopIteration as stop:
    print("StopIteration", stop.value)


def delegate():
    result = yield from gen()
    print("delegate got", result)
    yield 3


print(list(delegate()))


def closing():
    try:
        yield 1
        yield 2
    finally:
        print("generator closed")


c = closing()
next(c)
c.close()
print(list(zip(range(3), (v * 10 for v in range(5)))))

# Formatting: f-strings, %, str.format.
name, value = "pi", 3.14159
print(f"{name}={value:.2f} {value!r} {name!s:>5} {{braces}} {1 + 2}")
print("%s=%.3f %d%% %5s|%-5s| %x %o %e" % (name, value, 50, "r", "l", 255, 8, 12345.678))
print("{0} {1} {0}".format("a", "b"), "{name:^9}".format(name="mid"), "{:,}".format(1234567))
print(f"{'nested':{'>'}{10}}", f"{3!a}", "%(k)s" % {"k": "mapped"})
sys.stdout.write("written\n")
print("a", "b", sep="-", end="!\n")
print("to stderr", file=sys.stderr)
