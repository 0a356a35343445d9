"""Who posts: a stable pool of authors per platform, derived from the world's seed only.

A few hundred people, bots, news and job accounts, and a handful of 100k-5M-follower
accounts. People are shared identities: the same person has an account on several
platforms, with a handle in each platform's style, so a given person is the same
`SimAuthor` in every post. The first people of the pool are advocates: Zipf weights
make them post again and again, and they exist on every platform, which gives
relationship scores something to find.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

from tesoro.simulator.generator.draw import choice, strip_accents
from tesoro.simulator.generator.vocabulary import Vocabulary, vocabulary
from tesoro.simulator.model import PLATFORMS, VIDEO_PLATFORMS, SimAuthor

__all__ = ["AuthorPool", "build_pool"]

_PEOPLE = 600  # shared identities; each platform draws its regular users from these
_ADVOCATES = 24  # the first people: active on every platform, posting often
_USERS_PER_PLATFORM = 300
_BOTS_PER_PLATFORM = 40


@dataclass(slots=True)
class AuthorPool:
    """One platform's authors, with cumulative Zipf weights per language for quick weighted picks."""

    users: dict[str, tuple[SimAuthor, ...]]
    cum: dict[str, tuple[float, ...]]
    celebs: dict[str, tuple[SimAuthor, ...]]
    bots: dict[str, tuple[SimAuthor, ...]]
    outlets: dict[tuple[str, str], tuple[SimAuthor, ...]]  # (lang, "news"|"job") -> accounts


@dataclass(frozen=True, slots=True)
class _Person:
    lang: str
    first: str
    last: str
    base: str  # handle, before each platform's own style
    bio: str
    reach: float  # lognormal follower scale, shared across platforms


@lru_cache(maxsize=16)
def _people(seed: int) -> tuple[_Person, ...]:
    words = vocabulary()
    rng = random.Random(f"tesoro-sim-people:{seed}")
    people: list[_Person] = []
    for i in range(_PEOPLE):
        lang = "es" if (i % 10) < 3 else "en"  # 30% Spanish speakers, advocates included
        first = choice(rng, words.first_names[lang])
        last = choice(rng, words.last_names[lang])
        f, l_ = strip_accents(first).casefold(), strip_accents(last).casefold()
        suffix = choice(rng, words.handle_suffixes[lang])
        base = choice(
            rng,
            (
                f"{f}_{suffix}",
                f"{f}{l_}",
                f"{f}_{l_}{rng.randrange(10, 99)}",
                f"{f}{suffix}{rng.randrange(1, 999)}",
                f"the{f}{suffix}",
                f"{f[0]}{l_}",
            ),
        )
        reach = rng.lognormvariate(7.6, 0.9) if i < _ADVOCATES else rng.lognormvariate(5.2, 1.3)
        people.append(_Person(lang, first, last, base, choice(rng, words.bios[lang]), reach))
    return tuple(people)


class _Accounts:
    """Hands out account ids and handles for one platform's pool: unique, in the platform's style."""

    def __init__(self, platform: str, rng: random.Random, words: Vocabulary) -> None:
        self.platform = platform
        self.rng = rng
        self.words = words
        known = (*PLATFORMS, *VIDEO_PLATFORMS)
        index = known.index(platform) if platform in known else len(known)
        self.ids: Iterator[int] = iter(range((index + 1) * 10_000_000 + 1, (index + 2) * 10_000_000))
        self.limit = 15 if platform == "x" else 30
        self.used: set[str] = set()

    def styled(self, base: str, *, person: bool = True) -> str:
        """`base` as a handle on this platform (Reddit often gives people a generated name)."""
        rng = self.rng
        if person and self.platform == "reddit" and rng.random() < 0.35:
            words = self.words
            adjective, noun = choice(rng, words.reddit_adjectives), choice(rng, words.reddit_nouns)
            return f"{adjective}_{noun}_{rng.randrange(1000, 9999)}"
        handle = base.replace(".", "_")
        if self.platform == "x":
            return handle[:15]
        if self.platform == "bluesky":
            return handle.replace("_", "-")
        return handle

    def unique(self, handle: str) -> str:
        candidate = handle
        while candidate.casefold() in self.used:
            digits = str(self.rng.randrange(10, 9999))
            candidate = handle[: max(1, self.limit - len(digits))] + digits
        self.used.add(candidate.casefold())
        return candidate


def _users(accounts: _Accounts, people: tuple[_Person, ...]) -> dict[str, list[SimAuthor]]:
    rng = accounts.rng
    chosen = list(people[:_ADVOCATES]) + rng.sample(people[_ADVOCATES:], _USERS_PER_PLATFORM - _ADVOCATES)
    users: dict[str, list[SimAuthor]] = {"en": [], "es": []}
    for person in chosen:
        followers = int(person.reach * rng.uniform(0.5, 1.6))
        following = int(rng.lognormvariate(5.6, 0.8))
        name = choice(
            rng,
            (
                f"{person.first} {person.last}",
                person.first,
                f"{person.first} {person.last[0]}.",
                f"{person.first} {choice(rng, ('🏔️', '🌲', '🏃', '⛰️', '🌿'))}",
            ),
        )
        handle = accounts.unique(accounts.styled(person.base))
        users[person.lang].append(
            SimAuthor(
                next(accounts.ids),
                handle,
                name,
                followers,
                following,
                verified=rng.random() < 0.02,
                bio=person.bio,
            )
        )
    return users


def _celebrities(accounts: _Accounts) -> dict[str, list[SimAuthor]]:
    rng = accounts.rng
    celebs: dict[str, list[SimAuthor]] = {"en": [], "es": []}
    for lang, entries in accounts.words.celebrities.items():
        for handle, name, bio in entries:
            followers = int(10 ** rng.uniform(5.0, 6.7))  # 100k .. 5M, log-uniform
            celebs[lang].append(
                SimAuthor(
                    next(accounts.ids),
                    accounts.unique(accounts.styled(handle, person=False)),
                    name,
                    followers,
                    rng.randrange(150, 2000),
                    verified=True,
                    bio=bio,
                )
            )
    return celebs


def _outlets(accounts: _Accounts) -> dict[tuple[str, str], list[SimAuthor]]:
    rng = accounts.rng
    outlets: dict[tuple[str, str], list[SimAuthor]] = {}
    for lang, entries in accounts.words.outlets.items():
        for source, handle, name, bio in entries:
            followers = int(10 ** rng.uniform(4.3, 5.8))
            author = SimAuthor(
                next(accounts.ids),
                accounts.unique(accounts.styled(handle, person=False)),
                name,
                followers,
                rng.randrange(5, 400),
                verified=source == "news",
                bio=bio,
            )
            outlets.setdefault((lang, source), []).append(author)
    return outlets


def _bots(accounts: _Accounts) -> dict[str, list[SimAuthor]]:
    rng, limit = accounts.rng, accounts.limit
    bots: dict[str, list[SimAuthor]] = {"en": [], "es": []}
    for i in range(_BOTS_PER_PLATFORM):
        lang = "es" if i % 10 < 3 else "en"
        words = accounts.words.bots[lang]
        raw = f"{choice(rng, words.first)}_{choice(rng, words.second)}{rng.randrange(1000, 9999)}"
        handle = accounts.unique(raw[:limit] if accounts.platform != "bluesky" else raw.replace("_", "-"))
        # The tell-tale ratio: a handful of followers, thousands followed.
        bots[lang].append(
            SimAuthor(
                next(accounts.ids),
                handle,
                choice(rng, words.names),
                rng.randrange(0, 60),
                rng.randrange(1500, 7500),
                bio=choice(rng, words.bios),
                is_bot=True,
            )
        )
    return bots


def build_pool(seed: int, platform: str) -> AuthorPool:
    """The authors of `platform` in the world of `seed`: the same every time for the same pair."""
    accounts = _Accounts(platform, random.Random(f"tesoro-sim-pool:{seed}:{platform}"), vocabulary())
    users = _users(accounts, _people(seed))
    cum = {
        lang: tuple(accumulate(1.0 / (rank + 1) ** 0.7 for rank in range(len(group))))
        for lang, group in users.items()
    }
    celebs = _celebrities(accounts)
    outlets = _outlets(accounts)
    bots = _bots(accounts)
    return AuthorPool(
        users={lang: tuple(group) for lang, group in users.items()},
        cum=cum,
        celebs={lang: tuple(group) for lang, group in celebs.items()},
        bots={lang: tuple(group) for lang, group in bots.items()},
        outlets={key: tuple(group) for key, group in outlets.items()},
    )
