"""Keeping secrets out of what Tesoro shows: URLs with their credentials masked, secret values redacted.

Every URL that the API, the command line or a log line shows goes through `mask_url` (one URL) or
`mask_urls` (free text that may hold some): the password in `redis://:hunter2@cache:6379/0` or
`postgresql://tesoro:hunter2@db/tesoro` becomes `***`, a user name alone (often a token:
`https://xoxb-1234@host`) too, and so do the values of query parameters that carry credentials
(`?token=`, `?key=`, `?password=`...). Host, port, path and the other parameters stay readable.

`redact` removes known secret values (what an environment variable held) from a message, for
errors that would otherwise echo one, such as urllib's "unknown url type: '<the value>'".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

__all__ = ["MASK", "mask_url", "mask_urls", "redact"]

MASK = "***"

# scheme://[user][:password]@ — the userinfo of a URL inside any text.
_USERINFO = re.compile(
    r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^\s/@:?#]*)(?::(?P<pw>[^\s/@?#]*))?@"
)
# ?token=...&api_key=... — query parameters whose value is a credential.
_SECRET_PARAM = re.compile(
    r"(?P<name>[?&;](?:[a-z0-9_.-]*(?:token|secret|password|passwd|pwd|api[_-]?key|apikey|signature|sig|key|auth)))"
    r"=(?P<value>[^&#\s'\"]*)",
    re.IGNORECASE,
)
# Values shorter than this are not redacted from text: "1" or "ok" would mangle every message.
_MIN_SECRET = 6


def _userinfo(match: re.Match[str]) -> str:
    user, password = match.group("user"), match.group("pw")
    if password is not None:
        return f"{match.group('scheme')}{user}:{MASK}@"
    return f"{match.group('scheme')}{MASK}@"  # a user name alone is usually a token


def _param(match: re.Match[str]) -> str:
    return f"{match.group('name')}={MASK}" if match.group("value") else match.group(0)


def mask_urls(text: str) -> str:
    """`text` with the credentials of every URL in it masked (see the module docstring)."""
    if "://" not in text and "=" not in text:
        return text
    return _SECRET_PARAM.sub(_param, _USERINFO.sub(_userinfo, text))


def mask_url(url: str | None) -> str | None:
    """One URL with its credentials masked: `redis://:***@cache:6379/0`, `postgresql://tesoro:***@db/x`."""
    if url is None:
        return None
    masked = mask_urls(url)
    if masked == url and "@" in url:
        # A URL the pattern did not read (odd characters in the userinfo): mask all before the host.
        try:
            parts = urlsplit(url)
        except ValueError:
            return MASK
        if parts.username is not None or parts.password is not None:
            host = parts.netloc.rpartition("@")[2]
            user = f"{parts.username}:" if parts.password is not None and parts.username else ""
            return parts._replace(netloc=f"{user}{MASK}@{host}").geturl()
    return masked


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with each secret value in it replaced by `***`, then its URLs masked.

    A value is redacted as given and as quoted by `repr` (how Python's errors echo strings);
    values under six characters are left alone (they would mask ordinary words).
    """
    for secret in sorted({s for s in secrets if s and len(s) >= _MIN_SECRET}, key=len, reverse=True):
        for form in (secret, repr(secret)[1:-1]):
            if form:
                text = text.replace(form, MASK)
    return mask_urls(text)
