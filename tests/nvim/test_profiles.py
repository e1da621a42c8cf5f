"""setup({ profile = ... }), :ServerUp and :ServerDown (issue 17): the library's
up/down from Neovim, taking and releasing what the CLI would."""

import json
import subprocess

from conftest import BUILD, wait_for

CONFIG = {
    "servers": {"both": {"command": "sleep", "args": ["1010"], "gracePeriod": "10m"},
                "nv": {"command": "sleep", "args": ["1011"], "gracePeriod": "10m", "colour": "red"},
                "cl": {"command": "sleep", "args": ["1012"], "gracePeriod": "10m"}},
    "profiles": {"neovim": ["nv"], "claude": ["cl"]},
}


def write_config(ss):
    (ss.root / ".sharedserver.json").write_text(json.dumps(CONFIG))


def test_setup_profile_brings_up_that_profile_and_leaving_releases_it(ss):
    write_config(ss)
    a = ss.nvim("require('sharedserver').setup({ profile = 'neovim' })\n")
    wait_for(lambda: ss.record("nv") and ss.record("both"), what="the profile's servers")
    assert ss.record("cl") is None
    assert ss.info("nv")["clients"] == [a.pid] and ss.info("both")["clients"] == [a.pid]
    wait_for(lambda: any("profile 'neovim': started 2" in m for m, _ in a.notes()), what="the summary")
    assert any("servers.nv.colour: unknown option, ignored" in m for m, _ in a.notes())
    a.quit()
    for name in ("nv", "both"):
        assert ss.info(name)["refcount"] == 0 and ss.info(name)["state"] == "grace"


def test_server_up_takes_one_profile_and_the_cli_s_down_releases_it(ss):
    write_config(ss)
    a = ss.nvim("require('sharedserver').setup({ project = false })\n")
    a.lua("vim.cmd('ServerUp claude')")
    assert ss.info("cl")["clients"] == [a.pid] and ss.info("both")["clients"] == [a.pid]
    assert ss.record("nv") is None
    down = subprocess.run([str(BUILD / "cli" / "sharedserver"), "down", "--profile", "claude", "--pid", str(a.pid)],
                          env=ss.env, capture_output=True, text=True, timeout=30)
    assert down.stdout == "profile 'claude': released 2\n", down.stderr
    assert ss.info("cl")["refcount"] == 0 and ss.info("both")["refcount"] == 0


def test_server_down_releases_what_server_up_took(ss):
    write_config(ss)
    a = ss.nvim("require('sharedserver').setup({ project = false })\n")
    a.lua("vim.cmd('ServerUp neovim')")
    assert ss.info("nv")["clients"] == [a.pid]
    a.lua("vim.cmd('ServerDown neovim')")
    assert ss.info("nv")["refcount"] == 0 and ss.info("both")["refcount"] == 0
    assert ss.info("nv")["state"] == "grace"


def test_without_a_profile_neovim_registers_only_the_servers_no_profile_lists(ss):
    # A server a profile lists belongs to that profile's host (an agent's
    # MCP server must not start with every editor); one whose skipIfEnv
    # variable is set runs elsewhere.
    config = json.loads(json.dumps(CONFIG))
    config["servers"]["elsewhere"] = {"command": "sleep", "args": ["1013"], "skipIfEnv": "ELSEWHERE_URL"}
    (ss.root / ".sharedserver.json").write_text(json.dumps(config))
    ss.env["ELSEWHERE_URL"] = "http://127.0.0.1:1"
    a = ss.nvim("require('sharedserver').setup()\n")
    wait_for(lambda: a.status("both").get("running"), what="the server no profile lists")
    assert a.lua("return require('sharedserver').list()") == ["both"]
    assert ss.record("nv") is None and ss.record("cl") is None and ss.record("elsewhere") is None
