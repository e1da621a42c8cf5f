"""sharedserver.up()/down() (issue 17): the library's profiles, from Python,
agreeing with the CLI on what up takes and down releases."""

import json
import subprocess

import pytest

from py_support import BUILD

import sharedserver

CLI = BUILD / "cli" / "sharedserver"

CONFIG = {
    "servers": {"db": {"command": "sleep", "args": ["1000"], "gracePeriod": "10m", "colour": "red"},
                "mcp": {"command": "sleep", "args": ["1001"], "skipIfEnv": "SHAREDSERVER_TEST_MCP_URL"},
                "editor": {"command": "sleep", "args": ["1002"], "gracePeriod": "10m"}},
    "profiles": {"claude": ["mcp"], "neovim": ["editor"]},
}


@pytest.fixture
def config(tmp_path, monkeypatch):
    path = tmp_path / ".sharedserver.json"
    path.write_text(json.dumps(CONFIG))
    monkeypatch.setenv("SHAREDSERVER_TEST_MCP_URL", "http://elsewhere/")
    return path


def test_up_reports_each_server_and_the_cli_s_down_releases_what_python_took(sandbox, config):
    client = sandbox.sleeper()
    report = sharedserver.up("neovim", pid=client.pid, cwd=config.parent)
    assert {s["name"]: s["outcome"] for s in report["servers"]} == {"db": "started", "editor": "started"}
    assert (report["started"], report["failed"]) == (2, 0)
    assert report["warnings"] == [".sharedserver.json: servers.db.colour: unknown option, ignored"]
    for name in ("db", "editor"):
        assert [c.pid for c in sandbox.remember(name).clients] == [client.pid]
    down = subprocess.run([str(CLI), "down", "--profile", "neovim", "--pid", str(client.pid)], env=sandbox.env,
                          capture_output=True, text=True, timeout=30)
    assert down.stdout == "profile 'neovim': released 2\n", down.stderr
    assert sharedserver.status("db").state == sharedserver.State.GRACE


def test_down_from_python_releases_what_the_cli_s_up_took(sandbox, config):
    client = sandbox.sleeper()
    up = subprocess.run([str(CLI), "up", "--profile", "claude", "--pid", str(client.pid), "--cwd", str(config.parent)],
                        env=dict(sandbox.env, SHAREDSERVER_TEST_MCP_URL=""), capture_output=True, text=True, timeout=30)
    assert up.stdout == "profile 'claude': started 2\n", up.stderr
    for name in ("db", "mcp"):
        sandbox.remember(name)
    report = sharedserver.down("claude", pid=client.pid)
    assert {s["name"]: s["outcome"] for s in report["servers"]} == {"db": "released", "mcp": "released"}
    assert sharedserver.status("mcp").state == sharedserver.State.GRACE


def test_skip_if_env_and_the_project_s_warnings(sandbox, config):
    report = sharedserver.up("claude", config=config)
    outcomes = {s["name"]: (s["outcome"], s.get("reason", "")) for s in report["servers"]}
    assert outcomes["mcp"] == ("skipped", "$SHAREDSERVER_TEST_MCP_URL is set: another host runs it")
    sandbox.remember("db")
    assert sharedserver.Project(config).warnings == [".sharedserver.json: servers.db.colour: unknown option, ignored"]
    assert sharedserver.down("claude")["released"] == 1


def test_up_without_a_config_raises(sandbox, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("SHAREDSERVER_CONFIG", raising=False)
    with pytest.raises(sharedserver.NotFoundError):
        sharedserver.up("claude", cwd=tmp_path)
