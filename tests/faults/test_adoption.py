"""A watcher started to adopt a server whose adopter died before it wrote
the new watcher into the record (a `kill -9` of the CLI, found by the chaos
run, seed 1617253415): the record names the server and another watcher. The
adopted watcher must then leave, or two watchers answer for one server and
one of them is named by no record."""

import json
import socket
import subprocess

from conftest import pid_alive, wait_until
from harness import WATCHER


def test_an_adoption_nobody_recorded_leaves_the_server_to_its_recorded_watcher(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "web", "--", "sleep", "1000")
    record = sandbox.record("web")
    ours, theirs = socket.socketpair()
    adopter = subprocess.Popen([str(WATCHER), "adopt", "--state-dir", str(sandbox.dir), "--name", "web"],
                               stdin=theirs, stdout=theirs, stderr=subprocess.DEVNULL)
    sandbox.pids.append(adopter.pid)
    theirs.close()
    ours.settimeout(10)  # an adopter that never answers fails the test instead of hanging it
    ours.sendall((json.dumps({"pid": record["pid"], "start": record["pid_start"]}) + "\n").encode())
    report = json.loads(ours.makefile().readline())
    adopter.wait()  # the launcher; the watcher it forked goes on
    assert report["ok"], report
    ours.close()  # the adopting client "died": no word, and the record still names the old watcher
    assert wait_until(lambda: not pid_alive(report["watcher_pid"]), timeout=5.0), \
        "a watcher no record names stayed to supervise the server"
    assert pid_alive(record["pid"]) and pid_alive(record["watcher_pid"])
    assert sandbox.record("web")["watcher_pid"] == record["watcher_pid"]
