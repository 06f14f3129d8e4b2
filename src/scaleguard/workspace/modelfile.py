"""Registry import files (``scaleguard models import``): YAML or CSV, checked whole.

YAML (``.yaml``/``.yml``)::

    models:
      - name: acme-3
        developer: Acme AI
        own: true
        parent: acme-2            # registered already, or listed earlier in this file
        effective_compute: 3.0e25 # training FLOP
        status: internal          # planned | training | internal | released | retired
        notes: first model trained on the new cluster
        sources: [https://example.com/acme-3-card]
        scores: {cyber: 0.41, bio: 0.22}   # capability score per risk domain
        score_source: https://example.com/acme-3-evals  # defaults to the first source
      - name: rival-9
        developer: Rival Labs
        status: released
        released_on: 2026-02-01
        safeguards_level: comparable      # none | weak | comparable | strong | unknown
        sources: [https://rival.example/blog/rival-9]
        scores: {cyber: 0.45}

CSV (``.csv``; UTF-8, RFC 4180 quoting, header row required)::

    name,developer,own,status,released_on,safeguards_level,sources,score:cyber,score:bio
    rival-9,Rival Labs,false,released,2026-02-01,comparable,https://rival.example/r9,0.45,

Columns are the YAML keys; ``sources`` holds URLs separated by spaces; each
``score:DOMAIN`` column holds that domain's score; empty cells are absent.
Own models default to status ``planned``, competitors' to ``released`` with
safeguards ``unknown``.

Every problem is reported with ``file:line:column`` and nothing is imported
until the whole file is valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scaleguard.errors import InputError, Problem
from scaleguard.framework.yamlsource import SourceMap, json_path, read_listing
from scaleguard.workspace.registry import Located, ModelSpec

MAX_BYTES = 5 * 1024 * 1024
MAX_MODELS = 10_000
MAX_PROBLEMS = 50
SCORE_PREFIX = "score:"
_HINT = "see 'scaleguard models import --help' for the file shape"


def parse_models_file(path: Path) -> list[Located]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise InputError(f"{path}: {size:,} bytes is over the {MAX_BYTES:,}-byte limit")
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not a models file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".csv"):
        raise InputError(
            f"{path}: cannot tell the format from the name", hint="name it .yaml or .csv"
        )
    return parse_models(data, str(path), "csv" if suffix == ".csv" else "yaml")


def parse_models(data: bytes, file: str, kind: str) -> list[Located]:
    """Parse the bytes of an import file; InputError lists every problem found."""
    if len(data) > MAX_BYTES:
        raise InputError(f"{file}: over the {MAX_BYTES:,}-byte limit")
    entries, problems = _parse_csv(data, file) if kind == "csv" else _parse_yaml(data, file)
    seen: dict[str, Problem] = {}
    for entry in entries:
        name = entry.spec.name
        if name in seen:
            first = seen[name]
            problems.append(
                Problem(
                    f"model {name!r} is listed twice (first at line {first.line})",
                    hint="keep one entry per model",
                    file=entry.problem_at.file,
                    line=entry.problem_at.line,
                    column=entry.problem_at.column,
                    path=entry.problem_at.path,
                )
            )
        else:
            seen[name] = entry.problem_at
    _raise_if(problems, file)
    return entries


def _raise_if(problems: list[Problem], file: str) -> None:
    if not problems:
        return
    shown = problems[:MAX_PROBLEMS]
    extra = len(problems) - len(shown)
    raise InputError(
        f"{file} has {len(problems)} problem(s); nothing was imported"
        + (f" (first {MAX_PROBLEMS} shown)" if extra else ""),
        problems=shown,
        hint=_HINT,
    )


def _pydantic_problems(
    exc: ValidationError, locate: Any, prefix: tuple[str | int, ...]
) -> list[Problem]:
    out = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if p != "[key]")
        message = str(err["msg"]).removeprefix("Value error, ")
        out.append(locate(prefix + loc, message))
    return out


# -- YAML ---------------------------------------------------------------------


def _parse_yaml(data: bytes, file: str) -> tuple[list[Located], list[Problem]]:
    items, source = read_listing(
        data, file, key="models", kind="models", example="name", limit=MAX_MODELS, hint=_HINT
    )
    problems: list[Problem] = []
    entries: list[Located] = []

    def locate(path: tuple[str | int, ...], message: str) -> Problem:
        # an unknown key is pointed at by its name, everything else by its value
        return source.problem(path, message, key=message.startswith("Extra inputs"))

    for i, item in enumerate(items):
        where: tuple[str | int, ...] = ("models", i)
        if not isinstance(item, dict):
            problems.append(locate(where, "each model must be a mapping with at least 'name'"))
            continue
        try:
            spec = ModelSpec.model_validate(item)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, locate, where))
            continue
        entries.append(Located(spec, _anchor(source, (*where, "name"))))
    return entries, problems


def _anchor(source: SourceMap, path: tuple[str | int, ...]) -> Problem:
    pos = source.locate(path)
    return Problem(
        "",
        file=source.file,
        line=pos[0] if pos else None,
        column=pos[1] if pos else None,
        path=json_path(path),
    )


# -- CSV ----------------------------------------------------------------------

Cell = tuple[str, int, int]  # value, line, column


def _csv_records(text: str, file: str) -> Iterator[list[Cell]]:
    """RFC 4180 records with the line and column where each field starts."""
    i, n, line, col = 0, len(text), 1, 1
    record: list[Cell] = []
    while True:
        start_line, start_col = line, col
        if i < n and text[i] == '"':
            i, col = i + 1, col + 1
            chunk: list[str] = []
            while True:
                if i >= n:
                    raise _csv_error(file, start_line, start_col, "a quoted field is never closed")
                ch = text[i]
                if ch == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        chunk.append('"')
                        i, col = i + 2, col + 2
                        continue
                    i, col = i + 1, col + 1
                    break
                chunk.append(ch)
                i += 1
                line, col = (line + 1, 1) if ch == "\n" else (line, col + 1)
            if i < n and text[i] not in ",\r\n":
                raise _csv_error(file, line, col, "unexpected text after a closing quote")
            value = "".join(chunk)
        else:
            j = i
            while j < n and text[j] not in ",\r\n":
                if text[j] == '"':
                    raise _csv_error(file, line, col + j - i, "a quote inside an unquoted field")
                j += 1
            value, col, i = text[i:j], col + j - i, j
        record.append((value, start_line, start_col))
        if i >= n:
            yield record
            return
        if text[i] == ",":
            i, col = i + 1, col + 1
            continue
        i += 2 if text.startswith("\r\n", i) else 1
        line, col = line + 1, 1
        yield record
        record = []
        if i >= n:
            return


def _csv_error(file: str, line: int, col: int, message: str) -> InputError:
    return InputError(
        f"{file} is not valid CSV",
        problems=[
            Problem(
                message,
                file=file,
                line=line,
                column=col,
                hint="quote fields containing commas or quotes, and double inner quotes",
            )
        ],
        hint=_HINT,
    )


_CSV_FIELDS = frozenset(ModelSpec.model_fields) - {"scores"}


def _cell_locator(file: str, cells: dict[str, Cell], row_line: int) -> Any:
    """Map a validation error's field to the cell it came from."""

    def locate(path: tuple[str | int, ...], message: str) -> Problem:
        column = str(path[0]) if path else ""
        if column == "scores" and len(path) > 1:
            column = SCORE_PREFIX + str(path[1])
        cell = cells.get(column)
        line, col = (cell[1], cell[2]) if cell else (row_line, 1)
        return Problem(message, file=file, line=line, column=col, path=column or json_path(path))

    return locate


def _parse_csv(data: bytes, file: str) -> tuple[list[Located], list[Problem]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{file} is not UTF-8 text",
            problems=[
                Problem(f"byte 0x{data[exc.start]:02x} cannot be decoded", file=file, line=line)
            ],
            hint="save the file as UTF-8",
        ) from None
    if "\x00" in text:
        raise InputError(f"{file} contains a NUL character", hint="this is not a CSV text file")
    records = [r for r in _csv_records(text, file) if any(v.strip() for v, _, _ in r)]
    if not records:
        raise InputError(f"{file} is empty", hint="the first line names the columns: name,...")
    header, rows = records[0], records[1:]
    if len(rows) > MAX_MODELS:
        raise InputError(f"{file} lists {len(rows):,} models; the limit is {MAX_MODELS:,}")
    problems: list[Problem] = []
    columns: list[str] = []
    for value, line, col in header:
        name = value.strip().lower()
        domain = name.removeprefix(SCORE_PREFIX) if name.startswith(SCORE_PREFIX) else None
        if name in columns:
            problems.append(
                Problem(f"column {name!r} appears twice", file=file, line=line, column=col)
            )
        elif domain is None and name not in _CSV_FIELDS:
            problems.append(
                Problem(
                    f"unknown column {value.strip()!r}",
                    hint="known columns: " + ", ".join(sorted(_CSV_FIELDS)) + ", score:DOMAIN",
                    file=file,
                    line=line,
                    column=col,
                )
            )
        columns.append(name)
    if "name" not in columns:
        problems.append(
            Problem("the header has no 'name' column", file=file, line=header[0][1], column=1)
        )
    _raise_if(problems, file)
    entries: list[Located] = []
    for row in rows:
        row_line = row[0][1]
        if len(row) != len(columns):
            problems.append(
                Problem(
                    f"this row has {len(row)} field(s); the header has {len(columns)}",
                    hint="check for a missing or extra comma, or quote a field containing one",
                    file=file,
                    line=row_line,
                    column=1,
                )
            )
            continue
        cells = {c: cell for c, cell in zip(columns, row, strict=True) if cell[0].strip()}
        item: dict[str, Any] = {}
        scores: dict[str, str] = {}
        for column, (value, _, _) in cells.items():
            if column.startswith(SCORE_PREFIX):
                scores[column.removeprefix(SCORE_PREFIX)] = value.strip()
            elif column == "sources":
                item["sources"] = value.split()
            else:
                item[column] = value.strip()
        if scores:
            item["scores"] = scores

        locate = _cell_locator(file, cells, row_line)
        try:
            spec = ModelSpec.model_validate(item)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(exc, locate, ()))
            continue
        name_cell = cells.get("name")
        entries.append(
            Located(
                spec,
                Problem(
                    "",
                    file=file,
                    line=name_cell[1] if name_cell else row_line,
                    column=name_cell[2] if name_cell else 1,
                    path="name",
                ),
            )
        )
    return entries, problems
