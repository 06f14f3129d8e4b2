"""The web app under uvicorn: latency of the main pages and API reads, and throughput.

The demo workspace is built in a temporary folder and served by ``scaleguard serve``
(one worker, SQLite) on 127.0.0.1 only. Latency: sequential requests, p50 and p95 per
URL. Throughput: a fixed number of API reads from several client threads, bounded in
count and in time. Client and server share the machine's cores.
"""

from __future__ import annotations

import contextlib
import io
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

URLS = (
    "/",
    "/frameworks",
    "/diff?old=anthropic-rsp@2.2&new=anthropic-rsp@3.0",
    "/reports/1",
    "/ledger",
    "/ledger/entries/5",
    "/api/v1/frameworks",
    "/api/v1/ledger/checkpoint",
    "/api/v1/ledger/entries?limit=50",
    "/api/v1/ledger/entries/5/proof",
    "/api/v1/reports/1",
)
THROUGHPUT_URL = "/api/v1/ledger/entries/5/proof"
TIME_LIMIT_S = 60.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(*, quick: bool = False) -> str:
    import httpx

    from scaleguard import demo

    per_url = 10 if quick else 60
    total = 200 if quick else 2000
    threads = 8
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "demo"
        with contextlib.redirect_stdout(io.StringIO()):
            assert demo.main([str(root)]) == 0
        port = _free_port()
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "scaleguard", "serve", "--workspace", str(root)),
                *("--host", "127.0.0.1", "--port", str(port)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=30) as client:
                deadline = time.monotonic() + 30
                while True:
                    try:
                        client.get("/api/v1/ledger/key")
                        break
                    except httpx.TransportError:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)
                rows = []
                started = time.monotonic()
                for url in URLS:
                    client.get(url)  # warm
                    times = []
                    for _ in range(per_url):
                        t0 = time.perf_counter()
                        response = client.get(url)
                        times.append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, (url, response.status_code)
                    rows.append((url, statistics.median(times), _percentile(times, 0.95)))
                    if time.monotonic() - started > TIME_LIMIT_S:
                        break

            def worker(count: int) -> int:
                done = 0
                with httpx.Client(base_url=base, timeout=30) as c:
                    for _ in range(count):
                        if time.monotonic() > stop_at:
                            break
                        if c.get(THROUGHPUT_URL).status_code == 200:
                            done += 1
                return done

            stop_at = time.monotonic() + TIME_LIMIT_S
            t0 = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                done = sum(pool.map(worker, [total // threads] * threads))
            elapsed = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(timeout=20)
    lines = [
        "## Web app (uvicorn, one worker, SQLite)",
        "",
        f"Demo workspace served on 127.0.0.1; {per_url} sequential requests per URL after one "
        "warm-up request.",
        "",
        "| URL | p50 | p95 |",
        "|---|---:|---:|",
        *(f"| `{u}` | {p50:.1f} ms | {p95:.1f} ms |" for u, p50, p95 in rows),
        "",
        f"Throughput: {done} requests of `{THROUGHPUT_URL}` from {threads} client threads in "
        f"{elapsed:.1f} s = **{done / elapsed:.0f} requests/s** (client and server on the same "
        "2 cores).",
        "",
    ]
    return "\n".join(lines)
