"""The job functions. Thin on purpose: the work is in collector, scoring, curator, insights.

The scheduler (`tesoro.jobs.scheduler`) decides when they run; in the scaled-out mode
the RQ worker (`tesoro.jobs.worker`) runs the same functions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from tesoro.collector.base import CollectorError, PostLookup, RightsChannel, Spend
from tesoro.collector.registry import build_collector
from tesoro.collector.runner import RunResult
from tesoro.collector.service import collect_source, planned_run, quota_now
from tesoro.curator.corrections import train_corrections
from tesoro.curator.feedback import train_rankers
from tesoro.curator.ranking import rank_posts
from tesoro.curator.relevance_model import train_relevance
from tesoro.curator.rights_requests import (
    expire_rights,
    grant_future_posts,
    mark_no_response,
    record_replies,
    send_queued,
)
from tesoro.insights.service import refresh_ror
from tesoro.media.copies import CopyReport, open_media_store, sync_copies
from tesoro.media.pipeline import MediaReport, process_media
from tesoro.scoring.pipeline import score_pending
from tesoro.search.index import LibraryIndex
from tesoro.search.snapshot import prune_snapshots
from tesoro.settings import ConfigError, Settings
from tesoro.store import rights as rights_store
from tesoro.store.engine import session_scope
from tesoro.store.keys import purge_sessions
from tesoro.store.posts import get_post_view
from tesoro.store.recheck import mark_gone, posts_to_recheck, record_checked
from tesoro.store.sources import get_source
from tesoro.store.spend import add_spend, open_spend

__all__ = [
    "collect_once",
    "collect_source",
    "curator_rerank_job",
    "curator_train_job",
    "index_snapshot_job",
    "media_job",
    "planned_run",
    "purge_sessions_job",
    "recheck_gallery_job",
    "refresh_relationships",
    "score_job",
]

log = logging.getLogger(__name__)


def collect_once(
    engine: Engine, settings: Settings, environ: Mapping[str, str], *, only: str | None = None
) -> list[RunResult]:
    """`tesoro collect --once`: every enabled source (or just `only`) one time, in order."""
    names = [only] if only else [s.name for s in settings.sources if s.enabled]
    if only is not None:
        settings.source(only)  # a clear KeyError for an unknown name
    return [collect_source(engine, settings, name, environ) for name in names]


def score_job(engine: Engine, settings: Settings) -> int:
    """Score what the collectors brought in since the last run (models load once per process)."""
    scored = score_pending(engine, settings)
    if scored:
        log.info("scored %d posts", scored)
        # Newly scored posts join the queue (or the filtered view).
        rank_posts(engine, settings.curator, advocate_ror=settings.relationship.advocate_min_ror)
    return scored


def media_job(engine: Engine, settings: Settings) -> MediaReport:
    """Fetch and process the media previews that are due; posts whose images arrived are re-ranked.

    Independent of scoring: a failing media host only leaves its items waiting for a retry.
    """
    report = process_media(engine, settings)
    if report.tried:
        log.info(
            "media: %d tried, %d processed, %d to retry, %d failed in %.1fs",
            report.tried,
            report.processed,
            report.retrying,
            report.failed,
            report.seconds,
        )
    if report.processed:
        # The photo quality and image near-duplicates join the treasure score of those posts.
        rank_posts(engine, settings.curator, advocate_ror=settings.relationship.advocate_min_ror)
    return report


def copies_job(engine: Engine, settings: Settings) -> CopyReport:
    """Keep copies of rights-cleared media in the media store; drop those whose rights are gone."""
    report = sync_copies(engine, settings, open_media_store(settings))
    if report.kept or report.dropped or report.retrying or report.failed:
        log.info(
            "gallery copies: %d kept, %d dropped, %d to retry, %d failed in %.1fs",
            report.kept,
            report.dropped,
            report.retrying,
            report.failed,
            report.seconds,
        )
    return report


def curator_train_job(engine: Engine, settings: Settings) -> None:
    """Relearn each brand's relevance weights and its calibrations from corrections, then retrain its
    ranker, from the coordinator's latest decisions and corrections (cheap when nothing changed;
    refreshes and re-ranks what moved)."""
    try:
        for report in train_relevance(engine, settings):
            if report.status in ("learned", "reset"):
                log.info(
                    "relevance of brand %d: %s (%s); %d unreviewed posts rescored, %d re-ranked",
                    report.brand_id,
                    report.status,
                    report.summary,
                    report.refreshed,
                    report.reranked,
                )
    except Exception:  # the encoder may be missing, say: the rankers still learn
        log.exception("learning relevance weights failed")
    try:
        for correction_report in train_corrections(engine, settings):
            if correction_report.heads and correction_report.reason != "no new corrections":
                log.info(
                    "calibrations of brand %d relearned from corrections (%s); %d unreviewed posts rescored",
                    correction_report.brand_id,
                    ", ".join(
                        f"{head} {m.get('kind')} {m.get('accuracy_before')}->{m.get('accuracy_after')}"
                        for head, m in correction_report.heads.items()
                    ),
                    correction_report.refreshed,
                )
    except Exception:  # one failing brand or model must not stop the rankers
        log.exception("learning from corrections failed")
    train_rankers(engine, settings.curator)


def curator_rerank_job(engine: Engine, settings: Settings) -> None:
    """Recompute every treasure score: recency decays and edited texts change."""

    rank_posts(engine, settings.curator, everything=True, advocate_ror=settings.relationship.advocate_min_ror)


def index_snapshot_job(engine: Engine, settings: Settings) -> dict[str, object] | None:
    """Write the next snapshot of the library index for the API processes (`[search]`).

    Starts from the newest snapshot plus what changed in the store since (from the store alone
    when there is none), skips writing when nothing changed, then deletes the snapshots past
    their grace period.
    """
    root = settings.index_snapshots()
    if root is None:
        return None
    started = time.perf_counter()
    index = LibraryIndex(
        quantized=settings.curator.vector_scan != "float32",
        snapshots=root,
        verify_snapshots=settings.search.snapshot_verify,
    )
    with session_scope(engine) as session:
        index.refresh(session, force=True)
    base = index.snapshot
    if base is not None and not index.changed_since_snapshot:
        prune_snapshots(root, grace_s=settings.search.snapshot_keep_s)
        return {"skipped": f"nothing changed since snapshot {base.version}", "rows": len(index)}
    info = index.write_snapshot(root)
    seconds = time.perf_counter() - started
    del index  # unmap the previous snapshot before pruning it
    prune_snapshots(root, grace_s=settings.search.snapshot_keep_s)
    log.info(
        "library index snapshot %d: %d rows, %.0f MB in %.1f s (%s)",
        info.version,
        info.rows,
        info.bytes / 1e6,
        seconds,
        f"from snapshot {base.version} and the store's changes" if base else "built from the store",
    )
    return {"version": info.version, "rows": info.rows, "bytes": info.bytes, "seconds": round(seconds, 1)}


def refresh_relationships(engine: Engine, settings: Settings) -> None:
    """Recompute every brand's stored ROR leaderboard."""

    for brand in settings.brands:
        refresh_ror(engine, settings, brand_name=brand.name)


def purge_sessions_job(engine: Engine, settings: Settings) -> int:
    """Delete dead web sessions even when nobody logs in (logins and cookie traffic purge too)."""

    with session_scope(engine) as session:
        purged = purge_sessions(session)
    if purged:
        log.info("deleted %d expired or ended web sessions", purged)
    return purged


@dataclass
class RecheckReport:
    """What one gallery re-check did, per source: posts answered for, posts gone, lookups failed."""

    checked: dict[str, int] = field(default_factory=dict)
    gone: dict[str, int] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def recheck_gallery_job(
    engine: Engine, settings: Settings, environ: Mapping[str, str], *, now: datetime | None = None
) -> RecheckReport:
    """Ask each platform whether the gallery's posts still exist; a post it deleted leaves the gallery.

    Per enabled source, at most `gallery.recheck_limit` of the posts it collected that the gallery
    may show, oldest-checked first. A post the platform no longer has is marked deleted, with an
    audit entry. A rate limit or any failure of a lookup changes nothing for the posts it asked
    about (they come first next run) and ends that source's re-check for this run.
    """
    report = RecheckReport()
    for source in settings.sources:
        if not source.enabled or source.platform == "file":
            continue
        with session_scope(engine) as session:
            row = get_source(session, source.name)
            if row is None or row.id is None:
                continue
            items = posts_to_recheck(session, source_id=row.id, limit=settings.gallery.recheck_limit)
        if not items:
            continue
        try:
            lookup = build_collector(settings, source, environ)
        except (ConfigError, FileNotFoundError, ValueError) as exc:
            report.failed[source.name] = str(exc)
            log.error("gallery re-check of %s: %s", source.name, exc)
            continue
        if not isinstance(lookup, PostLookup):
            continue
        step = max(1, lookup.lookup_batch)
        for start in range(0, len(items), step):
            batch = items[start : start + step]
            try:
                gone_ids = lookup.gone([item.external_id for item in batch])
            except CollectorError as exc:
                # Never drop a post on an error: what was not answered is asked again next run.
                report.failed[source.name] = str(exc)
                log.warning("gallery re-check of %s stopped: %s", source.name, exc)
                break
            at = now or datetime.now(UTC)
            with session_scope(engine) as session:
                gone = [item for item in batch if item.external_id in gone_ids]
                marked = mark_gone(
                    session,
                    platform=source.platform,
                    items=gone,
                    now=at,
                    reason=f"{source.platform} no longer has it (gallery re-check of {source.name})",
                )
                record_checked(session, post_ids=[item.id for item in batch], now=at)
            report.checked[source.name] = report.checked.get(source.name, 0) + len(batch)
            report.gone[source.name] = report.gone.get(source.name, 0) + marked
        if report.gone.get(source.name):
            log.info(
                "gallery re-check of %s: %d posts deleted on the platform left the gallery",
                source.name,
                report.gone[source.name],
            )
    return report


def run_rights(
    settings: Settings, engine: Engine, environ: Mapping[str, str], *, now: datetime | None = None
) -> dict[str, int]:
    """One pass of the usage-rights workflow; counts of what it did.

    Sends queued requests through each platform that can post (the first enabled source of the
    platform gives the client and its credentials), reads the replies under every open or granted
    request (a late "please remove" revokes), marks requests unanswered for `no_response_days`,
    expires rights whose end date passed, and grants the later posts of authors who approved
    their future posts too. A platform that fails (a rate limit, an outage)
    keeps its requests for the next pass; the other platforms go on.
    """
    at = now or datetime.now(UTC)
    channels: dict[str, RightsChannel] = {}
    source_of: dict[str, str] = {}
    for source in settings.sources:
        if not source.enabled or source.platform in channels or source.platform == "file":
            continue
        try:
            built = build_collector(settings, source, environ)
        except (ConfigError, FileNotFoundError, ValueError) as exc:
            log.error("rights: cannot reach %s through %s: %s", source.platform, source.name, exc)
            continue
        if isinstance(built, RightsChannel):
            channels[source.platform] = built
            source_of[source.platform] = source.name
    report: dict[str, int] = {}
    with session_scope(engine) as session:
        # A metered platform's pass may spend only what its source's budget has left (the collection
        # runs' own allowance); past it, requests wait and reading stops until the next pass.
        for platform, channel in channels.items():
            spent = getattr(channel, "spend", None)
            status = quota_now(session, source_name=source_of[platform], settings=settings, now=at)
            if isinstance(spent, Spend) and status is not None:
                spent.allowance = spent.units + max(0, status.left)
        # Each request's outcome is committed as it is known: a pass killed half-way never asks again.
        report.update(
            send_queued(
                session, settings=settings.rights, channels=channels, now=at, checkpoint=session.commit
            )
        )
    read = 0
    with session_scope(engine) as session:
        watched = rights_store.list_requests(
            session, statuses=("sent", "needs_review", "granted"), limit=settings.rights.check_limit
        )
        work = [
            (r.id, r.platform, r.post_id, r.reply_external_id, r.author_id)
            for r in watched
            if r.reply_external_id and r.platform in channels
        ]
    failed_platforms: set[str] = set()
    for request_id, platform, post_id, reply_id, author_id in work:
        if platform in failed_platforms or reply_id is None or request_id is None:
            continue
        with session_scope(engine) as session:
            view = get_post_view(session, post_id=post_id)
            author = rights_store.author_external_id(session, author_id=author_id) if author_id else None
        if view is None or author is None:
            continue
        try:
            replies = channels[platform].fetch_replies(post_external_id=view.external_id, reply_id=reply_id)
        except CollectorError as exc:
            failed_platforms.add(platform)
            log.warning("rights: reading replies on %s stopped: %s", platform, exc)
            continue
        with session_scope(engine) as session:
            request = rights_store.get_request(session, request_id=request_id)
            if request is not None:
                read += len(
                    record_replies(
                        session, request=request, replies=replies, author_external_id=author, now=at
                    )
                )
    report["replies"] = read
    with session_scope(engine) as session:
        report["no_response"] = mark_no_response(session, settings=settings.rights, now=at)
        report["expired"] = len(expire_rights(session, now=at))
        report["future_posts"] = len(grant_future_posts(session, now=at))
        # What posting and reading cost of a metered platform's budget (a YouTube comment: 50 units)
        # counts against the source whose credentials did it, as its collection runs do.
        # Only a metered budget's units are kept (a row a pass), so unmetered platforms add no rows.
        for platform, channel in channels.items():
            spent, row = getattr(channel, "spend", None), get_source(session, source_of[platform])
            metered = settings.source(source_of[platform]).budget.metered
            if isinstance(spent, Spend) and spent.units and metered and row is not None and row.id:
                spend_id = open_spend(session, source_id=row.id, at=at)
                add_spend(session, spend_id=spend_id, units=spent.units, calls=spent.calls, at=at)
    return report
