"""The job functions. Thin on purpose: the work is in collector, scoring, curator, insights.

The scheduler (`tesoro.jobs.scheduler`) decides when they run; in the scaled-out mode
the RQ worker (`tesoro.jobs.worker`) runs the same functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine

from tesoro.collector.base import CollectorError, PostLookup
from tesoro.collector.registry import build_collector, build_filter
from tesoro.collector.runner import RetryPolicy, RunResult, run_source
from tesoro.curator.feedback import train_rankers
from tesoro.curator.ranking import rank_posts
from tesoro.curator.relevance_model import train_relevance
from tesoro.insights.service import refresh_ror
from tesoro.media.copies import CopyReport, open_media_store, sync_copies
from tesoro.media.pipeline import MediaReport, process_media
from tesoro.scoring.pipeline import score_pending
from tesoro.settings import ConfigError, Settings
from tesoro.store.catalog import brand_by_name
from tesoro.store.engine import session_scope
from tesoro.store.keys import purge_sessions
from tesoro.store.recheck import mark_gone, posts_to_recheck, record_checked
from tesoro.store.sources import get_source, record_failure

__all__ = [
    "collect_once",
    "collect_source",
    "curator_rerank_job",
    "curator_train_job",
    "media_job",
    "purge_sessions_job",
    "recheck_gallery_job",
    "refresh_relationships",
    "score_job",
]

log = logging.getLogger(__name__)


def collect_source(
    engine: Engine,
    settings: Settings,
    name: str,
    environ: Mapping[str, str],
    *,
    retry: RetryPolicy = RetryPolicy(),
) -> RunResult:
    """One pass over one source. Configuration problems mark the source failing instead of raising."""
    source = settings.source(name)
    brand_id = None
    with session_scope(engine) as session:
        if source.query is not None:
            brand = brand_by_name(session, settings.query(source.query).brand)
            brand_id = brand.id if brand else None
    try:
        collector = build_collector(settings, source, environ)
        keep = build_filter(settings, source)
    except (ConfigError, FileNotFoundError, ValueError) as exc:
        with session_scope(engine) as session:
            row = get_source(session, name)
            if row is not None and row.id is not None:
                record_failure(session, source_id=row.id, at=datetime.now(UTC), error=str(exc))
        log.error("%s: %s", name, exc)
        return RunResult(name, "failed", error=str(exc))
    result = run_source(
        engine, source_name=name, collector=collector, keep=keep, brand_id=brand_id, retry=retry
    )
    log.info(
        "%s: %s, %d new, %d updated, %d not matching the query, %d quarantined",
        name,
        result.status,
        result.inserted,
        result.updated,
        result.filtered_out,
        result.quarantined,
    )
    return result


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
    """Relearn each brand's relevance weights, then retrain its ranker, from the coordinator's latest
    decisions (cheap when nothing changed; refreshes and re-ranks what moved)."""
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
    train_rankers(engine, settings.curator)


def curator_rerank_job(engine: Engine, settings: Settings) -> None:
    """Recompute every treasure score: recency decays and edited texts change."""

    rank_posts(engine, settings.curator, everything=True, advocate_ror=settings.relationship.advocate_min_ror)


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
