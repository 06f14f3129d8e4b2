"""A database administrator without the key edits rows while a decision is being recorded.

decide checks what it reads on a read snapshot, outside the write lock. When it
must record determinations first, it evaluates inside its write transaction, and
what it reads there is checked again after those writes: an edit made between
the snapshot and the lock, or by a trigger the recording sets off, is refused
with nothing recorded. determine and override record only what they read from
checked rows. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from scaleguard.decisions import service
from scaleguard.errors import LedgerIntegrityError
from scaleguard.store import repo
from scaleguard.store.ledger import rows
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import Params, attack, sql

MODEL = "aurora-3"
REFUSED = "does not match"

#: What the administrator changes: a fact the decision reads, the model's safeguards
#: level in the registry, and an evidence value behind its determinations.
EDITS = {
    "fact": "UPDATE facts SET value = 'true' WHERE name = 'developer_leads'",
    "safeguards": f"UPDATE models SET safeguards_level = 'ASL-4' WHERE name = '{MODEL}'",
    "evidence": "UPDATE evidence SET value = 0.01 WHERE value IS NOT NULL",
}


def assert_fact(ws: Workspace) -> None:
    """A signed fact the decision reads, for the administrator to edit."""
    with ws.store.write() as tx:
        repo.add_fact(
            tx,
            name="developer_leads",
            value=False,
            source="https://x",
            asserted_by="rso",
            model=MODEL,
        )


def counts(ws: Workspace) -> tuple[int, int, int, int]:
    """Decisions, determinations, overrides and ledger entries: what a refusal must not add."""
    with ws.store.read() as s:
        return (
            len(repo.decisions(s, MODEL)),
            len(repo.determinations(s, MODEL)),
            len(repo.overrides(s, MODEL)),
            repo.ledger_size(s),
        )


def trigger(ws: Workspace, table: str, edit: str) -> list[tuple[str, Params]]:
    """A trigger that runs ``edit`` whenever a row goes into ``table``: inside the writer's
    own transaction, after anything it checked before that insert."""
    if ws.store.backend == "sqlite":
        return [sql(f"CREATE TRIGGER forge AFTER INSERT ON {table} BEGIN {edit}; END")]
    return [
        sql(
            "CREATE FUNCTION forge() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN {edit}; RETURN NULL; END $$"
        ),
        sql(f"CREATE TRIGGER forge AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION forge()"),
    ]


@contextmanager
def before_the_lock(ws: Workspace, action: Callable[[], None]) -> Iterator[None]:
    """Run ``action`` once, right before the next write transaction takes the write lock:
    after the snapshot the caller checked, before anything it does under the lock."""
    real = ws.store.write
    done: list[bool] = []

    def write(*args: Any, **kwargs: Any) -> Any:
        if not done:
            done.append(True)
            action()
        return real(*args, **kwargs)

    ws.store.write = write  # type: ignore[method-assign]
    try:
        yield
    finally:
        ws.store.write = real  # type: ignore[method-assign]
    assert done


def another_writer(ws: Workspace) -> None:
    """A legitimate commit by another process: the ledger moves past the caller's snapshot."""
    with open_workspace(ws.root) as other, other.store.write() as tx:
        repo.add_fact(tx, name="later", value=1, source="https://y", asserted_by="b")


def refused(ws: Workspace, act: Callable[[], object], others: int = 0) -> None:
    """``act`` refuses and records nothing (the ledger grows only by the ``others`` entries
    another writer committed meanwhile)."""
    decisions, determinations, overrides, size = counts(ws)
    with pytest.raises(LedgerIntegrityError, match=REFUSED):
        act()
    assert counts(ws) == (decisions, determinations, overrides, size + others)


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_trigger_editing_an_input_while_determinations_are_recorded_is_refused(
    lab: Workspace, edit: str
) -> None:
    """The first decision records its determinations, then evaluates in that transaction:
    an edit the recording sets off is refused, though the inputs were checked before."""
    assert_fact(lab)
    attack(lab, *trigger(lab, "determinations", EDITS[edit]))
    refused(lab, lambda: service.decide(lab, MODEL, "train", by="rso"))


def test_a_trigger_editing_the_determination_just_recorded_is_refused(lab: Workspace) -> None:
    """A row the transaction recorded is not signed yet: it must be exactly the entry the
    transaction appended (and is about to sign), not what a trigger made of it."""
    edit = "UPDATE determinations SET state = 'below', estimate = 0.0 WHERE id = NEW.id"
    attack(lab, *trigger(lab, "determinations", edit))
    with pytest.raises(LedgerIntegrityError, match="this transaction recorded"):
        service.decide(lab, MODEL, "train", by="rso")
    assert counts(lab)[:3] == (0, 0, 0)


@pytest.mark.parametrize("moved", [False, True], ids=["same-ledger", "ledger-moved"])
def test_a_trigger_on_the_ledger_editing_a_fact_is_refused(lab: Workspace, moved: bool) -> None:
    """The same, set off by any ledger append, also when another writer committed after the
    snapshot (the inputs are then checked in the write transaction before the recording)."""
    assert_fact(lab)

    def arm() -> None:
        if moved:
            another_writer(lab)
        attack(lab, *trigger(lab, "ledger_entries", EDITS["fact"]))

    with before_the_lock(lab, arm):
        refused(lab, lambda: service.decide(lab, MODEL, "train", by="rso"), int(moved))


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edit_between_the_snapshot_and_the_write_lock_is_refused(
    lab: Workspace, edit: str
) -> None:
    """Determinations are pending, so the decision is evaluated under the write lock: an
    edit committed after the checked snapshot and before the lock is not read unchecked."""
    assert_fact(lab)
    with before_the_lock(lab, lambda: attack(lab, sql(EDITS[edit]))):
        refused(lab, lambda: service.decide(lab, MODEL, "train", by="rso"))


def test_with_nothing_pending_the_decision_rests_on_the_checked_snapshot(lab: Workspace) -> None:
    """The fast path: nothing to record first and no other writer, so the decision made on
    the checked snapshot is recorded; an edit after that snapshot is never read by it, and
    the next decision refuses it."""
    assert_fact(lab)
    clean = service.decide(lab, MODEL, "train", by="rso").decision
    with before_the_lock(lab, lambda: attack(lab, sql(EDITS["safeguards"]))):
        again = service.decide(lab, MODEL, "train", by="rso")
    assert again.decision.model_dump() == clean.model_dump()
    refused(lab, lambda: service.decide(lab, MODEL, "train", by="rso"))


def test_determine_does_not_sign_determinations_planned_from_forged_evidence(
    lab: Workspace,
) -> None:
    attack(lab, sql(EDITS["evidence"]))
    refused(lab, lambda: service.determine(lab, MODEL, by="rso"))
    rows.forget()  # a process that never proved anything refuses just the same
    refused(lab, lambda: service.determine(lab, MODEL, by="rso"))


def test_determine_plans_under_the_lock_only_from_checked_evidence(lab: Workspace) -> None:
    """Another writer committed after the snapshot, so determine plans again under the write
    lock; evidence forged in that window is refused there, not signed into a determination."""

    def commit_and_forge() -> None:
        another_writer(lab)
        attack(lab, sql(EDITS["evidence"]))

    with before_the_lock(lab, commit_and_forge):
        refused(lab, lambda: service.determine(lab, MODEL, by="rso"), 1)


def test_an_override_does_not_answer_a_forged_determination(lab: Workspace) -> None:
    """The override names the determination it answers, found among the model's
    determinations: an edited one is refused, not recorded as what was overridden."""
    service.determine(lab, MODEL, by="rso")
    with lab.store.read() as s:
        target = next(d for d in repo.determinations(s, MODEL) if d.state == "below")
    attack(lab, sql("UPDATE determinations SET state = 'crossed' WHERE id = :i", i=target.id))
    refused(
        lab,
        lambda: service.override(
            lab, MODEL, target.threshold_id, "below", by="rso", justification="reviewed"
        ),
    )


def test_a_decision_in_a_group_batch_accepts_what_the_batch_recorded_before_it(
    lab: Workspace,
) -> None:
    """Writers of one process share a transaction (group commit): rows an earlier writer of
    the batch recorded are not signed yet when the decision checks its inputs, yet they
    are exactly the entries the batch will sign, and the decision rests on them."""
    service.decide(lab, MODEL, "train", by="rso")
    lab.store.group_writes = True
    committer = lab.store.group_committer()
    joined = threading.Event()
    failures: list[BaseException] = []
    result: list[service.DecisionResult] = []

    def decide() -> None:
        try:
            result.append(service.decide(lab, MODEL, "train", by="rso"))
        except BaseException as err:  # reported by the main thread
            failures.append(err)

    worker = threading.Thread(target=decide)
    with lab.store.write() as tx:  # the batch's first writer
        repo.add_fact(
            tx, name="developer_leads", value=True, source="https://x", asserted_by="a", model=MODEL
        )
        worker.start()
        for _ in range(2000):  # the decision joins this batch and waits for its turn
            if committer.joined == 2:
                joined.set()
                break
            threading.Event().wait(0.005)
    worker.join(timeout=60)
    assert joined.is_set(), "the decision did not join the batch"
    assert not failures, failures
    leads = next(f for f in result[0].decision.facts if f.name == "developer_leads")
    assert "an assertion by a that it is True" in leads.basis  # recorded earlier in the batch
    rows.forget()
    lab.store.group_writes = False
    assert service.decide(lab, MODEL, "train", by="rso").decision.outcome == (
        result[0].decision.outcome
    )
