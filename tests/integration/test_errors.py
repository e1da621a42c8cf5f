"""Every error a user can cause: one line naming the input and the fix, a
non-zero exit, and no change to any state."""

import os
import pwd
import shutil
import stat
import subprocess

import pytest

from conftest import CLI


def snapshot(directory):
    return sorted((p.name, p.stat().st_size) for p in directory.iterdir())


@pytest.mark.parametrize("name, why", [
    ("../x", ""), ("a/b", ""), ("", ""), (".hidden", ": starts with '.'"), ("x" * 65, ": longer than 64 characters"),
    ("tab\there", ""), ("sp ace", ""),
])
def test_invalid_names_are_refused(sandbox, name, why):
    client = sandbox.client()
    before = snapshot(sandbox.dir)
    for args in (["use", "--pid", client.pid, name, "--", "sleep", "1"], ["info", name], ["unuse", name],
                 ["admin", "stop", name], ["admin", "kill", name]):
        result = sandbox.run(*args, check=False)
        assert result.returncode == 2, (args, result)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("sharedserver: invalid server name ")
        assert why in lines[0]
        assert "use 1-64 characters of letters, digits, '.', '_' or '-', not starting with '.'" in lines[0]
    assert sandbox.run("check", name, check=False).returncode == 4
    assert snapshot(sandbox.dir) == before


def test_a_64_character_name_is_fine(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "n" * 64, "--", "sleep", "1000")
    assert sandbox.info("n" * 64)["state"] == "active"


@pytest.mark.parametrize("duration", ["5x", "5", "m", "-1s", "1.5s", "", "99999999999999999999h"])
def test_bad_durations_are_refused(sandbox, duration):
    client = sandbox.client()
    before = snapshot(sandbox.dir)
    result = sandbox.run("use", "--pid", client.pid, "--grace-period", duration, "db", "--", "sleep", "1", check=False)
    assert result.returncode == 2
    assert result.stderr == (f'sharedserver: --grace-period: "{duration}" is not a duration '
                             "(use e.g. 500ms, 90s, 30m, 2h30m)\n")
    assert snapshot(sandbox.dir) == before


@pytest.mark.parametrize("duration, shown", [("500ms", "500ms"), ("90s", "1m30s"), ("30m", "30m"), ("1h", "1h"),
                                             ("2h30m", "2h30m"), ("0s", "0s")])
def test_good_durations_are_accepted(sandbox, duration, shown):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--grace-period", duration, "d", "--", "sleep", "1000")
    assert sandbox.info("d")["grace_period"] == shown
    sandbox.run("admin", "stop", "d")


@pytest.mark.parametrize("entry", ["FOO", "=bar"])
def test_env_without_a_key_and_equals_is_refused_even_when_attaching(sandbox, entry):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "envy", "--", "sleep", "1000")
    before = snapshot(sandbox.dir)
    other = sandbox.client()
    result = sandbox.run("use", "--pid", other.pid, "--env", entry, "envy", "--", "sleep", "1000", check=False)
    assert result.returncode == 2
    assert result.stderr == f'sharedserver: invalid environment entry "{entry}": expected KEY=VALUE (e.g. --env PORT=8080)\n'
    assert snapshot(sandbox.dir) == before
    assert sandbox.info("envy")["refcount"] == 1


def test_a_pid_that_is_not_a_live_process_is_refused(sandbox):
    proc = subprocess.Popen(["true"])
    proc.wait()
    result = sandbox.run("use", "--pid", proc.pid, "db", "--", "sleep", "1", check=False)
    assert result.returncode == 2
    assert result.stderr == (f"sharedserver: client pid {proc.pid} is not a live process; "
                             "pass the pid of the process that uses the server\n")
    assert list(sandbox.dir.iterdir()) == []


def test_a_pid_that_is_not_a_number_is_a_usage_error(sandbox):
    result = sandbox.run("use", "--pid", "abc", "db", check=False)
    assert result.returncode == 2
    assert "--pid" in result.stderr and "abc" in result.stderr


def test_unuse_by_a_pid_that_never_attached_is_refused(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", a.pid, "db", "--", "sleep", "1000")
    before = (sandbox.dir / "db.clients.json").read_text()
    result = sandbox.run("unuse", "--pid", b.pid, "db", check=False)
    assert result.returncode == 1
    assert result.stderr == (f'sharedserver: pid {b.pid} is not attached to "db" (attached: {a.pid}); '
                             "pass the pid that ran `use` with --pid\n")
    assert (sandbox.dir / "db.clients.json").read_text() == before


def test_unuse_or_stop_of_a_server_that_is_not_running(sandbox):
    for args in (["unuse", "ghost"], ["admin", "stop", "ghost"], ["admin", "restart", "ghost"], ["use", "ghost"]):
        result = sandbox.run(*args, check=False)
        assert result.returncode == 1
        assert result.stderr == ('sharedserver: server "ghost" is not running; start it with '
                                 "`sharedserver use ghost -- <command>`\n")
    assert list(sandbox.dir.iterdir()) == []


def test_admin_start_of_a_running_server_is_refused(sandbox):
    sandbox.run("admin", "start", "solo", "--", "sleep", "1000")
    pid = sandbox.info("solo")["pid"]
    result = sandbox.run("admin", "start", "solo", "--", "sleep", "1000", check=False)
    assert result.returncode == 1
    assert result.stderr == f'sharedserver: server "solo" is already running (pid {pid}); use `sharedserver use solo` to attach\n'


def test_a_command_after_dashes_is_refused_where_none_is_taken(sandbox):
    result = sandbox.run("info", "db", "--", "sleep", "1", check=False)
    assert result.returncode == 2
    assert result.stderr == "sharedserver: only `use`, `with`, `admin start` and `config register` take a command after `--`\n"


def test_admin_start_without_a_command_is_a_usage_error(sandbox):
    result = sandbox.run("admin", "start", "db", check=False)
    assert result.returncode == 2
    assert "admin start needs the server's command after `--`" in result.stderr


def test_a_state_dir_open_to_others_is_refused(sandbox):
    sandbox.dir.chmod(0o777)
    result = sandbox.run("list", check=False)
    assert result.returncode == 1
    assert result.stderr == (f'sharedserver: state directory "{sandbox.dir}" is writable by others: '
                             f"run `chmod 700 {sandbox.dir}`\n")
    sandbox.dir.chmod(0o700)


def test_a_state_dir_owned_by_another_user_is_refused(sandbox):
    nobody = pwd.getpwnam("nobody")
    if os.geteuid() != 0:
        pytest.skip("needs root to hand a directory to another user")
    os.chown(sandbox.dir, nobody.pw_uid, nobody.pw_gid)
    try:
        result = sandbox.run("use", "db", "--", "sleep", "1", check=False)
        assert result.returncode == 1
        assert result.stderr.startswith(f'sharedserver: state directory "{sandbox.dir}" is owned by uid {nobody.pw_uid}, not by you')
        assert list(sandbox.dir.iterdir()) == []
    finally:
        os.chown(sandbox.dir, 0, 0)


def test_the_state_dir_is_created_private(sandbox, tmp_path):
    target = tmp_path / "fresh" 
    env = dict(sandbox.env, SHAREDSERVER_LOCKDIR=str(target))
    sandbox.run("list", env=env)
    assert stat.S_IMODE(target.stat().st_mode) == 0o700


def test_a_state_dir_that_is_a_symlink_is_refused(sandbox, tmp_path):
    link = tmp_path / "link"
    link.symlink_to(sandbox.dir)
    result = sandbox.run("list", env=dict(sandbox.env, SHAREDSERVER_LOCKDIR=str(link)), check=False)
    assert result.returncode == 1
    assert "is not a directory (a symlink or a file)" in result.stderr


def test_unknown_options_and_commands_are_usage_errors(sandbox):
    for args in (["frobnicate"], ["use", "--frob", "db"], ["admin"], [], ["completion", "tcsh"]):
        result = sandbox.run(*args, check=False)
        assert result.returncode == 2, args
        assert result.stderr.startswith("sharedserver: "), (args, result.stderr)
        assert len(result.stderr.splitlines()) == 1, (args, result.stderr)
