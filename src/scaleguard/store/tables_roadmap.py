"""Tables of the Frontier Safety Roadmap: goals and their dated updates.

Both are record tables like those in :mod:`scaleguard.store.tables`: ids
assigned under the write lock, one ledger entry per row, never updated or
deleted. A goal's later changes (new target, narrowed criteria, status) are
update rows, so the full history stays readable and graded.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from scaleguard.store.tables import Base, Time, _ledger_fk

#: Record tables added by 0003_roadmap; append-only as well.
ROADMAP_TABLES = ("roadmap_goals", "roadmap_updates")


class RoadmapGoalRow(Base):
    """A public goal as first set: area, measurable description, target date, owner."""

    __tablename__ = "roadmap_goals"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    goal: Mapped[str] = mapped_column(unique=True)
    area: Mapped[str] = mapped_column(String(16))
    title: Mapped[str]
    description: Mapped[str]
    target: Mapped[date]
    owner: Mapped[str]
    criteria: Mapped[Any]
    set_on: Mapped[date]
    evidence_url: Mapped[str | None]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()


class RoadmapUpdateRow(Base):
    """A dated status update of a goal; may move its target or restate its criteria."""

    __tablename__ = "roadmap_updates"
    __table_args__ = (Index(None, "goal", "dated_on"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    goal: Mapped[str] = mapped_column(ForeignKey("roadmap_goals.goal"))
    dated_on: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))
    evidence_url: Mapped[str]
    note: Mapped[str | None]
    target: Mapped[date | None]
    criteria: Mapped[Any | None]
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str]
    ledger_index: Mapped[int] = _ledger_fk()
