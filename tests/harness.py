"""What the end-to-end suites share: where the build is, a private state dir
per test, and the bookkeeping that leaves no process behind."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("SHAREDSERVER_SOURCE_DIR", Path(__file__).resolve().parents[1]))
BUILD_DIR = Path(os.environ.get("SHAREDSERVER_BUILD_DIR", SOURCE_DIR / "build"))
CLI = BUILD_DIR / "cli" / "sharedserver"
WATCHER = BUILD_DIR / "watcher" / "sharedserver-watcher"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "python3"


def pid_alive(pid):
    """True for a live, non-zombie process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def wait_until(predicate, timeout=5.0, interval=0.005):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()


def processes():
    """(pid, cmdline as a list of bytes) of every readable process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        yield int(entry.name), cmdline


class Sandbox:
    """A private state dir plus the bookkeeping to leave no process behind."""

    def __init__(self, root):
        self.root = Path(root)
        self.dir = self.root / "state"
        self.dir.mkdir(mode=0o700)
        self.env = dict(os.environ, SHAREDSERVER_LOCKDIR=str(self.dir), NO_COLOR="1")
        self.pids = []  # clients and anything else a test started

    def run(self, *args, check=True, env=None, timeout=30, **popen):
        result = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                                env=env or self.env, timeout=timeout, stdin=subprocess.DEVNULL, **popen)
        if check and result.returncode != 0:
            raise AssertionError(f"sharedserver {' '.join(map(str, args))} exited {result.returncode}:\n"
                                 f"stdout: {result.stdout}\nstderr: {result.stderr}")
        return result

    def spawn(self, argv, **popen):
        """Starts a process that the sandbox kills (by pid) after the test."""
        popen.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, **popen)
        self.pids.append(proc.pid)
        return proc

    def client(self):
        """A live process to attach as a client (killed after the test)."""
        return self.spawn(["sleep", "1000"])

    def info(self, name):
        return json.loads(self.run("info", name, "--json").stdout)

    def record(self, name):
        path = self.dir / f"{name}.server.json"
        return json.loads(path.read_text()) if path.exists() else None

    def events(self, name):
        path = self.dir / f"{name}.events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def watcher_pids(self):
        """Watchers supervising this sandbox, found by their command line."""
        return [pid for pid, cmdline in processes()
                if cmdline and cmdline[0].endswith(b"sharedserver-watcher")
                and str(self.dir).encode() in cmdline and pid_alive(pid)]

    def cleanup(self):
        for path in self.dir.glob("*.server.json"):
            try:
                record = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for pid in (record.get("watcher_pid"), record.get("pid")):
                if isinstance(pid, int) and pid > 1:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        for pid in self.watcher_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in self.pids:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except OSError:
                pass
