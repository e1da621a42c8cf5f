"""Fixtures for end-to-end tests of the `sharedserver` CLI: every test gets a
private state directory, and everything it started is killed by pid after it,
however it ended."""

import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import (BUILD_DIR, CLI, PYTHON, SOURCE_DIR, WATCHER, Sandbox, pid_alive,  # noqa: E402,F401
                     wait_until)


@pytest.fixture
def sandbox():
    with tempfile.TemporaryDirectory(prefix="sharedserver-test-") as root:
        box = Sandbox(root)
        try:
            yield box
        finally:
            box.cleanup()


@pytest.fixture
def python():
    """An interpreter for helper servers; Debian's, whatever PATH says."""
    return PYTHON
