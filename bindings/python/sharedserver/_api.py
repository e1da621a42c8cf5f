"""Context and Lease: the whole server lifecycle over the private extension."""

from __future__ import annotations

import _thread
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import datetime, timedelta
else:
    try:  # CPython's C module: the same classes, without running datetime.py (issue 14)
        from _datetime import datetime, timedelta
    except ImportError:
        from datetime import datetime, timedelta

from . import _sharedserver
from ._errors import DefinitionMismatchWarning, InvalidArgumentError, NotAClientError, NotRunningError
from ._types import Change, Exit, Outcome, Ready, RestartPolicy, State, Status, _outcome, _state, _time

# typing costs more than the rest of the import together (issue 14): the
# annotations are strings, so it is needed only by type checkers and by
# whoever reads the aliases below at run time (built on first access).
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Type, Union

    #: A duration: text such as "500ms", "30m" or "1h30m", or a timedelta.
    Duration = Union[str, timedelta]
    StrPath = Union[str, "os.PathLike[str]"]
    #: A port: a number, or "auto" for a free port picked at the first start.
    Port = Union[int, str]
else:
    def __getattr__(name: str) -> object:
        if name not in ("Duration", "StrPath", "Port"):
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        from typing import Union

        aliases = {"Duration": Union[str, timedelta], "StrPath": Union[str, "os.PathLike[str]"],
                   "Port": Union[int, str]}
        globals().update(aliases)
        return aliases[name]

_EXIT_REASONS = _sharedserver.ENUM_EXIT_REASON
_CHANGE_KINDS = _sharedserver.ENUM_CHANGE
_enum_cache: Dict[int, Dict[int, str]] = {}


def _enum_names(kind: int) -> Dict[int, str]:
    if kind not in _enum_cache:
        _enum_cache[kind] = {value: name for value, name in _sharedserver.enum_table(kind)}
    return _enum_cache[kind]


def parse_duration(value: Duration) -> timedelta:
    """"30m" (or a timedelta) -> timedelta; raises InvalidArgumentError on bad text."""
    return timedelta(milliseconds=_milliseconds(value, "duration"))


def format_duration(value: Duration) -> str:
    """A duration -> the shortest text the library accepts back ("1h30m")."""
    return str(_sharedserver.format_duration(_milliseconds(value, "duration")))


def _milliseconds(value: Duration, what: str) -> int:
    if isinstance(value, timedelta):
        ms = value // timedelta(milliseconds=1)
        if ms < 0:
            raise InvalidArgumentError(f"sharedserver: invalid {what} {value!r}: it must not be negative")
        return ms
    if isinstance(value, str):
        return int(_sharedserver.parse_duration(value))
    raise TypeError(
        f"sharedserver: invalid {what} {value!r}: expected text such as \"30m\" or a datetime.timedelta, "
        f"not {type(value).__name__}"
    )


def _command(command: Optional[Sequence[StrPath]]) -> List[str]:
    if command is None:
        return []
    if isinstance(command, (str, bytes)):
        raise TypeError(
            f"sharedserver: invalid command {command!r}: pass the argv as a list, e.g. "
            f"{str(command).split()!r}; it is never run through a shell"
        )
    return [os.fspath(arg) for arg in command]


def _path(path: Optional[StrPath]) -> str:
    return "" if path is None else os.fspath(path)


def _pid(pid: Optional[int]) -> int:
    if pid is None:
        return 0
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise TypeError(f"sharedserver: invalid pid {pid!r}: expected an int")
    if pid <= 0:
        raise InvalidArgumentError(f"sharedserver: invalid pid {pid}: expected a positive process id")
    return pid


def _optional_ms(value: Optional[Duration], what: str) -> int:
    return -1 if value is None else _milliseconds(value, what)


def _duration(value: Duration, key: str) -> Union[int, str]:
    """A duration as the definition takes it: text, or whole milliseconds."""
    if isinstance(value, timedelta):
        return value // timedelta(milliseconds=1)
    if isinstance(value, str):
        return value
    raise TypeError(
        f"sharedserver: invalid {key} {value!r}: expected text such as \"30m\" or a datetime.timedelta, "
        f"not {type(value).__name__}"
    )


def _definition_doc(command: Optional[Sequence[StrPath]], base: Optional[Dict[str, Any]], *,
                    grace_period: Optional[Duration] = None, env: Optional[Mapping[str, str]] = None,
                    working_dir: Optional[StrPath] = None, log_file: Optional[StrPath] = None,
                    ready: Optional[Ready] = None, ready_timeout: Optional[Duration] = None,
                    ready_interval: Optional[Duration] = None, port: Optional[Port] = None,
                    restart: Optional[Union[RestartPolicy, str]] = None, max_restarts: Optional[int] = None,
                    restart_window: Optional[Duration] = None, on_mismatch: Optional[str] = None,
                    log_max_size: Optional[Union[int, str]] = None,
                    liveness: Optional[Mapping[str, Any]] = None,
                    depends_on: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """The keyword arguments as a definition in the library's keys, laid over
    ``base`` (a project's definition): every argument given replaces its key,
    ``env`` adds to its variables. The library checks every value; here only
    Python's own types are turned into JSON ones.
    """
    doc = {} if base is None else base
    if command is not None:
        doc["command"] = _command(command)
        doc.pop("args", None)
    if env is not None:
        doc["env"] = {**doc.get("env", {}), **dict(env.items())} if hasattr(env, "items") else env
    if working_dir is not None:
        doc["working_dir"] = _path(working_dir)
    if log_file is not None:
        doc["log_file"] = _path(log_file)
    if grace_period is not None:
        doc.pop("idle_timeout", None)  # the base's name for it
        doc["grace_period"] = _duration(grace_period, "grace_period")
    if ready is not None:
        if not isinstance(ready, Ready):
            raise TypeError(f"sharedserver: invalid ready {ready!r}: expected a probe such as "
                            "sharedserver.Ready.port(6379) or sharedserver.Ready.http(\"http://127.0.0.1:{port}/\")")
        doc["ready"] = ready._definition()
    for key, wait_for in (("timeout", ready_timeout), ("interval", ready_interval)):
        if wait_for is not None:
            doc["ready"] = {**doc.get("ready", {}), key: _duration(wait_for, "ready_" + key)}
    if restart is not None:
        doc["restart"] = restart.value if isinstance(restart, RestartPolicy) else restart
    if restart_window is not None:
        doc["restart_window"] = _duration(restart_window, "restart_window")
    given: Dict[str, Any] = {"port": port, "max_restarts": max_restarts, "on_mismatch": on_mismatch,
                             "log_max_size": log_max_size}
    doc.update((key, value) for key, value in given.items() if value is not None)
    if liveness is not None:  # the definition's own object, e.g. {"http": url, "interval": "5s"}
        doc["liveness"] = dict(liveness.items()) if hasattr(liveness, "items") else liveness
    if depends_on is not None:  # names; one string is one name, not its letters
        doc["depends_on"] = [depends_on] if isinstance(depends_on, str) else list(depends_on)
    return doc


def _definition_text(doc: Dict[str, Any]) -> str:
    import json

    try:
        return json.dumps(doc)
    except (TypeError, ValueError):
        for key, value in doc.items():  # name the argument JSON cannot carry
            try:
                json.dumps(value)
            except (TypeError, ValueError):
                raise TypeError(f"sharedserver: invalid {key} {value!r}: "
                                f"a {type(value).__name__} cannot be part of a definition") from None
        raise


class Project:
    """A project's ``sharedserver.json``: its servers, defined once for every client.

    ``path`` names the file; without it, ``$SHAREDSERVER_CONFIG``, else the
    first ``sharedserver.json``, ``.sharedserver.json`` or
    ``.sharedserver/servers.json`` found walking up from ``start_dir``
    (default: the current directory), else the user's
    ``~/.config/sharedserver/servers.json``. The library reads and checks the file when the
    project is made: NotFoundError when there is none, InvalidArgumentError
    naming the file, server and key of a mistake.
    """

    def __init__(self, path: Optional[StrPath] = None, start_dir: Optional[StrPath] = None) -> None:
        self._project = _sharedserver.Project(_path(path), _path(start_dir))

    @property
    def path(self) -> str:
        """The project file."""
        return str(self._project.path)

    @property
    def names(self) -> List[str]:
        """The servers the file defines, in its order."""
        return [str(name) for name in self._project.names()]

    def defines(self, name: str) -> bool:
        """True when the file defines server ``name``."""
        return bool(self._project.defines(name))

    def lazy(self, name: str) -> bool:
        """True when the definition of ``name`` says ``"lazy": true``."""
        return bool(self._project.lazy(name))

    @property
    def warnings(self) -> List[str]:
        """One line per key the library ignored (unknown to it), naming the file and the key."""
        return [str(line) for line in self._project.warnings()]

    def _definition(self, name: str) -> Dict[str, Any]:
        """The definition of ``name`` in the library's keys; NotFoundError when it has none."""
        import json

        return dict(json.loads(self._project.definition_json(name)))

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.defines(name)

    def __repr__(self) -> str:
        return f"<sharedserver.Project {self.path!r} {self.names!r}>"


def project(path: Optional[StrPath] = None, start_dir: Optional[StrPath] = None) -> Optional[Project]:
    """The project file :class:`Project` would open, or None when there is none.

    A file that exists but is wrong still raises InvalidArgumentError.
    """
    found = _sharedserver.find_project(_path(path), _path(start_dir))
    if found is None:
        return None
    wrapped = Project.__new__(Project)
    wrapped._project = found
    return wrapped


def _definition(name: str, config: Optional[StrPath]) -> Tuple[Optional[Project], Optional[Dict[str, Any]]]:
    """The project that defines ``name`` and its definition there, for a use()
    without a command; (None, None) when none does.

    With ``config`` (or $SHAREDSERVER_CONFIG) the file must exist and define
    the server (NotFoundError otherwise); a file found by walking up from the
    current directory is used only when it defines ``name``.
    """
    if config is not None or os.environ.get("SHAREDSERVER_CONFIG"):
        named = Project(config)
        return named, named._definition(name)  # NotFoundError when it does not define it
    found = project()
    if found is None or not found.defines(name):
        return None, None
    return found, found._definition(name)


class Lease:
    """One reference to a running server, held by ``client_pid``.

    Returned by :func:`use`. Leaving a ``with`` block, or calling
    :meth:`release`, drops the reference; the last release starts the
    server's grace period. A lease belongs to the process that took it: in a
    child made by ``os.fork()`` release() does nothing, so a child never drops
    its parent's reference.
    """

    def __init__(self, context: Context, name: str, client_pid: int, outcome: Outcome, pid: int,
                 refcount: int, mismatch: str, port: int, ready: bool) -> None:
        self._context = context
        self._owner = os.getpid()
        self._lock = _thread.allocate_lock()
        self._released = False
        self.name = name
        #: The attached process: the pid passed to use(), else the caller.
        self.client_pid = client_pid
        #: What use() did: started, attached or rescued.
        self.outcome = outcome
        #: The server's pid.
        self.pid = pid
        #: The server's refcount right after this attach.
        self.refcount = refcount
        #: Non-empty when the running server's command/env/working dir differ from the request.
        self.mismatch = mismatch or None
        #: The server's port (use(port=...)); None when it has none.
        self.port = port or None
        #: True once the readiness probe passed (always, unless use(wait=False)).
        self.ready = ready

    @property
    def started(self) -> bool:
        """True when this use() call started the server."""
        return self.outcome is Outcome.STARTED

    @property
    def released(self) -> bool:
        return self._released

    def release(self) -> None:
        """Drop the reference (once; later calls do nothing).

        A server that is already gone (stopped, killed) or that no longer
        lists this client counts as released.
        """
        with self._lock:
            if self._released or os.getpid() != self._owner:
                return
            self._released = True
        try:
            self._context.unuse(self.name, pid=self.client_pid)
        except (NotRunningError, NotAClientError):
            pass

    def status(self) -> Status:
        return self._context.status(self.name)

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of the server's log (also after it stopped)."""
        return self._context.log_tail(self.name, lines)

    def __enter__(self) -> Lease:
        return self

    def __exit__(self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException],
                 tb: Optional[TracebackType]) -> None:
        self.release()

    def __repr__(self) -> str:
        state = "released" if self._released else "held"
        return (f"<sharedserver.Lease {self.name!r} pid={self.pid} client={self.client_pid} "
                f"{self.outcome.value} {state}>")


class Context:
    """The servers of one state directory.

    ``Context()`` uses the default directory — ``$SHAREDSERVER_LOCKDIR``, else
    ``$XDG_RUNTIME_DIR/sharedserver``, else ``/tmp/sharedserver-<uid>`` —
    resolved once, when the context is made. The module-level functions
    (``sharedserver.use`` ...) resolve it again on every call.

    A context holds only a path: share it between threads, and keep using it
    in a child after ``os.fork()``.
    """

    def __init__(self, state_dir: Optional[StrPath] = None) -> None:
        self._ctx = _sharedserver.Context(_path(state_dir))

    @property
    def state_dir(self) -> str:
        return str(self._ctx.state_dir)

    @property
    def watcher_path(self) -> str:
        """The sharedserver-watcher executable this context spawns ("" if none was found)."""
        return str(self._ctx.watcher_path)

    def use(self, name: str, command: Optional[Sequence[StrPath]] = None, *,
            grace_period: Optional[Duration] = None, env: Optional[Mapping[str, str]] = None,
            working_dir: Optional[StrPath] = None, log_file: Optional[StrPath] = None,
            metadata: Optional[str] = None, pid: Optional[int] = None, ready: Optional[Ready] = None,
            ready_timeout: Optional[Duration] = None, ready_interval: Optional[Duration] = None,
            wait: bool = True, port: Optional[Port] = None, restart: Optional[Union[RestartPolicy, str]] = None,
            max_restarts: Optional[int] = None, restart_window: Optional[Duration] = None,
            on_mismatch: Optional[str] = None, log_max_size: Optional[Union[int, str]] = None,
            liveness: Optional[Mapping[str, Any]] = None, depends_on: Optional[Sequence[str]] = None,
            config: Optional[StrPath] = None) -> Lease:
        """Attach to ``name``, starting ``command`` when no server runs.

        Without a command, the definition comes from the project file
        (``config``, else $SHAREDSERVER_CONFIG, else the ``sharedserver.json``
        found walking up from the current directory), and the arguments given
        override its values; with neither, this only attaches and raises
        NotRunningError when nothing runs. ``pid`` is the client to attach
        (default: this process). With ``ready``, waits until the server passes
        the probe (unless ``wait=False``). ``on_mismatch`` says what to do when
        the running server was started with another definition: "warn"
        (DefinitionMismatchWarning), "error" (AlreadyRunningError) or
        "restart" (restart it with this one, keeping its clients).
        """
        return self._use(name, command, grace_period=grace_period, env=env, working_dir=working_dir,
                         log_file=log_file, metadata=metadata, pid=pid, ready=ready, ready_timeout=ready_timeout,
                         ready_interval=ready_interval, wait=wait, port=port, restart=restart,
                         max_restarts=max_restarts, restart_window=restart_window, on_mismatch=on_mismatch,
                         log_max_size=log_max_size, liveness=liveness, depends_on=depends_on, config=config)

    def _use(self, name: str, command: Optional[Sequence[StrPath]], *, pid: Optional[int],
             config: Optional[StrPath], metadata: Optional[str], wait: bool, **kwargs: Any) -> Lease:
        # Called by use() here and by sharedserver.use(): the warning's
        # stacklevel (3) points at their caller either way.
        client = _pid(pid) or os.getpid()
        # The project's depends_on names are looked up in that same file.
        source, base = _definition(name, config) if command is None else (None, None)
        doc = _definition_doc(command, base, **kwargs)
        text = _definition_text(doc) if doc else ""
        outcome, server_pid, refcount, mismatch, server_port, is_ready = self._ctx.use(
            name, text, client, metadata or "", not wait, source._project if source is not None else None)
        if mismatch and doc.get("on_mismatch", "warn") == "warn":
            import warnings

            warnings.warn(f"sharedserver: \"{name}\" runs with a different definition than asked: {mismatch}",
                          DefinitionMismatchWarning, stacklevel=3)
        return Lease(self, name, client, _outcome(outcome), server_pid, refcount, mismatch, server_port, is_ready)

    def up(self, profile: Optional[str] = None, *, pid: Optional[int] = None, config: Optional[StrPath] = None,
           cwd: Optional[StrPath] = None) -> Dict[str, Any]:
        """Attach ``pid`` (default: this process) to every server of ``profile`` and every
        server no profile names, starting what does not run (the CLI's ``up``).

        The config is ``config``, else the one found from ``cwd`` (see :class:`Project`);
        NotFoundError when there is none. Returns the library's report: ``servers``
        (``name``, ``outcome`` of started, attached, skipped or failed, ``reason``,
        ``pid``), ``warnings`` and the counts. A server that fails does not stop the rest.
        """
        import json

        found = Project(config, cwd)
        return dict(json.loads(_sharedserver.up(self._ctx, found._project, profile or "", _pid(pid))))

    def down(self, profile: Optional[str] = None, *, pid: Optional[int] = None) -> Dict[str, Any]:
        """Release what :meth:`up` took for ``pid`` (default: this process) and ``profile``,
        whatever the config says now. Returns the report (outcomes released, skipped, failed)."""
        import json

        return dict(json.loads(_sharedserver.down(self._ctx, profile or "", _pid(pid))))

    def unuse(self, name: str, *, pid: Optional[int] = None) -> int:
        """Detach ``pid`` (default: this process); returns the refcount left."""
        return int(self._ctx.unuse(name, _pid(pid) or os.getpid()))

    def start(self, name: str, command: Sequence[StrPath], *, grace_period: Optional[Duration] = None,
              env: Optional[Mapping[str, str]] = None, working_dir: Optional[StrPath] = None,
              log_file: Optional[StrPath] = None, ready: Optional[Ready] = None,
              ready_timeout: Optional[Duration] = None, ready_interval: Optional[Duration] = None,
              wait: bool = True, port: Optional[Port] = None, restart: Optional[Union[RestartPolicy, str]] = None,
              max_restarts: Optional[int] = None, restart_window: Optional[Duration] = None,
              log_max_size: Optional[Union[int, str]] = None,
              liveness: Optional[Mapping[str, Any]] = None, depends_on: Optional[Sequence[str]] = None) -> int:
        """Start without attaching a client (admin); the server begins in its grace period.

        Returns the server's pid; AlreadyRunningError when one runs.
        """
        if command is None or not _command(command):
            raise InvalidArgumentError(f"sharedserver: start({name!r}) needs a command to run")
        doc = _definition_doc(command, None, grace_period=grace_period, env=env, working_dir=working_dir,
                              log_file=log_file, ready=ready, ready_timeout=ready_timeout,
                              ready_interval=ready_interval, port=port, restart=restart,
                              max_restarts=max_restarts, restart_window=restart_window,
                              log_max_size=log_max_size, liveness=liveness, depends_on=depends_on)
        return int(self._ctx.start(name, _definition_text(doc), not wait))

    def wait(self, name: str, *, timeout: Optional[Duration] = None,
             progress: Optional[Callable[[timedelta, str], None]] = None) -> None:
        """Block until ``name`` passes its readiness probe.

        ``timeout`` defaults to the server's own probe timeout. ``progress`` is
        called about every 100 ms with the time waited and the newest line of
        the server's log. NotRunningError when it is not running,
        WaitTimeoutError when the wait runs out, SpawnError when the server
        failed its probe or died while starting.
        """
        callback = None
        if progress is not None:
            report = progress

            def callback(elapsed_ms: int, line: str) -> None:
                report(timedelta(milliseconds=elapsed_ms), line)
        self._ctx.wait(name, _optional_ms(timeout, "timeout"), callback)

    def stop(self, name: str, force: bool = False, *, timeout: Optional[Duration] = None) -> None:
        """Stop the server for every client and wait until it is gone.

        Without ``force``, a server still alive after ``timeout`` (default 5 s)
        raises WaitTimeoutError and keeps running; with it, it is killed.
        """
        timeout_ms = -1 if timeout is None else _milliseconds(timeout, "timeout")
        self._ctx.stop(name, bool(force), timeout_ms)

    def restart(self, name: str) -> int:
        """Stop and start the same command again, keeping the clients; returns the new pid."""
        return int(self._ctx.restart(name))

    def kill(self, name: str) -> None:
        """Last resort: SIGKILL the server's group and its watcher, remove every record."""
        self._ctx.kill(name)

    def status(self, name: str) -> Status:
        """A snapshot of ``name``; a stopped name gives state STOPPED."""
        return Status._from_library(self._ctx.info(name))

    def list(self) -> List[Status]:
        """Every live server of the state directory, sorted by name; a name
        whose record cannot be read is listed as State.CORRUPT with the reason."""
        return [Status._from_library(raw) for raw in self._ctx.list()]

    def check(self, name: str) -> State:
        """Just the state of ``name`` (cheaper than status())."""
        return _state(self._ctx.check(name))

    def doctor(self, name: Optional[str] = None) -> List[str]:
        """Repair ``name`` (or every name): returns one line per repair, [] when all was well."""
        report = str(self._ctx.doctor(name or ""))
        return [line for line in report.splitlines() if line]

    def events(self, name: str) -> List[Dict[str, Any]]:
        """The event log of ``name``, oldest first, one dict per event."""
        import json

        text = str(self._ctx.events(name))
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def last_exit(self, name: str) -> Optional[Exit]:
        """How the last server under ``name`` ended, or None when no exit is recorded."""
        raw = self._ctx.last_exit(name)
        if raw is None:
            return None
        code, sig, at, unexpected = raw
        return Exit(exit_code=None if code < 0 else code, signal=sig or None, at=_time(at),
                    unexpected=bool(unexpected))

    def exit(self, name: str, since: Optional[datetime] = None) -> Optional[Exit]:
        """How ``name`` last ended (at or after ``since``), with the library's
        reason and message, or None when no ending is recorded."""
        since_ms = int(since.timestamp() * 1000) if since is not None else 0
        raw = self._ctx.exit_info(name, since_ms)
        if raw is None:
            return None
        reason, code, sig, pid, at, restarts, unexpected, starting, message, tail = raw
        return Exit(exit_code=None if code < 0 else code, signal=sig or None, at=_time(at), unexpected=bool(unexpected),
                    reason=_enum_names(_EXIT_REASONS).get(reason), message=message, log_tail=tail, pid=pid or None,
                    restarts=restarts, while_starting=bool(starting))

    def health(self) -> Dict[str, Any]:
        """Whether the state directory can be used: {"ok", "problems", ...} (the library's rules)."""
        import json

        return dict(json.loads(self._ctx.health()))

    def changes(self, names: Optional[Sequence[str]] = None, *, since: Optional[datetime] = None,
                timeout: Optional[Duration] = None) -> Iterator[Change]:
        """Yield each change of ``names`` (every server when None) as it happens.

        Only new changes, unless ``since`` asks for the recorded ones from that
        time on. Stops when nothing came for ``timeout`` (None: never)."""
        since_ms = int(since.timestamp() * 1000) if since is not None else -1
        # Opened now, not at the first next(): changes from here on are kept.
        watch = self._ctx.watch(list(names or []), since_ms)
        timeout_ms = -1 if timeout is None else _milliseconds(timeout, "timeout")
        return self._follow(watch, timeout_ms)

    @staticmethod
    def _follow(watch: _sharedserver.Watch, timeout_ms: int) -> Iterator[Change]:
        import json

        kinds = _enum_names(_CHANGE_KINDS)
        while True:
            raw = watch.next(timeout_ms)
            if raw is None:
                return
            name, kind, state, pid, at, text = raw
            yield Change(name=name, kind=kinds.get(kind, "other"), state=_state(state), pid=pid or None, at=_time(at),
                         event=json.loads(text))

    def log_tail(self, name: str, lines: int = 20) -> str:
        """The last ``lines`` lines of the server's log file."""
        if isinstance(lines, bool) or not isinstance(lines, int) or lines < 0:
            raise InvalidArgumentError(f"sharedserver: invalid line count {lines!r}: expected an int >= 0")
        return str(self._ctx.log_tail(name, lines))

    def __repr__(self) -> str:
        return f"<sharedserver.Context {self.state_dir!r}>"
