"""Fixtures for the tests of the `sharedserver` Python package, imported from the
build tree ($SHAREDSERVER_BUILD_DIR, default <repo>/build).

Every test runs against its own state directory ($SHAREDSERVER_LOCKDIR, mode
0700) and kills, by pid, every server, watcher and client process it started,
however it ended.
"""

import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

from py_support import HERE, PACKAGE_DIR, PYTHON, SLEEP  # noqa: E402  (puts the package on sys.path)

import sharedserver  # noqa: E402


def _kill(pid, group=False):
    if not pid or pid <= 1:
        return
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


class Sandbox:
    """A private state directory and the processes a test started in it."""

    def __init__(self, root):
        self.root = Path(root)
        self.dir = self.root / "state"
        self.dir.mkdir(mode=0o700)
        self.procs = []  # client processes and helpers, killed after the test
        self.server_pids = set()  # every server and watcher pid the test saw

    @property
    def env(self):
        """Environment of a child Python process that imports the build tree's package."""
        path = os.pathsep.join(filter(None, [str(PACKAGE_DIR), os.environ.get("PYTHONPATH")]))
        return dict(os.environ, SHAREDSERVER_LOCKDIR=str(self.dir), PYTHONPATH=path)

    def remember(self, name):
        """Note the server and watcher pids of `name` for the cleanup."""
        info = sharedserver.status(name)
        self.server_pids.update(p for p in (info.pid, info.watcher_pid) if p)
        return info

    def sleeper(self):
        """A live process to attach as a client by pid."""
        proc = subprocess.Popen(SLEEP, stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def client(self, name, command=(), grace_period="5m"):
        """Another Python process holding `with sharedserver.use(name, command)`.

        Returns (process, report): report is what its lease said (pid,
        client_pid, outcome). Write "exit\\n" or "raise\\n" to its stdin to make
        it leave the with block normally or by an exception.
        """
        proc = subprocess.Popen(
            [PYTHON, str(HERE / "client_process.py"), name, grace_period, *command],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=self.env)
        self.procs.append(proc)
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"client process failed: {proc.stderr.read()}")
        report = json.loads(line)
        if report.get("pid"):
            self.server_pids.add(report["pid"])
        return proc, report

    def _records(self):
        for path in self.dir.glob("*.server.json"):
            try:
                yield json.loads(path.read_text())
            except (OSError, ValueError):
                continue

    def _watchers(self):
        """Watchers supervising this state dir, found by their command line."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmdline and cmdline[0].endswith(b"sharedserver-watcher") and any(
                    str(self.dir).encode() in arg for arg in cmdline):
                found.append(int(entry.name))
        return found

    def cleanup(self):
        for record in self._records():
            _kill(record.get("watcher_pid"))
            _kill(record.get("pgid") or record.get("pid"), group=True)
            _kill(record.get("pid"))
        for pid in self._watchers():
            _kill(pid)
        for pid in self.server_pids:
            _kill(pid, group=True)
            _kill(pid)
        for proc in self.procs:
            _kill(proc.pid)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                if stream:
                    stream.close()


@pytest.fixture(autouse=True)
def sandbox(monkeypatch):
    with tempfile.TemporaryDirectory(prefix="sharedserver-py-") as root:
        box = Sandbox(root)
        monkeypatch.setenv("SHAREDSERVER_LOCKDIR", str(box.dir))
        try:
            yield box
        finally:
            box.cleanup()
