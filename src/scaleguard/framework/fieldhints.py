"""Which field names a pydantic model allows at a path: the hint for an unknown key.

Shared by every positioned loader (framework documents, usage policies), so a
misspelled key is answered with the names that would have been accepted there.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from scaleguard.framework.yamlsource import PathPart


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
