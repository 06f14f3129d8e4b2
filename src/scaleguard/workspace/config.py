"""``scaleguard.toml``: the file that makes a folder a workspace.

The shape (every section but ``[workspace]`` is optional)::

    [workspace]
    name = "acme-safety"
    format = 1                      # layout version of the workspace folder

    [database]
    sqlite = "scaleguard.db"        # a SQLite file, relative to this folder (the default)
    # url = "postgresql://scaleguard@db.internal:5432/scaleguard"   # or a server, for teams
    # url_env = "SCALEGUARD_DATABASE_URL"  # or the URL from an environment variable

    [frameworks]
    default = "anthropic-rsp@3.0"   # the framework commands use when none is named

At most one of ``sqlite``, ``url`` and ``url_env`` may be set. Passwords
belong in ``url_env`` (or a ``.pgpass`` file), not in a file kept under git.
The file is read with :mod:`tomllib` and written by :func:`dump_config`.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from scaleguard.errors import Problem, WorkspaceError
from scaleguard.textcheck import safe_name
from scaleguard.workspace.locate import CONFIG_NAME as CONFIG_NAME

#: Layout version this code writes; a larger number comes from a newer scaleguard.
FORMAT_VERSION = 1
DEFAULT_SQLITE = "scaleguard.db"
MAX_CONFIG_BYTES = 64 * 1024

WorkspaceName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"),
    AfterValidator(safe_name),
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkspaceSection(_Section):
    name: WorkspaceName
    format: int = Field(FORMAT_VERSION, ge=1)


class DatabaseSection(_Section):
    sqlite: str | None = Field(None, min_length=1)
    url: str | None = Field(None, min_length=1)
    url_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")

    @model_validator(mode="after")
    def _one_location(self) -> DatabaseSection:
        given = [k for k in ("sqlite", "url", "url_env") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"set only one of sqlite, url and url_env (found {', '.join(given)})")
        return self


class FrameworksSection(_Section):
    default: str | None = Field(None, min_length=1)


class IndicatorSection(_Section):
    """Maps an evaluation (task, metric) of this workspace to framework thresholds."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=80)]
    thresholds: list[Annotated[str, StringConstraints(min_length=1)]] = Field(min_length=1)
    framework: str | None = Field(None, description="Framework id it is for; omit for any.")
    task: str | None = Field(None, min_length=1)
    metric: str = Field(min_length=1)
    comparator: Literal[">=", ">", "<=", "<"] = ">="
    threshold: float = Field(allow_inf_nan=False)
    early_warning: float | None = Field(None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _band_on_safe_side(self) -> IndicatorSection:
        if self.early_warning is None:
            return self
        upward = self.comparator in (">=", ">")
        if (upward and self.early_warning > self.threshold) or (
            not upward and self.early_warning < self.threshold
        ):
            side = "below" if upward else "above"
            raise ValueError(
                f"early_warning must lie {side} threshold for comparator '{self.comparator}'"
            )
        return self


class DeterminationsSection(_Section):
    """How intervals are computed: seeded, so a determination can be reproduced."""

    resamples: int = Field(2000, ge=100, le=200_000)
    confidence: float = Field(0.95, gt=0.5, lt=1)
    seed: int = Field(0, ge=0)


class LedgerSection(_Section):
    """Where each newly signed checkpoint is also published (a witness's copy)."""

    witness: str | None = Field(
        None,
        min_length=1,
        description="File that always holds the latest signed checkpoint; relative to the "
        "workspace, or absolute (e.g. a folder others keep or back up).",
    )


class WorkspaceConfig(_Section):
    workspace: WorkspaceSection
    database: DatabaseSection = DatabaseSection()
    frameworks: FrameworksSection = FrameworksSection()
    determinations: DeterminationsSection = DeterminationsSection()
    ledger: LedgerSection = LedgerSection()
    indicators: list[IndicatorSection] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_indicators(self) -> WorkspaceConfig:
        seen: set[str] = set()
        for ind in self.indicators:
            if ind.id in seen:
                raise ValueError(f"two [[indicators]] share the id {ind.id!r}")
            seen.add(ind.id)
        return self

    def database_url(self, root: Path) -> str:
        """The SQLAlchemy URL of the workspace database (SQLite paths resolved against root)."""
        db = self.database
        if db.url is not None:
            return db.url
        if db.url_env is not None:
            value = os.environ.get(db.url_env, "")
            if not value:
                raise WorkspaceError(
                    f"scaleguard.toml takes the database URL from ${db.url_env}, which is not set",
                    hint=f"export {db.url_env}=postgresql://user@host:5432/dbname",
                )
            return value
        return "sqlite:///" + str((root / (db.sqlite or DEFAULT_SQLITE)).resolve())

    def witness_path(self, root: Path) -> Path | None:
        """The file checkpoints are published to, if any ([ledger] witness)."""
        if self.ledger.witness is None:
            return None
        return root / Path(self.ledger.witness).expanduser()

    def sqlite_path(self, root: Path) -> Path | None:
        """The SQLite file when the database is the workspace's own file, else None."""
        db = self.database
        if db.url is None and db.url_env is None:
            return (root / (db.sqlite or DEFAULT_SQLITE)).resolve()
        return None


# -- reading -----------------------------------------------------------------

_TOML_POSITION = re.compile(r"\(at line (\d+), column (\d+)\)")
_TABLE = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\-]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+)\s*=")


_ARRAY_TABLE = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.\-]+)\s*\]\]")


def _locate_array(text: str, table: str, index: int, key: str) -> tuple[int, int] | None:
    """Line and column of ``key`` in the ``index``-th ``[[table]]`` block."""
    seen, inside = -1, False
    for number, line in enumerate(text.splitlines(), start=1):
        header = _ARRAY_TABLE.match(line)
        if header:
            if header.group(1) == table:
                seen += 1
                inside = seen == index
                if inside and not key:
                    return number, line.index("[") + 1
            else:
                inside = False
            continue
        if _TABLE.match(line):
            inside = False
            continue
        match = _KEY.match(line)
        if inside and match and match.group(1) == key:
            return number, match.start(1) + 1
    return None


def _locate(text: str, loc: tuple[Any, ...]) -> tuple[int, int] | None:
    """Line and column of ``[table] key`` in the flat shape above (tomllib keeps no positions)."""
    if len(loc) >= 2 and isinstance(loc[1], int):
        return _locate_array(text, str(loc[0]), loc[1], str(loc[2]) if len(loc) > 2 else "")
    table, key = (str(loc[0]), str(loc[1])) if len(loc) >= 2 else (str(loc[0]) if loc else "", "")
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            current = header.group(1)
            if current == table and not key:
                return number, line.index("[") + 1
            continue
        match = _KEY.match(line)
        if match and current == table and match.group(1) == key:
            return number, match.start(1) + 1
    return None


def locate_in_config(text: str, loc: tuple[Any, ...]) -> tuple[int | None, int | None]:
    """Line and column of a key of a scaleguard.toml (``(None, None)`` if not found)."""
    found = _locate(text, loc)
    return found if found is not None else (None, None)


#: Deepest nesting of arrays and inline tables a scaleguard.toml may have.
MAX_TOML_DEPTH = 32


def _too_deep(text: str) -> tuple[int, int] | None:
    """Line and column where arrays/inline tables nest past MAX_TOML_DEPTH (strings and
    comments skipped), else None. Checked before parsing: the parser recurses."""
    depth, i, line, start = 0, 0, 1, 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line, start = line + 1, i + 1
        elif ch == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif ch in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else ch
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                if text[i] == "\\" and quote[0] == '"':
                    i += 1
                elif text[i] == "\n":
                    line, start = line + 1, i + 1
                i += 1
            i += len(quote)
            continue
        elif ch in "[{":
            depth += 1
            if depth > MAX_TOML_DEPTH:
                return line, i - start + 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        i += 1
    return None


def parse_config(text: str, file: str) -> WorkspaceConfig:
    """Parse and validate the text of a scaleguard.toml; WorkspaceError names each problem."""
    deep = _too_deep(text)
    if deep is not None:
        raise WorkspaceError(
            f"{file} nests arrays or tables more than {MAX_TOML_DEPTH} levels deep",
            problems=[Problem("nested too deeply", file=file, line=deep[0], column=deep[1])],
            hint="a scaleguard.toml needs at most two levels; remove the nesting",
        )
    try:
        raw = tomllib.loads(text)
    except RecursionError:
        raise WorkspaceError(
            f"{file} nests arrays or tables too deeply", hint="remove the nesting"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        where = _TOML_POSITION.search(str(exc))
        line, col = (int(where.group(1)), int(where.group(2))) if where else (None, None)
        message = _TOML_POSITION.sub("", str(exc)).strip()
        raise WorkspaceError(
            f"{file} is not valid TOML",
            problems=[Problem(message, file=file, line=line, column=col)],
            hint="strings need double quotes; each [section] on its own line",
        ) from None
    try:
        config = WorkspaceConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            pos = _locate(text, loc)
            problems.append(
                Problem(
                    str(err["msg"]).removeprefix("Value error, "),
                    file=file,
                    line=pos[0] if pos else None,
                    column=pos[1] if pos else None,
                    path="$." + ".".join(str(p) for p in loc) if loc else "$",
                    hint=_hint(err["type"], loc),
                )
            )
        raise WorkspaceError(
            f"{file} has {len(problems)} problem(s)",
            problems=problems,
            hint="see the scaleguard.toml shape in the documentation of 'scaleguard init'",
        ) from None
    if config.workspace.format > FORMAT_VERSION:
        raise WorkspaceError(
            f"{file} is workspace format {config.workspace.format}; this scaleguard reads "
            f"format {FORMAT_VERSION}",
            hint="upgrade scaleguard to use this workspace",
        )
    return config


def _hint(kind: str, loc: tuple[Any, ...]) -> str:
    if kind == "extra_forbidden":
        return "remove it, or check its spelling: see the documented keys"
    if kind == "missing" and loc == ("workspace",):
        return 'add a [workspace] section with name = "..."'
    return ""


def load_config(path: Path) -> WorkspaceConfig:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WorkspaceError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise WorkspaceError(f"{path} is larger than {MAX_CONFIG_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise WorkspaceError(f"{path} is not UTF-8 text", hint="save it as UTF-8") from None
    return parse_config(text, str(path))


# -- writing -----------------------------------------------------------------


def _toml_string(value: str) -> str:
    """A TOML basic string; JSON escapes are valid TOML escapes, DEL must be escaped too."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def dump_config(config: WorkspaceConfig) -> str:
    """Serialize a config as TOML; ``parse_config(dump_config(c))`` gives back ``c``."""
    lines = ["# scaleguard workspace: see 'scaleguard init --help' for the keys.", ""]
    sections: list[tuple[str, BaseModel]] = [
        ("workspace", config.workspace),
        ("database", config.database),
        ("frameworks", config.frameworks),
        ("determinations", config.determinations),
        ("ledger", config.ledger),
    ]
    for name, section in sections:
        # the defaults of [determinations] are written only when changed
        values = section.model_dump(exclude_none=True, exclude_defaults=name == "determinations")
        if not values:
            continue
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    for indicator in config.indicators:
        lines.append("[[indicators]]")
        values = indicator.model_dump(exclude_none=True)
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in values.items())
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))
