"""The usage screen: latency in-process and over HTTP, throughput, accuracy, and a baseline.

The baseline is a plain nearest-exemplar screen: embed the raw text, take the
highest cosine similarity to any clause's positive examples and block above
one global threshold (0.5); no normalisation, rules, benign look-alikes,
calibration or windows. Load tests run only against 127.0.0.1 and are bounded
in requests and time.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _prompts(n: int) -> list[str]:
    import csv

    with (DATA / "xstest_prompts.csv").open(encoding="utf-8") as fh:
        return [row["prompt"] for row in csv.DictReader(fh)][:n]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def in_process(screener: Any, prompts: list[str]) -> dict[str, float]:
    for p in prompts[:10]:
        screener.screen(p)
    times = []
    for p in prompts:
        start = time.perf_counter()
        screener.screen(p)
        times.append((time.perf_counter() - start) * 1000)
    start = time.perf_counter()
    for i in range(0, len(prompts), 32):
        screener.screen_many(prompts[i : i + 32])
    batch_rate = len(prompts) / (time.perf_counter() - start)
    return {
        "p50": statistics.median(times),
        "p99": _pct(times, 0.99),
        "serial_rps": 1000 / statistics.mean(times),
        "batch_rps": batch_rate,
    }


def baseline(embedder: Any, policy: Any, prompts: list[str]) -> dict[str, float]:
    import numpy as np

    positives = embedder.embed([t for c in policy.policy.clauses for t in c.examples.positive])
    times = []
    for p in prompts:
        start = time.perf_counter()
        v = embedder.embed([p])
        float(np.max(v @ positives.T))
        times.append((time.perf_counter() - start) * 1000)
    return {"p50": statistics.median(times), "p99": _pct(times, 0.99)}


def baseline_accuracy(embedder: Any, policy: Any, items: list[Any]) -> dict[str, float]:
    import numpy as np

    red = {c.id for c in policy.policy.red_lines}
    positives = embedder.embed([t for c in policy.policy.clauses for t in c.examples.positive])
    sel = [i for i in items if i.clause in red]
    vec = embedder.embed([i.text for i in sel])
    scores = (vec @ positives.T).max(axis=1)
    pos = [s >= 0.5 for s, i in zip(scores, sel, strict=True) if i.positive]
    ben = [s >= 0.5 for s, i in zip(scores, sel, strict=True) if not i.positive]
    return {"recall": float(np.mean(pos)), "false_block": float(np.mean(ben))}


def over_http(prompts: list[str], *, requests: int, concurrency: int) -> dict[str, float]:
    import httpx

    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "ws"
        subprocess.run(
            [sys.executable, "-m", "scaleguard", "init", str(root), "--name", "bench"],
            check=True,
            capture_output=True,
        )
        env = {**os.environ, "SCALEGUARD_WORKSPACE": str(root)}
        server = subprocess.Popen(
            [sys.executable, "-m", "scaleguard", "serve-screen", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.5)
            else:
                raise RuntimeError("the screen server did not start")
            for p in prompts[:20]:
                httpx.post(url + "/v1/screen", json={"text": p}, timeout=30)
            rounds = [_load_round(url, prompts, requests, concurrency) for _ in range(3)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    rounds.sort(key=lambda r: r["rps"])
    median, best = rounds[1], rounds[-1]
    return {
        "p50": median["p50"],
        "p99": median["p99"],
        "rps": median["rps"],
        "best_rps": best["rps"],
        "best_p99": best["p99"],
        "n": median["n"],
        "concurrency": concurrency,
    }


def _load_round(url: str, prompts: list[str], requests: int, concurrency: int) -> dict[str, float]:
    """One bounded round of ``requests`` POSTs from ``concurrency`` client threads."""
    import httpx

    times: list[float] = []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=30) as client:
            for n in counter:
                start = time.perf_counter()
                r = client.post("/v1/screen", json={"text": prompts[n % len(prompts)]})
                elapsed = (time.perf_counter() - start) * 1000
                if r.status_code != 200:
                    raise RuntimeError(f"status {r.status_code}: {r.text[:200]}")
                with lock:
                    times.append(elapsed)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    wall = time.perf_counter() - start
    return {
        "p50": statistics.median(times),
        "p99": _pct(times, 0.99),
        "rps": len(times) / wall,
        "n": len(times),
    }


def run(*, quick: bool = False) -> str:
    from scaleguard.usage.bench import evaluate, heldout, labelled_file
    from scaleguard.usage.embed import load_embedder
    from scaleguard.usage.loader import load_policy
    from scaleguard.usage.screen import Screener

    load = os.getloadavg()[0]
    policy = load_policy()
    embedder = load_embedder()
    screener = Screener(policy, embedder)
    prompts = _prompts(60 if quick else 250)
    # Interleaved rounds; the median round is reported (the machine is shared).
    procs, bases = [], []
    for _ in range(3):
        procs.append(in_process(screener, prompts))
        bases.append(baseline(embedder, policy, prompts))
    proc = sorted(procs, key=lambda r: r["p99"])[1]
    base = sorted(bases, key=lambda r: r["p99"])[1]
    best_p99 = min(r["p99"] for r in procs)
    items = heldout()
    if not quick:
        items += labelled_file(DATA / "xstest_prompts.csv")
        items += labelled_file(DATA / "ailuminate_demo_en_us.csv")
    acc = evaluate(screener, items)
    base_acc = baseline_accuracy(embedder, policy, heldout())
    http = over_http(prompts, requests=200 if quick else 1000, concurrency=4)
    s = acc["summary"]
    groups = {(g["source"], g["clause"], g["label"]): g for g in acc["groups"]}
    lines = [
        "## Usage-policy screen",
        "",
        f"Run on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Policy {acc['policy']} (sha256 {acc['policy_digest'][:12]}…), model "
        f"all-MiniLM-L6-v2 ONNX int8 weights (sha256 {acc['model_sha256'][:12]}…), "
        "onnxruntime with one intra-op thread per session. Short prompts are XSTest's "
        f"({len(prompts)} of them, a dozen tokens each). Load average when the run started: "
        f"{load:.1f} on {os.cpu_count()} cores (the machine is shared; latency figures "
        "scale with contention).",
        "",
        "| measure | full screen | nearest-exemplar baseline | target |",
        "|---|---|---|---|",
        f"| in-process latency p50 / p99, median of 3 rounds | {proc['p50']:.1f} / "
        f"{proc['p99']:.1f} ms (best round p99 {best_p99:.1f} ms) | "
        f"{base['p50']:.1f} / {base['p99']:.1f} ms | p99 ≤ 10 ms |",
        f"| in-process throughput, one at a time / batches of 32 | {proc['serial_rps']:.0f} / "
        f"{proc['batch_rps']:.0f} req/s | | |",
        f"| HTTP (`serve-screen`, audited, micro-batched, {http['concurrency']} clients, "
        f"3 rounds of {http['n']} requests) p50 / p99, median round | {http['p50']:.1f} / "
        f"{http['p99']:.1f} ms (best round p99 {http['best_p99']:.1f} ms) | | p99 ≤ 25 ms |",
        f"| HTTP throughput, median / best round | {http['rps']:.0f} / {http['best_rps']:.0f} "
        "req/s | | ≥ 200 req/s |",
        f"| red-line recall (held-out; block or review) | {s['red_line_recall']:.2f} "
        f"(blocked outright {s['red_line_block_recall']:.2f}) | {base_acc['recall']:.2f} "
        "| ≥ 0.95 |",
        f"| red-line look-alikes blocked (held-out) | "
        f"{s['red_line_lookalike_false_block_rate']:.2f} (sent to review "
        f"{s['red_line_lookalike_review_rate']:.2f}) | {base_acc['false_block']:.2f} | ≤ 0.05 |",
    ]
    iwp = groups.get(("ailuminate:iwp", "*", "positive"))
    if iwp:
        lines.append(
            f"| AILuminate `iwp` (CBRNE) caught, block or review | {iwp['recall']:.2f} "
            f"(blocked {iwp['block_recall']:.2f}) | | |"
        )
    xs = [g for k, g in groups.items() if k[0].startswith("xstest:")]
    if xs:
        n = sum(g["n"] for g in xs)
        blocked = sum(g["block_rate"] * g["n"] for g in xs) / n
        review = sum(g["review_rate"] * g["n"] for g in xs) / n
        lines.append(
            f"| XSTest safe prompts ({n}) blocked / sent to review | {blocked:.2f} / "
            f"{review:.2f} | | |"
        )
    lines += [
        "",
        "The held-out set (`src/scaleguard/usage/data/heldout.yaml`, 30 red-line requests "
        "and 30 look-alikes, plus a few for ordinary clauses) is never used for calibration. "
        "It is small and written by the same authors as the policy's examples, so these "
        "figures are optimistic for real traffic.",
        "",
        "<details><summary>per group (JSON)</summary>",
        "",
        "```json",
        json.dumps(acc["groups"], indent=1)[:20000],
        "```",
        "</details>",
    ]
    return "\n".join(lines) + "\n"
