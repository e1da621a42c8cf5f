"""`sharedserver events`: the recorded state changes, and with -f the new ones
as other clients cause them, until a signal or a closed pipe."""

import json
import shutil
import signal
import subprocess
import threading
import time

import pytest

from conftest import CLI, wait_until

SLEEP = ["sleep", "1000"]


def lines_of(result):
    return [line for line in result.stdout.splitlines() if line]


def follower(sandbox, *args):
    """`events -f` reading from a pipe, killed by the sandbox if a test fails."""
    proc = sandbox.spawn([str(CLI), "events", "-f", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         env=sandbox.env, text=True)
    return proc


def read_until(proc, predicate, timeout=15.0):
    """Lines of `proc` until one satisfies predicate; a follower that prints
    nothing more is killed after `timeout`, which ends the read."""
    seen = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"events -f ended ({proc.wait()}) before the line waited for: {seen}")
            seen.append(line.rstrip("\n"))
            if predicate(seen[-1]):
                return seen
    finally:
        timer.cancel()


def test_events_prints_every_recorded_change_oldest_first_with_state_pid_and_message(sandbox):
    started = sandbox.run("use", "--pid", sandbox.client().pid, "web", "--", *SLEEP)
    assert started.stdout.startswith("started")
    pid = sandbox.info("web")["pid"]
    sandbox.run("admin", "stop", "web")
    # the watcher records the exit once the records are gone, after stop returned
    assert wait_until(lambda: any(e["event"] == "exited" for e in sandbox.events("web")), timeout=15)
    out = lines_of(sandbox.run("events"))
    kinds = [line.split()[3] for line in out]
    assert kinds[0] == "started" and kinds[-1] == "exited", out
    assert "stopping" in kinds, out
    for line in out:
        words = line.split()
        assert words[2] == "web", line
        assert words[4] == "stopped", line  # the name's state now
    started_line = out[kinds.index("started")].split()
    assert started_line[5] == str(pid)
    exited = out[-1]
    assert exited.split()[5] == str(pid)
    assert exited.endswith("killed by signal 15"), exited
    assert sandbox.run("events").returncode == 0


def test_events_json_gives_the_recorded_event_with_name_and_state(sandbox):
    sandbox.run("use", "--pid", sandbox.client().pid, "api", "--", *SLEEP)
    pid = sandbox.info("api")["pid"]
    events = [json.loads(line) for line in lines_of(sandbox.run("events", "--json"))]
    assert events, "no events"
    assert {e["name"] for e in events} == {"api"}
    assert events[0]["event"] == "started" and events[0]["pid"] == pid
    assert {e["state"] for e in events} == {"active"}
    assert all(isinstance(e["at"], int) for e in events)
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)


def test_events_of_named_servers_leave_out_the_others(sandbox):
    for name in ("one", "two", "three"):
        sandbox.run("use", "--pid", sandbox.client().pid, name, "--", *SLEEP)
    named = [json.loads(line)["name"] for line in lines_of(sandbox.run("events", "--json", "one", "three"))]
    assert set(named) == {"one", "three"}
    every = [json.loads(line)["name"] for line in lines_of(sandbox.run("events", "--json"))]
    assert set(every) == {"one", "two", "three"}


def test_events_since_leaves_out_older_changes(sandbox):
    sandbox.run("use", "--pid", sandbox.client().pid, "old", "--", *SLEEP)
    assert lines_of(sandbox.run("events", "--since", "10m"))
    assert lines_of(sandbox.run("events", "--since", "0s")) == []


def test_events_refuses_a_bad_duration_and_a_bad_name_in_one_line(sandbox):
    bad = sandbox.run("events", "--since", "5x", check=False)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "--since" in bad.stderr and '"5x"' in bad.stderr, bad.stderr
    bad = sandbox.run("events", "../x", check=False)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "../x" in bad.stderr, bad.stderr


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGPIPE])
def test_events_follow_prints_changes_another_client_causes_and_a_signal_ends_it_with_0(sandbox, stop):
    sandbox.run("use", "--pid", sandbox.client().pid, "before", "--", *SLEEP)
    proc = follower(sandbox, "--json", "--since", "0s")
    # The follower prints nothing recorded before it; this use is new.
    assert wait_until(lambda: _blocked_in_poll(proc.pid), timeout=15)
    sandbox.run("use", "--pid", sandbox.client().pid, "later", "--", *SLEEP)
    seen = read_until(proc, lambda line: json.loads(line)["event"] == "started")
    first = json.loads(seen[-1])
    assert first["name"] == "later" and first["state"] == "active"
    assert first["pid"] == sandbox.info("later")["pid"]
    assert all(json.loads(line)["name"] == "later" for line in seen)
    sandbox.run("admin", "stop", "later")
    read_until(proc, lambda line: json.loads(line)["event"] == "exited")
    proc.send_signal(stop)
    assert proc.wait(15) == 0
    assert proc.stderr.read() == ""


def _blocked_in_poll(pid):
    """The follower sleeps in poll (the first number of /proc/pid/syscall is 7)."""
    try:
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] == "7"
    except (OSError, IndexError):
        return False


def test_events_follow_of_a_name_ignores_the_others(sandbox):
    proc = follower(sandbox, "--json", "mine")
    assert wait_until(lambda: _blocked_in_poll(proc.pid), timeout=15)
    sandbox.run("use", "--pid", sandbox.client().pid, "theirs", "--", *SLEEP)
    sandbox.run("use", "--pid", sandbox.client().pid, "mine", "--", *SLEEP)
    seen = read_until(proc, lambda line: json.loads(line)["event"] == "started")
    assert {json.loads(line)["name"] for line in seen} == {"mine"}
    proc.send_signal(signal.SIGINT)
    assert proc.wait(15) == 0


def test_events_follow_into_a_pipe_closed_by_head_exits_0_at_once(sandbox):
    sandbox.run("use", "--pid", sandbox.client().pid, "piped", "--", *SLEEP)
    # head exits after the first recorded line; no new change comes after it,
    # so the follower must notice the closed pipe itself.
    script = f'"{CLI}" events -f | head -1; echo "status ${{PIPESTATUS[0]}}"'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=sandbox.env, timeout=30)
    out = result.stdout.splitlines()
    assert len(out) == 2, result
    assert out[0].split()[2:4] == ["piped", "started"], out
    assert out[1] == "status 0", result


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")
def test_an_idle_follower_makes_no_system_call_in_3_seconds(sandbox, tmp_path):
    sandbox.run("use", "--pid", sandbox.client().pid, "idle", "--", *SLEEP)
    proc = follower(sandbox)
    read_until(proc, lambda line: "started" in line)
    assert wait_until(lambda: _blocked_in_poll(proc.pid), timeout=15)
    out = tmp_path / "strace.txt"
    tracer = sandbox.spawn(["strace", "-f", "-c", "-o", str(out), "-p", str(proc.pid)],
                           stderr=subprocess.PIPE, text=True)
    assert wait_until(lambda: _traced(proc.pid), timeout=15), "strace did not attach"
    time.sleep(3)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(15)
    table = out.read_text()
    calls = [line.split() for line in table.splitlines() if line.split() and line.split()[-1] != "total"
             and line.split()[0][0].isdigit()]
    assert calls == [], table
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(15) == 0


def _traced(pid):
    with open(f"/proc/{pid}/status") as f:
        return any(line.startswith("TracerPid:") and line.split()[1] != "0" for line in f)


def test_events_has_help_and_bash_completion(sandbox, tmp_path):
    help_text = sandbox.run("events", "--help").stdout
    for option in ("-f,--follow", "--json", "--since"):
        assert option in help_text, help_text
    assert "events" in sandbox.run("--help").stdout
    sandbox.run("use", "--pid", sandbox.client().pid, "redis", "--", *SLEEP)
    script = tmp_path / "complete.bash"
    script.write_text(sandbox.run("completion", "bash").stdout)
    probe = (f'PATH="{CLI.parent}:$PATH"; source {script}; '
             'COMP_WORDS=(sharedserver ev); COMP_CWORD=1; _sharedserver; echo "${COMPREPLY[@]}"; '
             'COMP_WORDS=(sharedserver events --); COMP_CWORD=2; _sharedserver; echo "${COMPREPLY[@]}"; '
             'COMP_WORDS=(sharedserver events r); COMP_CWORD=2; _sharedserver; echo "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe], env=sandbox.env, capture_output=True, text=True).stdout.splitlines()
    assert out == ["events", "--follow --json --since --help", "redis"]
    for shell in ("zsh", "fish"):
        assert "events" in sandbox.run("completion", shell).stdout


def test_events_of_a_name_never_used_print_nothing_and_leave_no_file(sandbox):
    assert sandbox.run("events", "never-used").stdout == ""
    assert sorted(p.name for p in sandbox.dir.iterdir()) == []


@pytest.mark.parametrize("follow", [[], ["-f"]])
def test_events_into_a_full_device_fails_with_one_line(sandbox, follow):
    sandbox.run("use", "--pid", sandbox.client().pid, "full", "--", *SLEEP)
    with open("/dev/full", "w") as full:
        result = subprocess.run([str(CLI), "events", *follow], stdout=full, stderr=subprocess.PIPE, text=True,
                                env=sandbox.env, timeout=30)
    assert result.returncode == 1
    assert result.stderr == "sharedserver: cannot write to stdout: No space left on device\n"
