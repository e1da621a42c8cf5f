"""Promise 2 under a moving wall clock: grace periods, restart windows and
readiness timeouts are measured on CLOCK_BOOTTIME, so a jump of the wall
clock (NTP, a user's `date -s`, a VM resumed) neither cuts a grace period
short nor stretches it, nor resets a restart window."""

import threading
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


def test_a_wall_clock_running_ahead_does_not_reset_the_restart_window(sandbox, clockshift):
    """Restarts are counted in their window on the boot clock: a wall clock
    that keeps jumping forward (here 2 h every 50 ms) made every earlier
    restart look outside the window, so a crashing server was restarted
    forever instead of being given up."""
    env = clockshift.env(sandbox.env)
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--restart", "on-failure", "--max-restarts", "3",
                "--restart-window", "1h", "crashy", "--", "sh", "-c", "sleep 0.2; exit 1", env=env)
    stop = threading.Event()

    def run_ahead():
        hours = 0
        while not stop.wait(0.05):
            hours += 2
            clockshift.jump(hours * 3600)

    ticker = threading.Thread(target=run_ahead)
    ticker.start()
    try:
        gave_up = wait_until(lambda: "gave-up" in [e["event"] for e in sandbox.events("crashy")], timeout=15.0)
    finally:
        stop.set()
        ticker.join()
    restarts = [e for e in sandbox.events("crashy") if e["event"] == "restarted"]
    assert gave_up, f"a crashing server was still restarted after {len(restarts)} restarts in its 1 h window"
    assert len(restarts) == 3
