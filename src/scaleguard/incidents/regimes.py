"""Reporting regimes as data: which incidents qualify, whose clock starts when, who gets what.

One YAML file holds one regime. The built-in ones ship in ``builtin/``; a lab
adds its own in the workspace folder ``regimes/``. Files are read with the
positioned loader of :mod:`scaleguard.framework.yamlsource`, so every
problem names ``file:line:column`` and the JSON path, with a hint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from scaleguard.errors import FrameworkError, InputError, NotFoundError, Problem
from scaleguard.framework.fieldhints import key_problem
from scaleguard.framework.yamlsource import PathPart, SourceMap, read_yaml
from scaleguard.incidents.span import Span

BUILTIN_DIR = Path(__file__).parent / "builtin"
WORKSPACE_DIR = "regimes"

#: The incident kinds a record may carry; regimes qualify incidents by combinations of them.
KINDS: dict[str, str] = {
    "weights-compromise": "unauthorised access to, modification or exfiltration of model weights",
    "death": "the death of a person",
    "bodily-injury": "bodily injury or serious harm to a person's health",
    "critical-infrastructure": "serious and irreversible disruption of critical infrastructure",
    "cybersecurity-breach": "a serious cybersecurity breach (including weight exfiltration)",
    "serious-harm": "serious harm to health, fundamental rights, property or the environment",
    "catastrophic-risk": "harm from the materialisation of a catastrophic risk",
    "loss-of-control": "loss of control of a model",
    "deceptive-subversion": "a model deceiving the developer to subvert its controls or "
    "monitoring, outside an evaluation designed to elicit it",
}

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=5_000)]
Url = Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
Kind = Literal[
    "weights-compromise",
    "death",
    "bodily-injury",
    "critical-infrastructure",
    "cybersecurity-breach",
    "serious-harm",
    "catastrophic-risk",
    "loss-of-control",
    "deceptive-subversion",
]
Clock = Literal["discovery", "determination", "resolution", "previous_report"]
FieldValue = Literal[
    "developer",
    "title",
    "description",
    "discovered_at",
    "determined_at",
    "resolved_at",
    "kinds",
    "classes",
    "models",
    "internal_use",
    "imminent_risk",
    "status",
    "notes",
    "previous_reports",
]
DutyCheck = Literal[
    "framework_review",
    "framework_change_publication",
    "transparency_report",
    "internal_use_summary",
    "board_quarterly",
    "reporter_monthly_update",
    "manual",
]


_DUTY_NEEDS: dict[str, str] = {
    "framework_review": "every",
    "internal_use_summary": "every",
    "board_quarterly": "every",
    "reporter_monthly_update": "every",
    "framework_change_publication": "within",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class RegimeSource(_Strict):
    id: Id
    title: Text
    url: Url
    verified: bool = Field(
        description="True only when the rules citing it were checked against this text."
    )
    note: Text | None = None


class SourceRef(_Strict):
    doc: Id
    section: Text
    note: Text | None = None


class IncidentClass(_Strict):
    """A class of qualifying incident: it matches when all kinds of any one group are present."""

    id: Id
    name: Text
    any_of: list[list[Kind]] = Field(min_length=1)
    source: SourceRef


class ObligationRule(_Strict):
    id: Id
    name: Text
    group: Id = Field(description="Rules of one group are one duty; the earliest deadline wins.")
    classes: list[Id] = Field(default_factory=list, description="Empty: any qualifying class.")
    imminent_risk: bool | None = Field(
        None, description="true: only when imminent risk is recorded; false: only when not."
    )
    clock: Clock
    within: Span
    repeat: bool = Field(False, description="Recurs every 'within' after the last report.")
    recipient: Text
    fields: list[Id] = Field(default_factory=list)
    source: SourceRef


class RecurringDuty(_Strict):
    id: Id
    name: Text
    check: DutyCheck
    every: Span | None = None
    within: Span | None = None
    recipient: Text | None = None
    source: SourceRef


class ReportField(_Strict):
    id: Id
    label: Text
    value: FieldValue


class RegimeMeta(_Strict):
    id: Id
    title: Text
    jurisdiction: Text
    in_force_from: dt.date
    status: Literal["in_force", "enacted", "voluntary", "own_policy"]
    verified: bool = Field(description="Every rule checked against an official or primary text.")
    verification: Text = Field(description="What was checked, against which copy, and what not.")
    sources: list[RegimeSource] = Field(min_length=1)


class RegimeDocument(_Strict):
    schema_version: Literal[1]
    regime: RegimeMeta
    incident_classes: list[IncidentClass] = Field(default_factory=list)
    obligations: list[ObligationRule] = Field(default_factory=list)
    recurring: list[RecurringDuty] = Field(default_factory=list)
    report_fields: list[ReportField] = Field(default_factory=list)


@dataclass(frozen=True)
class Regime:
    doc: RegimeDocument
    origin: str

    @property
    def id(self) -> str:
        return self.doc.regime.id

    def url(self, ref: SourceRef) -> str:
        for source in self.doc.regime.sources:
            if source.id == ref.doc:
                return source.url
        raise KeyError(ref.doc)  # the loader guarantees this cannot happen

    def verified(self, ref: SourceRef) -> bool:
        return any(s.id == ref.doc and s.verified for s in self.doc.regime.sources)

    def classes_for(self, kinds: Iterable[str]) -> list[IncidentClass]:
        present = set(kinds)
        return [c for c in self.doc.incident_classes if any(set(g) <= present for g in c.any_of)]


def load_bytes(data: bytes | str, origin: str) -> Regime:
    try:
        raw, source = read_yaml(data, origin)
    except FrameworkError as exc:
        raise InputError(
            exc.message.replace("framework document", "regime file"),
            problems=exc.problems,
            hint="a regime file is YAML starting with 'schema_version: 1' and 'regime:'",
        ) from None
    if not isinstance(raw, dict):
        raise InputError(
            f"{origin} does not hold a mapping at the top level",
            hint="a regime file starts with 'schema_version: 1' and 'regime:'",
            problems=[source.problem((), "expected a mapping of sections")],
        )
    problems: list[Problem] = []
    doc: RegimeDocument | None = None
    try:
        doc = RegimeDocument.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problem(err, source) for err in exc.errors())
    if doc is not None:
        problems.extend(_cross_check(doc, source))
    if problems or doc is None:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0, p.message))
        raise InputError(
            f"{origin}: {len(problems)} problem(s) in the regime file",
            hint="fix them all and run 'scaleguard incidents regimes --check FILE' again",
            problems=problems,
        )
    return Regime(doc=doc, origin=origin)


def load_file(path: Path) -> Regime:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})", hint="check the path") from None
    return load_bytes(data, str(path))


def _problem(err: Any, source: SourceMap) -> Problem:
    loc: tuple[PathPart, ...] = tuple(err["loc"])
    kind: str = err["type"]
    msg: str = err["msg"].removeprefix("Value error, ")
    structural = key_problem(err, source, RegimeDocument)
    if structural is not None:
        return structural
    hint = ""
    if kind == "literal_error":
        hint = "use one of the values listed"
    elif kind.startswith("date"):
        hint = "write dates as YYYY-MM-DD"
    return source.problem(loc, msg, hint)


def _cross_check(doc: RegimeDocument, source: SourceMap) -> list[Problem]:
    out: list[Problem] = []
    source_ids = {s.id for s in doc.regime.sources}
    class_ids = {c.id for c in doc.incident_classes}
    field_ids = {f.id for f in doc.report_fields}

    def unique(section: str, ids: Sequence[str]) -> None:
        seen: set[str] = set()
        for i, value in enumerate(ids):
            if value in seen:
                out.append(source.problem((section, i, "id"), f"duplicate id {value!r}"))
            seen.add(value)

    unique("incident_classes", [c.id for c in doc.incident_classes])
    unique("obligations", [o.id for o in doc.obligations])
    unique("recurring", [r.id for r in doc.recurring])
    unique("report_fields", [f.id for f in doc.report_fields])

    def ref(path: tuple[PathPart, ...], doc_id: str) -> None:
        if doc_id not in source_ids:
            out.append(
                source.problem(
                    (*path, "source", "doc"),
                    f"unknown source {doc_id!r}",
                    f"name one of regime.sources: {', '.join(sorted(source_ids))}",
                )
            )

    for i, c in enumerate(doc.incident_classes):
        ref(("incident_classes", i), c.source.doc)
    for i, r in enumerate(doc.recurring):
        ref(("recurring", i), r.source.doc)
        needs = _DUTY_NEEDS.get(r.check)
        if needs is not None and getattr(r, needs) is None:
            out.append(
                source.problem(
                    ("recurring", i),
                    f"a {r.check} duty needs '{needs}'",
                    f"add '{needs}: P1Y' (or the span the rule sets)",
                )
            )
    for i, o in enumerate(doc.obligations):
        ref(("obligations", i), o.source.doc)
        for j, cls in enumerate(o.classes):
            if cls not in class_ids:
                out.append(
                    source.problem(
                        ("obligations", i, "classes", j),
                        f"unknown incident class {cls!r}",
                        f"name one of: {', '.join(sorted(class_ids)) or '(none defined)'}",
                    )
                )
        for j, f in enumerate(o.fields):
            if f not in field_ids:
                out.append(
                    source.problem(
                        ("obligations", i, "fields", j),
                        f"unknown report field {f!r}",
                        "define it under report_fields",
                    )
                )
        if o.repeat and o.clock != "previous_report":
            out.append(
                source.problem(
                    ("obligations", i, "clock"),
                    "a repeating duty runs from the previous report",
                    "set 'clock: previous_report'",
                )
            )
    return out


def builtin_regimes() -> list[Regime]:
    return [load_file(p) for p in sorted(BUILTIN_DIR.glob("*.yaml"))]


def load_regimes(workspace_root: Path | None = None) -> list[Regime]:
    """Built-in regimes plus the workspace's own; a workspace file may not reuse a built-in id."""
    regimes = builtin_regimes()
    if workspace_root is not None:
        folder = workspace_root / WORKSPACE_DIR
        if folder.is_dir():
            known = {r.id: r.origin for r in regimes}
            for path in sorted(folder.glob("*.yaml")):
                regime = load_file(path)
                if regime.id in known:
                    raise InputError(
                        f"{path}: regime id {regime.id!r} is already defined by {known[regime.id]}",
                        hint="give the lab's regime its own id",
                    )
                known[regime.id] = regime.origin
                regimes.append(regime)
    return regimes


def select(regimes: Sequence[Regime], ids: Sequence[str]) -> list[Regime]:
    by_id = {r.id: r for r in regimes}
    unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise NotFoundError(
            f"unknown regime {unknown[0]!r}",
            hint=f"known regimes: {', '.join(sorted(by_id))}",
        )
    return [by_id[i] for i in ids]
