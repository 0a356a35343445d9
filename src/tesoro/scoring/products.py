"""Which configured product a post is about, with a confidence; none when unsure.

Aliases are precise when they fire (a coordinator wrote them), so an alias hit
decides; a hit nested in a longer one loses ("cumbre trail 2" over "cumbre"), and
when several products are named the embedding picks the one the post is most
about (with a lower confidence). Without an alias,
the post's embedding must be clearly closer to one product's name+description
than to any other (an absolute threshold and a margin over the runner-up);
otherwise the answer is None, because a wrong product tag in the library is
worse than a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tesoro.scoring.encoder import Encoder
from tesoro.scoring.text import contains_phrase, padded_words

__all__ = ["ProductMatch", "ProductMatcher", "ProductRef"]

FloatArray = npt.NDArray[np.float32]


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


class ProductMatcher:
    """Matches posts to products; build once per scoring run (it embeds the product profiles)."""

    def __init__(
        self,
        products: Sequence[ProductRef],
        encoder: Encoder | None = None,
        *,
        profile_embeddings: FloatArray | None = None,
        min_similarity: float = 0.45,
        min_margin: float = 0.05,
    ) -> None:
        self.products = tuple(products)
        if profile_embeddings is None:
            if encoder is None:
                raise ValueError("give an encoder or the profile embeddings")
            profile_embeddings = encoder.encode([p.profile for p in self.products])
        self.embeddings = profile_embeddings
        self.min_similarity = min_similarity
        self.min_margin = min_margin
        # Most specific first: more words, then more characters, then alphabetical. The full key
        # matters: with ties left to set order (which follows Python's per-process string hashing),
        # "iphone app store" could record "app store" or "iphone app" run by run, and only the
        # latter makes the nested "iphone" hit of another product lose.
        self._names = [
            sorted(
                {p.name, *p.aliases},
                key=lambda alias: (-len(padded_words(alias).split()), -len(padded_words(alias)), alias),
            )
            for p in self.products
        ]

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
        padded = padded_words(text)
        found: list[tuple[int, str]] = []  # (product index, matched alias as padded words)
        for i in allowed:
            for alias in self._names[i]:
                if contains_phrase(padded, alias):
                    found.append((i, padded_words(alias)))
                    break  # aliases are longest first: the first hit is this product's most specific
        # A hit nested inside another hit ("cumbre" inside "cumbre trail 2", "android" inside
        # "android app") is the less specific reading of the same words: drop it.
        hits = sorted(
            {i for i, alias in found if not any(alias != other and alias in other for _, other in found)}
        )
        if hits:
            chosen = max(hits, key=lambda i: float(sims[i]))
            support = float(np.clip((sims[chosen] - 0.1) / 0.5, 0.0, 1.0))
            confidence = 0.75 + 0.2 * support if len(hits) == 1 else 0.5 + 0.2 * support
            return ProductMatch(self.products[chosen].id, round(confidence, 4), "alias")
        ranked = sorted(allowed, key=lambda i: -float(sims[i]))
        top = float(sims[ranked[0]])
        runner_up = float(sims[ranked[1]]) if len(ranked) > 1 else -1.0
        if top < self.min_similarity or top - runner_up < self.min_margin:
            return NO_MATCH
        confidence = float(np.clip(0.5 + (top - self.min_similarity) * 1.6, 0.5, 0.9))
        return ProductMatch(self.products[ranked[0]].id, round(confidence, 4), "embedding")
