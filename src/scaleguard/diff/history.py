"""The history of one framework: every version in order, and what each step changed.

:func:`framework_history` is a pure function of the loaded versions: it diffs
each version against the one before it (with :func:`diff_frameworks`) and keeps
the counts and the most important findings of every step. The renderings live
in :mod:`scaleguard.diff.history_render` (JSON, Markdown) and
:mod:`scaleguard.diff.history_html` (the self-contained page).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from scaleguard.diff.engine import diff_frameworks
from scaleguard.diff.model import Change, FrameworkDiff
from scaleguard.errors import InputError
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework

#: What a step counts, in the order every rendering shows them.
StepCount = Literal["weakening", "unclear", "strengthening", "neutral", "unannounced"]
STEP_COUNTS: tuple[StepCount, ...] = (
    "weakening",
    "unclear",
    "strengthening",
    "neutral",
    "unannounced",
)
#: How many findings of each step are kept, most important first.
DEFAULT_TOP = 5


@dataclass(frozen=True)
class VersionInfo:
    """One version of the framework, as the library holds it."""

    version: str
    ref: str
    title: str
    effective_date: str
    supersedes: str | None
    digest: str
    primary_text_sha256: str | None
    primary_text_url: str | None


@dataclass(frozen=True)
class HistoryStep:
    """Version ``old`` → version ``new``: counts and the top findings of their diff."""

    old: VersionInfo
    new: VersionInfo
    counts: dict[StepCount, int]
    total: int
    top: tuple[Change, ...]

    @property
    def label(self) -> str:
        return f"{self.old.version} → {self.new.version}"


@dataclass(frozen=True)
class FrameworkHistory:
    """Every version of one framework, oldest first, and the steps between them."""

    framework_id: str
    title: str
    developer: str
    versions: tuple[VersionInfo, ...]
    steps: tuple[HistoryStep, ...]

    @property
    def totals(self) -> dict[StepCount, int]:
        out: dict[StepCount, int] = dict.fromkeys(STEP_COUNTS, 0)
        for step in self.steps:
            for key in STEP_COUNTS:
                out[key] += step.counts[key]
        return out


def _info(f: LoadedFramework) -> VersionInfo:
    meta = f.doc.framework
    primary = meta.primary_text
    return VersionInfo(
        version=meta.version,
        ref=f.ref,
        title=meta.title,
        effective_date=meta.effective_date.isoformat(),
        supersedes=meta.supersedes,
        digest=f.digest,
        primary_text_sha256=primary.sha256 if primary else None,
        primary_text_url=primary.retrieved_from if primary else None,
    )


def _step(old: LoadedFramework, new: LoadedFramework, top: int) -> HistoryStep:
    d: FrameworkDiff = diff_frameworks(old, new)
    by_class = d.counts
    counts: dict[StepCount, int] = {
        "weakening": by_class["weakening"],
        "unclear": by_class["unclear"],
        "strengthening": by_class["strengthening"],
        "neutral": by_class["neutral"],
        "unannounced": sum(1 for c in d.changes if c.unannounced),
    }
    return HistoryStep(
        old=_info(old),
        new=_info(new),
        counts=counts,
        total=len(d.changes),
        top=d.most_important(top),
    )


def framework_history(
    versions: Sequence[LoadedFramework], *, top: int = DEFAULT_TOP
) -> FrameworkHistory:
    """The history of the versions given, which must share one framework id and be in order.

    ``top`` is how many findings each step keeps (most important first, as
    :meth:`FrameworkDiff.most_important` orders them).
    """
    if not versions:
        raise InputError("no versions to compare", hint="give at least one framework version")
    if top < 0:
        raise InputError(f"top must be 0 or more, not {top}", hint="e.g. 5")
    ids = {f.doc.framework.id for f in versions}
    if len(ids) != 1:
        raise InputError(
            f"a history covers one framework, not {len(ids)}: {', '.join(sorted(ids))}",
            hint="pass the versions of a single framework id",
        )
    latest = versions[-1].doc.framework
    steps = tuple(_step(a, b, top) for a, b in itertools.pairwise(versions))
    return FrameworkHistory(
        framework_id=latest.id,
        title=latest.title,
        developer=latest.developer,
        versions=tuple(_info(f) for f in versions),
        steps=steps,
    )


def library_versions(library: Library, framework_id: str) -> list[LoadedFramework]:
    """Every version of ``framework_id`` in ``library``, oldest first.

    An unknown id is an error naming the closest id the library knows.
    """
    if "@" in framework_id:
        fid, _, version = framework_id.partition("@")
        raise InputError(
            f"history takes a framework id, not one version ({framework_id!r})",
            hint=f"drop '@{version}': scaleguard frameworks history {fid}",
        )
    return library.versions(framework_id)
