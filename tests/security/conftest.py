"""Fixtures for the security tests: a private state dir per test (or a hostile
one the test builds), the CLI run as root or as `nobody`, and bookkeeping that
kills everything a test started, by pid, however it ended."""

import json
import os
import pwd
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("SHAREDSERVER_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("SHAREDSERVER_BUILD_DIR", SOURCE_DIR / "build"))
CLI = BUILD_DIR / "cli" / "sharedserver"
WATCHER = BUILD_DIR / "watcher" / "sharedserver-watcher"
HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable
NOBODY = pwd.getpwnam("nobody")
AS_NOBODY = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--"]

CONTROL = "".join(chr(c) for c in range(1, 32) if c not in (9, 10)) + "\x7f"


def proc_stat(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return fields[0], int(fields[2]), int(fields[19])  # state, pgid, start stamp
    except (OSError, IndexError, ValueError):
        return None


def alive(pid):
    st = proc_stat(pid)
    return bool(st) and st[0] not in ("Z", "X")


def boot_id():
    return Path("/proc/sys/kernel/random/boot_id").read_text().strip()


def snapshot(directory):
    """Everything a command could touch in a directory: names, types, sizes,
    modes, owners and modification times (symlinks not followed)."""
    out = []
    for p in sorted(Path(directory).iterdir()):
        st = p.lstat()
        out.append((p.name, stat.S_IFMT(st.st_mode), st.st_size, stat.S_IMODE(st.st_mode), st.st_uid,
                    st.st_mtime_ns, os.readlink(p) if p.is_symlink() else None))
    return out


def file_state(path):
    st = os.lstat(path)
    return (st.st_size, st.st_mtime_ns, st.st_ino, Path(path).read_bytes() if st.st_size < 1 << 20 else None)


def sanitized(binary):
    """True when the binary is built with ASan or TSan (they reserve terabytes
    of address space, so no RLIMIT_AS can be set on them)."""
    data = Path(binary).read_bytes()
    return b"__asan_init" in data or b"__tsan_init" in data


def has_control_chars(text):
    return any(c in text for c in CONTROL)


class Box:
    def __init__(self, root):
        self.root = Path(root)
        os.chmod(self.root, 0o755)   # nobody may traverse it; each state dir sets its own mode
        self.dir = self.root / "state"
        self.dir.mkdir(mode=0o700)
        self.pids = []         # processes to kill after the test
        self.procs = []

    def env(self, state_dir=None, **extra):
        env = {k: v for k, v in os.environ.items() if k not in ("SHAREDSERVER_LOCKDIR", "XDG_RUNTIME_DIR")}
        env.update(NO_COLOR="1", SHAREDSERVER_WATCHER=str(WATCHER))
        if state_dir is not None:
            env["SHAREDSERVER_LOCKDIR"] = str(state_dir)
        env.update(extra)
        return env

    def run(self, *args, state_dir=None, nobody=False, env=None, timeout=30, prefix=()):
        state_dir = self.dir if state_dir is None else state_dir
        cmd = [*prefix, *(AS_NOBODY if nobody else []), str(CLI), *map(str, args)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                              env=env or self.env(state_dir), cwd="/")

    def sleeper(self, nobody=False):
        proc = subprocess.Popen([*(AS_NOBODY if nobody else []), "sleep", "1000"], stdin=subprocess.DEVNULL,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def trap(self, nobody=False):
        """A bystander logging every signal it gets; returns (proc, log path)."""
        log = self.root / f"trap{len(self.procs)}.log"
        ready = Path(str(log) + ".ready")
        log.write_text("")
        ready.write_text("")
        if nobody:
            os.chown(log, NOBODY.pw_uid, NOBODY.pw_gid)
            os.chown(ready, NOBODY.pw_uid, NOBODY.pw_gid)
        proc = subprocess.Popen([*(AS_NOBODY if nobody else []), PYTHON, str(HERE / "trap.py"), str(log)],
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd="/")
        self.procs.append(proc)
        deadline = time.monotonic() + 10
        while not ready.read_text():
            assert time.monotonic() < deadline, "the trap did not start"
            time.sleep(0.01)
        return proc, log

    def watchers(self, state_dir=None):
        state_dir = str(self.dir if state_dir is None else state_dir).encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd and cmd[0].endswith(b"sharedserver-watcher") and state_dir in cmd and alive(int(entry)):
                found.append(int(entry))
        return found

    def write_record(self, name, pid, *, pgid=None, watcher_pid=0, watcher_start=0, state_dir=None, **extra):
        st = proc_stat(pid)
        record = {"schema": 1, "name": name, "pid": pid, "pid_start": st[2] if st else 1,
                  "pgid": pgid if pgid is not None else pid, "watcher_pid": watcher_pid,
                  "watcher_start": watcher_start, "boot_id": boot_id(), "command": ["sleep", "1000"], "env": [],
                  "working_dir": "/", "log_file": "/dev/null", "grace_period_ms": 0, "stopping": False,
                  "grace_deadline_ms": 0, "started_at_ms": int(time.time() * 1000)}
        record.update(extra)
        path = Path(state_dir or self.dir) / f"{name}.server.json"
        path.write_text(json.dumps(record))
        return path

    def cleanup(self):
        for state_dir in [self.dir, *self.root.glob("*")]:
            if not state_dir.is_dir():
                continue
            for path in state_dir.glob("*.server.json"):
                try:
                    if path.is_symlink() or path.stat().st_size > (1 << 20):
                        continue
                    record = json.loads(path.read_text())
                except (OSError, ValueError):
                    continue
                # Only what this test started: a server whose environment carries our root.
                pid = record.get("pid")
                if pid and pid > 1 and self.started_by_us(pid):
                    try:
                        os.killpg(record.get("pgid") or pid, signal.SIGKILL)
                    except OSError:
                        pass
            for pid in self.watchers(state_dir):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        for proc in self.procs:
            try:
                proc.kill()
            except OSError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def started_by_us(self, pid):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:
            return False
        return f"SHAREDSERVER_LOCKDIR={self.root}".encode() in env or str(self.root).encode() in env


@pytest.fixture
def box():
    root = tempfile.mkdtemp(prefix="sharedserver-sec-")
    b = Box(root)
    try:
        yield b
    finally:
        b.cleanup()
        subprocess.run(["rm", "-rf", root])
