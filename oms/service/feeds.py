"""Starting the configured feed relays (``[feed]``) inside ``oms run`` or alone (``oms feed``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from eventstore import EventStore
from oms.feed import NatsRelay, SubjectNamer, ZmqRelay
from oms.service.config import FeedSection

log = logging.getLogger("oms.service.feeds")


class FeedRelays:
    """The relays of one journal, run as tasks; a relay that dies is logged and restarted."""

    def __init__(self, store: EventStore, feed: FeedSection, account: str) -> None:
        namer = SubjectNamer(feed.subject_prefix, account)
        self.relays: list[Any] = []
        if feed.nats_url is not None:
            self.relays.append(NatsRelay(store, feed.nats_url, stream=feed.nats_stream,
                                         namer=namer))
        if feed.zmq_endpoint is not None:
            self.relays.append(ZmqRelay(store, feed.zmq_endpoint,
                                        namer=SubjectNamer(feed.subject_prefix, account)))
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        """Run every relay in its own task."""
        loop = asyncio.get_running_loop()
        for relay in self.relays:
            self._tasks.append(loop.create_task(self._keep_running(relay)))

    async def _keep_running(self, relay: Any) -> None:
        delay = 0.5
        while True:
            try:
                await relay.run()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("%s stopped (%s: %s); restarting in %.1f s",
                          type(relay).__name__, type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def wait(self) -> None:
        """Until every relay task ends (they run until cancelled)."""
        if self._tasks:
            await asyncio.gather(*self._tasks)

    async def close(self) -> None:
        """Cancel the relays (each saves its checkpoint on the way out)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    def status(self) -> dict[str, Any]:
        """Position and counters of each relay."""
        return {type(r).__name__: {"position": r.position, "published": r.published}
                for r in self.relays}
