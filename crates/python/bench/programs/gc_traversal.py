# pyperformance's gc_traversal shape (written anew): a big live structure of
# nested lists; the timed part is gc.collect() walking it and finding nothing.
import gc
import time

N_LEVELS = 1000
LOOPS = 5


def create_recursive_containers(n_levels):
    current_list = []
    for n in range(n_levels):
        new_list = [None] * n
        for index in range(n):
            new_list[index] = current_list
        current_list = new_list
    return current_list


all_cycles = create_recursive_containers(N_LEVELS)
total = 0.0
for _ in range(LOOPS):
    gc.collect()
    t0 = time.perf_counter()
    collected = gc.collect()
    total += time.perf_counter() - t0
    assert collected == 0, collected
print("RESULT collect_seconds %.6f" % (total / LOOPS))
