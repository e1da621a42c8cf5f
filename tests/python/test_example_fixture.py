"""examples/python: the session fixture shares one server between pytest runs
of different processes, concurrent or one after the other."""

import subprocess

from py_support import PYTHON, REPO

import sharedserver
from sharedserver import State

EXAMPLE = REPO / "examples" / "python"


def pytest_session(sandbox):
    env = dict(sandbox.env, EXAMPLE_SERVER_NAME="example-http")
    proc = subprocess.Popen([PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLE)],
                            env=env, cwd=EXAMPLE, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    sandbox.procs.append(proc)
    return proc


def finished(proc):
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "2 passed" in output
    return output


def test_concurrent_pytest_sessions_share_one_server(sandbox):
    sessions = [pytest_session(sandbox) for _ in range(3)]
    for proc in sessions:
        finished(proc)
    info = sandbox.remember("example-http")
    events = sharedserver.events("example-http")
    assert [e["event"] for e in events].count("started") == 1
    assert sorted(e["client"] for e in events if e["event"] == "attached") == sorted(p.pid for p in sessions)
    assert info.state is State.GRACE and info.refcount == 0


def test_a_later_session_finds_the_server_still_warm(sandbox):
    finished(pytest_session(sandbox))
    first = sandbox.remember("example-http")
    assert first.state is State.GRACE
    finished(pytest_session(sandbox))
    second = sharedserver.status("example-http")
    assert second.pid == first.pid
    assert second.port == first.port
    assert [e["event"] for e in sharedserver.events("example-http")].count("started") == 1
