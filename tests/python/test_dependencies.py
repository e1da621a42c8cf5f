"""depends_on (issue 16): a stack of real servers used from the CLI and Python
at once, held on behalf of the running dependent, wound down in grace order;
cycles, unknown names and a dependency that fails readiness refused with
nothing left running."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from py_support import BUILD, PYTHON, wait_until

import sharedserver

CLI = BUILD / "cli" / "sharedserver"

HTTP = [PYTHON, "-m", "http.server", "--bind", "127.0.0.1", "{port}"]

# The top of the stack: it reaches both dependencies through the ports it was
# given ({port:db} in its arguments, $SHAREDSERVER_CACHE_PORT in its env),
# says so, and stays.
CHECK_BOTH = (
    "import os, socket, sys, time\n"
    "for port in (int(sys.argv[1]), int(os.environ['SHAREDSERVER_CACHE_PORT']), int(os.environ['DB'])):\n"
    "    socket.create_connection(('127.0.0.1', port), timeout=5).close()\n"
    "print('both ports answer', flush=True)\n"
    "time.sleep(1000)\n"
)


def write_project(directory, servers):
    (directory / "sharedserver.json").write_text(json.dumps({"servers": servers}))


def stack(grace="1s"):
    return {
        "db": {"command": HTTP, "port": "auto", "ready": {"port": True}, "idle_timeout": grace},
        "cache": {"command": HTTP, "port": "auto", "ready": {"port": True}, "idle_timeout": grace,
                  "depends_on": ["db"]},
        "api": {"command": [PYTHON, "-c", CHECK_BOTH, "{port:db}"], "env": {"DB": "{port:db}"},
                "ready": {"log": "both ports answer"}, "idle_timeout": grace, "depends_on": ["cache", "db"]},
    }


def cli(sandbox, cwd, *args):
    return subprocess.run([str(CLI), *map(str, args)], cwd=cwd, env=sandbox.env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=60)


# A Python client: uses NAME from the project file of its directory, prints
# what it got, and holds it until its stdin closes.
PY_CLIENT = (
    "import json, sys, sharedserver\n"
    "try:\n"
    "    lease = sharedserver.use(sys.argv[1])\n"
    "except sharedserver.Error as error:\n"
    "    print(json.dumps({'error': str(error)}), flush=True); sys.exit(1)\n"
    "print(json.dumps({'pid': lease.pid}), flush=True)\n"
    "sys.stdin.read()\n"
)


def py_client(sandbox, cwd, name):
    proc = subprocess.Popen([PYTHON, "-c", PY_CLIENT, name], cwd=cwd, env=sandbox.env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    sandbox.procs.append(proc)
    return proc


def started_pids(sandbox, name):
    path = sandbox.dir / f"{name}.events.jsonl"
    if not path.exists():
        return []
    return [e["pid"] for e in map(json.loads, path.read_text().splitlines()) if e["event"] == "started"]


def exited_at(sandbox, name):
    path = sandbox.dir / f"{name}.events.jsonl"
    events = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    return next((e["at"] for e in reversed(events) if e["event"] == "exited"), None)


def remember_stack(sandbox, names=("api", "cache", "db")):
    for name in names:
        sandbox.remember(name)


def test_a_stack_used_from_the_cli_and_python_at_once_runs_once_and_winds_down_in_grace_order(sandbox, tmp_path):
    write_project(tmp_path, stack())
    holders = [sandbox.sleeper() for _ in range(3)]
    cli_uses = [subprocess.Popen([str(CLI), "use", "--pid", str(h.pid), "api"], cwd=tmp_path, env=sandbox.env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for h in holders]
    py_uses = [py_client(sandbox, tmp_path, "api") for _ in range(3)]
    for proc in cli_uses:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    leases = [json.loads(proc.stdout.readline()) for proc in py_uses]
    remember_stack(sandbox)
    assert all("pid" in lease for lease in leases), leases

    # One process per name, whoever asked first.
    for name in ("api", "cache", "db"):
        assert len(started_pids(sandbox, name)) == 1, (name, started_pids(sandbox, name))
    api, cache, db = (sharedserver.status(n) for n in ("api", "cache", "db"))
    assert {lease["pid"] for lease in leases} == {api.pid}
    assert "both ports answer" in (sandbox.dir / "api.log").read_text()
    # The edges both ways; each dependency is held by its dependents' watchers only.
    assert api.depends_on == ("cache", "db") and api.needed_by == ()
    assert cache.depends_on == ("db",) and cache.needed_by == ("api",)
    assert db.depends_on == () and db.needed_by == ("api", "cache")
    assert [c.pid for c in cache.clients] == [api.watcher_pid]
    assert sorted(c.pid for c in db.clients) == sorted([api.watcher_pid, cache.watcher_pid])
    listed = {s["name"]: s for s in json.loads(cli(sandbox, tmp_path, "list", "--json").stdout)}
    assert listed["db"]["needed_by"] == ["api", "cache"] and listed["api"]["depends_on"] == ["cache", "db"]
    text = cli(sandbox, tmp_path, "info", "cache").stdout
    assert "depends on:" in text and "needed by:" in text

    # The top's clients go: it stops after its grace, then each dependency
    # after its own, top first.
    for h in holders:
        h.kill()
        h.wait()
    for proc in py_uses:
        proc.stdin.close()
        proc.wait(timeout=10)
    wait_until(lambda: exited_at(sandbox, "db") is not None, timeout=30, what="the whole stack to stop")
    api_at, cache_at, db_at = (exited_at(sandbox, n) for n in ("api", "cache", "db"))
    assert api_at < cache_at < db_at
    # Each waited out its own grace (1s) after the one above let go.
    assert cache_at - api_at >= 900 and db_at - cache_at >= 900, (api_at, cache_at, db_at)
    # A watcher writes the exit, then ends.
    wait_until(lambda: not sandbox._watchers(), timeout=10, what="every watcher to end")


def test_a_dependency_stays_while_its_dependent_runs_and_its_watcher_holds_it(sandbox, tmp_path):
    write_project(tmp_path, {"db": stack("0s")["db"],
                             "api": {"command": ["sleep", "1000"], "idle_timeout": "5m", "depends_on": ["db"],
                                     "restart": "always"}})
    holder = sandbox.sleeper()
    assert cli(sandbox, tmp_path, "use", "--pid", holder.pid, "api").returncode == 0
    remember_stack(sandbox, ("api", "db"))
    db = sharedserver.status("db")
    api = sharedserver.status("api")
    # Its grace is 0s: only the dependent's reference keeps it.
    assert db.running and [c.pid for c in db.clients] == [api.watcher_pid]
    # A restart of the dependent keeps the reference.
    os.kill(api.pid, signal.SIGKILL)
    wait_until(lambda: sharedserver.status("api").pid not in (None, api.pid) and sharedserver.status("api").running,
               timeout=15, what="api to be restarted")
    assert sharedserver.status("db").pid == db.pid and sharedserver.status("db").needed_by == ("api",)
    # Its watcher dies: the dependency's watcher drops the reference as for any client.
    os.kill(api.watcher_pid, signal.SIGKILL)
    wait_until(lambda: not sharedserver.status("db").running, timeout=15, what="db to stop once nothing holds it")


@pytest.mark.parametrize("servers, message", [
    ({"api": {"command": ["sleep", "1000"], "depends_on": ["worker"]},
      "worker": {"command": ["sleep", "1000"], "depends_on": ["api"]}}, "api \u2192 worker \u2192 api"),
    ({"api": {"command": ["sleep", "1000"], "depends_on": ["db"]},
      "db": {"command": ["sleep", "1000"], "depends_on": ["ghost"]}}, "\"ghost\" (api \u2192 db \u2192 ghost)"),
])
def test_a_cycle_or_an_unknown_name_is_refused_with_the_chain_and_nothing_starts(sandbox, tmp_path, servers,
                                                                                 message):
    write_project(tmp_path, servers)
    holder = sandbox.sleeper()
    result = cli(sandbox, tmp_path, "use", "--pid", holder.pid, "api")
    assert result.returncode != 0 and message in result.stderr and len(result.stderr.splitlines()) == 1
    python = py_client(sandbox, tmp_path, "api")
    answer = json.loads(python.stdout.readline())
    assert message in answer["error"]
    assert not list(sandbox.dir.glob("*.server.json")) and not sandbox._watchers()


def test_a_dependency_that_fails_readiness_leaves_nothing_of_the_use_running(sandbox, tmp_path):
    write_project(tmp_path, {
        "db": stack("1s")["db"],
        "broken": {"command": ["sh", "-c", "echo cannot open data; exit 3"], "ready": {"port": 9},
                   "depends_on": ["db"]},
        "api": {"command": ["sleep", "1000"], "depends_on": ["broken"]},
    })
    holder = sandbox.sleeper()
    result = cli(sandbox, tmp_path, "use", "--pid", holder.pid, "api")
    assert result.returncode != 0
    assert "api \u2192 broken: server \"broken\" exited with code 3 while starting" in result.stderr
    assert started_pids(sandbox, "api") == [] and not sharedserver.status("broken").running
    # The dependency this use started is released: its own grace applies.
    # The use's own reference goes before it returns; broken's watcher lets
    # go of its reference as it exits, which may be just after the use has
    # seen the failure (a known window, see the closing note of this stop).
    sandbox.remember("db")
    wait_until(lambda: sharedserver.status("db").refcount == 0, timeout=10, what="broken's watcher to let go of db")
    assert sharedserver.status("db").state in (sharedserver.State.GRACE, sharedserver.State.STOPPED)
    wait_until(lambda: not list(sandbox.dir.glob("*.server.json")) and not sandbox._watchers(), timeout=15,
               what="nothing left running")


def test_with_uses_the_whole_stack_from_the_project_file(sandbox, tmp_path):
    write_project(tmp_path, stack("300ms"))
    result = cli(sandbox, tmp_path, "with", "api", "--", "sh", "-c", "echo api on $SHAREDSERVER_API_PID")
    remember_stack(sandbox)
    assert result.returncode == 0, result.stderr
    assert "api on " in result.stdout
    # api reached both of its dependencies through the ports it was given.
    assert "both ports answer" in (sandbox.dir / "api.log").read_text()
    for name in ("api", "cache", "db"):
        assert len(started_pids(sandbox, name)) == 1, name
    wait_until(lambda: exited_at(sandbox, "db") is not None, timeout=30, what="the stack to wind down")
    wait_until(lambda: not sandbox._watchers(), timeout=10, what="every watcher to end")


# A Python client in another directory, naming the file and overriding a key.
PY_CONFIG_CLIENT = (
    "import sys, sharedserver\n"
    "lease = sharedserver.use('api', config=sys.argv[1], grace_period='2s')\n"
    "print(lease.pid, flush=True)\n"
    "sys.stdin.read()\n"
)


def test_a_stack_in_a_file_named_by_config_is_used_from_any_directory(sandbox, tmp_path):
    # The client lays its own options over the file's definition: the names
    # in depends_on must still be looked up in that file, not in the
    # directory the client runs in (which has no project file).
    (tmp_path / "proj").mkdir()
    (tmp_path / "elsewhere").mkdir()
    config = tmp_path / "proj" / "stack.json"
    config.write_text(json.dumps({"servers": stack("300ms")}))
    holder = sandbox.sleeper()
    result = cli(sandbox, tmp_path / "elsewhere", "use", "--config", config, "--grace-period", "1s", "--pid",
                 holder.pid, "api")
    remember_stack(sandbox)
    assert result.returncode == 0, result.stderr
    python = subprocess.Popen([PYTHON, "-c", PY_CONFIG_CLIENT, str(config)], cwd=tmp_path / "elsewhere",
                              env=sandbox.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    sandbox.procs.append(python)
    assert int(python.stdout.readline()) == sharedserver.status("api").pid
    for name in ("api", "cache", "db"):
        assert len(started_pids(sandbox, name)) == 1, name
    assert sharedserver.status("db").needed_by == ("api", "cache")
    python.stdin.close()
    python.wait(timeout=10)
