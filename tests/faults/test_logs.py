"""The log under a fast or hostile server: one writer, the log pump, keeps
the log and <log>.1 within --log-max-size however fast the server writes
(a 50 MB burst with a 1M cap once produced a 52 MB <log>.1), loses no line
at a rotation, and is followed across rotations by the log probe, `logs -n`
and `logs -f`. A server that never ran leaves no empty log."""

import subprocess
import time

from conftest import CLI, PYTHON, pid_alive, wait_until

MB = 1024 * 1024
# Numbered 100-byte lines as fast as Python can write them, then silence.
BURST = ("import sys\n"
         "w = sys.stdout.write\n"
         "for i in range({count}):\n"
         "    w('%08d %s\\n' % (i, 'x' * 90))\n"
         "sys.stdout.flush()\n"
         "import time; time.sleep(1000)\n")


def numbers(text):
    lines = text.splitlines()
    assert all(len(line) == 99 and line[9:] == "x" * 90 for line in lines), "a line was cut or mangled"
    return [int(line[:8]) for line in lines]


def test_a_50_mb_burst_keeps_both_files_under_a_1m_cap_and_loses_no_line(sandbox):
    client = sandbox.client()
    count = 500_000  # 50 MB
    sandbox.run("use", "--pid", client.pid, "--log-max-size", "1M", "burst", "--", PYTHON, "-c",
                BURST.format(count=count))
    log, old = sandbox.dir / "burst.log", sandbox.dir / "burst.log.1"
    last = f"{count - 1:08d} "

    def finished():
        try:
            return log.read_text().splitlines()[-1].startswith(last)
        except (OSError, IndexError):
            return False

    def size(path):
        try:
            return path.stat().st_size
        except FileNotFoundError:  # between the pump's rename and its next write
            return 0

    largest = 0
    deadline = time.monotonic() + 120
    while not finished() and time.monotonic() < deadline:
        largest = max(largest, size(log), size(old))
        time.sleep(0.01)
    assert finished(), "the burst did not reach the log"
    assert max(largest, size(log), size(old)) <= MB
    kept = numbers(old.read_text()) + numbers(log.read_text())
    assert kept == list(range(kept[0], count)), "a line was lost at a rotation"
    assert len(kept) > MB // 100


def test_logs_n_reads_the_end_of_the_rotated_file_when_the_log_is_short(sandbox):
    client = sandbox.client()
    # 15 lines of 100 bytes against a 1000-byte cap: 10 in log.1, 5 in the log.
    sandbox.run("use", "--pid", client.pid, "--log-max-size", "1000", "short", "--", "sh", "-c",
                "for i in $(seq 15); do printf '%099d\\n' $i; done; exec sleep 1000")
    assert wait_until(lambda: (sandbox.dir / "short.log").exists()
                      and sandbox.run("logs", "short", "-n", "1").stdout == f"{15:099d}\n")
    assert sandbox.run("logs", "short", "-n", "8").stdout == "".join(f"{i:099d}\n" for i in range(8, 16))


def test_logs_follow_goes_on_across_rotations(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "--log-max-size", "1000", "ticker", "--", "sh", "-c",
                "i=0; while true; do i=$((i+1)); printf '%099d\\n' $i; sleep 0.01; done")
    assert wait_until(lambda: (sandbox.dir / "ticker.log").exists())
    follower = subprocess.Popen([str(CLI), "logs", "ticker", "-n", "1", "-f"], env=sandbox.env,
                                stdout=subprocess.PIPE, text=True)
    sandbox.pids.append(follower.pid)
    try:
        lines = [follower.stdout.readline() for _ in range(60)]  # about six rotations
    finally:
        follower.kill()
        follower.wait()
        follower.stdout.close()
    got = [int(line) for line in lines]
    assert got == list(range(got[0], got[0] + 60)), "logs -f skipped or repeated lines at a rotation"


def test_a_ready_line_written_after_a_rotation_during_the_probe_is_seen(sandbox):
    client = sandbox.client()
    # 1.5 MB against a 1M cap, a pause (the old watcher rotated by copying
    # and truncating, leaving the probe's offset past the new end), then the
    # ready line. The probe reads by (file, offset) and follows the rename.
    script = ("import sys, time\n"
              "for i in range(15000): sys.stdout.write('%099d\\n' % i)\n"
              "sys.stdout.flush(); time.sleep(1.5)\n"
              "sys.stdout.write('READY\\n'); sys.stdout.flush()\n"
              "time.sleep(1000)\n")
    result = sandbox.run("use", "--pid", client.pid, "--log-max-size", "1M", "--ready-log", "^READY$",
                         "--ready-timeout", "10s", "late", "--", PYTHON, "-c", script, check=False)
    assert result.returncode == 0, result.stderr
    assert sandbox.info("late")["state"] == "active"


def test_a_command_that_cannot_run_leaves_no_empty_log(sandbox):
    client = sandbox.client()
    script = sandbox.root / "ghost"
    script.write_text("#!/no/such/interpreter\n")  # found and executable, but exec fails
    script.chmod(0o755)
    result = sandbox.run("use", "--pid", client.pid, "ghost", "--", script, check=False)
    assert result.returncode == 1
    assert not (sandbox.dir / "ghost.log").exists()
    assert wait_until(lambda: sandbox.watcher_pids() == [])


def test_a_quiet_server_has_no_log_until_it_speaks_and_logs_prints_nothing(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "quiet", "--", "sleep", "1000")
    assert not (sandbox.dir / "quiet.log").exists()
    result = sandbox.run("logs", "quiet")
    assert (result.stdout, result.stderr) == ("", "")


def test_the_pump_is_its_own_process_that_doctor_never_takes_for_a_watcher(sandbox):
    client = sandbox.client()
    sandbox.run("use", "--pid", client.pid, "web", "--", "sh", "-c", "echo hi; exec sleep 1000")
    record = sandbox.record("web")
    assert sandbox.watcher_pids() == [record["watcher_pid"]]
    pumps = [pid for pid, cmdline in __import__("harness").processes()
             if len(cmdline) > 1 and cmdline[1] == b"log-pump" and str(sandbox.dir).encode() in b" ".join(cmdline)]
    assert len(pumps) == 1
    # Killing the watcher leaves the pump to the server, which keeps its
    # output flowing; doctor gives the server a new watcher and stops nothing.
    import os, signal
    os.kill(record["watcher_pid"], signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(record["watcher_pid"]))
    sandbox.run("admin", "doctor")
    assert pid_alive(record["pid"]) and pid_alive(pumps[0])
    sandbox.run("admin", "stop", "web")
    assert wait_until(lambda: not pid_alive(pumps[0])), "the pump outlived the server's output"
