"""The reference-counted lifecycle, end to end with real processes."""

import os
import signal
import subprocess
import time

from conftest import CLI, pid_alive, wait_until


def test_two_clients_share_one_server_and_the_last_unuse_starts_grace(sandbox):
    a, b = sandbox.client(), sandbox.client()
    first = sandbox.run("use", "--pid", a.pid, "db", "--", "sleep", "1000")
    assert first.stdout.startswith("started db (pid ")
    second = sandbox.run("use", "db", "--pid", b.pid, "--", "sleep", "1000")
    assert "attached to db" in second.stdout and "2 clients" in second.stdout

    info = sandbox.info("db")
    assert info["state"] == "active"
    assert info["refcount"] == 2
    assert sorted(c["pid"] for c in info["clients"]) == sorted([a.pid, b.pid])
    assert [e["event"] for e in sandbox.events("db")].count("started") == 1
    server = info["pid"]

    sandbox.run("unuse", "--pid", a.pid, "db")
    assert sandbox.info("db")["refcount"] == 1
    sandbox.run("unuse", "--pid", b.pid, "db")
    info = sandbox.info("db")
    assert info["state"] == "grace"
    assert info["refcount"] == 0
    assert info["grace_deadline"] >= int(time.time()) + 290
    assert not (sandbox.dir / "db.clients.json").exists()

    rescue = sandbox.run("use", "--pid", a.pid, "db")
    assert "ending its grace period" in rescue.stdout
    info = sandbox.info("db")
    assert (info["state"], info["pid"], info["refcount"]) == ("active", server, 1)
    assert info["grace_deadline"] is None


def test_grace_expiry_stops_the_whole_process_group_and_removes_every_record(sandbox):
    client = sandbox.client()
    # A server with a child of its own: both must go.
    sandbox.run("use", "--pid", client.pid, "--grace-period", "300ms", "--working-dir", sandbox.dir, "grp", "--",
                "sh", "-c", "sleep 1000 & echo $! > child.pid; wait")
    server = sandbox.info("grp")["pid"]
    child = int(wait_until(lambda: (sandbox.dir / "child.pid").exists() and (sandbox.dir / "child.pid").read_text().strip()))
    assert pid_alive(child)

    sandbox.run("unuse", "--pid", client.pid, "grp")
    assert sandbox.info("grp")["state"] == "grace"
    assert wait_until(lambda: not pid_alive(server) and not pid_alive(child), timeout=5)
    assert wait_until(lambda: not any(sandbox.dir.glob("grp.*.json")) and not (sandbox.dir / "grp.lock").exists())
    assert sandbox.info("grp")["state"] == "stopped"
    events = [e["event"] for e in sandbox.events("grp")]
    assert events[-2:] == ["stopping", "exited"]
    assert wait_until(lambda: not sandbox.watcher_pids())


def test_zero_grace_period_stops_as_soon_as_the_last_client_leaves(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--grace-period", "0s", "now", "--", "sleep", "1000")
    server = sandbox.info("now")["pid"]
    sandbox.run("unuse", "--pid", client.pid, "now")
    assert wait_until(lambda: not pid_alive(server), timeout=2)


def _kill_client_and_time_grace(sandbox, name):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, name, "--", "sleep", "1000")
    clients_file = sandbox.dir / f"{name}.clients.json"
    assert clients_file.exists()
    start = time.monotonic()
    client.kill()
    client.wait()
    while clients_file.exists() and time.monotonic() - start < 5:
        time.sleep(0.0005)
    return time.monotonic() - start


def test_a_client_killed_with_sigkill_starts_the_grace_period_within_50_ms(sandbox):
    # Best of three, so one scheduling hiccup on a loaded CI machine is not a failure.
    timings = [_kill_client_and_time_grace(sandbox, f"dead{i}") for i in range(3)]
    assert min(timings) <= 0.050, timings
    for i in range(3):
        assert sandbox.info(f"dead{i}")["state"] == "grace"
        # The event follows the state it describes (DESIGN §4): wait for it.
        assert wait_until(lambda: "client-died" in [e["event"] for e in sandbox.events(f"dead{i}")])


def test_a_client_that_detached_and_lives_on_does_not_hold_off_the_grace_period(sandbox):
    # b detaches while a stays (the watcher is not woken for that), then a
    # dies: the grace period that death starts must end the server although
    # b, no longer a client, still runs.
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", a.pid, "--grace-period", "300ms", "db", "--", "sleep", "1000")
    sandbox.run("use", "--pid", b.pid, "db")
    server = sandbox.info("db")["pid"]
    sandbox.run("unuse", "--pid", b.pid, "db")
    a.kill()
    a.wait()
    assert wait_until(lambda: not pid_alive(server), timeout=10), sandbox.info("db")
    assert wait_until(lambda: sandbox.info("db")["state"] == "stopped")
    assert pid_alive(b.pid)


def test_an_idle_watcher_makes_no_system_calls(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "idle", "--", "sleep", "1000")
    watcher = sandbox.info("idle")["watcher_pid"]
    trace = subprocess.run(["timeout", "-s", "INT", "2", "strace", "-c", "-p", str(watcher)],
                           capture_output=True, text=True)
    assert "attached" in trace.stderr, trace.stderr
    # strace -c prints a table only when it saw a system call.
    assert "total" not in trace.stderr, trace.stderr
    assert pid_alive(watcher)


def test_thirty_concurrent_uses_start_exactly_one_server(sandbox):
    clients = [sandbox.client() for _ in range(30)]
    procs = [subprocess.Popen([str(CLI), "use", "--pid", str(c.pid), "herd", "--", "sleep", "1000"],
                              env=sandbox.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in clients]
    results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    assert all(code == 0 for code, _, _ in results), results
    assert sum(out.startswith("started") for _, out, _ in results) == 1
    info = sandbox.info("herd")
    assert info["refcount"] == 30
    assert [e["event"] for e in sandbox.events("herd")].count("started") == 1
    servers = subprocess.run(["pgrep", "-g", str(info["pid"])], capture_output=True, text=True).stdout.split()
    assert servers == [str(info["pid"])]
    assert len(sandbox.watcher_pids()) == 1


def test_admin_stop_stops_a_server_that_has_clients(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "busy", "--", "sleep", "1000")
    server = sandbox.info("busy")["pid"]
    assert sandbox.run("admin", "stop", "busy").stdout == "stopped busy\n"
    assert not pid_alive(server)
    assert not any(sandbox.dir.glob("busy.*.json"))
    assert wait_until(lambda: not sandbox.watcher_pids())
    exited = [e for e in sandbox.events("busy") if e["event"] == "exited"]
    assert exited and exited[-1]["signal"] == signal.SIGTERM and exited[-1]["unexpected"] is False


def test_admin_stop_force_escalates_to_sigkill_after_the_timeout(sandbox, python):
    client = sandbox.client()
    stubborn = [python, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "open('ready', 'w').close(); time.sleep(1000)"]
    sandbox.run("use", "--pid", client.pid, "--working-dir", sandbox.dir, "stubborn", "--", *stubborn)
    assert wait_until(lambda: (sandbox.dir / "ready").exists())
    server = sandbox.info("stubborn")["pid"]

    polite = sandbox.run("admin", "stop", "stubborn", "--timeout", "300ms", check=False)
    assert polite.returncode == 1
    assert "did not exit within 300ms of SIGTERM; use --force" in polite.stderr
    assert pid_alive(server)
    assert sandbox.info("stubborn")["state"] == "active"

    started = time.monotonic()
    sandbox.run("admin", "stop", "stubborn", "--force", "--timeout", "300ms")
    assert time.monotonic() - started < 3
    assert not pid_alive(server)
    assert not any(sandbox.dir.glob("stubborn.*.json"))


def test_a_server_that_exits_on_its_own_is_reaped_and_its_exit_code_logged(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "brief", "--", "sh", "-c", "sleep 0.3; exit 7")
    assert wait_until(lambda: not (sandbox.dir / "brief.server.json").exists(), timeout=5)
    assert not (sandbox.dir / "brief.clients.json").exists()
    # The exit is logged after the records are gone (DESIGN §4): wait for it.
    exited = wait_until(lambda: [e for e in sandbox.events("brief") if e["event"] == "exited"])
    assert exited[-1]["code"] == 7 and exited[-1]["unexpected"] is True
    assert wait_until(lambda: not sandbox.watcher_pids())
    assert sandbox.run("check", "brief", check=False).returncode == 2


def test_admin_restart_starts_a_new_process_and_keeps_the_clients(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", a.pid, "again", "--", "sleep", "1000")
    sandbox.run("use", "--pid", b.pid, "again")
    old = sandbox.info("again")
    out = sandbox.run("admin", "restart", "again").stdout
    new = sandbox.info("again")
    assert out == f"restarted again (pid {old['pid']} -> {new['pid']})\n"
    assert new["pid"] != old["pid"] and not pid_alive(old["pid"])
    assert sorted(c["pid"] for c in new["clients"]) == sorted([a.pid, b.pid])
    assert new["state"] == "active"
    assert wait_until(lambda: len(sandbox.watcher_pids()) == 1)
    assert "restarted" in [e["event"] for e in sandbox.events("again")]
