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
  or about the brand), a sequence of phrase pools; a post picks one phrase from each
  pool and joins them. Phrases contain `{slots}` that are resolved lazily per post
  (`_Slots`): product mentions, pros and cons from the product line's own vocabulary,
  places, distances, prices, competitors, mentions of the brand's handle. Thousands of
  combinations per kind, before slot values, keep 10,000 posts from reading like 30.
- **Spanish is written, not translated.** The Spanish pools are their own sentences,
  with grammatical agreement handled by slots (`{el}`, `{o}`, `{n}`, `{es}`) so that
  "las zapatillas" and "la chaqueta" both read naturally.
- **Authors are a stable pool per platform** (a few hundred people, bots, news and job
  accounts, and a handful of 100k-5M-follower accounts), derived from the spec's seed
  only, so a given person is the same `SimAuthor` in every post. The first people of
  the pool are advocates: Zipf weights make them post again and again, and they exist
  on every platform, which gives relationship scores something to find.
- **Deterministic.** Everything per post comes from the caller's `rng`; the author pool
  comes from `spec.seed`; the only memory (recent root posts, to answer with replies)
  is kept per `rng` object. Same seed, same world.
- **Fast.** Specs are compiled once (cached) and the per-post work is a handful of
  random draws and string formats: well over 20,000 posts per second.

Kinds and their base proportions (per platform they are nudged: more questions on
Reddit, more spam on X, less on Mastodon) are in `KIND_WEIGHTS`.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import threading
import unicodedata
import weakref
from bisect import bisect
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import accumulate
from typing import TypeVar
from urllib.parse import quote

from tesoro.simulator.world import (
    BSKY_MEDIA_HOST,
    PLATFORMS,
    ProductSpec,
    SimAuthor,
    SimMedia,
    SimPost,
    WorldSpec,
)

__all__ = ["KINDS", "KIND_WEIGHTS", "bluesky_did", "generate_post"]

# --------------------------------------------------------------------------- kinds and proportions

# Base share of each kind, in percent. UGC worth curating is a minority, as in real feeds.
KIND_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("review", 18.0),
    ("photo", 10.0),
    ("video", 8.0),
    ("unboxing", 7.0),
    ("tutorial", 7.0),
    ("testimonial", 8.0),
    ("complaint", 8.0),
    ("question", 9.0),
    ("meme", 5.0),
    ("comparison", 6.0),
    ("spam", 8.0),
    ("offtopic", 6.0),
)
KINDS: tuple[str, ...] = tuple(kind for kind, _ in KIND_WEIGHTS)

# Each platform's culture shifts the mix a little.
_PLATFORM_KIND_FACTORS: dict[str, dict[str, float]] = {
    "x": {"spam": 1.4, "meme": 1.2, "tutorial": 0.8},
    "reddit": {"spam": 0.5, "question": 1.7, "photo": 0.7, "review": 1.2, "comparison": 1.3},
    "bluesky": {"spam": 0.7, "photo": 1.2},
    "mastodon": {"spam": 0.4, "photo": 1.3, "offtopic": 1.2},
}
_SPANISH_SHARE = 0.30
_TEXT_LIMITS = {"x": 280, "bluesky": 300, "mastodon": 500, "reddit": 4000}
# Chance that a post carries the brand's own hashtag; Mastodon lives on hashtags, Reddit ignores them.
_BRAND_TAG_CHANCE = {"x": 0.45, "bluesky": 0.35, "mastodon": 0.8, "reddit": 0.04}
_TOPIC_TAGS_MAX = {"x": 2, "bluesky": 1, "mastodon": 3, "reddit": 0}
_ALT_TEXT_CHANCE = {"x": 0.2, "bluesky": 0.5, "mastodon": 0.85, "reddit": 0.0}
# Kinds that may be a reply to an earlier post, and how often.
_REPLY_CHANCE = {
    "review": 0.08,
    "testimonial": 0.15,
    "complaint": 0.12,
    "question": 0.15,
    "comparison": 0.15,
    "meme": 0.12,
    "spam": 0.25,
}
# Relative engagement per kind (multiplies a followers-driven base).
_ENGAGEMENT = {
    "review": 1.0,
    "photo": 1.6,
    "video": 2.2,
    "unboxing": 1.3,
    "tutorial": 1.5,
    "testimonial": 0.9,
    "complaint": 0.8,
    "question": 0.5,
    "meme": 2.5,
    "comparison": 1.1,
    "spam": 0.05,
    "offtopic": 0.7,
}
# Overall engagement scale per platform: the fediverse is quieter than X for the same audience.
_PLATFORM_ENGAGEMENT = {"x": 0.06, "bluesky": 0.04, "mastodon": 0.025, "reddit": 0.06}
# (chance of photos, chance of a video) per kind; the rest carry no media.
_MEDIA_PLAN = {
    "review": (0.30, 0.10),
    "photo": (1.0, 0.0),
    "video": (0.0, 1.0),
    "unboxing": (0.60, 0.30),
    "tutorial": (0.20, 0.50),
    "testimonial": (0.15, 0.0),
    "complaint": (0.25, 0.0),
    "question": (0.10, 0.0),
    "meme": (0.85, 0.0),
    "comparison": (0.30, 0.05),
    "spam": (0.30, 0.0),
    "offtopic": (0.20, 0.0),
}
# Kinds where a post can be about the brand rather than one product, with the chance it is about a product.
_PRODUCT_CHANCE = {"testimonial": 0.6, "complaint": 0.6, "question": 0.75, "meme": 0.6}
# Kinds a 100k+ account plausibly posts.
_CELEB_KINDS = frozenset({"review", "video", "tutorial", "photo", "unboxing", "comparison"})
_CELEB_CHANCE = 0.05

# --------------------------------------------------------------------------- product-line vocabulary


@dataclass(frozen=True, slots=True)
class _Line:
    """What people say about one product line, in each language."""

    en_noun: str
    en_plural: bool
    es_noun: tuple[str, ...]  # synonyms (regional variants), same gender and number
    es_fem: bool
    es_plural: bool
    pros: dict[str, tuple[str, ...]]
    cons: dict[str, tuple[str, ...]]
    uses: dict[str, tuple[str, ...]]
    tips: dict[str, tuple[str, ...]]
    places: dict[str, tuple[str, ...]]
    sizes: dict[str, tuple[str, ...]]
    looks: dict[str, tuple[str, ...]]  # first impressions, before any use (unboxings)
    usage: dict[str, tuple[str, ...]]  # how much it has been used: 'after {usage}'
    tags: dict[str, tuple[str, ...]]


_OUTDOOR_PLACES: dict[str, tuple[str, ...]] = {
    "en": (
        "Torres del Paine",
        "the Cajón del Maipo",
        "Picos de Europa",
        "the Dolomites",
        "Mount Tamalpais",
        "the Lake District",
        "the Rockies",
        "Ausangate",
        "the Pyrenees",
        "Zion",
        "the Cascades",
        "Snowdon",
    ),
    "es": (
        "Torres del Paine",
        "el Cajón del Maipo",
        "Picos de Europa",
        "la Sierra de Guadarrama",
        "el Aconcagua",
        "Sierra Nevada",
        "el Nevado de Toluca",
        "los Pirineos",
        "el Valle del Cocora",
        "Montserrat",
        "el Fitz Roy",
        "la Quebrada de Humahuaca",
    ),
}

_FOOTWEAR = _Line(
    en_noun="shoes",
    en_plural=True,
    es_noun=("zapatillas",),
    es_fem=True,
    es_plural=True,
    pros={
        "en": (
            "the grip on wet rock is honestly unreal",
            "zero blisters, even on the long descents",
            "{it} drain{s} fast after river crossings",
            "the cushioning still feels fresh after {km} km",
            "the toe box finally gives my toes some room",
            "{it} {is} light enough that I forget I have {them} on",
            "the lugs bite into mud like nothing I've tried",
            "the heel lock is perfect, no slipping on climbs",
            "{it} felt good straight out of the box, no break-in at all",
            "the rock plate saved my feet on the scree",
            "the laces actually stay tied",
        ),
        "es": (
            "el agarre en roca mojada es una locura",
            "ni una ampolla, ni siquiera en las bajadas largas",
            "secan rapidísimo después de cruzar un río",
            "la amortiguación sigue como el primer día después de {km} km",
            "por fin una horma con sitio para los dedos",
            "pesan tan poco que te olvidas de que las llevas",
            "los tacos se agarran al barro como ninguna que haya probado",
            "el talón queda firme, cero deslizamiento en las subidas",
            "desde el primer día son cómodas, sin periodo de adaptación",
            "la placa protectora me salvó en la pedrera",
            "los cordones no se desatan nunca",
        ),
    },
    cons={
        "en": (
            "the outsole started peeling after {km} km",
            "the laces keep coming undone",
            "sizing runs half a size small",
            "the upper ripped near the pinky toe",
            "the foam went flat way too fast",
            "{it} {is} slippery on wet roots",
            "the tongue slides to the side on every run",
            "the heel counter rubs my achilles raw",
        ),
        "es": (
            "la suela se empezó a despegar a los {km} km",
            "los cordones se desatan solos",
            "ojo, la talla viene pequeña: mejor pedir media más",
            "se rompió la malla a la altura del dedo chico",
            "la espuma se aplastó demasiado pronto",
            "resbalan muchísimo en raíces mojadas",
            "la lengüeta se va para el lado en cada salida",
            "el contrafuerte me destroza el tendón de Aquiles",
        ),
    },
    uses={
        "en": (
            "on a muddy 25k",
            "on my first ultra",
            "on the Sunday long run",
            "on a rainy trail race",
            "doing hill repeats",
            "on a three-day trek",
            "on technical singletrack",
            "on daily road-to-trail miles",
        ),
        "es": (
            "en un 25k lleno de barro",
            "en mi primer ultra",
            "en la tirada larga del domingo",
            "en una carrera con lluvia",
            "haciendo cuestas",
            "en un trekking de tres días",
            "en senderos técnicos",
            "mezclando asfalto y tierra a diario",
        ),
    },
    tips={
        "en": (
            "use a heel-lock lacing so your heel stops slipping",
            "rinse the mud off with cold water and never put them in the dryer",
            "stuff them with newspaper overnight so they dry without warping",
            "rotate two pairs so the foam recovers between runs",
            "swap the stock insoles if you need more arch support",
            "loosen the forefoot laces before long downhills so your toes don't bang",
            "check the lugs every 300 km and retire them once they're worn flat",
        ),
        "es": (
            "usa la lazada de talón para que el pie no baile",
            "quítales el barro con agua fría y nunca las metas en la secadora",
            "rellénalas con papel de periódico para que sequen sin deformarse",
            "alterna dos pares para que la espuma se recupere",
            "cambia las plantillas si necesitas más sujeción en el arco",
            "afloja los cordones de la punta antes de una bajada larga",
            "revisa los tacos cada 300 km y jubílalas cuando estén lisas",
        ),
    },
    places=_OUTDOOR_PLACES,
    sizes={
        "en": ("a US 9", "a US 10.5", "EU 42", "a UK 8", "EU 39"),
        "es": ("un 42", "un 38", "un 44", "la 40", "un 41 y medio"),
    },
    looks={
        "en": (
            "the upper feels really solid",
            "{it} {is} lighter than I expected",
            "the lugs look properly aggressive",
            "the stitching is super clean",
            "the colourway is even louder in person",
        ),
        "es": (
            "la malla se nota resistente",
            "pesan menos de lo que esperaba",
            "los tacos tienen pinta de agarrar muchísimo",
            "las costuras están impecables",
            "el color es todavía más llamativo en persona",
        ),
    },
    usage={
        "en": ("{km} km", "{km} km", "{weeks} weeks of running", "{count} runs"),
        "es": ("{km} km", "{km} km", "{weeks} semanas corriendo", "{count} salidas"),
    },
    tags={
        "en": ("trailrunning", "running", "ultrarunning", "runnersofinstagram"),
        "es": ("trailrunning", "correrenmontaña", "running", "trail"),
    },
)

_APPAREL = _Line(
    en_noun="jacket",
    en_plural=False,
    es_noun=("chaqueta", "campera", "chamarra"),
    es_fem=True,
    es_plural=False,
    pros={
        "en": (
            "{it} kept me dry through four hours of sideways rain",
            "the hood actually moves with my head",
            "the pit zips make a huge difference on climbs",
            "{it} packs down into {its} own pocket",
            "{it} breathes way better than my old shell",
            "the cuffs seal properly over gloves",
            "the zipper glides even with frozen fingers",
            "there's room for a fleece underneath",
        ),
        "es": (
            "no entró ni una gota en cuatro horas de lluvia de lado",
            "la capucha se mueve con la cabeza de verdad",
            "las cremalleras de ventilación se notan un montón en las subidas",
            "se guarda en su propio bolsillo",
            "transpira muchísimo mejor que la que tenía antes",
            "los puños cierran bien por encima de los guantes",
            "la cremallera corre fácil incluso con las manos heladas",
            "queda sitio para un polar debajo",
        ),
    },
    cons={
        "en": (
            "the zipper split on the second outing",
            "the DWR wore off after a few washes",
            "{it} wets out at the shoulders under a pack",
            "the seam tape is already peeling",
            "the hood blows off in any real wind",
            "the sleeves are weirdly short",
            "{it} feels like wearing a plastic bag on climbs",
        ),
        "es": (
            "la cremallera se abrió en la segunda salida",
            "el tratamiento repelente se fue a los pocos lavados",
            "se empapa en los hombros en cuanto llevo mochila",
            "ya se está despegando la cinta de las costuras",
            "la capucha se vuela con cualquier viento",
            "las mangas son rarísimamente cortas",
            "en las subidas es como llevar una bolsa de plástico",
        ),
    },
    uses={
        "en": (
            "on a stormy ridge walk",
            "commuting by bike in November",
            "on a wet week in Scotland",
            "on a rainy summit day",
            "walking the dog at 6 am",
            "on a windy coastal trail",
        ),
        "es": (
            "en una cresta con tormenta",
            "yendo en bici al trabajo en pleno invierno",
            "en una semana de lluvia en Galicia",
            "en un día de cumbre con lluvia",
            "sacando al perro a las 6 de la mañana",
            "por un sendero costero con mucho viento",
        ),
    },
    tips={
        "en": (
            "wash it with a tech wash, not regular detergent, or the membrane clogs",
            "tumble dry it on low for 20 minutes to bring the water repellency back",
            "close every zip and velcro tab before washing",
            "re-proof it with a spray-on treatment once water stops beading",
            "layer a thin fleece underneath, never cotton",
            "roll the hood into the collar when you don't need it",
        ),
        "es": (
            "lávala con jabón técnico, nunca con detergente normal, o se tapa la membrana",
            "sécala en secadora a baja temperatura 20 minutos para reactivar el repelente",
            "cierra todas las cremalleras y los velcros antes de lavarla",
            "reimpermeabilízala con un spray cuando el agua deje de hacer gotitas",
            "debajo, una capa técnica o un polar fino, nunca algodón",
            "enrolla la capucha dentro del cuello cuando no la necesites",
        ),
    },
    places=_OUTDOOR_PLACES,
    sizes={"en": ("a medium", "a large", "a small", "an XL"), "es": ("una M", "una L", "una S", "una XL")},
    looks={
        "en": (
            "the fabric feels tough but soft",
            "{it} {is} lighter than I expected",
            "the zips feel premium",
            "the hood has a proper stiff brim",
            "the colour is gorgeous",
        ),
        "es": (
            "la tela se nota resistente pero suave",
            "pesa menos de lo que esperaba",
            "las cremalleras se notan de calidad",
            "la visera de la capucha es rígida, como debe ser",
            "el color es precioso",
        ),
    },
    usage={
        "en": ("{count} outings", "{weeks} weeks of rain", "a whole winter", "{months} months"),
        "es": ("{count} salidas", "{weeks} semanas de lluvia", "todo un invierno", "{months} meses"),
    },
    tags={
        "en": ("hiking", "outdoors", "rainjacket", "getoutside"),
        "es": ("senderismo", "montaña", "outdoor", "trekking"),
    },
)

_PACKS = _Line(
    en_noun="pack",
    en_plural=False,
    es_noun=("mochila",),
    es_fem=True,
    es_plural=False,
    pros={
        "en": (
            "the hip belt takes almost all the weight off my shoulders",
            "the side pockets are reachable without taking {them} off",
            "40 liters was exactly right for a hut-to-hut trip",
            "the back panel keeps some air flowing",
            "{it} carried 12 kilos without a single hot spot",
            "the lid pocket fits everything I need during the day",
            "the hydration sleeve actually fits a 3L bladder",
            "the compression straps keep the load from shifting",
        ),
        "es": (
            "el cinturón lumbar se lleva casi todo el peso",
            "los bolsillos laterales se alcanzan sin quitártela",
            "40 litros fue justo lo que necesitaba para ir de refugio en refugio",
            "el panel trasero deja que corra algo de aire",
            "cargué 12 kilos sin una sola rozadura",
            "en el bolsillo de la tapa cabe todo lo que uso durante el día",
            "la funda de hidratación sí que admite una bolsa de 3 litros",
            "las correas de compresión evitan que la carga se mueva",
        ),
    },
    cons={
        "en": (
            "a shoulder strap buckle snapped on day two",
            "the main zip jams every single time",
            "the hip belt pockets are too small for a phone",
            "the fabric is already fraying at the bottom",
            "the rain cover is sold separately, which feels cheap",
            "the back panel leaves me soaked in sweat",
        ),
        "es": (
            "se rompió una hebilla del tirante al segundo día",
            "la cremallera principal se atasca siempre",
            "los bolsillos del cinturón son demasiado pequeños para el móvil",
            "la tela ya se está deshilachando por abajo",
            "el cubremochilas se vende aparte, qué tacañería",
            "la espalda acaba empapada en sudor",
        ),
    },
    uses={
        "en": (
            "on a hut-to-hut trip",
            "on an overnight in the mountains",
            "as my daily commuter",
            "on a week of hostel hopping",
            "on a fastpacking weekend",
            "on a summit push",
        ),
        "es": (
            "en una travesía de refugio en refugio",
            "en una noche de vivac",
            "como mochila de diario",
            "en una semana de albergue en albergue",
            "en un fin de semana de fastpacking",
            "en un ataque a cumbre",
        ),
    },
    tips={
        "en": (
            "put the heavy stuff close to your back and at shoulder height",
            "tighten the hip belt first, then the shoulder straps, then the load lifters",
            "line it with a trash compactor bag for a cheap waterproof liner",
            "adjust the torso length before you load it",
            "keep snacks and the map in the hip belt pockets so you never have to stop",
            "loosen the load lifters a little on long descents",
        ),
        "es": (
            "lo pesado, pegado a la espalda y a la altura de los hombros",
            "ajusta primero el cinturón, luego los tirantes y al final los tensores de carga",
            "fórrala por dentro con una bolsa de basura gruesa: impermeable y barata",
            "regula el largo de espalda antes de cargarla",
            "lleva el picoteo y el mapa en los bolsillos del cinturón para no tener que parar",
            "afloja un poco los tensores en las bajadas largas",
        ),
    },
    places=_OUTDOOR_PLACES,
    sizes={
        "en": ("the M/L", "the S/M", "the long torso version"),
        "es": ("la M/L", "la S/M", "la talla larga"),
    },
    looks={
        "en": (
            "the fabric feels bombproof",
            "the buckles feel solid",
            "there are pockets everywhere",
            "{it} {is} lighter than I expected",
            "the back panel looks really well padded",
        ),
        "es": (
            "la tela parece indestructible",
            "las hebillas se notan robustas",
            "tiene bolsillos por todas partes",
            "pesa menos de lo que esperaba",
            "el panel trasero viene muy bien acolchado",
        ),
    },
    usage={
        "en": ("{count} trips", "{km} km of trail", "{months} months of commuting", "{count} nights out"),
        "es": (
            "{count} salidas",
            "{km} km de sendero",
            "{months} meses de uso diario",
            "{count} noches fuera",
        ),
    },
    tags={
        "en": ("backpacking", "hiking", "thruhike", "fastpacking"),
        "es": ("mochileros", "senderismo", "trekking", "montaña"),
    },
)

# For product lines the generator has no vocabulary for: praise and gripes that fit anything.
_GENERIC = _Line(
    en_noun="",
    en_plural=False,
    es_noun=("producto",),
    es_fem=False,
    es_plural=False,
    pros={
        "en": (
            "the build quality is way better than the price suggests",
            "{it} just works, every single day",
            "the details are really well thought out",
            "{it} looks even better in person",
            "setup took two minutes",
            "{it} still looks new after {months} months",
        ),
        "es": (
            "la calidad es muy superior a lo que cuesta",
            "funciona sin más, todos los días",
            "los detalles están muy bien pensados",
            "en persona es todavía más bonito",
            "se monta en dos minutos",
            "después de {months} meses sigue como nuevo",
        ),
    },
    cons={
        "en": (
            "{it} broke after {weeks} weeks",
            "the finish scratches way too easily",
            "{it}'s not worth what they charge",
            "the instructions are useless",
        ),
        "es": (
            "se rompió a las {weeks} semanas",
            "el acabado se raya con nada",
            "no vale lo que cuesta",
            "las instrucciones no sirven para nada",
        ),
    },
    uses={
        "en": ("every day for a month", "on a weekend trip", "at work", "around the house"),
        "es": ("a diario durante un mes", "en una escapada de fin de semana", "en el trabajo", "en casa"),
    },
    tips={
        "en": (
            "read the care label before the first wash",
            "register it for the extended warranty",
            "keep the box for the first month, just in case",
            "clean it with a dry cloth, nothing else",
        ),
        "es": (
            "lee la etiqueta de cuidados antes del primer lavado",
            "regístralo para ampliar la garantía",
            "guarda la caja el primer mes, por si acaso",
            "límpialo con un paño seco y nada más",
        ),
    },
    places={
        "en": ("my desk", "the kitchen", "the office", "the park"),
        "es": ("mi escritorio", "la cocina", "la oficina", "el parque"),
    },
    sizes={"en": ("the standard version",), "es": ("la versión estándar",)},
    looks={
        "en": ("the finish looks premium", "{it} {is} smaller than I expected", "{it} feels really solid"),
        "es": ("el acabado se ve de calidad", "es más pequeño de lo que esperaba", "se nota muy sólido"),
    },
    usage={
        "en": ("{weeks} weeks", "{months} months", "a month of daily use"),
        "es": ("{weeks} semanas", "{months} meses", "un mes de uso diario"),
    },
    tags={"en": ("newin", "lovethis"), "es": ("novedades", "recomendado")},
)

_LINES: dict[str, _Line] = {
    "footwear": _FOOTWEAR,
    "shoes": _FOOTWEAR,
    "shoe": _FOOTWEAR,
    "running": _FOOTWEAR,
    "boots": _FOOTWEAR,
    "apparel": _APPAREL,
    "clothing": _APPAREL,
    "jackets": _APPAREL,
    "outerwear": _APPAREL,
    "packs": _PACKS,
    "bags": _PACKS,
    "backpacks": _PACKS,
    "pack": _PACKS,
}

# --------------------------------------------------------------------------- post templates

# Each entry is a sequence of pools; one phrase is picked from each and the non-empty ones are joined.
# Keys: (kind, lang, mode) where mode is "p" (about a product) or "b" (about the brand).
_Parts = tuple[tuple[str, ...], ...]

_EN_REVIEW_POS: _Parts = (
    (
        "{weeks} weeks with the {prod} and I'm impressed.",
        "Quick review of the {prod} after {usage}:",
        "Okay, I finally have an opinion on the {prod}.",
        "Been testing the {prod} {use}.",
        "Honest take on my {prod} from {brand}:",
        "Not sponsored, just happy with my {prod}:",
        "Review time! {Prod}, {months} months in.",
        "I was skeptical about the {prod}. I was wrong.",
        "Took the {prod} out {use} last week.",
        "Long-term update on the {prod}:",
    ),
    (
        "{Pro}.",
        "{Pro}, and {pro2}.",
        "Highlights: {pro}; also {pro2}.",
        "What sold me: {pro}.",
        "{Pro}. On top of that, {pro2}.",
    ),
    (
        "",
        "",
        "Only nitpick: {con}.",
        "Not perfect: {con}, but I can live with that.",
        "Paid {price}, worth every cent.",
        "Got {them} on sale for {price}.",
        "Went with {size} and the fit is spot on.",
    ),
    (
        "Easily a {stars}/5.",
        "{stars}/5, would buy again.",
        "Highly recommend.",
        "This one's a keeper {emoji_pos}",
        "Best gear purchase I've made this year.",
        "Hidden gem, honestly.",
        "{brand} nailed it {emoji_pos}",
        "",
        "Ten out of ten, would suffer in {them} again.",
    ),
)
_EN_REVIEW_NEG: _Parts = (
    (
        "Really wanted to love the {prod}.",
        "{weeks} weeks in and the {prod} {is} already a letdown.",
        "Honest review: the {prod} {is} not it.",
        "Disappointed with my {prod} from {brand}.",
        "Warning before you buy the {prod}:",
        "Took the {prod} out {use}. Big mistake.",
        "Returned my {prod} today.",
    ),
    (
        "{Con}.",
        "{Con}, and {con2}.",
        "Problem one: {con}. Problem two: {con2}.",
        "{Con}. To be fair, {pro}, but that doesn't make up for it.",
    ),
    (
        "",
        "For {price} I expected a lot better.",
        "Customer service wants photos and a three-week wait.",
        "Support says it's 'normal wear'. After {usage}?",
        "Going back to my old {competitor} gear.",
    ),
    (
        "{stars}/5.",
        "Can't recommend {them}.",
        "Not buying {brand} again.",
        "Hard pass {emoji_neg}",
        "Save your money.",
        "",
    ),
)
_ES_REVIEW_POS: _Parts = (
    (
        "Llevo {weeks} semanas con {el} {prod} y no me arrepiento para nada.",
        "Reseña rápida de {el} {prod} después de {usage}:",
        "Bueno, ya tengo opinión sobre {el} {prod}.",
        "{El} {prod}, probad{o} {use}.",
        "Opinión sincera sobre {el} {prod} de {brand}:",
        "{El} {prod}, sin patrocinio, que conste:",
        "Tenía mis dudas con {el} {prod}. Me equivoqué.",
        "Actualización tras {months} meses con {el} {prod}:",
    ),
    ("{Pro}.", "{Pro} y, además, {pro2}.", "Lo mejor: {pro}.", "{Pro}. Y encima {pro2}."),
    (
        "",
        "",
        "Por ponerle una pega: {con}.",
        "No {es} perfect{o}: {con}, pero se puede vivir con ello.",
        "Pagué {price} y vale cada céntimo.",
        "{Lo} conseguí en oferta por {price}.",
        "Pedí {size} y la talla es perfecta.",
    ),
    (
        "Un {stars}/5 sin dudarlo.",
        "{stars}/5, repetiría.",
        "Muy recomendable.",
        "Un tesoro escondido, de verdad.",
        "{brand} la ha clavado {emoji_pos}",
        "Compra del año para mí.",
        "Bacán, de verdad {emoji_pos}",
        "Una pasada {emoji_pos}",
        "",
    ),
)
_ES_REVIEW_NEG: _Parts = (
    (
        "Tenía muchas ganas de que me gustara{n} {el} {prod}.",
        "{weeks} semanas y {el} {prod} ya me {ha} decepcionado.",
        "Reseña sincera: no recomiendo {el} {prod}.",
        "Ojo antes de comprar {el} {prod}:",
        "Saqué {el} {prod} {use}. Error.",
        "Hoy devolví {el} {prod}.",
    ),
    (
        "{Con}.",
        "{Con} y encima {con2}.",
        "Primer problema: {con}. Segundo: {con2}.",
        "{Con}. Para ser justos, {pro}, pero no compensa.",
    ),
    (
        "",
        "Por {price} esperaba mucho más.",
        "Atención al cliente me pide fotos y tres semanas de espera.",
        "Dicen que es 'desgaste normal'. ¿Después de {usage}?",
        "Vuelvo a lo de {competitor} de siempre.",
    ),
    (
        "{stars}/5.",
        "No {lo} recomiendo.",
        "No vuelvo a comprar {brand}.",
        "Qué decepción {emoji_neg}",
        "Mejor ahorrarse el dinero.",
        "",
    ),
)

_TEMPLATES: dict[tuple[str, str, str], _Parts] = {
    ("unboxing", "en", "p"): (
        (
            "Unboxing the {prod}! {emoji_box}",
            "Look what just arrived: the {prod} {emoji_box}",
            "Finally here! My {prod} from {brand} {emoji_box}",
            "Happy mail day: the {prod} finally showed up.",
            "Unboxing day {emoji_box} {brand} {prod}",
            "The courier came early today: {prod} unboxing.",
        ),
        (
            "First impressions: {look}.",
            "Packaging is 100% recycled cardboard, no plastic. Love that.",
            "Smaller box than I expected, but {look}.",
            "The colour is even better in person.",
            "Came with a handwritten thank-you note, nice touch.",
            "Went with {size} and it fits perfectly.",
        ),
        (
            "",
            "Taking {them} out {use} this weekend.",
            "Full review in a few weeks.",
            "Will report back after the first outing.",
            "Anyone else get the new colourway?",
        ),
    ),
    ("unboxing", "es", "p"): (
        (
            "¡Me llegó {el} {prod}! {emoji_box}",
            "Mirad lo que acaba de llegar: {el} {prod} {emoji_box}",
            "Unboxing de {el} {prod} de {brand} {emoji_box}",
            "Por fin en casa: {el} {prod}.",
            "Hoy toca unboxing {emoji_box} {brand} {prod}",
            "Llegó el paquete antes de lo previsto: {el} {prod}.",
        ),
        (
            "Primeras impresiones: {look}.",
            "Embalaje de cartón reciclado, nada de plástico. Punto a favor.",
            "La caja es más pequeña de lo que pensaba, pero {look}.",
            "El color es todavía más bonito en persona.",
            "Venía con una nota de agradecimiento escrita a mano, qué detalle.",
            "Pedí {size} y me queda perfecto.",
        ),
        (
            "",
            "Este finde {lo} estreno {use}.",
            "Reseña completa en unas semanas.",
            "Os cuento qué tal en la primera salida.",
            "¿Alguien más tiene el color nuevo?",
        ),
    ),
    ("tutorial", "en", "p"): (
        (
            "How to get the most out of your {prod} 🧵",
            "Quick tip for {prod} owners:",
            "Tutorial: caring for your {prod}.",
            "PSA for anyone with the {prod}:",
            "3 things I wish I knew when I got my {prod}:",
            "Mini how-to for the {prod}, since people keep asking:",
            "Step by step, how I set up my {prod}:",
        ),
        (
            "1) {Tip}. 2) {Tip2}. 3) {Tip3}.",
            "{Tip}.",
            "First, {tip}. Then {tip2}.",
            "Step 1: {tip}. Step 2: {tip2}.",
            "{Tip}. Also, {tip2}.",
        ),
        (
            "",
            "Full video on my channel.",
            "Works the same on the older models.",
            "Learned this from the staff at the {brand} store.",
            "Has already saved me a lot of money.",
        ),
        ("", "Hope it helps!", "Questions welcome below 👇", "Bookmark this one."),
    ),
    ("tutorial", "es", "p"): (
        (
            "Cómo sacarle partido a {el} {prod} 🧵",
            "Truco rápido si tienes {el} {prod}:",
            "Tutorial: cómo cuidar {el} {prod}.",
            "Aviso para quien tenga {el} {prod}:",
            "3 cosas que ojalá hubiera sabido cuando compré {el} {prod}:",
            "Mini tutorial de {el} {prod}, que me lo preguntáis mucho:",
            "Paso a paso, así preparo {el} {prod}:",
        ),
        (
            "1) {Tip}. 2) {Tip2}. 3) {Tip3}.",
            "{Tip}.",
            "Primero, {tip}. Después, {tip2}.",
            "Paso 1: {tip}. Paso 2: {tip2}.",
            "{Tip}. Y otra cosa: {tip2}.",
        ),
        (
            "",
            "Vídeo completo en mi canal.",
            "Sirve también para los modelos anteriores.",
            "Me lo enseñaron en la tienda de {brand}.",
            "Me ha ahorrado un dineral.",
        ),
        ("", "¡Espero que os sirva!", "Dudas, aquí abajo 👇", "Guárdalo para después."),
    ),
    ("testimonial", "en", "p"): (
        (
            "{Usage} later, my {prod} {is} still going strong.",
            "Story time about my {prod}.",
            "Can't say enough about the {prod}.",
            "My {prod} just survived another trip {use} and I had to share.",
            "Three years with my {prod} and counting.",
        ),
        ("{Pro}.", "{Pro}, and {pro2}.", "{Pro}. Honestly one of the best things I've bought."),
        (
            "That's how you keep a customer for life.",
            "Customer for life {emoji_pos}",
            "Brands like this are rare.",
            "This is why I keep recommending them.",
            "A real hidden gem.",
            "Thank you {mention}!",
        ),
    ),
    ("testimonial", "en", "b"): (
        (
            "Story time about {brand}.",
            "Can't say enough about {brand}.",
            "Shoutout to {brand}:",
            "Quick appreciation post for {brand}.",
        ),
        (
            "My zipper broke after two years and {brand} replaced the whole thing, no questions asked.",
            "I emailed support on a Sunday and had an answer within the hour.",
            "They repaired my old gear for free instead of trying to sell me new stuff.",
            "The store staff spent 40 minutes helping me find the right fit.",
            "Every piece I own from them has outlasted the competition.",
        ),
        (
            "That's how you keep a customer for life.",
            "Customer for life {emoji_pos}",
            "Brands like this are rare.",
            "This is why I keep recommending them.",
            "Thank you {mention}!",
        ),
    ),
    ("testimonial", "es", "p"): (
        (
            "Después de {usage}, {el} {prod} sigue{n} como el primer día.",
            "Lo de {el} {prod} hay que contarlo.",
            "No me canso de recomendar {el} {prod}.",
            "Vengo de una salida {use} con {el} {prod} y tengo que decirlo:",
            "Tres años con {el} {prod} y sumando.",
        ),
        ("{Pro}.", "{Pro} y {pro2}.", "{Pro}. De lo mejor que he comprado nunca."),
        (
            "Así se fideliza a un cliente.",
            "Cliente de por vida {emoji_pos}",
            "Marcas así quedan pocas.",
            "Por eso {lo} sigo recomendando.",
            "Un tesoro escondido.",
            "¡Gracias {mention}!",
        ),
    ),
    ("testimonial", "es", "b"): (
        (
            "Os cuento lo que me pasó con {brand}.",
            "No me canso de recomendar {brand}.",
            "Un aplauso para {brand}:",
            "Hilo de agradecimiento a {brand}.",
        ),
        (
            "Se me rompió la cremallera a los dos años y me cambiaron la prenda entera sin poner pegas.",
            "Escribí al soporte un domingo y en una hora ya tenía respuesta.",
            "Me repararon gratis el equipo viejo en lugar de intentar venderme uno nuevo.",
            "En la tienda estuvieron 40 minutos ayudándome a encontrar la talla.",
            "Todo lo que tengo de ellos ha durado más que lo de la competencia.",
        ),
        (
            "Así se fideliza a un cliente.",
            "Cliente de por vida {emoji_pos}",
            "Marcas así quedan pocas.",
            "Por eso los sigo recomendando.",
            "Un tesoro escondido de empresa.",
            "¡Gracias {mention}!",
        ),
    ),
    ("complaint", "en", "p"): (
        (
            "{mention} my {prod} fell apart after {weeks} weeks.",
            "Not happy with my {prod}.",
            "So the {prod} I paid {price} for...",
            "Second {prod} with the same defect. Really?",
            "{mention} is this normal for the {prod}?",
        ),
        (
            "{Con}.",
            "{Con}, and {con2}.",
            "Support wants me to pay for return shipping.",
            "Photo attached. This is after {usage}.",
            "Warranty claim denied because of 'user damage'. Sure.",
        ),
        (
            "",
            "{emoji_neg}",
            "Not impressed.",
            "Anyone else having this problem?",
            "Fix your quality control.",
        ),
    ),
    ("complaint", "en", "b"): (
        (
            "{mention} my order no. {order} still hasn't shipped after {days} days.",
            "Hey {mention}, three emails and no answer. What's going on?",
            "Ordered from {brand} {days} days ago and the tracking hasn't moved since.",
            "{brand} customer service is a black hole.",
            "Charged twice for one order, {mention}. Please fix this.",
        ),
        (
            "",
            "Nobody answers the chat.",
            "The bot just loops me back to the FAQ.",
            "At this point I just want a refund.",
            "Really disappointing from a brand I used to love.",
        ),
        ("", "{emoji_neg}", "Not impressed.", "Anyone else having this problem?"),
    ),
    ("complaint", "es", "p"): (
        (
            "{mention} a las {weeks} semanas, {el} {prod} ya estaba{n} destrozad{o}.",
            "Pagué {price} por {el} {prod} y mira.",
            "Segunda vez que me llega{n} {el} {prod} con el mismo defecto.",
            "Problema con {el} {prod}, {mention}.",
            "¿Es normal esto en {el} {prod}, {mention}?",
        ),
        (
            "{Con}.",
            "{Con} y encima {con2}.",
            "Atención al cliente quiere que pague yo el envío de la devolución.",
            "Foto adjunta. Así está después de {usage}.",
            "Me rechazan la garantía por 'mal uso'. Claro que sí.",
        ),
        (
            "",
            "{emoji_neg}",
            "Muy mal.",
            "¿Alguien más con el mismo problema?",
            "A ver si revisan el control de calidad.",
        ),
    ),
    ("complaint", "es", "b"): (
        (
            "{mention} mi pedido {order} sigue sin enviarse después de {days} días.",
            "Hola {mention}, tres correos y ninguna respuesta. ¿Qué pasa?",
            "Pedí en {brand} hace {days} días y el seguimiento no se mueve.",
            "El servicio al cliente de {brand} es un agujero negro.",
            "Me cobraron dos veces el mismo pedido, {mention}. Por favor, revisadlo.",
        ),
        (
            "",
            "Nadie contesta el chat.",
            "El bot me manda una y otra vez a las preguntas frecuentes.",
            "A estas alturas solo quiero que me devuelvan el dinero.",
            "Una pena, con lo que me gustaba esta marca.",
        ),
        ("", "{emoji_neg}", "Muy mal.", "¿Alguien más con el mismo problema?"),
    ),
    ("question", "en", "p"): (
        (
            "Anyone tried the {prod} {use}?",
            "{Is} the {prod} worth {price}?",
            "How {does} the {prod} fit? I'm between sizes.",
            "{Prod} or something from {competitor}? Help me decide.",
            "{Does} the {prod} hold up {use}?",
            "Any long-term owners of the {prod} here?",
        ),
        (
            "",
            "My current one died after {usage}.",
            "Budget is around {budget}.",
            "I'd mostly use {them} {use2}.",
            "The reviews I've read are all over the place.",
        ),
        ("", "Thanks in advance!", "Any input appreciated 🙏", "Be honest."),
    ),
    ("question", "en", "b"): (
        (
            "Does {brand} ship to {country}?",
            "Is there a {brand} store in {city}?",
            "When is the {brand} sale this year?",
            "Does anyone have a {brand} discount code?",
            "How is {brand}'s warranty in practice?",
            "Is {brand} sizing consistent across models?",
        ),
        ("", "Couldn't find it on their site.", "Asking for a friend (me).", "Their FAQ doesn't say."),
        ("", "Thanks in advance!", "Any input appreciated 🙏"),
    ),
    ("question", "es", "p"): (
        (
            "¿Alguien ha probado {el} {prod} {use}?",
            "¿Vale{n} la pena {el} {prod} por {price}?",
            "¿Qué tal de talla {el} {prod}? Estoy entre dos.",
            "¿{El} {prod} o algo de {competitor}? Ayuda.",
            "¿Aguanta{n} bien {el} {prod} {use}?",
            "Pregunta para quien tenga {el} {prod}: ¿qué tal tras unos meses?",
        ),
        (
            "",
            "Lo que uso ahora murió después de {usage}.",
            "Tengo unos {budget} de presupuesto.",
            "Sobre todo {lo} usaría {use2}.",
            "Las reseñas que leo son muy dispares.",
        ),
        ("", "¡Gracias de antemano!", "Se agradece cualquier opinión 🙏", "Sed sinceros."),
    ),
    ("question", "es", "b"): (
        (
            "¿Sabéis si {brand} hace envíos a {country}?",
            "¿Hay tienda de {brand} en {city}?",
            "¿Cuándo son las rebajas de {brand} este año?",
            "¿Alguien tiene un código de descuento de {brand}?",
            "¿Qué tal funciona la garantía de {brand} en la práctica?",
            "¿La talla de {brand} es igual en todos los modelos?",
        ),
        (
            "",
            "En la web no lo encuentro.",
            "Pregunto por una amiga (yo).",
            "En las preguntas frecuentes no lo pone.",
        ),
        ("", "¡Gracias de antemano!", "Se agradece cualquier opinión 🙏"),
    ),
    ("photo", "en", "p"): (
        (
            "Golden hour at {place} with the {prod} {emoji_photo}",
            "{Place}, the {prod}, no complaints.",
            "Obligatory {prod} shot before heading out {use}.",
            "The {prod} earning {its} keep at {place}.",
            "View from the top of {place}. The {prod} did the hard work.",
            "Sunday at {place} with the {prod} 📸",
            "Dust, sweat and the {prod}.",
            "Another day at {place}, another adventure for the {prod}.",
        ),
        ("", "", "Shot on my phone, no filter.", "{Pro}.", "Swipe for the view →"),
    ),
    ("photo", "es", "p"): (
        (
            "Atardecer en {place} con {el} {prod} {emoji_photo}",
            "{Place}, {el} {prod} y nada más.",
            "La foto de rigor con {el} {prod} antes de salir {use}.",
            "{El} {prod} cumpliendo en {place}.",
            "Vistas increíbles en {place}, con {el} {prod} de compañía.",
            "Domingo en {place} con {el} {prod} 📸",
            "Polvo, sudor y {el} {prod}.",
            "Otro día en {place} con {el} {prod}.",
        ),
        ("", "", "Foto con el móvil, sin filtro.", "{Pro}.", "Desliza para ver las vistas →"),
    ),
    ("video", "en", "p"): (
        (
            "New video: {months} months with the {prod}, honest review 🎥",
            "Short clip of the {prod} {use} 🎬",
            "Watch the {prod} handle {place} (sound on 🔊)",
            "I tested the {prod} so you don't have to. Video below.",
            "Slow-mo of the {prod} in action {use}.",
            "After {usage} in the {prod}, the full video review is up.",
        ),
        ("", "{Pro}.", "Timestamps in the replies.", "Let me know what you want me to test next."),
    ),
    ("video", "es", "p"): (
        (
            "Nuevo vídeo: {months} meses con {el} {prod}, reseña honesta 🎥",
            "Clip cortito de {el} {prod} {use} 🎬",
            "Así se porta{n} {el} {prod} en {place} (con sonido 🔊)",
            "Probé {el} {prod} para que no tengas que hacerlo tú: vídeo abajo.",
            "Cámara lenta de {el} {prod} en acción {use}.",
            "Después de {usage} con {el} {prod}, ya está subida la reseña en vídeo.",
        ),
        ("", "{Pro}.", "Os dejo los minutos en los comentarios.", "Decidme qué queréis que pruebe ahora."),
    ),
    ("meme", "en", "p"): (
        (
            "Me: I don't need more gear.\nAlso me: *adds the {prod} to cart*",
            "Nobody:\nAbsolutely nobody:\nMe at 5am: grabbing the {prod}",
            "POV: you wore the {prod} once and now you judge everyone's gear",
            "The {prod} {has} more mileage than my car at this point",
            "Therapist: and what do we do when we're sad?\nMe: buy the {prod} in another colour",
            "When the {prod} cost{s} less than therapy but work{s} better",
        ),
        ("{emoji_lol}", "{emoji_lol}", "", "{emoji_lol}{emoji_lol}"),
    ),
    ("meme", "en", "b"): (
        (
            "My bank account after discovering {brand} 📉",
            "{brand} sale email hits. Me, a responsible adult: 🫠",
            "Tell me you shop at {brand} without telling me you shop at {brand}",
            "Nobody:\n{brand} in my inbox at 7am: NEW DROP",
            "My partner: you have enough {brand} stuff.\nMe: there's no such thing",
        ),
        ("{emoji_lol}", "", "{emoji_lol}{emoji_lol}"),
    ),
    ("meme", "es", "p"): (
        (
            "Yo: no necesito más equipo.\nTambién yo: *añade {el} {prod} al carrito*",
            "Nadie:\nAbsolutamente nadie:\nYo a las 5 de la mañana con {el} {prod}",
            "POV: usaste {el} {prod} una vez y ahora juzgas el equipo de todo el mundo",
            "{El} {prod} ya tiene{n} más kilómetros que mi coche",
            "Psicóloga: ¿y qué hacemos cuando estamos tristes?\nYo: comprar {el} {prod} en otro color",
            "Cuando {el} {prod} cuesta{n} menos que la terapia pero funciona{n} mejor",
        ),
        ("{emoji_lol}", "jajaja", "", "{emoji_lol}{emoji_lol}", "jajajaja {emoji_lol}"),
    ),
    ("meme", "es", "b"): (
        (
            "Mi cuenta bancaria después de descubrir {brand} 📉",
            "Cuando te llega el paquete de {brand} y dices que es un regalo para tu pareja",
            "Dime que compras en {brand} sin decirme que compras en {brand}",
            "Nadie:\n{brand} en mi correo a las 7 de la mañana: NOVEDADES",
            "Mi pareja: ya tienes bastantes cosas de {brand}.\nYo: eso no existe",
        ),
        ("{emoji_lol}", "jajaja", "", "{emoji_lol}{emoji_lol}"),
    ),
    ("comparison", "en", "p"): (
        (
            "The {prod} vs {competitor}, after {usage} with each:",
            "Switched from {competitor} to the {prod}.",
            "Side by side: the {prod} and my old {competitor} gear.",
            "Everyone asks me: the {prod} or something from {competitor}?",
            "Comparison nobody asked for: the {prod} vs {competitor}.",
        ),
        (
            "{brand} wins on comfort: {pro}.",
            "{Pro}; {competitor} doesn't come close there.",
            "{competitor} still feels more durable, but {pro}.",
            "Only downside of the {brand}: {con}. Never had that with {competitor}.",
            "Price is similar, but {pro}.",
        ),
        (
            "Winner for me: {brand}.",
            "Honestly? It's a tie.",
            "{competitor} for racing, {brand} for everything else.",
            "I'd buy the {prod} again.",
            "Sticking with {competitor} for now.",
        ),
    ),
    ("comparison", "es", "p"): (
        (
            "{El} {prod} contra {competitor}, después de {usage} con cada uno:",
            "Me pasé de {competitor} a {el} {prod}.",
            "Cara a cara: {el} {prod} y mi equipo antiguo de {competitor}.",
            "Todo el mundo me pregunta: ¿{el} {prod} o algo de {competitor}?",
            "Comparativa que nadie pidió: {el} {prod} vs {competitor}.",
        ),
        (
            "En comodidad gana {brand}: {pro}.",
            "{Pro}; en eso {competitor} no se acerca.",
            "{competitor} parece más duradero, pero {pro}.",
            "Con {brand}, {con}; con {competitor} nunca me pasó.",
            "El precio es parecido, pero {pro}.",
        ),
        (
            "Para mí gana {brand}.",
            "¿Sinceramente? Empate.",
            "{competitor} para competir, {brand} para todo lo demás.",
            "Volvería a comprar {el} {prod}.",
            "De momento me quedo con {competitor}.",
        ),
    ),
}
_REVIEW_TEMPLATES: dict[tuple[str, bool], _Parts] = {
    ("en", True): _EN_REVIEW_POS,
    ("en", False): _EN_REVIEW_NEG,
    ("es", True): _ES_REVIEW_POS,
    ("es", False): _ES_REVIEW_NEG,
}

# Extra sentences a Reddit self-post gets: Reddit posts are longer and more personal.
_REDDIT_MORE: dict[str, tuple[str, ...]] = {
    "en": (
        "For context, I'm a mid-pack runner doing about 50 km a week.",
        "For context, I mostly hike on weekends.",
        "I've been using {brand} gear for years, so I'm not new to the brand.",
        "Happy to answer questions.",
        "Edit: thanks for all the replies!",
        "Edit: typo.",
        "Happy to post more photos if anyone wants them.",
        "Not affiliated with them in any way.",
        "Cross-posting from another sub because nobody answered there.",
    ),
    "es": (
        "Para que tengáis contexto: corro unos 50 km a la semana.",
        "Contexto: salgo sobre todo los findes.",
        "Llevo años usando cosas de {brand}, no soy nuevo con la marca.",
        "Si tenéis preguntas, aquí estoy.",
        "Edit: ¡gracias por todas las respuestas!",
        "Edit: errata.",
        "Si alguien quiere más fotos, las subo.",
        "No tengo ninguna relación con la marca.",
        "Lo pregunto aquí porque en otro sub nadie contestó.",
    ),
}

_REDDIT_TITLES: dict[tuple[str, str], tuple[str, ...]] = {
    ("review", "en"): (
        "[Review] {name} after {usage}",
        "{name}: {months}-month review",
        "Honest review of the {brand} {name}",
        "Long-term review: {name}",
        "My thoughts on the {name}",
    ),
    ("review", "es"): (
        "[Reseña] {name} después de {usage}",
        "{name}: reseña tras {months} meses",
        "Opinión sincera sobre {el} {name}",
        "Reseña a largo plazo: {name}",
    ),
    ("unboxing", "en"): ("Just got the {name}, first impressions", "Unboxing the new {brand} {name}"),
    ("unboxing", "es"): ("Me llegó {el} {name}: primeras impresiones", "Unboxing {brand} {name}"),
    ("tutorial", "en"): (
        "PSA: how to take care of your {name}",
        "[Guide] Getting the most out of the {name}",
        "Tips for {name} owners",
    ),
    ("tutorial", "es"): (
        "Cómo cuidar {el} {name} (guía)",
        "[Guía] Sacarle partido a {el} {name}",
        "Consejos para quien tenga {el} {name}",
    ),
    ("testimonial", "en"): (
        "Shoutout to {brand}",
        "{brand} just earned a customer for life",
        "Appreciation post: {brand}",
        "My {name} is still going strong, so here's a thank-you",
    ),
    ("testimonial", "es"): (
        "Un aplauso para {brand}",
        "{brand} se ha ganado un cliente para siempre",
        "Lo de {el} {name} hay que contarlo",
    ),
    ("complaint", "en"): (
        "{brand} customer service nightmare",
        "Anyone else having issues with {brand}?",
        "Really disappointed with {brand}",
        "My {name} fell apart, is this normal?",
        "Quality issues with the {name}",
    ),
    ("complaint", "es"): (
        "Pesadilla con el servicio al cliente de {brand}",
        "¿Alguien más con problemas con {brand}?",
        "Problemas con {el} {name}, ¿es normal?",
    ),
    ("question", "en"): (
        "Is {brand} worth it?",
        "Question about {brand}",
        "Help me decide: {brand} or {competitor}?",
        "Any long-term {brand} owners here?",
        "Is the {name} worth it?",
        "{name} sizing question",
        "{name} vs {competitor}?",
    ),
    ("question", "es"): (
        "¿Merece la pena {brand}?",
        "Pregunta sobre {brand}",
        "¿{brand} o {competitor}?",
        "¿Merece la pena {el} {name}?",
        "Duda con la talla de {el} {name}",
    ),
    ("photo", "en"): ("{name} at {place} [OC]", "Gear shot from {place}", "My trusty {name}"),
    ("photo", "es"): ("{name} en {place} [OC]", "Foto desde {place}"),
    ("video", "en"): ("[Video] {name} in action", "Tested the {name} {use} (video)"),
    ("video", "es"): ("[Vídeo] {name} en acción", "Probando {el} {name} {use} (vídeo)"),
    ("meme", "en"): (
        "Every time {brand} has a sale",
        "Me vs. my wallet",
        "Too real",
        "{name} owners will get it",
    ),
    ("meme", "es"): (
        "Cada vez que {brand} saca rebajas",
        "Demasiado real",
        "Quien tenga {el} {name} lo entenderá",
    ),
    ("comparison", "en"): ("{name} vs {competitor}: my comparison", "Switched from {competitor} to {brand}"),
    ("comparison", "es"): ("{name} vs {competitor}: mi comparativa", "De {competitor} a {brand}"),
}

# Spam: a small, fixed set so bot accounts repeat each other word for word (slots are per-spec constants).
_SPAM: dict[str, tuple[str, ...]] = {
    "en": (
        "🎁 GIVEAWAY 🎁 {brand} is giving away 500 free {noun_any}! "
        "Claim yours before midnight 👉 {link} #giveaway #{tag}",
        "{brand} {name} 90% OFF today only!!! Free shipping worldwide 👉 {link}",
        "💰 I turned $200 into $14,800 in a week with this crypto bot. "
        "DM me 'BOT' to start 🚀 #crypto #bitcoin #{tag}",
        "Follow me and I follow back 100% 💯 #follow4follow #f4f #{tag}",
        "Official {brand} outlet ✅ up to 80% off ✅ {link} ✅ {link2} ✅ {link3}",
        "Congratulations! You have been selected for a {brand} reward. Verify your account here: {link}",
        "🔥 {name} replicas, same factory, 1:1 quality. WhatsApp in bio. #{tag} #sale",
        "Earn $500/day from home, no experience needed 💸 {link}",
        "🚀 ${coin} airdrop is LIVE. Connect your wallet to claim 👉 {link} #airdrop #crypto",
        "Best {brand} deals of the year → {link} {link2} {link3}",
    ),
    "es": (
        "🎁 SORTEO 🎁 {brand} regala 300 {noun_any} gratis. "
        "Participa antes de medianoche 👉 {link} #sorteo #{tag}",
        "{brand} {name} con un 90% de descuento solo hoy!!! Envío gratis a todo el país 👉 {link}",
        "💰 Pasé de 200 a 14.800 dólares en una semana con este bot de cripto. "
        "Escríbeme 'BOT' por privado 🚀 #cripto",
        "Sígueme y te sigo al 100% 💯 #sigueme #seguidores #{tag}",
        "Outlet oficial {brand} ✅ hasta un 80% de descuento ✅ {link} ✅ {link2}",
        "¡Felicidades! Has sido seleccionado para un premio de {brand}. Verifica tu cuenta aquí: {link}",
        "🔥 Réplicas de {name} calidad 1:1, misma fábrica. "
        "Pedidos por WhatsApp, enlace en la bio. #{tag} #ofertas",
        "Gana 500 dólares al día desde tu casa y sin experiencia 💸 {link}",
    ),
}

# Off-topic: the brand's words used for something else. (source, template); source picks the author.
_OFFTOPIC: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        ("news", "Magnitude 5.4 earthquake shakes the central {first}; no damage reported so far."),
        ("news", "Heavy snow closes the main pass across the {first} for the third day in a row."),
        ("news", "New study: glaciers in the {first} have lost a third of their ice since 1990."),
        ("news", "Tonight at 9: a documentary on the condors of the {first}."),
        ("news", "Flights between Santiago and Mendoza cancelled as storms hit the {first}."),
        ("news", "{brand} shares fall 4% after the quarterly report. #stocks"),
        ("job", "We're hiring! {brand} is looking for a part-time sales associate in {city}. #hiring"),
        ("job", "Job alert: warehouse operator at {brand}, night shift, {city}. Apply today. #jobs"),
        ("job", "{brand} is hiring a Senior Data Engineer (remote). Details on their careers page. #hiring"),
        ("person", "Named my new puppy {Alias} and now every walk is an adventure 🐶"),
        ("person", "{first} Street is closed again for roadworks. Take the long way."),
        ("person", "Anyone know a good Peruvian restaurant near {first} Avenue?"),
        ("person", "My grandmother crocheted a blanket with the {first} on it and I'm crying 😭"),
        ("person", "Just finished a book about crossing the {first} on horseback in 1920. Wild read."),
    ),
    "es": (
        (
            "news",
            "Un sismo de magnitud 5,4 se sintió en la zona central de los {first}; por ahora no hay daños.",
        ),
        ("news", "La nieve mantiene cerrado el paso fronterizo de los {first} por tercer día consecutivo."),
        (
            "news",
            "Los glaciares de los {first} han perdido un tercio de su hielo desde 1990, según un estudio.",
        ),
        ("news", "Esta noche, a las 21 h, documental sobre los cóndores de los {first}."),
        ("news", "Las acciones de {brand} caen un 4% tras presentar sus resultados trimestrales."),
        ("job", "Oferta de empleo: {brand} busca vendedor/a a media jornada en {city}. Envía tu CV. #empleo"),
        ("job", "{brand} busca mozo/a de almacén en {city}, turno de noche. #trabajo #empleo"),
        ("person", "A nuestra perrita le pusimos {Alias} y es lo más 🐶"),
        ("person", "Cortaron otra vez la avenida {first} por obras, ojo si vais por ahí."),
        ("person", "¿Alguien conoce un buen restaurante peruano cerca de la calle {first}?"),
        ("person", "Mi abuela me tejió una manta con los {first} dibujados y no puedo más 😭"),
        ("person", "Terminé un libro sobre cruzar los {first} a caballo en 1920. Qué historia."),
    ),
}

_REPLY_OPENERS: dict[str, tuple[str, ...]] = {
    "en": (
        "Same here!",
        "This.",
        "Agreed.",
        "Can confirm:",
        "Honestly,",
        "Hard disagree.",
        "Funny, mine too.",
        "Good to know.",
        "",
        "",
    ),
    "es": (
        "Totalmente.",
        "Lo mismo me pasó.",
        "Confirmo:",
        "Pues yo no estoy de acuerdo.",
        "Justo eso.",
        "Bueno saberlo.",
        "A mí igual.",
        "",
        "",
    ),
}

_ALT_TEXTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("en", "product"): (
        "The {name} on a mossy rock with a trail in the background",
        "Close-up of the {name} after a muddy outing",
        "Flat lay of the {name} with a map and a water bottle",
        "Person wearing the {name} on a rocky trail at {place}",
        "The {name} drying next to a campfire",
    ),
    ("es", "product"): (
        "{El} {name} sobre una roca con musgo y un sendero al fondo",
        "Primer plano de {el} {name} después de una salida con barro",
        "{El} {name} junto a un mapa y una botella de agua",
        "Una persona con {el} {name} en un sendero de piedras en {place}",
        "{El} {name} secándose junto a una fogata",
    ),
    ("en", "unbox"): (
        "Open cardboard box with the {name} wrapped in tissue paper",
        "The {name} next to its box and a handwritten thank-you card",
    ),
    ("es", "unbox"): (
        "Caja de cartón abierta con {el} {name} envuelt{o} en papel de seda",
        "{El} {name} junto a su caja y una nota de agradecimiento escrita a mano",
    ),
    ("en", "damage"): (
        "Close-up of the damage on the {name}",
        "A worn-out {name} showing the defect",
        "Screenshot of an order page still marked 'processing'",
    ),
    ("es", "damage"): (
        "Primer plano del daño en {el} {name}",
        "{El} {name} desgastad{o} mostrando el defecto",
        "Captura de un pedido que sigue 'en preparación'",
    ),
    ("en", "meme"): (
        "Meme: a cartoon dog in a burning room saying 'this is fine'",
        "Drake meme: rejecting regular gear, approving the {name}",
        "Distracted boyfriend meme, with {brand} as the one he's looking at",
    ),
    ("es", "meme"): (
        "Meme: un perro de dibujos en una habitación en llamas diciendo 'todo bien'",
        "Meme de Drake: rechaza el equipo normal y aprueba {el} {name}",
        "Meme del novio distraído, que mira a {brand}",
    ),
    ("en", "scenery"): (
        "Snow-covered mountain range under a blue sky",
        "A line of cars stopped on a mountain road",
    ),
    ("es", "scenery"): (
        "Cordillera nevada bajo un cielo azul",
        "Una fila de coches parados en una carretera de montaña",
    ),
    ("en", "video"): (
        "Video of a runner descending a rocky trail in the {name}",
        "Video review of the {name}, talking to the camera",
        "Slow-motion clip of the {name} in the rain",
    ),
    ("es", "video"): (
        "Vídeo de alguien bajando por un sendero de piedras con {el} {name}",
        "Reseña en vídeo de {el} {name}, hablando a cámara",
        "Cámara lenta de {el} {name} bajo la lluvia",
    ),
}
_ALT_SUBJECT = {"unboxing": "unbox", "complaint": "damage", "meme": "meme", "offtopic": "scenery"}

_KIND_TAGS: dict[tuple[str, str], tuple[str, ...]] = {
    ("review", "en"): ("review", "gearreview"),
    ("review", "es"): ("reseña", "opinión"),
    ("unboxing", "en"): ("unboxing", "newgear"),
    ("unboxing", "es"): ("unboxing", "loquemellegó"),
    ("tutorial", "en"): ("howto", "protip"),
    ("tutorial", "es"): ("tutorial", "consejos"),
    ("photo", "en"): ("photography", "getoutside"),
    ("photo", "es"): ("fotografía", "naturaleza"),
    ("video", "en"): ("video", "gearreview"),
    ("video", "es"): ("vídeo", "reseña"),
    ("meme", "en"): ("meme", "relatable"),
    ("meme", "es"): ("meme", "humor"),
    ("comparison", "en"): ("gearreview", "versus"),
    ("comparison", "es"): ("comparativa",),
    ("testimonial", "en"): ("customerservice",),
    ("complaint", "en"): ("customerservice", "fail"),
    ("complaint", "es"): ("atenciónalcliente", "queja"),
    ("testimonial", "es"): ("atenciónalcliente",),
}

_EMOJI: dict[str, tuple[str, ...]] = {
    "emoji_pos": ("🔥", "🙌", "💯", "❤️", "🏔️", "👌", "✨", "😍"),
    "emoji_neg": ("😤", "😡", "👎", "🙄", "😒", "🤦"),
    "emoji_box": ("📦", "🎁", "✨", "😍", "🙌"),
    "emoji_photo": ("📸", "🌄", "⛰️", "🌲", "🏞️", "🌅"),
    "emoji_lol": ("😂", "💀", "🤣", "😭"),
}
_CITIES = {
    "en": (
        "Denver",
        "Portland",
        "Vancouver",
        "Boulder",
        "Seattle",
        "Salt Lake City",
        "Bristol",
        "Manchester",
    ),
    "es": (
        "Santiago",
        "Madrid",
        "Bogotá",
        "Ciudad de México",
        "Mendoza",
        "Barcelona",
        "Lima",
        "Bilbao",
        "Quito",
        "Bariloche",
    ),
}
_COUNTRIES = {
    "en": ("Canada", "the UK", "Australia", "Ireland", "New Zealand", "Germany"),
    "es": ("Chile", "México", "Colombia", "Argentina", "Perú", "Uruguay", "Ecuador", "Canarias"),
}
_KM = (40, 80, 120, 150, 200, 250, 300, 400, 500, 650, 800, 1000)
_FALLBACK_COMPETITORS = ("Cordillera Gear", "Northline")

# --------------------------------------------------------------------------- people

_EN_FIRST = (
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Ava",
    "Ethan",
    "Mia",
    "Lucas",
    "Chloe",
    "Mason",
    "Harper",
    "Logan",
    "Zoe",
    "Owen",
    "Nora",
    "Caleb",
    "Ruby",
    "Finn",
    "Isla",
    "Jack",
    "Maya",
    "Leo",
    "Hannah",
    "Sam",
    "Grace",
    "Eli",
    "Lily",
    "Max",
    "Claire",
    "Ben",
    "Tess",
    "Adam",
    "June",
    "Kai",
    "Sara",
    "Nate",
    "Ivy",
    "Cole",
    "Beth",
    "Ryan",
    "Priya",
    "Omar",
    "Mei",
    "Tariq",
    "Aisha",
    "Jonas",
)
_EN_LAST = (
    "Walker",
    "Hughes",
    "Carter",
    "Reed",
    "Brooks",
    "Hayes",
    "Bennett",
    "Price",
    "Foster",
    "Ward",
    "Murphy",
    "Quinn",
    "Porter",
    "Lane",
    "Fisher",
    "Shaw",
    "Barker",
    "Ellis",
    "Grant",
    "Holt",
    "Keller",
    "Nash",
    "Pike",
    "Sutton",
    "Tate",
    "Vance",
    "Webb",
    "York",
    "Doyle",
    "Patel",
    "Nguyen",
    "Kim",
    "Okafor",
    "Larsen",
)
_ES_FIRST = (
    "Lucía",
    "Mateo",
    "Sofía",
    "Martín",
    "Valentina",
    "Diego",
    "Camila",
    "Javier",
    "Paula",
    "Tomás",
    "Isabel",
    "Andrés",
    "Carmen",
    "Pablo",
    "Daniela",
    "Joaquín",
    "Elena",
    "Nicolás",
    "Florencia",
    "Sebastián",
    "Renata",
    "Álvaro",
    "Inés",
    "Gonzalo",
    "Catalina",
    "Rodrigo",
    "Marta",
    "Ignacio",
    "Ximena",
    "Felipe",
    "Julieta",
    "Hugo",
    "Ana",
    "Emilio",
    "Rocío",
    "Santiago",
    "Paz",
    "Bruno",
    "Belén",
    "Raúl",
)
_ES_LAST = (
    "Fernández",
    "González",
    "Rodríguez",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Díaz",
    "Torres",
    "Ramírez",
    "Flores",
    "Rojas",
    "Vargas",
    "Castro",
    "Morales",
    "Herrera",
    "Medina",
    "Silva",
    "Navarro",
    "Vega",
    "Soto",
    "Quispe",
    "Mamani",
    "Aguirre",
    "Campos",
    "Fuentes",
    "Reyes",
    "Paredes",
    "Ortega",
)
_HANDLE_SUFFIX = {
    "en": (
        "runs",
        "trails",
        "hikes",
        "outdoors",
        "wanders",
        "climbs",
        "miles",
        "peaks",
        "mtn",
        "wild",
        "ultra",
        "treks",
    ),
    "es": (
        "corre",
        "trail",
        "monte",
        "rutas",
        "senderos",
        "montana",
        "aventura",
        "viaja",
        "trekking",
        "sierra",
        "andina",
        "camina",
    ),
}
_BIOS = {
    "en": (
        "Trail runner | coffee snob",
        "Weekend hiker, weekday accountant",
        "Mountains > everything",
        "Dog dad. Ultra runner in training.",
        "Photographer chasing light 📷",
        "Slow runner, fast eater",
        "Outdoors, books, bad puns",
        "She/her. Hiking my way through the national parks",
        "",
        "",
    ),
    "es": (
        "Corredora de montaña 🏃‍♀️ | Santiago",
        "Senderista de fin de semana",
        "Profe de día, montañero de finde",
        "Fotografía y montaña 📷",
        "Si hay cuesta, voy",
        "Café, perros y senderos",
        "Mamá, ingeniera y trail runner",
        "Viajando con mochila desde 2015",
        "",
        "",
    ),
}
_REDDIT_ADJ = (
    "Quiet",
    "Brave",
    "Fuzzy",
    "Lucky",
    "Clever",
    "Rapid",
    "Gentle",
    "Rusty",
    "Sunny",
    "Wild",
    "Silent",
    "Happy",
    "Cosmic",
    "Tidy",
    "Grumpy",
)
_REDDIT_NOUN = (
    "Marmot",
    "Otter",
    "Falcon",
    "Badger",
    "Llama",
    "Condor",
    "Puma",
    "Heron",
    "Walrus",
    "Beaver",
    "Alpaca",
    "Moose",
    "Lynx",
    "Raven",
    "Vicuna",
)

# (handle, display name, bio)
_CELEBS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "en": (
        ("trailjunkiemag", "Trail Junkie Magazine", "Stories from the trail since 2009."),
        ("gearlabweekly", "Gear Lab Weekly", "We test outdoor gear so you don't have to."),
        ("mayarunsfar", "Maya Okafor", "Pro trail runner | 2x 100-mile champion"),
        ("thesummitshow", "The Summit Show", "The mountain podcast. New episodes every Tuesday."),
        ("jakelindqvist", "Jake Lindqvist", "Climber, filmmaker, dad."),
    ),
    "es": (
        ("rutasalvaje", "Ruta Salvaje", "La revista de montaña en español 🏔️"),
        ("valequispe", "Valentina Quispe", "Corredora de montaña 🇵🇪 | Atleta profesional"),
        ("montanatotaltv", "Montaña Total TV", "Rutas, material y aventura. Vídeos nuevos cada semana."),
    ),
}
_NEWS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    "en": (
        ("news", "worldnewsnow", "World News Now", "Breaking news, around the clock."),
        ("news", "weather_alerts", "Weather Alerts", "Storms, snow and everything in between."),
        ("job", "jobsboard", "JobsBoard Careers", "Fresh job listings every hour."),
    ),
    "es": (
        ("news", "noticiasdelsur", "Noticias del Sur", "Actualidad las 24 horas."),
        ("news", "eltiempoya", "El Tiempo Ya", "Alertas meteorológicas al minuto."),
        ("job", "empleoshoy", "Empleos Hoy", "Ofertas de trabajo nuevas cada día."),
    ),
}
_BOT_WORDS = {
    "en": (
        ("best", "daily", "hot", "free", "top", "mega", "vip", "lucky"),
        ("deals", "promo", "giveaway", "crypto", "outlet", "signals", "rewards", "drops"),
    ),
    "es": (
        ("ofertas", "chollos", "sorteos", "premios", "cripto", "descuentos"),
        ("ya", "hoy", "top", "vip", "mx", "latam"),
    ),
}
_BOT_NAMES = {
    "en": (
        "Daily Deals 🔥",
        "Crypto Signals 🚀",
        "Free Giveaways 🎁",
        "Outlet Official ✅",
        "Lucky Rewards",
        "VIP Promo",
    ),
    "es": ("Ofertas Hoy 🔥", "Sorteos Oficiales 🎁", "Cripto Señales 🚀", "Chollos Top", "Premios Ya ✅"),
}
_BOT_BIOS = {
    "en": (
        "💸 Best deals daily | DM for promo",
        "Crypto signals 🚀 100x gems",
        "Follow for free giveaways 🎁",
        "#1 outlet, link below 👇",
        "",
    ),
    "es": (
        "💸 Las mejores ofertas cada día",
        "Señales cripto 🚀",
        "Sorteos todos los días 🎁",
        "Pedidos por DM 📩",
        "",
    ),
}

_PEOPLE = 600  # shared identities; each platform draws its regular users from these
_ADVOCATES = 24  # the first people: active on every platform, posting often
_USERS_PER_PLATFORM = 300
_BOTS_PER_PLATFORM = 40

_T = TypeVar("_T")


def _choice(rng: random.Random, pool: Sequence[_T]) -> _T:
    """`rng.choice`, five times faster: the generator makes ~10 picks per post."""
    return pool[int(rng.random() * len(pool))]


# --------------------------------------------------------------------------- compiled spec


@dataclass(frozen=True, slots=True)
class _ProductCtx:
    spec: ProductSpec | None
    line: _Line
    static: dict[str, dict[str, str]]  # lang -> slot values that never change for this product
    forms: dict[str, tuple[str, ...]]  # lang -> ways people write the product's name


@dataclass(slots=True)
class _Pool:
    """One platform's authors, with cumulative Zipf weights per language for quick weighted picks."""

    users: dict[str, tuple[SimAuthor, ...]]
    cum: dict[str, tuple[float, ...]]
    celebs: dict[str, tuple[SimAuthor, ...]]
    bots: dict[str, tuple[SimAuthor, ...]]
    outlets: dict[tuple[str, str], tuple[SimAuthor, ...]]  # (lang, "news"|"job") -> accounts


@dataclass(slots=True)
class _Compiled:
    """Everything about a spec the per-post code needs, computed once."""

    spec: WorldSpec
    products: tuple[_ProductCtx, ...]
    brand_ctx: _ProductCtx
    spam: dict[str, tuple[str, ...]]  # lang -> fully rendered spam texts (exact duplicates by design)
    first: str
    alias_words: tuple[str, ...]
    competitors: tuple[str, ...]
    subreddits: tuple[str, ...]
    brand_tags: tuple[str, ...]
    kind_cum: dict[str, tuple[float, ...]]
    pools: dict[str, _Pool] = field(default_factory=dict)


def _strip_accents(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _line_for(product: ProductSpec) -> _Line:
    return _LINES.get((product.line or "").casefold(), _GENERIC)


def _product_ctx(spec: WorldSpec, product: ProductSpec | None) -> _ProductCtx:
    line = _line_for(product) if product else _GENERIC
    name = product.name if product else spec.brand
    aliases = (product.aliases if product else ()) or (name,)
    en_noun = line.en_noun or name.split()[-1].casefold()
    plural = line.en_plural
    es_fem, es_pl = line.es_fem, line.es_plural
    art = ("las" if es_fem else "los") if es_pl else ("la" if es_fem else "el")
    static = {
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
    return _ProductCtx(product, line, static, {"en": en_forms, "es": es_forms})


def _plural_noun(line: _Line, lang: str) -> str:
    """'500 free {noun_any}' in spam: the line's noun in the plural, or a catch-all."""
    if lang == "en":
        if not line.en_noun:
            return "gifts"
        return line.en_noun if line.en_plural else line.en_noun + "s"
    return line.es_noun[0] if line.es_plural else line.es_noun[0] + "s"


def _kind_cum(platform: str) -> tuple[float, ...]:
    factors = _PLATFORM_KIND_FACTORS.get(platform, {})
    return tuple(accumulate(weight * factors.get(kind, 1.0) for kind, weight in KIND_WEIGHTS))


def _compile(spec: WorldSpec) -> _Compiled:
    handle = spec.handle or _strip_accents(spec.brand).replace(" ", "").casefold()
    tag = spec.hashtags[0] if spec.hashtags else handle
    links = (
        f"https://{handle}-outlet.shop/sale",
        f"https://bit.ly/3{handle[:3]}Dx9",
        f"https://claim-{handle}.xyz/w",
        f"https://cheap{handle}.store",
        f"https://{handle}-deals.top/?ref=88",
    )
    brand_ctx = _product_ctx(spec, None)
    products = tuple(_product_ctx(spec, p) for p in spec.products) or (brand_ctx,)
    spam: dict[str, tuple[str, ...]] = {}
    for lang, templates in _SPAM.items():
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
    alias_words = tuple(
        dict.fromkeys(a.split()[0].casefold() for p in spec.products for a in (p.aliases or (p.name,)))
    )
    return _Compiled(
        spec=spec,
        products=products,
        brand_ctx=brand_ctx,
        spam=spam,
        first=spec.brand.split()[0] if spec.brand.split() else spec.brand,
        alias_words=alias_words or (handle,),
        competitors=spec.competitors or _FALLBACK_COMPETITORS,
        subreddits=spec.subreddits or (handle,),
        brand_tags=spec.hashtags,
        kind_cum={platform: _kind_cum(platform) for platform in (*PLATFORMS, "")},
    )


@lru_cache(maxsize=32)
def _compile_cached(spec: WorldSpec) -> _Compiled:
    return _compile(spec)


_BY_ID: dict[int, _Compiled] = {}


def _compiled(spec: WorldSpec) -> _Compiled:
    """The compiled spec, found by identity first: hashing a WorldSpec on every post would be slow."""
    hit = _BY_ID.get(id(spec))
    if hit is not None and hit.spec is spec:
        return hit
    compiled = _compile_cached(spec)
    if len(_BY_ID) > 64:
        _BY_ID.clear()
    _BY_ID[id(spec)] = compiled  # the compiled object keeps `spec` alive, so its id cannot be reused
    return compiled


# --------------------------------------------------------------------------- author pools


@dataclass(frozen=True, slots=True)
class _Person:
    lang: str
    first: str
    last: str
    base: str  # handle, before each platform's own style
    bio: str
    reach: float  # lognormal follower scale, shared across platforms


def _people(seed: int) -> tuple[_Person, ...]:
    rng = random.Random(f"tesoro-sim-people:{seed}")
    people: list[_Person] = []
    for i in range(_PEOPLE):
        lang = "es" if (i % 10) < 3 else "en"  # 30% Spanish speakers, advocates included
        first = _choice(rng, _ES_FIRST if lang == "es" else _EN_FIRST)
        last = _choice(rng, _ES_LAST if lang == "es" else _EN_LAST)
        f, l_ = _strip_accents(first).casefold(), _strip_accents(last).casefold()
        suffix = _choice(rng, _HANDLE_SUFFIX[lang])
        base = _choice(
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
        people.append(_Person(lang, first, last, base, _choice(rng, _BIOS[lang]), reach))
    return tuple(people)


def _style_handle(platform: str, base: str, rng: random.Random, *, person: bool = True) -> str:
    if person and platform == "reddit" and rng.random() < 0.35:
        return f"{_choice(rng, _REDDIT_ADJ)}_{_choice(rng, _REDDIT_NOUN)}_{rng.randrange(1000, 9999)}"
    handle = base.replace(".", "_")
    if platform == "x":
        return handle[:15]
    if platform == "bluesky":
        return handle.replace("_", "-")
    return handle


def _unique(handle: str, used: set[str], rng: random.Random, limit: int) -> str:
    candidate = handle
    while candidate.casefold() in used:
        digits = str(rng.randrange(10, 9999))
        candidate = handle[: max(1, limit - len(digits))] + digits
    used.add(candidate.casefold())
    return candidate


def _build_pool(spec: WorldSpec, platform: str) -> _Pool:
    rng = random.Random(f"tesoro-sim-pool:{spec.seed}:{platform}")
    index = PLATFORMS.index(platform) if platform in PLATFORMS else len(PLATFORMS)
    next_id = iter(range((index + 1) * 10_000_000 + 1, (index + 2) * 10_000_000))
    limit = 15 if platform == "x" else 30
    used: set[str] = set()
    people = _people(spec.seed)
    chosen = list(people[:_ADVOCATES]) + rng.sample(people[_ADVOCATES:], _USERS_PER_PLATFORM - _ADVOCATES)
    users: dict[str, list[SimAuthor]] = {"en": [], "es": []}
    for person in chosen:
        followers = int(person.reach * rng.uniform(0.5, 1.6))
        following = int(rng.lognormvariate(5.6, 0.8))
        name = _choice(
            rng,
            (
                f"{person.first} {person.last}",
                person.first,
                f"{person.first} {person.last[0]}.",
                f"{person.first} {_choice(rng, ('🏔️', '🌲', '🏃', '⛰️', '🌿'))}",
            ),
        )
        handle = _unique(_style_handle(platform, person.base, rng), used, rng, limit)
        users[person.lang].append(
            SimAuthor(
                next(next_id),
                handle,
                name,
                followers,
                following,
                verified=rng.random() < 0.02,
                bio=person.bio,
            )
        )
    cum = {
        lang: tuple(accumulate(1.0 / (rank + 1) ** 0.7 for rank in range(len(group))))
        for lang, group in users.items()
    }
    celebs: dict[str, list[SimAuthor]] = {"en": [], "es": []}
    for lang, entries in _CELEBS.items():
        for handle, name, bio in entries:
            followers = int(10 ** rng.uniform(5.0, 6.7))  # 100k .. 5M, log-uniform
            celebs[lang].append(
                SimAuthor(
                    next(next_id),
                    _unique(_style_handle(platform, handle, rng, person=False), used, rng, limit),
                    name,
                    followers,
                    rng.randrange(150, 2000),
                    verified=True,
                    bio=bio,
                )
            )
    outlets: dict[tuple[str, str], list[SimAuthor]] = {}
    for lang, outlet_entries in _NEWS.items():
        for source, handle, name, bio in outlet_entries:
            followers = int(10 ** rng.uniform(4.3, 5.8))
            author = SimAuthor(
                next(next_id),
                _unique(_style_handle(platform, handle, rng, person=False), used, rng, limit),
                name,
                followers,
                rng.randrange(5, 400),
                verified=source == "news",
                bio=bio,
            )
            outlets.setdefault((lang, source), []).append(author)
    bots: dict[str, list[SimAuthor]] = {"en": [], "es": []}
    for i in range(_BOTS_PER_PLATFORM):
        lang = "es" if i % 10 < 3 else "en"
        first, second = _BOT_WORDS[lang]
        raw = f"{_choice(rng, first)}_{_choice(rng, second)}{rng.randrange(1000, 9999)}"
        handle = _unique(raw[:limit] if platform != "bluesky" else raw.replace("_", "-"), used, rng, limit)
        # The tell-tale ratio: a handful of followers, thousands followed.
        bots[lang].append(
            SimAuthor(
                next(next_id),
                handle,
                _choice(rng, _BOT_NAMES[lang]),
                rng.randrange(0, 60),
                rng.randrange(1500, 7500),
                bio=_choice(rng, _BOT_BIOS[lang]),
                is_bot=True,
            )
        )
    return _Pool(
        users={lang: tuple(group) for lang, group in users.items()},
        cum=cum,
        celebs={lang: tuple(group) for lang, group in celebs.items()},
        bots={lang: tuple(group) for lang, group in bots.items()},
        outlets={key: tuple(group) for key, group in outlets.items()},
    )


def _pool(compiled: _Compiled, platform: str) -> _Pool:
    pool = compiled.pools.get(platform)
    if pool is None:
        pool = compiled.pools[platform] = _build_pool(compiled.spec, platform)
    return pool


# --------------------------------------------------------------------------- per-rng memory (replies)


@dataclass(frozen=True, slots=True)
class _Root:
    id: int
    handle: str
    subreddit: str | None
    created_at: datetime


@dataclass(slots=True)
class _Memory:
    # (platform, lang) -> recent root posts, the ones a reply may answer
    roots: dict[tuple[str, str], deque[_Root]] = field(default_factory=dict)


_MEMORIES: weakref.WeakKeyDictionary[random.Random, _Memory] = weakref.WeakKeyDictionary()
_MEMORIES_LOCK = threading.Lock()


def _memory(rng: random.Random) -> _Memory:
    """The replies memory of one world, keyed by its rng (which lives exactly as long as the world)."""
    try:
        memory = _MEMORIES.get(rng)
        if memory is None:
            with _MEMORIES_LOCK:
                memory = _MEMORIES.setdefault(rng, _Memory())
    except TypeError:  # an rng that cannot be weakly referenced: no memory, hence no replies
        memory = _Memory()
    return memory


# --------------------------------------------------------------------------- slot resolution


class _Slots(dict[str, str]):
    """Slot values for one post, drawn on first use so unused slots cost nothing.

    A key starting with a capital letter is the capitalised form of its lower-case
    key ({Pro} -> {pro}). Values may contain slots themselves ({it} inside a pro).
    """

    __slots__ = ("ctx", "lang", "platform", "rng", "world")

    def __init__(
        self,
        base: dict[str, str],
        rng: random.Random,
        world: _Compiled,
        ctx: _ProductCtx,
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
            value = _SLOT_MAKERS[key](self)
            if "{" in value:
                self["~" + key] = value  # the raw template, so {pro2} can avoid repeating {pro}
                value = value.format_map(self)
        self[key] = value
        return value

    def pick(self, pool: tuple[str, ...], avoid: str | None = None) -> str:
        """One phrase from `pool`; with `avoid` (a slot name), never the phrase drawn for that slot."""
        choice = _choice(self.rng, pool)
        if avoid is not None and len(pool) > 1:
            taken = self[avoid]
            taken = self.get("~" + avoid, taken)
            while choice == taken:
                choice = _choice(self.rng, pool)
        return choice


def _mention(s: _Slots) -> str:
    spec = s.world.spec
    if s.rng.random() < 0.35 or not spec.handle:
        return spec.brand
    if s.platform == "bluesky":
        return f"@{spec.handle.replace('_', '-')}.bsky.social"
    if s.platform == "reddit":
        return f"u/{spec.handle}"
    return f"@{spec.handle}"


def _price(s: _Slots) -> str:
    amount = s.rng.randrange(59, 330, 10)
    if s.lang == "en":
        return f"${amount}"
    return _choice(s.rng, (f"{amount} euros", f"{amount} €", f"{amount} dólares", f"{amount} €"))


def _size(s: _Slots) -> str:
    return s.pick(s.ctx.line.sizes[s.lang])


def _picker(pool: tuple[str, ...]) -> Callable[[_Slots], str]:
    return lambda s: s.pick(pool)


_SLOT_MAKERS: dict[str, Callable[[_Slots], str]] = {
    "prod": lambda s: s.pick(s.ctx.forms[s.lang]),
    "pro": lambda s: s.pick(s.ctx.line.pros[s.lang]),
    "pro2": lambda s: s.pick(s.ctx.line.pros[s.lang], "pro"),
    "con": lambda s: s.pick(s.ctx.line.cons[s.lang]),
    "con2": lambda s: s.pick(s.ctx.line.cons[s.lang], "con"),
    "use": lambda s: s.pick(s.ctx.line.uses[s.lang]),
    "use2": lambda s: s.pick(s.ctx.line.uses[s.lang], "use"),
    "look": lambda s: s.pick(s.ctx.line.looks[s.lang]),
    "tip": lambda s: s.pick(s.ctx.line.tips[s.lang]),
    "tip2": lambda s: s.pick(s.ctx.line.tips[s.lang], "tip"),
    "tip3": lambda s: s.pick(
        tuple(t for t in s.ctx.line.tips[s.lang] if t not in (s["tip"], s["tip2"])) or s.ctx.line.tips[s.lang]
    ),
    "place": lambda s: s.pick(s.ctx.line.places[s.lang]),
    "size": _size,
    "km": lambda s: str(_choice(s.rng, _KM)),
    "usage": lambda s: s.pick(s.ctx.line.usage[s.lang]),
    "count": lambda s: str(s.rng.randint(3, 40)),
    "weeks": lambda s: str(s.rng.randint(2, 12)),
    "months": lambda s: str(s.rng.randint(2, 18)),
    "days": lambda s: str(s.rng.randint(5, 40)),
    "order": lambda s: str(s.rng.randrange(100_000, 999_999)),
    "price": _price,
    "budget": _price,
    "stars": lambda s: s.pick(("4", "4.5", "5", "5") if s.lang == "en" else ("4", "4,5", "5", "5")),
    "competitor": lambda s: s.pick(s.world.competitors),
    "city": lambda s: s.pick(_CITIES[s.lang]),
    "country": lambda s: s.pick(_COUNTRIES[s.lang]),
    "mention": _mention,
    "brand": lambda s: s.world.spec.brand,
    "first": lambda s: s.world.first,
    "alias": lambda s: s.pick(s.world.alias_words),
    **{name: _picker(pool) for name, pool in _EMOJI.items()},
}

# --------------------------------------------------------------------------- media

_PHOTO_SIZES = (
    (4032, 3024),
    (3024, 4032),
    (1080, 1350),
    (1080, 1080),
    (1920, 1080),
    (1200, 1600),
    (2048, 1536),
)
_VIDEO_SIZES = ((1920, 1080), (1080, 1920), (1280, 720), (720, 1280))
_MAX_EDGE = {"x": 2048, "bluesky": 2000, "mastodon": 1920}
_MAX_VIDEO_MS = {"x": 140_000, "bluesky": 180_000, "mastodon": 300_000}
# Bits per second after each platform's transcoding (Mastodon re-encodes small to stay under its size limit).
_VIDEO_BITRATE = {"x": (1.5e6, 5e6), "bluesky": (1e6, 3e6), "mastodon": (0.8e6, 2.5e6), "reddit": (2e6, 6e6)}
_B36 = "abcdefghijklmnopqrstuvwxyz0123456789"
_B32_DID = "abcdefghijklmnopqrstuvwxyz234567"


@lru_cache(maxsize=8192)
def bluesky_did(author_id: int) -> str:
    """The `did:plc` the Bluesky routes give an author (same formula), so media URLs name their owner."""
    number = int.from_bytes(hashlib.sha256(f"sim-author-{author_id}".encode()).digest()[:15], "big")
    out = ""
    for _ in range(24):
        number, rest = divmod(number, 32)
        out = _B32_DID[rest] + out
    return f"did:plc:{out}"


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(alphabet[i % len(alphabet)] for i in rng.randbytes(length))


def _media_item(
    rng: random.Random,
    platform: str,
    post_id: int,
    index: int,
    mtype: str,
    kind: str,
    author: SimAuthor,
    alt: str | None,
) -> SimMedia:
    """One attachment, with the URL shapes, sizes and limits of the platform's own media host."""
    if mtype == "photo":
        width, height = _choice(rng, _PHOTO_SIZES)
        edge = _MAX_EDGE.get(platform)
        if edge and max(width, height) > edge:
            scale = edge / max(width, height)
            width, height = round(width * scale), round(height * scale)
        size = int(width * height * rng.uniform(0.08, 0.35))
        duration = None
    else:
        width, height = _choice(rng, _VIDEO_SIZES)
        low, high = {"tutorial": (60, 900), "unboxing": (30, 300), "meme": (3, 12)}.get(kind, (8, 180))
        duration = rng.randint(low, high) * 1000 + rng.randrange(1000)
        cap = _MAX_VIDEO_MS.get(platform)
        if cap is not None and duration > cap:
            duration = rng.randint(cap // 2, cap)  # people trim to the platform's limit, not exactly to it
        size = int(duration / 1000 * rng.uniform(*_VIDEO_BITRATE[platform]) / 8)
    serial = post_id * 100 + index
    if platform == "x":
        name = base64.urlsafe_b64encode(rng.randbytes(12)).decode()[:15]
        if mtype == "photo":
            key, url = f"3_{serial}", f"https://pbs.twimg.com/media/{name}.jpg"
            preview = f"https://pbs.twimg.com/media/{name}?format=jpg&name=small"
        elif mtype == "gif":
            key, url = f"16_{serial}", f"https://video.twimg.com/tweet_video/{name}.mp4"
            preview = f"https://pbs.twimg.com/tweet_video_thumb/{name}.jpg"
        else:
            key = f"7_{serial}"
            url = f"https://video.twimg.com/ext_tw_video/{serial}/pu/vid/avc1/{width}x{height}/{name}.mp4"
            preview = f"https://pbs.twimg.com/ext_tw_video_thumb/{serial}/pu/img/{name}.jpg"
    elif platform == "reddit":
        key = _token(rng, _B36, 13)
        if mtype == "video":
            url = f"https://v.redd.it/{key}/DASH_{min(width, height)}.mp4"
            preview = f"https://preview.redd.it/{key}.png?format=pjpg&auto=webp"
        else:
            ext = "gif" if mtype == "gif" else _choice(rng, ("jpeg", "jpeg", "png"))
            url = f"https://i.redd.it/{key}.{ext}"
            preview = f"https://preview.redd.it/{key}.{ext}?width=640&crop=smart&auto=webp"
    elif platform == "bluesky":
        did = bluesky_did(author.id)
        key = "bafkrei" + base64.b32encode(rng.randbytes(32)).decode().lower().rstrip("=")[:52]
        if mtype == "video":
            url = f"https://video.bsky.app/watch/{quote(did, safe='')}/{key}/playlist.m3u8"
            preview = f"https://video.bsky.app/watch/{quote(did, safe='')}/{key}/thumbnail.jpg"
        else:
            url = f"https://{BSKY_MEDIA_HOST}/img/feed_fullsize/plain/{did}/{key}@jpeg"
            preview = f"https://{BSKY_MEDIA_HOST}/img/feed_thumbnail/plain/{did}/{key}@jpeg"
    else:
        key = str(110_000_000_000_000_000 + serial)
        path = "/".join(key[i : i + 3] for i in range(0, 18, 3))
        stem = f"{rng.getrandbits(64):016x}"
        base = f"https://files.mastodon.social/media_attachments/files/{path}"
        if mtype == "photo":
            url, preview = f"{base}/original/{stem}.jpeg", f"{base}/small/{stem}.jpeg"
        else:
            url, preview = f"{base}/original/{stem}.mp4", f"{base}/small/{stem}.png"
    return SimMedia(key, mtype, url, preview, width, height, duration, size, alt)


def _media(
    rng: random.Random, platform: str, post_id: int, kind: str, lang: str, author: SimAuthor, slots: _Slots
) -> tuple[SimMedia, ...]:
    p_photo, p_video = _MEDIA_PLAN[kind]
    roll = rng.random()
    if roll < p_video:
        mtype, count = "video", 1
    elif roll < p_video + p_photo:
        gif_chance = {"x": 0.3, "mastodon": 0.2, "reddit": 0.15}.get(platform, 0.0) if kind == "meme" else 0.0
        if rng.random() < gif_chance:
            mtype, count = "gif", 1
        else:
            mtype = "photo"
            count = 1 if platform == "reddit" or kind != "photo" else _choice(rng, (1, 1, 1, 2, 2, 3, 4))
    else:
        return ()
    subject = "video" if mtype == "video" else _ALT_SUBJECT.get(kind, "product")
    items: list[SimMedia] = []
    for index in range(count):
        alt = None
        if not author.is_bot and rng.random() < _ALT_TEXT_CHANCE[platform]:
            alt = _choice(rng, _ALT_TEXTS[(lang, subject)]).format_map(slots)
        items.append(_media_item(rng, platform, post_id, index, mtype, kind, author, alt))
    return tuple(items)


# --------------------------------------------------------------------------- metrics


def _metrics(
    rng: random.Random, platform: str, kind: str, followers: int, reply: bool, has_media: bool
) -> tuple[int, int, int, int, int | None]:
    """Heavy-tailed engagement: a followers-driven base times a lognormal draw, with rare viral hits."""
    exponent = 0.5 if platform == "reddit" else 0.72
    base = (followers + 20) ** exponent * _PLATFORM_ENGAGEMENT[platform] * _ENGAGEMENT[kind]
    base *= rng.lognormvariate(0.0, 1.1)
    if has_media:
        base *= 1.4
    if rng.random() < 0.01:
        base *= rng.uniform(20.0, 200.0)
    if reply:
        base *= 0.15
    # Even a viral post rarely gets likes from more than a third of an audience (plus strangers).
    likes = min(int(base), followers // 3 + 2_000)
    if platform == "reddit":
        likes = max(1, likes)  # a submission starts with its author's own upvote
        replies = int(likes * rng.uniform(0.1, 0.6))
        return likes, int(likes * rng.uniform(0.0, 0.02)), replies, 0, None
    reposts = int(likes * rng.uniform(0.03, 0.25))
    replies = int(likes * rng.uniform(0.02, 0.12) + rng.random() * 1.5)
    quotes = int(reposts * rng.uniform(0.0, 0.15)) if platform != "mastodon" else 0
    views = None
    if platform == "x":
        views = int(followers * rng.uniform(0.03, 0.4) + likes * rng.uniform(20.0, 80.0)) + rng.randrange(
            3, 150
        )
    return likes, reposts, replies, quotes, views


# --------------------------------------------------------------------------- text


_HASHTAG_RE = re.compile(r"(?<![\w&/#])#([^\W\d_][\w]*)")


def _compose(rng: random.Random, parts: _Parts, slots: _Slots) -> str:
    return " ".join(p for p in (_choice(rng, pool).format_map(slots) for pool in parts) if p)


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _hashtags(
    rng: random.Random, compiled: _Compiled, ctx: _ProductCtx, kind: str, lang: str, platform: str
) -> list[str]:
    tags: list[str] = []
    if compiled.brand_tags and rng.random() < _BRAND_TAG_CHANCE[platform]:
        brand_tag = _choice(rng, compiled.brand_tags)
        # Mastodon's convention: CamelCase tags, which screen readers can pronounce.
        camel = "".join(w[:1].upper() + w[1:] for w in _strip_accents(compiled.spec.brand).split())
        tags.append(
            camel if platform == "mastodon" and camel.casefold() == brand_tag.casefold() else brand_tag
        )
    extra = rng.randint(0, _TOPIC_TAGS_MAX[platform])
    if extra:
        # Line tags (#trailrunning) only when the post is about a product of that line.
        topical = _KIND_TAGS.get((kind, lang), ()) + (ctx.line.tags[lang] if ctx.spec is not None else ())
        for tag in rng.sample(topical, min(extra, len(topical))):
            if tag not in tags:
                tags.append(tag)
        if ctx.spec is not None and rng.random() < 0.15:
            tags.append(_strip_accents(ctx.spec.name).replace(" ", "").casefold())
    return tags


# --------------------------------------------------------------------------- the generator


def _pick_kind(rng: random.Random, compiled: _Compiled, platform: str) -> str:
    cum = compiled.kind_cum.get(platform) or compiled.kind_cum[""]
    return KINDS[bisect(cum, rng.random() * cum[-1])]


def _author_for(rng: random.Random, pool: _Pool, kind: str, lang: str, source: str | None) -> SimAuthor:
    if kind == "spam":
        return _choice(rng, pool.bots[lang])
    if source in ("news", "job"):
        return _choice(rng, pool.outlets[(lang, source)])
    if kind == "offtopic":
        return _choice(rng, pool.users[lang])  # ordinary people, not the brand's fans
    if kind in _CELEB_KINDS and rng.random() < _CELEB_CHANCE:
        return _choice(rng, pool.celebs[lang])
    cum = pool.cum[lang]
    return pool.users[lang][bisect(cum, rng.random() * cum[-1])]


def generate_post(rng: random.Random, spec: WorldSpec, platform: str, post_id: int, now: datetime) -> SimPost:
    """Make one post for `platform` about `spec`'s brand (see the module docstring for the design).

    `created_at` is `now` minus up to two minutes, so a growing world moves forward in time.
    """
    compiled = _compiled(spec)
    pool = _pool(compiled, platform)
    memory = _memory(rng)
    lang = "es" if rng.random() < _SPANISH_SHARE else "en"
    kind = _pick_kind(rng, compiled, platform)
    if kind == "comparison" and not spec.products:
        kind = "review"

    # What the post is about.
    about_product = (
        bool(spec.products)
        and kind not in ("spam", "offtopic")
        and (kind not in _PRODUCT_CHANCE or rng.random() < _PRODUCT_CHANCE[kind])
    )
    ctx = _choice(rng, compiled.products) if about_product else compiled.brand_ctx
    slots = _Slots(ctx.static[lang], rng, compiled, ctx, lang, platform)

    # Is it a reply to an earlier post on this platform?
    roots = memory.roots.get((platform, lang))
    parent: _Root | None = None
    if roots and kind in _REPLY_CHANCE and rng.random() < _REPLY_CHANCE[kind]:
        candidate = _choice(rng, roots)
        if candidate.id < post_id:
            parent = candidate

    source: str | None = None
    positive = True
    if kind == "spam":
        text = _choice(rng, compiled.spam[lang])
    elif kind == "offtopic":
        source, template = _choice(rng, _OFFTOPIC[lang])
        text = template.format_map(slots)
    elif kind == "review":
        positive = rng.random() < 0.7
        slots["stars"] = _choice(rng, ("4", "4.5", "5", "5") if positive else ("1", "2", "2", "1.5"))
        if lang == "es":
            slots["stars"] = slots["stars"].replace(".", ",")
        text = _compose(rng, _REVIEW_TEMPLATES[(lang, positive)], slots)
    else:
        parts = _TEMPLATES.get((kind, lang, "p" if about_product else "b")) or _TEMPLATES[(kind, lang, "p")]
        text = _compose(rng, parts, slots)

    author = _author_for(rng, pool, kind, lang, source)
    limit = _TEXT_LIMITS.get(platform, 500)
    if (
        platform == "reddit"
        and parent is None
        and kind not in ("spam", "offtopic", "meme")
        and rng.random() < 0.6
    ):
        text += " " + _choice(rng, _REDDIT_MORE[lang]).format_map(slots)
    if parent is not None:
        opener = _choice(rng, _REPLY_OPENERS[lang])
        if opener and kind != "spam":
            text = f"{opener} {text}"
        if platform == "bluesky":
            text = f"@{parent.handle}.bsky.social {text}"
        elif platform in ("x", "mastodon"):
            text = f"@{parent.handle} {text}"
    if kind not in ("spam", "offtopic") and platform in ("x", "bluesky", "mastodon"):
        roll = rng.random()
        if lang == "en" and roll < 0.08:
            text = text.lower()  # casual posting
        elif lang == "es" and roll < 0.2:
            text = text.replace("¿", "").replace("¡", "")  # as most people actually type on a phone

    # Hashtags go at the end, only as many as fit.
    text = _fit(text, limit)
    if kind not in ("spam", "offtopic") and (parent is None or rng.random() < 0.1):
        for tag in _hashtags(rng, compiled, ctx, kind, lang, platform):
            if len(text) + len(tag) + 2 > limit:
                break
            # Mastodon users tend to put their tags on a line of their own.
            separator = "\n\n" if platform == "mastodon" and "#" not in text else " "
            text = f"{text}{separator}#{tag}"
    hashtags = tuple(dict.fromkeys(t.casefold() for t in _HASHTAG_RE.findall(text)))

    media = _media(rng, platform, post_id, kind, lang, author, slots)
    likes, reposts, replies, quotes, views = _metrics(
        rng, platform, kind, author.followers, parent is not None, bool(media)
    )
    created_at = now - timedelta(microseconds=rng.randrange(120_000_000))
    if parent is not None:  # a reply comes after what it answers
        created_at = max(created_at, min(now, parent.created_at + timedelta(seconds=rng.uniform(5.0, 90.0))))

    title: str | None = None
    subreddit: str | None = None
    if platform == "reddit":
        subreddit = (
            parent.subreddit if parent is not None and parent.subreddit else _choice(rng, compiled.subreddits)
        )
        if parent is None:
            titles = _REDDIT_TITLES.get((kind, lang))
            if titles:
                # A title names the product when the post is about one, and only the brand otherwise.
                fitting = tuple(t for t in titles if ("{name}" in t) == about_product)
                title = _choice(rng, fitting or titles).format_map(slots)
            else:
                title = _fit(text.split("\n")[0].split(". ")[0], 120)

    if parent is None and kind not in ("spam", "offtopic"):
        key = (platform, lang)
        if key not in memory.roots:
            memory.roots[key] = deque(maxlen=64)
        memory.roots[key].append(_Root(post_id, author.handle, subreddit, created_at))

    return SimPost(
        id=post_id,
        platform=platform,
        created_at=created_at,
        text=text,
        lang=lang,
        author=author,
        kind=kind,
        media=media,
        likes=likes,
        reposts=reposts,
        replies=replies,
        quotes=quotes,
        views=views,
        title=title,
        subreddit=subreddit,
        reply_to=parent.id if parent is not None else None,
        hashtags=hashtags,
        product=ctx.spec.name if about_product and ctx.spec is not None else None,
    )


def _check_templates() -> None:
    """Fail at import, not mid-demo, if an edit to the data leaves a kind without product templates."""
    missing = [
        f"{kind}/{lang}"
        for kind in KINDS
        if kind not in ("review", "spam", "offtopic")
        for lang in ("en", "es")
        if (kind, lang, "p") not in _TEMPLATES
    ]
    if missing:
        raise RuntimeError(f"generator templates missing: {missing}")


_check_templates()
