"""One dedicated thread that runs blocking calls for the event loop, with the cheapest hop.

Why not ``loop.run_in_executor``: a ``ThreadPoolExecutor`` round trip goes through a
``concurrent.futures.Future`` (a lock, a condition, done-callbacks) chained to an asyncio
future. The SQLite writer makes that round trip once per group commit, with every appender of
the batch waiting on it, so it sits on the critical path. Here the thread takes the call from a
``SimpleQueue`` and hands the outcome back with a single ``call_soon_threadsafe``.

>>> async def demo() -> int:
...     thread = WriterThread("demo")
...     try:
...         return await thread.run(lambda: 6 * 7)
...     finally:
...         thread.shutdown()
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


def _settle(fut: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if fut.done():  # the awaiting task was cancelled; the call itself has completed
        return
    if ok:
        fut.set_result(value)
    else:
        fut.set_exception(value)


class WriterThread:
    """A thread that runs one call at a time, in submission order."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, loop, fut = job
            try:
                ok, value = True, fn()
            except BaseException as exc:  # handed to the awaiting coroutine, never lost
                ok, value = False, exc
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting
                loop.call_soon_threadsafe(_settle, fut, ok, value)

    async def run(self, fn: Callable[[], T]) -> T:
        """Run ``fn()`` in the thread and return (or raise) its outcome."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._jobs.put((fn, loop, fut))
        return await fut

    def shutdown(self) -> None:
        """Finish the queued calls, then stop the thread (blocks until it has ended)."""
        self._jobs.put(None)
        self._thread.join()
