"""The framework library: built-in documents shipped in the package, plus extra folders.

A framework is named ``ID@VERSION`` (``anthropic-rsp@3.0``), ``ID`` alone for
the latest version, or by a path to a YAML file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from scaleguard.errors import FrameworkError, NotFoundError, ScaleguardError
from scaleguard.framework.loader import LoadedFramework, load_bytes, load_file


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


@lru_cache(maxsize=1)
def builtin_frameworks() -> tuple[LoadedFramework, ...]:
    """Every framework shipped in the package, validated (a broken one is a bug: it raises)."""
    folder = resources.files("scaleguard.framework") / "builtin"
    out = []
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            out.append(load_bytes(item.read_bytes(), f"builtin:{item.name}", builtin=True))
    return tuple(out)


def _entry_key(entry: LibraryEntry) -> tuple[str, tuple[tuple[int, object], ...]]:
    meta = entry.framework.doc.framework
    return (meta.id, _version_key(meta.version))


class Library:
    """Built-in frameworks plus any loaded from extra folders (e.g. a workspace's)."""

    def __init__(
        self,
        extra_dirs: Iterable[Path] = (),
        *,
        include_builtin: bool = True,
        tolerant: bool = False,
    ) -> None:
        """``tolerant``: collect a broken file in :attr:`broken` instead of raising, so a
        listing can show it (anything that decides must load strictly)."""
        entries: list[LibraryEntry] = []
        self.broken: list[tuple[Path, ScaleguardError]] = []
        if include_builtin:
            entries.extend(LibraryEntry(f, builtin=True) for f in builtin_frameworks())
        for folder in extra_dirs:
            for path in sorted(Path(folder).glob("*.yaml")):
                try:
                    entries.append(LibraryEntry(load_file(path), builtin=False))
                except ScaleguardError as exc:
                    if not tolerant:
                        raise
                    self.broken.append((path, exc))
        seen: dict[str, LibraryEntry] = {}
        for entry in entries:
            if entry.ref in seen:
                clash = FrameworkError(
                    f"two frameworks are both {entry.ref}: {seen[entry.ref].framework.origin} "
                    f"and {entry.framework.origin}",
                    hint="give the workspace copy another id or version",
                )
                if not tolerant:
                    raise clash
                self.broken.append((Path(entry.framework.origin), clash))
                continue
            seen[entry.ref] = entry
        self.entries = sorted(seen.values(), key=_entry_key)

    def get(self, name: str) -> LoadedFramework:
        """Resolve ``ID@VERSION``, ``ID`` (latest) or a path to a YAML file."""
        if name.endswith((".yaml", ".yml")) or "/" in name or Path(name).is_file():
            return load_file(name)
        fid, _, version = name.partition("@")
        matches = [e for e in self.entries if e.framework.doc.framework.id == fid]
        if not matches:
            ids = sorted({e.framework.doc.framework.id for e in self.entries})
            close = difflib.get_close_matches(fid, ids, n=1)
            raise NotFoundError(
                f"no framework called {fid!r}",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "see 'scaleguard frameworks list'",
            )
        if not version:
            return matches[-1].framework
        for entry in matches:
            if entry.framework.doc.framework.version == version:
                return entry.framework
        versions = ", ".join(e.framework.doc.framework.version for e in matches)
        raise NotFoundError(f"{fid} has no version {version!r}", hint=f"known versions: {versions}")
