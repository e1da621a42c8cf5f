"""Promises 2 and 4 on a full disk (a tiny tmpfs, filled).

A client that died while the state dir's filesystem was full made the
watcher recurse between pruning and syncing the clients record until its
stack overflowed (67 `client-died` events for one death), and the server
then ran with a wrong refcount forever. Now the watcher keeps what it knows
in memory, starts the grace period on time from there, and writes the
records when it can; a `use` or `unuse` that cannot write says so in one
line and leaves nothing behind; and a server writing to a full disk never
sees the error: its log pump drops that output and says so later."""

import os
import signal
import subprocess
import time

import pytest

from conftest import PYTHON, Sandbox, fill, pid_alive, wait_until


@pytest.fixture
def box(tiny_tmpfs):
    """A sandbox whose state dir is on the tiny tmpfs."""
    box = Sandbox(tiny_tmpfs)
    try:
        yield box
    finally:
        box.cleanup()


def events_named(box, kind):
    return [e for e in box.events("web") if e["event"] == kind]


def leftovers(box):
    return sorted(p.name for p in box.dir.iterdir())


def test_clients_dying_on_a_full_disk_start_the_grace_period_on_time_and_it_ends(box):
    first, last = box.client(), box.client()
    box.run("use", "--pid", first.pid, "--grace-period", "2s", "web", "--", "sleep", "1000")
    box.run("use", "--pid", last.pid, "web")
    record = box.record("web")
    # The event log ends 20 bytes short of a page: on the full disk, an
    # event fits only in part, and must not be left torn.
    events = box.dir / "web.events.jsonl"
    pad = 4096 - 20 - events.stat().st_size % 4096
    with open(events, "a") as f:
        f.write('{"event":"padding","x":"' + "x" * (pad - 27) + '"}\n')
    assert events.stat().st_size % 4096 == 4076
    filler = fill(box.root)
    # The clients record cannot be rewritten without the first client: the
    # old watcher recursed on that until it crashed.
    os.kill(first.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert pid_alive(record["watcher_pid"]), "the watcher died on the full disk"
    os.kill(last.pid, signal.SIGKILL)
    died = time.monotonic()
    assert wait_until(lambda: not pid_alive(record["pid"]), timeout=10.0), "the grace period never ended"
    took = time.monotonic() - died
    assert 1.8 <= took <= 5.0, f"a 2 s grace period ended {took:.1f} s after the last client died"
    assert wait_until(lambda: not pid_alive(record["watcher_pid"])), "the watcher did not finish"
    assert len(events_named(box, "client-died")) <= 2
    filler.unlink()
    assert not (box.dir / "web.server.json").exists() and not (box.dir / "web.clients.json").exists()


def test_records_written_late_once_space_returns_and_one_client_died_event(box):
    client, other = box.client(), box.client()
    box.run("use", "--pid", client.pid, "--grace-period", "1h", "web", "--", "sleep", "1000")
    box.run("use", "--pid", other.pid, "web")
    record = box.record("web")
    filler = fill(box.root)
    os.kill(client.pid, signal.SIGKILL)
    time.sleep(1.0)  # the watcher saw the death and could not write it
    assert pid_alive(record["watcher_pid"]), "the watcher died on the full disk"
    os.kill(other.pid, signal.SIGKILL)
    time.sleep(0.5)
    assert pid_alive(record["watcher_pid"]) and pid_alive(record["pid"])
    filler.unlink()
    # Retried with a backoff of at most 5 s.
    assert wait_until(lambda: box.info("web")["state"] == "grace", timeout=10.0), box.info("web")
    info = box.info("web")
    assert (info["refcount"], info["pid"]) == (0, record["pid"])
    assert 3590 <= info["grace_deadline"] - time.time() <= 3600
    assert sorted(e["client"] for e in events_named(box, "client-died")) == sorted([client.pid, other.pid])
    assert len(events_named(box, "grace-entered")) == 1


def test_use_on_a_full_disk_fails_in_one_line_and_leaves_nothing(box):
    client = box.client()
    filler = fill(box.root)
    before = leftovers(box)
    result = box.run("use", "--pid", client.pid, "web", "--", "sh", "-c", "echo hello; exec sleep 1000", check=False)
    assert result.returncode == 1
    assert result.stderr == (f'sharedserver: cannot start "web": cannot write {box.dir}/web.server.json: '
                             "No space left on device\n")
    assert leftovers(box) == before  # no record, temp file, lock or log
    assert box.watcher_pids() == []
    assert not [pid for pid, cmd in __import__("harness").processes() if b"hello; exec sleep 1000" in b" ".join(cmd)]
    filler.unlink()


def test_unuse_on_a_full_disk_fails_in_one_line_and_changes_nothing(box):
    client, other = box.client(), box.client()
    box.run("use", "--pid", client.pid, "web", "--", "sleep", "1000")
    box.run("use", "--pid", other.pid, "web")
    filler = fill(box.root)
    before = leftovers(box)
    result = box.run("unuse", "--pid", client.pid, "web", check=False)
    assert result.returncode == 1
    assert result.stderr == f"sharedserver: cannot write {box.dir}/web.clients.json: No space left on device\n"
    assert leftovers(box) == before
    filler.unlink()
    assert box.info("web")["refcount"] == 2


def test_a_server_writing_to_a_full_disk_runs_on_and_its_log_says_what_was_dropped(sandbox, tiny_tmpfs):
    client = sandbox.client()
    log = tiny_tmpfs / "web.log"
    script = ("import sys, time\n"
              "i = 0\n"
              "while True:\n"
              "    i += 1; print('line', i, 'x' * 1000, flush=True); time.sleep(0.02)\n")
    sandbox.run("use", "--pid", client.pid, "--log-file", log, "web", "--", PYTHON, "-u", "-c", script)
    pid = sandbox.record("web")["pid"]
    assert wait_until(lambda: log.exists() and log.stat().st_size > 0)
    filler = fill(tiny_tmpfs)
    time.sleep(1.0)
    assert pid_alive(pid), "the server died of its full disk"
    filler.unlink()
    marker = "[sharedserver: "
    assert wait_until(lambda: marker in log.read_text(), timeout=5.0)
    notice = next(line for line in log.read_text().splitlines() if line.startswith(marker))
    words = notice.split()
    assert words[1].isdigit() and int(words[1]) > 0, notice
    assert notice == f"[sharedserver: {words[1]} bytes of output dropped: No space left on device]"
    assert wait_until(lambda: log.read_text().splitlines()[-1].startswith("line "))


def test_a_state_dir_remounted_read_only_still_sees_the_grace_period_end(box, tiny_tmpfs, tmp_path):
    client = box.client()
    # The log elsewhere: a file open for writing would make the remount fail.
    box.run("use", "--pid", client.pid, "--grace-period", "1s", "--log-file", tmp_path / "web.log", "web", "--",
            "sleep", "1000")
    record = box.record("web")
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_tmpfs)], check=True)
    try:
        os.kill(client.pid, signal.SIGKILL)
        died = time.monotonic()
        assert wait_until(lambda: not pid_alive(record["pid"]), timeout=10.0), "the grace period never ended"
        assert time.monotonic() - died <= 4.0
        # The records cannot be removed: they read as stale, so as stopped.
        assert box.run("list").stdout == "no servers are running\n"
        result = box.run("unuse", "--pid", client.pid, "web", check=False)
        assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(tiny_tmpfs)], check=True)
