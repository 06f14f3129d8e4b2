"""A database administrator without the key replaces a record table by something that
computes its rows; decisions refuse to rely on it.

A decision checks the rows it reads against the signed ledger, then reads them
again to decide, in other statements of the same snapshot. A view, a virtual or
foreign table, a row-security policy, an inheritance child or a relation of the
same name earlier on the search path can give those statements different rows:
the check sees the signed ones, the decision others. Each such table is refused
(LedgerIntegrityError) and nothing is recorded; so are the PostgreSQL schema
changes that get past the lock a read holds (a child attached, schemas renamed,
a table replaced between the snapshot and the first read). On SQLite and
PostgreSQL, with the ``lab`` workspace.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url

from conftest import PG_URL
from scaleguard.decisions import service
from scaleguard.errors import LedgerIntegrityError
from scaleguard.ledger.recheck import RECORD_TABLES
from scaleguard.store import Store, ensure_schema, repo
from scaleguard.store.ledger import relations, rows
from scaleguard.store.migrate import alembic_config
from scaleguard.usage import service as usage_service
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_decide_recheck import assert_fact, counts
from test_ledger_tamper import Params, attack, sql

MODEL = "aurora-3"
COLUMNS = "id, name, value, model, source, asserted_by, created_at, ledger_index"
#: facts moved aside, for the relations that take its place to read from
SET_ASIDE = sql("ALTER TABLE facts RENAME TO facts_signed")


def forged_facts(forging: str) -> str:
    """A SELECT of the signed facts in which the model's 'developer_leads' fact reads as
    true whenever ``forging`` (an SQL condition) holds."""
    return (
        f"SELECT id, name, CASE WHEN name = 'developer_leads' AND {forging} THEN 'true' "
        f"ELSE value END AS value, model, source, asserted_by, created_at, ledger_index "
        "FROM facts_signed"
    )


def refuses(
    ws: Workspace, act: Callable[[], object], match: str, hint: str = "verify --full"
) -> None:
    """``act`` raises LedgerIntegrityError matching ``match``, with a hint saying ``hint``,
    and records nothing."""
    before = counts(ws)
    with pytest.raises(LedgerIntegrityError, match=match) as caught:
        act()
    assert hint in caught.value.hint
    assert counts(ws) == before


def decide(ws: Workspace) -> Callable[[], object]:
    return lambda: service.decide(ws, MODEL, "train", by="rso")


#: The test runs on one backend only (the ``lab`` it gets is of that backend).
ON_POSTGRESQL = pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
ON_SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def own_database(ws: Workspace) -> None:
    """Tests that create database-wide objects need the copy's own database."""
    if ws.store.url.database == make_url(PG_URL).database:
        pytest.skip("needs a database of the test's own (CREATE DATABASE)")


def right_now(ws: Workspace, *statements: str) -> None:
    """Run DDL at once, from another connection, as an administrator would while a decision
    is running (without dropping scaleguard's triggers: that would wait for the decision)."""
    url = ws.store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET lock_timeout = '10s'")  # a statement that would wait fails instead
        for statement in statements:
            conn.execute(statement)  # type: ignore[arg-type]


# -- honest workspaces ------------------------------------------------------------------


def test_an_honest_workspace_decides(lab: Workspace) -> None:
    """Both ways a decision goes: checked and evaluated under the write lock (determinations
    pending), then on the checked read snapshot; also determine and group commit."""
    first = service.decide(lab, MODEL, "train", by="rso")
    again = service.decide(lab, MODEL, "train", by="rso")
    assert again.decision.outcome == first.decision.outcome
    service.determine(lab, MODEL, by="rso")
    with lab.store.write(group=True) as tx:
        signed = lab.signed_checkpoint(tx)
        rows.check_decision_inputs(tx, signed, MODEL, census=lab.census(tx, signed))
    usage_service.check_contracts(lab)


def test_a_workspace_migrated_from_the_first_schema_passes(store_url: str) -> None:
    """Tables made by every migration since 0001_initial are plain tables, on both backends."""
    store = Store(store_url)
    try:
        with store.write() as tx:
            command.upgrade(alembic_config(tx.connection()), "0001_initial")
        ensure_schema(store, create=False)
        tables = [table for table, _ in RECORD_TABLES.values()]
        with store.read() as s:
            relations.check_relations(s, tables)
        with store.write() as tx:
            relations.check_relations(tx, tables)
    finally:
        store.dispose()


# -- a record table replaced before the decision --------------------------------------


#: backend -> what takes the place of ``facts`` -> (statements, what the refusal says)
REPLACED: dict[str, dict[str, tuple[list[tuple[str, Params]], str]]] = {
    "sqlite": {
        "view": (
            [SET_ASIDE, sql(f"CREATE VIEW facts AS SELECT {COLUMNS} FROM facts_signed")],
            "facts table is not the plain stored table.*a view",
        ),
        "virtual-table": (
            [
                SET_ASIDE,
                sql(
                    f"CREATE VIRTUAL TABLE facts USING fts5({COLUMNS}, "
                    "content='facts_signed', content_rowid='id')"
                ),
            ],
            "virtual table",
        ),
        "generated-column": (
            [sql("ALTER TABLE facts ADD COLUMN shown TEXT GENERATED ALWAYS AS (name) VIRTUAL")],
            r"columns scaleguard never creates: shown \(generated\)",
        ),
    },
    "postgresql": {
        "view": (
            [SET_ASIDE, sql(f"CREATE VIEW facts AS SELECT {COLUMNS} FROM facts_signed")],
            "facts table is not the plain stored table.*a view",
        ),
        "materialized-view": (
            [SET_ASIDE, sql("CREATE MATERIALIZED VIEW facts AS SELECT * FROM facts_signed")],
            "a materialized view",
        ),
        "partitioned": (
            [
                SET_ASIDE,
                sql("CREATE TABLE facts (LIKE facts_signed) PARTITION BY RANGE (id)"),
                sql("CREATE TABLE facts_all PARTITION OF facts DEFAULT"),
                sql("INSERT INTO facts SELECT * FROM facts_signed"),
            ],
            "a partitioned table",
        ),
        "row-security": (
            [
                sql("ALTER TABLE facts ENABLE ROW LEVEL SECURITY"),
                sql("CREATE POLICY forge ON facts USING (random() < 2)"),
            ],
            "row-level security",
        ),
        "row-security-forced": (
            [sql("ALTER TABLE facts FORCE ROW LEVEL SECURITY")],
            "row-level security",
        ),
        "rule": (
            [sql("CREATE RULE forge AS ON INSERT TO facts DO INSTEAD NOTHING")],
            "rewrite rules",
        ),
        "inheritance-child": (
            [
                sql("CREATE TABLE facts_more (LIKE facts)"),
                sql("ALTER TABLE facts_more INHERIT facts"),
            ],
            "also returns the rows of facts_more",
        ),
        "generated-column": (
            [sql("ALTER TABLE facts ADD COLUMN shown text GENERATED ALWAYS AS (name) STORED")],
            r"generated columns \(shown\)",
        ),
    },
}
CASES = [
    pytest.param(on, case, marks=[pytest.mark.postgres] if on == "postgresql" else [])
    for on in REPLACED
    for case in REPLACED[on]
]


@pytest.mark.parametrize(("backend", "case"), CASES, indirect=["backend"])
def test_a_record_table_replaced_is_refused(lab: Workspace, backend: str, case: str) -> None:
    assert_fact(lab)
    statements, said = REPLACED[backend][case]
    attack(lab, *statements)
    refuses(lab, decide(lab), said)
    rows.forget()  # a process that proved every row before refuses just the same
    refuses(lab, decide(lab), said)


def clock_view(ws: Workspace, after: float) -> float:
    """facts becomes a view (SQLite) forging the fact from ``after`` seconds from now;
    returns that moment (time.time())."""
    turn = time.time() + after
    day = turn / 86400 + 2440587.5  # the Julian day SQLite's julianday('now') counts in
    view = forged_facts(f"julianday('now') >= {day!r}")
    attack(ws, sql("DROP VIEW IF EXISTS facts"), sql(f"CREATE VIEW facts AS {view}"))
    return turn


def until(turn: float) -> None:
    time.sleep(max(0.0, turn - time.time()) + 0.05)


@ON_SQLITE
def test_a_view_over_the_clock_shows_the_check_signed_rows_and_the_decision_others(
    lab: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The attack this closes: the same SELECT, in one snapshot, reads the signed fact, then
    (a moment later, as the decision reads after the check) a forged one."""
    assert_fact(lab)
    service.determine(lab, MODEL, by="rso")  # nothing pending: decided on one read snapshot
    attack(lab, SET_ASIDE)
    turn = clock_view(lab, 0.3)
    with lab.store.read() as s:
        checked = repo.current_facts(s, MODEL)["developer_leads"].value
        until(turn)
        decided = repo.current_facts(s, MODEL)["developer_leads"].value
    assert (checked, decided) == (False, True)

    turn = clock_view(lab, 0.5)  # the fact turns while the decision runs, after its check
    real = rows.check_scopes

    def check_scopes(*args: Any, **kwargs: Any) -> Any:
        checked = real(*args, **kwargs)
        until(turn)
        return checked

    monkeypatch.setattr(rows, "check_scopes", check_scopes)
    refuses(lab, decide(lab), "a view")


@ON_POSTGRESQL
def test_a_view_answering_by_the_query_text_is_refused(lab: Workspace) -> None:
    """PostgreSQL: a view shows the check's statements (which hash the rows) the signed fact
    and every other statement a forged one."""
    assert_fact(lab)
    forging = "current_query() NOT LIKE '%sha256%' AND current_query() NOT LIKE '%quote_nullable%'"
    view = forged_facts(forging).replace("THEN 'true'", "THEN 'true'::json")
    attack(lab, SET_ASIDE, sql(f"CREATE VIEW facts AS {view}"))
    with lab.store.read() as s:
        checked = s.execute(
            text("SELECT value FROM facts WHERE name = 'developer_leads' AND sha256('') <> ''")
        ).scalar_one()
        decided = repo.current_facts(s, MODEL)["developer_leads"].value
    assert (checked, decided) == (False, True)
    refuses(lab, decide(lab), "a view")


@ON_POSTGRESQL
def test_a_foreign_table_is_refused(lab: Workspace) -> None:
    """PostgreSQL: facts read from a server (here the same database, through postgres_fdw)."""
    own_database(lab)
    assert_fact(lab)
    url = lab.store.url
    try:
        attack(lab, sql("CREATE EXTENSION postgres_fdw"))
    except Exception as exc:  # the contrib package is not installed
        pytest.skip(f"postgres_fdw is not available: {exc}")
    attack(
        lab,
        SET_ASIDE,
        sql(
            "CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS "
            f"(host '{url.host or '127.0.0.1'}', port '{url.port or 5432}', "
            f"dbname '{url.database}')"
        ),
        sql(f"CREATE USER MAPPING FOR CURRENT_USER SERVER loop OPTIONS (user '{url.username}')"),
    )
    attack(  # the server reads what is committed
        lab,
        sql("CREATE SCHEMA remote"),
        sql("IMPORT FOREIGN SCHEMA sg_copied LIMIT TO (facts_signed) FROM SERVER loop INTO remote"),
        sql("ALTER FOREIGN TABLE remote.facts_signed RENAME TO facts"),
        sql("ALTER FOREIGN TABLE remote.facts SET SCHEMA sg_copied"),
    )
    service.determine(lab, MODEL, by="rso")  # nothing pending: decided on one read snapshot
    refuses(lab, decide(lab), "a foreign table")


@ON_POSTGRESQL
def test_a_relation_earlier_on_the_search_path_is_refused(lab: Workspace) -> None:
    """PostgreSQL: the workspace's URL searches a schema that does not exist yet before its
    own (as the default "$user", public does); the administrator creates it, with a view."""
    assert_fact(lab)
    config = lab.root / "scaleguard.toml"
    config.write_text(config.read_text().replace("search_path%3D", "search_path%3Dfront%2C"))
    assert "front" in config.read_text()
    with open_workspace(lab.root) as ws:
        service.decide(ws, MODEL, "train", by="rso")  # nothing in front yet
        attack(ws, sql("CREATE SCHEMA front"), sql("CREATE TABLE front.facts AS TABLE facts"))
        refuses(
            ws,
            decide(ws),
            "not all in the connection's schema front .*: attestations, .* in sg_copied",
        )
        attack(ws, sql("DROP TABLE front.facts"), sql("CREATE VIEW front.facts AS TABLE facts"))
        refuses(ws, decide(ws), "facts table .* a view")


def test_usage_contracts_replaced_by_a_view_are_refused(lab: Workspace) -> None:
    attack(
        lab,
        sql("ALTER TABLE usage_contracts RENAME TO usage_contracts_signed"),
        sql("CREATE VIEW usage_contracts AS SELECT * FROM usage_contracts_signed"),
    )
    with pytest.raises(LedgerIntegrityError, match=r"usage_contracts table .* a view"):
        usage_service.check_contracts(lab)


# -- PostgreSQL: changes the lock of a read does not keep out ---------------------------


@ON_POSTGRESQL
def test_a_table_replaced_after_the_snapshot_began_is_refused(
    lab: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The view takes the table's place after the decision's snapshot was taken and before it
    first reads facts: the catalog the snapshot shows still has the table."""
    assert_fact(lab)
    real = lab.signed_checkpoint
    done: list[bool] = []

    def signed_checkpoint(session: Any = None) -> Any:
        if session is not None and not done:
            done.append(True)
            right_now(
                lab,
                "ALTER TABLE facts RENAME TO facts_signed",
                f"CREATE VIEW facts AS SELECT {COLUMNS} FROM facts_signed",
            )
        return real(session)

    monkeypatch.setattr(lab, "signed_checkpoint", signed_checkpoint)
    refuses(lab, decide(lab), "made after this transaction began")
    assert done


@ON_POSTGRESQL
def test_a_child_attached_after_the_check_is_refused(
    lab: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ALTER TABLE ... INHERIT needs no lock the check's read holds: right after the check,
    a table holding a forged fact becomes a child of facts, and the decision's reads of
    facts return its rows too."""
    assert_fact(lab)
    attack(
        lab,
        sql("CREATE TABLE facts_more (LIKE facts)"),
        sql(
            "INSERT INTO facts_more SELECT id + 1000, name, 'true'::json, model, source, "
            "asserted_by, created_at, ledger_index FROM facts WHERE name = 'developer_leads'"
        ),
    )
    service.decide(lab, MODEL, "train", by="rso")  # the next decision reads its snapshot only
    real = rows.check_scopes
    read: list[object] = []

    def check_scopes(session: Any, *args: Any, **kwargs: Any) -> Any:
        checked = real(session, *args, **kwargs)
        if not read:
            right_now(lab, "ALTER TABLE facts_more INHERIT facts")
            read.append(repo.current_facts(session, MODEL)["developer_leads"].value)
        return checked

    monkeypatch.setattr(rows, "check_scopes", check_scopes)
    refuses(lab, decide(lab), "also reads facts_more")
    assert read == [True]  # what the decision would have read


@ON_POSTGRESQL
def test_a_child_attached_in_a_group_write_is_refused(lab: Workspace) -> None:
    """The same in a shared (group commit) write transaction: refused before it commits."""
    attack(lab, sql("CREATE TABLE facts_more (LIKE facts)"))
    before = counts(lab)
    refusal = pytest.raises(LedgerIntegrityError, match="also reads facts_more")
    with refusal, lab.store.write(group=True) as tx:
        signed = lab.signed_checkpoint(tx)
        rows.check_decision_inputs(tx, signed, MODEL, census=lab.census(tx, signed))
        repo.add_fact(tx, name="x", value=1, source="https://s", asserted_by="a")
        right_now(lab, "ALTER TABLE facts_more INHERIT facts")
    assert counts(lab) == before


@ON_POSTGRESQL
def test_schemas_swapped_while_the_decision_reads_are_refused(
    lab: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renaming a schema locks no table. Right after the check, the workspace's schema is
    renamed and a new one of its name holds views over it (facts forged); once the
    decision has read through them, the schemas are swapped back, so that the names find
    the checked tables again."""
    assert_fact(lab)
    with lab.store.read() as s:
        tables = s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'sg_copied'"))
        names = sorted(str(name) for (name,) in tables)
    views = [
        f"CREATE VIEW sg_copied.{name} AS SELECT * FROM sg_old.{name}"
        for name in names
        if name != "facts"
    ]
    forged = forged_facts("true").replace("'true'", "'true'::json")
    views.append(f"CREATE VIEW sg_copied.facts AS {forged.replace('facts_signed', 'sg_old.facts')}")
    real_check, real_plan = rows.check_scopes, service._plan
    swapped: list[str] = []

    def check_scopes(session: Any, *args: Any, **kwargs: Any) -> Any:
        checked = real_check(session, *args, **kwargs)
        if not swapped:
            right_now(
                lab, "ALTER SCHEMA sg_copied RENAME TO sg_old", "CREATE SCHEMA sg_copied", *views
            )
            swapped.append("swapped")
        return checked

    def plan(*args: Any, **kwargs: Any) -> Any:
        planned = real_plan(*args, **kwargs)
        if swapped == ["swapped"]:
            right_now(
                lab,
                "ALTER SCHEMA sg_copied RENAME TO sg_fake",
                "ALTER SCHEMA sg_old RENAME TO sg_copied",
            )
            swapped.append("back")
        return planned

    monkeypatch.setattr(rows, "check_scopes", check_scopes)
    monkeypatch.setattr(service, "_plan", plan)
    refuses(lab, decide(lab), r"this transaction read sg_fake\.\w+, which was made after")
    assert swapped == ["swapped", "back"]


# -- PostgreSQL: functions and operators of other schemas -------------------------------


@ON_POSTGRESQL
def test_a_search_path_that_puts_a_schema_before_pg_catalog_is_refused(lab: Workspace) -> None:
    """Every function and operator of a schema searched before pg_catalog takes the place of
    PostgreSQL's own, in the check's statements and the decision's alike."""
    config = lab.root / "scaleguard.toml"
    config.write_text(config.read_text().replace("sg_copied", "sg_copied%2Cpg_catalog"))
    with open_workspace(lab.root) as ws:
        refuses(ws, decide(ws), "search_path puts 'sg_copied' before pg_catalog", "SCHEMA")


@ON_POSTGRESQL
def test_a_function_in_the_workspace_schema_cannot_hide_an_edited_row(lab: Workspace) -> None:
    """A process that proved the rows once then only compares the server's digest of them.
    pg_catalog has no quote_nullable for json, so one made in the workspace's schema would
    be chosen over it, and could encode an edited fact as the signed one."""
    assert_fact(lab)
    service.decide(lab, MODEL, "train", by="rso")  # facts proven, their digest remembered
    attack(
        lab,
        sql(
            "CREATE FUNCTION quote_nullable(json) RETURNS text LANGUAGE sql AS $$ SELECT "
            "pg_catalog.quote_nullable(CASE WHEN $1::text = 'true' THEN 'false' "
            "ELSE $1::text END) $$"
        ),
        sql("UPDATE facts SET value = 'true' WHERE name = 'developer_leads'"),
    )
    refuses(lab, decide(lab), "does not match its signed ledger entry")
