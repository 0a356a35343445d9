"""The usage-rights workflow: ask the author, read the answer, keep a receipt, end on time.

1. **Request** (`create_requests`): one post or a batch from the queue. Each request records the
   exact text (a template variant in the post's language, English or Spanish, with the brand's
   approval hashtag and a consent link), the brand's terms version and hash, the scope and the
   duration asked, who asked and when. On X, Reddit, Bluesky, Mastodon and YouTube, and on
   Instagram media whose caption @mentions the brand, the text is posted as a reply by
   `send_queued`, paced by per-platform daily caps and a batch size; elsewhere (hashtag-found
   Instagram media, TikTok, Threads, imports) the coordinator gets the text to paste and the link
   ("manual" channel).
2. **Consent page** (`consent_answer`): the link is signed, carries a one-time nonce (stored
   hashed) and expires; the first answer uses it up (a replay is refused).
3. **Answers** (`record_replies`): every reply under the request's thread is classified
   (`tesoro.curator.rights_replies`); a grant from the author writes a receipt, a no declines,
   "please remove" revokes, anything unclear waits for the coordinator with its reason.
   `mark_no_response` ends requests unanswered after `no_response_days`; `reask` asks once more.
4. **Receipts** (`receipt_document`, `sign_document`, `receipt_html`): a grant's proof, exported
   as signed JSON or a standalone HTML page.
5. **Future posts** (`grant_future_posts`): an author who approved "for my future posts as well"
   has their later posts for the brand granted under that consent, each with a receipt of its
   own that names the consent's receipt; revoking the consent revokes them too.
6. **End** (`expire_rights`, `revoke`): rights with an end date expire; a revocation marks the
   receipts revoked. Every change of a post's rights status goes through
   `tesoro.curator.rights.set_rights`, so its hook runs each time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session

from tesoro.collector.base import QuotaExhausted, RateLimited, RightsChannel, ThreadReply
from tesoro.collector.instagram import UNKNOWN_OWNER
from tesoro.curator.queue import NotFound, QueueError
from tesoro.curator.rights import set_rights
from tesoro.curator.rights_replies import ReplyVerdict, classify_reply
from tesoro.settings import RIGHTS_SCOPES, RightsSettings
from tesoro.store import rights as store
from tesoro.store.catalog import list_brands
from tesoro.store.posts import PostView, get_post_view
from tesoro.store.tables import RightsReceipt, RightsRequest, RightsState
from tesoro.text.lang import primary_language

__all__ = [
    "API_PLATFORMS",
    "INTERRUPTED_REASON",
    "OPEN_STATUSES",
    "SYSTEM_ACTOR",
    "ConsentError",
    "ConsentView",
    "RequestBatch",
    "RightsChannel",
    "ThreadReply",
    "consent_answer",
    "consent_link",
    "consent_view",
    "create_requests",
    "decide_request",
    "default_terms",
    "expire_rights",
    "grant_future_posts",
    "mark_no_response",
    "read_consent_token",
    "reask",
    "receipt_document",
    "receipt_html",
    "record_replies",
    "render_request",
    "revoke",
    "send_queued",
    "sign_document",
    "verify_document",
]

SYSTEM_ACTOR = "tesoro:rights"
# Platforms whose API lets Tesoro post the request as a reply under the author's post.
API_PLATFORMS = frozenset({"x", "reddit", "bluesky", "mastodon", "youtube"})
# Platforms whose API lets Tesoro comment only where the post @mentions the brand's account there
# (Instagram: the mentions edge; the Graph API forbids commenting on hashtag-found media).
MENTION_PLATFORMS = frozenset({"instagram"})
# A request still waiting for the author (at most one per post at a time).
OPEN_STATUSES = ("queued", "sending", "sent", "needs_review")
# Why a request left in "sending" by a pass that stopped (killed, crashed) is marked failed instead of
# posted again: whether its comment reached the platform is not known, and asking twice is worse.
INTERRUPTED_REASON = (
    "the pass that was posting this request stopped before saving the outcome: look for the brand's "
    "comment under the post before asking again"
)

# Template variants per language, so a batch does not repeat one sentence. Placeholders:
# {handle} {brand} {hashtag} {link} {scope} {duration}. Kept short: X allows 280 characters.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "en": (
        "Hi @{handle}! We love this. May {brand} share it ({scope}, {duration})? "
        "Reply {hashtag} to say yes. Terms: {link}",
        "@{handle} this is great! Could {brand} feature it ({scope}, {duration})? "
        "If that's OK, reply {hashtag}. Details: {link}",
        "Hey @{handle}, {brand} here. We'd love to show this ({scope}, {duration}). "
        "Reply {hashtag} if you agree, or see the terms: {link}",
    ),
    "es": (
        "¡Hola @{handle}! Nos encanta. ¿Podemos compartirlo en {brand} ({scope}, {duration})? "
        "Responde {hashtag} para decir que sí. Términos: {link}",
        "@{handle} ¡qué buena publicación! ¿Nos dejas mostrarla en {brand} ({scope}, {duration})? "
        "Si estás de acuerdo, responde {hashtag}. Detalles: {link}",
        "Hola @{handle}, te escribe {brand}. Nos gustaría mostrar esto ({scope}, {duration}). "
        "Responde {hashtag} si aceptas, o mira los términos: {link}",
    ),
}
# When a variant is too long for the platform (X: 280 characters, each link counting 23): the scope and
# duration are then on the consent page only.
SHORT_TEMPLATES = {
    "en": "@{handle} May {brand} share this? Reply {hashtag} to agree. Terms: {link}",
    "es": "@{handle} ¿Podemos compartir esto en {brand}? Responde {hashtag} si aceptas. Términos: {link}",
}
# The longest request each platform takes, counting a link as its shortened length.
TEXT_LIMITS = {
    "x": (280, 23),
    "mastodon": (500, 23),
    "bluesky": (300, None),
    "instagram": (2200, None),
    "youtube": (10_000, None),
    "reddit": (10_000, None),
}
_LINK = re.compile(r"https?://\S+")
SCOPE_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "organic_social": "our social accounts",
        "website_gallery": "our website gallery",
        "paid_ads": "paid ads",
        "product_pages": "product pages",
    },
    "es": {
        "organic_social": "nuestras redes",
        "website_gallery": "la galería de nuestra web",
        "paid_ads": "anuncios pagados",
        "product_pages": "páginas de producto",
    },
}


def default_terms(brand: str) -> str:
    """The terms a brand gets until it saves its own (`tesoro rights terms`)."""
    return (
        f"By approving, you allow {brand} to show the post named in the request, with credit to your "
        "account, in the uses and for the time the request names. You keep the copyright. You can "
        "withdraw this permission at any time by replying 'please remove' or writing to the brand; "
        f"{brand} then stops showing the post within a minute.\n\n"
        f"Al aprobar, permites a {brand} mostrar la publicación indicada en la solicitud, con crédito "
        "a tu cuenta, en los usos y durante el tiempo que la solicitud indica. Conservas los derechos "
        "de autor. Puedes retirar este permiso cuando quieras respondiendo 'por favor quítenla' o "
        f"escribiendo a la marca; {brand} deja de mostrar la publicación en menos de un minuto."
    )


# --- consent links --------------------------------------------------------------------------------


class ConsentError(Exception):
    """A consent link that cannot be used: `reason` is "forged", "expired", "used" or "closed"."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(secret: bytes, message: str) -> str:
    return _b64(hmac.new(secret, b"tesoro-rights:" + message.encode("utf-8"), hashlib.sha256).digest())


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("ascii")).hexdigest()


def consent_token(secret: bytes, *, request_id: int, nonce: str, expires_at: datetime) -> str:
    body = f"{request_id}.{int(expires_at.timestamp())}.{nonce}"
    return f"{body}.{_mac(secret, body)}"


def read_consent_token(secret: bytes, token: str, *, now: datetime) -> tuple[int, str]:
    """(request id, nonce) of a genuine, unexpired token; else ConsentError("forged"/"expired")."""
    parts = token.split(".")
    if len(parts) != 4 or len(token) > 300:
        raise ConsentError("forged")
    body = ".".join(parts[:3])
    if not hmac.compare_digest(parts[3], _mac(secret, body)):
        raise ConsentError("forged")
    try:
        request_id, expires = int(parts[0]), int(parts[1])
    except ValueError as exc:
        raise ConsentError("forged") from exc
    if now.timestamp() >= expires:
        raise ConsentError("expired")
    return request_id, parts[2]


def consent_link(settings: RightsSettings, token: str) -> str:
    return f"{settings.public_url}/rights/consent/{token}"


# --- requests -------------------------------------------------------------------------------------


@dataclass(slots=True)
class RequestBatch:
    """What `create_requests` did: the requests made (with their links) and the posts skipped."""

    created: list[tuple[RightsRequest, str]] = field(default_factory=list)  # (request, consent link)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (post id, why)


def _language(view: PostView) -> str:
    lang = primary_language(view.lang)
    return lang if lang in TEMPLATES else "en"


def render_request(
    *, language: str, variant: int, handle: str, brand: str, hashtag: str, link: str, scope: Sequence[str],
    duration_days: int | None, platform: str = "",
) -> tuple[str, str]:  # fmt: skip
    """(template key, text) of one request."""
    lang = language if language in TEMPLATES else "en"
    words = SCOPE_WORDS[lang]
    scope_text = ", ".join(words[s] for s in scope)
    if duration_days:
        duration = f"{duration_days} days" if lang == "en" else f"{duration_days} días"
    else:
        duration = "no end date" if lang == "en" else "sin fecha de fin"
    templates = TEMPLATES[lang]
    index = variant % len(templates)
    values = {
        "handle": handle.lstrip("@"),
        "brand": brand,
        "hashtag": hashtag,
        "link": link,
        "scope": scope_text,
        "duration": duration,
    }
    text = templates[index].format(**values)
    if platform in TEXT_LIMITS and _weighted(text, platform) > TEXT_LIMITS[platform][0]:
        return f"{lang}-short", SHORT_TEMPLATES[lang].format(**values)
    return f"{lang}-{index + 1}", text


def _weighted(text: str, platform: str) -> int:
    """The text's length as the platform counts it (a link as its shortened length, where it shortens)."""
    link_length = TEXT_LIMITS[platform][1]
    return len(_LINK.sub("x" * link_length, text)) if link_length else len(text)


def create_requests(
    session: Session,
    *,
    post_ids: Iterable[int],
    actor: str,
    settings: RightsSettings,
    secret: bytes,
    scope: Sequence[str] | None = None,
    duration_days: int | None = None,
    now: datetime | None = None,
    attempt: int = 1,
) -> RequestBatch:
    """Record one request per post (queued for the API, or "sent" by hand for the manual channel).

    A post that is unknown, has no brand, is deleted, already has an open request or already has
    rights granted is skipped with the reason; the others go ahead.
    """
    now = now or datetime.now(UTC)
    if not actor.strip():
        raise QueueError("a request needs an actor (who asks)")
    chosen = list(dict.fromkeys(scope or settings.scope))
    unknown = [s for s in chosen if s not in RIGHTS_SCOPES]
    if unknown or not chosen:
        raise QueueError(f"scope must be some of {', '.join(RIGHTS_SCOPES)}, not {unknown or chosen}")
    days = settings.duration_days if duration_days is None else duration_days
    if days < 0 or days > 3650:
        raise QueueError("duration_days must be between 0 (no end date) and 3650")
    catalog = list_brands(session)
    brands = {b.id: b.name for b in catalog}
    handles = {b.id: b.handles for b in catalog}
    batch = RequestBatch()
    for post_id in dict.fromkeys(post_ids):
        view = get_post_view(session, post_id=post_id)
        if view is None:
            batch.skipped.append((post_id, f"no post {post_id}"))
            continue
        if view.brand_id is None or view.brand_id not in brands:
            batch.skipped.append((post_id, "the post has no brand"))
            continue
        if view.rights_status == RightsState.GRANTED.value:
            batch.skipped.append((post_id, "rights are granted already"))
            continue
        if store.list_requests(session, statuses=OPEN_STATUSES, post_id=post_id, limit=1):
            batch.skipped.append((post_id, "a request is open already"))
            continue
        brand = brands[view.brand_id]
        terms = store.latest_terms(session, brand_id=view.brand_id) or store.save_terms(
            session, brand_id=view.brand_id, body=default_terms(brand), now=now
        )
        assert terms.id is not None
        nonce = secrets.token_urlsafe(18)
        hashtag = settings.hashtag_for(brand)
        channel = _channel(session, view, handles.get(view.brand_id) or {})
        request = store.add_request(
            session,
            post_id=post_id,
            brand_id=view.brand_id,
            author_id=view.author.id,
            platform=view.platform,
            language=_language(view),
            hashtag=hashtag,
            terms_id=terms.id,
            scope=chosen,
            duration_days=days or None,
            template="",
            text="",
            channel=channel,
            status="queued" if channel == "reply" else "sent",
            attempt=attempt,
            asked_by=actor,
            asked_at=now,
            sent_at=None if channel == "reply" else now,
            consent_nonce_hash=_nonce_hash(nonce),
        )
        assert request.id is not None
        token = consent_token(
            secret,
            request_id=request.id,
            nonce=nonce,
            expires_at=now + timedelta(days=settings.consent_link_days),
        )
        link = consent_link(settings, token)
        template, text = render_request(
            language=request.language,
            variant=request.id + attempt,
            handle=view.author.handle,
            brand=brand,
            hashtag=hashtag,
            link=link,
            scope=chosen,
            duration_days=days or None,
            platform=view.platform,
        )
        store.update_request(
            session, request_id=request.id, expected_status=None, template=template, text=text
        )
        _set_status(session, [post_id], RightsState.REQUESTED, actor, f"rights request {request.id}", now)
        batch.created.append((request, link))
    return batch


def _channel(session: Session, view: PostView, handles: Mapping[str, str]) -> str:
    """ "reply" where the platform's API lets Tesoro ask under the post, else "manual"."""
    if view.platform in API_PLATFORMS:
        return "reply"
    if view.platform in MENTION_PLATFORMS:
        own = (handles.get(view.platform) or "").lstrip("@").casefold()
        mentioned = {m.lstrip("@").casefold() for m in store.post_mentions(session, post_id=view.id)}
        # Media first found by hashtag carry no owner: no answer could be told to be the author's.
        owner = _author_external_id(session, view)
        if own and own in mentioned and owner and not owner.startswith(UNKNOWN_OWNER):
            return "reply"
    return "manual"


def _set_status(
    session: Session, post_ids: list[int], status: RightsState, actor: str, note: str, now: datetime
) -> None:
    """The post's rights status, through the one path that runs the rights-change hook."""
    for post_id in post_ids:
        view = get_post_view(session, post_id=post_id)
        if view is not None and view.rights_status != status.value:
            set_rights(session, post_ids=[post_id], status=status, actor=actor, note=note, now=now)


# --- posting and reading through the platforms -------------------------------------------------------


def send_queued(
    session: Session,
    *,
    settings: RightsSettings,
    channels: Mapping[str, RightsChannel],
    now: datetime | None = None,
    checkpoint: Callable[[], None] | None = None,
) -> dict[str, int]:
    """Post queued requests through their platform, within each platform's daily cap; counts by outcome.

    A platform without a channel keeps its requests queued, and so does one whose budget for the
    pass is spent (`QuotaExhausted`) or that said to wait (`RateLimited`: the post was refused, not
    made, so it is safe to try again next pass); any other failing post marks that request "failed"
    (with the error) and the others still go out. `checkpoint` (the job passes its session's commit)
    runs before each post (the request marked "sending") and after its outcome is recorded: a pass
    killed half-way keeps what it posted, so the next pass never asks those authors again, and the one
    request in flight at the kill is not posted again either: the next pass marks it failed with
    `INTERRUPTED_REASON`, for the coordinator to check the post and ask again.
    """
    now = now or datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    counts = {"sent": 0, "failed": 0, "waiting": 0, "interrupted": 0}
    budget = settings.batch_size
    exhausted: set[str] = set()
    for stuck in store.list_requests(session, statuses=("sending",), limit=1000):
        assert stuck.id is not None
        store.update_request(
            session,
            request_id=stuck.id,
            expected_status="sending",
            status="failed",
            reason=INTERRUPTED_REASON,
        )
        counts["interrupted"] += 1
    if counts["interrupted"] and checkpoint is not None:
        checkpoint()
    queued = sorted(store.list_requests(session, statuses=("queued",), limit=1000), key=lambda r: r.id or 0)
    for request in queued:
        channel = channels.get(request.platform)
        cap = settings.daily_caps.get(request.platform, 0)
        if (
            channel is None
            or request.platform in exhausted
            or budget <= 0
            or store.sent_since(session, platform=request.platform, since=day) >= cap
        ):
            counts["waiting"] += 1
            continue
        assert request.id is not None
        view = get_post_view(session, post_id=request.post_id)
        if view is None:
            continue
        # Saved before the post: a pass that dies after posting leaves "sending", never "queued".
        store.update_request(session, request_id=request.id, expected_status="queued", status="sending")
        if checkpoint is not None:
            checkpoint()
        try:
            reply_id, url = channel.post_reply(post_external_id=view.external_id, text=request.text)
        except (QuotaExhausted, RateLimited):  # spent, or told to wait: the platform's rest waits a pass
            store.update_request(session, request_id=request.id, expected_status="sending", status="queued")
            counts["waiting"] += 1
            exhausted.add(request.platform)
            if checkpoint is not None:
                checkpoint()
            continue
        except Exception as exc:  # one failing post never stops the others
            store.update_request(
                session,
                request_id=request.id,
                expected_status="sending",
                status="failed",
                reason=str(exc)[:500],
            )
            counts["failed"] += 1
            if checkpoint is not None:
                checkpoint()
            continue
        store.update_request(
            session,
            request_id=request.id,
            expected_status="sending",
            status="sent",
            sent_at=now,
            reply_external_id=reply_id,
            reply_url=url,
        )
        counts["sent"] += 1
        budget -= 1
        if checkpoint is not None:
            checkpoint()
    return counts


def record_replies(
    session: Session,
    *,
    request: RightsRequest,
    replies: Sequence[ThreadReply],
    author_external_id: str,
    now: datetime | None = None,
) -> list[str]:
    """Classify the new replies under one request and act on the decisive one; the verdicts read.

    Replies are taken oldest first; the first from the author that grants, declines or revokes
    decides, later ones are kept for the record. A revocation after a grant revokes it.
    """
    now = now or datetime.now(UTC)
    assert request.id is not None
    verdicts: list[str] = []
    ordered = sorted(replies, key=lambda r: (r.created_at or now, r.external_id))
    for reply in ordered:
        from_author = reply.author_external_id == author_external_id
        verdict = classify_reply(reply.text, hashtag=request.hashtag, from_author=from_author)
        stored = store.add_reply(
            session,
            request_id=request.id,
            external_id=reply.external_id,
            author_external_id=reply.author_external_id,
            author_handle=reply.author_handle,
            from_author=from_author,
            text=reply.text,
            url=reply.url,
            verdict=verdict.verdict.value,
            reason=verdict.reason,
            replied_at=reply.created_at,
            seen_at=now,
        )
        if stored is None:
            continue
        verdicts.append(verdict.verdict.value)
        current = store.get_request(session, request_id=request.id)
        assert current is not None
        if not from_author:
            continue
        if verdict.verdict == ReplyVerdict.GRANTED and current.status in ("sent", "needs_review"):
            _grant(session, current, now=now, source="reply", reply=reply, actor=SYSTEM_ACTOR)
        elif verdict.verdict == ReplyVerdict.DECLINED and current.status in ("sent", "needs_review"):
            _close(session, current, "declined", verdict.reason, RightsState.DECLINED, now)
        elif verdict.verdict == ReplyVerdict.REVOKED:
            if current.status == "granted":
                revoke(session, post_id=current.post_id, actor=SYSTEM_ACTOR, reason=verdict.reason, now=now)
            elif current.status in ("sent", "needs_review"):
                _close(session, current, "declined", verdict.reason, RightsState.DECLINED, now)
        elif verdict.verdict == ReplyVerdict.NEEDS_REVIEW and current.status == "sent":
            store.update_request(
                session,
                request_id=request.id,
                expected_status="sent",
                status="needs_review",
                reason=f"{verdict.reason}; reply: {reply.text[:200]!r}",
            )
    return verdicts


def _close(
    session: Session,
    request: RightsRequest,
    status: str,
    reason: str,
    post_status: RightsState,
    now: datetime,
) -> None:
    assert request.id is not None
    if store.update_request(
        session,
        request_id=request.id,
        expected_status=request.status,
        status=status,
        reason=reason,
        answered_at=now,
    ):
        _set_status(
            session, [request.post_id], post_status, SYSTEM_ACTOR, f"rights request {request.id}", now
        )


def _grant(
    session: Session,
    request: RightsRequest,
    *,
    now: datetime,
    source: str,
    actor: str,
    reply: ThreadReply | None = None,
    future_posts: bool = False,
) -> RightsReceipt | None:
    """Write the receipt and mark the post granted (until the end date); None if someone else decided."""
    assert request.id is not None
    if not store.update_request(
        session,
        request_id=request.id,
        expected_status=request.status,
        status="granted",
        answered_at=now,
        future_posts=future_posts,
        reason=f"granted by {source}",
    ):
        return None
    view = get_post_view(session, post_id=request.post_id)
    terms = store.terms_by_id(session, terms_id=request.terms_id)
    assert view is not None and terms is not None
    ends_at = now + timedelta(days=request.duration_days) if request.duration_days else None
    receipt = store.add_receipt(
        session,
        request_id=request.id,
        post_id=request.post_id,
        author_id=request.author_id,
        brand_id=request.brand_id,
        platform=request.platform,
        post_url=view.url,
        author_external_id=reply.author_external_id if reply else _author_external_id(session, view),
        author_handle=reply.author_handle if reply else view.author.handle,
        request_text=request.text,
        terms_version=terms.version,
        terms_sha256=terms.sha256,
        scope=list(request.scope),
        duration_days=request.duration_days,
        source=source,
        reply_url=reply.url if reply else None,
        reply_text=reply.text if reply else None,
        future_posts=future_posts,
        asked_by=request.asked_by,
        asked_at=request.asked_at,
        granted_at=now,
        ends_at=ends_at,
    )
    _set_status(session, [request.post_id], RightsState.GRANTED, actor, f"rights receipt {receipt.id}", now)
    store.set_rights_until(session, post_id=request.post_id, until=ends_at)
    return receipt


def _author_external_id(session: Session, view: PostView) -> str:
    return store.author_external_id(session, author_id=view.author.id) or ""


def decide_request(
    session: Session,
    *,
    request_id: int,
    grant: bool,
    actor: str,
    note: str | None = None,
    now: datetime | None = None,
) -> RightsRequest:
    """The coordinator decides a request waiting for review (a condition, a question) by hand."""
    now = now or datetime.now(UTC)
    request = store.get_request(session, request_id=request_id)
    if request is None:
        raise NotFound(f"no rights request {request_id}")
    if request.status not in ("sent", "needs_review"):
        raise QueueError(
            f"rights request {request_id} is {request.status}: only an open request can be decided"
        )
    replies = [r for r in store.replies_of(session, request_id=request_id) if r.from_author]
    if grant:
        last = replies[-1] if replies else None
        reply = (
            ThreadReply(last.external_id, last.author_external_id, last.author_handle, last.text, last.url)
            if last
            else None
        )
        _grant(
            session, request, now=now, source="reply" if reply else "coordinator", actor=actor, reply=reply
        )
    else:
        _close(session, request, "declined", note or f"declined by {actor}", RightsState.DECLINED, now)
    updated = store.get_request(session, request_id=request_id)
    assert updated is not None
    return updated


def mark_no_response(session: Session, *, settings: RightsSettings, now: datetime | None = None) -> int:
    """Requests sent more than `no_response_days` ago and still unanswered become "no_response"."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=settings.no_response_days)
    count = 0
    for request in store.list_requests(session, statuses=("sent",), limit=10_000):
        sent = request.sent_at or request.asked_at
        if sent <= cutoff and request.id is not None:
            _close(
                session,
                request,
                "no_response",
                f"no answer in {settings.no_response_days} days",
                RightsState.NONE,
                now,
            )
            count += 1
    return count


def reask(
    session: Session,
    *,
    request_id: int,
    actor: str,
    settings: RightsSettings,
    secret: bytes,
    now: datetime | None = None,
) -> RequestBatch:
    """Ask once more after "no response" (a second attempt is the last)."""
    request = store.get_request(session, request_id=request_id)
    if request is None:
        raise NotFound(f"no rights request {request_id}")
    if request.status != "no_response":
        raise QueueError(
            f"rights request {request_id} is {request.status}: only a request with no response is re-asked"
        )
    if request.attempt >= 2:
        raise QueueError(f"rights request {request_id} was asked twice already")
    return create_requests(
        session,
        post_ids=[request.post_id],
        actor=actor,
        settings=settings,
        secret=secret,
        scope=list(request.scope),
        duration_days=request.duration_days or 0,
        now=now,
        attempt=request.attempt + 1,
    )


# --- consent page ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsentView:
    request: RightsRequest
    post: PostView
    brand: str
    terms_version: int
    terms_body: str
    terms_sha256: str


def _consent_request(session: Session, secret: bytes, token: str, now: datetime) -> RightsRequest:
    request_id, nonce = read_consent_token(secret, token, now=now)
    request = store.get_request(session, request_id=request_id)
    if request is None or not hmac.compare_digest(request.consent_nonce_hash, _nonce_hash(nonce)):
        raise ConsentError("forged")
    if request.consent_used_at is not None:
        raise ConsentError("used")
    if request.status not in ("queued", "sent", "needs_review"):
        raise ConsentError("closed")
    return request


def consent_view(session: Session, *, secret: bytes, token: str, now: datetime | None = None) -> ConsentView:
    """What the consent page shows for a genuine, unexpired, unused link (else ConsentError)."""
    now = now or datetime.now(UTC)
    request = _consent_request(session, secret, token, now)
    view = get_post_view(session, post_id=request.post_id)
    terms = store.terms_by_id(session, terms_id=request.terms_id)
    assert view is not None and terms is not None
    brand = next((b.name for b in list_brands(session) if b.id == request.brand_id), "")
    return ConsentView(request, view, brand, terms.version, terms.body, terms.sha256)


def consent_answer(
    session: Session,
    *,
    secret: bytes,
    token: str,
    approve: bool,
    future_posts: bool = False,
    now: datetime | None = None,
) -> RightsRequest:
    """The author's answer on the consent page; the link is used up (a replay raises ConsentError("used"))."""
    now = now or datetime.now(UTC)
    request = _consent_request(session, secret, token, now)
    assert request.id is not None
    if not store.update_request(
        session, request_id=request.id, expected_status=request.status, consent_used_at=now
    ):
        raise ConsentError("used")
    request_id = request.id
    request = store.get_request(session, request_id=request_id) or request
    if approve:
        _grant(
            session, request, now=now, source="consent_page", actor=SYSTEM_ACTOR, future_posts=future_posts
        )
    else:
        _close(session, request, "declined", "declined on the consent page", RightsState.DECLINED, now)
    updated = store.get_request(session, request_id=request_id)
    assert updated is not None
    return updated


# --- the end of rights ----------------------------------------------------------------------------


def revoke(session: Session, *, post_id: int, actor: str, reason: str, now: datetime | None = None) -> int:
    """Revoke a post's granted rights (the author asked, or a coordinator did): receipts revoked, post out."""
    now = now or datetime.now(UTC)
    if get_post_view(session, post_id=post_id) is None:
        raise NotFound(f"no post {post_id}")
    consents = [
        r.id
        for r in store.list_receipts(session, post_id=post_id, limit=1000)
        if r.revoked_at is None and r.id
    ]
    count = store.revoke_receipts(session, post_id=post_id, reason=reason, now=now)
    for request in store.list_requests(session, statuses=("granted",), post_id=post_id, limit=100):
        assert request.id is not None
        store.update_request(
            session, request_id=request.id, expected_status="granted", status="revoked", reason=reason
        )
    _set_status(session, [post_id], RightsState.REVOKED, actor, reason, now)
    # The later posts granted under this post's consent for future posts go with it.
    for derived in store.derived_receipts(session, parent_ids=consents):
        count += revoke(
            session,
            post_id=derived.post_id,
            actor=actor,
            reason=f"{reason} (the consent of receipt {derived.parent_receipt_id} was withdrawn)",
            now=now,
        )
    return count


def grant_future_posts(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Grant the later posts of authors who approved "for my future posts as well"; their receipts' ids.

    A post qualifies when it is the same account's (the author of the consented post, so the same
    platform), for the same brand, made after the consent and before its end, and nobody has decided
    about it yet (rights "none", no open request, not deleted). It gets a receipt of its own with the
    consent's request text, terms, scope and end, `source` "future_posts" and `parent_receipt_id`
    naming the consent's receipt; its rights history says why. At most `limit` posts a call.
    """
    now = now or datetime.now(UTC)
    made: list[int] = []
    for consent in store.standing_consents(session, now=now):
        assert consent.id is not None and consent.author_id is not None
        later = store.later_posts(
            session,
            author_id=consent.author_id,
            brand_id=consent.brand_id,
            after=consent.granted_at,
            until=consent.ends_at,
            open_statuses=OPEN_STATUSES,
            limit=max(limit - len(made), 0),
        )
        for post_id in later:
            view = get_post_view(session, post_id=post_id)
            if view is None:
                continue
            receipt = store.add_receipt(
                session,
                request_id=consent.request_id,
                post_id=post_id,
                author_id=consent.author_id,
                brand_id=consent.brand_id,
                platform=view.platform,
                post_url=view.url,
                author_external_id=consent.author_external_id,
                author_handle=view.author.handle,
                request_text=consent.request_text,
                terms_version=consent.terms_version,
                terms_sha256=consent.terms_sha256,
                scope=list(consent.scope),
                duration_days=consent.duration_days,
                source="future_posts",
                future_posts=False,
                asked_by=consent.asked_by,
                asked_at=consent.asked_at,
                granted_at=now,
                ends_at=consent.ends_at,
                parent_receipt_id=consent.id,
            )
            note = (
                f"rights receipt {receipt.id}: the author approved their future posts too "
                f"(receipt {consent.id}, post {consent.post_id})"
            )
            _set_status(session, [post_id], RightsState.GRANTED, SYSTEM_ACTOR, note, now)
            store.set_rights_until(session, post_id=post_id, until=consent.ends_at)
            assert receipt.id is not None
            made.append(receipt.id)
    return made


def expire_rights(session: Session, *, now: datetime | None = None) -> list[int]:
    """Posts whose rights ended become "expired" (the gallery stopped showing them at the end already)."""
    now = now or datetime.now(UTC)
    ended = store.expired_grants(session, now=now)
    for post_id in ended:
        _set_status(session, [post_id], RightsState.EXPIRED, SYSTEM_ACTOR, "usage rights ended", now)
        for request in store.list_requests(session, statuses=("granted",), post_id=post_id, limit=100):
            assert request.id is not None
            store.update_request(session, request_id=request.id, expected_status="granted", status="expired")
    return ended


# --- receipts -------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def receipt_document(receipt: RightsReceipt) -> dict[str, Any]:
    """A receipt as a plain JSON document (what is signed and exported)."""
    return {
        "receipt_id": receipt.id,
        "request_id": receipt.request_id,
        "post": {"id": receipt.post_id, "platform": receipt.platform, "url": receipt.post_url},
        "author": {"platform_id": receipt.author_external_id, "handle": receipt.author_handle},
        "request_text": receipt.request_text,
        "terms": {"version": receipt.terms_version, "sha256": receipt.terms_sha256},
        "scope": list(receipt.scope),
        "duration_days": receipt.duration_days,
        "consent": {
            "source": receipt.source,
            "reply_url": receipt.reply_url,
            "reply_text": receipt.reply_text,
            "future_posts": receipt.future_posts,
            "granted_at": _iso(receipt.granted_at),
            # A later post granted under an earlier consent for future posts: that consent's receipt.
            "under_receipt_id": receipt.parent_receipt_id,
        },
        "asked_by": receipt.asked_by,
        "asked_at": _iso(receipt.asked_at),
        "ends_at": _iso(receipt.ends_at),
        "revoked_at": _iso(receipt.revoked_at),
        "revoke_reason": receipt.revoke_reason,
    }


def _canonical(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign_document(secret: bytes, document: Mapping[str, Any]) -> dict[str, Any]:
    """`{"receipt": document, "signature": {"alg": "HMAC-SHA256", "value": ...}}` over its canonical JSON."""
    value = hmac.new(secret, b"tesoro-receipt:" + _canonical(document), hashlib.sha256).hexdigest()
    return {"receipt": dict(document), "signature": {"alg": "HMAC-SHA256", "value": value}}


def verify_document(secret: bytes, signed: Mapping[str, Any]) -> bool:
    """Whether a signed receipt is unchanged since Tesoro signed it."""
    try:
        expected = sign_document(secret, signed["receipt"])["signature"]["value"]
        return hmac.compare_digest(str(signed["signature"]["value"]), expected)
    except (KeyError, TypeError):
        return False


def receipt_html(signed: Mapping[str, Any]) -> str:
    """A standalone HTML page of a signed receipt: no script, no external resource, every value escaped."""
    doc = signed["receipt"]

    def row(label: str, value: object) -> str:
        shown = "—" if value in (None, "", []) else value
        if isinstance(shown, list):
            shown = ", ".join(str(v) for v in shown)
        return f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(shown))}</td></tr>"

    rows = [
        row("Receipt / Recibo", doc["receipt_id"]),
        row("Post / Publicación", f"{doc['post']['platform']} {doc['post']['url'] or doc['post']['id']}"),
        row("Author / Autor", f"{doc['author']['handle']} (platform id {doc['author']['platform_id']})"),
        row("Request / Solicitud", doc["request_text"]),
        row("Terms / Términos", f"version {doc['terms']['version']}, sha256 {doc['terms']['sha256']}"),
        row("Scope / Alcance", doc["scope"]),
        row("Duration (days) / Duración (días)", doc["duration_days"] or "no end date / sin fin"),
        row("Consent via / Consentimiento por", doc["consent"]["source"]),
        row("Reply / Respuesta", doc["consent"]["reply_text"]),
        row("Reply link / Enlace", doc["consent"]["reply_url"]),
        row("Future posts / Publicaciones futuras", "yes / sí" if doc["consent"]["future_posts"] else "no"),
        row(
            "Under the consent of receipt / Bajo el consentimiento del recibo",
            doc["consent"].get("under_receipt_id"),
        ),
        row("Granted at / Concedido", doc["consent"]["granted_at"]),
        row("Asked by / Pedido por", f"{doc['asked_by']} ({doc['asked_at']})"),
        row("Ends / Termina", doc["ends_at"]),
        row(
            "Revoked / Revocado",
            f"{doc['revoked_at']} {doc['revoke_reason'] or ''}" if doc["revoked_at"] else None,
        ),
        row("Signature (HMAC-SHA256)", signed["signature"]["value"]),
    ]
    payload = html.escape(json.dumps(signed, sort_keys=True, ensure_ascii=False, indent=2))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Rights receipt {html.escape(str(doc['receipt_id']))}</title>"
        "<style>body{font-family:sans-serif;max-width:46rem;margin:1rem auto;padding:0 1rem}"
        "th{text-align:left;vertical-align:top;padding:.3rem 1rem .3rem 0}td{word-break:break-word}"
        "pre{white-space:pre-wrap;background:#f4f4f4;padding:1rem}</style></head><body>"
        "<h1>Usage rights receipt / Recibo de derechos de uso</h1><table>"
        + "".join(rows)
        + "</table><h2>Signed JSON / JSON firmado</h2><pre>"
        + payload
        + "</pre></body></html>\n"
    )
