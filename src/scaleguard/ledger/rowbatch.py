"""The entry bytes of a whole batch of record rows, column by column.

:meth:`RowLayout.entry_bytes` writes one row at a time and branches on the
type of every cell. A batch read from one table mostly holds columns of a
single type (all text, all safe integers, all null), so here each column is
turned into its JSON text at once, through C calls where the column allows,
and the rows are then put together with one format string. The result is
exactly what ``entry_bytes`` gives row by row; where ``entry_bytes`` would
give None for any row, the batch gets None and the caller goes row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from scaleguard.ledger.canonical import MAX_SAFE_INTEGER
from scaleguard.ledger.recheck import (
    _DUMPS,
    _ENCODE_STR,
    _TIMES_KEPT,
    RowLayout,
    _c_safe,
    _float_safe,
    _plain,
    normalized,
    valid_time,
)

_NONE = type(None)
_TEXTS: frozenset[type] = frozenset({str, _NONE})
_RAW_TEXT: frozenset[type] = frozenset({str, bytes})
_NUMBERS: frozenset[type] = frozenset({int, float})
#: Processed cells remembered per column; results depend only on the raw cell.
_MEMO_KEPT = 4096


def cell_text(value: Any) -> str | None:
    """A processed cell as ``entry_bytes`` writes it, or None where it would give up."""
    cls = type(value)
    if cls is str:
        return _ENCODE_STR(value)
    if value is None:
        return "null"
    if cls is bool:
        return "true" if value else "false"
    if cls is int:
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return None
        return int.__repr__(value)
    if cls is float:
        if value.is_integer() and abs(value) <= MAX_SAFE_INTEGER:
            return int.__repr__(int(value))
        if _float_safe(value):
            return float.__repr__(value)
        return None
    plain = normalized(_plain(value))
    if not _c_safe(plain, 2):
        return None
    try:
        return _DUMPS(plain)
    except (ValueError, TypeError):
        return None


def _processed(value: Any, process: Callable[[Any], Any], text_only: bool) -> str | None:
    """``entry_bytes``' handling of a cell whose column has a result processor."""
    raw_text = type(value) is str or type(value) is bytes
    if value is not None and (raw_text or not text_only):
        try:  # noqa: SIM105 - a context manager per cell costs more in this loop
            value = process(value)
        except (TypeError, ValueError, OverflowError):
            pass  # kept raw, as RowLayout.values() keeps it
    return cell_text(value)


def _column(
    cells: Sequence[Any],
    process: Callable[[Any], Any] | None,
    text_only: bool,
    memo: dict[Any, str | None],
) -> list[str | None]:
    """Every cell of one column as JSON text (None for a cell that cannot be written surely)."""
    kinds = set(map(type, cells))
    if text_only and not kinds & _RAW_TEXT:  # a JSON column leaves stored numbers raw
        process = None
    if process is None or kinds == {_NONE}:
        if kinds == {str}:
            return list(map(_ENCODE_STR, cells))
        if kinds <= _TEXTS:
            return ["null" if v is None else _ENCODE_STR(v) for v in cells]
        if kinds == {int} and min(cells) >= -MAX_SAFE_INTEGER and max(cells) <= MAX_SAFE_INTEGER:
            return list(map(int.__repr__, cells))
        if kinds <= _NUMBERS:
            return _numbers(cells, memo)
        return list(map(cell_text, cells))
    out: list[str | None] = []
    for value in cells:
        if type(value) is str:  # the usual raw cell; its text depends on nothing else
            text = memo.get(value, memo)
            if text is memo:
                text = _processed(value, process, text_only)
                if len(memo) >= _MEMO_KEPT:
                    memo.clear()
                memo[value] = text
            out.append(text)  # type: ignore[arg-type]
        else:
            out.append(_processed(value, process, text_only))
    return out


def _numbers(cells: Sequence[Any], memo: dict[Any, str | None]) -> list[str | None]:
    """Numeric cells through a memo keyed by value.

    Sound because equal numbers get equal text here: an int and a float
    that compare equal make the float integral, written as that same int
    (or both refused beyond the safe range); -0.0 and 0.0 both give ``0``;
    NaN never equals itself, so it is never found. Booleans, which also
    compare equal to numbers, never reach this function.
    """
    out: list[str | None] = []
    append = out.append
    for value in cells:
        text = memo.get(value, memo)
        if text is memo:
            text = cell_text(value)
            if len(memo) >= _MEMO_KEPT:
                memo.clear()
            memo[value] = text
        append(text)  # type: ignore[arg-type]
    return out


class BatchLayout:
    """One record table's rows written as entries a batch at a time (see the module doc)."""

    def __init__(self, rows: RowLayout) -> None:
        self.rows = rows
        escape = str.maketrans({"%": "%%"})
        body = "".join(prefix.translate(escape) + "%s" for prefix, _, _, _ in rows.fields)
        self.format = rows.head.translate(escape) + body + '},"time":"%s"}'
        self.memos: list[dict[Any, str | None]] = [{} for _ in rows.fields]

    def entry_bytes(self, columns: Sequence[Sequence[Any]]) -> list[bytes] | None:
        """Each row's entry bytes as ``RowLayout.entry_bytes`` writes them; None if one has none."""
        rows = self.rows
        times = columns[rows.time_at]
        try:
            fresh = set(times) - rows.times
        except TypeError:  # an unhashable cell: not a time
            return None
        for moment in fresh:
            if type(moment) is not str or not valid_time(moment):
                return None
            if len(rows.times) >= _TIMES_KEPT:
                rows.times.clear()
            rows.times.add(moment)
        texts: list[Sequence[Any]] = []
        for (_, at, process, text_only), memo in zip(rows.fields, self.memos, strict=True):
            column = _column(columns[at], process, text_only, memo)
            if None in column:
                return None
            texts.append(column)
        texts.append(times)
        form = self.format
        try:
            return [(form % values).encode() for values in zip(*texts, strict=True)]
        except UnicodeEncodeError:
            return None
