"""Reading an author's answer to a rights request: granted, declined, revoked or needs review.

A wrong grant is a legal risk (the brand would publish without permission), a missed grant
only costs a coordinator a click, so the rules lean to "needs review" whenever a reply is not
a plain yes:

1. **Another account never grants.** A reply from anyone but the post's author (a friend, a
   "manager", a bystander typing the hashtag) is shown for review and nothing else.
2. **Hidden characters** (bidirectional overrides, zero-width spaces inside words) make a text
   read differently than it looks: review.
3. **Revocation** ("please remove", "take it down", "quítenla", "retiro mi permiso") is its own
   verdict, whatever else the reply says: the workflow revokes a grant or declines a request.
4. **Sarcasm** markers (🙄, 🙃, "/s", "yeah right", "work for free", "ni loca") and **questions**
   ("?", "¿") go to review, even with the hashtag.
5. A **no** ("no thanks", "prefiero que no", "I'd rather not") declines, unless the reply also
   says yes ("yes but not for ads"): then it is a condition, for review.
6. **Conditions** ("but credit me", "solo si me pagan", "only on your website", a time limit)
   go to review: the coordinator decides whether the brand can meet them.
7. The brand's **approval hashtag**, written as a hashtag and exactly (folded: case and accents
   do not matter, a look-alike letter or an extra character does), grants. So does a plain
   **yes in words** ("yes, go ahead", "sí, claro", "por supuesto, úsenla").
8. Anything else ("thanks!", "❤️", "let me think") needs review.

Every verdict carries its reason, with the words that decided it, for the coordinator's screen.
The rules were chosen on the training part of `bench/data/rights_replies.jsonl`; `bench/rights.py`
measures them on the held-out part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from tesoro.text.fold import WORD, fold, padded_words

__all__ = ["ReplyClass", "ReplyVerdict", "classify_reply", "has_approval_hashtag"]


class ReplyVerdict(StrEnum):
    GRANTED = "granted"
    DECLINED = "declined"
    REVOKED = "revoked"
    NEEDS_REVIEW = "needs_review"


@dataclass(frozen=True, slots=True)
class ReplyClass:
    verdict: ReplyVerdict
    reason: str


# Bidirectional embeddings/overrides/isolates, and the invisible characters that can split or
# disguise a word (the zero-width joiner only between letters: emoji sequences use it legitimately).
_HIDDEN = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200b\u200c\u2060\ufeff\u00ad]|(?<=\w)\u200d(?=\w)")


def _phrases(*items: str) -> re.Pattern[str]:
    """A pattern matching any of `items` as whole folded words inside `padded_words` text.

    An item ending in "*" matches any word starting with it ("quit*": quiten, quitarla).
    """
    parts = []
    for item in items:
        words = item.split()
        body = r" ".join(re.escape(w.rstrip("*")) + (r"\w*" if w.endswith("*") else "") for w in words)
        parts.append(body)
    return re.compile(r" (?:" + "|".join(parts) + r") ")


_REVOKE = _phrases(
    "remove*", "take it down", "take down", "take my", "delete*", "withdraw*", "revoke*", "no longer",
    "stop using", "changed my mind", "quit*", "bajen*", "saquen*", "borr*", "elimin*", "retiro", "revoco",
    "ya no", "dejen de usar", "cambie de opinion",
)  # fmt: skip
_SARCASM_MARKS = ("🙄", "🙃", "😒", "/s")
_SARCASM = _phrases(
    "yeah right", "as if", "lmao", "lol", "for free", "free content", "free stuff", "exposure",
    "apparently", "jaja*", "gratis", "exposicion", "aparentemente", "millonaria", "y yo soy", "and i m the",
)  # fmt: skip
_CONDITION = _phrases(
    "but", "as long as", "only if", "if you", "provided", "only on", "only for", "only this",
    "only instagram", "fee", "pay*", "paid", "credit*", "tag me", "mention*", "crop*", "blur*", "link my",
    "months", "a year",
    "discount*", "before it", "pero", "siempre que", "solo si", "si me", "si nos", "si ponen", "mientras",
    "credito", "etiquet*", "mencion*", "pag*", "tarifa", "descuento", "solo en", "solo por", "solo esta",
    "meses", "un ano", "anuncio*", "publicidad", "antes de que", "difumin*", "recort*",
)  # fmt: skip
# A yes word under a no ("no autorizo", "no doy mi permiso"): removed before looking for a yes.
_NEGATED_YES = _phrases(
    "no autorizo", "no doy mi permiso", "no tienen mi permiso", "not sure", "no you can t"
)
# The conditions that also read as a polite no ("thanks but no"): not a condition on their own.
_SOFT_CONDITION = _phrases("but", "pero")
# Idioms with "no" that mean yes: removed before looking for a no.
_POSITIVE_NO = _phrases(
    "no problem", "no worries", "why not", "not at all", "no doubt", "no hay problema", "sin problema",
    "no te preocupes", "como no", "por que no",
)  # fmt: skip
_NO = _phrases(
    "no", "nope", "nah", "not", "don t", "dont", "do not", "never", "decline", "pass", "rather not",
    "prefer you didn t", "nop", "nel", "nunca", "paso", "mejor no", "prefiero que no", "preferiria que no",
    "no autorizo", "no acepto", "ni loca", "ni loco",
)  # fmt: skip
_YES = _phrases(
    "yes", "yep", "yeah", "yup", "sure", "of course", "absolutely", "go ahead", "go for it", "feel free",
    "permission granted", "my permission", "my consent", "happy to", "please do", "please use", "you can",
    "you may", "totally fine", "it s fine", "its fine", "honored", "honoured", "no problem", "no worries",
    "si", "claro", "por supuesto", "adelante", "dale", "con gusto", "con mucho gusto", "encantad*",
    "mi permiso", "autorizo", "sin problema", "no hay problema", "obvio", "como no", "pueden",
    "usenla", "esta bien", "me encantaria",
)  # fmt: skip


def _found(pattern: re.Pattern[str], padded: str) -> str | None:
    # Overlapping matches share their boundary space, so search word by word from each space.
    match = pattern.search(padded)
    return match.group(0).strip() if match else None


def has_approval_hashtag(text: str, hashtag: str) -> bool:
    """Whether `text` holds `hashtag` written as a hashtag, the same word once folded.

    "#yesandes", "#YESANDES" and "#YesAndes!" count for "#YesAndes"; "#YesAndes2", "#NotYesAndes",
    "Yes Andes" and a look-alike letter (a Cyrillic "ie" for the "e") do not.
    """
    wanted = fold(hashtag.lstrip("#").strip())
    if not wanted:
        return False
    for match in WORD.finditer(text):
        if text[match.start() - 1 : match.start()] == "#" and fold(match.group(0)) == wanted:
            # The hashtag ends at a word boundary: "#YesAndes_x" is another hashtag.
            after = text[match.end() : match.end() + 1]
            if after != "_":
                return True
    return False


def classify_reply(text: str, *, hashtag: str, from_author: bool) -> ReplyClass:
    """The verdict on one reply to a rights request, with its reason (see the module docstring)."""
    if not from_author:
        return ReplyClass(ReplyVerdict.NEEDS_REVIEW, "reply from another account, not the post's author")
    if _HIDDEN.search(text):
        return ReplyClass(ReplyVerdict.NEEDS_REVIEW, "hidden control characters in the reply")
    padded = padded_words(text)
    cue = _found(_REVOKE, padded)
    if cue:
        return ReplyClass(ReplyVerdict.REVOKED, f"asks to remove or withdraws permission: {cue!r}")
    mark = next((m for m in _SARCASM_MARKS if m in text), None) or _found(_SARCASM, padded)
    if mark:
        return ReplyClass(ReplyVerdict.NEEDS_REVIEW, f"may be sarcastic: {mark!r}")
    if "?" in text or "¿" in text:
        return ReplyClass(ReplyVerdict.NEEDS_REVIEW, "asks a question")
    tagged = has_approval_hashtag(text, hashtag)
    yes = _found(_YES, _NEGATED_YES.sub(" ", padded))
    no = _found(_NO, _POSITIVE_NO.sub(" ", padded))
    condition = _found(_CONDITION, padded)
    if no and not (tagged or yes):
        if condition and not _SOFT_CONDITION.fullmatch(f" {condition} "):
            return ReplyClass(ReplyVerdict.NEEDS_REVIEW, f"says no ({no!r}) to part of it: {condition!r}")
        return ReplyClass(ReplyVerdict.DECLINED, f"says no: {no!r}")
    if no:
        return ReplyClass(ReplyVerdict.NEEDS_REVIEW, f"says yes and no ({no!r}): a condition?")
    if condition:
        return ReplyClass(ReplyVerdict.NEEDS_REVIEW, f"sets a condition: {condition!r}")
    if tagged:
        return ReplyClass(ReplyVerdict.GRANTED, f"approval hashtag {hashtag}")
    if yes:
        return ReplyClass(ReplyVerdict.GRANTED, f"yes in words: {yes!r}")
    return ReplyClass(ReplyVerdict.NEEDS_REVIEW, "no clear answer")
