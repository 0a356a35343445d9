"""Fixtures for the API tests (the world they build is in `worlds.api`)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tesoro.api.app import create_app
from tesoro.settings import Settings
from tesoro.store.engine import make_engine
from worlds.api import Seeded, make_settings, rank, seed
from worlds.browser import CHROMIUM_FLAGS, GALLERY_CACHE_TTL_S, Server, Site, free_port, shop_app


@pytest.fixture
def api_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def seeded(sqlite_engine: Engine, api_settings: Settings) -> Seeded:
    return seed(sqlite_engine, api_settings)


@pytest.fixture
def client(sqlite_engine: Engine, api_settings: Settings, seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(api_settings, sqlite_engine)
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


# --- one app per module, for the modules whose tests only read or are refused ------------------------------
# Building the app costs about 0.12 s of CPU and seeding the store about 0.09 s, paid by every test that
# asks for `client`. A module whose tests change nothing (every request a read or a refused write) may
# define `client` and `seeded` from `shared_api` instead; a test that writes keeps its own.


def _served(engine: Engine, tmp: Path, **client_options: Any) -> Iterator[tuple[TestClient, Seeded]]:
    settings = make_settings(tmp)
    seeded = seed(engine, settings)
    with TestClient(create_app(settings, engine), base_url="http://testserver", **client_options) as client:
        yield client, seeded


@pytest.fixture(scope="module")
def shared_api(
    module_sqlite_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Seeded]]:
    """The seeded SQLite store and its app, shared by the tests of one module."""
    yield from _served(module_sqlite_engine, tmp_path_factory.mktemp("shared-api"))


@pytest.fixture(scope="module")
def shared_api_any(
    module_engine: Engine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, Seeded]]:
    """The same over SQLite and PostgreSQL; a server error is answered (a 500), not raised."""
    yield from _served(module_engine, tmp_path_factory.mktemp("shared-api"), raise_server_exceptions=False)


# --- the browser tests' fixtures: Debian's chromium, the seeded site, a fresh tab ---------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed (pip install playwright)"
    )
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("browser")
    engine = make_engine(f"sqlite:///{shutil.copyfile(sqlite_template, tmp / 'tesoro.db')}")
    shop_port = free_port()
    # The gallery feed's cache lives a second here (5 s by default): a test that changes what the widget
    # shows waits that long for it.
    settings = make_settings(
        tmp, allowed_origins=[f"http://127.0.0.1:{shop_port}"], cache_ttl_s=GALLERY_CACHE_TTL_S
    )
    seeded = seed(engine, settings)
    rank(engine, settings, seeded)  # the curator's queue and library list ranked posts only
    app = create_app(settings, engine)
    with Server(app) as tesoro, Server(shop_app(tesoro.url), port=shop_port) as shop:
        yield Site(tesoro, shop, seeded, engine)
    engine.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(locale="en-US")
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.dialogs = []
    tab.csp_errors = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on(
        "console",
        lambda msg: tab.csp_errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield tab
    context.close()
