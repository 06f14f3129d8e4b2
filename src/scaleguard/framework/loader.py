"""Load a framework document: YAML → typed model → cross-reference checks.

All problems are collected and reported together, each with
``file:line:column``, the JSON path and a hint, so an author fixes a document
in one pass rather than one error per run.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import types
import typing
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from scaleguard.errors import FrameworkError, Problem
from scaleguard.framework.conditions import Condition, parse_condition
from scaleguard.framework.facts import BUILTIN_FACTS, FactSpec
from scaleguard.framework.model import FrameworkDocument, SourceRef
from scaleguard.framework.yamlsource import PathPart, SourceMap, json_path, read_yaml


@dataclass(frozen=True)
class LoadedFramework:
    """A validated framework document plus what was derived while checking it."""

    doc: FrameworkDocument
    origin: str
    conditions: dict[str, Condition] = field(default_factory=dict)
    facts: dict[str, FactSpec] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return self.doc.ref

    @property
    def digest(self) -> str:
        """sha256 of the canonical JSON form: same content, same digest, whatever the layout."""
        return hashlib.sha256(canonical_json(self.doc)).hexdigest()

    def source_url(self, ref: SourceRef) -> str:
        if ref.url is not None:
            return ref.url
        for doc in self.doc.framework.sources:
            if doc.id == ref.doc:
                return doc.url
        raise KeyError(ref.doc)  # the loader guarantees this cannot happen


def canonical_json(doc: FrameworkDocument) -> bytes:
    data = doc.model_dump(mode="json", exclude_none=True)
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def load_file(path: str | Path) -> LoadedFramework:
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise FrameworkError(
            f"{p}: no such file", hint="check the path, or name a built-in framework as ID@VERSION"
        ) from None
    except IsADirectoryError:
        raise FrameworkError(f"{p} is a directory", hint="name a .yaml file") from None
    except OSError as exc:
        raise FrameworkError(f"{p}: cannot read ({exc.strerror})") from None
    return load_bytes(data, str(p))


def load_bytes(data: bytes | str, origin: str) -> LoadedFramework:
    raw, source = read_yaml(data, origin)
    if not isinstance(raw, dict):
        raise FrameworkError(
            f"{origin} does not hold a mapping at the top level",
            hint="a framework document starts with 'schema_version: 1' and 'framework:'",
            problems=[source.problem((), "expected a mapping of sections")],
        )
    try:
        doc = FrameworkDocument.model_validate(raw)
    except ValidationError as exc:
        problems = [_problem_from_pydantic(err, source) for err in exc.errors()]
        raise FrameworkError(
            f"{origin}: {len(problems)} problem(s) in the framework document",
            problems=_sorted(problems),
        ) from None
    checker = _CrossChecker(doc, source)
    checker.run()
    if checker.problems:
        raise FrameworkError(
            f"{origin}: {len(checker.problems)} problem(s) in the framework document",
            problems=_sorted(checker.problems),
        )
    return LoadedFramework(
        doc=doc, origin=origin, conditions=checker.conditions, facts=checker.facts
    )


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0, p.message))


# --- pydantic errors -> problems ------------------------------------------------


def _problem_from_pydantic(err: Any, source: SourceMap) -> Problem:
    loc: tuple[PathPart, ...] = tuple(err["loc"])
    kind: str = err["type"]
    msg: str = err["msg"]
    value = err.get("input")
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = (f"did you mean {close[0]!r}? " if close else "") + (
            f"allowed keys here: {', '.join(allowed)}" if allowed else "remove it"
        )
        return source.problem(loc, f"unknown key {key!r}", hint, key=True)
    if kind == "missing":
        return source.problem(
            loc[:-1], f"missing required key {str(loc[-1])!r}", f"add '{loc[-1]}: ...' here"
        )
    hint = ""
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        hint = f'quote it: "{value}" (unquoted, YAML reads it as a number)'
    elif kind.startswith("date"):
        hint = "write dates as YYYY-MM-DD, e.g. 2026-02-24"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] in ("id", "doc", "name", "domain"):
        hint = "ids use lower case letters, digits, '.', '_' and '-' (e.g. 'novel-cb')"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] == "url":
        hint = "give a full http(s) URL"
    elif kind == "literal_error":
        hint = "use one of the values listed"
    elif kind in ("list_type", "dict_type", "model_type"):
        hint = "check the indentation: this value has the wrong shape"
    return source.problem(loc, msg, hint)


def _allowed_keys(loc: Sequence[PathPart]) -> list[str]:
    """Field names of the model found at ``loc`` (best effort, for hints)."""
    current: Any = FrameworkDocument
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            continue
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(tp: Any) -> Any:
    for _ in range(6):
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (list, typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = args[0] if args else tp
        else:
            break
    return tp


# --- cross-reference checks -------------------------------------------------------


class _CrossChecker:
    def __init__(self, doc: FrameworkDocument, source: SourceMap) -> None:
        self.doc = doc
        self.source = source
        self.problems: list[Problem] = []
        self.conditions: dict[str, Condition] = {}
        self.facts: dict[str, FactSpec] = dict(BUILTIN_FACTS)

    def add(self, path: Sequence[PathPart], message: str, hint: str = "") -> None:
        self.problems.append(self.source.problem(path, message, hint))

    def run(self) -> None:
        d = self.doc
        meta = d.framework
        if meta.supersedes is not None and meta.supersedes == meta.version:
            self.add(("framework", "supersedes"), "a version cannot supersede itself")
        source_ids = self.unique_ids((s.id for s in meta.sources), ("framework", "sources"), "id")
        self.unique_ids((f.name for f in d.facts), ("facts",), "name")
        domains = self.unique_ids((x.id for x in d.risk_domains), ("risk_domains",), "id")
        standards = self.unique_ids(
            (x.id for x in d.safeguard_standards), ("safeguard_standards",), "id"
        )
        thresholds = self.unique_ids((x.id for x in d.thresholds), ("thresholds",), "id")
        commitments = self.unique_ids((x.id for x in d.commitments), ("commitments",), "id")
        self.unique_ids((x.id for x in d.cadences), ("cadences",), "id")
        self.unique_ids((x.id for x in d.governance_roles), ("governance_roles",), "id")
        self.unique_ids((x.id for x in d.red_lines), ("red_lines",), "id")

        self.check_facts()
        self.check_aliases(thresholds)
        self.check_sources(source_ids)
        for i, t in enumerate(d.thresholds):
            base = ("thresholds", i)
            self.ref(t.domain, domains, (*base, "domain"), "risk domain", "risk_domains")
            self.unique_ids((ind.id for ind in t.indicators), (*base, "indicators"), "id")
            for j, req in enumerate(t.required_safeguards):
                self.ref(
                    req.standard,
                    standards,
                    (*base, "required_safeguards", j, "standard"),
                    "safeguard standard",
                    "safeguard_standards",
                )
        for i, c in enumerate(d.commitments):
            self.check_commitment(i, c, thresholds, domains, commitments)

    def unique_ids(self, ids: Iterable[str], path: tuple[PathPart, ...], key: str) -> set[str]:
        seen: dict[str, int] = {}
        for i, ident in enumerate(ids):
            if ident in seen:
                self.add(
                    (*path, i, key),
                    f"duplicate {key} {ident!r} (also at {json_path((*path, seen[ident]))})",
                    "every element needs its own id; rename one of them",
                )
            else:
                seen[ident] = i
        return set(seen)

    def ref(
        self, value: str, known: set[str], path: tuple[PathPart, ...], what: str, section: str
    ) -> None:
        if value in known:
            return
        close = difflib.get_close_matches(value, sorted(known), n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        hint += f"define it under '{section}'" + (
            f" (known: {', '.join(sorted(known)[:8])})" if known else " (none defined)"
        )
        self.add(path, f"unknown {what} {value!r}", hint)

    def check_facts(self) -> None:
        for i, decl in enumerate(self.doc.facts):
            builtin = BUILTIN_FACTS.get(decl.name)
            if builtin is not None and builtin.type != decl.type:
                self.add(
                    ("facts", i, "type"),
                    f"fact {decl.name!r} is built in as a {builtin.type}; "
                    f"it cannot be redeclared as a {decl.type}",
                    "pick another name for your fact",
                )
                continue
            self.facts[decl.name] = FactSpec(
                decl.name, decl.type, decl.description, "workspace facts asserted with a source"
            )

    def check_aliases(self, thresholds: set[str]) -> None:
        owner: dict[str, str] = {}
        for i, t in enumerate(self.doc.thresholds):
            for j, alias in enumerate(t.legacy_aliases):
                key = alias.casefold()
                path = ("thresholds", i, "legacy_aliases", j)
                if alias in thresholds and alias != t.id:
                    self.add(path, f"alias {alias!r} is the id of another threshold")
                elif key in owner and owner[key] != t.id:
                    self.add(
                        path,
                        f"alias {alias!r} is also claimed by threshold {owner[key]!r}",
                        "an old name can map to one threshold only",
                    )
                owner.setdefault(key, t.id)

    def check_sources(self, source_ids: set[str]) -> None:
        for path, ref in _source_refs(self.doc):
            if ref.doc is not None:
                self.ref(ref.doc, source_ids, (*path, "doc"), "source", "framework.sources")

    def check_commitment(
        self,
        i: int,
        c: Any,
        thresholds: set[str],
        domains: set[str],
        commitments: set[str],
    ) -> None:
        base: tuple[PathPart, ...] = ("commitments", i)
        for j, tid in enumerate(c.trigger.thresholds):
            self.ref(tid, thresholds, (*base, "trigger", "thresholds", j), "threshold", "thresholds")
        for j, did in enumerate(c.trigger.domains):
            self.ref(did, domains, (*base, "trigger", "domains", j), "risk domain", "risk_domains")
        for j, cid in enumerate(c.relaxes):
            self.ref(cid, commitments, (*base, "relaxes", j), "commitment", "commitments")
            if cid == c.id:
                self.add((*base, "relaxes", j), "a commitment cannot relax itself")
        if c.condition is not None and c.force not in ("conditional", "discretionary"):
            self.add(
                (*base, "condition"),
                f"a {c.force} commitment cannot carry a condition",
                "set 'force: conditional' (or 'discretionary'), or remove the condition",
            )
        if c.scope == "competitor_contingent" and c.condition is None:
            self.add(
                (*base, "scope"),
                "a competitor-contingent commitment needs a condition over competitor facts",
                "add e.g. condition: {fact: developer_leads}",
            )
        if c.condition is not None:
            cond, issues = parse_condition(c.condition, self.facts)
            for issue in issues:
                self.add((*base, "condition", *issue.path), issue.message, issue.hint)
            if cond is not None:
                self.conditions[c.id] = cond


def _source_refs(doc: FrameworkDocument) -> Iterable[tuple[tuple[PathPart, ...], SourceRef]]:
    for section in (
        "risk_domains",
        "safeguard_standards",
        "thresholds",
        "commitments",
        "cadences",
        "governance_roles",
        "red_lines",
    ):
        for i, element in enumerate(getattr(doc, section)):
            yield (section, i, "source"), element.source
    if doc.framework.ambiguity_source is not None:
        yield ("framework", "ambiguity_source"), doc.framework.ambiguity_source
    if doc.external_review is not None:
        yield ("external_review", "source"), doc.external_review.source
    for i, entry in enumerate(doc.changelog):
        if entry.source is not None:
            yield ("changelog", i, "source"), entry.source
