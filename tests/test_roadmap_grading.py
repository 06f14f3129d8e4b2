"""The pure core of the roadmap: grading rules, revisions, diffs, checks and the import parser."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta
from importlib import resources

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scaleguard.errors import InputError, NotFoundError
from scaleguard.roadmap.checks import as_goal, as_update, update_issues, with_update
from scaleguard.roadmap.grading import (
    closing,
    deadline,
    diff_roadmaps,
    goal_card,
    grade_of,
    report_card,
    roadmap_before,
    roadmap_on,
    target_in_force,
)
from scaleguard.roadmap.importer import parse_roadmap, plan_import
from scaleguard.roadmap.model import (
    AREAS,
    CLOSING,
    GRADES,
    STATUSES,
    Goal,
    GoalSpec,
    GradingPolicy,
    Update,
    UpdateSpec,
)
from scaleguard.roadmap.revision import at_revision, parse_day, parse_revision

D = date.fromisoformat
EVIDENCE = "https://lab.example/e"


def make_goal(gid: str = "g-1", **kw: object) -> Goal:
    values: dict[str, object] = {
        "goal": gid,
        "area": "security",
        "title": "A goal",
        "description": "Something measurable.",
        "target": D("2026-06-30"),
        "owner": "Security",
        "criteria": ("first", "second"),
        "set_on": D("2026-01-01"),
        "ledger_index": 0,
    }
    values.update(kw)
    return Goal.model_validate(values)


def upd(on: str, status: str = "on_track", index: int = 1, **kw: object) -> Update:
    return Update.model_validate(
        {"on": D(on), "status": status, "evidence_url": EVIDENCE, "ledger_index": index, **kw}
    )


def with_updates(goal: Goal, *updates: Update) -> Goal:
    return goal.model_copy(update={"updates": (*goal.updates, *updates)})


def _grade(goal: Goal, as_of: str) -> str:
    card = goal_card(goal, D(as_of))
    assert card is not None
    return card.grade


# -- the grades, one rule at a time ---------------------------------------------------


def test_achieved_on_or_before_the_target_is_on_time() -> None:
    g = with_updates(make_goal(), upd("2026-06-30", "achieved"))
    assert _grade(g, "2026-12-01") == "achieved_on_time"
    early = with_updates(make_goal(), upd("2026-03-01", "achieved"))
    assert _grade(early, "2026-03-01") == "achieved_on_time"


def test_achieved_after_the_target_is_late() -> None:
    g = with_updates(make_goal(), upd("2026-07-01", "achieved"))
    card = goal_card(g, D("2026-08-01"))
    assert card is not None
    assert card.grade == "achieved_late"
    assert "1 day after its deadline 2026-06-30" in card.reason


def test_moving_the_target_later_does_not_make_a_late_goal_on_time() -> None:
    g = with_updates(
        make_goal(),
        upd("2026-05-01", target=D("2026-12-31"), index=1),
        upd("2026-10-01", "achieved", index=2),
    )
    card = goal_card(g, D("2026-11-01"))
    assert card is not None
    assert card.grade == "achieved_late"
    assert card.target == D("2026-12-31")
    assert card.deadline == D("2026-06-30")
    assert card.revised_less_ambitiously


def test_the_deadline_is_the_earliest_target_ever_set() -> None:
    g = with_updates(
        make_goal(),
        upd("2026-02-01", target=D("2026-04-30"), index=1),
        upd("2026-03-01", target=D("2026-06-30"), index=2),
    )
    assert deadline(g) == D("2026-04-30")
    assert target_in_force(g) == D("2026-06-30")
    assert _grade(g, "2026-05-01") == "missed"
    card = goal_card(g, D("2026-05-01"))
    assert card is not None
    assert [r.kind for r in card.revisions] == ["delayed"]  # the earlier move is not flagged


def test_open_goal_past_its_deadline_is_missed_and_the_boundary_day_is_not() -> None:
    g = with_updates(make_goal(), upd("2026-06-15"))
    assert _grade(g, "2026-06-30") == "on_track"
    assert _grade(g, "2026-07-01") == "missed"


def test_missed_goal_achieved_later_becomes_achieved_late() -> None:
    g = with_updates(make_goal(), upd("2026-06-15"), upd("2026-08-01", "achieved", index=2))
    assert _grade(g, "2026-07-15") == "missed"
    assert _grade(g, "2026-08-01") == "achieved_late"


def test_withdrawn_before_the_deadline_is_withdrawn_after_it_is_missed() -> None:
    before = with_updates(make_goal(), upd("2026-05-01", "withdrawn", note="superseded"))
    assert _grade(before, "2026-12-01") == "withdrawn"
    after = with_updates(make_goal(), upd("2026-07-10", "withdrawn"))
    card = goal_card(after, D("2026-12-01"))
    assert card is not None
    assert card.grade == "missed"
    assert "after its deadline" in card.reason


@pytest.mark.parametrize("status", ["at_risk", "blocked"])
def test_latest_update_at_risk_or_blocked_is_at_risk(status: str) -> None:
    g = with_updates(make_goal(), upd("2026-02-01"), upd("2026-03-01", status, index=2))
    assert _grade(g, "2026-03-02") == "at_risk"
    recovered = with_updates(g, upd("2026-04-01", index=3))
    assert _grade(recovered, "2026-04-02") == "on_track"


def test_due_soon_and_quiet_is_at_risk() -> None:
    g = with_updates(make_goal(), upd("2026-05-01"))
    # 30 days before the deadline, 30 days quiet: still on track (both limits inclusive)
    assert _grade(g, "2026-05-31") == "on_track"
    # 29 days left, 31 days quiet
    card = goal_card(g, D("2026-06-01"))
    assert card is not None
    assert card.grade == "at_risk"
    assert "no report for 31 days" in card.reason


def test_no_report_for_too_long_is_at_risk_even_far_from_the_deadline() -> None:
    g = make_goal(target=D("2027-12-31"))
    assert _grade(g, "2026-05-01") == "on_track"  # 120 days after it was set
    assert _grade(g, "2026-05-02") == "at_risk"
    custom = GradingPolicy(stale_days=200)
    assert grade_of(g, D("2026-05-02"), custom)[0] == "on_track"


def test_a_goal_set_after_the_as_of_date_is_not_graded() -> None:
    assert goal_card(make_goal(set_on=D("2026-03-01")), D("2026-02-28")) is None
    card = report_card([make_goal(set_on=D("2026-03-01")), make_goal("g-2")], D("2026-02-28"))
    assert [c.goal for c in card.goals] == ["g-2"]
    assert card.not_yet_set == 1


# -- revised less ambitiously ----------------------------------------------------------


def test_narrowed_criteria_are_flagged_with_what_was_removed() -> None:
    g = with_updates(make_goal(), upd("2026-03-01", criteria=("first",)))
    card = goal_card(g, D("2026-03-01"))
    assert card is not None
    assert card.revised_less_ambitiously
    (rev,) = card.revisions
    assert rev.kind == "narrowed"
    assert rev.on == D("2026-03-01")
    assert rev.removed_criteria == ("second",)
    assert card.criteria == ("first",)
    assert card.original_criteria == ("first", "second")


def test_reworded_criterion_counts_as_narrowed_but_an_addition_does_not() -> None:
    reworded = with_updates(make_goal(), upd("2026-03-01", criteria=("first", "second, mostly")))
    card = goal_card(reworded, D("2026-03-01"))
    assert card is not None and card.revised_less_ambitiously
    assert card.revisions[0].added_criteria == ("second, mostly",)
    added = with_updates(make_goal(), upd("2026-03-01", criteria=("first", "second", "third")))
    card = goal_card(added, D("2026-03-01"))
    assert card is not None and not card.revised_less_ambitiously


def test_moving_the_target_earlier_is_not_flagged() -> None:
    g = with_updates(make_goal(), upd("2026-03-01", target=D("2026-05-01")))
    card = goal_card(g, D("2026-03-01"))
    assert card is not None and not card.revised_less_ambitiously


def test_the_flag_persists_after_the_goal_is_achieved() -> None:
    g = with_updates(
        make_goal(),
        upd("2026-03-01", target=D("2026-07-31"), index=1),
        upd("2026-07-15", "achieved", index=2),
    )
    card = goal_card(g, D("2027-01-01"))
    assert card is not None
    assert card.grade == "achieved_late" and card.revised_less_ambitiously
    assert card.revisions[0].previous_target == D("2026-06-30")
    assert card.revisions[0].new_target == D("2026-07-31")


def test_history_lists_the_setting_and_every_update_with_changes() -> None:
    g = with_updates(
        make_goal(),
        upd("2026-03-01", "at_risk", index=1, note="slipping"),
        upd("2026-04-01", index=2, target=D("2026-08-31"), criteria=("first",)),
    )
    card = goal_card(g, D("2026-04-01"))
    assert card is not None
    assert [h.event for h in card.history] == ["set", "update", "update"]
    assert card.history[1].note == "slipping"
    assert "target moved later: 2026-06-30 to 2026-08-31" in card.history[2].summary
    assert "removed 'second'" in card.history[2].summary


# -- the report card ---------------------------------------------------------------------


def test_report_card_counts_per_area_in_a_stable_order() -> None:
    goals = [
        make_goal("p-1", area="policy"),
        with_updates(make_goal("s-2"), upd("2026-03-01", "achieved")),
        make_goal("s-1", target=D("2026-02-01")),
        make_goal("a-1", area="alignment"),
    ]
    card = report_card(goals, D("2026-03-01"))
    assert [c.goal for c in card.goals] == ["s-1", "s-2", "a-1", "p-1"]
    security = card.areas[0]
    assert security.area == "security"
    assert security.counts["missed"] == 1 and security.counts["achieved_on_time"] == 1
    assert security.total == 2
    assert card.areas[1].area == "safeguards" and card.areas[1].total == 0  # listed, empty
    assert [a.area for a in card.areas] == list(AREAS)
    assert card.totals["on_track"] == 2 and card.total == 4
    assert report_card(list(reversed(goals)), D("2026-03-01")) == card


# -- diffs ---------------------------------------------------------------------------------


def test_diff_names_each_kind_of_change_with_a_reason() -> None:
    a = [
        make_goal("keep"),
        make_goal("drop"),
        make_goal("gone"),
        make_goal("late"),
        make_goal("narrow"),
        make_goal("done"),
    ]
    b = [
        make_goal("keep"),
        with_updates(make_goal("drop"), upd("2026-03-01", "withdrawn", note="deprioritised")),
        with_updates(make_goal("late"), upd("2026-03-01", target=D("2026-09-30"))),
        with_updates(make_goal("narrow"), upd("2026-03-01", criteria=("first",))),
        with_updates(make_goal("done"), upd("2026-03-01", "achieved")),
        make_goal("new", area="policy"),
    ]
    diff = diff_roadmaps(a, b, a_label="A", b_label="B")
    found = {(e.kind, e.goal) for e in diff.entries}
    assert found == {
        ("added", "new"),
        ("dropped", "drop"),
        ("dropped", "gone"),
        ("delayed", "late"),
        ("narrowed", "narrow"),
        ("achieved", "done"),
    }
    reasons = {e.goal: e.reason for e in diff.entries}
    assert "deprioritised" in reasons["drop"]
    assert "absent from B" in reasons["gone"]
    assert "2026-06-30 to 2026-09-30" in reasons["late"]
    assert "'second'" in reasons["narrow"]
    assert "on time" in reasons["done"]
    assert diff_roadmaps(b, b, a_label="B", b_label="B").entries == ()


def test_a_withdrawn_goal_is_dropped_once_only() -> None:
    withdrawn = with_updates(make_goal(), upd("2026-03-01", "withdrawn"))
    assert diff_roadmaps([withdrawn], [withdrawn], a_label="A", b_label="B").entries == ()
    assert diff_roadmaps([withdrawn], [], a_label="A", b_label="B").entries == ()


def test_roadmap_revisions_by_date_and_by_ledger_position() -> None:
    g = with_updates(
        make_goal(ledger_index=3),
        upd("2026-02-01", index=5),
        upd("2026-03-01", "achieved", index=9),
    )
    assert roadmap_on([g], D("2025-12-31")) == []
    (on_feb,) = roadmap_on([g], D("2026-02-15"))
    assert len(on_feb.updates) == 1
    assert roadmap_before([g], 3) == []
    (before_9,) = roadmap_before([g], 9)
    assert len(before_9.updates) == 1
    goals, label = at_revision([g], "9", ledger_size=10)
    assert label == "ledger 9" and len(goals[0].updates) == 1
    assert at_revision([g], "head", ledger_size=10)[1] == "head"
    assert at_revision([g], "2026-02-15", ledger_size=10)[1] == "2026-02-15"
    with pytest.raises(NotFoundError, match="past the end"):
        at_revision([g], "11", ledger_size=10)


@pytest.mark.parametrize("text", ["yesterday", "2026-13-01", "-1", "2026-W01-1", "1.5", ""])
def test_bad_revisions_and_dates_are_input_errors(text: str) -> None:
    with pytest.raises(InputError):
        parse_revision(text)
    with pytest.raises(InputError, match="--as-of"):
        parse_day(text, "--as-of")


# -- checks on new records ---------------------------------------------------------------------


def spec(on: str, status: str = "on_track", **kw: object) -> UpdateSpec:
    return UpdateSpec.model_validate(
        {"goal": "g-1", "on": on, "status": status, "evidence_url": EVIDENCE, **kw}
    )


TODAY = D("2026-11-22")


def test_update_checks() -> None:
    g = with_updates(make_goal(), upd("2026-03-01"))
    assert update_issues(g, spec("2026-03-01"), TODAY) == []
    (before_set,) = update_issues(g, spec("2025-12-31"), TODAY)
    assert before_set.field == "on" and "before the goal was set" in before_set.message
    (order,) = update_issues(g, spec("2026-02-01"), TODAY)
    assert "wrong order" in order.message and "2026-03-01" in order.hint
    (future,) = update_issues(g, spec("2026-11-23"), TODAY)
    assert "after today" in future.message
    (same_target,) = update_issues(g, spec("2026-04-01", target="2026-06-30"), TODAY)
    assert same_target.field == "target"
    (same_criteria,) = update_issues(g, spec("2026-04-01", criteria=["first", "second"]), TODAY)
    assert same_criteria.field == "criteria"
    closed = with_updates(g, upd("2026-04-01", "achieved", index=2))
    (conflict,) = update_issues(closed, spec("2026-05-01"), TODAY)
    assert conflict.conflict and "achieved on 2026-04-01" in conflict.message


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"target": "2026-01-01", "set_on": "2026-02-01"}, "before the date the goal was set"),
        ({"criteria": ["a", "a"]}, "listed twice"),
        ({"area": "marketing"}, "security"),
        ({"goal": "Not An Id"}, "pattern"),
        ({"target": "2026-02-30"}, "date"),
        ({"title": "  "}, "at least 1 character"),
        ({"evidence_url": "not a url"}, "not an http"),
        ({"evidence_url": "javascript:alert(1)"}, "not an http"),
    ],
)
def test_goal_spec_refuses_bad_input(values: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "goal": "g-1",
        "area": "security",
        "title": "T",
        "description": "D",
        "target": "2026-06-30",
        "owner": "O",
        "set_on": "2026-01-01",
    }
    with pytest.raises(ValueError, match=message):
        GoalSpec.model_validate({**base, **values})


def test_update_spec_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="cannot set a new target"):
        spec("2026-03-01", "achieved", target="2026-09-01")
    with pytest.raises(ValueError, match="before the update's date"):
        spec("2026-03-01", target="2026-02-01")
    with pytest.raises(ValueError, match="on_track"):
        spec("2026-03-01", "done")
    with pytest.raises(ValueError, match="at least 1 item"):
        spec("2026-03-01", criteria=[])


# -- properties -----------------------------------------------------------------------------------

CRITERIA = ("alpha", "beta", "gamma", "delta", "epsilon")
days = st.integers(min_value=0, max_value=400)


@st.composite
def goals(draw: st.DrawFn) -> Goal:
    """A goal with a valid history: every update passes the recording checks."""
    set_on = draw(st.dates(min_value=D("2025-01-01"), max_value=D("2027-12-31")))
    g = make_goal(
        area=draw(st.sampled_from(AREAS)),
        set_on=set_on,
        target=set_on + timedelta(days=draw(days)),
        criteria=tuple(draw(st.lists(st.sampled_from(CRITERIA), unique=True, max_size=4))),
    )
    on = set_on
    for index in range(1, draw(st.integers(min_value=0, max_value=6)) + 1):
        if closing(g) is not None:
            break
        on += timedelta(days=draw(st.integers(min_value=0, max_value=150)))
        status = draw(st.sampled_from(STATUSES))
        target = None
        if status not in CLOSING and draw(st.booleans()):
            target = on + timedelta(days=draw(days))
        criteria = None
        if draw(st.booleans()):
            criteria = draw(st.lists(st.sampled_from(CRITERIA), unique=True, min_size=1))
        new = UpdateSpec(
            goal=g.goal,
            on=on,
            status=status,
            evidence_url=EVIDENCE,
            target=target,
            criteria=tuple(criteria) if criteria else None,
        )
        if update_issues(g, new, date.max):
            continue
        g = with_update(g, as_update(new, ledger_index=index))
    return g


as_of_offsets = st.integers(min_value=-30, max_value=900)


def _expected_grades(goal: Goal, as_of: date) -> list[str]:
    """The documented rules, restated independently; exactly one must hold."""
    ups = [u for u in goal.updates if u.on <= as_of]
    due = min([goal.target, *(u.target for u in ups if u.target is not None)])
    closes = [u for u in ups if u.status in ("achieved", "withdrawn")]
    close = closes[0] if closes else None
    last = ups[-1].on if ups else goal.set_on
    quiet, left = (as_of - last).days, (due - as_of).days
    open_ = close is None and as_of <= due
    risky = open_ and (
        bool(ups and ups[-1].status in ("at_risk", "blocked"))
        or (left <= 30 and quiet > 30)
        or quiet > 120
    )
    holds = {
        "achieved_on_time": close is not None and close.status == "achieved" and close.on <= due,
        "achieved_late": close is not None and close.status == "achieved" and close.on > due,
        "withdrawn": close is not None and close.status == "withdrawn" and close.on <= due,
        "missed": (close is None and as_of > due)
        or (close is not None and close.status == "withdrawn" and close.on > due),
        "at_risk": risky,
        "on_track": open_ and not risky,
    }
    return [name for name, ok in holds.items() if ok]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(goal=goals(), offset=as_of_offsets)
def test_grades_are_exhaustive_and_exclusive(goal: Goal, offset: int) -> None:
    as_of = goal.set_on + timedelta(days=offset)
    card = goal_card(goal, as_of)
    if offset < 0:
        assert card is None
        return
    assert card is not None
    assert card.grade in GRADES
    assert _expected_grades(goal, as_of) == [card.grade]


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(goal=goals(), offset=as_of_offsets, later=st.integers(1, 300), data=st.data())
def test_an_update_dated_after_the_as_of_date_never_changes_that_grade(
    goal: Goal, offset: int, later: int, data: st.DataObject
) -> None:
    assume(closing(goal) is None)
    as_of = goal.set_on + timedelta(days=max(offset, 0))
    last = goal.updates[-1].on if goal.updates else goal.set_on
    on = max(as_of, last) + timedelta(days=later)
    status = data.draw(st.sampled_from(STATUSES))
    target = None if status in CLOSING else on + timedelta(days=data.draw(days))
    new = UpdateSpec(goal=goal.goal, on=on, status=status, evidence_url=EVIDENCE, target=target)
    assume(not update_issues(goal, new, date.max))
    extended = with_update(goal, as_update(new, ledger_index=99))
    assert goal_card(extended, as_of) == goal_card(goal, as_of)
    assert report_card([extended], as_of) == report_card([goal], as_of)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(goal=goals(), wait=st.integers(0, 200), extra=st.integers(1, 400), view=st.integers(0, 500))
def test_moving_a_target_later_always_sets_the_flag(
    goal: Goal, wait: int, extra: int, view: int
) -> None:
    assume(closing(goal) is None)
    last = goal.updates[-1].on if goal.updates else goal.set_on
    on = last + timedelta(days=wait)
    new = UpdateSpec(
        goal=goal.goal,
        on=on,
        status="on_track",
        evidence_url=EVIDENCE,
        target=max(target_in_force(goal), on) + timedelta(days=extra),
    )
    moved = with_update(goal, as_update(new, ledger_index=99))
    card = goal_card(moved, on + timedelta(days=view))
    assert card is not None
    assert card.revised_less_ambitiously
    assert any(r.kind == "delayed" and r.on == on for r in card.revisions)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(goals(), max_size=6), as_of_offsets)
def test_report_card_counts_add_up(gs: list[Goal], offset: int) -> None:
    unique = [g.model_copy(update={"goal": f"g-{i}"}) for i, g in enumerate(gs)]
    card = report_card(unique, D("2026-01-01") + timedelta(days=offset))
    assert sum(card.totals.values()) == card.total == len(card.goals)
    for grade_name in GRADES:
        assert sum(a.counts[grade_name] for a in card.areas) == card.totals[grade_name]
    assert card.total + card.not_yet_set == len(unique)


# -- the import file parser ----------------------------------------------------------------------

DEMO = resources.files("scaleguard.demo").joinpath("roadmap.yaml").read_text("utf-8")
NOISE = ": -[]{}#&*!|>'\"%@`\t\n0123456789aZ"


def test_demo_file_parses_and_plans_every_goal() -> None:
    parsed = parse_roadmap(DEMO, "demo.yaml")
    plan = plan_import(parsed, [], TODAY)
    assert len(plan.new_goals) == 7 and len(plan.new_updates) == 16
    goals_ = []
    for pg in parsed.goals:
        g = as_goal(pg.spec)
        for pu in pg.updates:
            g = with_update(g, as_update(pu.spec))
        goals_.append(g)
    card = report_card(goals_, D("2026-11-15"))
    assert all(card.totals[g] >= 1 for g in GRADES)  # the demo shows every grade
    flagged = {c.goal: {r.kind for r in c.revisions} for c in card.goals if c.revisions}
    assert flagged == {"sec-isolated-enclave": {"delayed"}, "sec-baseline-controls": {"narrowed"}}


def _location(exc: InputError) -> list[tuple[int | None, int | None]]:
    return [(p.line, p.column) for p in exc.problems]


def test_semantic_problems_are_located_at_file_line_column() -> None:
    text = DEMO.replace("      - on: 2026-05-05\n", "      - on: 2026-04-01\n", 1)
    parsed = parse_roadmap(text, "demo.yaml")
    with pytest.raises(InputError) as info:
        plan_import(parsed, [], TODAY)
    (problem,) = info.value.problems
    line = text.splitlines().index("      - on: 2026-04-01") + 1
    assert (problem.file, problem.line, problem.column) == ("demo.yaml", line, 13)
    assert "wrong order" in problem.message
    assert "nothing was imported" in info.value.message


def test_unknown_keys_and_bad_values_are_all_reported() -> None:
    text = DEMO.replace("    owner: Policy team\n", "    ownr: Policy team\n").replace(
        "status: blocked", "status: stuck"
    )
    with pytest.raises(InputError) as info:
        parse_roadmap(text, "demo.yaml")
    messages = [p.message for p in info.value.problems]
    assert any("unknown key 'ownr'" in m for m in messages)
    assert any(
        "Field required" in m and p.path and p.path.endswith(".owner")
        for m, p in zip(messages, info.value.problems, strict=True)
    )
    assert any("'on_track'" in m for m in messages)
    assert all(p.line is not None for p in info.value.problems)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    lines = DEMO.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["delete", "duplicate", "swap", "char", "truncate"]))
        i = draw(st.integers(0, len(lines) - 1))
        if kind == "delete" and len(lines) > 1:
            del lines[i]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "char" and lines[i]:
            k = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:k] + draw(st.sampled_from(NOISE)) + lines[i][k + 1 :]
        elif kind == "truncate":
            lines = lines[: i + 1]
    return "".join(lines)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutated())
def test_mutated_files_only_raise_input_errors(text: str) -> None:
    try:
        plan_import(parse_roadmap(text, "m.yaml"), [], TODAY)
    except InputError as exc:
        assert exc.message
        assert all(p.file == "m.yaml" or p.file is None for p in exc.problems)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_raise_input_errors(data: bytes) -> None:
    with contextlib.suppress(InputError):
        plan_import(parse_roadmap(data, "b.yaml"), [], TODAY)
