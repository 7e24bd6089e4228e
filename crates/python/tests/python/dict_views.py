d = {"a": 1, "b": 2, "c": 3}
k, v, i = d.keys(), d.values(), d.items()
print(k, v, i)
print(type(k).__name__, type(v).__name__, type(i).__name__)
print(len(k), "a" in k, "z" in k, 2 in v, ("b", 2) in i, ("b", 3) in i)
d["d"] = 4
print(list(k), list(v), list(i))
print(k & {"a", "d", "x"} == {"a", "d"}, sorted(k | {"z"}), sorted(k - {"a"}), sorted(k ^ {"a", "q"}))
print(k == {"a", "b", "c", "d"}, i == {("a", 1), ("b", 2), ("c", 3), ("d", 4)}, k != {"a"})
print(list(reversed(k)), list(reversed(i))[0])
print(k.mapping["a"], sorted(i & {("a", 1)}))
del d["a"]
print(k, len(v))
try:
    for key in d.keys():
        d["new" + key] = 0
except RuntimeError as e:
    print("RuntimeError", e)
e = {}
print(e.keys(), e.values(), e.items(), len(e.items()))
for key, value in {"x": 1, "y": 2}.items():
    print(key, value)
print(sorted({"b": 1, "a": 2}))
print(list(zip(d.keys(), d.values()))[:2])
