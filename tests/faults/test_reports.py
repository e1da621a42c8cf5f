"""Promise 3: what a command reports is true. Never `started` without a
server running under a record every reader can read, never a hidden server,
and a server that dies while starting is reported with how it died."""

import json
import os
import signal
import subprocess
import time

from conftest import BUILD_DIR, CLI, PYTHON, pid_alive, wait_until
from harness import processes

MARKER = "sharedserver-faults-big-argument"


def leftovers(sandbox):
    """The files of the state dir and the processes that carry the marker."""
    files = sorted(p.name for p in sandbox.dir.iterdir())
    running = [pid for pid, cmdline in processes() if any(MARKER.encode() in arg for arg in cmdline)]
    return files, running


def test_a_command_of_1_2_mb_is_refused_in_one_line_and_leaves_nothing(sandbox):
    client = sandbox.client()
    big = [MARKER + "x" * 100_000 for _ in range(12)]
    result = sandbox.run("use", "--pid", client.pid, "big", "--", "sh", "-c", "sleep 1000", *big, check=False)
    assert result.returncode == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    # The library reads the definition before it is given a name.
    assert result.stderr.startswith('sharedserver: the definition is too large: its command takes ')
    assert "may take 64 KiB together" in result.stderr
    assert leftovers(sandbox) == ([], [])


def test_a_definition_just_under_the_limit_starts_and_every_reader_reads_it(sandbox):
    client = sandbox.client()
    # 60 KiB of arguments, in the characters JSON escapes most.
    args = ["\x01" * 1000 for _ in range(10)]
    sandbox.run("use", "--pid", client.pid, "wide", "--", "sh", "-c", "sleep 1000", *args)
    info = sandbox.info("wide")
    assert info["state"] == "active" and info["command"][3:] == args
    assert pid_alive(info["pid"])
    assert [row["name"] for row in json.loads(sandbox.run("list", "--json").stdout)] == ["wide"]
    sandbox.run("admin", "stop", "wide")


def test_bytes_that_are_not_utf8_are_refused_not_run_as_something_else(sandbox):
    client = sandbox.client()
    result = subprocess.run([str(CLI), "use", "--pid", str(client.pid), "u8", "--", "sh", "-c", "sleep 1000",
                             b"caf\xe9"], capture_output=True, env=sandbox.env, stdin=subprocess.DEVNULL, timeout=30)
    assert result.returncode == 2
    assert result.stderr == (b'sharedserver: argument 3 of the command of "u8" is not valid UTF-8 (byte 0xe9 at '
                             b"offset 3): records are JSON text and cannot keep such bytes; pass them in a file\n")
    assert list(sandbox.dir.iterdir()) == []


def test_a_relative_lockdir_names_the_same_server_from_any_directory(sandbox):
    client = sandbox.client()
    relative = dict(sandbox.env, SHAREDSERVER_LOCKDIR="state")
    started = subprocess.run([str(CLI), "use", "--pid", str(client.pid), "rel", "--", "sleep", "1000"],
                             cwd=sandbox.root, env=relative, capture_output=True, text=True, timeout=30)
    assert started.returncode == 0, started.stderr
    pid = sandbox.record("rel")["pid"]
    assert started.stdout == f"started rel (pid {pid})\n"
    # The watcher runs from /: it once looked for the record there and
    # stopped the server it had just started.
    time.sleep(0.5)
    assert pid_alive(pid)
    for cwd, lockdir in (("/", str(sandbox.dir)), (sandbox.dir, "."), (sandbox.root / "state", "../state/")):
        seen = subprocess.run([str(CLI), "info", "rel", "--json"], cwd=cwd, capture_output=True, text=True,
                              env=dict(sandbox.env, SHAREDSERVER_LOCKDIR=lockdir), timeout=30)
        info = json.loads(seen.stdout)
        assert (info["state"], info["pid"]) == ("active", pid), (cwd, lockdir)
    assert sandbox.record("rel")["log_file"] == str(sandbox.dir / "rel.log")
    sandbox.run("admin", "stop", "rel")


def test_list_shows_a_corrupt_record_beside_a_healthy_server(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "good", "--", "sleep", "1000")
    sandbox.run("use", "--pid", client.pid, "bad", "--", "sleep", "1000")
    bad = sandbox.record("bad")
    sandbox.pids += [bad["pid"], bad["watcher_pid"]]  # its record will not name them any more
    (sandbox.dir / "bad.server.json").write_text("{garbage")
    why = (f'record "{sandbox.dir}/bad.server.json" is corrupt (not a JSON object); '
           "repair it with doctor")

    table = sandbox.run("list").stdout.splitlines()
    assert table[0].split() == ["NAME", "STATE", "PID", "REFS", "UPTIME", "GRACE", "COMMAND"]
    assert table[1].split()[:7] == ["bad", "✗", "corrupt", "-", "-", "-", "-"]
    # The table speaks the CLI's words; the JSON and the other clients keep the library's.
    assert table[1].endswith(why.replace("repair it with doctor", "run `sharedserver admin doctor` to repair it"))
    assert table[2].split()[:3] == ["good", "●", "active"]

    rows = json.loads(sandbox.run("list", "--json").stdout)
    assert [(r["name"], r["state"], r["error"]) for r in rows] == [("bad", "corrupt", why), ("good", "active", None)]
    assert rows[0]["pid"] is None
    assert sandbox.run("list", "--names").stdout == "bad\ngood\n"

    python = subprocess.run([PYTHON, "-c", "import sharedserver\n"
                             "for s in sharedserver.list(): print(s.name, s.state.value, s.running, s.error)"],
                            capture_output=True, text=True, timeout=30,
                            env=dict(sandbox.env, PYTHONPATH=str(BUILD_DIR / "bindings" / "python")))
    assert python.stdout == f"bad corrupt False {why}\ngood active True None\n", python.stderr

    sandbox.run("admin", "doctor")
    assert sandbox.run("list", "--names").stdout == "good\n"
    sandbox.run("admin", "stop", "good")


def test_a_server_that_exits_3_while_starting_is_reported_every_time(sandbox):
    client = sandbox.client()
    port = 1  # nothing listens there: the probe never passes
    for attempt in range(20):
        result = sandbox.run("use", "--pid", client.pid, "--ready-port", port, "--ready-timeout", "10s", "d3", "--",
                             "sh", "-c", "echo boom; exit 3", check=False)
        assert (result.returncode, result.stdout) == (1, ""), attempt
        # The log keeps the earlier attempts' lines too: the last 20 are shown.
        assert result.stderr == ('sharedserver: server "d3" exited with code 3 while starting; '
                                 "the last lines of its log:\n" + "boom\n" * min(attempt + 1, 20)), attempt
        assert not (sandbox.dir / "d3.server.json").exists()


def test_a_server_killed_by_a_signal_while_starting_is_reported_with_the_signal(sandbox):
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "--ready-port", 1, "sig", "--",
                         "sh", "-c", "echo going; kill -9 $$", check=False)
    assert result.returncode == 1
    assert result.stderr == ('sharedserver: server "sig" was killed by signal 9 while starting; '
                             "the last lines of its log:\ngoing\n")


def test_a_server_stopped_while_starting_says_so(sandbox):
    client = sandbox.client()
    waiter = subprocess.Popen([str(CLI), "use", "--pid", str(client.pid), "--ready-port", "1", "--ready-timeout", "1m",
                               "slow", "--", "sleep", "1000"], env=sandbox.env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sandbox.pids.append(waiter.pid)
    assert wait_until(lambda: (sandbox.dir / "slow.server.json").exists(), timeout=10)
    sandbox.run("admin", "stop", "slow")
    out, err = waiter.communicate(timeout=30)
    assert waiter.returncode == 1
    assert err == 'sharedserver: server "slow" was stopped while starting\n'


def test_a_signal_to_with_while_it_waits_for_readiness_ends_it_at_once(sandbox, tmp_path):
    # Once the signal was lost (the forwarding handler had no child yet) and
    # `with` waited forever; then it was held until the command ran, so
    # Ctrl-C did nothing until the server was ready or the probe gave up.
    # Now it ends `with` at once, no command runs, its reference goes.
    ran = tmp_path / "ran"
    (tmp_path / "sharedserver.json").write_text(json.dumps({"servers": {"s": {
        "command": "sleep", "args": ["1000"], "ready": {"cmd": "false", "interval": "20ms", "timeout": "60s"}}}}))
    for sig in (signal.SIGINT, signal.SIGTERM):
        proc = subprocess.Popen([str(CLI), "with", "s", "--", "touch", str(ran)], cwd=tmp_path, env=sandbox.env,
                                stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sandbox.pids.append(proc.pid)
        assert wait_until(lambda: (sandbox.dir / "s.clients.json").exists(), timeout=10)
        record = sandbox.record("s")
        sandbox.pids += [record["pid"], record["watcher_pid"]]
        proc.send_signal(sig)
        assert proc.wait(timeout=3) == -sig
        assert not ran.exists()
        assert wait_until(lambda: not (sandbox.dir / "s.clients.json").exists(), timeout=5)
        sandbox.run("admin", "stop", "--force", "s", check=False)
