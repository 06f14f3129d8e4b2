"""The registry, evidence, attestations and facts as their readers see them.

``models list``, ``evidence list``, ``attestations list``, ``facts list`` and
the console show these records as facts. Their rows can be edited or deleted
by anyone who can write the database, so each read proves the rows it shows
against the ledger, and that none the key signed is missing
(:func:`scaleguard.workspace.rowcheck.check_rows`), in the snapshot it reads
them from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import or_

from scaleguard.store import repo
from scaleguard.store.ledger.census import Counted
from scaleguard.store.ledger.rows import KIND_OF_TABLE, Scope
from scaleguard.store.ledger.scopes import kind_scope
from scaleguard.store.tables import metadata
from scaleguard.workspace.rowcheck import check_rows

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.store.records import Attestation, Evidence, Fact, Model, ModelScore
    from scaleguard.workspace.workspace import Workspace

__all__ = ["attestations", "evidence", "facts", "model_entry", "registry"]


def _scope(table_name: str, model: str | None = None, workspace_wide: bool = False) -> Scope:
    """Every row of ``table_name`` (those about ``model`` when given, and the workspace-wide
    ones too with ``workspace_wide``), each one the key signed."""
    kind = KIND_OF_TABLE[table_name][0]
    if model is None or not workspace_wide:
        return kind_scope(kind, model)
    table = metadata.tables[table_name]
    where = or_(table.c.model == model, table.c.model.is_(None))
    return Scope(
        (table_name, f"model {model!r} or none"), table, (where,), Counted(kind, (model, None))
    )


def _check(session: Session, ws: Workspace, scopes: list[Scope], what: str) -> None:
    check_rows(session, ws, scopes, f"list {what}")


def registry(ws: Workspace) -> tuple[list[Model], dict[tuple[str, str], ModelScore]]:
    """Every registered model and the latest score per (model, domain)."""
    with ws.store.read() as s:
        _check(s, ws, [_scope("models"), _scope("model_scores")], "the models")
        return repo.models(s), repo.latest_scores(s)


def model_entry(ws: Workspace, name: str) -> tuple[Model, list[ModelScore], list[Attestation]]:
    """Model ``name`` (NotFoundError when unknown), its score history and attestations."""
    with ws.store.read() as s:
        scopes = [_scope("models"), _scope("model_scores", name), _scope("attestations", name)]
        _check(s, ws, scopes, f"model {name!r}")
        return repo.model(s, name), repo.scores(s, name), repo.attestations(s, name)


def attestations(ws: Workspace, model: str | None = None) -> list[Attestation]:
    """Safeguard attestations (about ``model``), oldest first."""
    with ws.store.read() as s:
        _check(s, ws, [_scope("models"), _scope("attestations", model)], "the attestations")
        if model is not None:
            repo.model(s, model)
        return repo.attestations(s, model)


def facts(ws: Workspace, model: str | None = None) -> list[Fact]:
    """Fact assertions (about ``model``, and the workspace-wide ones), oldest first."""
    with ws.store.read() as s:
        _check(s, ws, [_scope("facts", model, workspace_wide=True)], "the facts")
        return repo.facts(s, model)


def evidence(ws: Workspace, model: str | None = None) -> list[Evidence]:
    """Ingested evidence (recorded under the name ``model``), oldest first."""
    with ws.store.read() as s:
        _check(s, ws, [_scope("evidence", model)], "the evidence")
        return repo.evidence(s, model)
