"""Project files (sharedserver.json), log_tail and drift between the definition
asked for and the one a server runs with."""

import json
import os
import warnings

import pytest
from py_support import PYTHON, SLEEP, pid_alive, wait_until

import sharedserver
from sharedserver import State

# Prints a line, then sleeps: a server whose log has known content.
ECHO_SLEEP = [PYTHON, "-c", "import sys, time; print(sys.argv[1], flush=True); time.sleep(1000)"]


def write_project(directory, servers):
    path = directory / "sharedserver.json"
    path.write_text(json.dumps({"servers": servers}))
    return path


@pytest.fixture
def project_dir(tmp_path, monkeypatch):
    """A project with a sharedserver.json, the test running in a subdirectory of it."""
    monkeypatch.delenv("SHAREDSERVER_CONFIG", raising=False)
    root = tmp_path / "proj"
    sub = root / "src" / "deep"
    sub.mkdir(parents=True)
    write_project(root, {
        "echo": {"command": ECHO_SLEEP[0], "args": [*ECHO_SLEEP[1:], "from-project"],
                 "idle_timeout": "30m", "env": {"FROM_FILE": "1"}},
        "later": {"command": "sleep", "args": ["1000"], "lazy": True},
    })
    monkeypatch.chdir(sub)
    return root


def test_use_without_a_command_takes_the_definition_from_the_project_found_walking_up(sandbox, project_dir):
    with sharedserver.use("echo") as lease:
        sandbox.remember("echo")
        assert lease.started
        info = sharedserver.status("echo")
        assert info.command == (*ECHO_SLEEP, "from-project")
        assert info.grace_period.total_seconds() == 30 * 60
        assert info.env.get("FROM_FILE") == "1"
        wait_until(lambda: "from-project" in lease.log_tail(), what="the server's first line")


def test_keyword_arguments_override_the_project_values(sandbox, project_dir):
    with sharedserver.use("echo", grace_period="90s", env={"EXTRA": "2"}, metadata="kw") as lease:
        sandbox.remember("echo")
        info = sharedserver.status("echo")
        assert info.grace_period.total_seconds() == 90
        assert info.command == (*ECHO_SLEEP, "from-project")
        assert info.env.get("FROM_FILE") == "1" and info.env.get("EXTRA") == "2"
        assert info.clients[0].metadata == "kw"
        assert lease.pid == info.pid


def test_values_not_given_as_arguments_keep_the_project_files(sandbox, tmp_path, monkeypatch):
    # on_mismatch and log_max_size once always replaced the file's values with
    # Python's defaults ("warn", the library's 10M), given or not.
    path = write_project(tmp_path, {"strict": {"command": ["sleep", "1000"], "on_mismatch": "error",
                                               "log_max_size": "1K", "idle_timeout": "0s"}})
    monkeypatch.chdir(tmp_path)
    with sharedserver.use("strict", config=path):
        sandbox.remember("strict")
        assert json.loads(sharedserver.status("strict").json)["log_max_size"] == 1024
        with pytest.raises(sharedserver.AlreadyRunningError, match=r"env is \[\], asked \[OTHER=1\]"):
            sharedserver.use("strict", config=path, env={"OTHER": "1"})
        with pytest.warns(sharedserver.DefinitionMismatchWarning):
            sharedserver.use("strict", config=path, env={"OTHER": "1"}, on_mismatch="warn").release()


def test_project_exposes_path_names_lazy_and_defines(project_dir):
    found = sharedserver.project()
    assert found is not None
    assert found.path == str(project_dir / "sharedserver.json")
    assert found.names == ["echo", "later"]
    assert found.defines("echo") and "later" in found and not found.defines("nope")
    assert found.lazy("later") and not found.lazy("echo")
    assert sharedserver.Project(start_dir=project_dir).path == found.path
    assert sharedserver.Project(project_dir / "sharedserver.json").names == ["echo", "later"]


def test_the_config_argument_and_environment_name_the_file(sandbox, tmp_path, monkeypatch):
    monkeypatch.delenv("SHAREDSERVER_CONFIG", raising=False)
    other = tmp_path / "elsewhere"
    other.mkdir()
    path = write_project(other, {"cfg": {"command": "sleep", "args": ["1001"]}})
    monkeypatch.chdir(tmp_path)
    with sharedserver.use("cfg", config=path):
        sandbox.remember("cfg")
        assert sharedserver.status("cfg").command == ("sleep", "1001")
    monkeypatch.setenv("SHAREDSERVER_CONFIG", str(path))
    assert sharedserver.project().path == str(path)


def test_a_wrong_project_file_raises_invalid_argument_naming_file_server_and_key(sandbox, tmp_path, monkeypatch):
    monkeypatch.delenv("SHAREDSERVER_CONFIG", raising=False)
    write_project(tmp_path, {"redis": {"command": "redis-server", "idle_timeout": "5x"}})
    monkeypatch.chdir(tmp_path)
    expected = 'sharedserver.json: servers.redis.idle_timeout: "5x" is not a duration'
    with pytest.raises(sharedserver.InvalidArgumentError, match='servers.redis.idle_timeout: "5x"') as error:
        sharedserver.Project()
    assert expected in str(error.value)
    with pytest.raises(ValueError, match="is not a duration"):
        sharedserver.use("redis")
    with pytest.raises(sharedserver.InvalidArgumentError):
        sharedserver.project()


def test_no_project_file_gives_none_or_not_found(sandbox, tmp_path, monkeypatch):
    monkeypatch.delenv("SHAREDSERVER_CONFIG", raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.chdir(empty)
    if sharedserver.project() is not None:  # a sharedserver.json above the temp dir
        pytest.skip("a sharedserver.json exists above the temporary directory")
    with pytest.raises(sharedserver.NotFoundError) as error:
        sharedserver.Project()
    assert error.value.code == -11
    assert isinstance(error.value, LookupError) and isinstance(error.value, sharedserver.Error)
    # A file named explicitly that does not exist is a bad argument, naming it.
    with pytest.raises(sharedserver.InvalidArgumentError, match="does not exist"):
        sharedserver.use("redis", config=empty / "sharedserver.json")
    # Without a project, use() without a command only attaches, as before.
    with pytest.raises(sharedserver.NotRunningError):
        sharedserver.use("redis")


def test_a_name_the_named_project_does_not_define_raises_not_found(sandbox, project_dir):
    with pytest.raises(sharedserver.NotFoundError, match="nope"):
        sharedserver.use("nope", config=project_dir / "sharedserver.json")
    # A project found by walking up that lacks the name: attach only.
    with pytest.raises(sharedserver.NotRunningError):
        sharedserver.use("nope")


def test_log_tail_of_a_lease_and_by_name(sandbox):
    command = [PYTHON, "-c", "import time\nfor i in range(30): print('line', i, flush=True)\ntime.sleep(1000)"]
    with sharedserver.use("tail", command) as lease:
        sandbox.remember("tail")
        wait_until(lambda: "line 29" in lease.log_tail(), what="all 30 lines")
        assert lease.log_tail(3) == "line 27\nline 28\nline 29\n"
        assert sharedserver.log_tail("tail", 2) == "line 28\nline 29\n"
        assert lease.log_tail().count("\n") == 20


def test_attaching_with_another_command_warns_about_the_drift(sandbox):
    with sharedserver.use("drift", SLEEP):
        sandbox.remember("drift")
        with pytest.warns(sharedserver.DefinitionMismatchWarning) as record:
            other = sharedserver.use("drift", ["sleep", "999"])
        other.release()
    message = str(record[0].message)
    assert message.startswith('sharedserver: "drift" runs with a different definition than asked: ')
    assert "sleep 999" in message
    assert record[0].filename == __file__
    assert issubclass(sharedserver.DefinitionMismatchWarning, UserWarning)


def test_the_same_definition_does_not_warn(sandbox):
    with sharedserver.use("same", SLEEP):
        sandbox.remember("same")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with sharedserver.use("same", SLEEP) as again:
                assert again.mismatch is None


def test_on_mismatch_error_raises_already_running_naming_what_differs(sandbox):
    with sharedserver.use("strict", SLEEP) as first:
        sandbox.remember("strict")
        with pytest.raises(sharedserver.AlreadyRunningError, match="command") as error:
            sharedserver.use("strict", ["sleep", "999"], on_mismatch="error")
        assert "sleep 999" in str(error.value)
        info = sharedserver.status("strict")
        assert info.pid == first.pid and info.refcount == 1


def test_on_mismatch_restart_runs_the_new_command_under_a_new_pid(sandbox):
    other, first = sandbox.client("swap", SLEEP)
    sandbox.remember("swap")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = sharedserver.use("swap", ["sleep", "999"], on_mismatch="restart")
    with second:
        sandbox.server_pids.add(second.pid)
        sandbox.remember("swap")
        assert second.pid != first["pid"]
        info = sharedserver.status("swap")
        assert info.pid == second.pid and info.command == ("sleep", "999")
        # The other process stays attached to the restarted server.
        assert info.state is State.ACTIVE
        assert sorted(c.pid for c in info.clients) == sorted([other.pid, os.getpid()])
        wait_until(lambda: not pid_alive(first["pid"]), what="the old server to exit")


def test_keyword_arguments_are_checked_by_the_library_and_name_their_key(sandbox):
    # The library reads keyword arguments as it reads a project file: the
    # same rules, messages and key names (Error.key).
    for kwargs, key in [({"on_mismatch": "ignore"}, "on_mismatch"), ({"log_max_size": -1}, "log_max_size"),
                        ({"log_max_size": "ten"}, "log_max_size"), ({"max_restarts": 5000}, "max_restarts"),
                        ({"port": 70000}, "port"), ({"restart": "sometimes"}, "restart"),
                        ({"grace_period": "5x"}, "grace_period"), ({"env": {"A=B": "c"}}, "env"),
                        ({"ready": sharedserver.Ready.port(), "ready_timeout": "0s"}, "ready.timeout"),
                        ({"ready_timeout": "5s"}, "ready")]:
        with pytest.raises(sharedserver.InvalidArgumentError) as caught:
            sharedserver.use("bad", SLEEP, **kwargs)
        assert caught.value.key == key, kwargs
        assert str(caught.value).startswith(key + ": "), str(caught.value)
    # Sizes are given as the project file gives them, in bytes or as text.
    with sharedserver.use("sized", SLEEP, log_max_size="10M", grace_period="0s") as lease:
        assert json.loads(sharedserver.status("sized").json)["log_max_size"] == 10 * 1024 * 1024
    assert lease.released
    assert sharedserver.check("bad") is State.STOPPED


def test_a_nul_byte_is_refused_by_the_library_not_cut_off(sandbox):
    with pytest.raises(sharedserver.InvalidArgumentError, match="NUL") as caught:
        sharedserver.use("nul", ["sleep", "1000\x00; rm -rf ~"])
    assert caught.value.key == "command"
    assert sharedserver.check("nul") is State.STOPPED


def test_log_max_size_rotates_the_log(sandbox, tmp_path):
    log = tmp_path / "big.log"
    command = [PYTHON, "-c", "import time\nfor i in range(2000): print('x' * 99, flush=True)\ntime.sleep(1000)"]
    with sharedserver.use("big", command, log_file=log, log_max_size=10_000):
        sandbox.remember("big")
        wait_until(lambda: os.path.exists(f"{log}.1"), timeout=10, what="the rotated log")
        # Rotated by its pump before it passes the cap; absent for a moment after each rename.
        def small():
            try:
                return log.stat().st_size <= 10_000
            except FileNotFoundError:
                return False
        wait_until(small, timeout=10, what="the log to stay small")


def test_a_liveness_probe_from_the_project_file_or_a_keyword_argument_is_kept(sandbox, tmp_path):
    # Once refused from Python: its old options struct had no field for it.
    path = write_project(tmp_path, {"api": {"command": "sleep", "args": ["1000"], "idle_timeout": "0s",
                                            "liveness": {"cmd": "true", "interval": "1s"}}})
    with sharedserver.use("api", config=path):
        sandbox.remember("api")
        assert json.loads(sharedserver.status("api").json)["liveness"]["interval"] == "1s"
    with sharedserver.use("kw", ["sleep", "1000"], grace_period="0s", liveness={"cmd": "true", "failures": 5}):
        sandbox.remember("kw")
        assert json.loads(sharedserver.status("kw").json)["liveness"]["failures"] == 5
    with pytest.raises(sharedserver.InvalidArgumentError) as refused:
        sharedserver.use("bad", ["sleep", "1000"], liveness={"log": "ready"})
    assert refused.value.key == "liveness.log"
    assert sharedserver.check("bad") is State.STOPPED
