"""Bulk reads of the global log as plain tuples, for replays of millions of events.

``EventStore.read_all`` yields one :class:`RecordedEvent` per row, which is what live consumers
want. A rebuild from zero wants less: the five columns a fold needs, in big batches, with no
object per row. ``read_all_raw`` gives exactly that, straight from the driver, and fetches the
next batch while the caller folds the current one (``sqlite3`` releases the GIL while it steps
through rows, so on SQLite reading and folding overlap on two cores).

>>> async def count_rows(store: EventStore) -> int:
...     n = 0
...     async for rows in read_all_raw(store, 1):
...         for position, stream_id, type_, event_version, data in rows:
...             n += 1
...     return n
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventstore.engine import sqlite_path
from eventstore.history_errors import ArchivedRange
from eventstore.sqlite_backend import connect
from eventstore.store import EventStore

RawRow = tuple[int, str, str, int, bytes]
"""``(position, stream_id, type, event_version, data)``: ``data`` is the canonical JSON bytes."""

DEFAULT_RAW_BATCH = 20_000

_COLS = "position, stream_id, type, event_version, data"
_SQLITE_RANGE = (
    f"SELECT {_COLS} FROM events WHERE position >= ? AND position <= ? ORDER BY position LIMIT ?"
)
_PG_RANGE = (
    f"SELECT {_COLS} FROM events WHERE position >= $1 AND position <= $2 "
    "ORDER BY position LIMIT $3"
)
_NO_END = 2**62


def read_all_raw(
    store: EventStore,
    from_position: int = 1,
    to_position: int | None = None,
    *,
    batch_size: int = DEFAULT_RAW_BATCH,
) -> AsyncIterator[list[RawRow]]:
    """The global log from ``from_position`` to ``to_position`` (inclusive) as batches of rows.

    Same range and order as :meth:`EventStore.read_all` (it stops at the first short batch),
    but each row is a :data:`RawRow` tuple and nothing is decoded. Raises ``StoreClosed`` on a
    closed store and ``ValueError`` for a negative position or a batch size below 1.
    """
    store._check_open()  # same package: the store's own guard, as read_all uses it
    for name, value, minimum in (
        ("from_position", from_position, 0),
        ("to_position", 0 if to_position is None else to_position, 0),
        ("batch_size", batch_size, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    start, stop = max(from_position, 1), _NO_END if to_position is None else to_position
    if store.dialect == "sqlite":
        uri = getattr(store._backend, "read_uri", None)  # set when the store is read-only
        batches = _sqlite_batches(sqlite_path(store.engine.url), uri, start, stop, batch_size)
    else:
        batches = _postgres_batches(store, start, stop, batch_size)
    return _not_archived(store, start, batches)


async def _not_archived(
    store: EventStore, start: int, batches: AsyncGenerator[list[RawRow], None]
) -> AsyncIterator[list[RawRow]]:
    # A rebuild that silently began after the archive point would fold a wrong state: refuse it.
    # Checked only when the first row is not the one asked for, so it costs nothing normally.
    first = True
    try:
        async for batch in batches:
            if first and batch[0][0] != start:
                await _refuse_archived(store, start)
            first = False
            yield batch
        if first:
            await _refuse_archived(store, start)
    finally:
        await batches.aclose()  # its own finally releases the connection now, not at GC


async def _refuse_archived(store: EventStore, start: int) -> None:
    point = await store.archive_point()
    if start <= point:
        raise ArchivedRange(start, point + 1)


async def _prefetching(
    fetch: Callable[[int], Awaitable[list[RawRow]]], start: int, stop: int, batch_size: int
) -> AsyncIterator[list[RawRow]]:
    # Keyset pagination; batch k+1 is requested before batch k is handed to the caller.
    pending: asyncio.Future[list[RawRow]] | None = asyncio.ensure_future(fetch(start))
    try:
        while pending is not None:
            batch = await pending
            pending = None
            if len(batch) == batch_size and batch[-1][0] < stop:
                pending = asyncio.ensure_future(fetch(batch[-1][0] + 1))
            if batch:
                yield batch
    finally:
        if pending is not None:
            # Never release a connection with a query still running on it.
            pending.cancel()
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()  # a prefetch nobody wants: its error is not worth a warning


async def _sqlite_batches(
    path: str, uri: str | None, start: int, stop: int, batch_size: int
) -> AsyncGenerator[list[RawRow], None]:
    # One dedicated thread: it runs the fetches in order, then the close, so the connection is
    # never used by two threads at once, even when the caller stops early.
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(1, thread_name_prefix="eventstore-raw-reader")
    conn: sqlite3.Connection | None = None
    try:
        conn = await loop.run_in_executor(pool, lambda: connect(path, read_only=True, uri=uri))
        reader = conn

        def fetch_sync(first: int) -> list[RawRow]:
            return reader.execute(_SQLITE_RANGE, (first, stop, batch_size)).fetchall()

        def fetch(first: int) -> Awaitable[list[RawRow]]:
            return loop.run_in_executor(pool, fetch_sync, first)

        async for batch in _prefetching(fetch, start, stop, batch_size):
            yield batch
    finally:
        if conn is not None:
            pool.submit(conn.close)
        pool.shutdown(wait=False)


async def _postgres_batches(
    store: EventStore, start: int, stop: int, batch_size: int
) -> AsyncGenerator[list[RawRow], None]:
    async with store.engine.connect() as sa_conn:
        apg: Any = (await sa_conn.get_raw_connection()).driver_connection
        statement = await apg.prepare(_PG_RANGE)

        async def fetch(first: int) -> list[RawRow]:
            return [tuple(r) for r in await statement.fetch(first, stop, batch_size)]

        async for batch in _prefetching(fetch, start, stop, batch_size):
            yield batch
