"""Hostile state: a state dir owned by another user or open to others, records
replaced by symlinks or naming processes that are not ours, control
characters in names and arguments, enormous records. Each gets a clear
refusal (one line on stderr, non-zero exit) and touches nothing: no file
changes, no process starts, no process is signalled."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (AS_NOBODY, CLI, CONTROL, HERE, NOBODY, PYTHON, WATCHER, alive, boot_id, file_state,
                      has_control_chars, proc_stat, sanitized, snapshot)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as nobody and to chown")


def commands(client_pid, name="web"):
    """Every command that reads or writes a name's state."""
    return [
        ["use", "--pid", client_pid, name, "--", "sleep", "1000"],
        ["use", "--pid", client_pid, name],
        ["unuse", "--pid", client_pid, name],
        ["info", name],
        ["info", "--json", name],
        ["check", name],
        ["list"],
        ["list", "--json"],
        ["admin", "start", name, "--", "sleep", "1000"],
        ["admin", "stop", name],
        ["admin", "stop", "--force", "--timeout", "200ms", name],
        ["admin", "restart", name],
        ["admin", "incref", name, "--pid", client_pid],
        ["admin", "decref", name, "--pid", client_pid],
        ["admin", "debug", name],
        ["admin", "doctor", name],
        ["admin", "doctor"],
        ["admin", "kill", name],
    ]


def few_commands(client_pid, name="web"):
    """A representative subset, for the parametrized variants."""
    keep = (["use", "--pid"], ["info", name], ["check", name], ["list"], ["unuse", "--pid"], ["admin", "stop"],
            ["admin", "restart"], ["admin", "doctor"], ["admin", "kill"])
    return [c for c in commands(client_pid, name) if any(c[:len(k)] == k for k in keep)][:9]


def assert_one_line_refusal(result, *needles, args=()):
    assert result.returncode != 0, (args, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, (args, result.stderr)
    assert lines[0].startswith("sharedserver: "), (args, result.stderr)
    for needle in needles:
        assert needle in lines[0], (args, needle, lines[0])
    assert not has_control_chars(result.stderr.rstrip("\n")), (args, repr(result.stderr))


# ---------------------------------------------------------------- state dir owner and mode

@pytest.mark.parametrize("mode", [0o700, 0o755])
def test_a_state_dir_owned_by_another_user_is_refused_to_nobody(box, mode):
    hostile = box.root / "roots"
    hostile.mkdir(mode=mode)
    os.chmod(hostile, mode)
    before = snapshot(hostile)
    client = box.sleeper(nobody=True)
    for args in commands(client.pid):
        result = box.run(*args, state_dir=hostile, nobody=True)
        assert_one_line_refusal(result, f'state directory "{hostile}"', "owned by uid 0", "SHAREDSERVER_LOCKDIR",
                                args=args)
        assert result.stdout == ""
    assert snapshot(hostile) == before
    assert box.watchers(hostile) == []


def test_a_state_dir_owned_by_nobody_is_refused_to_root(box):
    theirs = box.root / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, NOBODY.pw_uid, NOBODY.pw_gid)
    before = snapshot(theirs)
    client = box.sleeper()
    for args in commands(client.pid):
        result = box.run(*args, state_dir=theirs)
        assert_one_line_refusal(result, "owned by uid 65534", args=args)
    assert snapshot(theirs) == before
    assert box.watchers(theirs) == []


DEFAULT_DIRS_OF_NOBODY = [Path(f"/dev/shm/sharedserver-{NOBODY.pw_uid}"), Path(f"/tmp/sharedserver-{NOBODY.pw_uid}")]


def test_the_default_state_dir_planted_by_another_user_is_refused(box):
    """The default state dir (/dev/shm/sharedserver-<uid> where /dev/shm is
    a tmpfs, else /tmp/sharedserver-<uid>) created in advance by someone
    else (here root, for nobody) must not be used, even world-readable."""
    for planted in DEFAULT_DIRS_OF_NOBODY:
        if planted.exists() or planted.is_symlink():
            pytest.skip(f"{planted} exists already")
    for planted in DEFAULT_DIRS_OF_NOBODY:
        planted.mkdir(mode=0o755)
    try:
        before = [snapshot(planted) for planted in DEFAULT_DIRS_OF_NOBODY]
        client = box.sleeper(nobody=True)
        env = box.env()
        env.pop("SHAREDSERVER_LOCKDIR", None)
        for args in (["use", "--pid", client.pid, "web", "--", "sleep", "1000"], ["list"], ["admin", "doctor"]):
            result = box.run(*args, nobody=True, env=env)
            assert_one_line_refusal(result, "owned by uid 0", args=args)
            assert any(str(planted) in result.stderr for planted in DEFAULT_DIRS_OF_NOBODY), result.stderr
        assert [snapshot(planted) for planted in DEFAULT_DIRS_OF_NOBODY] == before
        assert all(box.watchers(planted) == [] for planted in DEFAULT_DIRS_OF_NOBODY)
    finally:
        for planted in DEFAULT_DIRS_OF_NOBODY:
            shutil.rmtree(planted, ignore_errors=True)


def mounted_tmpfs(path):
    return any(line.split()[1:3] == [path, "tmpfs"] for line in Path("/proc/mounts").read_text().splitlines())


@pytest.mark.skipif(not mounted_tmpfs("/dev/shm"), reason="/dev/shm is not a tmpfs here")
def test_without_xdg_runtime_dir_the_default_state_dir_is_in_memory(box):
    """Every use writes records: where the session dir is unknown the
    default lives on /dev/shm (a tmpfs), private to its user."""
    home = DEFAULT_DIRS_OF_NOBODY[0]
    if home.exists() or Path(f"/run/user/{NOBODY.pw_uid}").exists():
        pytest.skip(f"{home} or nobody's /run/user dir exists already")
    client = box.sleeper(nobody=True)
    env = box.env()
    env.pop("SHAREDSERVER_LOCKDIR", None)
    try:
        box.run("use", "--pid", client.pid, "web", "--", "sleep", "1000", nobody=True, env=env)
        info = os.stat(home)
        assert (info.st_uid, info.st_mode & 0o777) == (NOBODY.pw_uid, 0o700)
        assert (home / "web.server.json").exists()
    finally:
        box.run("admin", "stop", "--force", "web", nobody=True, env=env)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o720, 0o702, 0o777, 0o1777, 0o730])
def test_a_state_dir_writable_by_group_or_others_is_refused(box, mode):
    open_dir = box.root / "open"
    open_dir.mkdir()
    os.chmod(open_dir, mode)
    (open_dir / "web.server.json").write_text("{}")
    before = snapshot(open_dir)
    client = box.sleeper()
    for args in few_commands(client.pid):
        result = box.run(*args, state_dir=open_dir)
        assert_one_line_refusal(result, "writable by others", "chmod 700", args=args)
    assert snapshot(open_dir) == before
    assert box.watchers(open_dir) == []


def test_nobody_is_refused_its_own_dir_when_others_may_write_it(box):
    mine = box.root / "nobodys"
    mine.mkdir()
    os.chown(mine, NOBODY.pw_uid, NOBODY.pw_gid)
    os.chmod(mine, 0o777)
    before = snapshot(mine)
    client = box.sleeper(nobody=True)
    result = box.run("use", "--pid", client.pid, "web", "--", "sleep", "1000", state_dir=mine, nobody=True)
    assert_one_line_refusal(result, "writable by others")
    assert snapshot(mine) == before


def test_nobody_works_normally_in_a_private_dir_of_its_own(box):
    """The control: the same commands succeed for nobody in its own 0700 dir."""
    mine = box.root / "nobodys"
    mine.mkdir(mode=0o700)
    os.chown(mine, NOBODY.pw_uid, NOBODY.pw_gid)
    client = box.sleeper(nobody=True)
    result = box.run("use", "--pid", client.pid, "--grace-period", "0s", "web", "--", "sleep", "1000",
                     state_dir=mine, nobody=True)
    assert result.returncode == 0, result.stderr
    record = json.loads((mine / "web.server.json").read_text())
    assert os.stat(f"/proc/{record['pid']}").st_uid == NOBODY.pw_uid
    assert box.run("admin", "stop", "web", state_dir=mine, nobody=True).returncode == 0


# ---------------------------------------------------------------- symlinks

def test_a_server_record_replaced_by_a_symlink_is_refused_and_its_target_untouched(box):
    """The target is a well-formed record naming a live bystander of ours: it
    must be neither followed nor signalled."""
    victim, log = box.trap()
    target = box.root / "target.json"
    box.write_record("decoy", victim.pid, state_dir=box.root)
    (box.root / "decoy.server.json").rename(target)
    link = box.dir / "web.server.json"
    link.symlink_to(target)
    target_before = file_state(target)
    client = box.sleeper()
    for args in commands(client.pid):
        if args[:2] in (["admin", "kill"], ["admin", "doctor"], ["admin", "debug"]) or args[0] == "list":
            continue   # these repair, skip the name or read only the event log; checked below
        result = box.run(*args)
        assert_one_line_refusal(result, "web.server.json", args=args)
        assert "symlink" in result.stderr, (args, result.stderr)
        assert link.is_symlink(), args
    for args in (["list"], ["admin", "doctor"], ["admin", "kill", "web"]):
        box.run(*args)
    assert file_state(target) == target_before
    time.sleep(0.3)
    assert alive(victim.pid)
    assert log.read_text() == "", "the bystander named by the symlinked record was signalled"
    assert box.watchers() == [], "a watcher was started for the record behind the symlink"


def test_a_clients_record_replaced_by_a_symlink_is_refused_and_its_target_untouched(box):
    """A real server runs; its clients.json becomes a symlink to a file naming a
    bystander as a client. Every command that reads the clients refuses; the
    target is never written and the bystander never signalled."""
    victim, log = box.trap()
    owner = box.sleeper()
    assert box.run("use", "--pid", owner.pid, "--grace-period", "0s", "web", "--", "sleep", "1000").returncode == 0
    st = proc_stat(victim.pid)
    target = box.root / "target.json"
    target.write_text(json.dumps({"schema": 1, "clients": {str(victim.pid): {"start": st[2]}}}))
    link = box.dir / "web.clients.json"
    link.unlink()
    link.symlink_to(target)
    target_before = file_state(target)
    client = box.sleeper()
    for args in (["use", "--pid", client.pid, "web", "--", "sleep", "1000"], ["use", "--pid", client.pid, "web"],
                 ["unuse", "--pid", owner.pid, "web"], ["info", "web"], ["info", "--json", "web"],
                 ["admin", "restart", "web"], ["admin", "incref", "web", "--pid", client.pid],
                 ["admin", "decref", "web", "--pid", owner.pid]):
        result = box.run(*args)
        assert_one_line_refusal(result, "web.clients.json", args=args)
        assert "symlink" in result.stderr, (args, result.stderr)
        assert link.is_symlink(), args
        assert file_state(target) == target_before, args
    box.run("admin", "kill", "web")
    assert file_state(target) == target_before
    time.sleep(0.3)
    assert alive(victim.pid)
    assert log.read_text() == "", "the bystander named as a client behind the symlink was signalled"


def test_a_lock_file_replaced_by_a_symlink_is_refused_and_its_target_untouched(box):
    target = box.root / "elsewhere"
    target.write_text("precious\n")
    (box.dir / "web.lock").symlink_to(target)
    before = file_state(target)
    client = box.sleeper()
    for args in (["use", "--pid", client.pid, "web", "--", "sleep", "1000"], ["admin", "start", "web", "--", "sleep", "1"],
                 ["admin", "kill", "web"]):
        result = box.run(*args)
        assert_one_line_refusal(result, args=args)
        assert "web.lock" in result.stderr
    assert file_state(target) == before
    assert box.watchers() == []


def test_a_dangling_lock_symlink_does_not_create_its_target(box):
    target = box.root / "created-through-the-link"
    (box.dir / "web.lock").symlink_to(target)
    client = box.sleeper()
    result = box.run("use", "--pid", client.pid, "web", "--", "sleep", "1000")
    assert_one_line_refusal(result)
    assert not target.exists()


def test_the_default_log_file_replaced_by_a_symlink_is_not_written_through(box):
    """DESIGN §4: every file is opened O_NOFOLLOW. A <name>.log symlink must not
    send the server's output into the file it points to."""
    target = box.root / "precious.txt"
    target.write_text("precious\n")
    (box.dir / "web.log").symlink_to(target)
    client = box.sleeper()
    result = box.run("use", "--pid", client.pid, "--grace-period", "0s", "web", "--",
                     "/bin/sh", "-c", "echo LEAKED; sleep 1000")
    time.sleep(0.3)
    box.run("admin", "kill", "web")
    assert target.read_text() == "precious\n", (result.returncode, result.stderr)


def test_events_log_replaced_by_a_symlink_is_not_written_through(box):
    target = box.root / "precious.txt"
    target.write_text("precious\n")
    (box.dir / "web.events.jsonl").symlink_to(target)
    client = box.sleeper()
    box.run("use", "--pid", client.pid, "--grace-period", "0s", "web", "--", "sleep", "1000")
    box.run("admin", "stop", "web")
    assert target.read_text() == "precious\n"


# ---------------------------------------------------------------- records naming processes that are not ours

def test_a_record_naming_another_users_process_never_signals_it(box):
    victim, log = box.trap(nobody=True)
    box.write_record("web", victim.pid)
    client = box.sleeper()
    refused = {}
    for args in commands(client.pid):
        if args[0] == "admin" and args[1] == "start":
            continue
        result = box.run(*args, timeout=30)
        refused[" ".join(map(str, args))] = result.returncode
        if (box.dir / "web.server.json").exists() is False:
            box.write_record("web", victim.pid)   # put the bait back after kill/doctor
    time.sleep(0.5)
    assert alive(victim.pid), "another user's process named by a record was killed"
    assert log.read_text() == "", f"another user's process was signalled: {log.read_text()!r}"
    # Acting on it is refused: a process that is not ours is never our server.
    for args in (f"use --pid {client.pid} web", f"admin stop web", f"admin restart web"):
        assert refused[args] != 0, f"`{args}` accepted a record naming another user's process"
    assert box.watchers() == [], "a watcher adopted another user's process"


def run_in_pid_namespace(box, script_args, timeout=60):
    """Runs tests/security/ns_scenario.py as a child of a trap that is pid 1 of
    a new PID namespace; returns (scenario JSON, signals pid 1 received)."""
    log = box.root / "init.log"
    log.write_text("")
    env = box.env(box.dir)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    proc = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", PYTHON, str(HERE / "trap.py"), str(log),
                           PYTHON, str(HERE / "ns_scenario.py"), str(CLI), str(box.dir), *script_args],
                          capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1]), log.read_text()


def test_a_record_naming_pid_1_never_signals_it(box):
    """pid 1 is the init of a private PID namespace here (a trap logging every
    signal), so a bug cannot reach the machine's real init. SIGKILL to a
    namespace's init is dropped by the kernel, so the CLI also runs under
    strace, which must show no kill()/tgkill()/pidfd_send_signal() aimed at
    pid 1 or at process group 1."""
    if shutil.which("unshare") is None or shutil.which("strace") is None:
        pytest.skip("needs unshare and strace")
    probe = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot create a PID namespace here")
    results, signals = run_in_pid_namespace(box, [])
    assert signals == "", f"pid 1 received signals {signals!r}"
    assert results["signals_to_1"] == [], results["signals_to_1"]
    assert results["watchers"] == [], f"a watcher adopted pid 1 after: {results['watchers']}"
    for args in ("use", "stop", "restart"):
        assert results["rc"][args] != 0, f"`{args}` accepted a record naming pid 1: {results['stderr'][args]}"


# ---------------------------------------------------------------- control characters

@pytest.mark.parametrize("ch", ["\x1b", "\n", "\r", "\x07", "\x7f", "\x08", "\t", "\x9b"])
def test_a_name_with_a_control_character_is_refused_escaped(box, ch):
    name = f"web{ch}[31mred"
    client = box.sleeper()
    before = snapshot(box.dir)
    for args in few_commands(client.pid, name):
        if args[:2] == ["admin", "doctor"] and len(args) == 2 or args[0] == "list":
            continue
        result = box.run(*args)
        if args[0] == "check":
            assert result.returncode == 4
        else:
            assert result.returncode == 2, (args, result.stderr)
        assert_one_line_refusal(result, "invalid server name", args=args)
    assert snapshot(box.dir) == before
    assert box.watchers() == []


@pytest.mark.parametrize("where", ["metadata", "env", "argv", "working-dir", "log-file"])
def test_control_characters_in_arguments_never_reach_a_terminal_raw(box, where):
    """An argument may legitimately hold any byte (it is passed as an argv, never
    through a shell); it must then be shown escaped, never raw: no terminal
    escape or line injection through list, info, debug or an error."""
    evil = "x\x1b]0;pwned\x07\x1b[2J\rFAKE\nsharedserver: all good"
    client = box.sleeper()
    args = ["use", "--pid", client.pid, "--grace-period", "0s"]
    command = ["sleep", "1000"]
    if where == "metadata":
        args += ["--metadata", evil]
    elif where == "env":
        args += ["--env", f"EVIL={evil}"]
    elif where == "argv":
        command = ["/bin/sh", "-c", "sleep 1000", evil]   # evil is the shell's $0: it runs on
    elif where == "working-dir":
        args += ["--working-dir", "/nonexistent/" + evil]
    else:
        args += ["--log-file", "/nonexistent/" + evil]
    result = box.run(*args, "web", "--", *command)
    outputs = {"use": result}
    if result.returncode == 0:
        for extra in (["info", "web"], ["list"], ["admin", "debug", "web"], ["info", "--json", "web"],
                      ["list", "--json"], ["admin", "debug", "--json", "web"]):
            outputs[" ".join(extra)] = box.run(*extra)
        box.run("admin", "stop", "web")
    else:
        assert_one_line_refusal(result, args=args)
    for what, r in outputs.items():
        for stream in (r.stdout, r.stderr):
            assert "\x1b" not in stream and "\r" not in stream and "\x07" not in stream, (what, repr(stream))
            assert "\nsharedserver: all good" not in stream, (what, repr(stream))


# ---------------------------------------------------------------- enormous records

@pytest.mark.parametrize("which, size", [("server.json", 2 << 20), ("server.json", 64 << 30),
                                         ("clients.json", 64 << 30), ("events.jsonl", 64 << 30)])
def test_an_enormous_record_is_refused_quickly_and_left_alone(box, which, size):
    """A 2 MiB or a (sparse) 64 GiB record: refused at once, never read into memory."""
    client = box.sleeper()
    if which != "server.json":
        assert box.run("use", "--pid", client.pid, "--grace-period", "0s", "web", "--", "sleep", "1000").returncode == 0
    path = box.dir / f"web.{which}"
    with open(path, "r+b" if path.exists() else "wb") as f:
        f.truncate(size)
        if size < (16 << 20):
            f.seek(0)
            f.write(b'{"pid": 1, "x": "' + b"a" * (size - 32) + b'"}')
    before = file_state(path)
    # Which commands must refuse, by the file that is enormous.
    refusing = {
        "server.json": {"info", "check", "use", "unuse", "admin stop"},
        "clients.json": {"info", "use", "unuse"},
        "events.jsonl": {"admin debug"},
    }[which]
    for args in (["info", "web"], ["check", "web"], ["use", "--pid", client.pid, "web", "--", "sleep", "1000"],
                 ["unuse", "--pid", client.pid, "web"], ["admin", "debug", "web"], ["list"], ["list", "--json"],
                 ["admin", "stop", "web"]):
        key = " ".join(args[:2]) if args[0] == "admin" else args[0]
        start = time.monotonic()
        # RLIMIT_AS: reading the file into memory would fail loudly instead of swapping
        # (not under ASan/TSan, which reserve terabytes of address space).
        prefix = [] if sanitized(CLI) else ["prlimit", "--as=4294967296", "--"]
        result = box.run(*args, prefix=prefix, timeout=20)
        took = time.monotonic() - start
        assert took < 5, (args, took)
        assert result.returncode >= 0, (args, result.returncode, result.stderr)
        assert "bad_alloc" not in result.stderr and "out of memory" not in result.stderr, (args, result.stderr)
        if key in refusing:
            assert_one_line_refusal(result, f"web.{which}", args=args)
            if which != "events.jsonl":
                assert "larger than any record" in result.stderr and "admin doctor" in result.stderr, result.stderr
        if key != "admin stop" or key in refusing:
            assert file_state(path)[:3] == before[:3], args
    box.run("admin", "kill", "web")
