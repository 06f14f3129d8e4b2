"""The model registry: our models and competitors', with capability scores per domain.

Competitor-contingent commitments ("has another developer released a
comparable model?") are only checkable against a registry with sources, so
every entry and every score carries where it comes from, and all of it is in
the ledger. Entries are append-only: a model name is registered once; a new
score is a new row and the latest one counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from scaleguard.errors import ConflictError, InputError, Problem
from scaleguard.framework.model import Id
from scaleguard.store import Tx, repo
from scaleguard.store.recording import NewRecord, create_rows, record_from
from scaleguard.store.records import Model, ModelScore
from scaleguard.textcheck import http_url, safe_name
from scaleguard.workspace.workspace import Workspace, current_user

Status = Literal["planned", "training", "internal", "released", "retired"]
SafeguardsLevel = Literal["none", "weak", "comparable", "strong", "unknown"]
STATUSES: tuple[str, ...] = ("planned", "training", "internal", "released", "retired")
SAFEGUARD_LEVELS: tuple[str, ...] = ("none", "weak", "comparable", "strong", "unknown")

ModelName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, pattern=r"^[^\s\x00-\x1f\x7f](?:.*\S)?$"),
    AfterValidator(safe_name),
]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f]+$")]
Url = Annotated[str, AfterValidator(http_url)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=5000)]


def _finite_number(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")
    if isinstance(value, int | float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if isinstance(value, str) and value.strip().lower() in ("nan", "inf", "+inf", "-inf"):
        raise ValueError("must be a finite number")
    return value


Number = Annotated[float, BeforeValidator(_finite_number), Field(allow_inf_nan=False)]


class ModelSpec(BaseModel):
    """One registry entry as a user writes it (``models add`` or a ``models import`` file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ModelName
    developer: Label | None = None
    own: bool = False
    parent: ModelName | None = None
    effective_compute: Number | None = Field(None, gt=0, description="Training compute, FLOP.")
    status: Status | None = None
    released_on: date | None = None
    safeguards_level: SafeguardsLevel | None = None
    notes: LongText | None = None
    sources: list[Url] = Field(default_factory=list, max_length=50)
    scores: dict[Id, Number] = Field(default_factory=dict, max_length=200)
    score_source: Url | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ModelSpec:
        if self.released_on is not None and self.resolved_status in ("planned", "training"):
            raise ValueError(
                f"released_on is set but status is {self.resolved_status!r}; "
                "set status to released (or internal/retired), or drop released_on"
            )
        if self.parent == self.name:
            raise ValueError("a model cannot be its own parent")
        return self

    @property
    def resolved_status(self) -> str:
        """Status, defaulting to 'planned' for our models and 'released' for competitors'."""
        return self.status or ("planned" if self.own else "released")

    @property
    def resolved_safeguards(self) -> str | None:
        """A competitor's safeguards default to 'unknown'; ours are what attestations say."""
        if self.safeguards_level is None and not self.own:
            return "unknown"
        return self.safeguards_level

    def store_fields(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "developer": self.developer,
            "own": self.own,
            "parent": self.parent,
            "effective_compute": self.effective_compute,
            "status": self.resolved_status,
            "released_on": self.released_on,
            "safeguards_level": self.resolved_safeguards,
            "notes": self.notes,
            "sources": tuple(self.sources),
        }

    @property
    def scores_source(self) -> str | None:
        return self.score_source or (self.sources[0] if self.sources else None)


@dataclass(frozen=True)
class Located:
    """A spec plus where it was written, so conflicts can point at the file."""

    spec: ModelSpec
    problem_at: Problem  # a Problem template carrying file/line/column/path


@dataclass(frozen=True)
class ImportedModel:
    name: str
    status: Literal["added", "unchanged"]
    scores_added: int

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "scores_added": self.scores_added}


def _by(by: str | None) -> str:
    who = (by if by is not None else current_user()).strip()
    if not who:
        raise InputError("--by must name who is recording this", hint="e.g. --by alice")
    return who


def _check_parent(tx: Tx, spec: ModelSpec, pending: set[str], where: Problem | None) -> None:
    if spec.parent is None or spec.parent in pending or repo.find_model(tx, spec.parent):
        return
    problem = _at(where, f"parent model {spec.parent!r} is not in the registry")
    raise InputError(
        f"cannot register {spec.name!r}: unknown parent {spec.parent!r}",
        hint="register the parent first (in an import file: list it before its children)",
        problems=[problem] if problem else [],
    )


def _at(where: Problem | None, message: str, hint: str = "") -> Problem | None:
    if where is None:
        return None
    return Problem(
        message,
        hint=hint,
        file=where.file,
        line=where.line,
        column=where.column,
        path=where.path,
    )


def _new_model(spec: ModelSpec, who: str) -> list[NewRecord]:
    """A model's record followed by its scores' (in domain order)."""
    model = repo.new_model(created_by=who, **spec.store_fields())
    return [model, *_new_scores(spec.name, spec.scores, spec.scores_source, who)]


def _new_scores(
    model: str, scores: dict[str, float], source: str | None, who: str
) -> list[NewRecord]:
    return [
        repo.new_score(model=model, domain=d, score=v, source=source, created_by=who)
        for d, v in sorted(scores.items())
    ]


def add_model(ws: Workspace, spec: ModelSpec, *, by: str | None = None) -> Model:
    """Register one model (and its scores); ConflictError if the name is taken."""
    who = _by(by)
    with ws.store.write() as tx:
        existing = repo.find_model(tx, spec.name)
        if existing is not None:
            raise ConflictError(
                f"model {spec.name!r} is already registered (ledger entry {existing.ledger_index})",
                hint="registry entries are append-only; record new scores with "
                "'scaleguard models score', or register the new version under a new name",
            )
        _check_parent(tx, spec, set(), None)
        return record_from(Model, create_rows(tx, _new_model(spec, who))[0])


def add_scores(
    ws: Workspace,
    model: str,
    scores: Mapping[str, object],
    *,
    source: str | None,
    by: str | None = None,
) -> list[ModelScore]:
    """Record new capability scores for a registered model (the latest per domain counts)."""
    who = _by(by)
    if not scores:
        raise InputError("no scores given", hint="e.g. cyber=0.42")
    try:
        checked = ModelSpec.model_validate(
            {"name": model, "scores": dict(scores), "score_source": source}
        )
    except ValidationError as exc:
        problems = [
            Problem(str(e["msg"]), path=".".join(str(p) for p in e["loc"] if p != "[key]"))
            for e in exc.errors()
        ]
        raise InputError("invalid scores", problems=problems) from None
    with ws.store.write() as tx:
        repo.model(tx, model)
        rows = create_rows(tx, _new_scores(model, checked.scores, checked.scores_source, who))
        return [record_from(ModelScore, row) for row in rows]


def _differences(spec: ModelSpec, existing: Model) -> list[str]:
    theirs = spec.store_fields()
    return [key for key, value in theirs.items() if getattr(existing, key) != value]


def import_specs(
    ws: Workspace, entries: Sequence[Located], *, by: str | None = None
) -> list[ImportedModel]:
    """Apply a parsed import file in one transaction: all of it, or none of it.

    A model already registered with the same fields is left as it is (its new
    or changed scores are added); one registered with different fields is a
    conflict, reported with the file position of each such entry.
    """
    who = _by(by)
    results: list[ImportedModel] = []
    with ws.store.write() as tx:
        conflicts: list[Problem] = []
        pending: set[str] = set()
        plan: list[tuple[ModelSpec, bool]] = []
        for entry in entries:
            spec = entry.spec
            existing = repo.find_model(tx, spec.name)
            if existing is not None:
                changed = _differences(spec, existing)
                if changed:
                    problem = _at(
                        entry.problem_at,
                        f"{spec.name!r} is already registered with different {', '.join(changed)}",
                        "registry entries are append-only; register a new version under a "
                        "new name, or make this entry match",
                    )
                    conflicts.append(problem or Problem(f"{spec.name!r} differs"))
                plan.append((spec, False))
                continue
            _check_parent(tx, spec, pending, entry.problem_at)
            pending.add(spec.name)
            plan.append((spec, True))
        if conflicts:
            raise ConflictError(
                f"{len(conflicts)} model(s) conflict with the registry; nothing was imported",
                problems=conflicts,
            )
        latest = repo.latest_scores(tx)
        batch: list[NewRecord] = []  # created in one go, in the file's order
        for spec, new in plan:
            if new:
                batch += _new_model(spec, who)
                results.append(ImportedModel(spec.name, "added", len(spec.scores)))
                continue
            fresh = {
                d: v
                for d, v in spec.scores.items()
                if (spec.name, d) not in latest
                or latest[(spec.name, d)].score != v
                or latest[(spec.name, d)].source != spec.scores_source
            }
            batch += _new_scores(spec.name, fresh, spec.scores_source, who)
            results.append(ImportedModel(spec.name, "unchanged", len(fresh)))
        create_rows(tx, batch)
    return results
