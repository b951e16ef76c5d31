"""Relay the journal to NATS JetStream with an exactly-once effect.

The relay tails the journal and publishes each event in journal order with
``Nats-Msg-Id = event id`` (JetStream drops a second copy inside the stream's duplicate window)
and ``Oms-Position = global position``. Publishes are pipelined (up to ``window`` awaiting their
ack) and chained: each carries ``Nats-Expected-Last-Sequence`` = the sequence its predecessor must
have got, so JetStream stores a message only right after the one before it. The stream is
therefore always a gap-free prefix of the journal, in order, whatever fails. On any failure
(timeout, lost connection, a broken chain) the relay waits, reads the position of the stream's
last stored message and resumes right after it: a relay SIGKILL or a NATS restart at any point
loses nothing and stores nothing twice. The checkpoint (``proj_checkpoints``, in the journal's own
database) is advanced only after acks, and is where a relay starts when the stream is empty.
One stream per journal: nothing else may publish to its subjects.

Example::

    relay = NatsRelay(store, "nats://127.0.0.1:4222", stream="OMS", namer=SubjectNamer("oms", acct))
    await relay.run()   # until cancelled
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from typing import Any

import nats
from nats.js.api import StorageType, StreamConfig
from nats.js.errors import NotFoundError

from eventstore import EventStore
from oms.feed.checkpoint import Checkpoint
from oms.feed.message import SubjectNamer, body

log = logging.getLogger("oms.feed.nats")
POSITION_HEADER = "Oms-Position"


class NatsRelay:
    """Publishes every journaled event to one JetStream stream, exactly once in effect."""

    def __init__(self, store: EventStore, url: str, *, stream: str, namer: SubjectNamer,
                 checkpoint_every: int = 500, duplicate_window_s: float = 120.0,
                 window: int = 256, ack_timeout_s: float = 5.0) -> None:
        self._store = store
        self._url = url
        self.stream = stream
        self._namer = namer
        self.checkpoint = Checkpoint(store, f"feed:nats:{stream}")
        self._every = checkpoint_every
        self._dup_window = duplicate_window_s
        self._window = window
        self._ack_timeout = ack_timeout_s
        self._saved = 0
        self._last_save = time.monotonic()
        self._nc: Any = None
        self._js: Any = None
        self._closing = False
        self.published = 0
        self.duplicates = 0
        self.retries = 0
        self.position = 0
        """The last position acknowledged by JetStream."""

    async def run(self) -> None:
        """Publish from where the stream (or the checkpoint) ends, forever (cancel to stop)."""
        await self._connect()
        checkpoint = await self.checkpoint.load()
        delay = 0.1
        try:
            while True:
                try:
                    last_position, last_seq = await self._stream_end()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # NATS down: wait for the client to reconnect
                    log.warning("NATS relay: cannot read stream %s (%s); retrying in %.1f s",
                                self.stream, type(exc).__name__, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                start = max(checkpoint, last_position, self.position) + 1
                self.position = start - 1
                log.info("NATS relay: stream %s from position %d (stream sequence %d)",
                         self.stream, start, last_seq)
                await self._pump(start, last_seq)  # returns after a failure
                self.retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        finally:
            if self.position > self._saved:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.checkpoint.save(self.position))
            await self.close()

    async def _pump(self, start: int, last_seq: int) -> None:
        """Publish from ``start`` (chained after stream sequence ``last_seq``) until a failure."""
        window = _Window(self._window)
        feeder = asyncio.ensure_future(self._feed(start, last_seq, window))
        drainer = asyncio.ensure_future(self._drain(window))
        try:
            done, _ = await asyncio.wait({feeder, drainer}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is not None:
                    log.warning("NATS relay: publishing stopped at position %d (%s: %s); "
                                "resuming after the stream's last message",
                                self.position + 1, type(exc).__name__, exc)
        finally:
            for task in (feeder, drainer):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            for _, future in window.pending:  # frees their slots in the client's window
                future.cancel()

    async def _feed(self, start: int, last_seq: int, window: _Window) -> None:
        expected = last_seq
        async for recorded in self._store.subscribe(from_position=start):
            await window.room()
            subject = await self._namer.subject(recorded, self._store)
            headers = {"Nats-Msg-Id": str(recorded.event_id),
                       POSITION_HEADER: str(recorded.position),
                       "Nats-Expected-Last-Sequence": str(expected)}
            future = await self._js.publish_async(subject, body(recorded), headers=headers)
            expected += 1
            window.add(recorded.position, future)

    async def _drain(self, window: _Window) -> None:
        while True:
            position, future = await window.oldest()
            ack = await asyncio.wait_for(future, self._ack_timeout)
            window.done()
            if ack.duplicate:
                # Stored earlier (it cannot be, given the chain, unless the stream was changed
                # by hand): the chain breaks at the next message and the relay resynchronises.
                self.duplicates += 1
            else:
                self.published += 1
            self.position = position
            now = time.monotonic()
            if self.position - self._saved >= self._every or (
                    now - self._last_save > 0.5 and not window.pending):
                await self.checkpoint.save(self.position)
                self._saved, self._last_save = self.position, now

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
                              storage=StorageType.FILE, duplicate_window=self._dup_window)
        try:
            await self._js.stream_info(self.stream)
        except NotFoundError:
            await self._js.add_stream(config)

    async def _stream_end(self) -> tuple[int, int]:
        """(journal position, stream sequence) of the stream's last message; (0, seq) if none."""
        info = await self._js.stream_info(self.stream)
        last_seq = int(info.state.last_seq or 0)
        if not info.state.messages:
            return 0, last_seq
        try:
            message = await self._js.get_msg(self.stream, last_seq)
        except NotFoundError:
            return 0, last_seq
        headers = message.headers or {}
        return int(headers.get(POSITION_HEADER, 0)), last_seq


class _Window:
    """Publishes awaiting their ack, oldest first. When full, the feeder waits until half of it
    is acknowledged, so publishes go out in bursts the client writes in few socket sends."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.pending: deque[tuple[int, asyncio.Future[Any]]] = deque()
        self._items = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()

    async def room(self) -> None:
        """Wait until another publish may go out."""
        if len(self.pending) >= self.size:
            self._room.clear()
            await self._room.wait()

    def add(self, position: int, future: asyncio.Future[Any]) -> None:
        """Track one publish."""
        self.pending.append((position, future))
        self._items.set()

    async def oldest(self) -> tuple[int, asyncio.Future[Any]]:
        """The oldest publish (waits for one)."""
        while not self.pending:
            self._items.clear()
            await self._items.wait()
        return self.pending[0]

    def done(self) -> None:
        """The oldest publish is acknowledged."""
        self.pending.popleft()
        if len(self.pending) <= self.size // 2:
            self._room.set()
