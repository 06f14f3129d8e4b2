"""Shared fixtures: database URLs for both backends, workspaces, and a CLI runner.

PostgreSQL tests use the server at 127.0.0.1:5432 (override with
SCALEGUARD_TEST_PG_URL). Each test gets a fresh schema, selected through the
connection's search_path and dropped afterwards, so parallel and repeated
runs never see each other's tables. When the server is unreachable the tests
are skipped, and the summary says so, except under CI=true, where they fail.

Populated workspaces (``lab``, and the modules' own through ``workspace_copy``) are
built once per test process and copied for each test: see workspace_copies.
"""

from __future__ import annotations

import atexit
import multiprocessing
import multiprocessing.context
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import psycopg
import pytest

if TYPE_CHECKING:  # imported where used: every xdist worker waits for this module
    from scaleguard.store import Store
    from scaleguard.workspace.workspace import Workspace
    from workspace_copies import Build, Copy, WorkspaceCopies

PG_URL = os.environ.get("SCALEGUARD_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")

# Copies without the key keep their census in the user's cache folder: the suite keeps its
# own, one per test process, and never writes the user's.
_CACHE = tempfile.mkdtemp(prefix="scaleguard-test-cache-")
os.environ["SCALEGUARD_CACHE_DIR"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)
_pg_skips: list[str] = []


@lru_cache(maxsize=1)
def _pg_unreachable_reason() -> str | None:
    try:
        with psycopg.connect(PG_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_URL} is unreachable: {str(exc).strip().splitlines()[0]}"
    return None


def _require_pg() -> None:
    reason = _pg_unreachable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (PostgreSQL tests are required when CI=true)")
    _pg_skips.append(reason)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Browser tests need Chromium; like PostgreSQL, CI requires it rather than skipping."""
    if item.get_closest_marker("browser") is None:
        return
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("Chromium is not installed (browser tests are required when CI=true)")
    pytest.skip("Chromium is not installed; 'make test' installs it where it can")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _pg_skips:
        terminalreporter.write_sep("=", "PostgreSQL", yellow=True)
        terminalreporter.write_line(
            f"{len(_pg_skips)} PostgreSQL test(s) were SKIPPED: {_pg_skips[0]}. "
            "Start the server (or set SCALEGUARD_TEST_PG_URL) to run them; CI requires them."
        )


def make_pg_schema() -> tuple[str, str]:
    """A fresh schema and a SQLAlchemy URL whose connections use it."""
    schema = "sg_" + secrets.token_hex(6)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def drop_pg_schema(schema: str) -> None:
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of an empty PostgreSQL schema of its own, dropped after the test."""
    _require_pg()
    schema, url = make_pg_schema()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: "sqlite", then "postgresql"."""
    if request.param == "postgresql":
        _require_pg()
    return str(request.param)


@pytest.fixture
def store_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend: a SQLite file, or a fresh PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    schema, url = make_pg_schema()
    try:
        yield url
    finally:
        drop_pg_schema(schema)


def worker_context() -> multiprocessing.context.BaseContext:
    """Processes for concurrency tests: fresh interpreters (no inherited connections or
    threads) forked from a server that has already imported scaleguard and the functions
    they run (child_processes), which saves seconds of imports per process."""
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["scaleguard.workspace", "scaleguard.evidence", "child_processes"])
    return ctx


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``scaleguard ARGS...`` in-process through the real error boundary."""

    from scaleguard.cli import app as cli_app

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = cli_app.main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="session")
def _workspace_copies(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkspaceCopies]:
    from workspace_copies import WorkspaceCopies

    copies = WorkspaceCopies(PG_URL, tmp_path_factory.mktemp("built"))
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
def workspace_copy(
    _workspace_copies: WorkspaceCopies, backend: str, tmp_path: Path
) -> Iterator[Copy]:
    """copy(name, build): this test's own copy, in tmp_path, of the workspace(s) that
    build(folder, postgresql_url or None) makes in folder once per test process; returns
    what build returned. See workspace_copies."""
    drops: list[Callable[[], None]] = []

    def copy(name: str, build: Build) -> Any:
        meta, _, drop = _workspace_copies.copy(name, backend, tmp_path, build)
        drops.append(drop)
        return meta

    yield copy
    for drop in drops:
        drop()


@pytest.fixture
def sqlite_copy(_workspace_copies: WorkspaceCopies, tmp_path: Path) -> Copy:
    """workspace_copy for tests of SQLite workspaces only (not parametrised by backend);
    build is called with None for the URL."""

    def copy(name: str, build: Build) -> Any:
        return _workspace_copies.copy(name, "sqlite", tmp_path, build)[0]

    return copy


@pytest.fixture
def pg_copy(_workspace_copies: WorkspaceCopies, tmp_path: Path) -> Iterator[Copy]:
    """workspace_copy for tests of PostgreSQL workspaces only (not parametrised)."""
    _require_pg()
    drops: list[Callable[[], None]] = []

    def copy(name: str, build: Build) -> Any:
        meta, _, drop = _workspace_copies.copy(name, "postgresql", tmp_path, build)
        drops.append(drop)
        return meta

    yield copy
    for drop in drops:
        drop()


def _migrate(folder: Path, pg_url: str | None) -> None:
    from scaleguard.store import Store, ensure_schema

    store = Store(pg_url or f"sqlite:///{folder / 'test.db'}")
    try:
        ensure_schema(store, create=True)
    finally:
        store.dispose()


@pytest.fixture
def migrated_url(_workspace_copies: WorkspaceCopies, backend: str, tmp_path: Path) -> Iterator[str]:
    """Like store_url, with scaleguard's tables already made: a copy of a database that
    ensure_schema(create=True) made once per test process (on SQLite, tmp_path/test.db)."""
    _, url, drop = _workspace_copies.copy("migrated", backend, tmp_path, _migrate)
    try:
        yield url or f"sqlite:///{tmp_path / 'test.db'}"
    finally:
        drop()


@pytest.fixture
def fresh_store(store_url: str) -> Iterator[Store]:
    """scaleguard's schema made by this test's own migration (for the tests of migrations;
    others take a copy: migrated_url)."""
    from scaleguard.store import Store, ensure_schema

    store = Store(store_url)
    ensure_schema(store, create=True)
    yield store
    store.dispose()


def build_lab(folder: Path, pg_url: str | None) -> None:
    """A build: the demo's lab in folder/lab, its SQLite file folder/test.db (as ``lab``)."""
    from scaleguard import demo

    demo.prepare(folder / "lab", db_url=pg_url or f"sqlite:///{folder / 'test.db'}")


def build_demo_lab(folder: Path, pg_url: str | None) -> None:
    """A build: the demo's lab in folder/lab with its own SQLite file, as demo.prepare
    makes it by default."""
    from scaleguard import demo

    demo.prepare(folder / "lab", db_url=pg_url)


@pytest.fixture
def lab(tmp_path: Path, workspace_copy: Copy) -> Iterator[Workspace]:
    """The demo's lab on each backend: models, real evidence files, attestations; ready to
    decide."""
    from scaleguard.workspace import open_workspace

    workspace_copy("lab", build_lab)
    with open_workspace(tmp_path / "lab") as workspace:
        yield workspace
