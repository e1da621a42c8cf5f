"""A client is any live process, pid 1 included (a program that is PID 1 in
a container, or `--pid 1` from a script that means "the whole session"):
`use` accepted it, but the readers then called the clients record corrupt,
so `list` hid the server and `doctor` dropped every client."""

import json

from conftest import wait_until


def test_pid_1_is_a_client_that_list_info_and_doctor_keep(sandbox):
    other = sandbox.client()
    sandbox.run("use", "--pid", "1", "web", "--", "sleep", "1000")
    sandbox.run("use", "--pid", other.pid, "web")

    listed = json.loads(sandbox.run("list", "--json").stdout)
    assert [s["name"] for s in listed] == ["web"]
    assert sorted(c["pid"] for c in sandbox.info("web")["clients"]) == sorted([1, other.pid])
    assert sandbox.run("check", "web", check=False).returncode == 0

    assert sandbox.run("admin", "doctor").stdout == "nothing to repair\n"
    assert sorted(c["pid"] for c in sandbox.info("web")["clients"]) == sorted([1, other.pid])

    # The watcher watches pid 1 like any client: the other one leaving does
    # not start the grace period.
    sandbox.run("unuse", "--pid", other.pid, "web")
    assert wait_until(lambda: [c["pid"] for c in sandbox.info("web")["clients"]] == [1])
    assert sandbox.info("web")["state"] == "active"
    sandbox.run("unuse", "--pid", "1", "web")
    assert sandbox.info("web")["state"] == "grace"
    sandbox.run("admin", "stop", "web")
