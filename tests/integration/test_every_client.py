"""One definition in sharedserver.json, used at once from the CLI, a Python
process and a headless Neovim: one server process, refcount 3."""

import json
import os
import shutil
import signal
import subprocess

import pytest

from conftest import BUILD_DIR, SOURCE_DIR, pid_alive, wait_until

NVIM = shutil.which("nvim")
PYTHON_PACKAGE = BUILD_DIR / "bindings" / "python"


@pytest.mark.skipif(NVIM is None, reason="needs nvim")
@pytest.mark.skipif(not list((PYTHON_PACKAGE / "sharedserver").glob("_sharedserver*.so")),
                    reason="needs the Python module built")
def test_cli_python_and_neovim_share_the_server_the_project_defines(sandbox, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "sharedserver.json").write_text(json.dumps(
        {"servers": {"cache": {"command": "sleep", "args": ["1000"], "idle_timeout": "10m"}}}))
    env = dict(sandbox.env, SHAREDSERVER_LIB=str(BUILD_DIR / "capi" / "libsharedserver.so"),
               PYTHONPATH=str(PYTHON_PACKAGE), XDG_CONFIG_HOME=str(tmp_path / "cfg"),
               XDG_DATA_HOME=str(tmp_path / "data"), XDG_STATE_HOME=str(tmp_path / "st"))
    if os.environ.get("SANITIZE_HOST_PRELOAD"):
        # tests/sanitize.sh's ASan build: the uninstrumented python3 and nvim
        # below load the instrumented module and library only with ASan's
        # runtime preloaded, and keep memory to their exit by design.
        env["LD_PRELOAD"] = os.environ["SANITIZE_HOST_PRELOAD"]
        env["ASAN_OPTIONS"] = os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0"

    cli_client = sandbox.client()
    subprocess.run([str(BUILD_DIR / "cli" / "sharedserver"), "use", "--pid", str(cli_client.pid), "cache"],
                   cwd=project, env=env, check=True, capture_output=True)

    script = "import sharedserver, time\nlease = sharedserver.use('cache')\nprint(lease.pid, flush=True)\ntime.sleep(1000)\n"
    python = subprocess.Popen(["/usr/bin/python3", "-c", script], cwd=project, env=env, stdout=subprocess.PIPE, text=True)
    sandbox.pids.append(python.pid)

    init = tmp_path / "init.lua"
    init.write_text(f"vim.opt.rtp:prepend({str(SOURCE_DIR / 'bindings' / 'nvim')!r})\nrequire('sharedserver').setup({{}})\n")
    nvim = subprocess.Popen([NVIM, "--headless", "-u", str(init), "-i", "NONE", "--listen", str(tmp_path / "nvim.sock")],
                            cwd=project, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    sandbox.pids.append(nvim.pid)
    try:
        server = int(python.stdout.readline())
        assert wait_until(lambda: sandbox.info("cache")["refcount"] == 3, timeout=15), sandbox.info("cache")
        info = sandbox.info("cache")
        assert info["pid"] == server
        assert sorted(c["pid"] for c in info["clients"]) == sorted([cli_client.pid, python.pid, nvim.pid])
        assert [e["event"] for e in sandbox.events("cache")].count("started") == 1

        os.kill(nvim.pid, signal.SIGKILL)
        nvim.wait()
        assert wait_until(lambda: sandbox.info("cache")["refcount"] == 2)
        python.kill()
        python.wait()
        assert wait_until(lambda: sandbox.info("cache")["refcount"] == 1)
        assert pid_alive(server)
    finally:
        python.stdout.close()
