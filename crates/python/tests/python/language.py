class A:
    x = 1
    def __init__(self, v): self.v = v
    def who(self): return "A" + str(self.v)
    @property
    def double(self): return self.v * 2
    @staticmethod
    def s(a, b=2): return a + b
    @classmethod
    def c(cls): return cls.__name__
    def __repr__(self): return f"A({self.v!r})"
    def __eq__(self, o): return isinstance(o, A) and o.v == self.v
    def __hash__(self): return hash(self.v)
    def __lt__(self, o): return self.v < o.v
    def __len__(self): return self.v
    def __add__(self, o): return A(self.v + o.v)
class B(A):
    def who(self): return "B" + super().who()
class C(A):
    def who(self): return "C" + super().who()
class D(B, C):
    pass
d = D(3)
print(d.who(), [k.__name__ for k in D.__mro__], d.double, D.s(1), D.c(), d)
print(A(1) == A(1), {A(1), A(1)}, sorted([A(3), A(1), A(2)]), len(A(4)), A(1) + A(2))
def outer():
    n = 0
    def inc():
        nonlocal n
        n += 1
        return n
    return inc
i = outer(); i(); print(i())
def g():
    x = yield 1
    print("got", x)
    yield from range(2)
    return 5
it = g(); print(next(it)); print(it.send("hi")); print(list(it))
class Ctx:
    def __enter__(self): print("enter"); return self
    def __exit__(self, t, v, tb): print("exit", t.__name__ if t else None); return True
with Ctx() as c:
    raise ValueError("x")
print("after with")
try:
    try:
        raise KeyError("k")
    finally:
        print("finally")
except KeyError as e:
    print(repr(e), str(e))
def kw(a, *args, b=3, **kw): return (a, args, b, sorted(kw.items()))
print(kw(1, 2, 3, b=4, z=5), kw(*[1, 2], **{"q": 1}))
a, *b, c = range(5); print(a, b, c)
print([x * y for x in range(3) for y in range(3) if x != y], {x % 3 for x in range(10)})
print(list(map(lambda x: x + 1, [1, 2])), list(filter(None, [0, 1, 2])), list(zip("ab", [1, 2])), list(enumerate("xy", 1)))
print(sum(x for x in range(100)), max([3, 1, 2]), min(3, 1, key=lambda x: -x), any([0]), all([]))
print(2 ** 100, -7 // 2, -7 % 2, 7 / 2, 1e20, 0.1 + 0.2, round(2.5), round(3.14159, 2), int("ff", 16), hex(255))
s = "Hello, World"
print(s.lower(), s.split(", "), "-".join(["a", "b"]), s[::-1], s[1:4], s.replace("l", "L", 1), s.find("W"), s.startswith("He"))
print({1: 2, "a": [1, 2]}, (1,), (), [None, True, 1.5], {3, 1, 2})
x = [1, 2, 3]; x[1:2] = [9, 9]; del x[0]; print(x, x.pop(), x)
print(isinstance(True, int), type(3), type("s").__name__, issubclass(D, A))
try:
    raise ValueError("bad") from KeyError("k")
except ValueError as e:
    print(repr(e.__cause__))
print("%5.2f|%-4s|%03d" % (3.14159, "ab", 7))
