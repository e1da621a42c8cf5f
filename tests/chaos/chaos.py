#!/usr/bin/python3
"""Chaos test for sharedserver (issue 7).

Concurrent actors drive the real CLI with random `use`, `unuse`, `admin stop`,
`admin restart`, reads, and `kill -9` of clients, of CLI processes in the
middle of a transaction, of watchers and of servers, across a few names. At
every quiet point (no operation in flight) the invariants are checked:

  I1 at most one live server (process group) per name;
  I2 every recorded client is alive, and every live client that attached and
     did not leave is recorded (and nothing else is);
  I3 every live server has a live watcher, or is adopted by the next command;
  I4 no record outlives its server once the state is repaired; no record is
     left half-way through an operation (`stopping`, `restarting`) once
     repaired; no server and no watcher runs without a record (no orphan);
  I5 sharedserver never signals a process it does not own: our clients, the
     CLI processes and a few bystanders die only by our own SIGKILL;
  I6 at the end, with every client gone, every server and watcher exits on
     its own within its grace period: no process is left.

What the model knows (the documented semantics, docs/DESIGN.md section 5):
`use` attaches; `unuse` detaches; `admin stop` and a server's death end every
attachment; `admin restart` stops and starts the server under the name's lock
*keeping its clients* -- so a server that dies while a restart is in flight
may or may not take its clients with it (the restart may have read the
clients before the death and started the new server with them). Whenever an
operation raced another one (or was killed midway), the model marks the
attachments it could not predict "uncertain" and resolves them from the
records at the next quiet point, after the checks that do not depend on them.
A repair (a dead watcher, a stale or half-written record) is only acceptable
on a name where a fault was injected since the last quiet point; the "next
command" that must repair it is, in turn, `admin doctor <name>` and an
ordinary transaction (`unuse` of a pid that is not attached).

Usage:
  tests/chaos/chaos.py                      # 60 s, 4 actors, 3 names, random seed
  tests/chaos/chaos.py --seed 42            # replay a seed's schedule
  tests/chaos/chaos.py --duration 300       # longer
  tests/chaos/chaos.py --soak               # 10 min, 8 actors, 5 names
  tests/chaos/chaos.py --soak --duration 3600
  CHAOS_SEED=42 CHAOS_DURATION=120 pytest tests/chaos -k bounded   # the CI run
The binaries come from $SHAREDSERVER_BUILD_DIR (default <source>/build).
Options: --actors N, --names N, --quiet-every S, --kill-cli P (probability a
CLI call is killed mid-flight), --settle S, --verbose (print every operation).

Output: the counts of operations, of injected faults and of invariant checks
made. Exit 0 when every check held; 1 on a violation, printing the violations,
the last operations, the seed and the command that replays it (the schedule
is seeded per actor; the timing is the machine's, so a race may need a few
replays or a longer --duration). A failed run also keeps its whole operation
log and a copy of its state dir (the event logs) in $CHAOS_ARTIFACTS, or in a
sharedserver-chaos-failure-seed<N>-* directory under the temp dir, and says
where. On SIGTERM/SIGINT, and however it ends, everything the run started is
killed by pid.
"""

import argparse
import collections
import json
import os
import random
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("SHAREDSERVER_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("SHAREDSERVER_BUILD_DIR", SOURCE_DIR / "build"))

OP_TIMEOUT = 30.0        # a CLI call that takes longer is a hang (a violation)
SETTLE_TIMEOUT = 12.0    # how long a quiet point waits for the state to settle
GRACE_CHOICES = ["0s", "150ms", "500ms", "1s", "2s"]
MAX_GRACE_S = 2.0
SOAK_DURATION = 600.0


# ---------------------------------------------------------------- processes

def proc_stat(pid):
    """(state, ppid, pgid, starttime) of a pid, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[2]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid, start=None):
    if not pid or pid <= 0:
        return False
    st = proc_stat(pid)
    if not st or st[0] in ("Z", "X", "x"):
        return False
    return start is None or st[3] == start


def proc_environ(pid):
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def wait_dead(pid, start=None, timeout=5.0):
    deadline = time.monotonic() + timeout
    while alive(pid, start):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


def kill_exact(pid, start, sig=signal.SIGKILL):
    """Signals (pid, start) and nothing else: through a pidfd opened before the
    start stamp is checked, so a recycled pid is never hit. True if sent."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return False
    try:
        if not alive(pid, start):
            return False
        signal.pidfd_send_signal(fd, sig)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def tagged_pids(token):
    """Live processes whose environment carries CHAOS_TOKEN=token: everything
    a run started (clients, bystanders, CLI calls, watchers, servers)."""
    tag = f"CHAOS_TOKEN={token}".encode()
    return [p for p in all_pids() if p != os.getpid() and tag in proc_environ(p) and alive(p)]


def kill_matching(match, timeout=5.0):
    """SIGKILLs every live process for which match(environ, cmdline) holds,
    by pid (and start stamp) and by its process group, again and again until
    none is left: a server's shell may fork between a scan and its kill, and
    a killed watcher's server is nobody's to stop. Every group killed is one
    of these processes' own (sessions and groups of their own), never ours.
    Returns the pids it killed."""
    killed = set()
    own_group = os.getpgrp()
    deadline = time.monotonic() + timeout
    while True:
        found = {}
        for pid in all_pids():
            st = proc_stat(pid)
            if pid == os.getpid() or not st or st[0] in ("Z", "X", "x"):
                continue
            if match(proc_environ(pid), proc_cmdline(pid)):
                found[pid] = st
        if not found or time.monotonic() > deadline:
            return sorted(killed)
        for pid, st in found.items():
            if kill_exact(pid, st[3]):
                killed.add(pid)
            if st[2] > 1 and st[2] != own_group:
                try:
                    os.killpg(st[2], signal.SIGKILL)   # a live member: the group id is not reused
                except OSError:
                    pass
        time.sleep(0.02)


def is_watcher_of(cmdline, state_dir):
    return bool(cmdline) and cmdline[0].endswith(b"sharedserver-watcher") and str(state_dir).encode() in cmdline


def kill_tagged(token, state_dir=None):
    """SIGKILLs every live process of the run `token` and any watcher of
    `state_dir` (see kill_matching); returns the pids it killed."""
    tag = f"CHAOS_TOKEN={token}".encode()
    return kill_matching(lambda env, cmd: tag in env or (state_dir is not None and is_watcher_of(cmd, state_dir)))


def reap_tagged(token, state_dir=None, wait=3.0):
    """After a run: gives what it killed `wait` seconds to die, then kills,
    by pid, whatever of it still lives; returns those pids (none, normally)."""
    deadline = time.monotonic() + wait
    while tagged_pids(token) and time.monotonic() < deadline:
        time.sleep(0.05)
    return kill_tagged(token, state_dir)


# ---------------------------------------------------------------- the run

class Chaos:
    def __init__(self, args, token=None):
        self.args = args
        self.seed = args.seed
        self.token = token or args.token or f"chaos{os.getpid()}x{self.seed}x{time.monotonic_ns()}"
        self.root = Path(tempfile.mkdtemp(prefix="sharedserver-chaos-"))
        self.dir = self.root / "state"
        self.dir.mkdir(mode=0o700)
        self.cli = str(BUILD_DIR / "cli" / "sharedserver")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHAOS_")}
        env.update(SHAREDSERVER_LOCKDIR=str(self.dir), NO_COLOR="1", CHAOS_TOKEN=self.token)
        watcher = BUILD_DIR / "watcher" / "sharedserver-watcher"
        if watcher.exists():
            env["SHAREDSERVER_WATCHER"] = str(watcher)
        self.env = env
        self.settle_timeout = args.settle
        self.finale_timeout = MAX_GRACE_S + 12
        self.names = [f"svc{i}" for i in range(args.names)]
        self.lock = threading.RLock()
        self.counts = collections.Counter()      # operations and faults
        self.checks = collections.Counter()      # invariant checks made
        self.violations = []
        self.clients = {}        # pid -> Popen (live clients we started)
        self.client_start = {}   # pid -> start stamp
        self.busy = set()        # client pids an actor is working with
        self.dead_clients = []   # Popen of clients we killed (to verify how they died)
        self.cli_procs = {}      # pid -> Popen of CLI processes in flight
        self.bystanders = []
        self.faulted = set()     # names a fault may have left needing the next command's repair
        # pair (client pid, name) -> "attached" | "uncertain"; absent: detached
        self.pairs = {}
        self.gen = collections.Counter()         # per name: bumped by every server-ending operation
        self.ending_in_flight = collections.Counter()
        self.restarts_in_flight = collections.Counter()
        self.restart_epoch = collections.Counter()   # per name: bumped when a restart begins
        self.in_flight = 0
        self.idle = threading.Condition(self.lock)
        self.pause = threading.Event()
        self.stop = threading.Event()
        self.log_lines = collections.deque(maxlen=200_000)   # all of a soak run; saved on failure
        self.server_cmd = ["/bin/sh", "-c", "sleep 100000 & wait"]
        self.repairs_made = 0
        self.reported_bystanders = set()
        self.t0 = time.monotonic()

    # ---------------------------------------------------------- helpers

    def log(self, text):
        line = f"{time.monotonic() - self.t0:8.3f} {text}"
        with self.lock:
            self.log_lines.append(line)
        if self.args.verbose:
            print(line, flush=True)

    def violation(self, text):
        with self.lock:
            self.violations.append(text)
        self.log("VIOLATION " + text)

    def child_env(self, **extra):
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CHAOS_TOKEN": self.token, **extra}

    def spawn_client(self):
        proc = subprocess.Popen(["sleep", "100000"], stdin=subprocess.DEVNULL, start_new_session=True,
                                env=self.child_env(CHAOS_CLIENT=self.token))
        st = proc_stat(proc.pid)
        with self.lock:
            self.clients[proc.pid] = proc
            self.client_start[proc.pid] = st[3] if st else 0
        self.counts["clients spawned"] += 1
        return proc.pid

    def spawn_bystander(self):
        proc = subprocess.Popen(["sleep", "100000"], stdin=subprocess.DEVNULL, start_new_session=True,
                                env=self.child_env(CHAOS_BYSTANDER="1"))
        self.bystanders.append(proc)
        return proc

    def run_cli(self, rng, args, kill_p):
        """Runs the CLI; with probability kill_p, SIGKILLs it mid-flight.
        Returns (returncode or None when killed, stdout, stderr)."""
        proc = subprocess.Popen([self.cli, *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=self.env, text=True, start_new_session=True)
        with self.lock:
            self.cli_procs[proc.pid] = proc
        killed = False
        try:
            if kill_p and rng.random() < kill_p:
                time.sleep(rng.random() * 0.03)
                if proc.poll() is None:
                    proc.kill()   # Popen.kill: only while not reaped, so never a recycled pid
                    killed = True
            try:
                out, err = proc.communicate(timeout=OP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
                self.violation(f"hang: `sharedserver {' '.join(map(str, args))}` took over {OP_TIMEOUT}s")
                killed = True
        finally:
            with self.lock:
                self.cli_procs.pop(proc.pid, None)
        rc = proc.returncode
        if killed and rc != -signal.SIGKILL:
            killed = False   # it had finished before the signal landed: a complete result
        elif killed:
            self.counts["fault: kill -9 CLI mid-transaction"] += 1
        if rc is not None and rc < 0 and not killed:
            self.violation(f"CLI `sharedserver {' '.join(map(str, args))}` died of signal {-rc} that we did not send"
                           f" (stderr: {err.strip()!r})")
        if rc is not None and rc > 0 and ("AddressSanitizer" in err or "runtime error:" in err
                                          or "LeakSanitizer" in err or "ThreadSanitizer" in err):
            self.violation(f"sanitizer report from `sharedserver {' '.join(map(str, args))}`:\n{err}")
        return (None if killed else rc), out, err

    def read_json(self, path):
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return "corrupt"

    # ---------------------------------------------------------- operations

    def op_use(self, rng):
        name = rng.choice(self.names)
        with self.lock:
            candidates = [p for p in self.clients if p not in self.busy and self.pairs.get((p, name)) != "attached"]
            pid = rng.choice(candidates) if candidates and rng.random() < 0.7 else None
            if pid is not None:
                self.busy.add(pid)
        if pid is None:
            pid = self.spawn_client()
            with self.lock:
                self.busy.add(pid)
        try:
            with self.lock:
                gen0 = self.gen[name]
            grace = rng.choice(GRACE_CHOICES)
            rc, out, err = self.run_cli(rng, ["use", "--pid", pid, "--grace-period", grace,
                                              "--env", f"CHAOS_RUN={self.token}", "--env", f"CHAOS_NAME={name}",
                                              name, "--", *self.server_cmd], self.args.kill_cli)
            with self.lock:
                # A server-ending operation that overlapped may have come after the attach.
                raced = self.gen[name] != gen0 or self.ending_in_flight[name] > 0
                if rc == 0:
                    self.pairs[(pid, name)] = "uncertain" if raced else "attached"
                    self.counts["use ok: " + (out.split() or ["(no output)"])[0]] += 1
                elif rc is None:
                    self.pairs[(pid, name)] = "uncertain"
                    self.faulted.add(name)
                else:
                    self.pairs[(pid, name)] = "uncertain"
                    self.violation(f"use of {name} by client {pid} failed (exit {rc}): {err.strip()}")
            self.log(f"use {name} pid={pid} grace={grace} -> {rc} {out.strip()} {err.strip()}")
        finally:
            with self.lock:
                self.busy.discard(pid)

    def op_unuse(self, rng):
        with self.lock:
            candidates = [(p, n) for (p, n), s in self.pairs.items() if p not in self.busy and p in self.clients]
            if not candidates:
                return False
            pid, name = rng.choice(candidates)
            self.busy.add(pid)
            state = self.pairs[(pid, name)]
            gen0 = self.gen[name]
        try:
            rc, out, err = self.run_cli(rng, ["unuse", "--pid", pid, name], self.args.kill_cli)
            with self.lock:
                raced = self.gen[name] != gen0 or self.ending_in_flight[name] > 0
                if rc == 0:
                    self.pairs.pop((pid, name), None)
                    self.counts["unuse ok"] += 1
                elif rc is None:
                    self.pairs[(pid, name)] = "uncertain"
                    self.faulted.add(name)
                elif "is not attached" in err or "is not running" in err:
                    # Under the lock the client was not recorded, and nothing but
                    # its own `use` (it is busy) can record it again.
                    if self.pairs.get((pid, name)) == "attached" and not raced:
                        self.violation(f"lost reference: unuse of {name} by attached client {pid} failed"
                                       f" (exit {rc}): {err.strip()}")
                    self.pairs.pop((pid, name), None)
                    self.counts["unuse refused (not attached)"] += 1
                else:
                    self.pairs[(pid, name)] = "uncertain"
                    self.violation(f"unuse of {name} by client {pid} failed (exit {rc}): {err.strip()}")
            self.log(f"unuse {name} pid={pid} ({state}) -> {rc} {out.strip()} {err.strip()}")
        finally:
            with self.lock:
                self.busy.discard(pid)
        return True

    def ending_op(self, kind, name, action, restart_epoch0=None):
        """A server-ending operation: every attachment to `name` ends with it,
        unless (a server's death only) an `admin restart` overlapped it: the
        restart keeps the clients, and it may have read them before the death
        and started the new server with them."""
        with self.lock:
            if restart_epoch0 is None:
                restart_epoch0 = self.restart_epoch[name]
            self.gen[name] += 1
            self.ending_in_flight[name] += 1
        ok = None
        try:
            ok = action()
        finally:
            with self.lock:
                self.gen[name] += 1
                self.ending_in_flight[name] -= 1
                kept = kind == "kill-server" and (self.restarts_in_flight[name] > 0
                                                  or self.restart_epoch[name] != restart_epoch0)
                if kept and ok is True:
                    self.counts["model: server death raced a restart (clients may be kept)"] += 1
                # Attachments made before this operation began end with it; those
                # made while it ran may have come before or after it (uncertain).
                for key, state in list(self.pairs.items()):
                    if key[1] != name:
                        continue
                    if ok is True and state == "attached" and not kept:
                        self.pairs.pop(key)
                    else:
                        self.pairs[key] = "uncertain"
                if ok is not True:
                    self.faulted.add(name)
        return ok

    def op_stop(self, rng):
        name = rng.choice(self.names)

        def action():
            rc, out, err = self.run_cli(rng, ["admin", "stop", "--force", "--timeout", "2s", name],
                                        self.args.kill_cli)
            self.log(f"admin stop {name} -> {rc} {out.strip()} {err.strip()}")
            if rc == 0:
                self.counts["admin stop ok"] += 1
                return True
            if rc is not None and "is not running" in err:
                self.counts["admin stop: not running"] += 1
                return True
            if rc is not None:
                self.violation(f"admin stop {name} failed (exit {rc}): {err.strip()}")
            return None
        self.ending_op("stop", name, action)

    def op_restart(self, rng):
        """`admin restart` stops and starts again under the lock, keeping the
        clients: a success ends no attachment. Killed midway, it may have
        stopped the server without starting it again: uncertain."""
        name = rng.choice(self.names)
        with self.lock:
            self.ending_in_flight[name] += 1
            self.gen[name] += 1
            self.restarts_in_flight[name] += 1
            self.restart_epoch[name] += 1
        try:
            rc, out, err = self.run_cli(rng, ["admin", "restart", name], self.args.kill_cli)
        finally:
            with self.lock:
                self.ending_in_flight[name] -= 1
                self.gen[name] += 1
                self.restarts_in_flight[name] -= 1
        self.log(f"admin restart {name} -> {rc} {out.strip()} {err.strip()}")
        with self.lock:
            if rc == 0:
                self.counts["admin restart ok"] += 1   # the clients stay attached
            elif rc is not None and "is not running" in err:
                self.counts["admin restart: not running"] += 1
            else:
                for key in [k for k in self.pairs if k[1] == name]:
                    self.pairs[key] = "uncertain"
                self.faulted.add(name)
                if rc is not None:
                    self.violation(f"admin restart {name} failed (exit {rc}): {err.strip()}")

    def op_kill_client(self, rng):
        with self.lock:
            candidates = [p for p in self.clients if p not in self.busy]
            if len(candidates) < 2:
                return False
            pid = rng.choice(candidates)
            proc = self.clients.pop(pid)
            for key in [k for k in self.pairs if k[0] == pid]:
                self.pairs.pop(key)
        proc.kill()
        proc.wait()
        with self.lock:
            self.dead_clients.append(proc)
        self.counts["fault: kill -9 client"] += 1
        self.log(f"kill -9 client {pid}")
        return True

    def op_kill_watcher(self, rng):
        name = rng.choice(self.names)
        record = self.read_json(self.dir / f"{name}.server.json")
        if not isinstance(record, dict):
            return False
        pid, start = record.get("watcher_pid"), record.get("watcher_start")
        if not pid or not alive(pid, start) or not self.is_our_watcher(pid):
            return False
        with self.lock:
            self.faulted.add(name)
        if not kill_exact(pid, start):
            return False
        wait_dead(pid, start)
        self.counts["fault: kill -9 watcher"] += 1
        self.log(f"kill -9 watcher {pid} of {name}")
        return True

    def op_kill_server(self, rng):
        name = rng.choice(self.names)
        with self.lock:
            epoch0 = self.restart_epoch[name]   # before the record is read: a restart may replace it
        record = self.read_json(self.dir / f"{name}.server.json")
        if not isinstance(record, dict):
            return False
        pid, start = record.get("pid"), record.get("pid_start")
        if not pid or not alive(pid, start) or f"CHAOS_RUN={self.token}".encode() not in proc_environ(pid):
            return False
        hit = []

        def action():
            # The leader only: its group's other member must be reaped too.
            if not kill_exact(pid, start):
                return None   # it was gone already: whatever ended it is accounted for elsewhere
            hit.append(pid)
            wait_dead(pid, start)
            return True
        self.ending_op("kill-server", name, action, restart_epoch0=epoch0)
        if hit:
            self.counts["fault: kill -9 server"] += 1
            self.log(f"kill -9 server {pid} of {name}")
        return bool(hit)

    def op_read(self, rng):
        name = rng.choice(self.names)
        args = rng.choice([["check", name], ["info", "--json", name], ["list", "--json"]])
        rc, out, err = self.run_cli(rng, args, 0)
        if rc not in (0, 1, 2, 3):
            self.violation(f"`sharedserver {' '.join(args)}` failed (exit {rc}): {err.strip()}")
        self.counts["read (check/info/list)"] += 1

    def actor(self, index):
        rng = random.Random(f"{self.seed}:{index}")
        ops = [(self.op_use, 34), (self.op_unuse, 22), (self.op_kill_client, 9), (self.op_stop, 5),
               (self.op_restart, 4), (self.op_kill_watcher, 5), (self.op_kill_server, 5), (self.op_read, 8)]
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]
        while not self.stop.is_set():
            with self.lock:
                while self.pause.is_set() and not self.stop.is_set():
                    self.idle.wait(0.05)
                if self.stop.is_set():
                    return
                self.in_flight += 1
            try:
                rng.choices(funcs, weights)[0](rng)
            except Exception as e:  # a bug in the driver is a failure too
                self.violation(f"driver error in actor {index}: {e!r}")
            finally:
                with self.lock:
                    self.in_flight -= 1
                    self.idle.notify_all()
            time.sleep(rng.random() * 0.01)

    # ---------------------------------------------------------- invariants

    def is_our_watcher(self, pid):
        cmd = proc_cmdline(pid)
        return bool(cmd) and cmd[0].endswith(b"sharedserver-watcher") and str(self.dir).encode() in cmd

    def scan(self):
        """Live servers (by name -> {pgid: [pids]}) and watchers of this run."""
        servers = collections.defaultdict(lambda: collections.defaultdict(list))
        watchers = []
        tag = f"CHAOS_RUN={self.token}".encode()
        for pid in all_pids():
            st = proc_stat(pid)
            if not st or st[0] in ("Z", "X"):
                continue
            env = proc_environ(pid)
            if tag in env:
                name = next((e.split(b"=", 1)[1].decode() for e in env if e.startswith(b"CHAOS_NAME=")), "?")
                servers[name][st[2]].append(pid)
            elif self.is_our_watcher(pid):
                watchers.append(pid)
        return servers, watchers

    def evaluate(self, repair):
        """One pass over every invariant; returns the list of problems. Names
        whose state needs the next command's repair go into `repair` (name ->
        why)."""
        problems = []
        servers, watchers = self.scan()
        recorded_watchers = set()
        recorded_pgids = {}
        for name in self.names:
            record = self.read_json(self.dir / f"{name}.server.json")
            clients = self.read_json(self.dir / f"{name}.clients.json")
            live_groups = servers.get(name, {})
            self.checks["I1 one server per name"] += 1
            if len(live_groups) > 1:
                problems.append(f"I1: {name} has {len(live_groups)} live servers (process groups): "
                                f"{ {g: p for g, p in live_groups.items()} }")
            if record == "corrupt" or clients == "corrupt":
                problems.append(f"I4: a record of {name} is corrupt")
                continue
            recorded = {}
            if isinstance(clients, dict):
                recorded = {int(p): c.get("start") for p, c in clients.get("clients", {}).items()}
            server_live = False
            watcher_live = False
            if record:
                server_live = alive(record.get("pid", 0), record.get("pid_start"))
                watcher_live = alive(record.get("watcher_pid", 0), record.get("watcher_start"))
                self.checks["I4 no record outlives its server"] += 1
                if not server_live:
                    if watcher_live:
                        problems.append(f"I4: the record of {name} names pid {record.get('pid')}, which is gone,"
                                        f" and its watcher {record.get('watcher_pid')} has not removed it")
                    else:
                        repair[name] = f"a record of dead server {record.get('pid')} with a dead watcher"
                else:
                    recorded_pgids[record.get("pgid") or record["pid"]] = name
                    self.checks["I3 live server has a live watcher"] += 1
                    if not watcher_live:
                        repair[name] = f"live server {record['pid']} without a watcher"
                    else:
                        recorded_watchers.add(record["watcher_pid"])
                    self.checks["I4 record not left mid-operation"] += 1
                    for flag in ("stopping", "restarting"):
                        if record.get(flag):
                            # Set only under the lock by an operation in flight (we
                            # have none) or by the watcher of a dead server: left by
                            # a stop/restart that was killed midway.
                            repair[name] = f"the record of live server {record['pid']} is still marked {flag}"
            elif clients:
                self.checks["I4 no record outlives its server"] += 1
                problems.append(f"I4: {name} has a clients record but no server record")
            # I2: recorded clients are alive; attached clients are recorded
            for pid, start in recorded.items():
                self.checks["I2 recorded client alive"] += 1
                if not alive(pid, start):
                    if watcher_live:
                        problems.append(f"I2: client {pid} of {name} is dead but still recorded")
                    else:
                        repair.setdefault(name, f"dead client {pid} recorded, and no watcher")
                with self.lock:
                    state = self.pairs.get((pid, name))
                if state is None and alive(pid, start):
                    problems.append(f"I2: client {pid} of {name} left (or was never attached) but is recorded")
            with self.lock:
                expected = [p for (p, n), s in self.pairs.items() if n == name and s == "attached"]
            for pid in expected:
                self.checks["I2 attached client recorded"] += 1
                if pid in self.clients and recorded.get(pid) != self.client_start.get(pid):
                    problems.append(f"I2: lost reference: client {pid} attached to {name} and did not leave,"
                                    f" but is not recorded (server record: {bool(record)})")
                if pid in self.clients and not server_live:
                    problems.append(f"I2: client {pid} is attached to {name}, whose server is not running")
        # I4: no orphans
        for name, groups in servers.items():
            for pgid, pids in groups.items():
                self.checks["I4 no orphan server"] += 1
                if recorded_pgids.get(pgid) != name:
                    problems.append(f"I4: orphan server of {name}: process group {pgid} {pids} has no record")
        for pid in watchers:
            self.checks["I4 no orphan watcher"] += 1
            if pid not in recorded_watchers:
                problems.append(f"I4: watcher {pid} has no record naming it")
        # I5: nothing we own died of a signal we did not send
        problems += self.check_bystanders()
        return problems

    def check_bystanders(self):
        """I5. A death is final, not a state that settles: reported at once."""
        with self.lock:
            procs = list(self.clients.items())
        for pid, proc in procs:
            self.checks["I5 client not signalled by sharedserver"] += 1
            if proc.poll() is not None:
                self.violation(f"I5: client {pid} died (status {proc.returncode}) though we did not kill it")
                with self.lock:
                    self.clients.pop(pid, None)
        for proc in self.bystanders:
            self.checks["I5 bystander untouched"] += 1
            if proc.poll() is not None and proc.pid not in self.reported_bystanders:
                self.reported_bystanders.add(proc.pid)
                self.violation(f"I5: bystander {proc.pid} died (status {proc.returncode})")
        return []

    def repair_command(self, name):
        """The next command that must repair `name`: `admin doctor`, or an
        ordinary transaction (`unuse` of a pid that is not attached), which
        must repair too before it answers."""
        self.repairs_made += 1
        if self.repairs_made % 2:
            args, accept = ["admin", "doctor", name], ("",)
        else:
            args, accept = ["unuse", "--pid", "1", name], ("is not attached", "is not running")
        rc, out, err = self.run_cli(random.Random(0), args, 0)
        self.counts[f"repairs by the next command ({args[0] if args[0] != 'admin' else 'doctor'})"] += 1
        self.log(f"repair: {' '.join(args)} -> {rc} {out.strip()} {err.strip()}")
        if rc == 0 or (rc == 1 and any(a and a in err for a in accept)):
            return None
        return f"`sharedserver {' '.join(args)}` failed (exit {rc}): {err.strip()}"

    def quiet_point(self):
        self.pause.set()
        with self.lock:
            while self.in_flight:
                self.idle.wait(0.05)
        self.counts["quiet points"] += 1
        deadline = time.monotonic() + self.settle_timeout
        repaired = collections.Counter()
        while True:
            repair = {}
            problems = self.evaluate(repair)
            with self.lock:
                faulted = set(self.faulted)
            # The next command adopts a server whose watcher was killed and
            # repairs what a killed CLI left; without such a fault, nothing
            # may need repairing.
            for name, why in sorted(repair.items()):
                self.checks["I3/I4 repair explained by a fault"] += 1
                if name not in faulted:
                    problems.append(f"I3/I4: {name} needs a repair ({why}) that no injected fault explains")
                    continue
                if repaired[name] >= 3:
                    problems.append(f"I3/I4: {name} still needs a repair ({why}) after {repaired[name]}"
                                    f" repairing commands")
                    continue
                failed = self.repair_command(name)
                if failed:
                    problems.append(failed)
                repaired[name] += 1
                problems.append("(repaired; re-checking)")
            if not problems:
                break
            if time.monotonic() > deadline:
                for p in problems:
                    if not p.startswith("("):
                        self.violation(p)
                break
            time.sleep(0.05)
        with self.lock:
            self.faulted.clear()
        # Resolve what the model could not know (attachments raced with a fault).
        with self.lock:
            for (pid, name), state in list(self.pairs.items()):
                if state != "uncertain":
                    continue
                clients = self.read_json(self.dir / f"{name}.clients.json")
                entry = clients.get("clients", {}).get(str(pid)) if isinstance(clients, dict) else None
                # pid_max may be small (32768): the entry must be this client, not a dead one's pid.
                recorded = isinstance(entry, dict) and entry.get("start") == self.client_start.get(pid)
                if recorded:
                    self.pairs[(pid, name)] = "attached"
                    self.counts["model: uncertain attachment resolved: kept"] += 1
                else:
                    self.pairs.pop((pid, name))
                    self.counts["model: uncertain attachment resolved: gone"] += 1
            # Retire clients that are attached nowhere, now and then.
            if len(self.clients) > 3 * len(self.names) + 6:
                attached = {p for (p, _n) in self.pairs}
                for pid in [p for p in self.clients if p not in attached][:4]:
                    proc = self.clients.pop(pid)
                    proc.kill()
                    proc.wait()
                    self.dead_clients.append(proc)
        self.pause.clear()

    def leftovers(self):
        """What of this run still lives, besides the bystanders: servers,
        watchers, records, and any other process carrying the run's token."""
        servers, watchers = self.scan()
        left = {n: dict(g) for n, g in servers.items() if g}
        records = sorted(p.name for p in self.dir.glob("*.json"))
        keep = {p.pid for p in self.bystanders}
        counted = set(watchers) | {p for g in servers.values() for pids in g.values() for p in pids}
        others = [p for p in tagged_pids(self.token) if p not in keep and p not in counted]
        return left, watchers, records, others

    def finale(self):
        """Every client dies; every server must stop on its own after its grace."""
        with self.lock:
            procs = list(self.clients.values())
            self.clients.clear()
            self.pairs.clear()
        for proc in procs:
            proc.kill()
            proc.wait()
            self.dead_clients.append(proc)
        self.counts["fault: kill -9 client"] += len(procs)
        deadline = time.monotonic() + self.finale_timeout
        while True:
            left, watchers, records, others = self.leftovers()
            self.checks["I6 nothing left at the end"] += 1
            if not left and not watchers and not records and not others:
                break
            if time.monotonic() > deadline:
                self.violation(f"I6: at the end, left behind: servers {left}, watchers {watchers},"
                               f" records {records}, other processes {others}")
                break
            time.sleep(0.05)
        for proc in self.dead_clients:
            self.checks["I5 client died only by our SIGKILL"] += 1
            if proc.returncode != -signal.SIGKILL:
                self.violation(f"I5: client {proc.pid} exited with status {proc.returncode}, not by our SIGKILL")
        self.dead_clients.clear()
        self.check_bystanders()

    # ---------------------------------------------------------- teardown

    def cleanup(self):
        """Kill everything this run started, by pid, however it ended."""
        self.stop.set()
        with self.lock:
            procs = list(self.clients.values()) + list(self.cli_procs.values()) + self.bystanders
        for proc in procs:
            try:
                proc.kill()   # a Popen not yet reaped: never a recycled pid
            except OSError:
                pass
        servers, _ = self.scan()
        for groups in servers.values():
            for pgid, pids in groups.items():
                if pgid > 1:
                    try:
                        os.killpg(pgid, signal.SIGKILL)   # a live server group of this run (pgids are not reused while in use)
                    except OSError:
                        pass
        kill_tagged(self.token, self.dir)
        for proc in procs:
            try:
                proc.wait(timeout=5)
            except Exception:
                pass
        shutil.rmtree(self.root, ignore_errors=True)

    # ---------------------------------------------------------- main

    def run(self):
        self.t0 = time.monotonic()
        if not Path(self.cli).exists():
            raise SystemExit(f"chaos: no CLI at {self.cli}; build first or set SHAREDSERVER_BUILD_DIR")
        for _ in range(3):
            self.spawn_bystander()
        threads = [threading.Thread(target=self.actor, args=(i,), daemon=True) for i in range(self.args.actors)]
        for t in threads:
            t.start()
        end = self.t0 + self.args.duration
        next_quiet = time.monotonic() + self.args.quiet_every
        while time.monotonic() < end and not self.violations:
            time.sleep(0.05)
            if time.monotonic() >= next_quiet:
                self.quiet_point()
                next_quiet = time.monotonic() + self.args.quiet_every
        self.stop.set()
        with self.lock:
            self.idle.notify_all()
        for t in threads:
            t.join(timeout=OP_TIMEOUT + 5)
        if not self.violations:
            self.pause.set()
            self.quiet_point()
        if not self.violations:
            self.finale()
        return not self.violations

    def save_artifacts(self):
        """On failure: the whole operation log and a copy of the state dir,
        in $CHAOS_ARTIFACTS or a new directory under the temp dir."""
        try:
            base = os.environ.get("CHAOS_ARTIFACTS")
            if base:
                Path(base).mkdir(parents=True, exist_ok=True)
            out = Path(tempfile.mkdtemp(prefix=f"sharedserver-chaos-failure-seed{self.seed}-", dir=base))
            with open(out / "operations.log", "w") as f:
                for line in list(self.log_lines):
                    f.write(line + "\n")
                for v in self.violations:
                    f.write("VIOLATION " + v + "\n")
                f.write(self.replay_command() + "\n")
            shutil.copytree(self.dir, out / "state", ignore=shutil.ignore_patterns("*.lock"), dirs_exist_ok=True)
            return out
        except OSError:
            return None

    def replay_command(self):
        a = self.args
        cmd = [sys.executable, str(Path(__file__).resolve()), "--seed", str(self.seed), "--duration", f"{a.duration:g}",
               "--actors", str(a.actors), "--names", str(len(self.names)), "--kill-cli", f"{a.kill_cli:g}",
               "--quiet-every", f"{a.quiet_every:g}"]
        return f"SHAREDSERVER_BUILD_DIR={shlex.quote(str(BUILD_DIR))} " + " ".join(map(shlex.quote, cmd))

    def report(self, ok):
        elapsed = time.monotonic() - self.t0
        print(f"chaos: seed {self.seed}, {self.args.actors} actors, {len(self.names)} names,"
              f" {self.args.duration:g}s of chaos, {elapsed:.1f}s in all, build {BUILD_DIR}")
        ops = {k: v for k, v in self.counts.items() if not k.startswith(("fault", "model"))}
        faults = {k: v for k, v in self.counts.items() if k.startswith("fault")}
        model = {k: v for k, v in self.counts.items() if k.startswith("model")}
        print(f"operations ({sum(v for k, v in ops.items() if k not in ('quiet points', 'clients spawned'))}):")
        for k, v in sorted(ops.items()):
            print(f"  {v:7d}  {k}")
        print(f"faults injected ({sum(faults.values())}):")
        for k, v in sorted(faults.items()):
            print(f"  {v:7d}  {k}")
        if model:
            print("model (races the model resolved from the records):")
            for k, v in sorted(model.items()):
                print(f"  {v:7d}  {k}")
        print(f"invariant checks made ({sum(self.checks.values())}):")
        for k, v in sorted(self.checks.items()):
            print(f"  {v:7d}  {k}")
        if ok:
            print(f"chaos: every invariant held (seed {self.seed})")
        else:
            print(f"chaos: {len(self.violations)} violation(s):")
            for v in self.violations[:20]:
                print("  - " + v)
            print("recent operations:")
            for line in list(self.log_lines)[-80:]:
                print("  " + line)
            named = [n for n in self.names if any(f" {n} " in v or f" {n}:" in v or f"'{n}'" in v
                                                  for v in self.violations)] or self.names
            for name in named:
                try:
                    events = (self.dir / f"{name}.events.jsonl").read_text().splitlines()
                except OSError:
                    continue
                print(f"last events of {name}:")
                for line in events[-40:]:
                    print("  " + line)
            saved = self.save_artifacts()
            if saved:
                print(f"chaos: the whole operation log and the state dir (event logs) are kept in {saved}")
            print(f"chaos: FAILED with seed {self.seed}; replay with:\n  {self.replay_command()}\n"
                  f"or: CHAOS_SEED={self.seed} CHAOS_DURATION={self.args.duration:g} pytest tests/chaos -k bounded")
        sys.stdout.flush()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=None, help="the schedule's seed (default: $CHAOS_SEED or random)")
    parser.add_argument("--duration", type=float, default=None,
                        help=f"seconds of chaos (default 60; {SOAK_DURATION:g} with --soak)")
    parser.add_argument("--soak", action="store_true",
                        help=f"run long: {SOAK_DURATION / 60:g} minutes unless --duration, 8 actors, 5 names")
    parser.add_argument("--actors", type=int, default=None, help="concurrent actors (default 4; 8 with --soak)")
    parser.add_argument("--names", type=int, default=None, help="server names (default 3; 5 with --soak)")
    parser.add_argument("--quiet-every", type=float, default=4.0, help="seconds between quiet points")
    parser.add_argument("--settle", type=float, default=SETTLE_TIMEOUT,
                        help="how long a quiet point lets the state settle before a problem is a violation")
    parser.add_argument("--kill-cli", type=float, default=0.06, help="probability a CLI call is killed mid-flight")
    parser.add_argument("--token", default=None, help="tag for every process of the run (CHAOS_TOKEN=...)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if args.seed is None:
        args.seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 2**31))
    if args.duration is None:
        args.duration = SOAK_DURATION if args.soak else 60.0
    if args.actors is None:
        args.actors = 8 if args.soak else 4
    if args.names is None:
        args.names = 5 if args.soak else 3
    return args


def main():
    args = parse_args()
    chaos = Chaos(args)
    print(f"chaos: seed {args.seed}, {args.duration:g}s, {args.actors} actors, {args.names} names", flush=True)

    def on_signal(signum, _frame):
        chaos.cleanup()
        print(f"chaos: interrupted by signal {signum}; seed {args.seed}; replay with:\n  {chaos.replay_command()}",
              flush=True)
        os._exit(128 + signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    ok = False
    try:
        ok = chaos.run()
    finally:
        chaos.report(ok)
        chaos.cleanup()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
