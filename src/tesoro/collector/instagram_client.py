"""A small typed client for Meta's Graph APIs (Instagram and Threads) on httpx.

Meta maintains no Python client for the Instagram or Threads Graph APIs (its `facebook-business`
SDK is built for the Marketing API and wraps neither the hashtag nor the Threads endpoints), so
Tesoro speaks the HTTP API itself: one GET per call, the token in the `Authorization` header
(never in a URL, so it cannot reach a log), the answer's JSON object, and Meta's error objects
turned into the collector contract's errors:

- code 190 (an expired or invalid token) -> `TokenExpired` (an `AuthFailed`) naming the renewal;
- codes 4, 17, 32, 613 and the 80001-80014 business-use-case codes (rate limits) -> `RateLimited`,
  at the time `X-Business-Use-Case-Usage` gives (`estimated_time_to_regain_access`, minutes), else
  an hour (Meta's windows are rolling hours);
- codes 10 and 200-299 (a permission the app or token lacks) -> `AuthFailed`;
- codes 1 and 2, `is_transient`, a 5xx without an error object, a timeout, a dropped connection or
  a body that is not JSON -> `TransientError`;
- anything else (a bad parameter, an object that does not exist) -> `GraphError`, with Meta's words.

Every call first charges `spend` (the collector contract's budget counter).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tesoro.collector.base import AuthFailed, CollectorError, RateLimited, Spend, TokenExpiry, TransientError

__all__ = ["GraphClient", "GraphError", "TokenExpired"]

USER_AGENT = "tesoro/0.1 (social listening)"
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
_DEFAULT_WAIT = timedelta(hours=1)
log = logging.getLogger(__name__)


class TokenExpired(AuthFailed):
    """Meta refused the token (code 190): it expired, was revoked, or its password changed."""


class GraphError(CollectorError):
    """A Graph API error that is neither auth, rate limit nor transient; `code` is Meta's."""

    def __init__(self, message: str, *, code: int | None, subcode: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.subcode = subcode


class GraphClient:
    """GETs (and the few POSTs Tesoro makes) on one Graph API host (`https://graph.facebook.com/v21.0`, `https://graph.threads.net/v1.0`)."""

    def __init__(
        self,
        *,
        base_url: str,
        access_token: str,
        name: str,
        renew: str,
        timeout_s: float = 20.0,
        spend: Spend | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {timeout_s}")
        self.name = name
        self.renew = renew
        self._token = access_token
        self.spend = spend if spend is not None else Spend()
        self._clock = clock
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Bearer {access_token}", "User-Agent": USER_AGENT},
            timeout=timeout_s,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def get(
        self, path: str, params: Mapping[str, str | int] | None = None, *, units: int = 0
    ) -> dict[str, Any]:
        """The JSON object at `path` (relative to the base URL); `units` of the platform budget charged."""
        self.spend.charge(units)
        try:
            response = self._http.get(path.lstrip("/"), params=dict(params or {}))
        except httpx.TimeoutException as exc:
            raise TransientError(f"{self.name} did not answer in time: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{self.name} could not be reached: {type(exc).__name__}: {exc}") from exc
        return self._answer(response)

    def post(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        """POST `params` as Meta's form fields to `path`: one call, never retried (it creates something)."""
        self.spend.charge(0)
        try:
            response = self._http.post(path.lstrip("/"), data=dict(params))
        except httpx.TimeoutException as exc:
            raise TransientError(f"{self.name} did not answer in time: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise TransientError(f"{self.name} could not be reached: {type(exc).__name__}: {exc}") from exc
        return self._answer(response)

    def token_expiry(self) -> TokenExpiry | None:
        """When the token expires, as Meta's `debug_token` says (a token may inspect itself, on Instagram's
        host and on Threads'): `TokenExpiry(None)` for a token that never expires (`expires_at` 0, a
        system user's); None when Meta did not say.

        A refused token raises `TokenExpired` like any call; any other failure returns None, so a
        collection never stops over the question (the source's health shows the next call's error).
        """
        try:
            answer = self.get("debug_token", {"input_token": self._token})
        except TokenExpired:
            raise
        except CollectorError as exc:
            log.info("%s: the token's expiry could not be read: %s", self.name, exc)
            return None
        data = answer.get("data")
        if not isinstance(data, dict) or "expires_at" not in data:
            return None
        expires = _int(data.get("expires_at"))
        if expires is None:
            return None
        return TokenExpiry(datetime.fromtimestamp(expires, UTC) if expires > 0 else None)

    def _answer(self, response: httpx.Response) -> dict[str, Any]:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            if response.status_code >= 500 or response.is_success:
                raise TransientError(
                    f"{self.name} sent an unreadable answer (HTTP {response.status_code})"
                ) from None
            raise GraphError(f"{self.name} answered HTTP {response.status_code}", code=None) from None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            raise self._error(error, response)
        if response.status_code >= 500:
            raise TransientError(f"{self.name} failed (HTTP {response.status_code})")
        if not response.is_success or not isinstance(body, dict):
            raise TransientError(f"{self.name} answered HTTP {response.status_code} without an error object")
        return body

    def _error(self, error: Mapping[str, Any], response: httpx.Response) -> CollectorError:
        code = _int(error.get("code"))
        subcode = _int(error.get("error_subcode"))
        message = str(error.get("message") or "no message")[:300]
        said = f"{self.name}: {message} (code {code}{f', subcode {subcode}' if subcode else ''})"
        if code == 190:
            state = "expired" if subcode == 463 else "was refused"
            return TokenExpired(f"{self.name} access token {state}: {message}. {self.renew}")
        if code in RATE_LIMIT_CODES:
            return RateLimited(said, retry_at=self._regain_at(response))
        if code == 10 or (code is not None and 200 <= code <= 299):
            return AuthFailed(f"{said}: the app or token lacks a permission this call needs")
        if code in (1, 2) or error.get("is_transient") is True or response.status_code >= 500:
            return TransientError(said)
        return GraphError(said, code=code, subcode=subcode)

    def _regain_at(self, response: httpx.Response) -> datetime:
        """When Meta says access returns (`estimated_time_to_regain_access`, minutes), else in an hour."""
        now = self._clock()
        try:
            usage = json.loads(response.headers.get("x-business-use-case-usage", "{}"))
        except json.JSONDecodeError:
            usage = {}
        minutes = [
            entry.get("estimated_time_to_regain_access")
            for entries in (usage.values() if isinstance(usage, dict) else [])
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        ]
        waits = [m for m in minutes if isinstance(m, int) and not isinstance(m, bool) and 0 < m <= 24 * 60]
        return now + (timedelta(minutes=max(waits)) if waits else _DEFAULT_WAIT)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
