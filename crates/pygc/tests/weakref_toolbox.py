"""Oracle for tests/weakref_toolbox.rs: runs the programs read from stdin
with CPython's weakref containers and prints what they observe.

One program per line, operations separated by ';':
  new i       nodes[i] = Node()
  link i j    nodes[i].ref = nodes[j]
  unlink i    nodes[i].ref = None
  del i       nodes[i] = None
  vd k i      wvd[k] = nodes[i]
  kd i j      wkd[nodes[i]] = nodes[j]
  ws i        wset.add(nodes[i])
  fin i       weakref.finalize(nodes[i], bump)
  len         prints len(wvd) len(wkd) len(wset) finalizers_run
  collect     prints the number of Node objects gc.collect() found garbage
Operations naming an empty slot do nothing. Each program ends by printing
its final state after everything is released. One output line per program.

CPython's gc.collect() also counts the weakref objects its callbacks freed
(handle_weakrefs' num_freed: here the containers' own refs); pygc's weak
handles are not heap objects and are not counted. So the garbage is saved
(DEBUG_SAVEALL, after weakrefs were cleared and callbacks called, as
always), counted, and cleared by hand as tp_clear would.
"""
import gc
import sys
import weakref


class Node:
    __slots__ = ("ref", "__weakref__")

    def __init__(self):
        self.ref = None


def collect():
    gc.collect()
    found = sum(isinstance(o, Node) for o in gc.garbage)
    for o in gc.garbage:
        if isinstance(o, Node):
            o.ref = None
    gc.garbage.clear()
    return found


def run(program):
    out = []
    ran = [0]

    def bump():
        ran[0] += 1

    nodes = [None] * 8
    wvd = weakref.WeakValueDictionary()
    wkd = weakref.WeakKeyDictionary()
    wset = weakref.WeakSet()
    for op in program.split(";"):
        words = op.split()
        if not words:
            continue
        name, args = words[0], [int(w) for w in words[1:]]
        if name == "new":
            nodes[args[0]] = Node()
        elif name == "link":
            if nodes[args[0]] is not None:
                nodes[args[0]].ref = nodes[args[1]]
        elif name == "unlink":
            if nodes[args[0]] is not None:
                nodes[args[0]].ref = None
        elif name == "del":
            nodes[args[0]] = None
        elif name == "vd":
            if nodes[args[1]] is not None:
                wvd[args[0]] = nodes[args[1]]
        elif name == "kd":
            if nodes[args[0]] is not None and nodes[args[1]] is not None:
                wkd[nodes[args[0]]] = nodes[args[1]]
        elif name == "ws":
            if nodes[args[0]] is not None:
                wset.add(nodes[args[0]])
        elif name == "fin":
            if nodes[args[0]] is not None:
                weakref.finalize(nodes[args[0]], bump)
        elif name == "len":
            out += [len(wvd), len(wkd), len(wset), ran[0]]
        elif name == "collect":
            out.append(collect())
        else:
            raise ValueError(op)
    nodes = None
    out.append(collect())
    out += [len(wvd), len(wkd), len(wset), ran[0]]
    wkd.clear()
    out.append(collect())
    out += [len(wvd), len(wkd), len(wset), ran[0]]
    return out


gc.collect()
gc.disable()
gc.set_debug(gc.DEBUG_SAVEALL)
for line in sys.stdin:
    print(" ".join(map(str, run(line.strip()))))
