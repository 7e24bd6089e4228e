# The Python half of pygc-python's `weakref` module: the weak containers and
# `finalize`, written over the native `ref` (whose referents and callbacks are
# pygc's weak handles). Compiled and run when `weakref` is first imported,
# with `ref`, `proxy`, `getweakrefcount` and `getweakrefs` already defined.


class WeakValueDictionary:
    """A mapping whose values are held weakly: an entry goes away when its
    value is collected."""

    def __init__(self, other=(), **kwargs):
        self.data = {}
        self.update(other, **kwargs)

    def __getitem__(self, key):
        o = self.data[key]()
        if o is None:
            raise KeyError(key)
        return o

    def __setitem__(self, key, value):
        data = self.data

        def remove(wr):
            # The value was collected: drop the entry if it still holds wr.
            if data.get(key) is wr:
                del data[key]

        data[key] = ref(value, remove)

    def __delitem__(self, key):
        del self.data[key]

    def __contains__(self, key):
        try:
            o = self.data[key]()
        except KeyError:
            return False
        return o is not None

    def __len__(self):
        return len([1 for wr in self.data.values() if wr() is not None])

    def __iter__(self):
        for k, wr in list(self.data.items()):
            if wr() is not None:
                yield k

    def __repr__(self):
        return "<WeakValueDictionary at %#x>" % id(self)

    def get(self, key, default=None):
        try:
            wr = self.data[key]
        except KeyError:
            return default
        o = wr()
        if o is None:
            return default
        return o

    def keys(self):
        return [k for k in self]

    def values(self):
        out = []
        for wr in list(self.data.values()):
            o = wr()
            if o is not None:
                out.append(o)
        return out

    def items(self):
        out = []
        for k, wr in list(self.data.items()):
            o = wr()
            if o is not None:
                out.append((k, o))
        return out

    def valuerefs(self):
        return list(self.data.values())

    def pop(self, key, *default):
        try:
            o = self.data.pop(key)()
        except KeyError:
            o = None
        if o is None:
            if default:
                return default[0]
            raise KeyError(key)
        return o

    def setdefault(self, key, default=None):
        o = self.get(key)
        if o is None:
            self[key] = default
            return default
        return o

    def update(self, other=(), **kwargs):
        if hasattr(other, "items"):
            other = other.items()
        for k, v in other:
            self[k] = v
        for k, v in kwargs.items():
            self[k] = v

    def copy(self):
        return WeakValueDictionary(self.items())

    def clear(self):
        self.data.clear()


class WeakKeyDictionary:
    """A mapping whose keys are held weakly: an entry goes away when its key
    is collected."""

    def __init__(self, other=None):
        self.data = {}
        data = self.data

        def remove(wr):
            try:
                del data[wr]
            except KeyError:
                pass

        self._remove = remove
        if other is not None:
            self.update(other)

    def __getitem__(self, key):
        return self.data[ref(key)]

    def __setitem__(self, key, value):
        self.data[ref(key, self._remove)] = value

    def __delitem__(self, key):
        del self.data[ref(key)]

    def __contains__(self, key):
        try:
            wr = ref(key)
        except TypeError:
            return False
        return wr in self.data

    def __len__(self):
        return len([1 for wr in self.data if wr() is not None])

    def __iter__(self):
        for wr in list(self.data):
            o = wr()
            if o is not None:
                yield o

    def __repr__(self):
        return "<WeakKeyDictionary at %#x>" % id(self)

    def get(self, key, default=None):
        return self.data.get(ref(key), default)

    def keys(self):
        return [k for k in self]

    def values(self):
        return [v for wr, v in list(self.data.items()) if wr() is not None]

    def items(self):
        out = []
        for wr, v in list(self.data.items()):
            o = wr()
            if o is not None:
                out.append((o, v))
        return out

    def keyrefs(self):
        return list(self.data)

    def pop(self, key, *default):
        return self.data.pop(ref(key), *default)

    def setdefault(self, key, default=None):
        return self.data.setdefault(ref(key, self._remove), default)

    def update(self, other=None, **kwargs):
        if other is not None:
            if hasattr(other, "items"):
                other = other.items()
            for k, v in other:
                self[k] = v

    def copy(self):
        return WeakKeyDictionary(self.items())

    def clear(self):
        self.data.clear()


class WeakSet:
    """A set whose elements are held weakly."""

    def __init__(self, data=None):
        self.data = set()
        items = self.data

        def remove(wr):
            items.discard(wr)

        self._remove = remove
        if data is not None:
            self.update(data)

    def __iter__(self):
        for wr in list(self.data):
            o = wr()
            if o is not None:
                yield o

    def __len__(self):
        return len([1 for wr in self.data if wr() is not None])

    def __contains__(self, item):
        try:
            wr = ref(item)
        except TypeError:
            return False
        return wr in self.data

    def __repr__(self):
        return "<WeakSet at %#x>" % id(self)

    def add(self, item):
        self.data.add(ref(item, self._remove))

    def discard(self, item):
        self.data.discard(ref(item))

    def remove(self, item):
        self.data.remove(ref(item))

    def pop(self):
        while True:
            wr = self.data.pop()
            o = wr()
            if o is not None:
                return o

    def update(self, other):
        for item in other:
            self.add(item)

    def clear(self):
        self.data.clear()

    def copy(self):
        return WeakSet(list(self))


class finalize:
    """`finalize(obj, func, *args, **kwargs)`: calls `func(*args, **kwargs)`
    once, when `obj` is collected, when the finalizer is called, or at exit
    (if `atexit` is true), whichever comes first."""

    _registry = {}
    _index = [0]
    # Set once the exit-time finalizers ran: none runs after that.
    _shutdown = [False]

    def __init__(self, obj, func, /, *args, **kwargs):
        self._key = finalize._index[0]
        finalize._index[0] += 1
        me = self

        def collected(wr):
            me._run()

        self._info = (ref(obj, collected), func, args, kwargs)
        self.atexit = True
        finalize._registry[self._key] = self

    def _run(self):
        info = self._info
        if info is None:
            return None
        self._info = None
        finalize._registry.pop(self._key, None)
        if finalize._shutdown[0]:
            return None
        wr, func, args, kwargs = info
        return func(*args, **kwargs)

    def __call__(self, _=None):
        """Calls the function now if the finalizer is alive; its result."""
        return self._run()

    def detach(self):
        """Kills the finalizer without calling it: (obj, func, args, kwargs)."""
        info = self._info
        if info is not None:
            obj = info[0]()
            if obj is not None:
                self._info = None
                finalize._registry.pop(self._key, None)
                return (obj, info[1], info[2], info[3])
        return None

    def peek(self):
        """(obj, func, args, kwargs) if alive, else None."""
        info = self._info
        if info is not None:
            obj = info[0]()
            if obj is not None:
                return (obj, info[1], info[2], info[3])
        return None

    @property
    def alive(self):
        return self._info is not None

    def __repr__(self):
        info = self._info
        obj = info[0]() if info is not None else None
        if obj is None:
            return "<finalize object at %#x; dead>" % id(self)
        return "<finalize object at %#x; for %r at %#x>" % (id(self), type(obj).__name__, id(obj))


def _run_atexit():
    # CPython's finalize._exitfunc: the live finalizers with atexit set, the
    # most recently created first.
    pending = [f for k, f in sorted(finalize._registry.items(), reverse=True) if f.atexit]
    for f in pending:
        f._run()
    finalize._shutdown[0] = True
