"""Settings never make a determination less severe: only evidence or a recorded judgement.

Attack: the model's recorded determination of ``novel-cb`` is ``crossed`` on one
evidence record. The operator raises the indicator's threshold in
``scaleguard.toml`` (0.7 -> 0.95) and decides again: the same evidence would now
be assessed as less severe, and the decision would proceed with nothing recorded
but a new number in the determination's parameters. It is refused, on both
backends, on the command line (exit 2, the ``--json`` envelope) and in the
library, and nothing is recorded. A person's override to the new state, recorded
first, lets it through; an override to a more severe state, or a forged override
row, does not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from scaleguard.decisions import service
from scaleguard.errors import ConflictError, LedgerIntegrityError
from scaleguard.store import repo
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from test_ledger_tamper import attack, sql

Cli = Callable[..., Any]

NOVEL = 'task = "bio_novel_design"\nmetric = "accuracy"\nthreshold = 0.7\nearly_warning = 0.6'


def _raise_novel_threshold(ws: Workspace) -> None:
    text = ws.config_path.read_text()
    assert NOVEL in text
    ws.config_path.write_text(text.replace(NOVEL, NOVEL.replace("0.7", "0.95")))


def _recorded(ws: Workspace) -> tuple[int, int]:
    with ws.store.read() as s:
        return repo.ledger_size(s), len(repo.determinations(s, "aurora-3"))


def _novel(ws: Workspace) -> str:
    decided = service.decide(ws, "aurora-3", "train", by="rso")
    return next(f.state for f in decided.decision.thresholds if f.id == "novel-cb")


def _refused_state(ws: Workspace) -> str:
    """Decide under the raised threshold: refused; returns the state it would have set."""
    with open_workspace(ws.root) as changed, pytest.raises(ConflictError) as raised:
        service.decide(changed, "aurora-3", "train", by="rso")
    message = raised.value.message
    found = re.search(r"novel-cb \(bio-novel-design\): crossed -> (\w+) on evidence #\d+", message)
    assert found, message
    assert "threshold 0.7 -> 0.95" in message
    assert "a change of settings, not of evidence" in message
    assert "scaleguard override aurora-3 novel-cb --state" in raised.value.hint
    assert raised.value.status == 409
    return found.group(1)


def test_a_raised_threshold_does_not_loosen_on_the_same_evidence(lab: Workspace, cli: Cli) -> None:
    assert _novel(lab) == "crossed"
    before = _recorded(lab)
    _raise_novel_threshold(lab)
    after = _refused_state(lab)
    assert after in ("below", "alert", "ambiguous")
    for command in (("determine", "aurora-3"), ("decide", "aurora-3", "--action", "train")):
        result = cli(*command, "--by", "rso", "--workspace", lab.root, "--json")
        assert result.code == 2, result.out
        error = json.loads(result.out)["error"]
        assert error["type"] == "ConflictError" and "less severe" in error["message"]
    assert _recorded(lab) == before  # nothing recorded: no determination, no decision


def test_a_recorded_judgement_lets_the_new_setting_through(lab: Workspace) -> None:
    assert _novel(lab) == "crossed"
    _raise_novel_threshold(lab)
    after = _refused_state(lab)
    with open_workspace(lab.root) as changed:
        service.override(
            changed,
            "aurora-3",
            "novel-cb",
            after,
            by="rso",
            justification="the raised threshold matches the recalibrated evaluation",
        )
        assert _novel(changed) == after
        with changed.store.read() as s:
            latest = [d for d in repo.determinations(s, "aurora-3") if d.threshold_id == "novel-cb"]
        assert latest[-1].state == after and latest[-1].params["threshold"] == 0.95


def test_an_override_to_a_more_severe_state_is_no_judgement_of_the_new_one(
    lab: Workspace,
) -> None:
    assert _novel(lab) == "crossed"
    _raise_novel_threshold(lab)
    after = _refused_state(lab)
    assert after in ("alert", "below")  # so "ambiguous" lies between it and crossed
    with open_workspace(lab.root) as changed:
        service.override(
            changed, "aurora-3", "novel-cb", "ambiguous", by="rso", justification="unsure"
        )
    assert _refused_state(lab) == after


def test_a_forged_override_row_is_refused(lab: Workspace) -> None:
    assert _novel(lab) == "crossed"
    _raise_novel_threshold(lab)
    after = _refused_state(lab)
    before = _recorded(lab)
    with lab.store.read() as s:
        index = repo.ledger_size(s) - 1
        (last,) = [d for d in repo.determinations(s, "aurora-3")][-1:]
    attack(
        lab,
        sql(
            "INSERT INTO overrides (id, model, framework_ref, threshold_id, state, author, "
            "justification, supersedes_determination_id, created_at, ledger_index) VALUES "
            "(9999, 'aurora-3', :ref, 'novel-cb', :state, 'x', 'forged', NULL, "
            "'2026-11-26T00:00:00Z', :index)",
            ref=last.framework_ref,
            state=after,
            index=index,
        ),
    )
    with open_workspace(lab.root) as changed:
        with pytest.raises(LedgerIntegrityError):
            service.decide(changed, "aurora-3", "train", by="rso")
        with pytest.raises(LedgerIntegrityError):  # determine checks only what it plans from
            service.determine(changed, "aurora-3", by="rso")
    assert _recorded(lab) == before  # refused before anything was written on its word


@pytest.mark.parametrize("change", ["renamed", "removed"])
def test_an_indicator_renamed_or_removed_loosens_nothing(lab: Workspace, change: str) -> None:
    """The same escape by another door: the indicator is given a new id with the raised
    threshold, or taken out of the configuration. The threshold's state is the worst of
    the latest determination of every indicator it had, so it stays crossed."""
    assert _novel(lab) == "crossed"
    text = lab.config_path.read_text()
    block = '[[indicators]]\nid = "bio-novel-design"\nthresholds = ["novel-cb", "cbrn-4"]\n'
    assert block in text
    if change == "renamed":
        edited = text.replace(block, block.replace('"bio-novel-design"', '"bio-novel-v2"'))
        edited = edited.replace(NOVEL, NOVEL.replace("0.7", "0.95"))
    else:
        start = text.index(block)
        end = text.index("[[indicators]]", start + 1)
        edited = text[:start] + text[end:]
    lab.config_path.write_text(edited)
    with open_workspace(lab.root) as changed:
        assert _novel(changed) == "crossed"


def test_a_mapping_moved_to_easier_evidence_already_there_is_refused(lab: Workspace) -> None:
    """The indicator keeps its id and threshold but now reads another task the model
    scored lower on, recorded long before: a settings change, not new evidence."""
    assert _novel(lab) == "crossed"
    text = lab.config_path.read_text()
    assert NOVEL in text
    easier = NOVEL.replace(
        'task = "bio_novel_design"\nmetric = "accuracy"', 'task = "covert_sabotage"\nmetric = "acc"'
    )
    lab.config_path.write_text(text.replace(NOVEL, easier))
    before = _recorded(lab)
    with open_workspace(lab.root) as changed, pytest.raises(ConflictError) as raised:
        service.decide(changed, "aurora-3", "train", by="rso")
    message = raised.value.message
    assert re.search(r"novel-cb \(bio-novel-design\): crossed -> \w+ on evidence #\d+", message)
    assert re.search(r"evidence #\d+ -> #\d+", message), message
    assert _recorded(lab) == before
