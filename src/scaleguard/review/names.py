"""Organisation names compared as a reader sees them, so screening cannot be spelled around.

``organisation_key`` turns a name into the form two names are compared in:

1. Unicode NFKC (full-width ``Ｆｉｃｔｉｏｎａｌ`` becomes ``Fictional``, ligatures split);
2. removal of invisible and format characters (zero-width space and joiners,
   soft hyphen, word joiner, byte-order mark, bidirectional controls: every
   character of Unicode category Cf, Cc, Co or Cn, and the variation selectors);
3. case folding;
4. confusable folding: each remaining non-ASCII character that Unicode's
   confusables data (UTS #39, as shipped by the ``confusable-homoglyphs``
   package) maps to a single ASCII letter or digit is replaced by it
   (Cyrillic ``і`` and ``а``, Greek ``ο`` become ``i``, ``a``, ``o``), then
   case folded again;
5. punctuation as space, and legal-form suffixes stripped from the end
   (``Inc.``, ``LLC``, ``Ltd``, ``GmbH``, ``PBC``, … — :data:`LEGAL_SUFFIXES`),
   repeatedly, so "Fictional Frontier Lab, Inc." and "Fictional Frontier Lab"
   have the same key.

Two names are a *near match* when their keys differ but are very similar
(``difflib`` ratio of at least :data:`NEAR_RATIO`) or one key's words begin
the other's (``Fictional Frontier`` and ``Fictional Frontier Lab``). Screening
reports a near match as a minor conflict for a person to clear: it never
passes silently, and never blocks on its own.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache

#: Legal-form words removed from the end of a name (after punctuation became spaces).
LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "llp",
        "lp",
        "ltd",
        "limited",
        "plc",
        "corp",
        "corporation",
        "co",
        "company",
        "gmbh",
        "ag",
        "kg",
        "ug",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "ab",
        "oy",
        "as",
        "aps",
        "pty",
        "pte",
        "kk",
        "pbc",
        "gk",
        "sl",
        "se",
    }
)
NEAR_RATIO = 0.85
_WORD = re.compile(r"[^\w]+", re.UNICODE)


@lru_cache(maxsize=1)
def _prototypes() -> dict[str, str]:
    """Non-ASCII character -> ASCII prototype, from Unicode's confusables data."""
    from confusable_homoglyphs import confusables  # type: ignore[import-untyped]

    out: dict[str, str] = {}
    for char, targets in confusables.confusables_data.items():
        if len(char) != 1 or char.isascii():
            continue
        for target in targets:
            proto = str(target.get("c", "")).strip("\u200e\u200f")
            if len(proto) == 1 and proto.isascii() and proto.isalnum():
                out[char] = proto
                break
    return out


def _invisible(ch: str) -> bool:
    if unicodedata.category(ch) in ("Cf", "Cc", "Co", "Cn"):
        return not ch.isspace()
    code = ord(ch)
    return 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF


def organisation_key(name: str) -> str:
    """The comparison form of an organisation name (see module doc)."""
    text = unicodedata.normalize("NFKC", name)
    text = "".join(ch for ch in text if not _invisible(ch)).casefold()
    # accents off before confusable folding, so the folded form is a fixed point
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    table = _prototypes()
    text = unicodedata.normalize("NFKC", "".join(table.get(ch, ch) for ch in text).casefold())
    text = "".join(ch for ch in text if not _invisible(ch))
    words = [w for w in _WORD.split(text.replace("_", " ")) if w]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def near(a: str, b: str) -> bool:
    """Different but very similar keys (see module doc); keys as :func:`organisation_key`."""
    if not a or not b or a == b:
        return False
    wa, wb = a.split(), b.split()
    shorter, longer = (wa, wb) if len(wa) <= len(wb) else (wb, wa)
    if len(shorter) >= 2 and longer[: len(shorter)] == shorter:
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= NEAR_RATIO
