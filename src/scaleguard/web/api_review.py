"""The console, the reviewers' portal, review management and users, as JSON (``/api/v1``).

Writes take JSON bodies validated by Pydantic; each is one call into
:mod:`scaleguard.web.portal` or :mod:`scaleguard.web.accounts`, recorded
under the signed-in user's name.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

from scaleguard.web import accounts, console, operate, portal, public
from scaleguard.web.accounts import Principal
from scaleguard.web.deps import CURSOR, LIMIT, RecordId, actor, need, workspace

router = APIRouter()


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentIn(_Body):
    section: str = Field(min_length=1, max_length=200, description="Section id, e.g. capabilities")
    text: str = Field(min_length=1, max_length=100_000)


class StatementIn(_Body):
    verdict: str = Field(description="agree, partly or disagree")
    text: str = Field(min_length=1, max_length=100_000)


class AssignIn(_Body):
    reviewer: str = Field(min_length=1, max_length=200)
    sections: list[str] = Field(default_factory=list, max_length=100)


class RespondIn(_Body):
    reviewer: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, max_length=100_000)


class UserIn(_Body):
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(description="admin, rso, evaluator, reviewer or board")


def _who(who: Principal | None) -> Principal:
    assert who is not None  # every route here needs a signed-in caller
    return who


@router.get("/me", tags=["account"], summary="Who is calling, with which role")
def me(who: Principal | None = need("signed-in")) -> dict[str, Any]:
    p = _who(who)
    return {"name": p.name, "role": p.role, "via": p.via, "scope": p.scope}


@router.get("/review/assignments", tags=["review"], summary="My review assignments")
def my_assignments(
    request: Request,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
    who: Principal | None = need("review"),
) -> dict[str, Any]:
    items = portal.my_assignments(workspace(request), _who(who).name)
    return public.page(items, cursor, limit)


@router.get(
    "/review/{report_id}/edition",
    tags=["review"],
    summary="The reviewer edition of an assigned report (each access is a ledger entry)",
)
def edition(
    request: Request, report_id: RecordId, who: Principal | None = need("review")
) -> dict[str, Any]:
    p = _who(who)
    data, built = portal.open_edition(workspace(request), report_id, p.name, actor(p))
    data["content"] = built.edition.model_dump(mode="json")
    return data


@router.post(
    "/review/{report_id}/comments", tags=["review"], status_code=201, summary="Comment a section"
)
def add_comment(
    request: Request, report_id: RecordId, body: CommentIn, who: Principal | None = need("review")
) -> dict[str, Any]:
    p = _who(who)
    c = portal.comment(workspace(request), report_id, p.name, body.section, body.text, actor(p))
    return {"section": c.section, "ledger_index": c.ledger_index}


@router.post(
    "/review/{report_id}/statement",
    tags=["review"],
    status_code=201,
    summary="Submit the final statement (once)",
)
def add_statement(
    request: Request, report_id: RecordId, body: StatementIn, who: Principal | None = need("review")
) -> dict[str, Any]:
    p = _who(who)
    st = portal.statement(workspace(request), report_id, p.name, body.verdict, body.text, actor(p))
    return {"verdict": st.verdict, "ledger_index": st.ledger_index}


@router.get("/reviewers", tags=["review"], summary="The reviewer registry")
def reviewers(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("console")
) -> dict[str, Any]:
    return public.page(portal.reviewers(workspace(request)), cursor, limit)


@router.get("/reviews", tags=["review"], summary="Every report's review status")
def reviews(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("console")
) -> dict[str, Any]:
    return public.page(portal.status(workspace(request)), cursor, limit)


@router.post(
    "/reviews/{report_id}/assignments",
    tags=["review"],
    status_code=201,
    summary="Assign a screened reviewer (a major conflict refuses it)",
)
def assign(
    request: Request,
    report_id: RecordId,
    body: AssignIn,
    who: Principal | None = need("manage-review"),
) -> dict[str, Any]:
    p = _who(who)
    return portal.assign(workspace(request), report_id, body.reviewer, body.sections, actor(p))


@router.post(
    "/reviews/{report_id}/responses",
    tags=["review"],
    status_code=201,
    summary="The developer's response to a final statement",
)
def respond(
    request: Request,
    report_id: RecordId,
    body: RespondIn,
    who: Principal | None = need("manage-review"),
) -> dict[str, Any]:
    p = _who(who)
    return portal.respond(workspace(request), report_id, body.reviewer, body.text, actor(p))


@router.get("/users", tags=["account"], summary="Users and roles")
def list_users(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("admin")
) -> dict[str, Any]:
    found = accounts.users(workspace(request).store)
    items = [{"name": u.name, "role": u.role, "disabled": u.disabled} for u in found]
    return public.page(items, cursor, limit)


@router.post("/users", tags=["account"], status_code=201, summary="Add a user (one-time password)")
def add_user(
    request: Request, body: UserIn, who: Principal | None = need("admin")
) -> dict[str, Any]:
    p = _who(who)
    user, password = accounts.add_user(workspace(request).store, body.name, body.role, by=actor(p))
    return {"name": user.name, "role": user.role, "password": password}


@router.get("/models", tags=["console"], summary="The model registry: ours and competitors'")
def list_models(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("console")
) -> dict[str, Any]:
    return public.page(console.models(workspace(request)), cursor, limit)


@router.get(
    "/models/{name}/determinations",
    tags=["console"],
    summary="Each threshold's determinations against threshold and early-warning band",
)
def model_determinations(
    request: Request,
    name: str,
    framework: str | None = Query(None, max_length=200),
    _: Any = need("console"),
) -> dict[str, Any]:
    return console.model_status(workspace(request), name, framework)


@router.get("/decisions", tags=["console"], summary="Recorded scaling decisions, newest first")
def list_decisions(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("console")
) -> dict[str, Any]:
    return public.page(console.decision_list(workspace(request)), cursor, limit)


@router.get(
    "/decisions/{decision_id}",
    tags=["console"],
    summary="A decision's full explanation and its counterfactual under the other framework",
)
def get_decision(
    request: Request, decision_id: RecordId, _: Any = need("console")
) -> dict[str, Any]:
    return console.decision(workspace(request), decision_id)


@router.get("/evidence", tags=["console"], summary="Recorded evaluation evidence, newest first")
def list_evidence(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("console")
) -> dict[str, Any]:
    return public.page(operate.recent_evidence(workspace(request)), cursor, limit)


@router.post(
    "/evidence",
    tags=["console"],
    status_code=201,
    summary="Upload an evidence file (Inspect log, lm-eval results or CSV) and ingest it",
)
async def upload_evidence(
    request: Request,
    file: UploadFile = File(..., description="The evaluation artifact."),
    format: str | None = Form(None, max_length=20, description="Force a format."),
    who: Principal | None = need("operate"),
) -> dict[str, Any]:
    from starlette.concurrency import run_in_threadpool

    data = await file.read()
    p = _who(who)
    return await run_in_threadpool(
        operate.ingest_upload, workspace(request), file.filename, data, format, actor(p)
    )
