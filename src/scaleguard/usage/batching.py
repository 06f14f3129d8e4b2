"""Micro-batching for the HTTP screen: requests that arrive together are embedded together.

While one batch is being embedded, new requests queue up; the next batch takes
all of them (up to ``max_batch``). Embedding a batch costs much less than
embedding its requests one by one, so throughput rises with load instead of
latency. A batch that fails (one bad text) is retried request by request, so
each request gets its own result or its own error.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scaleguard.usage.screen import Screener, ScreenResult


class Batcher:
    def __init__(self, screener: Screener, *, workers: int = 2, max_batch: int = 32) -> None:
        self.screener = screener
        self.workers = workers
        self.max_batch = max_batch
        self._queue: asyncio.Queue[tuple[str, asyncio.Future[ScreenResult]] | None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def screen(self, text: str) -> ScreenResult:
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        future: asyncio.Future[ScreenResult] = asyncio.get_running_loop().create_future()
        await self._queue.put((text, future))
        return await future

    async def _work(self) -> None:
        from fastapi.concurrency import run_in_threadpool

        assert self._queue is not None
        while True:
            first = await self._queue.get()
            if first is None:  # retired: everything queued before was handed out
                return
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except asyncio.QueueEmpty:
                    break
                if item is None:
                    self._queue.put_nowait(None)  # let this worker finish, then stop
                    break
                batch.append(item)
            texts = [t for t, _ in batch]
            try:
                results = await run_in_threadpool(self.screener.screen_many, texts)
            except Exception:  # one bad text: screen each on its own
                for text, future in batch:
                    try:
                        one = await run_in_threadpool(self.screener.screen, text)
                    except Exception as exc:  # handed to that request's handler
                        if not future.done():
                            future.set_exception(exc)
                    else:
                        if not future.done():
                            future.set_result(one)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def retire(self) -> None:
        """Stop after the requests already queued have been screened."""
        if self._queue is not None:
            for _ in self._tasks:
                self._queue.put_nowait(None)

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()
