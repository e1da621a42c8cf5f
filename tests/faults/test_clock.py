"""Promise 2 under a moving wall clock: grace periods are measured on
CLOCK_BOOTTIME, so a jump of the wall clock (NTP, a user's `date -s`, a VM
resumed) neither cuts a grace period short nor stretches it."""

import time

from conftest import PYTHON, pid_alive, wait_until


def start_in_grace(sandbox, clock, grace):
    env = clock.env(sandbox.env)
    sandbox.run("admin", "start", "--grace-period", grace, "web", "--", PYTHON, "-c",
                "import time; time.sleep(1000)", env=env)
    return sandbox.record("web")["pid"]


def test_a_wall_clock_jump_forward_does_not_end_a_grace_period_early(sandbox, clockshift):
    pid = start_in_grace(sandbox, clockshift, "20s")
    time.sleep(0.3)
    clockshift.jump(3600)
    # Anything that wakes the watcher (here doctor, which checks on it) made
    # it read the deadline against the jumped clock and stop the server.
    sandbox.run("admin", "doctor", env=clockshift.env(sandbox.env))
    time.sleep(2.0)
    assert pid_alive(pid), "a +1 h jump of the wall clock ended a 20 s grace period after 2 s"
    sandbox.run("admin", "stop", "web")


def test_a_wall_clock_jump_backward_does_not_stretch_a_grace_period(sandbox, clockshift):
    pid = start_in_grace(sandbox, clockshift, "2s")
    time.sleep(0.3)
    clockshift.jump(-3600)
    assert wait_until(lambda: not pid_alive(pid), timeout=6.0), \
        "a -1 h jump of the wall clock kept a 2 s grace period running"


def test_a_clock_jump_between_detach_and_the_watcher_waking_keeps_the_period(sandbox, clockshift):
    env = clockshift.env(sandbox.env)
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--grace-period", "20s", "web", "--", PYTHON, "-c",
                "import time; time.sleep(1000)", env=env)
    pid = sandbox.record("web")["pid"]
    clockshift.jump(7200)
    sandbox.run("unuse", "--pid", client.pid, "web", env=env)
    time.sleep(2.0)
    assert pid_alive(pid), "a grace period that began after a clock jump ended early"
    sandbox.run("admin", "stop", "web")
