"""The reviewers' portal pages, and the page where the developer manages reviews."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from scaleguard.web import portal
from scaleguard.web.accounts import Principal
from scaleguard.web.deps import RecordId, actor, need, workspace
from scaleguard.web.render import render_page

router = APIRouter(include_in_schema=False)


def _who(who: Principal | None) -> Principal:
    assert who is not None
    return who


@router.get("/review")
def review_home(request: Request, who: Principal | None = need("review")) -> HTMLResponse:
    items = portal.my_assignments(workspace(request), _who(who).name)
    return render_page(request, "review_list.html", {"assignments": items})


@router.get("/review/{report_id}")
def review_report(
    request: Request, report_id: RecordId, who: Principal | None = need("review")
) -> HTMLResponse:
    p = _who(who)
    data, built = portal.open_edition(workspace(request), report_id, p.name, actor(p))
    styles, body = portal.edition_html(built)
    return render_page(
        request,
        "review_report.html",
        {"r": data, "edition_styles": Markup(styles), "edition_body": Markup(body)},
    )


@router.post("/review/{report_id}/comments")
def review_comment(
    request: Request,
    report_id: RecordId,
    section: str = Form(..., max_length=200),
    text: str = Form(..., max_length=100_000),
    who: Principal | None = need("review"),
) -> RedirectResponse:
    p = _who(who)
    portal.comment(workspace(request), report_id, p.name, section, text, actor(p))
    return RedirectResponse(f"/review/{report_id}#comments", status_code=303)


@router.post("/review/{report_id}/statement")
def review_statement(
    request: Request,
    report_id: RecordId,
    verdict: str = Form(..., max_length=20),
    text: str = Form(..., max_length=100_000),
    who: Principal | None = need("review"),
) -> RedirectResponse:
    p = _who(who)
    portal.statement(workspace(request), report_id, p.name, verdict, text, actor(p))
    return RedirectResponse(f"/review/{report_id}#statement", status_code=303)


@router.get("/console/reviews")
def manage_reviews(request: Request, _: Any = need("manage-review")) -> HTMLResponse:
    ws = workspace(request)
    return render_page(
        request,
        "console_reviews.html",
        {"reviews": portal.status(ws), "reviewers": portal.reviewers(ws)},
    )


@router.post("/console/reviews/{report_id}/assign")
def manage_assign(
    request: Request,
    report_id: RecordId,
    reviewer: str = Form(..., max_length=200),
    sections: str = Form("", max_length=2000),
    who: Principal | None = need("manage-review"),
) -> RedirectResponse:
    chosen = [s.strip() for s in sections.split(",") if s.strip()]
    portal.assign(workspace(request), report_id, reviewer, chosen, actor(_who(who)))
    return RedirectResponse("/console/reviews", status_code=303)


@router.post("/console/reviews/{report_id}/respond")
def manage_respond(
    request: Request,
    report_id: RecordId,
    reviewer: str = Form(..., max_length=200),
    text: str = Form(..., max_length=100_000),
    who: Principal | None = need("manage-review"),
) -> RedirectResponse:
    portal.respond(workspace(request), report_id, reviewer, text, actor(_who(who)))
    return RedirectResponse("/console/reviews", status_code=303)
