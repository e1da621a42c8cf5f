"""Readiness probes, allocated ports and restart policy (issue 5), from the CLI."""

import json
import os
import socket
import subprocess
import time

import pytest

from conftest import CLI, pid_alive, wait_until

HTTP = ["-m", "http.server", "{port}", "--bind", "127.0.0.1"]


def serve_after(python, delay, *extra):
    """A server that listens on {port} only after `delay` seconds."""
    return [python, "-c", f"import time, sys, runpy; time.sleep({delay}); sys.argv = ['http.server', *sys.argv[1:]]; "
            "runpy.run_module('http.server', run_name='__main__')", "{port}", "--bind", "127.0.0.1", *extra]


def connect(port):
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


@pytest.mark.parametrize("probe", [
    ["--ready-port", "auto"],
    ["--ready-http", "http://127.0.0.1:{port}/"],
    ["--ready-log", r"Serving HTTP on \S+ port \d+"],
    ["--ready-cmd", 'exec 3<>/dev/tcp/127.0.0.1/"$SHAREDSERVER_PORT"'],
])
def test_use_returns_only_once_the_probe_passes(sandbox, python, probe):
    client = sandbox.client()
    env = dict(sandbox.env, PYTHONUNBUFFERED="1")
    if probe[0] == "--ready-cmd":
        probe = ["--ready-cmd", "bash -c 'exec 3<>/dev/tcp/127.0.0.1/$SHAREDSERVER_PORT'", "--ready-timeout", "10s"]
    result = sandbox.run("use", "--pid", client.pid, "--port", "auto", *probe, "web", "--",
                         *serve_after(python, 0.5), env=env)
    info = sandbox.info("web")
    assert result.stdout == f"started web (pid {info['pid']}, port {info['port']})\n"
    assert info["state"] == "active" and info["ready_at"] is not None
    assert connect(info["port"])
    # The event follows the record it describes (DESIGN: events after state):
    # `use` returned on the record, the watcher appends the event next.
    ready = wait_until(lambda: [e for e in sandbox.events("web") if e["event"] == "ready"])
    assert len(ready) == 1 and ready[0]["after_ms"] >= 400


def test_a_unix_socket_probe(sandbox, python, tmp_path):
    path = tmp_path / "s.sock"
    server = [python, "-c", f"import socket, time; time.sleep(0.3); s = socket.socket(socket.AF_UNIX); "
              f"s.bind('{path}'); s.listen(); time.sleep(1000)"]
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--ready-socket", path, "sock", "--", *server)
    assert sandbox.info("sock")["state"] == "active"
    assert path.exists()


def test_no_wait_returns_while_the_server_is_still_starting(sandbox, python):
    client = sandbox.client()
    started = time.monotonic()
    sandbox.run("use", "--pid", client.pid, "--port", "auto", "--ready-port", "auto", "--no-wait", "slow", "--",
                *serve_after(python, 1.5))
    assert time.monotonic() - started < 1.2
    assert sandbox.info("slow")["state"] == "starting"
    assert sandbox.run("check", "slow", check=False).returncode == 3
    assert sandbox.run("wait", "slow", "--timeout", "10s").returncode == 0
    assert sandbox.info("slow")["state"] == "active"


def test_concurrent_callers_of_a_starting_server_all_wait_for_the_same_probe(sandbox, python):
    clients = [sandbox.client() for _ in range(5)]
    args = ["--port", "auto", "--ready-port", "auto", "herd", "--", *serve_after(python, 1)]
    procs = [subprocess.Popen([str(CLI), "use", "--pid", str(c.pid), *args], env=sandbox.env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in clients]
    outputs = [p.communicate(timeout=30) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    port = sandbox.info("herd")["port"]
    # Every caller returned with a server that accepts connections.
    assert connect(port)
    assert sum(out.startswith("started") for out, _ in outputs) == 1
    assert sandbox.info("herd")["refcount"] == 5


def test_a_probe_that_times_out_stops_the_server_and_reports_the_log(sandbox):
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "--ready-port", "1", "--ready-timeout", "500ms", "never", "--",
                         "sh", "-c", "for i in $(seq 30); do echo line $i; done; exec sleep 1000", check=False)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith('sharedserver: server "never" did not become ready within 500ms (port 1: ')
    assert lines[0].endswith("the last lines of its log:")
    assert lines[1:] == [f"line {i}" for i in range(11, 31)]
    assert wait_until(lambda: not (sandbox.dir / "never.server.json").exists())
    assert wait_until(lambda: not sandbox.watcher_pids())
    assert "probe-failed" in [e["event"] for e in sandbox.events("never")]


def test_a_server_that_dies_while_starting_fails_every_waiting_use(sandbox):
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "--ready-port", "1", "dies", "--",
                         "sh", "-c", "echo cannot bind; sleep 0.3; exit 4", check=False)
    assert result.returncode == 1
    assert result.stderr == ('sharedserver: server "dies" exited with code 4 while starting; '
                             "the last lines of its log:\ncannot bind\n")
    assert not (sandbox.dir / "dies.server.json").exists()


@pytest.mark.parametrize("option, value, message", [
    ("--ready-http", "ftp://x/", 'invalid readiness URL "ftp://x/": expected http://host[:port]/path'),
    ("--ready-http", "http://:80/", 'invalid readiness URL "http://:80/"'),
    ("--ready-log", "([", 'invalid readiness log pattern "(["'),
    ("--ready-log", r"(a)\1", r'invalid readiness log pattern "(a)\\1": invalid escape sequence: \1 (patterns are RE2 syntax'),
    ("--ready-log", "(?=x)", 'invalid readiness log pattern "(?=x)": invalid perl operator: (?='),
    ("--ready-port", "70000", '--ready-port: 70000 is not a port'),
    ("--ready-port", "auto", "the port probe has no port: give one (--ready-port 6379) or let the server have one (--port auto)"),
    ("--port", "0", '--port: 0 is not a port: use "auto" or a number from 1 to 65535'),
    ("--port", "http", '--port: "http" is not a port'),
    ("--ready-timeout", "soon", '--ready-timeout: "soon" is not a duration'),
    ("--restart", "sometimes", "--restart"),
])
def test_bad_probe_port_and_restart_options_fail_before_anything_starts(sandbox, option, value, message):
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, option, value, "bad", "--", "sleep", "1000", check=False)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert list(sandbox.dir.iterdir()) == []


def test_two_probes_at_once_are_refused(sandbox):
    result = sandbox.run("use", "--ready-port", "1", "--ready-cmd", "true", "x", "--", "sleep", "1", check=False)
    assert result.returncode == 2


def test_allocated_ports_differ_per_name_and_are_reported_everywhere(sandbox, python):
    client = sandbox.client()
    a = sandbox.run("use", "--pid", client.pid, "--port", "auto", "--ready-port", "auto", "a", "--", python, *HTTP)
    b = sandbox.run("use", "--pid", client.pid, "--port", "auto", "--ready-port", "auto", "b", "--", python, *HTTP)
    port_a, port_b = (int(sandbox.run("port", n).stdout) for n in ("a", "b"))
    assert port_a != port_b
    assert f"port {port_a}" in a.stdout and f"port {port_b}" in b.stdout
    assert {s["name"]: s["port"] for s in json.loads(sandbox.run("list", "--json").stdout)} == {"a": port_a, "b": port_b}
    assert connect(port_a) and connect(port_b)
    listing = sandbox.run("list").stdout.splitlines()
    assert listing[0].split()[:4] == ["NAME", "STATE", "PID", "PORT"]
    # A later client learns the same port.
    other = sandbox.client()
    assert f"port {port_a}" in sandbox.run("use", "--pid", other.pid, "a").stdout


def test_port_substitution_in_arguments_and_env_and_sharedserver_port(sandbox, python, tmp_path):
    out = tmp_path / "seen.json"
    script = (f"import json, os, sys; json.dump({{'argv': sys.argv[1:], 'env': os.environ.get('ADDR'), "
              f"'port': os.environ.get('SHAREDSERVER_PORT')}}, open('{out}', 'w')); import time; time.sleep(1000)")
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--port", "43219", "--env", "ADDR=127.0.0.1:{port}", "sub", "--",
                python, "-c", script, "--listen={port}", "{port}{port}")
    assert wait_until(lambda: out.exists() and out.read_text().endswith("}"))
    seen = json.loads(out.read_text())
    assert seen == {"argv": ["--listen=43219", "4321943219"], "env": "127.0.0.1:43219", "port": "43219"}
    assert sandbox.info("sub")["command"][-2:] == ["--listen={port}", "{port}{port}"]


def test_port_of_a_server_without_one(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "plain", "--", "sleep", "1000")
    result = sandbox.run("port", "plain", check=False)
    assert result.returncode == 1
    assert "has no port" in result.stderr
    assert sandbox.run("port", "nothing", check=False).returncode == 1


def test_restart_on_failure_with_backoff_keeps_port_and_clients(sandbox, python, tmp_path):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--port", "auto", "--ready-port", "auto", "--restart", "on-failure",
                "phoenix", "--", python, *HTTP)
    first = sandbox.info("phoenix")
    os.kill(first["pid"], 9)
    assert wait_until(lambda: sandbox.info("phoenix")["pid"] not in (None, first["pid"])
                      and sandbox.info("phoenix")["state"] == "active", timeout=10)
    second = sandbox.info("phoenix")
    assert second["port"] == first["port"] and second["refcount"] == 1 and second["restarts"] == 1
    assert connect(second["port"])
    kinds = [e for e in sandbox.events("phoenix") if e["event"] in ("restarting", "restarted")]
    assert kinds[0]["event"] == "restarting" and kinds[0]["signal"] == 9 and kinds[0]["delay_ms"] == 100
    assert kinds[1]["event"] == "restarted" and kinds[1]["pid"] == second["pid"]
    assert len(sandbox.watcher_pids()) == 1


def test_a_clean_exit_is_not_restarted_on_failure_but_is_with_always(sandbox, tmp_path):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--restart", "on-failure", "clean", "--", "sh", "-c", "sleep 0.2; exit 0")
    assert wait_until(lambda: not (sandbox.dir / "clean.server.json").exists(), timeout=5)
    counter = tmp_path / "runs"
    sandbox.run("use", "--pid", client.pid, "--restart", "always", "--max-restarts", "2", "--restart-window", "1m",
                "loop", "--", "sh", "-c", f"echo run >> {counter}; sleep 0.2; exit 0")
    assert wait_until(lambda: "gave-up" in [e["event"] for e in sandbox.events("loop")], timeout=10)
    assert counter.read_text().count("run") == 3  # the first run and two restarts
    delays = [e["delay_ms"] for e in sandbox.events("loop") if e["event"] == "restarting"]
    assert delays == [100, 200]
    assert wait_until(lambda: not (sandbox.dir / "loop.server.json").exists())
    # A given-up server starts afresh on the next use.
    assert sandbox.run("use", "--pid", client.pid, "loop", "--", "sleep", "1000").stdout.startswith("started")
