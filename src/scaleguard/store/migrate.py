"""Schema migrations: Alembic, configured in code, run under the write lock.

Revisions live in ``scaleguard/store/migrations/versions`` with ids such as
``0001_initial``. Opening a database brings an older schema up to the head of
this code; a schema from a newer scaleguard is refused, because this code
cannot know what the newer tables mean and must not write beside them.
"""

from __future__ import annotations

import functools
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import ResolutionError
from alembic.util.exc import CommandError
from sqlalchemy import Connection, inspect

from scaleguard.errors import ConflictError, StoreError
from scaleguard.store.db import Store
from scaleguard.store.tables import metadata

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config without an ini file; ``connection`` is used by env.py when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def script() -> ScriptDirectory:
    """The shipped revisions, read once per process: they are part of the installed package."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script().get_current_head()
    if head is None:  # pragma: no cover - the package always ships 0001_initial
        raise StoreError("scaleguard ships no migrations; the installation is broken")
    return head


def current_revisions(connection: Connection) -> tuple[str, ...]:
    heads = MigrationContext.configure(connection).get_current_heads()
    return tuple(h for h in heads if h is not None)


def revision_of(store: Store) -> str | None:
    """The schema revision a database is at, or None when it has no scaleguard schema."""
    with store.read() as session:
        heads = current_revisions(session.connection())
    return heads[0] if len(heads) == 1 else None


def ensure_schema(store: Store, *, create: bool) -> str:
    """Bring the schema to head; returns the head revision id.

    ``create=True`` (``scaleguard init``) starts from an empty database and
    refuses one that already holds a scaleguard schema; ``create=False``
    (opening a workspace) refuses an empty database instead.
    """
    scripts = script()
    head = head_revision()
    with store.write() as tx:
        connection = tx.connection()
        current = current_revisions(connection)
        if create and current:
            raise ConflictError(
                f"the database {store.display_url} already holds a scaleguard workspace "
                f"(schema {', '.join(current)})",
                hint="to use it from another folder, copy that workspace's scaleguard.toml; "
                "or point --db at an empty database",
            )
        if not current:
            ours = set(metadata.tables) & set(inspect(connection).get_table_names())
            if ours:
                raise StoreError(
                    f"the database {store.display_url} has scaleguard tables "
                    f"({', '.join(sorted(ours))}) but no migration record",
                    hint="it was not created by scaleguard init; use an empty database",
                )
            if not create:
                raise StoreError(
                    f"the database {store.display_url} holds no scaleguard schema",
                    hint="check [database] in scaleguard.toml, or create one with "
                    "'scaleguard init DIR --db URL'",
                )
        for revision in current:
            try:
                known = scripts.get_revision(revision)
            except (ResolutionError, CommandError):
                known = None
            if known is None:
                raise StoreError(
                    f"the database schema is at revision {revision!r}, newer than this "
                    f"scaleguard knows (its newest is {head!r})",
                    hint="upgrade scaleguard (pip install -U scaleguard) before using this "
                    "workspace; an older version must not write to a newer schema",
                )
        if current == (head,):
            return head
        command.upgrade(alembic_config(connection), "head")
    return head
