"""Shared by the tests of the Python package: where the build tree's package
is, the servers the tests run, and small process helpers."""

import os
import sys
import time
from pathlib import Path

import pytest

REPO = Path(os.environ.get("SHAREDSERVER_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SHAREDSERVER_BUILD_DIR", REPO / "build"))
PACKAGE_DIR = BUILD / "bindings" / "python"
HERE = Path(__file__).resolve().parent
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

if not list((PACKAGE_DIR / "sharedserver").glob("_sharedserver*.so")):
    pytest.skip(f"the Python module is not built in {PACKAGE_DIR}: run `meson setup build -Dpython=enabled "
                "&& ninja -C build`", allow_module_level=True)

sys.path.insert(0, str(PACKAGE_DIR))

SLEEP = ["sleep", "1000"]
HTTP = [PYTHON, "-m", "http.server", "0", "--bind", "127.0.0.1"]


def pid_alive(pid):
    """True for a live, non-zombie process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def wait_until(predicate, timeout=5.0, interval=0.005, what="the condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
