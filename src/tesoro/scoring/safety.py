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
    "SafetyResult",
    "SpamResult",
    "flag_safety",
    "lexicon_safety",
    "spam_score",
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
_INSULT = _words(
    r"idiot\w*",
    r"stupid",
    r"moron\w*",
    r"dumb\w*",
    r"loser\w*",
    r"retard\w*",
    r"scum",
    r"pathetic",
    r"shut up",
    r"kill yourself",
    r"kys",
    r"idiota\w*",
    r"est[uú]pid[oa]s?",
    r"imb[eé]cil\w*",
    r"tont[oa]s?",
    r"in[uú]til\w*",
    r"basura",
    r"subnormal\w*",
    r"m[aá]tate",
    r"c[aá]llate",
)
_HATE = _words(
    r"nigg\w+",
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
    r"mor[oa] de mierda",
    r"go back to your country",
)
_ADULT = _words(
    r"porn\w*",
    r"xxx",
    r"nsfw",
    r"nudes?",
    r"onlyfans",
    r"sex cam\w*",
    r"camgirl\w*",
    r"horny",
    r"porno\w*",
    r"desnud[oa]s?",
    r"caliente(?:s)? (?:en|por) dm",
    r"contenido \+18",
    r"\+18",
)
_URL = re.compile(r"https?://\S+|www\.\S+|\{link\}", re.IGNORECASE)
_SHORTENER = re.compile(
    r"(?:bit\.ly|tinyurl\.com|t\.co|goo\.gl|ow\.ly|is\.gd|cutt\.ly|shorturl\.at|rb\.gy)/", re.IGNORECASE
)
_PROMO = re.compile(
    r"follow ?back|f4f|follow for follow|dm (?:me )?for (?:promo|collab)|free followers|click (?:the )?link|"
    r"link in bio|giveaway|earn \$?\d+|make money|crypto|airdrop|promo code|discount code|use code|"
    r"s[ií]gueme|te sigo de vuelta|gana dinero|dinero f[aá]cil|sorteo|link en (?:la )?bio|"
    r"c[oó]digo de descuento",
    re.IGNORECASE,
)
_HASHTAG = re.compile(r"(?<!\w)#\w+")


@dataclass(frozen=True, slots=True)
class SafetyResult:
    """Scores in 0..1 per category, and the matched words that explain them."""

    profanity: float
    offensive: float
    hate: float
    adult: float
    matches: tuple[str, ...]

    def as_dict(self) -> dict[str, float]:
        return {
            "profanity": self.profanity,
            "offensive": self.offensive,
            "hate": self.hate,
            "adult": self.adult,
        }


def lexicon_safety(text: str) -> SafetyResult:
    """Lexicon-only scores: 1.0 when a listed word occurs (0.6 for mild profanity), else 0."""
    profane = [m.group(0) for m in _PROFANITY.finditer(text)]
    insults = [m.group(0) for m in _INSULT.finditer(text)]
    hate = [m.group(0) for m in _HATE.finditer(text)]
    adult = [m.group(0) for m in _ADULT.finditer(text)]
    mild = {"damn", "crap", "wtf", "hostia", "carajo"}
    profanity = 0.0
    if profane:
        profanity = 0.6 if all(word.casefold() in mild for word in profane) else 1.0
    offensive = max(profanity * 0.8, 0.9 if insults else 0.0, 1.0 if hate else 0.0)
    return SafetyResult(
        profanity=profanity,
        offensive=offensive,
        hate=1.0 if hate else 0.0,
        adult=1.0 if adult else 0.0,
        matches=tuple(profane + insults + hate + adult),
    )


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
    promo = _PROMO.findall(text)
    if promo:
        signals.append((min(0.3 + 0.15 * (len(promo) - 1), 0.6), f"promo phrase {promo[0]!r}"))
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
