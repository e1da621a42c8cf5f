"""The chaos run, bounded for CI (about 90 s), and the deterministic
regressions for what chaos runs have found. CHAOS_SEED=<n> replays a seed;
CHAOS_DURATION=<s> changes the length."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

import chaos

HERE = Path(__file__).resolve().parent
CLI = chaos.BUILD_DIR / "cli" / "sharedserver"
WATCHER = chaos.BUILD_DIR / "watcher" / "sharedserver-watcher"


def test_chaos_bounded():
    args = [sys.executable, str(HERE / "chaos.py"), "--duration", os.environ.get("CHAOS_DURATION", "75")]
    if os.environ.get("CHAOS_SEED"):
        args += ["--seed", os.environ["CHAOS_SEED"]]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=float(os.environ.get("CHAOS_DURATION", "75")) + 60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)   # chaos.py kills everything it started, by pid
        out, _ = proc.communicate(timeout=30)
        pytest.fail("chaos.py did not finish in time:\n" + out)
    print(out)
    assert proc.returncode == 0, out


# ---------------------------------------------------------------- regressions

def tagged(tag):
    """Live processes whose environment carries `tag`."""
    found = []
    for pid in chaos.all_pids():
        if tag.encode() in chaos.proc_environ(pid) and chaos.alive(pid):
            found.append(pid)
    return found


@pytest.fixture
def state_dir():
    root = tempfile.mkdtemp(prefix="sharedserver-regress-")
    os.chmod(root, 0o700)
    tag = f"REGRESS_TAG={os.getpid()}-{time.monotonic_ns()}"
    started = []
    yield Path(root), tag, started
    for pid in tagged(tag):
        try:
            os.killpg(os.getpgid(pid), signal.SIGKILL)
        except OSError:
            pass
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in chaos.all_pids():
        cmd = chaos.proc_cmdline(pid)
        if cmd and cmd[0].endswith(b"sharedserver-watcher") and root.encode() in cmd:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for proc in started:
        try:
            proc.kill()
            proc.wait()
        except OSError:
            pass
    subprocess.run(["rm", "-rf", root])


def run(state, *args, check=True):
    env = dict(os.environ, SHAREDSERVER_LOCKDIR=str(state), NO_COLOR="1", SHAREDSERVER_WATCHER=str(WATCHER))
    result = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, env=env, timeout=30,
                            stdin=subprocess.DEVNULL)
    if check:
        assert result.returncode == 0, (args, result.stderr)
    return result


def test_a_watcher_whose_client_died_before_reading_its_report_leaves_no_server(state_dir):
    """Found by chaos (kill -9 of `admin restart`/`use` mid-transaction): the
    client dies after sending the request but before reading the watcher's
    report. The watcher's report write then raises SIGPIPE, the watcher dies,
    and the server it had just launched runs on with no watcher and no record."""
    state, tag, _ = state_dir
    ctrl_r, ctrl_w = os.pipe()
    rep_r, rep_w = os.pipe()
    os.close(rep_r)   # the client is gone before it reads the report
    launcher = subprocess.Popen([str(WATCHER), "run", "--state-dir", str(state), "--name", "x"],
                                stdin=ctrl_r, stdout=rep_w, stderr=subprocess.DEVNULL)
    os.close(ctrl_r)
    os.close(rep_w)
    launcher.wait()
    request = {"command": ["/bin/sh", "-c", "sleep 100000 & wait"], "env": [tag], "working_dir": "/",
               "log_file": str(state / "x.log")}
    os.write(ctrl_w, (json.dumps(request) + "\n").encode())
    time.sleep(0.5)
    os.close(ctrl_w)  # the client's death closes the handshake too
    deadline = time.monotonic() + 8
    while tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tagged(tag) == [], "a server runs with no watcher and no record"


def test_stale_record_repair_also_stops_what_is_left_of_the_server_group(state_dir):
    """Found by chaos (kill -9 of a watcher, then of its server's leader): the
    next `use` removes the stale record and starts a new server, but the old
    server's other group members run on, orphaned (two copies of the server)."""
    state, tag, started = state_dir
    client = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    started.append(client)
    run(state, "use", "--pid", client.pid, "--env", tag, "x", "--", "/bin/sh", "-c", "sleep 100000 & wait")
    record = json.loads((state / "x.server.json").read_text())
    os.kill(record["watcher_pid"], signal.SIGKILL)
    assert chaos.wait_dead(record["watcher_pid"], record["watcher_start"])
    os.kill(record["pid"], signal.SIGKILL)
    assert chaos.wait_dead(record["pid"], record["pid_start"])
    old_group = [p for p in tagged(tag)]
    assert old_group, "the leader's child should still be alive at this point"
    run(state, "use", "--pid", client.pid, "--env", tag, "x", "--", "/bin/sh", "-c", "sleep 100000 & wait")
    new = json.loads((state / "x.server.json").read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(chaos.alive(p) for p in old_group):
        time.sleep(0.05)
    left = [p for p in old_group if chaos.alive(p)]
    assert left == [], f"members {left} of the old server's group {record['pgid']} outlived its record" \
                       f" (new server pid {new['pid']})"


def test_doctor_also_stops_what_is_left_of_a_dead_servers_group(state_dir):
    state, tag, started = state_dir
    client = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    started.append(client)
    run(state, "use", "--pid", client.pid, "--env", tag, "x", "--", "/bin/sh", "-c", "sleep 100000 & wait")
    record = json.loads((state / "x.server.json").read_text())
    os.kill(record["watcher_pid"], signal.SIGKILL)
    assert chaos.wait_dead(record["watcher_pid"], record["watcher_start"])
    os.kill(record["pid"], signal.SIGKILL)
    assert chaos.wait_dead(record["pid"], record["pid_start"])
    run(state, "admin", "doctor")
    assert not (state / "x.server.json").exists()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and tagged(tag):
        time.sleep(0.05)
    assert tagged(tag) == [], "doctor removed the record but left the server's group running"
