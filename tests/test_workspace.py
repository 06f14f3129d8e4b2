"""Workspaces: init, find and open like git, scaleguard.toml, and the CLI's error boundary."""

from __future__ import annotations

import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from scaleguard.errors import ConflictError, StoreError, WorkspaceError
from scaleguard.store import repo
from scaleguard.workspace import (
    dump_config,
    find_root,
    init_workspace,
    open_workspace,
    parse_config,
)
from scaleguard.workspace.config import (
    DatabaseSection,
    FrameworksSection,
    WorkspaceConfig,
    WorkspaceSection,
)

Cli = Callable[..., Any]


def test_init_creates_the_layout_and_a_migrated_database(tmp_path: Path) -> None:
    root = tmp_path / "acme"
    with init_workspace(root, name="Acme safety") as ws:
        assert ws.root == root.resolve()
        assert ws.store.backend == "sqlite"
    for folder in ("objects", "frameworks", "keys"):
        assert (root / folder).is_dir()
    assert stat.S_IMODE((root / "keys").stat().st_mode) == 0o700
    assert (root / "scaleguard.db").is_file()
    config = parse_config((root / "scaleguard.toml").read_text(), "scaleguard.toml")
    assert config.workspace.name == "Acme safety"
    assert config.database == DatabaseSection()
    with open_workspace(root) as ws, ws.store.read() as s:
        assert repo.ledger_size(s) == 0


def test_init_never_overwrites_a_workspace(tmp_path: Path) -> None:
    init_workspace(tmp_path / "w").close()
    before = (tmp_path / "w" / "scaleguard.toml").read_bytes()
    with pytest.raises(ConflictError, match="already a scaleguard workspace"):
        init_workspace(tmp_path / "w", name="other")
    assert (tmp_path / "w" / "scaleguard.toml").read_bytes() == before


def test_init_refuses_a_folder_with_a_database_already(tmp_path: Path) -> None:
    (tmp_path / "scaleguard.db").write_bytes(b"precious")
    with pytest.raises(ConflictError, match="already exists"):
        init_workspace(tmp_path)
    assert (tmp_path / "scaleguard.db").read_bytes() == b"precious"
    assert not (tmp_path / "objects").exists()


def test_a_failed_init_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "new"
    with pytest.raises(StoreError):
        init_workspace(target, db_url="postgresql://postgres@127.0.0.1:9/nothing")
    assert not target.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    (existing / "notes.txt").write_text("keep me")
    with pytest.raises(StoreError):
        init_workspace(existing, db_url="postgresql://postgres@127.0.0.1:9/nothing")
    assert sorted(p.name for p in existing.iterdir()) == ["notes.txt"]


@pytest.mark.postgres
def test_init_with_a_postgresql_url(tmp_path: Path, pg_url: str) -> None:
    with init_workspace(tmp_path / "team", db_url=pg_url) as ws:
        assert ws.store.backend == "postgresql"
        assert not (tmp_path / "team" / "scaleguard.db").exists()
    config = parse_config((tmp_path / "team" / "scaleguard.toml").read_text(), "t")
    assert config.database.url is not None and "search_path" in config.database.url
    with open_workspace(tmp_path / "team") as ws, ws.store.read() as s:
        assert repo.ledger_size(s) == 0
    with pytest.raises(ConflictError, match="already holds a scaleguard workspace"):
        init_workspace(tmp_path / "second", db_url=pg_url)
    assert not (tmp_path / "second").exists()


def test_the_workspace_is_found_by_walking_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_workspace(tmp_path / "w").close()
    deep = tmp_path / "w" / "frameworks" / "drafts"
    deep.mkdir()
    monkeypatch.chdir(deep)
    assert find_root() == (tmp_path / "w").resolve()
    with open_workspace() as ws:
        assert ws.root == (tmp_path / "w").resolve()


def test_no_workspace_is_an_error_with_a_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WorkspaceError, match="no scaleguard workspace") as info:
        open_workspace()
    assert "scaleguard init" in info.value.hint
    with pytest.raises(WorkspaceError, match="not a scaleguard workspace"):
        open_workspace(tmp_path)
    with pytest.raises(WorkspaceError, match="does not exist"):
        open_workspace(tmp_path / "missing")


def test_a_missing_database_file_is_not_silently_recreated(tmp_path: Path) -> None:
    init_workspace(tmp_path).close()
    (tmp_path / "scaleguard.db").unlink()
    with pytest.raises(WorkspaceError, match="is missing"):
        open_workspace(tmp_path)
    assert not (tmp_path / "scaleguard.db").exists()


def test_opening_refuses_a_newer_schema(tmp_path: Path) -> None:
    with init_workspace(tmp_path) as ws, ws.store.write() as tx:
        tx.execute(text("UPDATE alembic_version SET version_num = '0042_newer'"))
    with pytest.raises(StoreError, match="newer than this scaleguard"):
        open_workspace(tmp_path)


def test_framework_use_is_recorded_the_first_time(tmp_path: Path) -> None:
    with init_workspace(tmp_path) as ws:
        fw, use = ws.use_framework("anthropic-rsp@3.0")
        _, again = ws.use_framework("anthropic-rsp@3.0")
        assert use == again
        assert (use.ref, use.digest) == (fw.ref, fw.digest)
        assert use.origin.startswith("builtin:")
        with ws.store.read() as s:
            assert repo.ledger_size(s) == 1


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ('[workspace]\nname = "a"\nformat = "x\n', "not valid TOML", 3),
        ('[workspace]\nname = "a"\ncolour = "red"\n', "problem", 3),
        ('[workspace]\nname = "a"\n\n[database]\nsqlite = "a.db"\nurl = "x"\n', "problem", 4),
        ('[workspace]\nname = ""\n', "problem", 2),
        ("[database]\n", "problem", None),
    ],
)
def test_config_problems_are_located(text: str, message: str, line: int | None) -> None:
    with pytest.raises(WorkspaceError, match=message) as info:
        parse_config(text, "scaleguard.toml")
    problem = info.value.problems[0]
    assert problem.file == "scaleguard.toml"
    assert problem.line == line


def test_a_newer_workspace_format_is_refused() -> None:
    with pytest.raises(WorkspaceError, match="format 7"):
        parse_config('[workspace]\nname = "a"\nformat = 7\n', "scaleguard.toml")


def test_url_env_reads_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = parse_config('[workspace]\nname = "a"\n[database]\nurl_env = "SG_DB"\n', "t")
    monkeypatch.delenv("SG_DB", raising=False)
    with pytest.raises(WorkspaceError, match=r"\$SG_DB"):
        config.database_url(tmp_path)
    monkeypatch.setenv("SG_DB", "postgresql://x@y/z")
    assert config.database_url(tmp_path) == "postgresql://x@y/z"


_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)


def _acceptable_name(text: str) -> bool:
    """Names scaleguard accepts: visible text, one script per word (see textcheck)."""
    from scaleguard.textcheck import safe_name

    try:
        safe_name(text)
    except ValueError:
        return False
    return True


@given(
    name=_text.filter(_acceptable_name),
    location=st.one_of(
        st.builds(DatabaseSection),
        st.builds(lambda s: DatabaseSection(sqlite=s), _text),
        st.builds(lambda s: DatabaseSection(url=s), _text),
    ),
    default=st.one_of(st.none(), _text),
)
def test_config_survives_a_write_read_round_trip(
    name: str, location: DatabaseSection, default: str | None
) -> None:
    config = WorkspaceConfig(
        workspace=WorkspaceSection(name=name),
        database=location,
        frameworks=FrameworksSection(default=default),
    )
    assert parse_config(dump_config(config), "t") == config


# -- the CLI --------------------------------------------------------------------


def test_cli_init_and_the_workspace_option(cli: Cli, tmp_path: Path) -> None:
    result = cli("init", tmp_path / "w", "--name", "demo", "--json")
    assert result.code == 0, result.err
    info = json.loads(result.out)
    assert (info["name"], info["backend"]) == ("demo", "sqlite")
    again = cli("init", tmp_path / "w")
    assert again.code == 2
    assert "already a scaleguard workspace" in again.err
    assert "Traceback" not in again.err
    listed = cli("models", "list", "--json", "--workspace", tmp_path / "w")
    assert (listed.code, json.loads(listed.out)) == (0, [])


def test_cli_without_a_workspace_explains_how_to_make_one(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SCALEGUARD_WORKSPACE", raising=False)
    result = cli("models", "list")
    assert result.code == 2
    assert "no scaleguard workspace" in result.err
    assert "scaleguard init" in result.err


def test_cli_finds_the_workspace_from_the_environment(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init", tmp_path / "w").code == 0
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SCALEGUARD_WORKSPACE", str(tmp_path / "w"))
    result = cli("facts", "list", "--json")
    assert (result.code, json.loads(result.out)) == (0, [])


def test_cli_reports_a_broken_config_with_its_position(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cli("init", tmp_path).code == 0
    path = tmp_path / "scaleguard.toml"
    path.write_text(path.read_text() + "\n[database]\nurl = 3\n")
    monkeypatch.chdir(tmp_path)
    result = cli("models", "list")
    assert result.code == 2
    line = path.read_text().splitlines().index("url = 3") + 1
    assert f"{path}:{line}:1: Input should be a valid string" in result.err
