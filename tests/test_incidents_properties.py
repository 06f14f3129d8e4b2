"""Property tests for the incident inputs and the board update; the derived own-framework regime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.errors import InputError
from scaleguard.framework.library import Library
from scaleguard.incidents import noncompliance, regimes, service
from scaleguard.incidents.noncompliance import ReportState
from scaleguard.incidents.own import framework_regime
from scaleguard.incidents.store import NcEvent, NcReport
from scaleguard.workspace import init_workspace


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_parse_time_accepts_or_refuses_clearly(raw: str) -> None:
    try:
        moment = service.parse_time(raw, "--discovered")
    except InputError as exc:
        assert "--discovered" in exc.message and exc.hint
    else:
        assert moment.utcoffset() is not None and moment.utcoffset() == timedelta(0)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_a_regime_file_of_any_text_loads_or_fails_with_input_error(raw: str) -> None:
    try:
        regimes.load_bytes(raw, "lab.yaml")
    except InputError as exc:
        assert exc.render()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_regime_bytes_never_crash_the_loader(raw: bytes) -> None:
    try:
        regimes.load_bytes(raw, "lab.yaml")
    except InputError as exc:  # any other exception fails the test
        assert "lab.yaml" in exc.render()


def _report(i: int, day: date, concerns_rso: bool) -> NcReport:
    return NcReport(i, True, None, ("counsel",), concerns_rso, "t", f"{i:064d}", day,
                    "2026-01-01T00:00:00Z", "anonymous", i)  # fmt: skip


def _event(i: int, report: int, action: str, status: str, day: date, sub: bool | None,
           risk: bool | None) -> NcEvent:  # fmt: skip
    return NcEvent(i, report, action, status, sub, risk, "n", day, "x", "y", 1000 + i)


histories = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=500),  # received, days after 2026-07-01
        st.booleans(),  # concerns the RSO
        st.one_of(st.none(), st.tuples(st.integers(0, 200), st.booleans(), st.booleans())),
    ),
    max_size=25,
)


@settings(max_examples=200, deadline=None)
@given(histories, st.sampled_from(["2026-Q3", "2026-Q4", "2027-Q1", "2027-Q2"]))
def test_the_board_update_counts_every_report_once(
    history: list[tuple[int, bool, tuple[int, bool, bool] | None]], quarter: str
) -> None:
    start, end = noncompliance.quarter_bounds(quarter)
    base = date(2026, 7, 1)
    states = []
    for i, (offset, about_rso, outcome) in enumerate(history, start=1):
        received = base + timedelta(days=offset)
        events = []
        if outcome is not None:
            after, substantiated, risk = outcome
            risk = risk and substantiated
            events.append(
                _event(
                    i, i, "close", "closed", received + timedelta(days=after), substantiated, risk
                )
            )
        states.append(ReportState(_report(i, received, about_rso), tuple(events)))
    update = noncompliance.quarterly(states, quarter)
    counts = update["counts"]
    assert isinstance(counts, dict)
    received_in = sum(1 for s in states if start <= s.report.received_on <= end)
    assert counts["received"] == received_in
    assert counts["substantiated"] + counts["unsubstantiated"] + counts["open"] == counts["covered"]
    # every report received in the quarter is covered, whatever its outcome
    covered = {row["report"] for row in update["reports"]}  # type: ignore[attr-defined]
    assert {s.report.id for s in states if start <= s.report.received_on <= end} <= covered
    # no report still open at the quarter's end is left out
    for s in states:
        closes = [e.on_date for e in s.events if e.action == "close"]
        if s.report.received_on <= end and (not closes or closes[-1] >= start):
            assert s.report.id in covered


def test_the_own_regime_is_derived_from_the_framework_document() -> None:
    lib = Library()
    framework = lib.get("anthropic-rsp@3.4")
    rsp = framework_regime(framework)
    duties = {d.id: d for d in rsp.doc.recurring}
    board = duties["noncompliance-board-updates"]
    cadence = next(c for c in framework.doc.cadences if c.id == "noncompliance-board-updates")
    assert board.check == "board_quarterly" and str(board.every) == "P3M"
    assert board.source.section == cadence.source.section and rsp.verified(board.source)
    assert "noncompliance-reporting" in duties
    assert rsp.url(board.source).startswith("https://")
    gdm = framework_regime(lib.get("gdm-fsf@3.1"))
    assert [d.check for d in gdm.doc.recurring] == ["framework_review"]


def test_the_clock_shows_local_time_and_refuses_unknown_zones(
    tmp_path: Path, cli: Callable[..., object]
) -> None:
    root = tmp_path / "lab"
    init_workspace(root, name="lab").close()
    r = cli("incidents", "open", "--workspace", root, "--title", "t", "--discovered",
            "2026-11-20T09:00Z", "--kind", "catastrophic-risk")  # fmt: skip
    assert r.code == 0, r.err  # type: ignore[attr-defined]
    r = cli("incidents", "clock", "--workspace", root, "--as-of", "2026-11-21T00:00Z",
            "--tz", "Asia/Tokyo", "--json")  # fmt: skip
    import json

    data = json.loads(r.out)  # type: ignore[attr-defined]
    sb53 = next(o for o in data["obligations"] if o["regime"] == "sb53")
    assert sb53["deadline"] == "2026-12-05T09:00:00Z"
    assert sb53["deadline_local"] == "2026-12-05 18:00 JST"
    r = cli("incidents", "clock", "--workspace", root, "--tz", "Mars/Olympus")
    assert r.code == 2 and "unknown timezone" in r.err  # type: ignore[attr-defined]
    r = cli("incidents", "regimes", "--workspace", root, "--json")
    assert {d["id"] for d in json.loads(r.out)} >= {"sb53", "raise", "eu-cop"}  # type: ignore[attr-defined]
