"""Decision latency on a workspace with 1,000 models and 100,000 evidence records.

Figures: *evaluate* (gather the inputs from the database and run the decision
engine, read-only: what a dashboard refresh costs), *decide* (the full command
path: prove every row it reads against the signed root, determine, decide, and
durably record the decision with its ledger entry, signed) on SQLite and
PostgreSQL, and beside them their floors measured in the same run: the pure
decision engine on the same inputs already in memory, and one indexed SELECT
round trip. Target: decide p50 <= 5 ms, p99 <= 10 ms; PostgreSQL <= 2x SQLite.

PostgreSQL runs in a database of its own, created for the run and dropped
after it (``SCALEGUARD_BENCH_PG_URL``, default the local test server), so
nothing else on the server shares its tables or its statistics.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

TASKS = ("bio_basic_uplift", "bio_novel_design", "ml_research_tasks", "covert_sabotage")


def _build(root: Path, models: int, per_model: int, db_url: str | None = None) -> float:
    from scaleguard import demo
    from scaleguard.workspace import ingest_paths, open_workspace

    start = time.perf_counter()
    demo.prepare(root, db_url=db_url)
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


PG_ADMIN = os.environ.get("SCALEGUARD_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
DAY = dt.date(2026, 11, 22)
SUBJECT = "aurora-3"


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return statistics.median(ordered), pick(0.95), pick(0.99)


def _times(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


@contextmanager
def _pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for the run (None when no server answers)."""
    try:
        import psycopg

        admin = psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=5)
    except Exception:  # no server: the PostgreSQL rows say so
        yield None
        return
    name = "sgbench_" + secrets.token_hex(4)
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def _opened(root: Path, repeat: int) -> Iterator[tuple[dict[str, Any], Callable[[], None]]]:
    """Every figure for one backend's workspace (see the module docstring) but the warm
    ``decide`` timings, and the warm ``decide`` itself: :func:`run` times it in rounds
    that alternate between the backends, so a drift of the machine's speed meets both."""
    from sqlalchemy import event, select

    from scaleguard.decisions import service
    from scaleguard.decisions.engine import decide as engine_decide
    from scaleguard.store import repo
    from scaleguard.store.ledger import rows
    from scaleguard.store.tables import ModelRow
    from scaleguard.workspace import open_workspace

    out: dict[str, Any] = {}
    ws = open_workspace(root)
    try:
        with ws.store.read() as s:
            out["models"] = len(repo.models(s))
            out["evidence"] = len(repo.evidence(s))
        fw, _ = ws.use_framework(None)
        service.determine(ws, SUBJECT, by="bench")

        def evaluate_once() -> None:
            with ws.store.read() as s:
                inp = service.gather(s, ws, SUBJECT, "train", fw, DAY)
            engine_decide(fw, inp)

        def cold_once() -> None:
            service._registry_cache.clear()
            repo._evidence_names.clear()
            evaluate_once()

        def decide_once() -> None:
            service.decide(ws, SUBJECT, "train", as_of=DAY, by="bench")

        out["cold"] = _times(cold_once, max(10, repeat // 10))
        out["evaluate"] = _times(evaluate_once, repeat)
        rows.forget()
        out["first"] = _times(decide_once, 1)[0]  # proves every row it reads
        decide_once()
        statements = [0]

        def count(*_: object) -> None:
            statements[0] += 1

        event.listen(ws.store.engine, "before_cursor_execute", count)
        decide_once()
        event.remove(ws.store.engine, "before_cursor_execute", count)
        out["statements"] = statements[0]
        with ws.store.read() as s:
            signed = ws.signed_checkpoint(s)
            out["check"] = _times(lambda: rows.check_decision_inputs(s, signed, SUBJECT), repeat)
            inp = service.gather(s, ws, SUBJECT, "train", fw, DAY)
            out["engine"] = _times(lambda: engine_decide(fw, inp), repeat)
            scopes = rows.decision_scopes(s, SUBJECT)
            out["tokens"] = _times(lambda: rows.scope_tokens(s, scopes), repeat)

            def read_rows() -> None:  # the rows the check compares, read and nothing else
                for sc in scopes:
                    s.execute(select(*sc.table.c).where(*sc.where)).all()

            out["read"] = _times(read_rows, repeat)
            one = select(ModelRow.id).where(ModelRow.name == SUBJECT)
            out["select"] = _times(lambda: s.execute(one).scalar(), repeat)

        def append_once() -> None:  # a fact about another model: not a decision input here
            with ws.store.write() as tx:
                repo.add_fact(
                    tx,
                    name="floor",
                    value=1,
                    source="https://b",
                    asserted_by="b",
                    model="comp-0000",
                )

        out["append"] = _times(append_once, max(10, repeat // 4))
        yield out, decide_once
    finally:
        ws.close()


def _alternating(runs: dict[str, Callable[[], None]], repeat: int) -> dict[str, list[float]]:
    """``repeat`` timings of each of ``runs``, taken in ten rounds that alternate between them."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for fn in runs.values():  # opening the next workspace reset what this one had proven
        fn()
    rounds = 10
    for r in range(rounds):
        share = repeat // rounds + (1 if r < repeat % rounds else 0)
        for name, fn in runs.items():
            times[name] += _times(fn, share)
    return times


def _ms(v: float) -> str:
    return f"{v * 1e3:.1f} ms" if v >= 1e-3 else f"{v * 1e3:.2f} ms"


def _row(label: str, values: list[float]) -> str:
    p50, p95, p99 = _percentiles(values)
    return f"| {label} | {len(values)} | {_ms(p50)} | {_ms(p95)} | {_ms(p99)} |"


def run(quick: bool = False) -> str:
    models, per_model = (100, 20) if quick else (1000, 101)
    repeat = 30 if quick else 200
    results: dict[str, dict[str, Any]] = {}
    builds: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, _pg_database() as pg_url, ExitStack() as stack:
        roots = {"SQLite": Path(tmp) / "ws"}
        builds["SQLite"] = _build(roots["SQLite"], models, per_model)
        if pg_url is not None:
            roots["PostgreSQL"] = Path(tmp) / "pg"
            builds["PostgreSQL"] = _build(roots["PostgreSQL"], models, per_model, pg_url)
        decides: dict[str, Callable[[], None]] = {}
        for name, root in roots.items():
            results[name], decides[name] = stack.enter_context(_opened(root, repeat))
        for name, times in _alternating(decides, repeat).items():
            results[name]["decide"] = times
    lite = results["SQLite"]
    lines = [
        "## Decision latency",
        "",
        f"Workspaces with {lite['models']:,} models and {lite['evidence']:,} evidence records, "
        "built through the normal import and ingest paths ("
        + ", ".join(f"{k} in {v:.0f} s" for k, v in builds.items())
        + "). Decision: `train` for the demo lab's newest model under RSP 3.0, including the "
        "counterfactual search. Measured on a 2-core machine that may be shared with other "
        "work: absolute times vary run to run; the ratios to the floors, measured in "
        "the same run on the same inputs, are the steadier figures. The warm `decide` runs "
        "of the two backends are taken in ten rounds that alternate between them.",
        "",
    ]
    for name, r in results.items():
        d50, _, d99 = _percentiles(r["decide"])
        e50 = _percentiles(r["engine"])[0]
        q50 = _percentiles(r["select"])[0]
        a50 = _percentiles(r["append"])[0]
        c50 = _percentiles(r["check"])[0]
        r50 = _percentiles(r["read"])[0]
        t50 = _percentiles(r["tokens"])[0]
        floor = t50 + a50
        lines += [
            f"**{name}** ({r['statements']} SQL statements per warm `decide`; the first "
            f"`decide` of a process, which proves every row it reads, took {_ms(r['first'])})",
            "",
            "| measure | runs | p50 | p95 | p99 |",
            "|---|---:|---:|---:|---:|",
            _row("decide (row proof + determine + decide + signed durable record)", r["decide"]),
            _row("row proof alone, warm (every row a decision reads)", r["check"]),
            _row("evaluate, warm (gather + engine, read-only)", r["evaluate"]),
            _row("evaluate, cold (registry read from the database)", r["cold"]),
            _row("floor: decision engine on the same inputs in memory", r["engine"]),
            _row("floor: reading those rows (no check)", r["read"]),
            _row(
                "floor: the check's own read showing them unchanged "
                "(SQLite: the rows through the driver's cursor; PostgreSQL: one digest statement)",
                r["tokens"],
            ),
            _row("floor: one indexed SELECT round trip", r["select"]),
            _row("floor: one signed durable append (a fact) in its own transaction", r["append"]),
            "",
            f"row proof p50 / reading its rows = {c50 / r50:.1f}x; "
            f"decide p50 / engine floor = {d50 / e50:.1f}x; decide p50 / one SELECT = "
            f"{d50 / q50:.0f}x; decide p50 / one signed append = {d50 / a50:.1f}x; "
            f"decide p99 {_ms(d99)}.",
            "",
            f"**Design floor** (what a decision that checks every row it reads and records "
            f"itself durably cannot skip: the check's read showing the rows unchanged, "
            f"{_ms(t50)}, plus one signed durable append, {_ms(a50)}): {_ms(floor)}; "
            f"decide p50 / design floor = {d50 / floor:.1f}x. The 5 ms target is "
            f"{'below' if floor > 0.005 else 'above'} this floor.",
            "",
        ]
    if "PostgreSQL" in results:
        pg = results["PostgreSQL"]
        ratio = _percentiles(pg["decide"])[0] / _percentiles(lite["decide"])[0]
        lines.append(f"PostgreSQL / SQLite decide p50 = {ratio:.2f}x (target <= 2x).")
    else:
        lines.append("PostgreSQL: not measured (no server answered at SCALEGUARD_BENCH_PG_URL).")
    lines += [
        "",
        "Target: decide p50 <= 5 ms and p99 <= 10 ms. A warm process proves no row again: it",
        "shows each scope of rows a decision reads is unchanged since it was proven (SQLite: the",
        "rows themselves, compared in memory; PostgreSQL: one SHA-256 per scope computed by the",
        "server, all in one statement) and proves only what changed (see",
        "`scaleguard.store.ledger.rows`). *Cold* evaluation clears the per-process registry",
        "cache before every run.",
    ]
    return "\n".join(lines)
