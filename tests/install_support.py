"""What the install tests share: installing the build into a scratch root
with `meson install --destdir`, and fresh virtual environments that get
packages from PyPI.

A test that needs PyPI calls require_pypi() first. When the index cannot be
reached it skips, naming the reason; under CI (CI=true), where PyPI is
reachable, it fails instead, so CI never passes by skipping.
"""

import contextlib
import fcntl
import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

# The interpreter of the virtual environments: Debian's, whose `venv` module
# comes with the python3-venv package.
VENV_PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else "python3"


@contextlib.contextmanager
def kept_install_log(build_dir):
    """`meson install` rewrites <build>/meson-logs/install-log.txt, which
    `ninja uninstall` reads: keep the one of the user's real install. Held
    exclusively (a lock beside the log), because suites that run at once
    (nvim and nvim-0.11) install from the same build dir: an uninstall must
    read the log its own install wrote."""
    log = Path(build_dir) / "meson-logs" / "install-log.txt"
    with open(log.with_name("install-log.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        saved = log.read_bytes() if log.exists() else None
        try:
            yield
        finally:
            if saved is None:
                log.unlink(missing_ok=True)
            else:
                log.write_bytes(saved)


def meson_install(build_dir, destdir, tags="runtime"):
    """Install what the build has (no rebuild) under `destdir`."""
    with kept_install_log(build_dir):
        result = subprocess.run(["meson", "install", "-C", str(build_dir), "--destdir", str(destdir),
                                 "--no-rebuild", "--tags", tags],
                                capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def meson_uninstall(build_dir):
    """What `ninja -C build uninstall` does: remove every file the last
    `meson install` of this build dir wrote."""
    result = subprocess.run(["meson", "--internal", "uninstall"], cwd=build_dir,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def fresh_venv(path, system_site_packages=False):
    """A new virtual environment at `path` (seeing Debian's packages too
    when asked); returns its bin directory."""
    flags = ["--system-site-packages"] if system_site_packages else []
    result = subprocess.run([VENV_PYTHON, "-m", "venv", *flags, str(path)], capture_output=True, text=True,
                            timeout=300)
    if result.returncode != 0:
        pytest.fail(f"`{VENV_PYTHON} -m venv` failed (Debian: apt-get install python3-venv): "
                    f"{result.stderr.strip() or result.stdout.strip()}")
    return Path(path) / "bin"


def pip(bin_dir, *args, timeout=1800, cwd=None, env=None):
    """Run the venv's pip; returns the CompletedProcess (not checked)."""
    return subprocess.run([str(bin_dir / "python"), "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout, cwd=cwd, env=env)


_reachable = None


def why_pip_failed(result):
    """The line of pip's output that says why: a connection error when there
    was one (pip then ends with "No matching distribution"), else its last."""
    lines = (result.stdout + result.stderr).strip().splitlines()
    for line in lines:
        found = re.search(r"Failed to establish a new connection: ([^'\"]*)|(Errno -?\d+[^'\"]*)", line)
        if found:
            return found.group(1) or found.group(2)
    return lines[-1] if lines else f"exit code {result.returncode}"


def require_pypi(bin_dir):
    """Skip (fail under CI) unless PyPI answers the pip of the venv in
    `bin_dir`: one small download, bypassing pip's cache."""
    global _reachable
    if _reachable is None:
        with tempfile.TemporaryDirectory(prefix="ss-pypi") as tmp:
            result = pip(bin_dir, "download", "--no-deps", "--no-cache-dir", "--retries", "1", "--timeout", "15",
                         "--dest", tmp, "meson-python", timeout=300)
        _reachable = (result.returncode == 0, why_pip_failed(result))
    ok, last = _reachable
    if not ok:
        reason = f"PyPI cannot be reached: pip download meson-python: {last}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI must reach PyPI", pytrace=False)
        pytest.skip(reason)
