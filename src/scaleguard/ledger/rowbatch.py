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
from json.encoder import encode_basestring
from typing import Any

from scaleguard.ledger.canonical import MAX_SAFE_INTEGER
from scaleguard.ledger.recheck import RowLayout, cell_text, processed_cell_text

_NONE = type(None)
_TEXTS: frozenset[type] = frozenset({str, _NONE})
_NUMBERS: frozenset[type] = frozenset({int, float})
#: Processed cells remembered per column; results depend only on the raw cell.
_MEMO_KEPT = 4096


def _column(
    cells: Sequence[Any],
    process: Callable[[Any], Any] | None,
    memo: dict[Any, str | None],
) -> list[str | None]:
    """Every cell of one column as JSON text (None for a cell that cannot be written surely)."""
    kinds = set(map(type, cells))
    if process is None or kinds == {_NONE}:
        if kinds == {str}:
            return list(map(encode_basestring, cells))
        if kinds <= _TEXTS:
            return ["null" if v is None else encode_basestring(v) for v in cells]
        if kinds == {int} and min(cells) >= -MAX_SAFE_INTEGER and max(cells) <= MAX_SAFE_INTEGER:
            return list(map(int.__repr__, cells))
        if kinds <= _NUMBERS:
            return _numbers(cells, memo)
        return list(map(cell_text, cells))
    out: list[str | None] = []
    for value in cells:
        cls = type(value)
        # A processed cell's text depends only on the raw cell: a text is its own key;
        # a number's key holds its type too, as processors may treat 1 and 1.0 apart.
        if cls is str:
            key: Any = value
        elif cls is int or cls is float:
            key = (cls, value)
        else:
            out.append(processed_cell_text(value, process))
            continue
        text = memo.get(key, memo)
        if text is memo:
            text = processed_cell_text(value, process)
            if len(memo) >= _MEMO_KEPT:
                memo.clear()
            memo[key] = text
        out.append(text)  # type: ignore[arg-type]
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
        body = "".join(prefix.translate(escape) + "%s" for prefix, _, _ in rows.fields)
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
        if not all(map(rows.known_time, fresh)):
            return None
        texts: list[Sequence[Any]] = []
        for (_, at, process), memo in zip(rows.fields, self.memos, strict=True):
            column = _column(columns[at], process, memo)
            if None in column:
                return None
            texts.append(column)
        texts.append(times)
        form = self.format
        try:
            return [(form % values).encode() for values in zip(*texts, strict=True)]
        except UnicodeEncodeError:
            return None
