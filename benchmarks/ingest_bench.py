"""Ingest of a large Inspect log, next to inspect_ai's own ``read_eval_log`` on the same file.

The floor is reading the log with Inspect's reader. Beside it, in the same run:
scaleguard's parse alone (``read_artifact``: read, hash, header and per-sample
scores) and the whole ingest (``ingest_paths`` into a fresh SQLite workspace).
Each of the six measurements runs in its own process, so that one's memory
cannot inflate another's: after a warm-up on a tiny log (imports, caches),
three timed runs (median), the peak RSS growth over the first run, then
one run under ``tracemalloc`` for the peak of Python allocations.
Targets for ``.json``: time at most 0.5x and peak memory at most 1x the floor.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

METHODS = ("read", "parse", "ingest")
REPEAT = 3


def _status_bytes(field: str) -> int:
    """A ``kB`` figure from /proc/self/status (VmRSS: now; VmHWM: peak), in bytes."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def _reset_peak_rss() -> None:
    """Start VmHWM afresh (Linux clear_refs "5"). ru_maxrss would not do: a child
    inherits it from the process that started it, here the one that built the log."""
    with open("/proc/self/clear_refs", "w") as handle:
        handle.write("5")


def _runner(method: str, scratch: Path) -> Callable[[Path, bool], tuple[float, int]]:
    """``run(path, trace)`` does ``method`` once: seconds taken and, if traced, the
    tracemalloc peak. An ingest gets a fresh workspace, created before the clock starts."""
    if method == "read":
        from inspect_ai.log import read_eval_log

        def work(path: Path) -> Callable[[], object]:
            return lambda: read_eval_log(str(path))

    elif method == "parse":
        from scaleguard.evidence import read_artifact

        def work(path: Path) -> Callable[[], object]:
            return lambda: read_artifact(path)

    else:
        from scaleguard.workspace import ingest_paths, init_workspace

        def work(path: Path) -> Callable[[], object]:
            ws = init_workspace(Path(tempfile.mkdtemp(dir=scratch)) / "ws", name="bench")
            opened.append(ws)
            return lambda: ingest_paths(ws, [path], by="bench")

    opened: list[Any] = []

    def run(path: Path, trace: bool) -> tuple[float, int]:
        task = work(path)
        try:
            if trace:
                tracemalloc.start()
            start = time.perf_counter()
            task()
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1] if trace else 0
        finally:
            tracemalloc.stop()
            while opened:
                opened.pop().close()
        return elapsed, peak

    return run


def measure(method: str, path: Path, warmup: Path) -> dict[str, Any]:
    """Run in a fresh process: times, RSS growth and tracemalloc peak of ``method``."""
    with tempfile.TemporaryDirectory() as tmp:
        run = _runner(method, Path(tmp))
        run(warmup, False)
        _reset_peak_rss()
        base = _status_bytes("VmRSS")
        times = []
        rss_growth = 0
        for i in range(REPEAT):
            times.append(run(path, False)[0])
            if i == 0:
                rss_growth = _status_bytes("VmHWM") - base
        heap = run(path, True)[1]
    return {"time": statistics.median(times), "rss": rss_growth, "heap": heap}


def _in_child(method: str, path: Path, warmup: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.ingest_bench", method, str(path), str(warmup)],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).resolve().parents[1],
    )
    if done.returncode != 0:
        raise RuntimeError(f"ingest bench ({method} {path.name}) failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _write_logs(folder: Path, samples: int) -> dict[str, tuple[Path, Path]]:
    from inspect_ai.log import write_eval_log

    from scaleguard.evidence.synthetic import make_eval_log

    scores = [float(i % 3 == 0) for i in range(samples)]
    big = make_eval_log("big_task", "bench/model", scores, transcript_chars=1500)
    tiny = make_eval_log("tiny_task", "bench/model", [1.0, 0.0, 1.0], transcript_chars=100)
    paths = {}
    for fmt in ("eval", "json"):
        path, warm = folder / f"big.{fmt}", folder / f"tiny.{fmt}"
        write_eval_log(big, str(path), format=fmt)
        write_eval_log(tiny, str(warm), format=fmt)
        paths[fmt] = (path, warm)
    return paths


def _mb(n: float) -> str:
    return f"{n / 1e6:.0f} MB"


def run(quick: bool = False) -> str:
    samples = 500 if quick else 8000
    rows: list[tuple[str, int, dict[str, dict[str, Any]]]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, (path, warm) in _write_logs(Path(tmp), samples).items():
            found = {method: _in_child(method, path, warm) for method in METHODS}
            rows.append((fmt, path.stat().st_size, found))
    load = os.getloadavg()[0]

    lines = [
        "## Evidence ingest",
        "",
        f"One Inspect log with {samples:,} samples (1,500-character transcripts), written by",
        "Inspect's own `write_eval_log`. *read_eval_log* (the floor) is",
        "`inspect_ai.log.read_eval_log(path)`, the full log; *parse* is scaleguard's",
        "`read_artifact` (read, hash, header, per-sample scores); *ingest* is the whole",
        "`ingest_paths` into a fresh SQLite workspace (read, hash, copy to `objects/`, rows and",
        "ledger entries, durable commit). Each column is measured in its own process, after a",
        "warm-up on a tiny log: time is the median of 3 runs; *heap peak* is the tracemalloc",
        "peak of one run (Python allocations); *RSS growth* is the peak resident size during",
        "the first run (Linux VmHWM, reset before it) over the size before it (this includes",
        "memory no Python object owns).",
        f"The machine was shared with other work (load average {load:.1f} at the end of the run),",
        "so absolute times vary between runs; the ratios, taken in the same run, vary less.",
        "",
        "| format | measure | read_eval_log | scaleguard parse | parse / read "
        "| full ingest | ingest / read |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for fmt, size, found in rows:
        read, parse, ingest = found["read"], found["parse"], found["ingest"]
        for key, label, show in (
            ("time", "time", lambda v: f"{v:.2f} s"),
            ("heap", "heap peak", _mb),
            ("rss", "RSS growth", _mb),
        ):
            floor = read[key] or 1
            lines.append(
                f"| .{fmt} ({size / 1e6:.1f} MB) | {label} | {show(read[key])} "
                f"| {show(parse[key])} | {parse[key] / floor:.2f}× "
                f"| {show(ingest[key])} | {ingest[key] / floor:.2f}× |"
            )
    lines += [
        "",
        "Targets for `.json`: ingest within 0.5× the time and 1× the peak memory of",
        "`read_eval_log`. scaleguard streams a `.json` log once (ijson), building only the",
        "header (validated by Inspect's reader) and each sample's id, epoch and scores;",
        "transcripts are parsed but never built. For `.eval` it reads the header and the",
        "`summaries.json` index, and only checksums the transcripts.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    method, path, warmup = sys.argv[1:4]
    print(json.dumps(measure(method, Path(path), Path(warmup))))
