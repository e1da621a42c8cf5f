"""Promises 2 and 4 under resource limits: a process limit (`ulimit -u`)
that stops the watcher or the server from starting gives one clear line and
leaves nothing behind (it once killed the CLI with SIGPIPE: exit 141, no
message, a lock file left); a descriptor limit (`ulimit -n`) inherited from
the shell that started the server does not leave it unsupervised."""

import pytest

from conftest import wait_until
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
