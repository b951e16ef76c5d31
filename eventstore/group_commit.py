"""Group commit: one writer task turns many concurrent appends into one transaction.

Callers enqueue a validated request and await a future. The writer task takes everything
queued (up to ``max_events``), commits it as one transaction (one fsync on SQLite, one round of
locking on PostgreSQL), then resolves each future. While a batch is being committed the next
one accumulates, so throughput grows with concurrency instead of collapsing.

A batch that fails as a whole (a full disk, a lost connection) is retried one request at a
time, so each caller gets its own outcome; version conflicts and idempotency conflicts are
decided per request inside the batch and never fail the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from eventstore.errors import StoreClosed
from eventstore.model import AppendResult
from eventstore.planner import AppendRequest

_Item = tuple[AppendRequest, "asyncio.Future[AppendResult]"]
WriteFn = Callable[[list[AppendRequest], int], Awaitable[int]]


class GroupCommitter:
    """The single writer task of one :class:`EventStore`."""

    def __init__(
        self, write: WriteFn, on_commit: Callable[[int], None], max_events: int = 4000
    ) -> None:
        self._write = write
        self._on_commit = on_commit
        self._max_events = max_events
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._closed = False
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._run(), name="eventstore-writer")

    def submit(self, request: AppendRequest) -> asyncio.Future[AppendResult]:
        """Queue one append; the future resolves when it is committed (or has failed).

        A plain function returning the future, not a coroutine: one coroutine frame less per
        append on the hot path.
        """
        if self._closed:
            raise StoreClosed("the event store is closed; open a new one")
        fut: asyncio.Future[AppendResult] = self._loop.create_future()
        self._queue.append((request, fut))
        self._wakeup.set()
        return fut

    def _take(self) -> list[_Item]:
        batch = [self._queue.popleft()]
        count = len(batch[0][0].events)
        while self._queue and count + len(self._queue[0][0].events) <= self._max_events:
            item = self._queue.popleft()
            count += len(item[0].events)
            batch.append(item)
        return batch

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                await self._commit(self._take())
            if self._closed:
                return

    async def _commit(self, batch: list[_Item]) -> None:
        requests = [req for req, _ in batch]
        try:
            head = await self._write(requests, time.time_ns() // 1000)
        except Exception as exc:
            if len(batch) == 1:
                _resolve(batch[0][1], exc)
                return
            for item in batch:  # isolate the failure: each caller gets its own outcome
                item[0].outcome = None
                await self._commit([item])
            return
        for req, fut in batch:
            outcome = req.outcome
            _resolve(fut, outcome if outcome is not None else RuntimeError("append not planned"))
        self._on_commit(head)

    async def close(self) -> None:
        """Commit what is queued, then stop the writer task."""
        self._closed = True
        self._wakeup.set()
        await self._task


def _resolve(fut: asyncio.Future[AppendResult], outcome: AppendResult | BaseException) -> None:
    if fut.done():  # the caller was cancelled; the append still committed (retry is idempotent)
        return
    if isinstance(outcome, BaseException):
        fut.set_exception(outcome)
    else:
        fut.set_result(outcome)
