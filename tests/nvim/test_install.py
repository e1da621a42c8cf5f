"""`meson install` of the plugin: where Neovim finds it without configuration,
with its help tags, loading the library installed beside it first."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import BUILD, LIB, PLUGIN, REPO, alive, wait_for
from install_support import kept_install_log, meson_install, meson_uninstall

PACK = Path("share/nvim/site/pack/sharedserver/start/sharedserver")

pytestmark = pytest.mark.skipif(shutil.which("meson") is None, reason="needs meson to install")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """The build installed under a scratch root (DESTDIR)."""
    root = tmp_path_factory.mktemp("destdir")
    meson_install(BUILD, root)
    return root


def prefix_of(root):
    plugins = [p for p in root.rglob("pack/sharedserver/start/sharedserver") if p.is_dir()]
    assert len(plugins) == 1, plugins
    prefix = Path(str(plugins[0])[: -len(str(PACK)) - 1])
    assert prefix / PACK == plugins[0]
    return prefix


SCRIPT = """
local out = { packpath = vim.o.packpath }
local ok, err = pcall(function()
  local ss = require('sharedserver')
  out.module = debug.getinfo(ss.setup, 'S').source:sub(2)
  assert(ss.register('installed', { command = 'sleep', args = { '1000' } }))
  assert(ss.start('installed'))
  out.library = require('sharedserver.context').library().library_path()
  out.pid = ss.status('installed').pid
  vim.cmd('help sharedserver')
  out.help_file = vim.fn.expand('%:p')
  out.help_line = vim.fn.getline('.')
end)
out.error = not ok and tostring(err) or nil
local f = assert(io.open(vim.env.RESULT, 'w'))
f:write(vim.fn.json_encode(out))
f:close()
"""


def run_installed(ss, data_dirs, extra_env=None, plugin=True):
    """A headless Neovim without any user config (-u NORC still loads
    plugins and packages) and without the checkout's plugin; returns what
    SCRIPT found."""
    script = ss.root / "probe.lua"
    script.write_text(SCRIPT)
    result_file = ss.root / "result.json"
    env = dict(ss.env, RESULT=str(result_file))
    env.pop("SHAREDSERVER_LIB")
    if data_dirs is None:
        env.pop("XDG_DATA_DIRS", None)
    else:
        env["XDG_DATA_DIRS"] = data_dirs
    env.update(extra_env or {})
    r = subprocess.run([ss.nvim_bin, "--headless", "-u", "NORC", "-i", "NONE", "-c", f"luafile {script}", "-c", "qa!"],
                       env=env, cwd=ss.root, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(result_file.read_text())
    if plugin:
        assert out.get("error") is None, out["error"]
    return out


def test_meson_install_puts_the_plugin_its_help_tags_and_its_library_paths_in_the_pack_dir(root):
    plugin = prefix_of(root) / PACK
    files = sorted(str(p.relative_to(plugin)) for p in plugin.rglob("*") if p.is_file())
    sources = sorted(f"lua/sharedserver/{p.name}" for p in (PLUGIN / "lua" / "sharedserver").glob("*.lua"))
    assert files == sorted(sources + ["doc/sharedserver.txt", "doc/tags", "lua/sharedserver/installation.lua"])
    tags = (plugin / "doc" / "tags").read_text()
    assert "sharedserver\tsharedserver.txt\t/*sharedserver*\n" in tags
    assert ":ServerStatus\tsharedserver.txt\t/*:ServerStatus*\n" in tags


def test_the_installed_plugin_loads_from_the_packpath_with_help_and_its_own_library(ss, root):
    prefix = prefix_of(root)
    installed_lib = next(prefix.rglob("libsharedserver.so.0"))
    # The build tree's library is on the loader's path: the soname lookup
    # would find it, so only the installed plugin's own lookup finds the
    # installed one first.
    out = run_installed(ss, str(prefix / "share"), {"LD_LIBRARY_PATH": str(LIB.parent)})
    assert out["module"] == str(prefix / PACK / "lua" / "sharedserver" / "init.lua")
    assert out["library"] == os.path.realpath(installed_lib)
    assert out["help_file"] == str(prefix / PACK / "doc" / "sharedserver.txt")
    assert "*sharedserver*" in out["help_line"]
    assert alive(out["pid"])
    record = wait_for(lambda: ss.record("installed"), what="the server record")
    assert os.readlink(f"/proc/{record['watcher_pid']}/exe") == str(prefix / "libexec" / "sharedserver-watcher")


def test_the_installed_plugin_keeps_its_library_when_the_prefix_moves(ss, root, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(prefix_of(root), moved, symlinks=True)
    out = run_installed(ss, str(moved / "share"))
    assert out["module"].startswith(str(moved) + "/")
    assert out["library"] == os.path.realpath(next(moved.rglob("libsharedserver.so.0")))


def test_the_default_packpath_holds_the_pack_dirs_of_usr_local_and_usr(ss):
    out = run_installed(ss, None, plugin=False)
    packpath = out["packpath"].split(",")
    assert "/usr/local/share/nvim/site" in packpath and "/usr/share/nvim/site" in packpath


def test_a_plugin_copied_out_of_its_prefix_falls_back_to_the_prefix_it_was_installed_to(ss, root, tmp_path):
    """Under plain luajit: the lookup order of an installed plugin."""
    plugin = prefix_of(root) / PACK
    elsewhere = tmp_path / "elsewhere" / "sharedserver"
    shutil.copytree(plugin, elsewhere)
    installation = (plugin / "lua" / "sharedserver" / "installation.lua").read_text()
    configured = next(line.split('"')[1] for line in installation.splitlines() if "library_absolute" in line)
    for tree, first in ((plugin, str(next(prefix_of(root).rglob("libsharedserver.so.0")))),
                        (elsewhere, configured)):
        r = subprocess.run(["luajit", "-e", textwrap.dedent(f"""
            package.path = {str(tree / 'lua')!r} .. '/?.lua;' .. package.path
            for _, c in ipairs(require('sharedserver.ffi').candidates()) do print(c[2] .. '\\t' .. c[1]) end
            """)], env={k: v for k, v in ss.env.items() if k != "SHAREDSERVER_LIB"},
                           capture_output=True, text=True, timeout=30, check=True)
        assert r.stdout.splitlines() == [f"library installed with the plugin\t{first}",
                                         "installed soname\tlibsharedserver.so.0"]


def test_the_checkout_plugin_still_prefers_the_build_tree():
    r = subprocess.run(["luajit", "-e", textwrap.dedent(f"""
        package.path = {str(PLUGIN / 'lua')!r} .. '/?.lua;' .. package.path
        for _, c in ipairs(require('sharedserver.ffi').candidates()) do print(c[2] .. '\\t' .. c[1]) end
        """)], env={k: v for k, v in os.environ.items() if k != "SHAREDSERVER_LIB"},
                       capture_output=True, text=True, timeout=30, check=True)
    assert r.stdout.splitlines() == [f"build tree\t{REPO}/build/capi/libsharedserver.so",
                                     "installed soname\tlibsharedserver.so.0"]


def test_ninja_uninstall_removes_every_installed_file_of_the_plugin(tmp_path):
    root = tmp_path / "root"
    with kept_install_log(BUILD):
        subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(root), "--no-rebuild",
                        "--tags", "runtime"], check=True, capture_output=True, timeout=300)
        plugin = prefix_of(root) / PACK
        assert (plugin / "doc" / "tags").is_file()
        meson_uninstall(BUILD)
    assert not [p for p in root.rglob("*") if p.is_file() or p.is_symlink()]


TRICKY_HELP = """*tricky.txt*  Tags as :helptags reads them — a non-ASCII first line
Text *plain* and *two*  *tags* on one line; *tab-after*\tand\t*tab-before*
Not tags: x*glued* *with space* *bar|tag* ** *dot*. *unclosed
*a/slash* *back\\\\slash* *a*b* *end-of-line*
\t*indented*  *ünïcode* *z-last* *A-upper* *_under*
"""


def copy_of_the_plugin_help(tmp_path):
    doc = tmp_path / "doc"
    doc.mkdir()
    shutil.copy(PLUGIN / "doc" / "sharedserver.txt", doc)
    return doc


def nvim_helptags(ss, doc):
    subprocess.run([ss.nvim_bin, "--headless", "-u", "NONE", "-i", "NONE", "-c", f"helptags {doc}", "-c", "qa!"],
                   env=ss.env, check=True, capture_output=True, timeout=60)
    return (doc / "tags").read_bytes()


def our_helptags(tmp_path, *files):
    out = tmp_path / "tags"
    result = subprocess.run([sys.executable, str(PLUGIN / "helptags.py"), str(out), *map(str, files)],
                            capture_output=True, text=True, timeout=60)
    return result.returncode, out.read_bytes() if result.returncode == 0 else result.stderr


def test_the_built_help_tags_are_byte_for_byte_what_helptags_writes(ss, tmp_path):
    assert (BUILD / "bindings" / "nvim" / "tags").read_bytes() == nvim_helptags(ss, copy_of_the_plugin_help(tmp_path))
    tricky = tmp_path / "tricky"
    tricky.mkdir()
    (tricky / "tricky.txt").write_text(TRICKY_HELP)
    (tricky / "more.txt").write_text("*more.txt* ünïcode first line too\n*more* *tags*here *b/c*\n")
    expected = nvim_helptags(ss, tricky)
    assert b"plain\ttricky.txt" in expected and b"glued" not in expected
    assert our_helptags(tmp_path, tricky / "tricky.txt", tricky / "more.txt") == (0, expected)


def test_help_files_of_mixed_encodings_are_refused_like_helptags_does(tmp_path):
    (tmp_path / "tricky.txt").write_text(TRICKY_HELP)
    code, err = our_helptags(tmp_path, PLUGIN / "doc" / "sharedserver.txt", tmp_path / "tricky.txt")
    assert code != 0 and "mixed help file encodings" in err


def fake_build_tools(directory, calls):
    """meson and ninja that only note how they were called: the build step's
    own logic is under test here, not a build of minutes."""
    directory.mkdir()
    scripts = {
        "meson": 'mkdir -p build && touch build/build.ninja\n',
        "ninja": '',
    }
    for tool, action in scripts.items():
        path = directory / tool
        path.write_text(f'#!/bin/sh\necho "{tool} $* (in $(pwd))" >> {calls}\n{action}')
        path.chmod(0o755)


def test_the_checkout_build_step_builds_in_the_repository_and_writes_the_help_tags(ss, tmp_path):
    checkout = tmp_path / "checkout"
    plugin = checkout / "bindings" / "nvim"
    shutil.copytree(PLUGIN, plugin, ignore=shutil.ignore_patterns("tags"))
    calls = tmp_path / "calls"
    fake_build_tools(tmp_path / "tools", calls)
    env = dict(ss.env, PATH=f"{tmp_path / 'tools'}:{os.environ['PATH']}")
    # lazy.nvim runs the build of a local plugin (dir = …/bindings/nvim) in
    # that dir, and the build of a cloned repository in its root.
    subprocess.run(["./build.sh"], cwd=plugin, env=env, check=True, capture_output=True, timeout=60)
    subprocess.run(["bindings/nvim/build.sh"], cwd=checkout, env=env, check=True, capture_output=True, timeout=60)
    assert calls.read_text().splitlines() == [f"meson setup build --buildtype=release (in {checkout})",
                                              f"ninja -C build (in {checkout})",
                                              f"ninja -C build (in {checkout})"]
    assert (plugin / "doc" / "tags").read_bytes() == (BUILD / "bindings" / "nvim" / "tags").read_bytes()
    # The plugin dir on 'runtimepath', as a plugin manager puts it there.
    r = subprocess.run([ss.nvim_bin, "--headless", "-u", "NONE", "-i", "NONE", "--cmd", f"set rtp^={plugin}",
                        "-c", "help sharedserver", "-c", "lua io.stdout:write(vim.fn.expand('%:p'))", "-c", "qa!"],
                       env=ss.env, capture_output=True, text=True, timeout=60)
    assert r.stdout == str(plugin / "doc" / "sharedserver.txt"), r.stdout + r.stderr
