"""Block Kit messages for alerts and digests, built so hostile post text stays inert.

Post text, names, handles and URLs come from strangers on the internet. In Slack's
mrkdwn, `<...>` is markup: `<!channel>` pings everyone, `<https://evil|Tesoro>` hides a
link behind friendly words, `<@U123>` mentions a colleague. Slack's rule is to escape
`&`, `<` and `>` as HTML entities in text that is not meant as markup; we also break up
the bare `@here`, `@channel` and `@everyone` with a word joiner so no client or
`link_names` setting turns them into broadcasts. URLs are only used when they are
plain http(s), and then as button targets (no mrkdwn parsing) or percent-encoded links.

Messages stay inside Slack's limits (3,000 characters per text, 150 per header, 50
blocks, 75 per button label); a digest lists the top items and counts the rest.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from tesoro.alerts.models import Links, Outgoing, OutgoingAlert

__all__ = [
    "SlackMessage",
    "escape",
    "render",
    "safe_url",
]

_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_WORD_JOINER = "\u2060"
_TEXT_LIMIT = 2900
_HEADER_LIMIT = 150
_DIGEST_TOP = 10


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """`text` is the notification/fallback line; `blocks` the Block Kit layout."""

    text: str
    blocks: list[dict[str, Any]]


def escape(text: str) -> str:
    """Make untrusted text inert in Slack mrkdwn (and in plain_text, which Slack also decodes)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub(lambda m: "@" + _WORD_JOINER + m.group(1), text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def safe_url(url: object) -> str | None:
    """The URL if it is a plain http(s) URL Slack can open; None for anything else."""
    if not isinstance(url, str) or len(url) > 2000 or any(c in url for c in "\n\r\t "):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return url


def _link(url: str | None, label: str) -> str:
    """A mrkdwn link whose URL cannot break out of `<...|...>`; plain label when there is no URL."""
    if url is None:
        return escape(label)
    return f"<{quote(url, safe=':/?#[]@!$&()*+,;=%~.-_')}|{escape(label).replace('|', '¦')}>"


def _count(value: object) -> str:
    if not isinstance(value, int | float):
        return "?"
    n = float(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= limit:
            return f"{n / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{int(n)}"


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _cut(escape(text), _HEADER_LIMIT)}}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(mrkdwn, _TEXT_LIMIT)}}


def _context(*parts: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": _cut(p, _TEXT_LIMIT)} for p in parts[:10]],
    }


def _button(label: str, url: str | None, action_id: str) -> dict[str, Any] | None:
    if url is None:
        return None
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": _cut(escape(label), 75)},
        "url": url,
        "action_id": action_id,
    }


def _actions(*buttons: dict[str, Any] | None) -> list[dict[str, Any]]:
    elements = [b for b in buttons if b is not None]
    return [{"type": "actions", "elements": elements}] if elements else []


def _quote(text: str) -> str:
    """The post as a mrkdwn block quote; our `>` markers are the only raw ones (the text's are escaped)."""
    lines = escape(_cut(text.strip(), _TEXT_LIMIT - 200)).splitlines() or [""]
    return "\n".join(">" + (" " + line if line else "") for line in lines)


def _author_line(post: dict[str, Any]) -> str:
    author = post.get("author") or {}
    handle = str(author.get("handle") or "unknown")
    name = author.get("name")
    parts = [f"*{escape(str(name))}* " if name else ""]
    parts.append(_link(safe_url(author.get("url")), f"@{handle}"))
    if author.get("followers") is not None:
        parts.append(f" · {_count(author.get('followers'))} followers")
    if author.get("verified"):
        parts.append(" · verified")
    parts.append(f" · {escape(str(post.get('platform') or ''))}")
    return "".join(parts)


def _scores_line(post: dict[str, Any]) -> str:
    scores = post.get("scores") or {}
    metrics = post.get("metrics") or {}
    parts: list[str] = []
    if scores.get("sentiment"):
        parts.append(f"sentiment *{escape(str(scores['sentiment']))}*")
    for key, label in (("treasure", "treasure"), ("relevance", "relevance"), ("ror", "ROR")):
        value = scores.get(key)
        if isinstance(value, int | float):
            parts.append(f"{label} {value:.2f}")
    ratio = scores.get("engagement_vs_median")
    if isinstance(ratio, int | float):
        parts.append(f"engagement {ratio:.1f}x median")
    for key, label in (("likes", "likes"), ("reposts", "reposts"), ("replies", "replies")):
        if metrics.get(key):
            parts.append(f"{_count(metrics[key])} {label}")
    return " · ".join(parts)


def _when(value: object) -> str:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M UTC")
        except ValueError:
            return escape(value)
    return ""


def _post_blocks(alert: OutgoingAlert, links: Links) -> list[dict[str, Any]]:
    payload = alert.payload
    post: dict[str, Any] = payload.get("post") or {}
    blocks: list[dict[str, Any]] = []
    if payload.get("summary"):
        blocks.append(_section(escape(str(payload["summary"]))))
    blocks.append(_section(_author_line(post)))
    text = str(post.get("text") or "")
    if post.get("title"):
        text = f"{post['title']}\n{text}"
    blocks.append(_section(_quote(text)))
    scores = _scores_line(post)
    context = [p for p in (scores, _when(post.get("created_at"))) if p]
    if context:
        blocks.append(_context(*context))
    post_id = post.get("id")
    blocks += _actions(
        _button("Open post", safe_url(post.get("url")), "open_post"),
        _button(
            "Review in Tesoro",
            safe_url(links.review(post_id=post_id if isinstance(post_id, int) else None)),
            "review",
        ),
    )
    return blocks


def _spike_blocks(alert: OutgoingAlert, links: Links) -> list[dict[str, Any]]:
    payload = alert.payload
    blocks = [_section(escape(str(payload.get("details") or payload.get("summary") or "")))]
    samples = [s for s in payload.get("samples") or [] if isinstance(s, dict)]
    if samples:
        lines = ["*Sample posts*"]
        for sample in samples[:3]:
            handle = str((sample.get("author") or {}).get("handle") or "unknown")
            text = escape(_cut(" ".join(str(sample.get("text") or "").split()), 200))
            link = _link(safe_url(sample.get("url")), "open")
            lines.append(f"• @{escape(handle)}: “{text}” ({link})")
        blocks.append(_section("\n".join(lines)))
    blocks += _actions(_button("Open the review queue", safe_url(links.review()), "review"))
    return blocks


def _source_blocks(alert: OutgoingAlert, links: Links) -> list[dict[str, Any]]:
    source = alert.payload.get("source") or {}
    lines = [escape(str(alert.payload.get("summary") or ""))]
    if source.get("last_error"):
        lines.append("Last error: `" + escape(_cut(str(source["last_error"]), 500)).replace("`", "'") + "`")
    if source.get("last_success_at"):
        lines.append(f"Last success: {_when(source['last_success_at'])}")
    return [_section("\n".join(lines))]


def _single(alert: OutgoingAlert, links: Links) -> SlackMessage:
    payload = alert.payload
    title = str(payload.get("title") or alert.rule)
    if alert.kind in ("volume_spike", "negative_spike"):
        body = _spike_blocks(alert, links)
    elif alert.kind in ("source_failing", "coverage_lost"):
        body = _source_blocks(alert, links)
    elif payload.get("post"):
        body = _post_blocks(alert, links)
    else:
        body = [_section(escape(str(payload.get("summary") or "")))]
    footer = _context(f"Rule *{escape(alert.rule)}* · alert {alert.id}")
    blocks = [_header(title), *body, footer]
    text = _cut(escape(f"{title}: {payload.get('summary') or ''}".rstrip(": ")), _TEXT_LIMIT)
    return SlackMessage(text=text, blocks=blocks[:50])


def _digest_item(alert: OutgoingAlert, links: Links) -> str:
    payload = alert.payload
    post = payload.get("post")
    if isinstance(post, dict):
        author = post.get("author") or {}
        who = f"@{author.get('handle') or 'unknown'}"
        if author.get("followers") is not None:
            who += f" ({_count(author['followers'])} followers)"
        text = _cut(" ".join(str(post.get("text") or "").split()), 140)
        post_id = post.get("id")
        review = safe_url(links.review(post_id=post_id if isinstance(post_id, int) else None))
        links_part = " · ".join(
            p
            for p in (
                _link(safe_url(post.get("url")), "post") if post.get("url") else "",
                _link(review, "review"),
            )
            if p
        )
        return f"• *{escape(who)}*: {escape(text)} ({links_part})"
    return f"• {escape(_cut(str(payload.get('summary') or alert.subject), 200))}"


def _packed(lines: Sequence[str]) -> list[dict[str, Any]]:
    """Lines into as few sections as fit Slack's per-text limit (escaping can triple a line's length)."""
    sections: list[dict[str, Any]] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = _cut(line, _TEXT_LIMIT)
        if current and size + len(line) + 1 > _TEXT_LIMIT:
            sections.append(_section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        sections.append(_section("\n".join(current)))
    return sections


def _digest(outgoing: Outgoing, links: Links) -> SlackMessage:
    alerts = outgoing.alerts
    n = len(alerts)
    kinds = Counter(str(a.payload.get("title") or a.kind) for a in alerts)
    title = kinds.most_common(1)[0][0] if kinds else outgoing.rule
    first = min(a.created_at for a in alerts)
    last = max(a.created_at for a in alerts)
    platforms = Counter(
        str((a.payload.get("post") or {}).get("platform"))
        for a in alerts
        if isinstance(a.payload.get("post"), dict)
    )
    summary = [f"*{n}* alerts for rule *{escape(outgoing.rule)}* between {first:%H:%M} and {last:%H:%M} UTC."]
    if platforms:
        summary.append("By platform: " + ", ".join(f"{escape(p)} {c}" for p, c in platforms.most_common()))
    top = sorted(alerts, key=lambda a: (-a.rank, a.id))[:_DIGEST_TOP]
    blocks = [
        _header(f"{n} alerts: {title}"),
        _section("\n".join(summary)),
        *_packed(["*Top items*", *(_digest_item(a, links) for a in top)]),
    ]
    if n > len(top):
        blocks.append(_context(f"…and {n - len(top)} more, all in the review queue."))
    blocks += _actions(_button("Open the review queue", safe_url(links.review()), "review"))
    text = _cut(escape(f"{n} alerts: {title} (rule {outgoing.rule})"), _TEXT_LIMIT)
    return SlackMessage(text=text, blocks=blocks)


def render(outgoing: Outgoing, links: Links) -> SlackMessage:
    """The Slack message for one outgoing alert, digest or test."""
    if outgoing.kind == "test":
        note = outgoing.note or "Test message from Tesoro: alerts for this rule will arrive here."
        return SlackMessage(
            text=escape(note),
            blocks=[
                _header("Tesoro test alert"),
                _section(escape(note)),
                _context(f"Rule *{escape(outgoing.rule)}*"),
            ],
        )
    if outgoing.kind == "digest" or len(outgoing.alerts) != 1:
        return _digest(outgoing, links)
    return _single(outgoing.alerts[0], links)
