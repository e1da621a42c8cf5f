"""The fault-injection suite (issue 12): each promise of sharedserver tried
under the fault that broke it, with real processes. Faults come from the
real thing wherever it is cheap: a tiny tmpfs for a full disk, `ulimit` for
descriptor and process limits, another user through `setpriv`, `kill -9`.
Only the wall clock is faked (an LD_PRELOAD shim, clockshift.c), because
moving the machine's real clock would disturb everything else on it."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from harness import BUILD_DIR, CLI, PYTHON, Sandbox, pid_alive, wait_until  # noqa: E402,F401

CLOCKSHIFT = BUILD_DIR / "tests" / "faults" / "libclockshift.so"
IS_ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not IS_ROOT, reason="needs root (mount a tmpfs, become another user)")


@pytest.fixture
def sandbox():
    with tempfile.TemporaryDirectory(prefix="sharedserver-faults-") as root:
        os.chmod(root, 0o755)  # another user (setpriv) must reach the build and the scripts here
        box = Sandbox(root)
        try:
            yield box
        finally:
            box.cleanup()


@pytest.fixture
def tiny_tmpfs():
    """A mounted tmpfs of 512 KiB that the test may fill (root only)."""
    if not IS_ROOT:
        pytest.skip("needs root to mount a tmpfs")
    with tempfile.TemporaryDirectory(prefix="sharedserver-tmpfs-") as mountpoint:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", mountpoint], check=True)
        try:
            yield Path(mountpoint)
        finally:
            subprocess.run(["umount", "-l", mountpoint], check=False)


def fill(directory, leave=0):
    """Fills the filesystem of `directory` until fewer than `leave` bytes are free."""
    path = Path(directory) / "filler"
    with open(path, "ab") as f:
        chunk = b"x" * 4096
        try:
            while os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize > leave:
                f.write(chunk)
                f.flush()
        except OSError:
            pass
    return path


class ClockShift:
    """Moves the wall clock (CLOCK_REALTIME, gettimeofday, time) of every
    process started with `env` by `seconds`, at any moment: the shim reads
    the offset from a file on each call."""

    def __init__(self, root):
        self.file = Path(root) / "clockshift"
        self.file.write_text("0\n")

    def env(self, base):
        return dict(base, LD_PRELOAD=str(CLOCKSHIFT), SHAREDSERVER_TEST_CLOCKSHIFT=str(self.file))

    def jump(self, seconds):
        tmp = self.file.with_suffix(".tmp")
        tmp.write_text(f"{seconds}\n")
        tmp.replace(self.file)


@pytest.fixture
def clockshift(sandbox):
    if not CLOCKSHIFT.exists():
        pytest.skip(f"{CLOCKSHIFT} was not built")
    return ClockShift(sandbox.root)
