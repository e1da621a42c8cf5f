"""A pytest fixture that shares one development server across test sessions.

Every pytest session that asks for `http_server` -- this run, a second run in
another terminal, the workers of `pytest -n 4`, an editor's test runner --
attaches to the same server: the first one starts it, the others join it, and
when the last session ends the server stays warm for the grace period, so the
next `pytest` does not pay its start-up again. A session killed with Ctrl-C or
kill -9 is noticed and detached all the same.

Swap the command for what your tests need (redis-server, a database, `npm run
dev`...): the fixture stays the same.
"""

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest

import sharedserver

NAME = os.environ.get("EXAMPLE_SERVER_NAME", "example-http")
STATIC = Path(__file__).resolve().parent / "static"
# "{port}" becomes the port sharedserver picks when it first starts the server.
COMMAND = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1", "--directory", str(STATIC)]


@pytest.fixture(scope="session")
def http_server() -> Iterator[str]:
    """The base URL of the shared server, attached for the whole session."""
    with sharedserver.use(NAME, COMMAND, port="auto", ready=sharedserver.Ready.port(), grace_period="10m",
                          metadata=f"pytest session {os.getpid()}") as server:
        # use() returned once the server accepts connections, whoever started it.
        yield f"http://127.0.0.1:{server.port}"
