"""Public pages (no sign-in) and signing in and out."""

from __future__ import annotations

import hmac
import secrets
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from scaleguard.errors import Forbidden, InputError
from scaleguard.web import accounts, public
from scaleguard.web.accounts import Principal
from scaleguard.web.deps import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    RecordId,
    need,
    workspace,
)
from scaleguard.web.render import render_page
from scaleguard.web.roles import allows

router = APIRouter(include_in_schema=False)


def _full(who: Principal | None) -> bool:
    return who is not None and allows("console", who.role)


@router.get("/")
def home(request: Request, _: Any = need("public")) -> HTMLResponse:
    ws = workspace(request)
    return render_page(
        request,
        "index.html",
        {
            "checkpoint": public.latest_checkpoint(ws),
            "reports": public.published_reports(ws)[:3],
            "frameworks": len(public.framework_summaries(ws)),
        },
    )


@router.get("/frameworks")
def frameworks(request: Request, _: Any = need("public")) -> HTMLResponse:
    items = public.framework_listing(workspace(request))
    return render_page(request, "frameworks.html", {"frameworks": items})


@router.get("/frameworks/{ref}")
def framework(request: Request, ref: str, _: Any = need("public")) -> HTMLResponse:
    data = public.framework(workspace(request), ref)
    return render_page(request, "framework.html", {"fw": data})


@router.get("/diff")
def diff(
    request: Request,
    old: str | None = Query(None, max_length=200),
    new: str | None = Query(None, max_length=200),
    _: Any = need("public"),
) -> HTMLResponse:
    ws = workspace(request)
    refs = [f["ref"] for f in public.framework_summaries(ws)]
    result = public.diff(ws, old, new) if old and new else None
    return render_page(
        request, "diff.html", {"refs": refs, "old": old or "", "new": new or "", "diff": result}
    )


@router.get("/roadmap")
def roadmap(request: Request, _: Any = need("public")) -> HTMLResponse:
    from scaleguard.roadmap.html import card_html

    ws = workspace(request)
    card = public.roadmap(ws)
    return HTMLResponse(card_html(card, title=public.roadmap_title(ws)))


@router.get("/reports")
def reports(request: Request, _: Any = need("public")) -> HTMLResponse:
    items = public.published_reports(workspace(request))
    return render_page(request, "reports.html", {"reports": items})


@router.get("/reports/{report_id}")
def report(request: Request, report_id: RecordId, _: Any = need("public")) -> HTMLResponse:
    item = public.published_report(workspace(request), report_id)
    return render_page(request, "report.html", {"report": item})


@router.get("/reports/{report_id}/public.{fmt}")
def report_file(
    request: Request, report_id: RecordId, fmt: str, _: Any = need("public")
) -> Response:
    data, sha = public.public_file(workspace(request), report_id, fmt)
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    headers = {"X-Content-SHA256": sha, "ETag": f'"{sha[:32]}"'}
    if fmt == "pdf":
        headers["Content-Disposition"] = f'attachment; filename="report-{report_id}-public.pdf"'
    return Response(data, media_type=media, headers=headers)


@router.get("/ledger")
def ledger(
    request: Request,
    cursor: str | None = Query(None, max_length=40),
    who: Principal | None = need("public"),
) -> HTMLResponse:
    ws = workspace(request)
    start = public.decode_cursor(cursor)
    entries = public.ledger_entries(ws, start, 50, _full(who))
    return render_page(
        request,
        "ledger.html",
        {
            "checkpoint": public.latest_checkpoint(ws),
            "checkpoints": public.checkpoint_list(ws)[:20],
            "entries": entries,
        },
    )


@router.get("/ledger/entries/{index}")
def entry(
    request: Request, index: RecordId, who: Principal | None = need("public")
) -> HTMLResponse:
    item = public.ledger_entry(workspace(request), index, _full(who))
    return render_page(request, "entry.html", {"entry": item})


@router.get("/ledger/consistency")
def consistency(
    request: Request,
    old: int = Query(..., ge=0, le=2**62),
    new: int = Query(..., ge=0, le=2**62),
    _: Any = need("public"),
) -> HTMLResponse:
    data = public.consistency(workspace(request), old, new)
    return render_page(request, "consistency.html", {"c": data})


# -- signing in and out ---------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login")
def login_form(
    request: Request, next: str | None = Query(None, max_length=500), _: Any = need("public")
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render_page(
        request, "login.html", {"login_csrf": token, "next": _safe_next(next), "failed": None}
    )
    _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.post("/login")
def login(
    request: Request,
    name: str = Form(..., max_length=100),
    password: str = Form(..., max_length=1000),
    login_csrf: str = Form(..., max_length=100),
    next: str = Form("/", max_length=500),
    _: Any = need("public"),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(expected, login_csrf):
        raise Forbidden("missing or wrong CSRF token", hint="reload the sign-in page and retry")
    ws = workspace(request)
    try:
        address = request.client.host if request.client else "unknown"
        who, secret = accounts.sign_in(ws.store, name, password, address)
    except InputError as exc:
        token = secrets.token_urlsafe(32)
        response = render_page(
            request,
            "login.html",
            {"login_csrf": token, "next": _safe_next(next), "failed": exc},
            exc.status,
        )
        _set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response
    target = _safe_next(next)
    if target == "/":
        target = "/review" if who.role == "reviewer" else "/"
    moved = RedirectResponse(quote(target, safe="/?=&"), status_code=303)
    max_age = int(accounts.SESSION_LIFETIME.total_seconds())
    _set_cookie(request, moved, SESSION_COOKIE, secret, max_age=max_age)
    moved.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return moved


@router.post("/logout")
def logout(request: Request, _: Any = need("signed-in")) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        accounts.sign_out(workspace(request).store, secret)
    done = RedirectResponse("/", status_code=303)
    done.delete_cookie(SESSION_COOKIE, path="/")
    return done


def _set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    secure = request.app.state.settings.secure_cookies
    response.set_cookie(
        name, value, max_age=max_age, path="/", secure=secure, httponly=True, samesite="lax"
    )
