"""A database administrator's edit: SQL run around the record tables' append-only triggers.

The administrator holds no signing key: they drop (SQLite) or disable (PostgreSQL) the
triggers of the tables they edit, run their statements and put the triggers back, with
none of scaleguard's connection settings. The ledger entries are left as they were.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import create_engine, text

from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.workspace.workspace import Workspace


def as_dba(ws: Workspace, tables: Sequence[str], *statements: str) -> None:
    """Run ``statements`` around the append-only triggers of ``tables``, then put the
    triggers back; what this process proved is forgotten, as a new command would start."""
    engine = create_engine(ws.store.url)
    try:
        with engine.begin() as conn:
            if ws.store.backend == "sqlite":
                names = ", ".join(f"'{t}'" for t in tables)
                triggers = conn.execute(
                    text(
                        "SELECT name, sql FROM sqlite_master "
                        f"WHERE type = 'trigger' AND tbl_name IN ({names})"
                    )
                ).all()
                assert triggers
                for name, _ in triggers:
                    conn.execute(text(f"DROP TRIGGER {name}"))
            else:
                for table in tables:
                    conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            for sql in statements:
                conn.execute(text(sql))
            if ws.store.backend == "sqlite":
                for _, sql in triggers:
                    conn.execute(text(sql))
            else:
                for table in tables:
                    conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
    finally:
        engine.dispose()
    rows.forget()


def row_counts(ws: Workspace, tables: Sequence[str]) -> tuple[int, ...]:
    """The ledger's size and the row count of each of ``tables``."""
    with ws.store.read() as s:
        size = repo.ledger_size(s)
        counts = [int(s.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables]
    return (size, *counts)
