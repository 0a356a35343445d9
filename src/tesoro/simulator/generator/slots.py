"""Slot values for one post (`{prod}`, `{pro}`, `{price}`...), drawn on first use.

Templates name more slots than any one post uses, so a value is only drawn when a
chosen phrase asks for it: unused slots cost nothing, and the random draws a post
makes depend only on the phrases it picked (which keeps a seed's world stable).
"""

from __future__ import annotations

import random
from collections.abc import Callable

from tesoro.simulator.generator.compiled import CompiledSpec, ProductCtx
from tesoro.simulator.generator.draw import choice

__all__ = ["Slots"]


class Slots(dict[str, str]):
    """Slot values for one post, drawn on first use so unused slots cost nothing.

    A key starting with a capital letter is the capitalised form of its lower-case
    key ({Pro} -> {pro}). Values may contain slots themselves ({it} inside a pro).
    """

    __slots__ = ("ctx", "lang", "platform", "rng", "world")

    def __init__(
        self,
        base: dict[str, str],
        rng: random.Random,
        world: CompiledSpec,
        ctx: ProductCtx,
        lang: str,
        platform: str,
    ) -> None:
        super().__init__(base)
        self.rng = rng
        self.world = world
        self.ctx = ctx
        self.lang = lang
        self.platform = platform

    def __missing__(self, key: str) -> str:
        if key[:1].isupper():
            value = self[key[0].lower() + key[1:]]
            value = value[:1].upper() + value[1:]
        else:
            maker = _SLOT_MAKERS.get(key)
            # Any other slot is an emoji set of slots.toml ({emoji_pos}); an unknown name is a KeyError.
            value = maker(self) if maker is not None else self.pick(self.world.words.emoji[key])
            if "{" in value:
                self["~" + key] = value  # the raw template, so {pro2} can avoid repeating {pro}
                value = value.format_map(self)
        self[key] = value
        return value

    def pick(self, pool: tuple[str, ...], avoid: str | None = None) -> str:
        """One phrase from `pool`; with `avoid` (a slot name), never the phrase drawn for that slot."""
        picked = choice(self.rng, pool)
        if avoid is not None and len(pool) > 1:
            taken = self[avoid]
            taken = self.get("~" + avoid, taken)
            while picked == taken:
                picked = choice(self.rng, pool)
        return picked


def _mention(s: Slots) -> str:
    spec = s.world.spec
    if s.rng.random() < 0.35 or not spec.handle:
        return spec.brand
    if s.platform == "bluesky":
        return f"@{spec.handle.replace('_', '-')}.bsky.social"
    if s.platform == "reddit":
        return f"u/{spec.handle}"
    return f"@{spec.handle}"


def _price(s: Slots) -> str:
    amount = s.rng.randrange(59, 330, 10)
    if s.lang == "en":
        return f"${amount}"
    return choice(s.rng, (f"{amount} euros", f"{amount} €", f"{amount} dólares", f"{amount} €"))


def _tip3(s: Slots) -> str:
    tips = s.ctx.line.tips[s.lang]
    return s.pick(tuple(t for t in tips if t not in (s["tip"], s["tip2"])) or tips)


def _line(field: str, avoid: str | None = None) -> Callable[[Slots], str]:
    """A slot drawn from the product line's phrases of `field` in the post's language."""
    return lambda s: s.pick(getattr(s.ctx.line, field)[s.lang], avoid)


def _number(low: int, high: int) -> Callable[[Slots], str]:
    return lambda s: str(s.rng.randint(low, high))


_SLOT_MAKERS: dict[str, Callable[[Slots], str]] = {
    "prod": lambda s: s.pick(s.ctx.forms[s.lang]),
    "pro": _line("pros"),
    "pro2": _line("pros", "pro"),
    "con": _line("cons"),
    "con2": _line("cons", "con"),
    "use": _line("uses"),
    "use2": _line("uses", "use"),
    "look": _line("looks"),
    "tip": _line("tips"),
    "tip2": _line("tips", "tip"),
    "tip3": _tip3,
    "place": _line("places"),
    "size": _line("sizes"),
    "km": lambda s: str(choice(s.rng, s.world.words.km)),
    "usage": _line("usage"),
    "count": _number(3, 40),
    "weeks": _number(2, 12),
    "months": _number(2, 18),
    "days": _number(5, 40),
    "order": lambda s: str(s.rng.randrange(100_000, 999_999)),
    "price": _price,
    "budget": _price,
    "stars": lambda s: s.pick(("4", "4.5", "5", "5") if s.lang == "en" else ("4", "4,5", "5", "5")),
    "competitor": lambda s: s.pick(s.world.competitors),
    "city": lambda s: s.pick(s.world.words.cities[s.lang]),
    "country": lambda s: s.pick(s.world.words.countries[s.lang]),
    "mention": _mention,
    "brand": lambda s: s.world.spec.brand,
    "first": lambda s: s.world.first,
    "alias": lambda s: s.pick(s.world.alias_words),
}
