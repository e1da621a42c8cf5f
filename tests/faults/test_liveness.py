"""Liveness after ready (issue 16): a server that stops answering while it
still runs is stopped and restarted per its policy by its watcher, which
keeps handling its clients while a probe is out, and sleeps between probes."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from conftest import BUILD_DIR, PYTHON, pid_alive, wait_until

NAME = "web"


def http_server(liveness, restart="on-failure", **extra):
    """A definition of Python's http.server on an automatic port, ready and
    live when it answers GET /."""
    return {"command": PYTHON, "args": ["-m", "http.server", "--bind", "127.0.0.1", "{port}"],
            "port": "auto", "ready": {"http": "http://127.0.0.1:{port}/", "timeout": "20s"},
            "restart": restart, "liveness": liveness, **extra}


def use(sandbox, tmp_path, definition, client, name=NAME):
    project = tmp_path / "sharedserver.json"
    project.write_text(json.dumps({"servers": {name: definition}}))
    return sandbox.run("--config", project, "use", "--pid", client.pid, name)


def kinds(sandbox, name=NAME):
    return [e["event"] for e in sandbox.events(name)]


def clients_of(sandbox, name=NAME):
    return [c["pid"] for c in sandbox.info(name)["clients"]]


def test_a_hung_server_is_stopped_and_restarted_keeping_its_clients(sandbox, tmp_path):
    client = sandbox.client()
    # A timeout a loaded machine's healthy server still answers within.
    use(sandbox, tmp_path, http_server({"http": "http://127.0.0.1:{port}/", "interval": "200ms", "timeout": "1s",
                                        "failures": 2}), client)
    old = sandbox.info(NAME)
    assert old["state"] == "active"
    assert old["liveness"]["probe"] == f"http http://127.0.0.1:{old['port']}/"
    os.kill(old["pid"], signal.SIGSTOP)
    try:
        assert wait_until(lambda: "restarted" in kinds(sandbox), timeout=30)
    finally:
        if pid_alive(old["pid"]):
            os.kill(old["pid"], signal.SIGCONT)
    assert wait_until(lambda: sandbox.info(NAME)["state"] == "active", timeout=30)
    new = sandbox.info(NAME)
    assert new["pid"] != old["pid"] and pid_alive(new["pid"])
    assert wait_until(lambda: not pid_alive(old["pid"]))
    assert new["clients"] and clients_of(sandbox) == [client.pid]
    assert new["restarts"] == 1
    events = sandbox.events(NAME)
    failed = [e for e in events if e["event"] == "liveness-failed"]
    assert len(failed) == 1
    assert failed[0]["pid"] == old["pid"] and failed[0]["failures"] == 2
    assert failed[0]["reason"] == "no answer within 1s"
    order = [e["event"] for e in events if e.get("pid") == old["pid"] or e.get("old_pid") == old["pid"]]
    assert order[-4:] == ["liveness-failed", "exited", "restarting", "restarted"]
    # The new server is probed too, and passes: its count starts again.
    assert new["liveness"]["failures_in_a_row"] == 0


def test_a_healthy_server_probed_every_100ms_is_left_alone(sandbox, tmp_path):
    client = sandbox.client()
    use(sandbox, tmp_path, http_server({"http": "http://127.0.0.1:{port}/", "interval": "100ms", "timeout": "5s"}),
        client)
    before = sandbox.info(NAME)
    log = sandbox.dir / f"{NAME}.log"
    requests_before = log.read_text().count("GET / HTTP/1.0") if log.exists() else 0
    time.sleep(2)  # the span the issue names: nothing may happen in it
    after = sandbox.info(NAME)
    assert after["pid"] == before["pid"] and after["restarts"] == 0
    assert after["liveness"]["failures_in_a_row"] == 0 and after["liveness"]["last_failure_at"] is None
    assert "liveness-failed" not in kinds(sandbox)
    # It was probed all along (the server logs each request): ~20 in 2 s,
    # fewer on a loaded machine, never none.
    probes = log.read_text().count("GET / HTTP/1.0") - requests_before
    assert 5 <= probes <= 25, probes


def test_policy_no_leaves_it_stopped_and_says_why(sandbox, tmp_path):
    client = sandbox.client()
    use(sandbox, tmp_path, http_server({"http": "http://127.0.0.1:{port}/", "interval": "100ms", "timeout": "1s",
                                        "failures": 3}, restart="no"), client)
    pid = sandbox.info(NAME)["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        assert wait_until(lambda: "exited" in kinds(sandbox), timeout=30)
    finally:
        if pid_alive(pid):
            os.kill(pid, signal.SIGCONT)
    assert wait_until(lambda: not pid_alive(pid))
    assert sandbox.info(NAME)["state"] == "stopped"
    assert sandbox.record(NAME) is None
    assert kinds(sandbox)[-2:] == ["liveness-failed", "exited"]
    # The library's reason and sentence, as every client reads them.
    if not (python_package_dir() / "sharedserver" / "__init__.py").exists():
        pytest.skip("the Python package is not built")
    script = ("import sharedserver, sys; e = sharedserver.Context().exit(sys.argv[1]); "
              "print(e.reason); print(e.message)")
    out = subprocess.run([PYTHON, "-c", script, NAME], capture_output=True, text=True, check=True,
                         env=dict(sandbox.env, PYTHONPATH=str(python_package_dir()))).stdout.splitlines()
    assert out[0] == "unhealthy"
    assert out[1] == (f"server \"{NAME}\" was stopped: it failed its liveness probe "
                      f"(http http://127.0.0.1:{sandbox_port(sandbox)}/: no answer within 1s, 3 times in a row)")


def python_package_dir():
    return BUILD_DIR / "bindings" / "python"


def sandbox_port(sandbox):
    started = [e for e in sandbox.events(NAME) if e["event"] == "liveness-failed"]
    return re.search(r":(\d+)/", started[-1]["probe"]).group(1)


def test_clients_dying_during_a_slow_liveness_command_still_end_the_server_after_grace(sandbox, tmp_path):
    client = sandbox.client()
    marker = tmp_path / "probing"
    # Each attempt runs for 30 s (its timeout); the watcher must not wait for it.
    definition = {"command": "sleep", "args": ["1000"], "idle_timeout": "300ms",
                  "liveness": {"cmd": f"touch {marker}; sleep 30", "interval": "100ms", "timeout": "30s"}}
    use(sandbox, tmp_path, definition, client)
    pid = sandbox.info(NAME)["pid"]
    assert wait_until(marker.exists, timeout=10), "the liveness command never ran"
    probe_pids = [p for p in pids_of_children(sandbox.info(NAME)["watcher_pid"]) if p != pid]
    assert probe_pids, "no liveness command under the watcher"
    started = time.monotonic()
    client.kill()
    client.wait()
    assert wait_until(lambda: not pid_alive(pid), timeout=10)
    took = time.monotonic() - started
    assert took < 5, f"the server outlived its grace period by {took:.1f}s"
    assert wait_until(lambda: kinds(sandbox)[-1:] == ["exited"], timeout=10)
    assert kinds(sandbox)[-4:] == ["client-died", "grace-entered", "stopping", "exited"]
    # The command was stopped with the server (our child), not left running.
    assert wait_until(lambda: not any(pid_alive(p) for p in probe_pids))
    assert wait_until(lambda: not sandbox.watcher_pids())


def pids_of_children(parent):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(parent)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.skipif(subprocess.run(["which", "strace"], capture_output=True).returncode != 0,
                    reason="needs strace")
def test_an_idle_watcher_wakes_once_per_interval(sandbox, tmp_path):
    client = sandbox.client()
    # A port probe: one connect per wake-up. Python's server answers it.
    use(sandbox, tmp_path, http_server({"port": True, "interval": "1s"}), client)
    watcher = sandbox.info(NAME)["watcher_pid"]
    trace = tmp_path / "trace"
    tracer = sandbox.spawn(["strace", "-f", "-p", str(watcher), "-o", str(trace), "-tt"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(3.5)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=10)
    calls = [line for line in trace.read_text().splitlines() if re.match(r"^\d+\s+[\d:.]+\s+\w+\(", line)]
    # The watcher's sleeps: poll() with no timeout (a probe's own check of
    # its socket is a poll() with timeout 0).
    sleeps = [line for line in calls if re.search(r"\spoll\(.*, -1\)", line)]
    connects = [line for line in calls if re.search(r"\sconnect\(", line)]
    # 3-4 probes in 3.5 s, each one wake-up of 8 calls (read the timer,
    # socket, connect, poll, getsockopt, close, set the timer, poll); a busy
    # loop makes thousands.
    assert 2 <= len(connects) <= 5, "\n".join(calls)
    assert len(sleeps) <= len(connects) + 1, "\n".join(calls)
    assert len(calls) <= 10 * (len(connects) + 1), "\n".join(calls)
    assert sandbox.info(NAME)["pid"] and "liveness-failed" not in kinds(sandbox)


def test_stopping_an_unhealthy_server_that_ignores_sigterm_leaves_its_name_usable(sandbox, tmp_path):
    # The liveness stop once ran under the name's lock: a server ignoring
    # SIGTERM held up every use and unuse of its name for the 5 s stop timeout.
    client = sandbox.client()
    definition = {"command": "sh", "args": ["-c", "trap '' TERM; exec sleep 1000"], "restart": "no",
                  "liveness": {"cmd": "false", "interval": "100ms", "failures": 1}}
    use(sandbox, tmp_path, definition, client)
    record = sandbox.record(NAME)
    sandbox.pids += [record["pid"], record["watcher_pid"]]
    assert wait_until(lambda: "liveness-failed" in kinds(sandbox), timeout=10)
    started = time.monotonic()
    sandbox.run("--config", tmp_path / "sharedserver.json", "unuse", "--pid", client.pid, NAME, check=False)
    sandbox.run("info", NAME)
    assert time.monotonic() - started < 2.5, "the name stayed locked while the watcher waited for SIGTERM"
    assert pid_alive(record["pid"])  # still inside its stop timeout: the lock was not what made this fast
    assert wait_until(lambda: not pid_alive(record["pid"]), timeout=10)
    assert wait_until(lambda: not pid_alive(record["watcher_pid"]), timeout=10)
