"""The OpenAPI document types every JSON route, and /docs shows the shapes with their examples.

A route that answers JSON must document its 2xx response with a schema (a $ref to a
model, or a typed schema; never `{}`), and a route that takes a JSON body must
document that body; the models behind them carry at least one example.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from tesoro.api.app import create_app
from tesoro.api.schemas import (
    alerts,
    corrections,
    decisions,
    gallery,
    insights,
    keys,
    library,
    listening,
    posts,
    quarantine,
    queue,
    ranker,
    rights,
    webhooks,
)
from tesoro.store.engine import make_engine
from tesoro.store.keys import Role
from worlds.api import Seeded, make_settings, seed

METHODS = ("get", "post", "put", "patch", "delete")
# FastAPI's own models for its 422 answers.
FASTAPI_OWN = {"HTTPValidationError", "ValidationError"}


@pytest.fixture(scope="module")
def spec(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The OpenAPI document, read once for the module (its tests only read it)."""
    tmp = tmp_path_factory.mktemp("openapi")
    engine = make_engine(f"sqlite:///{shutil.copyfile(sqlite_template, tmp / 'tesoro.db')}")
    settings = make_settings(tmp)
    seeded = seed(engine, settings)
    with TestClient(create_app(settings, engine), base_url="http://testserver") as client:
        response = client.get("/openapi.json", headers=seeded.headers(Role.VIEWER))
    engine.dispose()
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def _typed(schema: dict[str, Any]) -> bool:
    """A schema that says something: a reference, a type, or a combination of those."""
    if "$ref" in schema:
        return True
    if schema.get("type") == "array":
        return _typed(schema.get("items") or {})
    return bool(schema.get("type") or schema.get("anyOf") or schema.get("oneOf") or schema.get("allOf"))


def _component(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    if "$ref" in schema:
        found: dict[str, Any] = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        return found
    if schema.get("type") == "array":
        return _component(spec, schema.get("items") or {})
    return None


def test_every_json_response_has_a_schema(spec: dict[str, Any]) -> None:
    missing = []
    json_routes = 0
    for method, path, operation in _operations(spec):
        success = {
            status: answer for status, answer in operation["responses"].items() if status.startswith("2")
        }
        assert success, f"{method} {path} documents no 2xx answer"
        for status, answer in success.items():
            content = answer.get("content", {})
            if status == "204" or (content and "application/json" not in content):
                continue  # no body, or not JSON (SVG charts, the embed page, the widget script)
            json_routes += 1
            schema = content.get("application/json", {}).get("schema") or {}
            if not _typed(schema):
                missing.append(f"{method} {path} {status}")
    assert not missing, f"JSON answers without a schema: {missing}"
    assert json_routes >= 40


def test_every_json_body_has_a_schema_and_an_example(spec: dict[str, Any]) -> None:
    bodies = 0
    for method, path, operation in _operations(spec):
        body = operation.get("requestBody")
        if body is None:
            continue
        bodies += 1
        schema = body["content"]["application/json"]["schema"]
        assert _typed(schema), f"{method} {path}: the body has no schema"
        component = _component(spec, schema) or schema
        assert component.get("examples"), f"{method} {path}: the body's schema has no example"
    assert bodies >= 12


def test_response_models_have_descriptions_and_examples(spec: dict[str, Any]) -> None:
    for method, path, operation in _operations(spec):
        answer = next((a for s, a in operation["responses"].items() if s.startswith("2")), {})
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        component = _component(spec, schema) if schema else None
        if component is None:
            continue
        assert component.get("description"), f"{method} {path}: {component.get('title')} has no docstring"
    schemas = spec["components"]["schemas"]
    with_examples = [name for name, schema in schemas.items() if schema.get("examples")]
    for name in (
        "PostPublic",
        "QueueItem",
        "LibraryPage",
        "BatchPublic",
        "KpiReport",
        "RulePublic",
        "GalleryFeed",
    ):
        assert name in with_examples, name
    assert schemas["PostPublic"]["properties"]["treasure_score"]["description"]
    undescribed = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        if name not in FASTAPI_OWN
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert not undescribed, f"fields without a description: {undescribed}"


def test_the_gallery_feed_is_documented_though_it_is_served_from_a_cache(spec: dict[str, Any]) -> None:
    answer = spec["paths"]["/gallery/{brand}.json"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/GalleryFeed"}


def test_no_retired_or_compatibility_route_is_left(spec: dict[str, Any]) -> None:
    assert not [p for p in spec["paths"] if p.startswith(("/api/review", "/api/browse/search"))]
    assert not [(m, p) for m, p, op in _operations(spec) if op.get("deprecated")]


def test_docs_renders_the_shapes_with_examples(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/docs", headers=seeded.headers(Role.VIEWER))
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]
    html = response.text
    assert "/api/curator/posts/{post_id}/decision" in html
    assert "<code>DecisionCreate</code>" in html and "<code>BatchPublic</code>" in html
    assert "<code>list[KeyPublic]</code>" in html and "<code>RuleCreate</code>" in html
    assert "&#34;action&#34;: &#34;approve&#34;" in html or "&quot;action&quot;: &quot;approve&quot;" in html
    assert "&#34;revoked_at&#34;: null" in html or "&quot;revoked_at&quot;: null" in html  # nulls are shown
    assert client.get("/docs").status_code == 401  # the reference is for key holders


def test_every_example_is_valid_for_its_model(spec: dict[str, Any]) -> None:
    """An example that its own model would refuse teaches a client the wrong shape.

    The models' own schemas are checked: the OpenAPI document drops null values from
    examples (FastAPI writes it with exclude_none).
    """
    models = {
        name: value
        for module in (
            alerts,
            corrections,
            decisions,
            gallery,
            insights,
            keys,
            library,
            listening,
            posts,
            quarantine,
            queue,
            ranker,
            rights,
            webhooks,
        )
        for name in module.__all__
        if isinstance(value := getattr(module, name), type) and issubclass(value, BaseModel)
    }
    documented = set(spec["components"]["schemas"]) - FASTAPI_OWN - {"Role"}
    assert documented <= set(models), (
        f"schemas not exported by tesoro.api.schemas: {documented - set(models)}"
    )
    without = sorted(name for name in documented if not models[name].model_json_schema().get("examples"))
    assert not without, f"schemas without an example: {without}"
    checked = 0
    for name in documented:
        for example in models[name].model_json_schema()["examples"]:
            models[name].model_validate(example)
            checked += 1
    assert checked >= 60
