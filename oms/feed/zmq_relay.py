"""Relay the journal to a ZeroMQ PUB socket, for low-latency subscribers on the same host/LAN.

ZeroMQ PUB/SUB has no storage and drops messages for slow or late subscribers; every message
therefore carries its global journal position, and :class:`oms.feed.subscriber.ZmqSubscriber`
fills any gap from the journal. The relay starts at the journal's head (or ``from_position``)
and keeps no checkpoint: subscribers own their recovery.

Frames: ``[subject, body]`` (see :mod:`oms.feed.message`); subscribe to a subject prefix to
filter (``oms.0xabc.ETH.``).

Example::

    relay = ZmqRelay(store, "tcp://127.0.0.1:5557", namer=SubjectNamer("oms", account))
    await relay.run()
"""

from __future__ import annotations

import asyncio
import logging

import zmq
import zmq.asyncio

from eventstore import EventStore
from oms.feed.message import SubjectNamer, body

log = logging.getLogger("oms.feed.zmq")


class ZmqRelay:
    """Publishes every journaled event on a bound PUB socket."""

    def __init__(self, store: EventStore, endpoint: str, *, namer: SubjectNamer,
                 from_position: int | None = None, high_water_mark: int = 100_000,
                 settle_s: float = 0.0) -> None:
        self._store = store
        self.endpoint = endpoint
        self._namer = namer
        self._from = from_position
        self._hwm = high_water_mark
        self._settle_s = settle_s
        self.published = 0
        self.position = 0

    async def run(self) -> None:
        """Bind and publish until cancelled."""
        context = zmq.asyncio.Context.instance()
        socket = context.socket(zmq.PUB)
        socket.setsockopt(zmq.SNDHWM, self._hwm)
        socket.setsockopt(zmq.LINGER, 0)
        socket.bind(self.endpoint)
        try:
            # PUB drops what it sends before a subscriber's connection is up: optionally give
            # the subscribers that are already trying to connect a moment.
            await asyncio.sleep(self._settle_s)
            start = self._from
            if start is None:
                head, _ = await self._store.head()
                start = head + 1
            log.info("ZeroMQ relay: %s from position %d", self.endpoint, start)
            async for recorded in self._store.subscribe(from_position=start):
                subject = await self._namer.subject(recorded, self._store)
                await socket.send_multipart([subject.encode(), body(recorded)])
                self.position = recorded.position
                self.published += 1
        finally:
            socket.close(0)
