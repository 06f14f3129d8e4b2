"""Load usage policies: YAML → typed model → cross-checks, every problem at once.

Reuses the positioned YAML reader of the framework loader, so each problem
carries ``file:line:column``, the JSON path and a hint.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from scaleguard.errors import FrameworkError, InputError, NotFoundError, Problem
from scaleguard.framework.fieldhints import key_problem
from scaleguard.framework.yamlsource import PathPart, SourceMap, read_yaml
from scaleguard.usage.model import PolicyDocument, UsagePolicy, red_line_problem

BUILTIN_PACKAGE = "scaleguard.usage.builtin"
DEFAULT_POLICY = "scaleguard-usage@1.0"


class UsagePolicyError(InputError):
    """A usage policy or contract document failed to load or validate."""


@dataclass(frozen=True)
class LoadedPolicy:
    doc: PolicyDocument
    origin: str

    @property
    def policy(self) -> UsagePolicy:
        return self.doc.policy

    @property
    def ref(self) -> str:
        return self.doc.policy.ref

    @cached_property
    def digest(self) -> str:
        """sha256 of the canonical JSON form: same content, same digest, whatever the layout."""
        return hashlib.sha256(canonical_json(self.doc)).hexdigest()


def canonical_json(doc: BaseModel) -> bytes:
    data = doc.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def read_document(data: bytes | str, origin: str, *, kind: str) -> tuple[Any, SourceMap]:
    """The positioned YAML reader, with its errors re-labelled for ``kind`` documents."""
    if isinstance(data, bytes | str) and not data.strip():
        raise UsagePolicyError(
            f"{origin} is empty", hint=f"a {kind} starts with 'schema_version: 1'"
        )
    try:
        raw, source = read_yaml(data, origin)
    except FrameworkError as exc:
        raise UsagePolicyError(
            exc.message.replace("framework document", kind),
            hint=exc.hint.replace("framework document", kind),
            problems=exc.problems,
        ) from None
    if not isinstance(raw, dict):
        raise UsagePolicyError(
            f"{origin} does not hold a mapping at the top level",
            hint=f"a {kind} starts with 'schema_version: 1'",
            problems=[source.problem((), "expected a mapping")],
        )
    return raw, source


def load_policy_bytes(data: bytes | str, origin: str) -> LoadedPolicy:
    raw, source = read_document(data, origin, kind="usage policy")
    problems: list[Problem] = []
    doc: PolicyDocument | None = None
    try:
        doc = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        problems.extend(pydantic_problems(exc, source, PolicyDocument))
    cross = _cross_check(raw, source)
    known = {p.message for p in cross}
    problems = [p for p in problems if p.message not in known] + cross
    if problems or doc is None:
        problems = sort_problems(problems)
        raise UsagePolicyError(
            f"{origin}: {len(problems)} problem(s) in the usage policy",
            hint="fix them all and run 'scaleguard usage validate' again",
            problems=problems,
        )
    return LoadedPolicy(doc=doc, origin=origin)


def load_policy_file(path: str | Path) -> LoadedPolicy:
    return load_policy_bytes(read_file(Path(path)), str(path))


def read_file(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise UsagePolicyError(
            f"{p}: no such file",
            hint=f"check the path, or name the built-in policy as {DEFAULT_POLICY}",
        ) from None
    except IsADirectoryError:
        raise UsagePolicyError(f"{p} is a directory", hint="name a .yaml file") from None
    except OSError as exc:
        raise UsagePolicyError(f"{p}: cannot read ({exc.strerror})") from None


def builtin_refs() -> list[str]:
    out = []
    for entry in resources.files(BUILTIN_PACKAGE).iterdir():
        if entry.name.endswith(".yaml"):
            out.append(entry.name.removesuffix(".yaml"))
    return sorted(out)


_CACHE: dict[str, LoadedPolicy] = {}


def load_policy(ref: str | None = None) -> LoadedPolicy:
    """A built-in policy by ``ID@VERSION`` (default: the built-in one) or a YAML file path."""
    ref = ref or DEFAULT_POLICY
    cached = _CACHE.get(ref)
    if cached is not None:
        return cached
    if "@" in ref and not ref.endswith((".yaml", ".yml")):
        name = f"{ref}.yaml"
        entry = resources.files(BUILTIN_PACKAGE).joinpath(name)
        if not entry.is_file():
            raise NotFoundError(
                f"no built-in usage policy {ref!r}",
                hint=f"built-in: {', '.join(builtin_refs())}; or give a YAML file path",
            )
        loaded = load_policy_bytes(entry.read_bytes(), f"builtin:{name}")
        _CACHE[ref] = loaded
        return loaded
    return load_policy_file(ref)


# -- pydantic errors -> problems ------------------------------------------------


def pydantic_problems(
    exc: ValidationError, source: SourceMap, root: type[BaseModel]
) -> list[Problem]:
    return [_problem(err, source, root) for err in exc.errors()]


def _problem(err: Any, source: SourceMap, root: type[BaseModel]) -> Problem:
    loc: tuple[PathPart, ...] = tuple(err["loc"])
    kind: str = err["type"]
    msg: str = err["msg"]
    value = err.get("input")
    msg = msg.removeprefix("Value error, ")
    structural = key_problem(err, source, root)
    if structural is not None:
        return structural
    hint = ""
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        hint = f'quote it: "{value}" (unquoted, YAML reads it as a number)'
    elif kind.startswith("date"):
        hint = "write dates as YYYY-MM-DD, e.g. 2027-06-30"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] in ("id", "clause", "category"):
        hint = "ids use lower case letters, digits, '.', '_' and '-' (e.g. 'weapons.cbrn')"
    elif kind == "literal_error":
        hint = "use one of the values listed"
    elif kind in ("list_type", "dict_type", "model_type"):
        hint = "check the indentation: this value has the wrong shape"
    return source.problem(loc, msg, hint)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for p in problems:
        key = (p.line, p.column, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return sorted(out, key=lambda p: (p.line or 0, p.column or 0, p.message))


# -- cross checks over the raw data (shapes not yet trusted) -----------------------


def _cross_check(raw: dict[str, Any], source: SourceMap) -> list[Problem]:
    problems: list[Problem] = []
    policy = raw.get("policy")
    if not isinstance(policy, dict):
        return problems
    clauses = policy.get("clauses")
    if not isinstance(clauses, list):
        return problems
    seen: dict[str, int] = {}
    for i, clause in enumerate(clauses):
        if not isinstance(clause, dict):
            continue
        cid = clause.get("id")
        if isinstance(cid, str):
            if cid in seen:
                problems.append(
                    source.problem(
                        ("policy", "clauses", i, "id"),
                        f"duplicate clause id {cid!r} (first used by clause {seen[cid]})",
                        "give every clause its own id",
                    )
                )
            else:
                seen[cid] = i
        problems.extend(_check_clause(clause, ("policy", "clauses", i), source))
    return problems


def _check_clause(
    clause: dict[str, Any], path: tuple[PathPart, ...], source: SourceMap
) -> list[Problem]:
    problems: list[Problem] = []
    why = red_line_problem(clause.get("force"), clause.get("waivable"))
    if why:
        problems.append(source.problem((*path, "waivable"), why, "red lines are never waivable"))
    rules = clause.get("rules")
    if isinstance(rules, list):
        ids: set[str] = set()
        for j, rule in enumerate(rules):
            rid = rule.get("id") if isinstance(rule, dict) else None
            if isinstance(rid, str):
                if rid in ids:
                    problems.append(
                        source.problem((*path, "rules", j, "id"), f"duplicate rule id {rid!r}")
                    )
                ids.add(rid)
    examples = clause.get("examples")
    if isinstance(examples, dict):
        pos = examples.get("positive")
        ben = examples.get("benign")
        if isinstance(pos, list) and isinstance(ben, list):
            positives = {_norm(t): k for k, t in enumerate(pos) if isinstance(t, str)}
            for k, text in enumerate(ben):
                if isinstance(text, str) and _norm(text) in positives:
                    problems.append(
                        source.problem(
                            (*path, "examples", "benign", k),
                            "this benign example is also listed as a positive example",
                            "an example cannot be both; remove one of them",
                        )
                    )
    return problems


def _norm(text: str) -> str:
    return " ".join(text.lower().split())
