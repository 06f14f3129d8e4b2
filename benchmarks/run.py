"""Run every benchmark and write benchmarks/RESULTS.md with the machine and the date.

``python -m benchmarks.run [--quick] [NAME ...]``: ``--quick`` uses small sizes, to check
that the benchmarks work; the committed RESULTS.md comes from a full run. Naming sections
(e.g. ``cli``) re-runs only those and replaces only their sections of RESULTS.md.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import platform
import sqlite3
import sys
from pathlib import Path

SECTIONS = (
    "benchmarks.ingest_bench",
    "benchmarks.decision_bench",
    "benchmarks.ledger_bench",
    "benchmarks.canonical_bench",
    "benchmarks.history_bench",
    "benchmarks.usage_bench",
    "benchmarks.web_bench",
    "benchmarks.cli_bench",
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}, {cpu}, "
        f"{os.cpu_count()} cores{mem}; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def probe() -> float:
    """Seconds (median of five) for one fixed task of pure Python and hashing: the same
    work every run, so its time says how fast the machine was running at that moment."""
    import hashlib
    import statistics
    import time

    data = bytes(range(256)) * 16_384  # 4 MiB
    times = []
    for _ in range(5):
        start = time.perf_counter()
        total = 0
        for i in range(200_000):
            total += i * i % 7
        hashlib.sha256(data).digest()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    quick = "--quick" in sys.argv[1:]
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    parts = [
        "# Benchmark results",
        "",
        f"Run on {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}"
        f"{' (quick sizes)' if quick else ''}.",
        "",
        f"Machine: {machine()}.",
        "",
        "Produced by `make bench` (`python -m benchmarks.run`). Figures are wall-clock times on",
        "the machine above, medians of repeated runs unless stated; they are indicative, and the",
        "test suite never asserts on them.",
        "",
    ]
    out = Path(__file__).parent / "RESULTS.md"
    fresh: dict[str, str] = {}
    for name in SECTIONS:
        if only and not any(o in name for o in only):
            continue
        module = importlib.import_module(name)
        print(f"running {name} ...", flush=True)
        before = probe()
        section = module.run(quick=quick).rstrip() + "\n"
        title, _, body = section.partition("\n")
        note = (
            f"Machine probe (one fixed CPU task, lower is faster; it tells how fast the "
            f"shared machine ran when figures from different runs are compared): "
            f"{before * 1000:.0f} ms before this section, {probe() * 1000:.0f} ms after."
        )
        section = f"{title}\n\n{note}\n{body}"
        fresh[_heading(section)] = section
    if only and out.exists():
        # A partial run replaces only its own sections, dated, and keeps every other one.
        stamp = f"Re-run on {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}."
        kept = _sections(out.read_text())
        for heading, section in fresh.items():
            title, _, body = section.partition("\n")
            kept[heading] = f"{title}\n\n{stamp}\n{body}\n"  # a blank line before the next
        out.write_text("".join(kept.values()))
    else:
        out.write_text("\n".join([*parts, *fresh.values()]))
    print(f"wrote {out}")
    return 0


def _heading(section: str) -> str:
    return section.lstrip().partition("\n")[0].strip()


def _sections(text: str) -> dict[str, str]:
    """RESULTS.md split at its ``## `` headings, in order; the preamble keyed by ''."""
    out: dict[str, str] = {}
    key, lines = "", []
    for line in text.splitlines(keepends=True):
        if line.startswith("## "):
            out[key] = "".join(lines)
            key, lines = line.strip(), []
        lines.append(line)
    out[key] = "".join(lines)
    return out


if __name__ == "__main__":
    sys.exit(main())
