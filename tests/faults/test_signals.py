"""Promise 1: nothing is signalled that is not proven ours. A record whose
server and watcher were both killed (OOM, a logout) is stale, and the group
id it names may be somebody else's by then: its leader gone, the number
taken by another group whose own leader has left (a daemon after `setsid`).
The next `use` once sent SIGTERM and SIGKILL to that group, another user's
included when run as root."""

import json
import os
import signal

from conftest import IS_ROOT, needs_root, wait_until
from process_tree import alive, stranger_group, tag  # noqa: F401


def stale_record_naming(sandbox, name, leader, leader_start, client):
    """Starts a real server, kills its watcher and leader with SIGKILL, and
    rewrites its record to name `leader` (dead) as the server and its group:
    what a stale record looks like once its group id has been reused."""
    sandbox.run("use", "--pid", client.pid, name, "--", "sleep", "1000")
    record = sandbox.record(name)
    for pid in (record["watcher_pid"], record["pid"]):
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(record["watcher_pid"]) and not alive(record["pid"]))
    record.update(pid=leader, pid_start=leader_start, pgid=leader)
    (sandbox.dir / f"{name}.server.json").write_text(json.dumps(record))
    return record


def check_stranger_survives(sandbox, as_nobody):
    client = sandbox.client()
    leader, leader_start, member = stranger_group(as_nobody=as_nobody)
    sandbox.pids.append(member)
    assert not alive(leader) and alive(member)
    stale_record_naming(sandbox, "web", leader, leader_start, client)

    result = sandbox.run("use", "--pid", client.pid, "web", "--", "sleep", "1000")

    assert result.stdout.startswith("started web")
    assert alive(member), f"the stale record's `use` killed pid {member} of a stranger's process group {leader}"
    left_alone = [e for e in sandbox.events("web") if e["event"] == "left-alone"]
    assert left_alone and left_alone[0]["pgid"] == leader and left_alone[0]["pids"] == [member]
    sandbox.run("admin", "stop", "web")
    assert alive(member), "stopping the new server killed the stranger"


def test_a_stale_record_never_signals_a_group_that_took_its_number(sandbox):
    check_stranger_survives(sandbox, as_nobody=False)


@needs_root
def test_a_stale_record_never_signals_another_users_group_as_root(sandbox):
    assert IS_ROOT
    check_stranger_survives(sandbox, as_nobody=True)


def test_doctor_reports_but_does_not_signal_a_stranger_in_a_stale_records_group(sandbox):
    client = sandbox.client()
    leader, leader_start, member = stranger_group()
    sandbox.pids.append(member)
    stale_record_naming(sandbox, "web", leader, leader_start, client)

    report = sandbox.run("admin", "doctor").stdout

    assert alive(member)
    assert f"web: removed the record of pid {leader}, which is no longer running" in report
    assert f"left alone 1 process of process group {leader}, not proven yours" in report
    assert not (sandbox.dir / "web.server.json").exists()


def test_what_a_stale_records_server_left_is_still_stopped_when_proven_by_its_instance(sandbox, tag):
    """The other side of the coin: the leader's own child, which carries the
    launch's instance token, is stopped even though the group id proves
    nothing any more."""
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "web", "--", "sh", "-c", "sleep 1000 & wait")
    assert wait_until(lambda: len(tag.processes()) == 2)
    record = sandbox.record("web")
    for pid in (record["watcher_pid"], record["pid"]):
        os.kill(pid, signal.SIGKILL)
    assert wait_until(lambda: not alive(record["watcher_pid"]) and not alive(record["pid"]))
    [orphan] = tag.processes()

    sandbox.run("use", "--pid", client.pid, "web", "--", "sleep", "1000")

    assert wait_until(lambda: not alive(orphan)), "the old server's child runs on beside the new server"
    repaired = [e for e in sandbox.events("web") if e["event"] == "repaired"]
    assert repaired[-1]["leftovers"] == 1


def test_a_stopped_server_is_stopped_by_a_plain_stop(sandbox):
    # SIGTERM is followed by SIGCONT to the same proven process: a server
    # someone paused (^Z, SIGSTOP, a debugger) once waited out the timeout
    # and `admin stop` failed.
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "web", "--", "sleep", "1000")
    pid = sandbox.record("web")["pid"]
    os.kill(pid, signal.SIGSTOP)
    result = sandbox.run("admin", "stop", "--timeout", "3s", "web", check=False)
    assert (result.returncode, result.stdout) == (0, "stopped web\n"), result.stderr
    assert wait_until(lambda: not alive(pid))
