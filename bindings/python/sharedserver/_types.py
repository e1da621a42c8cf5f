"""Immutable value types returned by the API: states, status snapshots, exits."""

from __future__ import annotations

import enum
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime, timedelta, timezone
else:
    try:  # CPython's C module: the same classes, without running datetime.py (issue 14)
        from _datetime import datetime, timedelta, timezone
    except ImportError:
        from datetime import datetime, timedelta, timezone

from . import _sharedserver

if TYPE_CHECKING:
    from dataclasses import dataclass, field
    from typing import Any, Dict, Mapping, Optional, Tuple
else:
    # dataclasses imports inspect and typing: most of what `import
    # sharedserver` cost (issue 14). These value types need only what a
    # frozen dataclass gives them, so a small decorator gives it: keyword or
    # positional construction with defaults, assignment raising
    # dataclasses.FrozenInstanceError, equality and hash over the compared
    # fields, and the dataclass repr. Type checkers still see dataclasses.
    class _Field:
        __slots__ = ("default", "hash", "repr", "compare")

        def __init__(self, default, hash, repr, compare):
            self.default, self.hash, self.repr, self.compare = default, hash, repr, compare

    _MISSING = object()

    def field(*, default=_MISSING, hash=None, repr=True, compare=True):
        return _Field(default, compare if hash is None else hash, repr, compare)

    def _frozen_error(self, name, *value):
        import dataclasses

        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def dataclass(frozen):
        def make(cls):
            names = tuple(cls.__dict__.get("__annotations__", {}))
            specs = []
            for name in names:
                spec = cls.__dict__.get(name, _MISSING)
                if not isinstance(spec, _Field):
                    spec = _Field(spec, True, True, True)
                if spec.default is not _MISSING:
                    setattr(cls, name, spec.default)
                elif name in cls.__dict__:
                    delattr(cls, name)
                specs.append((name, spec))
            defaults = {name: spec.default for name, spec in specs}
            compared = tuple(name for name, spec in specs if spec.compare)
            hashed = tuple(name for name, spec in specs if spec.hash)
            shown = tuple(name for name, spec in specs if spec.repr)

            def __init__(self, *args, **kwargs):
                if len(args) > len(names):
                    raise TypeError(f"{cls.__name__}() takes {len(names)} arguments, {len(args)} given")
                values = dict(zip(names, args))
                for key, value in kwargs.items():
                    if key not in defaults or key in values:
                        raise TypeError(f"{cls.__name__}() got an unexpected or repeated argument {key!r}")
                    values[key] = value
                for name in names:
                    if name not in values:
                        if defaults[name] is _MISSING:
                            raise TypeError(f"{cls.__name__}() missing argument {name!r}")
                        values[name] = defaults[name]
                self.__dict__.update(values)

            def __eq__(self, other):
                if other.__class__ is not self.__class__:
                    return NotImplemented
                return all(getattr(self, n) == getattr(other, n) for n in compared)

            def __hash__(self):
                return hash(tuple(getattr(self, n) for n in hashed))

            def __repr__(self):
                inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in shown)
                return f"{cls.__qualname__}({inner})"

            for method in (__init__, __eq__, __hash__, __repr__):
                method.__qualname__ = f"{cls.__qualname__}.{method.__name__}"
                setattr(cls, method.__name__, method)
            cls.__setattr__ = _frozen_error
            cls.__delattr__ = _frozen_error
            return cls
        return make


class State(enum.Enum):
    """The state of a server name (DESIGN.md §3). Values are the C state names."""

    STOPPED = "stopped"    # no live server under that name
    STARTING = "starting"  # spawned, readiness not yet confirmed
    ACTIVE = "active"      # alive with at least one client
    GRACE = "grace"        # alive without clients; stops at grace_deadline
    STOPPING = "stopping"  # being terminated
    CORRUPT = "corrupt"    # in list() only: the record cannot be read (Status.error says why)

    @property
    def running(self) -> bool:
        """True for every state in which the server process is known to be alive."""
        return self not in (State.STOPPED, State.CORRUPT)


class Outcome(enum.Enum):
    """What use() did."""

    STARTED = "started"    # nothing ran; this call started the server
    ATTACHED = "attached"  # joined a server that had clients
    RESCUED = "rescued"    # joined a server in its grace period


class RestartPolicy(enum.Enum):
    """Whether the watcher starts a server again when it exits on its own."""

    NO = "no"
    ON_FAILURE = "on-failure"  # after a non-zero exit or a fatal signal
    ALWAYS = "always"


_PROBES: Dict[str, int] = {name: value for value, name in _sharedserver.enum_table(_sharedserver.ENUM_PROBE)}
_PROBE_NAMES: Dict[int, str] = {value: name for name, value in _PROBES.items()}


@dataclass(frozen=True)
class Ready:
    """How a started server proves it is ready; use() waits for it.

    Build one with the class methods. "{port}" in a target is replaced by the
    server's port (see use(port=...)).
    """

    kind: int  # sharedserver_probe_kind (the library's number for the probe)
    target: str = ""

    def _definition(self) -> Dict[str, Any]:
        """The probe as a definition's "ready" object (the library checks it)."""
        if self.kind == _PROBES["port"]:
            return {"port": int(self.target) if self.target.isdigit() else (self.target or True)}
        return {_PROBE_NAMES.get(self.kind, str(self.kind)): self.target}

    @classmethod
    def port(cls, port: Optional[int] = None) -> Ready:
        """A TCP connect to 127.0.0.1:port succeeds (default: the server's own port)."""
        return cls(_PROBES["port"], "" if port is None else str(port))

    @classmethod
    def socket(cls, path: str) -> Ready:
        """A connect to this Unix socket succeeds."""
        return cls(_PROBES["socket"], path)

    @classmethod
    def http(cls, url: str) -> Ready:
        """GET of this http:// URL answers 2xx or 3xx."""
        return cls(_PROBES["http"], url)

    @classmethod
    def command(cls, shell: str) -> Ready:
        """This shell line (sh -c, with the server's environment) exits 0."""
        return cls(_PROBES["cmd"], shell)

    @classmethod
    def log(cls, pattern: str) -> Ready:
        """A new line of the server's output matches this RE2 regex."""
        return cls(_PROBES["log"], pattern)


# The numbers of the C enums, by the names the library gives them (its enum
# tables): the members above are the Python API, the library the numbering.
_STATES: Dict[int, State] = {value: State(name) for value, name in _sharedserver.enum_table(_sharedserver.ENUM_STATE)}
_OUTCOMES: Dict[int, Outcome] = {
    value: Outcome(name) for value, name in _sharedserver.enum_table(_sharedserver.ENUM_OUTCOME)}


def _state(value: int) -> State:
    return _STATES[value]


def _outcome(value: int) -> Outcome:
    return _OUTCOMES[value]


def _time(ms: int) -> Optional[datetime]:
    """Unix milliseconds -> an aware UTC datetime; 0 means "none"."""
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms > 0 else None


@dataclass(frozen=True)
class Client:
    """One process attached to a server."""

    pid: int
    attached_at: Optional[datetime]
    metadata: Optional[str]


@dataclass(frozen=True)
class Status:
    """A snapshot of one server name, read without locking.

    A stopped name has ``state == State.STOPPED``, no pid, no clients and an
    empty command. A name whose record cannot be read is listed with
    ``state == State.CORRUPT`` and the reason in ``error`` (a server may run
    under it; ``admin doctor`` repairs it). Times are timezone-aware UTC
    datetimes.
    """

    name: str
    state: State
    pid: Optional[int]
    watcher_pid: Optional[int]
    clients: Tuple[Client, ...]
    command: Tuple[str, ...]
    env: Mapping[str, str] = field(hash=False)  # read-only mapping: not hashable
    working_dir: Optional[str]
    log_file: Optional[str]
    grace_period: timedelta
    grace_deadline: Optional[datetime]
    started_at: Optional[datetime]
    port: Optional[int]           # allocated or fixed port; None when it has none
    ready_at: Optional[datetime]  # when the readiness probe passed; None while starting
    restarts: int                 # restarts by the watcher within the restart window
    json: str = field(repr=False, compare=False)
    error: Optional[str] = None   # why the record cannot be read; None unless CORRUPT
    depends_on: Tuple[str, ...] = ()  # the servers it needs (its definition's depends_on)
    needed_by: Tuple[str, ...] = ()   # the running servers that need it (each holds a reference on it)

    @property
    def refcount(self) -> int:
        """Number of attached clients (the server itself is not one)."""
        return len(self.clients)

    @property
    def running(self) -> bool:
        return self.state.running

    @classmethod
    def _from_library(cls, raw: Mapping[str, Any]) -> Status:
        env = {}
        for entry in raw["env"]:
            key, _, value = entry.partition("=")
            env[key] = value
        return cls(
            name=raw["name"],
            state=_state(raw["state"]),
            pid=raw["pid"] or None,
            watcher_pid=raw["watcher_pid"] or None,
            clients=tuple(Client(pid, _time(at), meta or None) for pid, at, meta in raw["clients"]),
            command=tuple(raw["command"]),
            env=types.MappingProxyType(env),
            working_dir=raw["working_dir"] or None,
            log_file=raw["log_file"] or None,
            grace_period=timedelta(milliseconds=raw["grace_period_ms"]),
            grace_deadline=_time(raw["grace_deadline_ms"]),
            started_at=_time(raw["started_at_ms"]),
            port=raw["port"] or None,
            ready_at=_time(raw["ready_at_ms"]),
            restarts=raw["restarts"],
            json=raw["json"],
            error=raw["error"] or None,
            depends_on=tuple(raw["depends_on"]),
            needed_by=tuple(raw["needed_by"]),
        )


@dataclass(frozen=True)
class Exit:
    """How the last server under a name ended."""

    exit_code: Optional[int]  # None when it died by a signal
    signal: Optional[int]     # None when it exited
    at: Optional[datetime]
    unexpected: bool          # True when no client, stop() or grace expiry ended it
    # From Context.exit() (the library's exit info); defaults for last_exit().
    reason: Optional[str] = None  # "exited", "signalled", "probe-failed", "gave-up", "stopped", ...
    message: str = ""             # one line, composed by the library
    log_tail: str = ""
    pid: Optional[int] = None
    restarts: int = 0
    while_starting: bool = False


@dataclass(frozen=True)
class Change:
    """One change of a watched server: an event of its event log (Context.changes())."""

    name: str
    kind: str        # the event: "started", "ready", "attached", "exited", ...
    state: "State"   # the name's state when the change was read
    pid: Optional[int]
    at: Optional[datetime]
    event: Dict[str, Any]  # the whole event as recorded
