"""Per-character folding: invisible characters out, look-alike letters to ASCII.

Two ``str.translate`` tables, each filled one code point at a time from
:mod:`unicodedata` and remembered (no confusables data is fetched or shipped):

- :data:`FOLD` for the screened text: compatibility decomposition (fullwidth,
  mathematical, circled, superscript letters become plain ones), case folded,
  every format character (category Cf: zero-width characters, bidi controls,
  U+E0000-E007F tag characters, soft hyphen...) and every mark (Mn, Me: accents,
  variation selectors, enclosing circles) removed, other controls turned into
  spaces, and look-alike letters from other alphabets (Latin small capitals,
  Cyrillic, Greek...) mapped to the ASCII letter they imitate.
- :data:`PLAIN` for decoding: the same, but case kept and nothing beyond NFKC
  and look-alike letters, so base64 still decodes.

Why per character: every step here maps one code point to a string on its
own, so a remembered table gives the same answer as running the steps on the
whole text, at the cost of a dictionary look-up per character.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

#: Characters that render as nothing yet are letters or symbols, not format characters.
_BLANK = frozenset([0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800])
#: Unassigned code points Unicode reserves as default-ignorable (render as nothing when
#: assigned later): the rest of the tag block, U+E0000-E0FFF, and U+FFF0-FFF8.
_IGNORABLE_TAGS = (0xE0000, 0xE0FFF)
_IGNORABLE_SPECIALS = (0xFFF0, 0xFFF8)
_REMOVED_CATEGORIES = frozenset(["Cf", "Mn", "Me"])
_KEPT_CONTROLS = frozenset("\t\n\r")

#: Letters of other alphabets that look like a Latin one but whose names do not say so.
_LOOKALIKE = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "с": "c",
    "е": "e",
    "ё": "e",
    "һ": "h",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "ѕ": "s",
    "т": "t",
    "у": "y",
    "х": "x",
    "ԁ": "d",
    "ԛ": "q",
    "ԝ": "w",
    "ѵ": "v",
    "ү": "y",
    "ɡ": "g",
    "ɩ": "i",
    # Greek
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ϲ": "c",
    "ϳ": "j",
    "ζ": "z",
    # Armenian
    "օ": "o",
    "ս": "u",
    "հ": "h",
    "ո": "n",
    "ց": "g",
    "զ": "q",
    # Latin letters named after a Greek one or drawn open
    "ɑ": "a",
    "ɛ": "e",
    "ɔ": "o",
    "ʋ": "u",
    "ß": "ss",
    "æ": "ae",
    "œ": "oe",
    "ɶ": "oe",
    "ᴁ": "ae",
    "þ": "p",
}

#: Capitals that look like a different Latin letter than their lower case does (Η, Ν, Υ).
_CAPITALS = {
    "Α": "a",
    "Β": "b",
    "Ε": "e",
    "Ζ": "z",
    "Η": "h",
    "Ι": "i",
    "Κ": "k",
    "Μ": "m",
    "Ν": "n",
    "Ο": "o",
    "Ρ": "p",
    "Τ": "t",
    "Υ": "y",
    "Χ": "x",
}

#: Latin letters by name: small capitals (ᴀ ʙ ᴄ ... ɢ ɪ ʟ ɴ ʀ ꜱ), dotless, script and long
#: forms, and letters with a stroke, hook or bar (ł ø đ ƀ ɨ); modifier letters likewise.
_LATIN_NAME = re.compile(
    r"(?:LATIN|MODIFIER) (?:SMALL |CAPITAL )?LETTER "
    r"(?:SMALL CAPITAL |SMALL |CAPITAL |SCRIPT |DOTLESS |LONG )?([A-Z])(?: WITH [A-Z ]+)?"
)
#: Letters drawn inside shapes or as flags; NFKD leaves them alone or adds brackets.
_SHAPED_NAME = re.compile(
    r"(?:NEGATIVE )?(?:CIRCLED|SQUARED|PARENTHESIZED) LATIN (?:SMALL |CAPITAL )?LETTER ([A-Z])"
    r"|REGIONAL INDICATOR SYMBOL LETTER ([A-Z])"
)
#: Blocks holding Latin letters (Latin-1 to Extended-G, IPA, phonetic, modifiers): only
#: these are looked up by name.
_LATIN_BLOCKS = (
    (0x00C0, 0x02FF),
    (0x1D00, 0x1DBF),
    (0x1E00, 0x1EFF),
    (0x2C60, 0x2C7F),
    (0xA720, 0xA7FF),
    (0xAB30, 0xAB6F),
    (0x10780, 0x107BF),
    (0x1DF00, 0x1DFFF),
)
#: The tables stop remembering after this many code points (a request can hold many).
_REMEMBER = 1 << 16


def _shaped(ch: str) -> str | None:
    if unicodedata.category(ch) != "So":
        return None
    m = _SHAPED_NAME.fullmatch(unicodedata.name(ch, ""))
    return (m.group(1) or m.group(2)).lower() if m else None


def _by_name(ch: str) -> str | None:
    """The ASCII letter ``ch`` imitates, lower case, or None."""
    if ch.isascii() or unicodedata.category(ch)[0] not in "LS":
        return None
    found = _CAPITALS.get(ch) or _shaped(ch) or _LOOKALIKE.get(ch) or _LOOKALIKE.get(ch.lower())
    if found:
        return found
    code = ord(ch)
    if ch.isalpha() and any(lo <= code <= hi for lo, hi in _LATIN_BLOCKS):
        m = _LATIN_NAME.fullmatch(unicodedata.name(ch, ""))
        if m:
            return m.group(1).lower()
    return None


def _drop(ch: str) -> bool:
    code = ord(ch)
    return (
        code in _BLANK
        or unicodedata.category(ch) in _REMOVED_CATEGORIES
        or _IGNORABLE_TAGS[0] <= code <= _IGNORABLE_TAGS[1]
        or _IGNORABLE_SPECIALS[0] <= code <= _IGNORABLE_SPECIALS[1]
    )


def _control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in _KEPT_CONTROLS


def fold_char(ch: str) -> str:
    """What one character becomes in the screened text (lower-case ASCII where it can)."""
    direct = _CAPITALS.get(ch) or _shaped(ch)
    if direct:
        return direct
    out = []
    for part in unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold()):
        if _drop(part):
            continue
        if _control(part):
            out.append(" ")
            continue
        mapped = _by_name(part)
        out.append(part if mapped is None else mapped)
    return "".join(out)


def plain_char(ch: str) -> str:
    """What one character becomes before decoding: NFKC, invisibles out, case kept."""
    out = []
    for part in unicodedata.normalize("NFKC", ch):
        if _drop(part):
            continue
        mapped = _by_name(part)
        if mapped is None:
            out.append(part)
        else:
            out.append(mapped.upper() if part.isupper() or _is_capital(part) else mapped)
    return "".join(out)


def _is_capital(ch: str) -> bool:
    return " CAPITAL LETTER " in unicodedata.name(ch, "")


class _Table(dict[int, str]):
    """A ``str.translate`` table that computes a code point's entry on first use."""

    def __init__(self, rule: Callable[[str], str]) -> None:
        super().__init__()
        self._rule = rule

    def __missing__(self, code: int) -> str:
        value = self._rule(chr(code))
        if len(self) < _REMEMBER:
            self[code] = value
        return value


FOLD = _Table(fold_char)
PLAIN = _Table(plain_char)


def fix_surrogates(text: str) -> str:
    """Surrogate pairs become the characters they encode; lone surrogates (valid in
    Python strings and JSON, not in UTF-8) become U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
