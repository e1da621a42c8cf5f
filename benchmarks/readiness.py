#!/usr/bin/env python3
"""Readiness benchmark (issue 5): the time from a server's first accepted
connection to `sharedserver use` returning, and what the probe costs while
waiting. Run: /usr/bin/python3 benchmarks/readiness.py [build-dir] [runs]"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build"
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 15
CLI = BUILD / "cli" / "sharedserver"

# Listens after 0.5 s, notes when it accepted its first connection, and
# counts the connections it was offered before that (the probe's cost).
SERVER = r"""
import os, socket, sys, time
port = int(sys.argv[1]); out = sys.argv[2]
time.sleep(0.5)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(64)
c, _ = s.accept(); first = time.time()
with open(out + ".tmp", "w") as f: f.write(repr(first))
os.rename(out + ".tmp", out)
while True:
    c, _ = s.accept(); c.close()
"""


def main():
    latencies, probe_cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        state.mkdir(mode=0o700)
        env = dict(os.environ, SHAREDSERVER_LOCKDIR=str(state))
        client = subprocess.Popen(["sleep", "1000"])
        try:
            for i in range(RUNS):
                mark = Path(tmp) / f"accepted{i}"
                name = f"r{i}"
                subprocess.run([str(CLI), "use", "--pid", str(client.pid), "--grace-period", "0s", "--port", "auto",
                                "--ready-port", "auto", name, "--", "/usr/bin/python3", "-c", SERVER, "{port}", str(mark)],
                               env=env, check=True, stdout=subprocess.DEVNULL)
                returned = time.time()
                accepted = float(mark.read_text())
                latencies.append((returned - accepted) * 1000)
                info = json.loads(subprocess.run([str(CLI), "info", name, "--json"], env=env, capture_output=True,
                                                 text=True, check=True).stdout)
                with open(f"/proc/{info['watcher_pid']}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                ticks = int(fields[11]) + int(fields[12])  # utime + stime of the watcher
                probe_cpu.append(ticks * 1000 / os.sysconf("SC_CLK_TCK"))
                subprocess.run([str(CLI), "admin", "kill", name], env=env, stdout=subprocess.DEVNULL)
        finally:
            client.kill()
            client.wait()
    lat = sorted(latencies)
    print(f"runs: {RUNS}, nproc {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
    print(f"first accepted connection -> use returned: median {statistics.median(lat):.1f} ms "
          f"(min {lat[0]:.1f}, max {lat[-1]:.1f}); target <= 20 ms")
    print(f"watcher CPU over a 0.5 s start with a 10 ms port probe: median {statistics.median(probe_cpu):.1f} ms "
          f"(min {min(probe_cpu):.1f}, max {max(probe_cpu):.1f})")


if __name__ == "__main__":
    main()
