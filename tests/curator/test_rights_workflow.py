"""The rights workflow on SQLite and PostgreSQL: requests, answers, receipts, the end of rights."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from tesoro.collector.base import RateLimited
from tesoro.curator.queue import QueueError, decide
from tesoro.curator.rights import set_rights
from tesoro.curator.rights_requests import (
    INTERRUPTED_REASON,
    ConsentError,
    ThreadReply,
    consent_answer,
    consent_view,
    create_requests,
    decide_request,
    expire_rights,
    mark_no_response,
    reask,
    receipt_document,
    receipt_html,
    record_replies,
    render_request,
    revoke,
    send_queued,
    sign_document,
    verify_document,
)
from tesoro.insights.events import events_from_facts
from tesoro.settings import RightsSettings
from tesoro.store import rights as store
from tesoro.store.catalog import list_brands
from tesoro.store.engine import session_scope
from tesoro.store.posts import gallery_posts, get_post_view
from tesoro.store.relationships import relationship_facts
from worlds.curator import NOW, Spec, seed

SECRET = b"s" * 32
SETTINGS = RightsSettings(brand_hashtags={"Andes Outdoor": "#YesAndes"}, daily_caps={"x": 2, "reddit": 5})


class Recording:
    """Stands in for a platform's reply endpoint (the real clients are tested against the simulator)."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.posted: list[tuple[str, str]] = []
        self.fail_on = fail_on

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        if post_external_id == self.fail_on:
            raise RuntimeError("429 Too Many Requests")
        self.posted.append((post_external_id, text))
        return f"r-{post_external_id}", f"https://x.example/r-{post_external_id}"

    def fetch_replies(self, *, post_external_id: str, reply_id: str) -> list[ThreadReply]:
        return []


def _world(engine: Engine) -> dict[str, int]:
    data = seed(
        engine,
        [
            Spec("p1", "My Cumbre shoes on the trail", author="ana"),
            Spec("p2", "Mis Cumbre en la montaña", author="bea", language="es"),
            Spec("p3", "Rain jacket test", author="cam"),
            Spec("p4", "Another trail day", author="dan"),
            Spec("imp", "Imported testimonial", platform="file", author="eva"),
            Spec("nob", "No brand here", author="fay", brand=None),
        ],
    )
    return data.ids


def _one(engine: Engine, ids: dict[str, int], key: str, **kw: object) -> int:
    with session_scope(engine) as session:
        batch = create_requests(
            session, post_ids=[ids[key]], actor="coord", settings=SETTINGS, secret=SECRET, now=NOW, **kw
        )
        assert batch.created, batch.skipped
        request_id = batch.created[0][0].id
        assert request_id is not None
        return request_id


def test_requests_are_templated_recorded_and_skipped_with_reasons(engine: Engine) -> None:
    ids = _world(engine)
    with session_scope(engine) as session:
        batch = create_requests(
            session,
            post_ids=[ids["p1"], ids["p2"], ids["imp"], ids["nob"], 9999, ids["p1"]],
            actor="coord",
            settings=SETTINGS,
            secret=SECRET,
            now=NOW,
            scope=["website_gallery", "paid_ads"],
            duration_days=90,
        )
        made = {r.post_id: (r, link) for r, link in batch.created}
        assert set(made) == {ids["p1"], ids["p2"], ids["imp"]}
        assert dict(batch.skipped) == {ids["nob"]: "the post has no brand", 9999: "no post 9999"}
        en, es, imp = made[ids["p1"]][0], made[ids["p2"]][0], made[ids["imp"]][0]
        assert en.language == "en" and "#YesAndes" in en.text and "@ana" in en.text and "90 days" in en.text
        assert es.language == "es" and "#YesAndes" in es.text and "90 días" in es.text
        assert made[ids["p1"]][1] in en.text  # the consent link is in the text
        assert (en.status, en.channel) == ("queued", "reply")
        assert (imp.status, imp.channel) == ("sent", "manual")  # the coordinator pastes it
        assert (
            en.scope == ["website_gallery", "paid_ads"] and en.duration_days == 90 and en.asked_by == "coord"
        )
        assert get_post_view(session, post_id=ids["p1"]).rights_status == "requested"  # type: ignore[union-attr]
        terms = store.terms_by_id(session, terms_id=en.terms_id)
        assert terms is not None and terms.version == 1 and len(terms.sha256) == 64
    with session_scope(engine) as session:
        again = create_requests(
            session, post_ids=[ids["p1"]], actor="coord", settings=SETTINGS, secret=SECRET
        )
        assert again.skipped == [(ids["p1"], "a request is open already")]
        with pytest.raises(QueueError):
            create_requests(
                session,
                post_ids=[ids["p3"]],
                actor="coord",
                settings=SETTINGS,
                secret=SECRET,
                scope=["billboards"],
            )


def test_terms_are_versioned_by_their_text(engine: Engine) -> None:
    ids = _world(engine)
    del ids
    with session_scope(engine) as session:
        brand_id = list_brands(session)[0].id
        assert brand_id is not None
        one = store.save_terms(session, brand_id=brand_id, body="Terms A")
        same = store.save_terms(session, brand_id=brand_id, body="Terms A")
        two = store.save_terms(session, brand_id=brand_id, body="Terms B")
        assert (one.version, same.version, two.version) == (1, 1, 2)
        assert one.sha256 != two.sha256


def test_sending_is_capped_per_platform_and_one_failure_does_not_stop_the_rest(engine: Engine) -> None:
    ids = _world(engine)
    with session_scope(engine) as session:
        create_requests(
            session,
            post_ids=[ids[k] for k in ("p1", "p2", "p3", "p4")],
            actor="c",
            settings=SETTINGS,
            secret=SECRET,
        )
    channel = Recording(fail_on="p2")
    with session_scope(engine) as session:
        counts = send_queued(session, settings=SETTINGS, channels={"x": channel}, now=NOW)
    # p2 fails (kept with its error), p1 and p3 go out, p4 waits: X's cap here is 2 a day.
    assert counts == {"sent": 2, "failed": 1, "waiting": 1, "interrupted": 0}
    assert [p for p, _ in channel.posted] == ["p1", "p3"]
    with session_scope(engine) as session:
        failed = store.list_requests(session, statuses=("failed",))
        assert len(failed) == 1 and "429" in (failed[0].reason or "")
        counts = send_queued(session, settings=SETTINGS, channels={"x": channel}, now=NOW + timedelta(days=1))
    assert counts["sent"] == 1


class Throttled(Recording):
    """A platform that answers 429 to the first post of the pass (tweepy's TooManyRequests -> RateLimited)."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        if self.refused == 0:
            self.refused += 1
            raise RateLimited("X: 429 Too Many Requests", retry_at=NOW + timedelta(minutes=15))
        return super().post_reply(post_external_id=post_external_id, text=text)


def test_a_rate_limited_post_stays_queued_and_the_platform_waits_for_the_next_pass(engine: Engine) -> None:
    """A 429 means the platform refused the post: the request is not failed (the coordinator need not ask
    again), nothing more goes to that platform this pass, and the next pass posts it."""
    ids = _world(engine)
    with session_scope(engine) as session:
        create_requests(session, post_ids=[ids["p1"], ids["p3"]], actor="c", settings=SETTINGS, secret=SECRET)
    channel = Throttled()
    with session_scope(engine) as session:
        counts = send_queued(session, settings=SETTINGS, channels={"x": channel}, now=NOW)
    assert counts == {"sent": 0, "failed": 0, "waiting": 2, "interrupted": 0} and channel.posted == []
    with session_scope(engine) as session:
        assert len(store.list_requests(session, statuses=("queued",))) == 2
        counts = send_queued(session, settings=SETTINGS, channels={"x": channel}, now=NOW)
    assert counts["sent"] == 2 and [p for p, _ in channel.posted] == ["p1", "p3"]


class Killed(BaseException):
    """The process dying mid-pass (kill -9, out of memory, a job timeout): nothing catches it."""


class DiesOnSecond(Recording):
    """Killed on the second post, before or after the platform took it (`after`)."""

    def __init__(self, *, after: bool = False) -> None:
        super().__init__()
        self.after = after

    def post_reply(self, *, post_external_id: str, text: str) -> tuple[str, str | None]:
        if len(self.posted) == 1:
            if self.after:
                super().post_reply(post_external_id=post_external_id, text=text)
            raise Killed
        return super().post_reply(post_external_id=post_external_id, text=text)


@pytest.mark.parametrize("after", [False, True], ids=["before-the-post", "after-the-post"])
@pytest.mark.parametrize("committed", [True, False])
def test_a_pass_killed_half_way_never_asks_the_same_author_twice(
    engine: Engine, committed: bool, after: bool
) -> None:
    """With the job's checkpoint (its session's commit) each posted request stays posted through a
    crash, and the request in flight (marked "sending" before its post) is never posted again: whether
    the platform took it is unknown, so it fails with the reason for the coordinator. Without the
    checkpoint the whole pass rolls back and the next pass asks p1's author a second time."""
    ids = _world(engine)
    with session_scope(engine) as session:
        create_requests(session, post_ids=[ids["p1"], ids["p3"]], actor="c", settings=SETTINGS, secret=SECRET)
    dying = DiesOnSecond(after=after)
    with pytest.raises(Killed), session_scope(engine) as session:
        send_queued(
            session,
            settings=SETTINGS,
            channels={"x": dying},
            now=NOW,
            checkpoint=session.commit if committed else None,
        )
    assert [p for p, _ in dying.posted] == (["p1", "p3"] if after else ["p1"])
    again = Recording()
    with session_scope(engine) as session:
        counts = send_queued(session, settings=SETTINGS, channels={"x": again}, now=NOW)
    if committed:
        assert again.posted == [] and counts["sent"] == 0 and counts["interrupted"] == 1
        with session_scope(engine) as session:
            [sent] = store.list_requests(session, statuses=("sent",))
            assert sent.reply_external_id == "r-p1"
            [stopped] = store.list_requests(session, statuses=("failed",))
            assert stopped.post_id == ids["p3"] and stopped.reason == INTERRUPTED_REASON
            # The coordinator can ask again: the failed request no longer blocks a new one.
            batch = create_requests(
                session, post_ids=[ids["p3"]], actor="c", settings=SETTINGS, secret=SECRET
            )
            assert batch.skipped == []
    else:  # the defect the checkpoint removes, shown so this test can fail
        assert [p for p, _ in again.posted] == ["p1", "p3"]


def test_a_hashtag_reply_from_the_author_grants_with_a_receipt(engine: Engine) -> None:
    ids = _world(engine)
    request_id = _one(engine, ids, "p1", duration_days=30)
    with session_scope(engine) as session:
        send_queued(session, settings=SETTINGS, channels={"x": Recording()}, now=NOW)
        request = store.get_request(session, request_id=request_id)
        assert request is not None and request.status == "sent"
        verdicts = record_replies(
            session,
            request=request,
            replies=[
                ThreadReply(
                    "c1", "id-zed", "zed", "#YesAndes", created_at=NOW
                ),  # someone else: never a grant
                ThreadReply(
                    "c2", "id-ana", "ana", "#YesAndes 🙌", "https://x.example/c2", NOW + timedelta(hours=1)
                ),
            ],
            author_external_id="id-ana",
            now=NOW + timedelta(hours=2),
        )
        assert verdicts == ["needs_review", "granted"]
    with session_scope(engine) as session:
        request = store.get_request(session, request_id=request_id)
        assert request is not None and request.status == "granted"
        view = get_post_view(session, post_id=ids["p1"])
        assert view is not None and view.rights_status == "granted"
        (receipt,) = store.list_receipts(session, post_id=ids["p1"])
        assert receipt.reply_text == "#YesAndes 🙌" and receipt.reply_url == "https://x.example/c2"
        assert receipt.author_external_id == "id-ana" and receipt.terms_version == 1
        assert receipt.ends_at == NOW + timedelta(hours=2, days=30)
        signed = sign_document(SECRET, receipt_document(receipt))
        assert verify_document(SECRET, signed)
        tampered = {**signed, "receipt": {**signed["receipt"], "scope": ["paid_ads"]}}
        assert not verify_document(SECRET, tampered)
        assert not verify_document(b"x" * 32, signed)
        page = receipt_html(signed)
        assert "#YesAndes 🙌" in page and "<script" not in page
        # Seeing the same replies again changes nothing.
        again = record_replies(
            session,
            request=request,
            replies=[ThreadReply("c2", "id-ana", "ana", "#YesAndes 🙌")],
            author_external_id="id-ana",
        )
        assert again == []


def test_hostile_reply_text_is_kept_escaped_and_never_grants(engine: Engine) -> None:
    ids = _world(engine)
    request_id = _one(engine, ids, "p1")
    hostile = "<img src=x onerror=alert(1)> #YesAndes?\u202e" + "x" * 20_000
    with session_scope(engine) as session:
        request = store.get_request(session, request_id=request_id)
        assert request is not None
        store.update_request(
            session, request_id=request_id, expected_status="queued", status="sent", sent_at=NOW
        )
        record_replies(
            session,
            request=request,
            replies=[ThreadReply("h1", "id-ana", "ana", hostile)],
            author_external_id="id-ana",
        )
        request = store.get_request(session, request_id=request_id)
        assert request is not None and request.status == "needs_review"
        assert store.replies_of(session, request_id=request_id)[0].text == hostile


def test_no_and_conditions_and_coordinator_decisions(engine: Engine) -> None:
    ids = _world(engine)
    declined = _one(engine, ids, "imp")  # manual channel: "sent" at once
    review = _one(engine, ids, "p3")
    with session_scope(engine) as session:
        store.update_request(session, request_id=review, expected_status="queued", status="sent", sent_at=NOW)
        for request_id, text, author in (
            (declined, "No thanks", "id-eva"),
            (review, "Yes but credit me", "id-cam"),
        ):
            request = store.get_request(session, request_id=request_id)
            assert request is not None
            record_replies(
                session,
                request=request,
                replies=[ThreadReply("r", author, None, text)],
                author_external_id=author,
            )
    with session_scope(engine) as session:
        assert store.get_request(session, request_id=declined).status == "declined"  # type: ignore[union-attr]
        assert get_post_view(session, post_id=ids["imp"]).rights_status == "declined"  # type: ignore[union-attr]
        waiting = store.get_request(session, request_id=review)
        assert waiting is not None and waiting.status == "needs_review" and "credit" in (waiting.reason or "")
        decided = decide_request(session, request_id=review, grant=True, actor="coord")
        assert decided.status == "granted"
        (receipt,) = store.list_receipts(session, post_id=ids["p3"])
        assert receipt.reply_text == "Yes but credit me"
        with pytest.raises(QueueError):
            decide_request(session, request_id=review, grant=False, actor="coord")


def test_no_response_after_the_wait_then_one_reask(engine: Engine) -> None:
    ids = _world(engine)
    request_id = _one(engine, ids, "imp")
    with session_scope(engine) as session:
        assert mark_no_response(session, settings=SETTINGS, now=NOW + timedelta(days=13)) == 0
        assert mark_no_response(session, settings=SETTINGS, now=NOW + timedelta(days=14)) == 1
        assert store.get_request(session, request_id=request_id).status == "no_response"  # type: ignore[union-attr]
        second = reask(
            session, request_id=request_id, actor="coord", settings=SETTINGS, secret=SECRET, now=NOW
        )
        ((again, _),) = second.created
        assert again.attempt == 2 and again.text != ""
        assert mark_no_response(session, settings=SETTINGS, now=NOW + timedelta(days=15)) == 1
        with pytest.raises(QueueError, match="twice"):
            reask(session, request_id=again.id or 0, actor="coord", settings=SETTINGS, secret=SECRET)


def _consent_token(engine: Engine, ids: dict[str, int], key: str, days: int = 365) -> tuple[int, str]:
    with session_scope(engine) as session:
        batch = create_requests(
            session,
            post_ids=[ids[key]],
            actor="c",
            settings=SETTINGS,
            secret=SECRET,
            now=NOW,
            duration_days=days,
        )
        request, link = batch.created[0]
        assert request.id is not None
        return request.id, link.rsplit("/", 1)[1]


def test_consent_page_links_are_signed_expiring_and_single_use(engine: Engine) -> None:
    ids = _world(engine)
    request_id, token = _consent_token(engine, ids, "p1")
    with session_scope(engine) as session:
        shown = consent_view(session, secret=SECRET, token=token, now=NOW)
        assert (
            shown.request.id == request_id
            and shown.terms_version == 1
            and "Andes Outdoor" in shown.terms_body
        )
        forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
        for bad in (forged, "1.2.3", "", token + ".x"):
            with pytest.raises(ConsentError, match="forged"):
                consent_view(session, secret=SECRET, token=bad, now=NOW)
        with pytest.raises(ConsentError, match="forged"):
            consent_view(session, secret=b"k" * 32, token=token, now=NOW)
        with pytest.raises(ConsentError, match="expired"):
            consent_view(session, secret=SECRET, token=token, now=NOW + timedelta(days=31))
        answered = consent_answer(
            session, secret=SECRET, token=token, approve=True, future_posts=True, now=NOW
        )
        assert answered.status == "granted" and answered.future_posts
        (receipt,) = store.list_receipts(session, post_id=ids["p1"])
        assert (
            receipt.source == "consent_page"
            and receipt.author_external_id == "id-ana"
            and receipt.future_posts
        )
        with pytest.raises(ConsentError, match="used"):
            consent_answer(session, secret=SECRET, token=token, approve=False, now=NOW)


def test_expiry_and_revocation_take_the_post_out_of_the_gallery(engine: Engine) -> None:
    ids = _world(engine)
    _, token = _consent_token(engine, ids, "p1", days=7)
    brand_id = get_brand(engine, ids["p1"])
    with session_scope(engine) as session:
        for key in ("p1", "p3"):
            decide(session, post_ids=[ids[key]], action="approve", actor="c")
        consent_answer(session, secret=SECRET, token=token, approve=True, now=NOW)
        set_rights(session, post_ids=[ids["p3"]], status="granted", actor="c")
    with session_scope(engine) as session:
        shown = {p.id for p in gallery_posts(session, brand_id=brand_id)}
        # p1's rights ended 7 days after NOW (in the past for the wall clock the gallery reads): the
        # gallery drops it by itself, before the expiry job has run.
        assert ids["p3"] in shown and ids["p1"] not in shown
        assert expire_rights(session, now=NOW + timedelta(days=8)) == [ids["p1"]]
        assert get_post_view(session, post_id=ids["p1"]).rights_status == "expired"  # type: ignore[union-attr]
        assert revoke(session, post_id=ids["p3"], actor="c", reason="author asked") == 0
        assert get_post_view(session, post_id=ids["p3"]).rights_status == "revoked"  # type: ignore[union-attr]
        assert gallery_posts(session, brand_id=brand_id) == []


def get_brand(engine: Engine, post_id: int) -> int:
    with session_scope(engine) as session:
        view = get_post_view(session, post_id=post_id)
        assert view is not None and view.brand_id is not None
        return view.brand_id


def test_a_grant_counts_for_the_relationship_and_a_decline_does_not_count_against(engine: Engine) -> None:
    ids = _world(engine)
    granted = _one(engine, ids, "imp")  # eva grants
    declined = _one(engine, ids, "p3")  # cam declines
    with session_scope(engine) as session:
        store.update_request(
            session, request_id=declined, expected_status="queued", status="sent", sent_at=NOW
        )
        for request_id, text, author in (
            (granted, "#YesAndes", "id-eva"),
            (declined, "No thanks", "id-cam"),
        ):
            request = store.get_request(session, request_id=request_id)
            assert request is not None
            record_replies(
                session,
                request=request,
                replies=[ThreadReply("r", author, None, text)],
                author_external_id=author,
                now=NOW,
            )

    def kinds() -> dict[str, set[str]]:
        with session_scope(engine) as session:
            brand = list_brands(session)[0]
            facts = relationship_facts(
                session,
                brand_id=brand.id,
                brand_handles=[brand.handles],
                ugc_content_types=("photo",),
                until=NOW + timedelta(days=1),
            )
            views = {ids[k]: get_post_view(session, post_id=ids[k]) for k in ("imp", "p3")}
        handles = {v.author.id: v.author.handle for v in views.values() if v is not None}
        out: dict[str, set[str]] = {}
        for event in events_from_facts(facts).to_events():
            if event.author_id in handles:
                out.setdefault(handles[event.author_id], set()).add(event.kind.value)
        return out

    with session_scope(engine) as session:
        assert get_post_view(session, post_id=ids["imp"]).rights_status == "granted"  # type: ignore[union-attr]
    seen = kinds()
    assert "rights_granted" in seen["eva"]
    assert seen["cam"] == seen["eva"] - {"rights_granted"}  # the decline adds nothing, for or against
    with session_scope(engine) as session:
        assert expire_rights(session, now=NOW + timedelta(days=400)) == [ids["imp"]]
    assert "rights_granted" in kinds()["eva"]  # a grant whose term ended still happened


def test_a_request_too_long_for_x_falls_back_to_the_short_text() -> None:
    link = "https://tesoro.example/rights/consent/" + "t" * 120
    long = render_request(
        language="es",
        variant=0,
        handle="a" * 15,
        brand="Andes Outdoor Trail and Mountain Running Gear Company of Peru",
        hashtag="#YesAndes",
        link=link,
        scope=["organic_social", "website_gallery", "paid_ads", "product_pages"],
        duration_days=365,
        platform="x",
    )
    assert long[0] == "es-short" and link in long[1] and "#YesAndes" in long[1]
    roomy = render_request(
        language="es", variant=0, handle="a", brand="B", hashtag="#YesB", link=link, scope=["paid_ads"],
        duration_days=None, platform="mastodon",
    )  # fmt: skip
    assert roomy[0] == "es-1" and "sin fecha de fin" in roomy[1]
