# pyperformance's gc_collect shape (written anew): rings of linked nodes
# become garbage at once; the timed part is the gc.collect() that frees them.
import gc
import time

N_CYCLES = 1000
N_LINKS = 100
LOOPS = 3


class Node:
    def __init__(self, value):
        self.value = value
        self.next = None
        self.prev = None


def create_cycle(node, n_links):
    current = node
    for i in range(n_links):
        next_node = Node(i)
        current.next = next_node
        next_node.prev = current
        current = next_node
    current.next = node
    node.prev = current


def create_gc_cycles(n_cycles, n_links):
    cycles = []
    for _ in range(n_cycles):
        node = Node(0)
        create_cycle(node, n_links)
        cycles.append(node)
    return cycles


total = 0.0
for _ in range(LOOPS):
    gc.collect()
    all_cycles = create_gc_cycles(N_CYCLES, N_LINKS)
    del all_cycles
    t0 = time.perf_counter()
    collected = gc.collect()
    total += time.perf_counter() - t0
    assert collected >= N_CYCLES * (N_LINKS + 1), collected
print("RESULT collect_seconds %.6f" % (total / LOOPS))
print("RESULT objects %d" % (N_CYCLES * (N_LINKS + 1)))
