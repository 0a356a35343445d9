"""Which configured product a post is about, with a confidence; none when unsure.

Aliases (and product names) are what a coordinator wrote, so a mention of one is the
main evidence. Mentions are whole words, case- and accent-insensitive, also inside
hashtags and run-together names ("#iPad2" names "iPad 2", "#GoogleMaps" names "Google
Maps"). Looser mentions are weaker evidence that the post's embedding must back (a floor
on the similarity to the product's profile): a plural ("ipads", "apps"), and the words of
a multi-word alias a few words apart, in any order ("app for the iPhone" names "iphone
app"; never for aliases with a model number, since "iPhone ... 4" is not "iPhone 4").

A mention covered by a more specific mention of another product (more alias words over
the same words) is the less specific reading and loses ("cumbre" inside "cumbre trail 2",
"iphone" inside "iphone app"). When several products are still named, each is scored by
what usually marks the one a post is about:

- its embedding similarity (the post's embedding against the product's name, aliases and
  description);
- where it is first named (the subject tends to come first; a mention late in the post,
  or only in hashtags, is usually context);
- how often it is named;
- specificity across products: a product whose aliases or description name another
  product ("Apple's iPad tablet" names Apple, "google maps" names Google) specialises it,
  and a post naming both is usually about the specialisation ("iPad 2 sold out at the
  Apple store" is about the iPad).

The confidence is lower when several products are named, and lower still when their
scores are close. Without any mention, the post's embedding must be clearly closer to one
product's profile than to any other (an absolute threshold and a margin over the
runner-up); otherwise the answer is None, because a wrong product tag in the library is
worse than a missing one.

The weights were tuned on the SXSW brands training split (bench/quality.py's catalog).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tesoro.scoring.encoders import Encoder
from tesoro.text.fold import fold, hashtag_words, split_tokens, word_tokens

__all__ = ["ProductMatch", "ProductMatcher", "ProductRef"]

FloatArray = npt.NDArray[np.float32]

# Kinds of mention, strongest first: the alias's exact words, an inflected form of them,
# or all of its words a few words apart.
EXACT, INFLECTED, NEAR = 0, 1, 2


@dataclass(frozen=True, slots=True)
class ProductRef:
    """The parts of a configured product the matcher needs (built from the `Product` table)."""

    id: int
    name: str
    aliases: tuple[str, ...] = ()
    description: str = ""
    brand_id: int | None = None

    @property
    def profile(self) -> str:
        """The text the product is embedded as."""
        aliases = f" (also: {', '.join(self.aliases)})" if self.aliases else ""
        return f"{self.name}{aliases}. {self.description}".strip()


@dataclass(frozen=True, slots=True)
class ProductMatch:
    product_id: int | None
    confidence: float
    via: str  # "alias", "embedding" or "none"


NO_MATCH = ProductMatch(None, 0.0, "none")


def _stem(token: str) -> str:
    """A light plural fold for inflected mentions: "ipads" → "ipad", "apps" → "app"."""
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return any(longer[k : k + n] == shorter for k in range(len(longer) - n + 1))


@dataclass(frozen=True, slots=True)
class _Alias:
    product: int  # index into the matcher's products
    forms: tuple[tuple[str, ...], tuple[str, ...]]  # tokens as written, and cut like split_tokens
    form_stems: tuple[tuple[str, ...], tuple[str, ...]]

    @property
    def words(self) -> tuple[str, ...]:
        return self.forms[1]

    @property
    def stems(self) -> tuple[str, ...]:
        return self.form_stems[1]

    @property
    def size(self) -> int:
        """How specific the alias is: its number of words."""
        return len(self.words)

    def could_occur_in(self, folded: str) -> bool:
        """Whether the folded text holds every stem of one of the alias's forms: a mention needs that.

        Every token of a text is its folded word (or a part of it), a substring of the folded text,
        and a stem is a prefix of its token; so an alias failing this has no mention of any kind.
        """
        return any(all(stem in folded for stem in stems) for stems in self.form_stems)

    @property
    def spread(self) -> bool:
        """Whether its words may be found apart: several words, none a number ("iphone 4")."""
        return self.size > 1 and not any(t.isdigit() for t in self.words)


@dataclass(frozen=True, slots=True)
class _Mention:
    product: int
    kind: int  # EXACT, INFLECTED or NEAR
    size: int  # words in the alias
    words: frozenset[int]  # word indices of the text it covers


class _View:
    """A text's tokens, as words and cut at compounds, with their stems and word indices."""

    def __init__(self, text: str) -> None:
        self.views: list[tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]] = []
        for pairs in (word_tokens(text), split_tokens(text)):
            tokens = tuple(t for t, _ in pairs)
            self.views.append((tokens, tuple(map(_stem, tokens)), tuple(i for _, i in pairs)))
        self.stem_sets = [frozenset(stems) for _, stems, _ in self.views]
        self.hashtags = hashtag_words(text)
        self.n_words = max((i for _, _, words in self.views for i in words), default=-1) + 1

    def mentions(self, alias: _Alias, near_gap: int) -> list[_Mention]:
        found: dict[frozenset[int], int] = {}
        for form, form_stems, (tokens, stems, words), stem_set in zip(
            alias.forms, alias.form_stems, self.views, self.stem_sets, strict=True
        ):
            if not set(form_stems) <= stem_set:
                continue
            n = len(form)
            for k in range(len(tokens) - n + 1):
                if tokens[k : k + n] == form:
                    kind = EXACT
                elif stems[k : k + n] == form_stems:
                    kind = INFLECTED
                else:
                    continue
                covered = frozenset(words[k : k + n])
                found[covered] = min(kind, found.get(covered, kind))
        if not found and near_gap > 0 and alias.spread and set(alias.stems) <= self.stem_sets[1]:
            _, stems, words = self.views[1]
            places = [[words[k] for k, s in enumerate(stems) if s == want] for want in alias.stems]
            best: frozenset[int] | None = None
            for start in places[0]:
                span = frozenset([start, *(min(ps, key=lambda w: abs(w - start)) for ps in places[1:])])
                width = max(span) - min(span) + 1
                if width <= alias.size + near_gap and (best is None or width < max(best) - min(best) + 1):
                    best = span
            if best is not None:
                found[best] = NEAR
        return [_Mention(alias.product, kind, alias.size, covered) for covered, kind in found.items()]


class ProductMatcher:
    """Matches posts to products; build once per scoring run (it embeds the product profiles).

    The keyword arguments are the decision's thresholds and weights (similarities are cosines
    of normalised embeddings); the defaults are the tuned values.
    """

    def __init__(
        self,
        products: Sequence[ProductRef],
        encoder: Encoder | None = None,
        *,
        profile_embeddings: FloatArray | None = None,
        min_similarity: float = 0.45,
        min_margin: float = 0.05,
        loose_min_similarity: float = 0.1,
        single_loose_min_similarity: float = 0.3,
        near_gap: int = 3,
        position_weight: float = 0.5,
        specialisation_bonus: float = 0.3,
        hashtag_penalty: float = 0.2,
        repeat_bonus: float = 0.1,
    ) -> None:
        self.products = tuple(products)
        if profile_embeddings is None:
            if encoder is None:
                raise ValueError("give an encoder or the profile embeddings")
            profile_embeddings = encoder.encode([p.profile for p in self.products])
        self.embeddings = profile_embeddings
        self.min_similarity = min_similarity  # embedding-only match: least similarity
        self.min_margin = min_margin  # embedding-only match: least lead over the runner-up
        # Loose mention (inflected, or spread): least similarity, for a multi-word alias and for one word.
        self.loose_min_similarity = loose_min_similarity
        self.single_loose_min_similarity = single_loose_min_similarity
        self.near_gap = near_gap  # spread mention: most other words among the alias's words
        # Several products named: score = similarity - position_weight * (first word / words)
        # + specialisation_bonus (if it specialises another named product) - hashtag_penalty (if
        # only named in hashtags) + repeat_bonus * (further mentions).
        self.position_weight = position_weight
        self.specialisation_bonus = specialisation_bonus
        self.hashtag_penalty = hashtag_penalty
        self.repeat_bonus = repeat_bonus
        self._aliases: list[list[_Alias]] = []
        for i, p in enumerate(self.products):
            aliases: dict[tuple[str, ...], _Alias] = {}
            # Sorted, so that nothing depends on set order (Python's per-process string hashing).
            for text in sorted({p.name, *p.aliases}):
                plain = tuple(t for t, _ in word_tokens(text))
                cut = tuple(t for t, _ in split_tokens(text))
                if cut:
                    stems = (tuple(map(_stem, plain)), tuple(map(_stem, cut)))
                    aliases.setdefault(cut, _Alias(i, (plain, cut), stems))
            self._aliases.append(list(aliases.values()))
        # j specialises i when j's longer aliases or its description name one of i's aliases
        # ("google maps" names "google", "Apple's iPad tablet" names "apple"), or name a product
        # that specialises i (an iPhone app specialises the iPhone, so Apple too). Products that
        # name each other say nothing about which is the more specific, so that is ignored.
        names = [self._named_by(j) for j in range(len(self.products))]
        parents = [{i for i in names[j] if i != j and j not in names[i]} for j in range(len(self.products))]
        self._general: list[frozenset[int]] = []
        for j in range(len(self.products)):
            general: set[int] = set()
            todo = list(parents[j])
            while todo:
                i = todo.pop()
                if i not in general and i != j:
                    general.add(i)
                    todo.extend(parents[i])
            self._general.append(frozenset(general))

    def _named_by(self, j: int) -> set[int]:
        """The products whose aliases occur in product j's longer aliases or in its description."""
        own = self._aliases[j]
        description = _View(self.products[j].description)
        return {
            i
            for i, aliases in enumerate(self._aliases)
            if any(
                any(b.size > a.size and _contains(b.words, a.words) for b in own)
                or any(m.kind == EXACT for m in description.mentions(a, 0))
                for a in aliases
            )
        }

    def match(
        self, texts: Sequence[str], embeddings: FloatArray, *, brand_ids: Sequence[int | None] | None = None
    ) -> list[ProductMatch]:
        """One match per text; `brand_ids` (the post's brand, when known) restricts the candidates."""
        if not self.products:
            return [NO_MATCH] * len(texts)
        sims = embeddings @ self.embeddings.T if len(texts) else np.zeros((0, len(self.products)), np.float32)
        return [
            self._one(text, sims[i], None if brand_ids is None else brand_ids[i])
            for i, text in enumerate(texts)
        ]

    def _one(self, text: str, sims: FloatArray, brand_id: int | None) -> ProductMatch:
        allowed = [
            i for i, p in enumerate(self.products) if brand_id is None or p.brand_id in (None, brand_id)
        ]
        if not allowed:
            return NO_MATCH
        # Only aliases whose stems all occur in the text can be mentioned: most posts name none, and
        # then the text is never cut into tokens (the answer is the same, see `_Alias.could_occur_in`).
        folded = fold(text)
        possible = [(i, a) for i in allowed for a in self._aliases[i] if a.could_occur_in(folded)]
        view = _View(text) if possible else None
        # Loose mentions (inflected, or words apart) count only with the embedding's support.
        mentions = [
            m
            for i, alias in possible
            for m in view.mentions(alias, self.near_gap)  # type: ignore[union-attr]
            if m.kind == EXACT or float(sims[i]) >= self._loose_floor(m)
        ]
        # A mention covered by a more specific mention of another product is the less specific
        # reading of the same words ("iphone" inside "iphone app"): drop it.
        kept = [
            m
            for m in mentions
            if not any(o.product != m.product and o.size > m.size and m.words <= o.words for o in mentions)
        ]
        if kept:
            assert view is not None
            return self._choose(kept, sims, view)
        ranked = sorted(allowed, key=lambda i: -float(sims[i]))
        top = float(sims[ranked[0]])
        runner_up = float(sims[ranked[1]]) if len(ranked) > 1 else -1.0
        if top < self.min_similarity or top - runner_up < self.min_margin:
            return NO_MATCH
        confidence = float(np.clip(0.5 + (top - self.min_similarity) * 1.6, 0.5, 0.9))
        return ProductMatch(self.products[ranked[0]].id, round(confidence, 4), "embedding")

    def _loose_floor(self, mention: _Mention) -> float:
        """The similarity a loose mention needs: more for one word ("cumbres" is its own word)."""
        return self.loose_min_similarity if mention.size > 1 else self.single_loose_min_similarity

    def _choose(self, kept: list[_Mention], sims: FloatArray, view: _View) -> ProductMatch:
        named = sorted({m.product for m in kept})

        def score(i: int) -> float:
            starts = {min(m.words) for m in kept if m.product == i}
            return (
                float(sims[i])
                - self.position_weight * min(starts) / max(view.n_words, 1)
                + self.specialisation_bonus * any(j in self._general[i] for j in named)
                - self.hashtag_penalty * all(w in view.hashtags for w in starts)
                + self.repeat_bonus * (len(starts) - 1)
            )

        ranked = sorted(named, key=lambda i: (-score(i), i))
        chosen = ranked[0]
        support = float(np.clip((sims[chosen] - 0.1) / 0.5, 0.0, 1.0))
        if len(ranked) == 1:
            exact = any(m.kind == EXACT for m in kept)
            confidence = (0.75 if exact else 0.6) + 0.2 * support
        else:
            lead = float(np.clip((score(chosen) - score(ranked[1])) / 0.3, 0.0, 1.0))
            confidence = 0.45 + 0.1 * support + 0.1 * lead
        return ProductMatch(self.products[chosen].id, round(confidence, 4), "alias")
