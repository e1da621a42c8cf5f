"""The command line as a person and a script see it: syntax, output formats,
exit codes, help, completion and colour."""

import json
import os
import pty
import re
import subprocess
import time

import pytest

from conftest import CLI, SOURCE_DIR

COMMANDS = [["use"], ["unuse"], ["list"], ["info"], ["check"], ["wait"], ["port"], ["logs"], ["with"],
            ["completion"], ["admin"], ["admin", "start"],
            ["admin", "stop"], ["admin", "restart"], ["admin", "incref"], ["admin", "decref"], ["admin", "debug"],
            ["admin", "doctor"], ["admin", "kill"]]


def test_version(sandbox):
    result = sandbox.run("--version")
    assert result.stdout == "sharedserver 0.1.0\n"


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(sandbox, command):
    result = sandbox.run(*command, "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout or "Options" in result.stdout or "OPTIONS" in result.stdout
    assert list(sandbox.dir.iterdir()) == []


def test_options_may_stand_before_or_after_the_name(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--grace-period", "10m", "--pid", a.pid, "pos", "--", "sleep", "1000")
    sandbox.run("use", "pos", "--pid", b.pid, "--metadata", "second client")
    info = sandbox.info("pos")
    assert info["grace_period"] == "10m"
    assert {c["pid"]: c["metadata"] for c in info["clients"]} == {a.pid: "", b.pid: "second client"}


def test_use_defaults_to_the_calling_process_as_the_client(sandbox):
    # `sh` runs the CLI, so sh is the client, and its exit is a client death.
    script = f"{CLI} use shell -- sleep 1000 >/dev/null; echo $$; sleep 0.2"
    shell_pid = int(subprocess.run(["sh", "-c", script], env=sandbox.env, capture_output=True, text=True).stdout)
    events = sandbox.events("shell")
    assert {"event": "attached", "client": shell_pid}.items() <= next(e for e in events if e["event"] == "attached").items()
    deadline = time.monotonic() + 5
    while sandbox.info("shell")["state"] != "grace" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.info("shell")["state"] == "grace"


def test_info_json_has_every_documented_field(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--metadata", "nvim", "--grace-period", "90s", "--env", "A=1",
                "full", "--", "sleep", "1000")
    info = sandbox.info("full")
    readme = (SOURCE_DIR / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `info` |"))
    documented = set(re.findall(r"`([a-z_]+)`", row.split("--json", 1)[1])) - {"list", "info", "corrupt", "no",
                                                                               "on-failure", "always"}
    assert documented == set(info) | {"pid", "attached_at", "metadata"}  # the clients' fields
    assert info["name"] == "full" and info["state"] == "active" and info["refcount"] == 1
    assert info["command"] == ["sleep", "1000"]
    assert info["grace_period"] == "1m30s" and info["grace_period_ms"] == 90000
    assert info["clients"][0]["pid"] == client.pid and info["clients"][0]["metadata"] == "nvim"
    assert abs(info["clients"][0]["attached_at"] - time.time()) < 10
    assert abs(info["started_at"] - time.time()) < 10
    assert info["log_file"] == str(sandbox.dir / "full.log")
    assert info["working_dir"] == os.getcwd()
    assert info["env"] == ["A=1"]


def test_info_of_a_stopped_server(sandbox):
    info = sandbox.info("never")
    assert info["state"] == "stopped" and info["pid"] is None and info["refcount"] == 0
    human = sandbox.run("info", "never").stdout
    assert human.splitlines() == ["name:   never", "state:  ○ stopped"]


def test_list_json_is_a_list_of_info_objects_sorted_by_name(sandbox):
    client = sandbox.client()
    for name in ("zeta", "alpha", "mid"):
        sandbox.run("use", "--pid", client.pid, name, "--", "sleep", "1000")
    listed = json.loads(sandbox.run("list", "--json").stdout)
    assert [s["name"] for s in listed] == ["alpha", "mid", "zeta"]
    assert listed[0] == sandbox.info("alpha")
    assert sandbox.run("list", "--names").stdout == "alpha\nmid\nzeta\n"


def test_list_is_an_aligned_table_without_colour_off_a_terminal(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "a", "--", "sleep", "1000")
    sandbox.run("admin", "start", "--grace-period", "30m", "longer-name", "--", "sleep", "1000")
    lines = sandbox.run("list", env={k: v for k, v in sandbox.env.items() if k != "NO_COLOR"}).stdout.splitlines()
    assert "\x1b" not in "".join(lines)
    assert lines[0].split() == ["NAME", "STATE", "PID", "REFS", "UPTIME", "GRACE", "COMMAND"]
    assert lines[1].startswith("a            ● active")
    assert lines[2].startswith("longer-name  ⏳ grace")
    assert "29m" in lines[2] and "left" in lines[2]
    state_column = lines[0].index("STATE")
    assert all(line[state_column - 2:state_column] == "  " for line in lines)


def test_list_and_info_show_the_command_with_the_port_it_was_given(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--port", "auto", "--env", "URL=http://127.0.0.1:{port}/", "p",
                "--", "sleep", "1000", "{port}")
    port = sandbox.info("p")["port"]
    assert sandbox.run("list").stdout.splitlines()[1].endswith(f"sleep 1000 {port}")
    info = sandbox.run("info", "p").stdout
    assert f"command:       sleep 1000 {port}\n" in info
    assert f"env:           URL=http://127.0.0.1:{port}/\n" in info
    assert sandbox.info("p")["command"] == ["sleep", "1000", "{port}"]  # the definition, as given


def _run_on_a_terminal(args, env):
    pid, fd = pty.fork()
    if pid == 0:
        os.execve(str(CLI), [str(CLI), *args], env)
    output = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return output.decode()


def test_colour_only_on_a_terminal_and_never_with_no_color(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "tty", "--", "sleep", "1000")
    env = {k: v for k, v in sandbox.env.items() if k != "NO_COLOR"}
    assert "\x1b[32m" in _run_on_a_terminal(["list"], env)
    assert "\x1b[" not in _run_on_a_terminal(["list"], dict(env, NO_COLOR="1"))


def test_check_exit_codes_follow_the_state(sandbox):
    client = sandbox.client()
    assert sandbox.run("check", "c", check=False).returncode == 2
    sandbox.run("use", "--pid", client.pid, "c", "--", "sleep", "1000")
    assert sandbox.run("check", "c", check=False).returncode == 0
    sandbox.run("unuse", "--pid", client.pid, "c")
    assert sandbox.run("check", "c", check=False).returncode == 1
    result = sandbox.run("check", "c", check=False)
    assert result.stdout == ""  # silent for scripts


def test_admin_incref_and_decref_attach_any_pid(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("admin", "start", "adm", "--", "sleep", "1000")
    assert sandbox.info("adm")["state"] == "grace"
    assert sandbox.run("admin", "incref", "adm", "--pid", a.pid).stdout == f"attached pid {a.pid} to adm (1 client)\n"
    sandbox.run("admin", "incref", "adm", "--pid", b.pid, "--metadata", "manual")
    assert sandbox.info("adm")["refcount"] == 2
    assert sandbox.run("admin", "decref", "adm", "--pid", a.pid).stdout == "detached from adm (1 client left)\n"
    assert sandbox.run("admin", "incref", "adm", check=False).returncode == 2  # --pid is required


def test_admin_debug_shows_the_event_log(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "dbg", "--", "sleep", "1000")
    sandbox.run("unuse", "--pid", client.pid, "dbg")
    human = sandbox.run("admin", "debug", "dbg").stdout
    kinds = [line.split()[2] for line in human.splitlines()]
    assert kinds == ["started", "attached", "detached", "grace-entered"]
    raw = sandbox.run("admin", "debug", "dbg", "--json").stdout.splitlines()
    assert [json.loads(line)["event"] for line in raw] == kinds
    assert sandbox.run("admin", "debug", "nothing-here").stdout == "no events recorded\n"


@pytest.mark.parametrize("shell, marker", [("bash", "complete -F _sharedserver sharedserver"),
                                           ("zsh", "#compdef sharedserver"),
                                           ("fish", "complete -c sharedserver")])
def test_completion_scripts(sandbox, shell, marker):
    script = sandbox.run("completion", shell).stdout
    assert marker in script
    assert "list --names" in script


def test_bash_completion_offers_commands_and_running_servers(sandbox, tmp_path):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "redis", "--", "sleep", "1000")
    script = tmp_path / "complete.bash"
    script.write_text(sandbox.run("completion", "bash").stdout)
    probe = (f'PATH="{CLI.parent}:$PATH"; source {script}; '
             'COMP_WORDS=(sharedserver u); COMP_CWORD=1; _sharedserver; echo "${COMPREPLY[@]}"; '
             'COMP_WORDS=(sharedserver info r); COMP_CWORD=2; _sharedserver; echo "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe], env=sandbox.env, capture_output=True, text=True).stdout.splitlines()
    assert out == ["use unuse", "redis"]
