"""A ZeroMQ feed subscriber that never misses an event: gaps are filled from the journal.

Messages are yielded in journal order, each position exactly once. A message whose position is
beyond the next expected one means the subscriber missed some (late join, a slow consumer past
the high-water mark, a relay restart): the missing range is read from the journal first. When
nothing arrives for ``idle_catch_up_s`` the journal is checked too, so events journaled while
the relay was down are delivered even before the next live message.

Example::

    async with await EventStore.open(url) as store:
        subscriber = ZmqSubscriber("tcp://127.0.0.1:5557", store, from_position=1)
        async for message in subscriber.messages():
            print(message["position"], message["type"])
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import zmq
import zmq.asyncio

from eventstore import EventStore
from oms.feed.message import body, parse


class ZmqSubscriber:
    """Follows a :class:`oms.feed.zmq_relay.ZmqRelay`, filling gaps from the journal."""

    def __init__(self, endpoint: str, store: EventStore, *, from_position: int = 1,
                 idle_catch_up_s: float = 1.0) -> None:
        self.endpoint = endpoint
        self._store = store
        self.next_position = from_position
        self._idle_ms = int(idle_catch_up_s * 1000)
        self.live = 0
        self.from_journal = 0
        self.skipped_duplicates = 0

    async def messages(self) -> AsyncIterator[dict[str, Any]]:
        """Every event from ``from_position`` on, in order, once (``source``: zmq or journal)."""
        socket = zmq.asyncio.Context.instance().socket(zmq.SUB)
        socket.setsockopt(zmq.RCVHWM, 100_000)
        socket.setsockopt(zmq.LINGER, 0)
        # Every subject: positions are global, so only the whole feed shows a gap.
        socket.setsockopt_string(zmq.SUBSCRIBE, "")
        socket.connect(self.endpoint)
        try:
            while True:
                if not await socket.poll(self._idle_ms):
                    async for message in self._catch_up(None):
                        yield message
                    continue
                _subject, raw = await socket.recv_multipart()
                message = parse(raw)
                position = int(message["position"])
                if position < self.next_position:
                    self.skipped_duplicates += 1
                    continue
                if position > self.next_position:
                    async for missed in self._catch_up(position - 1):
                        yield missed
                if position < self.next_position:  # the catch-up already delivered it
                    continue
                self.next_position = position + 1
                self.live += 1
                message["source"] = "zmq"
                yield message
        finally:
            socket.close(0)

    async def _catch_up(self, to_position: int | None) -> AsyncIterator[dict[str, Any]]:
        async for recorded in self._store.read_all(self.next_position, to_position):
            self.next_position = recorded.position + 1
            self.from_journal += 1
            message = parse(body(recorded))
            message["source"] = "journal"
            yield message
