"""A delivery's message in plain words: Block Kit back to text a page shows with textContent."""

from __future__ import annotations

from datetime import UTC, datetime

from tesoro.alerts.blocks import SlackMessage, render
from tesoro.alerts.models import Links, Outgoing, OutgoingAlert
from tesoro.alerts.readable import MessageLink, MessagePart, plain, readable, rebuild

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
LINKS = Links(app_base_url="https://tesoro.example")
HOSTILE = "<!channel> @here <https://evil.example|Tesoro> & *bold* <script>alert(1)</script>"


def _alert(alert_id: int, payload: dict[str, object]) -> OutgoingAlert:
    return OutgoingAlert(alert_id, "vip", f"post:{alert_id}", dict(payload), AT)


def test_mrkdwn_becomes_plain_text_with_its_links() -> None:
    assert plain("*Ana* &lt;b&gt; &amp;lt; <https://x.com/ana|@ana ¦ x>") == (
        "Ana <b> &lt; @ana | x",
        (MessageLink("@ana | x", "https://x.com/ana"),),
    )
    text, links = plain("see <https://example.com/a?b=1&c=2>")
    assert text == "see https://example.com/a?b=1&c=2" and links[0].url == "https://example.com/a?b=1&c=2"
    text, links = plain("<javascript:alert(1)|click>")  # not http(s): the words stay, the link goes
    assert text == "click" and links == ()


def test_a_hostile_post_round_trips_to_the_words_its_author_typed() -> None:
    alert = _alert(
        7,
        {
            "kind": "new_mention",
            "title": "New mention",
            "summary": "A mention by @mallory",
            "post": {"id": 7, "text": HOSTILE, "url": "https://x.com/m/status/7", "author": {"handle": "m"}},
        },
    )
    message = rebuild("vip", "alert", [alert], LINKS)
    assert message is not None
    parts = readable(message)
    quote = next(p for p in parts if p.kind == "quote")
    # Slack received it escaped and defused; the reader gets the characters back (bold stars aside).
    assert quote.text == HOSTILE.replace("@here", "@\u2060here").replace("*bold*", "bold")
    assert quote.links == ()
    assert parts[-2] == MessagePart(
        "actions",
        "",
        (
            MessageLink("Open post", "https://x.com/m/status/7"),
            MessageLink("Review in Tesoro", "https://tesoro.example/ui/queue?post=7"),
        ),
    )
    assert parts[-1] == MessagePart("context", "Rule vip · alert 7")


def test_the_message_is_the_one_the_channel_renders() -> None:
    alerts = [
        _alert(
            i,
            {
                "kind": "new_mention",
                "title": "New mention",
                "post": {"id": i, "text": f"post {i}"},
                "rank": i,
            },
        )
        for i in range(1, 13)
    ]
    digest = rebuild("vip", "digest", alerts, LINKS)
    assert digest == render(Outgoing("vip", "digest", tuple(alerts)), LINKS)
    parts = readable(digest)
    assert parts[0] == MessagePart("header", "12 alerts: New mention")
    assert any(p.kind == "context" and p.text == "…and 2 more, all in the review queue." for p in parts)
    items = next(p for p in parts if p.text.startswith("Top items"))
    assert items.text.splitlines()[1].startswith("• @unknown: post 12 (")
    assert MessageLink("review", "https://tesoro.example/ui/queue?post=12") in items.links
    test = rebuild("test", "test", [], LINKS)
    assert test is not None and readable(test)[0] == MessagePart("header", "Tesoro test alert")
    assert rebuild("vip", "alert", [], LINKS) is None  # its alerts are gone: nothing to rebuild


def test_blocks_it_does_not_know_and_buttons_without_a_safe_url_are_left_out() -> None:
    message = SlackMessage(
        text="x",
        blocks=[
            {"type": "divider"},
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"text": "Go"}, "url": "javascript:x"}],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "> one\n>\n> three"}},
        ],
    )
    assert readable(message) == [MessagePart("quote", "one\n\nthree")]
