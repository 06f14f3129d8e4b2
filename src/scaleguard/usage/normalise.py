"""Normalisation that defeats cheap evasion, and the decoded views of a request.

The screen never looks at the raw text alone. :func:`views` returns the
normalised text plus every decodable span (base64, hex, rot13, spaced-out
letters), each screened like the request itself, so encoding a red-line
request does not get it past the rules or the embedding screen.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import re
import unicodedata
from dataclasses import dataclass

#: Characters that render as nothing: zero-width spaces and joiners, marks, BOM, soft hyphen.
_INVISIBLE = dict.fromkeys(
    [
        *(0x00AD, 0x034F, 0x061C, 0x115F, 0x1160, 0x17B4, 0x17B5, 0x180E, 0x3164, 0xFEFF, 0xFFA0),
        *range(0x200B, 0x2010),
        *range(0x202A, 0x202F),
        *range(0x2060, 0x2070),
        *range(0xFE00, 0xFE10),
    ],
    None,
)

#: Letters from other scripts that look like Latin ones (Cyrillic, Greek, and a few symbols).
_HOMOGLYPHS = str.maketrans(
    {
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
        "ɡ": "g",
        "ɩ": "i",
        "ʏ": "y",
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
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
    }
)
#: Digits and symbols used for letters inside words ("s4r1n", "b0mb", "@nthrax").
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"}
)
_LEET_WORD = re.compile(r"\b(?=[a-z0-9@$!]*[a-z])(?=[a-z0-9@$!]*[0-9@$!])[a-z0-9@$!]{3,}\b")
_SPACED = re.compile(r"\b(?:[a-z][ .\-_*]){3,}[a-z]\b")
_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_BASE64URL = re.compile(r"(?<![A-Za-z0-9_\-=])[A-Za-z0-9_\-]{16,}={0,2}(?![A-Za-z0-9_\-=])")
_HEX = re.compile(r"(?<![0-9A-Fa-f])(?:[0-9A-Fa-f]{2}[ :]?){8,}(?![0-9A-Fa-f])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
#: Common English words: a decoded span is kept only when it reads like language.
_COMMON = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "how",
        "what",
        "is",
        "are",
        "i",
        "you",
        "my",
        "me",
        "it",
        "can",
        "do",
        "make",
        "get",
        "give",
        "from",
        "this",
        "that",
        "be",
        "by",
        "as",
        "at",
        "your",
        "we",
        "our",
        "they",
        "their",
        "all",
        "who",
        "which",
        "when",
        "where",
        "why",
        "build",
        "use",
        "write",
        "step",
        "steps",
        "need",
        "want",
        "without",
        "into",
        "like",
        "so",
        "if",
        "not",
        "will",
        "would",
        "should",
        "please",
        "tell",
        "explain",
        "people",
        "way",
        "ways",
        "best",
    ]
)
MAX_VIEWS = 16
MAX_DECODE_DEPTH = 2


@dataclass(frozen=True)
class View:
    """One reading of the request: ``plain`` or how a span was decoded."""

    kind: str
    text: str


def fold(text: str) -> str:
    """NFKC, invisible characters removed, homoglyphs folded, lower case, spaces collapsed."""
    # Surrogate pairs become the characters they encode; lone surrogates (valid in
    # Python strings and JSON, not in UTF-8) become U+FFFD.
    text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    text = unicodedata.normalize("NFKC", text)
    text = text.translate(_INVISIBLE)
    text = _CONTROL.sub(" ", text)
    # Strip combining marks (a "s̸a̸r̸i̸n̸" stays readable as "sarin").
    decomposed = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    text = text.casefold().translate(_HOMOGLYPHS)
    return _SPACE.sub(" ", text).strip()


def deobfuscate(folded: str) -> str:
    """Undo letter spacing ("s a r i n") and digit-for-letter swaps inside words."""
    text = _SPACED.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), folded)
    return _LEET_WORD.sub(_unleet, text)


def _unleet(m: re.Match[str]) -> str:
    word = m.group(0)
    swapped = sum(not ch.isalpha() for ch in word)
    return word.translate(_LEET) if len(word) <= 24 and swapped * 2 <= len(word) else word


def _reads_like_text(text: str) -> bool:
    words = re.findall(r"[a-z]+", text.lower())
    if len(words) < 3:
        return False
    printable = sum(ch.isprintable() or ch.isspace() for ch in text) / max(len(text), 1)
    common = sum(w in _COMMON for w in words)
    return printable > 0.95 and common >= max(1, len(words) // 8)


def _decode_base64(span: str, urlsafe: bool) -> str | None:
    padded = span + "=" * (-len(span) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
        )
        return raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None


def _decode_hex(span: str) -> str | None:
    digits = re.sub(r"[ :]", "", span)
    if len(digits) % 2:
        return None
    try:
        return bytes.fromhex(digits).decode("utf-8")
    except ValueError:
        return None


def decoded_spans(text: str) -> list[View]:
    """Every base64/hex span of ``text`` (original case) that decodes to readable text."""
    found: list[View] = []
    for pattern, kind in ((_BASE64, "base64"), (_BASE64URL, "base64url")):
        for m in pattern.finditer(text):
            decoded = _decode_base64(m.group(0), urlsafe=kind == "base64url")
            if decoded is not None and _reads_like_text(decoded):
                found.append(View(f"{kind}@{m.start()}", decoded))
    for m in _HEX.finditer(text):
        decoded = _decode_hex(m.group(0))
        if decoded is not None and _reads_like_text(decoded):
            found.append(View(f"hex@{m.start()}", decoded))
    return found


def views(text: str) -> list[View]:
    """The readings of ``text`` the screen checks: plain, de-obfuscated, decoded
    (base64, hex, percent-encoding, HTML references), rot13."""
    out: list[View] = []
    seen: set[str] = set()

    def add(kind: str, value: str) -> None:
        if value and value not in seen and len(out) < MAX_VIEWS:
            seen.add(value)
            out.append(View(kind, value))

    def walk(kind: str, raw: str, depth: int) -> None:
        folded = fold(raw)
        add(kind, folded)
        add(f"{kind}+deobfuscated", deobfuscate(folded))
        rot = codecs.decode(folded, "rot13")
        if _reads_like_text(rot) and _common_ratio(rot) > _common_ratio(folded):
            add(f"{kind}+rot13", rot)
        if depth < MAX_DECODE_DEPTH:
            for span in decoded_spans(raw):
                walk(f"{kind}>{span.kind}", span.text, depth + 1)
            unescaped = _unescape(raw)
            if unescaped != raw:
                walk(f"{kind}>unescaped", unescaped, depth + 1)

    walk("plain", text, 0)
    return out


def _unescape(text: str) -> str:
    """Percent-encoding (``%73%61``) and HTML character references (``&#115;``) undone."""
    import html
    from urllib.parse import unquote

    out = text
    if re.search(r"%[0-9A-Fa-f]{2}", out):
        out = unquote(out, errors="replace")
    if "&" in out:
        out = html.unescape(out)
    return out


def _common_ratio(text: str) -> float:
    words = re.findall(r"[a-z]+", text)
    return sum(w in _COMMON for w in words) / max(len(words), 1)
