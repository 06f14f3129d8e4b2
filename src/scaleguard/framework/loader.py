"""Load a framework document: YAML → typed model → cross-reference checks.

All problems are collected and reported together, each with
``file:line:column``, the JSON path and a hint, so an author fixes a document
in one pass rather than one error per run.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scaleguard.errors import FrameworkError, Problem
from scaleguard.framework.conditions import Condition, parse_condition
from scaleguard.framework.facts import BUILTIN_FACTS, FactSpec
from scaleguard.framework.fieldhints import key_problem
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

    @cached_property
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


def load_file(path: str | Path, *, builtin: bool = False) -> LoadedFramework:
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
    return load_bytes(data, str(p), builtin=builtin)


def load_bytes(data: bytes | str, origin: str, *, builtin: bool = False) -> LoadedFramework:
    """Parse and check one document; ``builtin`` also requires ``framework.primary_text``."""
    raw, source = read_yaml(data, origin)
    if not isinstance(raw, dict):
        raise FrameworkError(
            f"{origin} does not hold a mapping at the top level",
            hint="a framework document starts with 'schema_version: 1' and 'framework:'",
            problems=[source.problem((), "expected a mapping of sections")],
        )
    problems: list[Problem] = []
    doc: FrameworkDocument | None = None
    try:
        doc = FrameworkDocument.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_problem_from_pydantic(err, source) for err in exc.errors())
    checker = _CrossChecker(raw, source)
    checker.run()
    if builtin:
        checker.check_primary_text()
    problems.extend(checker.problems)
    if problems or doc is None:
        problems = _sorted(_dedupe(problems))
        raise FrameworkError(
            f"{origin}: {len(problems)} problem(s) in the framework document",
            hint="fix them all and run 'scaleguard frameworks validate' again",
            problems=problems,
        )
    return LoadedFramework(
        doc=doc, origin=origin, conditions=checker.conditions, facts=checker.facts
    )


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[object, ...]] = set()
    out = []
    for p in problems:
        key = (p.line, p.column, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


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
    structural = key_problem(err, source, FrameworkDocument)
    if structural is not None:
        return structural
    hint = ""
    if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
        hint = f'quote it: "{value}" (unquoted, YAML reads it as a number)'
    elif kind.startswith("date"):
        hint = "write dates as YYYY-MM-DD, e.g. 2026-02-24"
    elif kind == "string_pattern_mismatch" and _names_an_id(loc):
        hint = "ids use lower case letters, digits, '.', '_' and '-' (e.g. 'novel-cb')"
    elif kind == "string_pattern_mismatch" and loc and loc[-1] == "url":
        hint = "give a full http(s) URL"
    elif kind == "literal_error":
        hint = "use one of the values listed"
    elif kind in ("list_type", "dict_type", "model_type"):
        hint = "check the indentation: this value has the wrong shape"
    return source.problem(loc, msg, hint)


def _names_an_id(loc: Sequence[PathPart]) -> bool:
    """True where the value is an id: an id field, or an item of a list of ids."""
    id_fields = ("id", "doc", "name", "domain", "split_from")
    id_lists = ("merged_from", "elements")
    if not loc:
        return False
    if loc[-1] in id_fields:
        return True
    return len(loc) > 1 and isinstance(loc[-1], int) and loc[-2] in id_lists


# --- cross-reference checks -------------------------------------------------------
#
# These run over the raw data rather than the validated model, so that a document
# with a wrong type in one place and a dangling reference in another gets both
# problems in one report. Every access is defensive: shapes were not checked yet.


def _items(value: Any) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _strs(value: Any) -> list[tuple[int, str]]:
    if not isinstance(value, list):
        return []
    return [(i, v) for i, v in enumerate(value) if isinstance(v, str)]


_SECTIONS = (
    "risk_domains",
    "safeguard_standards",
    "thresholds",
    "commitments",
    "cadences",
    "governance_roles",
    "red_lines",
)


class _CrossChecker:
    def __init__(self, raw: dict[str, Any], source: SourceMap) -> None:
        self.raw = raw
        self.source = source
        self.problems: list[Problem] = []
        self.conditions: dict[str, Condition] = {}
        self.facts: dict[str, FactSpec] = dict(BUILTIN_FACTS)

    def add(self, path: Sequence[PathPart], message: str, hint: str = "") -> None:
        self.problems.append(self.source.problem(path, message, hint))

    def section(self, name: str) -> list[tuple[int, dict[str, Any]]]:
        return _items(self.raw.get(name))

    def run(self) -> None:
        meta = self.raw.get("framework")
        meta = meta if isinstance(meta, dict) else {}
        version, supersedes = meta.get("version"), meta.get("supersedes")
        if supersedes is not None and supersedes == version:
            self.add(("framework", "supersedes"), "a version cannot supersede itself")
        source_ids = self.unique_ids(_items(meta.get("sources")), ("framework", "sources"), "id")
        self.unique_ids(self.section("facts"), ("facts",), "name")
        known = {name: self.unique_ids(self.section(name), (name,), "id") for name in _SECTIONS}
        self.check_facts()
        self.check_aliases(known["thresholds"])
        self.check_sources(source_ids)
        for i, t in self.section("thresholds"):
            base: tuple[PathPart, ...] = ("thresholds", i)
            domain = _str(t.get("domain"))
            if domain is not None:
                self.ref(
                    domain, known["risk_domains"], (*base, "domain"), "risk domain", "risk_domains"
                )
            self.unique_ids(_items(t.get("indicators")), (*base, "indicators"), "id")
            for j, req in _items(t.get("required_safeguards")):
                standard = _str(req.get("standard"))
                if standard is not None:
                    self.ref(
                        standard,
                        known["safeguard_standards"],
                        (*base, "required_safeguards", j, "standard"),
                        "safeguard standard",
                        "safeguard_standards",
                    )
        for i, c in self.section("commitments"):
            self.check_commitment(i, c, known)
        self.check_restructuring()
        self.check_announcements()
        self.check_highly_capable(meta, known["thresholds"])

    def check_highly_capable(self, meta: dict[str, Any], thresholds: set[str]) -> None:
        """framework.highly_capable names thresholds (of kind 'threshold') that exist."""
        decl = meta.get("highly_capable")
        if not isinstance(decl, dict):
            return
        kinds = {
            _str(t.get("id")): t.get("kind", "threshold") for _, t in self.section("thresholds")
        }
        for j, tid in _strs(decl.get("thresholds")):
            path: tuple[PathPart, ...] = ("framework", "highly_capable", "thresholds", j)
            self.ref(tid, thresholds, path, "threshold", "thresholds")
            if tid in thresholds and kinds.get(tid) != "threshold":
                self.add(
                    path,
                    f"{tid!r} is a {kinds.get(tid)}, not a threshold: crossing it cannot "
                    "make a model highly capable",
                    "name a threshold of kind 'threshold'",
                )

    def unique_ids(
        self, items: list[tuple[int, dict[str, Any]]], path: tuple[PathPart, ...], key: str
    ) -> set[str]:
        seen: dict[str, int] = {}
        for i, item in items:
            ident = _str(item.get(key))
            if ident is None:
                continue
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
        for i, decl in self.section("facts"):
            name, kind = _str(decl.get("name")), decl.get("type")
            if name is None or kind not in ("boolean", "number"):
                continue
            builtin = BUILTIN_FACTS.get(name)
            if builtin is not None and builtin.type != kind:
                self.add(
                    ("facts", i, "type"),
                    f"fact {name!r} is built in as a {builtin.type}; "
                    f"it cannot be redeclared as a {kind}",
                    "pick another name for your fact",
                )
                continue
            self.facts[name] = FactSpec(
                name,
                kind,
                _str(decl.get("description")) or "",
                "workspace facts asserted with a source",
            )

    def check_aliases(self, thresholds: set[str]) -> None:
        owner: dict[str, str] = {}
        for i, t in self.section("thresholds"):
            tid = _str(t.get("id")) or f"#{i}"
            for j, alias in _strs(t.get("legacy_aliases")):
                key = alias.casefold()
                path = ("thresholds", i, "legacy_aliases", j)
                if alias in thresholds and alias != tid:
                    self.add(path, f"alias {alias!r} is the id of another threshold")
                elif key in owner and owner[key] != tid:
                    self.add(
                        path,
                        f"alias {alias!r} is also claimed by threshold {owner[key]!r}",
                        "an old name can map to one threshold only",
                    )
                owner.setdefault(key, tid)

    def check_restructuring(self) -> None:
        """merged_from / split_from: one or the other, no repeats, no source claimed twice."""
        for section in _SECTIONS:
            merged_by: dict[str, str] = {}
            for i, e in self.section(section):
                base: tuple[PathPart, ...] = (section, i)
                own = _str(e.get("id")) or f"#{i}"
                merged = _strs(e.get("merged_from"))
                if merged and e.get("split_from") is not None:
                    self.add(
                        (*base, "split_from"),
                        f"{own!r} is both merged_from and split_from",
                        "an element either combines earlier elements (merged_from) or is one part "
                        "of a divided earlier element (split_from); keep one of the two",
                    )
                if isinstance(e.get("merged_from"), list) and len(e["merged_from"]) == 1:
                    self.add(
                        (*base, "merged_from"),
                        "merged_from names a single element",
                        "a merge combines two or more earlier elements; for a new name of one "
                        "element use legacy_aliases (thresholds) or keep the id",
                    )
                seen: dict[str, int] = {}
                for j, source in merged:
                    path = (*base, "merged_from", j)
                    if source in seen:
                        self.add(
                            path,
                            f"duplicate {source!r} in merged_from "
                            f"(also at {json_path((*base, 'merged_from', seen[source]))})",
                            "name each merged element once",
                        )
                        continue
                    seen[source] = j
                    if source in merged_by and merged_by[source] != own:
                        self.add(
                            path,
                            f"{source!r} is also merged into {merged_by[source]!r}",
                            "an earlier element can be merged into one element only; "
                            "an element divided among several is a split (split_from)",
                        )
                    merged_by.setdefault(source, own)
            for i, e in self.section(section):
                split = _str(e.get("split_from"))
                if split is not None and split in merged_by:
                    self.add(
                        (section, i, "split_from"),
                        f"{split!r} is split here but merged into {merged_by[split]!r}",
                        "an earlier element is either merged or split, not both",
                    )

    def check_announcements(self) -> None:
        """Changelog notes name each element once."""
        for i, entry in _items(self.raw.get("changelog")):
            for j, note in _items(entry.get("changes")):
                seen: dict[str, int] = {}
                for k, ident in _strs(note.get("elements")):
                    base: tuple[PathPart, ...] = ("changelog", i, "changes", j, "elements")
                    if ident in seen:
                        first = json_path((*base, seen[ident]))
                        self.add(
                            (*base, k),
                            f"duplicate element {ident!r} (also at {first})",
                            "name each announced element once",
                        )
                    seen.setdefault(ident, k)

    def check_primary_text(self) -> None:
        meta = self.raw.get("framework")
        if isinstance(meta, dict) and meta.get("primary_text") is None:
            self.add(
                ("framework",),
                "a built-in framework needs 'primary_text'",
                "add framework.primary_text with the sha256 of the primary text it was encoded "
                "from and retrieved_from, the address of that text",
            )

    def check_sources(self, source_ids: set[str]) -> None:
        for path, ref in _raw_source_refs(self.raw):
            doc = _str(ref.get("doc"))
            if doc is not None:
                self.ref(doc, source_ids, (*path, "doc"), "source", "framework.sources")

    def check_commitment(self, i: int, c: dict[str, Any], known: dict[str, set[str]]) -> None:
        base: tuple[PathPart, ...] = ("commitments", i)
        trigger = c.get("trigger") if isinstance(c.get("trigger"), dict) else {}
        assert isinstance(trigger, dict)
        for j, tid in _strs(trigger.get("thresholds")):
            self.ref(
                tid,
                known["thresholds"],
                (*base, "trigger", "thresholds", j),
                "threshold",
                "thresholds",
            )
        for j, did in _strs(trigger.get("domains")):
            self.ref(
                did,
                known["risk_domains"],
                (*base, "trigger", "domains", j),
                "risk domain",
                "risk_domains",
            )
        for j, cid in _strs(c.get("relaxes")):
            self.ref(cid, known["commitments"], (*base, "relaxes", j), "commitment", "commitments")
            if cid == c.get("id"):
                self.add((*base, "relaxes", j), "a commitment cannot relax itself")
        force, condition = c.get("force"), c.get("condition")
        if condition is not None and force in ("binding", "goal", "recommendation"):
            self.add(
                (*base, "condition"),
                f"a {force} commitment cannot carry a condition",
                "set 'force: conditional' (or 'discretionary'), or remove the condition",
            )
        if c.get("scope") == "competitor_contingent" and condition is None:
            self.add(
                (*base, "scope"),
                "a competitor-contingent commitment needs a condition over competitor facts",
                "add e.g. condition: {fact: developer_leads}",
            )
        if condition is not None:
            cond, issues = parse_condition(condition, self.facts)
            for issue in issues:
                self.add((*base, "condition", *issue.path), issue.message, issue.hint)
            own_id = _str(c.get("id"))
            if cond is not None and own_id is not None:
                self.conditions[own_id] = cond


def _raw_source_refs(
    raw: dict[str, Any],
) -> Iterable[tuple[tuple[PathPart, ...], dict[str, Any]]]:
    for section in _SECTIONS:
        for i, element in _items(raw.get(section)):
            if isinstance(element.get("source"), dict):
                yield (section, i, "source"), element["source"]
    meta = raw.get("framework")
    if isinstance(meta, dict) and isinstance(meta.get("ambiguity_source"), dict):
        yield ("framework", "ambiguity_source"), meta["ambiguity_source"]
    decl = meta.get("highly_capable") if isinstance(meta, dict) else None
    if isinstance(decl, dict) and isinstance(decl.get("source"), dict):
        yield ("framework", "highly_capable", "source"), decl["source"]
    review = raw.get("external_review")
    if isinstance(review, dict) and isinstance(review.get("source"), dict):
        yield ("external_review", "source"), review["source"]
    for i, entry in _items(raw.get("changelog")):
        if isinstance(entry.get("source"), dict):
            yield ("changelog", i, "source"), entry["source"]
