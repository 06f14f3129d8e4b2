"""What a ledger verification found: discrepancies located by entry, and the report."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

#: A wholesale rewrite produces a finding per row; keep the report readable.
MAX_FINDINGS = 1000


@dataclass(frozen=True)
class Discrepancy:
    """One thing that does not add up, located as precisely as the data allows.

    ``index`` is the first ledger index affected; it is None when no single
    entry can be named (e.g. a checkpoint row that was altered).
    """

    index: int | None
    table: str
    row: str
    message: str
    #: For findings only a checkpoint can make (the damage is somewhere in
    #: ``span``): a more precise finding inside the span names the entry.
    span: tuple[int, int] | None = None

    def render(self) -> str:
        where = f"{self.table} {self.row}".strip()
        at = "" if self.index is None else f"entry {self.index}: "
        return f"{at}{where}: {self.message}"

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "table": self.table, "row": self.row, "message": self.message}


def _ranked(finding: Discrepancy, seq: int) -> tuple[int, int, int, Discrepancy]:
    """Heap key: the root is the latest finding by :func:`order`, then the last one added."""
    first, rank = order(finding)
    return (-first, -rank, -seq, finding)


_RANK = {"ledger_entries": 0, "ledger_nodes": 1, "ledger_checkpoints": 3, "receipt": 4}


def order(finding: Discrepancy) -> tuple[int, int]:
    """Earliest index first; at one index, the most specific finding (a row) first."""
    return (1 << 64 if finding.index is None else finding.index, _RANK.get(finding.table, 2))


@dataclass
class VerifyReport:
    """What :func:`verify` checked and every discrepancy it found, earliest first."""

    full: bool
    size: int
    entries: int = 0
    nodes: int = 0
    records: int = 0
    checkpoints: int = 0
    latest: int | None = None
    discrepancies: list[Discrepancy] = field(default_factory=list)
    total_found: int = 0
    #: The key trusted: name, key ID, vkey and where it came from (set by the caller).
    key: dict[str, str] | None = None
    #: Limits of this verification worth saying (not discrepancies).
    warnings: list[str] = field(default_factory=list)
    artifacts: int = 0
    _kept: list[tuple[int, int, int, Discrepancy]] = field(default_factory=list, repr=False)
    #: Wall-clock seconds, entry bytes read and processes used (full mode spreads spans).
    seconds: float = 0.0
    bytes: int = 0
    workers: int = 1
    #: CPU seconds the span checks took, summed over every process (benchmarks read it).
    span_cpu_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.total_found == 0

    @property
    def first(self) -> Discrepancy | None:
        return self.discrepancies[0] if self.discrepancies else None

    def add(
        self,
        index: int | None,
        table: str,
        row: str,
        message: str,
        span: tuple[int, int] | None = None,
    ) -> None:
        self.total_found += 1
        found = Discrepancy(index, table, row, message, span)
        if len(self.discrepancies) < MAX_FINDINGS:
            self.discrepancies.append(found)
            return
        # Full: keep the earliest findings by index, so the first one shown is the first bad
        # entry however many later ones there are (and whatever order they were found in).
        if not self._kept:
            self._kept = [_ranked(d, i) for i, d in enumerate(self.discrepancies)]
            heapq.heapify(self._kept)
        candidate = _ranked(found, self.total_found)
        if candidate > self._kept[0]:
            heapq.heapreplace(self._kept, candidate)  # finish() lists the kept ones

    def finish(self) -> VerifyReport:
        """Sort earliest first; a checkpoint's range finding takes the precise index inside it."""
        if self._kept:  # more than MAX_FINDINGS: the kept ones, in the order they were found
            self.discrepancies = [k[3] for k in sorted(self._kept, key=lambda k: -k[2])]
            self._kept = []
        precise = sorted(
            d.index for d in self.discrepancies if d.span is None and d.index is not None
        )
        placed: list[Discrepancy] = []
        for d in self.discrepancies:
            if d.span is not None:
                lo, hi = d.span
                inside = next((i for i in precise if lo <= i < hi), None)
                if inside is not None:
                    d = Discrepancy(inside, d.table, d.row, d.message, d.span)
            placed.append(d)
        self.discrepancies = sorted(placed, key=order)
        return self

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "full": self.full,
            "size": self.size,
            "checked": {
                "entries": self.entries,
                "nodes": self.nodes,
                "records": self.records,
                "checkpoints": self.checkpoints,
                "artifacts": self.artifacts,
            },
            "latest_checkpoint": self.latest,
            "key": self.key,
            "warnings": self.warnings,
            "first_bad_index": None if self.first is None else self.first.index,
            "discrepancies": [d.as_json() for d in self.discrepancies],
            "total_discrepancies": self.total_found,
            "throughput": self.throughput(),
        }

    def throughput(self) -> dict[str, float | int]:
        """Entries and entry megabytes (10^6 bytes) re-checked per second."""
        seconds = max(self.seconds, 1e-9)
        return {
            "seconds": round(self.seconds, 3),
            "entries_per_s": round(self.entries / seconds, 1),
            "mb_per_s": round(self.bytes / 1e6 / seconds, 3),
            "workers": self.workers,
        }


# -- the checks ----------------------------------------------------------------------


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_bytes(value: object) -> bytes | None:
    """A BLOB column's value as bytes; None when the database holds another type there."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return None


def type_name(value: object) -> str:
    return "NULL" if value is None else f"{type(value).__name__} ({str(value)[:40]!r})"
