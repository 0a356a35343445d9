"""Who may call what: roles, the role matrix, and the guard every route carries.

There is one matrix (`ROLE_MATRIX`): each route declares an `Access` level and
the matrix says which roles reach it. Routes get their level from an
`AccessGuard` dependency, attached per route (`caller: Reader` in
`tesoro.api.deps`) or, for an area's routers, where `create_app` includes them
(`AREA_POLICIES`).
`create_app` refuses to start if any route lacks a guard, so a new endpoint can
never be public by accident, and the role test walks every route and checks the
real status codes against this matrix.

A caller proves who it is with an API key (`Authorization: Bearer tso_...` or
`X-API-Key: tso_...`) or with the session cookie a web login set. Key requests
need no CSRF token (a browser never attaches them on its own); cookie requests
that write do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Literal

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from sqlalchemy.engine import Engine
from starlette.routing import BaseRoute

try:
    from fastapi.routing import iter_route_contexts as _iter_route_contexts
except ImportError:  # pragma: no cover - FastAPI before 0.16x copies included routes into app.routes
    _iter_route_contexts = None  # type: ignore[assignment]

from tesoro.api.problems import Problem
from tesoro.api.security import SAFE_METHODS, SessionSigner, check_csrf
from tesoro.store.engine import session_scope
from tesoro.store.keys import (
    Role,
    create_session,
    drop_session,
    end_session,
    purge_sessions,
    resolve_session,
    touch_key,
    verify_key,
)
from tesoro.store.tables import ApiKey

__all__ = [
    "ADMIN",
    "ANY_KEY",
    "AREA_POLICIES",
    "PUBLIC",
    "READ",
    "REVIEW",
    "ROLE_MATRIX",
    "SESSION_COOKIE",
    "Access",
    "AccessGuard",
    "Authenticator",
    "Forbidden",
    "NotAuthenticated",
    "Policy",
    "Principal",
    "Role",
    "RouteInfo",
    "iter_routes",
]

SESSION_COOKIE = "tesoro_session"


class Access(StrEnum):
    """What a route does, from the caller's point of view."""

    PUBLIC = "public"  # health, login, static files, the public gallery
    KEY = "key"  # any valid key, gallery keys included (the gallery when the settings require a key)
    READ = "read"  # reading posts, queue, library, authors, KPIs, sources
    REVIEW = "review"  # the coordinator's writes: decisions, products, rights
    ADMIN = "admin"  # keys, settings overview, alert-rule changes


_EVERY_ROLE = frozenset(Role)

# The role matrix: the one place that says which roles reach which access level.
ROLE_MATRIX: Mapping[Access, frozenset[Role]] = MappingProxyType(
    {
        Access.PUBLIC: _EVERY_ROLE,
        Access.KEY: _EVERY_ROLE,
        Access.READ: frozenset({Role.ADMIN, Role.COORDINATOR, Role.VIEWER}),
        Access.REVIEW: frozenset({Role.ADMIN, Role.COORDINATOR}),
        Access.ADMIN: frozenset({Role.ADMIN}),
    }
)


@dataclass(frozen=True, slots=True)
class Policy:
    """Access for reads (GET/HEAD) and for writes (every other method) of one area's routes."""

    read: Access
    write: Access


# The policy of each area's routers; `create_app` attaches it where it includes them.
AREA_POLICIES: Mapping[str, Policy] = MappingProxyType(
    {
        "curator": Policy(read=Access.READ, write=Access.REVIEW),
        "insights": Policy(read=Access.READ, write=Access.REVIEW),
        "alerts": Policy(read=Access.READ, write=Access.ADMIN),
    }
)


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of a request: which key, its role, and how it authenticated."""

    key_pk: int
    key_id: str
    name: str
    role: Role
    via: Literal["key", "session"]
    csrf_token: str | None = None

    @property
    def actor(self) -> str:
        """How decisions by this caller are attributed in the audit log."""
        return f"key:{self.key_id} ({self.name})"


class NotAuthenticated(Problem):
    """No credentials where a route needs them, or a key that is unknown or revoked (401)."""

    def __init__(
        self, detail: str = "an API key is required (Authorization: Bearer ... or X-API-Key)"
    ) -> None:
        super().__init__("unauthenticated", detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(Problem):
    """A caller whose role the matrix does not let through (403)."""

    def __init__(self, role: Role, access: Access) -> None:
        super().__init__("forbidden", f"the {role.value} role may not do this ({access.value})")


def _principal(key: ApiKey, via: Literal["key", "session"], csrf: str | None = None) -> Principal:
    assert key.id is not None
    return Principal(key.id, key.key_id, key.name, Role(key.role), via, csrf)


class Authenticator:
    """Resolves a request's caller from its key or session cookie, with the store behind it.

    Dead sessions do not pile up: a session cookie that no longer works (expired,
    logged out, key revoked) has its row deleted when it is presented, and every
    login, and the first cookie request after `PURGE_EVERY_S`, deletes all dead
    sessions in one statement (`store.keys.purge_sessions`). `clock` (the wall
    clock, UTC) is injectable for tests.
    """

    TOUCH_EVERY_S = 60.0
    PURGE_EVERY_S = 600.0

    def __init__(
        self,
        engine: Engine,
        *,
        signer: SessionSigner,
        session_ttl_s: int,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.signer = signer
        self.session_ttl_s = session_ttl_s
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self._touched: dict[int, float] = {}
        self._purged_at = -1e18  # time.monotonic() of the last purge: none yet
        self._purge_lock = threading.Lock()

    # -- keys ---------------------------------------------------------------------------------------

    def from_key(self, token: str) -> Principal | None:
        with session_scope(self.engine) as session:
            key = verify_key(session, token=token)
            if key is None:
                return None
            principal = _principal(key, "key")
            # last_used_at is a write; once a minute per key and process is plenty for "is it in use?".
            now = time.monotonic()
            if now - self._touched.get(principal.key_pk, -1e9) > self.TOUCH_EVERY_S:
                self._touched[principal.key_pk] = now
                touch_key(session, key_pk=principal.key_pk)
            return principal

    # -- web sessions -------------------------------------------------------------------------------

    def _purge_due(self, *, force: bool = False) -> bool:
        """True for the one caller that should purge now (at most every PURGE_EVERY_S per process)."""
        now = time.monotonic()
        with self._purge_lock:
            if not force and now - self._purged_at < self.PURGE_EVERY_S:
                return False
            self._purged_at = now
            return True

    def purge(self) -> int:
        """Delete every dead session now; returns how many."""
        self._purge_due(force=True)
        with session_scope(self.engine) as session:
            return purge_sessions(session, now=self.clock())

    def login(self, token: str) -> tuple[str, Principal] | None:
        """Check a key and start a session; returns the signed cookie value and the caller.

        A successful login also deletes the dead sessions (logins are rare and it is one
        statement, so the table never holds more than the live sessions plus those that
        died since the last login or purge).
        """
        with session_scope(self.engine) as session:
            key = verify_key(session, token=token)
            if key is None:
                return None
            now = self.clock()
            self._purge_due(force=True)
            purge_sessions(session, now=now)
            session_token, row = create_session(session, api_key=key, ttl_s=self.session_ttl_s, now=now)
            return self.signer.sign(session_token), _principal(key, "session", row.csrf_token)

    def from_cookie(self, cookie: str) -> Principal | None:
        token = self.signer.unsign(cookie, max_age_s=self.session_ttl_s)
        if token is None:
            return None
        with session_scope(self.engine) as session:
            now = self.clock()
            if self._purge_due():
                purge_sessions(session, now=now)
            found = resolve_session(session, token=token, now=now)
            if found is None:
                # Signed by us, so it was a real session: it is dead now, and stays dead.
                drop_session(session, token=token)
                return None
            row, key = found
            return _principal(key, "session", row.csrf_token)

    def logout(self, cookie: str) -> None:
        token = self.signer.unsign(cookie, max_age_s=self.session_ttl_s)
        if token is not None:
            with session_scope(self.engine) as session:
                end_session(session, token=token)

    # -- per request --------------------------------------------------------------------------------

    async def principal(self, request: Request) -> Principal | None:
        """The caller, or None for an anonymous request; an invalid key is a 401, never anonymous."""
        try:
            cached: Principal | None = request.state.principal
            return cached
        except AttributeError:
            pass  # first call in this request
        token = _key_from_headers(request)
        principal: Principal | None = None
        if token is not None:
            principal = await run_in_threadpool(self.from_key, token)
            if principal is None:
                raise NotAuthenticated("the API key is unknown or revoked")
        else:
            cookie = request.cookies.get(SESSION_COOKIE)
            if cookie:
                principal = await run_in_threadpool(self.from_cookie, cookie)
        request.state.principal = principal
        return principal


def _key_from_headers(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    key = request.headers.get("x-api-key")
    return key.strip() if key and key.strip() else None


class AccessGuard:
    """A route dependency that lets a request through only if the matrix allows its caller's role.

    Returns the caller (None on public routes without credentials), so an
    endpoint can also take it as a parameter to attribute what it does.
    """

    def __init__(self, read: Access, write: Access | None = None, *, area: str = "core") -> None:
        self.read = read
        self.write = write if write is not None else read
        self.area = area

    def access_for(self, method: str) -> Access:
        return self.read if method.upper() in SAFE_METHODS else self.write

    def __repr__(self) -> str:
        return f"AccessGuard(read={self.read.value}, write={self.write.value}, area={self.area})"

    async def __call__(self, request: Request) -> Principal | None:
        access = self.access_for(request.method)
        auth: Authenticator = request.app.state.auth
        if access is Access.PUBLIC:
            # Credentials on a public route are still checked: a bad key is an error, not ignored.
            return await auth.principal(request)
        principal = await auth.principal(request)
        if principal is None:
            raise NotAuthenticated()
        if principal.role not in ROLE_MATRIX[access]:
            raise Forbidden(principal.role, access)
        if principal.via == "session":
            await check_csrf(request, principal.csrf_token)
        return principal


# The guards Tesoro's own routes use; an endpoint takes one as a parameter to get its caller.
PUBLIC = AccessGuard(Access.PUBLIC)
ANY_KEY = AccessGuard(Access.KEY)
READ = AccessGuard(Access.READ)
REVIEW = AccessGuard(Access.REVIEW)
ADMIN = AccessGuard(Access.ADMIN)


def _walk(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _walk(dep)


def _guard_of(dependant: Dependant | None) -> AccessGuard | None:
    """The guard a route really runs (found in its resolved dependency tree), or None.

    With several guards each must pass, so the strictest decides; the first one that
    is not public is reported.
    """
    if dependant is None:
        return None
    guards = [call for call in _walk(dependant) if isinstance(call, AccessGuard)]
    guards.sort(key=lambda g: g.read is Access.PUBLIC and g.write is Access.PUBLIC)
    return guards[0] if guards else None


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """One route as the app will really serve it (include-time prefixes and dependencies applied)."""

    path: str
    methods: frozenset[str]
    name: str
    summary: str | None
    include_in_schema: bool
    is_api: bool
    guard: AccessGuard | None


def iter_routes(routes: Sequence[BaseRoute]) -> Iterator[RouteInfo]:
    """Every route with its effective guard, including those of included routers.

    FastAPI >= 0.16x keeps included routers as lazy `_IncludedRouter` entries and
    exposes their effective routes through `fastapi.routing.iter_route_contexts`;
    older versions copy the routes into `app.routes`. Both are handled.
    """
    contexts: Iterable[Any] = routes if _iter_route_contexts is None else _iter_route_contexts(list(routes))
    for ctx in contexts:
        dependant = getattr(ctx, "dependant", None)
        yield RouteInfo(
            path=str(getattr(ctx, "path", "") or ""),
            methods=frozenset(getattr(ctx, "methods", None) or ()),
            name=str(getattr(ctx, "name", "") or ""),
            summary=getattr(ctx, "summary", None),
            include_in_schema=bool(getattr(ctx, "include_in_schema", False)),
            is_api=isinstance(dependant, Dependant),
            guard=_guard_of(dependant) if isinstance(dependant, Dependant) else None,
        )
