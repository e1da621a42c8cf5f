"""The event-order guarantee (DESIGN.md §4, events): an event is appended
only after the state it describes is written, under the same lock, so
whoever sees an event sees its state.

To catch a writer between the two, the name's event log is a FIFO: opening
it for writing blocks until a reader comes, so every writer stops at its
event, still holding the name's lock. While it waits (its wchan is
wait_for_partner), the test reads the records; then it reads the event and
checks that the records already showed what the event says. A writer that
appended first and wrote the state after is caught every time, not by luck
of timing."""

import errno
import json
import os
import select
import signal
import subprocess
import threading
import time

from conftest import CLI, pid_alive, wait_until

NAME = "ev"


def read_json(path):
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None


class EventGate:
    """Stops every writer of the name's events at its open() of the log, and
    reads the records while it waits.

    After each stop the FIFO is moved aside and a fresh one takes its path
    before the writer is let go: the writer's next event (it often writes
    two in a row) then stops at the fresh FIFO instead of slipping into the
    old one while it is being read. Old FIFOs stay open for reading until
    the end, so nothing that reached one is lost and no writer can block on
    one for ever."""

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.path = sandbox.dir / f"{NAME}.events.jsonl"
        os.mkfifo(self.path, 0o600)
        self.env_mark = f"SHAREDSERVER_LOCKDIR={sandbox.dir}".encode()
        self.seen = []  # (event, records as they were while its writer waited, or None)
        self.readers = []  # (fd, path) of the FIFOs moved aside
        self.failure = None
        self.paused = threading.Event()  # set: waiting writers are left waiting
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def writer_waiting(self):
        """A process of this sandbox blocked opening the FIFO to write (no
        other FIFO of ours can block one: each has its reader open)."""
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/wchan") as f:
                    if f.read() != "wait_for_partner":
                        continue
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if self.env_mark in f.read().split(b"\0"):
                        return True
            except OSError:
                continue
        return False

    def records(self):
        clients = read_json(self.sandbox.dir / f"{NAME}.clients.json")
        return {"server": read_json(self.sandbox.dir / f"{NAME}.server.json"),
                "clients": None if clients is None else {int(pid) for pid in clients["clients"]}}

    @staticmethod
    def read_available(fd, until_eof, timeout=10):
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until_eof:
                select.select([fd], [], [], 0.5)
            try:
                chunk = os.read(fd, 65536)
            except OSError as e:
                if e.errno != errno.EAGAIN:
                    raise
                if not until_eof:
                    break
                continue
            if not chunk:
                break  # every writer has closed
            data += chunk
        return [json.loads(line) for line in data.decode().splitlines() if line.strip()]

    def serve(self):
        try:
            while not self.done.is_set():
                if self.paused.is_set() or not self.writer_waiting():
                    time.sleep(0.002)
                    continue
                snapshot = self.records()
                aside = self.path.with_name(f"{self.path.name}.{len(self.readers)}")
                os.rename(self.path, aside)
                os.mkfifo(self.path, 0o600)
                fd = os.open(aside, os.O_RDONLY | os.O_NONBLOCK)
                self.readers.append((fd, aside))
                lines = self.read_available(fd, until_eof=True)
                # One writer was waiting: its one line is the event the
                # snapshot belongs to.
                self.seen += [(line, snapshot if i == 0 else None) for i, line in enumerate(lines)]
        except Exception as e:  # reported by the test
            self.failure = e

    def kinds(self):
        return [event["event"] for event, _ in self.seen]

    def mark(self):
        return len(self.seen)

    def wait_for(self, since, *kinds, timeout=15):
        """Waits until `kinds` (each as often as listed) were seen after mark `since`."""
        def arrived():
            later = self.kinds()[since:]
            return all(later.count(k) >= list(kinds).count(k) for k in kinds)
        assert wait_until(arrived, timeout=timeout), \
            f"waited for {kinds}; seen {self.kinds()[since:]} after {self.kinds()[:since]}; {self.diagnosis()}"

    def diagnosis(self):
        """The sandbox's processes and what they wait in, for a failure message."""
        out = []
        for entry in os.listdir("/proc"):
            try:
                with open(f"/proc/{entry}/environ", "rb") as f:
                    if self.env_mark not in f.read().split(b"\0"):
                        continue
                with open(f"/proc/{entry}/wchan") as f:
                    wchan = f.read()
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")[:80]
            except OSError:
                continue
            out.append(f"{entry} {wchan} {cmdline}")
        return f"gate failure: {self.failure!r}; processes: " + "; ".join(out)

    def close(self):
        self.done.set()
        self.thread.join(timeout=15)
        for fd, aside in self.readers:
            self.seen += [(line, None) for line in self.read_available(fd, until_eof=False)]
            os.close(fd)
            aside.unlink()
        self.path.unlink()


def violation(event, records):
    """What the records lacked that the event says; None when they agreed."""
    kind = event["event"]
    server, clients = records["server"], records["clients"]
    pid = event.get("pid")
    names = server is not None and server["pid"] == pid
    if kind == "started" and not names:
        return "no record of the started server"
    if kind == "attached" and (clients is None or event["client"] not in clients):
        return "the client is not in the clients record"
    if kind in ("detached", "client-died") and clients is not None and event["client"] in clients:
        return "the client is still in the clients record"
    if kind == "grace-entered" and (clients is not None or
                                    (server is not None and server["grace_deadline_ms"] != event["deadline"])):
        return "clients are still recorded, or the record has another deadline"
    if kind == "grace-cancelled" and (clients is None or server is None or server["grace_deadline_ms"] != 0):
        return "no clients record, or the record keeps its deadline"
    if kind == "stopping" and names and not (server["stopping"] or server["restarting"]):
        return "the record does not say stopping"
    if kind == "exited" and ((names and not server["restarting"]) or pid_alive(pid)):
        return "the record still names the server as running"
    if kind == "restarting" and not (names and server["restarting"]):
        return "the record does not say restarting"
    if kind == "restarted" and not (names and not server["restarting"]):
        return "the record does not name the new server"
    if kind == "ready" and not (names and server["ready_at_ms"] > 0):
        return "the record does not say ready"
    if kind in ("killed", "gave-up") and (server is not None or clients is not None):
        return "the records are still there"
    if kind == "repaired" and event["what"].startswith("removed") and server is not None:
        return "the record is still there"
    if kind == "adopted" and not (server is not None and server["watcher_pid"] == event["watcher_pid"]):
        return "the record does not name the new watcher"
    return None


def test_every_event_is_visible_only_after_the_state_it_describes(sandbox):
    gate = EventGate(sandbox)
    flag = sandbox.root / "ready"
    try:
        a, b, c, d = (sandbox.client() for _ in range(4))

        # started, attached (the CLI); ready (the watcher)
        m = gate.mark()
        first = subprocess.Popen([str(CLI), "use", "--pid", str(a.pid), "--ready-cmd", f"test -e {flag}",
                                  "--ready-interval", "20ms", NAME, "--", "sleep", "1000"],
                                 env=sandbox.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        sandbox.pids.append(first.pid)
        gate.wait_for(m, "started", "attached")
        flag.touch()
        gate.wait_for(m, "ready")
        assert first.wait(timeout=15) == 0

        m = gate.mark()
        sandbox.run("use", "--pid", b.pid, NAME)                 # attached
        sandbox.run("unuse", "--pid", b.pid, NAME)               # detached
        a.kill()                                                  # client-died, grace-entered (the watcher)
        gate.wait_for(m, "attached", "detached", "client-died", "grace-entered")
        m = gate.mark()
        sandbox.run("use", "--pid", c.pid, NAME)                 # grace-cancelled, attached
        sandbox.run("admin", "restart", NAME)                    # stopping, restarted; exited (the old watcher)
        gate.wait_for(m, "grace-cancelled", "attached", "stopping", "restarted", "exited", "ready")

        # A watcher killed, then a client: the next use adopts the server and
        # drops the dead client itself.
        watcher = sandbox.record(NAME)["watcher_pid"]
        os.kill(watcher, signal.SIGKILL)
        c.kill()
        c.wait()
        # SIGKILL takes effect when the watcher next runs: on a busy machine
        # the next use could still find it alive, and not adopt.
        assert wait_until(lambda: not pid_alive(watcher))
        m = gate.mark()
        sandbox.run("use", "--pid", d.pid, NAME)                 # adopted, client-died, attached
        gate.wait_for(m, "adopted", "client-died", "attached")
        m = gate.mark()
        sandbox.run("admin", "stop", NAME)                       # stopping; exited (the watcher)
        gate.wait_for(m, "stopping", "exited")

        # Restarted by its policy, then given up.
        m = gate.mark()
        sandbox.run("use", "--pid", d.pid, "--restart", "always", "--max-restarts", "1", NAME, "--",
                    "sh", "-c", "sleep 0.3; exit 1")
        gate.wait_for(m, "exited", "restarting", "restarted", "exited", "gave-up")
        # `exited` ends a server's life: clients read how it ended when they see it.
        assert gate.kinds()[m:][-2:] == ["gave-up", "exited"]

        # A probe that fails: probe-failed, stopping, exited.
        m = gate.mark()
        sandbox.run("use", "--pid", d.pid, "--no-wait", "--ready-port", "1", "--ready-timeout", "300ms", NAME, "--",
                    "sleep", "1000")
        gate.wait_for(m, "probe-failed", "stopping", "exited")

        # A grace period that ends.
        m = gate.mark()
        sandbox.run("admin", "start", "--grace-period", "200ms", NAME, "--", "sleep", "1000")
        gate.wait_for(m, "started", "grace-entered", "stopping", "exited")

        # admin kill, and doctor removing the record of a server that is gone.
        m = gate.mark()
        sandbox.run("admin", "start", NAME, "--", "sleep", "1000")
        sandbox.run("admin", "kill", NAME)
        gate.wait_for(m, "killed")
        sandbox.run("admin", "start", NAME, "--", "sleep", "1000")
        record = sandbox.record(NAME)
        os.kill(record["watcher_pid"], signal.SIGKILL)
        os.kill(record["pid"], signal.SIGKILL)
        assert wait_until(lambda: not pid_alive(record["pid"]) and not pid_alive(record["watcher_pid"]))
        m = gate.mark()
        sandbox.run("admin", "doctor", NAME)
        gate.wait_for(m, "repaired")
    finally:
        gate.close()
    assert gate.failure is None, gate.failure
    expected = {"started", "attached", "ready", "detached", "client-died", "grace-entered", "grace-cancelled",
                "stopping", "restarted", "exited", "adopted", "restarting", "gave-up", "probe-failed", "killed",
                "repaired"}
    assert expected <= set(gate.kinds())
    checked = [(event, records) for event, records in gate.seen if records is not None]
    assert {event["event"] for event, _ in checked} >= expected, "some kinds slipped past the gate"
    wrong = [(event, why) for event, records in checked if (why := violation(event, records))]
    assert wrong == [], "events visible before their state:\n" + "\n".join(f"{e}: {why}" for e, why in wrong)


def test_a_server_stopped_before_its_new_watcher_takes_it_over_still_has_its_exit_logged(sandbox):
    gate = EventGate(sandbox)
    try:
        client, other = sandbox.client(), sandbox.client()
        m = gate.mark()
        sandbox.run("use", "--pid", client.pid, NAME, "--", "sleep", "1000")
        gate.wait_for(m, "started", "attached")
        old = sandbox.record(NAME)
        os.kill(old["watcher_pid"], signal.SIGKILL)
        assert wait_until(lambda: not pid_alive(old["watcher_pid"]))

        # The next use adopts the server with a new watcher. Held at its
        # "adopted" event, the new watcher is frozen before it can take the
        # lock; a stop then wins the lock and ends the server first.
        gate.paused.set()
        adopting = subprocess.Popen([str(CLI), "use", "--pid", str(other.pid), NAME], env=sandbox.env,
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        sandbox.pids.append(adopting.pid)
        assert wait_until(gate.writer_waiting, timeout=10)
        watcher = sandbox.record(NAME)["watcher_pid"]
        assert watcher != old["watcher_pid"]
        os.kill(watcher, signal.SIGSTOP)
        try:
            m = gate.mark()
            gate.paused.clear()
            assert adopting.wait(timeout=15) == 0
            sandbox.run("admin", "stop", NAME)
            gate.wait_for(m, "adopted", "attached", "stopping")
            assert not pid_alive(old["pid"])
        finally:
            os.kill(watcher, signal.SIGCONT)
        # It finds the record gone: the exit it did not see is still its to log.
        gate.wait_for(m, "exited")
        exited = [event for event, _ in gate.seen[m:] if event["event"] == "exited"]
        assert [(e["pid"], e["code"], e["unexpected"]) for e in exited] == [(old["pid"], None, False)]
        assert wait_until(lambda: not pid_alive(watcher))
    finally:
        gate.close()
    assert gate.failure is None, gate.failure
