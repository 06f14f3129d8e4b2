"""A clause's band is the worst any one window of any reading reaches: a lower-scoring window
nearest a positive example holds the request even when the top window sits nearest a benign
look-alike."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from scaleguard.usage.scoring import window_band

REVIEW, BLOCK = 0.6, 0.9


def band_of(scores: list[float], closer: list[bool]) -> tuple[str, int]:
    s = np.array(scores, dtype=np.float32)
    band, pick, _ = window_band(s, np.array(closer), REVIEW, BLOCK)
    return band, pick


def test_a_lower_window_nearest_a_positive_is_not_masked_by_the_top_one() -> None:
    # the top window (0.8) is nearest a benign look-alike; the second (0.7) a positive
    assert band_of([0.8, 0.7], [False, True]) == ("review", 1)


def test_block_and_allow() -> None:
    assert band_of([0.2, 0.95], [False, False]) == ("block", 1)
    assert band_of([0.8, 0.5], [False, True]) == ("allow", 0)


windows = st.lists(
    st.tuples(st.floats(-1, 2, allow_nan=False, width=32), st.booleans()), min_size=1, max_size=30
)


@given(windows)
def test_the_band_is_the_worst_any_window_reaches(items: list[tuple[float, bool]]) -> None:
    scores = [s for s, _ in items]
    closer = [c for _, c in items]
    band, pick = band_of(scores, closer)
    alone = [
        "block" if s >= BLOCK else "review" if s >= REVIEW and c else "allow" for s, c in items
    ]
    order = {"allow": 0, "review": 1, "block": 2}
    assert band == max(alone, key=order.__getitem__)
    assert alone[pick] == band or band == "allow"
