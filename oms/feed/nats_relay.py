"""Relay the journal to NATS JetStream with an exactly-once effect.

The relay tails the journal from its checkpoint (``proj_checkpoints``, in the journal's own
database) and publishes each event, in journal order and one at a time, with
``Nats-Msg-Id = event id`` (JetStream drops a second copy inside the stream's duplicate window)
and ``Oms-Position = global position``. The checkpoint is advanced only after JetStream's ack.
At start the relay also reads the position of the stream's last stored message and resumes
after the larger of the two, so a crash between an ack and the checkpoint write republishes
nothing, however long the relay was down; a crash before the ack republishes with the same id
(deduplicated). A NATS outage makes the relay wait and retry the same message: nothing is skipped
and nothing goes out of order. One stream per journal: nothing else may publish to its subjects.

Example::

    relay = NatsRelay(store, "nats://127.0.0.1:4222", stream="OMS", namer=SubjectNamer("oms", acct))
    await relay.run()   # until cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import nats
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from eventstore import EventStore, RecordedEvent
from oms.feed.checkpoint import Checkpoint
from oms.feed.message import SubjectNamer, body

log = logging.getLogger("oms.feed.nats")
POSITION_HEADER = "Oms-Position"


class NatsRelay:
    """Publishes every journaled event to one JetStream stream, exactly once in effect."""

    def __init__(self, store: EventStore, url: str, *, stream: str, namer: SubjectNamer,
                 checkpoint_every: int = 200, duplicate_window_s: float = 120.0) -> None:
        self._store = store
        self._url = url
        self.stream = stream
        self._namer = namer
        self.checkpoint = Checkpoint(store, f"feed:nats:{stream}")
        self._every = checkpoint_every
        self._window = duplicate_window_s
        self._nc: Any = None
        self._js: Any = None
        self._closing = False
        self.published = 0
        self.duplicates = 0
        self.retries = 0
        self.position = 0
        """The last position acknowledged by JetStream."""

    async def run(self) -> None:
        """Publish from the checkpoint on, forever (cancel the task to stop; it saves first)."""
        await self._connect()
        start = max(await self.checkpoint.load(), await self._last_published()) + 1
        self.position = start - 1
        log.info("NATS relay: stream %s from position %d", self.stream, start)
        saved = self.position
        last_save = time.monotonic()
        try:
            async for recorded in self._store.subscribe(from_position=start):
                await self._publish(recorded)
                self.position = recorded.position
                if self.position - saved >= self._every or time.monotonic() - last_save > 0.5:
                    await self.checkpoint.save(self.position)
                    saved, last_save = self.position, time.monotonic()
        finally:
            if self.position > saved:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.checkpoint.save(self.position))
            await self.close()

    async def close(self) -> None:
        """Close the NATS connection (flushing what is buffered)."""
        self._closing = True
        if self._nc is not None and not self._nc.is_closed:
            with contextlib.suppress(Exception):
                await self._nc.close()

    async def _connect(self) -> None:
        async def on_disconnect() -> None:
            if not self._closing:
                log.warning("NATS relay: disconnected from %s; reconnecting", self._url)

        async def on_reconnect() -> None:
            log.info("NATS relay: reconnected to %s", self._url)

        self._nc = await nats.connect(
            self._url, max_reconnect_attempts=-1, reconnect_time_wait=0.25,
            connect_timeout=5, allow_reconnect=True,
            disconnected_cb=on_disconnect, reconnected_cb=on_reconnect,
        )
        self._js = self._nc.jetstream(timeout=5.0)
        config = StreamConfig(name=self.stream, subjects=[self._namer.wildcard],
                              storage=StorageType.FILE, duplicate_window=self._window)
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(config)

    async def _last_published(self) -> int:
        info = await self._js.stream_info(self.stream)
        if not info.state.last_seq:
            return 0
        try:
            message = await self._js.get_msg(self.stream, info.state.last_seq)
        except NotFoundError:
            return 0
        headers = message.headers or {}
        return int(headers.get(POSITION_HEADER, 0))

    async def _publish(self, recorded: RecordedEvent) -> None:
        subject = await self._namer.subject(recorded, self._store)
        payload = body(recorded)
        headers = {"Nats-Msg-Id": str(recorded.event_id),
                   POSITION_HEADER: str(recorded.position)}
        delay = 0.1
        while True:
            try:
                ack = await self._js.publish(subject, payload, headers=headers, timeout=2.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # timeouts, no responders, connection lost: retry
                self.retries += 1
                log.warning("NATS relay: publish of position %d failed (%s); retrying in %.1f s",
                            recorded.position, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            if ack.duplicate:
                self.duplicates += 1
            else:
                self.published += 1
            return
