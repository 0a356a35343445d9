"""The one slug rule: the form brand and product names take in public URLs (`/gallery/{brand}`).

Kept in `tesoro.text` so the settings (which refuse two brands with one slug at start-up) and the
store (which finds a brand by the slug in a gallery URL) fold names the same way.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["slugify"]

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def slugify(name: str) -> str:
    """'Andes Outdoor' -> 'andes-outdoor': accents dropped, case folded, anything else one '-'.

    "Andés Outdoor" and "ACME" / "Acme" fold to the same slugs as their plain spellings, which is
    why the settings refuse two brands whose names only differ that way. A name with no ASCII
    letter or digit has the empty slug.
    """
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return _NOT_SLUG.sub("-", plain.lower()).strip("-")
