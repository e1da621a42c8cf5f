"""The installed layout: the library finds its watcher in <prefix>/libexec."""

import json
import os
import shutil
import subprocess

import pytest

from conftest import BUILD_DIR, pid_alive
from install_support import meson_install


@pytest.mark.skipif(shutil.which("meson") is None, reason="needs meson to install")
@pytest.mark.parametrize("invoked", ["by path", "by name on PATH"])
def test_an_installed_cli_finds_the_installed_watcher(sandbox, tmp_path, invoked):
    destdir = tmp_path / "root"
    meson_install(BUILD_DIR, destdir, tags="runtime,devel")
    clis = list(destdir.rglob("bin/sharedserver"))
    libs = list(destdir.rglob("libsharedserver.so.0"))
    watchers = list(destdir.rglob("libexec/sharedserver-watcher"))
    assert len(clis) == len(libs) == len(watchers) == 1
    headers = {p.name for p in destdir.rglob("include/sharedserver/*")}
    assert headers == {"sharedserver.h", "sharedserver.hpp"}
    assert list(destdir.rglob("pkgconfig/sharedserver.pc"))
    # The CLI links the library statically: no LD_LIBRARY_PATH. Found on
    # PATH, its argv[0] is a bare name: the watcher is found from the file.
    env = dict(sandbox.env, PATH=f"{clis[0].parent}:{os.environ['PATH']}")
    env.pop("SHAREDSERVER_WATCHER", None)
    cli = str(clis[0]) if invoked == "by path" else "sharedserver"
    client = sandbox.client()
    subprocess.run([cli, "use", "--pid", str(client.pid), "inst", "--", "sleep", "1000"], env=env, check=True,
                   capture_output=True, cwd=tmp_path)
    record = json.loads((sandbox.dir / "inst.server.json").read_text())
    with open(f"/proc/{record['watcher_pid']}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == str(watchers[0]).encode()
    assert pid_alive(record["pid"])
