"""The operator console (admin, rso, evaluator, board): models, determinations, decisions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from scaleguard.web import console, operate
from scaleguard.web.deps import RecordId, need, workspace
from scaleguard.web.render import render_page

router = APIRouter(include_in_schema=False)


@router.get("/console")
def console_home(request: Request, _: Any = need("console")) -> HTMLResponse:
    ws = workspace(request)
    return render_page(
        request,
        "console_home.html",
        {"models": console.models(ws), "decisions": console.decision_list(ws)},
    )


@router.get("/console/models/{name}")
def console_model(
    request: Request,
    name: str,
    framework: str | None = Query(None, max_length=200),
    _: Any = need("console"),
) -> HTMLResponse:
    data = console.model_status(workspace(request), name, framework)
    return render_page(request, "console_model.html", {"m": data})


@router.get("/console/decisions/{decision_id}")
def console_decision(
    request: Request, decision_id: RecordId, _: Any = need("console")
) -> HTMLResponse:
    data = console.decision(workspace(request), decision_id)
    return render_page(request, "console_decision.html", {"d": data})


@router.get("/console/evidence")
def console_evidence(request: Request, _: Any = need("console")) -> HTMLResponse:
    items = operate.recent_evidence(workspace(request), limit=200)
    return render_page(request, "console_evidence.html", {"evidence": items})


@router.get("/console/actions")
def console_actions(request: Request, _: Any = need("govern")) -> HTMLResponse:
    ws = workspace(request)
    return render_page(
        request,
        "console_actions.html",
        {"models": console.models(ws), "drafts": operate.drafts(ws), "refs": _refs(ws)},
    )


def _refs(ws: Any) -> list[str]:
    return list(ws.library().refs())
