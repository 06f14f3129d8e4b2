"""The reviewers' portal and review management: thin calls into scaleguard.review.

A reviewer is a web user whose name is their name in the reviewer registry.
Whether they may see a report is decided by the review service: a reviewer
who is not assigned (or whose assignment was refused for a conflict, so it
does not exist) gets NotFoundError, which the web layer turns into 404 —
the same answer as for a report that does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from scaleguard.review import listings, service
from scaleguard.review.model import VERDICTS
from scaleguard.workspace.workspace import Workspace

_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
_STYLE_BODY = re.compile(r"<style[^>]*>(.*?)</style>", re.S)


def my_assignments(ws: Workspace, reviewer: str) -> list[dict[str, Any]]:
    return [
        {
            "report_id": a.report_id,
            "period": report.period,
            "sections": list(a.sections),
            "assigned_at": a.created_at,
            "statement": statement.verdict if statement else None,
        }
        for a, report, statement in listings.assignments_of(ws, reviewer)
    ]


def open_edition(
    ws: Workspace, report_id: int, reviewer: str, by: str
) -> tuple[dict[str, Any], Any]:
    """Record the reviewer's access (a ledger entry) and return the reviewer edition.

    NotFoundError (404) unless ``reviewer`` holds an assignment to the report. What the
    page shows is proven against the ledger before the access is recorded, so a refusal
    (LedgerIntegrityError, 500) records nothing.
    """
    from scaleguard.reports import service as reports

    assignment, comments, statement = listings.reviewer_record(ws, report_id, reviewer)
    access, _ = service.record_access(ws, report_id, reviewer, by=by)
    built = reports.build(ws, report_id, "reviewer")
    scope = assignment.sections
    sections = [
        {"id": sec.id, "title": sec.title}
        for sec in built.edition.content.walk()
        if not scope or any(sec.id == a or sec.id.startswith(a + ".") for a in scope)
    ]
    data = {
        "report_id": report_id,
        "period": built.report.period,
        "edition_sha256": built.sha256,
        # what the ledger records of this access: a salted commitment to the edition's hash
        "edition_commitment": access.edition_sha256,
        "access_ledger_index": access.ledger_index,
        "sections": sections,
        "assigned_sections": list(scope),
        "comments": [
            {
                "section": c.section,
                "text": c.text,
                "at": c.created_at,
                "ledger_index": c.ledger_index,
            }
            for c in comments
        ],
        "statement": None
        if statement is None
        else {"verdict": statement.verdict, "text": statement.text},
        "verdicts": list(VERDICTS),
    }
    return data, built


def edition_html(built: Any) -> tuple[str, str]:
    """The rendered reviewer edition's style and body, to embed in the portal page.

    The style is scoped to the ``.sg-edition`` wrapper so it cannot restyle the portal.
    """
    from scaleguard.reports import service as reports

    html = reports.render(built, "html").decode("utf-8")
    body = _BODY.search(html)
    styles = "".join(scope_css(m, ".sg-edition") for m in _STYLE_BODY.findall(html))
    return styles, body.group(1) if body else html


def _blocks(css: str) -> list[tuple[str, str]]:
    """Top-level ``prelude { body }`` pairs (nested braces kept inside the body)."""
    out = []
    depth, start, prelude = 0, 0, ""
    for i, ch in enumerate(css):
        if ch == "{":
            if depth == 0:
                prelude, start = css[start:i].strip(), i + 1
            depth += 1
        elif ch == "}" and depth:
            depth -= 1
            if depth == 0:
                out.append((prelude, css[start:i]))
                start = i + 1
    return out


def scope_css(css: str, scope: str) -> str:
    """Prefix every top-level selector with ``scope``; ``body``/``:root`` become the scope.

    At-rules (``@page``, ``@media print``) only concern printing and are dropped.
    """
    rules = []
    for prelude, body in _blocks(css):
        if prelude.startswith("@"):
            continue
        selectors = []
        for sel in prelude.split(","):
            sel = sel.strip()
            if sel in ("body", "html", ":root"):
                selectors.append(scope)
            else:
                selectors.append(f"{scope} {sel}")
        rules.append(f"{', '.join(selectors)} {{{body}}}")
    return "\n".join(rules)


def comment(ws: Workspace, report_id: int, reviewer: str, section: str, text: str, by: str) -> Any:
    return service.comment(ws, report_id, reviewer, section, text, by=by)


def statement(
    ws: Workspace, report_id: int, reviewer: str, verdict: str, text: str, by: str
) -> Any:
    return service.submit_statement(ws, report_id, reviewer, verdict, text, by=by)


def reviewers(ws: Workspace) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "organisation": r.organisation, "expertise": list(r.expertise)}
        for r, _ in listings.reviewer_list(ws)
    ]


def status(ws: Workspace) -> list[dict[str, Any]]:
    """Every drafted report's review: who is assigned, their statement, the response."""
    from scaleguard.reports import service as reports

    out = []
    for report, _, _ in reversed(reports.overview(ws)):
        st = service.status(ws, report.id)
        out.append(
            {
                "report_id": report.id,
                "period": report.period,
                "unreviewed_sections": list(st.unreviewed_sections),
                "reviewers": [
                    {
                        "reviewer": r.assignment.reviewer,
                        "sections": list(r.assignment.sections),
                        "accesses": len(r.accesses),
                        "comments": len(r.comments),
                        "statement": None
                        if r.statement is None
                        else {"verdict": r.statement.verdict, "text": r.statement.text},
                        "response": None if r.response is None else r.response.text,
                    }
                    for r in st.reviewers
                ],
            }
        )
    return out


def assign(
    ws: Workspace, report_id: int, reviewer: str, sections: list[str], by: str
) -> dict[str, Any]:
    assignment, _access, screening = service.assign(
        ws, report_id, reviewer, sections=sections, by=by
    )
    return {
        "report_id": report_id,
        "reviewer": reviewer,
        "sections": list(assignment.sections),
        "ledger_index": assignment.ledger_index,
        "minor_conflicts": [r.rule for r in screening.minor],
    }


def respond(ws: Workspace, report_id: int, reviewer: str, text: str, by: str) -> dict[str, Any]:
    response = service.respond(ws, report_id, reviewer, text, by=by)
    return {"report_id": report_id, "reviewer": reviewer, "ledger_index": response.ledger_index}
