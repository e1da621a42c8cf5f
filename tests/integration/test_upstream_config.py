"""Upstream's config document, discovery chain, ${VAR} and up/down with
profiles (issue 17), from the CLI, with real files and real servers."""

import json
import os
import subprocess

import pytest

from conftest import CLI, pid_alive, wait_until

UPSTREAM = {
    "servers": {
        "db": {"command": "sleep", "args": ["1000"], "gracePeriod": "1s",
               "env": {"DATA": "${HOME}/data", "KEEP": "${SHAREDSERVER_TEST_UNSET}", "RAW": "$HOME"},
               "futureField": 1},
        "mcp": {"command": "sleep", "args": ["1001"], "skipIfEnv": "MCP_URL"},
        "watchman": {"lazy": True},
        "editor-only": {"command": "sleep", "args": ["1002"]},
    },
    "profiles": {"claude": ["db", "mcp"], "neovim": ["editor-only"]},
}
DECOY = {"servers": {"decoy": {"command": "sleep", "args": ["1003"]}}}


def run(sandbox, *args, cwd="/", env=None, check=True):
    result = subprocess.run([str(CLI), *map(str, args)], cwd=cwd, capture_output=True, text=True,
                            env=env or sandbox.env, stdin=subprocess.DEVNULL, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"{args}: {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def write(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))
    return path


def running(sandbox):
    return {s["name"]: s for s in json.loads(sandbox.run("list", "--json").stdout)}


@pytest.fixture
def home(sandbox, tmp_path):
    """A private $HOME and $XDG_CONFIG_HOME, so the user's files are the test's."""
    env = dict(sandbox.env, HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"), MCP_URL="http://x/")
    env.pop("SHAREDSERVER_CONFIG", None)
    env.pop("SHAREDSERVER_TEST_UNSET", None)
    (tmp_path / "home").mkdir()
    return env


# Every place the loader looks, first to last. A project dir `proj` holds the
# start dir `proj/sub`; `tmp` is proj's parent.
LOCATIONS = ["--config", "$SHAREDSERVER_CONFIG", "proj/sharedserver.json", "proj/.sharedserver.json",
             "proj/.sharedserver/servers.json", "tmp/sharedserver.json", "$XDG_CONFIG_HOME", "~/.config"]


def place(location, tmp_path, env, doc):
    """Writes doc where `location` is looked for; returns the extra arguments that name it."""
    paths = {"--config": tmp_path / "given.json", "$SHAREDSERVER_CONFIG": tmp_path / "from-env.json",
             "proj/sharedserver.json": tmp_path / "proj" / "sharedserver.json",
             "proj/.sharedserver.json": tmp_path / "proj" / ".sharedserver.json",
             "proj/.sharedserver/servers.json": tmp_path / "proj" / ".sharedserver" / "servers.json",
             "tmp/sharedserver.json": tmp_path / "sharedserver.json",
             "$XDG_CONFIG_HOME": tmp_path / "xdg" / "sharedserver" / "servers.json",
             "~/.config": tmp_path / "home" / ".config" / "sharedserver" / "servers.json"}
    path = write(paths[location], doc)
    if location == "--config":
        return path, ["--config", path]
    if location == "$SHAREDSERVER_CONFIG":
        env["SHAREDSERVER_CONFIG"] = str(path)
    return path, []


@pytest.mark.parametrize("location", LOCATIONS)
def test_an_upstream_document_is_found_at_each_step_before_every_later_one(sandbox, tmp_path, home, location):
    (tmp_path / "proj" / "sub").mkdir(parents=True)
    found, args = place(location, tmp_path, home, UPSTREAM)
    for later in LOCATIONS[LOCATIONS.index(location) + 1:]:
        place(later, tmp_path, home, DECOY)
    client = sandbox.client()
    result = run(sandbox, *args, "up", "--profile", "claude", "--pid", client.pid, "--cwd", tmp_path / "proj" / "sub",
                 env=home)
    # db started; mcp skipped ($MCP_URL set: another host runs it); watchman
    # (lazy, in no profile) skipped as not running; editor-only is neovim's.
    assert result.stdout == "profile 'claude': started 1, skipped 2\n"
    assert set(running(sandbox)) == {"db"}
    assert f"warning: {found.name}: servers.db.futureField: unknown option, ignored" in result.stderr \
        or f"warning: .sharedserver/servers.json: servers.db.futureField: unknown option, ignored" in result.stderr
    assert len(result.stderr.splitlines()) == 1, result.stderr
    info = sandbox.info("db")
    assert info["grace_period"] == "1s"
    assert set(info["env"]) == {f"DATA={home['HOME']}/data", "KEEP=${SHAREDSERVER_TEST_UNSET}", "RAW=$HOME"}
    assert [c["pid"] for c in info["clients"]] == [client.pid]


def test_skip_if_env_only_skips_for_a_non_empty_variable(sandbox, tmp_path, home):
    path = write(tmp_path / ".sharedserver.json", UPSTREAM)
    client = sandbox.client()
    home["MCP_URL"] = ""
    result = run(sandbox, "--config", path, "up", "--profile", "claude", "--pid", client.pid, env=home)
    assert result.stdout == "profile 'claude': started 2, skipped 1\n"
    assert set(running(sandbox)) == {"db", "mcp"}


def test_a_lazy_entry_attaches_when_another_host_runs_it(sandbox, tmp_path, home):
    path = write(tmp_path / ".sharedserver.json", UPSTREAM)
    host, client = sandbox.client(), sandbox.client()
    sandbox.run("use", "--pid", host.pid, "watchman", "--", "sleep", "1000")
    report = json.loads(run(sandbox, "--config", path, "up", "--profile", "neovim", "--pid", client.pid, "--json",
                            env=home).stdout)
    outcomes = {s["name"]: s["outcome"] for s in report["servers"]}
    assert outcomes == {"watchman": "attached", "editor-only": "started"}
    assert sandbox.info("watchman")["refcount"] == 2
    assert report["warnings"] == [".sharedserver.json: servers.db.futureField: unknown option, ignored"]


def test_down_releases_what_up_took_even_after_the_config_changed(sandbox, tmp_path, home):
    doc = {"servers": {"a": {"command": "sleep", "args": ["1000"], "gracePeriod": "10m"},
                       "b": {"command": "sleep", "args": ["1001"], "gracePeriod": "10m"}},
           "profiles": {"p": ["a", "b"]}}
    path = write(tmp_path / ".sharedserver.json", doc)
    first, second = sandbox.client(), sandbox.client()
    assert run(sandbox, "--config", path, "up", "--profile", "p", "--pid", first.pid,
               env=home).stdout == "profile 'p': started 2\n"
    assert run(sandbox, "--config", path, "up", "--profile", "p", "--pid", second.pid,
               env=home).stdout == "profile 'p': attached 2\n"
    # The config loses b and gains c: down still releases a and b, nothing else.
    write(path, {"servers": {"a": doc["servers"]["a"], "c": {"command": "sleep", "args": ["1002"]}},
                 "profiles": {"p": ["a", "c"]}})
    assert run(sandbox, "down", "--profile", "p", "--pid", first.pid, env=home).stdout == "profile 'p': released 2\n"
    assert [c["pid"] for c in sandbox.info("a")["clients"]] == [second.pid]
    assert [c["pid"] for c in sandbox.info("b")["clients"]] == [second.pid]
    assert run(sandbox, "down", "--profile", "p", "--pid", second.pid, env=home).stdout == "profile 'p': released 2\n"
    assert sandbox.info("a")["state"] == "grace" and sandbox.info("b")["state"] == "grace"
    assert "c" not in running(sandbox)
    # A second down has nothing left to release.
    assert run(sandbox, "down", "--profile", "p", "--pid", second.pid, env=home).stdout == "profile 'p': nothing to do\n"


def test_a_server_two_profiles_of_one_client_took_is_kept_until_the_last_down(sandbox, tmp_path, home):
    doc = {"servers": {"shared": {"command": "sleep", "args": ["1000"], "gracePeriod": "10m"},
                       "x": {"command": "sleep", "args": ["1001"], "gracePeriod": "10m"}},
           "profiles": {"one": ["x"], "two": []}}
    path = write(tmp_path / ".sharedserver.json", doc)
    client = sandbox.client()
    run(sandbox, "--config", path, "up", "--profile", "one", "--pid", client.pid, env=home)
    run(sandbox, "--config", path, "up", "--profile", "two", "--pid", client.pid, env=home)
    down = json.loads(run(sandbox, "down", "--profile", "one", "--pid", client.pid, "--json", env=home).stdout)
    assert {s["name"]: s["outcome"] for s in down["servers"]} == {"shared": "skipped", "x": "released"}
    assert sandbox.info("shared")["state"] == "active"
    assert run(sandbox, "down", "--profile", "two", "--pid", client.pid, env=home).stdout == "profile 'two': released 1\n"
    assert sandbox.info("shared")["state"] == "grace"


def test_one_failing_server_does_not_stop_the_rest_and_fails_the_command(sandbox, tmp_path, home):
    path = write(tmp_path / ".sharedserver.json", {"servers": {
        "bad": {"command": "/nonexistent/server"}, "good": {"command": "sleep", "args": ["1000"]}}})
    client = sandbox.client()
    result = run(sandbox, "--config", path, "up", "--pid", client.pid, env=home, check=False)
    assert result.returncode == 1
    assert result.stdout == "no profile: started 1, failed 1\n"
    assert result.stderr.startswith("sharedserver: bad: ") and len(result.stderr.splitlines()) == 1
    assert set(running(sandbox)) == {"good"}
    # What failed was not taken: down releases the one that started.
    assert run(sandbox, "down", "--pid", client.pid, env=home).stdout == "no profile: released 1\n"


def test_up_for_a_pid_that_is_not_running_is_refused_and_starts_nothing(sandbox, tmp_path, home):
    path = write(tmp_path / ".sharedserver.json", UPSTREAM)
    gone = subprocess.Popen(["true"])
    gone.wait()
    result = run(sandbox, "--config", path, "up", "--profile", "claude", "--pid", gone.pid, env=home, check=False)
    assert result.returncode == 2
    assert f"client pid {gone.pid} is not a live process" in result.stderr
    assert running(sandbox) == {}


def test_the_client_s_death_drops_what_up_took(sandbox, tmp_path, home):
    path = write(tmp_path / ".sharedserver.json", {"servers": {"s": {"command": "sleep", "args": ["1000"],
                                                                    "gracePeriod": "10m"}}})
    client = sandbox.client()
    run(sandbox, "--config", path, "up", "--pid", client.pid, env=home)
    client.kill()
    client.wait()
    assert wait_until(lambda: sandbox.info("s")["state"] == "grace", timeout=10)
    result = run(sandbox, "down", "--pid", client.pid, env=home)
    assert "nothing left to release" in result.stderr


def test_no_config_is_nothing_to_bring_up(sandbox, tmp_path, home):
    (tmp_path / "empty").mkdir()
    result = run(sandbox, "up", "--profile", "claude", "--cwd", tmp_path / "empty", env=home)
    assert result.returncode == 0 and "nothing to bring up" in result.stderr
    assert running(sandbox) == {}


def test_variables_are_expanded_in_our_own_format_too(sandbox, tmp_path, home):
    write(tmp_path / "sharedserver.json", {"servers": {"web": {
        "command": "sleep", "args": ["1000"], "working_dir": "${HOME}", "env": {"V": "a${HOME}b${}c${1X}"}}}})
    client = sandbox.client()
    run(sandbox, "use", "--pid", client.pid, "web", cwd=tmp_path, env=home)
    info = sandbox.info("web")
    assert info["working_dir"] == home["HOME"]
    assert info["env"] == [f"V=a{home['HOME']}b${{}}c${{1X}}"]


def test_a_commandless_entry_that_is_not_lazy_is_an_error_naming_it(sandbox, tmp_path, home):
    path = write(tmp_path / ".sharedserver.json", {"servers": {"x": {"args": ["1"]}}})
    result = run(sandbox, "--config", path, "up", env=home, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("sharedserver: .sharedserver.json: servers.x.command: missing")


def test_config_verbs_read_the_file_the_library_finds(sandbox, tmp_path, home):
    path = write(tmp_path / "proj" / ".sharedserver" / "servers.json", UPSTREAM)
    (tmp_path / "proj" / "sub").mkdir()
    sub = tmp_path / "proj" / "sub"
    listed = run(sandbox, "config", "list", "--cwd", sub, env=home)
    assert listed.stdout.splitlines() == [
        str(path),
        "  db  profiles: claude  sleep 1000",
        "  editor-only  profiles: neovim  sleep 1002",
        "  mcp  profiles: claude  sleep 1001",
        "  watchman  profiles: (every)  lazy  (attaches only)"]
    assert listed.stderr == ("sharedserver: warning: .sharedserver/servers.json: servers.db.futureField: "
                             "unknown option, ignored\n")
    assert run(sandbox, "config", "validate", env=home, cwd=sub).stdout == f"{path}: 4 servers, 2 profiles, 1 ignored key\n"
    lookup = json.loads(run(sandbox, "config", "lookup", "db", "--cwd", sub, env=home).stdout)
    assert lookup["command"] == ["sleep", "1000"] and lookup["idle_timeout"] == "1s"
    assert lookup["env"]["DATA"] == home["HOME"] + "/data"
    shown = json.loads(run(sandbox, "--config", path, "config", "show", env=home).stdout)
    assert shown["profiles"] == UPSTREAM["profiles"] and shown["servers"]["mcp"]["skip_if_env"] == "MCP_URL"
    missing = run(sandbox, "config", "lookup", "nope", "--cwd", sub, env=home, check=False)
    assert missing.returncode == 1 and f'{path} does not define a server "nope"' in missing.stderr
    write(path, {"servers": {"db": {"command": "sleep", "gracePeriod": "soon"}}})
    bad = run(sandbox, "config", "validate", "--cwd", sub, env=home, check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith('sharedserver: .sharedserver/servers.json: servers.db.gracePeriod: "soon" is not a duration')


def test_register_unregister_and_profile_edits_keep_what_they_do_not_model(sandbox, tmp_path, home):
    path = tmp_path / ".sharedserver.json"
    path.write_text(json.dumps({"$schema": "x", "note": {"kept": True}, "servers": {
        "mine": {"command": "sleep", "args": ["1000"], "futureField": [1, 2]}}, "profiles": {"neovim": []}}))
    first = run(sandbox, "config", "register", "chroma", "--scope", "pluginA", "--profile", "claude", "--cwd", tmp_path,
                "--", "sleep", "1001", env=home)
    assert first.stdout == f"registered chroma in {path}\n"
    doc = json.loads(path.read_text())
    assert doc["note"] == {"kept": True} and doc["servers"]["mine"]["futureField"] == [1, 2]
    assert doc["servers"]["chroma"] == {"command": "sleep", "args": ["1001"], "_scope": "pluginA"}
    assert doc["profiles"] == {"neovim": [], "claude": ["chroma"]}
    # Another scope may not take it (nor a hand-written entry); --if-absent only adds profiles.
    clash = run(sandbox, "config", "register", "chroma", "--scope", "pluginB", "--cwd", tmp_path, "--", "x", env=home,
                check=False)
    assert clash.returncode == 2 and 'registered by scope "pluginA", not "pluginB"' in clash.stderr
    hand = run(sandbox, "config", "register", "mine", "--scope", "pluginB", "--cwd", tmp_path, "--", "x", env=home,
               check=False)
    assert hand.returncode == 2 and "written by hand" in hand.stderr
    kept = run(sandbox, "config", "register", "chroma", "--scope", "pluginB", "--if-absent", "--profile", "pi",
               "--cwd", tmp_path, "--json", '{"command": "other"}', env=home)
    assert kept.stdout.startswith("kept chroma")
    doc = json.loads(path.read_text())
    assert doc["servers"]["chroma"]["command"] == "sleep" and doc["profiles"]["pi"] == ["chroma"]
    bad = run(sandbox, "config", "register", "x", "--scope", "s", "--cwd", tmp_path, "--json", '{"command": "a", "port": 0}',
              env=home, check=False)
    assert bad.returncode == 2 and "x.port: 0 is not a port" in bad.stderr
    assert "x" not in json.loads(path.read_text())["servers"]
    # The registered server is one `up` brings up.
    client = sandbox.client()
    assert run(sandbox, "up", "--profile", "claude", "--pid", client.pid, "--cwd", tmp_path,
               env=home).stdout == "profile 'claude': started 2\n"
    run(sandbox, "config", "profile", "add", "neovim", "mine", "--cwd", tmp_path, env=home)
    run(sandbox, "config", "profile", "remove", "pi", "chroma", "--cwd", tmp_path, env=home)
    doc = json.loads(path.read_text())
    assert doc["profiles"] == {"neovim": ["mine"], "claude": ["chroma"]}
    assert run(sandbox, "config", "unregister", "--scope", "pluginA", "--cwd", tmp_path,
               env=home).stdout == f"removed 1 server from {path}\n"
    doc = json.loads(path.read_text())
    assert set(doc["servers"]) == {"mine"} and doc["profiles"] == {"neovim": ["mine"]}
    assert doc["note"] == {"kept": True} and doc["$schema"] == "x"


def test_register_without_a_config_writes_the_user_s_file(sandbox, tmp_path, home):
    (tmp_path / "empty").mkdir()
    run(sandbox, "config", "register", "db", "--scope", "s", "--cwd", tmp_path / "empty", "--", "sleep", "1000", env=home)
    user = tmp_path / "xdg" / "sharedserver" / "servers.json"
    assert json.loads(user.read_text())["servers"]["db"]["_scope"] == "s"
    assert run(sandbox, "config", "validate", "--cwd", tmp_path / "empty", env=home).stdout == f"{user}: 1 server, 0 profiles\n"


def test_validate_fails_on_a_profile_naming_a_server_the_file_does_not_define(sandbox, tmp_path):
    path = tmp_path / ".sharedserver.json"
    write(path, {"servers": {"a": {"command": "sleep", "args": ["1000"]}}, "profiles": {"p": ["a", "ghost"]}})
    result = run(sandbox, "config", "validate", cwd=tmp_path, check=False)
    assert result.returncode == 1
    assert result.stdout == f"{path}: 1 server, 1 profile, 1 problem\n"
    assert result.stderr == (f'sharedserver: {path}: profiles.p: "ghost" is not a server this file defines; '
                             "define it or remove it from the profile\n")
