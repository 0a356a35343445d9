"""Builds the right adapter for a configured source, with its secrets read from the environment.

This is the only place that knows which settings keys feed which client, so the
adapters stay free of settings and the settings stay free of client libraries.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Engine

from tesoro.collector.base import Collector
from tesoro.collector.files import FileCollector
from tesoro.collector.instagram import GRAPH_API, InstagramCollector, hashtags_of_query
from tesoro.collector.instagram_ledger import StoreLedger
from tesoro.collector.mastodon import MastodonCollector
from tesoro.collector.reddit import RedditCollector
from tesoro.collector.runner import PostFilter
from tesoro.collector.threads import THREADS_API, ThreadsCollector
from tesoro.collector.tiktok import TikTokCollector
from tesoro.collector.tiktok_api import TIKTOK_API
from tesoro.collector.tiktok_business_api import BUSINESS_API
from tesoro.collector.tiktok_mentions import TikTokMentionsCollector
from tesoro.collector.tokens import StoreTokens
from tesoro.collector.x import X_API, XCollector
from tesoro.collector.youtube import YOUTUBE_API, YouTubeCollector
from tesoro.models import NormalizedPost
from tesoro.settings import ConfigError, Settings, SourceSettings
from tesoro.text.query import compile_matcher, parse

__all__ = ["build_collector", "build_filter", "credential_names"]

# Credentials each platform needs: the key under [sources.credentials] (without `_env`).
REQUIRED_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "x": ("bearer_token",),
    "reddit": ("client_id", "client_secret"),
    "bluesky": ("handle", "password"),
    "mastodon": ("access_token",),
    "instagram": ("access_token",),
    "threads": ("access_token",),
    "youtube": ("api_key",),
    "tiktok": ("client_key", "client_secret"),
    "file": (),
}


# Credentials a platform may have besides: what posting a rights request needs (the brand's own
# account), where the listening credentials cannot post.
OPTIONAL_CREDENTIALS: dict[str, tuple[str, ...]] = {
    "reddit": ("username", "password"),
    "youtube": ("oauth_token",),
}

# A TikTok source with `account_id` (the brand's business_id) reads the account's brand mentions from
# TikTok API for Business instead of the Research API: the account's access token, and what renews it.
TIKTOK_MENTIONS_CREDENTIALS: tuple[str, ...] = ("access_token",)
TIKTOK_MENTIONS_OPTIONAL: tuple[str, ...] = ("app_id", "app_secret", "refresh_token")


def credential_names(source: SourceSettings) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The required and the optional credentials of `source` (the secret names, without `_env`)."""
    if source.platform == "tiktok" and source.account_id:
        return TIKTOK_MENTIONS_CREDENTIALS, TIKTOK_MENTIONS_OPTIONAL
    return REQUIRED_CREDENTIALS[source.platform], OPTIONAL_CREDENTIALS.get(source.platform, ())


def _secrets(source: SourceSettings, settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    required, optional = credential_names(source)
    for name in optional:
        env_name = source.credentials.get(f"{name}_env")
        if env_name is not None:
            values[name] = settings.secret(env_name, environ)
    for name in required:
        env_name = source.credentials.get(f"{name}_env")
        if env_name is None:
            raise ConfigError(
                f"source {source.name!r}",
                [
                    (
                        f"credentials.{name}_env",
                        f"missing: a {source.platform} source needs the env var holding {name}",
                    )
                ],
            )
        values[name] = settings.secret(env_name, environ)
    return values


def build_collector(
    settings: Settings, source: SourceSettings, environ: Mapping[str, str], *, engine: Engine | None = None
) -> Collector:
    """The adapter for `source`; raises `ConfigError` naming the env var when a secret is missing.

    `engine` gives Instagram sources the store's hashtag ledger (shared by every process of the
    account) and TikTok mentions sources the store's renewed tokens; without it they keep a ledger,
    and their renewed tokens, in their own process only."""
    secrets = _secrets(source, settings, environ)
    query = settings.query(source.query).query if source.query else ""
    if source.platform == "x":
        return XCollector(
            query=query,
            bearer_token=secrets["bearer_token"],
            page_size=max(10, source.page_size),
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
            base_url=source.base_url or X_API,
        )
    if source.platform == "reddit":
        return RedditCollector(
            query=query,
            client_id=secrets["client_id"],
            client_secret=secrets["client_secret"],
            subreddits=source.subreddits or ("all",),
            include_comments=source.include_comments,
            base_url=source.base_url,
            page_size=source.page_size,
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
            username=secrets.get("username"),
            password=secrets.get("password"),
        )
    if source.platform == "bluesky":
        # deferred: atproto, Bluesky's client library, takes about a second to import (its generated
        # lexicon models); only a process that collects from Bluesky pays for it
        from tesoro.collector.bluesky import BSKY_API, BlueskyCollector

        return BlueskyCollector(
            query=query,
            handle=secrets["handle"],
            password=secrets["password"],
            base_url=source.base_url or BSKY_API,
            page_size=source.page_size,
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
        )
    if source.platform == "mastodon":
        if not source.base_url:
            raise ConfigError(
                f"source {source.name!r}", [("base_url", "a mastodon source needs its instance URL")]
            )
        return MastodonCollector(
            query=query,
            access_token=secrets["access_token"],
            base_url=source.base_url,
            page_size=min(40, source.page_size),
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
        )
    if source.platform == "instagram":
        assert source.account_id is not None  # the settings refuse an Instagram source without one
        brand = settings.query(source.query).brand if source.query else None
        brand_tags = next((b.hashtags for b in settings.brands if b.name == brand), [])
        return InstagramCollector(
            access_token=secrets["access_token"],
            account_id=source.account_id,
            hashtags=source.hashtags or hashtags_of_query(query) or brand_tags,
            ledger=StoreLedger(engine) if engine is not None else None,
            base_url=source.base_url or GRAPH_API,
            page_size=min(50, source.page_size),
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
        )
    if source.platform == "threads":
        assert source.account_id is not None
        return ThreadsCollector(
            query=query,
            access_token=secrets["access_token"],
            account_id=source.account_id,
            base_url=source.base_url or THREADS_API,
            page_size=source.page_size,
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
        )
    if source.platform == "youtube":
        return YouTubeCollector(
            query=query,
            api_key=secrets["api_key"],
            base_url=source.base_url or YOUTUBE_API,
            page_size=min(50, source.page_size),
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
            include_comments=source.include_comments,
            oauth_token=secrets.get("oauth_token"),
        )
    if source.platform == "tiktok" and source.account_id:
        keeper = (
            StoreTokens(
                engine,
                platform="tiktok",
                account_id=source.account_id,
                configured=(secrets["access_token"], secrets.get("refresh_token")),
            )
            if engine is not None
            else None
        )
        return TikTokMentionsCollector(
            access_token=secrets["access_token"],
            business_id=source.account_id,
            app_id=secrets.get("app_id"),
            app_secret=secrets.get("app_secret"),
            refresh_token=secrets.get("refresh_token"),
            base_url=source.base_url or BUSINESS_API,
            page_size=source.page_size,
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
            keeper=keeper,
        )
    if source.platform == "tiktok":
        return TikTokCollector(
            query=query,
            client_key=secrets["client_key"],
            client_secret=secrets["client_secret"],
            base_url=source.base_url or TIKTOK_API,
            page_size=source.page_size,
            max_pages=source.max_pages,
            timeout_s=source.timeout_s,
        )
    assert source.path is not None
    return FileCollector(path=settings.resolved(source.path), page_size=1000)


def build_filter(settings: Settings, source: SourceSettings) -> PostFilter | None:
    """The local re-check of the source's listening query (None for file sources: they are curated)."""
    if source.query is None:
        return None
    matcher = compile_matcher(parse(settings.query(source.query).query))

    def keep(post: NormalizedPost) -> bool:
        text = f"{post.title}\n{post.text}" if post.title else post.text
        return matcher.matches(text, post.lang)

    return keep
