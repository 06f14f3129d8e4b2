"""Operator writes as JSON (``/api/v1``): models, decisions, attestations, roadmap, Risk Reports.

Each route validates its body, then makes one library call under the
signed-in user's name; the library refuses what it would refuse on the
command line, and a refusal writes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from scaleguard.web import operate, public
from scaleguard.web.accounts import Principal
from scaleguard.web.deps import CURSOR, LIMIT, RecordId, actor, need, workspace
from scaleguard.workspace.registry import ModelSpec

router = APIRouter(tags=["console"])


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DecideIn(_Body):
    model: str = Field(min_length=1, max_length=200)
    action: str = Field(description="train, deploy_internal, deploy_external or release_weights")
    compare: str | None = Field(None, max_length=200, description="Also evaluate under this one.")


class AttestIn(_Body):
    model: str = Field(min_length=1, max_length=200)
    standard: str = Field(min_length=1, max_length=200)
    evidence_url: str = Field(min_length=1, max_length=2000)
    note: str | None = Field(None, max_length=10_000)


class RoadmapUpdateIn(_Body):
    goal: str = Field(min_length=1, max_length=200)
    on: date
    status: str = Field(max_length=20)
    evidence_url: str = Field(min_length=1, max_length=2000)
    note: str | None = Field(None, max_length=10_000)
    target: date | None = None


class DraftIn(_Body):
    period: str = Field(min_length=1, max_length=20, description="e.g. 2026-Q4")
    models: list[str] = Field(min_length=1, max_length=100)


class RedactIn(_Body):
    section: str = Field(min_length=1, max_length=200)
    category: str = Field(description="legal, privacy, security or commercial")
    justification: str = Field(min_length=1, max_length=10_000)


class PublishIn(_Body):
    edition: str = Field(description="public or reviewer")
    format: str = Field(description="html, pdf or markdown")


def _actor(who: Principal | None) -> str:
    return actor(who)


@router.post("/decisions", status_code=201, summary="Decide an action and record it")
def decide(request: Request, body: DecideIn, who: Principal | None = need("govern")) -> Any:
    return operate.decide(workspace(request), body.model, body.action, body.compare, _actor(who))


@router.post("/attestations", status_code=201, summary="Attest a safeguard standard for a model")
def attest(request: Request, body: AttestIn, who: Principal | None = need("govern")) -> Any:
    ws = workspace(request)
    return operate.attest(ws, body.model, body.standard, body.evidence_url, body.note, _actor(who))


@router.post("/roadmap/updates", status_code=201, summary="A dated update of a roadmap goal")
def roadmap_update(
    request: Request, body: RoadmapUpdateIn, who: Principal | None = need("govern")
) -> Any:
    values = body.model_dump(mode="json", exclude_none=True)
    return operate.roadmap_update(workspace(request), values, _actor(who))


@router.get("/risk-reports", summary="Every drafted Risk Report and what was published")
def drafts(
    request: Request, cursor: str | None = CURSOR, limit: int = LIMIT, _: Any = need("console")
) -> dict[str, Any]:
    return public.page(operate.drafts(workspace(request)), cursor, limit)


@router.post("/risk-reports", status_code=201, summary="Draft a Risk Report (content frozen)")
def draft(request: Request, body: DraftIn, who: Principal | None = need("govern")) -> Any:
    return operate.draft_report(workspace(request), body.period, body.models, _actor(who))


@router.post(
    "/risk-reports/{report_id}/redactions",
    status_code=201,
    summary="Withhold a section from the public edition, with category and justification",
)
def redact(
    request: Request, report_id: RecordId, body: RedactIn, who: Principal | None = need("govern")
) -> Any:
    ws = workspace(request)
    return operate.redact(
        ws, report_id, body.section, body.category, body.justification, _actor(who)
    )


@router.post(
    "/risk-reports/{report_id}/publications",
    status_code=201,
    summary="Publish an edition into the workspace and record its SHA-256",
)
def publish(
    request: Request, report_id: RecordId, body: PublishIn, who: Principal | None = need("govern")
) -> Any:
    return operate.publish(workspace(request), report_id, body.edition, body.format, _actor(who))


@router.post(
    "/models",
    status_code=201,
    summary="Add a model to the registry: one of ours, or a competitor's with its scores",
)
def add_model(request: Request, body: ModelSpec, who: Principal | None = need("operate")) -> Any:
    from scaleguard.workspace import add_model as record

    model = record(workspace(request), body, by=_actor(who))
    return {"name": model.name, "own": model.own, "ledger_index": model.ledger_index}
