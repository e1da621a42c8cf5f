"""`sharedserver logs`: the last lines of a server's output, also after it
stopped, and following new output."""

import subprocess
import time

from conftest import CLI, wait_until


def test_logs_prints_the_last_lines_also_after_the_server_stopped(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "chatty", "--", "sh", "-c",
                "for i in $(seq 50); do echo line $i; done; echo to stderr >&2; exec sleep 1000")
    assert wait_until(lambda: "to stderr" in sandbox.run("logs", "chatty").stdout)
    assert sandbox.run("logs", "chatty", "-n", "3").stdout == "line 49\nline 50\nto stderr\n"
    assert sandbox.run("logs", "chatty").stdout.splitlines()[0] == "line 32"  # 20 lines by default
    sandbox.run("admin", "stop", "chatty")
    assert sandbox.run("logs", "chatty", "--lines", "1").stdout == "to stderr\n"


def test_logs_follow_prints_new_output_as_it_comes(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "ticker", "--", "sh", "-c",
                "echo first; while sleep 0.1; do echo tick; done")
    follower = subprocess.Popen([str(CLI), "logs", "ticker", "-n", "1", "-f"], env=sandbox.env,
                                stdout=subprocess.PIPE, text=True)
    sandbox.pids.append(follower.pid)
    try:
        lines = [follower.stdout.readline() for _ in range(4)]
    finally:
        follower.kill()
        follower.wait()
        follower.stdout.close()
    assert lines[1:] == ["tick\n"] * 3


def test_logs_of_a_name_that_never_ran(sandbox):
    result = sandbox.run("logs", "nothing", check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("sharedserver: cannot open log file ")


def test_the_log_is_rotated_past_its_cap_keeping_one_old_file(sandbox):
    client = sandbox.client()
    # About 40 KiB a second against a 16 KiB cap.
    sandbox.run("use", "--pid", client.pid, "--log-max-size", "16K", "noisy", "--", "sh", "-c",
                "i=0; while true; do i=$((i+1)); printf '%0400d\\n' $i; sleep 0.01; done")
    log = sandbox.dir / "noisy.log"
    old = sandbox.dir / "noisy.log.1"
    assert wait_until(old.exists, timeout=10)
    # The log pump rotates before a write would pass the cap, between lines.
    for _ in range(20):
        for path in (log, old):
            try:
                assert path.stat().st_size <= 16 * 1024
            except FileNotFoundError:  # renamed a moment ago, the new log not written yet
                pass
        time.sleep(0.1)
    assert old.read_text().endswith("\n")

    # Just after a rotation the log may be empty: wait for the next whole line.
    def last_line_is_whole():
        line = sandbox.run("logs", "noisy", "-n", "1").stdout.strip()
        return len(line) == 400 and line.isdigit()
    assert wait_until(last_line_is_whole, timeout=5)


def test_a_bad_log_max_size_is_refused(sandbox):
    result = sandbox.run("use", "--log-max-size", "10Q", "x", "--", "sleep", "1", check=False)
    assert result.returncode == 2
    assert result.stderr == ('sharedserver: --log-max-size: "10Q" is not a size: expected bytes or a number '
                             "with K, M or G (e.g. 10M)\n")
