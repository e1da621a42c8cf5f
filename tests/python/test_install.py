"""What a user gets from pip, each time in a fresh virtual environment.

SHAREDSERVER_TEST_INSTALL=pypi (the meson test `python-wheel`, in every
functional run): with build isolation, so meson-python and pybind11 come
from PyPI,
- `pip wheel .` gives a wheel that carries the library and the watcher and
  works after installing it into another fresh venv;
- `pip install .` works.
SHAREDSERVER_TEST_INSTALL=offline (the meson test `python-offline`, with the
long proofs): `pip install --no-build-isolation --target DIR .` with
Debian's meson-python and pybind11, no PyPI, gives a self-contained
directory that works wherever it is moved.
Unset (the `python` test), everything here is skipped.

Each pip command builds the package: the library, the watcher and the module
(the python-package target, not the CLI or tests). The two PyPI builds run at
once, so that one's downloads and configuration overlap the other's
compiling. With ccache (quickstart.sh installs it; Meson uses it by itself),
they take the library's and the watcher's objects from the main release
build's cache (meson-python builds in <source>/.mesonpy-*, as deep as
<source>/build, so the compile commands are the same) and compile only the
module, whose pybind11 lies in a build environment with a new name each time.
"""

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from py_support import REPO, pid_alive, wait_until

sys.path.insert(0, str(REPO / "tests"))
from install_support import fresh_venv, require_pypi  # noqa: E402

MODE = os.environ.get("SHAREDSERVER_TEST_INSTALL")
if MODE not in ("pypi", "offline"):
    pytest.skip("builds the package with pip (slow): run `meson test -C build python-wheel` "
                "(SHAREDSERVER_TEST_INSTALL=pypi) or `python-offline` (=offline)", allow_module_level=True)
pypi_only = pytest.mark.skipif(MODE != "pypi", reason="SHAREDSERVER_TEST_INSTALL=pypi runs it")
offline_only = pytest.mark.skipif(MODE != "offline", reason="SHAREDSERVER_TEST_INSTALL=offline runs it")

# Uses a server, detaches and waits for the grace period (0 s) to stop it.
PROBE = """
import json, os, sys, time, sharedserver
lease = sharedserver.use("pip-probe", ["sleep", "1000"], grace_period="0s")
info = sharedserver.status("pip-probe")
report = {"module": sharedserver.__file__, "library": sharedserver.library_path(),
          "watcher": os.readlink(f"/proc/{info.watcher_pid}/exe"), "pid": lease.pid,
          "state": info.state.value}
lease.release()
deadline = time.monotonic() + 30
while sharedserver.check("pip-probe") != sharedserver.State.STOPPED and time.monotonic() < deadline:
    time.sleep(0.01)
report["after_release"] = sharedserver.check("pip-probe").value
print(json.dumps(report))
"""

PACKAGE_FILES = ["__init__.py", "_api.py", "_errors.py", "_sharedserver.pyi", "_types.py",
                 "libsharedserver.so.0", "py.typed", "sharedserver-watcher"]


def user_env():
    """A user's environment: none of the test run's Python path, library
    path (meson test points LD_LIBRARY_PATH at the build tree) or state dir."""
    return {k: v for k, v in os.environ.items()
            if k not in ("PYTHONPATH", "LD_LIBRARY_PATH", "SHAREDSERVER_LOCKDIR")}


def start_pip(bin_dir, *args):
    return subprocess.Popen([str(bin_dir / "python"), "-m", "pip", "--disable-pip-version-check", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=user_env())


def finish_pip(proc, what):
    try:
        output, _ = proc.communicate(timeout=1800)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, f"{what} failed:\n{output[-8000:]}"


def probe(sandbox, python, cwd, pythonpath=None):
    env = dict(user_env(), SHAREDSERVER_LOCKDIR=str(sandbox.dir))
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    result = subprocess.run([str(python), "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    sandbox.server_pids.add(report["pid"])
    assert report["state"] == "active"
    assert report["after_release"] == "stopped"
    wait_until(lambda: not pid_alive(report["pid"]), timeout=10)
    return report


def assert_uses_its_own_files(report, package):
    assert report["module"] == str(package / "__init__.py")
    assert os.path.realpath(report["library"]) == os.path.realpath(package / "libsharedserver.so.0")
    assert report["watcher"] == str(package / "sharedserver-watcher")


def site_packages(venv):
    found = list((venv / "lib").glob("python3*/site-packages"))
    assert len(found) == 1, found
    return found[0]


@pytest.fixture(scope="module")
def pypi_builds(tmp_path_factory):
    """`pip wheel .` in one fresh venv and `pip install .` in another, at once."""
    venvs = tmp_path_factory.mktemp("venvs")
    wheel_bin, install_bin = fresh_venv(venvs / "wheel"), fresh_venv(venvs / "install")
    require_pypi(wheel_bin)
    wheelhouse = tmp_path_factory.mktemp("wheelhouse")
    wheel = start_pip(wheel_bin, "wheel", "--no-deps", "--wheel-dir", str(wheelhouse), str(REPO))
    install = start_pip(install_bin, "install", str(REPO))
    try:
        finish_pip(wheel, "pip wheel .")
    finally:
        finish_pip(install, "pip install .")
    wheels = list(wheelhouse.glob("sharedserver-*.whl"))
    assert len(wheels) == 1, wheels
    return {"wheel": wheels[0], "installed": venvs / "install"}


@pypi_only
def test_a_wheel_build_looks_only_for_what_the_library_and_the_module_need(tmp_path):
    """Not for CLI11, doctest or anything else of the CLI and the tests, which
    a machine that only wants the Python package lacks."""
    build = tmp_path / "build"
    setup = subprocess.run(["meson", "setup", str(build), str(REPO), "-Dpython=enabled", "-Dpython_wheel=true"],
                           capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    found = subprocess.run(["meson", "introspect", str(build), "--dependencies"], capture_output=True, text=True,
                           check=True, timeout=60)
    names = {"python" if d["name"].startswith("python") else d["name"] for d in json.loads(found.stdout)}
    # RE2: the watcher (in the wheel) matches readiness patterns with it.
    assert names == {"nlohmann_json", "pybind11", "python", "re2", "threads"}


@pypi_only
def test_pip_wheel_gives_a_wheel_that_carries_the_library_and_the_watcher(pypi_builds):
    wheel = pypi_builds["wheel"]
    with zipfile.ZipFile(wheel) as z:
        entries = {i.filename: i for i in z.infolist()}
    package = sorted(n.split("/", 1)[1] for n in entries if n.startswith("sharedserver/"))
    assert [n for n in package if not n.startswith("_sharedserver.cpython")] == PACKAGE_FILES
    assert len(package) == len(PACKAGE_FILES) + 1
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info"
    assert {n.split("/", 1)[0] for n in entries} == {"sharedserver", dist_info}
    mode = entries["sharedserver/sharedserver-watcher"].external_attr >> 16
    assert mode & 0o111, oct(mode)


@pypi_only
def test_the_wheel_works_in_another_fresh_venv(pypi_builds, sandbox, tmp_path):
    bin_dir = fresh_venv(tmp_path / "user")
    result = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--no-index", "--no-deps",
                             str(pypi_builds["wheel"])], capture_output=True, text=True, timeout=300, env=user_env())
    assert result.returncode == 0, result.stdout + result.stderr
    report = probe(sandbox, bin_dir / "python", cwd=tmp_path)
    assert_uses_its_own_files(report, site_packages(tmp_path / "user") / "sharedserver")


@pypi_only
def test_pip_install_dot_works_in_a_fresh_venv(pypi_builds, sandbox, tmp_path):
    venv = pypi_builds["installed"]
    report = probe(sandbox, venv / "bin" / "python", cwd=tmp_path)
    assert_uses_its_own_files(report, site_packages(venv) / "sharedserver")


@pypi_only
def test_the_extension_of_the_wheel_has_no_build_tree_rpath(pypi_builds, tmp_path):
    if not shutil.which("readelf"):
        pytest.skip("readelf is not installed")
    with zipfile.ZipFile(pypi_builds["wheel"]) as z:
        name = next(n for n in z.namelist() if n.startswith("sharedserver/_sharedserver.") and n.endswith(".so"))
        extension = z.extract(name, tmp_path)
    dynamic = subprocess.run(["readelf", "-d", extension], capture_output=True, text=True).stdout
    runpath = [line for line in dynamic.splitlines() if "RUNPATH" in line or "RPATH" in line]
    assert len(runpath) == 1 and runpath[0].rstrip().endswith(("[$ORIGIN]", "[$ORIGIN/]")), runpath


@pytest.fixture(scope="module")
def target_dir(tmp_path_factory):
    """`pip install --no-build-isolation --target DIR .` from a venv that sees
    Debian's meson-python and pybind11: no PyPI."""
    bin_dir = fresh_venv(tmp_path_factory.mktemp("venvs") / "offline", system_site_packages=True)
    target = tmp_path_factory.mktemp("pip") / "site"
    finish_pip(start_pip(bin_dir, "install", "--no-build-isolation", "--no-deps", "--no-index",
                         "--target", str(target), str(REPO)), "pip install --no-build-isolation --target")
    return target


@offline_only
def test_a_no_build_isolation_target_dir_holds_only_the_package(target_dir):
    package = target_dir / "sharedserver"
    names = sorted(p.name for p in package.iterdir() if p.name != "__pycache__")
    assert [n for n in names if not n.startswith("_sharedserver.cpython")] == PACKAGE_FILES
    assert sorted(p.name for p in target_dir.iterdir() if not p.name.endswith(".dist-info")) == ["sharedserver"]


@offline_only
def test_a_no_build_isolation_target_dir_works_wherever_it_is_moved(target_dir, sandbox, tmp_path):
    python = shutil.which("python3", path="/usr/bin") or sys.executable
    for site in (target_dir, shutil.copytree(target_dir, tmp_path / "moved" / "site", symlinks=True)):
        report = probe(sandbox, python, cwd=tmp_path, pythonpath=site)
        assert_uses_its_own_files(report, site / "sharedserver")
