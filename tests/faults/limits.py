"""Running sharedserver under resource limits (`ulimit -u`, `ulimit -n`).

The limits are enforced on an unprivileged user only (root may exceed the
process limit, and raise any descriptor limit), so the commands run as a
uid of their own, through setpriv: a fresh one per test, owning no other
process, so that its process count is exactly what the test started."""

import os
import random
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from harness import CLI, pid_alive, wait_until


def processes_of(uid):
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid and pid_alive(int(entry.name)):
                    yield int(entry.name)
            except OSError:
                pass


class LimitedUser:
    """A uid with its own state dir, for commands run under `ulimit`."""

    def __init__(self, root):
        taken = {int(line.split(":")[2]) for line in Path("/etc/passwd").read_text().splitlines() if line.count(":") >= 2}
        while True:
            self.uid = random.randint(40000, 49999)
            if self.uid not in taken and not list(processes_of(self.uid)):
                break
        self.root = Path(root)
        self.dir = self.root / f"state-{self.uid}"
        self.dir.mkdir(mode=0o700)
        os.chown(self.dir, self.uid, self.uid)
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SHAREDSERVER_LOCKDIR": str(self.dir),
                    "NO_COLOR": "1", "HOME": str(self.dir)}

    def shell(self, line, timeout=60, check=False):
        """Runs `bash -c line` as the user; `$SS` is the sharedserver CLI."""
        result = subprocess.run(["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                                 "bash", "-c", line], env=dict(self.env, SS=str(CLI)), capture_output=True,
                                text=True, timeout=timeout, stdin=subprocess.DEVNULL, cwd=self.dir)
        if check and result.returncode != 0:
            raise AssertionError(f"`{line}` exited {result.returncode}: {result.stderr}")
        return result

    def spawn(self, line):
        """Starts `bash -c line` as the user and returns it (still running)."""
        return subprocess.Popen(["setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
                                 "bash", "-c", line], env=dict(self.env, SS=str(CLI)), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=self.dir)

    def run(self, *args, limits="", timeout=60, check=True):
        """The CLI as the user, under `ulimit` options such as "-u 2"."""
        line = (f"ulimit {limits} && " if limits else "") + "exec \"$SS\" " + " ".join(map(shlex.quote, map(str, args)))
        return self.shell(line, timeout=timeout, check=check)

    def processes(self):
        return list(processes_of(self.uid))

    def cleanup(self):
        for _ in range(3):
            for pid in processes_of(self.uid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if wait_until(lambda: not list(processes_of(self.uid)), timeout=2.0):
                break


@pytest.fixture
def limited_user(sandbox):
    if os.geteuid() != 0:
        pytest.skip("needs root to run commands as another uid")
    user = LimitedUser(sandbox.root)
    try:
        yield user
    finally:
        user.cleanup()
