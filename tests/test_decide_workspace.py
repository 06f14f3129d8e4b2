"""Determinations and decisions through a real workspace, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidence_fixtures import eval_file
from scaleguard import demo
from scaleguard.decisions import service
from scaleguard.errors import InputError, NotFoundError, StoreError
from scaleguard.store import repo
from scaleguard.workspace import ModelSpec, add_model, ingest_paths, open_workspace
from scaleguard.workspace.workspace import Workspace
from web_support import demo_output, demo_workspace

Cli = Callable[..., Any]


def _novel_design_rerun(tmp_path: Path, scores: list[float]) -> Path:
    """A later run of the bio_novel_design evaluation of aurora-3, as an .eval file."""
    created = "2026-11-01T09:00:00+00:00"
    return eval_file(
        tmp_path / "rerun.eval", "bio_novel_design", "fictional/aurora-3", scores, created
    )


def test_founding_scenario_through_the_workspace(lab: Workspace) -> None:
    """aurora-3 crosses the chemical and biological thresholds, not automated R&D: under RSP
    3.0 it is not highly capable (§3.6; Appendix A fn 7), so no Appendix A delay applies."""
    result = service.decide(lab, "aurora-3", "train", compare="anthropic-rsp@2.2", by="rso")
    assert result.decision.framework == "anthropic-rsp@3.0"
    assert result.decision.outcome == "proceed_with_conditions"
    assert "highly_capable is false because automated-rd is not crossed" in result.decision.summary
    assert set(result.decision.deciding_rules) == {
        "delay-while-in-lead",
        "delay-unless-matching-competitors",
    }
    assert result.comparison is not None
    assert result.comparison.outcome == "pause"
    with lab.store.read() as s:
        rows = repo.decisions(s, "aurora-3")
    assert [(r.framework_ref, r.compare_ref, r.outcome) for r in rows] == [
        ("anthropic-rsp@3.0", "anthropic-rsp@2.2", "proceed_with_conditions"),
        ("anthropic-rsp@2.2", "anthropic-rsp@3.0", "pause"),
    ]
    assert rows[0].record == result.decision.model_dump(mode="json")


def test_a_lead_in_chem_bio_alone_never_delays(lab: Workspace) -> None:
    """Before rival-9's release the lab led in every domain, but Appendix A's lead scenario is
    about a highly capable model: still no delay."""
    result = service.decide(lab, "aurora-3", "train", as_of=dt.date(2026, 6, 1), by="rso")
    facts = {f.name: f.value for f in result.decision.facts}
    assert facts["developer_leads"] is True and facts["highly_capable"] is False
    assert result.decision.outcome == "proceed_with_conditions"


def _highly_capable_model(lab: Workspace, tmp_path: Path) -> None:
    """aurora-x: evidence that it crosses the automated R&D threshold, nothing else."""
    add_model(
        lab,
        ModelSpec(
            name="aurora-x",
            developer="Fictional Frontier Lab",
            own=True,
            status="training",
            scores={"automated-rd": 0.9, "chem-bio": 0.2},
            score_source="https://lab.example/evals/aurora-x",
        ),
    )
    paths = []
    for task, rate in (("ml_research_tasks", 0.93), ("bio_basic_uplift", 0.1)):
        hits = round(rate * 200)
        scores = [1.0] * hits + [0.0] * (200 - hits)
        created = "2026-11-02T09:00:00+00:00"
        path = tmp_path / f"{task}-x.eval"
        paths.append(eval_file(path, task, "fictional/aurora-x", scores, created))
    ingest_paths(lab, paths, by="eval-team")


def test_highly_capable_in_the_lead_is_delayed(lab: Workspace, tmp_path: Path) -> None:
    """Appendix A, Anthropic in the lead: a highly capable model, and no competitor has
    released or is developing one (rival-9 and steady-4 are far behind in automated R&D)."""
    _highly_capable_model(lab, tmp_path)
    result = service.decide(lab, "aurora-x", "train", by="rso")
    facts = {f.name: f.value for f in result.decision.facts}
    assert facts["highly_capable"] is True and facts["developer_leads"] is True
    assert result.decision.outcome == "delay"
    assert result.decision.deciding_rules == ["delay-while-in-lead"]


@pytest.mark.parametrize("status", ["planned", "training", "internal", "released"])
def test_a_competitor_releasing_or_developing_a_comparable_model_ends_the_lead(
    lab: Workspace, tmp_path: Path, status: str
) -> None:
    """'clear evidence that no other competitor will soon develop such a model': a
    competitor's comparable model, released or in development, with weak safeguards, means
    neither Appendix A delay applies."""
    _highly_capable_model(lab, tmp_path)
    add_model(
        lab,
        ModelSpec(
            name="rival-10",
            developer="Rival AI",
            status=status,
            released_on=dt.date(2026, 10, 1) if status == "released" else None,
            safeguards_level="weak",
            scores={"automated-rd": 0.92},
            sources=["https://rival.example/announcement"],
        ),
    )
    result = service.decide(lab, "aurora-x", "train", by="rso")
    lead = next(f for f in result.decision.facts if f.name == "developer_leads")
    assert lead.value is False and "rival-10" in lead.basis
    assert "https://rival.example/announcement" in lead.sources
    if status != "released":
        assert f"in development, status {status}" in lead.basis
        assert "will soon develop" in lead.basis
    assert result.decision.outcome == "proceed_with_conditions"


def test_evidence_names_with_a_provider_prefix_are_attributed(lab: Workspace) -> None:
    with lab.store.read() as s:
        names = {e.model for e in repo.evidence_for_model(s, "aurora-3")}
    assert names == {"fictional/aurora-3", "aurora-3"}  # Inspect logs, and the CSV row


def test_determine_is_idempotent(lab: Workspace) -> None:
    service.determine(lab, "aurora-3", by="a")
    with lab.store.read() as s:
        first = len(repo.determinations(s, "aurora-3"))
    service.determine(lab, "aurora-3", by="b")
    with lab.store.read() as s:
        assert len(repo.determinations(s, "aurora-3")) == first


def test_determinations_are_reproducible(lab: Workspace) -> None:
    _, rows = service.determine(lab, "aurora-3", by="a")
    novel = next(r for r in rows if r.threshold_id == "novel-cb").finding
    assert novel.state == "crossed"
    assert novel.low is not None and novel.high is not None
    assert novel.low < 0.81 < novel.high
    with lab.store.read() as s:
        det = next(d for d in repo.determinations(s, "aurora-3") if d.threshold_id == "novel-cb")
    assert det.params["seed"] == 7 and det.params["resamples"] == 2000


def test_override_is_a_record_and_newer_evidence_retires_it(lab: Workspace, tmp_path: Path) -> None:
    service.determine(lab, "aurora-3", by="a")
    record = service.override(
        lab, "aurora-3", "novel-cb", "below", by="rso", justification="task contaminated"
    )
    assert record.ledger_index > 0
    fw, _ = lab.use_framework(None)
    rows = service.status(lab, "aurora-3", fw)
    novel = next(r for r in rows if r.threshold_id == "novel-cb")
    assert novel.finding.state == "below" and novel.finding.override_by == "rso"
    # a new evaluation arrives: the override answered the old determination only
    path = _novel_design_rerun(tmp_path, [1.0] * 180 + [0.0] * 20)
    ingest_paths(lab, [path], by="eval-team")
    _, rows = service.determine(lab, "aurora-3", by="a")
    novel = next(r for r in rows if r.threshold_id == "novel-cb")
    assert novel.override is None and novel.finding.state == "crossed"


def test_override_input_errors(lab: Workspace) -> None:
    with pytest.raises(InputError):
        service.override(lab, "aurora-3", "novel-cb", "gone", by="x", justification="y")
    with pytest.raises(InputError):
        service.override(lab, "aurora-3", "novel-cb", "below", by="x", justification="  ")
    with pytest.raises(NotFoundError):
        service.override(lab, "aurora-3", "nope", "below", by="x", justification="y")


def test_a_determine_with_nothing_new_does_not_wait_for_the_write_lock(lab: Workspace) -> None:
    """Once the framework's use and the determinations are recorded, determining again only
    reads: it runs to the end while another writer holds the workspace's write lock."""
    service.determine(lab, "aurora-3", by="a")
    with lab.store.read() as s:
        size = repo.ledger_size(s)
    finished = threading.Event()
    failures: list[BaseException] = []

    def again() -> None:
        try:
            service.determine(lab, "aurora-3", by="b")
        except BaseException as err:  # reported by the main thread
            failures.append(err)
        finally:
            finished.set()

    worker = threading.Thread(target=again)
    with open_workspace(lab.root) as other, other.store.write():
        worker.start()
        done = finished.wait(timeout=20)
    worker.join()
    assert done, "determine waited for the write lock although it had nothing to record"
    assert not failures
    with lab.store.read() as s:
        assert repo.ledger_size(s) == size


def test_the_first_determine_records_the_framework_use_with_its_determinations(
    lab: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The framework's first use and the determinations are one transaction: when it fails,
    neither is recorded; when it commits, both are."""
    fw, _ = lab.resolve_framework("anthropic-rsp@2.2")
    real_record = service._record

    def record_then_fail(*args: Any) -> None:
        real_record(*args)
        raise StoreError("the disk is full")

    monkeypatch.setattr(service, "_record", record_then_fail)
    with pytest.raises(StoreError, match="disk is full"):
        service.determine(lab, "aurora-3", "anthropic-rsp@2.2", by="a")
    with lab.store.read() as s:
        assert repo.framework_use(s, fw.digest) is None
        assert not repo.determinations(s, "aurora-3")
        size = repo.ledger_size(s)
    monkeypatch.setattr(service, "_record", real_record)
    service.determine(lab, "aurora-3", "anthropic-rsp@2.2", by="a")
    with lab.store.read() as s:
        use = repo.framework_use(s, fw.digest)
        dets = repo.determinations(s, "aurora-3")
        assert use is not None and dets
        assert use.ledger_index == size  # the first entry of the transaction
        assert sorted(d.ledger_index for d in dets) == list(range(size + 1, size + 1 + len(dets)))


def test_an_override_records_the_framework_use_with_itself(
    lab: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    fw, _ = lab.resolve_framework(None)
    real_add = repo.add_override

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("the disk is full")

    monkeypatch.setattr(repo, "add_override", refuse)
    with pytest.raises(StoreError, match="disk is full"):
        service.override(lab, "aurora-3", "novel-cb", "below", by="rso", justification="why")
    with lab.store.read() as s:
        assert repo.framework_use(s, fw.digest) is None
    monkeypatch.setattr(repo, "add_override", real_add)
    record = service.override(lab, "aurora-3", "novel-cb", "below", by="rso", justification="why")
    with lab.store.read() as s:
        use = repo.framework_use(s, fw.digest)
    assert use is not None and use.ledger_index == record.ledger_index - 1


def test_a_model_without_evidence_is_never_a_clean_proceed(lab: Workspace) -> None:
    add_model(lab, ModelSpec(name="aurora-4", developer="Fictional Frontier Lab", own=True))
    result = service.decide(lab, "aurora-4", "deploy-external", by="rso")
    assert result.decision.outcome not in ("proceed", "proceed_with_conditions")
    assert result.decision.missing


def test_cli_decide_json_and_errors(lab: Workspace, cli: Cli) -> None:
    root = str(lab.root)
    ok = cli("decide", "aurora-3", "--action", "deploy-external", "--workspace", root, "--json")
    assert ok.code == 0, ok.err
    data = json.loads(ok.out)
    assert data["decision"]["format"] == "scaleguard.decision/1"
    assert data["decision"]["action"] == "deploy_external"
    bad = cli("decide", "aurora-3", "--action", "fly", "--workspace", root)
    assert bad.code == 2 and "unknown action 'fly'" in bad.err and "deploy-external" in bad.err
    missing = cli("decide", "nobody", "--action", "train", "--workspace", root)
    assert missing.code == 2 and "nobody" in missing.err
    date = cli("decide", "aurora-3", "--action", "train", "--as-of", "June", "--workspace", root)
    assert date.code == 2 and "YYYY-MM-DD" in date.err
    listed = cli("decisions", "list", "--workspace", root, "--json")
    assert [d["outcome"] for d in json.loads(listed.out)] == [data["decision"]["outcome"]]
    shown = cli("decisions", "show", "1", "--workspace", root)
    assert shown.code == 0 and "deploy external of aurora-3" in shown.out
    det = cli("determine", "aurora-3", "--workspace", root, "--json")
    states = {t["threshold"]: t["state"] for t in json.loads(det.out)["thresholds"]}
    assert states["novel-cb"] == "crossed" and states["automated-rd"] == "below"


def test_the_demo_runs_end_to_end(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    # the demo's run (demo.main, exit 0) that the web tests' workspace comes from: it runs
    # once per test run, ten seconds (web_support)
    out = demo_output(tmp_path_factory)
    assert "anthropic-rsp@2.2 → anthropic-rsp@3.0" in out
    assert "PROCEED WITH CONDITIONS" in out and "PAUSE" in out
    assert "revised less ambitiously" in out.lower() and "assignment refused" in out
    assert "verified from the entry bytes up" in " ".join(out.split())
    made = demo_workspace(tmp_path_factory)  # a copy of the folder that run made
    assert (made / "roadmap.html").is_file()
    # a second run replaces its own demo (in prepare, the step main runs first), but never
    # a folder that is not one
    demo.prepare(made)
    assert not (made / "roadmap.html").exists()
    assert (made / "incoming" / "models.yaml").is_file()
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    assert demo.main([str(other)]) == 2
    assert (other / "notes.txt").read_text() == "keep me"


# -- determinations are not recomputed over unchanged inputs -------------------------------


@pytest.fixture
def assessments(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the assessments determine runs (the real assessment still runs)."""
    calls: list[str] = []
    real = service.assess  # type: ignore[attr-defined]

    def counting(fw: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(fw.ref)
        return real(fw, *args, **kwargs)

    monkeypatch.setattr(service, "assess", counting)
    return calls


def test_a_repeat_over_unchanged_inputs_skips_the_assessment(
    lab: Workspace, assessments: list[str]
) -> None:
    first = service.decide(lab, "aurora-3", "train", by="rso")
    assert len(assessments) == 1
    with lab.store.read() as s:
        recorded = len(repo.determinations(s, "aurora-3"))
    again = service.decide(lab, "aurora-3", "train", by="rso")
    assert len(assessments) == 1
    assert again.decision.outcome == first.decision.outcome
    assert again.decision.thresholds == first.decision.thresholds
    with lab.store.read() as s:
        assert len(repo.determinations(s, "aurora-3")) == recorded


def test_new_evidence_is_assessed_again(
    lab: Workspace, tmp_path: Path, assessments: list[str]
) -> None:
    service.decide(lab, "aurora-3", "train", by="rso")
    path = _novel_design_rerun(tmp_path, [0.0] * 200)
    ingest_paths(lab, [path], by="eval-team")
    result = service.decide(lab, "aurora-3", "train", by="rso")
    assert len(assessments) == 2
    novel = next(f for f in result.decision.thresholds if f.id == "novel-cb")
    assert novel.state == "below"


def test_a_changed_indicator_mapping_is_assessed_again(
    lab: Workspace, assessments: list[str]
) -> None:
    """A tightened indicator is assessed again and taken (a loosened one is refused:
    tests/test_settings_loosening.py)."""
    before = service.decide(lab, "aurora-3", "train", by="rso")
    sabotage = next(f for f in before.decision.thresholds if f.id == "high-stakes-sabotage")
    assert sabotage.state == "below"
    text = lab.config_path.read_text()
    old = 'task = "covert_sabotage"\nmetric = "acc"\nthreshold = 0.5\nearly_warning = 0.4'
    assert old in text
    tightened = old.replace("threshold = 0.5", "threshold = 0.1").replace(
        "early_warning = 0.4", "early_warning = 0.05"
    )
    lab.config_path.write_text(text.replace(old, tightened))
    changed = open_workspace(lab.root)
    try:
        after = service.decide(changed, "aurora-3", "train", by="rso")
    finally:
        changed.close()
    assert len(assessments) == 2
    sabotage = next(f for f in after.decision.thresholds if f.id == "high-stakes-sabotage")
    assert sabotage.state != "below"


def test_another_framework_or_changed_content_is_assessed_again(
    lab: Workspace, assessments: list[str]
) -> None:
    service.decide(lab, "aurora-3", "train", by="rso")
    service.decide(lab, "aurora-3", "train", framework="anthropic-rsp@2.2", by="rso")
    assert assessments == ["anthropic-rsp@3.0", "anthropic-rsp@2.2"]
    # same ref, other content: another digest
    from scaleguard.framework.loader import LoadedFramework

    fw, _ = lab.use_framework(None)
    edited = LoadedFramework(
        doc=fw.doc.model_copy(
            update={"framework": fw.doc.framework.model_copy(update={"title": "edited"})}
        ),
        origin=fw.origin,
    )
    specs = service._indicator_specs(lab)
    params = {"resamples": 2000, "confidence": 0.95, "seed": 7}
    assert service.inputs_digest(fw, [], specs, params) != service.inputs_digest(
        edited, [], specs, params
    )
    assert service.inputs_digest(fw, [], specs, params) != service.inputs_digest(
        fw, [], specs, {**params, "seed": 8}
    )


def test_an_override_applies_even_when_the_assessment_is_skipped(
    lab: Workspace, assessments: list[str]
) -> None:
    service.decide(lab, "aurora-3", "train", by="rso")
    service.override(lab, "aurora-3", "novel-cb", "below", by="rso", justification="contaminated")
    result = service.decide(lab, "aurora-3", "train", by="rso")
    assert len(assessments) == 1
    novel = next(f for f in result.decision.thresholds if f.id == "novel-cb")
    assert novel.state == "below" and novel.override_by == "rso"


def test_a_repeat_without_evidence_stays_fail_closed(
    lab: Workspace, assessments: list[str]
) -> None:
    add_model(lab, ModelSpec(name="aurora-4", developer="Fictional Frontier Lab", own=True))
    for _ in range(2):
        result = service.decide(lab, "aurora-4", "deploy-external", by="rso")
        assert result.decision.outcome not in ("proceed", "proceed_with_conditions")
        assert result.decision.missing
    assert len(assessments) == 1


def test_comparing_a_framework_with_itself_records_its_determinations_once(
    lab: Workspace,
) -> None:
    service.decide(lab, "aurora-3", "train", compare="anthropic-rsp@3.0", by="rso")
    with lab.store.read() as s:
        keys = [(d.threshold_id, d.indicator_id) for d in repo.determinations(s, "aurora-3")]
    assert keys and len(keys) == len(set(keys))


def test_a_decision_rests_on_what_was_recorded_before_it(
    lab: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """decide checks and plans on a snapshot, outside the write lock; when another writer
    commits in between, the decision is checked, planned and made again inside its own
    write transaction, never on the older snapshot."""
    service.decide(lab, "aurora-3", "train", by="rso")
    checks: list[object] = []
    real_check = service.check_decision_inputs

    def counting(session: Any, *args: Any) -> Any:
        checks.append(session)
        return real_check(session, *args)

    monkeypatch.setattr(service, "check_decision_inputs", counting)
    real_write = lab.store.write
    interleaved: list[int] = []

    def write_after_another(*args: Any, **kwargs: Any) -> Any:
        if not interleaved:  # another process records a fact after our snapshot
            with open_workspace(lab.root) as other, other.store.write() as tx:
                row = repo.add_fact(
                    tx, name="developer_leads", value=False, source="https://x", asserted_by="b"
                )
                interleaved.append(row.ledger_index)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(lab.store, "write", write_after_another)
    done = service.decide(lab, "aurora-3", "train", by="rso")
    assert len(checks) == 2  # once on the snapshot, once again under the write lock
    assert done.ledger_index > interleaved[0]
    monkeypatch.setattr(lab.store, "write", real_write)
    again = service.decide(lab, "aurora-3", "train", by="rso")
    assert again.decision.model_dump() == done.decision.model_dump()
    assert len(checks) == 3  # nothing moved this time: one check


def test_determinations_rest_on_what_was_recorded_before_them(
    lab: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """determine plans on a snapshot, outside the write lock; evidence another writer
    records in between is planned with, not left for the next run to notice."""
    path = _novel_design_rerun(tmp_path, [1.0] * 180 + [0.0] * 20)
    real_write = lab.store.write
    ingested: list[bool] = []

    def write_after_another(*args: Any, **kwargs: Any) -> Any:
        if not ingested:  # another process ingests new evidence after our snapshot
            with open_workspace(lab.root) as other:
                ingest_paths(other, [path], by="eval-team")
            ingested.append(True)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(lab.store, "write", write_after_another)
    _, rows = service.determine(lab, "aurora-3", by="a")
    assert ingested
    novel = next(r for r in rows if r.threshold_id == "novel-cb")
    assert novel.finding.state == "crossed"
    monkeypatch.setattr(lab.store, "write", real_write)
    fw, _ = lab.resolve_framework(None)
    assert service._plan(lab, "aurora-3", fw) == []  # nothing was left unrecorded


def test_an_override_answers_the_determination_current_when_it_is_recorded(
    lab: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New evidence another writer determines between the override's checks and its
    write is what the override answers; it is not silently retired by it."""
    service.determine(lab, "aurora-3", by="a")
    path = _novel_design_rerun(tmp_path, [1.0] * 180 + [0.0] * 20)
    real_write = lab.store.write
    moved: list[bool] = []

    def write_after_another(*args: Any, **kwargs: Any) -> Any:
        if not moved:  # another process ingests and determines first
            with open_workspace(lab.root) as other:
                ingest_paths(other, [path], by="eval-team")
                service.determine(other, "aurora-3", by="b")
            moved.append(True)
        return real_write(*args, **kwargs)

    monkeypatch.setattr(lab.store, "write", write_after_another)
    service.override(lab, "aurora-3", "novel-cb", "below", by="rso", justification="reviewed")
    assert moved
    monkeypatch.setattr(lab.store, "write", real_write)
    fw, _ = lab.resolve_framework(None)
    novel = next(st for st in service.status(lab, "aurora-3", fw) if st.threshold_id == "novel-cb")
    assert novel.override is not None and novel.finding.state == "below"
