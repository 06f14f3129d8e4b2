"""Review deadlines from the framework's external_review section."""

from __future__ import annotations

from datetime import date

import pytest

from scaleguard.framework.library import Library
from scaleguard.review.deadlines import commentary_deadline, review_window_end, share_deadline

REVIEW = Library().get("anthropic-rsp@3.4").doc.external_review
SUBMITTED = date(2026, 10, 1)


def test_the_framework_supplies_the_periods() -> None:
    assert REVIEW is not None
    assert (str(REVIEW.share_within), str(REVIEW.commentary_within)) == ("P7D", "P30D")


@pytest.mark.parametrize(
    ("first_access", "as_of", "state"),
    [
        (None, date(2026, 10, 8), "pending"),
        (None, date(2026, 10, 9), "overdue"),
        (date(2026, 10, 8), date(2026, 12, 1), "met"),
        (date(2026, 10, 9), date(2026, 12, 1), "late"),
    ],
)
def test_share_deadline(first_access: date | None, as_of: date, state: str) -> None:
    d = share_deadline(REVIEW, "R", submitted_on=SUBMITTED, first_access=first_access, as_of=as_of)
    assert d.state == state
    assert d.due == date(2026, 10, 8)
    assert d.overdue == (state == "overdue")


def test_share_deadline_waits_for_the_submission() -> None:
    d = share_deadline(REVIEW, "R", submitted_on=None, first_access=None, as_of=date(2030, 1, 1))
    assert d.state == "not started" and d.due is None and not d.overdue


@pytest.mark.parametrize(
    ("statement_on", "as_of", "state"),
    [
        (None, date(2026, 10, 31), "pending"),
        (None, date(2026, 11, 1), "overdue"),
        (date(2026, 10, 31), date(2026, 12, 1), "met"),
        (date(2026, 11, 2), date(2026, 12, 1), "late"),
    ],
)
def test_commentary_deadline(statement_on: date | None, as_of: date, state: str) -> None:
    d = commentary_deadline(
        REVIEW, "R", received_on=SUBMITTED, statement_on=statement_on, as_of=as_of
    )
    assert (d.state, d.due) == (state, date(2026, 10, 31))


def test_without_an_external_review_section_there_is_no_deadline() -> None:
    d = commentary_deadline(None, "R", received_on=SUBMITTED, statement_on=None, as_of=SUBMITTED)
    assert d.state == "none" and not d.overdue
    assert review_window_end(None, SUBMITTED) == SUBMITTED
    assert review_window_end(REVIEW, SUBMITTED) == date(2026, 10, 31)
