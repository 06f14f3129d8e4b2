"""Scoring a clause: windows the model reads whole, scores against examples, thresholds.

Pure functions of the embeddings (numpy arrays, imported lazily by callers)
and the text's token offsets, kept apart from the screen's cascade
(:mod:`scaleguard.usage.screen`) so each can be read and tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from scaleguard.errors import InputError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from scaleguard.usage.embed import Embedder

Band = Literal["allow", "review", "block"]
#: Embedding windows: this many tokens (about 35 English words), overlapping by half.
WINDOW_TOKENS = 48
WINDOW_STRIDE = 24
MAX_WINDOWS = 1200
MARGIN_WEIGHT = 0.5
#: A block threshold is this far above the highest benign look-alike's score.
BLOCK_MARGIN = 0.02
#: The review threshold lets this share of the clause's positives reach review.
REVIEW_RECALL = 0.95
#: ... but no lower than the score this share of benign look-alikes stays under.
REVIEW_BENIGN_QUANTILE = 0.8


@dataclass
class Calibration:
    review: float
    block: float


def clause_scores(
    x: npt.NDArray[np.float32], pos: npt.NDArray[np.float32], best_b: npt.NDArray[np.float32]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_], npt.NDArray[np.intp]]:
    """Clause scores of rows of ``x`` (s_pos + w * (s_pos - s_benign)), given each row's
    highest similarity to a benign look-alike, and whether the nearest example of each row
    is one of the clause's positives rather than a benign one."""
    sp = x @ pos.T
    best_p = sp.max(axis=1)
    score = best_p + MARGIN_WEIGHT * (best_p - best_b)
    return score, best_p > best_b, sp.argmax(axis=1)


def window_band(
    s: npt.NDArray[np.float32], closer: npt.NDArray[np.bool_], review: float, block: float
) -> tuple[Band, int, npt.NDArray[np.bool_]]:
    """A clause's band over every window: the worst any single window reaches. Block needs
    a score above every benign look-alike's; review a score at the review threshold whose
    nearest example is a positive (a 1-nearest-neighbour vote). Returns the band, the
    window that decides it, and which windows reach review or block on their own.

    Every window counts: the highest-scoring one may sit nearest a benign look-alike
    while another, lower, is nearest a positive; that one still holds the request.
    """
    hot = (s >= block) | ((s >= review) & closer)
    best = int(s.argmax())
    if s[best] >= block:
        return "block", best, hot
    if hot.any():
        held = hot.nonzero()[0]
        return "review", int(held[s[held].argmax()]), hot
    return "allow", best, hot


def calibrate(pos: npt.NDArray[np.float32], ben: npt.NDArray[np.float32]) -> Calibration:
    """Leave-one-out thresholds from the clause's positives and all benign look-alikes.

    Each positive is scored without itself among the positives, each benign
    example without itself among the benign ones; block sits just above the
    highest benign score, review where 95% of positives reach it, but not
    below the score 80% of the benign look-alikes stay under (and never above
    block).
    """
    import numpy as np

    sp = pos @ pos.T
    np.fill_diagonal(sp, -1.0)
    pos_best = sp.max(axis=1)
    pos_ben = (pos @ ben.T).max(axis=1)
    pos_scores = pos_best + MARGIN_WEIGHT * (pos_best - pos_ben)
    bb = ben @ ben.T
    np.fill_diagonal(bb, -1.0)
    ben_best_b = bb.max(axis=1)
    ben_best_p = (ben @ pos.T).max(axis=1)
    ben_scores = ben_best_p + MARGIN_WEIGHT * (ben_best_p - ben_best_b)
    block = float(ben_scores.max()) + BLOCK_MARGIN
    review = float(np.quantile(pos_scores, 1.0 - REVIEW_RECALL))
    review = max(review, float(np.quantile(ben_scores, REVIEW_BENIGN_QUANTILE)))
    review = min(review, block)
    return Calibration(review=round(review, 4), block=round(block, 4))


def windows(
    text: str, embedder: Embedder, offsets: list[tuple[int, int]] | None = None
) -> list[tuple[int, int]]:
    """Overlapping windows of tokens covering the whole text, as character spans.

    Windows count the model's tokens, not words: text without spaces (a long
    hyphenated blob, Chinese, emoji) is cut into pieces the model reads whole,
    so nothing sits past its token limit unread. ``offsets`` are the text's token
    spans when already known.
    """
    if offsets is None:
        offsets = embedder.token_offsets([text])[0]
    n = len(offsets)
    if n <= WINDOW_TOKENS:
        return [(0, len(text))]
    count = 1 + -(-(n - WINDOW_TOKENS) // WINDOW_STRIDE)
    if count > MAX_WINDOWS:
        raise InputError(
            f"the request is too long to screen ({n:,} tokens)",
            hint=f"send at most about {WINDOW_STRIDE * MAX_WINDOWS:,} tokens per request",
        )
    out = []
    start = 0
    while True:
        stop = min(start + WINDOW_TOKENS, n)
        out.append(
            (
                0 if start == 0 else offsets[start][0],
                len(text) if stop == n else offsets[stop - 1][1],
            )
        )
        if stop == n:
            return out
        start += WINDOW_STRIDE
