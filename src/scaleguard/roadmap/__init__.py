"""The Frontier Safety Roadmap: public goals by area, dated updates, grades and a report card.

The pure core (:mod:`.grading`, :mod:`.checks`) grades goals and compares
revisions of the roadmap without any I/O; :mod:`.store` records goals and
updates as ledger records and reads them back after proving them against the
signed ledger (:mod:`.rowcheck`); :mod:`.render` and :mod:`.html` print and
publish the report card. Risk Reports call :func:`report_card` on the goals
they read (:func:`checked_goals`) to show the roadmap's status as of their
coverage date.
"""

from __future__ import annotations

from scaleguard.roadmap.grading import (
    DEFAULT_POLICY,
    diff_roadmaps,
    goal_card,
    report_card,
    roadmap_before,
    roadmap_on,
)
from scaleguard.roadmap.model import (
    AREAS,
    GRADE_LABELS,
    GRADES,
    STATUSES,
    Goal,
    GoalCard,
    GoalSpec,
    GradingPolicy,
    ReportCard,
    RoadmapDiff,
    Update,
    UpdateSpec,
)
from scaleguard.roadmap.store import (
    ImportSummary,
    add_goal,
    add_update,
    checked_goals,
    import_file,
    load_goal,
    load_roadmap,
    read_goals,
)

__all__ = [
    "AREAS",
    "DEFAULT_POLICY",
    "GRADES",
    "GRADE_LABELS",
    "STATUSES",
    "Goal",
    "GoalCard",
    "GoalSpec",
    "GradingPolicy",
    "ImportSummary",
    "ReportCard",
    "RoadmapDiff",
    "Update",
    "UpdateSpec",
    "add_goal",
    "add_update",
    "checked_goals",
    "diff_roadmaps",
    "goal_card",
    "import_file",
    "load_goal",
    "load_roadmap",
    "read_goals",
    "report_card",
    "roadmap_before",
    "roadmap_on",
]
