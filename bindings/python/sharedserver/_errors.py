"""The exception hierarchy: one class per error code of the C ABI.

Every exception the library raises is a :class:`Error`. The classes for
failures that have a natural builtin counterpart also derive from it, so
``except OSError`` catches a command that could not be started and
``except ValueError`` catches a bad name or duration.
"""

from __future__ import annotations

import builtins
from os import strerror as _os_strerror

from . import _sharedserver

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, Optional, Tuple, Type

# `sharedserver_error` by the names the library gives its codes.
_CODES: Dict[str, int] = {name: value for value, name in _sharedserver.enum_table(_sharedserver.ENUM_ERROR)}


class Error(Exception):
    """Base class of every sharedserver failure.

    ``code`` is the C error code (a negative ``SHAREDSERVER_E*`` value),
    ``path`` the file, directory or command the failure is about (or None),
    ``key`` the definition key a bad value was given in (``"ready.port"``,
    ``"grace_period"``), or None.
    """

    code: int = _CODES["error"]
    path: Optional[str]
    key: Optional[str] = None

    def __init__(self, message: str, *, path: Optional[str] = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Tuple[Any, ...]:
        # Keep path and code across pickling (multiprocessing, concurrent.futures).
        return (_rebuild, (type(self), self.message, self.path, {"code": self.code, "key": self.key}))


class _OSFailure(Error, OSError):
    """An Error that is also an OSError carrying errno, strerror and filename."""

    def __init__(self, message: str, *, errno: Optional[int] = None, path: Optional[str] = None) -> None:
        # OSError's own constructor fills .errno, .strerror and .filename;
        # strerror is the errno's own text, as for every OSError (the whole
        # message is str(error) and .message).
        OSError.__init__(self, errno, _os_strerror(errno) if errno else message, path)
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> Tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.path, {"errno": self.errno}))


def _rebuild(cls: Type[Error], message: str, path: Optional[str], extra: Dict[str, Any]) -> Error:
    if issubclass(cls, _OSFailure):
        return cls(message, errno=extra.get("errno"), path=path)
    error = cls(message, path=path)
    error.code = extra.get("code", cls.code)
    return error


class NotRunningError(Error):
    """No live server runs under that name (attach-only use, unuse, stop...)."""

    code = _CODES["not-running"]


class AlreadyRunningError(Error):
    """A server already runs under that name (admin start)."""

    code = _CODES["already-running"]


class InvalidArgumentError(Error, ValueError):
    """A bad argument: server name, duration, environment entry, pid..."""

    code = _CODES["invalid"]


class SpawnError(_OSFailure):
    """The command could not be started.

    ``errno`` is the error of the failed ``exec`` (e.g. ``errno.ENOENT`` for a
    command that does not exist) and ``filename``/``path`` the command.
    """

    code = _CODES["spawn"]


class WaitTimeoutError(_OSFailure, builtins.TimeoutError):
    """A wait ran out, e.g. a server still alive after stop()'s timeout."""

    code = _CODES["timeout"]


class BusyError(Error):
    """The name is locked by another transaction."""

    code = _CODES["busy"]


class PermissionDeniedError(_OSFailure, builtins.PermissionError):
    """The state directory is not safe (another user's, or writable by others)."""

    code = _CODES["permission"]


class NotAClientError(Error):
    """The pid given to unuse() is not attached to that server."""

    code = _CODES["not-client"]


class CorruptStateError(Error):
    """A record cannot be read; sharedserver.doctor() repairs it."""

    code = _CODES["corrupt"]


class NotFoundError(Error, LookupError):
    """No project file (sharedserver.json) was found, or it does not define that server."""

    code = _CODES["not-found"]


class DefinitionMismatchWarning(UserWarning):
    """use() attached to a server that runs with another command, env or working dir."""


_CLASSES: Tuple[Type[Error], ...] = (
    NotRunningError,
    AlreadyRunningError,
    InvalidArgumentError,
    SpawnError,
    WaitTimeoutError,
    BusyError,
    PermissionDeniedError,
    NotAClientError,
    CorruptStateError,
    NotFoundError,
)
_BY_CODE: Dict[int, Type[Error]] = {cls.code: cls for cls in _CLASSES}


def _from_library(code: int, message: str, sys_errno: int, path: str, key: str = "") -> Error:
    """Build the exception for a failure of the C library (called by the extension)."""
    cls = _BY_CODE.get(code, Error)
    if issubclass(cls, _OSFailure):
        error: Error = cls(message, errno=sys_errno or None, path=path or None)
    else:
        error = cls(message, path=path or None)
    if cls is Error:
        error.code = code
    if key:
        error.key = key
    return error
