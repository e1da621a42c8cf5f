"""Promise 2 under a hostile readiness pattern: `--ready-log '(a+)+$'` made
std::regex backtrack for seconds per line (2^n steps for n a's), and the
single-threaded watcher ignored its ready timeout, client deaths and SIGTERM
meanwhile. Patterns are now matched by RE2, in time linear in the line."""

import os
import signal
import time

from conftest import pid_alive, wait_until

HOSTILE = "(a+)+$"
# 2^60 steps for a backtracking engine; microseconds for RE2.
SERVER = ["sh", "-c", "printf '%s\\n' " + "a" * 60 + "b; exec sleep 1000"]


def start(sandbox, client, *options):
    return sandbox.run("use", "--pid", client.pid, "--ready-log", HOSTILE, *options, "hostile", "--", *SERVER,
                       check=False)


def test_the_ready_timeout_still_ends_a_server_whose_output_a_hostile_pattern_reads(sandbox):
    client = sandbox.client()
    began = time.monotonic()
    result = start(sandbox, client, "--ready-timeout", "2s")
    took = time.monotonic() - began
    assert result.returncode != 0
    assert result.stderr.startswith('sharedserver: server "hostile" did not become ready within 2s (log /(a+)+$/'), \
        result.stderr
    assert took < 6, f"the 2 s ready timeout took {took:.1f} s"
    # `use` returns once the server is dead; its watcher removes the records just after.
    assert wait_until(lambda: not (sandbox.dir / "hostile.server.json").exists() and not sandbox.watcher_pids())


def test_a_client_death_still_ends_the_grace_period_while_a_hostile_pattern_is_probed(sandbox):
    client = sandbox.client()
    start(sandbox, client, "--no-wait", "--grace-period", "0s", "--ready-timeout", "10m")
    pid = sandbox.record("hostile")["pid"]
    time.sleep(0.3)  # the watcher reads the hostile line
    os.kill(client.pid, signal.SIGKILL)
    assert wait_until(lambda: not pid_alive(pid), timeout=5.0), "a client's death went unnoticed"
    assert wait_until(lambda: not (sandbox.dir / "hostile.server.json").exists())


def test_sigterm_still_stops_a_watcher_probing_with_a_hostile_pattern(sandbox):
    client = sandbox.client()
    start(sandbox, client, "--no-wait", "--ready-timeout", "10m")
    record = sandbox.record("hostile")
    time.sleep(0.3)
    os.kill(record["watcher_pid"], signal.SIGTERM)
    assert wait_until(lambda: not pid_alive(record["pid"]), timeout=5.0), "SIGTERM to the watcher went unheeded"
    assert wait_until(lambda: not pid_alive(record["watcher_pid"]), timeout=5.0)
    assert not (sandbox.dir / "hostile.server.json").exists()  # removed before the watcher exits


def test_a_pattern_re2_refuses_fails_use_naming_it_and_starts_nothing(sandbox):
    client = sandbox.client()
    result = sandbox.run("use", "--pid", client.pid, "--ready-log", "(?<=ready)", "x", "--", "sleep", "1000",
                         check=False)
    assert result.returncode == 2
    assert result.stderr == ('sharedserver: invalid readiness log pattern "(?<=ready)": invalid perl operator: (?<'
                             " (patterns are RE2 syntax, without back-references or look-arounds)\n")
    assert list(sandbox.dir.iterdir()) == []
