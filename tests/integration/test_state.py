"""Records on disk: atomic, lock-free to read, and never trusted blindly. A
dead, recycled, pre-boot, old-format or corrupt record never leads to a second
server or to signalling a process that is not ours."""

import fcntl
import json
import os
import subprocess
import time

from conftest import CLI, pid_alive, wait_until


def start_stamp(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[19])


def boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


def write_record(sandbox, name, **fields):
    record = {"schema": 1, "name": name, "command": ["sleep", "1000"], "boot_id": boot_id()}
    record.update(fields)
    (sandbox.dir / f"{name}.server.json").write_text(json.dumps(record))


def dead_pid():
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_records_are_replaced_atomically_and_leave_no_temp_files(sandbox):
    clients = [sandbox.client() for _ in range(5)]
    for c in clients:
        sandbox.run("use", "--pid", c.pid, "atomic", "--", "sleep", "1000")
    for c in clients[:4]:
        sandbox.run("unuse", "--pid", c.pid, "atomic")
    leftovers = [p.name for p in sandbox.dir.iterdir() if ".tmp." in p.name]
    assert leftovers == []


def test_readers_do_not_wait_for_a_held_lock(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "locked", "--", "sleep", "1000")
    with open(sandbox.dir / "locked.lock") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        started = time.monotonic()
        assert sandbox.run("info", "locked", "--json", timeout=5).returncode == 0
        assert sandbox.run("list", timeout=5).returncode == 0
        assert sandbox.run("check", "locked", check=False, timeout=5).returncode == 0
        assert time.monotonic() - started < 2
        # A writer does wait for it.
        writer = subprocess.Popen([str(CLI), "unuse", "--pid", str(client.pid), "locked"], env=sandbox.env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)
        assert writer.poll() is None
    assert writer.wait(timeout=10) == 0


def test_a_record_whose_server_is_dead_reads_as_stopped_and_is_cleaned_by_the_next_use(sandbox):
    gone = dead_pid()
    write_record(sandbox, "stale", pid=gone, pid_start=1, pgid=gone)
    assert sandbox.info("stale")["state"] == "stopped"
    assert sandbox.run("check", "stale", check=False).returncode == 2
    assert sandbox.run("list", "--json").stdout.strip() == "[]"
    client = sandbox.client()
    assert sandbox.run("use", "--pid", client.pid, "stale", "--", "sleep", "1000").stdout.startswith("started")
    info = sandbox.info("stale")
    assert info["pid"] != gone and info["state"] == "active"
    assert "repaired" in [e["event"] for e in sandbox.events("stale")]


def test_a_recycled_pid_is_never_mistaken_for_the_server_nor_signalled(sandbox):
    bystander = sandbox.client()  # a live process of ours that the record wrongly names
    write_record(sandbox, "recycled", pid=bystander.pid, pid_start=start_stamp(bystander.pid) + 1, pgid=bystander.pid)
    assert sandbox.info("recycled")["state"] == "stopped"
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "recycled", "--", "sleep", "1000")
    assert sandbox.info("recycled")["pid"] != bystander.pid
    sandbox.run("admin", "stop", "recycled")
    assert pid_alive(bystander.pid)


def test_a_record_from_another_boot_is_stale(sandbox):
    bystander = sandbox.client()
    write_record(sandbox, "oldboot", pid=bystander.pid, pid_start=start_stamp(bystander.pid),
                 pgid=bystander.pid, boot_id="00000000-0000-0000-0000-000000000000")
    assert sandbox.info("oldboot")["state"] == "stopped"
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "oldboot", "--", "sleep", "1000")
    assert sandbox.info("oldboot")["pid"] != bystander.pid
    assert pid_alive(bystander.pid)


def test_a_record_left_by_an_older_version_without_newer_fields_reads_as_stopped(sandbox):
    bystander = sandbox.client()
    (sandbox.dir / "legacy.server.json").write_text(json.dumps({"pid": bystander.pid, "command": ["x"]}))
    (sandbox.dir / "legacy.clients.json").write_text(json.dumps({"refcount": 1, "clients": {}}))
    assert sandbox.info("legacy")["state"] == "stopped"
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "legacy", "--", "sleep", "1000")
    info = sandbox.info("legacy")
    assert info["pid"] != bystander.pid and info["refcount"] == 1
    assert pid_alive(bystander.pid)


def test_a_corrupt_record_never_leads_to_a_second_server_and_doctor_repairs_it(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "broken", "--", "sleep", "1000")
    first = sandbox.info("broken")["pid"]
    (sandbox.dir / "broken.server.json").write_text("{not json")

    refused = sandbox.run("use", "--pid", client.pid, "broken", "--", "sleep", "1000", check=False)
    assert refused.returncode == 1
    assert "broken.server.json\" is corrupt" in refused.stderr
    assert "sharedserver admin doctor" in refused.stderr
    assert sandbox.run("info", "broken", check=False).returncode == 1
    assert len(sandbox.watcher_pids()) == 1 and pid_alive(first)

    report = sandbox.run("admin", "doctor").stdout
    assert report.startswith("broken: removed a corrupt record")
    # Its watcher stops the server that no record names any more.
    assert wait_until(lambda: not pid_alive(first))
    assert wait_until(lambda: not sandbox.watcher_pids())
    sandbox.run("use", "--pid", client.pid, "broken", "--", "sleep", "1000")
    assert len(sandbox.watcher_pids()) == 1
    assert sandbox.run("admin", "doctor").stdout == "nothing to repair\n"


def test_doctor_reports_what_it_cannot_repair_by_the_librarys_health_rules(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "web", "--", "sleep", "1000")
    sandbox.run("use", "--pid", client.pid, "other", "--", "sleep", "1000")
    other = sandbox.record("other")
    sandbox.pids += [other["pid"], other["watcher_pid"]]  # its record will not name them any more
    (sandbox.dir / "other.server.json").write_text("{garbage")

    done = sandbox.run("admin", "doctor", "web")
    assert done.returncode == 0
    assert done.stdout == (
        "nothing to repair\n"
        f'problem: record "{sandbox.dir}/other.server.json" is corrupt (not a JSON object); '
        "run `sharedserver admin doctor` to repair it\n"
    )

    assert sandbox.run("admin", "doctor").stdout.startswith("other: removed a corrupt record")
    assert "problem:" not in sandbox.run("admin", "doctor").stdout


def test_an_orphan_whose_watcher_was_killed_is_adopted_by_doctor_and_grace_still_applies(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--grace-period", "300ms", "orphan", "--", "sleep", "1000")
    info = sandbox.info("orphan")
    os.kill(info["watcher_pid"], 9)
    assert wait_until(lambda: not pid_alive(info["watcher_pid"]))
    assert pid_alive(info["pid"])

    report = sandbox.run("admin", "doctor", "orphan").stdout
    assert report.startswith(f"orphan: adopted server pid {info['pid']} with a new watcher (pid ")
    adopted = sandbox.info("orphan")
    assert adopted["watcher_pid"] != info["watcher_pid"] and pid_alive(adopted["watcher_pid"])

    sandbox.run("unuse", "--pid", client.pid, "orphan")
    assert wait_until(lambda: not pid_alive(info["pid"]), timeout=5)
    assert wait_until(lambda: not (sandbox.dir / "orphan.server.json").exists())


def test_the_next_use_adopts_an_orphaned_server(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", a.pid, "adopt", "--", "sleep", "1000")
    info = sandbox.info("adopt")
    os.kill(info["watcher_pid"], 9)
    assert wait_until(lambda: not pid_alive(info["watcher_pid"]))
    sandbox.run("use", "--pid", b.pid, "adopt")
    after = sandbox.info("adopt")
    assert after["pid"] == info["pid"] and after["refcount"] == 2
    assert pid_alive(after["watcher_pid"]) and after["watcher_pid"] != info["watcher_pid"]
    assert "adopted" in [e["event"] for e in sandbox.events("adopt")]
    # The adopted watcher notices client deaths too.
    a.kill()
    a.wait()
    assert wait_until(lambda: sandbox.info("adopt")["refcount"] == 1)


def test_admin_kill_removes_everything_without_waiting(sandbox, python):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "doomed", "--", python, "-c",
                "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1000)")
    info = sandbox.info("doomed")
    assert sandbox.run("admin", "kill", "doomed").stdout == "killed doomed\n"
    assert wait_until(lambda: not pid_alive(info["pid"]) and not pid_alive(info["watcher_pid"]))
    assert not any(sandbox.dir.glob("doomed.*.json"))
    assert not (sandbox.dir / "doomed.lock").exists()


def context_switches(pid):
    with open(f"/proc/{pid}/status") as f:
        fields = dict(line.split(":", 1) for line in f if "ctxt_switches" in line)
    return sum(int(v) for v in fields.values())


def test_transactions_on_one_name_never_wake_the_watcher_of_another(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "busy", "--", "sleep", "1000")
    sandbox.run("use", "--pid", client.pid, "quiet", "--", "sleep", "1000")
    busy, quiet = sandbox.info("busy")["watcher_pid"], sandbox.info("quiet")["watcher_pid"]
    time.sleep(0.3)  # let both watchers settle into poll()
    before = context_switches(quiet), context_switches(busy)
    other = sandbox.client()
    for _ in range(20):
        sandbox.run("use", "--pid", other.pid, "busy")
        sandbox.run("unuse", "--pid", other.pid, "busy")
    after = context_switches(quiet), context_switches(busy)
    assert after[0] == before[0], "the watcher of 'quiet' woke up for writes to 'busy'"
    assert after[1] > before[1], "the watcher of 'busy' slept through its own transactions"


def test_the_watcher_is_woken_only_for_what_it_must_learn(sandbox):
    stays, visitor = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", stays.pid, "--grace-period", "300ms", "lean", "--", "sleep", "1000")
    info = sandbox.info("lean")
    watcher = info["watcher_pid"]
    time.sleep(0.3)  # let the watcher settle into poll()
    before = context_switches(watcher)
    for _ in range(5):
        sandbox.run("use", "--pid", stays.pid, "lean")  # already attached: nothing new
    assert context_switches(watcher) == before, "woken by a client that was already attached"
    sandbox.run("use", "--pid", visitor.pid, "lean")  # new: the watcher must see it if it dies
    assert wait_until(lambda: context_switches(watcher) > before), "slept through a new client"
    time.sleep(0.2)
    before = context_switches(watcher)
    sandbox.run("unuse", "--pid", visitor.pid, "lean")  # leaves while another stays
    time.sleep(0.2)
    assert context_switches(watcher) == before, "woken by a client leaving while another stays"
    assert sandbox.info("lean")["refcount"] == 1
    # The last one to leave is the watcher's business: it times the grace period.
    sandbox.run("unuse", "--pid", stays.pid, "lean")
    assert wait_until(lambda: not pid_alive(info["pid"]), timeout=5)
    assert wait_until(lambda: not pid_alive(watcher))


def test_a_watcher_that_does_not_say_it_wakes_on_sigusr1_is_never_sent_it(sandbox):
    # An older watcher (no watcher_wake_signal in its record) would die of
    # SIGUSR1; a `sleep` in its place dies of it too, so it must be left alone.
    server, old_watcher, client = sandbox.client(), sandbox.client(), sandbox.client()
    write_record(sandbox, "older", pid=server.pid, pid_start=start_stamp(server.pid), pgid=server.pid,
                 watcher_pid=old_watcher.pid, watcher_start=start_stamp(old_watcher.pid),
                 grace_period_ms=60000, started_at_ms=int(time.time() * 1000))
    sandbox.run("use", "--pid", client.pid, "older")
    assert sandbox.info("older")["refcount"] == 1
    sandbox.run("unuse", "--pid", client.pid, "older")
    time.sleep(0.2)
    assert pid_alive(old_watcher.pid) and pid_alive(server.pid)
