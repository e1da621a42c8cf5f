"""Tests that need the shared server: they only ask for the fixture."""

import os
import urllib.request

import sharedserver


def test_the_shared_server_serves_the_static_files(http_server: str) -> None:
    with urllib.request.urlopen(f"{http_server}/hello.txt", timeout=5) as response:
        assert response.status == 200
        assert response.read() == b"hello from the shared server\n"


def test_this_session_is_attached_to_the_server(http_server: str) -> None:
    attached = [server for server in sharedserver.list() if os.getpid() in {c.pid for c in server.clients}]
    assert len(attached) == 1
    assert attached[0].state is sharedserver.State.ACTIVE
