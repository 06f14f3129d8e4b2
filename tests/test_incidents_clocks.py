"""The legal clocks as pure functions, and the regime files they read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.errors import InputError, NotFoundError
from scaleguard.incidents import regimes
from scaleguard.incidents.clocks import IncidentFacts, Submission, obligations
from scaleguard.incidents.span import Span

REGIMES = regimes.builtin_regimes()
T0 = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


def by(items: list, regime: str, group: str):  # type: ignore[no-untyped-def]
    return next(o for o in items if o.regime == regime and o.group == group)


def test_builtin_regimes_load_and_cite_their_sources() -> None:
    ids = {r.id for r in REGIMES}
    assert {"sb53", "raise", "eu-cop"} <= ids
    sb53 = next(r for r in REGIMES if r.id == "sb53")
    assert sb53.doc.regime.verified
    for r in REGIMES:
        for rule in r.doc.obligations:
            assert r.url(rule.source).startswith("https://")
    # what we could not check against an official text says so
    assert not next(r for r in REGIMES if r.id == "raise").doc.regime.verified
    assert not next(r for r in REGIMES if r.id == "eu-cop").doc.regime.verified


def test_sb53_fifteen_days_from_discovery_and_24_hours_for_imminent_risk() -> None:
    facts = IncidentFacts(1, T0, frozenset({"weights-compromise", "bodily-injury"}), True)
    items = obligations(facts, REGIMES, T0 + timedelta(hours=1))
    assert by(items, "sb53", "initial").deadline == T0 + timedelta(days=15)
    assert by(items, "sb53", "imminent").deadline == T0 + timedelta(hours=24)
    assert by(items, "sb53", "initial").status == "open"


def test_raise_runs_from_determination_and_says_when_it_has_none() -> None:
    determined = T0 + timedelta(days=3)
    facts = IncidentFacts(1, T0, frozenset({"catastrophic-risk"}), False, determined)
    item = by(obligations(facts, REGIMES, determined), "raise", "initial")
    assert item.deadline == determined + timedelta(hours=72)
    undetermined = IncidentFacts(1, T0, frozenset({"catastrophic-risk"}))
    item = by(obligations(undetermined, REGIMES, T0), "raise", "initial")
    assert item.deadline == T0 + timedelta(hours=72)
    assert any("no determination" in n for n in item.notes)


def test_raise_is_not_applicable_before_it_takes_effect() -> None:
    facts = IncidentFacts(
        1, datetime(2026, 11, 20, 9, tzinfo=UTC), frozenset({"catastrophic-risk"})
    )
    item = by(obligations(facts, REGIMES, T0), "raise", "-")
    assert item.status == "not_applicable" and "2027-01-01" in item.notes[0]


def test_eu_cop_takes_the_earliest_class_and_follows_up() -> None:
    facts = IncidentFacts(1, T0, frozenset({"death", "critical-infrastructure"}), False, T0)
    items = obligations(facts, REGIMES, T0)
    assert by(items, "eu-cop", "initial").deadline == T0 + timedelta(days=2)
    assert by(items, "eu-cop", "update").status == "pending"
    assert by(items, "eu-cop", "final").status == "pending"
    sent = Submission(7, "eu-cop", "initial", T0 + timedelta(days=1), "a" * 64)
    resolved = T0 + timedelta(days=40)
    later = IncidentFacts(1, T0, facts.kinds, False, T0, resolved, (sent,))
    items = obligations(later, REGIMES, T0 + timedelta(days=41))
    assert by(items, "eu-cop", "initial").status == "met"
    update = by(items, "eu-cop", "update")
    assert update.deadline == sent.at + timedelta(weeks=4)
    assert update.status == "overdue"  # resolved after the 4-week update fell due
    assert by(items, "eu-cop", "final").deadline == resolved + timedelta(days=60)


def test_late_and_amended_reports_stay_visible() -> None:
    facts = IncidentFacts(
        1,
        T0,
        frozenset({"catastrophic-risk"}),
        submissions=(
            Submission(1, "sb53", "initial", T0 + timedelta(days=16), "a" * 64),
            Submission(2, "sb53", "initial", T0 + timedelta(days=20), "b" * 64, amends=1),
        ),
    )
    item = by(obligations(facts, REGIMES, T0 + timedelta(days=30)), "sb53", "initial")
    assert item.status == "late"
    assert len(item.submissions) == 2
    assert any("late" in n for n in item.notes) and any("amended" in n for n in item.notes)


def test_overdue_when_nothing_was_sent() -> None:
    facts = IncidentFacts(1, T0, frozenset({"catastrophic-risk"}))
    assert (
        by(
            obligations(facts, REGIMES, T0 + timedelta(days=15, seconds=1)), "sb53", "initial"
        ).status
        == "overdue"
    )
    assert (
        by(obligations(facts, REGIMES, T0 + timedelta(days=15)), "sb53", "initial").status == "open"
    )


def test_impossible_orders_are_refused() -> None:
    with pytest.raises(InputError, match="before discovered"):
        IncidentFacts(1, T0, frozenset({"death"}), False, T0 - timedelta(seconds=1))
    with pytest.raises(InputError, match="no timezone"):
        IncidentFacts(1, datetime(2027, 1, 1), frozenset({"death"}))  # noqa: DTZ001
    with pytest.raises(InputError, match="before discovery"):
        IncidentFacts(
            1,
            T0,
            frozenset(),
            submissions=(Submission(1, "sb53", "initial", T0 - timedelta(days=1), "a"),),
        )


def test_unknown_regime_is_a_clear_error() -> None:
    with pytest.raises(NotFoundError, match="unknown regime 'nope'"):
        regimes.select(REGIMES, ["nope"])


def test_spans_parse_and_refuse_nonsense() -> None:
    assert Span.parse("PT72H").add(T0) == T0 + timedelta(hours=72)
    assert Span.parse("P1M").add(datetime(2027, 1, 31, tzinfo=UTC)) == datetime(
        2027, 2, 28, tzinfo=UTC
    )
    for bad in ("", "P", "PT", "15D", "P-1D", "P0D", "PT1.5H"):
        with pytest.raises(ValueError):
            Span.parse(bad)


def test_a_bad_regime_file_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "lab.yaml"
    path.write_text(
        "schema_version: 1\n"
        "regime:\n"
        "  id: lab\n"
        "  title: Lab policy\n"
        "  jurisdiction: internal\n"
        "  in_force_from: 2026-01-01\n"
        "  status: own_policy\n"
        "  verified: true\n"
        "  verification: our own text\n"
        "  sources: [{id: pol, title: Policy, url: 'https://lab.example/p', verified: true}]\n"
        "incident_classes:\n"
        "  - {id: any, name: Any, any_of: [[death]], source: {doc: pol, section: '1'}}\n"
        "obligations:\n"
        "  - id: tell\n"
        "    name: Tell the board\n"
        "    group: initial\n"
        "    classes: [nosuch]\n"
        "    clock: discovery\n"
        "    within: P-1D\n"
        "    recipient: board\n"
        "    source: {doc: pol, section: '2'}\n"
    )
    with pytest.raises(InputError) as info:
        regimes.load_file(path)
    rendered = info.value.render()
    assert f"{path}:19:13:" in rendered  # the bad span, located
    assert "P-1D" in rendered
    path.write_text(path.read_text().replace("P-1D", "P1D"))
    with pytest.raises(InputError) as info:
        regimes.load_file(path)
    assert (
        f"{path}:17:15:" in info.value.render()
        and "unknown incident class 'nosuch'" in info.value.render()
    )


def test_a_lab_regime_in_the_workspace_is_loaded_and_may_not_shadow_a_builtin(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "regimes"
    folder.mkdir()
    text = (Path(regimes.BUILTIN_DIR) / "sb53.yaml").read_text()
    (folder / "copy.yaml").write_text(text)
    with pytest.raises(InputError, match="already defined"):
        regimes.load_regimes(tmp_path)
    (folder / "copy.yaml").write_text(text.replace("  id: sb53\n", "  id: lab-sb53-copy\n", 1))
    assert "lab-sb53-copy" in {r.id for r in regimes.load_regimes(tmp_path)}


# hypothesis takes naive bounds and attaches the zone itself
moments = st.datetimes(
    min_value=datetime(2025, 1, 1),  # noqa: DTZ001
    max_value=datetime(2030, 1, 1),  # noqa: DTZ001
    timezones=st.just(UTC),
)
kind_sets = st.sets(st.sampled_from(sorted(regimes.KINDS)), min_size=1)


@settings(max_examples=150, deadline=None)
@given(
    discovered=moments,
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    shift=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
    kinds=kind_sets,
    imminent=st.booleans(),
)
def test_deadlines_never_precede_their_start_and_later_discovery_never_moves_them_earlier(
    discovered: datetime, delay: timedelta, shift: timedelta, kinds: set[str], imminent: bool
) -> None:
    as_of = datetime(2031, 1, 1, tzinfo=UTC)
    first = IncidentFacts(1, discovered, frozenset(kinds), imminent, discovered + delay)
    later = IncidentFacts(
        1, discovered + shift, frozenset(kinds), imminent, discovered + shift + delay
    )
    a = {(o.regime, o.group): o for o in obligations(first, REGIMES, as_of)}
    b = {(o.regime, o.group): o for o in obligations(later, REGIMES, as_of)}
    for key, o in a.items():
        if o.deadline is not None:
            assert o.start is not None and o.deadline > o.start >= discovered
            other = b.get(key)
            if other is not None and other.deadline is not None:
                assert other.deadline >= o.deadline
    for o in b.values():
        if o.deadline is not None:
            assert o.deadline > discovered + shift


@settings(max_examples=100, deadline=None)
@given(
    discovered=moments,
    kinds=kind_sets,
    sent_after=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40)),
)
def test_a_report_is_met_exactly_when_sent_by_the_deadline(
    discovered: datetime, kinds: set[str], sent_after: timedelta
) -> None:
    facts = IncidentFacts(
        1,
        discovered,
        frozenset(kinds),
        submissions=(Submission(1, "sb53", "initial", discovered + sent_after, "a"),),
    )
    for o in obligations(facts, REGIMES, discovered + timedelta(days=50)):
        if o.regime == "sb53" and o.group == "initial" and o.deadline is not None:
            assert (o.status == "met") == (discovered + sent_after <= o.deadline)
            assert o.status in ("met", "late")


def test_a_past_as_of_ignores_what_happened_later() -> None:
    sent = Submission(1, "sb53", "initial", T0 + timedelta(days=10), "a" * 64)
    facts = IncidentFacts(1, T0, frozenset({"catastrophic-risk"}), submissions=(sent,))
    before = by(obligations(facts, REGIMES, T0 + timedelta(days=5)), "sb53", "initial")
    assert before.status == "open" and not before.submissions
    after = by(obligations(facts, REGIMES, T0 + timedelta(days=11)), "sb53", "initial")
    assert after.status == "met"
    determined = IncidentFacts(
        1, T0, frozenset({"catastrophic-risk"}), False, T0 + timedelta(days=3)
    )
    early = by(obligations(determined, REGIMES, T0 + timedelta(days=1)), "raise", "initial")
    assert early.deadline == T0 + timedelta(hours=72)  # not yet determined then: from discovery
