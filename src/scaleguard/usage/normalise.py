"""Normalisation that defeats cheap evasion, and the decoded views of a request.

The screen never looks at the raw text alone. :func:`views` returns the
normalised text plus every decodable span (base64, hex, escapes, rot13,
smuggled tag or variation-selector characters, spaced-out letters), each
screened like the request itself, so encoding a red-line request does not get
it past the rules or the embedding screen. Nothing is dropped: past
:data:`MAX_VIEWS` the remaining readings are screened together as one view,
and :func:`limit_reason` says so, for the screen to hold the request for review.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scaleguard.usage.decoding import (
    View,
    decoded_spans,
    plain,
    rot13_reading,
    unescape,
)
from scaleguard.usage.lookalikes import FOLD, fix_surrogates

__all__ = [
    "MAX_VIEWS",
    "View",
    "decoded_spans",
    "deobfuscate",
    "fold",
    "limit_reason",
    "views",
]

#: Digits and symbols used for letters inside words ("s4r1n", "b0mb", "@nthrax").
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_WORD = re.compile(r"\b(?=[a-z0-9@$!]*[a-z])(?=[a-z0-9@$!]*[0-9@$!])[a-z0-9@$!]{3,}\b")
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b")
_SPACE = re.compile(r"\s+")
#: Readings screened one by one; the rest are screened together (see :func:`limit_reason`).
MAX_VIEWS = 16
#: Kind of the view that holds the readings past :data:`MAX_VIEWS`.
REST = "rest"
MAX_DECODE_DEPTH = 2


def fold(text: str) -> str:
    """NFKC, format characters and marks removed, look-alike letters folded to ASCII,
    case folded, controls turned into spaces, spaces collapsed (see
    :mod:`~scaleguard.usage.lookalikes`)."""
    return _SPACE.sub(" ", fix_surrogates(text).translate(FOLD)).strip()


def deobfuscate(folded: str) -> str:
    """Undo letter spacing ("s a r i n") and digit-for-letter swaps inside words."""
    text = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), folded)
    return _LEET_WORD.sub(_unleet, text)


def _unleet(m: re.Match[str]) -> str:
    word = m.group(0)
    swapped = sum(not ch.isalpha() for ch in word)
    return word.translate(_LEET) if len(word) <= 24 and swapped * 2 <= len(word) else word


def views(text: str) -> list[View]:
    """The readings of ``text`` the screen checks: plain, de-obfuscated, rot13, and
    decoded (base64, hex, escapes, percent-encoding, HTML references, smuggled
    characters), two levels deep. Past :data:`MAX_VIEWS` the remaining readings
    are joined into one last view of kind ``rest(N readings)``."""
    out: list[View] = []
    seen: set[str] = set()

    def add(kind: str, value: str) -> None:
        if value and value not in seen:
            seen.add(value)
            out.append(View(kind, value))

    def walk(kind: str, raw: str, depth: int) -> None:
        folded = fold(raw)
        add(kind, folded)
        add(f"{kind}+deobfuscated", deobfuscate(folded))
        rot = rot13_reading(folded)
        if rot is not None:
            add(f"{kind}+rot13", rot)
        if depth < MAX_DECODE_DEPTH:
            readable = plain(raw)
            for span in decoded_spans(raw, readable):
                walk(f"{kind}>{span.kind}", span.text, depth + 1)
            unescaped = unescape(readable)
            if unescaped != readable:
                walk(f"{kind}>unescaped", unescaped, depth + 1)

    walk("plain", text, 0)
    if len(out) <= MAX_VIEWS:
        return out
    rest = out[MAX_VIEWS - 1 :]
    joined = View(f"{REST}({len(rest)} readings)", " ".join(v.text for v in rest))
    return [*out[: MAX_VIEWS - 1], joined]


def limit_reason(vws: Sequence[View]) -> str | None:
    """Why a request with these views must not be allowed without a person looking,
    or None: it held more encoded spans than are screened one by one."""
    if not vws or not vws[-1].kind.startswith(REST):
        return None
    return (
        f"the text held more encoded spans than are examined one by one "
        f"({MAX_VIEWS - 1} readings examined alone, {vws[-1].kind[len(REST) + 1 : -1]} "
        "examined together)"
    )
