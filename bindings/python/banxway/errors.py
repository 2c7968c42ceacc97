"""Exceptions raised by banxway, one class per library error code.

Every failure the library reports carries a stable code name (``"not_found"``...), a message,
and sometimes a JSON object of details (for example which field was wrong). They all derive from
:class:`Error`, so ``except banxway.Error`` catches anything the engine refuses.
"""

from __future__ import annotations

import json
from typing import Any, Dict, Optional, Type

__all__ = [
    "Error",
    "InvalidArgument",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "Unauthenticated",
    "Conflict",
    "PayloadTooLarge",
    "RateLimited",
    "Unavailable",
    "Internal",
]


class Error(Exception):
    """Base of every banxway error.

    Attributes:
        code: the library's code name, e.g. ``"not_found"``.
        message: human-readable description.
        details: dict of extra information (may be empty).
    """

    code: str = "internal"

    def __init__(self, message: str = "", *, code: Optional[str] = None,
                 details: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details: Dict[str, Any] = details if details is not None else {}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        extra = f", details={self.details!r}" if self.details else ""
        return f"{type(self).__name__}({self.message!r}{extra})"

    def __reduce__(self):
        # Exception pickling only replays args; keep code and details across processes.
        return (_rebuild, (type(self), self.message, self.code, self.details))


class InvalidArgument(Error):
    """Params failed validation (unknown field, wrong type, out of range...)."""
    code = "invalid_argument"


class NotFound(Error):
    """No such object (or operation) in the caller's organization."""
    code = "not_found"


class AlreadyExists(Error):
    """A unique value is already taken."""
    code = "already_exists"


class PermissionDenied(Error):
    """The caller's role does not allow this operation."""
    code = "permission_denied"


class Unauthenticated(Error):
    """Missing, unknown, revoked or expired credential."""
    code = "unauthenticated"


class Conflict(Error):
    """The object changed or is in a state that forbids the operation."""
    code = "conflict"


class PayloadTooLarge(Error):
    """Params or content exceed a configured size limit."""
    code = "payload_too_large"


class RateLimited(Error):
    """Too many requests; retry later."""
    code = "rate_limited"


class Unavailable(Error):
    """Storage or a provider is unreachable, busy, or the engine is closed."""
    code = "unavailable"


class Internal(Error):
    """A bug or an unexpected failure inside the library."""
    code = "internal"


_BY_CODE: Dict[str, Type[Error]] = {
    cls.code: cls
    for cls in (InvalidArgument, NotFound, AlreadyExists, PermissionDenied, Unauthenticated,
                Conflict, PayloadTooLarge, RateLimited, Unavailable, Internal)
}


def _rebuild(cls: Type[Error], message: str, code: str, details: Dict[str, Any]) -> Error:
    return cls(message, code=code, details=details)


def _from_status(code: str, message: str, details_json: str) -> Error:
    """Builds the exception for a library status (called from the native module)."""
    details: Dict[str, Any] = {}
    if details_json:
        try:
            parsed = json.loads(details_json)
            details = parsed if isinstance(parsed, dict) else {"value": parsed}
        except ValueError:
            # Details are informative only: never mask the real error with a parse failure.
            details = {"raw": details_json}
    cls = _BY_CODE.get(code)
    if cls is None:
        # A code newer than this package: keep its name, class falls back to the base.
        return Error(message, code=code, details=details)
    return cls(message, details=details)
