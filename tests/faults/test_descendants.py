"""What a server starts is the server's: its descendants are tracked (the
watcher is their subreaper, so a double fork stays in its tree) and stopped
with it, and so is whatever outlives its leader. A server started from
inside another server is that other watcher's, not the outer server's."""

import time

from conftest import CLI, PYTHON, wait_until
from process_tree import alive, env_value, stat, tag, zombie_children  # noqa: F401

# A server that daemonizes: it forks a child that leaves its session and
# group (setsid) and sleeps, and exits 0 once the child has left.
DAEMON = [PYTHON, "-c", """
import os
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    os.close(w)
    os.execvp("sleep", ["sleep", "1000"])
os.close(w)
os.read(r, 1)
"""]


def exited_events(sandbox, name):
    return [e for e in sandbox.events(name) if e["event"] == "exited"]


def test_a_daemonizing_server_is_stopped_whole_when_its_leader_exits(sandbox, tag):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "daemon", "--", *DAEMON)
    assert wait_until(lambda: exited_events(sandbox, "daemon"), timeout=10)
    assert wait_until(lambda: not tag.processes(), timeout=10), \
        f"the daemon {tag.processes()} the server forked runs on, untracked, after its leader exited"
    assert exited_events(sandbox, "daemon")[0]["leftovers"] == 1
    assert not (sandbox.dir / "daemon.server.json").exists()


def test_each_use_of_a_daemonizing_server_leaves_no_copy_behind(sandbox, tag):
    client = sandbox.client()
    for attempt in range(3):
        sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "daemon", "--", *DAEMON)
        assert wait_until(lambda: len(exited_events(sandbox, "daemon")) == attempt + 1, timeout=10)
        assert wait_until(lambda: not tag.processes(), timeout=10), \
            f"after use #{attempt + 1}: copies {tag.processes()} of the daemon run side by side"


def test_a_double_forked_child_of_a_foreground_server_is_stopped_with_it(sandbox, tag):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "web", "--",
                "sh", "-c", "(setsid sleep 1000 &); exec sleep 1000")
    record = sandbox.record("web")

    def orphans():
        return [p for p in tag.processes() if p != record["pid"]]

    # Until the subshell that forked it exits, the orphan is not one yet (and
    # the subshell itself carries the tag): wait for the one left, adopted.
    assert wait_until(lambda: len(orphans()) == 1 and stat(orphans()[0])[1] == record["watcher_pid"], timeout=10), \
        f"the watcher did not adopt the orphan (not a subreaper): {[(p, stat(p)[1]) for p in orphans()]}"

    sandbox.run("admin", "stop", "web")

    assert wait_until(lambda: not tag.processes()), f"{tag.processes()} outlived the stopped server"


def test_the_watcher_reaps_the_orphans_it_adopts(sandbox, tag):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "web", "--",
                "sh", "-c", "(setsid sleep 1 &); (setsid sleep 1.2 &); exec sleep 1000")
    watcher = sandbox.record("web")["watcher_pid"]
    # Seen first, so that the wait below is for their end and not before their start.
    assert wait_until(lambda: len(tag.processes()) == 3, timeout=10)
    assert wait_until(lambda: len(tag.processes()) == 1, timeout=10)
    assert wait_until(lambda: not zombie_children(watcher), timeout=5), \
        f"zombies {zombie_children(watcher)} of adopted orphans are left unreaped"
    assert alive(sandbox.record("web")["pid"])
    sandbox.run("admin", "stop", "web")


def test_a_server_started_inside_another_keeps_running_when_the_outer_stops(sandbox, tag):
    client = sandbox.client()
    inner_use = f'"{CLI}" use --grace-period 1m inner -- sleep 1000 >/dev/null 2>&1; exec sleep 1000'
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "outer", "--", "sh", "-c", inner_use)
    assert wait_until(lambda: sandbox.record("inner"), timeout=10)
    outer, inner = sandbox.record("outer"), sandbox.record("inner")
    assert wait_until(lambda: alive(inner["pid"]))
    # The inner server is its own watcher's, with its own identity.
    assert env_value(inner["pid"], "SHAREDSERVER_INSTANCE") == inner["instance"] != outer["instance"]
    assert env_value(inner["pid"], "SHAREDSERVER_NAME") == "inner"
    assert env_value(inner["watcher_pid"], "SHAREDSERVER_INSTANCE") is None

    sandbox.run("admin", "stop", "outer")

    assert not alive(outer["pid"])
    time.sleep(0.5)
    assert alive(inner["pid"]) and alive(inner["watcher_pid"]), "stopping the outer server stopped the inner one"
    assert sandbox.info("inner")["state"] == "grace"  # its only client was the outer server's shell
    sandbox.run("admin", "stop", "inner")
    assert wait_until(lambda: not tag.processes())


def test_a_server_knows_its_name_instance_and_state_dir(sandbox, tag):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--env", tag.entry, "--env", "SHAREDSERVER_INSTANCE=forged",
                "web", "--", "sleep", "1000")
    record = sandbox.record("web")
    assert env_value(record["pid"], "SHAREDSERVER_NAME") == "web"
    assert env_value(record["pid"], "SHAREDSERVER_STATE_DIR") == str(sandbox.dir)
    assert env_value(record["pid"], "SHAREDSERVER_INSTANCE") == record["instance"]
    assert len(record["instance"]) == 32
    sandbox.run("admin", "stop", "web")
