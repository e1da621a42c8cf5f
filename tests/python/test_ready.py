"""Readiness probes, ports, restart policy and wait()."""

import os
import signal
import socket
import threading
import time
import urllib.request

import pytest
from py_support import PYTHON, SLEEP, pid_alive, wait_until

import sharedserver
from sharedserver import Ready, State

SLOW_HTTP = [PYTHON, "-c", "import time, sys; time.sleep(0.3); sys.argv[1:] = ['{port}', '--bind', '127.0.0.1']; "
             "import runpy; runpy.run_module('http.server', run_name='__main__')", "{port}"]


def test_use_with_an_auto_port_and_an_http_probe_returns_once_the_server_answers(sandbox):
    with sharedserver.use("web", SLOW_HTTP, port="auto", ready=Ready.http("http://127.0.0.1:{port}/")) as web:
        sandbox.remember("web")
        assert web.ready is True
        assert web.port is not None and 1024 <= web.port <= 65535
        with urllib.request.urlopen(f"http://127.0.0.1:{web.port}/", timeout=5) as response:
            assert response.status == 200
        info = sharedserver.status("web")
        assert info.port == web.port
        assert info.ready_at is not None and info.ready_at >= info.started_at
        assert info.command[-1] == "{port}"


def test_a_second_user_of_an_auto_port_server_gets_the_same_port(sandbox):
    with sharedserver.use("web", SLOW_HTTP, port="auto", ready=Ready.port()) as first:
        sandbox.remember("web")
        with sharedserver.use("web", SLOW_HTTP, port="auto", ready=Ready.port()) as second:
            assert second.started is False
            assert second.port == first.port


def test_a_log_probe_waits_for_the_line(sandbox):
    script = "import time; time.sleep(0.2); print('accepting connections', flush=True); time.sleep(1000)"
    started = time.monotonic()
    with sharedserver.use("db", [PYTHON, "-c", script], ready=Ready.log("accepting")) as db:
        sandbox.remember("db")
        assert db.ready and time.monotonic() - started >= 0.2
        assert "accepting connections" in sharedserver.log_tail("db")


def test_a_server_that_is_not_ready_in_time_raises_wait_timeout_error_with_its_log(sandbox):
    script = "print('listening soon, promise', flush=True); import time; time.sleep(1000)"
    with pytest.raises(sharedserver.WaitTimeoutError) as caught:
        sharedserver.use("liar", [PYTHON, "-c", script], ready=Ready.port(free_port()), ready_timeout="300ms")
    assert '"liar"' in str(caught.value) and "300ms" in str(caught.value)
    assert "listening soon, promise" in str(caught.value)
    wait_until(lambda: sharedserver.check("liar") is State.STOPPED, what="the server to be stopped")


def test_a_server_that_dies_while_starting_raises_spawn_error_with_its_log(sandbox):
    script = "import sys; print('config file missing', flush=True); sys.exit(3)"
    with pytest.raises(sharedserver.SpawnError) as caught:
        sharedserver.use("dies", [PYTHON, "-c", script], ready=Ready.port(free_port()))
    assert "config file missing" in str(caught.value)
    assert sharedserver.check("dies") is State.STOPPED


def test_use_without_waiting_returns_before_the_probe_passes_and_wait_blocks_until_it_does(sandbox):
    script = "import time; time.sleep(0.4); print('up', flush=True); time.sleep(1000)"
    lease = sharedserver.use("late", [PYTHON, "-c", script], ready=Ready.log("^up$"), wait=False)
    sandbox.remember("late")
    try:
        assert lease.ready is False
        assert sharedserver.check("late") is State.STARTING
        lines = []
        sharedserver.wait("late", timeout="10s", progress=lambda elapsed, line: lines.append((elapsed, line)))
        assert sharedserver.check("late") is State.ACTIVE
        assert lines and all(elapsed.total_seconds() >= 0 for elapsed, _ in lines)
    finally:
        lease.release()


def test_an_exception_in_the_progress_callback_is_raised_after_the_wait(sandbox):
    script = "import time; time.sleep(0.3); print('up', flush=True); time.sleep(1000)"
    with sharedserver.use("late", [PYTHON, "-c", script], ready=Ready.log("^up$"), wait=False):
        sandbox.remember("late")

        def fail(elapsed, line):
            raise LookupError("from the callback")

        with pytest.raises(LookupError, match="from the callback"):
            sharedserver.wait("late", progress=fail)
        assert sharedserver.check("late") is State.ACTIVE


def test_wait_releases_the_gil(sandbox):
    script = "import time; time.sleep(0.5); print('up', flush=True); time.sleep(1000)"
    with sharedserver.use("late", [PYTHON, "-c", script], ready=Ready.log("^up$"), wait=False):
        sandbox.remember("late")
        ticks = []
        done = threading.Event()

        def count():
            while not done.is_set():
                ticks.append(time.monotonic())
                time.sleep(0.001)

        counter = threading.Thread(target=count)
        counter.start()
        try:
            sharedserver.wait("late")
        finally:
            done.set()
            counter.join()
        assert len(ticks) > 10


def test_wait_raises_not_running_for_a_stopped_name(sandbox):
    with pytest.raises(sharedserver.NotRunningError):
        sharedserver.wait("nothing")


def test_restart_always_brings_a_killed_server_back(sandbox):
    with sharedserver.use("phoenix", SLEEP, restart="always") as lease:
        sandbox.remember("phoenix")
        os.kill(lease.pid, signal.SIGKILL)
        info = wait_until(lambda: (s := sharedserver.status("phoenix")).pid not in (None, lease.pid) and s,
                          what="the watcher to restart the server")
        sandbox.server_pids.add(info.pid)
        assert pid_alive(info.pid)
        assert info.restarts == 1
        assert info.state is State.ACTIVE


@pytest.mark.parametrize("kwargs, bad", [
    ({"port": 70000}, "70000"),
    ({"port": "any"}, "any"),
    ({"restart": "sometimes"}, "sometimes"),
    ({"max_restarts": -1}, "-1"),
    ({"ready_timeout": "forever"}, "forever"),
])
def test_bad_readiness_port_and_restart_options_are_invalid_arguments(sandbox, kwargs, bad):
    with pytest.raises(sharedserver.InvalidArgumentError) as caught:
        sharedserver.use("x", SLEEP, **kwargs)
    assert bad in str(caught.value)
    assert sharedserver.check("x") is State.STOPPED


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
