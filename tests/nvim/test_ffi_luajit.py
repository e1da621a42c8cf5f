"""The ffi binding alone, under plain luajit (no Neovim)."""

import os
import subprocess
import textwrap

from conftest import BUILD, LIB, PLUGIN, REPO, alive


def test_plain_luajit_loads_the_library_and_uses_and_unuses_a_server(ss):
    r = ss.luajit(
        textwrap.dedent(
            """
            local s = require('sharedserver.ffi')
            assert(s.load())
            print('version', s.version(), s.abi())
            print('duration', s.duration_parse('1h30m'), s.duration_format(90000))
            local c = assert(s.open(nil))
            print('dir', c:state_dir())
            local r = assert(c:use('lj', { argv = { 'sleep', '1000' }, grace_period_ms = 60000 }))
            print('use', r.outcome, r.refcount)
            print('pid', r.pid)
            local i = assert(c:info('lj'))
            print('info', i.state, i.refcount, i.argv[1], i.argv[2], i.grace_period_ms)
            print('unuse', assert(c:unuse('lj')))
            print('check', c:check('lj'))
            print('stop', c:stop('lj', { force = true }))
            print('after', c:check('lj'))
            c:close()
            """
        )
    )
    out = dict(line.split("\t", 1) for line in r.stdout.strip().split("\n"))
    assert out["version"].split("\t")[1] == "1"
    assert out["duration"] == "5400000\t1m30s"
    assert out["dir"] == str(ss.lockdir)
    assert out["use"] == "started\t1"
    assert out["info"] == "active\t1\tsleep\t1000\t60000"
    assert out["unuse"] == "0"
    assert out["check"] == "grace"
    assert out["stop"] == "true"
    assert out["after"] == "stopped"
    assert not alive(int(out["pid"]))


def test_failures_return_nil_and_a_message(ss):
    r = ss.luajit(
        textwrap.dedent(
            """
            local s = require('sharedserver.ffi')
            assert(s.load())
            local c = assert(s.open(nil))
            local v, msg, code = s.duration_parse('5x')
            print(tostring(v), code == s.E.INVALID, msg)
            v, msg, code = c:use('nothing', {})
            print(tostring(v), code == s.E.NOTRUNNING, msg)
            v, msg, code = c:info('.bad')
            print(tostring(v), code == s.E.INVALID, msg)
            """
        )
    )
    lines = r.stdout.strip().split("\n")
    assert [l.split("\t")[:2] for l in lines] == [["nil", "true"]] * 3
    assert "5x" in lines[0]
    assert all(l.split("\t")[2] for l in lines)


def test_library_lookup_honours_sharedserver_lib_and_explains_a_missing_one(ss):
    env = dict(ss.env, SHAREDSERVER_LIB="/nonexistent/libsharedserver.so")
    script = "package.path = %r .. '/?.lua;' .. package.path\n" % str(PLUGIN / "lua")
    script += "print(select(2, require('sharedserver.ffi').load()))"
    r = subprocess.run(["luajit", "-e", script], env=env, capture_output=True, text=True, timeout=10)
    assert r.stdout.startswith(
        "sharedserver: cannot load the library from $SHAREDSERVER_LIB /nonexistent/libsharedserver.so: "
    ), r.stdout


def load_error_of_a_library(ss, name, c_source):
    """What ffi.load() says of a real shared library built from c_source."""
    src = ss.root / f"{name}.c"
    src.write_text(c_source)
    library = ss.root / f"lib{name}.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-o", str(library), str(src)], check=True)
    env = dict(ss.env, SHAREDSERVER_LIB=str(library))
    script = "package.path = %r .. '/?.lua;' .. package.path\n" % str(PLUGIN / "lua")
    script += "print(select(2, require('sharedserver.ffi').load()))"
    r = subprocess.run(["luajit", "-e", script], env=env, capture_output=True, text=True, timeout=10)
    return library, r.stdout.strip()


def test_a_library_with_another_abi_is_refused_with_how_to_rebuild(ss):
    fake, msg = load_error_of_a_library(ss, "fake", "int sharedserver_abi_version(void) { return 99; }\n")
    assert msg.startswith(f"sharedserver: {fake} has ABI 99 but this plugin needs ABI 1; rebuild it with "), msg
    assert "meson setup build && ninja -C build" in msg


def test_a_library_of_the_same_abi_lacking_a_function_is_refused_at_load(ss):
    # An older build of the same ABI: once it loaded, and the first command
    # that needed a newer function failed with a raw LuaJIT error.
    older, msg = load_error_of_a_library(ss, "older", "int sharedserver_abi_version(void) { return 1; }\n")
    assert msg.startswith(f"sharedserver: {older} cannot give sharedserver_"), msg
    assert "which this plugin needs" in msg and "meson setup build && ninja -C build" in msg
    assert "\n" not in msg


def test_the_build_tree_is_found_relative_to_the_plugin_without_any_setting(ss):
    env = {k: v for k, v in ss.env.items() if k != "SHAREDSERVER_LIB"}
    plugin_lua = PLUGIN / "lua"
    if BUILD.resolve() != (REPO / "build").resolve():
        return  # a build dir outside the checkout is only found through $SHAREDSERVER_LIB
    script = "package.path = %r .. '/?.lua;' .. package.path\n" % str(plugin_lua)
    script += "local s = require('sharedserver.ffi'); assert(s.load()); print(s.library_path())"
    r = subprocess.run(["luajit", "-e", script], env=env, capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert os.path.realpath(r.stdout.strip()) == os.path.realpath(LIB)
