"""Evaluation results as a plain CSV file, for tools scaleguard has no reader for.

The format (UTF-8, comma-separated, RFC 4180 quoting, header row required;
column names are case-insensitive and may come in any order)::

    model,task,metric,value,sample_count,sample_scores,source,notes
    acme/m-7,bio-uplift,accuracy,0.61,400,,internal red team,
    acme/m-7,cyber-ctf,solve_rate,0.25,4,1 0 0 0,,"scored by hand; see ticket 12"

``model``, ``task``, ``metric`` and ``value`` are required. ``sample_count``
is a whole number. ``sample_scores`` lists per-sample numbers separated by
spaces or semicolons; when given, confidence intervals are computed from
them. ``source`` and ``notes`` are free text. Numbers use a dot as decimal
separator (``0.61``, ``6.1e-1``); percentages, NaN and infinity are refused.
A (model, task, metric) combination may appear only once per file.

The file is accepted whole or not at all: every problem is reported with its
``file:line:column`` and a fix, and nothing is returned until all are fixed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from scaleguard.errors import EvidenceError, Problem
from scaleguard.evidence._files import CSV_LIMIT, read_bounded, sha256_hex, shorten, validating
from scaleguard.evidence.records import ArtifactEvidence, EvidenceRecord

REQUIRED = ("model", "task", "metric", "value")
OPTIONAL = ("sample_count", "sample_scores", "source", "notes")
COLUMNS = REQUIRED + OPTIONAL
_MAX_PROBLEMS = 50
_MAX_TEXT = 500
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_COUNT = re.compile(r"\d+")
_SCORE_TOKEN = re.compile(r"[^;\s]+")
_UNQUOTED = re.compile(r"[^,\r\n]*")


@dataclass(frozen=True)
class _Cell:
    text: str
    line: int
    column: int
    quoted: bool


class _Problems:
    """Collects located problems for one file, up to a cap."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[Problem] = []
        self.dropped = 0

    def add(self, cell: _Cell | tuple[int, int], message: str, hint: str = "") -> None:
        if len(self.items) >= _MAX_PROBLEMS:
            self.dropped += 1
            return
        line, column = (cell.line, cell.column) if isinstance(cell, _Cell) else cell
        self.items.append(Problem(message, hint=hint, file=self.name, line=line, column=column))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = len(self.items) + self.dropped
        more = f" (first {len(self.items)} shown)" if self.dropped else ""
        raise EvidenceError(
            f"{self.name}: {count} problem(s) in the CSV{more}; nothing was ingested",
            hint="fix each listed cell and ingest the file again; the columns are "
            + ",".join(COLUMNS)
            + " (the last four optional)",
            problems=list(self.items),
        )


def read_results_csv(path: Path) -> ArtifactEvidence:
    """Read one results CSV file."""
    raw = read_bounded(path, CSV_LIMIT, "CSV files")
    return parse_results_csv(raw, str(path))


def parse_results_csv(raw: bytes, name: str) -> ArtifactEvidence:
    """Parse the bytes of a results CSV named ``name``."""
    if len(raw) > CSV_LIMIT:
        raise EvidenceError(
            f"{name}: {len(raw) / 2**20:.1f} MiB is larger than the "
            f"{CSV_LIMIT // 2**20} MiB limit for CSV files",
            hint="split the file into smaller ones",
        )
    text = _decode(raw, name)
    problems = _Problems(name)
    rows = [row for row in _tokenize(text, problems) if _has_content(row)]
    problems.raise_if_any()
    if not rows:
        raise EvidenceError(
            f"{name}: the CSV file is empty",
            hint="start with the header line: " + ",".join(COLUMNS),
        )
    header, body = rows[0], rows[1:]
    columns = _columns(header, problems)
    problems.raise_if_any()
    if not body:
        raise EvidenceError(
            f"{name}: the CSV has a header but no rows of results",
            hint="add one line per (model, task, metric) below the header",
        )
    sha = sha256_hex(raw)
    records: list[EvidenceRecord] = []
    seen: dict[tuple[str, str, str], int] = {}
    for row in body:
        record = _record(row, header, columns, problems, sha, name)
        if record is None:
            continue
        key = (record.model, record.task, record.metric)
        if key in seen:
            problems.add(
                row[0],
                f"duplicate result for model '{key[0]}', task '{key[1]}', metric '{key[2]}' "
                f"(first given on line {seen[key]})",
                "keep one line per (model, task, metric); put other runs in another file",
            )
            continue
        seen[key] = row[0].line
        records.append(record)
    problems.raise_if_any()
    with validating(name):
        return ArtifactEvidence(
            artifact_sha256=sha,
            artifact_name=name,
            source_format="csv",
            size=len(raw),
            records=records,
        )


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise EvidenceError(
            f"{name}: the CSV is not UTF-8 text",
            hint="save the file as UTF-8 (in spreadsheet programs: 'CSV UTF-8')",
            problems=[
                Problem("invalid UTF-8 byte here", file=name, line=line, column=column),
            ],
        ) from None


def _has_content(row: list[_Cell]) -> bool:
    return any(cell.text.strip() or cell.quoted for cell in row)


def _tokenize(text: str, problems: _Problems) -> list[list[_Cell]]:
    """Split RFC 4180 CSV into rows of cells, remembering where each cell starts."""
    rows: list[list[_Cell]] = []
    row: list[_Cell] = []
    i, n, line, col = 0, len(text), 1, 1
    while i <= n:
        start = (line, col)
        if i < n and text[i] == '"':
            parts: list[str] = []
            i += 1
            col += 1
            while True:
                end = text.find('"', i)
                if end < 0:
                    problems.add(start, "quoted cell is never closed", 'add the closing "')
                    return rows
                chunk = text[i:end]
                parts.append(chunk)
                newlines = chunk.count("\n") + chunk.count("\r") - chunk.count("\r\n")
                if newlines:
                    line += newlines
                    col = len(chunk) - max(chunk.rfind("\n"), chunk.rfind("\r"))
                else:
                    col += len(chunk)
                i = end + 1
                col += 1
                if text.startswith('"', i):
                    parts.append('"')
                    i += 1
                    col += 1
                    continue
                break
            value = "".join(parts).replace("\r\n", "\n")
            if i < n and text[i] not in ",\r\n":
                problems.add(
                    (line, col),
                    "unexpected text after a closing quote",
                    'write a quote inside a quoted cell as two quotes ("")',
                )
                return rows
            row.append(_Cell(value, start[0], start[1], True))
        else:
            match = _UNQUOTED.match(text, i)
            value = match.group() if match else ""
            row.append(_Cell(value, start[0], start[1], False))
            i += len(value)
            col += len(value)
        if i >= n:
            rows.append(row)
            break
        if text[i] == ",":
            i += 1
            col += 1
            continue
        i += 2 if text.startswith("\r\n", i) else 1
        rows.append(row)
        row = []
        line += 1
        col = 1
        if i >= n:
            break
    return rows


def _columns(header: list[_Cell], problems: _Problems) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(header):
        label = cell.text.strip().lower()
        if label not in COLUMNS:
            problems.add(
                cell,
                f"unknown column '{shorten(cell.text, 40)}'",
                "columns are " + ", ".join(COLUMNS) + "; remove or rename this one",
            )
        elif label in columns:
            problems.add(cell, f"column '{label}' appears twice", "keep one of them")
        else:
            columns[label] = index
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        problems.add(
            header[0],
            "the header lacks required column(s): " + ", ".join(missing),
            "the first line must name at least: " + ",".join(REQUIRED),
        )
    return columns


def _record(
    row: list[_Cell],
    header: list[_Cell],
    columns: dict[str, int],
    problems: _Problems,
    sha: str,
    name: str,
) -> EvidenceRecord | None:
    if len(row) != len(header):
        where = row[len(header)] if len(row) > len(header) else row[-1]
        problems.add(
            where,
            f"this line has {len(row)} cells but the header has {len(header)}",
            "quote cells that contain commas, and give every line the header's columns",
        )
        return None
    before = len(problems.items) + problems.dropped

    def cell(column: str) -> _Cell | None:
        index = columns.get(column)
        return row[index] if index is not None else None

    texts: dict[str, str] = {}
    for column in ("model", "task", "metric"):
        found = cell(column)
        assert found is not None  # required columns were checked with the header
        text = found.text.strip()
        if not text:
            problems.add(found, f"{column} is empty", f"every line needs a {column}")
        elif len(text) > _MAX_TEXT:
            problems.add(found, f"{column} is longer than {_MAX_TEXT} characters")
        texts[column] = text
    value_cell = cell("value")
    assert value_cell is not None
    value = _parse_number(value_cell, problems, "value")
    count = _parse_count(cell("sample_count"), problems)
    scores = _parse_scores(cell("sample_scores"), problems)
    if len(problems.items) + problems.dropped > before or value is None:
        return None
    extras = {c: _text(cell(c)) for c in ("source", "notes")}
    with validating(name):
        return EvidenceRecord(
            model=texts["model"],
            task=texts["task"],
            metric=texts["metric"],
            value=value,
            sample_count=count,
            sample_scores=scores,
            source=extras["source"] or None,
            notes=extras["notes"] or None,
            source_format="csv",
            artifact_sha256=sha,
            artifact_name=name,
        )


def _text(cell: _Cell | None) -> str:
    return cell.text.strip() if cell is not None else ""


def _parse_number(cell: _Cell, problems: _Problems, column: str) -> float | None:
    text = cell.text.strip()
    if not text:
        problems.add(cell, f"{column} is empty", "write a number such as 0.61")
        return None
    if not _NUMBER.fullmatch(text):
        hint = "write a plain number with a dot as decimal separator, e.g. 0.61"
        if text.endswith("%"):
            hint = "write percentages as fractions (61% is 0.61)"
        elif text.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            hint = "NaN and infinity are not evidence; leave the line out instead"
        problems.add(cell, f"{column} '{shorten(text, 40)}' is not a number", hint)
        return None
    number = float(text)
    if number in (float("inf"), float("-inf")):
        problems.add(cell, f"{column} '{shorten(text, 40)}' is too large to represent")
        return None
    return number


def _parse_count(cell: _Cell | None, problems: _Problems) -> int | None:
    if cell is None or not cell.text.strip():
        return None
    text = cell.text.strip()
    if not _COUNT.fullmatch(text) or len(text) > 18:
        problems.add(
            cell,
            f"sample_count '{shorten(text, 40)}' is not a whole number",
            "write the number of samples, e.g. 400, or leave the cell empty",
        )
        return None
    return int(text)


def _parse_scores(cell: _Cell | None, problems: _Problems) -> list[float] | None:
    if cell is None or not cell.text.strip():
        return None
    values: list[float] = []
    offset = 1 if cell.quoted else 0
    for match in _SCORE_TOKEN.finditer(cell.text):
        token = match.group()
        location = (cell.line, cell.column + offset + match.start())
        if not _NUMBER.fullmatch(token):
            problems.add(
                location,
                f"sample score '{shorten(token, 40)}' is not a number",
                "separate per-sample numbers with spaces or semicolons, e.g. 1 0 0.5",
            )
            return None
        number = float(token)
        if number in (float("inf"), float("-inf")):
            problems.add(location, f"sample score '{shorten(token, 40)}' is too large")
            return None
        values.append(number)
    return values
