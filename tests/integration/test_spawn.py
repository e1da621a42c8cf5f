"""How a server is launched: argv intact, no shell, clean descriptors, its own
process group and directory, and exact errors when it cannot start."""

import json
import os
import subprocess
import textwrap

import pytest

from conftest import pid_alive, wait_until

PROBE = textwrap.dedent("""
    import json, os, sys, time
    fds = sorted(int(fd) for fd in os.listdir('/proc/self/fd'))
    report = {
        'argv': sys.argv[1:],
        'cwd': os.getcwd(),
        'pid': os.getpid(),
        'pgid': os.getpgid(0),
        'sid': os.getsid(0),
        'stdin': os.readlink('/proc/self/fd/0'),
        'stdout': os.readlink('/proc/self/fd/1'),
        'stderr': os.readlink('/proc/self/fd/2'),
        'fds': fds,
        'env': {k: os.environ.get(k) for k in ('GREETING', 'EMPTY', 'HOME')},
    }
    print('hello from the server', flush=True)
    print('and from stderr', file=sys.stderr, flush=True)
    with open(os.environ['REPORT'] + '.tmp', 'w') as f:
        json.dump(report, f)
    os.rename(os.environ['REPORT'] + '.tmp', os.environ['REPORT'])
    time.sleep(1000)
""")


def launch_probe(sandbox, python, name, *extra, args=()):
    client = sandbox.client()
    script = sandbox.dir / "probe.py"
    script.write_text(PROBE)
    report = sandbox.dir / f"{name}.report.json"
    sandbox.run("use", "--pid", client.pid, "--env", f"REPORT={report}", *extra, name, "--",
                python, script, *args)
    assert wait_until(report.exists, timeout=10)
    return json.loads(report.read_text())


def test_arguments_arrive_intact_without_a_shell(sandbox, python):
    tricky = ["two words", "'single'", '"double"', "$HOME", "*", "a;b", "", "back\\slash", "new\nline"]
    report = launch_probe(sandbox, python, "argv", args=tricky)
    assert report["argv"] == tricky


def test_stdin_is_dev_null_output_goes_to_the_log_and_nothing_else_is_inherited(sandbox, python):
    # A descriptor the client leaks on purpose must not reach the server.
    leaked = os.open("/dev/null", os.O_RDONLY)
    os.set_inheritable(leaked, True)
    try:
        report = launch_probe(sandbox, python, "fds")
    finally:
        os.close(leaked)
    log = sandbox.dir / "fds.log"
    assert report["stdin"] == "/dev/null"
    # One pipe, read by the log pump, which writes the log.
    assert report["stdout"].startswith("pipe:") and report["stderr"] == report["stdout"]
    # 0, 1, 2, and the one listdir() itself opened.
    assert len(report["fds"]) == 4 and report["fds"][:3] == [0, 1, 2], report["fds"]
    assert wait_until(lambda: log.exists() and "and from stderr" in log.read_text())
    assert "hello from the server" in log.read_text()


def test_the_server_runs_in_its_own_process_group_and_working_dir(sandbox, python, tmp_path):
    workdir = tmp_path / "work dir"
    workdir.mkdir()
    report = launch_probe(sandbox, python, "group", "--working-dir", workdir)
    assert report["pgid"] == report["pid"]
    assert report["cwd"] == str(workdir)
    assert report["pid"] == sandbox.info("group")["pid"]
    assert sandbox.info("group")["working_dir"] == str(workdir)


def test_env_additions_are_added_to_the_inherited_environment(sandbox, python):
    report = launch_probe(sandbox, python, "env", "--env", "GREETING=hello world", "--env", "EMPTY=")
    assert report["env"] == {"GREETING": "hello world", "EMPTY": "", "HOME": os.environ.get("HOME")}
    # The definition's env is an object: info lists it by name.
    assert {"GREETING=hello world", "EMPTY="} <= set(sandbox.info("env")["env"])


def test_a_custom_log_file_receives_the_output(sandbox, python, tmp_path):
    log = tmp_path / "custom.log"
    launch_probe(sandbox, python, "logged", "--log-file", log)
    assert wait_until(lambda: log.exists() and "and from stderr" in log.read_text())
    assert "hello from the server" in log.read_text()
    assert sandbox.info("logged")["log_file"] == str(log)


def test_a_relative_command_path_is_resolved_against_the_working_dir(sandbox, tmp_path):
    script = tmp_path / "serve.sh"
    script.write_text("#!/bin/sh\nexec sleep 1000\n")
    script.chmod(0o755)
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--working-dir", tmp_path, "rel", "--", "./serve.sh")
    assert pid_alive(sandbox.info("rel")["pid"])


@pytest.mark.parametrize("command, extra, message", [
    (["/usr/bin/redis-serverx"], [], 'sharedserver: cannot start "db": /usr/bin/redis-serverx: No such file or directory\n'),
    (["no-such-command-anywhere"], [],
     'sharedserver: cannot start "db": no-such-command-anywhere: command not found in PATH; give its full path or fix PATH\n'),
    (["{not_executable}"], [], 'sharedserver: cannot start "db": {not_executable}: Permission denied\n'),
    (["/tmp"], [], 'sharedserver: cannot start "db": /tmp: Is a directory\n'),
    (["sleep", "1"], ["--working-dir", "/no/such/dir"],
     'sharedserver: cannot start "db": working directory /no/such/dir: No such file or directory\n'),
    (["sleep", "1"], ["--working-dir", "{not_executable}"],
     'sharedserver: cannot start "db": working directory {not_executable}: Not a directory\n'),
    (["sleep", "1"], ["--log-file", "/no/such/dir/x.log"],
     'sharedserver: cannot start "db": log file /no/such/dir/x.log: No such file or directory\n'),
])
def test_a_command_that_cannot_run_fails_at_once_leaving_nothing(sandbox, tmp_path, command, extra, message):
    not_executable = tmp_path / "data.txt"
    not_executable.write_text("not a program")
    not_executable.chmod(0o644)
    command = [c.format(not_executable=not_executable) for c in command]
    extra = [e.format(not_executable=not_executable) for e in extra]
    message = message.format(not_executable=not_executable)
    client = sandbox.client()
    before = sorted(p.name for p in sandbox.dir.iterdir())
    result = sandbox.run("use", "--pid", client.pid, *extra, "db", "--", *command, check=False)
    assert result.returncode == 1
    assert result.stderr == message
    assert result.stdout == ""
    assert sorted(p.name for p in sandbox.dir.iterdir()) == before
    assert wait_until(lambda: not sandbox.watcher_pids(), timeout=2)
    assert sandbox.run("check", "db", check=False).returncode == 2


def test_a_script_without_an_interpreter_line_reports_exec_format_error(sandbox, tmp_path):
    script = tmp_path / "noshebang"
    script.write_bytes(b"\x7fELF-not-really")
    script.chmod(0o755)
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "bad", "--", script, check=False)
    assert result.returncode == 1
    assert result.stderr == f'sharedserver: cannot start "bad": {script}: Exec format error\n'
    assert not (sandbox.dir / "bad.server.json").exists()
