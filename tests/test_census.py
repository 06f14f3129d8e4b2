"""A database administrator without the key deletes signed rows; a process that never saw
them still refuses to decide on what is left.

The signer counts what it signs by kind and subject, beside the key
(``keys/ledger.census``); a decision's row check compares the rows it reads with
those counts. The census file is a cache: missing, behind, torn or garbled, it is
counted again from the ledger entries, which must give the signed root. On SQLite
and PostgreSQL.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from scaleguard.decisions import service
from scaleguard.demo.usage import GOV_CONTRACT
from scaleguard.errors import LedgerIntegrityError
from scaleguard.ledger.merkle import EMPTY_ROOT
from scaleguard.ledger.note import Checkpoint, open_checkpoint
from scaleguard.store import repo
from scaleguard.store.ledger import keyless, rows
from scaleguard.store.ledger.census import (
    EMPTY,
    HEADER,
    Census,
    CensusLog,
    census_path,
    count_from,
)
from scaleguard.store.tables import LedgerCheckpointRow
from scaleguard.store.tables_usage import UsageContractRow
from scaleguard.usage import service as usage
from scaleguard.usage.loader import load_policy
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import attack, sql

MODEL = "aurora-3"
DELETED = "deleted"


def evidence_ids(ws: Workspace) -> list[int]:
    with ws.store.read() as s:
        return sorted(e.id for e in repo.evidence_for_model(s, MODEL))


def census_file(ws: Workspace) -> Path:
    return census_path(ws.ledger_state_path)


def fresh(ws: Workspace) -> Workspace:
    """The workspace as a new process opens it: nothing proven, the census read from its file."""
    rows.forget()
    return open_workspace(ws.root)


def signed_now(ws: Workspace) -> Checkpoint:
    return ws.signed_checkpoint()


def recount(ws: Workspace) -> Census:
    """The census counted from the ledger entries alone (checked against the signed root)."""
    signed = signed_now(ws)
    with ws.store.read() as s:
        return count_from(s, EMPTY, signed)


def from_file(ws: Workspace) -> Census:
    """What the census file says now (read by a new reader; counted where it is behind)."""
    signed = signed_now(ws)
    with ws.store.read() as s:
        return CensusLog(census_file(ws)).at(s, signed)


def refuses(ws: Workspace, act: Callable[[], object], match: str = DELETED) -> None:
    with ws.store.read() as s:
        before = repo.ledger_size(s)
    with pytest.raises(LedgerIntegrityError, match=match) as caught:
        act()
    assert "verify --full" in (caught.value.hint or "")
    with ws.store.read() as s:
        assert repo.ledger_size(s) == before  # nothing recorded


def delete_evidence_with_its_entry(lab: Workspace) -> int:
    """Delete the model's first evidence row and its ledger entry; the entry's index."""
    victim = evidence_ids(lab)[0]
    with lab.store.read() as s:
        index = next(e.ledger_index for e in repo.evidence_for_model(s, MODEL) if e.id == victim)
    attack(
        lab,
        sql("DELETE FROM evidence WHERE id = :i", i=victim),
        sql("DELETE FROM ledger_entries WHERE idx = :i", i=index),
    )
    return index


def decide(ws: Workspace) -> object:
    return service.decide(ws, MODEL, "train", by="rso")


# -- the attacks ---------------------------------------------------------------------------


def test_a_deleted_evidence_row_stops_a_process_that_never_read_it(lab: Workspace) -> None:
    decide(lab)  # honest: determinations recorded, the census file follows every write
    assert from_file(lab) == recount(lab)
    victim = evidence_ids(lab)[-1]
    attack(lab, sql("DELETE FROM evidence WHERE id = :i", i=victim))
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold))


def test_deleting_the_entry_with_its_row_is_refused_too(lab: Workspace) -> None:
    """The rows left still prove against the signed root; the count gives the deletion away."""
    delete_evidence_with_its_entry(lab)
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold))


def test_deleting_every_evidence_row_of_the_model_is_refused(lab: Workspace) -> None:
    """The model's evidence names come from the census too: rows of a name that no longer
    appears in the database are still looked for."""
    ids = evidence_ids(lab)
    assert ids
    attack(lab, *(sql("DELETE FROM evidence WHERE id = :i", i=i) for i in ids))
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold))


def test_a_deleted_workspace_wide_fact_is_refused(lab: Workspace) -> None:
    with lab.store.write() as tx:
        repo.add_fact(tx, name="external_review", value=True, source="https://x", asserted_by="rso")
    with lab.store.read() as s:
        fact = max(f.id for f in repo.facts(s, None) if f.name == "external_review")
    attack(lab, sql("DELETE FROM facts WHERE id = :i", i=fact))
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold))


def test_a_deleted_determination_stops_determine_and_override(lab: Workspace) -> None:
    decide(lab)
    with lab.store.read() as s:
        gone = max(d.id for d in repo.determinations(s, MODEL))
    attack(lab, sql("DELETE FROM determinations WHERE id = :i", i=gone))
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold))
        threshold = cold.resolve_framework(None)[0].doc.thresholds[0].id
        refuses(
            cold,
            lambda: service.override(
                cold, MODEL, threshold, "below", by="rso", justification="deleted history"
            ),
        )


def test_a_deleted_newer_contract_is_not_replaced_by_the_older_one(
    lab: Workspace, tmp_path: Path
) -> None:
    """Deleting a customer's newest contract would bring back the previous one (or none);
    the screen refuses instead."""
    policy = load_policy()
    contract = tmp_path / "c.yaml"
    for version in ("2026-11-05", "2026-11-06"):
        contract.write_text(GOV_CONTRACT.replace('"2026-11-01"', f'"{version}"'))
        usage.add_contract(lab, contract, policy=policy, by="sales")
    usage.customer_contract(lab, "gov-agency", policy)  # honest: fine
    with lab.store.read() as s:
        newest = max(s.execute(select(UsageContractRow.id)).scalars())
    attack(lab, sql("DELETE FROM usage_contracts WHERE id = :i", i=newest))
    with fresh(lab) as cold:
        refuses(cold, lambda: usage.customer_contract(cold, "gov-agency", policy))
        refuses(cold, lambda: usage.check_contracts(cold))


# -- the census file is a cache of what the entries prove --------------------------------


def test_without_the_file_the_census_is_counted_from_the_entries(lab: Workspace) -> None:
    decide(lab)
    expected = recount(lab)
    census_file(lab).unlink()
    with fresh(lab) as cold:
        decide(cold)  # counted again, and the file written again
    assert census_file(lab).read_bytes().startswith(HEADER)
    assert from_file(lab) == recount(lab)
    assert recount(lab).count("decision") == expected.count("decision") + 1


def test_without_the_file_a_deleted_row_is_still_found(lab: Workspace) -> None:
    victim = evidence_ids(lab)[-1]
    attack(lab, sql("DELETE FROM evidence WHERE id = :i", i=victim))
    census_file(lab).unlink()
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold))


def test_without_the_file_a_deleted_entry_stops_the_count(lab: Workspace) -> None:
    index = delete_evidence_with_its_entry(lab)
    census_file(lab).unlink()
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold), match=f"entry {index} is missing")


def test_an_edited_entry_stops_the_count(lab: Workspace) -> None:
    """Counting from the database trusts no entry: an edited one does not give the root."""
    census_file(lab).unlink()
    attack(
        lab,
        sql(
            "UPDATE ledger_entries SET data = :d WHERE idx = 1",
            d=b'{"kind":"evidence","record":{"model":"aurora-3"},"time":"2026-01-01T00:00:00Z"}',
        ),
    )
    with fresh(lab) as cold:
        refuses(cold, lambda: decide(cold), match="not the entries the signer signed")


def test_a_file_behind_the_ledger_is_caught_up_and_continued(lab: Workspace) -> None:
    decide(lab)
    path = census_file(lab)
    lines = path.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:2]) + b"\n")  # the header and the first line only
    with fresh(lab) as cold:
        decide(cold)
    assert from_file(lab) == recount(lab)
    assert path.read_bytes().count(b"\n") >= 3  # the gap and the decision, appended


def test_a_torn_last_line_is_cut_off_by_the_next_append(lab: Workspace) -> None:
    path = census_file(lab)
    with path.open("ab") as f:
        f.write(b'{"from":')  # a crash in the middle of an append
    with fresh(lab) as cold:
        decide(cold)
    text = path.read_bytes()
    assert text.endswith(b"\n") and b'{"from":{' not in text
    assert from_file(lab) == recount(lab)


@pytest.mark.parametrize(
    "garbage",
    [
        b"not json\n",
        b'{"from":0,"size":1,"root":"AAAA","add":[]}\n',
        b'{"from":999,"size":1000,"root":"' + b"A" * 43 + b'=","add":[["x",null,1]]}\n',
    ],
)
def test_a_garbled_line_makes_the_reader_count_again(lab: Workspace, garbage: bytes) -> None:
    path = census_file(lab)
    data = path.read_bytes()
    path.write_bytes(HEADER + garbage + data[len(HEADER) :])
    with fresh(lab) as cold:
        decide(cold)
    assert from_file(lab) == recount(lab)
    assert garbage not in path.read_bytes()  # rewritten


def test_a_census_of_another_history_is_not_used(lab: Workspace) -> None:
    """A file whose root at the current size is another tree's (a keys folder restored from
    another workspace) is counted again, not trusted."""
    decide(lab)
    signed = signed_now(lab)
    wrong = Census(signed.size, b"\x01" * 32, {"evidence": {MODEL: 10_000}})
    from scaleguard.store.ledger.census import _write_whole

    _write_whole(census_file(lab), wrong)
    assert from_file(lab) == recount(lab)


def test_an_older_snapshot_gets_the_census_of_its_own_tree(lab: Workspace) -> None:
    decide(lab)
    decide(lab)
    with lab.store.read() as s:
        notes = s.execute(select(LedgerCheckpointRow.note).order_by(LedgerCheckpointRow.size))
        checkpoints = [open_checkpoint(bytes(n), lab.verifier()) for n in notes.scalars()]
    log = CensusLog(census_file(lab))
    with lab.store.read() as s:
        for older in checkpoints[-4:]:
            assert log.at(s, older) == count_from(s, EMPTY, older)
        assert log.at(s, checkpoints[0]) == Census(0, EMPTY_ROOT, {})


def test_group_commit_counts_only_the_writers_that_succeeded(lab: Workspace) -> None:
    """A writer of a shared transaction that fails takes its census keys with it."""
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            with lab.store.write(group=True) as tx:
                repo.add_fact(tx, name=f"f{n}", value=n, source="https://x", asserted_by="b")
                if n % 3 == 0:
                    raise RuntimeError("this writer fails")
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(errors) == 4
    assert from_file(lab) == recount(lab)
    with fresh(lab) as cold:
        decide(cold)


# -- units ---------------------------------------------------------------------------------


def test_counts_by_kind_and_subject() -> None:
    census = EMPTY.plus(
        Counter({("evidence", "a"): 2, ("evidence", "x/a"): 1, ("fact", None): 3}), 6, b"r" * 32
    )
    assert census.count("evidence") == 3
    assert census.count("evidence", ("a",)) == 2
    assert census.count("fact", ("a", None)) == 3
    assert census.count("decision") == 0
    assert EMPTY.count("evidence") == 0  # plus() copies what it changes


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_any_file_content_is_read_without_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "ledger.census"
    path.write_bytes(content)
    log = CensusLog(path)
    log._refresh()  # never raises: a file that does not add up is counted again
    assert log._census is None or log._census.size >= 0
    os.unlink(path)


def test_a_file_counted_under_other_subject_fields_is_counted_again(lab: Workspace) -> None:
    """An older scaleguard may have counted a kind under another subject: its header says so,
    and its counts are not used."""
    signed = signed_now(lab)
    other = Census(signed.size, signed.root, {"evidence": {None: signed.size}})
    from scaleguard.store.ledger.census import _line

    census_file(lab).write_bytes(
        b"scaleguard-ledger-census/1 0000000000000000\n" + _line(0, other, other.items())
    )
    assert from_file(lab) == recount(lab)
    assert census_file(lab).read_bytes().startswith(HEADER)


def test_a_long_file_is_read_back_exactly(tmp_path: Path) -> None:
    """Hundreds of appended lines fold into the same counts, and the newest sizes stay
    available one by one for snapshots older than the file."""
    from scaleguard.store.ledger.census import start_census

    state = tmp_path / "ledger.state"
    start_census(state)
    writer = CensusLog(census_path(state))
    expected: Counter[tuple[str, str | None]] = Counter()
    size = 0
    for n in range(500):
        keys = [("evidence", f"m{n % 7}"), ("fact", None)][: 1 + n % 2]
        writer.record(size, size + len(keys), bytes([n % 256]) * 32, keys)
        expected.update(keys)
        size += len(keys)
    reader = CensusLog(census_path(state))
    reader._refresh()
    assert reader._census is not None and reader._census.size == size
    assert {(k, s): n for k, s, n in reader._census.items()} == dict(expected)
    assert len(reader._history) == 64 and max(reader._history) == size


def test_the_status_determine_prints_is_checked(lab: Workspace) -> None:
    """determine with nothing to record still shows only what the ledger signed."""
    decide(lab)
    threshold = lab.resolve_framework(None)[0].doc.thresholds[0].id
    service.override(lab, MODEL, threshold, "crossed", by="rso", justification="red team found it")
    with lab.store.read() as s:
        gone = max(o.id for o in repo.overrides(s, MODEL))
    attack(lab, sql("DELETE FROM overrides WHERE id = :i", i=gone))
    with fresh(lab) as cold:
        refuses(cold, lambda: service.determine(cold, MODEL))


def test_a_copy_without_the_key_still_checks_what_it_shows(lab: Workspace) -> None:
    """How a reviewer usually gets a workspace: no key, so no signer state or census file.
    Reads check against the newest checkpoint (verified with the public key) and a census
    counted from the entries; a deleted row is still refused."""
    decide(lab)
    (lab.root / "keys" / "ledger.key").unlink()
    census_file(lab).unlink()
    keyless.forget()
    with fresh(lab) as copy:
        assert not copy.has_ledger_key()
        with copy.store.read() as s:
            signed = copy.signed_checkpoint(s)
            assert copy.census(s, signed) == count_from(s, EMPTY, signed)
        assert [
            st.threshold_id for st in service.status(copy, MODEL, copy.resolve_framework(None)[0])
        ]
        victim = evidence_ids(copy)[-1]
        attack(copy, sql("DELETE FROM evidence WHERE id = :i", i=victim))
        rows.forget()
        with copy.store.read() as s, pytest.raises(LedgerIntegrityError, match=DELETED):
            signed = copy.signed_checkpoint(s)
            rows.check_decision_inputs(s, signed, MODEL, census=copy.census(s, signed))
