"""The engine's background tasks: started by collaborators, all cancelled by ``close``.

>>> import asyncio
>>> async def demo() -> int:
...     tasks = EngineTasks()
...     tasks.spawn(asyncio.sleep(10))
...     running = len(tasks)
...     await tasks.close()
...     return running - len(tasks)
>>> asyncio.run(demo())
1
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class EngineTasks:
    """Owns background coroutines; a failure is logged, never lost silently."""

    __slots__ = ("_services", "_tasks")

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._services: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, service: bool = False) -> None:
        """Run ``coro`` as a task owned by the engine (cancelled by :meth:`close`).

        ``service``: a task that runs for the engine's life (streams, timers), which
        :meth:`work` leaves out.
        """
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        if service:
            self._services.add(task)
        task.add_done_callback(self._done)

    def work(self) -> list[asyncio.Task[Any]]:
        """Unfinished tasks that are not services (fill fetches, resolutions, read-backs)."""
        return [t for t in self._tasks if t not in self._services and not t.done()]

    def __len__(self) -> int:
        return len(self._tasks)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self._services.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task failed: %r", task.exception())

    async def close(self, timeout_s: float = 2.0) -> None:
        """Cancel every task and wait (bounded) for them to end."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
