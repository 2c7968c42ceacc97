"""banxway: Python bindings for libbanxway, the communications engine.

    import banxway
    with banxway.Engine("sqlite::memory:") as engine:
        engine.bootstrap("Acme Freight", use=True)
        thread = engine.call("threads.create", subject="Rate request")
        for t in engine.paginate("threads.list"):
            print(t["id"], t["subject"])

Every operation of docs/OPERATIONS.md is reachable through Engine.call (and as
engine.<group>.<verb>(...)); errors raise subclasses of banxway.Error.
"""

from . import _banxway
from ._engine import Engine, EventStream, KeyView, OrgView, Principal
from .errors import (
    AlreadyExists,
    Conflict,
    Error,
    Internal,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
)

__version__: str = _banxway.__version__

__all__ = [
    "__version__",
    "Engine",
    "EventStream",
    "KeyView",
    "OrgView",
    "Principal",
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
