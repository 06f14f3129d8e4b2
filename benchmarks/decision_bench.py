"""Decision latency on a workspace with 1,000 models and 100,000 evidence records.

Two figures: *evaluate* (gather the inputs from the database and run the
decision engine, read-only: what a dashboard refresh costs) and *decide* (the
full command path: determine, decide, and durably record determinations and
the decision with their ledger entries). Target: p50 under 20 ms.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

TASKS = ("bio_basic_uplift", "bio_novel_design", "ml_research_tasks", "covert_sabotage")


def _build(root: Path, models: int, per_model: int) -> float:
    from scaleguard import demo
    from scaleguard.workspace import ingest_paths, open_workspace

    start = time.perf_counter()
    demo.prepare(root)
    ws = open_workspace(root)
    try:
        # registry: competitors with scores, as a models CSV
        lines = ["name,developer,own,status,released_on,safeguards_level,score:chem-bio,score:cbrn"]
        for i in range(models - 5):
            lines.append(
                f"comp-{i:04d},Company {i % 40},false,released,2026-0{1 + i % 9}-01,"
                f"{('weak', 'comparable', 'strong', 'unknown')[i % 4]},"
                f"{(i % 80) / 100:.2f},{(i % 80) / 100:.2f}"
            )
        (root / "incoming" / "registry.csv").write_text("\n".join(lines) + "\n")
        from scaleguard.workspace import import_models

        import_models(ws, root / "incoming" / "registry.csv", by="bench")
        # evidence: per_model records for each competitor model, in CSV files of 20,000 rows
        rows = ["model,task,metric,value,sample_count"]
        files = []
        n = 0
        for i in range(models - 5):
            for j in range(per_model):
                task = f"{TASKS[j % len(TASKS)]}_{j // len(TASKS)}"
                rows.append(f"comp-{i:04d},{task},accuracy,{((i * 7 + j) % 100) / 100:.2f},200")
                n += 1
                if len(rows) > 20_000:
                    path = root / "incoming" / f"evidence-{len(files)}.csv"
                    path.write_text("\n".join(rows) + "\n")
                    files.append(path)
                    rows = rows[:1]
        if len(rows) > 1:
            path = root / "incoming" / f"evidence-{len(files)}.csv"
            path.write_text("\n".join(rows) + "\n")
            files.append(path)
        ingest_paths(ws, files, by="bench")
    finally:
        ws.close()
    return time.perf_counter() - start


def _percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[int(0.95 * (len(ordered) - 1))]


def run(quick: bool = False) -> str:
    from scaleguard.decisions import service
    from scaleguard.decisions.engine import decide as engine_decide
    from scaleguard.store import repo
    from scaleguard.workspace import open_workspace

    models, per_model = (100, 20) if quick else (1000, 101)
    repeat = 30 if quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        build = _build(root, models, per_model)
        ws = open_workspace(root)
        try:
            with ws.store.read() as s:
                n_models = len(repo.models(s))
                n_evidence = len(repo.evidence(s))
            fw, _ = ws.use_framework(None)
            service.determine(ws, "aurora-3", by="bench")
            day = dt.date(2026, 11, 22)

            def evaluate_once() -> float:
                start = time.perf_counter()
                with ws.store.read() as s:
                    inp = service.gather(s, ws, "aurora-3", "train", fw, day)
                engine_decide(fw, inp)
                return time.perf_counter() - start

            cold = []
            for _ in range(max(10, repeat // 10)):
                service._registry_cache.clear()
                repo._evidence_names.clear()
                cold.append(evaluate_once())
            evaluate = [evaluate_once() for _ in range(repeat)]
            full = []
            for _ in range(max(10, repeat // 4)):
                start = time.perf_counter()
                service.decide(ws, "aurora-3", "train", as_of=day, by="bench")
                full.append(time.perf_counter() - start)
        finally:
            ws.close()
    e50, e95 = _percentiles(evaluate)
    c50, c95 = _percentiles(cold)
    f50, f95 = _percentiles(full)
    return "\n".join(
        [
            "## Decision latency (issue: workspaces and decisions)",
            "",
            f"SQLite workspace with {n_models:,} models and {n_evidence:,} evidence records "
            f"(built in {build:.0f} s through the normal import and ingest paths). Decision: "
            "`train` for the demo lab's newest model under RSP 3.0, including the "
            "counterfactual search.",
            "",
            "| measure | runs | p50 | p95 |",
            "|---|---:|---:|---:|",
            f"| evaluate, cold (registry read from the database) | {len(cold)} | "
            f"{c50 * 1e3:.1f} ms | {c95 * 1e3:.1f} ms |",
            f"| evaluate, warm (gather + engine, read-only) | {len(evaluate)} | {e50 * 1e3:.1f} ms "
            f"| {e95 * 1e3:.1f} ms |",
            f"| decide (determine + decide + durable record) | {len(full)} | "
            f"{f50 * 1e3:.1f} ms | {f95 * 1e3:.1f} ms |",
            "",
            "Target: p50 under 20 ms. *Warm* is a long-running process (API, dashboard) after",
            "its first decision: the registry and the list of evidence model names are kept per",
            "process, keyed by the largest ids of those append-only tables. *Cold* clears that",
            "cache before every run. The full `decide` also computes determinations (bootstrap)",
            "and writes and fsyncs the determination and decision records with ledger entries.",
        ]
    )
