"""Promises 2 and 4 under resource limits: a process limit (`ulimit -u`)
that stops the watcher or the server from starting gives one clear line and
leaves nothing behind (it once killed the CLI with SIGPIPE: exit 141, no
message, a lock file left); a descriptor limit (`ulimit -n`) inherited from
the shell that started the server does not leave it unsupervised."""

import json
import os
import signal

import pytest

from conftest import pid_alive, wait_until
from limits import limited_user  # noqa: F401  (a fixture)


def assert_left_nothing(user):
    assert wait_until(lambda: user.processes() == [], timeout=10.0), f"left running: {user.processes()}"
    assert list(user.dir.iterdir()) == []


@pytest.mark.parametrize("nproc, fails_at", [
    (1, "cannot run"),                 # no room for the watcher's launcher
    (2, "cannot fork the watcher"),    # the launcher cannot detach the watcher
    (3, "cannot fork the server"),     # the watcher and its log pump run, the server cannot
])
def test_use_under_a_process_limit_fails_with_one_line_and_leaves_nothing(sandbox, limited_user, nproc, fails_at):
    client = sandbox.client()
    result = limited_user.run("use", "--pid", client.pid, "web", "--", "sleep", "1000",
                              limits=f"-u {nproc}", check=False)
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert result.stderr.startswith(f'sharedserver: cannot start "web": '), result.stderr
    assert fails_at in result.stderr
    assert result.stderr.endswith("(too many processes for this user? see `ulimit -u`)\n"), result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert_left_nothing(limited_user)


def test_use_with_room_for_every_process_starts_the_server(sandbox, limited_user):
    client = sandbox.client()
    result = limited_user.run("use", "--pid", client.pid, "web", "--", "sleep", "1000", limits="-u 20")
    assert result.stdout.startswith("started web")
    limited_user.run("admin", "stop", "web")
    assert wait_until(lambda: limited_user.processes() == [], timeout=10.0)
    assert not [p for p in limited_user.dir.iterdir() if p.suffix in (".json", ".lock")]


def clients_of(user, name):
    path = user.dir / f"{name}.clients.json"
    try:
        return sorted(int(pid) for pid in json.loads(path.read_text())["clients"])
    except FileNotFoundError:
        return []


def test_a_server_started_under_ulimit_n_8_still_sees_its_only_client_die(limited_user):
    # bash's `ulimit -n` sets the hard limit too: the watcher cannot raise it.
    shell = limited_user.spawn('ulimit -n 8 && "$SS" use --grace-period 1s web -- sleep 1000 && exec sleep 1000')
    try:
        assert wait_until(lambda: clients_of(limited_user, "web") == [shell.pid], timeout=10.0), shell.stderr
        record = json.loads((limited_user.dir / "web.server.json").read_text())
        with open(f"/proc/{record['watcher_pid']}/limits") as f:
            assert any(line.split()[3:5] == ["8", "8"] for line in f if line.startswith("Max open files"))
        os.kill(shell.pid, signal.SIGKILL)
    finally:
        shell.kill()
        shell.communicate()
    assert wait_until(lambda: not pid_alive(record["pid"]), timeout=5.0), "the shell's death went unnoticed"
    assert wait_until(lambda: limited_user.processes() == [])
    kinds = [json.loads(line)["event"] for line in (limited_user.dir / "web.events.jsonl").read_text().splitlines()]
    assert kinds[-4:] == ["client-died", "grace-entered", "stopping", "exited"]


def test_clients_beyond_the_watchers_descriptor_budget_are_each_seen_to_die(sandbox, limited_user):
    clients = [sandbox.client() for _ in range(16)]
    # 16 descriptors: room for pidfds of only a few; the rest are checked on a timer.
    limited_user.run("use", "--pid", clients[0].pid, "--grace-period", "1s", "web", "--", "sleep", "1000",
                     limits="-n 16")
    for client in clients[1:]:
        limited_user.run("use", "--pid", client.pid, "web")
    record = json.loads((limited_user.dir / "web.server.json").read_text())
    # The watcher keeps descriptors in reserve for its transactions (the
    # lock, a record, /proc): one that spent all 16 on pidfds could not
    # write a client's death down.
    in_use = len(os.listdir(f"/proc/{record['watcher_pid']}/fd"))
    assert in_use <= 16 - 4, f"the watcher holds {in_use} of its 16 descriptors"
    for i, client in enumerate(clients[:-1]):
        os.kill(client.pid, signal.SIGKILL)
        client.wait()
        alive = sorted(c.pid for c in clients[i + 1:])
        assert wait_until(lambda: clients_of(limited_user, "web") == alive, timeout=5.0), \
            f"client {client.pid} was not dropped, or a live one was: {clients_of(limited_user, 'web')}"
    os.kill(clients[-1].pid, signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(record["pid"]), timeout=5.0)
