"""Which field names a pydantic model allows at a path: the hint for an unknown key.

Shared by every positioned loader (framework documents, usage policies), so a
misspelled key is answered with the names that would have been accepted there.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from scaleguard.errors import Problem
from scaleguard.framework.yamlsource import PathPart, SourceMap


def allowed_keys(root: type[BaseModel], loc: Sequence[PathPart]) -> list[str]:
    """Field names of the model found at ``loc`` under ``root`` (best effort; [] if none)."""
    current: Any = root
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    """The model inside ``Annotated[...]``, ``list[...]`` or ``X | None``."""
    for _ in range(6):
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (list, typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if args else tp
        else:
            break
    return tp


def key_problem(err: Any, source: SourceMap, root: type[BaseModel]) -> Problem | None:
    """The problem for an unknown or missing key, positioned and with a hint; None for any
    other pydantic error (each loader words value errors for its own document)."""
    loc: tuple[PathPart, ...] = tuple(err["loc"])
    if err["type"] == "extra_forbidden":
        key = str(loc[-1])
        allowed = allowed_keys(root, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"allowed keys here: {', '.join(allowed)}" if allowed else "remove it"
        )
        return source.problem(loc, f"unknown key {key!r}", hint, key=True)
    if err["type"] == "missing":
        return source.problem(
            loc[:-1], f"missing required key {str(loc[-1])!r}", f"add '{loc[-1]}: ...' here"
        )
    return None
