"""A process that already decided remembers which rows it proved; a database
administrator without the key edits the database afterwards.

Each attack runs after a *warm* decision (everything proven and remembered) and
the next decision in the same process must refuse it as a *cold* process
(nothing remembered) does. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from scaleguard.decisions import service
from scaleguard.errors import LedgerIntegrityError
from scaleguard.ledger.merkle import inclusion_proof
from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.store.ledger import tree as ledger_tree
from scaleguard.store.ledger.signer import frontier_levels
from scaleguard.store.records import Evidence
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import attack, rebuild_tree, rewritten, set_entry, sql

MODEL = "aurora-3"


def warm(ws: Workspace) -> str:
    """Decide once, so every row the decision reads is proven and remembered."""
    rows.forget()
    service.decide(ws, MODEL, "train", by="rso")  # records the determinations it rests on
    outcome = service.decide(ws, MODEL, "train", by="rso").decision.outcome
    with ws.store.read() as s:
        again = rows.check_decision_inputs(s, ws.signed_checkpoint(), MODEL)
    assert again.rows > 0
    assert again.reread == 0  # the warm path: nothing read in full, nothing proven again
    return outcome


def decisions(ws: Workspace) -> int:
    with ws.store.read() as s:
        return len(repo.decisions(s, MODEL))


def refused_warm_and_cold(ws: Workspace, match: str) -> None:
    before = decisions(ws)
    with pytest.raises(LedgerIntegrityError, match=match):
        service.decide(ws, MODEL, "train", by="rso")  # warm
    rows.forget()
    with pytest.raises(LedgerIntegrityError, match=match):
        service.decide(ws, MODEL, "train", by="rso")  # cold
    assert decisions(ws) == before  # nothing recorded, no partial write


def an_evidence_row(ws: Workspace) -> Evidence:
    with ws.store.read() as s:
        return repo.evidence_for_model(s, MODEL)[0]


def test_the_warm_path_reads_nothing_in_full_and_new_rows_are_proven(lab: Workspace) -> None:
    warm(lab)
    with lab.store.write() as tx:  # a legitimate append changes a scope: its rows are proven
        repo.add_fact(tx, name="later", value=1, source="https://s", asserted_by="rso")
    with lab.store.read() as s:
        check = rows.check_decision_inputs(s, lab.signed_checkpoint(), MODEL)
    assert check.reread > 0
    service.decide(lab, MODEL, "train", by="rso")


def test_a_an_edited_evidence_value_is_refused(lab: Workspace) -> None:
    warm(lab)
    target = an_evidence_row(lab)
    attack(lab, sql("UPDATE evidence SET value = 0.01 WHERE id = :i", i=target.id))
    refused_warm_and_cold(lab, f"evidence row id {target.id} does not match")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE model_scores SET score = score + 0.5 WHERE model = 'aurora-3'",
        "UPDATE models SET developer = 'Someone Else' WHERE name = 'aurora-3'",
        "UPDATE models SET sources = '[\"https://forged.example\"]' WHERE name = 'aurora-3'",
        "UPDATE models SET notes = 'x' WHERE name = 'aurora-3'",
    ],
)
def test_a_an_edited_registry_row_is_refused(lab: Workspace, statement: str) -> None:
    warm(lab)
    attack(lab, sql(statement))
    refused_warm_and_cold(lab, "row id .* does not match its signed ledger entry")


def test_b_a_rewritten_entry_with_its_row_is_refused(lab: Workspace) -> None:
    warm(lab)
    target = an_evidence_row(lab)
    forged = rewritten(lab, target.ledger_index, value=0.01)
    attack(
        lab,
        *set_entry(target.ledger_index, forged),
        sql("UPDATE evidence SET value = 0.01 WHERE id = :i", i=target.id),
    )
    refused_warm_and_cold(lab, f"evidence row id {target.id} does not match")


def test_b_an_entry_rewritten_alone_changes_no_input(lab: Workspace) -> None:
    # The row a decision reads is still exactly what was signed: warm and cold
    # agree, and verification reports the edited entry.
    outcome = warm(lab)
    target = an_evidence_row(lab)
    attack(lab, *set_entry(target.ledger_index, rewritten(lab, target.ledger_index, value=0.01)))
    assert service.decide(lab, MODEL, "train", by="rso").decision.outcome == outcome
    rows.forget()
    assert service.decide(lab, MODEL, "train", by="rso").decision.outcome == outcome
    assert not lab.verify_ledger(full=True).ok


def test_c_a_rebuilt_tree_over_a_forged_row_is_refused(lab: Workspace) -> None:
    warm(lab)
    target = an_evidence_row(lab)
    forged = rewritten(lab, target.ledger_index, value=0.01)
    attack(
        lab,
        *set_entry(target.ledger_index, forged),
        sql("UPDATE evidence SET value = 0.01 WHERE id = :i", i=target.id),
    )
    attack(lab, *rebuild_tree(lab))  # every stored hash now agrees with the forged row
    refused_warm_and_cold(lab, "root|rewritten|does not match")


def test_c_an_edited_hash_on_the_signed_edge_is_refused(lab: Workspace) -> None:
    warm(lab)
    with lab.store.read() as s:
        size = ledger_tree.ledger_size(s)
    level = frontier_levels(size)[0]
    attack(
        lab,
        sql(
            "UPDATE ledger_nodes SET hash = :h WHERE level = :l AND idx = 0",
            h=bytes(32),
            l=level,
        ),
    )
    refused_warm_and_cold(lab, "root")


class _Keys:
    def __init__(self) -> None:
        self.keys: list[tuple[int, int]] = []

    def node(self, level: int, index: int) -> bytes:
        self.keys.append((level, index))
        return bytes(32)


def test_c_an_edited_inner_hash_cannot_make_a_forged_row_pass(lab: Workspace) -> None:
    # A hash on the proof path of a row already proven: the proof stays a fact
    # about the signed root, so the warm process keeps deciding on signed rows
    # only; a cold process cannot prove the row and refuses; verify reports it.
    outcome = warm(lab)
    target = an_evidence_row(lab)
    with lab.store.read() as s:
        size = ledger_tree.ledger_size(s)
    path = _Keys()
    inclusion_proof(target.ledger_index, size, path)
    level, index = min(path.keys)  # a leaf-level hash: on no signed tree's right edge
    assert level == 0
    attack(
        lab,
        sql(
            "UPDATE ledger_nodes SET hash = :h WHERE level = :l AND idx = :i",
            h=b"\x01" * 32,
            l=level,
            i=index,
        ),
    )
    assert service.decide(lab, MODEL, "train", by="rso").decision.outcome == outcome
    # ... and an edited row on top of it is refused, warm and cold
    attack(lab, sql("UPDATE evidence SET value = 0.01 WHERE id = :i", i=target.id))
    refused_warm_and_cold(lab, f"evidence row id {target.id}|cannot prove")
    assert not lab.verify_ledger(full=True).ok


@pytest.mark.parametrize("table", ["evidence", "models", "model_scores"])
def test_d_a_deleted_row_is_refused_by_the_process_that_read_it(lab: Workspace, table: str) -> None:
    warm(lab)
    with lab.store.read() as s:
        if table == "evidence":
            target = an_evidence_row(lab).id
        elif table == "models":
            target = next(m.id for m in repo.models(s) if not m.own)
        else:
            target = int(s.execute(text("SELECT max(id) FROM model_scores")).scalar_one())
    before = decisions(lab)
    attack(lab, sql(f"DELETE FROM {table} WHERE id = :i", i=target))
    with pytest.raises(LedgerIntegrityError, match=f"{table} row id {target} was deleted"):
        service.decide(lab, MODEL, "train", by="rso")
    assert decisions(lab) == before
    # a process that never read the row cannot miss it; full verification finds it
    assert not lab.verify_ledger(full=True).ok


def test_d_a_row_moved_to_another_model_is_refused(lab: Workspace) -> None:
    warm(lab)
    target = an_evidence_row(lab)
    attack(lab, sql("UPDATE evidence SET model = 'someone-else' WHERE id = :i", i=target.id))
    with pytest.raises(LedgerIntegrityError, match=f"evidence row id {target.id} was deleted"):
        service.decide(lab, MODEL, "train", by="rso")
