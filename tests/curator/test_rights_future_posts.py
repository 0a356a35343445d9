"""An author's consent "for my future posts as well", on SQLite and PostgreSQL.

Their later posts (same account, same brand, within the consent's time) are granted under that
consent, each with a receipt of its own naming the consent's receipt; revoking the consent revokes
them too; nothing else is touched.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.engine import Engine

from tesoro.curator.queue import decide
from tesoro.curator.rights import rights_history, set_rights
from tesoro.curator.rights_requests import (
    ThreadReply,
    consent_answer,
    create_requests,
    expire_rights,
    grant_future_posts,
    receipt_document,
    receipt_html,
    record_replies,
    revoke,
    sign_document,
)
from tesoro.settings import RightsSettings
from tesoro.store import rights as store
from tesoro.store.engine import session_scope
from tesoro.store.posts import gallery_posts, get_post_view
from worlds.curator import NOW, Spec, seed

SECRET = b"f" * 32
SETTINGS = RightsSettings(brand_hashtags={"Andes Outdoor": "#YesAndes"})
DAY = -24.0  # hours ago: a post made a day after NOW, when the author consents


def _world(engine: Engine) -> dict[str, int]:
    return seed(
        engine,
        [
            Spec("asked", "My Cumbre shoes on the trail", author="ana"),
            Spec("later", "Cumbre again, new trail", author="ana", hours_ago=DAY),
            Spec("later2", "Nube jacket in the rain", author="ana", hours_ago=3 * DAY),
            Spec("before", "An older Cumbre post", author="ana", hours_ago=48),
            Spec("beyond", "Long after the consent ended", author="ana", hours_ago=40 * DAY),
            Spec(
                "elsewhere", "Same name, another platform", author="ana", platform="mastodon", hours_ago=DAY
            ),
            Spec("someone", "Another author", author="bea", hours_ago=DAY),
            Spec("otherbrand", "A surf board", author="ana", brand="Costa Surf", hours_ago=DAY),
            Spec("open", "Asked about separately", author="ana", hours_ago=DAY),
            Spec("declined", "Said no to this one", author="ana", hours_ago=DAY),
        ],
    ).ids


def _consent(engine: Engine, ids: dict[str, int], *, future_posts: bool, days: int = 30) -> int:
    """The author approves the request on "asked" on the consent page at NOW; the receipt's id."""
    with session_scope(engine) as session:
        batch = create_requests(
            session,
            post_ids=[ids["asked"]],
            actor="coord",
            settings=SETTINGS,
            secret=SECRET,
            now=NOW,
            duration_days=days,
            scope=["website_gallery", "paid_ads"],
        )
        _, link = batch.created[0]
        consent_answer(
            session,
            secret=SECRET,
            token=link.rsplit("/", 1)[1],
            approve=True,
            future_posts=future_posts,
            now=NOW,
        )
        create_requests(
            session, post_ids=[ids["open"]], actor="coord", settings=SETTINGS, secret=SECRET, now=NOW
        )
        set_rights(session, post_ids=[ids["declined"]], status="declined", actor="coord")
        (receipt,) = store.list_receipts(session, post_id=ids["asked"])
        assert receipt.id is not None and receipt.future_posts is future_posts
        return receipt.id


def test_later_posts_of_the_same_account_and_brand_are_granted_under_the_consent(engine: Engine) -> None:
    ids = _world(engine)
    consent_id = _consent(engine, ids, future_posts=True)
    with session_scope(engine) as session:
        made = grant_future_posts(session, now=NOW + timedelta(days=4))
        assert len(made) == 2
        (consent,) = store.list_receipts(session, post_id=ids["asked"])
        for key in ("later", "later2"):
            view = get_post_view(session, post_id=ids[key])
            assert view is not None and view.rights_status == "granted"
            (receipt,) = store.list_receipts(session, post_id=ids[key])
            assert receipt.id in made
            assert receipt.source == "future_posts" and receipt.parent_receipt_id == consent_id
            assert receipt.request_id == consent.request_id and receipt.request_text == consent.request_text
            assert receipt.scope == ["website_gallery", "paid_ads"] and receipt.ends_at == consent.ends_at
            assert (receipt.terms_version, receipt.terms_sha256) == (
                consent.terms_version,
                consent.terms_sha256,
            )
            assert receipt.author_external_id == consent.author_external_id == "id-ana"
            # The coordinator sees why: the rights history names the consent.
            (change,) = rights_history(session, post_id=ids[key])
            assert change.actor == "tesoro:rights" and f"receipt {consent_id}" in (change.note or "")
        untouched = ("before", "beyond", "elsewhere", "someone", "otherbrand", "open", "declined")
        for key in untouched:
            assert store.list_receipts(session, post_id=ids[key]) == [], key
        assert {get_post_view(session, post_id=ids[k]).rights_status for k in untouched} == {  # type: ignore[union-attr]
            "none",
            "requested",
            "declined",
        }
        # A second pass finds nothing new.
        assert grant_future_posts(session, now=NOW + timedelta(days=5)) == []


def test_the_receipt_document_names_the_consent_it_rests_on(engine: Engine) -> None:
    ids = _world(engine)
    consent_id = _consent(engine, ids, future_posts=True)
    with session_scope(engine) as session:
        (made, _) = grant_future_posts(session, now=NOW + timedelta(days=4))
        receipt = store.get_receipt(session, receipt_id=made)
        assert receipt is not None
        document = receipt_document(receipt)
        assert document["consent"]["source"] == "future_posts"
        assert document["consent"]["under_receipt_id"] == consent_id
        page = receipt_html(sign_document(SECRET, document))
        assert "Under the consent of receipt" in page and f"<td>{consent_id}</td>" in page
        (consent,) = store.list_receipts(session, post_id=ids["asked"])
        assert receipt_document(consent)["consent"]["under_receipt_id"] is None


def test_revoking_the_consent_revokes_the_posts_granted_under_it(engine: Engine) -> None:
    ids = _world(engine)
    _consent(engine, ids, future_posts=True)
    with session_scope(engine) as session:
        for key in ("asked", "later", "later2", "someone"):
            decide(session, post_ids=[ids[key]], action="approve", actor="c")
        set_rights(session, post_ids=[ids["someone"]], status="granted", actor="c")
        grant_future_posts(session, now=NOW + timedelta(days=4))
        # Revoking one later post alone leaves the consent and the other later post standing.
        assert revoke(session, post_id=ids["later2"], actor="coord", reason="wrong product") == 1
        assert get_post_view(session, post_id=ids["later"]).rights_status == "granted"  # type: ignore[union-attr]
        assert revoke(session, post_id=ids["asked"], actor="coord", reason="the author asked by e-mail") == 2
        for key in ("asked", "later", "later2"):
            assert get_post_view(session, post_id=ids[key]).rights_status == "revoked", key  # type: ignore[union-attr]
            assert all(r.revoked_at is not None for r in store.list_receipts(session, post_id=ids[key]))
        (later,) = store.list_receipts(session, post_id=ids["later"])
        assert later.revoke_reason and "withdrawn" in later.revoke_reason
        shown = {
            p.id
            for p in gallery_posts(session, brand_id=get_post_view(session, post_id=ids["asked"]).brand_id)
        }  # type: ignore[union-attr, arg-type]
        assert shown == {ids["someone"]}
        # A revoked consent covers nothing more.
        assert grant_future_posts(session, now=NOW + timedelta(days=6)) == []


def test_a_please_remove_reply_on_the_consent_revokes_the_later_posts_too(engine: Engine) -> None:
    ids = _world(engine)
    _consent(engine, ids, future_posts=True)
    with session_scope(engine) as session:
        grant_future_posts(session, now=NOW + timedelta(days=4))
        (request,) = store.list_requests(session, post_id=ids["asked"])
        reply = ThreadReply("r9", "id-ana", "ana", "Please remove my photos", None, NOW + timedelta(days=5))
        record_replies(session, request=request, replies=[reply], author_external_id="id-ana")
        for key in ("asked", "later", "later2"):
            assert get_post_view(session, post_id=ids[key]).rights_status == "revoked", key  # type: ignore[union-attr]


def test_without_the_future_posts_box_no_later_post_is_granted(
    engine: Engine,
) -> None:
    ids = _world(engine)
    _consent(engine, ids, future_posts=False)
    with session_scope(engine) as session:
        assert grant_future_posts(session, now=NOW + timedelta(days=4)) == []
        assert get_post_view(session, post_id=ids["later"]).rights_status == "none"  # type: ignore[union-attr]


def test_an_ended_consent_covers_no_later_post_and_the_granted_ones_expire_with_it(engine: Engine) -> None:
    ids = _world(engine)
    _consent(engine, ids, future_posts=True, days=2)  # ends two days after NOW: "later" is inside
    with session_scope(engine) as session:
        assert len(grant_future_posts(session, now=NOW + timedelta(days=1, hours=12))) == 1
        assert get_post_view(session, post_id=ids["later2"]).rights_status == "none"  # type: ignore[union-attr]
        assert sorted(expire_rights(session, now=NOW + timedelta(days=3))) == sorted(
            [ids["asked"], ids["later"]]
        )
        assert grant_future_posts(session, now=NOW + timedelta(days=3)) == []
        assert get_post_view(session, post_id=ids["later2"]).rights_status == "none"  # type: ignore[union-attr]
