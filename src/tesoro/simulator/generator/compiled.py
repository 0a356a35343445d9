"""A world's spec compiled once into what the per-post code needs: product forms, spam, kind odds.

Compiling is the slow part (string work per product, rendered spam, author pools built
on first use per platform); after it, a post is a handful of random draws and string
formats. Compiled specs are cached by value and found by identity first, because
hashing a `WorldSpec` on every post would cost more than making the post.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from tesoro.simulator.generator.authors import AuthorPool, build_pool
from tesoro.simulator.generator.draw import strip_accents
from tesoro.simulator.generator.mix import kind_cumulative
from tesoro.simulator.generator.vocabulary import Line, Vocabulary, vocabulary
from tesoro.simulator.model import PLATFORMS, VIDEO_PLATFORMS, ProductSpec, WorldSpec

__all__ = ["CompiledSpec", "ProductCtx", "compiled"]


@dataclass(frozen=True, slots=True)
class ProductCtx:
    """One product (or the brand as a whole, with `spec` None) and the words that go with it."""

    spec: ProductSpec | None
    line: Line
    static: dict[str, dict[str, str]]  # lang -> slot values that never change for this product
    forms: dict[str, tuple[str, ...]]  # lang -> ways people write the product's name


@dataclass(slots=True)
class CompiledSpec:
    """Everything about a spec the per-post code needs, computed once."""

    spec: WorldSpec
    words: Vocabulary
    products: tuple[ProductCtx, ...]
    brand_ctx: ProductCtx
    spam: dict[str, tuple[str, ...]]  # lang -> fully rendered spam texts (exact duplicates by design)
    first: str
    alias_words: tuple[str, ...]
    competitors: tuple[str, ...]
    subreddits: tuple[str, ...]
    brand_tags: tuple[str, ...]
    kind_cum: dict[str, tuple[float, ...]]
    pools: dict[str, AuthorPool] = field(default_factory=dict)

    def pool(self, platform: str) -> AuthorPool:
        """The authors of `platform`, built on first use."""
        pool = self.pools.get(platform)
        if pool is None:
            pool = self.pools[platform] = build_pool(self.spec.seed, platform)
        return pool


def _grammar(name: str, en_noun: str, line: Line) -> dict[str, dict[str, str]]:
    """The slot values that make a sentence agree with the product: "they are" / "las zapatillas"."""
    plural = line.en_plural
    es_fem, es_pl = line.es_fem, line.es_plural
    art = ("las" if es_fem else "los") if es_pl else ("la" if es_fem else "el")
    return {
        "en": {
            "name": name,
            "noun": en_noun,
            "it": "they" if plural else "it",
            "is": "are" if plural else "is",
            "does": "do" if plural else "does",
            "has": "have" if plural else "has",
            "them": "them" if plural else "it",
            "its": "their" if plural else "its",
            "s": "" if plural else "s",
        },
        "es": {
            "name": name,
            "el": art,
            "lo": {"el": "lo", "la": "la", "los": "los", "las": "las"}[art],
            "o": ("a" if es_fem else "o") + ("s" if es_pl else ""),
            "n": "n" if es_pl else "",
            "es": "son" if es_pl else "es",
            "ha": "han" if es_pl else "ha",
        },
    }


def _product_ctx(spec: WorldSpec, product: ProductSpec | None, words: Vocabulary) -> ProductCtx:
    line = words.lines.get((product.line or "").casefold(), words.generic) if product else words.generic
    name = product.name if product else spec.brand
    aliases = (product.aliases if product else ()) or (name,)
    en_noun = line.en_noun or name.split()[-1].casefold()
    plural = line.en_plural

    def many(word: str) -> str:
        # People say "my Cumbres" for shoes; a name already ending in s stays as it is.
        return word + "s" if plural and not word.endswith("s") else word

    if product:
        titled = tuple(alias.title() for alias in aliases)
        en_forms = (
            many(name),
            many(name),
            *(many(t) for t in titled),
            *(many(a) for a in aliases),
            *(f"{spec.brand} {many(t)}" for t in titled),
        )
        es_forms = (name, name, *titled, *(f"{noun} {t}" for noun in line.es_noun for t in titled))
    else:
        en_forms = es_forms = (spec.brand,)
    return ProductCtx(product, line, _grammar(name, en_noun, line), {"en": en_forms, "es": es_forms})


def _plural_noun(line: Line, lang: str) -> str:
    """'500 free {noun_any}' in spam: the line's noun in the plural, or a catch-all."""
    if lang == "en":
        if not line.en_noun:
            return "gifts"
        return line.en_noun if line.en_plural else line.en_noun + "s"
    return line.es_noun[0] if line.es_plural else line.es_noun[0] + "s"


def _spam(
    spec: WorldSpec, handle: str, products: tuple[ProductCtx, ...], words: Vocabulary
) -> dict[str, tuple[str, ...]]:
    """Every spam text of the world, rendered once: bots repeat each other word for word."""
    tag = spec.hashtags[0] if spec.hashtags else handle
    links = (
        f"https://{handle}-outlet.shop/sale",
        f"https://bit.ly/3{handle[:3]}Dx9",
        f"https://claim-{handle}.xyz/w",
        f"https://cheap{handle}.store",
        f"https://{handle}-deals.top/?ref=88",
    )
    spam: dict[str, tuple[str, ...]] = {}
    for lang, templates in words.spam.items():
        rendered: list[str] = []
        for i, template in enumerate(templates):
            ctx = products[i % len(products)]
            values = {
                "brand": spec.brand,
                "name": ctx.static[lang]["name"],
                "tag": tag,
                "coin": handle[:4].upper(),
                "noun_any": _plural_noun(ctx.line, lang),
            }
            # Two link variants per template: enough for exact duplicates across accounts, with some variety.
            for shift in (0, 1):
                rendered.append(
                    template.format(
                        link=links[(i + shift) % 5],
                        link2=links[(i + shift + 1) % 5],
                        link3=links[(i + shift + 2) % 5],
                        **values,
                    )
                )
        spam[lang] = tuple(rendered)
    return spam


def _compile(spec: WorldSpec) -> CompiledSpec:
    words = vocabulary()
    handle = spec.handle or strip_accents(spec.brand).replace(" ", "").casefold()
    brand_ctx = _product_ctx(spec, None, words)
    products = tuple(_product_ctx(spec, p, words) for p in spec.products) or (brand_ctx,)
    alias_words = tuple(
        dict.fromkeys(a.split()[0].casefold() for p in spec.products for a in (p.aliases or (p.name,)))
    )
    return CompiledSpec(
        spec=spec,
        words=words,
        products=products,
        brand_ctx=brand_ctx,
        spam=_spam(spec, handle, products, words),
        first=spec.brand.split()[0] if spec.brand.split() else spec.brand,
        alias_words=alias_words or (handle,),
        competitors=spec.competitors or words.fallback_competitors,
        subreddits=spec.subreddits or (handle,),
        brand_tags=spec.hashtags,
        kind_cum={platform: kind_cumulative(platform) for platform in (*PLATFORMS, *VIDEO_PLATFORMS, "")},
    )


@lru_cache(maxsize=32)
def _compile_cached(spec: WorldSpec) -> CompiledSpec:
    return _compile(spec)


_BY_ID: dict[int, CompiledSpec] = {}


def compiled(spec: WorldSpec) -> CompiledSpec:
    """The compiled spec, found by identity first: hashing a WorldSpec on every post would be slow."""
    hit = _BY_ID.get(id(spec))
    if hit is not None and hit.spec is spec:
        return hit
    result = _compile_cached(spec)
    if len(_BY_ID) > 64:
        _BY_ID.clear()
    _BY_ID[id(spec)] = result  # the compiled object keeps `spec` alive, so its id cannot be reused
    return result
