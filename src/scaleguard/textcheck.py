"""Checks on short text a person types: names, and URLs that readers will follow.

* :func:`visible` refuses control characters, format characters (zero-width
  space and joiners, soft hyphen, byte-order mark, the bidirectional controls
  that reverse how text is shown), line and paragraph separators and
  unassigned or private-use code points: a name must look like what it is.
* :func:`safe_name` also refuses text that NFKC normalisation changes
  (full-width letters, ligatures: write the plain form) and any word that
  mixes scripts with confusable letters (a Cyrillic ``а`` inside a Latin
  word), using the Unicode confusables data shipped by ``confusable-homoglyphs``.
  Names wholly in one script, and names whose words are in different scripts
  ("日本 AI"), are fine.
* :func:`http_url` accepts only absolute ``http``/``https`` URLs with a host,
  so a source or evidence link can never be ``javascript:`` or ``data:``.

Each raises ``ValueError`` with a reason (pydantic turns it into a located
problem); callers outside pydantic wrap it in an InputError.
"""

from __future__ import annotations

import re
import unicodedata

_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cn", "Cs"})
_WORD = re.compile(r"\w+", re.UNICODE)
_URL = re.compile(r"^https?://[^\s/?#@]+(?:[/?#]\S*)?$", re.IGNORECASE)


def hidden_characters(value: str) -> list[str]:
    """``U+XXXX NAME`` of each character in ``value`` that is not visible text."""
    out = []
    for ch in value:
        if ch in "\t\n\r" or unicodedata.category(ch) in _HIDDEN_CATEGORIES:
            name = unicodedata.name(ch, "unnamed")
            out.append(f"U+{ord(ch):04X} {name}")
    return out


def visible(value: str) -> str:
    hidden = hidden_characters(value)
    if hidden:
        raise ValueError(
            "contains invisible or control characters (" + ", ".join(hidden[:3]) + "); "
            "type the text plainly"
        )
    return value


def free_text(value: str) -> str:
    """Longer text (descriptions, notes): no control characters except tab and line breaks."""
    bad = [
        f"U+{ord(ch):04X}"
        for ch in value
        if ch not in "\t\n\r" and unicodedata.category(ch) in ("Cc", "Cs")
    ]
    if bad:
        raise ValueError(f"contains control characters ({', '.join(bad[:3])}); remove them")
    return value


def safe_name(value: str) -> str:
    visible(value)
    if value.isascii():
        return value
    plain = unicodedata.normalize("NFKC", value)
    if plain != value:
        raise ValueError(
            f"uses look-alike forms (full-width or compatibility letters); write {plain!r}"
        )
    from confusable_homoglyphs import confusables  # type: ignore[import-untyped]

    for word in _WORD.findall(value):
        if confusables.is_dangerous(word):
            raise ValueError(
                f"the word {word!r} mixes scripts with look-alike letters (for example a "
                "Cyrillic or Greek letter inside a Latin word); use one script per word"
            )
    return value


def http_url(value: str) -> str:
    visible(value)
    if len(value) > 2000 or not _URL.match(value):
        raise ValueError(
            f"{value[:100]!r} is not an http(s) URL; only http:// and https:// links are "
            "accepted (not javascript:, data:, file: or relative links)"
        )
    return value
