"""Attach through the Python module (pybind11), imported from the build tree.
Run by bench_sharedserver (section `python`), which starts the server `name`
with another client first, so every use is a plain attach (refcount 1 -> 2)
and every release a plain detach (2 -> 1):

    PYTHONPATH=<build>/bindings/python SHAREDSERVER_LOCKDIR=<dir> \
        /usr/bin/python3 benchmarks/attach.py <name> <batches> <ops per batch>

Times `sharedserver.use(name)` (the public API: it returns a Lease) and
`Lease.release()` with time.perf_counter_ns (CLOCK_MONOTONIC) and the
thread's CPU time; prints one JSON object on stdout.
"""

import json
import sys
import time

name, batches, ops = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

t0 = time.perf_counter_ns()
import sharedserver  # noqa: E402

import_us = (time.perf_counter_ns() - t0) / 1e3

for _ in range(100):  # warm-up
    sharedserver.use(name).release()

attach, attach_cpu, detach = [], [], []
clock, cpu = time.perf_counter_ns, time.thread_time_ns
for _ in range(batches):
    for _ in range(ops):
        c0 = cpu()
        w0 = clock()
        lease = sharedserver.use(name)
        w1 = clock()
        c1 = cpu()
        lease.release()
        w2 = clock()
        if lease.outcome is not sharedserver.Outcome.ATTACHED or lease.refcount != 2:
            sys.exit(f"use: expected a plain attach at refcount 2, got {lease.outcome} {lease.refcount}")
        attach.append((w1 - w0) / 1e3)
        attach_cpu.append((c1 - c0) / 1e3)
        detach.append((w2 - w1) / 1e3)

json.dump({"import_us": import_us, "attach_us": attach, "attach_cpu_us": attach_cpu, "detach_us": detach}, sys.stdout)
print()
