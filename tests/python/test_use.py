"""use() and Lease: sharing one server between processes, releasing it, and
noticing clients that die."""

import os
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest
from py_support import HTTP, SLEEP, pid_alive, wait_until

import sharedserver
from sharedserver import Outcome, State


def test_two_python_processes_using_one_name_share_one_server_with_refcount_2(sandbox):
    first, one = sandbox.client("shared", SLEEP)
    second, two = sandbox.client("shared", SLEEP)

    assert one["outcome"] == "started"
    assert two["outcome"] == "attached"
    assert one["pid"] == two["pid"]
    info = sandbox.remember("shared")
    assert info.state is State.ACTIVE
    assert info.refcount == 2
    assert sorted(c.pid for c in info.clients) == sorted([first.pid, second.pid])
    assert [e["event"] for e in sharedserver.events("shared")].count("started") == 1


def test_a_lease_started_the_server_reports_its_pid_name_and_started(sandbox):
    lease = sharedserver.use("solo", SLEEP)
    sandbox.remember("solo")
    try:
        assert lease.name == "solo"
        assert lease.started is True
        assert lease.outcome is Outcome.STARTED
        assert lease.client_pid == os.getpid()
        assert lease.refcount == 1
        assert pid_alive(lease.pid)
        assert sharedserver.status("solo").pid == lease.pid
    finally:
        lease.release()


def test_the_context_manager_releases_on_normal_exit(sandbox):
    with sharedserver.use("web", HTTP) as web:
        sandbox.remember("web")
        assert sharedserver.status("web").refcount == 1
    info = sharedserver.status("web")
    assert info.state is State.GRACE
    assert info.refcount == 0
    assert info.pid == web.pid
    assert web.released is True


def test_the_context_manager_releases_on_exception_and_lets_it_through(sandbox):
    with pytest.raises(KeyError, match="boom"):
        with sharedserver.use("web", SLEEP):
            sandbox.remember("web")
            raise KeyError("boom")
    assert sharedserver.status("web").state is State.GRACE


def test_another_process_leaving_its_with_block_by_exception_detaches_it(sandbox):
    proc, report = sandbox.client("shared", SLEEP)
    with sharedserver.use("shared", SLEEP):
        assert sharedserver.status("shared").refcount == 2
        proc.stdin.write("raise\n")
        proc.stdin.flush()
        assert proc.wait(timeout=10) == 1
        assert "RuntimeError: asked to raise" in proc.stderr.read()
        info = sharedserver.status("shared")
        assert [c.pid for c in info.clients] == [os.getpid()]


def test_a_python_client_killed_with_sigkill_is_noticed_and_starts_the_grace_period(sandbox):
    proc, report = sandbox.client("shared", SLEEP, grace_period="10m")
    assert sharedserver.status("shared").refcount == 1

    killed_at = time.monotonic()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_until(lambda: sharedserver.status("shared").refcount == 0, timeout=5, what="the dead client to be dropped")
    noticed_after = time.monotonic() - killed_at

    info = sharedserver.status("shared")
    assert info.state is State.GRACE
    assert info.pid == report["pid"] and pid_alive(report["pid"])
    assert noticed_after < 2.0
    # The event follows the state it describes (DESIGN §4): wait for it.
    wait_until(lambda: "client-died" in [e["event"] for e in sharedserver.events("shared")], timeout=5,
               what="the client-died event")


def test_release_is_idempotent_and_the_last_one_starts_the_grace_period(sandbox):
    lease = sharedserver.use("idle", SLEEP, grace_period="30m")
    sandbox.remember("idle")
    lease.release()
    lease.release()
    info = sharedserver.status("idle")
    assert info.state is State.GRACE
    assert info.grace_period == timedelta(minutes=30)
    expected = datetime.now(timezone.utc) + timedelta(minutes=30)
    assert abs(info.grace_deadline - expected) < timedelta(seconds=5)


def test_the_server_stops_when_the_grace_period_runs_out(sandbox):
    with sharedserver.use("brief", SLEEP, grace_period="200ms") as lease:
        sandbox.remember("brief")
    wait_until(lambda: sharedserver.check("brief") is State.STOPPED, timeout=5, what="the grace period to expire")
    assert not pid_alive(lease.pid)
    # The watcher logs the exit right after removing the records.
    last = wait_until(lambda: sharedserver.last_exit("brief"), what="the exit to be logged")
    assert last.signal == signal.SIGTERM and last.exit_code is None
    assert last.unexpected is False


def test_using_a_server_in_its_grace_period_rescues_it(sandbox):
    with sharedserver.use("warm", SLEEP) as first:
        sandbox.remember("warm")
    with sharedserver.use("warm", SLEEP) as second:
        assert second.outcome is Outcome.RESCUED
        assert second.started is False
        assert second.pid == first.pid
        assert sharedserver.check("warm") is State.ACTIVE


def test_use_without_a_command_attaches_to_a_running_server(sandbox):
    with sharedserver.use("db", SLEEP):
        sandbox.remember("db")
        other = sandbox.sleeper()
        with sharedserver.use("db", pid=other.pid) as attached:
            assert attached.outcome is Outcome.ATTACHED
            assert attached.client_pid == other.pid
            assert sorted(c.pid for c in sharedserver.status("db").clients) == sorted([os.getpid(), other.pid])
        assert [c.pid for c in sharedserver.status("db").clients] == [os.getpid()]


def test_use_without_a_command_raises_not_running_when_nothing_runs(sandbox):
    with pytest.raises(sharedserver.NotRunningError, match='"ghost"'):
        sharedserver.use("ghost")
    assert sharedserver.check("ghost") is State.STOPPED


def test_use_passes_env_working_dir_log_file_and_metadata_to_the_server(sandbox, tmp_path):
    log = tmp_path / "server.log"
    script = "import os; print(os.environ['GREETING'], os.getcwd(), flush=True); import time; time.sleep(1000)"
    with sharedserver.use("cfg", ["/usr/bin/python3", "-c", script], env={"GREETING": "hello world"},
                          working_dir=tmp_path, log_file=log, metadata="editor=nvim", grace_period="90s"):
        sandbox.remember("cfg")
        info = sharedserver.status("cfg")
        assert info.env == {"GREETING": "hello world"}
        assert info.working_dir == str(tmp_path)
        assert info.log_file == str(log)
        assert info.grace_period == timedelta(seconds=90)
        assert info.command == ("/usr/bin/python3", "-c", script)
        assert info.clients[0].metadata == "editor=nvim"
        # A whole line: print() may write its pieces apart (PYTHONUNBUFFERED).
        wait_until(lambda: log.exists() and log.read_text().endswith("\n"), what="the server's output")
        assert log.read_text() == f"hello world {tmp_path}\n"
        assert sharedserver.log_tail("cfg", 5) == f"hello world {tmp_path}\n"


def test_a_lease_asking_for_another_command_reports_the_mismatch(sandbox):
    with sharedserver.use("m", SLEEP):
        sandbox.remember("m")
        with pytest.warns(sharedserver.DefinitionMismatchWarning, match="command"), \
                sharedserver.use("m", ["sleep", "999"]) as other:
            assert other.mismatch is not None and "command" in other.mismatch
            assert other.pid == sharedserver.status("m").pid


def test_grace_period_accepts_a_timedelta(sandbox):
    with sharedserver.use("td", SLEEP, grace_period=timedelta(minutes=1, seconds=30)):
        sandbox.remember("td")
        assert sharedserver.status("td").grace_period == timedelta(seconds=90)
