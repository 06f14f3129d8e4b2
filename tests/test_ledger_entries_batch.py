"""Batch entry bytes (``entries_bytes``) against the single route and rfc8785.

``entries_bytes`` proves a whole batch at once; these tests hold it to the
single route byte for byte and error for error, over mixed batches of
ordinary, odd (floats to respell, keys above U+FFFF, long integers, deep
nesting) and bad items.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from datetime import UTC, datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any

import pytest
import rfc8785
from hypothesis import example, given, settings
from hypothesis import strategies as st

from scaleguard.errors import InputError
from scaleguard.ledger.canonical import entries_bytes, entry_bytes, format_time
from scaleguard.ledger.fastjcs import chunk_encoder, fast_canonical, fast_canonical_text, prove_many
from test_ledger_fastjcs import any_values, json_values, texts

MOMENTS = [
    datetime(2026, 5, 1, tzinfo=UTC),
    datetime(2026, 5, 1, 12, 30, 5, 120, tzinfo=UTC),
    datetime(2026, 5, 1, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
]
NAIVE = datetime(2026, 5, 1)  # noqa: DTZ001 - a time without a zone is refused
good_kinds = st.sampled_from(["note", "fact", "report-publication", "a.b", "x" * 64])
bad_kinds: Any = st.sampled_from(["Note", "", "x" * 65, "a--b", "é", 3, None])
good_records = st.dictionaries(
    texts.filter(lambda s: not any(0xD800 <= ord(c) <= 0xDFFF for c in s)), json_values, max_size=5
)
any_records = (
    st.dictionaries(texts, any_values, max_size=5)
    | good_records.map(OrderedDict)
    | good_records.map(MappingProxyType)
    | st.sampled_from([[], "x", None, 1])
)


def _outcome(fn: Any) -> Any:
    """The bytes, or everything an InputError says (class, message, hint, problems)."""
    try:
        return fn()
    except InputError as exc:
        problems = [(p.path, p.message, p.hint) for p in exc.problems]
        return (type(exc), str(exc), exc.hint, problems)


def _single(items: list[tuple[Any, Any]], moment: datetime) -> Any:
    return _outcome(lambda: [entry_bytes(k, moment, r) for k, r in items])


def _batch(items: list[tuple[Any, Any]], moment: datetime) -> Any:
    return _outcome(lambda: entries_bytes(items, moment))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@settings(max_examples=250, deadline=None)
@given(st.lists(st.tuples(good_kinds, good_records), max_size=12), st.sampled_from(MOMENTS))
@example([("note", {"v": 3.0}), ("note", {"\U0001f600": 1, "\uffff": 2})], MOMENTS[0])
@example([("note", {"n": 2**53 - 1, "f": 1e16}), ("fact", {"e": 1e-7, "z": -0.0})], MOMENTS[1])
def test_good_batches_are_the_single_route_and_rfc8785(
    items: list[tuple[str, dict[str, Any]]], moment: datetime
) -> None:
    batch = entries_bytes(items, moment)
    assert batch == [entry_bytes(k, moment, r) for k, r in items]
    time = format_time(moment)
    assert batch == [
        rfc8785.dumps({"kind": k, "time": time, "record": _plain(r)}) for k, r in items
    ]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.tuples(good_kinds | bad_kinds, good_records | any_records), max_size=8),
    st.sampled_from([*MOMENTS, NAIVE]),
)
@example([("note", {"a": "\ud800"}), ("Bad", {})], MOMENTS[0])
@example([("note", {"n": 2**60}), ("note", {"s": {1, 2}})], MOMENTS[0])
@example([("note", {}), ("note", {"x": math.nan})], NAIVE)
@example([], NAIVE)
def test_any_batch_answers_or_fails_exactly_as_the_single_route(
    items: list[tuple[Any, Any]], moment: datetime
) -> None:
    assert _batch(items, moment) == _single(items, moment)


def test_odd_items_take_the_single_route_without_spoiling_the_batch() -> None:
    deep: Any = 1
    for _ in range(63):  # the entry and its record add two levels: 65 in all
        deep = [deep]
    looped: dict[str, Any] = {}
    looped["self"] = looped
    odd = [
        ("note", {"\U0001f600": 1, "\uffff": 2}),  # UTF-16 key order
        ("note", {"n": 2**53 - 1, "m": -(2**53) + 1}),  # 16-digit integers
        ("note", {"v": [3.0, 1e21, 1e-7, -0.0]}),  # floats to respell
        ("note", {"1": "a", "true": "b"}),  # keys that read like numbers
        ("note", {"m": MappingProxyType({"a": 1})}),  # C encoder refuses, strict accepts
        ("note", {"d": [[[[[[[[[[1]]]]]]]]]]}),
    ]
    plain = [("note", {"i": i, "v": 0.5}) for i in range(50)]
    items = [x for pair in zip(plain, odd * 9, strict=False) for x in pair] + plain
    moment = MOMENTS[1]
    assert entries_bytes(items, moment) == [entry_bytes(k, moment, r) for k, r in items]
    for bad in ({"d": deep}, looped, {"n": 2**53}, {"s": "\udfff"}, {1: 2}):
        batch = [*plain[:5], ("note", bad), *plain[5:10]]
        assert _batch(batch, moment) == _single(batch, moment)
        assert isinstance(_batch(batch, moment), tuple)  # it is refused


def test_the_first_bad_item_decides_the_error() -> None:
    moment = MOMENTS[0]
    items: list[tuple[Any, Any]] = [("note", {"n": 2**60}), ("Bad", {}), ("note", {"s": {1}})]
    with pytest.raises(InputError, match=r"outside \+/-\(2\^53 - 1\)"):
        entries_bytes(items, moment)
    with pytest.raises(InputError, match="invalid entry kind 'Bad'"):
        entries_bytes(items[1:], moment)
    with pytest.raises(InputError, match="no time zone"):
        entries_bytes([("note", {})], NAIVE)
    assert entries_bytes([], NAIVE) == []
    not_a_time: Any = "2026-05-01"
    assert entries_bytes([], not_a_time) == []
    with pytest.raises(InputError, match="invalid entry kind"):
        entries_bytes([("Bad", {})], not_a_time)
    with pytest.raises(AttributeError):  # what entry_bytes meets too
        entries_bytes([("note", {})], not_a_time)


@settings(max_examples=200, deadline=None)
@given(st.lists(json_values.filter(lambda v: isinstance(v, dict | list)), max_size=10))
def test_the_joint_proof_is_the_proof_of_each(values: list[Any]) -> None:
    run = chunk_encoder()
    texts_ = ["".join(run(v, 0)) for v in values]
    each = [fast_canonical_text(t) for t in texts_]
    assert each == [fast_canonical(v) for v in values]
    joint = prove_many(texts_)
    if any(x is None for x in each):
        assert joint is None
    else:
        assert joint == each
