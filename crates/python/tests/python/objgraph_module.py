# objgraph's functions on the program's own objects (the census of each
# interpreter's start-up objects differs; these do not).
import gc
import objgraph


class Node:
    def __init__(self, name):
        self.name = name
        self.ref = None


class Leaf:
    pass


def mine(o):
    return type(o).__name__ in ("Node", "Leaf")


class Sink:
    def __init__(self):
        self.parts = []

    def write(self, s):
        self.parts.append(s)

    def text(self):
        return "".join(self.parts)


objgraph.show_growth(filter=mine)
nodes = [Node(i) for i in range(30)]
leaves = [Leaf() for i in range(10)]
print("-- show_growth")
objgraph.show_growth(filter=mine)
print("-- again, nothing new")
objgraph.show_growth(filter=mine)
print("-- growth()")
more = [Node(i) for i in range(5)]
print(objgraph.growth(filter=mine))
print("-- counts")
print(objgraph.count("Node"), objgraph.count("Leaf"), objgraph.count("__main__.Node"))
print(objgraph.count("Node", nodes[:7]))
print(len(objgraph.by_type("Leaf")), len(objgraph.by_type("__main__.Leaf")))
print(objgraph.typestats(objects=nodes + leaves))
print(objgraph.typestats(objects=leaves, shortnames=False))
print(objgraph.most_common_types(limit=2, objects=nodes + leaves + leaves))
sink = Sink()
objgraph.show_most_common_types(limit=2, objects=leaves + nodes, file=sink)
print(sink.text(), end="")
objgraph.show_most_common_types(objects=leaves, shortnames=False, file=sink)
print(sink.text().splitlines()[-1])
print("-- at")
print(objgraph.at(id(nodes[3])) is nodes[3])
print("-- chains")
a, b, c = Node("a"), Node("b"), Node("c")
a.ref = b
b.ref = c
chain = objgraph.find_ref_chain(a, lambda o: o is c)
print([o.name for o in chain])
chain = objgraph.find_backref_chain(c, lambda o: o is a)
print([getattr(o, "name", "?") for o in chain])
print("-- graphs as DOT")
out = Sink()
objgraph.show_refs([a], max_depth=2, output=out, filter=mine)
dot = out.text()
print(dot.splitlines()[0], dot.count(" -> "), "Node" in dot)
out = Sink()
objgraph.show_backrefs(c, max_depth=2, output=out, filter=mine)
dot = out.text()
print(dot.splitlines()[0], dot.count(" -> "), "Node" in dot)
out = Sink()
objgraph.show_chain(objgraph.find_backref_chain(c, lambda o: o is a), output=out)
print(out.text().splitlines()[0], out.text().count(" -> "))
try:
    objgraph.show_refs([a], output=Sink(), filename="x.dot")
except ValueError as e:
    print("ValueError", e)
print("-- a leak, found and collected")
leak = Node("leak")
leak.ref = leak
del leak
objgraph.show_growth(filter=mine)
print(gc.collect())
