"""start, stop, restart, kill, status, list, check, doctor and the value types."""

import dataclasses
import json
import os
import signal
from datetime import datetime, timedelta, timezone

import pytest
from py_support import SLEEP, pid_alive, wait_until

import sharedserver
from sharedserver import State, Status


def test_start_runs_a_server_without_clients_in_its_grace_period(sandbox):
    pid = sharedserver.start("admin", SLEEP, grace_period="1h")
    sandbox.server_pids.add(pid)
    info = sandbox.remember("admin")
    assert info.state is State.GRACE
    assert info.pid == pid and pid_alive(pid)
    assert info.clients == ()
    assert info.grace_period == timedelta(hours=1)


def test_stop_ends_the_server_for_every_client_and_waits_until_it_is_gone(sandbox):
    first, _ = sandbox.client("shared", SLEEP)
    second, report = sandbox.client("shared", SLEEP)
    sandbox.remember("shared")
    sharedserver.stop("shared")
    assert not pid_alive(report["pid"])
    assert sharedserver.check("shared") is State.STOPPED
    assert list(sandbox.dir.glob("shared.*.json")) == []
    # The clients' leases then release quietly.
    for proc in (first, second):
        proc.stdin.write("exit\n")
        proc.stdin.flush()
        assert proc.wait(timeout=10) == 0


def test_restart_starts_a_new_server_and_keeps_the_clients(sandbox):
    with sharedserver.use("re", SLEEP) as lease:
        sandbox.remember("re")
        new_pid = sharedserver.restart("re")
        sandbox.server_pids.add(new_pid)
        assert new_pid != lease.pid
        assert not pid_alive(lease.pid)
        info = sharedserver.status("re")
        assert info.pid == new_pid
        assert [c.pid for c in info.clients] == [os.getpid()]


def test_kill_removes_the_server_its_watcher_and_every_record(sandbox):
    with sharedserver.use("doomed", SLEEP) as lease:
        info = sandbox.remember("doomed")
        sharedserver.kill("doomed")
        wait_until(lambda: not pid_alive(info.pid) and not pid_alive(info.watcher_pid),
                   what="the server and watcher to die")
        assert sharedserver.check("doomed") is State.STOPPED
    assert lease.released is True


def test_status_of_a_stopped_name_is_an_empty_stopped_snapshot(sandbox):
    info = sharedserver.status("nothing")
    assert info.name == "nothing"
    assert info.state is State.STOPPED
    assert (info.pid, info.watcher_pid, info.clients, info.command) == (None, None, (), ())
    assert (info.grace_deadline, info.started_at, info.running) == (None, None, False)


def test_status_is_an_immutable_typed_snapshot(sandbox):
    before = datetime.now(timezone.utc)
    with sharedserver.use("snap", SLEEP, metadata="test") as lease:
        info = sandbox.remember("snap")
    assert isinstance(info, Status)
    assert isinstance(info.state, State) and info.state.value == "active"
    assert info.pid == lease.pid and info.watcher_pid and pid_alive(info.watcher_pid)
    assert info.refcount == 1 and info.running
    assert info.command == ("sleep", "1000")
    assert before - timedelta(seconds=1) <= info.started_at <= datetime.now(timezone.utc)
    assert before - timedelta(seconds=1) <= info.clients[0].attached_at <= datetime.now(timezone.utc)
    assert info.grace_deadline is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.pid = 1  # type: ignore[misc]
    with pytest.raises(TypeError):
        info.env["X"] = "y"  # type: ignore[index]
    assert '"snap"' in info.json


def test_list_returns_every_live_server_sorted_by_name(sandbox):
    with sharedserver.use("zeta", SLEEP), sharedserver.use("alpha", SLEEP):
        sandbox.remember("zeta")
        sandbox.remember("alpha")
        servers = sharedserver.list()
        assert [s.name for s in servers] == ["alpha", "zeta"]
        assert all(s.state is State.ACTIVE for s in servers)
        # Each Status carries the JSON that `info --json` prints, as status() gives it.
        assert [json.loads(s.json)["name"] for s in servers] == ["alpha", "zeta"]
        assert json.loads(servers[0].json) == json.loads(sharedserver.status("alpha").json)


def test_check_follows_the_states(sandbox):
    assert sharedserver.check("c") is State.STOPPED
    with sharedserver.use("c", SLEEP):
        sandbox.remember("c")
        assert sharedserver.check("c") is State.ACTIVE
    assert sharedserver.check("c") is State.GRACE
    sharedserver.stop("c")
    assert sharedserver.check("c") is State.STOPPED


def test_doctor_adopts_a_live_server_whose_watcher_died(sandbox):
    with sharedserver.use("orphan", SLEEP) as lease:
        info = sandbox.remember("orphan")
        os.kill(info.watcher_pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(info.watcher_pid), what="the watcher to die")
        repairs = sharedserver.doctor()
        assert len(repairs) == 1 and "orphan" in repairs[0]
        adopted = sandbox.remember("orphan")
        assert adopted.pid == lease.pid
        assert adopted.watcher_pid not in (None, info.watcher_pid) and pid_alive(adopted.watcher_pid)
        assert sharedserver.doctor("orphan") == []


def test_durations_parse_and_format_both_ways():
    assert sharedserver.parse_duration("1h30m") == timedelta(minutes=90)
    assert sharedserver.parse_duration(timedelta(seconds=2)) == timedelta(seconds=2)
    assert sharedserver.format_duration(timedelta(minutes=90)) == "1h30m"
    assert sharedserver.format_duration("500ms") == "500ms"


def test_a_context_names_another_state_directory(sandbox, tmp_path):
    other = tmp_path / "other-state"
    ctx = sharedserver.Context(other)
    assert ctx.state_dir == str(other)
    assert oct(other.stat().st_mode & 0o777) == "0o700"
    with ctx.use("elsewhere", SLEEP) as lease:
        sandbox.server_pids.update([lease.pid, ctx.status("elsewhere").watcher_pid])
        assert sharedserver.check("elsewhere") is State.STOPPED
        assert ctx.check("elsewhere") is State.ACTIVE
    ctx.stop("elsewhere")


def test_module_reports_its_version_library_and_watcher():
    assert sharedserver.__version__ == "0.1.0"
    assert os.path.basename(sharedserver.library_path()).startswith("libsharedserver.so")
    assert os.access(sharedserver.Context().watcher_path, os.X_OK)
