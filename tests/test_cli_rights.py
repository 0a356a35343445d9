"""`tesoro rights ...`: ask, list, decide, revoke, export a receipt, terms; bad input exits 2."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from tesoro.api.security import load_session_secret
from tesoro.cli.main import app
from tesoro.curator.rights_requests import (
    consent_answer,
    create_requests,
    grant_future_posts,
    verify_document,
)
from tesoro.settings import load_settings
from tesoro.store.db import open_store
from tesoro.store.engine import session_scope

runner = CliRunner()


def _store(tmp_path: Path) -> Path:
    config = tmp_path / "t.toml"
    config.write_text(
        '[database]\npath = "store.db"\n\n[[brands]]\nname = "Andes Outdoor"\n\n'
        '[rights]\nbrand_hashtags = { "Andes Outdoor" = "#YesAndes" }\n'
    )
    when = "2026-11-01T00:00:00Z"
    rows = [
        {
            "id": str(i),
            "text": f"mis zapatillas {i}",
            "created_at": when,
            "author_handle": "ana",
            "lang": "es",
        }
        for i in range(2)
    ]
    data = tmp_path / "posts.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    imported = runner.invoke(app, ["import", str(data), "-c", str(config)])
    assert imported.exit_code == 0, imported.output
    return config


def test_ask_decide_export_revoke(tmp_path: Path) -> None:
    config = _store(tmp_path)
    c = ["-c", str(config)]
    asked = runner.invoke(
        app, ["rights", "request", "1", "2", "99", "--scope", "paid_ads", "--days", "30", *c]
    )
    assert asked.exit_code == 0, asked.output
    assert "manual" in asked.output and "#YesAndes" in asked.output and "skipped post 99" in asked.output
    bad = runner.invoke(app, ["rights", "request", "1", "--scope", "billboards", *c])
    assert bad.exit_code == 2 and "scope must be" in bad.output
    listed = runner.invoke(app, ["rights", "requests", "--status", "sent", *c])
    assert listed.exit_code == 0 and listed.output.count("manual") == 0 and " sent " in listed.output
    granted = runner.invoke(app, ["rights", "decide", "1", "--grant", *c])
    assert granted.exit_code == 0 and "granted" in granted.output, granted.output
    again = runner.invoke(app, ["rights", "decide", "1", "--decline", *c])
    assert again.exit_code == 2 and "only an open request" in again.output
    receipts = runner.invoke(app, ["rights", "receipts", "--post", "1", *c])
    assert receipts.exit_code == 0 and "coordinator" in receipts.output
    out = tmp_path / "receipt.json"
    exported = runner.invoke(app, ["rights", "receipts", "--export", "1", "--out", str(out), *c])
    assert exported.exit_code == 0, exported.output
    signed = json.loads(out.read_text())
    assert signed["receipt"]["scope"] == ["paid_ads"] and signed["receipt"]["duration_days"] == 30
    assert verify_document(load_session_secret(load_settings(config)), signed)
    html = runner.invoke(app, ["rights", "receipts", "--export", "1", "--html", *c])
    assert html.exit_code == 0 and html.output.startswith("<!doctype html>")
    missing = runner.invoke(app, ["rights", "receipts", "--export", "42", *c])
    assert missing.exit_code == 2 and "no receipt 42" in missing.output
    revoked = runner.invoke(app, ["rights", "revoke", "1", "--reason", "asked by e-mail", *c])
    assert revoked.exit_code == 0 and "1 receipt" in revoked.output
    gone = runner.invoke(app, ["rights", "revoke", "77", "--reason", "x", *c])
    assert gone.exit_code == 2 and "no post 77" in gone.output


def test_terms_show_and_new_version(tmp_path: Path) -> None:
    config = _store(tmp_path)
    c = ["-c", str(config)]
    shown = runner.invoke(app, ["rights", "terms", "Andes Outdoor", *c])
    assert shown.exit_code == 0 and "version 1" in shown.output and "You keep the copyright" in shown.output
    terms = tmp_path / "terms.txt"
    terms.write_text("Our own terms for sharing your posts, version two.")
    saved = runner.invoke(app, ["rights", "terms", "Andes Outdoor", "--file", str(terms), *c])
    assert saved.exit_code == 0 and "version 2" in saved.output
    unknown = runner.invoke(app, ["rights", "terms", "Nobody", *c])
    assert unknown.exit_code == 2 and "no brand named" in unknown.output


def test_a_later_post_under_a_consent_for_future_posts_lists_the_receipt_it_rests_on(tmp_path: Path) -> None:
    config = _store(tmp_path)
    later = tmp_path / "later.jsonl"
    row = {"id": "9", "text": "otra vez", "created_at": "2026-11-10T00:00:00Z", "author_handle": "ana"}
    later.write_text(json.dumps(row) + "\n")
    assert runner.invoke(app, ["import", str(later), "-c", str(config)]).exit_code == 0
    settings = load_settings(config)
    engine = open_store(settings)
    consented = datetime(2026, 11, 5, tzinfo=UTC)
    with session_scope(engine) as session:
        batch = create_requests(
            session,
            post_ids=[1],
            actor="maria",
            settings=settings.rights,
            secret=load_session_secret(settings),
            now=consented,
        )
        token = batch.created[0][1].rsplit("/", 1)[1]
        consent_answer(
            session,
            secret=load_session_secret(settings),
            token=token,
            approve=True,
            future_posts=True,
            now=consented,
        )
        assert len(grant_future_posts(session, now=consented)) == 1
    engine.dispose()
    c = ["-c", str(config)]
    receipts = runner.invoke(app, ["rights", "receipts", "--post", "3", *c])
    assert receipts.exit_code == 0 and "future_posts (receipt 1)" in receipts.output, receipts.output
    revoked = runner.invoke(app, ["rights", "revoke", "1", "--reason", "asked by e-mail", *c])
    assert revoked.exit_code == 0 and "2 receipt" in revoked.output, revoked.output
