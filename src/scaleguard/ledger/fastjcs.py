"""RFC 8785 through the C encoder of :mod:`json`, used only where provably exact.

``json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
allow_nan=False)`` runs in C and already agrees with RFC 8785 on almost
everything: ``null``/``true``/``false``, integers (both write decimal digits),
strings (both escape exactly ``"``, ``\\``, and U+0000..U+001F, using ``\\b \\t
\\n \\f \\r`` and otherwise lowercase ``\\u00xx``; everything else is written
raw), arrays, and objects without whitespace. Where the two can differ, the
text it produces is inspected (in C, with :mod:`re`), and the value goes to the
pure-Python ``rfc8785`` route whenever the inspection cannot vouch for it:

* **Floats.** Both spell the shortest round-trip digits of the double (Python's
  ``repr``; ``rfc8785`` formats ``str(f)`` too), but ECMAScript's
  Number::toString places the decimal point differently: ``3.0`` is ``3``,
  ``-0.0`` is ``0``, ``1e+16`` is ``10000000000000000``, ``1e-05`` is
  ``0.00001``, ``1e-07`` is ``1e-7``. Float tokens outside strings that
  Python spells otherwise (integral, or with an exponent) are respelled by
  :func:`ecma_number`, which follows ECMA-262 Number::toString.
* **Key order.** RFC 8785 sorts by UTF-16 code units, Python by code points.
  For strings without characters above U+FFFF the two orders are the same (a
  BMP character is one code unit equal to its code point), so objects whose
  keys hold such a character go to ``rfc8785``.
* **Bad input** (what :func:`scaleguard.ledger.canonical.canonical_json`
  rejects) never passes: unsupported types and non-finite floats make the C
  encoder raise; lone surrogates make the UTF-8 encode raise; integers beyond
  +/-(2^53 - 1) have 16 or more digits, and any such integer token is sent
  back; nesting is measured on the text outside strings; non-string keys
  (which ``json`` would quietly turn into ``"1"``, ``"true"``, ``"null"``...)
  always yield a key that looks like a number or a literal, and any such key
  is sent back.

The number and nesting checks run on the text outside strings (the encoder's
output split at its string literals), after cheap substring searches over the
whole text that are implied by them and so can only cause extra work; the key
checks run on the whole text and err one way only: text inside strings can make
them send a value back, never let one through. Property tests compare this module with
``rfc8785.dumps`` over arbitrary JSON values (``tests/test_ledger_fastjcs.py``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from itertools import accumulate
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

#: RFC 8785 integers must be exactly representable as IEEE 754 doubles.
MAX_SAFE_INTEGER = 2**53 - 1
#: Records nest a few levels; a thousand means a bug or an attack.
MAX_DEPTH = 64

_ENCODE = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode
_DECODE = json.JSONDecoder().decode

# The checks below run on the UTF-8 bytes: a multi-byte sequence never holds a
# byte below 0x80, so quotes, backslashes, digits and brackets are what they seem.
#: One JSON string literal as the encoder writes it; split() keeps it (group 1).
_STRING = re.compile(rb'("[^"\\]*(?:\\.[^"\\]*)*")', re.DOTALL)
#: A float token Python spells unlike ECMAScript: with an exponent, or integral
#: (``3.0``). Python writes every other float as ECMAScript does: the same
#: shortest digits in plain notation (Python uses it from 1e-4 to below 1e16,
#: ECMAScript from 1e-6 to below 1e21). Outside strings a number follows
#: ``,`` ``:`` or ``[`` (or starts the text), which anchors the whole token.
_RESPELL = re.compile(rb"[,:\[](?:-?[0-9]+(?:\.[0-9]+)?e[-+][0-9]+|-?[0-9]+\.0(?![0-9]))")
#: An integer token of 16 or more digits (10^15 < 2^53 - 1 < 10^16), anchored
#: as above; a float's digits run into a ``.`` or an ``e``.
_BIG_INT = re.compile(rb"[,:\[]-?[0-9]{16,}(?![0-9.e])")
#: The key a non-string key becomes: a Python int or float spelling, or a literal.
_ODD_KEY = re.compile(rb'"(?:-?[0-9][0-9.e+-]*|true|false|null)":')
#: Lead bytes of 4-byte UTF-8 sequences, i.e. of characters above U+FFFF.
_ASTRAL = re.compile(rb"[\xf0-\xf4]")
_NOT_ASTRAL = bytes(range(0xF0)) + bytes(range(0xF5, 0x100))
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
#: Every digit as ``0``: one C pass, after which plain substring searches rule
#: out most of the above without a regular expression. Each is implied by the
#: exact condition, because a token and the character after it lie outside
#: strings verbatim: a float with an exponent shows ``0e+``/``0e-`` (for an
#: integral one see the next hints); a long integer shows sixteen ``0`` after
#: ``,`` ``:`` ``[`` or ``-`` (or at the start).
_ZEROED = bytes.maketrans(b"0123456789", b"0" * 10)
_EXPONENT_HINTS = (b"0e+", b"0e-")
#: An integral float (``3.0``) shows ``.0`` then ``,`` ``]`` ``}`` or the end
#: in the text itself (unzeroed, so ``0.5`` does not look like one).
_POINT_ZERO_HINTS = (b".0,", b".0]", b".0}")
#: Brackets and line feeds only: nesting deeper than MAX_DEPTH needs more than
#: 2 * MAX_DEPTH brackets between two line feeds (the encoder never writes a
#: raw one), so texts joined by line feeds are each checked alone.
_ONLY_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}\n")
_TOO_MANY_BRACKETS = re.compile(rb"[^\n]{%d}" % (2 * MAX_DEPTH + 1))
_SIXTEEN = b"0" * 16
_BIG_HINTS = (b"," + _SIXTEEN, b":" + _SIXTEEN, b"[" + _SIXTEEN, b"-" + _SIXTEEN)
_STEP = {ord("{"): 1, ord("["): 1, ord("}"): -1, ord("]"): -1}


def ecma_number(token: str) -> str:
    """ECMA-262 Number::toString of the double Python spells ``token``.

    Python's ``repr`` gives the shortest digits that round-trip, which is the
    digit string ECMAScript uses too; only the layout differs.
    """
    value = float(token)
    if value == 0:
        return "0"  # +0 and -0 alike
    sign = "-" if value < 0 else ""
    mantissa, _, exponent = repr(abs(value)).partition("e")
    whole, _, fraction = mantissa.partition(".")
    if exponent:  # d[.ddd]e±XX: value = 0.DIGITS x 10^n
        digits, n = whole + fraction, int(exponent) + 1
    elif whole != "0":
        digits, n = whole + fraction, len(whole)
    else:
        significant = fraction.lstrip("0")
        digits, n = significant, len(significant) - len(fraction)
    digits = digits.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        point = "." + digits[1:] if k > 1 else ""
        text = f"{digits[0]}{point}e{'+' if e > 0 else '-'}{abs(e)}"
    return sign + text


def _respell(match: re.Match[bytes]) -> bytes:
    found = match.group()
    return found[:1] + ecma_number(found[1:].decode("ascii")).encode("ascii")


def _nesting(outside: bytes) -> int:
    """Deepest bracket nesting of JSON text that holds no strings."""
    return max(accumulate(map(_STEP.__getitem__, _NOT_BRACKET.sub(b"", outside))), default=0)


def _respell_hint(text: bytes, zeroed: bytes) -> bool:
    """False only when ``text`` (``zeroed``: its digits as ``0``) holds no float to respell."""
    return (
        text.endswith(b".0")
        or any(hint in text for hint in _POINT_ZERO_HINTS)
        or any(hint in zeroed for hint in _EXPONENT_HINTS)
    )


def fast_canonical(value: object) -> bytes | None:
    """RFC 8785 bytes of ``value`` when the C route can prove them, else None.

    None means "ask the strict route": it is returned for every value the
    strict route rejects, and for a few it accepts (keys above U+FFFF or that
    read like numbers, integers of 16 digits, deep nesting). Containers are
    read the way the C encoder reads them: subclasses of dict and list that
    change how they iterate are not supported.
    """
    try:
        data = _ENCODE(value).encode("utf-8")
    except (TypeError, ValueError, RecursionError):
        # unsupported type, non-finite float, cycle, too deep for C, or (a
        # UnicodeEncodeError is a ValueError) a lone surrogate
        return None
    return _prove(data)


def _prove(data: bytes) -> bytes | None:
    """RFC 8785 bytes of the value whose C encoder output is ``data``, or None."""
    if _ODD_KEY.search(data):
        return None
    zeroed = data.translate(_ZEROED)
    big = zeroed.startswith(_SIXTEEN) or any(hint in zeroed for hint in _BIG_HINTS)
    deep = bool(_TOO_MANY_BRACKETS.search(data.translate(None, _ONLY_BRACKETS)))
    respell = _respell_hint(data, zeroed)
    astral = not data.isascii() and bool(data.translate(None, _NOT_ASTRAL))
    if not (big or deep or respell or astral):
        return data
    # Even pieces lie outside strings, odd pieces are strings. Without a
    # backslash no string holds a quote, so every quote delimits one.
    if b"\\" in data:
        pieces, glue = _STRING.split(data), b""
    else:
        pieces, glue = data.split(b'"'), b'"'
    outside = pieces[0::2]
    skeleton = b'"'.join(outside)
    if big and _BIG_INT.search(b"," + skeleton):
        return None
    if deep and _nesting(skeleton) > MAX_DEPTH:
        return None
    if astral:
        for i in range(1, len(pieces), 2):
            if pieces[i + 1].startswith(b":") and _ASTRAL.search(pieces[i]):
                return None  # a key above U+FFFF: UTF-16 order may differ
    if respell:
        respell = _respell_hint(skeleton, skeleton.translate(_ZEROED))
    if respell:
        # NUL never occurs outside strings; a number never touches a string
        respelled = _RESPELL.sub(_respell, b"," + b"\0".join(outside))
        pieces[0::2] = respelled[1:].split(b"\0")
        data = glue.join(pieces)
    return data


def fast_decode(data: bytes, *, whole_doubles: bool = True) -> tuple[bool, Any]:
    """``(True, value)`` when ``data`` is provably the canonical bytes of ``value``.

    ``(False, None)`` means undecided: the caller runs the strict check. The
    proof is ``fast_canonical(json.loads(data)) == data``; equal bytes have
    the same parse, so a duplicate key, a redundant escape, whitespace or a
    non-canonical number can never compare equal. Integer tokens of 16 or more
    digits (which RFC 8785 writes for whole doubles from 2^53 up to 1e21) are
    read back as doubles, as the strict parser reads them; with
    ``whole_doubles=False`` such bytes are left undecided instead, so a proven
    value's text holds safe integers only.
    """
    raw = bytes(data)
    try:
        text = raw.decode("utf-8")
        value = _DECODE(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return False, None
    if fast_canonical(value) == raw:
        return True, value
    if whole_doubles and _BIG_INT.search(b"," + raw):
        try:
            value = json.loads(text, parse_int=_whole_double)
        except (ValueError, RecursionError):
            return False, None
        if fast_canonical(value) == raw:
            return True, value
    return False, None


def _whole_double(text: str) -> int | float:
    value = int(text)
    return value if abs(value) <= MAX_SAFE_INTEGER else float(text)


def _not_json(value: object) -> Any:
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def chunk_encoder() -> Callable[[object, int], Sequence[str]]:
    """The C encoder ``_ENCODE`` builds on every call, built once: ``run(v, 0)``
    returns the chunks of ``_ENCODE(v)`` (for a dict or list ``v``).

    Same arguments as :meth:`json.JSONEncoder.iterencode` passes (markers for
    cycles, a ``default`` that raises TypeError). The markers dict is emptied
    as each container is done, so it can be reused; after an exception it
    may not be, and the caller must build a new encoder.
    """
    if c_make_encoder is None:  # pragma: no cover - CPython always has it
        return lambda value, _: [_ENCODE(value)]
    run: Callable[[object, int], Sequence[str]] = c_make_encoder(
        {}, _not_json, encode_basestring, None, ":", ",", True, False, False
    )
    return run


def prove_many(texts: Sequence[str]) -> list[bytes] | None:
    """``[_prove(t.encode()) for t in texts]`` when none of them is None, else None.

    ``texts`` are outputs of the C encoder for JSON objects or arrays, as
    :func:`fast_canonical` gets them. The checks of :func:`_prove` run once,
    over the texts joined by ``\\n``, which is exact: the encoder never writes
    a raw line feed (it escapes every control character) and UTF-8 never uses
    0x0A inside a multi-byte character, so the join splits back exactly, and
    every string literal, number token and key of the joined text is one of a
    single text. The key and number patterns hold no line feed, and no number
    touches a text's edge (each begins and ends with a bracket), so they match
    exactly the matches of the single texts; the nesting of the joined text
    is the deepest of the texts (each one's brackets balance); an astral key
    is seen in whichever text holds it; respelling rewrites each number token
    alone. A lone surrogate makes the single encode fail, and the joined too.
    """
    if not texts:
        return []
    try:
        data = "\n".join(texts).encode("utf-8")
    except UnicodeEncodeError:
        return None
    proven = _prove(data)
    return None if proven is None else proven.split(b"\n")


def fast_canonical_text(text: str) -> bytes | None:
    """:func:`fast_canonical` of the value the C encoder wrote as ``text``."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return _prove(data)
