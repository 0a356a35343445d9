"""A small typed client on httpx for TikTok API for Business's brand mentions (the Organic API's Mentions).

TikTok ships no maintained Python client for it (its `tiktok-business-api-sdk` covers the Marketing
API), and the calls are plain JSON, so this is the same kind of client as `tiktok_api` for the Research
API. It does three things:

- `GET /open_api/v1.3/business/mention/video/list/` (header `Access-Token`): the videos that mention
  the brand's TikTok business account (`business_id`), newest first when asked to sort by
  `CREATE_TIME` `DESC`, paged by `cursor` and `has_more`;
- renews the access token when TikTok says it expired and the source has the app's id and secret
  and a refresh token (`POST /open_api/v1.3/tt_user/oauth2/refresh_token/`), once per refusal, and
  hands what the renewal gave to a `TokenKeeper` before using it (the store keeps it, so a restarted
  process starts from the newest pair, not from the configured refresh token a renewal may have spent);
- turns TikTok's envelope (`{"code", "message", "request_id", "data"}`, `code` 0 on success) into
  the collector's errors.

What TikTok documents of these calls and what Tesoro assumes is spelled out in docs/tiktok.md. The
envelope codes read here: 40100 (too many requests) is `RateLimited` for a minute; 40102, 40104 and
40105 (the token expired, is missing, or is wrong or revoked) renew the token once when the source can,
and are otherwise `AuthFailed` naming the renewal; 40001 (no permission: the account lacks mentions
access or the token the scope) is `AuthFailed`; 40002 (a parameter TikTok refused) is `InvalidParams`;
5xxxx codes, HTTP 5xx, timeouts and unreadable bodies are `TransientError`; HTTP 429 is `RateLimited`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from tesoro.collector.base import AuthFailed, CollectorError, RateLimited, TokenExpiry, TransientError
from tesoro.collector.payload import as_dict, as_int, as_str
from tesoro.collector.tiktok_api import read_json, send

__all__ = [
    "BUSINESS_API",
    "MENTION_VIDEOS_PATH",
    "REFRESH_PATH",
    "BusinessClient",
    "InvalidParams",
    "KeptToken",
    "MentionPage",
    "TokenExpired",
    "TokenKeeper",
]

log = logging.getLogger(__name__)

BUSINESS_API = "https://business-api.tiktok.com"
MENTION_VIDEOS_PATH = "/open_api/v1.3/business/mention/video/list/"
REFRESH_PATH = "/open_api/v1.3/tt_user/oauth2/refresh_token/"

_RATE_LIMITED = 40100
_TOKEN_CODES = frozenset({40102, 40104, 40105})
_NO_PERMISSION = 40001
_BAD_PARAMS = 40002
_RENEW = (
    "Renew it: authorise the app again in TikTok for Business (the brand's business account, scope for "
    "mentions), or give the source `app_id_env`, `app_secret_env` and `refresh_token_env` so Tesoro "
    "renews it itself."
)


class InvalidParams(CollectorError):
    """Envelope code 40002: TikTok refused a parameter (the business_id, fields, days, cursor)."""


class TokenExpired(AuthFailed):
    """TikTok refused the access token (expired, missing, wrong or revoked) and it could not be renewed."""


@dataclass(frozen=True, slots=True)
class KeptToken:
    """An access token (and the refresh token that renews it) a renewal gave; `expires_at` when said."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None


class TokenKeeper(Protocol):
    """Where an account's renewed tokens outlive the process (`collector.tokens.StoreTokens`)."""

    def load(self) -> KeptToken | None: ...

    def keep(self, token: KeptToken) -> None: ...


@dataclass(frozen=True, slots=True)
class MentionPage:
    videos: list[dict[str, Any]]
    cursor: int
    has_more: bool


class BusinessClient:
    """One business account's connection to the mentions API; not thread-safe (one per collector)."""

    def __init__(
        self,
        *,
        access_token: str,
        business_id: str,
        app_id: str | None = None,
        app_secret: str | None = None,
        refresh_token: str | None = None,
        base_url: str = BUSINESS_API,
        timeout_s: float = 15.0,
        keeper: TokenKeeper | None = None,
    ) -> None:
        self.business_id = business_id
        self._token = access_token
        self._app_id = app_id
        self._app_secret = app_secret
        # TikTok may hand out a new refresh token with each renewal, and the environment still holds
        # the first one: the newest is used here and handed to `keeper`, which a new process reads first.
        self.refresh_token = refresh_token
        self._keeper = keeper
        self._kept_read = keeper is None
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self.renewals = 0
        self.token_expiry: TokenExpiry | None = None

    @property
    def can_renew(self) -> bool:
        return bool(self._app_id and self._app_secret and self.refresh_token)

    def close(self) -> None:
        self._http.close()

    def mention_videos(
        self, *, fields: tuple[str, ...], number_of_days: int, max_count: int, cursor: int = 0
    ) -> MentionPage:
        params = {
            "business_id": self.business_id,
            "fields": json.dumps(list(fields), separators=(",", ":")),
            "sort_field": "CREATE_TIME",
            "sort_type": "DESC",
            "number_of_days": str(number_of_days),
            "cursor": str(cursor),
            "max_count": str(max_count),
        }
        data = self._get(MENTION_VIDEOS_PATH, params)
        videos = data.get("videos")
        if not isinstance(videos, list):
            raise TransientError("TikTok answered without data.videos")
        return MentionPage(
            videos=videos, cursor=as_int(data.get("cursor")) or 0, has_more=data.get("has_more") is True
        )

    # -- calls and tokens ----------------------------------------------------------------------

    def _read_kept(self) -> None:
        """Start from the newest token an earlier process kept, when there is one."""
        self._kept_read = True
        assert self._keeper is not None
        kept = self._keeper.load()
        if kept is None:
            return
        self._token = kept.access_token
        self.refresh_token = kept.refresh_token or self.refresh_token
        if kept.expires_at is not None:
            self.token_expiry = TokenExpiry(at=kept.expires_at)

    def _get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        if not self._kept_read:
            self._read_kept()
        renewed = False
        while True:
            response = self._send("GET", path, params=params, headers={"Access-Token": self._token})
            answer = read_json(response)
            code = as_int(answer.get("code"))
            message = as_str(answer.get("message")) or ""
            if response.status_code == 429 or code == _RATE_LIMITED:
                raise RateLimited(
                    f"TikTok API for Business rate limit: {message or 'too many requests'}",
                    retry_at=datetime.now(UTC) + timedelta(minutes=1),
                )
            if response.status_code >= 500 or (code is not None and code >= 50000):
                raise TransientError(
                    f"TikTok API for Business answered {response.status_code}: {code} {message}"
                )
            if code in _TOKEN_CODES or response.status_code == 401:
                if not renewed and self.can_renew:
                    self._renew()
                    renewed = True
                    continue
                state = "a renewed access token" if renewed else "the access token"
                raise TokenExpired(f"TikTok refused {state} ({code}: {message}). {_RENEW}")
            if code == _NO_PERMISSION or response.status_code == 403:
                raise AuthFailed(
                    f"TikTok: no permission to read this business account's mentions ({code}: {message}); "
                    "the account needs mentions access and the token its scope"
                )
            if code == _BAD_PARAMS or response.status_code == 400:
                raise InvalidParams(f"TikTok refused the request ({code}): {message}")
            if response.status_code != 200 or code != 0:
                raise CollectorError(
                    f"TikTok API for Business answered {response.status_code}: {code} {message}"
                )
            return as_dict(answer.get("data"))

    def _renew(self) -> None:
        response = self._send(
            "POST",
            REFRESH_PATH,
            json={
                "client_id": self._app_id,
                "client_secret": self._app_secret,
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
            },
        )
        answer = read_json(response)
        code = as_int(answer.get("code"))
        if response.status_code == 429 or code == _RATE_LIMITED:
            raise RateLimited(
                "TikTok token endpoint rate limit", retry_at=datetime.now(UTC) + timedelta(minutes=1)
            )
        if response.status_code >= 500 or (code is not None and code >= 50000):
            raise TransientError(f"TikTok token endpoint answered {response.status_code}: {code}")
        data = as_dict(answer.get("data"))
        token = as_str(data.get("access_token"))
        if code != 0 or not token:
            message = as_str(answer.get("message")) or f"HTTP {response.status_code}"
            raise TokenExpired(f"TikTok refused the refresh token ({code}: {message}). {_RENEW}")
        self._token = token
        self.refresh_token = as_str(data.get("refresh_token")) or self.refresh_token
        self.renewals += 1
        expires_in = as_int(data.get("expires_in"))
        if expires_in is not None and expires_in > 0:
            self.token_expiry = TokenExpiry(at=datetime.now(UTC) + timedelta(seconds=expires_in))
        if self._keeper is not None:
            kept = KeptToken(token, self.refresh_token, self.token_expiry.at if self.token_expiry else None)
            try:
                self._keeper.keep(kept)
            except Exception:  # this run still has the pair in memory; the next one may have to re-authorise
                log.exception(
                    "TikTok business %s: the renewed token could not be kept; a restarted process will "
                    "start from the configured refresh token, which TikTok may have retired",
                    self.business_id,
                )

    def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        return send(self._http, method, path, **options)
