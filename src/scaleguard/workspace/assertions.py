"""Safeguard attestations and asserted facts: claims a person makes, with a source.

A framework's decision depends on two kinds of claims nobody can compute:
"model M meets safeguard standard S" (an attestation, pointing at the proof)
and facts that conditions name but no evaluation measures ("we have publicly
acknowledged the adjustment"). Both name who made the claim and where the
proof is, and both go into the ledger; a later claim supersedes an earlier
one, which stays on record.
"""

from __future__ import annotations

import json
import math
import re

from scaleguard.errors import InputError
from scaleguard.store import repo
from scaleguard.store.records import Attestation, Fact
from scaleguard.textcheck import http_url
from scaleguard.workspace.vocabulary import check_fact_name, check_standard
from scaleguard.workspace.workspace import Workspace, current_user

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
MAX_TEXT = 5000


def check_id(value: str, what: str, example: str) -> str:
    if not _ID.match(value):
        raise InputError(
            f"invalid {what} {value[:100]!r}",
            hint=f"use lowercase letters, digits, '.', '_' or '-' (e.g. {example})",
        )
    return value


def check_url(value: str, what: str) -> str:
    """Only absolute http(s) URLs: a link a reader follows is never javascript: or data:."""
    try:
        return http_url(value)
    except ValueError as exc:
        raise InputError(
            f"{what} {value[:100]!r} is not a URL: {exc}",
            hint="give an absolute URL such as https://wiki.example.com/safeguards/asl3",
        ) from None


def check_person(value: str | None) -> str:
    who = (value if value is not None else current_user()).strip()
    if not who or len(who) > 200 or any(ord(c) < 32 for c in who):
        raise InputError("--by must name a person (1 to 200 characters)", hint="e.g. --by alice")
    return who


def attest(
    ws: Workspace,
    model: str,
    standard: str,
    *,
    by: str,
    evidence_url: str,
    note: str | None = None,
) -> Attestation:
    """Record that ``model`` meets safeguard ``standard``; the model must be registered."""
    check_id(standard, "safeguard standard id", "asl-3-deployment")
    check_standard(standard, ws.library())
    check_url(evidence_url, "--evidence")
    who = check_person(by)
    if note is not None and not (0 < len(note) <= MAX_TEXT):
        raise InputError(f"--note must be 1 to {MAX_TEXT} characters")
    with ws.store.write() as tx:
        repo.model(tx, model)
        return repo.add_attestation(
            tx,
            model=model,
            standard=standard,
            attested_by=who,
            evidence_url=evidence_url,
            note=note,
        )


def parse_fact_value(text: str) -> bool | int | float:
    """``true``/``false`` or a finite number, exactly as JSON writes them."""
    try:
        value = json.loads(text.strip())
    except ValueError:
        value = None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and abs(value) <= 2**53 - 1:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise InputError(
        f"fact value {text[:100]!r} is neither true/false nor a number",
        hint="facts are booleans (true, false) or numbers (e.g. 4, 0.25, 1e26)",
    )


def assert_fact(
    ws: Workspace,
    name: str,
    value: bool | int | float,
    *,
    source: str,
    by: str,
    model: str | None = None,
) -> Fact:
    """Assert a fact, about one model or the whole workspace; the newest assertion counts."""
    check_id(name, "fact name", "marginal_risk_small")
    check_fact_name(name, ws.library())
    check_url(source, "--source")
    who = check_person(by)
    with ws.store.write() as tx:
        if model is not None:
            repo.model(tx, model)
        return repo.add_fact(
            tx, name=name, value=value, source=source, asserted_by=who, model=model
        )
