"""The module from several threads, several processes at once, and after os.fork()."""

import os
import subprocess
import threading
import time

from py_support import PYTHON, SLEEP, wait_until

import sharedserver
from sharedserver import Outcome, State

IGNORES_TERM = [PYTHON, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                "print('ready', flush=True); time.sleep(1000)"]


def test_threads_using_one_name_at_once_start_exactly_one_server(sandbox):
    clients = [sandbox.sleeper() for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    leases, errors = [], []

    def attach(pid):
        try:
            barrier.wait()
            leases.append(sharedserver.use("race", SLEEP, pid=pid))
        except Exception as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=attach, args=(c.pid,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    info = sandbox.remember("race")
    assert [lease.outcome for lease in leases].count(Outcome.STARTED) == 1
    assert {lease.pid for lease in leases} == {info.pid}
    assert sorted(c.pid for c in info.clients) == sorted(c.pid for c in clients)
    for lease in leases:
        lease.release()
    assert sharedserver.check("race") is State.GRACE


def test_processes_using_one_name_at_once_start_exactly_one_server(sandbox):
    script = ("import sys, sharedserver; l = sharedserver.use('crowd', ['sleep', '1000']); "
              "print(l.pid, l.outcome.value, flush=True); sys.stdin.readline()")
    procs = [subprocess.Popen([PYTHON, "-c", script], env=sandbox.env, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE) for _ in range(6)]
    sandbox.procs.extend(procs)
    reports = [p.stdout.readline().split() for p in procs]
    info = sandbox.remember("crowd")
    assert {int(pid) for pid, _ in reports} == {info.pid}
    assert sorted(outcome for _, outcome in reports) == ["attached"] * 5 + ["started"]
    assert info.refcount == 6


def test_a_blocking_stop_releases_the_gil(sandbox):
    with sharedserver.use("slow", IGNORES_TERM):
        sandbox.remember("slow")
        wait_until(lambda: "ready" in sharedserver.log_tail("slow"), what="the server to ignore SIGTERM")
        ticks = []
        done = threading.Event()

        def count():
            while not done.is_set():
                ticks.append(time.monotonic())
                time.sleep(0.001)

        counter = threading.Thread(target=count)
        counter.start()
        started = time.monotonic()
        try:
            sharedserver.stop("slow", force=True, timeout="500ms")
        finally:
            done.set()
            counter.join()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.5
    # The other thread kept running during the whole wait.
    assert len([t for t in ticks if started < t < started + elapsed]) > 10


def test_a_forked_child_uses_the_module_as_its_own_client(sandbox):
    lease = sharedserver.use("forked", SLEEP)
    sandbox.remember("forked")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            lease.release()  # the parent's reference: a child must not drop it
            with sharedserver.use("forked", SLEEP) as mine:
                info = sharedserver.status("forked")
                ok = (mine.client_pid == os.getpid() and mine.pid == lease.pid and
                      sorted(c.pid for c in info.clients) == sorted([os.getppid(), os.getpid()]))
            status = 0 if ok and sharedserver.status("forked").refcount == 1 else 2
        finally:
            os.write(write_end, str(status).encode())
            os._exit(status)
    os.close(write_end)
    try:
        assert os.read(read_end, 16) == b"0"
        assert os.waitpid(pid, 0)[1] == 0
        info = sharedserver.status("forked")
        assert [c.pid for c in info.clients] == [os.getpid()]
        assert lease.released is False
    finally:
        os.close(read_end)
        lease.release()


def test_a_forked_child_that_dies_holding_a_lease_is_noticed(sandbox):
    with sharedserver.use("forked", SLEEP):
        sandbox.remember("forked")
        pid = os.fork()
        if pid == 0:
            try:
                sharedserver.use("forked")
            finally:
                os._exit(0)  # no release: the watcher must notice the death
        os.waitpid(pid, 0)
        wait_until(lambda: any(e["event"] == "client-died" and e.get("client") == pid
                               for e in sharedserver.events("forked")), what="the child's death to be noticed")
        assert [c.pid for c in sharedserver.status("forked").clients] == [os.getpid()]
