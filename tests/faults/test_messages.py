"""Promise 4: every bad input gets one clear line naming it, and leaves
nothing behind."""

import os
import subprocess

import pytest

from conftest import CLI
from harness import processes


def state_files(sandbox):
    # An exec failure's empty .log is the log pump's to avoid (H2's part of issue 12).
    return sorted(p.name for p in sandbox.dir.iterdir() if not p.name.endswith(".log"))


def script(sandbox, name, text):
    path = sandbox.root / name
    path.write_bytes(text)
    path.chmod(0o755)
    return path


def test_a_script_whose_interpreter_is_missing_names_the_interpreter(sandbox):
    path = script(sandbox, "bad.sh", b"#!/nonexistent/interp\necho hi\n")
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "x", "--", path, check=False)
    assert result.returncode == 1
    assert result.stderr == (f'sharedserver: cannot start "x": {path}: its interpreter "/nonexistent/interp" '
                             "(from its #! line) does not exist; install it or fix the #! line\n")
    assert state_files(sandbox) == []
    assert not [pid for pid, cmdline in processes() if cmdline and cmdline[0] == str(path).encode()]


def test_a_script_saved_with_windows_line_endings_says_so(sandbox):
    path = script(sandbox, "crlf.sh", b"#!/bin/sh\r\necho hi\r\n")
    result = sandbox.run("admin", "start", "x", "--", path, check=False)
    assert result.returncode == 1
    assert result.stderr == (f'sharedserver: cannot start "x": {path}: its interpreter "/bin/sh\\x0d" (from its #! '
                             "line) ends in a carriage return: save the script with Unix (LF) line endings\n")
    assert state_files(sandbox) == []


def test_a_file_without_a_shebang_says_it_needs_one(sandbox):
    path = script(sandbox, "plain", b"echo hi\n")
    result = sandbox.run("admin", "start", "x", "--", path, check=False)
    assert result.stderr == (f'sharedserver: cannot start "x": {path}: not an executable format; a script needs a '
                             "#! line (e.g. #!/bin/sh)\n")


def test_max_restarts_minus_one_is_one_short_line(sandbox):
    result = sandbox.run("use", "--max-restarts", "-1", "x", "--", "sleep", "1000", check=False)
    assert result.returncode == 2
    assert result.stderr == 'sharedserver: --max-restarts: "-1" is not a count from 0 to 1000\n'
    assert state_files(sandbox) == []


@pytest.mark.parametrize("args, message", [
    (["use", "--max-restarts", "abc", "x", "--", "sleep", "1000"],
     '--max-restarts: "abc" is not a count from 0 to 1000'),
    (["use", "--max-restarts", "99999999999", "x", "--", "sleep", "1000"],
     '--max-restarts: 99999999999 is not a count from 0 to 1000'),
    (["use", "--max-restarts", "99999", "x", "--", "sleep", "1000"],
     '--max-restarts: 99999 is not a count from 0 to 1000'),
    (["use", "--pid", "-5", "x", "--", "sleep", "1000"],
     '--pid: invalid value "-5": expected a process id (a positive whole number)'),
    (["use", "--pid", "abc", "x"],
     '--pid: invalid value "abc": expected a process id (a positive whole number)'),
    (["unuse", "--pid", "-5", "x"],
     '--pid: invalid value "-5": expected a process id (a positive whole number)'),
    (["admin", "incref", "x", "--pid", "0"],
     '--pid: invalid value "0": expected a process id (a positive whole number)'),
    (["admin", "decref", "x", "--pid", "0"],
     '--pid: invalid value "0": expected a process id (a positive whole number)'),
    (["logs", "x", "-n", "-1"],
     '--lines: invalid value "-1": expected a number of lines, 0 or more'),
    (["logs", "x", "-n", "abc"],
     '--lines: invalid value "abc": expected a number of lines, 0 or more'),
    (["logs", "x", "-n", "99999999999999999999999"],
     '--lines: "99999999999999999999999" is too large: expected at most 2147483647'),
    (["use", "--metadata", "m" * 2000, "x", "--", "sleep", "1000"],
     "the client's metadata is 2000 bytes; it may take 1024 (keep a short label there, and larger data in a file)"),
])
def test_a_bad_number_or_size_is_one_short_line_naming_it(sandbox, args, message):
    result = sandbox.run(*args, check=False)
    assert result.returncode == 2
    assert result.stderr == f"sharedserver: {message}\n"
    assert len(result.stderr) < 160
    assert state_files(sandbox) == []


def test_a_lockdir_that_is_not_utf8_is_refused_when_opened(sandbox):
    env = {k.encode(): v.encode() for k, v in sandbox.env.items()}
    env[b"SHAREDSERVER_LOCKDIR"] = bytes(sandbox.root) + b"/caf\xe9"
    result = subprocess.run([str(CLI), "list"], env=env, capture_output=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.endswith(b"is not valid UTF-8, which records cannot name; set SHAREDSERVER_LOCKDIR to "
                                  b"another directory\n")
    assert not os.path.exists(bytes(sandbox.root) + b"/caf\xe9")


def test_a_hand_edited_event_log_does_not_turn_a_failed_start_into_an_internal_error(sandbox):
    # Fields of the wrong type once threw out of the waiter ("internal
    # error: [json.exception.type_error.302] ...").
    (sandbox.dir / "web.events.jsonl").write_text(
        '{"at": "soon", "event": "started", "pid": "x"}\n{"at": 1, "event": 7, "timeout_ms": "y"}\n')
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "--ready-port", "1", "web", "--", "sh", "-c", "exit 3",
                         check=False)
    assert result.returncode == 1
    assert "internal error" not in result.stderr and "json.exception" not in result.stderr, result.stderr
    assert result.stderr.startswith('sharedserver: server "web" exited with code 3'), result.stderr
