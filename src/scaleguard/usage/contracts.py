"""Customer contracts: overlays that tighten a policy, never lift a red line.

A contract may, for one customer:

* ``tighten`` any clause: lower its embedding thresholds (``lower_thresholds_by``)
  or raise its force (restricted → prohibited → red-line);
* add its own ``clauses`` (same schema as the policy's);
* grant ``exceptions`` to *waivable* clauses, each with a scope, a reason, an
  approver and an expiry date;
* allow the audit to retain request text (``retain_text``).

A contract's benign examples calibrate only the contract's own clauses, never
the policy's (see :mod:`scaleguard.usage.screen`); still, a benign example that
contains a red line's positive example word for word is refused, naming both,
since it can only be an attempt to mark a red-line request as harmless.

Anything that narrows, exempts, expires, loosens or otherwise lifts a red
line is an error naming the line of the contract and the red line. There is
no flag that overrides this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from pydantic import Field, ValidationError

from scaleguard.errors import Problem
from scaleguard.framework.yamlsource import PathPart, SourceMap
from scaleguard.usage.loader import (
    LoadedPolicy,
    UsagePolicyError,
    canonical_json,
    pydantic_problems,
    read_document,
    read_file,
    sort_problems,
)
from scaleguard.usage.model import FORCE_ORDER, ID_PATTERN, Clause, Force, _Strict


def _today() -> date:
    from datetime import UTC, datetime

    return datetime.now(UTC).date()


RED_LINE_HINT = "red lines cannot be waived, narrowed or expired by any contract; remove this"


class Tighten(_Strict):
    clause: str = Field(pattern=ID_PATTERN)
    lower_thresholds_by: float = Field(default=0.0, ge=0.0, le=1.0)
    force: Force | None = None
    note: str | None = None


class ContractException(_Strict):
    clause: str = Field(pattern=ID_PATTERN)
    scope: str = Field(min_length=3)
    reason: str = Field(min_length=3)
    approver: str = Field(min_length=1)
    expires: date


class Contract(_Strict):
    customer: str = Field(pattern=ID_PATTERN)
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]*$")
    policy: str = Field(min_length=1)
    retain_text: bool = False
    tighten: list[Tighten] = Field(default_factory=list)
    clauses: list[Clause] = Field(default_factory=list)
    exceptions: list[ContractException] = Field(default_factory=list)


class ContractDocument(_Strict):
    schema_version: Literal[1]
    contract: Contract


@dataclass(frozen=True)
class LoadedContract:
    doc: ContractDocument
    origin: str
    digest: str

    @property
    def contract(self) -> Contract:
        return self.doc.contract

    @property
    def ref(self) -> str:
        return f"{self.contract.customer}@{self.contract.version}"


@dataclass
class RefusedContract(UsagePolicyError):
    """The contract would lift a red line (or is otherwise invalid); nothing was applied."""

    red_lines: list[str] = field(default_factory=list)


def load_contract_bytes(
    data: bytes | str,
    origin: str,
    policy: LoadedPolicy,
    *,
    today: date | None = None,
    check_expiry: bool = True,
) -> LoadedContract:
    """Validate a contract against ``policy``; RefusedContract lists every problem.

    ``check_expiry=False`` re-reads a contract accepted earlier: an exception that has
    expired since is not an error then; it simply stops applying (see
    :func:`effective_clauses`).
    """
    raw, source = read_document(data, origin, kind="contract")
    problems: list[Problem] = []
    doc: ContractDocument | None = None
    try:
        doc = ContractDocument.model_validate(raw)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, source, ContractDocument))
    red = {c.id for c in policy.policy.red_lines}
    problems = [_name_red_line(p, raw, red) for p in problems]
    problems.extend(
        check_against_policy(raw, source, policy, today or _today(), check_expiry=check_expiry)
    )
    if problems or doc is None:
        problems = sort_problems(problems)
        lifted = sorted({r for r in red if any(r in p.message for p in problems)})
        summary = (
            f"{origin}: refused: it would lift red line(s) {', '.join(lifted)}"
            if lifted
            else f"{origin}: {len(problems)} problem(s) in the contract"
        )
        raise RefusedContract(
            summary,
            hint="no contract can lift a red line; fix the problems and run "
            "'scaleguard usage contracts validate' again",
            problems=problems,
            red_lines=lifted,
        )
    digest = _digest(doc)
    return LoadedContract(doc=doc, origin=origin, digest=digest)


def load_contract_file(
    path: str, policy: LoadedPolicy, *, today: date | None = None
) -> LoadedContract:
    from pathlib import Path

    return load_contract_bytes(read_file(Path(path)), path, policy, today=today)


def _digest(doc: ContractDocument) -> str:
    import hashlib

    return hashlib.sha256(canonical_json(doc)).hexdigest()


def _mentions(value: Any, ids: set[str]) -> set[str]:
    if isinstance(value, str):
        return {i for i in ids if i == value.strip()}
    if isinstance(value, dict):
        out: set[str] = set()
        for k, v in value.items():
            out |= _mentions(k, ids) | _mentions(v, ids)
        return out
    if isinstance(value, list):
        out = set()
        for v in value:
            out |= _mentions(v, ids)
        return out
    return set()


def _at(raw: Any, path: str | None) -> Any:
    """The raw value at a JSON path like ``$.contract.waivers[0]`` (best effort)."""
    if not path:
        return None
    value = raw
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", path.removeprefix("$")):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return value


def _name_red_line(problem: Problem, raw: Any, red: set[str]) -> Problem:
    """An unknown key whose value names a red line is an attempt to lift it: say so."""
    if not problem.message.startswith("unknown key"):
        return problem
    named = _mentions(_at(raw, problem.path), red)
    if not named and problem.path and "." in problem.path.removeprefix("$."):
        # The key's siblings: an unknown 'expires' next to 'clause: <red line>'.
        parent = _at(raw, problem.path.rsplit(".", 1)[0])
        if isinstance(parent, dict):
            named = _mentions(parent.get("clause"), red) | _mentions(parent.get("id"), red)
    if not named:
        return problem
    return Problem(
        message=f"{problem.message} tries to change red line {', '.join(sorted(named))}: "
        "a contract cannot lift a red line",
        hint=RED_LINE_HINT,
        file=problem.file,
        line=problem.line,
        column=problem.column,
        path=problem.path,
    )


def check_against_policy(
    raw: dict[str, Any],
    source: SourceMap,
    policy: LoadedPolicy,
    today: date,
    *,
    check_expiry: bool = True,
) -> list[Problem]:
    """Cross-checks over the raw document (shapes not yet trusted)."""
    problems: list[Problem] = []
    contract = raw.get("contract")
    if not isinstance(contract, dict):
        return problems
    clauses = {c.id: c for c in policy.policy.clauses}
    base = ("contract",)
    ref = contract.get("policy")
    if isinstance(ref, str) and ref not in (policy.ref, policy.policy.id):
        problems.append(
            source.problem(
                (*base, "policy"),
                f"contract is written for {ref!r} but is applied to {policy.ref}",
                f"set 'policy: {policy.ref}'",
            )
        )
    own_ids: set[str] = set()
    red_examples = _red_line_examples(policy)
    for i, added in enumerate(_list(contract.get("clauses"))):
        cid = added.get("id") if isinstance(added, dict) else None
        if isinstance(added, dict):
            problems.extend(_check_benign(added, (*base, "clauses", i), source, red_examples))
        if isinstance(cid, str):
            if cid in clauses:
                what = "red line" if clauses[cid].red_line else "clause"
                problems.append(
                    source.problem(
                        (*base, "clauses", i, "id"),
                        f"clause {cid!r} replaces the policy's {what} {cid!r}"
                        + (
                            ": a contract cannot redefine a red line"
                            if clauses[cid].red_line
                            else ""
                        ),
                        RED_LINE_HINT
                        if clauses[cid].red_line
                        else "use 'tighten' for policy clauses",
                    )
                )
            own_ids.add(cid)
    for i, entry in enumerate(_list(contract.get("tighten"))):
        if not isinstance(entry, dict):
            continue
        problems.extend(_check_tighten(entry, (*base, "tighten", i), source, clauses, own_ids))
    for i, entry in enumerate(_list(contract.get("exceptions"))):
        if not isinstance(entry, dict):
            continue
        problems.extend(
            _check_exception(
                entry, (*base, "exceptions", i), source, clauses, today if check_expiry else None
            )
        )
    return problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _words(text: str) -> str:
    """Text as its words, case and accents folded, padded with spaces for phrase search."""
    from scaleguard.usage.normalise import fold

    return " " + " ".join(re.findall(r"\w+", fold(text))) + " "


def _red_line_examples(policy: LoadedPolicy) -> list[tuple[Clause, str, str]]:
    """Each red line's positive examples: (red line, example, its words)."""
    out = []
    for clause in policy.policy.red_lines:
        for example in clause.examples.positive:
            words = _words(example)
            if words.strip():
                out.append((clause, example, words))
    return out


def _check_benign(
    added: dict[str, Any],
    path: tuple[PathPart, ...],
    source: SourceMap,
    red_examples: list[tuple[Clause, str, str]],
) -> list[Problem]:
    """A contract clause's benign example may not contain a red line's positive example."""
    examples = added.get("examples")
    if not isinstance(examples, dict):
        return []
    out: list[Problem] = []
    for j, benign in enumerate(_list(examples.get("benign"))):
        if not isinstance(benign, str):
            continue
        words = _words(benign)
        for red, example, example_words in red_examples:
            if example_words in words:
                out.append(
                    source.problem(
                        (*path, "examples", "benign", j),
                        f"this benign example contains red line {red.id} ({red.title})'s "
                        f"example {example!r}: a contract cannot mark a red-line request "
                        "as harmless",
                        RED_LINE_HINT,
                    )
                )
                break
    return out


def _check_tighten(
    entry: dict[str, Any],
    path: tuple[PathPart, ...],
    source: SourceMap,
    clauses: dict[str, Clause],
    own: set[str],
) -> list[Problem]:
    out: list[Problem] = []
    cid = entry.get("clause")
    if not isinstance(cid, str):
        return out
    clause = clauses.get(cid)
    if clause is None:
        if cid not in own:
            out.append(
                source.problem(
                    (*path, "clause"), f"no clause {cid!r} in the policy", _known(clauses)
                )
            )
        return out
    lower = entry.get("lower_thresholds_by")
    if isinstance(lower, int | float) and not isinstance(lower, bool) and lower < 0:
        msg = f"a negative 'lower_thresholds_by' raises the thresholds of {cid!r}, loosening it"
        if clause.red_line:
            msg += f"; {cid!r} is a red line"
        out.append(source.problem((*path, "lower_thresholds_by"), msg, "use a value >= 0"))
    force = entry.get("force")
    if (
        isinstance(force, str)
        and force in FORCE_ORDER
        and FORCE_ORDER[force] < FORCE_ORDER[clause.force]
    ):
        msg = f"force {force!r} is weaker than the policy's {clause.force!r} for {cid!r}"
        if clause.red_line:
            msg += f": this would lift red line {cid}"
        out.append(
            source.problem(
                (*path, "force"),
                msg,
                RED_LINE_HINT if clause.red_line else "a contract may only raise force",
            )
        )
    return out


def _check_exception(
    entry: dict[str, Any],
    path: tuple[PathPart, ...],
    source: SourceMap,
    clauses: dict[str, Clause],
    today: date | None,
) -> list[Problem]:
    out: list[Problem] = []
    cid = entry.get("clause")
    if not isinstance(cid, str):
        return out
    clause = clauses.get(cid)
    if clause is None:
        out.append(
            source.problem((*path, "clause"), f"no clause {cid!r} in the policy", _known(clauses))
        )
        return out
    if clause.red_line:
        out.append(
            source.problem(
                (*path, "clause"),
                f"an exception to red line {cid} ({clause.title}) is not allowed: red lines are "
                "not waivable",
                RED_LINE_HINT,
            )
        )
        return out
    expires = entry.get("expires")
    if isinstance(expires, str) and today is not None:
        try:
            when = date.fromisoformat(expires)
        except ValueError:
            return out
        if when < today:
            out.append(
                source.problem(
                    (*path, "expires"),
                    f"the exception to {cid!r} expired on {when.isoformat()}",
                    "renew it with a new approver and a future date, or remove it",
                )
            )
    return out


def _known(clauses: dict[str, Clause]) -> str:
    return "clauses: " + ", ".join(sorted(clauses))


# -- the effective policy for one customer ---------------------------------------


@dataclass(frozen=True)
class EffectiveClause:
    clause: Clause
    force: str
    lower_by: float
    exception: ContractException | None
    origin: str  # "policy" or "contract"

    @property
    def red_line(self) -> bool:
        return self.clause.red_line or self.force == "red-line"


def effective_clauses(
    policy: LoadedPolicy, contract: LoadedContract | None, *, today: date | None = None
) -> list[EffectiveClause]:
    """The clauses a customer is screened against; expired exceptions are ignored."""
    today = today or _today()
    out: list[EffectiveClause] = []
    tightened = {t.clause: t for t in (contract.contract.tighten if contract else [])}
    exceptions = {
        e.clause: e
        for e in (contract.contract.exceptions if contract else [])
        if e.expires >= today
    }
    for clause in policy.policy.clauses:
        t = tightened.get(clause.id)
        force = clause.force
        if t is not None and t.force is not None and FORCE_ORDER[t.force] > FORCE_ORDER[force]:
            force = t.force
        exception = None if clause.red_line else exceptions.get(clause.id)
        out.append(
            EffectiveClause(clause, force, t.lower_thresholds_by if t else 0.0, exception, "policy")
        )
    for clause in contract.contract.clauses if contract else []:
        t = tightened.get(clause.id)
        force = clause.force
        if t is not None and t.force is not None and FORCE_ORDER[t.force] > FORCE_ORDER[force]:
            force = t.force
        out.append(
            EffectiveClause(clause, force, t.lower_thresholds_by if t else 0.0, None, "contract")
        )
    return out
