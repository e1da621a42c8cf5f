"""The hand-written stubs and inline annotations, checked with mypy --strict."""

import importlib.util
import subprocess

import pytest
from py_support import PACKAGE_DIR, PYTHON, REPO

if importlib.util.find_spec("mypy") is None:
    pytest.skip("mypy is not installed (apt install mypy)", allow_module_level=True)

EXAMPLES = REPO / "examples" / "python"


def mypy(*args, cwd=REPO):
    env = {"MYPYPATH": str(PACKAGE_DIR), "PATH": "/usr/bin:/bin"}
    return subprocess.run([PYTHON, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_the_package_and_the_examples_pass_mypy_strict():
    result = mypy(str(PACKAGE_DIR / "sharedserver"), *(str(p) for p in sorted(EXAMPLES.glob("*.py"))))
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_rejects_misuse_of_the_api(tmp_path):
    script = tmp_path / "misuse.py"
    script.write_text(
        "import sharedserver\n"
        "lease = sharedserver.use('x', ['sleep', '1'], grace_period=30)\n"
        "pid: str = sharedserver.status('x').pid\n"
        "sharedserver.stop('x', timeout=5)\n")
    result = mypy(str(script))
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in errors] == ["2", "3", "4"], result.stdout
