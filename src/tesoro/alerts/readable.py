"""A delivery's message as it was sent, built again and put in words a person reads (the alerts page).

The delivery log records how each attempt went, not the message itself. The message is a pure
function of the rule, the kind (alert, digest or test) and the alerts it carried (`blocks.render`
with the settings' links), so it is built again from those, the way the Slack channel built it.
A test message's free-text note is not stored: it reads as the default note.

`readable` turns Block Kit into parts (a header, paragraphs, a quoted post, small print, buttons)
with plain text: Slack's `&lt;` `&gt;` `&amp;` decoded, `<url|label>` links turned into a label
and a URL, the bold stars dropped. The text is still untrusted (it quotes posts by strangers):
whatever shows it must escape it, as the alerts page does by setting textContent only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from tesoro.alerts.blocks import SlackMessage, render, safe_url
from tesoro.alerts.models import Links, Outgoing, OutgoingAlert

__all__ = ["MessageLink", "MessagePart", "plain", "readable", "rebuild"]

PartKind = Literal["header", "text", "quote", "context", "actions"]

# Our own markup only: every `<` and `>` of untrusted text was escaped as an entity by blocks.escape.
_LINK = re.compile(r"<([^<>|\s]+)(?:\|([^<>]*))?>")
_BOLD = re.compile(r"\*([^*\n]+)\*")


@dataclass(frozen=True, slots=True)
class MessageLink:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class MessagePart:
    """One block of the message as text; `links` are the block's links and buttons (http(s) only)."""

    kind: PartKind
    text: str
    links: tuple[MessageLink, ...] = ()


def rebuild(rule: str, kind: str, alerts: Sequence[OutgoingAlert], links: Links) -> SlackMessage | None:
    """The Slack message of one delivery, from what it carried; None when its alerts are gone."""
    if kind == "test":
        return render(Outgoing(rule, "test"), links)
    if not alerts:
        return None
    return render(Outgoing(rule, "digest" if kind == "digest" else "alert", tuple(alerts)), links)


def _entities(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def plain(mrkdwn: str) -> tuple[str, tuple[MessageLink, ...]]:
    """Slack mrkdwn as plain text, with the links it held (label and URL)."""
    found: list[MessageLink] = []

    def link(match: re.Match[str]) -> str:
        url, label = match.group(1), match.group(2)
        shown = _entities(label.replace("¦", "|")) if label else _entities(url)
        target = safe_url(url)
        if target is not None:
            found.append(MessageLink(label=shown, url=target))
        return shown

    text = _LINK.sub(link, mrkdwn)
    return _entities(_BOLD.sub(r"\1", text)), tuple(found)


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        return str(obj["text"])
    return ""


def _section(text: str) -> MessagePart:
    lines = text.split("\n")
    if all(line.startswith(">") for line in lines):
        body, links = plain("\n".join(line[1:].removeprefix(" ") for line in lines))
        return MessagePart("quote", body, links)
    body, links = plain(text)
    return MessagePart("text", body, links)


def readable(message: SlackMessage) -> list[MessagePart]:
    """The message's blocks as parts a page can show with textContent (see the module docstring)."""
    parts: list[MessagePart] = []
    for block in message.blocks:
        kind = block.get("type")
        if kind == "header":
            parts.append(MessagePart("header", _entities(_text_of(block.get("text")))))
        elif kind == "section":
            parts.append(_section(_text_of(block.get("text"))))
        elif kind == "context":
            texts = [plain(_text_of(e)) for e in block.get("elements") or []]
            links = tuple(link for _, found in texts for link in found)
            parts.append(MessagePart("context", " · ".join(t for t, _ in texts if t), links))
        elif kind == "actions":
            buttons = []
            for element in block.get("elements") or []:
                url = safe_url(element.get("url")) if isinstance(element, dict) else None
                if url is not None:
                    buttons.append(MessageLink(label=_entities(_text_of(element.get("text"))), url=url))
            if buttons:
                parts.append(MessagePart("actions", "", tuple(buttons)))
    return parts
