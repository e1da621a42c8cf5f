"""`admin doctor` and `admin kill` find what no record names: a watcher and
a server whose records were removed from outside (a user's `rm`, a cleanup
script) or are too corrupt to read, found by the watcher's arguments and by
the identity stamped into the server's environment, and proven ours before
anything is signalled. One unusable lock file does not stop the repair of
the other names."""

import os
import signal

from conftest import needs_root, wait_until
from process_tree import AS_NOBODY, STUBBORN, alive, tag  # noqa: F401


def start_tagged(sandbox, tag, name, command):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, name, "--", *command)
    record = sandbox.record(name)
    assert wait_until(lambda: len(tag.processes()) >= 1)
    return record


def remove_records(sandbox, name):
    for suffix in (".server.json", ".clients.json"):
        (sandbox.dir / f"{name}{suffix}").unlink(missing_ok=True)


def test_admin_kill_of_a_corrupt_record_kills_its_watcher_and_server(sandbox, tag):
    record = start_tagged(sandbox, tag, "web", ["sh", "-c", "sleep 1000 & wait"])
    assert wait_until(lambda: len(tag.processes()) == 2)
    (sandbox.dir / "web.server.json").write_text("{not json")

    result = sandbox.run("admin", "kill", "web")

    assert result.stdout == "killed web\n"
    assert wait_until(lambda: not tag.processes()), f"admin kill left the server running: {tag.processes()}"
    assert wait_until(lambda: not alive(record["watcher_pid"])), "admin kill left the watcher running"
    assert not (sandbox.dir / "web.server.json").exists()
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "web", "--", "sleep", "1000")
    assert len(tag.processes()) == 1, "the next use started a second server beside the first"
    sandbox.run("admin", "stop", "web")


def test_doctor_stops_a_watcher_and_a_stubborn_server_whose_records_were_removed(sandbox, tag):
    record = start_tagged(sandbox, tag, "web", STUBBORN)
    assert wait_until(lambda: len(tag.processes()) == 2)
    # A watcher that cannot notice the removal itself (stopped, hung):
    # a running one stops its server on its own (test_records_removed),
    # and would race doctor to it.
    os.kill(record["watcher_pid"], signal.SIGSTOP)
    remove_records(sandbox, "web")
    assert sandbox.run("list").stdout == "no servers are running\n"

    report = sandbox.run("admin", "doctor", timeout=60).stdout

    assert f"web: stopped watcher pid {record['watcher_pid']}, which no record names, and its server\n" in report
    assert not alive(record["watcher_pid"])
    assert wait_until(lambda: not tag.processes()), f"{tag.processes()} of a server no record names run on"


def test_doctor_stops_a_stubborn_server_whose_records_and_watcher_are_gone(sandbox, tag):
    record = start_tagged(sandbox, tag, "web", STUBBORN)
    assert wait_until(lambda: len(tag.processes()) == 2)
    os.kill(record["watcher_pid"], signal.SIGKILL)
    assert wait_until(lambda: not alive(record["watcher_pid"]))
    remove_records(sandbox, "web")

    report = sandbox.run("admin", "doctor", timeout=60).stdout

    assert "web: stopped 2 processes of a server that no record names\n" in report
    assert not tag.processes(), f"{tag.processes()} of a server no record names run on"
    assert sandbox.run("admin", "doctor").stdout == "nothing to repair\n"


def test_doctor_reports_a_symlinked_lock_file_and_repairs_the_other_names(sandbox, tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("")
    (sandbox.dir / "evil.lock").symlink_to(target)
    (sandbox.dir / "evil.clients.json").write_text("{}")
    (sandbox.dir / "stale.clients.json").write_text('{"schema": 1, "clients": {}}')

    result = sandbox.run("admin", "doctor", check=False)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("evil: left alone: cannot open lock file")
    assert lines[0].endswith("evil.lock: Too many levels of symbolic links (remove it, and run doctor again)")
    assert lines[1] == "stale: removed a clients record without a server"
    assert target.read_text() == "" and (sandbox.dir / "evil.lock").is_symlink()


@needs_root
def test_doctor_never_signals_another_users_process_stamped_with_our_state_dir(sandbox):
    """The stamp is only a proof for the caller's own processes: anyone may
    put our state dir into their environment."""
    env = dict(os.environ, SHAREDSERVER_STATE_DIR=str(sandbox.dir), SHAREDSERVER_NAME="web",
               SHAREDSERVER_INSTANCE="0123456789abcdef0123456789abcdef")
    stranger = sandbox.spawn(AS_NOBODY + ["sleep", "1000"], env=env)
    assert wait_until(lambda: alive(stranger.pid))

    assert sandbox.run("admin", "doctor").stdout == "nothing to repair\n"
    assert sandbox.run("admin", "kill", "web", check=False).returncode == 1
    assert alive(stranger.pid)


def test_admin_kill_finds_a_server_whose_records_were_removed(sandbox, tag):
    record = start_tagged(sandbox, tag, "web", ["sh", "-c", "sleep 1000 & wait"])
    assert wait_until(lambda: len(tag.processes()) == 2)
    os.kill(record["watcher_pid"], signal.SIGKILL)
    remove_records(sandbox, "web")

    assert sandbox.run("admin", "kill", "web").stdout == "killed web\n"
    assert not tag.processes()
