"""The README's shell examples, run as written, so that they stay true.

The blocks to run are named here by their first line, and each must still
be in the README: deleting or rewording one fails until this list follows."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import CLI, SOURCE_DIR

README = SOURCE_DIR / "README.md"

# First lines of the README's ```sh blocks that run as they stand (the others
# build, install or run the test suites).
RUNNABLE_BLOCKS = [
    '# Attach this shell to "redis", starting it if nobody runs it yet; with',
    "sharedserver use redis --port auto --ready-port auto -- redis-server --port '{port}'",
]

# `$ command` lines of the README's transcripts that need nothing but the
# files made below, with the lines they print.
RUNNABLE_TRANSCRIPTS = [
    "sharedserver use db -- /usr/bin/redis-serverx",
    "sharedserver use db -- ./start-db.sh",
]


def fenced_blocks(text, language):
    return re.findall(r"^```" + language + r"\n(.*?)^```$", text, flags=re.S | re.M)


def transcripts(text):
    """{command: the lines it prints} from every untagged block of `$ ` lines."""
    found = {}
    for block in fenced_blocks(text, ""):
        command = None
        for line in block.splitlines():
            if line.startswith("$ "):
                command = line[2:]
                found[command] = []
            elif command is not None:
                found[command].append(line)
    return found


def env_with_cli(sandbox):
    return dict(sandbox.env, PATH=f"{CLI.parent}{os.pathsep}{os.environ['PATH']}")


@pytest.mark.parametrize("first_line", RUNNABLE_BLOCKS)
def test_a_readme_shell_example_runs_as_written(sandbox, tmp_path, first_line):
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        pytest.skip("the README's examples run redis: apt install redis-server (quickstart.sh does)")
    blocks = [b for b in fenced_blocks(README.read_text(), "sh") if b.startswith(first_line + "\n")]
    assert len(blocks) == 1, f"the README has {len(blocks)} ```sh blocks starting {first_line!r}"
    try:
        result = subprocess.run(["bash", "-e", "-c", blocks[0]], cwd=tmp_path, env=env_with_cli(sandbox),
                                capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert (result.returncode, result.stderr) == (0, ""), result.stdout
        # Every `redis-cli ... ping` in the example answered: redis was ready when use returned.
        assert result.stdout.count("PONG") == blocks[0].count(" ping")
    finally:
        sandbox.run("admin", "kill", "redis", check=False)


@pytest.mark.parametrize("command", RUNNABLE_TRANSCRIPTS)
def test_a_readme_transcript_prints_what_it_shows(sandbox, tmp_path, command):
    shown = transcripts(README.read_text())
    assert command in shown, f"the README no longer shows `$ {command}`"
    script = tmp_path / "start-db.sh"
    script.write_text("#!/usr/local/bin/bash5\nexec redis-server\n")
    script.chmod(0o755)
    result = subprocess.run(command, shell=True, cwd=tmp_path, env=env_with_cli(sandbox), capture_output=True,
                            text=True, timeout=30, stdin=subprocess.DEVNULL)
    assert result.returncode == 1
    assert (result.stdout + result.stderr).splitlines() == shown[command]
    assert list(sandbox.dir.iterdir()) == []
