"""The public JSON API (``/api/v1``): frameworks, diffs, roadmap, reports, reviews, ledger.

Reads only; each route is one call into :mod:`scaleguard.web.public`. Lists
are cursor-paginated (``cursor``, ``limit`` -> ``items``, ``next_cursor``);
every 200 carries an ETag.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request

from scaleguard.web import public
from scaleguard.web.accounts import Principal
from scaleguard.web.deps import CURSOR, LIMIT, RecordId, need, workspace
from scaleguard.web.roles import allows

router = APIRouter(tags=["public"])


def _full(who: Principal | None) -> bool:
    """Operators see every ledger entry's bytes; the public sees public kinds only."""
    return who is not None and allows("console", who.role)


@router.get("/frameworks", summary="Frameworks in the library")
def list_frameworks(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("public")
) -> dict[str, Any]:
    return public.page(public.framework_listing(workspace(request)), cursor, limit)


@router.get("/frameworks/{ref}", summary="One framework, as encoded")
def get_framework(request: Request, ref: str, _: Any = need("public")) -> dict[str, Any]:
    return public.framework(workspace(request), ref)


@router.get("/diff", summary="What changed between two frameworks, and whether it weakens")
def get_diff(
    request: Request,
    old: str = Query(..., min_length=1, max_length=200, description="Earlier framework ref."),
    new: str = Query(..., min_length=1, max_length=200, description="Later framework ref."),
    _: Any = need("public"),
) -> dict[str, Any]:
    return public.diff(workspace(request), old, new)


@router.get("/roadmap", summary="The roadmap report card")
def get_roadmap(
    request: Request, as_of: date | None = Query(None), _: Any = need("public")
) -> dict[str, Any]:
    card = public.roadmap(workspace(request), as_of)
    data: dict[str, Any] = card.model_dump(mode="json")
    return data


@router.get("/reports", summary="Published public Risk Report editions")
def list_reports(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("public")
) -> dict[str, Any]:
    return public.page(public.published_reports(workspace(request)), cursor, limit)


@router.get("/reports/{report_id}", summary="A published report: editions, hashes, review")
def get_report(request: Request, report_id: RecordId, _: Any = need("public")) -> dict[str, Any]:
    return public.published_report(workspace(request), report_id)


@router.get("/reports/{report_id}/review", summary="Reviewers' statements and responses")
def get_review(request: Request, report_id: RecordId, _: Any = need("public")) -> dict[str, Any]:
    ws = workspace(request)
    public.published_report(ws, report_id)
    return {"items": public.review_outcome(ws, report_id), "next_cursor": None}


@router.get("/ledger/key", summary="The ledger's public key (C2SP vkey)")
def get_key(request: Request, _: Any = need("public")) -> dict[str, Any]:
    return {"vkey": public.ledger_key(workspace(request))}


@router.get("/ledger/checkpoint", summary="The latest signed checkpoint")
def get_checkpoint(request: Request, _: Any = need("public")) -> dict[str, Any]:
    return public.latest_checkpoint(workspace(request))


@router.get("/ledger/checkpoints", summary="Every signed checkpoint, newest first")
def list_checkpoints(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("public")
) -> dict[str, Any]:
    return public.page(public.checkpoint_list(workspace(request)), cursor, limit)


@router.get("/ledger/entries", summary="Ledger entries in index order")
def list_entries(
    request: Request,
    cursor: str | None = CURSOR,
    limit: int = LIMIT,
    who: Principal | None = need("public"),
) -> dict[str, Any]:
    start = public.decode_cursor(cursor)
    return public.ledger_entries(workspace(request), start, limit, _full(who))


@router.get("/ledger/entries/{index}", summary="One ledger entry")
def get_entry(
    request: Request, index: RecordId, who: Principal | None = need("public")
) -> dict[str, Any]:
    return public.ledger_entry(workspace(request), index, _full(who))


@router.get("/ledger/entries/{index}/proof", summary="Inclusion proof with its checkpoint")
def get_proof(
    request: Request,
    index: RecordId,
    size: int | None = Query(
        None, ge=1, le=2**62, description="Prove against this checkpoint size."
    ),
    who: Principal | None = need("public"),
) -> dict[str, Any]:
    return public.inclusion(workspace(request), index, _full(who), size)


@router.get("/ledger/consistency", summary="Consistency proof between two checkpoints")
def get_consistency(
    request: Request,
    old: int = Query(..., ge=0, le=2**62),
    new: int = Query(..., ge=0, le=2**62),
    _: Any = need("public"),
) -> dict[str, Any]:
    return public.consistency(workspace(request), old, new)
