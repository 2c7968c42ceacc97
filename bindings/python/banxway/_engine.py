"""The Pythonic layer over the native engine: dict params in, dicts out, iterators for lists
and events, views that call as another identity."""

from __future__ import annotations

import datetime as _dt
import functools
import json
import os
import threading
import uuid
from collections import deque
from typing import Any, Callable, Deque, Dict, FrozenSet, Iterator, List, Mapping, Optional

from . import _banxway as _native
from .errors import InvalidArgument, Unauthenticated

Principal = _native.Principal

__all__ = ["Engine", "Principal", "EventStream", "OrgView", "KeyView"]


def _json_default(value: Any) -> Any:
    # The library speaks ISO-8601 UTC text for times; let scripts pass datetime objects.
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime: give it a timezone (e.g. datetime.timezone.utc)")
        text = value.astimezone(_dt.timezone.utc).isoformat(timespec="milliseconds")
        return text.replace("+00:00", "Z")
    if isinstance(value, _dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _dumps(params: Optional[Mapping[str, Any]]) -> str:
    if params is None:
        return "{}"
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a mapping, not {type(params).__name__}")
    try:
        return json.dumps(dict(params), ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False, default=_json_default)
    except (TypeError, ValueError) as e:
        # Reported like any other bad param so one `except banxway.InvalidArgument` covers both.
        raise InvalidArgument(f"params are not JSON: {e}", details={"python_error": str(e)}) from e


def _loads(text: str) -> Any:
    return json.loads(text) if text else None


class _Caller:
    """Everything that calls operations: the engine itself and the identity views over it.

    A caller has either a credential (API key / JWT, authenticated by the library on every
    call, so revocation takes effect immediately) or a principal (trusted, from as_org)."""

    _engine: "Engine"
    _credential: Optional[str] = None
    _principal: Optional[Principal] = None  # type: ignore[valid-type]

    # --- calling --------------------------------------------------------------------------

    def call(self, op: str, /, **params: Any) -> Any:
        """Runs operation `op` with keyword params; returns the decoded JSON result.

        List operations return ``{"items": [...], "next_cursor": str | None}``."""
        return self.call_with(op, params)

    def call_with(self, op: str, params: Optional[Mapping[str, Any]] = None, *,
                  credential: Optional[str] = None,
                  principal: Optional[Principal] = None) -> Any:  # type: ignore[valid-type]
        """Like call(), with params as a mapping (for names that are not Python identifiers)
        and optionally another identity: a `credential` (API key or JWT) or a `principal`."""
        if credential is not None and principal is not None:
            raise TypeError("pass credential or principal, not both")
        core = self._engine._core
        text = _dumps(params)
        if credential is not None:
            return _loads(core.call_credential(op, text, credential))
        if principal is not None:
            return _loads(core.call_principal(op, text, principal))
        if self._principal is not None:
            return _loads(core.call_principal(op, text, self._principal))
        return _loads(core.call_credential(op, text, self._require_credential()))

    def paginate(self, op: str, /, **params: Any) -> Iterator[Any]:
        """Yields every item of a list operation, following next_cursor page by page."""
        params = dict(params)
        while True:
            page = self.call_with(op, params)
            yield from page.get("items", [])
            cursor = page.get("next_cursor")
            if not cursor:
                return
            params["cursor"] = cursor

    def events(self, after: int = 0, limit: int = 100, *, follow: bool = False,
               interval: float = 0.5) -> "EventStream":
        """Iterates over the organization's events with id > `after`, oldest first.

        Without `follow` the iterator ends when the log is exhausted. With `follow=True` it
        keeps polling every `interval` seconds until the caller stops (break, or close())."""
        return EventStream(self, after, limit, follow, interval)

    def whoami(self) -> Principal:  # type: ignore[valid-type]
        """The principal this caller acts as."""
        return self._resolve_principal()

    # --- identity helpers -------------------------------------------------------------------

    def _require_credential(self) -> str:
        if self._credential is None:
            raise Unauthenticated(
                "no credential: pass api_key= to Engine(), call use_key(), or use as_org()")
        return self._credential

    def _resolve_principal(self) -> Principal:  # type: ignore[valid-type]
        if self._principal is not None:
            return self._principal
        return self._engine._core.authenticate(self._require_credential())

    # --- operation namespaces: engine.threads.create(subject=...) ---------------------------

    def __getattr__(self, name: str) -> "_OpGroup":
        # Only reached for names that are not real attributes.
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._engine._groups():
            return _OpGroup(self, name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute or operation group {name!r}")


class _OpGroup:
    """`caller.threads` -> calls of `threads.*` operations as methods."""

    def __init__(self, caller: _Caller, group: str) -> None:
        self._caller = caller
        self._group = group

    def __getattr__(self, verb: str) -> Callable[..., Any]:
        op = f"{self._group}.{verb}"
        if verb.startswith("_") or op not in self._caller._engine._op_names():
            raise AttributeError(f"no operation {op!r}")
        return functools.partial(self._caller.call, op)

    def __dir__(self) -> List[str]:
        prefix = self._group + "."
        return sorted(n[len(prefix):] for n in self._caller._engine._op_names()
                      if n.startswith(prefix))

    def __repr__(self) -> str:
        return f"<banxway operations {self._group}.*>"


class EventStream:
    """Iterator over events (dicts with id, type, subject_type, subject_id, thread_id, data,
    created_at). `cursor` is the id of the last event returned, for resuming later."""

    def __init__(self, caller: _Caller, after: int, limit: int, follow: bool,
                 interval: float) -> None:
        if not isinstance(after, int) or after < 0:
            raise InvalidArgument("after must be a non-negative int (an event id)")
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise InvalidArgument("limit must be an int from 1 to 1000")
        self._caller = caller
        self.cursor = after
        self._limit = limit
        self._follow = follow
        self._interval = max(0.0, float(interval))
        self._buffer: Deque[Dict[str, Any]] = deque()
        self._drained = False  # the last poll returned a short batch
        self._stop = threading.Event()
        # Resolve the identity now, so a bad key fails here rather than at the first next().
        self._principal = caller._resolve_principal()

    def __iter__(self) -> "EventStream":
        return self

    def __next__(self) -> Dict[str, Any]:
        while not self._buffer:
            if self._stop.is_set():
                raise StopIteration
            if self._drained:
                if not self._follow:
                    self._stop.set()
                    raise StopIteration
                # Event.wait sleeps without the GIL and wakes at once on close().
                if self._stop.wait(self._interval):
                    raise StopIteration
            self._poll()
        event = self._buffer.popleft()
        self.cursor = event["id"]
        return event

    def _poll(self) -> None:
        if self._caller._credential is not None and self._caller._principal is None:
            # Re-authenticate on each poll of a long stream: a revoked key stops it.
            self._principal = self._caller._resolve_principal()
        batch = _loads(self._caller._engine._core.events_poll(self._principal, self.cursor,
                                                               self._limit))
        self._buffer.extend(batch)
        self._drained = len(batch) < self._limit

    def close(self) -> None:
        """Stops the iteration (also from another thread, waking a follow sleep)."""
        self._stop.set()
        self._buffer.clear()


class OrgView(_Caller):
    """Calls as a trusted system principal (admin) in one organization: for scripts and
    hosts that are themselves the authority, never for requests from users."""

    def __init__(self, engine: "Engine", principal: Principal) -> None:  # type: ignore[valid-type]
        self._engine = engine
        self._principal = principal

    @property
    def org_id(self) -> str:
        return self._principal.org_id

    def __repr__(self) -> str:
        return f"<banxway.OrgView org={self.org_id} actor={self._principal.actor_id}>"


class KeyView(_Caller):
    """Calls with a fixed credential (API key or JWT), sharing the engine."""

    def __init__(self, engine: "Engine", credential: str) -> None:
        self._engine = engine
        self._credential = credential

    def __repr__(self) -> str:
        return "<banxway.KeyView>"


class Engine(_Caller):
    """An open libbanxway engine.

    ``url``: ``sqlite:///path/to.db``, ``sqlite::memory:`` or ``postgres://...``; None uses the
    library default (``sqlite://./var/banxway.db``). ``api_key`` (or a JWT) is the credential
    used by call(); it can be set later with use_key(). ``ai``: the AI provider for reply
    drafts and message analysis, e.g. ``{"provider": "openai", "base_url": "http://127.0.0.1:8080/v1",
    "model": "…", "api_key": "…", "monthly_token_budget": 0, "allow_private_network": True,
    "analyze_messages": True}`` (docs/COMPOSE.md); without it drafts come from templates.
    Close with close() or a with-block."""

    def __init__(self, url: Optional[str] = None, *, api_key: Optional[str] = None,
                 jwt_secret: Optional[str] = None, jwt_audience: Optional[str] = None,
                 jwt_issuer: Optional[str] = None, pool_size: Optional[int] = None,
                 max_params_bytes: Optional[int] = None, watch_mail: bool = True,
                 ai: Optional[dict] = None) -> None:
        self._engine = self
        self._core = _native.Engine(url or "", jwt_secret or "", jwt_audience or "",
                                    jwt_issuer or "", pool_size, max_params_bytes,
                                    bool(watch_mail), dict(ai or {}))
        self._credential = api_key
        # Fetched now so attribute lookups (engine.threads) never touch a closed engine.
        self._names: FrozenSet[str] = frozenset(i["name"] for i in self._core.operations())
        self._group_names = frozenset(n.split(".", 1)[0] for n in self._names)
        self._url = url

    @classmethod
    def from_env(cls, **overrides: Any) -> "Engine":
        """Opens with the variables the server uses: DATABASE_URL, SUPABASE_JWT_SECRET or
        JWT_SECRET, and BANXWAY_API_KEY. Keyword arguments take precedence."""
        kw: Dict[str, Any] = {
            "api_key": os.environ.get("BANXWAY_API_KEY") or None,
            "jwt_secret": (os.environ.get("SUPABASE_JWT_SECRET") or os.environ.get("JWT_SECRET")
                           or None),
        }
        kw.update(overrides)
        url = kw.pop("url", None) or os.environ.get("DATABASE_URL") or None
        return cls(url, **kw)

    # --- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        """Closes the engine; further calls raise banxway.Unavailable. Idempotent."""
        self._core.close()

    @property
    def closed(self) -> bool:
        return self._core.closed

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<banxway.Engine {self._url or '(default)'} {state}>"

    # --- identities ---------------------------------------------------------------------------

    def use_key(self, key: Optional[str]) -> "Engine":
        """Sets the credential call() uses (an API key or JWT; None clears it). Returns self."""
        self._credential = key
        return self

    def authenticate(self, credential: str) -> Principal:  # type: ignore[valid-type]
        """Resolves an API key or JWT to its principal (raises Unauthenticated)."""
        return self._core.authenticate(credential)

    def as_org(self, org_id: str, label: str = "python") -> OrgView:
        """A view calling as a system admin of `org_id` (trusted scripting; `label` is
        recorded as the actor in the audit log)."""
        return OrgView(self, self._core.system_principal(org_id, label))

    def as_key(self, credential: str) -> KeyView:
        """A view calling with another API key or JWT, leaving this engine's key alone."""
        return KeyView(self, credential)

    def bootstrap(self, name: str, *, use: bool = False) -> Dict[str, Any]:
        """Creates an organization and its first admin API key (shown only here).

        Returns ``{"org": {...}, "api_key": "bxk_..."}``; with ``use=True`` the engine also
        starts calling with that key."""
        org_json, key = self._core.bootstrap(name)
        if use:
            self._credential = key
        return {"org": _loads(org_json), "api_key": key}

    # --- introspection ------------------------------------------------------------------------

    def operations(self) -> List[Dict[str, Any]]:
        """The operation registry: name, summary, permission, params_schema (dict), is_list,
        is_write."""
        out = []
        for info in self._core.operations():
            info = dict(info)
            info["params_schema"] = _loads(info["params_schema"])
            out.append(info)
        return out

    def ping(self) -> bool:
        """True when the database answers (raises Unavailable otherwise)."""
        self._core.ping()
        return True

    def start(self, workers: int = 2) -> None:
        """Starts background job workers (outbox sends, scheduled sends, timers) and the IMAP
        watchers of email channel accounts (unless opened with watch_mail=False)."""
        self._core.start(workers)

    def stop(self) -> None:
        """Stops what start() started; a send in progress finishes and is recorded."""
        self._core.stop()

    def run_pending(self, max: int = 100) -> int:  # noqa: A002 - mirrors the C++ name
        """Runs up to `max` due jobs on this thread (without start()); returns how many ran."""
        return self._core.run_pending(max)

    def schema_version(self) -> int:
        return self._core.schema_version()

    def empty(self) -> bool:
        """True when no organization exists yet."""
        return self._core.empty()

    def _op_names(self) -> FrozenSet[str]:
        return self._names

    def _groups(self) -> FrozenSet[str]:
        return self._group_names
