#!/usr/bin/env python3
"""Runs an example program against a private state directory.

The example attaches to a server named "demo" (starting `sleep 1000`),
prints what happened and detaches; this driver checks every line it prints,
checks that its errors carry the library's messages, then stops the server
with `sharedserver admin kill demo` and verifies that no process remains.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NAME = "demo"


def run(cmd, env, ok=True):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    if ok and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def gone(pid):
    """True when pid no longer runs (absent, or a zombie nobody reaped yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def wait_gone(pids, seconds=5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(gone(p) for p in pids):
            return True
        time.sleep(0.01)
    return all(gone(p) for p in pids)


def expect_lines(stdout, patterns):
    lines = stdout.splitlines()
    if len(lines) != len(patterns):
        raise AssertionError(f"expected {len(patterns)} lines, got {len(lines)}:\n{stdout}")
    matches = []
    for line, pattern in zip(lines, patterns):
        m = re.fullmatch(pattern, line)
        if not m:
            raise AssertionError(f"line {line!r} does not match {pattern!r}\nfull output:\n{stdout}")
        matches.append(m)
    return matches


def check_attach(example, env, command, outcome):
    proc = run([example, NAME, *command], env)
    m = expect_lines(proc.stdout, [
        rf"{outcome} {NAME} pid=(\d+) refcount=1",
        r"pid=(\d+) refcount=1 state=active watcher_pid=(\d+)",
        r"servers=1",
        rf"  {NAME} active pid=(\d+) refcount=1",
        r"detached refcount=0",
        r"pid=(\d+) refcount=0 state=grace watcher_pid=(\d+)",
    ])
    pid = int(m[0].group(1))
    watcher = int(m[1].group(2))
    for i in (1, 3, 5):
        assert int(m[i].group(1)) == pid, proc.stdout
    assert int(m[5].group(2)) == watcher, proc.stdout
    assert not gone(pid), f"server pid {pid} is not running after the example detached"
    assert not gone(watcher), f"watcher pid {watcher} is not running"
    return pid, watcher


def check_errors(example, env):
    proc = run([example, "../x", "sleep", "1000"], env, ok=False)
    assert proc.returncode == 1, proc
    assert 'invalid server name "../x"' in proc.stderr, proc.stderr

    proc = run([example, "nothing"], env, ok=False)
    assert proc.returncode == 1, proc
    assert 'server "nothing" is not running' in proc.stderr, proc.stderr

    proc = run([example, "broken", "sharedserver-no-such-command"], env, ok=False)
    assert proc.returncode == 1, proc
    assert "sharedserver-no-such-command: command not found" in proc.stderr, proc.stderr
    assert proc.stdout == "", proc.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--example", required=True)
    parser.add_argument("--then", help="a second example that attaches to the same server")
    args = parser.parse_args()

    state = tempfile.mkdtemp(prefix="sharedserver-example-")
    os.chmod(state, 0o700)
    env = dict(os.environ, SHAREDSERVER_LOCKDIR=state)
    started = []
    try:
        pid, watcher = check_attach(args.example, env, ["sleep", "1000"], "started")
        started += [pid, watcher]
        if args.then:
            again, again_watcher = check_attach(args.then, env, [], "rescued")
            assert (again, again_watcher) == (pid, watcher), "the second example did not join the same server"
        check_errors(args.example, env)

        run([args.cli, "admin", "kill", NAME], env)
        assert wait_gone([pid, watcher]), f"server {pid} or watcher {watcher} survived `admin kill`"
        leftovers = [f for f in os.listdir(state) if f.startswith(NAME + ".") and f.endswith(".json")]
        assert not leftovers, f"records left after `admin kill`: {leftovers}"
        proc = run([args.cli, "check", NAME], env, ok=False)
        assert proc.returncode == 2, f"`check {NAME}` exited {proc.returncode}, expected 2 (stopped)"
        print(f"ok: {os.path.basename(args.example)} started pid {pid} (watcher {watcher}); admin kill removed both")
    finally:
        # Whatever failed above, leave no process behind: server group, then watcher.
        for p in started:
            if not gone(p):
                try:
                    os.killpg(p, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        sys.exit(1)
