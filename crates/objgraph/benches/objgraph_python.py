#!/usr/bin/env python3
"""Times Python's objgraph on the heap of benches/objgraph.rs.

The heap: a root list of 1000 Bucket objects, each holding 999 Node
objects in a list, each node pointing at the next one of its bucket
(__slots__ classes, so no instance dicts): about 1,001,000 tracked objects,
the same shape as the Rust benchmark's 1,000,001.

objgraph is installed into a venv under target/ (pip from PyPI). When that
is impossible (no network, no venv module) the script says so and exits 0.

    python3 crates/objgraph/benches/objgraph_python.py [--venv DIR]
"""

import argparse
import gc
import io
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_VENV = os.path.join(HERE, "..", "..", "..", "target", "objgraph-venv")


def ensure_objgraph(venv):
    """Re-runs this script inside a venv that has objgraph, if needed."""
    try:
        import objgraph  # noqa: F401
        return True
    except ImportError:
        pass
    if os.environ.get("PYGC_OBJGRAPH_VENV_CHILD"):
        return False
    py = os.path.join(venv, "bin", "python")
    try:
        if not os.path.exists(py):
            subprocess.run([sys.executable, "-m", "venv", venv], check=True,
                           stdout=subprocess.DEVNULL)
        subprocess.run([py, "-m", "pip", "install", "-q", "objgraph==3.7.0"],
                       check=True)
    except (subprocess.CalledProcessError, OSError) as e:
        print("SKIP: cannot install objgraph into %s: %s" % (venv, e))
        sys.exit(0)
    env = dict(os.environ, PYGC_OBJGRAPH_VENV_CHILD="1")
    sys.exit(subprocess.run([py, os.path.abspath(__file__)] + sys.argv[1:],
                            env=env).returncode)


class Node:
    __slots__ = ("value", "next")

    def __init__(self, value):
        self.value = value
        self.next = None


class Bucket:
    __slots__ = ("items",)

    def __init__(self, items):
        self.items = items


BUCKETS = 1000
PER_BUCKET = 999


def build():
    root = []
    for b in range(BUCKETS):
        items = []
        prev = None
        for i in range(PER_BUCKET):
            n = Node(b * PER_BUCKET + i)
            if prev is not None:
                prev.next = n
            items.append(n)
            prev = n
        root.append(Bucket(items))
    return root


def timed(name, f, repeat):
    best = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = f()
        dt = time.perf_counter() - t
        best = dt if best is None else min(best, dt)
    print("%-45s %10.1f ms" % (name, best * 1000.0))
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--venv", default=DEFAULT_VENV)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ensure_objgraph(os.path.abspath(args.venv))
    import objgraph

    gc.disable()
    root = build()
    target = root[BUCKETS // 2].items[PER_BUCKET // 2]
    print("python %s, objgraph %s, %d tracked objects" % (
        sys.version.split()[0], getattr(objgraph, "__version__", "?"),
        len(gc.get_objects())))
    stats = timed("typestats (census)", objgraph.typestats, args.repeat)
    assert stats["Node"] == BUCKETS * PER_BUCKET
    timed("most_common_types", objgraph.most_common_types, args.repeat)
    timed('count("Node")', lambda: objgraph.count("Node"), args.repeat)
    # objgraph always runs gc.collect() inside these two; the Rust
    # benchmark turns that off, so time one collection for reference.
    timed("gc.collect() (inside the two below)", gc.collect, 1)
    chain = timed("find_backref_chain (to the root)",
                  lambda: objgraph.find_backref_chain(
                      target, lambda o: o is root), 1)
    assert chain[0] is root, [type(o).__name__ for o in chain]
    timed("show_backrefs depth 3 (DOT to StringIO)",
          lambda: objgraph.show_backrefs([target], max_depth=3,
                                         output=io.StringIO()), 1)


if __name__ == "__main__":
    main()
