"""The chaos run, bounded for CI, the deterministic regressions for what chaos
runs have found, and the self-tests of the chaos checker (a checker that
cannot fail is a defect: each self-test builds a real violation with real
processes and proves the checker reports it).

  CHAOS_SEED=<n>      replays a seed in test_chaos_bounded
  CHAOS_DURATION=<s>  seconds of chaos (default 90: about 95-100 s in all)
The soak run is not a pytest test: tests/chaos/chaos.py --soak (see its
docstring). Every process a test starts is killed by pid at the end, however
the test ends.
"""

import fcntl
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
DEFAULT_DURATION = 90


def test_chaos_bounded():
    duration = float(os.environ.get("CHAOS_DURATION", DEFAULT_DURATION))
    token = f"chaostest{os.getpid()}x{time.monotonic_ns()}"
    args = [sys.executable, str(HERE / "chaos.py"), "--duration", f"{duration:g}", "--token", token]
    if os.environ.get("CHAOS_SEED"):
        args += ["--seed", os.environ["CHAOS_SEED"]]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    out = ""
    try:
        out, _ = proc.communicate(timeout=duration + 90)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)   # chaos.py kills everything it started, by pid
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
        pytest.fail("chaos.py did not finish in time:\n" + out)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        # Whatever chaos.py left (it must leave nothing): killed by pid here.
        left = chaos.reap_tagged(token)
    print(out)
    assert proc.returncode == 0, out
    assert left == [], f"chaos.py passed but left processes {left} running"


# ---------------------------------------------------------------- regressions

def tagged(tag):
    """Live processes whose environment carries `tag`."""
    found = []
    for pid in chaos.all_pids():
        if tag.encode() in chaos.proc_environ(pid) and chaos.alive(pid):
            found.append(pid)
    return found


def wait_tagged(tag, count, timeout=10.0):
    """Waits until `count` processes carry `tag` (the shell has forked its
    `sleep`): killing the leader before that would test nothing."""
    deadline = time.monotonic() + timeout
    while len(tagged(tag)) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    found = tagged(tag)
    if len(found) < count:
        # What became of the rest: every child of what was found, tagged or not.
        children = [p for p in chaos.all_pids() if (chaos.proc_stat(p) or (0, 0))[1] in found]
        pytest.fail(f"the server did not start its {count} processes: " + "; ".join(
            f"{p} {chaos.proc_stat(p)} {chaos.proc_cmdline(p)}" for p in found) + "; their children: " + "; ".join(
            f"{p} {chaos.proc_stat(p)} {chaos.proc_cmdline(p)} tagged={tag.encode() in chaos.proc_environ(p)}"
            for p in children))


def kill_watcher(record):
    """SIGKILLs the watcher a server record names and waits until it is gone."""
    os.kill(record["watcher_pid"], signal.SIGKILL)
    assert chaos.wait_dead(record["watcher_pid"], record["watcher_start"])


@pytest.fixture
def state_dir():
    root = tempfile.mkdtemp(prefix="sharedserver-regress-")
    os.chmod(root, 0o700)
    tag = f"REGRESS_TAG={os.getpid()}-{time.monotonic_ns()}"
    started = []
    try:
        yield Path(root), tag, started
    finally:
        # The watchers (which start servers) and the servers, with their groups, by pid.
        chaos.kill_matching(lambda env, cmd: chaos.is_watcher_of(cmd, root) or tag.encode() in env)
        for proc in started:
            try:
                proc.kill()
                proc.wait()
            except OSError:
                pass
        subprocess.run(["rm", "-rf", root])
        assert tagged(tag) == [], "the test left processes behind"


def run(state, *args, check=True, timeout=30):
    env = dict(os.environ, SHAREDSERVER_LOCKDIR=str(state), NO_COLOR="1", SHAREDSERVER_WATCHER=str(WATCHER))
    result = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout,
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
    wait_tagged(tag, 2)
    record = json.loads((state / "x.server.json").read_text())
    kill_watcher(record)
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
    wait_tagged(tag, 2)
    record = json.loads((state / "x.server.json").read_text())
    kill_watcher(record)
    os.kill(record["pid"], signal.SIGKILL)
    assert chaos.wait_dead(record["pid"], record["pid_start"])
    run(state, "admin", "doctor")
    assert not (state / "x.server.json").exists()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and tagged(tag):
        time.sleep(0.05)
    assert tagged(tag) == [], "doctor removed the record but left the server's group running"


# A server that ignores SIGTERM (its `sleep` inherits the ignored signal):
# a stop or restart of it waits its whole stop timeout before the SIGKILL,
# which leaves a wide, deterministic window to kill the stopper in.
STUBBORN = ["/bin/sh", "-c", "trap '' TERM; sleep 100000 & wait"]


def kill_midway(state, name, *args, flag):
    """Runs the CLI and SIGKILLs it as soon as the record of `name` is marked
    `flag` (it then waits out the stop timeout of a STUBBORN server); returns
    its exit status."""
    env = dict(os.environ, SHAREDSERVER_LOCKDIR=str(state), NO_COLOR="1", SHAREDSERVER_WATCHER=str(WATCHER))
    proc = subprocess.Popen([str(CLI), *map(str, args)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if json.loads((Path(state) / f"{name}.server.json").read_text()).get(flag):
                    break
            except (OSError, ValueError):
                pass
            time.sleep(0.005)
        time.sleep(0.1)   # well inside the stop timeout
        if proc.poll() is None:
            proc.kill()
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.wait()


def test_a_restart_killed_midway_is_finished_by_the_next_command(state_dir):
    """Found by chaos (seed 1: kill -9 of `admin restart` mid-transaction): the
    restarter marks the record `restarting` (readiness cleared) before it
    stops the old process; killed there, it leaves that mark on a live server
    for good. Every later `use` then attaches and waits for a readiness that
    never comes ("still starting after 5s", exit 1), `check` says starting
    forever, and `admin doctor` does not repair it. The next command must
    finish the interrupted restart, keeping the clients, as it finishes an
    interrupted stop."""
    state, tag, started = state_dir
    client = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    started.append(client)
    run(state, "use", "--pid", client.pid, "--env", tag, "x", "--", *STUBBORN)
    wait_tagged(tag, 2)   # its `sleep` is forked: the shell ignores TERM by now
    old = json.loads((state / "x.server.json").read_text())
    assert kill_midway(state, "x", "admin", "restart", "x", flag="restarting") == -signal.SIGKILL
    left = json.loads((state / "x.server.json").read_text())
    assert left["restarting"] and chaos.alive(left["pid"], left["pid_start"]), left   # the state to repair
    other = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    started.append(other)
    used = run(state, "use", "--pid", other.pid, "--env", tag, "x", "--", *STUBBORN, check=False)
    assert used.returncode == 0, f"use after an interrupted restart failed: {used.stderr.strip()}"
    record = json.loads((state / "x.server.json").read_text())
    assert not record.get("restarting"), record
    assert chaos.alive(record["pid"], record["pid_start"]) and chaos.alive(record["watcher_pid"], record["watcher_start"])
    clients = json.loads((state / "x.clients.json").read_text())["clients"]
    assert {str(client.pid), str(other.pid)} <= set(clients), "the restart must keep the clients"
    assert run(state, "check", "x", check=False).returncode == 0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        groups = {st[2] for st in map(chaos.proc_stat, tagged(tag)) if st}
        if groups <= {record["pgid"]}:
            break
        time.sleep(0.05)
    assert groups <= {record["pgid"]}, f"the old server {old['pid']} still runs beside {record['pid']}"


def blocked_on_flock(pid):
    """True when `pid` waits for a flock (a "->" line of /proc/locks)."""
    with open("/proc/locks") as f:
        return any("->" in line and f" {pid} " in line for line in f)


def test_a_watcher_whose_record_is_removed_after_its_server_died_stops_the_rest_of_the_group(state_dir):
    """Found by chaos (seed 1, with watchers woken by SIGUSR1: kill -9 of a
    server's leader while `admin stop` ran). The stop wakes the watcher, which
    waits for the stop's lock; the leader dies; the stop's terminate_server
    finds it dead and signals nobody, removes the records and unlocks; the
    watcher finds its record gone, reaps the leader and exits -- and the
    leader's child runs on with no record, beside the next server of the name.
    Done here by hand, as the stop does it, under the name's lock."""
    state, tag, started = state_dir
    client = subprocess.Popen(["sleep", "1000"], start_new_session=True)
    started.append(client)
    run(state, "use", "--pid", client.pid, "--env", tag, "x", "--", "/bin/sh", "-c", "sleep 100000 & wait")
    wait_tagged(tag, 2)
    record = json.loads((state / "x.server.json").read_text())
    lock = os.open(state / "x.lock", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)       # a client's transaction begins
        os.kill(record["watcher_pid"], signal.SIGUSR1)   # and wakes the watcher, as every transaction does
        deadline = time.monotonic() + 5
        while not blocked_on_flock(record["watcher_pid"]) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert blocked_on_flock(record["watcher_pid"]), "the watcher did not wait for the lock"
        os.kill(record["pid"], signal.SIGKILL)  # the leader dies, its child does not
        assert chaos.wait_dead(record["pid"], record["pid_start"])
        os.unlink(state / "x.clients.json")     # the stop found it dead: it removes the records
        os.unlink(state / "x.server.json")
    finally:
        os.close(lock)                          # and unlocks
    deadline = time.monotonic() + 5
    while tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tagged(tag) == [], "the server's group outlived its record and its watcher"
    assert chaos.wait_dead(record["watcher_pid"], record["watcher_start"]), "the watcher did not exit"


# ---------------------------------------------------------------- self-tests of the checker

@pytest.fixture
def checker():
    """A Chaos run with no actors: the test builds the state with real
    processes and the real CLI, then asks the checker."""
    args = chaos.parse_args(["--seed", "7", "--names", "1", "--settle", "1.5", "--duration", "1"])
    ch = chaos.Chaos(args)
    ch.finale_timeout = 4.0
    extra = []
    try:
        yield ch, extra
    finally:
        for proc in extra:
            try:
                proc.kill()
                proc.wait(timeout=5)
            except Exception:
                pass
        ch.cleanup()
        assert chaos.reap_tagged(ch.token) == [], "the checker's cleanup left processes behind"


def attach(ch, pid=None, name="svc0", grace="150ms", model=True):
    pid = pid or ch.spawn_client()
    rc, _out, err = ch.run_cli(None, ["use", "--pid", pid, "--grace-period", grace, "--env", f"CHAOS_RUN={ch.token}",
                                      "--env", f"CHAOS_NAME={name}", name, "--", *ch.server_cmd], 0)
    assert rc == 0, err
    if model:
        ch.pairs[(pid, name)] = "attached"
    return pid, json.loads((ch.dir / f"{name}.server.json").read_text())


def wait_stubborn(ch, name="svc0", timeout=5.0):
    """Waits until the STUBBORN server of `name` has forked its `sleep`: only
    then does it ignore TERM (a TERM before its `trap` ends it at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        servers, _ = ch.scan()
        if any(len(pids) >= 2 for pids in servers.get(name, {}).values()):
            return
        time.sleep(0.01)
    pytest.fail(f"the server of {name} did not start its two processes")


def cli(ch, *args):
    rc, out, err = ch.run_cli(None, list(args), 0)
    return rc, out + err


def found(ch, prefix):
    return [v for v in ch.violations if v.startswith(prefix)]


def test_checker_accepts_a_sound_state_and_counts_its_checks(checker):
    ch, _ = checker
    attach(ch)
    attach(ch)
    ch.quiet_point()
    assert ch.violations == []
    for name in ("I1 one server per name", "I2 attached client recorded", "I2 recorded client alive",
                 "I3 live server has a live watcher", "I4 no record outlives its server", "I4 no orphan server",
                 "I4 no orphan watcher", "I5 client not signalled by sharedserver"):
        assert ch.checks[name] > 0, name
    ch.finale()   # the clients die; the server stops after its grace
    assert ch.violations == []
    assert ch.checks["I6 nothing left at the end"] > 0


def test_checker_reports_a_second_server_for_a_name(checker):
    ch, extra = checker
    attach(ch)
    # A duplicate started by hand, as a broken `use` would: same name, its own group.
    extra.append(subprocess.Popen(ch.server_cmd, start_new_session=True, stdin=subprocess.DEVNULL,
                                  env=ch.child_env(CHAOS_RUN=ch.token, CHAOS_NAME="svc0")))
    ch.quiet_point()
    assert found(ch, "I1: svc0 has 2 live servers"), ch.violations
    assert found(ch, "I4: orphan server of svc0"), ch.violations


def test_checker_reports_a_record_that_outlives_its_server(checker):
    ch, _ = checker
    _, record = attach(ch)
    os.kill(record["watcher_pid"], signal.SIGSTOP)    # alive, but it cannot repair anything
    os.killpg(record["pgid"], signal.SIGKILL)
    assert chaos.wait_dead(record["pid"], record["pid_start"])
    ch.quiet_point()
    assert found(ch, "I4: the record of svc0 names pid"), ch.violations


def test_checker_reports_a_repair_that_no_fault_explains(checker):
    ch, _ = checker
    _, record = attach(ch)
    kill_watcher(record)   # not declared to the model as a fault
    ch.quiet_point()
    assert found(ch, "I3/I4: svc0 needs a repair (live server"), ch.violations


def test_checker_lets_the_next_command_adopt_after_a_declared_fault(checker):
    ch, _ = checker
    _, record = attach(ch)
    kill_watcher(record)
    ch.faulted.add("svc0")
    ch.quiet_point()
    assert ch.violations == []
    adopted = json.loads((ch.dir / "svc0.server.json").read_text())
    assert adopted["pid"] == record["pid"] and adopted["watcher_pid"] != record["watcher_pid"]


def test_checker_reports_a_dead_client_still_recorded(checker):
    ch, _ = checker
    pid, record = attach(ch)
    attach(ch)
    os.kill(record["watcher_pid"], signal.SIGSTOP)    # nobody prunes the dead client
    proc = ch.clients.pop(pid)
    ch.pairs.pop((pid, "svc0"))
    proc.kill()
    proc.wait()
    ch.quiet_point()
    assert found(ch, f"I2: client {pid} of svc0 is dead but still recorded"), ch.violations


def test_checker_reports_a_lost_reference(checker):
    ch, _ = checker
    pid, _ = attach(ch)
    attach(ch)
    assert cli(ch, "unuse", "--pid", pid, "svc0")[0] == 0   # behind the model's back
    ch.quiet_point()
    assert found(ch, f"I2: lost reference: client {pid}"), ch.violations


def test_checker_reports_a_client_recorded_that_never_attached(checker):
    ch, _ = checker
    attach(ch)
    pid, _ = attach(ch, model=False)
    ch.quiet_point()
    assert found(ch, f"I2: client {pid} of svc0 left (or was never attached) but is recorded"), ch.violations


def test_checker_reports_a_record_left_mid_stop(checker):
    ch, _ = checker
    ch.server_cmd = STUBBORN
    attach(ch)
    wait_stubborn(ch)
    assert kill_midway(ch.dir, "svc0", "admin", "stop", "--timeout", "10s", "svc0", flag="stopping") == -signal.SIGKILL
    ch.quiet_point()   # no fault declared: the stale `stopping` mark is unexplained
    assert found(ch, "I3/I4: svc0 needs a repair (the record of live server"), ch.violations


def test_checker_lets_the_next_command_finish_a_declared_interrupted_stop(checker):
    ch, _ = checker
    ch.server_cmd = STUBBORN
    pid, record = attach(ch)
    wait_stubborn(ch)
    assert kill_midway(ch.dir, "svc0", "admin", "stop", "--timeout", "10s", "svc0", flag="stopping") == -signal.SIGKILL
    ch.faulted.add("svc0")
    ch.pairs[(pid, "svc0")] = "uncertain"
    ch.quiet_point()
    assert ch.violations == []
    assert not chaos.alive(record["pid"], record["pid_start"])


def test_checker_reports_a_process_left_at_the_end(checker):
    ch, extra = checker
    _, record = attach(ch)
    os.kill(record["watcher_pid"], signal.SIGSTOP)    # the grace period can never end the server
    extra.append(subprocess.Popen(["sleep", "1000"], start_new_session=True, stdin=subprocess.DEVNULL,
                                  env=ch.child_env()))   # and a stray process of the run
    ch.finale()
    left = found(ch, "I6: at the end, left behind")
    assert left and f"'svc0': {{{record['pgid']}:" in left[0] and str(extra[0].pid) in left[0], ch.violations


def test_checker_reports_a_bystander_or_client_killed_by_someone_else(checker):
    ch, _ = checker
    pid, _ = attach(ch)
    bystander = ch.spawn_bystander()
    bystander.terminate()
    ch.clients[pid].terminate()
    bystander.wait()
    ch.clients[pid].wait()
    ch.quiet_point()
    assert found(ch, f"I5: bystander {bystander.pid} died"), ch.violations
    assert found(ch, f"I5: client {pid} died"), ch.violations


def test_a_violation_report_names_the_seed_and_the_replay_command(checker, capsys, monkeypatch, tmp_path):
    ch, _ = checker
    monkeypatch.setenv("CHAOS_ARTIFACTS", str(tmp_path))   # a failed run keeps its logs there
    ch.violation("I1: made up")
    ch.report(False)
    out = capsys.readouterr().out
    assert "chaos: FAILED with seed 7" in out
    assert "--seed 7" in out and "CHAOS_SEED=7" in out and "I1: made up" in out
    assert "operations (" in out and "faults injected (" in out and "invariant checks made (" in out
    kept = list(tmp_path.glob("sharedserver-chaos-failure-seed7-*"))
    assert kept and "I1: made up" in (kept[0] / "operations.log").read_text(), out
