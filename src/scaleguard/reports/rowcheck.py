"""Prove the Risk Report and review rows an action reads against the signed ledger.

Every rule of Risk Reports and their external review reads rows that anyone who
can write the database could edit, insert or delete: no redaction once the
public edition is published, the redactions an edition withholds, the one
submission that starts the reviewers' clock, the declared interests a conflict
screening matches (and the registry that says who the developer is), the
assignment that lets a reviewer comment, the one final statement and response;
and the public site shows publications, statements and responses as fact.

So each action first proves, in the session or write transaction it reads them
in, exactly the rows it reads (:func:`scaleguard.store.ledger.rows.check_scopes`):
one report's rows of a kind, one reviewer's row and declared interests, or a
whole kind where a listing reads all of it. Every scope is also counted
against the signer's census, which counts reports by their id, what is
recorded about a report by its ``report_id``, and reviewers and their interests
by the reviewer's name (``SUBJECT_FIELD`` in
:mod:`scaleguard.store.ledger.census`): a deleted row is refused too, by a
process that never saw it. A refusal is a :class:`LedgerIntegrityError` whose
message starts "refusing to ..." and names the table, row or kind; it is raised
before anything is written (CLI exit 1, HTTP 500).

Drafting reads other capabilities' rows and freezes what it read into the
report's own signed content, so it proves those too (:func:`drafting_scopes`):
the registry, every model generation's determinations and overrides, the
covered models' attestations, every decision and the whole roadmap; before it
records anything, also the evidence the determinations it brings up to date are
planned from.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from functools import cache
from typing import TYPE_CHECKING

from scaleguard.reports import store
from scaleguard.reports.store import RiskReport
from scaleguard.roadmap.rowcheck import roadmap_scopes
from scaleguard.store.ledger.census import Census, Counted
from scaleguard.store.ledger.rows import Scope, ScopeKey, decision_scopes
from scaleguard.store.ledger.scopes import kind_scope
from scaleguard.store.tables import metadata
from scaleguard.store.tables_reports import REPORT_RECORD_KINDS
from scaleguard.workspace.rowcheck import check_rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.workspace.workspace import Workspace

#: What is recorded about a report after it is drafted, by the developer.
REPORT_KINDS = (
    "report-redaction",
    "report-submission",
    "report-publication",
    "report-reviewer-edition",
)
#: What its external review records about a report.
REVIEW_KINDS = (
    "review-assignment",
    "review-access",
    "review-comment",
    "review-statement",
    "review-response",
)
#: Everything recorded about one report: what publishing an edition finds intact.
RECORD_KINDS = REPORT_KINDS + REVIEW_KINDS


def scope(kind: str, subject: int | str | None = None) -> Scope:
    """The rows of ``kind`` (a report or review entry kind) about ``subject`` (a report id,
    or a reviewer's name for reviewers and interests), or every row of the kind when None."""
    if kind not in REPORT_RECORD_KINDS:
        raise ValueError(f"not a report or review kind: {kind!r}")
    return kind_scope(kind, subject)


def report_scopes(report_id: int, kinds: Iterable[str] = ()) -> list[Scope]:
    """Report ``report_id``'s row and its rows of ``kinds``."""
    return [scope("risk-report", report_id), *(scope(kind, report_id) for kind in kinds)]


@cache
def registry_scope() -> Scope:
    """Every model of the registry (the same rows a decision checks): it says who the
    developer is and who its competitors are."""
    return Scope(("models", None), metadata.tables["models"], (), Counted("model"))


@cache
def decisions_scope() -> Scope:
    """Every decision: a report lists those taken in its period, about any model."""
    return Scope(("decisions", None), metadata.tables["decisions"], (), Counted("decision"))


#: What drafting reads about each model generation (a :func:`decision_scopes` key)...
_GENERATION = ("determinations", "overrides")
#: ... and about each covered model.
_COVERED = ("attestations",)


def drafting_scopes(
    session: Session,
    census: Census,
    generations: Sequence[str],
    covered: Collection[str],
    *,
    planning: bool,
) -> list[Scope]:
    """Every row drafting a report reads after it has the model ``generations`` (the
    covered models and their ancestors): each generation's determinations and overrides
    (the scopes a decision checks), the ``covered`` models' attestations, every decision
    and the whole roadmap. With ``planning`` (before determinations are brought up to
    date) also each generation's evidence, which they are planned from."""
    per_generation = (*_GENERATION, "evidence") if planning else _GENERATION
    found: dict[ScopeKey, Scope] = {}
    for name in generations:
        wanted = (*per_generation, *_COVERED) if name in covered else per_generation
        for item in decision_scopes(session, name, census):
            if item.key[0] in wanted:
                found.setdefault(item.key, item)
    return [*found.values(), decisions_scope(), *roadmap_scopes()]


def which(report_id: int | None) -> str:
    """How a refusal names the report an action was asked about."""
    return "the latest report" if report_id is None else f"report #{report_id}"


def checked_report(
    session: Session,
    ws: Workspace,
    report_id: int | None,
    refusing: str,
    kinds: Iterable[str] = (),
) -> RiskReport:
    """Report ``report_id`` (the latest drafted when None) after its row and its rows of
    ``kinds`` were proven (every report's row, to know which is the latest)."""
    if report_id is not None:
        check_rows(session, ws, report_scopes(report_id, kinds), refusing)
        return store.report(session, report_id)
    check_rows(session, ws, [scope("risk-report")], refusing)
    report = store.latest_report(session)
    check_rows(session, ws, [scope(kind, report.id) for kind in kinds], refusing)
    return report
