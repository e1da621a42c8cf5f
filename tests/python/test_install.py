"""`pip install --no-build-isolation --target DIR .` gives a self-contained
package: it loads the library and spawns the watcher it carries, wherever DIR
is moved. Builds the project from scratch (minutes), so it runs only with
SHAREDSERVER_TEST_INSTALL=1."""

import json
import os
import shutil
import subprocess

import pytest
from py_support import PYTHON, REPO

if os.environ.get("SHAREDSERVER_TEST_INSTALL") != "1":
    pytest.skip("set SHAREDSERVER_TEST_INSTALL=1 to build and install the package with pip (slow)",
                allow_module_level=True)

PROBE = """
import json, os, sharedserver
with sharedserver.use("installed", ["sleep", "1000"]) as lease:
    info = sharedserver.status("installed")
    watcher = os.readlink(f"/proc/{info.watcher_pid}/exe")
sharedserver.stop("installed")
print(json.dumps({"module": sharedserver.__file__, "library": sharedserver.library_path(),
                  "watcher": watcher, "state": sharedserver.check("installed").value}))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("pip") / "site"
    result = subprocess.run([PYTHON, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--quiet",
                             "--target", str(target), str(REPO)],
                            capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr
    return target


def probe(sandbox, site, cwd):
    env = dict(sandbox.env, PYTHONPATH=str(site))
    result = subprocess.run([PYTHON, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_installed_package_carries_its_library_and_watcher(installed):
    package = installed / "sharedserver"
    names = sorted(p.name for p in package.iterdir() if p.name != "__pycache__")
    assert [n for n in names if not n.startswith("_sharedserver.cpython")] == [
        "__init__.py", "_api.py", "_errors.py", "_sharedserver.pyi", "_types.py",
        "libsharedserver.so.0", "py.typed", "sharedserver-watcher"]
    assert os.access(package / "sharedserver-watcher", os.X_OK)
    # Nothing but the package: no CLI, headers or pkg-config file.
    assert sorted(p.name for p in installed.iterdir() if not p.name.endswith(".dist-info")) == ["sharedserver"]


def test_the_installed_package_uses_its_own_library_and_watcher_wherever_it_is_moved(installed, sandbox, tmp_path):
    for site in (installed, shutil.copytree(installed, tmp_path / "moved" / "site", symlinks=True)):
        report = probe(sandbox, site, cwd=tmp_path)
        package = site / "sharedserver"
        assert report["module"] == str(package / "__init__.py")
        assert report["library"] == str(package / "libsharedserver.so.0")
        assert report["watcher"] == str(package / "sharedserver-watcher")
        assert report["state"] == "stopped"


def test_the_extension_has_no_build_tree_rpath(installed):
    if not shutil.which("readelf"):
        pytest.skip("readelf is not installed")
    extension = next((installed / "sharedserver").glob("_sharedserver*.so"))
    dynamic = subprocess.run(["readelf", "-d", str(extension)], capture_output=True, text=True).stdout
    runpath = [line for line in dynamic.splitlines() if "RUNPATH" in line or "RPATH" in line]
    assert len(runpath) == 1 and runpath[0].rstrip().endswith("[$ORIGIN/]"), runpath
