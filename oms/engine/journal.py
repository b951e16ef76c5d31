"""The engine's journal pipeline: events go to the store in emission order, batched.

The engine decides synchronously (pure ``decide``/``evolve``) and hands the resulting events to
:class:`Journal`. One writer task drains everything queued, merges consecutive items of the same
stream into one append (so a stream's events keep their order), and appends all streams of the
batch concurrently — the store group-commits them into one transaction. Only once the batch is
durable does the journal run each item's ``after`` callback: that is where requests are handed to
the exchange, so a submission can never overtake its journal entry.

Order streams are appended with their expected version (the last version this journal wrote,
or read once from the store), never ``ANY``: a concurrent writer on the same stream is detected
(``WrongExpectedVersion``), not silently interleaved. Other streams (``anomalies``) take ``ANY``.

If an append fails (disk full, lost database, a version conflict), the journal stops and
reports the error through ``on_failure``: the in-memory state is then ahead of the log and the
engine must close (fail closed) and be restarted, which replays the log and reconciles with the
exchange.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from eventstore import ANY, NO_STREAM, EventStore, ExpectedVersion, NewEvent, RecordedEvent
from oms.domain.codec import DomainEvent, encode
from oms.domain.events import OrderCreated
from oms.domain.ids import ORDER_STREAM_PREFIX

log = logging.getLogger(__name__)

VERSIONS_KEPT = 100_000
"""Order streams whose last version the journal remembers (older ones are read back once)."""

AfterDurable = Callable[[], None]
DurableSink = Callable[[Sequence[tuple[RecordedEvent, DomainEvent]]], None]


@dataclass(slots=True)
class _Item:
    stream: str
    events: list[DomainEvent]
    after: list[AfterDurable] = field(default_factory=list)
    done: asyncio.Future[None] | None = None


def _is_order(stream: str) -> bool:
    return stream.startswith(ORDER_STREAM_PREFIX)


class JournalFailed(RuntimeError):
    """The journal could not make events durable; the engine is closed. Restart it to recover."""


class Journal:
    """Batches domain events into the event store; see the module docstring."""

    def __init__(
        self,
        store: EventStore,
        on_durable: DurableSink,
        on_failure: Callable[[BaseException], None],
        max_batch: int = 512,
    ) -> None:
        self._store = store
        self._on_durable = on_durable
        self._on_failure = on_failure
        self._max_batch = max_batch
        self._queue: list[_Item] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._failed: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._versions: OrderedDict[str, int] = OrderedDict()

    @property
    def failed(self) -> BaseException | None:
        """The error that stopped the journal, if any."""
        return self._failed

    @property
    def idle(self) -> bool:
        """True when nothing submitted is still waiting to become durable."""
        return not self._queue and self._idle.is_set()

    def start(self) -> None:
        """Start the writer task."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="oms-journal")

    def submit(
        self, stream: str, events: Sequence[DomainEvent], after: AfterDurable | None = None
    ) -> None:
        """Queue ``events`` for ``stream``; run ``after`` once they are durable."""
        if self._failed is not None:
            raise JournalFailed(f"journal stopped after an append failed: {self._failed}")
        item = _Item(stream, list(events))
        if after is not None:
            item.after.append(after)
        self._queue.append(item)
        self._idle.clear()
        self._wake.set()

    async def flush(self) -> None:
        """Wait until everything submitted so far is durable (or the journal failed)."""
        while self._queue or not self._idle.is_set():
            if self._failed is not None:
                raise JournalFailed(f"journal stopped after an append failed: {self._failed}")
            await self._idle.wait()
        if self._failed is not None:
            raise JournalFailed(f"journal stopped after an append failed: {self._failed}")

    async def close(self) -> None:
        """Flush what is queued, then stop the writer task."""
        if self._failed is None and self._task is not None:
            await self.flush()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                try:
                    await self._write(batch)
                except Exception as exc:  # the journal is the engine's heart: stop and say why
                    log.critical("journal append failed; the engine is closing: %s", exc)
                    self._failed = exc
                    self._idle.set()
                    self._on_failure(exc)
                    return
            self._idle.set()

    async def _expected(self, item: _Item) -> ExpectedVersion:
        """The version an order stream must be at: the last one we wrote, else the store's."""
        if not _is_order(item.stream):
            return ANY
        known = self._versions.get(item.stream)
        if known is not None:
            return known
        if type(item.events[0]) is OrderCreated:
            return NO_STREAM
        # Written before this run (or forgotten): ask the store once; it is current, since
        # this journal is the stream's only writer (a second one is what the check catches).
        current = await self._store.stream_version(item.stream)
        return NO_STREAM if current is None else current

    async def _write(self, batch: list[_Item]) -> None:
        # Merge consecutive items of one stream; keep each stream's order.
        merged: dict[str, _Item] = {}
        for item in batch:
            existing = merged.get(item.stream)
            if existing is None:
                merged[item.stream] = _Item(item.stream, list(item.events), list(item.after))
            else:
                existing.events.extend(item.events)
                existing.after.extend(item.after)
        items = list(merged.values())
        expected = [await self._expected(item) for item in items]
        appends = [
            self._store.append(
                item.stream,
                [NewEvent(type=t, data=d, version=v) for t, d, v in map(encode, item.events)],
                expected_version=version,
            )
            for item, version in zip(items, expected, strict=True)
        ]
        results = await asyncio.gather(*appends, return_exceptions=True)
        versions = self._versions
        for item, result in zip(items, results, strict=True):
            if isinstance(result, BaseException) or not _is_order(item.stream):
                continue
            versions[item.stream] = result.next_version - 1
            versions.move_to_end(item.stream)
        while len(versions) > VERSIONS_KEPT:
            versions.popitem(last=False)
        pairs: list[tuple[RecordedEvent, DomainEvent]] = []
        first_error: BaseException | None = None
        for item, result in zip(items, results, strict=True):
            if isinstance(result, BaseException):
                first_error = first_error or result
                continue
            pairs.extend(zip(result.events, item.events, strict=True))
        pairs.sort(key=lambda pair: pair[0].position)
        if pairs:
            self._on_durable(pairs)
        if first_error is not None:
            raise first_error
        for item in items:
            for callback in item.after:
                try:
                    callback()
                except Exception:
                    log.exception("post-journal action failed for %s", item.stream)
