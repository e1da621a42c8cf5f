"""examples/agents: the Claude Code hook lines, run as Claude Code runs them
(a shell whose parent is the session), from two simulated sessions: they
share one server, which stops once both ended and its grace period passed."""

import json
import os
import subprocess
import sys

from conftest import BUILD_DIR, SOURCE_DIR, pid_alive, wait_until

HOOKS = json.loads((SOURCE_DIR / "examples" / "agents" / "claude-settings.json").read_text())["hooks"]

# A session: runs the start hook in a shell of its own (so the hook's $PPID
# is this process), waits for a line, runs the end hook, waits for another.
SESSION = """
import subprocess, sys
for hook in sys.argv[1:]:
    done = subprocess.run(["/bin/sh", "-c", hook], capture_output=True, text=True)
    print(done.returncode, json.dumps([done.stdout, done.stderr]), flush=True)
    sys.stdin.readline()
"""


def hook_line(event):
    (entry,) = HOOKS[event]
    (hook,) = entry["hooks"]
    assert hook["type"] == "command"
    return hook["command"]


class Session:
    def __init__(self, sandbox, cwd, env):
        self.proc = sandbox.spawn([sys.executable, "-c", "import json\n" + SESSION,
                                   hook_line("SessionStart"), hook_line("SessionEnd")],
                                  cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def hook_result(self):
        code, rest = self.proc.stdout.readline().split(" ", 1)
        stdout, stderr = json.loads(rest)
        return int(code), stdout, stderr

    def next(self):
        self.proc.stdin.write("\n")
        self.proc.stdin.flush()


def test_two_sessions_share_one_server_until_both_end_and_the_grace_passes(sandbox, tmp_path):
    assert hook_line("SessionStart") == 'sharedserver up --profile claude --pid "$PPID"'
    assert hook_line("SessionEnd") == 'sharedserver down --profile claude --pid "$PPID"'
    project = tmp_path / "project"
    project.mkdir()
    (project / ".sharedserver.json").write_text(json.dumps({
        "servers": {"mcp": {"command": "sleep", "args": ["1000"], "gracePeriod": "1s"},
                    "nvim-only": {"command": "sleep", "args": ["1001"]}},
        "profiles": {"claude": ["mcp"], "neovim": ["nvim-only"]}}))
    env = dict(sandbox.env, PATH=f"{BUILD_DIR / 'cli'}{os.pathsep}{os.environ['PATH']}", HOME=str(tmp_path))

    first = Session(sandbox, project, env)
    assert first.hook_result() == (0, "profile 'claude': started 1\n", "")
    second = Session(sandbox, project, env)
    assert second.hook_result() == (0, "profile 'claude': attached 1\n", "")

    servers = json.loads(sandbox.run("list", "--json").stdout)
    assert [s["name"] for s in servers] == ["mcp"]
    assert sorted(c["pid"] for c in sandbox.info("mcp")["clients"]) == sorted([first.proc.pid, second.proc.pid])
    server_pid = servers[0]["pid"]

    first.next()
    assert first.hook_result() == (0, "profile 'claude': released 1\n", "")
    assert [c["pid"] for c in sandbox.info("mcp")["clients"]] == [second.proc.pid]
    second.next()
    assert second.hook_result() == (0, "profile 'claude': released 1\n", "")
    assert sandbox.info("mcp")["state"] == "grace"
    assert wait_until(lambda: not pid_alive(server_pid), timeout=15)
    assert json.loads(sandbox.run("list", "--json").stdout) == []
    for session in (first, second):
        session.next()
        assert session.proc.wait(timeout=10) == 0
