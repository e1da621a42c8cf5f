"""The README's first example runs as written, against a real redis-server,
and talks to redis as soon as use() returns (it once got "Connection
refused": use() did not wait for the port)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import sharedserver

README = Path(__file__).resolve().parents[2] / "bindings" / "python" / "README.md"


def first_example():
    block = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert block, "the README lost its first example"
    return block.group(1)


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed (quickstart.sh installs it)")
def test_the_first_readme_example_talks_to_redis_right_after_use(sandbox):
    example = first_example()
    assert "Ready.port" in example
    try:
        # The server's working dir is the caller's: redis leaves its dump.rdb there.
        result = subprocess.run([sys.executable, "-c", example], env=sandbox.env, capture_output=True, text=True,
                                timeout=60, cwd=sandbox.root)
        assert result.returncode == 0, result.stderr
        pid, how = result.stdout.splitlines()[0].split()
        assert how == "started"
        assert result.stdout.splitlines()[1] == "b'+PONG\\r\\n'"
        sandbox.server_pids.add(int(pid))
    finally:
        if sharedserver.check("redis").running:
            sandbox.remember("redis")
            sharedserver.stop("redis", force=True)
