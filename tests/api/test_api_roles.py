"""The role matrix, checked on the real routing table: every route, every role, real status codes.

The expected access of each route is written here, independently of the code, so
a route whose guard changes (or a new route nobody classified) fails this test.
"""

from __future__ import annotations

import itertools
import re

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import _check_guards, create_app
from tesoro.api.auth import ADMIN, AREA_POLICIES, ROLE_MATRIX, Access, AccessGuard, iter_routes
from tesoro.settings import Settings
from tesoro.store.keys import Role
from worlds.api import Seeded

# The least role that may call each (method, path): public, key (any role), viewer, coordinator, admin.
EXPECTED: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/readyz"): "public",
    ("GET", "/metrics"): "admin",
    ("GET", "/favicon.svg"): "public",
    ("GET", "/favicon.ico"): "public",
    ("GET", "/"): "public",
    ("GET", "/login"): "public",
    ("POST", "/login"): "public",
    ("POST", "/logout"): "public",
    ("GET", "/gallery/widget.js"): "public",
    ("GET", "/gallery/{brand}.json"): "public",
    ("GET", "/gallery/{brand}/embed"): "public",
    # Meta's webhook: public, proven by its verify token and each call's signature.
    ("GET", "/api/webhooks/meta"): "public",
    ("POST", "/api/webhooks/meta"): "public",
    ("POST", "/api/webhooks/tiktok"): "public",
    ("GET", "/rights/consent/{token}"): "public",
    ("POST", "/rights/consent/{token}"): "public",
    ("POST", "/gallery/beacon"): "public",
    ("GET", "/gallery/media/{name}"): "public",
    ("GET", "/api/me"): "key",
    ("GET", "/api/posts"): "viewer",
    ("GET", "/api/posts/{post_id}"): "viewer",
    ("GET", "/api/media/{media_id}/thumbnail"): "viewer",
    ("GET", "/api/sources"): "viewer",
    ("GET", "/api/authors/{author_id}"): "viewer",
    ("GET", "/api/browse/overview"): "viewer",
    ("GET", "/api/quarantine"): "coordinator",
    ("GET", "/ui/queue"): "viewer",
    ("GET", "/ui/library"): "viewer",
    ("GET", "/ui/authors/{author_id}"): "viewer",
    ("GET", "/ui/dashboard"): "viewer",
    ("GET", "/ui/sources"): "viewer",
    ("GET", "/ui/gallery"): "viewer",
    ("GET", "/ui/alerts"): "viewer",
    ("GET", "/ui/settings"): "admin",
    ("POST", "/api/queries/preview"): "admin",
    ("GET", "/docs"): "viewer",
    ("GET", "/openapi.json"): "viewer",
    ("GET", "/api/keys"): "admin",
    ("POST", "/api/keys"): "admin",
    ("DELETE", "/api/keys/{key_id}"): "admin",
    ("GET", "/api/settings"): "admin",
}
# The areas' routers (`tesoro.api.app.AREAS`): (least role for reads, least role for writes).
AREA_EXPECTED = {
    "curator": ("viewer", "coordinator"),
    "insights": ("viewer", "coordinator"),
    "alerts": ("viewer", "admin"),
}
ALLOWED: dict[str, set[Role]] = {
    "public": set(Role),
    "key": set(Role),
    "viewer": {Role.VIEWER, Role.COORDINATOR, Role.ADMIN},
    "coordinator": {Role.COORDINATOR, Role.ADMIN},
    "admin": {Role.ADMIN},
}
SAMPLES = {"media_id": "1", "post_id": "1", "author_id": "1", "key_id": "nosuchkey", "brand": "andes-outdoor"}


def _expected(method: str, path: str, area: str) -> str:
    if (method, path) in EXPECTED:
        return EXPECTED[(method, path)]
    if area in AREA_EXPECTED:
        read, write = AREA_EXPECTED[area]
        return read if method in ("GET", "HEAD") else write
    raise AssertionError(f"{method} {path} is not classified in test_api_roles.EXPECTED: add it")


def _url(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLES.get(m.group(1), "1"), path)


def _routes(client: TestClient) -> list[tuple[str, str, str]]:
    out = []
    for route in iter_routes(client.app.routes):  # type: ignore[attr-defined]
        if not route.is_api:
            continue
        assert route.guard is not None, f"{route.path} has no guard"
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, route.path, route.guard.area))
    return out


def _check_route(client: TestClient, seeded: Seeded, method: str, path: str, area: str) -> None:
    least = _expected(method, path, area)
    url = _url(path)
    anonymous = client.request(method, url, follow_redirects=False)
    if least == "public":
        assert anonymous.status_code not in (401, 403), f"{method} {path} anonymous: {anonymous.status_code}"
    else:
        assert anonymous.status_code == 401, f"{method} {path} anonymous: {anonymous.status_code}"
    for role in Role:
        response = client.request(method, url, headers=seeded.headers(role), follow_redirects=False)
        if role in ALLOWED[least]:
            assert response.status_code not in (401, 403), (
                f"{method} {path} as {role.value}: {response.status_code} {response.text[:200]}"
            )
        else:
            assert response.status_code == 403, f"{method} {path} as {role.value}: {response.status_code}"


def test_every_route_is_classified_and_enforced(client: TestClient, seeded: Seeded) -> None:
    routes = _routes(client)
    assert len(routes) >= len(EXPECTED)
    missing = set(EXPECTED) - {(m, p) for m, p, _ in routes}
    assert not missing, f"routes expected but not served: {missing}"
    for method, path, area in routes:
        _check_route(client, seeded, method, path, area)


def test_matrix_is_ordered() -> None:
    """Every access level's roles include the next stricter level's: admin can do all a viewer can."""
    order = [Access.PUBLIC, Access.KEY, Access.READ, Access.REVIEW, Access.ADMIN]
    for looser, stricter in itertools.pairwise(order):
        assert ROLE_MATRIX[stricter] <= ROLE_MATRIX[looser]
    assert Role.GALLERY not in ROLE_MATRIX[Access.READ]


def test_unknown_or_revoked_key_is_401_even_on_public_routes(client: TestClient) -> None:
    bad = {"Authorization": "Bearer tso_000000000000_nope"}
    assert client.get("/api/posts", headers=bad).status_code == 401
    assert client.get("/healthz", headers={"X-API-Key": "garbage"}).status_code == 401
    assert client.get("/api/posts", headers={"Authorization": "Basic abc"}).status_code == 401


def test_x_api_key_header_works(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/api/me", headers={"X-API-Key": seeded.tokens[Role.VIEWER]})
    assert response.status_code == 200 and response.json()["role"] == "viewer"


def test_each_areas_routes_carry_its_policy(client: TestClient) -> None:
    """The explicit router list gives every route of an area the area's policy, and no other."""
    seen: dict[str, set[tuple[str, str]]] = {}
    for route in iter_routes(client.app.routes):  # type: ignore[attr-defined]
        if not route.is_api or route.guard is None or route.guard.area not in AREA_POLICIES:
            continue
        policy = AREA_POLICIES[route.guard.area]
        assert (route.guard.read, route.guard.write) == (policy.read, policy.write), route.path
        seen.setdefault(route.guard.area, set()).add((route.path, ",".join(sorted(route.methods))))
    assert set(seen) == set(AREA_POLICIES)
    assert ("/api/curator/library", "GET") in seen["curator"]
    assert ("/api/charts/volume.svg", "GET") in seen["insights"]
    assert ("/api/alerts/rules", "POST") in seen["alerts"]


def test_a_route_without_a_guard_stops_the_app(sqlite_engine: Engine, api_settings: Settings) -> None:
    app = create_app(api_settings, sqlite_engine)

    @app.get("/api/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="/api/forgotten"):
        _check_guards(app)


def test_area_router_with_its_own_guard_keeps_the_stricter_one(
    sqlite_engine: Engine, api_settings: Settings, seeded: Seeded
) -> None:
    app = create_app(api_settings, sqlite_engine)
    extra = APIRouter()

    @extra.get("/api/fake/secret", dependencies=[Depends(ADMIN)])
    def secret() -> dict[str, str]:
        return {}

    policy = AREA_POLICIES["insights"]
    app.include_router(extra, dependencies=[Depends(AccessGuard(policy.read, policy.write, area="insights"))])
    _check_guards(app)
    with TestClient(app) as client:
        assert client.get("/api/fake/secret", headers=seeded.headers(Role.VIEWER)).status_code == 403
        assert client.get("/api/fake/secret", headers=seeded.headers(Role.ADMIN)).status_code == 200
