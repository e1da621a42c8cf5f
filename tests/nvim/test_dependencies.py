"""depends_on (issue 16) from Neovim: one stack used from Neovim, the CLI and
Python at once runs one process per name, and Neovim shows the edges."""

import json
import os
import subprocess
import sys

from conftest import BUILD, alive, wait_for

CLI = BUILD / "cli" / "sharedserver"
HTTP = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "{port}"]
CHECK_BOTH = (
    "import os, socket, sys, time\n"
    "for port in (int(sys.argv[1]), int(os.environ['SHAREDSERVER_CACHE_PORT'])):\n"
    "    socket.create_connection(('127.0.0.1', port), timeout=5).close()\n"
    "print('both ports answer', flush=True)\n"
    "time.sleep(1000)\n"
)
# Holds `api` (from the project file of its directory) until stdin closes.
PY_CLIENT = "import sys, sharedserver\nlease = sharedserver.use('api')\nprint(lease.pid, flush=True)\nsys.stdin.read()\n"


def started(ss, name):
    path = ss.lockdir / f"{name}.events.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [e["pid"] for e in map(json.loads, lines) if e["event"] == "started"]


def test_a_stack_used_from_neovim_the_cli_and_python_at_once_runs_once(ss):
    # db and cache are lazy: Neovim starts only api at VimEnter, and api
    # brings what it needs.
    servers = {
        "db": {"command": HTTP, "port": "auto", "ready": {"port": True}, "lazy": True},
        "cache": {"command": HTTP, "port": "auto", "ready": {"port": True}, "lazy": True, "depends_on": ["db"]},
        "api": {"command": [sys.executable, "-c", CHECK_BOTH, "{port:db}"], "ready": {"log": "both ports answer"},
                "depends_on": ["cache", "db"]},
    }
    (ss.root / "sharedserver.json").write_text(json.dumps({"servers": servers}))
    env = dict(ss.env, PYTHONPATH=str(BUILD / "bindings" / "python"))
    holder = subprocess.Popen(["sleep", "1000"])
    ss.extra_pids.append(holder.pid)
    cli = subprocess.Popen([str(CLI), "use", "--pid", str(holder.pid), "api"], cwd=ss.root, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    python = subprocess.Popen([sys.executable, "-c", PY_CLIENT], cwd=ss.root, env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    ss.extra_pids.append(python.pid)
    a = ss.nvim("require('sharedserver').setup()\n")
    out, err = cli.communicate(timeout=60)
    assert cli.returncode == 0, err
    python_pid = int(python.stdout.readline())
    wait_for(lambda: a.status("api").get("running") and a.status("api").get("attached"), timeout=30,
             what="Neovim to attach to api")

    for name in ("api", "cache", "db"):
        assert len(started(ss, name)) == 1, (name, started(ss, name))
    api = ss.info("api")
    assert python_pid == api["pid"] and alive(api["pid"])
    # Neovim's status shows the edges both ways.
    assert a.status("api")["depends_on"] == ["cache", "db"]
    assert a.status("db")["needed_by"] == ["api", "cache"]
    assert a.status("cache")["depends_on"] == ["db"] and a.status("cache")["needed_by"] == ["api"]
    python.stdin.close()
    python.wait(timeout=10)
