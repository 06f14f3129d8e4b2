"""The record tables a check reads must be the plain stored tables scaleguard created.

A decision checks the rows it reads against the signed ledger
(:mod:`scaleguard.store.ledger.rows`), then reads them again, in further
statements of the same snapshot, to decide. A stored table gives every
statement of one snapshot the same rows. A relation that *computes* its rows
does not: a view or a row-security policy over the clock, a random number or
the text of the running query; a foreign table; a table whose inheritance
children are read with it. Someone who can change the database schema, though
not sign, could show the check the signed rows and the decision others. So
every check also shows that each record table it read is a plain stored
table, and refuses (:class:`LedgerIntegrityError`) when one is not.

SQLite, one statement over ``sqlite_master`` and ``pragma_table_xinfo``: the
name must be a table with its own b-tree (a view or a virtual table has
none) and no hidden or generated column. The check needs nothing more:

* A read transaction reads one snapshot of the whole file, the schema
  included, and a write transaction holds the only write lock: nobody can
  change the schema between the check and the reads that follow it.
* Only ``main`` is checked. The ``temp`` schema, searched first, belongs to
  one connection, and only scaleguard's own connection could put a table
  there; attached databases are searched after ``main``.
* Nothing is remembered between transactions. ``PRAGMA schema_version`` would
  tell when the schema changed, except that whoever edits the file can set
  it back; the check costs about a tenth of a millisecond anyway.

PostgreSQL. Reading a table takes an ACCESS SHARE lock that lasts until the
transaction ends, and ACCESS EXCLUSIVE conflicts with it. DROP TABLE, ALTER
TABLE ... RENAME, ADD or DROP COLUMN, ENABLE or FORCE ROW LEVEL SECURITY,
CREATE POLICY and CREATE RULE all need ACCESS EXCLUSIVE. Once the check's read
has taken its lock, none of them can run until the transaction ends, so what
the check sees after that read holds for the decision's reads. That is why
the check runs after the rows are read: on PostgreSQL, in the same statement
that reads their digests. Three things get past the lock, and are handled:

* DDL committed after the transaction's snapshot but before its first read of
  the table. Queries on ``pg_class`` and the other catalogs see the snapshot,
  but name lookup and planning see the newest catalog. So the statement also
  asks functions that read the newest catalog: ``to_regclass`` (which relation
  the name finds now: it must be in the snapshot too, so a table replaced in
  that window is refused), ``row_security_active`` (whether policies apply to
  this connection now) and ``has_column_privilege`` (whether a column was added
  since the snapshot). A table turned into a view in that window (a rule
  ``ON SELECT``, up to PostgreSQL 15) keeps its identity; the check at the end
  of the transaction (below) finds it.
* ``ALTER TABLE other INHERIT evidence``. It takes only a SHARE UPDATE EXCLUSIVE
  lock on the parent, which ACCESS SHARE does not block, and every later read of
  ``evidence`` returns ``other``'s rows too.
* ``ALTER SCHEMA ... RENAME`` and ``CREATE SCHEMA``, which lock no table: a
  name can come to find a relation in another schema, and then the first again.

So a check also registers a second one that runs when the transaction's work
is done, before its results are used (:meth:`scaleguard.store.db.Store.read`
and ``write`` run it). Everything the transaction read is still locked by
then, and no child that a read took in can be detached again (that needs
ACCESS EXCLUSIVE on the child). In one round trip it plans a read of every
checked table (``EXPLAIN``, which sees the newest catalog: the plan must scan
exactly those tables, with no filter) and lists every relation the transaction
holds a lock on (``pg_locks``): each must be a table, index or sequence of the
workspace's schema that exists in the snapshot, a TOAST table or a system catalog.

The statement also refuses a search_path that puts any schema before
``pg_catalog``: functions and operators there would take the place of
PostgreSQL's own in every statement. What stays outside: a function or
operator of the workspace's schema that matches a column type more exactly
than ``pg_catalog``'s own, in the conditions of the decision's reads, and
anything a superuser can do below SQL (editing catalogs or data files, server
extensions written in C); see docs/ledger.md.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerIntegrityError
from scaleguard.store.db import BEFORE_END, first_line

HINT = (
    "a view, a row-security policy or a table read along with it can return other rows to "
    "each statement, so the rows checked against the ledger need not be the rows a decision "
    "reads. Someone changed the database schema outside scaleguard: restore the database "
    "from a backup, then run 'scaleguard ledger verify --full'"
)

_NAME = re.compile(r"[a-z_][a-z0-9_]*\Z")

#: PostgreSQL relkind -> what to call it
_PG_KINDS = {
    "r": "table",
    "p": "partitioned table",
    "v": "view",
    "m": "materialized view",
    "f": "foreign table",
    "S": "sequence",
    "c": "composite type",
    "i": "index",
    "I": "partitioned index",
    "t": "TOAST table",
}
#: Plan nodes of a read of stored tables (the parallel forms have the same names).
_PLAIN_NODES = frozenset(
    {
        "Append",
        "Gather",
        "Seq Scan",
        "Index Scan",
        "Index Only Scan",
        "Bitmap Heap Scan",
        "Bitmap Index Scan",
    }
)


def _names(tables: Collection[str]) -> list[str]:
    names = sorted(set(tables))
    for name in names:
        if not _NAME.match(name):  # pragma: no cover - scaleguard's own table names
            raise ValueError(f"not a scaleguard table name: {name!r}")
    return names


def _refusal(table: str, finding: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"the {table} table is not the plain stored table scaleguard created: {finding}",
        hint=HINT,
    )


def check_relations(session: Session, tables: Collection[str]) -> None:
    """Each of ``tables`` (record tables a check read in ``session``) is a plain stored
    table of the workspace's schema; else LedgerIntegrityError. One statement."""
    if not tables:
        return
    if session.connection().dialect.name == "sqlite":
        _check_sqlite(session, _names(tables))
        return
    sql = f"SELECT {pg_facts_sql(tables)}"
    try:
        facts = session.execute(text(sql)).scalar_one()
    except SQLAlchemyError as exc:
        raise _unreadable(exc) from None
    judge_pg(session, tables, facts)


def _unreadable(exc: BaseException) -> LedgerIntegrityError:
    return LedgerIntegrityError(
        f"cannot show that the record tables are the ones scaleguard created: "
        f"{first_line(exc)[:200]}",
        hint=HINT,
    )


# -- SQLite ---------------------------------------------------------------------------


def _check_sqlite(session: Session, names: list[str]) -> None:
    marks = ", ".join("?" for _ in names)
    sql = (
        "SELECT lower(m.name), m.type, m.rootpage, "
        "CASE WHEN m.type = 'table' AND m.rootpage > 0 THEN "
        "(SELECT group_concat(x.name || ' (' || CASE x.hidden WHEN 2 THEN 'generated' "
        "WHEN 3 THEN 'generated, stored' ELSE 'hidden' END || ')', ', ') "
        "FROM pragma_table_xinfo(m.name, 'main') AS x WHERE x.hidden <> 0) END "
        f"FROM sqlite_master AS m WHERE m.type IN ('table', 'view') AND lower(m.name) IN ({marks})"
    )
    try:
        raw = session.connection().connection.dbapi_connection
        assert raw is not None
        found = {row[0]: row[1:] for row in raw.execute(sql, names).fetchall()}
    except (SQLAlchemyError, sqlite3.Error) as exc:
        raise _unreadable(exc) from None
    for name in names:
        row = found.get(name)
        if row is None:
            raise _refusal(name, "the database has no table of that name")
        kind, rootpage, hidden = row
        if kind == "view":
            raise _refusal(name, "it is a view, which computes its rows for every statement")
        if not rootpage:
            raise _refusal(name, "it is a virtual table, whose module computes its rows")
        if hidden:
            raise _refusal(name, f"it has columns scaleguard never creates: {hidden}")


# -- PostgreSQL: the check ------------------------------------------------------------


def pg_facts_sql(tables: Collection[str]) -> str:
    """A scalar SQL expression (JSON) describing each of ``tables`` as the statement that
    evaluates it sees them, for :func:`judge_pg`; to be evaluated in the statement that
    reads those tables, or after it (see the module doc).

    It reads flags of ``pg_class`` where it can (a table that never had rules or children
    has ``relhasrules`` and ``relhassubclass`` false); :func:`judge_pg` looks further only
    when one is set. Relations are compared as ``oid``, whose functions and operators
    ``pg_catalog`` has with exactly those argument types, and it is searched first (or
    the check refuses).
    """
    names = ", ".join(f"'{n}'" for n in _names(tables))
    return f"""(SELECT json_build_array(
  to_regnamespace(quote_ident(current_schema()))::oid::bigint,
  current_schema(),
  (current_schemas(true))[1],
  json_agg(json_build_array(
    t.name,
    t.rel::bigint,
    c.oid IS NOT NULL,
    c.relkind,
    c.relnamespace::bigint,
    c.relrowsecurity OR c.relforcerowsecurity OR coalesce(row_security_active(t.rel), false),
    c.relhasrules,
    c.relhassubclass,
    c.relispartition,
    has_column_privilege(t.rel, (c.relnatts + 1)::int2, 'SELECT') IS NOT NULL
  ) ORDER BY t.name),
  (SELECT json_agg(json_build_array(a.attrelid::bigint, a.attname) ORDER BY a.attnum)
   FROM pg_attribute AS a WHERE a.attrelid = ANY (array_agg(t.rel))
     AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated <> ''))
FROM (SELECT u.name, to_regclass(quote_ident(u.name))::oid AS rel
      FROM unnest(ARRAY[{names}]::text[]) AS u(name)) AS t
LEFT JOIN pg_class AS c ON c.oid = t.rel)"""


@dataclass
class _Relied:
    """What a transaction's checks showed: the workspace's schema and the tables checked."""

    schema_oid: int
    schema: str
    tables: set[str] = field(default_factory=set)


_RELIED = "scaleguard.relations"


def judge_pg(session: Session, tables: Collection[str], facts: Any) -> None:
    """Refuse unless ``facts`` (the value of :func:`pg_facts_sql` for ``tables``) shows
    every table plain; then remember them for the check at the transaction's end."""
    try:
        schema_oid, schema, searched_first, rows, generated = facts
        described = {str(row[0]): row for row in rows}
        columns: dict[int, list[str]] = {}
        for rel, column in generated or ():
            columns.setdefault(int(rel), []).append(str(column))
    except (TypeError, ValueError) as exc:  # pragma: no cover - the statement's own shape
        raise _unreadable(exc) from None
    relied: _Relied | None = session.info.get(_RELIED)
    if schema_oid is None:
        raise LedgerIntegrityError(
            "no schema of the connection's search_path exists, so the record tables cannot "
            "be the workspace's",
            hint=HINT,
        )
    if searched_first != "pg_catalog":
        raise LedgerIntegrityError(
            f"the connection's search_path puts {searched_first!r} before pg_catalog: "
            "functions and operators made there take the place of PostgreSQL's own in "
            "every statement, the check's and the decision's",
            hint="list only the workspace's schema in the search_path of the database URL "
            "(options=-csearch_path=SCHEMA); PostgreSQL searches pg_catalog first then",
        )
    if relied is not None and relied.schema_oid != schema_oid:
        raise LedgerIntegrityError(
            f"the connection's schema is now {schema!r}, not the {relied.schema!r} this "
            "transaction's earlier check found: schemas were renamed while it ran",
            hint=HINT,
        )
    names = _names(tables)
    for name in names:
        finding = _pg_finding(session, described[name], columns)
        if finding is not None:
            raise _refusal(name, finding)
    elsewhere = {name: int(described[name][4]) for name in names}
    elsewhere = {name: oid for name, oid in elsewhere.items() if oid != schema_oid}
    if elsewhere:
        where = _pg_lookup(
            session,
            "SELECT oid::bigint, nspname FROM pg_namespace WHERE oid = ANY (CAST(:oids AS oid[]))",
            sorted(set(elsewhere.values())),
        )
        by_schema: dict[str, list[str]] = {}
        for name, oid in elsewhere.items():
            by_schema.setdefault(where.get(oid, str(oid)), []).append(name)
        found = "; ".join(f"{', '.join(n)} in {s}" for s, n in sorted(by_schema.items()))
        raise LedgerIntegrityError(
            f"the record tables are not all in the connection's schema {schema} (the first "
            f"schema of its search_path that exists): {found}",
            hint=HINT,
        )
    if relied is None:
        relied = session.info[_RELIED] = _Relied(schema_oid, schema)
    relied.tables.update(tables)
    hooks = session.info.setdefault(BEFORE_END, [])
    if check_reads not in hooks:
        hooks.append(check_reads)


def _pg_lookup(session: Session, sql: str, oids: list[int]) -> dict[int, str]:
    """``oid -> text`` from ``sql`` (which selects both, given ``:oids``): the details of a
    refusal, read only when there is one."""
    try:
        found = session.execute(text(sql), {"oids": oids}).all()
    except SQLAlchemyError as exc:
        raise _unreadable(exc) from None
    return {int(oid): str(what) for oid, what in found}


def _pg_finding(
    session: Session, row: Sequence[Any], generated: dict[int, list[str]]
) -> str | None:
    """What makes one described table other than a plain stored table (None: nothing)."""
    _, rel, seen, relkind, _, security, rules, children, part, added = row
    if rel is None:
        return "no relation of that name exists"
    if not seen:
        return "the name now finds a relation made after this transaction began"
    if relkind != "r":
        return f"it is a {_PG_KINDS.get(relkind, relkind)}"
    if security:
        return "row-level security is enabled (or forced) on it"
    if rules and _pg_lookup(
        session,
        "SELECT ev_class::bigint, rulename FROM pg_rewrite "
        "WHERE ev_class = ANY (CAST(:oids AS oid[]))",
        [rel],
    ):
        return "it has rewrite rules (CREATE RULE)"
    if children:  # the flag may outlive the last child
        kids = _pg_lookup(
            session,
            "SELECT inhrelid::bigint, inhrelid::regclass::text FROM pg_inherits "
            "WHERE inhparent = ANY (CAST(:oids AS oid[]))",
            [rel],
        )
        if kids:
            listed = ", ".join(sorted(kids.values()))
            return f"every read of it also returns the rows of {listed} (inheritance or partitions)"
    if part:
        return "it is a partition of another table"
    if generated.get(int(rel)):
        return f"it has generated columns ({', '.join(generated[int(rel)])})"
    if added:
        return "a column was added to it after this transaction began"
    return None


# -- PostgreSQL: at the end of the transaction -----------------------------------------


def check_reads(session: Session) -> None:
    """Run when the transaction's work is done (see the module doc): the checked tables
    still read as themselves alone, and every relation the transaction read is one of
    the workspace's tables or a system catalog. One round trip, two statements."""
    relied: _Relied | None = session.info.get(_RELIED)
    if relied is None or not relied.tables:
        return
    names = _names(relied.tables)
    explain = "EXPLAIN (COSTS OFF, FORMAT JSON) " + " UNION ALL ".join(
        f'SELECT 1 FROM "{n}"' for n in names
    )
    # Relations below FirstNormalObjectId (16384) were made by initdb: the system catalogs
    # (a backend locks relations of its own database only, and those shared catalogs).
    locks = """SELECT l.relation::regclass::text, c.oid IS NOT NULL, c.relkind,
  c.relnamespace::bigint, EXISTS (SELECT FROM pg_inherits AS k WHERE k.inhrelid = l.relation)
FROM pg_locks AS l LEFT JOIN pg_class AS c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND l.locktype = 'relation' AND l.relation >= 16384::oid"""
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        # no parameters: sent as one simple query, both statements in one round trip
        cursor.execute(f"{explain};\n{locks}")
        explained = cursor.fetchone()
        cursor.nextset()
        locked = cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as exc:
        raise _unreadable(exc) from None
    finally:
        cursor.close()
    plan = explained[0] if explained else None
    problem = _plan_problem(plan, names)
    if problem is not None:
        raise LedgerIntegrityError(
            f"after the record tables were checked, {problem}: the schema was changed while "
            "scaleguard was reading",
            hint=HINT,
        )
    for row in locked:
        problem = _lock_problem(row, relied)
        if problem is not None:
            raise LedgerIntegrityError(
                f"this transaction read {problem}: the schema was changed while scaleguard "
                "was reading",
                hint=HINT,
            )


def _plan_nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for child in node.get("Plans", ()):
            yield from _plan_nodes(child)


def _plan_problem(plan: Any, names: list[str]) -> str | None:
    """What in the plan of ``SELECT 1 FROM t UNION ALL ...`` is not a scan of each t."""
    try:
        root = plan[0]["Plan"]
    except (TypeError, LookupError, KeyError):
        return "their read could not be planned"
    scanned: list[str] = []
    for node in _plan_nodes(root):
        kind = str(node.get("Node Type"))
        if kind not in _PLAIN_NODES:
            return f"a read of them runs a {kind}, not a scan of stored tables"
        if "Filter" in node:
            where = node.get("Relation Name", "them")
            return f"a read of {where} filters its rows ({node['Filter']})"
        if "Relation Name" in node:
            scanned.append(str(node["Relation Name"]))
    extra = sorted(set(scanned) - set(names))
    if extra:
        return f"a read of them also reads {', '.join(extra)}"
    if sorted(scanned) != names:
        return f"a read of them scans {', '.join(sorted(scanned)) or 'nothing'}"
    return None


#: The namespace of TOAST tables, where every table keeps its long values.
_PG_TOAST_NAMESPACE = 99


def _lock_problem(row: Sequence[Any], relied: _Relied) -> str | None:
    name, seen, relkind, namespace, child = row
    if not seen:
        return f"{name}, which was made after the transaction began"
    if namespace == _PG_TOAST_NAMESPACE:
        return None
    if namespace != relied.schema_oid:
        return f"{name}, outside the workspace's schema {relied.schema}"
    if relkind not in ("r", "i", "S"):
        return f"{name}, a {_PG_KINDS.get(relkind, relkind)}"
    if child:
        return f"{name}, which inherits from another table"
    return None
