#!/usr/bin/env python3
"""The gc_bench workloads in CPython: the same graphs, built from __slots__
classes, timed with CPython's own reference counting and cycle collector.

Usage: gc_workloads.py WORKLOAD [--reps N] [--budget-ms MS]

Prints one ``sample VALUE [NOTE]`` line per repetition (nanoseconds, or
bytes per object for the bytes_* workloads), like ``gc_bench run``. A wrong
answer prints ``wrong MESSAGE`` and exits 3. The random graphs use the same
SplitMix64 generator as the Rust side, so they are identical.
"""

import gc
import sys
import time
import tracemalloc

M64 = (1 << 64) - 1
DROPS = [0]


class Rng:
    """SplitMix64, bit for bit as crates/bench/src/gc/mod.rs."""

    __slots__ = ("s",)

    def __init__(self, seed):
        self.s = seed

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def below(self, n):
        return self.next_u64() % n


class Wrong(Exception):
    pass


def check(ok, msg):
    if not ok:
        raise Wrong(msg)


# The Rust nodes count drops with a zero-sized field; here a weakref
# finalizer would change what the collector does, so counts come from
# gc.collect()'s return value and from len(gc.get_objects()) where needed.


class Tree:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


class PTree:
    __slots__ = ("parent", "left", "right")

    def __init__(self, left, right):
        self.parent = None
        self.left = left
        self.right = right


class ListNode:
    __slots__ = ("next", "prev")

    def __init__(self, nxt):
        self.next = nxt
        self.prev = None


class GNode:
    __slots__ = ("label", "edges")

    def __init__(self, label):
        self.label = label
        self.edges = []


class P0:
    __slots__ = ()


class P8:
    __slots__ = ("x",)

    def __init__(self, x):
        self.x = x


class P48:
    __slots__ = ("a", "b", "c", "d", "e", "f")

    def __init__(self, x):
        self.a = self.b = self.c = self.d = self.e = self.f = x


def expected_tree_checks(mx):
    return [(1 << (mx - d + 4)) * ((1 << (d + 1)) - 1) for d in range(4, mx, 2)]


def make_tree(depth):
    if depth == 0:
        return Tree(None, None)
    return Tree(make_tree(depth - 1), make_tree(depth - 1))


def tree_check(t):
    if t.left is None:
        return 1
    return tree_check(t.left) + tree_check(t.right) + 1


def binary_trees(mx):
    t = time.perf_counter_ns()
    res = []
    for depth in range(4, mx, 2):
        s = 0
        for _ in range(1 << (mx - depth + 4)):
            s += tree_check(make_tree(depth))
        res.append(s)
    gc.collect()
    ns = time.perf_counter_ns() - t
    check(res == expected_tree_checks(mx), f"tree checks {res}")
    return ns, None


def ptree_nested(depth):
    if depth == 0:
        return PTree(None, None)
    node = PTree(ptree_nested(depth - 1), ptree_nested(depth - 1))
    for child in (node.left, node.right):
        if child.left is not None:
            child.parent = node
    return node


def ptree11():
    mx = 11
    t = time.perf_counter_ns()
    res = []
    for depth in range(4, mx, 2):
        s = 0
        for _ in range(1 << (mx - depth + 4)):
            s += tree_check(ptree_nested(depth))
        res.append(s)
    gc.collect()
    ns = time.perf_counter_ns() - t
    check(res == expected_tree_checks(mx), f"tree checks {res}")
    check(gc.collect() == 0, "garbage left after the final collect")
    return ns, None


def build_list(n, doubly):
    head = ListNode(None)
    for _ in range(n):
        cons = ListNode(head)
        if doubly:
            head.prev = cons
        head = cons
    return head


def list_len(head):
    n = 0
    cur = head.next
    while cur is not None:
        n += 1
        cur = cur.next
    return n


def dll30x4096():
    gc.collect()
    t = time.perf_counter_ns()
    lens = []
    for _ in range(30):
        lst = build_list(4096, True)
        lens.append(list_len(lst))
        del lst
    found = gc.collect()
    ns = time.perf_counter_ns() - t
    check(all(x == 4096 for x in lens), f"lengths {lens}")
    # Automatic collections may have freed some lists already; the last
    # one at least is found by the explicit collect.
    check(found >= 4097, f"collect found {found}")
    return ns, None


def dll1m_garbage():
    n = 1_000_000
    gc.collect()
    t = time.perf_counter_ns()
    lst = build_list(n, True)
    ln = list_len(lst)
    del lst
    found = gc.collect()
    ns = time.perf_counter_ns() - t
    check(ln == n, f"length {ln}")
    check(found == n + 1, f"collect found {found}")
    gc.collect()
    return ns, None


def dll1m_live():
    n = 1_000_000
    lst = build_list(n, True)
    gc.collect()
    t = time.perf_counter_ns()
    found = gc.collect()
    ns = time.perf_counter_ns() - t
    check(found == 0, f"collect with a live list found {found}")
    check(list_len(lst) == n, "length after collect")
    cur = lst
    del lst
    while cur is not None:
        cur.prev = None
        cur = cur.next
    gc.collect()
    return ns, None


def list1m_drop():
    n = 1_000_000
    lst = build_list(n, False)
    t = time.perf_counter_ns()
    del lst
    gc.collect()
    ns = time.perf_counter_ns() - t
    return ns, None


def stress():
    NODE_COUNT = 1 << 15
    EDGE_COUNT = 1 << 15
    SHRINK_DIV = 1 << 10
    gc.collect()
    t = time.perf_counter_ns()
    rng = Rng(0xCAFE)
    nodes = [GNode(f"Node {i}") for i in range(NODE_COUNT + 1)]
    for _ in range(EDGE_COUNT + 1):
        a = rng.below(len(nodes))
        b = rng.below(len(nodes))
        nodes[a].edges.append(nodes[b])
    res = []
    for i in range(0, NODE_COUNT, SHRINK_DIV):
        del nodes[NODE_COUNT - i:]
        gc.collect()
        res.append(len(nodes))
    edges = sum(len(x.edges) for x in nodes)
    label_ok = nodes[-1].label == "Node 1023"
    del nodes
    gc.collect()
    ns = time.perf_counter_ns() - t
    check(len(res) == 32 and res[31] == 1024 and label_ok, f"truncations {res}")
    check(edges > 0, "no edges left")
    return ns, None


def randops():
    gc.collect()
    t = time.perf_counter_ns()
    rng = Rng(12345)
    roots = [GNode("") for _ in range(50)]
    for _ in range(1_000_000):
        op = rng.below(4)
        if op == 0:
            roots.append(GNode(""))
        elif not roots:
            continue
        elif op == 1:
            a = rng.below(len(roots))
            b = rng.below(len(roots))
            roots[a].edges.append(roots[b])
        elif op == 2:
            i = rng.below(len(roots))
            roots[i] = roots[-1]
            roots.pop()
        else:
            a = rng.below(len(roots))
            e = roots[a].edges
            if e:
                j = rng.below(len(e))
                e[j] = e[-1]
                e.pop()
    live = len(roots)
    del roots
    gc.collect()
    ns = time.perf_counter_ns() - t
    check(live > 0, "no roots left")
    return ns, None


def collected_so_far():
    return sum(g["collected"] for g in gc.get_stats())


def live1m(trigger):
    live = [GNode("") for _ in range(1_000_000)]
    gc.collect()
    gc.enable()
    gc.set_threshold(700, 10, 10)
    base = collected_so_far()
    t = time.perf_counter_ns()
    for _ in range(100):
        pairs = []
        for _ in range(1000):
            a = GNode("")
            b = GNode("")
            a.edges.append(b)
            b.edges.append(a)
            pairs.append(a)
        del pairs, a, b
        if trigger == "young":
            gc.collect(0)
        elif trigger == "full":
            gc.collect()
    ns = time.perf_counter_ns() - t
    freed = collected_so_far() - base
    gc.collect()
    total = collected_so_far() - base
    # Each pair is 2 instances + their 2 edge lists in CPython.
    check(total == 400_000, f"collected {total}, expected 400000")
    note = f"{freed * 100 // total}% freed in run" if trigger == "auto" else None
    check(len(live) == 1_000_000, "live set changed")
    del live
    gc.collect()
    return ns, note


def clone_drop():
    n = 5_000_000
    x = GNode("")
    t = time.perf_counter_ns()
    for _ in range(n):
        c = x
        del c
    return (time.perf_counter_ns() - t) / n, None


def clone_vec():
    rounds = 5_000
    x = GNode("")
    v = []
    t = time.perf_counter_ns()
    for _ in range(rounds):
        for _ in range(1000):
            v.append(x)
        v.clear()
    return (time.perf_counter_ns() - t) / (rounds * 1000), None


def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096


def bytes_of(make):
    n = 1_000_000
    # Resident memory first, without tracemalloc (its traces cost memory).
    v = [None] * n
    r0 = rss()
    for i in range(n):
        v[i] = make(i)
    r1 = rss()
    size = sys.getsizeof(v[0])
    v = [None] * n
    # Then the bytes CPython's allocators were asked for.
    tracemalloc.start()
    a0 = tracemalloc.get_traced_memory()[0]
    for i in range(n):
        v[i] = make(i)
    a1 = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    requested = (a1 - a0) / n
    return requested, f"RSS {(r1 - r0) / n:.0f}, sys.getsizeof {size}"


WORKLOADS = {
    "bt11": lambda: binary_trees(11),
    "bt16": lambda: binary_trees(16),
    "ptree11": ptree11,
    "dll30x4096": dll30x4096,
    "dll1m_garbage": dll1m_garbage,
    "dll1m_live": dll1m_live,
    "list1m_drop": list1m_drop,
    "stress": stress,
    "randops": randops,
    "live1m_explicit": lambda: live1m("young"),
    "live1m_full": lambda: live1m("full"),
    "live1m_auto": lambda: live1m("auto"),
    "clone_drop": clone_drop,
    "clone_vec": clone_vec,
    "bytes_empty": lambda: bytes_of(lambda i: P0()),
    # Payload ints above 256 so each is a real int object, as a u64 field
    # would be boxed in Python.
    "bytes_8": lambda: bytes_of(lambda i: P8(i + 1000)),
    "bytes_48": lambda: bytes_of(lambda i: P48(i + 1000)),
    "bytes_node": lambda: bytes_of(lambda i: ListNode(None)),
}


def main(argv):
    if not argv or argv[0] not in WORKLOADS:
        print(f"usage: gc_workloads.py {{{','.join(WORKLOADS)}}} [--reps N] [--budget-ms MS]",
              file=sys.stderr)
        return 2
    name = argv[0]
    reps, budget_ms = 5, 20_000
    rest = argv[1:]
    while rest:
        flag = rest.pop(0)
        if flag == "--reps" and rest:
            reps = int(rest.pop(0))
        elif flag == "--budget-ms" and rest:
            budget_ms = int(rest.pop(0))
        else:
            print(f"gc_workloads.py: bad option {flag}", file=sys.stderr)
            return 2
    if name.startswith("bytes_"):
        reps = 1
    sys.setrecursionlimit(100_000)
    start = time.monotonic()
    for _ in range(max(1, reps)):
        try:
            value, note = WORKLOADS[name]()
        except Wrong as e:
            print(f"wrong {e}", flush=True)
            return 3
        print(f"sample {value}" + (f" {note}" if note else ""), flush=True)
        if (time.monotonic() - start) * 1000 > budget_ms:
            break
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
