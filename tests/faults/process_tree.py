"""What the ownership tests (test_signals, test_descendants, test_doctor,
test_with, test_clients) need to see of the process table: a process's
parent, group and start stamp, its environment, and a tag in the environment
by which a test finds (and finally kills) every process it caused, however
far it wandered from the server that started it."""

import os
import signal
import subprocess
import uuid
from pathlib import Path

import pytest

AS_NOBODY = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups", "--"]
# A server that ignores SIGTERM, and so does its child (an ignored signal is
# inherited): only SIGKILL ends them.
STUBBORN = ["/bin/sh", "-c", "trap '' TERM; sleep 1000 & wait"]


def stat(pid):
    """(state, ppid, pgid, start stamp) of a pid, or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1]), int(fields[2]), int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def alive(pid, start=None):
    st = stat(pid)
    return bool(st) and st[0] not in ("Z", "X") and (start is None or st[3] == start)


def start_stamp(pid):
    st = stat(pid)
    return st[3] if st else None


def environ(pid):
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []


def env_value(pid, key):
    prefix = key.encode() + b"="
    for entry in environ(pid):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode()
    return None


def pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def children(pid):
    return [p for p in pids() if (st := stat(p)) and st[1] == pid and st[0] not in ("Z", "X")]


def zombie_children(pid):
    return [p for p in pids() if (st := stat(p)) and st[1] == pid and st[0] == "Z"]


class Tag:
    """An environment entry (`FAULTS_TAG=<unique>`) that a test gives its
    servers; every process they start inherits it."""

    def __init__(self):
        self.entry = f"FAULTS_TAG={uuid.uuid4().hex}"

    def processes(self):
        wanted = self.entry.encode()
        return sorted(p for p in pids() if alive(p) and wanted in environ(p))

    def kill_all(self):
        for _ in range(5):
            found = self.processes()
            if not found:
                return
            for pid in found:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


@pytest.fixture
def tag():
    t = Tag()
    try:
        yield t
    finally:
        t.kill_all()


def stranger_group(as_nobody=False):
    """A process group whose leader has exited while a member lives on (what
    a daemon leaves after `setsid`). Returns (leader pid, leader start stamp,
    member pid); the caller kills the member."""
    argv = ["sh", "-c", "sleep 1000 & read line"]
    proc = subprocess.Popen((AS_NOBODY if as_nobody else []) + argv, stdin=subprocess.PIPE,
                            start_new_session=True)
    from harness import wait_until
    member = wait_until(lambda: children(proc.pid), timeout=10)
    assert member, "the stranger's shell did not start its sleep"
    leader_start = start_stamp(proc.pid)
    proc.stdin.close()
    proc.wait()
    assert stat(member[0])[2] == proc.pid, "the member is not in the group of the leader that left"
    return proc.pid, leader_start, member[0]
