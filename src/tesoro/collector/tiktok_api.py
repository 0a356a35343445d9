"""A small typed client for TikTok's Research API on httpx (TikTok ships no maintained Python client).

It does three things: gets a client access token (`POST /v2/oauth/token/`, client credentials) and
keeps it until shortly before it expires; sends `POST /v2/research/video/query/`; and turns TikTok's
answers into the collector's errors: 401 `access_token_invalid` (after one fresh token did not help)
and `invalid_client` are `AuthFailed`, 429 `rate_limit_exceeded` is `RateLimited` until the daily
limit resets at 00:00 UTC, 5xx, timeouts and unreadable bodies are `TransientError`, 400
`invalid_params` is `InvalidParams` (the adapter decides whether a fresh search helps).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from tesoro.collector.base import AuthFailed, CollectorError, RateLimited, TransientError
from tesoro.collector.payload import as_dict, as_int, as_str

__all__ = [
    "TIKTOK_API",
    "InvalidParams",
    "ResearchClient",
    "VideoPage",
    "next_daily_reset",
    "read_json",
    "send",
]

TIKTOK_API = "https://open.tiktokapis.com"
# Fetch a new token this long before the current one expires, so no call carries an expiring one.
_TOKEN_MARGIN_S = 60.0


class InvalidParams(CollectorError):
    """400 `invalid_params`: TikTok refused the query, the dates or the search_id."""


@dataclass(frozen=True, slots=True)
class VideoPage:
    videos: list[dict[str, Any]]
    cursor: int
    has_more: bool
    search_id: str | None


def next_daily_reset(now: datetime | None = None) -> datetime:
    """00:00 UTC after `now`: when the Research API's daily request count starts again."""
    moment = now or datetime.now(UTC)
    return datetime(moment.year, moment.month, moment.day, tzinfo=UTC) + timedelta(days=1)


class ResearchClient:
    """One app's connection to the Research API; not thread-safe (one per collector)."""

    def __init__(
        self, *, client_key: str, client_secret: str, base_url: str = TIKTOK_API, timeout_s: float = 15.0
    ) -> None:
        self._client_key = client_key
        self._client_secret = client_secret
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._token: str | None = None
        self._expires_at = 0.0
        self.tokens_fetched = 0

    def close(self) -> None:
        self._http.close()

    def query_videos(
        self,
        *,
        query: dict[str, Any],
        start: date,
        end: date,
        fields: tuple[str, ...],
        max_count: int,
        cursor: int | None = None,
        search_id: str | None = None,
    ) -> VideoPage:
        body: dict[str, Any] = {
            "query": query,
            "start_date": start.strftime("%Y%m%d"),
            "end_date": end.strftime("%Y%m%d"),
            "max_count": max_count,
        }
        if cursor is not None:
            body["cursor"] = cursor
        if search_id is not None:
            body["search_id"] = search_id
        answer = self._post_with_token("/v2/research/video/query/", {"fields": ",".join(fields)}, body)
        data = as_dict(answer.get("data"))
        videos = data.get("videos")
        if not isinstance(videos, list):
            raise TransientError("TikTok answered without data.videos")
        return VideoPage(
            videos=videos,
            cursor=as_int(data.get("cursor")) or 0,
            has_more=data.get("has_more") is True,
            search_id=as_str(data.get("search_id")) or None,
        )

    # -- tokens and calls ----------------------------------------------------------------------

    def _access_token(self, *, fresh: bool = False) -> str:
        if not fresh and self._token is not None and time.monotonic() < self._expires_at - _TOKEN_MARGIN_S:
            return self._token
        response = self._send(
            "POST",
            "/v2/oauth/token/",
            data={
                "client_key": self._client_key,
                "client_secret": self._client_secret,
                "grant_type": "client_credentials",
            },
        )
        answer = read_json(response)
        token = as_str(answer.get("access_token"))
        if response.status_code == 429:
            raise RateLimited(
                "TikTok token endpoint rate limit", retry_at=datetime.now(UTC) + timedelta(minutes=1)
            )
        if response.status_code >= 500:
            raise TransientError(f"TikTok token endpoint answered {response.status_code}")
        if not token:
            error = as_str(answer.get("error")) or f"HTTP {response.status_code}"
            described = as_str(answer.get("error_description")) or ""
            raise AuthFailed(f"TikTok refused the client credentials: {error} {described}".strip())
        expires_in = as_int(answer.get("expires_in")) or 0
        self._token = token
        self._expires_at = time.monotonic() + max(expires_in, 0)
        self.tokens_fetched += 1
        return token

    def _post_with_token(self, path: str, params: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        fresh = False
        while True:
            token = self._access_token(fresh=fresh)
            response = self._send(
                "POST", path, params=params, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            answer = read_json(response)
            error = as_dict(answer.get("error"))
            code = as_str(error.get("code")) or ""
            message = as_str(error.get("message")) or ""
            if response.status_code == 401 or code in ("access_token_invalid", "access_token_expired"):
                if not fresh:  # the token expired early or was revoked: one fresh token, then give up
                    fresh = True
                    continue
                raise AuthFailed(f"TikTok refused a fresh access token: {code} {message}".strip())
            if response.status_code == 429 or code == "rate_limit_exceeded":
                raise RateLimited(
                    f"TikTok Research API limit: {message or code} (the daily count resets at 00:00 UTC)",
                    retry_at=next_daily_reset(),
                )
            if response.status_code >= 500:
                raise TransientError(f"TikTok answered {response.status_code}: {code} {message}".strip())
            if code == "invalid_params" or response.status_code == 400:
                raise InvalidParams(f"TikTok refused the request: {message or code}")
            if response.status_code == 403 or code in ("scope_not_authorized", "scope_permission_missed"):
                raise AuthFailed(f"TikTok: the app lacks the Research API scope: {code} {message}".strip())
            if response.status_code != 200 or code not in ("ok", ""):
                raise CollectorError(f"TikTok answered {response.status_code}: {code} {message}".strip())
            return answer

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        return send(self._http, method, path, **options)


def send(http: httpx.Client, method: str, path: str, **options: Any) -> httpx.Response:
    """One request to a TikTok API; a failed connection (timeout, refused, dropped) is transient."""
    try:
        return http.request(method, path, **options)
    except httpx.HTTPError as exc:  # timeouts, refused or dropped connections
        raise TransientError(f"TikTok request failed: {type(exc).__name__}: {exc}") from exc


def read_json(response: httpx.Response) -> dict[str, Any]:
    """A TikTok answer's JSON object: {} for a server error's body that is not JSON, else transient."""
    try:
        value = response.json()
    except ValueError as exc:
        if response.status_code >= 500:
            return {}
        raise TransientError(f"TikTok sent an unreadable body ({response.status_code}): {exc}") from exc
    return value if isinstance(value, dict) else {}
