"""The Risk Report and external review part of ``make run``, on the demo workspace.

:func:`add_to_demo` drafts a Risk Report for the fictional lab, withholds one
section from the public edition, publishes both editions (HTML and PDF) into
``reports/``, then runs one external review end to end, and shows a second
reviewer refused for a major conflict of interest. Every step is a ledger
record; the people and organisations are fictional.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from rich.console import Console

from scaleguard.errors import ConflictError
from scaleguard.reports import service
from scaleguard.reports.period import period_of
from scaleguard.review import service as review
from scaleguard.review.model import InterestSpec, ReviewerSpec
from scaleguard.workspace.workspace import Workspace

MODELS = ["aurora-2", "aurora-3"]
REDACTED_SECTION = "capabilities.novel-cb"
REVIEWER = "Mara Okafor"
CONFLICTED = "Jonas Weber"
LAB = "Fictional Frontier Lab"


@dataclass
class DemoResult:
    report_id: int
    files: dict[str, Path] = field(default_factory=dict)
    sha256: dict[str, str] = field(default_factory=dict)
    refused_reason: str = ""


def _interest(reviewer: str, kind: str, party: str, start: str, end: str | None) -> InterestSpec:
    return InterestSpec.model_validate(
        {
            "reviewer": reviewer,
            "kind": kind,
            "counterparty": party,
            "from_date": date.fromisoformat(start),
            "to_date": date.fromisoformat(end) if end else None,
        }
    )


def add_to_demo(ws: Workspace, console: Console | None = None, *, by: str = "rso") -> DemoResult:
    """Draft, redact, publish and review a Risk Report in the demo workspace."""
    out = console or Console(quiet=True)
    period = period_of(service.today()).label
    report = service.draft(ws, period=period, models=MODELS, by=by)
    result = DemoResult(report.id)
    out.print(
        f"Risk Report #{report.id} drafted for {period} (models {', '.join(MODELS)}, coverage "
        f"date {report.coverage_date}, {report.framework_ref})",
        markup=False,
    )
    _, redaction = service.redact(
        ws,
        report.id,
        REDACTED_SECTION,
        category="security",
        justification="Per-model results on the novel chemical and biological design evaluation "
        "would show attackers where the model helps most; withheld for public safety.",
        by=by,
    )
    out.print(
        f"{redaction.label}: section {REDACTED_SECTION} withheld from the public edition "
        f"({redaction.category})",
        markup=False,
    )
    service.submit(ws, report.id, to="Board and LTBT", by=by)
    for edition in ("public", "reviewer"):
        for fmt in ("html", "pdf"):
            published = service.publish(ws, report.id, edition=edition, fmt=fmt, by=by)
            key = f"{edition}.{fmt}"
            result.files[key] = published.path
            result.sha256[key] = published.digest
            label = "sha256" if edition == "public" else "salted commitment"
            out.print(
                f"published {ws.relative(published.path)}  {label} {published.digest[:16]}…",
                markup=False,
            )

    review.add_reviewer(
        ws,
        ReviewerSpec(
            name=REVIEWER,
            organisation="Independent Evaluation Institute (fictional)",
            expertise=("dangerous-capability evaluations", "alignment evaluations"),
        ),
        by=by,
    )
    review.declare_interest(ws, _interest(REVIEWER, "employment", LAB, "2019-03-01", "2023-08-31"))
    review.declare_interest(ws, _interest(REVIEWER, "contract", "Other Co", "2026-01-01", None))
    screening = review.screen_reviewer(ws, REVIEWER, report_id=report.id)
    out.print(
        f"screened {REVIEWER}: {len(screening.major)} major, {len(screening.minor)} minor "
        f"conflict(s) ({', '.join(r.rule for r in screening.minor) or 'none'})",
        markup=False,
    )
    _, access, _ = review.assign(ws, report.id, REVIEWER, by=by)
    out.print(
        f"assigned {REVIEWER}; access to the reviewer edition (salted commitment "
        f"{access.edition_sha256[:16]}…) recorded in the ledger",
        markup=False,
    )
    review.record_access(ws, report.id, REVIEWER, fmt="html", by=by)
    review.comment(
        ws,
        report.id,
        REVIEWER,
        "capabilities.automated-rd",
        "The ML research task suite is the only evidence here; say how much elicitation effort "
        "went into it and why it tracks the threshold's intent.",
    )
    review.submit_statement(
        ws,
        report.id,
        REVIEWER,
        "partly",
        "The chemical and biological analysis supports its conclusions. The automated R&D "
        "section does not yet show that the evaluations could detect the capability it rules "
        "out; the redaction of the novel chem/bio results is reasonable.",
    )
    review.respond(
        ws,
        report.id,
        REVIEWER,
        "We will add an elicitation appendix and a second automated R&D evaluation to the next "
        "report.",
        by=by,
    )
    out.print(
        f"{REVIEWER}: one comment, final statement 'partly', developer responded", markup=False
    )

    review.add_reviewer(
        ws,
        ReviewerSpec(name=CONFLICTED, organisation="Frontier Ventures", expertise=("AI policy",)),
        by=by,
    )
    review.declare_interest(ws, _interest(CONFLICTED, "equity", LAB, "2024-05-01", None))
    try:
        review.assign(ws, report.id, CONFLICTED, by=by)
    except ConflictError as exc:
        result.refused_reason = exc.message
        out.print(f"assignment refused: {exc.message}", markup=False)
    return result
