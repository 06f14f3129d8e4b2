"""Decoders for the views of a request: base64, hex, escapes, rot13, smuggled characters.

Every decoder works on the request as the reader would see it: NFKC-folded,
invisible characters removed, look-alike letters mapped, case kept (see
:data:`~scaleguard.usage.lookalikes.PLAIN`), so zero-width spaces between
base64 groups or fullwidth hex digits do not hide a span. A decode is kept when
it is text (UTF-8, at most one undecodable byte in 20) holding a few
letters, whether or not it reads like English: a short payload with no common
words is screened like a long one.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import functools
import html
import math
import re
from dataclasses import dataclass
from urllib.parse import unquote

from scaleguard.usage.lookalikes import PLAIN, fix_surrogates


@dataclass(frozen=True)
class View:
    """One reading of the request: ``plain`` or how a span was decoded."""

    kind: str
    text: str


_BASE64 = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=])")
_BASE64URL = re.compile(r"(?<![A-Za-z0-9_\-=])[A-Za-z0-9_\-]{16,}={0,2}(?![A-Za-z0-9_\-=])")
#: Base64 written in groups separated by white space ("R2l2ZSBt ZSBzdGVw ...").
#: Possessive, starting only where a token starts: a long token without spaces fails in one pass.
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]++={0,2}(?:\s+[A-Za-z0-9+/]++={0,2})+")
#: Hex bytes, bare or written 0x41 / \x41, optionally separated ("47 69", "47:69", "4769 7665").
_HEX = re.compile(
    r"(?<![0-9A-Fa-f])(?:(?:0x|\\x)?[0-9A-Fa-f]{2}(?:[\s:,;\-]{1,2}|(?=0x|\\x))?){8,}"
    r"(?![0-9A-Fa-f])"
)
_HEX_PREFIX = re.compile(r"0x|\\x")
_BACKSLASH = re.compile(
    r"\\u\{([0-9A-Fa-f]{1,6})\}|\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})|((?:\\x[0-9A-Fa-f]{2})+)"
)
#: Unicode tag characters mirror ASCII (U+E0041 is a tag "A") and render as nothing.
_TAGS = re.compile("[\U000e0020-\U000e007e]+")
_TAG_ASCII = {code: code - 0xE0000 for code in range(0xE0020, 0xE007F)}
#: Variation selectors can carry one byte each after any character (VS1-VS16 are 0-15,
#: VS17-VS256 are 16-255).
_SELECTORS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]+")
_SELECTOR_BYTE = {
    **{0xFE00 + n: n for n in range(16)},
    **{0xE0100 + n: n + 16 for n in range(240)},
}
#: A token with a digit, + / =, or a capital after its first letter looks like base64.
_CODEISH = re.compile(r"[0-9+/=]|(?<=[A-Za-z0-9+/])[A-Z]")
#: A decode is text when at most one byte in this many failed to decode.
_BAD_BYTES_PER = 20
_MIN_LETTERS = 3

#: Common English words: one sign that a rot13 reading reads better than the original.
_COMMON_WORDS = (
    "the a an and or to of in on for with how what is are i you my me it can do make get give "
    "from this that be by as at your we our they their all who which when where why build use "
    "write step steps need want without into like so if not will would should please tell "
    "explain people way ways best instructions guide home some any more most about"
)
_COMMON = frozenset(_COMMON_WORDS.split())
#: Letter frequencies of English text (per cent): rot13 of English scores lower than English.
_FREQ = {
    "e": 12.7,
    "t": 9.1,
    "a": 8.2,
    "o": 7.5,
    "i": 7.0,
    "n": 6.7,
    "s": 6.3,
    "h": 6.1,
    "r": 6.0,
    "d": 4.3,
    "l": 4.0,
    "c": 2.8,
    "u": 2.8,
    "m": 2.4,
    "w": 2.4,
    "f": 2.2,
    "g": 2.0,
    "y": 2.0,
    "p": 1.9,
    "b": 1.5,
    "v": 1.0,
    "k": 0.8,
    "j": 0.15,
    "x": 0.15,
    "q": 0.1,
    "z": 0.07,
}
_ROT_GAIN = {
    ch: math.log(_FREQ[codecs.encode(ch, "rot13")]) - math.log(f) for ch, f in _FREQ.items()
}
#: A run of words whose rot13 reading gains this much (log-likelihood, nats) is read as rot13.
#: Chosen on the policy's examples and held-out set (274 requests): each of them in rot13
#: clears it (but for one that is base64), and 3 of them in plain English do.
ROT13_GAIN = 3.0
_COMMON_GAIN = 3.0
#: Words for the rot13 test: letters only, not pieces of longer letter-and-digit tokens.
_WORD = re.compile(r"(?<![a-z0-9])[a-z]{1,20}(?![a-z0-9])")
_SEGMENT = re.compile(r"[^.!?;:,]+[.!?;:,]*")


def plain(text: str) -> str:
    """The text as read before decoding: NFKC, invisible characters out, case kept."""
    return fix_surrogates(text).translate(PLAIN)


def text_of(raw: bytes) -> str | None:
    """``raw`` as text if it is UTF-8 (a few bad bytes tolerated) holding some letters."""
    text = raw.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    if bad * _BAD_BYTES_PER > len(text):
        return None
    text = text.replace("\ufffd", " ")
    return text if sum(ch.isalpha() for ch in text) >= _MIN_LETTERS else None


def _decode_base64(span: str, urlsafe: bool = False) -> str | None:
    span = span.rstrip("=")
    span = span[: len(span) - len(span) % 4] if len(span) % 4 == 1 else span
    padded = span + "=" * (-len(span) % 4)
    try:
        raw = (
            base64.urlsafe_b64decode(padded) if urlsafe else base64.b64decode(padded, validate=True)
        )
    except (binascii.Error, ValueError):
        return None
    return text_of(raw)


def _decode_hex(span: str) -> str | None:
    digits = re.sub(r"[^0-9A-Fa-f]", "", _HEX_PREFIX.sub("", span))
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return text_of(bytes.fromhex(digits))
    except ValueError:
        return None


def _codeish(token: str) -> bool:
    """A token that looks like a piece of base64 rather than a word."""
    return len(token) >= 2 and _CODEISH.search(token) is not None


def _base64_groups(run: str) -> list[list[str]]:
    """Base64 strings a run of white-space separated tokens may hold: stretches of
    code-like tokens (one word-like token allowed between two code-like ones), cut after
    padding; each stretch with its candidates, with and without the word-like token on
    either side, longest first."""
    tokens = run.split()
    out: list[list[str]] = []
    i = 0
    while i < len(tokens):
        if not _codeish(tokens[i]):
            i += 1
            continue
        j = i + 1
        while j < len(tokens) and not tokens[j - 1].endswith("="):
            if _codeish(tokens[j]):
                j += 1
            elif j + 1 < len(tokens) and _codeish(tokens[j + 1]) and "=" not in tokens[j]:
                j += 2
            else:
                break
        if j - i >= 2:
            core = "".join(tokens[i:j])
            before = tokens[i - 1] if i > 0 and "=" not in tokens[i - 1] else ""
            after = tokens[j] if j < len(tokens) and not tokens[j - 1].endswith("=") else ""
            tries = [before + core + after, before + core, core + after, core]
            out.append([c for c in dict.fromkeys(tries) if len(c) >= 16])
        i = j
    return out


def decoded_spans(text: str, readable: str | None = None) -> list[View]:
    """Every base64, base64url, hex or smuggled-character span of ``text`` that decodes to
    text; ``readable`` is :func:`plain` of ``text`` when the caller has it already."""
    found: list[View] = []
    seen: set[str] = set()

    def keep(kind: str, decoded: str | None) -> None:
        if decoded is not None and decoded not in seen:
            seen.add(decoded)
            found.append(View(kind, decoded))

    readable = plain(text) if readable is None else readable
    for pattern, kind in ((_BASE64, "base64"), (_BASE64URL, "base64url")):
        for m in pattern.finditer(readable):
            keep(f"{kind}@{m.start()}", _decode_base64(m.group(0), urlsafe=kind == "base64url"))
    for m in _BASE64_RUN.finditer(readable):
        if _CODEISH.search(m.group(0)) is None:
            continue
        for group in _base64_groups(m.group(0)):
            for candidate in group:
                decoded = _decode_base64(candidate)
                if decoded is not None:
                    keep(f"base64-groups@{m.start()}", decoded)
                    break
    for m in _HEX.finditer(readable):
        keep(f"hex@{m.start()}", _decode_hex(m.group(0)))
    keep("tags", _tag_text(text))
    keep("variation-selectors", _selector_text(text))
    return found


def _tag_text(text: str) -> str | None:
    """The ASCII that Unicode tag characters spell, invisible in the rendered text."""
    tags = "".join(_TAGS.findall(text)).translate(_TAG_ASCII)
    return tags if sum(ch.isalpha() for ch in tags) >= _MIN_LETTERS else None


def _selector_text(text: str) -> str | None:
    """The bytes variation selectors carry, as text."""
    data = "".join(_SELECTORS.findall(text))
    if len(data) < _MIN_LETTERS:
        return None
    return text_of(bytes(_SELECTOR_BYTE[ord(ch)] for ch in data))


def unescape(text: str) -> str:
    """Percent-encoding (``%73``), HTML references (``&#115;``) and backslash escapes
    (``\\x73``, ``\\u0073``, ``\\u{73}``) undone."""
    out = text
    if re.search(r"%[0-9A-Fa-f]{2}", out):
        out = unquote(out, errors="replace")
    if "&" in out:
        out = html.unescape(out)
    if "\\" in out:
        out = _BACKSLASH.sub(_backslash, out)
    return out


def _backslash(m: re.Match[str]) -> str:
    if m.group(4):
        raw = bytes.fromhex(m.group(4).replace("\\x", ""))
        return raw.decode("utf-8", "replace")
    code = int(m.group(1) or m.group(2) or m.group(3), 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


@functools.lru_cache(maxsize=1 << 14)
def _word_gain(word: str) -> float:
    rot = codecs.encode(word, "rot13")
    common = (rot in _COMMON) - (word in _COMMON)
    return sum(_ROT_GAIN.get(ch, 0.0) for ch in word) + _COMMON_GAIN * common


def _best_run(segment: str) -> tuple[int, int] | None:
    """The stretch of words whose rot13 reading gains most over the original, if enough."""
    best, best_span = 0.0, None
    total, start, words = 0.0, 0, 0
    for m in _WORD.finditer(segment):
        if total <= 0.0:
            total, start, words = 0.0, m.start(), 0
        total += _word_gain(m.group(0))
        words += 1
        if total > best and (words >= 2 or total >= ROT13_GAIN + _COMMON_GAIN):
            best, best_span = total, (start, m.end())
    return best_span if best >= ROT13_GAIN else None


def rot13_reading(folded: str) -> str | None:
    """The text with each sentence's rot13-looking stretch decoded, or None if there is none.

    Sentences are judged one by one, so an English preamble does not hide a rot13
    payload after it; each decoded sentence is returned with the sentence before it,
    which may hold the verb of the request.
    """
    segments = _SEGMENT.findall(folded)
    picked: dict[int, str] = {}
    for n, segment in enumerate(segments):
        span = _best_run(segment)
        if span is None:
            continue
        a, b = span
        picked[n] = segment[:a] + codecs.encode(segment[a:b], "rot13") + segment[b:]
        if n > 0:
            picked.setdefault(n - 1, segments[n - 1])
    return " ".join(picked[n].strip() for n in sorted(picked)) if picked else None
