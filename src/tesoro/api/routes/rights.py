"""Usage rights under /api/rights (the curator area: viewers read, coordinators write), and the consent page.

| method | path | what |
| --- | --- | --- |
| POST | /api/rights/requests | ask the authors of one or more posts (one request each) |
| GET | /api/rights/requests | requests, newest first (by status, post, author) |
| GET | /api/rights/requests/{id} | one request with the replies read under it |
| POST | /api/rights/requests/{id}/decision | grant or decline a request waiting for review |
| POST | /api/rights/requests/{id}/reask | ask once more after no response |
| POST | /api/rights/posts/{id}/revoke | revoke a post's rights (it leaves the gallery at once) |
| GET | /api/rights/receipts | receipts, per post or author |
| GET | /api/rights/receipts/{id} | one receipt, signed JSON |
| GET | /api/rights/receipts/{id}/html | one receipt as a standalone HTML document |
| GET, PUT | /api/rights/terms/{brand_id} | a brand's current terms; a new text is a new version |
| GET, POST | /rights/consent/{token} | the author's public consent page (no account) |
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session

from tesoro.api.deps import Anyone, Changed, CuratorActor, EngineDep, PagesDep, SettingsDep
from tesoro.api.i18n import Translator
from tesoro.api.pages import Pages
from tesoro.api.problems import Problem
from tesoro.api.schemas.common import Id
from tesoro.api.schemas.rights import (
    ReceiptList,
    ReceiptPublic,
    RequestBatchPublic,
    RequestCreated,
    RequestSkipped,
    RightsDecisionCreate,
    RightsRequestCreate,
    RightsRequestList,
    RightsRequestPublic,
    RightsRevoke,
    SignedReceipt,
    TermsPublic,
    TermsUpdate,
)
from tesoro.api.security import check_csrf, form_fields, load_session_secret, safe_link
from tesoro.curator.queue import NotFound, QueueError
from tesoro.curator.rights_requests import (
    ConsentError,
    ConsentView,
    RequestBatch,
    consent_answer,
    consent_view,
    create_requests,
    decide_request,
    default_terms,
    read_consent_token,
    reask,
    receipt_document,
    receipt_html,
    revoke,
    sign_document,
)
from tesoro.settings import Settings
from tesoro.store import rights as store
from tesoro.store.catalog import list_brands
from tesoro.store.engine import run_transaction, session_scope
from tesoro.store.tables import RightsRequest

__all__ = ["consent_router", "router"]

router = APIRouter(prefix="/api/rights", tags=["rights"])
consent_router = APIRouter(tags=["rights"])

CONSENT_COOKIE = "tesoro_consent"
# The receipt page has no script and no resource; its one style block is inline.
_RECEIPT_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
T = TypeVar("T")


def rights_secret(request: Request) -> bytes:
    """The key that signs consent links and receipts (the session secret), read once per app."""
    secret: bytes | None = getattr(request.app.state, "rights_secret", None)
    if secret is None:
        settings: Settings = request.app.state.settings
        secret = load_session_secret(settings)
        request.app.state.rights_secret = secret
    return secret


SecretDep = Annotated[bytes, Depends(rights_secret)]


def _write(engine: Engine, changed: Callable[[], None], apply: Callable[[Session], T]) -> T:
    """One write in one transaction; a workflow error is a 400/404, and the caches forget after it."""
    try:
        result = run_transaction(engine, apply)
    except NotFound as exc:
        raise Problem("not_found", str(exc)) from exc
    except QueueError as exc:
        raise Problem("bad_request", str(exc)) from exc
    changed()
    return result


def _batch_public(batch: RequestBatch) -> RequestBatchPublic:
    return RequestBatchPublic(
        created=[
            RequestCreated(request=RightsRequestPublic.from_row(r), consent_link=link)
            for r, link in batch.created
        ],
        skipped=[RequestSkipped(post_id=p, reason=why) for p, why in batch.skipped],
    )


@router.post(
    "/requests", response_model=RequestBatchPublic, summary="Ask the authors of posts for usage rights"
)
def post_requests(
    body: RightsRequestCreate,
    engine: EngineDep,
    settings: SettingsDep,
    secret: SecretDep,
    changed: Changed,
    actor: CuratorActor,
) -> RequestBatchPublic:
    batch = _write(
        engine,
        changed,
        lambda session: create_requests(
            session,
            post_ids=body.post_ids,
            actor=actor,
            settings=settings.rights,
            secret=secret,
            scope=body.scope,
            duration_days=body.duration_days,
        ),
    )
    return _batch_public(batch)


Status = Literal[
    "queued",
    "sending",
    "sent",
    "needs_review",
    "granted",
    "declined",
    "revoked",
    "no_response",
    "failed",
    "expired",
]


@router.get("/requests", response_model=RightsRequestList, summary="Rights requests, newest first")
def get_requests(
    engine: EngineDep,
    status: list[Status] | None = Query(None, description="only these statuses"),
    post_id: Id | None = None,
    author_id: Id | None = None,
    limit: int = Query(100, ge=1, le=500),
) -> RightsRequestList:
    with session_scope(engine) as session:
        rows = store.list_requests(
            session, statuses=status or (), post_id=post_id, author_id=author_id, limit=limit
        )
        return RightsRequestList(items=[RightsRequestPublic.from_row(r) for r in rows])


@router.get(
    "/requests/{request_id}", response_model=RightsRequestPublic, summary="One request and its replies"
)
def get_request(request_id: Id, engine: EngineDep) -> RightsRequestPublic:
    with session_scope(engine) as session:
        row = store.get_request(session, request_id=request_id)
        if row is None:
            raise Problem("not_found", f"no rights request {request_id}")
        return RightsRequestPublic.from_row(row, store.replies_of(session, request_id=request_id))


@router.post(
    "/requests/{request_id}/decision",
    response_model=RightsRequestPublic,
    summary="Grant or decline a request waiting for review",
)
def post_decision(
    request_id: Id, body: RightsDecisionCreate, engine: EngineDep, changed: Changed, actor: CuratorActor
) -> RightsRequestPublic:
    row = _write(
        engine,
        changed,
        lambda session: decide_request(
            session, request_id=request_id, grant=body.grant, actor=actor, note=body.note
        ),
    )
    return RightsRequestPublic.from_row(row)


@router.post(
    "/requests/{request_id}/reask",
    response_model=RequestBatchPublic,
    summary="Ask once more after no response",
)
def post_reask(
    request_id: Id,
    engine: EngineDep,
    settings: SettingsDep,
    secret: SecretDep,
    changed: Changed,
    actor: CuratorActor,
) -> RequestBatchPublic:
    batch = _write(
        engine,
        changed,
        lambda session: reask(
            session, request_id=request_id, actor=actor, settings=settings.rights, secret=secret
        ),
    )
    return _batch_public(batch)


@router.post(
    "/posts/{post_id}/revoke",
    response_model=ReceiptList,
    summary="Revoke a post's usage rights; it leaves the gallery at once",
)
def post_revoke(
    post_id: Id, body: RightsRevoke, engine: EngineDep, changed: Changed, actor: CuratorActor
) -> ReceiptList:
    def apply(session: Session) -> ReceiptList:
        revoke(session, post_id=post_id, actor=actor, reason=body.reason)
        return ReceiptList(
            items=[ReceiptPublic.from_row(r) for r in store.list_receipts(session, post_id=post_id)]
        )

    return _write(engine, changed, apply)


@router.get("/receipts", response_model=ReceiptList, summary="Rights receipts, per post or author")
def get_receipts(
    engine: EngineDep,
    post_id: Id | None = None,
    author_id: Id | None = None,
    limit: int = Query(100, ge=1, le=500),
) -> ReceiptList:
    with session_scope(engine) as session:
        rows = store.list_receipts(session, post_id=post_id, author_id=author_id, limit=limit)
        return ReceiptList(items=[ReceiptPublic.from_row(r) for r in rows])


def _signed(engine: Engine, secret: bytes, receipt_id: int) -> SignedReceipt:
    with session_scope(engine) as session:
        row = store.get_receipt(session, receipt_id=receipt_id)
        if row is None:
            raise Problem("not_found", f"no receipt {receipt_id}")
        return SignedReceipt.model_validate(sign_document(secret, receipt_document(row)))


@router.get("/receipts/{receipt_id}", response_model=SignedReceipt, summary="One receipt as signed JSON")
def get_receipt(receipt_id: Id, engine: EngineDep, secret: SecretDep) -> SignedReceipt:
    return _signed(engine, secret, receipt_id)


@router.get(
    "/receipts/{receipt_id}/html",
    response_class=HTMLResponse,
    summary="One receipt as a standalone HTML document",
    responses={200: {"content": {"text/html": {}}}},
)
def get_receipt_html(receipt_id: Id, engine: EngineDep, secret: SecretDep) -> HTMLResponse:
    signed = _signed(engine, secret, receipt_id)
    return HTMLResponse(
        receipt_html(signed.model_dump()),
        headers={
            "Content-Security-Policy": _RECEIPT_CSP,
            "Content-Disposition": f'attachment; filename="rights-receipt-{receipt_id}.html"',
        },
    )


def _brand_exists(session: Session, brand_id: int) -> str:
    name = next((b.name for b in list_brands(session) if b.id == brand_id), None)
    if name is None:
        raise NotFound(f"no brand {brand_id}")
    return name


@router.get("/terms/{brand_id}", response_model=TermsPublic, summary="A brand's current usage terms")
def get_terms(brand_id: Id, engine: EngineDep) -> TermsPublic:
    def apply(session: Session) -> TermsPublic:
        name = _brand_exists(session, brand_id)
        terms = store.latest_terms(session, brand_id=brand_id) or store.save_terms(
            session, brand_id=brand_id, body=default_terms(name)
        )
        return TermsPublic.from_row(terms)

    try:
        return run_transaction(engine, apply)
    except NotFound as exc:
        raise Problem("not_found", str(exc)) from exc


@router.put("/terms/{brand_id}", response_model=TermsPublic, summary="Save a brand's terms (a new version)")
def put_terms(brand_id: Id, body: TermsUpdate, engine: EngineDep, changed: Changed) -> TermsPublic:
    def apply(session: Session) -> TermsPublic:
        _brand_exists(session, brand_id)
        return TermsPublic.from_row(store.save_terms(session, brand_id=brand_id, body=body.body))

    return _write(engine, changed, apply)


# --- the consent page (public: the link itself is the credential) ---------------------------------------


def _consent_headers(nonce_free_csp: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": nonce_free_csp,
        "X-Frame-Options": "DENY",
        "Cache-Control": "no-store",
        # The token is in the URL: never send it to another site.
        "Referrer-Policy": "no-referrer",
    }


_CONSENT_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' https:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_ERROR_STATUS = {"forged": 404, "expired": 410, "used": 410, "closed": 410}


def _language(request: Request, fallback: str) -> str:
    chosen = request.query_params.get("lang")
    return chosen if chosen in ("en", "es") else fallback if fallback in ("en", "es") else "en"


def _consent_error(pages: Pages, request: Request, reason: str) -> HTMLResponse:
    lang = _language(request, "en")
    html = pages.render_string(
        "consent.html", t=Translator(lang), lang=lang, error=f"consent.{reason}", view=None
    )
    return HTMLResponse(
        html, status_code=_ERROR_STATUS.get(reason, 400), headers=_consent_headers(_CONSENT_CSP)
    )


@consent_router.get(
    "/rights/consent/{token}", response_class=HTMLResponse, summary="The author's consent page"
)
async def consent_page(
    token: str, request: Request, caller: Anyone, engine: EngineDep, pages: PagesDep, secret: SecretDep
) -> HTMLResponse:
    def load() -> ConsentView:
        with session_scope(engine) as session:
            return consent_view(session, secret=secret, token=token, now=datetime.now(UTC))

    try:
        view = await run_in_threadpool(load)
    except ConsentError as exc:
        return _consent_error(pages, request, exc.reason)
    lang = _language(request, view.request.language)
    csrf = secrets.token_urlsafe(24)
    html = pages.render_string(
        "consent.html",
        t=Translator(lang),
        lang=lang,
        error=None,
        view=view,
        csrf_token=csrf,
        post_link=safe_link(view.post.url),
        token=token,
    )
    response = HTMLResponse(html, headers=_consent_headers(_CONSENT_CSP))
    response.set_cookie(
        CONSENT_COOKIE,
        csrf,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/rights/consent",
        max_age=3600,
    )
    return response


@consent_router.post("/rights/consent/{token}", response_class=HTMLResponse, summary="The author's answer")
async def consent_post(
    token: str, request: Request, caller: Anyone, engine: EngineDep, pages: PagesDep, secret: SecretDep
) -> HTMLResponse:
    try:  # a forged or expired link is answered as such before anything else is read
        read_consent_token(secret, token, now=datetime.now(UTC))
    except ConsentError as exc:
        return _consent_error(pages, request, exc.reason)
    await check_csrf(request, request.cookies.get(CONSENT_COOKIE))
    form = form_fields(await request.body())
    answer = form.get("answer")
    if answer not in ("approve", "decline"):
        raise Problem("bad_request", "answer must be approve or decline")
    future = form.get("future_posts") == "on" and answer == "approve"

    def apply(session: Session) -> RightsRequest:
        return consent_answer(
            session, secret=secret, token=token, approve=answer == "approve", future_posts=future
        )

    try:
        request_row = await run_in_threadpool(run_transaction, engine, apply)
    except ConsentError as exc:
        return _consent_error(pages, request, exc.reason)
    lang = _language(request, request_row.language)
    html = pages.render_string(
        "consent.html", t=Translator(lang), lang=lang, error=None, view=None, done=f"consent.done_{answer}"
    )
    response = HTMLResponse(html, headers=_consent_headers(_CONSENT_CSP))
    response.delete_cookie(CONSENT_COOKIE, path="/rights/consent")
    return response
