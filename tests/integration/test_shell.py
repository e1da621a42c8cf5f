"""`use` and `unuse` from shell scripts: which process is the client, also
when the shell execs its last command, and `admin start --pid`."""

import shlex
import subprocess

from conftest import CLI, wait_until

SS = shlex.quote(str(CLI))


def attached_and_detached(sandbox, name):
    events = sandbox.events(name)
    return ([e["client"] for e in events if e["event"] == "attached"],
            [e["client"] for e in events if e["event"] == "detached"])


def test_an_unuse_that_bash_execs_detaches_the_bash_that_ran_use(sandbox):
    # bash execs the last command of -c: unuse's parent is not the shell
    # that ran `use`; unuse itself is that shell.
    script = f"{SS} use solo -- sleep 1000 >/dev/null; {SS} unuse solo"
    result = subprocess.run(["bash", "-c", script], env=sandbox.env, capture_output=True, text=True, timeout=30)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("detached from solo; no client left, it stops in 5m")
    attached, detached = attached_and_detached(sandbox, "solo")
    assert len(attached) == 1 and detached == attached
    assert sandbox.info("solo")["state"] == "grace"


def test_an_exec_d_unuse_leaves_the_outer_shells_reference_alone(sandbox):
    inner = f"{SS} use both -- sleep 1000 >/dev/null; {SS} unuse both"
    outer = (f"{SS} use both -- sleep 1000 >/dev/null; echo outer $$; bash -c {shlex.quote(inner)}; echo rc $?; "
             f"exec sleep 1000")
    proc = sandbox.spawn(["sh", "-c", outer], env=sandbox.env, stdout=subprocess.PIPE, text=True)
    lines = []
    while not lines or not lines[-1].startswith("rc "):
        line = proc.stdout.readline()
        assert line, f"the shell ended before it printed its rc: {lines}"  # "" is the end of its output
        lines.append(line.strip())
    outer_pid = int(lines[0].split()[1])
    assert lines[1:] == ["detached from both (1 client left)", "rc 0"]
    attached, detached = attached_and_detached(sandbox, "both")
    assert attached[0] == outer_pid and len(attached) == 2
    assert detached == [attached[1]]
    assert [c["pid"] for c in sandbox.info("both")["clients"]] == [outer_pid]


def test_an_unuse_run_as_a_child_detaches_its_parent_shell(sandbox):
    script = f"{SS} use kid -- sleep 1000 >/dev/null; {SS} unuse kid; echo $$"
    result = subprocess.run(["bash", "-c", script], env=sandbox.env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    shell_pid = int(result.stdout.splitlines()[-1])
    assert attached_and_detached(sandbox, "kid") == ([shell_pid], [shell_pid])
    assert sandbox.info("kid")["state"] == "grace"


def test_admin_start_with_pid_starts_the_server_with_that_pid_as_its_client(sandbox):
    client = sandbox.client()
    result = sandbox.run("admin", "start", "first", "--pid", client.pid, "--metadata", "ci job", "--", "sleep", "1000")
    info = sandbox.info("first")
    assert result.stdout == f"started first (pid {info['pid']}) with pid {client.pid} as its client\n"
    assert info["state"] == "active"
    assert [(c["pid"], c["metadata"]) for c in info["clients"]] == [(client.pid, "ci job")]
    client.kill()
    client.wait()
    assert wait_until(lambda: sandbox.info("first")["state"] == "grace")


def test_admin_start_with_pid_refuses_a_running_server_and_attaches_nothing(sandbox):
    sandbox.run("admin", "start", "busy", "--", "sleep", "1000")
    client = sandbox.client()
    result = sandbox.run("admin", "start", "busy", "--pid", client.pid, "--", "sleep", "1000", check=False)
    pid = sandbox.info("busy")["pid"]
    assert result.returncode == 1
    assert result.stderr == (f'sharedserver: server "busy" is already running (pid {pid}); attach pid {client.pid} '
                             f"with `sharedserver admin incref busy --pid {client.pid}`\n")
    assert sandbox.info("busy")["clients"] == []
