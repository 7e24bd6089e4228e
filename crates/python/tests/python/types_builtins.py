# The built-in types and functions everyday code uses.
print(None, True, False, type(None).__name__, bool(0), bool([1]), True + True)
big = 2 ** 100
print(big, big // 3, big % 7, -big, big * big, int("123"), int("ff", 16), int(3.9), hex(255), bin(5), oct(8))
print(7 // 2, -7 // 2, 7 % -3, divmod(17, 5), pow(2, 10), pow(2, 10, 1000), abs(-3), round(2.5), round(3.14159, 2))
print(1 / 4, 2.0 ** 0.5, float("1.5"), 1e300 * 10, -0.0, 0.1 + 0.2, 3.0 == 3, int(True), float(2))
print(str(12), repr("it's"), "a,b,c".split(","), " pad ".strip(), "x".join(["a", "b"]), "Hi".upper(), "Hi".lower())
print("hello"[1:4], "hello"[::-1], "hello".find("l"), "hello".replace("l", "L"), "abc".startswith("a"), len("héllo"))
print("%r" % "quote", "title case".title(), "x".center(5, "*"), "42".zfill(5), "ab" * 3)
print(b"bytes", b"ab" + b"cd", len(b"xyz"), b"abc"[1], list(b"hi"), bytes([65, 66]), b"a" in b"cat")
t = (1, 2, 3)
print(t, t[1:], t + (4,), t * 2, t.index(2), t.count(3), len(t), (1,), ())
lst = [3, 1, 2]
lst.append(4)
lst.extend([0])
lst.insert(0, 9)
print(lst, lst.pop(), lst.pop(0), sorted(lst), lst.index(2), lst.count(1))
lst.sort(reverse=True)
lst.reverse()
lst.remove(2)
print(lst, lst[::-1], lst * 2, [1, 2] == [1, 2], [1, 2] < [1, 3], lst.copy() is not lst)
d = {"b": 2, "a": 1}
d.update(c=3)
d.setdefault("d", 4)
print(d, d.pop("d"), d.popitem(), d, dict(a=1), dict([("x", 1)]), {**d, "z": 0}, d.copy() == d)
s = {3, 1, 2}
s.add(5)
s.discard(1)
print(sorted(s), 2 in s, sorted(s | {9}), sorted(s & {2, 3}), sorted(s - {2}), sorted(s ^ {3, 7}), s <= {2, 3, 5})
fs = frozenset([1, 2])
print(fs, type(fs).__name__, fs | {3} == {1, 2, 3}, hash(fs) == hash(frozenset([2, 1])))
r = range(2, 10, 3)
print(r, list(r), len(r), r[1], 5 in r, list(range(5, 0, -2)))
sl = slice(1, 5, 2)
print(sl, [0, 1, 2, 3, 4, 5][sl], sl.start, sl.indices(3))
print(len([1, 2]), list(enumerate("ab", 1)), list(zip("ab", [1, 2], (True, False))))
print(list(map(str, [1, 2])), list(map(lambda a, b: a + b, [1, 2], [3, 4])), list(filter(None, [0, 1, "", "x"])))
print(sorted([3, 1, 2], reverse=True), sorted(["bb", "a", "ccc"], key=len), list(reversed([1, 2, 3])))
print(sum([1, 2, 3]), sum([[1], [2]], []), min(3, 1, 2), max([1, 5, 2]), min("abc", key=ord), max([], default=0))
print(any([0, 1]), all([1, 0]), any([]), all([]))
print(isinstance(1, int), isinstance(True, int), isinstance("s", (int, str)), issubclass(bool, int))
print(type(1).__name__, type([]) is list, type(type).__name__, callable(len), callable(1))
print(hash(1) == hash(1.0), hash("a") == hash("a"), id(lst) == id(lst), repr([1, "a", None]))
print(getattr(lst, "append") is not None, hasattr(lst, "nope"), getattr(lst, "nope", "default"))
it = iter([1, 2])
print(next(it), next(it), next(it, "end"), list(iter(lambda: 1, 1)))
print(chr(65), ord("A"), ascii("é"), format(3.14159, ".2f"), format(42, "08b"), format("s", ">3"))


class Vec:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __repr__(self):
        return "Vec(%r, %r)" % (self.x, self.y)

    def __str__(self):
        return "<%s, %s>" % (self.x, self.y)

    def __eq__(self, other):
        return isinstance(other, Vec) and (self.x, self.y) == (other.x, other.y)

    def __hash__(self):
        return hash((self.x, self.y))

    def __lt__(self, other):
        return (self.x, self.y) < (other.x, other.y)

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    def __mul__(self, k):
        return Vec(self.x * k, self.y * k)

    __rmul__ = __mul__

    def __neg__(self):
        return Vec(-self.x, -self.y)

    def __len__(self):
        return 2

    def __bool__(self):
        return bool(self.x or self.y)

    def __getitem__(self, i):
        return (self.x, self.y)[i]

    def __setitem__(self, i, v):
        if i == 0:
            self.x = v
        else:
            self.y = v

    def __delitem__(self, i):
        self[i] = 0

    def __contains__(self, v):
        return v in (self.x, self.y)

    def __iter__(self):
        yield self.x
        yield self.y

    def __call__(self, k):
        return self * k


v = Vec(1, 2)
w = Vec(3, 4)
print(v, repr(v), str(w), v + w, v * 3, 2 * v, -v, v == Vec(1, 2), v != w, v < w, sorted([w, v]))
print(len(v), bool(v), bool(Vec(0, 0)), v[1], 2 in v, list(v), v(10), {v: "key"}[Vec(1, 2)])
v[0] = 9
del v[1]
print(v, max(v), [a for a in v], sum(v), tuple(v), set(Vec(1, 1)))


class It:
    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise StopIteration
        self.n -= 1
        return self.n


print(list(It(3)), [x for x in It(2)])


# Classes: inheritance, C3, super, class attributes, static/class methods, properties, slots.
class Base:
    kind = "base"

    def __init__(self):
        self.trail = ["Base"]

    def who(self):
        return "Base.who"

    @staticmethod
    def helper(x):
        return x * 2

    @classmethod
    def make(cls):
        return cls()


class Left(Base):
    def __init__(self):
        super().__init__()
        self.trail.append("Left")

    def who(self):
        return "Left>" + super().who()


class Right(Base):
    kind = "right"

    def __init__(self):
        super().__init__()
        self.trail.append("Right")

    def who(self):
        return "Right>" + super().who()


class Diamond(Left, Right):
    def __init__(self):
        super().__init__()
        self.trail.append("Diamond")


dia = Diamond()
print([c.__name__ for c in Diamond.__mro__], dia.trail, dia.who(), dia.kind, Diamond.helper(4), type(Diamond.make()).__name__)


class Temp:
    def __init__(self):
        self._c = 0

    @property
    def celsius(self):
        return self._c

    @celsius.setter
    def celsius(self, v):
        self._c = v

    @celsius.deleter
    def celsius(self):
        self._c = None


t = Temp()
t.celsius = 30
print(t.celsius)
del t.celsius
print(t.celsius)


class Slots:
    __slots__ = ("a", "b")


sl = Slots()
sl.a = 1
try:
    sl.c = 3
except AttributeError as e:
    print("AttributeError", e)
print(sl.a, hasattr(sl, "b"))

# Modules, functions, bound methods as objects.
import sys
print(type(sys).__name__, sys.__name__, type(len).__name__, type(v.__repr__).__name__, Vec.__name__, Vec.__qualname__)


def documented():
    "The docstring."


print(documented.__name__, documented.__doc__, documented.__qualname__)
print(sys.getrecursionlimit(), sys.maxsize > 2 ** 31, sys.version_info[:2] >= (3, 11))

# The exception hierarchy.
for exc in (ZeroDivisionError, KeyError, IndexError, FileNotFoundError, RecursionError, StopIteration):
    print(exc.__name__, [c.__name__ for c in exc.__mro__][1:])
try:
    [][1]
except LookupError as e:
    print(type(e).__name__, e.args)


class MyError(ValueError):
    def __init__(self, code):
        super().__init__("code %d" % code)
        self.code = code


try:
    raise MyError(7)
except ValueError as e:
    print(repr(e), e.code, str(e), isinstance(e, Exception))
