"""Server-rendered pages: escaping, CSP, language and locale formats, graceful gaps; the keys CLI."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tesoro.api.app import create_app
from tesoro.api.i18n import MESSAGES, negotiate
from tesoro.cli.serve import keys_app
from tesoro.settings import Settings
from tesoro.store.engine import make_engine, session_scope
from tesoro.store.keys import Role, verify_key
from tesoro.store.tables import Post, Source
from worlds.api import HOSTILE_IMG, HOSTILE_SCRIPT, Seeded, make_settings, rank

PAGES = ["/ui/queue", "/ui/library", "/ui/dashboard", "/ui/sources", "/docs"]


def test_every_page_renders_with_a_strict_csp(client: TestClient, seeded: Seeded) -> None:
    for path in PAGES:
        response = client.get(path, headers=seeded.headers(Role.VIEWER))
        assert response.status_code == 200, path
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["cache-control"] == "no-store"
        html = response.text
        assert "<script>" not in html and " style=" not in html and " on" + "click=" not in html
        assert not re.search(r"https?://(cdn|unpkg|fonts\.googleapis|ajax\.googleapis)", html)


def test_author_page_escapes_hostile_names_and_text(client: TestClient, seeded: Seeded) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        post = session.get(Post, seeded.posts["gal-hostile"])
        assert post is not None
        author_id = post.author_id
    html = client.get(f"/ui/authors/{author_id}", headers=seeded.headers(Role.VIEWER)).text
    assert HOSTILE_IMG not in html and HOSTILE_SCRIPT not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert 'href="javascript:' not in html
    # The JSON block the scripts read escapes '<' too, so it cannot close its <script> element.
    data = re.search(r'<script type="application/json" id="tesoro-data">(.*?)</script>', html, re.S)
    assert data and "<" not in data.group(1)


def test_source_errors_are_escaped(client: TestClient, seeded: Seeded) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        session.add(Source(name="x-demo", platform="x", health="failing", last_error=HOSTILE_SCRIPT))
    html = client.get("/ui/sources", headers=seeded.headers(Role.VIEWER)).text
    assert HOSTILE_SCRIPT not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_spanish_from_the_browser_with_locale_numbers(client: TestClient, seeded: Seeded) -> None:
    headers = {**seeded.headers(Role.VIEWER), "Accept-Language": "es-MX,es;q=0.9,en;q=0.5"}
    page = client.get("/ui/dashboard", headers=headers)
    assert '<html lang="es">' in page.text and MESSAGES["es"]["dashboard.in_queue"] in page.text
    english = client.get("/ui/dashboard", headers=seeded.headers(Role.VIEWER))
    assert '<html lang="en">' in english.text and MESSAGES["en"]["dashboard.in_queue"] in english.text
    author = client.get(f"/ui/authors/{_author_of(client, seeded)}", headers=headers).text
    assert "12.345" in author  # followers, Spanish grouping
    assert (
        "12,345"
        in client.get(f"/ui/authors/{_author_of(client, seeded)}", headers=seeded.headers(Role.VIEWER)).text
    )


def test_lang_choice_is_remembered(client: TestClient, seeded: Seeded) -> None:
    first = client.get("/ui/queue?lang=es", headers=seeded.headers(Role.VIEWER))
    assert '<html lang="es">' in first.text and "tesoro_lang=es" in first.headers["set-cookie"]
    assert '<html lang="es">' in client.get("/ui/queue", headers=seeded.headers(Role.VIEWER)).text


def test_language_setting_and_negotiation(tmp_path: Path, sqlite_engine: Engine) -> None:
    assert negotiate(accept_language="fr, es;q=0.4, en;q=0.3") == "es"
    assert negotiate(accept_language="de") == "en"
    assert negotiate(accept_language="es", setting="en") == "en"
    assert negotiate(accept_language="en", setting="auto", override="es") == "es"
    settings = make_settings(tmp_path).model_copy(
        update={"api": make_settings(tmp_path).api.model_copy(update={"language": "es"})}
    )
    app = create_app(settings, sqlite_engine)
    with TestClient(app) as client:
        assert '<html lang="es">' in client.get("/login").text


def test_pages_hand_their_scripts_the_endpoints_and_nothing_is_optional(
    client: TestClient, seeded: Seeded
) -> None:
    """Every area is part of the app: the page data names the routes the scripts read, and no
    template, script or message speaks of a part that is "not available yet"."""
    html = client.get("/ui/dashboard", headers=seeded.headers(Role.VIEWER)).text
    data = re.search(r'id="tesoro-data">(.*?)</script>', html, re.S)
    assert data and '"endpoints"' in data.group(1) and "/api/kpis" in data.group(1)
    assert '"features"' not in data.group(1)
    package = resources.files("tesoro.api")
    texts = [package.joinpath("i18n.py").read_text(encoding="utf-8")]
    for folder in ("templates", "static"):
        texts += [f.read_text(encoding="utf-8") for f in package.joinpath(folder).iterdir() if f.is_file()]
    for text in texts:
        assert "not_available" not in text and "notAvailable" not in text and "issue 6" not in text
        assert "features" not in text


def test_docs_lists_every_route_with_its_roles(client: TestClient, seeded: Seeded) -> None:
    html = client.get("/docs", headers=seeded.headers(Role.VIEWER)).text
    assert "/api/curator/posts/{post_id}/decision" in html and "admin, coordinator" in html
    spec = client.get("/openapi.json", headers=seeded.headers(Role.VIEWER)).json()
    assert "/gallery/{brand}.json" in spec["paths"] and "/api/keys" in spec["paths"]


def _author_of(client: TestClient, seeded: Seeded) -> int:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        post = session.get(Post, seeded.posts["gal-photo"])
        assert post is not None
        return post.author_id


def test_keys_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text('[database]\npath = "store.db"\n', encoding="utf-8")
    runner = CliRunner()
    created = runner.invoke(keys_app, ["create", "--role", "coordinator", "--name", "Ana", "-c", str(config)])
    assert created.exit_code == 0, created.output
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("tso_")
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with session_scope(engine) as session:
        key = verify_key(session, token=token)
        assert key is not None and key.role == "coordinator" and key.name == "Ana"
    listed = runner.invoke(keys_app, ["list", "-c", str(config)])
    secret = token.removeprefix(f"tso_{key.key_id}_")  # the secret itself may contain "_"
    assert listed.exit_code == 0 and key.key_id in listed.stdout and secret not in listed.stdout
    revoked = runner.invoke(keys_app, ["revoke", key.key_id, "-c", str(config)])
    assert revoked.exit_code == 0 and "revoked" in revoked.stdout
    with session_scope(engine) as session:
        assert verify_key(session, token=token) is None
    assert runner.invoke(keys_app, ["revoke", "nope", "-c", str(config)]).exit_code == 1
    bad = runner.invoke(keys_app, ["create", "--role", "root", "--name", "x", "-c", str(config)])
    assert bad.exit_code == 2
    engine.dispose()


def test_queue_page_reads_the_ranked_curator_queue(
    client: TestClient, seeded: Seeded, sqlite_engine: Engine, api_settings: Settings
) -> None:
    """The queue page's data: ranked posts, best first, with the treasure explanation and copies."""
    rank(sqlite_engine, api_settings, seeded)
    viewer = seeded.headers(Role.VIEWER)
    items = client.get("/api/curator/queue", headers=viewer).json()["items"]
    assert [i["text"] for i in items[:2]] == ["Best treasure in the queue", "Middle of the queue"]
    assert "relevance" in items[0]["treasure"]["components"]
    assert sum(i["copy_count"] for i in items) >= 1
    page = client.get("/ui/queue", headers=seeded.headers(Role.COORDINATOR)).text
    assert 'id="undo-hint"' in page and MESSAGES["en"]["queue.undo_hint"] in page
    assert 'id="undo-hint"' not in client.get("/ui/queue", headers=viewer).text
    for lang in ("en", "es"):
        for key in (
            "queue.undo_hint",
            "queue.done.undo",
            "queue.copies.one",
            "queue.copies.other",
            "facet.content_type",
        ):
            assert MESSAGES[lang][key]
