"""Typed values of the Frontier Safety Roadmap: what users write, what is recorded, what is graded.

``GoalSpec`` and ``UpdateSpec`` are parsed at the edge (CLI options, import
files) and refuse malformed input. ``Goal`` and ``Update`` are what the store
hands back, with their ledger positions. The grading results (``GoalCard``,
``ReportCard``, ``RoadmapDiff``) are plain data so the terminal, Markdown,
HTML and JSON outputs, and Risk Reports, all show the same thing.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from scaleguard.framework.model import Id
from scaleguard.textcheck import free_text, http_url, visible

Area = Literal["security", "safeguards", "alignment", "policy"]
AREAS: tuple[Area, ...] = ("security", "safeguards", "alignment", "policy")

Status = Literal["on_track", "at_risk", "blocked", "achieved", "withdrawn"]
STATUSES: tuple[Status, ...] = ("on_track", "at_risk", "blocked", "achieved", "withdrawn")
CLOSING: frozenset[str] = frozenset({"achieved", "withdrawn"})

Grade = Literal["achieved_on_time", "achieved_late", "on_track", "at_risk", "missed", "withdrawn"]
GRADES: tuple[Grade, ...] = (
    "achieved_on_time",
    "achieved_late",
    "on_track",
    "at_risk",
    "missed",
    "withdrawn",
)
GRADE_LABELS: dict[Grade, str] = {
    "achieved_on_time": "achieved on time",
    "achieved_late": "achieved late",
    "on_track": "on track",
    "at_risk": "at risk",
    "missed": "missed",
    "withdrawn": "withdrawn",
}
AREA_LABELS: dict[Area, str] = {
    "security": "Security",
    "safeguards": "Safeguards",
    "alignment": "Alignment",
    "policy": "Policy",
}

Title = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
    AfterValidator(visible),
]
Label = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Text = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=5000),
    AfterValidator(free_text),
]
Criterion = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=1000, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
]
Url = Annotated[str, AfterValidator(http_url)]
MAX_CRITERIA = 50


def _unique(criteria: tuple[str, ...] | None) -> None:
    if criteria is None:
        return
    seen: set[str] = set()
    for c in criteria:
        if c in seen:
            raise ValueError(f"criterion {c!r} is listed twice")
        seen.add(c)


class GoalSpec(BaseModel):
    """A goal as the user sets it: what, by when, who, and how success is measured."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    goal: Id
    area: Area
    title: Title
    description: Text
    target: date
    owner: Label
    criteria: tuple[Criterion, ...] = Field(default=(), max_length=MAX_CRITERIA)
    set_on: date
    evidence_url: Url | None = None

    @model_validator(mode="after")
    def _consistent(self) -> GoalSpec:
        _unique(self.criteria)
        if self.target < self.set_on:
            raise ValueError(
                f"target {self.target} is before the date the goal was set ({self.set_on})"
            )
        return self


class UpdateSpec(BaseModel):
    """A dated status report on a goal; it may move the target or restate the criteria."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    goal: Id
    on: date
    status: Status
    evidence_url: Url
    note: Text | None = None
    target: date | None = None
    criteria: tuple[Criterion, ...] | None = Field(
        default=None, min_length=1, max_length=MAX_CRITERIA
    )

    @model_validator(mode="after")
    def _consistent(self) -> UpdateSpec:
        _unique(self.criteria)
        if self.target is not None and self.status in CLOSING:
            raise ValueError(f"a {self.status} update closes the goal; it cannot set a new target")
        if self.target is not None and self.target < self.on:
            raise ValueError(f"the new target {self.target} is before the update's date {self.on}")
        return self


class Update(BaseModel):
    """A recorded update, with the ledger entry that backs it."""

    model_config = ConfigDict(frozen=True)

    on: date
    status: Status
    evidence_url: str
    note: str | None = None
    target: date | None = None
    criteria: tuple[str, ...] | None = None
    ledger_index: int = 0
    recorded_by: str = ""


class Goal(BaseModel):
    """A recorded goal and every update appended to it, oldest first."""

    model_config = ConfigDict(frozen=True)

    goal: str
    area: Area
    title: str
    description: str
    target: date
    owner: str
    criteria: tuple[str, ...] = ()
    set_on: date
    evidence_url: str | None = None
    ledger_index: int = 0
    recorded_by: str = ""
    updates: tuple[Update, ...] = ()


class GradingPolicy(BaseModel):
    """The day counts behind 'at risk'; the defaults are documented in docs/roadmap.md."""

    model_config = ConfigDict(frozen=True)

    due_window_days: int = Field(
        30, ge=0, description="'Due soon' means this close to the deadline."
    )
    quiet_days: int = Field(
        30, ge=0, description="A goal due soon needs a report within this many days."
    )
    stale_days: int = Field(
        120, ge=1, description="Any open goal needs a report within this many days."
    )


class Revision(BaseModel):
    """One change that made a goal less ambitious: a later target or narrower criteria."""

    model_config = ConfigDict(frozen=True)

    on: date
    kind: Literal["delayed", "narrowed"]
    summary: str
    previous_target: date | None = None
    new_target: date | None = None
    removed_criteria: tuple[str, ...] = ()
    added_criteria: tuple[str, ...] = ()
    ledger_index: int


class HistoryEntry(BaseModel):
    """One line of a goal's timeline: when it was set, and each update."""

    model_config = ConfigDict(frozen=True)

    on: date
    event: Literal["set", "update"]
    status: Status | None = None
    summary: str
    note: str | None = None
    evidence_url: str | None = None
    ledger_index: int


class GoalCard(BaseModel):
    """A goal's grade as of a date, why, and its history up to that date."""

    model_config = ConfigDict(frozen=True)

    goal: str
    area: Area
    title: str
    description: str
    owner: str
    set_on: date
    original_target: date
    target: date
    deadline: date
    criteria: tuple[str, ...]
    original_criteria: tuple[str, ...]
    evidence_url: str | None
    grade: Grade
    grade_label: str
    reason: str
    latest_status: Status | None
    last_report_on: date
    closed_on: date | None
    revised_less_ambitiously: bool
    revisions: tuple[Revision, ...]
    history: tuple[HistoryEntry, ...]


class AreaSummary(BaseModel):
    """How many goals of one area have each grade."""

    model_config = ConfigDict(frozen=True)

    area: Area
    label: str
    counts: dict[Grade, int]
    total: int
    revised_less_ambitiously: int


class ReportCard(BaseModel):
    """The whole roadmap graded as of one date."""

    model_config = ConfigDict(frozen=True)

    as_of: date
    policy: GradingPolicy
    areas: tuple[AreaSummary, ...]
    totals: dict[Grade, int]
    total: int
    revised_less_ambitiously: int
    goals: tuple[GoalCard, ...]
    not_yet_set: int = Field(0, description="Recorded goals set after the as-of date (not graded).")


DiffKind = Literal["added", "dropped", "delayed", "narrowed", "achieved"]
DIFF_KINDS: tuple[DiffKind, ...] = ("added", "dropped", "delayed", "narrowed", "achieved")


class DiffEntry(BaseModel):
    """One way the roadmap changed between two revisions, with the reason."""

    model_config = ConfigDict(frozen=True)

    kind: DiffKind
    goal: str
    area: Area
    title: str
    reason: str


class RoadmapDiff(BaseModel):
    """Goals added, dropped, delayed, made less ambitious or achieved between A and B."""

    model_config = ConfigDict(frozen=True)

    a: str
    b: str
    entries: tuple[DiffEntry, ...]

    def count(self, kind: DiffKind) -> int:
        return sum(1 for e in self.entries if e.kind == kind)
