"""Keep development servers alive across processes by reference counting.

The first process that needs a server starts it, later ones attach, and when
the last one leaves (or dies) the server keeps running for a grace period,
then stops::

    import sharedserver

    with sharedserver.use("redis", ["redis-server", "--port", "6390"], grace_period="30m") as redis:
        print(redis.pid, redis.started)

The module-level functions act on the default state directory
($SHAREDSERVER_LOCKDIR, else $XDG_RUNTIME_DIR/sharedserver, else
/tmp/sharedserver-<uid>), resolved on every call; a :class:`Context` names
another one. Every failure is a :class:`sharedserver.Error`.
"""

from __future__ import annotations

from . import _sharedserver
from ._api import TYPE_CHECKING, Context, Lease, Project, format_duration, parse_duration, project
from ._errors import (
    AlreadyRunningError,
    BusyError,
    CorruptStateError,
    DefinitionMismatchWarning,
    Error,
    InvalidArgumentError,
    NotAClientError,
    NotFoundError,
    NotRunningError,
    PermissionDeniedError,
    SpawnError,
    WaitTimeoutError,
)
from ._types import Change, Client, Exit, Outcome, Ready, RestartPolicy, State, Status

if TYPE_CHECKING:
    from datetime import timedelta
    from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

    from ._api import Duration, Port, StrPath
else:
    def __getattr__(name: str) -> object:
        # The type aliases need typing, which an import should not pay for.
        if name in ("Duration", "Port", "StrPath"):
            from . import _api
            return getattr(_api, name)
        raise AttributeError(f"module 'sharedserver' has no attribute {name!r}")

__version__: str = _sharedserver.version()

# sharedserver.list() is public but left out of __all__, so that
# `from sharedserver import *` does not shadow the builtin list.
__all__ = [
    "AlreadyRunningError",
    "BusyError",
    "Change",
    "Client",
    "Context",
    "CorruptStateError",
    "DefinitionMismatchWarning",
    "Duration",
    "Error",
    "Exit",
    "InvalidArgumentError",
    "Lease",
    "NotAClientError",
    "NotFoundError",
    "NotRunningError",
    "Outcome",
    "PermissionDeniedError",
    "Port",
    "Project",
    "Ready",
    "RestartPolicy",
    "SpawnError",
    "State",
    "Status",
    "WaitTimeoutError",
    "check",
    "doctor",
    "down",
    "events",
    "format_duration",
    "kill",
    "last_exit",
    "library_path",
    "log_tail",
    "parse_duration",
    "project",
    "restart",
    "start",
    "state_dir",
    "status",
    "stop",
    "unuse",
    "up",
    "use",
    "wait",
]


def use(name: str, command: Optional[Sequence[StrPath]] = None, *, grace_period: Optional[Duration] = None,
        env: Optional[Mapping[str, str]] = None, working_dir: Optional[StrPath] = None,
        log_file: Optional[StrPath] = None, metadata: Optional[str] = None, pid: Optional[int] = None,
        ready: Optional[Ready] = None, ready_timeout: Optional[Duration] = None,
        ready_interval: Optional[Duration] = None, wait: bool = True, port: Optional[Port] = None,
        restart: Optional[Union[RestartPolicy, str]] = None, max_restarts: Optional[int] = None,
        restart_window: Optional[Duration] = None, on_mismatch: Optional[str] = None,
        log_max_size: Optional[Union[int, str]] = None, liveness: Optional[Mapping[str, Any]] = None,
        depends_on: Optional[Sequence[str]] = None, config: Optional[StrPath] = None) -> Lease:
    """Attach to server ``name``, starting ``command`` (an argv list) when none runs.

    Returns a :class:`Lease`, a context manager that releases the reference on
    exit. Without a command, the definition comes from the project file
    (``config``, $SHAREDSERVER_CONFIG, or ``sharedserver.json`` found walking
    up from the current directory), the arguments given overriding its values;
    with neither, only attaches (NotRunningError when stopped). ``pid``
    attaches another process instead of this one. ``ready`` makes the call wait
    until the server passes that probe; ``port`` gives it a fixed or "auto"
    port ("{port}" in the command and env is replaced by it); ``restart``
    restarts it when it exits on its own. A running server started with
    another definition gives a DefinitionMismatchWarning (``on_mismatch="warn"``),
    AlreadyRunningError (``"error"``) or is restarted with this one (``"restart"``).
    """
    return Context()._use(name, command, grace_period=grace_period, env=env, working_dir=working_dir,
                          log_file=log_file, metadata=metadata, pid=pid, ready=ready, ready_timeout=ready_timeout,
                          ready_interval=ready_interval, wait=wait, port=port, restart=restart,
                          max_restarts=max_restarts, restart_window=restart_window, on_mismatch=on_mismatch,
                          log_max_size=log_max_size, liveness=liveness, depends_on=depends_on, config=config)


def up(profile: Optional[str] = None, *, pid: Optional[int] = None, config: Optional[StrPath] = None,
       cwd: Optional[StrPath] = None) -> Dict[str, Any]:
    """Attach to every server of ``profile`` and those of no profile (see Context.up)."""
    return Context().up(profile, pid=pid, config=config, cwd=cwd)


def down(profile: Optional[str] = None, *, pid: Optional[int] = None) -> Dict[str, Any]:
    """Release what up() took for this process and ``profile`` (see Context.down)."""
    return Context().down(profile, pid=pid)


def unuse(name: str, *, pid: Optional[int] = None) -> int:
    """Detach ``pid`` (default: this process) from ``name``; returns the refcount left."""
    return Context().unuse(name, pid=pid)


def start(name: str, command: Sequence[StrPath], *, grace_period: Optional[Duration] = None,
          env: Optional[Mapping[str, str]] = None, working_dir: Optional[StrPath] = None,
          log_file: Optional[StrPath] = None, ready: Optional[Ready] = None,
          ready_timeout: Optional[Duration] = None, ready_interval: Optional[Duration] = None,
          wait: bool = True, port: Optional[Port] = None, restart: Optional[Union[RestartPolicy, str]] = None,
          max_restarts: Optional[int] = None, restart_window: Optional[Duration] = None,
          log_max_size: Optional[Union[int, str]] = None, liveness: Optional[Mapping[str, Any]] = None,
          depends_on: Optional[Sequence[str]] = None) -> int:
    """Start ``name`` without attaching (admin); it begins in its grace period. Returns the pid."""
    return Context().start(name, command, grace_period=grace_period, env=env, working_dir=working_dir,
                           log_file=log_file, ready=ready, ready_timeout=ready_timeout,
                           ready_interval=ready_interval, wait=wait, port=port, restart=restart,
                           max_restarts=max_restarts, restart_window=restart_window,
                           log_max_size=log_max_size, liveness=liveness, depends_on=depends_on)


def wait(name: str, *, timeout: Optional[Duration] = None,
         progress: Optional[Callable[[timedelta, str], None]] = None) -> None:
    """Block until ``name`` passes its readiness probe (see Context.wait)."""
    Context().wait(name, timeout=timeout, progress=progress)


def stop(name: str, force: bool = False, *, timeout: Optional[Duration] = None) -> None:
    """Stop ``name`` for every client and wait until it is gone."""
    Context().stop(name, force, timeout=timeout)


def restart(name: str) -> int:
    """Restart ``name`` with the same command, keeping its clients; returns the new pid."""
    return Context().restart(name)


def kill(name: str) -> None:
    """SIGKILL ``name``'s process group and watcher and remove its records."""
    Context().kill(name)


def status(name: str) -> Status:
    """A snapshot of ``name`` (state STOPPED when nothing runs)."""
    return Context().status(name)


def list() -> List[Status]:  # noqa: A001 - the API is sharedserver.list()
    """Every live server, sorted by name, and every name whose record cannot be read (State.CORRUPT)."""
    return Context().list()


def check(name: str) -> State:
    """The state of ``name``."""
    return Context().check(name)


def doctor(name: Optional[str] = None) -> List[str]:
    """Repair stale or corrupt records of ``name`` (or every name); one line per repair."""
    return Context().doctor(name)


def events(name: str) -> List[Dict[str, Any]]:
    """The event log of ``name``, oldest first."""
    return Context().events(name)


def last_exit(name: str) -> Optional[Exit]:
    """How the last server under ``name`` ended, or None."""
    return Context().last_exit(name)


def log_tail(name: str, lines: int = 20) -> str:
    """The last ``lines`` lines of ``name``'s log."""
    return Context().log_tail(name, lines)


def state_dir() -> str:
    """The default state directory, as the module-level functions resolve it now."""
    return Context().state_dir


def library_path() -> str:
    """The libsharedserver file this module loaded."""
    return str(_sharedserver.library_path())
