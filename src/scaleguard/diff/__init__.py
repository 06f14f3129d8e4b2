"""Semantic diff of two framework documents: what changed, and does it weaken the framework.

Call :func:`diff_frameworks` on two loaded documents, then render the result
with :func:`render_json`, :func:`render_markdown` or :func:`render_rich`. The
rules are documented in ``docs/diff.md``.
"""

from scaleguard.diff.engine import diff_frameworks
from scaleguard.diff.model import (
    CLASSIFICATIONS,
    Change,
    Classification,
    Coverage,
    DomainCoverage,
    FieldChange,
    FrameworkDiff,
    SideInfo,
)
from scaleguard.diff.render_json import FORMAT, render_json
from scaleguard.diff.render_markdown import render_markdown
from scaleguard.diff.render_rich import render_rich
from scaleguard.diff.rules import RULES

__all__ = [
    "CLASSIFICATIONS",
    "FORMAT",
    "RULES",
    "Change",
    "Classification",
    "Coverage",
    "DomainCoverage",
    "FieldChange",
    "FrameworkDiff",
    "SideInfo",
    "diff_frameworks",
    "render_json",
    "render_markdown",
    "render_rich",
]
