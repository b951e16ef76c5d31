"""Fan-out of pushed reports to any number of async iterators that outlive reconnects.

A :class:`Broadcast` hands every published item to every open :class:`Subscription`. Items published
before the first subscriber exists are buffered (up to ``backlog``) and handed to it, so a consumer
that starts iterating just after ``start()`` still sees the first snapshot. ``close()`` ends every
iteration.

Example::

    fills: Broadcast[FillReport] = Broadcast()
    sub = fills.subscribe()
    fills.publish(report)
    async for fill in sub: ...
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_CLOSED = object()


class Subscription(Generic[T]):
    """One consumer's queue; an async iterator that stops when the broadcast closes."""

    def __init__(self, owner: Broadcast[T], keep_latest: int) -> None:
        self._owner = owner
        self._keep_latest = keep_latest
        self._queue: collections.deque[object] = collections.deque()
        self._ready = asyncio.Event()

    def _put(self, item: object) -> None:
        if item is not _CLOSED and self._keep_latest and len(self._queue) >= self._keep_latest:
            self._queue.popleft()  # a slow book reader only needs the latest snapshots
        self._queue.append(item)
        self._ready.set()

    def __aiter__(self) -> Subscription[T]:
        return self

    async def __anext__(self) -> T:
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        item = self._queue.popleft()
        if item is _CLOSED:
            self._queue.appendleft(item)
            raise StopAsyncIteration
        return item  # type: ignore[return-value]

    def close(self) -> None:
        """Stop receiving items."""
        self._owner.unsubscribe(self)
        self._put(_CLOSED)


class Broadcast(Generic[T]):
    """Publish items to every subscription; ``keep_latest > 0`` drops the oldest unread ones."""

    def __init__(self, keep_latest: int = 0, backlog: int = 10_000) -> None:
        self._subscribers: list[Subscription[T]] = []
        self._keep_latest = keep_latest
        self._pending: collections.deque[T] = collections.deque(maxlen=backlog)
        self._had_subscriber = False
        self._closed = False

    def subscribe(self) -> Subscription[T]:
        """A new subscription (receives the backlog if it is the very first one)."""
        sub: Subscription[T] = Subscription(self, self._keep_latest)
        if not self._had_subscriber:
            self._had_subscriber = True
            for item in self._pending:
                sub._put(item)
            self._pending.clear()
        if self._closed:
            sub._put(_CLOSED)
        else:
            self._subscribers.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription[T]) -> None:
        """Remove ``sub`` (idempotent)."""
        if sub in self._subscribers:
            self._subscribers.remove(sub)

    def publish(self, item: T) -> None:
        """Hand ``item`` to every subscription (or the backlog before the first one)."""
        if self._closed:
            return
        if not self._had_subscriber:
            self._pending.append(item)
            return
        for sub in self._subscribers:
            sub._put(item)

    def close(self) -> None:
        """End every subscription's iteration."""
        self._closed = True
        for sub in self._subscribers:
            sub._put(_CLOSED)
        self._subscribers.clear()
