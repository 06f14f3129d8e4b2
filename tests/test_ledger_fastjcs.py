"""The C route to RFC 8785 is byte-identical to ``rfc8785`` and never more lenient."""

from __future__ import annotations

import math
import re
import struct
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scaleguard.errors import InputError, LedgerError
from scaleguard.ledger.canonical import (
    _json_problem,
    canonical_json,
    decode_canonical,
    entry_bytes,
    is_canonical,
    loads_strict,
    parse_entry,
)
from scaleguard.ledger.fastjcs import ecma_number, fast_canonical, fast_decode

# Characters where the two encoders could part: quotes, escapes, controls, DEL,
# digits and number syntax (string contents must never be taken for numbers),
# the top of the BMP, the first astral plane character, and lone surrogates.
TRICKY = [
    *'"\\/\x00\x01\x1f\x7f\b\t\n\f\r:,.e0123456789-+[]{}',
    "\u2028",
    "\ue000",
    "\uffff",
    "\U00010000",
    "\U0001f600",
    "\ud800",
    "\udfff",
]
chars = st.sampled_from(TRICKY) | st.characters(exclude_categories=())
texts = st.text(chars, max_size=8)
bmp_texts = st.text(
    st.sampled_from([c for c in TRICKY if ord(c) <= 0xFFFF and not 0xD800 <= ord(c) <= 0xDFFF])
    | st.characters(max_codepoint=0xFFFF),
    max_size=8,
)


def _double(bits: int) -> float:
    return float(struct.unpack("<d", struct.pack("<Q", bits))[0])


#: Every finite double is reachable: uniformly by bit pattern, and hypothesis's
#: own float strategy (which favours edge cases: 0, -0, subnormals, huge).
finite_doubles = st.floats(allow_nan=False, allow_infinity=False) | st.integers(0, 2**64 - 1).map(
    _double
).filter(math.isfinite)
safe_ints = st.integers(-(2**53) + 1, 2**53 - 1)
edge_ints = st.sampled_from(
    [2**53 - 1, -(2**53) + 1, 2**53, -(2**53), 10**15 - 1, 10**15, 10**16, -(10**16), 2**64]
)


def _values(keys: st.SearchStrategy[Any], scalars: st.SearchStrategy[Any]) -> Any:
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(keys, inner, max_size=4)
            | st.tuples(inner, inner)
        ),
        max_leaves=16,
    )


good_scalars = (
    (st.none() | st.booleans() | safe_ints | edge_ints.filter(lambda n: abs(n) < 2**53))
    | finite_doubles
    | texts.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s))
)
any_scalars = (
    good_scalars
    | edge_ints
    | texts
    | st.sampled_from([math.nan, math.inf, -math.inf, b"x", {1, 2}, datetime.now(UTC)])
)
json_values = _values(
    texts.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)), good_scalars
)
any_values = _values(texts | st.integers(-3, 3) | st.none() | st.booleans(), any_scalars)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _strict(value: Any) -> bytes | str:
    """The pure-Python route: canonical bytes, or the message of the first problem."""
    problem = _json_problem(value, "$", 0)
    if problem is not None:
        return f"{problem.path}: {problem.message}"
    return rfc8785.dumps(_plain(value))


def _ours(value: Any) -> bytes | str:
    try:
        return canonical_json(value)
    except InputError as exc:
        (problem,) = exc.problems
        return f"{problem.path}: {problem.message}"


@settings(max_examples=1500, deadline=None)
@given(json_values)
@example({"\uffff": 1, "\U00010000": 2})
@example([1e16, 1e21, 1e-6, 1e-7, -0.0, 3.0, 5e-324, 1.7976931348623157e308])
@example({"a\\": '"1.0', "b": [1.0, 'x"1e-07\\'], "c": 1e-07})
def test_canonical_json_is_rfc8785_byte_for_byte(value: Any) -> None:
    assert canonical_json(value) == rfc8785.dumps(_plain(value))


@settings(max_examples=1500, deadline=None)
@given(any_values)
@example({"a": 2**53})
@example({"a": [math.nan]})
@example({1: "a"})
@example({"a": {True: 1}})
@example({"\ud800": 1})
@example({"a": "\udfff"})
def test_bad_input_gets_the_same_error_as_the_strict_route(value: Any) -> None:
    assert _ours(value) == _strict(value)


@settings(max_examples=1000, deadline=None)
@given(json_values)
def test_whatever_the_fast_route_answers_is_rfc8785(value: Any) -> None:
    fast = fast_canonical(value)
    assert fast is None or fast == rfc8785.dumps(_plain(value))


ordinary_keys = bmp_texts.filter(
    lambda s: (
        '"' not in s
        and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)
        and not re.fullmatch(r"-?\d[\d.e+-]*|true|false|null", s)
    )
)
ordinary_values = _values(
    ordinary_keys,
    st.none()
    | st.booleans()
    | st.integers(-(10**15) + 1, 10**15 - 1)
    | finite_doubles
    | texts.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
)


@settings(max_examples=800, deadline=None)
@given(ordinary_values)
def test_the_fast_route_answers_for_ordinary_values(value: Any) -> None:
    """Every float, any text in values, BMP keys: all decided in C, none sent back."""
    assert fast_canonical(value) == rfc8785.dumps(_plain(value))


@settings(max_examples=3000, deadline=None)
@given(finite_doubles)
@example(1e21)
@example(1e-7)
@example(9.999999999999999e20)
@example(1e-6)
@example(-1.5e-7)
@example(2.0**53 + 2)
def test_ecma_number_matches_rfc8785_over_all_doubles(value: float) -> None:
    assert ecma_number(repr(value)) == rfc8785.dumps(value).decode()


def test_utf16_key_order_differs_from_code_points_and_rfc8785_wins() -> None:
    value = {"\uffff": 1, "\U0001f600": 2, "a": 3}
    assert fast_canonical(value) is None
    # U+1F600 is D83D DE00 in UTF-16, below U+FFFF
    assert canonical_json(value) == '{"a":3,"\U0001f600":2,"\uffff":1}'.encode()
    # astral characters in values are fine in C
    assert fast_canonical({"a": "\U0001f600"}) == '{"a":"\U0001f600"}'.encode()


def test_integer_limits_are_unchanged() -> None:
    top = 2**53 - 1
    assert canonical_json({"n": top, "m": -top}) == b'{"m":-9007199254740991,"n":9007199254740991}'
    for bad in (2**53, -(2**53), 10**30):
        with pytest.raises(InputError, match=r"outside \+/-\(2\^53 - 1\)") as info:
            canonical_json({"n": [bad]})
        assert info.value.problems[0].path == "$.n[0]"
    assert fast_canonical({"n": 10**15 - 1}) == b'{"n":999999999999999}'


def test_nesting_limit_is_unchanged_and_wide_values_stay_fast() -> None:
    deep: Any = 1
    for _ in range(64):
        deep = [deep]
    assert canonical_json(deep) == b"[" * 64 + b"1" + b"]" * 64
    with pytest.raises(InputError, match="deeper than 64"):
        canonical_json([deep])
    wide = {"rows": [{"k": [i, {"s": "[[[[" * 20}]} for i in range(100)]}
    assert fast_canonical(wide) == rfc8785.dumps(wide)


def test_non_string_keys_are_refused_not_coerced() -> None:
    for value in ({1: "a"}, {"x": {None: 1}}, {"x": {1.5: 1}}, {"x": {False: 0}}):
        assert fast_canonical(value) is None
        with pytest.raises(InputError, match="is not a string"):
            canonical_json(value)
    # a string key that merely looks like a number is fine (strict route)
    assert canonical_json({"1": 1, "true": 2}) == b'{"1":1,"true":2}'


CANONICAL = entry_bytes("decision", datetime(2026, 5, 1, tzinfo=UTC), {"a": [1, 0.5, "é"]})


@pytest.mark.parametrize(
    "data",
    [
        CANONICAL.replace(b"0.5", b"0.50"),
        CANONICAL.replace(b"[1,", b"[1.0,"),
        CANONICAL.replace(b"[1,", b"[1e0,"),
        CANONICAL.replace(b"[1,", b"[-0,"),
        CANONICAL.replace(b"[1,", b"[ 1,"),
        CANONICAL.replace("é".encode(), b"\\u00e9"),
        CANONICAL.replace(b'{"a"', b'{"a":0,"a"'),
        CANONICAL.replace(b'"kind":"decision",', b"") + b" ",
        CANONICAL.replace(b"0.5", b"NaN"),
        CANONICAL.replace("é".encode(), b"\\ud800"),
        CANONICAL.replace("é".encode(), b"\xed\xa0\x80"),
        CANONICAL.replace(b"0.5", b"100000000000000000001"),
        CANONICAL.replace(b"0.5", b"9007199254740993"),
        b'{"b":1,"a":2}',
    ],
)
def test_tampered_bytes_are_not_canonical(data: bytes) -> None:
    assert fast_decode(data) == (False, None)
    assert not is_canonical(data)
    with pytest.raises(LedgerError):
        parse_entry(data)
    with pytest.raises(LedgerError):
        decode_canonical(data)


def _strictly_canonical(data: bytes) -> bool:
    try:
        value = loads_strict(data)
    except LedgerError:
        return False
    return _json_problem(value, "$", 0) is None and rfc8785.dumps(value) == data


@settings(max_examples=800, deadline=None)
@given(json_values, st.integers(min_value=0), st.binary(max_size=3))
def test_is_canonical_agrees_with_the_strict_check(
    value: Any, position: int, replacement: bytes
) -> None:
    data = canonical_json(value)
    proven, decoded = fast_decode(data)
    assert is_canonical(data)
    assert decode_canonical(data) == loads_strict(data)
    if proven:
        assert decoded == loads_strict(data)
    at = position % (len(data) + 1)
    mutated = data[:at] + replacement + data[at + 1 :]
    strict = _strictly_canonical(mutated)
    assert is_canonical(mutated) == strict
    if fast_decode(mutated)[0]:
        assert strict


def test_whole_doubles_beyond_2_53_decode_as_doubles_in_c() -> None:
    data = canonical_json({"x": 1e20, "y": 2.0**60})
    assert data == b'{"x":100000000000000000000,"y":1152921504606847000}'
    proven, value = fast_decode(data)
    assert proven
    assert value == {"x": 1e20, "y": 2.0**60}
    assert all(isinstance(v, float) for v in value.values())


def test_the_demo_shapes_take_the_fast_route() -> None:
    record = {
        "artifact_sha256": "08dc10bd02f12dc54ca912b7819fafe061dfefce664ee39b1d2888a863cd7f71",
        "sample_scores": [1, 0, 1] * 50,
        "stderr": 0.034575676232500116,
        "value": 0.61,
        "threshold": 1.0,
        "effective_compute": 1.7e26,
        "note": "RSP §3.6 — version 3.0 (2.2 → 3.0)",
    }
    data = entry_bytes("evidence", datetime(2026, 5, 1, tzinfo=UTC), record)
    assert fast_canonical({"kind": "evidence", "record": record, "time": "2026-05-01T00:00:00Z"})
    assert fast_decode(data)[0]
    assert parse_entry(data).record == {**record, "threshold": 1}


class _Level(IntEnum):
    HIGH = 3


class _Tier(StrEnum):
    GOLD = "gold"


class _Ratio(float):
    def __repr__(self) -> str:
        return "not a number"


def test_subclasses_and_mappings_encode_as_rfc8785_does() -> None:
    value = {
        "level": _Level.HIGH,
        "tier": _Tier.GOLD,
        _Tier.GOLD: [_Ratio(2.0), _Ratio(0.25)],
        "ordered": OrderedDict([("b", 1), ("a", (1.0, 2))]),
    }
    expected = b'{"gold":[2,0.25],"level":3,"ordered":{"a":[1,2],"b":1},"tier":"gold"}'
    assert fast_canonical(value) == expected
    assert canonical_json(value) == expected == rfc8785.dumps(_plain(value))
    # a mapping that is not a dict is not for the C encoder, but still canonical
    proxy = MappingProxyType({"b": 1.5, "a": None})
    assert fast_canonical(proxy) is None
    assert canonical_json(proxy) == b'{"a":null,"b":1.5}'
