"""A copy without the key counts its census once per user, not once per process.

The census of a copy without the key (how reviewers get a workspace) is counted
from the entries and kept in the user's cache folder; a later process counts
only what was signed since. The cache never loosens a check: a deleted row is
still refused with a warm cache, and a cache file holding another history of
the same log (or garbage) is not trusted: the copy is counted on its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scaleguard.decisions import service
from scaleguard.errors import LedgerIntegrityError
from scaleguard.store import repo
from scaleguard.store.ledger import census as census_module
from scaleguard.store.ledger import keyless, rows
from scaleguard.store.ledger.census import EMPTY, HEADER, Census, census_path, count_from
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import attack, sql

MODEL = "aurora-3"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("SCALEGUARD_CACHE_DIR", str(folder))
    keyless.forget()
    return folder / "census"


@contextmanager
def without_key(ws: Workspace) -> Iterator[Workspace]:
    """The workspace as a reviewer's copy opens it in a new process: no key, no census
    file, nothing proven or counted in memory (the key is put back afterwards)."""
    key = ws.root / "keys" / "ledger.key"
    aside = key.with_name("ledger.key.aside")
    key.rename(aside)
    census_path(ws.ledger_state_path).unlink(missing_ok=True)
    rows.forget()
    keyless.forget()
    try:
        with open_workspace(ws.root) as copy:
            assert not copy.has_ledger_key()
            yield copy
    finally:
        aside.rename(key)
        rows.forget()
        keyless.forget()


def census_of(copy: Workspace) -> tuple[Census, Census]:
    """What the copy uses, and what counting every entry gives."""
    with copy.store.read() as s:
        signed = copy.signed_checkpoint(s)
        return copy.census(s, signed), count_from(s, EMPTY, signed)


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """(from size, to size) of every count from the database."""
    calls: list[tuple[int, int]] = []
    real = census_module.count_from

    def counting(session: Any, base: Census, signed: Any) -> Census:
        calls.append((base.size, signed.size))
        return real(session, base, signed)

    monkeypatch.setattr(census_module, "count_from", counting)
    monkeypatch.setattr(keyless, "count_from", counting)
    return calls


def test_a_later_process_reads_the_census_the_first_one_counted(
    lab: Workspace, cache: Path, counts: list[tuple[int, int]]
) -> None:
    service.decide(lab, MODEL, "train", by="rso")
    with without_key(lab) as copy:
        used, whole = census_of(copy)
        assert used == whole and used.size > 0
        assert counts == [(0, used.size)]
    assert [p.suffix for p in cache.iterdir() if p.suffix == ".census"] == [".census"]
    assert next(cache.glob("*.census")).read_bytes().startswith(HEADER)

    counts.clear()
    with without_key(lab) as copy:  # a new process: nothing in memory
        with copy.store.read() as s:
            signed = copy.signed_checkpoint(s)
            assert copy.census(s, signed) == used
        assert counts == []  # read from the cache, not counted again

    # the log grows (with the key); the next copy counts only what is new
    service.override(lab, MODEL, "novel-cb", "crossed", by="rso", justification="red team")
    with without_key(lab) as copy:
        grown, whole = census_of(copy)
        assert grown == whole and grown.size > used.size
        assert counts[0] == (used.size, grown.size)


def test_a_warm_cache_still_refuses_a_deleted_row(lab: Workspace, cache: Path) -> None:
    service.decide(lab, MODEL, "train", by="rso")
    with without_key(lab) as copy:
        census_of(copy)  # counted and cached
    with lab.store.read() as s:
        victim = max(e.id for e in repo.evidence_for_model(s, MODEL))
    attack(lab, sql("DELETE FROM evidence WHERE id = :i", i=victim))
    with without_key(lab) as copy, copy.store.read() as s:
        signed = copy.signed_checkpoint(s)
        with pytest.raises(LedgerIntegrityError, match="deleted"):
            rows.check_decision_inputs(s, signed, MODEL, census=copy.census(s, signed))


@pytest.mark.parametrize("where", ["below", "at"])
def test_a_cache_of_another_history_is_not_trusted(
    lab: Workspace, cache: Path, counts: list[tuple[int, int]], where: str
) -> None:
    """A census file whose counts belong to another tree of the same log (an earlier copy
    that showed another history, or a file planted in the folder) is counted past."""
    service.decide(lab, MODEL, "train", by="rso")
    with without_key(lab) as copy:
        _, whole = census_of(copy)
        path = next(cache.glob("*.census"))
    size = whole.size - 3 if where == "below" else whole.size
    # the same size, counts inflated so that no row would ever look deleted
    planted = EMPTY.plus({("evidence", MODEL): 1000}, size, b"\x07" * 32)
    census_module._write_whole(path, planted)
    counts.clear()
    with without_key(lab) as copy:
        used, whole = census_of(copy)
        assert used == whole
        assert used.count("evidence", [MODEL]) < 1000
        assert (0, whole.size) in counts  # counted on its own


def test_garbage_in_the_cache_is_counted_again(
    lab: Workspace, cache: Path, counts: list[tuple[int, int]]
) -> None:
    service.decide(lab, MODEL, "train", by="rso")
    with without_key(lab) as copy:
        census_of(copy)
        path = next(cache.glob("*.census"))
    path.write_bytes(HEADER + b"not a census line\n")
    counts.clear()
    with without_key(lab) as copy:
        used, whole = census_of(copy)
        assert used == whole and counts == [(0, whole.size)]


def test_without_a_cache_folder_the_census_is_counted_in_memory(
    lab: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SCALEGUARD_CACHE_DIR", str(blocker))
    service.decide(lab, MODEL, "train", by="rso")
    with without_key(lab) as copy:
        used, whole = census_of(copy)
        assert used == whole
    assert blocker.read_text() == "not a folder"
