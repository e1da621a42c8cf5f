"""`import sharedserver` loads only what an import needs (issue 14), and the
value types keep what frozen dataclasses gave them."""

import dataclasses
import os
import subprocess
from datetime import timedelta

import pytest
from py_support import PACKAGE_DIR, PYTHON

import sharedserver
from sharedserver import Change, Client, Exit, Ready, State, Status

# Each of these costs more than the rest of the import (callgrind): they are
# imported where a call needs them, never by `import sharedserver`.
DEFERRED = ("dataclasses", "inspect", "typing", "json", "threading", "warnings", "datetime")


def test_import_loads_none_of_the_heavy_standard_modules():
    # -S: without site, whose .pth files may import some of them anyway.
    code = ("import sys; import sharedserver; "
            f"print(' '.join(m for m in {DEFERRED!r} if m in sys.modules))")
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_DIR))
    result = subprocess.run([PYTHON, "-S", "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == []


def test_the_type_aliases_are_still_there_when_asked_for():
    assert timedelta in sharedserver.Duration.__args__
    assert sharedserver.Port.__args__ == (int, str)
    with pytest.raises(AttributeError):
        sharedserver.NoSuchName  # noqa: B018


def exit_record(**changes):
    values = dict(exit_code=1, signal=None, at=None, unexpected=True)
    values.update(changes)
    return Exit(**values)


def test_value_types_are_frozen_compare_by_value_and_hash_like_dataclasses():
    assert exit_record() == exit_record() and exit_record() != exit_record(exit_code=2)
    assert hash(exit_record()) == hash(exit_record())
    assert {Ready.port(80), Ready.port(80)} == {Ready.port(80)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        Ready.port(80).target = "81"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del exit_record().signal
    with pytest.raises(TypeError):
        hash(Change("x", "started", State.ACTIVE, 1, None, {}))  # a dict field, as before
    assert repr(Client(7, None, "m")) == "Client(pid=7, attached_at=None, metadata='m')"
    with pytest.raises(TypeError):
        Client(7, None)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Client(7, None, "m", pid=8)  # type: ignore[misc]


def test_status_leaves_json_out_of_equality_and_repr_and_env_out_of_its_hash():
    fields = dict(name="n", state=State.STOPPED, pid=None, watcher_pid=None, clients=(), command=(),
                  env={"A": "1"}, working_dir=None, log_file=None, grace_period=timedelta(0),
                  grace_deadline=None, started_at=None, port=None, ready_at=None, restarts=0)
    a = Status(**fields, json="{}")
    b = Status(**fields, json='{"other": 1}')
    assert a == b and "json" not in repr(a) and a.error is None
    assert hash(a) == hash(Status(**dict(fields, env={}), json=""))
