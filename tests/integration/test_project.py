"""Project files and `sharedserver with` (issue 6), from the CLI."""

import json
import os
import signal
import subprocess
import time

import pytest

from conftest import CLI, pid_alive, wait_until


def write_project(directory, servers):
    path = directory / "sharedserver.json"
    path.write_text(json.dumps({"servers": servers}))
    return path


def run_in(sandbox, cwd, *args, check=True):
    result = subprocess.run([str(CLI), *map(str, args)], cwd=cwd, capture_output=True, text=True, env=sandbox.env,
                            stdin=subprocess.DEVNULL, timeout=30)
    if check and result.returncode != 0:
        raise AssertionError(f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def test_use_takes_the_definition_from_the_project_file_found_walking_up(sandbox, tmp_path):
    (tmp_path / "data").mkdir()
    write_project(tmp_path, {"db": {"command": "sleep", "args": ["1000"], "working_dir": "data", "idle_timeout": "90s",
                                    "env": {"MODE": "dev"}}})
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    client = sandbox.client()
    assert run_in(sandbox, deep, "use", "--pid", client.pid, "db").stdout.startswith("started db")
    info = sandbox.info("db")
    assert info["command"] == ["sleep", "1000"]
    assert info["working_dir"] == str(tmp_path / "data")
    assert info["grace_period"] == "1m30s" and info["env"] == ["MODE=dev"]


def test_config_option_and_environment_name_the_file(sandbox, tmp_path):
    path = write_project(tmp_path, {"x": {"command": "sleep", "args": ["1000"]}})
    client = sandbox.client()
    run_in(sandbox, "/", "--config", path, "use", "--pid", client.pid, "x")
    assert sandbox.info("x")["state"] == "active"
    env_run = subprocess.run([str(CLI), "list"], cwd="/", capture_output=True, text=True,
                             env=dict(sandbox.env, SHAREDSERVER_CONFIG=str(path)))
    assert "x *" in env_run.stdout
    missing = run_in(sandbox, "/", "--config", tmp_path / "nope.json", "list", check=False)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_command_line_options_override_the_file(sandbox, tmp_path):
    write_project(tmp_path, {"db": {"command": "sleep", "args": ["1000"], "idle_timeout": "90s"}})
    client = sandbox.client()
    run_in(sandbox, tmp_path, "use", "--pid", client.pid, "--grace-period", "5s", "db")
    assert sandbox.info("db")["grace_period"] == "5s"


def test_flags_replace_the_files_keys_one_by_one(sandbox, tmp_path):
    write_project(tmp_path, {"db": {"command": "sleep", "args": ["1000"], "env": {"A": "1", "B": "file"},
                                    "ready": {"port": 1, "timeout": "7s"}, "restart": "always"}})
    client = sandbox.client()
    run_in(sandbox, tmp_path, "use", "--pid", client.pid, "--env", "B=flag", "--ready-cmd", "true", "db")
    info = sandbox.info("db")
    assert {"A=1", "B=flag"} <= set(info["env"]) and "B=file" not in info["env"]
    assert info["ready"] == "command `true`" and info["restart"] == "always"


def test_a_probe_timing_without_a_probe_is_refused(sandbox):
    result = sandbox.run("use", "--ready-timeout", "5s", "t", "--", "sleep", "1000", check=False)
    assert result.returncode == 2
    assert result.stderr == ("sharedserver: --ready-timeout: there is no readiness probe to time: add --ready-port, "
                             "--ready-socket, --ready-http, --ready-cmd or --ready-log\n")
    assert list(sandbox.dir.iterdir()) == []


@pytest.mark.parametrize("servers, message", [
    ({"redis": {"command": "redis-server", "idle_timeout": "5x"}},
     'sharedserver.json: servers.redis.idle_timeout: "5x" is not a duration'),
    ({"redis": {"args": ["x"]}}, "sharedserver.json: servers.redis.command: missing"),
    ({"redis": {"command": "r", "port": 70000}}, "sharedserver.json: servers.redis.port: 70000 is not a port"),
    ({"redis": {"command": "r", "args": "x"}}, "sharedserver.json: servers.redis.args: expected a list of strings"),
    ({"redis": {"command": "r", "ready": {"port": 1, "http": "http://x/"}}},
     "sharedserver.json: servers.redis.ready: give exactly one of"),
    ({"../x": {"command": "r"}}, 'sharedserver.json: servers.../x: invalid server name "../x"'),
])
def test_project_file_errors_name_the_file_the_server_and_the_key(sandbox, tmp_path, servers, message):
    write_project(tmp_path, servers)
    result = run_in(sandbox, tmp_path, "use", "redis", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("sharedserver: " + message), result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert list(sandbox.dir.iterdir()) == []


def test_an_unknown_key_is_one_warning_naming_the_file_and_the_key_not_an_error(sandbox, tmp_path):
    write_project(tmp_path, {"redis": {"command": "sleep", "args": ["1000"], "colour": "red"}})
    client = sandbox.client()
    result = run_in(sandbox, tmp_path, "use", "--pid", client.pid, "redis")
    assert result.stdout.startswith("started redis")
    assert result.stderr == "sharedserver: warning: sharedserver.json: servers.redis.colour: unknown option, ignored\n"


def test_a_file_that_is_not_json(sandbox, tmp_path):
    (tmp_path / "sharedserver.json").write_text("{oops")
    result = run_in(sandbox, tmp_path, "list", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("sharedserver: sharedserver.json: not valid JSON")


def test_list_marks_the_servers_of_the_project_and_shows_stopped_ones(sandbox, tmp_path):
    write_project(tmp_path, {"a": {"command": "sleep", "args": ["1000"]}, "b": {"command": "sleep", "args": ["1000"]}})
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "other", "--", "sleep", "1000")
    run_in(sandbox, tmp_path, "use", "--pid", client.pid, "a")
    lines = run_in(sandbox, tmp_path, "list").stdout.splitlines()
    assert lines[1].startswith("a *") and "active" in lines[1]
    assert lines[2].startswith("b *") and "stopped" in lines[2]
    assert lines[3].startswith("other ") and "*" not in lines[3].split()[0:2]
    assert lines[-1] == "* defined in sharedserver.json"


def test_list_names_the_config_file_that_defines_the_marked_servers(sandbox, tmp_path):
    (tmp_path / ".sharedserver.json").write_text(json.dumps({"servers": {"a": {"command": "sleep", "args": ["1000"]}}}))
    assert run_in(sandbox, tmp_path, "list").stdout.splitlines()[-1] == "* defined in .sharedserver.json"
    (tmp_path / "sub").mkdir()
    found_above = run_in(sandbox, tmp_path / "sub", "list").stdout.splitlines()[-1]
    assert found_above == f"* defined in {tmp_path / '.sharedserver.json'}"


def test_with_runs_a_command_holding_servers_and_passes_its_exit_code(sandbox, tmp_path, python):
    write_project(tmp_path, {"web": {"command": python, "args": ["-m", "http.server", "{port}", "--bind", "127.0.0.1"],
                                     "port": "auto", "ready": {"port": True}, "idle_timeout": "0s"},
                             "q": {"command": "sleep", "args": ["1000"], "idle_timeout": "0s"}})
    script = 'echo "$SHAREDSERVER_WEB_PORT $SHAREDSERVER_WEB_PID $SHAREDSERVER_Q_PID"; exit 7'
    result = run_in(sandbox, tmp_path, "with", "web", "q", "--", "sh", "-c", script, check=False)
    assert result.returncode == 7
    port, web_pid, q_pid = map(int, result.stdout.split())
    assert port > 0
    # Both references are gone: with a 0s grace period both servers stop.
    assert wait_until(lambda: not pid_alive(web_pid) and not pid_alive(q_pid), timeout=5)


def test_with_releases_its_references_when_signalled(sandbox, tmp_path):
    write_project(tmp_path, {"s": {"command": "sleep", "args": ["1000"], "idle_timeout": "10m"}})
    proc = subprocess.Popen([str(CLI), "with", "s", "--", "sleep", "1000"], cwd=tmp_path, env=sandbox.env)
    sandbox.pids.append(proc.pid)
    assert wait_until(lambda: (sandbox.dir / "s.clients.json").exists())
    assert sandbox.info("s")["clients"][0]["pid"] == proc.pid
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 128 + signal.SIGTERM
    assert sandbox.info("s")["state"] == "grace"


def test_with_a_command_that_cannot_run(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "s", "--", "sleep", "1000")
    result = sandbox.run("with", "s", "--", "no-such-program-here", check=False)
    assert result.returncode == 127
    assert 'cannot run "no-such-program-here"' in result.stderr
    assert sandbox.info("s")["refcount"] == 1


def test_with_needs_a_command(sandbox):
    result = sandbox.run("with", "s", check=False)
    assert result.returncode == 2
    assert "with needs the command to run after `--`" in result.stderr


def test_the_shipped_json_schema_accepts_what_the_loader_accepts_and_rejects_mistakes(sandbox, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    from conftest import SOURCE_DIR
    schema = json.loads((SOURCE_DIR / "schema" / "sharedserver.schema.json").read_text())
    good = {"servers": {
        "redis": {"command": "redis-server", "args": ["--port", "{port}"], "port": "auto",
                  "ready": {"cmd": "redis-cli -p $SHAREDSERVER_PORT ping", "timeout": "10s"}, "idle_timeout": "30m"},
        "web": {"command": "npm", "args": ["run", "dev"], "working_dir": "frontend", "env": {"NODE_ENV": "development"},
                "restart": {"policy": "on-failure", "max_restarts": 3, "window": "1m"}, "lazy": True},
        "api": {"command": "./api", "port": 8000, "ready": {"http": "http://127.0.0.1:8000/health"}, "restart": "always"},
    }}
    jsonschema.validate(good, schema)
    (tmp_path / "frontend").mkdir()
    write_project(tmp_path, good["servers"])
    assert run_in(sandbox, tmp_path, "list").returncode == 0  # the loader agrees
    for bad in ({"servers": {"r": {"command": "r", "idle_timeout": "5x"}}},
                {"servers": {"r": {"args": []}}},
                {"servers": {"r": {"command": "r", "ready": {"port": 1, "http": "http://x/"}}}},
                {"servers": {"r": {"command": "r", "port": 0}}}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, schema)
        write_project(tmp_path, bad["servers"])
        assert run_in(sandbox, tmp_path, "list", check=False).returncode == 1
    # A typo: the schema (an editor's check) refuses it, the loader warns.
    typo = {"servers": {"r": {"command": "r", "colour": "red"}}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(typo, schema)
    write_project(tmp_path, typo["servers"])
    assert "servers.r.colour: unknown option, ignored" in run_in(sandbox, tmp_path, "list").stderr
    upstream = {"servers": {"db": {"command": "sleep", "args": ["${HOME}"], "gracePeriod": "30m", "logFile": "db.log",
                                   "skipIfEnv": "DB_URL", "metadata": "m", "_scope": "s1"},
                            "watchman": {"lazy": True}},
                "profiles": {"claude": ["db"]}}
    jsonschema.validate(upstream, schema)


def test_drift_warns_by_default_and_names_the_difference(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", a.pid, "--env", "MODE=dev", "drift", "--", "sleep", "1000")
    result = sandbox.run("use", "--pid", b.pid, "drift", "--", "sleep", "2000")
    assert result.stderr == ('sharedserver: warning: "drift" runs with a different definition than asked: '
                             "command is `sleep 1000`, asked `sleep 2000`; env is [MODE=dev], asked []\n")
    assert sandbox.info("drift")["refcount"] == 2


def test_drift_can_be_an_error_that_changes_nothing(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", a.pid, "drift", "--", "sleep", "1000")
    before = (sandbox.dir / "drift.clients.json").read_text()
    result = sandbox.run("use", "--pid", b.pid, "--on-mismatch", "error", "drift", "--", "sleep", "2000", check=False)
    assert result.returncode == 1
    assert result.stderr == ('sharedserver: server "drift" runs with a different definition (command is `sleep 1000`, '
                             "asked `sleep 2000`); stop it first, or ask to restart it on a mismatch\n")
    assert (sandbox.dir / "drift.clients.json").read_text() == before


def test_drift_can_restart_the_server_with_the_new_definition_keeping_clients(sandbox):
    a, b = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", a.pid, "drift", "--", "sleep", "1000")
    old = sandbox.info("drift")["pid"]
    result = sandbox.run("use", "--pid", b.pid, "--on-mismatch", "restart", "drift", "--", "sleep", "2000")
    info = sandbox.info("drift")
    assert info["pid"] != old and not pid_alive(old)
    assert info["command"] == ["sleep", "2000"] and info["refcount"] == 2
    assert result.stderr.startswith('sharedserver: restarted "drift" with the definition asked for')
    assert wait_until(lambda: len(sandbox.watcher_pids()) == 1)
