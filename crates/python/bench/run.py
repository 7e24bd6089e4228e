#!/usr/bin/env python3
"""pygc-python against CPython, RustPython and Monty, side by side in one run.

usage: python3 crates/python/bench/run.py [--reps N] [--only a,b] [--no-build]
                                           [--skip rustpython,monty] [--out FILE]

Runs every program of crates/python/bench/programs/ with each interpreter,
--reps times (interleaved: one run of each interpreter per round), and
prints a Markdown table of medians (min-max):

- the time of gc.collect() itself, as each program measures it with
  time.perf_counter() (a live heap of a million objects; 400,000 objects of
  cyclic garbage; pyperformance's gc_collect and gc_traversal shapes);
- the whole program's wall time, start-up included;
- the bytes per instance of a class with two attributes (resident memory).

Every program asserts its own answers (what gc.collect() returns); a run
that fails or times out shows the interpreter's last line of stderr.

The interpreters, made or found by this script (not by CI):
- CPython: `python3` on PATH (memory figures through target/pyvenv's
  memory_profiler when it exists, else /proc);
- pygc-python: `cargo build --release -p pygc-python`;
- RustPython 0.6.0: `cargo +nightly install --locked rustpython --version
  0.6.0 --no-default-features --features stdlib,stdio,importlib,host_env,
  freeze-stdlib,threading --root target/rustpython` (it needs rustc 1.96+);
- Monty: PyPI's pydantic-monty in the venv target/montyvenv (`monty FILE`).
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
PROGRAMS = os.path.join(HERE, "programs")
TARGET = os.path.join(ROOT, "target")
TIMEOUT = 300

p = argparse.ArgumentParser()
p.add_argument("--reps", type=int, default=3)
p.add_argument("--only", default="")
p.add_argument("--skip", default="")
p.add_argument("--no-build", action="store_true")
p.add_argument("--out", default="")
args = p.parse_args()
skip = set(filter(None, args.skip.split(",")))


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, cwd=ROOT, **kw)


def pygc_python():
    if not args.no_build:
        sh(["nice", "cargo", "build", "--release", "-p", "pygc-python"])
    return os.path.join(TARGET, "release", "pygc-python")


def rustpython():
    exe = os.path.join(TARGET, "rustpython", "bin", "rustpython")
    if not os.path.exists(exe) and not args.no_build:
        sh(["nice", "cargo", "+nightly", "install", "--locked", "rustpython", "--version", "0.6.0",
            "--no-default-features", "--features",
            "stdlib,stdio,importlib,host_env,freeze-stdlib,threading",
            "--root", os.path.join(TARGET, "rustpython")])
    return exe if os.path.exists(exe) else None


def monty():
    venv = os.path.join(TARGET, "montyvenv")
    exe = os.path.join(venv, "bin", "monty")
    if not os.path.exists(exe) and not args.no_build:
        sh([sys.executable, "-m", "venv", venv])
        sh([os.path.join(venv, "bin", "pip"), "install", "--quiet", "pydantic-monty"])
    return exe if os.path.exists(exe) else None


def cpython():
    venv_python = os.path.join(TARGET, "pyvenv", "bin", "python")
    return venv_python if os.path.exists(venv_python) else shutil.which("python3")


def version(exe, flag="--version"):
    try:
        out = subprocess.run([exe, flag], capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except Exception as e:  # noqa: BLE001
        return "unknown (%s)" % e


interpreters = [("CPython", cpython())]
interpreters.append(("pygc-python", pygc_python()))
if "rustpython" not in skip:
    interpreters.append(("RustPython", rustpython()))
if "monty" not in skip:
    interpreters.append(("Monty", monty()))
interpreters = [(n, e) for n, e in interpreters if e]

programs = sorted(f[:-3] for f in os.listdir(PROGRAMS) if f.endswith(".py"))
if args.only:
    programs = [p for p in programs if p in args.only.split(",")]


def run_once(exe, program):
    path = os.path.join(PROGRAMS, program + ".py")
    t0 = time.perf_counter()
    try:
        r = subprocess.run([exe, path], capture_output=True, text=True, timeout=TIMEOUT, cwd=PROGRAMS)
    except subprocess.TimeoutExpired:
        return {"error": "timeout (> %d s)" % TIMEOUT}
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        lines = [l for l in r.stderr.strip().splitlines() if l.strip()]
        return {"error": lines[-1].strip() if lines else "exit %d" % r.returncode}
    out = {"wall": wall}
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, value = line.split()
            out[key] = float(value)
    return out


results = {(n, p): [] for n, _ in interpreters for p in programs}
for rep in range(args.reps):
    for program in programs:
        order = interpreters if rep % 2 == 0 else list(reversed(interpreters))
        for name, exe in order:
            log("round %d: %s %s" % (rep + 1, name, program))
            results[(name, program)].append(run_once(exe, program))


def cell(name, program, key):
    runs = results[(name, program)]
    errors = [r["error"] for r in runs if "error" in r]
    if errors:
        return None, "fails: `%s`" % errors[0].replace("|", "\\|")[:90]
    vals = [r[key] for r in runs if key in r]
    if not vals:
        return None, "–"
    med = statistics.median(vals)
    return med, vals


def fmt_time(v):
    if v >= 1:
        return "%.2f s" % v
    if v >= 1e-3:
        return "%.1f ms" % (v * 1e3)
    return "%.0f µs" % (v * 1e6)


def fmt(name, program, key, unit):
    med, vals = cell(name, program, key)
    if med is None:
        return vals, None
    if unit == "s":
        return "%s (%s–%s)" % (fmt_time(med), fmt_time(min(vals)), fmt_time(max(vals))), med
    return "%.1f B" % med, med


ROWS = [
    ("`gc.collect()`, live heap of 1M objects", "live_heap_1m", "collect_seconds", "s"),
    ("`gc.collect()`, 400,000 objects of cyclic garbage", "cyclic_garbage", "collect_seconds", "s"),
    ("`gc.collect()`, pyperformance gc_collect shape", "gc_collect", "collect_seconds", "s"),
    ("`gc.collect()`, pyperformance gc_traversal shape", "gc_traversal", "collect_seconds", "s"),
] + [("whole program: `%s.py`" % p, p, "wall", "s") for p in programs if p != "bytes_per_instance"] + [
    ("bytes per instance, class with 2 attributes", "bytes_per_instance", "bytes_per_instance", "B"),
]

names = [n for n, _ in interpreters]
lines = []
lines.append("| measure | " + " | ".join(names) + " | pygc-python / CPython |")
lines.append("|---|" + "---|" * len(names) + "---|")
for title, program, key, unit in ROWS:
    if program not in programs:
        continue
    cells, meds = [], {}
    for n in names:
        text, med = fmt(n, program, key, unit)
        cells.append(text)
        meds[n] = med
    ratio = "–"
    if meds.get("CPython") and meds.get("pygc-python") is not None:
        ratio = "%.2fx" % (meds["pygc-python"] / meds["CPython"])
    lines.append("| %s | %s | %s |" % (title, " | ".join(cells), ratio))

header = [
    "- Command: `python3 crates/python/bench/run.py --reps %d`" % args.reps,
    "- Date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    "- Machine: %s, %d cores, load average %.2f when the run ended"
    % (os.uname().machine, os.cpu_count() or 0, os.getloadavg()[0]),
] + ["- %s: `%s`" % (n, version(e)) for n, e in interpreters] + [
    "- Each cell: median of %d runs (min–max), interpreters interleaved round by round." % args.reps,
    "",
]
text = "\n".join(header + lines) + "\n"
print(text)
if args.out:
    with open(args.out, "w") as f:
        f.write(text)
