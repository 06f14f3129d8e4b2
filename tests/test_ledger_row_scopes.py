"""The row check reads record rows past SQLAlchemy; what it reads must be what a select reads.

* On SQLite each decision scope is read through the raw driver cursor with SQL
  compiled from the scope's condition: it must return exactly the rows a
  SQLAlchemy select with that condition returns, for every scope of every model.
* Driver values are turned into record values by :func:`column_processors`, in
  the row check and in full verification: the same values a select returns,
  except that a SQLite DATE stays the text it is stored as, so a date stored
  in any spelling but the signed one is found, not parsed into agreement.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select

from conftest import build_demo_lab, build_lab
from scaleguard.decisions import service
from scaleguard.ledger.recheck import RECORD_TABLES
from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.store.ledger import scopes as scope_reads
from scaleguard.store.ledger.reader import Reader, column_processors
from scaleguard.store.tables import metadata
from scaleguard.workspace import init_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy

MODELS = ("m", "lab/m", "mm", "x", "lonely")
#: Names evidence gives its models: a registry model takes its own name and any "provider/NAME".
EVIDENCE_NAMES = ("m", "lab/m", "other/m", "mm", "lab/mm", "x", "ghost")
EXPECTED_EVIDENCE = {
    "m": {"m", "lab/m", "other/m"},
    "lab/m": {"lab/m"},
    "mm": {"mm", "lab/mm"},
    "x": {"x"},
    "lonely": set(),  # no evidence names: the empty IN
}
SHA = "0" * 64


def _workspace(tmp_path: Path) -> Workspace:
    ws = init_workspace(tmp_path / "scopes", name="scopes")
    with ws.store.write() as tx:
        for n, name in enumerate(MODELS):
            repo.add_model(
                tx,
                name=name,
                own=n % 2 == 0,
                status="released",
                created_by="t",
                released_on=date(2026, 1 + n, 2),
                sources=[f"https://example.org/{n}"],
            )
            repo.add_score(tx, model=name, domain="cyber", score=n / 4, source=None, created_by="t")
        repo.add_artifact(
            tx, sha256=SHA, size=1, format="csv", original_name="a.csv", stored_path="objects/a"
        )
        repo.add_evidence_records(
            tx,
            [
                repo.new_evidence(
                    model=name,
                    task=f"task-{k}",
                    metric="accuracy",
                    value=0.25 * k,
                    artifact_sha256=SHA,
                    format="csv",
                    ingested_by="t",
                    sample_scores=[1.0, 0.0] if k else None,
                )
                for name in EVIDENCE_NAMES
                for k in range(2)
            ],
        )
        for name in MODELS[:-1]:
            repo.add_attestation(
                tx, model=name, standard="s", attested_by="rso", evidence_url="https://e", note=None
            )
            repo.add_fact(tx, name="f", value=1, source="https://s", asserted_by="rso", model=name)
            made = repo.add_determination(
                tx,
                model=name,
                framework_ref="fw@1",
                threshold_id="t",
                state="below",
                method="m",
                created_by="t",
            )
            repo.add_override(
                tx,
                model=name,
                framework_ref="fw@1",
                threshold_id="t",
                state="above",
                author="rso",
                justification="j",
                supersedes_determination_id=made.id,
            )
        repo.add_fact(tx, name="g", value=0.5, source="https://s", asserted_by="rso")
    return ws


def _dates_as_text(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}


def _selected(session: Any, table: Table, where: tuple[Any, ...]) -> list[dict[str, Any]]:
    query = select(*table.c).where(*where).order_by(table.c.id)
    return [dict(r) for r in session.execute(query).mappings()]


def test_raw_and_select_reads_of_every_scope_agree(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    try:
        with ws.store.read() as s:
            for model in MODELS:
                scopes = rows.decision_scopes(s, model)
                assert len(scopes) == 8
                for scope in scopes:
                    raw = scope_reads.sqlite_raw(s, scope)
                    selected = _selected(s, scope.table, scope.where)
                    at = list(scope.table.c.keys()).index("id")
                    assert [r[at] for r in raw] == [r["id"] for r in selected], scope.key
                    processed = [v for _, v in scope_reads.processed(s, scope.table, raw)]
                    assert processed == [_dates_as_text(r) for r in selected]
                    names = {r["model"] for r in selected} if "model" in scope.table.c else None
                    if scope.key == ("evidence", model):
                        assert names == EXPECTED_EVIDENCE[model]
                        assert len(raw) == 2 * len(EXPECTED_EVIDENCE[model])
                    elif scope.key == ("facts", model):
                        assert names == ({None} if model == "lonely" else {model, None})
                    elif scope.key[0] in ("models", "model_scores"):
                        assert len(raw) == len(MODELS)
                    elif scope.key[1] is not None:
                        assert names == (set() if model == "lonely" else {model})
            # the scopes of a model are kept, so their SQL is compiled once
            again = rows.decision_scopes(s, "m")
            assert all(a is b for a, b in zip(again, rows.decision_scopes(s, "m"), strict=True))
            # every row of every scope is proven against the signed root
            check = rows.check_decision_inputs(s, ws.signed_checkpoint(s), "m")
            assert check.rows == sum(len(scope_reads.sqlite_raw(s, sc)) for sc in again)
    finally:
        ws.close()


def test_column_processors_read_rows_as_a_select_does_but_keep_dates_as_text(
    lab: Workspace,
) -> None:
    service.decide(lab, "aurora-3", "train", by="rso")
    with lab.store.read() as s:
        reader = Reader(s)
        compared = dates = 0
        for name, _ in RECORD_TABLES.values():
            table = metadata.tables.get(name)
            if table is None:
                continue
            columns = ", ".join(reader.quote(c.name) for c in table.c)
            raw = reader.all(f"SELECT {columns} FROM {reader.quote(name)} ORDER BY id", ())
            processors = column_processors(table, reader.dialect)
            read = [
                {
                    c.name: (v if p is None or v is None else p(v))
                    for c, p, v in zip(table.c, processors, row, strict=True)
                }
                for row in raw
            ]
            selected = _selected(s, table, ())
            dates += sum(isinstance(v, date) for r in selected for v in r.values())
            # PostgreSQL's driver gives dates; SQLite's text is kept as stored
            assert [_dates_as_text(r) for r in read] == [_dates_as_text(r) for r in selected]
            if reader.dialect.name == "sqlite":
                assert not any(isinstance(v, date) for r in read for v in r.values()), name
            compared += len(read)
        assert compared > 40
        assert dates > 0  # models.released_on: a date to a select


@pytest.mark.parametrize("spelling", ["2025-W36-1", "20250901", "2025-09-01 "])
def test_a_date_stored_in_another_spelling_is_found(
    tmp_path: Path, spelling: str, sqlite_copy: Copy
) -> None:
    """2025-W36-1 is the signed 2025-09-01 to ``date.fromisoformat``; the row check
    and full verification both compare what is stored, so both refuse it."""
    from scaleguard.errors import LedgerIntegrityError
    from scaleguard.workspace import open_workspace
    from test_ledger_tamper import attack, sql

    sqlite_copy("demo lab", build_demo_lab)  # demo.prepare(tmp_path / "lab"), copied
    with open_workspace(tmp_path / "lab") as ws:
        with ws.store.read() as s:
            model = next(m for m in repo.models(s) if m.released_on == date(2025, 9, 1))
        attack(
            ws, sql("UPDATE models SET released_on = :d WHERE name = :n", d=spelling, n=model.name)
        )
        report = ws.verify_ledger(full=True)
        assert not report.ok
        assert any(d.table == "models" for d in report.discrepancies)
        rows.forget()  # a process that never proved the row, as a new command is
        with ws.store.read() as s, pytest.raises(LedgerIntegrityError, match="models row"):
            rows.check_decision_inputs(s, ws.signed_checkpoint(s), model.name)


def test_a_column_whose_stored_type_was_changed_is_read_raw_and_reported(
    tmp_path: Path, pg_copy: Copy
) -> None:
    # a float column altered to text: verification compares the text as the driver
    # gives it, and finds every row changed
    from scaleguard.workspace import open_workspace
    from test_ledger_tamper import attack, sql

    pg_copy("lab", build_lab)  # demo.prepare(tmp_path / "lab", db_url=pg_url), copied
    with open_workspace(tmp_path / "lab") as ws:
        assert ws.verify_ledger(full=True).ok
        with ws.store.read() as s:
            evidence = repo.evidence(s)
        attack(ws, sql("ALTER TABLE evidence ALTER COLUMN value TYPE text"))
        report = ws.verify_ledger(full=True)
        assert not report.ok
        changed = {d.row for d in report.discrepancies if d.table == "evidence"}
        assert changed == {f"id {e.id}" for e in evidence}


@pytest.mark.parametrize("value", [float(2**53), 1e18, -float(2**60)])
def test_a_large_whole_number_fact_is_read_as_the_float_it_was(
    tmp_path: Path, value: float, sqlite_copy: Copy
) -> None:
    """SQLite stores an integral float in a JSON column as an INTEGER; a workspace-wide
    fact is in every decision's rows, so reading it back wrongly would stop them all."""
    from scaleguard.workspace import open_workspace

    sqlite_copy("demo lab", build_demo_lab)  # demo.prepare(tmp_path / "lab"), copied
    with open_workspace(tmp_path / "lab") as ws:
        with ws.store.write() as tx:
            repo.add_fact(tx, name="big", value=value, source="https://s", asserted_by="rso")
        rows.forget()
        with ws.store.read() as s:
            rows.check_decision_inputs(s, ws.signed_checkpoint(s), "aurora-3")
        assert ws.verify_ledger(full=True).ok


def test_a_large_integer_put_in_place_of_a_whole_float_is_found(
    tmp_path: Path, sqlite_copy: Copy
) -> None:
    """Only an integer that is exactly the float is read as it: 2**53 + 1 is not."""
    from scaleguard.errors import LedgerIntegrityError
    from scaleguard.workspace import open_workspace
    from test_ledger_tamper import attack, sql

    sqlite_copy("demo lab", build_demo_lab)  # demo.prepare(tmp_path / "lab"), copied
    with open_workspace(tmp_path / "lab") as ws:
        with ws.store.write() as tx:
            fact = repo.add_fact(
                tx, name="big", value=float(2**53), source="https://s", asserted_by="rso"
            )
        attack(ws, sql("UPDATE facts SET value = :v WHERE id = :i", v=2**53 + 1, i=fact.id))
        assert not ws.verify_ledger(full=True).ok
        rows.forget()
        with ws.store.read() as s, pytest.raises(LedgerIntegrityError, match="facts row"):
            rows.check_decision_inputs(s, ws.signed_checkpoint(s), "aurora-3")
