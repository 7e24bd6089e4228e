import sys
x = []
print(sys.getrefcount(x))
y = x
print(sys.getrefcount(x))
del y
print(sys.getrefcount(x))
l = [x, x]
print(sys.getrefcount(x))
d = {"k": x}
print(sys.getrefcount(x))
def f(a):
    return sys.getrefcount(a)
print(f(x))
class Q:
    def m(self):
        return sys.getrefcount(self)
q = Q()
print(sys.getrefcount(q), q.m())
for i in [x]:
    print(sys.getrefcount(i))
t = (x,)
print(sys.getrefcount(x))
