"""Context.changes(), Context.exit() and Context.health(): what the library
knows, as data, without file names."""

from datetime import datetime, timedelta, timezone

import sharedserver
from py_support import SLEEP


def test_changes_of_one_name_arrive_in_order_and_an_exit_has_a_reason_and_a_message(sandbox):
    ctx = sharedserver.Context()
    seen = []
    watched = ctx.changes(["watched"], timeout="10s")
    other = sharedserver.use("other", SLEEP)
    sandbox.remember("other")
    lease = sharedserver.use("watched", SLEEP)
    sandbox.remember("watched")
    ctx.stop("watched")
    for change in watched:
        seen.append(change)
        if change.kind == "exited":
            break
    other.release()
    kinds = [c.kind for c in seen]
    assert kinds[0] == "started", kinds
    assert "stopping" in kinds and kinds[-1] == "exited", kinds
    assert {c.name for c in seen} == {"watched"}
    assert seen[0].pid == lease.pid
    assert seen[-1].state is sharedserver.State.STOPPED
    exit = ctx.exit("watched")
    assert exit.reason == "stopped"
    assert exit.message == 'server "watched" was stopped by a client'
    assert exit.unexpected is False


def test_changes_since_gives_the_recorded_ones_then_those_another_process_causes(sandbox):
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    early = sharedserver.use("early", SLEEP)
    sandbox.remember("early")
    changes = sharedserver.Context().changes(["early", "late"], since=before, timeout="20s")
    first = next(changes)
    assert (first.name, first.kind, first.pid, first.state) == ("early", "started", early.pid, sharedserver.State.ACTIVE)
    other, report = sandbox.client("late", SLEEP)
    late = next(c for c in changes if c.name == "late")
    assert (late.kind, late.pid) == ("started", report["pid"]), late
    assert late.event["pid"] == report["pid"] and late.at >= before
    other.stdin.write("exit\n")
    other.stdin.flush()
    assert other.wait(10) == 0
    early.release()


def test_health_reports_a_private_state_dir_as_ok(sandbox):
    health = sharedserver.Context().health()
    assert health["ok"] is True, health
    assert health["problems"] == []
    assert health["mode"] == "0700"
