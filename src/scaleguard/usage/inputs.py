"""Read prompts to screen from CSV (a ``prompt`` column) or JSONL (a ``prompt`` field).

Every problem names the file and line; nothing is screened from a file that
does not read cleanly.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from scaleguard.errors import InputError, Problem

MAX_FILE_BYTES = 50 * 1024 * 1024
MAX_PROMPTS = 100_000


def read_prompts(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory", hint="name a .csv or .jsonl file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{path} is over {MAX_FILE_BYTES:,} bytes", hint="split the file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path} is not valid UTF-8",
            hint="save the file as UTF-8",
            problems=[
                Problem(
                    f"byte 0x{data[exc.start]:02x} cannot be decoded",
                    file=str(path),
                    line=line,
                    column=1,
                )
            ],
        ) from None
    if "\x00" in text:
        raise InputError(f"{path} contains NUL bytes", hint="this looks like a binary file")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        prompts = _jsonl(text, str(path))
    elif suffix == ".csv":
        prompts = _csv(text, str(path))
    else:
        raise InputError(f"{path}: unknown format {suffix or '(none)'}", hint="use .csv or .jsonl")
    if not prompts:
        raise InputError(f"{path} holds no prompts")
    if len(prompts) > MAX_PROMPTS:
        raise InputError(f"{path} holds {len(prompts):,} prompts; the limit is {MAX_PROMPTS:,}")
    return prompts


def _jsonl(text: str, file: str) -> list[str]:
    out: list[str] = []
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(
                Problem(f"not JSON: {exc.msg}", file=file, line=number, column=exc.colno)
            )
            continue
        prompt = value.get("prompt") if isinstance(value, dict) else None
        if not isinstance(prompt, str) or not prompt.strip():
            problems.append(
                Problem(
                    "no non-empty string 'prompt' field",
                    hint='each line is an object like {"prompt": "..."}',
                    file=file,
                    line=number,
                    column=1,
                )
            )
            continue
        out.append(prompt)
    if problems:
        raise InputError(f"{file}: {len(problems)} problem(s)", problems=problems[:50])
    return out


def _csv(text: str, file: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(f"{file} is empty") from None
    except csv.Error as exc:
        raise InputError(
            f"{file}: malformed CSV at line {reader.line_num}: {exc}",
            problems=[Problem(f"malformed CSV: {exc}", file=file, line=reader.line_num, column=1)],
        ) from None
    names = [h.strip().lower() for h in header]
    if "prompt" not in names:
        raise InputError(
            f"{file} has no 'prompt' column (columns: {', '.join(header) or 'none'})",
            hint="name the column holding the text 'prompt'; other columns are ignored",
            problems=[Problem("header without 'prompt'", file=file, line=1, column=1)],
        )
    col = names.index("prompt")
    out: list[str] = []
    problems: list[Problem] = []
    try:
        for row in reader:
            line = reader.line_num
            if not row or not any(cell.strip() for cell in row):
                continue
            if col >= len(row) or not row[col].strip():
                problems.append(Problem("empty prompt", file=file, line=line, column=col + 1))
                continue
            out.append(row[col])
    except csv.Error as exc:
        raise InputError(f"{file}: malformed CSV at line {reader.line_num}: {exc}") from None
    if problems:
        raise InputError(f"{file}: {len(problems)} problem(s)", problems=problems[:50])
    return out
