"""Alembic environment: scaleguard hands over a connection that already holds the write lock.

Run through :func:`scaleguard.store.migrate.upgrade`, never with an ini file.
For writing a new revision, ``alembic revision`` still works if a
``sqlalchemy.url`` main option is set on the config.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from scaleguard.store.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    given = context.config.attributes.get("connection")
    if isinstance(given, Connection):
        _run(given)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set the sqlalchemy.url option, or migrate through scaleguard.store")
    engine = create_engine(url)
    with engine.begin() as connection:
        _run(connection)
    engine.dispose()


run()
