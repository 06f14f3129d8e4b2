"""External review of Risk Reports: reviewers, conflict screening, the review itself.

Library entry points: :func:`add_reviewer`, :func:`declare_interest`,
:func:`screen_reviewer`, :func:`assign`, :func:`record_access`,
:func:`comment`, :func:`submit_statement`, :func:`respond`, :func:`status`.
Conflict rules (:mod:`~scaleguard.review.conflicts`) and deadlines
(:mod:`~scaleguard.review.deadlines`) are pure.
"""

from scaleguard.review.model import InterestSpec, ReviewerSpec, Screening
from scaleguard.review.service import (
    ReviewStatus,
    add_reviewer,
    assign,
    comment,
    declare_interest,
    record_access,
    respond,
    screen_reviewer,
    status,
    submit_statement,
)

__all__ = [
    "InterestSpec",
    "ReviewStatus",
    "ReviewerSpec",
    "Screening",
    "add_reviewer",
    "assign",
    "comment",
    "declare_interest",
    "record_access",
    "respond",
    "screen_reviewer",
    "status",
    "submit_statement",
]
