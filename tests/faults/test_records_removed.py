"""Promise 2 when the records are removed from outside (a user's `rm`, a
cleanup script, `rm -rf` of the state dir): the watcher and a server that
ignored SIGTERM ran on, one for an hour, invisible to every command. The
watcher now watches its record's file (and the state dir itself), and stops
its server, with SIGKILL after the stop timeout, when the record is gone or
names another server. Idle, it still makes no system calls."""

import os
import re
import shutil
import time

from conftest import pid_alive, wait_until

STUBBORN = ["sh", "-c", "trap '' TERM; exec sleep 1000"]  # ignores SIGTERM; only SIGKILL ends it
STOP_TIMEOUT = 5.0  # then SIGKILL


def watches_record(watcher, path):
    """Whether the watcher has an inotify watch on the file `path` names:
    it has claimed its server and supervises it."""
    try:
        inode = os.stat(path).st_ino
        for fd in os.listdir(f"/proc/{watcher}/fd"):
            if os.readlink(f"/proc/{watcher}/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{watcher}/fdinfo/{fd}") as f:
                if inode in (int(ino, 16) for ino in re.findall(r"\bino:([0-9a-f]+)", f.read())):
                    return True
    except OSError:
        pass
    return False


def start(sandbox, name="web", command=STUBBORN):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, name, "--", *command)
    record = sandbox.record(name)
    assert wait_until(lambda: watches_record(record["watcher_pid"], sandbox.dir / f"{name}.server.json"))
    # The shell has set its trap once it has become `sleep`.
    assert wait_until(lambda: open(f"/proc/{record['pid']}/comm").read().strip() == "sleep")
    return record


def gone(*pids):
    return lambda: not any(pid_alive(pid) for pid in pids)


def test_removing_the_server_record_stops_a_server_that_ignores_sigterm(sandbox):
    record = start(sandbox)
    (sandbox.dir / "web.server.json").unlink()
    assert wait_until(gone(record["pid"], record["watcher_pid"]), timeout=STOP_TIMEOUT + 5), \
        "the server ran on without its record"
    kinds = [e["event"] for e in sandbox.events("web")]
    assert kinds[-2:] == ["stopping", "exited"]
    assert sandbox.events("web")[-1]["signal"] == 9


def test_removing_the_state_dir_stops_the_server_and_recreates_nothing(sandbox):
    record = start(sandbox)
    shutil.rmtree(sandbox.dir)
    assert wait_until(gone(record["pid"], record["watcher_pid"]), timeout=STOP_TIMEOUT + 5), \
        "the server ran on after rm -rf of the state dir"
    assert not sandbox.dir.exists()


def test_a_record_swapped_for_another_servers_stops_both_servers_it_no_longer_names(sandbox):
    a = start(sandbox, "a", ["sleep", "1000"])
    b = start(sandbox, "b", ["sleep", "1000"])
    # a's record now names b's server; b has none.
    os.replace(sandbox.dir / "b.server.json", sandbox.dir / "a.server.json")
    assert wait_until(gone(a["pid"], a["watcher_pid"], b["pid"], b["watcher_pid"]), timeout=STOP_TIMEOUT + 5)


def test_an_idle_watcher_sleeps_in_poll_without_a_timeout_and_is_never_woken(sandbox):
    record = start(sandbox, command=["sleep", "1000"])
    watcher = record["watcher_pid"]
    time.sleep(0.3)  # settled after the start

    def switches():
        with open(f"/proc/{watcher}/status") as f:
            return [line for line in f if "ctxt_switches" in line]

    before = switches()
    # A write to another name's records wakes nobody else.
    other = sandbox.client()
    sandbox.run("use", "--pid", other.pid, "other", "--", "sleep", "1000")
    sandbox.run("unuse", "--pid", other.pid, "other")
    time.sleep(1.0)
    assert switches() == before, "an idle watcher woke up"
    with open(f"/proc/{watcher}/syscall") as f:
        fields = f.read().split()
    assert int(fields[0]) == 7 and int(fields[3], 16) & 0xffffffff == 0xffffffff, f"not in poll(..., -1): {fields}"
