"""Frameworks as code: the document model, the loader, the library and conditions.

Load a framework with :func:`load_file` or :func:`load_bytes` (every problem is
reported with file, line and column), or take one from the :class:`Library`
(built-in frameworks plus any folders given). Commitment conditions are parsed
into :class:`AllOf` / :class:`AnyOf` / :class:`Not` / :class:`FactTest` trees and
evaluated in three-valued logic (:class:`Truth`). The schema is documented in
``docs/frameworks.md``.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as the modules define them, for type checkers
    from scaleguard.framework.conditions import (
        AllOf,
        AnyOf,
        FactTest,
        Not,
        Truth,
        describe,
        evaluate,
        facts_named,
        parse_condition,
    )
    from scaleguard.framework.facts import BUILTIN_FACTS, FactSpec
    from scaleguard.framework.library import Library, LibraryEntry, builtin_frameworks
    from scaleguard.framework.loader import LoadedFramework, canonical_json, load_bytes, load_file
    from scaleguard.framework.model import (
        Action,
        Commitment,
        FrameworkDocument,
        RequiredSafeguard,
        RiskDomain,
        SafeguardStandard,
        Threshold,
        json_schema,
    )


#: Public name -> the module that defines it. Imported on first use, so that a
#: command needing one part (the library's index, say) does not load the
#: document model and its validators.
_WHERE = {
    **dict.fromkeys(
        (
            "AllOf",
            "AnyOf",
            "FactTest",
            "Not",
            "Truth",
            "describe",
            "evaluate",
            "facts_named",
            "parse_condition",
        ),
        "conditions",
    ),
    **dict.fromkeys(("BUILTIN_FACTS", "FactSpec"), "facts"),
    **dict.fromkeys(("Library", "LibraryEntry", "builtin_frameworks"), "library"),
    **dict.fromkeys(("LoadedFramework", "canonical_json", "load_bytes", "load_file"), "loader"),
    **dict.fromkeys(
        (
            "Action",
            "Commitment",
            "FrameworkDocument",
            "RequiredSafeguard",
            "RiskDomain",
            "SafeguardStandard",
            "Threshold",
            "json_schema",
        ),
        "model",
    ),
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "BUILTIN_FACTS",
    "Action",
    "AllOf",
    "AnyOf",
    "Commitment",
    "FactSpec",
    "FactTest",
    "FrameworkDocument",
    "Library",
    "LibraryEntry",
    "LoadedFramework",
    "Not",
    "RequiredSafeguard",
    "RiskDomain",
    "SafeguardStandard",
    "Threshold",
    "Truth",
    "builtin_frameworks",
    "canonical_json",
    "describe",
    "evaluate",
    "facts_named",
    "json_schema",
    "load_bytes",
    "load_file",
    "parse_condition",
]
