"""Listener dispatch: user callbacks run on their own task and can never break the engine.

Events reach listeners only after they are durable. Sync callbacks run on the dispatcher task (keep
them short: they share the event loop); coroutine callbacks are scheduled as tasks. A callback that
raises is logged with its name and the others still run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from oms.domain.enums import OrderState
from oms.domain.events import OrderCreated, OrderEvent, OrderFilled
from oms.domain.order import InFlightOrder

log = logging.getLogger(__name__)

Callback = Callable[[OrderEvent, InFlightOrder], Awaitable[None] | None]
KINDS = ("on_created", "on_filled", "on_canceled", "on_failed", "on_completed", "on_event")


class Listeners:
    """Holds callbacks by kind and delivers (event, order) pairs to them off the hot path."""

    def __init__(self) -> None:
        self._callbacks: dict[str, list[Callback]] = {kind: [] for kind in KINDS}
        self._queue: asyncio.Queue[tuple[OrderEvent, InFlightOrder, OrderState | None]] = (
            asyncio.Queue()
        )
        self._task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._undelivered = 0  # published, not yet handed to every callback
        self.errors = 0

    def add(self, **callbacks: Callback) -> None:
        """Register callbacks by kind (``on_created=f``...); unknown kinds raise ``TypeError``."""
        for kind, callback in callbacks.items():
            if kind not in self._callbacks:
                raise TypeError(f"unknown listener {kind!r}; choose from {', '.join(KINDS)}")
            if not callable(callback):
                raise TypeError(f"listener {kind} must be callable, got {callback!r}")
            self._callbacks[kind].append(callback)

    @property
    def active(self) -> bool:
        """True when any callback is registered (lets the engine skip the queue entirely)."""
        return any(self._callbacks.values())

    def publish(self, event: OrderEvent, order: InFlightOrder, before: OrderState | None) -> None:
        """Queue one durable event with the order state after it and the state before it."""
        if self.active:
            self._undelivered += 1
            self._queue.put_nowait((event, order, before))

    def work(self) -> list[asyncio.Future[Any]]:
        """What is still being delivered: one waiter for the queued events (while the
        dispatcher runs) and the unfinished coroutine callbacks (``settled`` waits for them)."""
        work: list[asyncio.Future[Any]] = [t for t in self._tasks if not t.done()]
        if self._undelivered and self._task is not None and not self._task.done():
            work.append(asyncio.ensure_future(self._queue.join()))
        return work

    def start(self) -> None:
        """Start the dispatcher task."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="oms-listeners")

    async def close(self) -> None:
        """Deliver what is queued (bounded), then stop."""
        if self._task is not None and not self._queue.empty():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._queue.join(), 2.0)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            event, order, before = await self._queue.get()
            try:
                for kind in self._kinds(event, order, before):
                    for callback in self._callbacks[kind]:
                        self._call(kind, callback, event, order)
            finally:
                self._undelivered -= 1
                self._queue.task_done()

    @staticmethod
    def _kinds(event: OrderEvent, order: InFlightOrder, before: OrderState | None) -> list[str]:
        kinds = ["on_event"]
        if isinstance(event, OrderCreated):
            kinds.append("on_created")
        if isinstance(event, OrderFilled):
            kinds.append("on_filled")
        if order.state is not before:
            if order.state is OrderState.CANCELED:
                kinds.append("on_canceled")
            elif order.state is OrderState.FAILED:
                kinds.append("on_failed")
            if order.state.is_terminal and (before is None or not before.is_terminal):
                kinds.append("on_completed")
        return kinds

    def _call(self, kind: str, callback: Callback, event: OrderEvent, order: InFlightOrder) -> None:
        try:
            result = callback(event, order)
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._tasks.add(task)
                task.add_done_callback(lambda t: self._finish(kind, callback, t))
        except Exception:
            self.errors += 1
            log.exception("listener %s %r raised; other listeners still run", kind, callback)

    def _finish(self, kind: str, callback: Callback, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.errors += 1
            log.error("listener %s %r raised: %r", kind, callback, task.exception())
