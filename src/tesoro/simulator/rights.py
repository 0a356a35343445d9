"""How the simulator's authors answer a brand's rights request, in English and Spanish.

When the brand replies under a post (a rights request), `answer` decides, from the post's id
and the world's seed (so a test or the demo sees the same story each time), what its author
does, as real authors do:

- yes with the approval hashtag (the most common answer), or yes in words;
- no, a question, a condition ("yes but credit me");
- silence (nothing, ever), or a late answer (the hashtag, seen only after `late_after`);
- another account answering with the hashtag while the author stays silent;
- the post deleted before anyone answers.

How soon: by default (tests) at once, and a late answer after `late_after`; a world with
`realistic_delays` (the benchmark's) has each author take their own time (`answer_delay`): most
answer within hours, some the next days, a late one after one to nine days.

`mention_brand` wraps a world's generator so that some Instagram captions @mention the brand, the
only Instagram media the Graph API lets a brand comment on.

The conversation lives beside the public posts (`World.thread`): the collectors' searches never
see it, the platforms' reply endpoints (a status's context, a thread, a conversation) do.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from tesoro.simulator.model import SimAuthor, SimPost, WorldSpec

__all__ = ["BEHAVIOURS", "Behaviour", "answer", "answer_delay", "behaviour_of", "mention_brand"]

Behaviour = str
# (behaviour, weight): the share of posts whose author acts so.
BEHAVIOURS: tuple[tuple[Behaviour, int], ...] = (
    ("hashtag", 32),
    ("words", 14),
    ("no", 12),
    ("question", 7),
    ("condition", 7),
    ("silence", 12),
    ("late", 8),
    ("other_account", 5),
    ("deleted", 3),
)

_TEXTS: dict[str, dict[Behaviour, tuple[str, ...]]] = {
    "en": {
        "hashtag": ("{h}", "{h} 🙌", "{h} of course!", "Love it, {h}", "{h} go for it"),
        "words": (
            "Yes, go ahead!",
            "Sure, feel free to use it",
            "Of course you can!",
            "Absolutely, happy to",
        ),
        "no": ("No thanks", "I'd rather not", "Please don't use it", "Nope, sorry"),
        "question": ("Do I get paid?", "Where would it appear?", "What are the terms exactly?"),
        "condition": ("{h} but please credit me", "Yes but only on your website", "Sure, if you tag me"),
        "other": ("{h}", "{h} she'd love that"),
    },
    "es": {
        "hashtag": ("{h}", "{h} 🙌", "¡{h}, claro!", "Me encanta, {h}", "{h} adelante"),
        "words": ("Sí, adelante", "Claro, úsenla sin problema", "¡Por supuesto!", "Con gusto, sí"),
        "no": ("No gracias", "Prefiero que no", "Por favor no la usen", "No, lo siento"),
        "question": ("¿Me pagan?", "¿Dónde aparecería?", "¿Cuáles son los términos?"),
        "condition": ("{h} pero denme crédito", "Sí pero solo en su web", "Claro, si me etiquetan"),
        "other": ("{h}", "{h} le encantaría"),
    },
}
_HASHTAG = re.compile(r"#\w+")


def behaviour_of(post_id: int, seed: int) -> Behaviour:
    """What the author of this post does when asked (the same every run)."""
    rng = random.Random(seed * 1_000_003 + post_id)
    names = [name for name, _ in BEHAVIOURS]
    return rng.choices(names, weights=[w for _, w in BEHAVIOURS])[0]


def answer_delay(post_id: int, seed: int, behaviour: Behaviour) -> timedelta:
    """How long this post's author takes to answer (the same every run): a log-normal spread with a
    median of three hours, capped at four days; a late author one to nine days."""
    rng = random.Random(seed * 104_729 + post_id)
    if behaviour == "late":
        return timedelta(hours=rng.uniform(24, 24 * 9))
    return timedelta(hours=min(rng.lognormvariate(math.log(3), 1.3), 96))


def mention_brand(
    generator: Callable[[random.Random, WorldSpec, str, int, datetime], SimPost], every: int = 2
) -> Callable[[random.Random, WorldSpec, str, int, datetime], SimPost]:
    """`generator`, with every `every`-th Instagram post's caption ending in an @mention of the brand."""

    def generate(rng: random.Random, spec: WorldSpec, platform: str, post_id: int, now: datetime) -> SimPost:
        post = generator(rng, spec, platform, post_id, now)
        if platform != "instagram" or post_id % every or f"@{spec.handle}" in post.text.casefold():
            return post
        return replace(post, text=f"{post.text} @{spec.handle}")

    return generate


def answer(
    *,
    post: SimPost,
    request: SimPost,
    seed: int,
    next_id: int,
    now: datetime,
    late_after: timedelta,
    realistic: bool = False,
) -> tuple[Behaviour, list[tuple[SimPost, datetime]]]:
    """The behaviour, and the replies to add under `request` with the moment each becomes visible.

    `realistic`: each author answers after their own `answer_delay`, instead of at once (a late
    one after `late_after`)."""
    behaviour = behaviour_of(post.id, seed)
    if realistic:
        now = now + answer_delay(post.id, seed, behaviour)
        late_after = timedelta(0)
    rng = random.Random(seed * 7_919 + post.id)
    lang = "es" if post.lang == "es" else "en"
    found = _HASHTAG.search(request.text)
    hashtag = found.group(0) if found else "#Yes"
    pool = _TEXTS[lang]

    def reply(text: str, author: SimAuthor, at: datetime, offset: int = 0) -> SimPost:
        return SimPost(
            id=next_id + offset,
            platform=post.platform,
            created_at=at,
            text=text.format(h=hashtag),
            lang=lang,
            author=author,
            kind="rights_reply",
            reply_to=request.id,
        )

    if behaviour in ("silence", "deleted"):
        return behaviour, []
    if behaviour == "other_account":
        friend = replace(post.author, id=post.author.id + 500_000, handle=f"{post.author.handle}_friend")
        return behaviour, [(reply(rng.choice(pool["other"]), friend, now), now)]
    if behaviour == "late":
        at = now + late_after
        return behaviour, [(reply(rng.choice(pool["hashtag"]), post.author, at), at)]
    return behaviour, [(reply(rng.choice(pool[behaviour]), post.author, now), now)]
