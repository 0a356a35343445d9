"""Brand safety: profanity / offensive / adult / hateful text, and spam or bot signals.

Lexicons (English and Spanish) catch the unambiguous cases cheaply and explain
themselves ("contains 'mierda'"), which a coordinator needs before rejecting a
post. The learned offensive head (tweeteval_offensive) catches the rest; the
pipeline takes the larger of the two. Spam combines independent signals
(links, shorteners, duplicate text across accounts, follow-farming ratios,
promo phrases, hashtag stuffing) as `1 - prod(1 - p_i)`, so one weak signal
never condemns a post but several together do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "FLAG_SAFETY",
    "PROMO_STEP",
    "UNSAFE_CATEGORIES",
    "UNTARGETED_HEAD_WEIGHT",
    "SafetyResult",
    "SpamResult",
    "flag_safety",
    "lexicon_safety",
    "spam_score",
    "text_safety",
    "with_flags",
]


def _words(*words: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\w])(?:" + "|".join(words) + r")(?![\w])", re.IGNORECASE)


_PROFANITY = _words(
    r"f+u+c+k\w*",
    r"f\*+k\w*",
    r"sh[i1]t+\w*",
    r"bullshit",
    r"bitch\w*",
    r"asshole\w*",
    r"ass",
    r"dick\w*",
    r"crap",
    r"damn",
    r"wtf",
    r"stfu",
    r"piss\w*",
    r"bastard\w*",
    r"cunt\w*",
    r"motherf\w+",
    r"mierda\w*",
    r"put[ao]s?",
    r"put[ií]sim[oa]s?",
    r"joder",
    r"jodid[oa]s?",
    r"co[ñn]o",
    r"cabr[oó]n\w*",
    r"pendej[oa]s?",
    r"gilipollas",
    r"chingad[oa]s?",
    r"ching[ao]",
    r"verga",
    r"carajo",
    r"hostia",
    r"culero",
    r"mamada",
    r"hdp",
    r"ctm",
    r"pinche",
)
# Name-calling: nouns that only ever describe a person ("idiot", "imbécil"), offensive wherever they occur.
_INSULT = _words(
    r"idiots?",
    r"moron\w*",
    r"loser\w*",
    r"retard\w*",
    r"scum\w*",
    r"dumbass\w*",
    r"dumb ?fuck\w*",
    r"cunts?",
    r"sluts?",
    r"whores?",
    r"creeps?",
    r"freaks?",
    r"old hag",
    r"(?:fat|ugly) (?:pig|cow|bitch|slut)",
    r"waste of (?:oxygen|space)",
    r"kill yourself",
    r"kys",
    r"go die",
    r"fuck (?:you|off)",
    r"stfu",
    r"idiota\w*",
    r"imb[eé]cil\w*",
    r"subnormal\w*",
    r"gilipollas",
    r"pendej[oa]s?",
    r"zorras?",
    r"guarras?",
    r"perdedor\w*",
    r"pringad[oa]s?",
    r"babos[oa]s?",
    r"hij[oa]s? de (?:puta|perra)",
    r"cabr[oó]n\w*",
    r"tont[oa] del culo",
    r"asco de persona",
    r"(?:vaca|foca) (?:fea|gorda)",
    r"viej[oa] asqueros[oa]",
    r"m[aá]tate",
    r"que (?:te|os) jodan",
    r"borregos? sin cerebro",
)
# Words that insult a person when aimed at one and describe a product otherwise ("the hip belt is
# pathetic", "esta chaqueta es basura"): offensive only when the post addresses someone (see _TARGET).
_AIMED = _words(
    r"stupid",
    r"dumb",
    r"pathetic",
    r"useless",
    r"worthless",
    r"ugly",
    r"fat",
    r"disgusting",
    r"garbage",
    r"trash",
    r"bitch",
    r"bastard\w*",
    r"asshole\w*",
    r"shut (?:up|your)",
    r"embarrassment",
    r"nobody (?:likes|wants|asked)",
    r"delete your account",
    r"est[uú]pid[oa]s?",
    r"tont[oa]s?",
    r"in[uú]til\w*",
    r"basura",
    r"pat[eé]tic[oa]s?",
    r"fe[oa]s?",
    r"gord[oa]s?",
    r"asqueros[oa]s?",
    r"c[aá]llate",
    r"cierra la boca",
    r"das pena",
    r"verg[uü]enza",
    r"nadie te",
    r"de mierda",
)
# A post that addresses or singles out a person: a mention, "you are", "eres", "this guy", "esa chica".
# The generic "you" and "tu" of a how-to ("so your heel stops slipping", "tu mochila") are not: a bare
# "you" counts only right before the insult ("you stupid bastard").
_TARGET = re.compile(
    r"@\w+|(?<!\w)(?:you(?:'re| are| r)|u r|yourself|eres|sois|est[aá]s|tú|"
    r"(?:this|that|the) (?:guy|girl|woman|man|influencer|hiker|driver)|"
    r"(?:el|la|ese|esa|este|esta) (?:t[ií][oa]|chic[oa]|influencer|montañer[oa]|guía))(?!\w)",
    re.IGNORECASE,
)
_YOU_BEFORE = re.compile(r"(?<!\w)(?:you|tú)\s+(?:\w+\s+)?$", re.IGNORECASE)
_HATE = _words(
    r"n[i1]gg\w+",
    r"fag\w*",
    r"faggot\w*",
    r"tranny",
    r"kike\w*",
    r"spics?",
    r"chink\w*",
    r"wetback\w*",
    r"sudaca\w*",
    r"maric[oó]n\w*",
    r"negrat\w*",
    r"travelos?",
    r"moros?",
    r"mor[oa] de mierda",
    r"subhuman\w*",
    r"infrahuman\w*",
    r"go back to your country",
    r"vu[eé]lvete a tu pa[ií]s",
    r"send them (?:all )?back",
    r"que los echen",
    r"(?:all|son todos) (?:terrorists|terroristas)",
    r"they(?:'re| are) animals",
    r"son animales",
    r"(?:women|mujeres) (?:shouldn't|should not|no deber[ií]an)",
    r"(?:blacks|los negros) (?:don't|do not|no)",
    r"(?:jews|los jud[ií]os) (?:own|control|controlan)",
    r"(?:gay people|los gays) (?:ruin|lo arruinan)",
)
_THREAT = _words(
    r"i know where you live",
    r"s[eé] d[oó]nde vives",
    r"watch your back",
    r"i(?:'ll| will| am going to|'m going to|'m gonna| gonna) (?:kill|hurt|break|smash|burn|shoot|find|stab|"
    r"beat|push|put you)",
    r"(?:he|you)(?:'s|'re| is| are) dead meat",
    r"(?:hombre|mujer) muert[oa]",
    r"someone should (?:shoot|kill|hurt)",
    r"i hope (?:you|your)[\w ]{0,20} (?:die|dies|crash|crashes)",
    r"your address is",
    r"tu direcci[oó]n",
    r"see what happens",
    r"(?:te|le|os) (?:parto|reviento|mato|quemo|tiro por|mando al hospital|voy a (?:matar|encontrar|"
    r"reventar|partir))",
    r"voy a matar",
    r"(?:pegarle|pegarte) un tiro",
    r"ojal[aá] (?:te mueras|se estrelle|te estrelles)",
)
_ADULT = _words(
    r"porn\w*",
    r"xxx",
    r"nsfw",
    r"nudes?",
    r"naked",
    r"onlyfans",
    r"only fans",
    r"explicit content",
    r"uncensored",
    r"sex",
    r"sex cam\w*",
    r"cam ?girls?",
    r"horny",
    r"18\+",
    r"\+18",
    r"takes? it all off",
    r"fuck the (?:girl|guy)",
    r"porno\w*",
    r"desnud[oa]s?",
    r"sexo",
    r"follar\w*",
    r"follar[ií]a",
    r"cachond[oa]s?",
    r"contenido expl[ií]cito",
    r"sin censura",
    r"se lo quita todo",
    r"caliente(?:s)? (?:en|por) dm",
    r"contenido \+18",
)
_URL = re.compile(r"https?://\S+|www\.\S+|\{link\}", re.IGNORECASE)
_SHORTENER = re.compile(
    r"(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl|ow\.ly|is\.gd|cutt\.ly|shorturl\.at|rb\.gy)/", re.IGNORECASE
)
_PROMO = re.compile(
    r"follow ?back|f4f|follow (?:4|for) follow|dm (?:me )?for (?:promo|collab)|free followers|"
    r"click (?:the |this )?link|click here|link in bio|giveaway|earn \$?\d+|make money|crypto|airdrop|"
    r"promo code|discount code|use code|\d+% off|"
    r"s[ií]gueme|te sigo(?: de vuelta)?|seguidores gratis|gana dinero|dinero f[aá]cil|sorteo|"
    r"link en (?:la )?bio|c[oó]digo de descuento|haz clic|pincha aqu[ií]|entra (?:en|aqu[ií])|cripto|"
    r"colaboraciones por dm",
    re.IGNORECASE,
)
_HASHTAG = re.compile(r"(?<!\w)#\w+")


# The categories that make a post unsafe (the curator filters it at `unsafe_threshold`). Profanity and
# a content warning only lower the safety part of the treasure score: "this zipper is a damn joke" is a
# complaint a brand wants to read, not abuse.
UNSAFE_CATEGORIES: frozenset[str] = frozenset({"offensive", "hate", "threat", "adult", "nsfw"})
# The offensive head (trained on English tweets, where swearing counts as offensive) reads mud, crime
# scenes and "no joke" as abuse; its probability counts in full only when the post singles someone
# out, and at this fraction otherwise (so alone it never reaches the filter).
UNTARGETED_HEAD_WEIGHT = 0.5
# How much each further distinct promo phrase adds to the first one's 0.3 in the spam score.
PROMO_STEP = 0.2


@dataclass(frozen=True, slots=True)
class SafetyResult:
    """Scores in 0..1 per category, the matched words that explain them, and whether someone is addressed."""

    profanity: float
    offensive: float
    hate: float
    threat: float
    adult: float
    matches: tuple[str, ...]
    targeted: bool = False

    def as_dict(self) -> dict[str, float]:
        return {
            "profanity": self.profanity,
            "offensive": self.offensive,
            "hate": self.hate,
            "threat": self.threat,
            "adult": self.adult,
        }


def lexicon_safety(text: str) -> SafetyResult:
    """Lexicon-only scores: 1.0 when a listed word occurs (0.6 for mild profanity), else 0.

    Profanity never makes a post offensive by itself; name-calling does, and so do words such as
    "stupid" or "basura" when the post addresses or singles out a person (see `_TARGET`).
    """
    profane = [m.group(0) for m in _PROFANITY.finditer(text)]
    insults = [m.group(0) for m in _INSULT.finditer(text)]
    targeted = _TARGET.search(text) is not None
    aimed = [
        m.group(0)
        for m in _AIMED.finditer(text)
        if targeted or _YOU_BEFORE.search(text, 0, m.start()) is not None
    ]
    hate = [m.group(0) for m in _HATE.finditer(text)]
    threats = [m.group(0) for m in _THREAT.finditer(text)]
    adult = [m.group(0) for m in _ADULT.finditer(text)]
    mild = {"damn", "crap", "wtf", "hostia", "carajo"}
    profanity = 0.0
    if profane:
        profanity = 0.6 if all(word.casefold() in mild for word in profane) else 1.0
    offensive = max(0.9 if insults or aimed else 0.0, 1.0 if hate else 0.0)
    return SafetyResult(
        profanity=profanity,
        offensive=offensive,
        hate=1.0 if hate else 0.0,
        threat=1.0 if threats else 0.0,
        adult=1.0 if adult else 0.0,
        matches=tuple(dict.fromkeys(profane + insults + aimed + hate + threats + adult)),
        targeted=targeted or bool(aimed),
    )


def text_safety(text: str, offensive_head: float) -> dict[str, float]:
    """The safety scores a post's text gets: the lexicon's, with the offensive head's probability.

    The head counts in full when the post singles someone out, at `UNTARGETED_HEAD_WEIGHT` otherwise.
    """
    lexicon = lexicon_safety(text)
    safety = lexicon.as_dict()
    head = offensive_head if lexicon.targeted else offensive_head * UNTARGETED_HEAD_WEIGHT
    safety["offensive"] = round(max(safety["offensive"], head), 4)
    return safety


@dataclass(frozen=True, slots=True)
class SpamResult:
    score: float
    reasons: tuple[str, ...]


def spam_score(
    text: str,
    *,
    followers: int | None = None,
    following: int | None = None,
    duplicate_accounts: int = 1,
    hashtags: int | None = None,
) -> SpamResult:
    """Probability-like spam score in 0..1 with the reasons behind it.

    `duplicate_accounts` is how many distinct accounts posted this exact text (the store
    knows, via the content hash); copy-paste campaigns are the clearest bot signal.
    """
    signals: list[tuple[float, str]] = []
    links = len(_URL.findall(text))
    if links >= 2:
        signals.append((0.3, f"{links} links"))
    if _SHORTENER.search(text):
        signals.append((0.2, "link shortener"))
    if duplicate_accounts >= 3:
        signals.append((0.7, f"same text from {duplicate_accounts} accounts"))
    elif duplicate_accounts == 2:
        signals.append((0.35, "same text from 2 accounts"))
    if following is not None and following >= 1000:
        ratio = (followers or 0) / following
        if ratio < 0.1:
            signals.append((0.35, f"follows {following}, followed by {followers or 0}"))
    promo = list(dict.fromkeys(phrase.casefold() for phrase in _PROMO.findall(text)))
    if promo:
        # One promo phrase is common in a genuine post ("giveaway!"); three different ones are a pitch.
        signals.append((min(0.3 + PROMO_STEP * (len(promo) - 1), 0.8), f"promo phrase {promo[0]!r}"))
    tags = hashtags if hashtags is not None else len(_HASHTAG.findall(text))
    if tags >= 8:
        signals.append((0.3, f"{tags} hashtags"))
    keep = 1.0
    for p, _ in signals:
        keep *= 1.0 - p
    return SpamResult(score=round(1.0 - keep, 4), reasons=tuple(reason for _, reason in signals))


# A platform's own safety flags (`models.CONTENT_FLAGS`) as safety scores. The platform or the author
# saw the media, which no text scorer does: a post marked NSFW (Reddit `over_18`) or whose media are
# hidden behind a warning (Mastodon `sensitive`) is unsafe whatever its text says. A content warning
# alone (a spoiler) lowers the safety part of the treasure score without filtering the post.
FLAG_SAFETY: dict[str, tuple[str, float]] = {
    "nsfw": ("nsfw", 1.0),
    "sensitive": ("nsfw", 1.0),
    "spoiler": ("content_warning", 0.4),
}


def flag_safety(flags: Iterable[str]) -> dict[str, float]:
    """The safety scores the platform flags imply, by category (the highest per category)."""
    scores: dict[str, float] = {}
    for flag in flags:
        if flag in FLAG_SAFETY:
            name, value = FLAG_SAFETY[flag]
            scores[name] = max(scores.get(name, 0.0), value)
    return scores


def with_flags(safety: Mapping[str, float], flags: Iterable[str]) -> dict[str, float]:
    """`safety` with the platform flags' scores merged in (each category keeps the higher score)."""
    merged = dict(safety)
    for name, value in flag_safety(flags).items():
        merged[name] = max(float(merged.get(name) or 0.0), value)
    return merged
