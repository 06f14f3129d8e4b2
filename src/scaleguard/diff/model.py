"""The result of comparing two framework documents, as plain immutable values.

A diff is a list of :class:`Change` entries. One element can yield several
changes when its fields move in different directions (a force lowered and a
cadence shortened are two findings, not one blurred "unclear"), so that a
weakening is never hidden behind an unrelated edit of the same element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Classification = Literal["weakening", "unclear", "strengthening", "neutral"]
CLASSIFICATIONS: tuple[Classification, ...] = ("weakening", "unclear", "strengthening", "neutral")
ChangeKind = Literal["added", "removed", "renamed", "changed", "merged", "split"]
CHANGE_KINDS: tuple[ChangeKind, ...] = (
    "added",
    "removed",
    "renamed",
    "changed",
    "merged",
    "split",
)
Family = Literal[
    "framework",
    "risk_domains",
    "thresholds",
    "safeguard_standards",
    "commitments",
    "cadences",
    "governance_roles",
    "red_lines",
    "external_review",
    "facts",
]
FAMILIES: tuple[Family, ...] = (
    "framework",
    "risk_domains",
    "thresholds",
    "safeguard_standards",
    "commitments",
    "cadences",
    "governance_roles",
    "red_lines",
    "external_review",
    "facts",
)

#: What ``frameworks diff --fail-on`` accepts: a classification, unannounced changes, or any.
FAIL_ON: tuple[str, ...] = ("weakening", "unclear", "unannounced", "any")

#: Order of families inside one priority tier: gates first, then coverage, then the rest.
SUMMARY_FAMILY_ORDER: tuple[Family, ...] = (
    "commitments",
    "risk_domains",
    "thresholds",
    "safeguard_standards",
    "cadences",
    "external_review",
    "governance_roles",
    "red_lines",
    "framework",
    "facts",
)

#: Priority tiers of the summary ordering (see docs/diff.md, "Ordering").
PRIORITY_CRITICAL = 0
PRIORITY_WEAKENING = 1
PRIORITY_UNCLEAR = 2
PRIORITY_STRENGTHENING = 3
PRIORITY_NEUTRAL = 4


def mirror_classification(c: Classification) -> Classification:
    """What the same finding means when the two documents are swapped."""
    if c == "weakening":
        return "strengthening"
    if c == "strengthening":
        return "weakening"
    return c


@dataclass(frozen=True)
class FieldChange:
    """One field that differs. ``path`` is relative to the element; "" is the whole element."""

    path: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Finding:
    """What a rule concluded about part of one element (before it is placed in the diff)."""

    rule: str
    classification: Classification
    reason: str
    fields: tuple[FieldChange, ...] = ()
    #: True for weakenings the summary lists first: binding gates, removed coverage.
    critical: bool = False


@dataclass(frozen=True)
class Change:
    """One reported change of one element."""

    family: Family
    id: str
    name: str
    change: ChangeKind
    classification: Classification
    reason: str
    rule: str
    fields: tuple[FieldChange, ...]
    old_id: str | None
    new_id: str | None
    priority: int
    #: True when no changelog entry of the newer document (or of a version between)
    #: announces the element; set by the diff engine.
    unannounced: bool = False


@dataclass(frozen=True)
class SideInfo:
    """Identity of one compared document: enough to know exactly what was compared."""

    ref: str
    framework_id: str
    version: str
    title: str
    developer: str
    effective_date: str
    digest: str


@dataclass(frozen=True)
class DomainCoverage:
    """One risk domain and the thresholds each document defines in it."""

    id: str
    name: str
    status_a: str | None
    status_b: str | None
    thresholds_a: tuple[str, ...]
    thresholds_b: tuple[str, ...]

    @property
    def covered_a(self) -> bool:
        return self.status_a in ("in_scope", "monitored")

    @property
    def covered_b(self) -> bool:
        return self.status_b in ("in_scope", "monitored")


@dataclass(frozen=True)
class Coverage:
    """Which risks each document covers: the heart of a cross-framework comparison."""

    domains: tuple[DomainCoverage, ...]
    domains_only_a: tuple[str, ...]
    domains_only_b: tuple[str, ...]
    thresholds_only_a: tuple[str, ...]
    thresholds_only_b: tuple[str, ...]


@dataclass(frozen=True)
class FrameworkDiff:
    """Everything that differs between document A (old) and document B (new)."""

    a: SideInfo
    b: SideInfo
    changes: tuple[Change, ...]
    coverage: Coverage
    cross_framework: bool

    @property
    def counts(self) -> dict[Classification, int]:
        """Number of changes per classification, every classification present (maybe 0)."""
        out: dict[Classification, int] = dict.fromkeys(CLASSIFICATIONS, 0)
        for change in self.changes:
            out[change.classification] += 1
        return out

    @property
    def change_counts(self) -> dict[ChangeKind, int]:
        out: dict[ChangeKind, int] = dict.fromkeys(CHANGE_KINDS, 0)
        for change in self.changes:
            out[change.change] += 1
        return out

    @property
    def unannounced(self) -> int:
        """Number of changes that no changelog entry of B announces."""
        return sum(1 for c in self.changes if c.unannounced)

    @property
    def unannounced_counts(self) -> dict[Classification, int]:
        out: dict[Classification, int] = dict.fromkeys(CLASSIFICATIONS, 0)
        for change in self.changes:
            if change.unannounced:
                out[change.classification] += 1
        return out

    def found(self, what: str) -> bool:
        """True when the diff holds what ``--fail-on`` names (see :data:`FAIL_ON`)."""
        if what not in FAIL_ON:
            raise ValueError(f"unknown --fail-on value {what!r}")
        if what == "any":
            return bool(self.changes)
        if what == "unannounced":
            return self.unannounced > 0
        return self.has(what)

    def has(self, classification: str) -> bool:
        """True when at least one change carries ``classification`` (for ``--fail-on``).

        Takes a plain string so a command-line value can be passed through; a name
        that is not a classification is a programming error, not "nothing found".
        """
        if classification not in CLASSIFICATIONS:
            raise ValueError(f"unknown classification {classification!r}")
        return any(c.classification == classification for c in self.changes)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    def most_important(self, limit: int = 10) -> tuple[Change, ...]:
        """The first non-neutral changes in summary order (the list is already ordered)."""
        return tuple(c for c in self.changes if c.classification != "neutral")[:limit]

    @property
    def headline(self) -> str:
        """One sentence saying what was compared and what came out."""
        counts = self.counts
        if self.cross_framework:
            lead = (
                f"Cross-framework comparison of {self.a.ref} (A) with {self.b.ref} (B); "
                "classifications read B relative to A."
            )
        else:
            lead = f"Comparison of {self.a.ref} (old) with {self.b.ref} (new)."
        if not self.changes:
            return f"{lead} No differences."
        parts = ", ".join(f"{counts[c]} {c}" for c in CLASSIFICATIONS if counts[c])
        total = len(self.changes)
        tail = f"; {self.unannounced} not announced in its changelog" if self.unannounced else ""
        return f"{lead} {total} change{'s' if total != 1 else ''}: {parts}{tail}."
