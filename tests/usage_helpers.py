"""One real screener per test process: the MiniLM ONNX model from the installed wheel."""

from __future__ import annotations

from functools import cache

from scaleguard.usage.embed import Embedder, load_embedder
from scaleguard.usage.loader import load_policy
from scaleguard.usage.screen import Screener


@cache
def embedder() -> Embedder:
    return load_embedder()


@cache
def screener() -> Screener:
    return Screener(load_policy(), embedder())
