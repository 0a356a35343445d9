"""The simulator's world generator: believable, varied EN/ES posts about one brand.

Tesoro's collectors, filters, scorers and curators are all exercised against the
simulator, so the world has to contain what a real social-listening feed contains,
in roughly the same proportions: genuine user-generated content worth curating
(reviews, unboxings, tutorials, testimonials, photo and video posts), the noise a
curator must see through (complaints, questions, memes, comparisons), and the
junk a filter must drop (bots with duplicated spam, link farms, crypto and fake
giveaways, and posts that use the brand's name for something else entirely).

Design:

- **Templates are data.** Every kind has, per language and per mode (about a product
  or about the brand), a sequence of phrase pools in `simulator/data/templates.toml`;
  a post picks one phrase from each pool and joins them. Phrases contain `{slots}`
  that are resolved lazily per post (`slots.py`): product mentions, pros and cons from
  the product line's own vocabulary (`data/lines.toml`), places, distances, prices,
  competitors, mentions of the brand's handle. Thousands of combinations per kind,
  before slot values, keep 10,000 posts from reading like 30.
- **Spanish is written, not translated.** The Spanish pools are their own sentences,
  with grammatical agreement handled by slots (`{el}`, `{o}`, `{n}`, `{es}`) so that
  "las zapatillas" and "la chaqueta" both read naturally.
- **Authors are a stable pool per platform** (`authors.py`), derived from the spec's
  seed only, with a few advocates who post again and again on every platform.
- **Deterministic.** Everything per post comes from the caller's `rng`; the author pool
  comes from `spec.seed`; the only memory (recent root posts, to answer with replies,
  `replies.py`) is kept per `rng` object. Same seed, same world.
- **Fast.** Specs are compiled once (cached, `compiled.py`) and the per-post work is a
  handful of random draws and string formats: well over 20,000 posts per second.

Modules: `posts` (generate_post), `mix` (kinds and their proportions per platform),
`vocabulary` (the data files, parsed once), `compiled`, `authors`, `slots`, `media`,
`engagement`, `replies`, `draw` (the fast random pick).
"""

from __future__ import annotations

from tesoro.simulator.generator.media import bluesky_did, youtube_video_id
from tesoro.simulator.generator.mix import KIND_WEIGHTS, KINDS
from tesoro.simulator.generator.posts import generate_post

__all__ = ["KINDS", "KIND_WEIGHTS", "bluesky_did", "generate_post", "youtube_video_id"]
