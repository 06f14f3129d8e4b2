"""Workspaces built once per test process and copied for each test that uses them.

Building a populated workspace (migrations, a key, signed ledger entries, evidence)
takes a third of a second to seconds; copying one takes milliseconds. Each test gets its
own copy, byte for byte the one built, and may change it in any way: on SQLite the
folder is copied with its database file; on PostgreSQL the database is cloned with
``CREATE DATABASE ... TEMPLATE`` into a database of the test's own, dropped afterwards.
Every copy of one build shares its signing key and timestamps, as copies of a backup do.

A PostgreSQL role that may not create databases still gets a fresh build per test, in a
schema of its own, as before.
"""

from __future__ import annotations

import queue
import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from scaleguard.workspace import Workspace, init_workspace

#: build(folder, postgresql_url) makes the workspace(s) inside folder and returns what the
#: tests need to know about them (labels, ids); the URL is None on SQLite.
Build = Callable[[Path, str | None], Any]
#: copy(name, build): the workspace_copy fixture
Copy = Callable[[str, Build], Any]
#: the labels (name -> ledger index) of what fill() recorded in a copied workspace
LABELS = pytest.StashKey[dict[str, int]]()

SCHEMA = "sg_copied"


@dataclass(frozen=True)
class _Built:
    folder: Path
    database: str | None  # the PostgreSQL template database
    meta: Any


class WorkspaceCopies:
    """The builds of one test process, by (name, backend), and the copies made of them."""

    def __init__(self, pg_url: str, base: Path) -> None:
        self._pg_url = pg_url
        self._base = base
        self._built: dict[tuple[str, str], _Built] = {}
        self._templates: list[str] = []
        self._can_clone = True
        self._dropper = _Dropper(pg_url)

    def copy(
        self, name: str, backend: str, dest: Path, build: Build
    ) -> tuple[Any, str | None, Callable[[], None]]:
        """Copy the build ``name`` into ``dest``: returns what build returned, the copy's
        PostgreSQL URL (None on SQLite) and how to drop the copy."""
        if backend == "postgresql" and not self._can_clone:
            return self._fresh(dest, build)
        built = self._built.get((name, backend))
        if built is None:
            built = self._build(name, backend, build)
            if built is None:  # this role may not create databases
                return self._fresh(dest, build)
        shutil.copytree(built.folder, dest, symlinks=True, dirs_exist_ok=True)
        database = None
        if built.database is not None:
            database = self._create_database(template=built.database)
        for config in dest.glob("*/scaleguard.toml"):
            text = config.read_text().replace(str(built.folder), str(dest))
            if database is not None and built.database is not None:
                text = text.replace(built.database, database)
            config.write_text(text)
        if database is None:
            return built.meta, None, _nothing
        return built.meta, self._url(database), lambda: self._dropper.drop(database)

    def close(self) -> None:
        """Drop the copies not dropped yet, then the template databases."""
        self._dropper.close()
        for name in self._templates:
            self._drop_database(name)
        self._templates.clear()

    def _build(self, name: str, backend: str, build: Build) -> _Built | None:
        folder = (self._base / f"{name}-{backend}-{secrets.token_hex(3)}").resolve()
        folder.mkdir(parents=True)
        if backend == "sqlite":
            built = _Built(folder, None, build(folder, None))
        else:
            try:
                database = self._create_database()
            except psycopg.errors.InsufficientPrivilege:
                self._can_clone = False
                return None
            self._templates.append(database)
            built = _Built(folder, database, build(folder, self._url(database)))
        self._built[(name, backend)] = built
        return built

    def _fresh(self, dest: Path, build: Build) -> tuple[Any, str, Callable[[], None]]:
        from conftest import drop_pg_schema, make_pg_schema

        schema, url = make_pg_schema()
        try:
            meta = build(dest, url)
        except BaseException:
            drop_pg_schema(schema)
            raise
        return meta, url, lambda: drop_pg_schema(schema)

    def _create_database(self, *, template: str | None = None) -> str:
        """A new database with the schema SCHEMA; a clone of ``template`` if given."""
        name = "sgdb_" + secrets.token_hex(6)
        with psycopg.connect(self._pg_url, autocommit=True) as conn:
            if template is not None:
                for wait in (0.05, 0.1, 0.2, 0.5, 1, 2, 0):
                    try:
                        conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
                        return name
                    except psycopg.errors.ObjectInUse:  # a build's process still exiting
                        if not wait:
                            raise
                        time.sleep(wait)
            conn.execute(f"CREATE DATABASE {name}")
        with psycopg.connect(self._pg_url, dbname=name, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {SCHEMA}")
        return name

    def _url(self, database: str) -> str:
        """SQLAlchemy URL of ``database`` whose connections use SCHEMA, as the tests' own
        schemas are used (not the default public one)."""
        url = make_url(self._pg_url).set(drivername="postgresql+psycopg", database=database)
        url = url.update_query_dict({"options": f"-csearch_path={SCHEMA}"})
        return url.render_as_string(hide_password=False)

    def _drop_database(self, name: str) -> None:
        with psycopg.connect(self._pg_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def copied_workspace(
    request: pytest.FixtureRequest,
    copy: Copy,
    name: str,
    fill: Callable[[Workspace], dict[str, int]] | None = None,
) -> Path:
    """tmp_path/"ws": a copy of a new workspace named ``name``; with what fill(ws)
    records if the test takes the fixture ``at`` (fill's labels then go to
    request.node.stash[LABELS])."""
    filled = fill is not None and "at" in request.fixturenames

    def build(folder: Path, pg_url: str | None) -> dict[str, int]:
        with init_workspace(folder / "ws", db_url=pg_url, name=name) as workspace:
            return fill(workspace) if fill is not None and filled else {}

    key = f"{name}: {fill.__module__}.{fill.__qualname__}" if fill and filled else name
    labels = copy(key, build)
    request.node.stash[LABELS] = dict(labels)
    return Path(request.getfixturevalue("tmp_path")) / "ws"


def new_ws(folder: Path, pg_url: str | None) -> None:
    """A build: init_workspace(folder/"ws") with its defaults (named ws, its own database)."""
    init_workspace(folder / "ws", db_url=pg_url).close()


def new_lab(folder: Path, pg_url: str | None) -> None:
    """A build: a new workspace named lab in folder/lab, its SQLite file folder/test.db."""
    init_workspace(
        folder / "lab", db_url=pg_url or f"sqlite:///{folder / 'test.db'}", name="lab"
    ).close()


def _nothing() -> None:
    return None


class _Dropper:
    """Drops databases in a thread of its own: PostgreSQL checkpoints on every DROP
    DATABASE, which can take a second under load, and no test needs to wait for that."""

    def __init__(self, pg_url: str) -> None:
        self._pg_url = pg_url
        self._queue: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._errors: list[str] = []
        self._thread: threading.Thread | None = None

    def drop(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._queue.put(name)

    def close(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._errors:
            raise RuntimeError("could not drop test databases: " + "; ".join(self._errors))

    def _run(self) -> None:
        with psycopg.connect(self._pg_url, autocommit=True) as conn:
            while (name := self._queue.get()) is not None:
                try:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                except psycopg.Error as exc:
                    self._errors.append(f"{name}: {exc}")
