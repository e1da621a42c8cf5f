"""The Lua examples of bindings/nvim/README.md and of the vim help
(doc/sharedserver.txt), run as written in real headless Neovims (the ffi one
in plain luajit), so that they stay true.

Each ```lua block of the README and >lua block of the help has a check below;
a new block fails the test until it is given one. The programs the examples name (chroma, llama-server,
opencode) are stand-ins on $PATH that run `sleep`, and $HOME holds
~/src/sharedserver, a link to this checkout, so paths run unchanged.
"""

import json
import os
import re
import stat
import textwrap

import pytest

from conftest import PLUGIN, REPO, wait_for

README = PLUGIN / "README.md"
HELP = PLUGIN / "doc" / "sharedserver.txt"


def readme_blocks():
    text = README.read_text()
    return [m.group(1) for m in re.finditer(r"```lua\n(.*?)```", text, re.S)]


def help_blocks():
    text = HELP.read_text()
    return [textwrap.dedent(m.group(1)) for m in re.finditer(r">lua\n(.*?)\n\s*<\n", text, re.S)]


def fill(block):
    """`{ … }` stands for the reader's servers: none."""
    return block.replace("{ … }", "{}")


def prepare(ss):
    home = ss.root / "home"
    (home / "src").mkdir(parents=True)
    os.symlink(REPO, home / "src" / "sharedserver")
    bin_dir = ss.root / "bin"
    bin_dir.mkdir()
    for program in ("chroma", "llama-server", "opencode", "redis-server"):
        path = bin_dir / program
        path.write_text("#!/bin/sh\nexec sleep 1000\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    ss.env["HOME"] = str(home)
    ss.env["PATH"] = f"{bin_dir}:{ss.env['PATH']}"


def problems(n):
    """Notifications of warning level or worse."""
    return [m for m, level in n.notes() if level >= 3]


def run_lazy_spec(ss, block, plugin_dir):
    """What lazy.nvim does with a spec: init(plugin), then config()."""
    return ss.nvim(
        f"""
        local spec = (function() return {fill(block)} end)()
        _G.SPEC_DIR = spec.dir and vim.loop.fs_realpath(vim.fn.expand(spec.dir))
        local root = _G.SPEC_DIR or {str(plugin_dir)!r}
        _G.SPEC_BUILD = vim.fn.executable(root .. "/" .. spec.build:gsub("^%./", ""))
        if spec.init then spec.init({{ dir = {str(plugin_dir)!r} }}) end
        spec.config()
        """
    )


def check_block_0(ss, block):
    a = run_lazy_spec(ss, block, None)
    assert a.lua("return _G.SPEC_DIR") == str(PLUGIN.resolve())
    assert a.lua("return _G.SPEC_BUILD") == 1
    wait_for(lambda: a.status("chroma").get("running"), what="chroma to start")
    assert problems(a) == []


def check_block_1(ss, block):
    a = run_lazy_spec(ss, block, ss.root / "home" / "src" / "sharedserver")
    assert a.lua("return _G.SPEC_BUILD") == 1
    rtp = a.lua("return vim.opt.rtp:get()")
    assert str(ss.root / "home" / "src" / "sharedserver" / "bindings" / "nvim") in rtp
    assert problems(a) == []


def check_block_2(ss, block):
    a = ss.nvim(fill(block))
    rtp = [os.path.realpath(p) for p in a.lua("return vim.opt.rtp:get()")]
    assert str(PLUGIN.resolve()) in rtp
    assert a.lua("return vim.fn.exists(':ServerStatus')") == 2
    assert problems(a) == []


def check_block_3(ss, block):
    a = ss.nvim(fill(block))
    names = a.lua("return require('sharedserver').list()")
    assert names == ["chroma", "llm", "opencode"], names
    wait_for(lambda: a.status("chroma").get("running"), what="chroma to start")
    wait_for(lambda: a.status("opencode").get("running"), what="the single server to start")
    assert a.status("llm")["running"] is False  # lazy: attached only when it runs
    assert problems(a) == []


def check_block_4(ss, block):
    (ss.root / "sharedserver.json").write_text(
        json.dumps({"servers": {"proj": {"command": "sleep", "args": ["1000"]}}})
    )
    a = ss.nvim(block)
    wait_for(lambda: a.status("proj").get("running"), what="the project's server to start")
    assert problems(a) == []


def check_block_5(ss, block):
    a = ss.nvim('local ss = require("sharedserver")\n' + block)
    port = wait_for(lambda: a.status("web").get("port"), what="web's port")
    wait_for(lambda: f"web is up on {port}" in a.messages(), timeout=20, what="web's on_ready")
    assert problems(a) == []


def check_block_6(ss, block):
    a = ss.nvim(f'require("sharedserver").setup({{ {block} }})')
    assert problems(a) == []


def check_block_7(ss, block):
    """The API summary, with its placeholders bound to one server, each call
    in turn: one given a callback is waited for before the next."""
    a = ss.nvim(
        """
        local function api()
          local real = require("sharedserver")
          local waiting = {}
          for k, fn in pairs(real) do
            waiting[k] = function(n, o)
              if type(o) ~= "table" or not o.callback then
                return fn(n, o)
              end
              local done, cb = false, o.callback
              o.callback = function(...) done = true; return cb(...) end
              local r = fn(n, o)
              vim.wait(15000, function() return done end, 20)
              return r
            end
          end
          return waiting
        end
        _G.run_api = function(code)
          local config = { command = "sleep", args = { "1000" } }
          local env = setmetatable({
            name = "web", opts = {}, config = config, servers = { web = config },
            require = function(m) return m == "sharedserver" and api() or require(m) end,
          }, { __index = _G })
          local chunk = assert(loadstring(code))
          setfenv(chunk, env)
          chunk()
        end
        """
    )
    a.lua("run_api(...)", block)
    wait_for(lambda: a.status("web").get("running"), timeout=10, what="the restarted server")
    # stop(name) after stop(name, { force = true }) finds no reference: a warning
    assert [m for m, level in a.notes() if level >= 4] == []


def check_help_packpath(ss, block):
    a = ss.nvim(block)
    assert a.lua("return vim.opt.packpath:get()")[0] == "/opt/sharedserver/share/nvim/site"


def check_help_lazy_local(ss, block):
    a = run_lazy_spec(ss, block, None)
    assert a.lua("return _G.SPEC_DIR") == str(PLUGIN.resolve())
    assert a.lua("return _G.SPEC_BUILD") == 1
    assert problems(a) == []


def check_help_setup(ss, block):
    a = ss.nvim(block)
    assert a.lua("return require('sharedserver').list()") == ["chroma", "llm"]
    wait_for(lambda: a.status("chroma").get("running"), what="chroma to start")
    assert problems(a) == []


def check_help_ready(ss, block):
    a = ss.nvim(f'require("sharedserver").setup({{ {block} }})')
    port = wait_for(lambda: a.status("web").get("port"), what="web's port")
    wait_for(lambda: f"web is up on port {port}" in a.messages(), timeout=20, what="web's on_ready")
    assert problems(a) == []


def check_live_example(ss, block):
    """The lualine component (lualine itself stood in for) and the ready message."""
    a = ss.nvim(
        """
        package.preload["lualine"] = function()
          return { setup = function(opts) _G.LUALINE = opts end }
        end
        require("sharedserver").setup({ web = { command = "sleep", args = { "1000" } } })
        """
        + block
    )
    pid = wait_for(lambda: a.status("web").get("pid"), what="web to start")
    line = lambda: a.lua("return _G.LUALINE.sections.lualine_x[1]()")  # noqa: E731
    wait_for(lambda: line() == "web●", what="the statusline component")
    a.lua("require('sharedserver').stop('web', { force = true })")
    wait_for(lambda: line() == "web○", what="web stopped in the component")
    a.lua("require('sharedserver').start('web')")
    pid = a.status("web")["pid"]
    wait_for(lambda: f"web is ready (pid {pid})" in a.messages(), what="the ready message")
    assert problems(a) == []


def check_help_ffi(ss, block):
    ss.luajit(block)
    info = ss.info("redis")
    assert info["state"] == "grace"  # its only client, the luajit process, released it


CHECKS = {
    "README": (readme_blocks, [check_block_0, check_block_1, check_block_2, check_block_3,
                               check_block_4, check_block_5, check_block_6, check_block_7, check_live_example]),
    "help": (help_blocks, [check_help_packpath, check_help_lazy_local, check_block_1, check_block_2,
                           check_help_setup, check_help_ready, check_block_6, check_live_example, check_help_ffi]),
}
CASES = [(doc, i) for doc, (_, checks) in CHECKS.items() for i in range(len(checks))]


@pytest.mark.parametrize("doc", list(CHECKS))
def test_every_lua_block_of_the_docs_has_a_check(doc):
    blocks, checks = CHECKS[doc]
    assert len(blocks()) == len(checks)


@pytest.mark.parametrize("doc,index", CASES)
def test_the_lua_example_runs_as_written(ss, doc, index):
    prepare(ss)
    blocks, checks = CHECKS[doc]
    checks[index](ss, blocks()[index])
