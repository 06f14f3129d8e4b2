"""Regime spans and framework cadences: what each accepts, refuses, prints and emits.

Regime files and framework documents are written by hand and read by people;
the messages, the printed form and the JSON schema are part of what users see,
so this table pins them for both types, and the properties check that the two
agree on calendar arithmetic wherever their parts overlap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

from scaleguard.framework.durations import Duration
from scaleguard.incidents.span import Span
from scaleguard.isoduration import Parts, too_long

SPAN_BAD = (
    "{!r} is not a duration; write e.g. 'PT24H' (24 hours), 'P15D' (15 days), 'P4W', 'P3M' or 'P1Y'"
)
SPAN_ZERO = "{!r} is zero; a clock needs a positive span"
LONG = "{!r} is implausibly long (more than 1000 years, or a number above 100,000)"
DURATION_BAD = (
    "{!r} is not an ISO 8601 duration; write e.g. 'P6M' (6 months), 'P1Y', 'P30D' or 'P2W'"
)
SPAN_NOT_STRING = "a duration is a string such as 'P15D' or 'PT24H'"
DURATION_NOT_STRING = "expected an ISO 8601 duration string such as 'P6M'"

HUGE = "P" + "9" * 20 + "Y"

# text -> (Span outcome, Duration outcome); an outcome is either the parts
# (years, months, weeks, days, hours, printed form) or the refusal message template.
Outcome = tuple[int, int, int, int, int, str] | str
TABLE: dict[str, tuple[Outcome, Outcome]] = {
    "PT24H": ((0, 0, 0, 0, 24, "PT24H"), DURATION_BAD),
    "PT72H": ((0, 0, 0, 0, 72, "PT72H"), DURATION_BAD),
    "P15D": ((0, 0, 0, 15, 0, "P15D"), (0, 0, 0, 15, 0, "P15D")),
    "P4W": ((0, 0, 4, 0, 0, "P4W"), (0, 0, 4, 0, 0, "P4W")),
    "P3M": ((0, 3, 0, 0, 0, "P3M"), (0, 3, 0, 0, 0, "P3M")),
    "P1Y": ((1, 0, 0, 0, 0, "P1Y"), (1, 0, 0, 0, 0, "P1Y")),
    "P1Y6M": ((1, 6, 0, 0, 0, "P1Y6M"), (1, 6, 0, 0, 0, "P1Y6M")),
    "P1Y2M3W4D": ((1, 2, 3, 4, 0, "P1Y2M3W4D"), (1, 2, 3, 4, 0, "P1Y2M3W4D")),
    "P1Y2M3W4DT5H": ((1, 2, 3, 4, 5, "P1Y2M3W4DT5H"), DURATION_BAD),
    "  P2W\n": ((0, 0, 2, 0, 0, "P2W"), (0, 0, 2, 0, 0, "P2W")),
    "P012M": ((0, 12, 0, 0, 0, "P012M"), (0, 12, 0, 0, 0, "P12M")),
    "P1Y0D": ((1, 0, 0, 0, 0, "P1Y0D"), (1, 0, 0, 0, 0, "P1Y")),
    "P0Y1D": ((0, 0, 0, 1, 0, "P0Y1D"), (0, 0, 0, 1, 0, "P1D")),
    "P1DT0H": ((0, 0, 0, 1, 0, "P1DT0H"), DURATION_BAD),
    "P\u0661D": (SPAN_BAD, DURATION_BAD),  # digits are ASCII: nothing that only looks like one
    "P0D": (SPAN_ZERO, (0, 0, 0, 0, 0, "P0D")),
    "P00M": (SPAN_ZERO, (0, 0, 0, 0, 0, "P0D")),
    "P0Y0M0W0D": (SPAN_ZERO, (0, 0, 0, 0, 0, "P0D")),
    "PT0H": (SPAN_ZERO, DURATION_BAD),
    "P100000D": ((0, 0, 0, 100_000, 0, "P100000D"), (0, 0, 0, 100_000, 0, "P100000D")),
    "P100001D": (LONG, LONG),
    "P1000Y": ((1000, 0, 0, 0, 0, "P1000Y"), (1000, 0, 0, 0, 0, "P1000Y")),
    "P1000Y1D": (LONG, LONG),
    "P999Y13M": (LONG, LONG),
    "P8000Y": (LONG, LONG),
    "PT100001H": (LONG, DURATION_BAD),
    HUGE: (LONG, LONG),
    "P": (SPAN_BAD, DURATION_BAD),
    "PT": (SPAN_BAD, DURATION_BAD),
    "P1DT": (SPAN_BAD, DURATION_BAD),
    "PT1H30M": (SPAN_BAD, DURATION_BAD),
    "": (SPAN_BAD, DURATION_BAD),
    "   ": (SPAN_BAD, DURATION_BAD),
    "15D": (SPAN_BAD, DURATION_BAD),
    "P6": (SPAN_BAD, DURATION_BAD),
    "P-1D": (SPAN_BAD, DURATION_BAD),
    "P1.5D": (SPAN_BAD, DURATION_BAD),
    "PT1.5H": (SPAN_BAD, DURATION_BAD),
    "p1d": (SPAN_BAD, DURATION_BAD),
    "P6m": (SPAN_BAD, DURATION_BAD),
    "P1D1Y": (SPAN_BAD, DURATION_BAD),
    "P1H": (SPAN_BAD, DURATION_BAD),
    "P1D\nP1D": (SPAN_BAD, DURATION_BAD),
}


def _span_outcome(value: Any) -> Outcome:
    try:
        s = Span.parse(value)
    except ValueError as exc:
        return str(exc)
    return (s.years, s.months, s.weeks, s.days, s.hours, str(s))


def _duration_outcome(value: Any) -> Outcome:
    try:
        d = Duration.parse(value)
    except ValueError as exc:
        return str(exc)
    return (d.years, d.months, d.weeks, d.days, 0, str(d))


def _expected(outcome: Outcome, text: Any) -> Outcome:
    return outcome.format(text) if isinstance(outcome, str) else outcome


@pytest.mark.parametrize("text", list(TABLE))
def test_each_type_accepts_refuses_and_prints_as_before(text: str) -> None:
    span_outcome, duration_outcome = TABLE[text]
    assert _span_outcome(text) == _expected(span_outcome, text)
    assert _duration_outcome(text) == _expected(duration_outcome, text)


@pytest.mark.parametrize("text", list(TABLE))
def test_pydantic_gives_the_same_answer_as_parse(text: str) -> None:
    """A model field refuses exactly what ``parse`` refuses, with the same words."""
    kinds: tuple[type[Span] | type[Duration], ...] = (Span, Duration)
    for kind, outcome in zip(kinds, TABLE[text], strict=True):
        adapter: TypeAdapter[Any] = TypeAdapter(kind)
        if isinstance(outcome, str):
            with pytest.raises(ValidationError) as caught:
                adapter.validate_python(text)
            [error] = caught.value.errors(include_url=False)
            assert error["type"] == "value_error"
            assert error["msg"] == "Value error, " + outcome.format(text)
        else:
            value = adapter.validate_python(text)
            assert value == kind.parse(text)
            assert adapter.dump_json(value) == f'"{outcome[5]}"'.encode()
            assert adapter.validate_json(adapter.dump_json(value)) == value


@pytest.mark.parametrize("value", [5, 1.5, None, b"P1D", ["P1D"], {"d": "P1D"}, True])
def test_non_strings_are_refused(value: Any) -> None:
    assert _span_outcome(value) == SPAN_BAD.format(value)
    assert _duration_outcome(value) == DURATION_BAD.format(value)
    for kind, message in ((Span, SPAN_NOT_STRING), (Duration, DURATION_NOT_STRING)):
        with pytest.raises(ValidationError) as caught:
            TypeAdapter(kind).validate_python(value)
        [error] = caught.value.errors(include_url=False)
        assert error["msg"] == "Value error, " + message


def test_instances_pass_through_validation_and_serialise_as_text() -> None:
    class Holder(BaseModel):
        span: Span
        cadence: Duration

    span, cadence = Span.parse("P01D"), Duration.parse("P01D")
    held = Holder(span=span, cadence=cadence)
    assert held.span is span and held.cadence is cadence
    assert held.model_dump(mode="json") == {"span": "P01D", "cadence": "P1D"}
    assert held.model_dump()["span"] is span
    assert held.model_dump()["cadence"] is cadence
    assert Holder.model_validate_json(held.model_dump_json()) == held
    assert str(Span(days=3)) == ""


def test_json_schemas_are_unchanged() -> None:
    calendar = r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    assert TypeAdapter(Span).json_schema() == {
        "type": "string",
        "pattern": calendar + r"(?:T(\d+)H)?$",
    }
    assert TypeAdapter(Duration).json_schema() == {
        "type": "string",
        "pattern": calendar + "$",
        "description": "ISO 8601 calendar duration, e.g. P6M, P1Y, P30D",
        "examples": ["P6M", "P1Y", "P30D"],
    }


def test_equality_ordering_and_description() -> None:
    assert Span.parse("P01D") != Span.parse("P1D")  # the author's text is part of a span
    assert Span.parse(" P1D ") == Span.parse("P1D")
    assert Duration.parse("P01D") == Duration.parse("P1D")
    assert hash(Duration.parse("P01D")) == hash(Duration.parse("P1D"))
    assert Duration.parse("P4W") != Duration.parse("P28D")
    assert Duration.parse("P4W") <= Duration.parse("P28D") <= Duration.parse("P4W")
    assert not Duration.parse("P4W") < Duration.parse("P28D")
    assert Duration.parse("P3M") < Duration.parse("P100D") < Duration.parse("P6M")
    assert Duration.parse("P1Y") > Duration.parse("P52W") >= Duration.parse("P364D")
    assert sorted(map(Duration.parse, ["P1Y", "P2W", "P6M", "P30D"])) == [
        Duration.parse(t) for t in ("P2W", "P30D", "P6M", "P1Y")
    ]
    assert abs(Duration.parse("P1Y6M").approx_days - 547.86375) < 1e-9
    with pytest.raises(TypeError):
        _ = Span.parse("P1D") < Span.parse("P2D")  # type: ignore[operator]
    with pytest.raises(AttributeError):
        _ = Duration.parse("P1D") < 3  # type: ignore[operator]
    assert Span.parse("P1Y2M3W4DT5H").describe() == "1 year 2 months 3 weeks 4 days 5 hours"
    assert Span.parse("PT1H").describe() == "1 hour"
    assert Span.parse("P1Y0D").describe() == "1 year"


def test_calendar_arithmetic() -> None:
    t0 = datetime(2027, 1, 31, 9, 30, tzinfo=UTC)
    assert Span.parse("P1M").add(t0) == datetime(2027, 2, 28, 9, 30, tzinfo=UTC)
    assert Span.parse("P1MT24H").add(t0) == datetime(2027, 3, 1, 9, 30, tzinfo=UTC)
    assert Span.parse("PT72H").add(t0) == t0 + timedelta(hours=72)
    assert Span.parse("P1Y").add_date(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Span.parse("PT25H").add_date(date(2026, 1, 1)) == date(2026, 1, 2)
    east = timezone(timedelta(hours=2))
    assert Span.parse("P1M").add(datetime(2026, 3, 31, 12, tzinfo=east)) == datetime(
        2026, 4, 30, 12, tzinfo=east
    )
    assert Duration.parse("P1M").add_to(date(2026, 1, 31)) == date(2026, 2, 28)
    assert Duration.parse("P1M").add_to(date(2026, 12, 31)) == date(2027, 1, 31)
    assert Duration.parse("P11M").add_to(date(2026, 12, 31)) == date(2027, 11, 30)
    assert Duration.parse("P1Y").add_to(date(2024, 2, 29)) == date(2025, 2, 28)
    assert Duration.parse("P0D").add_to(date(2026, 5, 5)) == date(2026, 5, 5)
    assert type(Duration.parse("P1D").add_to(datetime(2026, 1, 1, 12, tzinfo=UTC))) is date


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(*(st.integers(min_value=0, max_value=100_000) for _ in range(5))),
    st.dates(max_value=date(8999, 12, 31)),
)
def test_whatever_is_accepted_can_be_added_to_any_date_before_9000(
    parts: tuple[int, int, int, int, int], start: date
) -> None:
    """Too long is refused when read, so computing a deadline never overflows the calendar."""
    text = _render(parts, (0, 0, 0, 0, 0))
    for parse, add in (
        (Span.parse, lambda d, day: d.add_date(day)),
        (Duration.parse, lambda d, day: d.add_to(day)),
    ):
        try:
            duration = parse(text)
        except ValueError:
            continue
        assert add(duration, start) >= start


def _render(parts: tuple[int, int, int, int, int], zeros: tuple[int, ...]) -> str:
    units = ("Y", "M", "W", "D")
    text = "P" + "".join(
        f"{'0' * pad}{value}{unit}"
        for value, unit, pad in zip(parts[:4], units, zeros[:4], strict=True)
        if value or pad
    )
    if parts[4] or zeros[4]:
        text += f"T{'0' * zeros[4]}{parts[4]}H"
    return text


_part = st.integers(min_value=0, max_value=100_000)
_small = st.integers(min_value=0, max_value=400)
_parts = st.tuples(_part, _part, _part, _part, _part)
_zeros = st.tuples(*(st.integers(min_value=0, max_value=1) for _ in range(5)))
_alphabet_text = st.text(alphabet="PYMWDTH0123456789 .-", max_size=14)


@settings(max_examples=300, deadline=None)
@given(_parts, _zeros)
def test_parse_print_parse_round_trips(
    parts: tuple[int, int, int, int, int], zeros: tuple[int, ...]
) -> None:
    text = _render(parts, zeros)
    if too_long(Parts(*parts, text)):
        with pytest.raises(ValueError, match="implausibly long"):
            Span.parse(text)
        if not parts[4] and not zeros[4]:
            with pytest.raises(ValueError, match="implausibly long"):
                Duration.parse(text)
        return
    if any(parts):
        span = Span.parse(text)
        assert (span.years, span.months, span.weeks, span.days, span.hours) == parts
        assert str(span) == text
        assert Span.parse(str(span)) == span
    if text != "P" and not parts[4] and not zeros[4]:
        cadence = Duration.parse(text)
        assert (cadence.years, cadence.months, cadence.weeks, cadence.days) == parts[:4]
        assert Duration.parse(str(cadence)) == cadence
        assert str(Duration.parse(str(cadence))) == str(cadence)


@settings(max_examples=300, deadline=None)
@given(_alphabet_text)
def test_any_text_either_round_trips_or_is_refused_by_both_rules(text: str) -> None:
    span, cadence = _span_outcome(text), _duration_outcome(text)
    if isinstance(span, tuple):
        assert _span_outcome(span[5]) == span
    if isinstance(cadence, tuple):
        assert _duration_outcome(cadence[5]) == cadence
        # every calendar duration Span can hold is one Duration reads the same way
        if isinstance(span, tuple):
            assert span[:5] == cadence[:5]
    elif "T" not in text:
        assert isinstance(span, str)


def _outcome_of(call: Any) -> object:
    try:
        return call()
    except (ValueError, OverflowError) as exc:
        return (type(exc), str(exc))


@settings(max_examples=300, deadline=None)
@given(
    st.tuples(_small, _small, _small, _small).filter(any),
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
)
def test_span_and_duration_agree_on_calendar_arithmetic(
    parts: tuple[int, int, int, int], start: date
) -> None:
    text = _render((*parts, 0), (0, 0, 0, 0, 0))
    span, cadence = Span.parse(text), Duration.parse(text)
    assert _outcome_of(lambda: span.add_date(start)) == _outcome_of(lambda: cadence.add_to(start))
    moment = datetime(start.year, start.month, start.day, tzinfo=UTC)
    expected = _outcome_of(lambda: cadence.add_to(start))
    got = _outcome_of(lambda: span.add(moment))
    if isinstance(got, datetime):
        assert got.date() == expected and got.time() == moment.time() and got.tzinfo is UTC
    else:
        assert got == expected
