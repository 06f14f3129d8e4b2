"""Ingest throughput for a large Inspect log, next to inspect_ai's own ``read_eval_log``.

The floor is simply reading the log with Inspect's reader: ingesting must also
hash the bytes, extract per-sample scores, copy the artifact into the object
store and write rows with their ledger entries. Target: within 1.5x of the
plain read.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path


def _median_time(fn: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(quick: bool = False) -> str:
    from inspect_ai.log import read_eval_log, write_eval_log

    from scaleguard.evidence import read_artifact
    from scaleguard.evidence.synthetic import make_eval_log
    from scaleguard.workspace import ingest_paths, init_workspace

    samples = 500 if quick else 8000
    repeat = 3
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        scores = [float(i % 3 == 0) for i in range(samples)]
        log = make_eval_log("big_task", "bench/model", scores, transcript_chars=1500)
        for fmt in ("eval", "json"):
            path = folder / f"big.{fmt}"
            write_eval_log(log, str(path), format=fmt)
            size = path.stat().st_size
            t_read = _median_time(lambda p=path: read_eval_log(str(p)), repeat)
            t_parse = _median_time(lambda p=path: read_artifact(p), repeat)

            times = []
            for _ in range(repeat):
                ws = init_workspace(Path(tempfile.mkdtemp(dir=tmp)) / "ws", name="bench")
                try:
                    start = time.perf_counter()
                    ingest_paths(ws, [path], by="bench")
                    times.append(time.perf_counter() - start)
                finally:
                    ws.close()
            t_ingest = statistics.median(times)
            rows.append((fmt, size, t_read, t_parse, t_ingest))

    lines = [
        "## Evidence ingest (issue: workspaces and evidence)",
        "",
        f"One Inspect log with {samples:,} samples (1,500-character transcripts), written by",
        "Inspect's own `write_eval_log`; median of 3 runs. *read* is",
        "`inspect_ai.log.read_eval_log` (full log); *parse* is scaleguard's reader alone;",
        "*ingest* is the whole",
        "`ingest_paths` into a fresh SQLite workspace (read, hash, copy to `objects/`, rows and",
        "ledger entries, durable commit).",
        "",
        "| format | size | read_eval_log | scaleguard parse | full ingest | ingest / read |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for fmt, size, t_read, t_parse, t_ingest in rows:
        lines.append(
            f"| .{fmt} | {size / 1e6:.1f} MB | {t_read:.2f} s | {t_parse:.2f} s | "
            f"{t_ingest:.2f} s | {t_ingest / t_read:.2f}× |"
        )
    lines += [
        "",
        "Target: ingest within 1.5× of just reading the log. For `.eval` scaleguard reads the",
        "sample summaries and the header rather than every transcript, so it is faster than a",
        "full read; for `.json` the whole document must be parsed either way.",
    ]
    return "\n".join(lines)
