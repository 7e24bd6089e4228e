# Bytes per instance of a class with two attributes: the resident memory that
# 200,000 instances add, minus what 200,000 list slots add by themselves.
import gc

N = 200000


class Pair:
    def __init__(self, a, b):
        self.a = a
        self.b = b


def rss_bytes():
    try:
        from memory_profiler import memory_usage

        return memory_usage(-1)[0] * 1048576
    except ImportError:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096


one = Pair(None, None)
gc.collect()
base = rss_bytes()
slots = [one] * N
with_slots = rss_bytes()
objs = [Pair(None, None) for i in range(N)]
with_objs = rss_bytes()
per_slot = (with_slots - base) / N
per_object = (with_objs - with_slots) / N - per_slot
print("RESULT bytes_per_instance %.1f" % per_object)
print("RESULT bytes_per_slot %.1f" % per_slot)
