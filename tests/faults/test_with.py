"""`sharedserver with` holds its servers for exactly as long as its command
runs, even when `with` itself is killed with SIGKILL (an OOM kill, a CI
runner cleaning up): the command holds references of its own."""

import os
import signal
import subprocess

from conftest import CLI, wait_until
from process_tree import alive, children


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def client_pids(sandbox, name):
    return sorted(c["pid"] for c in sandbox.info(name)["clients"])


def test_a_with_killed_by_sigkill_leaves_its_command_holding_the_server(sandbox):
    sandbox.run("admin", "start", "--grace-period", "1s", "db", "--", "sleep", "1000")
    server = sandbox.record("db")["pid"]
    with_proc = sandbox.spawn([str(CLI), "with", "db", "--", "sleep", "1000"], env=sandbox.env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    command = wait_until(lambda: children(with_proc.pid), timeout=10)
    assert command, "with did not start its command"
    sandbox.pids.append(command[0])
    # Running its command: by then it holds what it will hold.
    assert wait_until(lambda: cmdline(command[0]).startswith(b"sleep\0"))

    with_proc.kill()
    with_proc.wait()

    assert not wait_until(lambda: not alive(server), timeout=2.5), \
        "the server stopped (1 s grace) while the command of a killed `with` still ran"
    assert client_pids(sandbox, "db") == [command[0]]
    assert sandbox.info("db")["state"] == "active"

    os.kill(command[0], signal.SIGKILL)
    assert wait_until(lambda: not alive(server), timeout=10), "the command's reference outlived the command"


def test_with_releases_both_references_when_its_command_ends(sandbox):
    sandbox.run("admin", "start", "--grace-period", "1m", "db", "--", "sleep", "1000")
    result = sandbox.run("with", "db", "--", "sh", "-c", "echo $SHAREDSERVER_DB_PID")
    assert result.stderr == ""
    assert int(result.stdout) == sandbox.record("db")["pid"]
    assert sandbox.info("db")["state"] == "grace"
    attached = [e["client"] for e in sandbox.events("db") if e["event"] == "attached"]
    assert len(attached) == 2
    # `with` detached; its command may have been seen to exit by the watcher
    # first (client-died) or released by `with` (detached): either way it is gone.
    detached = [e["client"] for e in sandbox.events("db") if e["event"] == "detached"]
    assert attached[0] in detached
    sandbox.run("admin", "stop", "db")


def test_a_command_that_cannot_run_leaves_no_reference(sandbox):
    sandbox.run("admin", "start", "--grace-period", "1m", "db", "--", "sleep", "1000")
    result = sandbox.run("with", "db", "--", "/nonexistent/tool", check=False)
    assert result.returncode == 127
    assert result.stderr == 'sharedserver: cannot run "/nonexistent/tool": No such file or directory\n'
    assert sandbox.info("db")["clients"] == []
    sandbox.run("admin", "stop", "db")
