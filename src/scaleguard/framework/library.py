"""The framework library: built-in documents shipped in the package, plus extra folders.

A framework is named ``ID@VERSION`` (``anthropic-rsp@3.0``), ``ID`` alone for
the latest version, or by a path to a YAML file.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaleguard.errors import FrameworkError, NotFoundError, ScaleguardError

if TYPE_CHECKING:  # the loader (pydantic models, YAML) is imported when a document is read
    from scaleguard.framework.loader import LoadedFramework


@dataclass(frozen=True)
class LibraryEntry:
    framework: LoadedFramework
    builtin: bool

    @property
    def ref(self) -> str:
        return self.framework.ref


def _version_key(version: str) -> tuple[tuple[int, object], ...]:
    parts: list[tuple[int, object]] = []
    for piece in version.replace("-", ".").split("."):
        parts.append((0, int(piece)) if piece.isdigit() else (1, piece))
    return tuple(parts)


#: The built-in documents' ids and versions by file, so that naming one loads one file.
INDEX_NAME = "index.json"


@dataclass(frozen=True)
class Vocabulary:
    """The names a framework gives meaning to: what typed names are checked against."""

    id: str
    #: Threshold ids and their legacy aliases.
    thresholds: frozenset[str]
    facts: frozenset[str]
    #: Safeguard standard ids.
    standards: frozenset[str]


def vocabulary_of(fw: LoadedFramework) -> Vocabulary:
    doc = fw.doc
    return Vocabulary(
        id=doc.framework.id,
        thresholds=frozenset(str(n) for t in doc.thresholds for n in (t.id, *t.legacy_aliases)),
        facts=frozenset(fw.facts),
        standards=frozenset(str(s.id) for s in doc.safeguard_standards),
    )


def summary_of(fw: LoadedFramework, builtin: bool) -> dict[str, Any]:
    """What a listing shows of a framework (``frameworks list --json`` prints these)."""
    meta = fw.doc.framework
    return {
        "ref": fw.ref,
        "id": meta.id,
        "version": meta.version,
        "developer": meta.developer,
        "title": meta.title,
        "effective_date": meta.effective_date.isoformat(),
        "supersedes": meta.supersedes,
        "builtin": builtin,
        "origin": fw.origin,
        "digest": fw.digest,
        "counts": {
            "risk_domains": len(fw.doc.risk_domains),
            "thresholds": len(fw.doc.thresholds),
            "safeguard_standards": len(fw.doc.safeguard_standards),
            "commitments": len(fw.doc.commitments),
        },
    }


#: The fields of :func:`summary_of` the index keeps for each built-in document.
SUMMARY_FIELDS = ("developer", "title", "effective_date", "supersedes", "digest", "counts")
_COUNTS = ("risk_domains", "thresholds", "safeguard_standards", "commitments")


@dataclass(frozen=True)
class BuiltinRef:
    """One line of the shipped index: which file holds which framework version, the
    file's SHA-256, the document's vocabulary and what a listing shows of it."""

    file: str
    id: str
    version: str
    sha256: str
    vocabulary: Vocabulary
    summary: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    @property
    def origin(self) -> str:
        return f"builtin:{self.file}"

    def listed(self) -> dict[str, Any]:
        """:func:`summary_of` the document, from the index (the same keys, in the same order)."""
        s = self.summary
        return {
            "ref": self.ref,
            "id": self.id,
            "version": self.version,
            "developer": s["developer"],
            "title": s["title"],
            "effective_date": s["effective_date"],
            "supersedes": s["supersedes"],
            "builtin": True,
            "origin": self.origin,
            "digest": s["digest"],
            "counts": {k: s["counts"][k] for k in _COUNTS},
        }


def builtin_folder() -> Any:
    """Where the built-in documents and their index are shipped."""
    return resources.files("scaleguard.framework") / "builtin"


@lru_cache(maxsize=1)
def builtin_index() -> tuple[BuiltinRef, ...]:
    """The shipped index, checked against the folder: it must name exactly its YAML files.

    A mismatch is a packaging bug and fails closed; ``python -m
    scaleguard.framework.reindex`` rewrites the index from the documents.
    """
    folder = builtin_folder()
    hint = "the installation is inconsistent; reinstall scaleguard"
    try:
        raw = json.loads((folder / INDEX_NAME).read_text(encoding="utf-8"))
        refs = tuple(_indexed(e) for e in raw["frameworks"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise FrameworkError(
            f"the built-in framework index cannot be read: {exc}", hint=hint
        ) from None
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".yaml"))
    if sorted(r.file for r in refs) != files or len({r.ref for r in refs}) != len(refs):
        raise FrameworkError(
            "the built-in framework index does not list the shipped files", hint=hint
        )
    return refs


def _names(value: Any) -> frozenset[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise TypeError("expected a list of names")
    return frozenset(value)


def _indexed(row: dict[str, Any]) -> BuiltinRef:
    file, fid, version, digest = (row[k] for k in ("file", "id", "version", "sha256"))
    if not all(isinstance(v, str) for v in (file, fid, version, digest)):
        raise TypeError("file, id, version and sha256 must be text")
    vocabulary = Vocabulary(
        fid, _names(row["thresholds"]), _names(row["facts"]), _names(row["standards"])
    )
    return BuiltinRef(file, fid, version, digest, vocabulary, _summary(row["summary"]))


def _summary(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != set(SUMMARY_FIELDS):
        raise TypeError(f"a summary holds exactly {', '.join(SUMMARY_FIELDS)}")
    texts = ("developer", "title", "effective_date", "digest")
    if not all(isinstance(value[k], str) for k in texts):
        raise TypeError(f"{', '.join(texts)} must be text")
    if value["supersedes"] is not None and not isinstance(value["supersedes"], str):
        raise TypeError("supersedes must be text or null")
    counts = value["counts"]
    if not isinstance(counts, dict) or set(counts) != set(_COUNTS):
        raise TypeError(f"counts holds exactly {', '.join(_COUNTS)}")
    if not all(type(counts[k]) is int and counts[k] >= 0 for k in _COUNTS):
        raise TypeError("counts must be whole numbers")
    return value


@lru_cache(maxsize=1)
def _files_as_indexed() -> bool:
    """Are the shipped files byte for byte those the index was written from?"""
    folder = builtin_folder()
    return all(
        hashlib.sha256((folder / r.file).read_bytes()).hexdigest() == r.sha256
        for r in builtin_index()
    )


@cache
def load_builtin(ref: BuiltinRef) -> LoadedFramework:
    """One built-in document, loaded and validated; it must be the version the index says."""
    from scaleguard.framework.loader import load_bytes

    fw = load_bytes((builtin_folder() / ref.file).read_bytes(), ref.origin, builtin=True)
    meta = fw.doc.framework
    if (meta.id, meta.version) != (ref.id, ref.version):
        raise FrameworkError(
            f"{ref.origin} holds {fw.ref}, but the built-in index says {ref.ref}",
            hint="the installation is inconsistent; reinstall scaleguard",
        )
    return fw


def builtin_frameworks() -> tuple[LoadedFramework, ...]:
    """Every framework shipped in the package, validated (a broken one is a bug: it raises)."""
    return tuple(load_builtin(ref) for ref in builtin_index())


def _entry_key(entry: LibraryEntry) -> tuple[str, tuple[tuple[int, object], ...]]:
    meta = entry.framework.doc.framework
    return (meta.id, _version_key(meta.version))


class Library:
    """Built-in frameworks plus any loaded from extra folders (e.g. a workspace's).

    Built-in documents are loaded when first needed: :meth:`get` reads only the
    file it resolves to (the shipped index says which), while :attr:`entries`
    loads them all.
    """

    def __init__(
        self,
        extra_dirs: Iterable[Path] = (),
        *,
        include_builtin: bool = True,
        tolerant: bool = False,
    ) -> None:
        """``tolerant``: collect a broken file in :attr:`broken` instead of raising, so a
        listing can show it (anything that decides must load strictly)."""
        self.broken: list[tuple[Path, ScaleguardError]] = []
        self._builtin = builtin_index() if include_builtin else ()
        origins = {r.ref: r.origin for r in self._builtin}
        extra: list[LibraryEntry] = []
        for folder in extra_dirs:
            for path in sorted(Path(folder).glob("*.yaml")):
                from scaleguard.framework.loader import load_file

                try:
                    entry = LibraryEntry(load_file(path), builtin=False)
                except ScaleguardError as exc:
                    if not tolerant:
                        raise
                    self.broken.append((path, exc))
                    continue
                if entry.ref in origins:
                    clash = FrameworkError(
                        f"two frameworks are both {entry.ref}: {origins[entry.ref]} "
                        f"and {entry.framework.origin}",
                        hint="give the workspace copy another id or version",
                    )
                    if not tolerant:
                        raise clash
                    self.broken.append((Path(entry.framework.origin), clash))
                    continue
                origins[entry.ref] = entry.framework.origin
                extra.append(entry)
        self._extra = extra
        self._entries: list[LibraryEntry] | None = None

    @property
    def entries(self) -> list[LibraryEntry]:
        """Every framework, built-in and extra, by id and version (loads all built-ins)."""
        if self._entries is None:
            builtin = [LibraryEntry(load_builtin(r), builtin=True) for r in self._builtin]
            self._entries = sorted(builtin + self._extra, key=_entry_key)
        return self._entries

    def vocabularies(self) -> list[Vocabulary]:
        """The names every framework defines, built-in ones from the index while their files
        are exactly those it was written from (else from the loaded documents)."""
        if self._builtin and _files_as_indexed():
            builtin = [r.vocabulary for r in self._builtin]
        else:
            builtin = [vocabulary_of(load_builtin(r)) for r in self._builtin]
        return builtin + [vocabulary_of(e.framework) for e in self._extra]

    def summaries(self) -> list[dict[str, Any]]:
        """:func:`summary_of` every framework, in :attr:`entries` order; built-in ones from
        the index while their files are exactly those it was written from (no document is
        loaded), else from the loaded documents."""
        indexed = bool(self._builtin) and _files_as_indexed()
        return [
            (where.listed() if indexed else summary_of(load_builtin(where), True))
            if isinstance(where, BuiltinRef)
            else summary_of(where.framework, False)
            for _, _, where in self._versions()
        ]

    def _versions(self) -> list[tuple[str, str, BuiltinRef | LibraryEntry]]:
        """(id, version, where) for every framework, sorted as :attr:`entries` is."""
        found: list[tuple[str, str, BuiltinRef | LibraryEntry]] = [
            (r.id, r.version, r) for r in self._builtin
        ]
        for e in self._extra:
            meta = e.framework.doc.framework
            found.append((meta.id, meta.version, e))
        return sorted(found, key=lambda f: (f[0], _version_key(f[1])))

    def refs(self) -> list[str]:
        """Every framework's ``ID@VERSION``, in :attr:`entries` order, loading no document."""
        return [f"{fid}@{version}" for fid, version, _ in self._versions()]

    def versions(self, fid: str) -> list[LoadedFramework]:
        """Every version of the framework ``fid``, oldest first (only those are loaded)."""
        return [_loaded(where) for _, _, where in self._of(fid)]

    def _of(self, fid: str) -> list[tuple[str, str, BuiltinRef | LibraryEntry]]:
        known = self._versions()
        matches = [f for f in known if f[0] == fid]
        if not matches:
            close = difflib.get_close_matches(fid, sorted({f[0] for f in known}), n=1)
            raise NotFoundError(
                f"no framework called {fid!r}",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "see 'scaleguard frameworks list'",
            )
        return matches

    def get(self, name: str) -> LoadedFramework:
        """Resolve ``ID@VERSION``, ``ID`` (latest) or a path to a YAML file."""
        if name.endswith((".yaml", ".yml")) or "/" in name or Path(name).is_file():
            from scaleguard.framework.loader import load_file

            return load_file(name)
        return self.get_ref(name)

    def get_ref(self, name: str) -> LoadedFramework:
        """Resolve ``ID@VERSION`` or ``ID`` (latest) in the library only, never as a file:
        for names that come from outside, such as a web request, which must not make the
        server read a file of its choosing."""
        fid, _, version = name.partition("@")
        matches = self._of(fid)
        if not version:
            return _loaded(matches[-1][2])
        for _, found, where in matches:
            if found == version:
                return _loaded(where)
        versions = ", ".join(f[1] for f in matches)
        raise NotFoundError(f"{fid} has no version {version!r}", hint=f"known versions: {versions}")

    def builtin(self, ref: str) -> LoadedFramework | None:
        """The built-in framework ``ID@VERSION``, if there is one (loads only that one)."""
        for where in self._builtin:
            if where.ref == ref:
                return load_builtin(where)
        return None


def _loaded(where: BuiltinRef | LibraryEntry) -> LoadedFramework:
    return load_builtin(where) if isinstance(where, BuiltinRef) else where.framework
