"""Property tests: no input, however mangled, makes the loader raise anything but FrameworkError."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaleguard.errors import FrameworkError
from scaleguard.framework.loader import load_bytes
from scaleguard.framework.yamlsource import read_yaml

MINIMAL = (Path(__file__).parent / "data" / "minimal.yaml").read_bytes()


def try_load(data: bytes | str) -> None:
    try:
        load_bytes(data, "fuzz.yaml")
    except FrameworkError as exc:
        rendered = exc.render()
        assert rendered
        for problem in exc.problems:
            assert problem.message


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash(data: bytes) -> None:
    try_load(data)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=500))
def test_random_text_never_crashes(text: str) -> None:
    try_load(text)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(MINIMAL) - 1), st.integers(0, 255)), min_size=1, max_size=8
    )
)
def test_byte_mutations_never_crash(edits: list[tuple[int, int]]) -> None:
    data = bytearray(MINIMAL)
    for pos, value in edits:
        data[pos] = value
    try_load(bytes(data))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(MINIMAL)))
def test_truncation_never_crashes(cut: int) -> None:
    try_load(MINIMAL[:cut])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_wrong_typed_values_never_crash(data: st.DataObject) -> None:
    doc = read_yaml(MINIMAL, "minimal.yaml")[0]
    paths = [p for p in _paths(doc) if p]
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(json_values)
    target = doc
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = replacement
    try_load(yaml.safe_dump(doc))
