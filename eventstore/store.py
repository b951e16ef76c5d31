"""The event store: append, read, subscribe, verify — on SQLite or PostgreSQL.

>>> async def demo(url: str) -> None:
...     async with await EventStore.open(url) as store:
...         res = await store.append("order-1", [NewEvent("OrderCreated", {"px": "1.5"})],
...                                  expected_version=NO_STREAM)
...         async for ev in store.read_stream("order-1"):
...             print(ev.version, ev.type, ev.data)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from types import TracebackType
from typing import Protocol

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from eventstore.archive_manifest import last_archive
from eventstore.codec import GENESIS_HASH, check_stream_id, encode_event
from eventstore.engine import create_engine, display_url, sqlite_path
from eventstore.errors import ReadOnlyStore, StoreClosed
from eventstore.group_commit import GroupCommitter
from eventstore.history_errors import ArchivedRange
from eventstore.migration import ensure_schema
from eventstore.model import (
    ANY,
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    StreamState,
    VerifyReport,
)
from eventstore.planner import AppendRequest, Fence
from eventstore.postgres_backend import PostgresBackend
from eventstore.sqlite_backend import SqliteBackend
from eventstore.verify import verify_chain


class _Backend(Protocol):
    async def write(
        self, requests: list[AppendRequest], now_us: int, fence: Fence | None = None
    ) -> int: ...
    async def read_range(
        self, start: int, stop: int | None, limit: int
    ) -> list[RecordedEvent]: ...
    async def read_stream(self, stream_id: str, start: int, limit: int) -> list[RecordedEvent]: ...
    async def head(self) -> tuple[int, str]: ...
    async def stream_version(self, stream_id: str) -> int | None: ...
    async def watch(self, on_commit: Callable[[], None]) -> bool: ...
    async def archive_point(self) -> int: ...
    async def close(self) -> None: ...


def _check_expected(expected: object) -> ExpectedVersion:
    if isinstance(expected, StreamState):
        return expected
    if isinstance(expected, bool) or not isinstance(expected, int) or expected < 0:
        raise ValueError(
            f"expected_version must be ANY, NO_STREAM, STREAM_EXISTS or an int >= 0, "
            f"got {expected!r}"
        )
    return expected


def _check_count(name: str, value: int, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


class EventStore:
    """A durable, gap-free, idempotent, tamper-evident event log. Open with :meth:`open`."""

    def __init__(
        self,
        url: URL,
        engine: AsyncEngine,
        backend: _Backend,
        poll_interval: float,
        listen: bool = True,
    ) -> None:
        self.url = display_url(url)
        self.dialect = url.get_backend_name()
        self.engine = engine
        """The SQLAlchemy ``AsyncEngine`` on the same database (for read models and
        checkpoints written in one transaction; on SQLite each ``engine.begin()`` is
        ``BEGIN IMMEDIATE``)."""
        self.poll_interval = poll_interval
        self.listen = listen
        self._backend = backend
        self._changed = asyncio.Event()
        self._fence: Fence | None = None
        self._writer = GroupCommitter(self._write, self._committed)
        self._closed = False
        self.read_only = False
        """True when opened with ``read_only=True`` (appends raise ``ReadOnlyStore``)."""

    @classmethod
    async def open(
        cls,
        url: str | URL,
        *,
        create: bool = True,
        poll_interval: float = 0.1,
        listen: bool = True,
        read_only: bool = False,
    ) -> EventStore:
        """Open (and, if new, create at the schema head) the store at ``url``.

        ``sqlite+aiosqlite:///path/oms.db`` or ``postgresql+asyncpg://user@host/db``.
        ``poll_interval`` is how often subscribers look for events written by other processes
        (on PostgreSQL they are also woken at once by ``LISTEN``/``NOTIFY``; polling is the
        safety net). ``listen=False`` keeps them on polling alone, e.g. behind a PgBouncer in
        transaction mode, which cannot carry ``LISTEN``.
        ``read_only=True`` opens an existing store for reading only: nothing is ever written to
        the database (SQLite: the file is opened ``mode=ro``, or ``immutable`` in a read-only
        directory; PostgreSQL: read-only transactions), and ``append`` raises ``ReadOnlyStore``.
        Raises ``SchemaOutOfDate``, ``ForeignDatabase``, ``NotADatabase`` or
        ``JournalNotReadable`` with what to do; none of them after writing anything.
        """
        sa_url = make_url(url)
        engine = create_engine(sa_url, read_only=read_only)
        try:
            await ensure_schema(engine, sa_url, create=create, read_only=read_only)
            backend: _Backend
            if sa_url.get_backend_name() == "sqlite":
                backend = SqliteBackend(sqlite_path(sa_url), read_only=read_only)
            else:
                backend = PostgresBackend(engine)
        except BaseException:
            await engine.dispose()
            raise
        store = cls(sa_url, engine, backend, poll_interval, listen)
        store.read_only = read_only
        return store

    async def __aenter__(self) -> EventStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _write(self, requests: list[AppendRequest], now_us: int) -> int:
        return await self._backend.write(requests, now_us, self._fence)

    @property
    def fence(self) -> tuple[str, int] | None:
        """The fencing token every append of this store is checked against (None: none)."""
        return self._fence

    def set_fence(self, stream_id: str, version: int) -> None:
        """From now on, commit this store's appends only while ``stream_id`` is at ``version``.

        A fencing token: whoever appends to ``stream_id`` next (another process claiming the
        same log) makes every later append of this store raise :class:`Fenced`, checked inside
        the writing transaction, so nothing is written after the claim. Appending to
        ``stream_id`` itself through this store also moves it: claim first, then fence.
        """
        check_stream_id(stream_id)
        _check_count("version", version, 0)
        self._fence = (stream_id, version)

    def clear_fence(self) -> None:
        """Append without a fencing token again."""
        self._fence = None

    def _committed(self, _head: int) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def _wake(self) -> None:
        """Wake subscribers: another process committed (NOTIFY) or the listener was lost."""
        self._committed(0)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosed("the event store is closed; open a new one")

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = ANY,
    ) -> AppendResult:
        """Append ``events`` to ``stream_id`` atomically and durably.

        ``expected_version``: ``ANY``, ``NO_STREAM``, ``STREAM_EXISTS`` or the stream's
        current last version (0-based). Re-appending the same events (same ids and content)
        returns the original result and writes nothing.

        Raises ``WrongExpectedVersion``, ``IdempotencyConflict``; ``TypeError``/``ValueError``
        for bad input, before anything is written.
        """
        self._check_open()
        if self.read_only:
            raise ReadOnlyStore(f"{self.url} was opened read-only; open a writer to append")
        check_stream_id(stream_id)
        expected = _check_expected(expected_version)
        kind = type(events)
        if kind is not list and kind is not tuple and (
            isinstance(events, NewEvent) or not isinstance(events, Sequence)
        ):
            raise TypeError("events must be a sequence of NewEvent")
        if not events:
            raise ValueError("append needs at least one event")
        encoded = []
        for ev in events:
            if not isinstance(ev, NewEvent):
                raise TypeError(f"events must be NewEvent instances, got {type(ev).__name__}")
            encoded.append(encode_event(ev.type, ev.data, ev.metadata, ev.event_id, ev.version))
        if len(encoded) > 1 and len({e.event_id for e in encoded}) != len(encoded):
            raise ValueError("the same event_id appears twice in one append")
        return await self._writer.submit(AppendRequest(stream_id, expected, tuple(encoded)))

    def read_stream(
        self, stream_id: str, from_version: int = 0, *, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        """The events of one stream from ``from_version`` on, in version order."""
        self._check_open()
        check_stream_id(stream_id)
        _check_count("from_version", from_version, 0)
        _check_count("batch_size", batch_size, 1)
        return self._read_stream(stream_id, from_version, batch_size)

    async def _read_stream(
        self, stream_id: str, start: int, batch_size: int
    ) -> AsyncIterator[RecordedEvent]:
        while True:
            batch = await self._backend.read_stream(stream_id, start, batch_size)
            for ev in batch:
                yield ev
            if len(batch) < batch_size:
                return
            start = batch[-1].version + 1

    def read_all(
        self, from_position: int = 1, to_position: int | None = None, *, batch_size: int = 10_000
    ) -> AsyncIterator[RecordedEvent]:
        """The global log from ``from_position`` to ``to_position`` (inclusive), in order."""
        self._check_open()
        _check_count("from_position", from_position, 0)
        if to_position is not None:
            _check_count("to_position", to_position, 0)
        _check_count("batch_size", batch_size, 1)
        return self._read_all(max(from_position, 1), to_position, batch_size)

    async def _read_all(
        self, start: int, stop: int | None, batch_size: int
    ) -> AsyncIterator[RecordedEvent]:
        first = True
        async for batch in self._batches(start, stop, batch_size):
            if first and batch[0].position != start:
                await self._refuse_archived(start)
            first = False
            for ev in batch:
                yield ev
        if first:
            await self._refuse_archived(start)

    async def _refuse_archived(self, start: int) -> None:
        # Only reached when the first row read is not the one asked for: free in the normal case.
        point = await self._backend.archive_point()
        if start <= point:
            raise ArchivedRange(start, point + 1)

    async def _batches(
        self, start: int, stop: int | None, batch_size: int
    ) -> AsyncIterator[list[RecordedEvent]]:
        # The next batch is fetched while the caller consumes this one: the drivers release
        # the GIL while stepping through rows, so fetching and folding overlap on two cores.
        read = self._backend.read_range
        pending: asyncio.Future[list[RecordedEvent]] | None = asyncio.ensure_future(
            read(start, stop, batch_size)
        )
        try:
            while pending is not None:
                batch = await pending
                pending = None
                if len(batch) == batch_size:
                    nxt = batch[-1].position + 1
                    if stop is None or nxt <= stop:
                        pending = asyncio.ensure_future(read(nxt, stop, batch_size))
                if batch:
                    yield batch
        finally:
            if pending is not None:
                pending.cancel()

    def subscribe(
        self, from_position: int = 1, *, batch_size: int = 1000
    ) -> AsyncIterator[RecordedEvent]:
        """Every event from ``from_position`` on: the stored ones, then new ones as they commit.

        Never skips and never repeats (positions are committed in order). Holds at most one
        batch in memory; cancel the consuming task (or ``aclose()`` it) to stop.
        """
        self._check_open()
        _check_count("from_position", from_position, 0)
        _check_count("batch_size", batch_size, 1)
        return self._subscribe(max(from_position, 1), batch_size)

    async def _subscribe(self, start: int, batch_size: int) -> AsyncIterator[RecordedEvent]:
        await self._refuse_archived(start)  # a subscriber behind the archive point: say where
        while not self._closed:
            if self.listen:
                await self._backend.watch(self._wake)  # PostgreSQL: LISTEN (re)established first
            changed = self._changed  # taken before reading: a commit after the read wakes us
            batch = await self._backend.read_range(start, None, batch_size)
            for ev in batch:
                yield ev
            if batch:
                start = batch[-1].position + 1
            if len(batch) < batch_size:
                # Poll: other processes write too. asyncio.timeout, not wait_for: on 3.11 a
                # wait_for whose inner wait completes as the task is cancelled swallows the cancel.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_interval):
                        await changed.wait()

    async def head(self) -> tuple[int, str]:
        """``(position, hash)`` of the last event; ``(0, "000…")`` for an empty log.

        Save it elsewhere (a log line, another system) to anchor :meth:`verify` later.
        """
        self._check_open()
        return await self._backend.head()

    async def stream_version(self, stream_id: str) -> int | None:
        """The last version (0-based) of ``stream_id``, or None when it does not exist: what to
        pass as ``expected_version`` to append after it."""
        self._check_open()
        check_stream_id(stream_id)
        return await self._backend.stream_version(stream_id)
    async def hash_at(self, position: int) -> str | None:
        """The stored chain hash of ``position``, or None when no row has that position."""
        self._check_open()
        rows = await self._backend.read_range(position, position, 1)
        return rows[0].hash if rows and rows[0].position == position else None

    async def archive_point(self) -> int:
        """The last position moved to an archive (0: none); live positions start after it."""
        self._check_open()
        return await self._backend.archive_point()

    async def verify(
        self,
        *,
        anchor: tuple[int, str] | None = None,
        from_position: int = 1,
        batch_size: int = 10_000,
        previous_hash: str | None = None,
    ) -> VerifyReport:
        """Recompute the hash chain from ``from_position`` (default: the first event) to the head.

        Reports the first bad position for an edited, deleted, inserted or reordered row. With
        ``from_position`` > 1 the chain is seeded with ``previous_hash`` (a sealed hash) or else
        the stored hash of the row before it, so only the rows from there on are checked (the
        engine's start-up does this with ``verify_on_start="since_seal"``/``"since_snapshot"``;
        ``oms audit verify`` always checks everything). Positions moved to an archive are not
        here: the chain then starts after the archive point, seeded by the archive manifest's
        last hash (``eventstore.verify_history`` checks the archives and that hash too).
        """
        self._check_open()
        if from_position < 1:
            raise ValueError(f"from_position must be >= 1, got {from_position}")
        stop, _ = await self._backend.head()
        seed = GENESIS_HASH
        point = await self._backend.archive_point()
        if from_position <= point + 1 and point and previous_hash is None:
            entry = await last_archive(self.engine)
            from_position, previous_hash = point + 1, entry.last_hash if entry else None
        if previous_hash is not None:
            seed = previous_hash
        elif from_position > 1:
            before = await self._backend.read_range(from_position - 1, from_position - 1, 1)
            if not before or before[0].position != from_position - 1:
                return VerifyReport(
                    ok=False, checked=0, first_bad_position=from_position - 1,
                    reason=f"position {from_position - 1} is missing",
                )
            seed = before[0].hash
            if anchor is not None and 0 < anchor[0] < from_position - 1:
                # Before the checked range: compare the stored hash there (never skip it).
                rows = await self._backend.read_range(anchor[0], anchor[0], 1)
                if not rows or rows[0].hash != anchor[1]:
                    return VerifyReport(
                        ok=False, checked=0, first_bad_position=anchor[0],
                        reason="hash differs from the anchored head hash",
                    )
        return await verify_chain(
            self._batches(from_position, stop, batch_size), anchor, from_position, seed
        )

    async def close(self) -> None:
        """Commit queued appends, stop the writer, release connections. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._committed(0)  # wake subscribers so they end
        await self._writer.close()
        await self._backend.close()
        await self.engine.dispose()
