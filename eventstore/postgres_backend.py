"""PostgreSQL: group-commit writes and batched reads on the asyncpg connections of the engine.

The out-of-order-commit trap, and how it is avoided
---------------------------------------------------
With a sequence (or ``bigserial``) two transactions can take positions 10 and 11 and commit
11 first; a reader tailing ``WHERE position > 9`` then sees 11, moves its cursor past 10, and
skips 10 forever when it commits a moment later. Here positions are never taken from a
sequence. Every append transaction first takes one *transaction-scoped advisory lock*
(``pg_advisory_xact_lock``), then reads the head, assigns ``head + 1 ...`` and inserts. The lock
is released only when the transaction ends, after its commit is visible, so the next writer
(in any process, on any host) reads a head that includes it. Positions are therefore assigned
and made visible strictly in order, and the hash chain (which needs the previous hash) is
computed from the true predecessor. The cost is one serialised writer at a time, which group
commit amortises: each transaction carries a whole batch of appends.

Wake-ups: subscribers in this process are woken by the writer after each commit. After a
batch that inserted rows has committed, the writer sends ``NOTIFY oms_events`` as a statement of
its own — never inside the write transaction: there it would take PostgreSQL's notification-queue
lock inside our commit, and a full queue (a listener somewhere that stopped reading) would make
every append fail. Outside, a failed NOTIFY is logged and costs only latency. A store with
subscribers holds one ``LISTEN oms_events`` connection, so subscribers in other processes and on
other hosts wake within milliseconds. Notifications are only a wake-up: subscribers still
poll every ``poll_interval`` (a cheap primary-key range query), so a lost listener connection
costs latency, never an event, and it is re-established on the subscribers' next turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from eventstore.codec import GENESIS_HASH
from eventstore.model import RecordedEvent, RowEvent
from eventstore.partitions import ensure_partitions
from eventstore.planner import (
    AppendRequest,
    ArchivedKey,
    Fence,
    Row,
    normalise_stored,
    plan_batch,
)
from eventstore.schema import COLUMNS

APPEND_LOCK_KEY = 0x6F6D735F65767473  # "oms_evts": the one advisory lock all appenders share
NOTIFY_CHANNEL = "oms_events"
LISTENER_APPLICATION_NAME = "oms-eventstore-listener"

log = logging.getLogger(__name__)

_HEAD = "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
# The lock is taken by its own statement, after BEGIN and before any read: in READ COMMITTED
# each statement sees commits made before it started, so reads after the lock see the head
# left by the previous lock holder.
_BEGIN_LOCKED = f"BEGIN; SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})"
_HEAD_AND_VERSIONS = (
    "(SELECT NULL::text, position, hash FROM events ORDER BY position DESC LIMIT 1) "
    # event_keys: one index for every stream's versions (events has one per partition)
    "UNION ALL SELECT stream_id, MAX(version)::bigint, NULL FROM event_keys "
    "WHERE stream_id = ANY($1::text[]) GROUP BY stream_id "
    # streams whose newest events were archived continue from their archived version
    "UNION ALL SELECT stream_id, last_version::bigint, NULL FROM archived_streams "
    "WHERE stream_id = ANY($1::text[])"
)
_ARCHIVE_POINT = "SELECT COALESCE(MAX(last_position), 0) FROM archives"
# The events and their keys in one statement (one round trip): the partitioned events table
# cannot hold the global unique indexes, event_keys does (see eventstore.partitions).
_INSERT = (
    "WITH new_rows AS (SELECT * FROM unnest("
    "$1::bigint[], $2::text[], $3::int[], $4::text[], $5::int[], $6::uuid[], "
    "$7::bytea[], $8::bytea[], $9::bigint[], $10::text[]) "
    f"AS r({COLUMNS})), "
    "new_keys AS (INSERT INTO event_keys (event_id, stream_id, version, position) "
    "SELECT event_id, stream_id, version, position FROM new_rows) "
    f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM new_rows"
)
_KEYS = (
    "SELECT event_id, stream_id, version, position FROM event_keys "
    "WHERE event_id = ANY($1::uuid[])"
)
_RANGE = (
    f"SELECT {COLUMNS} FROM events WHERE position >= $1 AND position <= $2 "
    "ORDER BY position LIMIT $3"
)
_E_COLUMNS = ", ".join(f"e.{c}" for c in COLUMNS.split(", "))
# Streams are found through event_keys (one index over every partition; events itself has no
# stream index, which keeps its bytes per event where they were before partitioning). Keys of
# archived events have no row to join: they are skipped, as the archived rows are.
_STREAM = (
    f"SELECT {_E_COLUMNS} FROM event_keys k JOIN events e ON e.position = k.position "
    "WHERE k.stream_id = $1 AND k.version >= $2 ORDER BY k.version LIMIT $3"
)
# The last version, live (through the global keys) or archived (an append continues from it).
_STREAM_VERSION = (
    "SELECT MAX(v) FROM ("
    "(SELECT k.version AS v FROM event_keys k JOIN events e ON e.position = k.position "
    "WHERE k.stream_id = $1 ORDER BY k.version DESC LIMIT 1) "
    "UNION ALL SELECT last_version FROM archived_streams WHERE stream_id = $1) AS s"
)
_NO_END = 2**62
_NOTIFY = f"NOTIFY {NOTIFY_CHANNEL}"


class PostgresBackend:
    """Runs the store's SQL on raw asyncpg connections checked out of the engine's pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._writer: AsyncConnection | None = None  # dedicated: no pool round trip per batch
        self._listener: AsyncConnection | None = None  # dedicated LISTEN connection
        self._listener_apg: Any = None
        self._listener_lock = asyncio.Lock()  # several subscribers: one listener
        self._closed = False
        self._notify_failing = False  # log a failing NOTIFY once per streak, not per batch
        self._covered_end = 0  # positions below it have a partition (0: not looked up yet)
        self._pending_end = 0
        self._partition_size = 0

    @asynccontextmanager
    async def _apg(self) -> AsyncIterator[Any]:
        async with self._engine.connect() as conn:
            raw = await conn.get_raw_connection()
            yield raw.driver_connection

    async def write(
        self, requests: list[AppendRequest], now_us: int, fence: Fence | None = None
    ) -> int:
        """Plan and commit one batch in one transaction; return the new head position."""
        if self._writer is None:
            self._writer = await self._engine.connect()
        try:
            apg: Any = (await self._writer.get_raw_connection()).driver_connection
            head = await self._write(apg, requests, now_us, fence)
        except BaseException:
            writer, self._writer = self._writer, None  # a lost connection: reconnect next time
            await writer.invalidate()
            await writer.close()
            raise
        if apg.is_closed():  # lost after the commit (during NOTIFY): reconnect next batch
            writer, self._writer = self._writer, None
            with contextlib.suppress(Exception):
                await writer.invalidate()
                await writer.close()
        return head

    async def _write(
        self, apg: Any, requests: list[AppendRequest], now_us: int, fence: Fence | None
    ) -> int:
        # Round trips are the cost here (a batch waits on each one), so: BEGIN and the lock go
        # in one simple-protocol message, the head and the stream versions come back from one
        # query, and stored ids are looked up only when the batch may contain a retry (see
        # sqlite_backend.write_batch, which follows the same plan).
        for optimistic in (True, False):
            await apg.execute(_BEGIN_LOCKED)
            try:
                head, inserted = await self._plan_and_insert(
                    apg, requests, now_us, optimistic, fence
                )
                await apg.execute("COMMIT")
                self._covered_end = max(self._covered_end, self._pending_end)
                if inserted:
                    await self._notify(apg)
                return head
            except UniqueViolationError:
                self._pending_end = 0
                await apg.execute("ROLLBACK")
                if not optimistic:
                    raise
                for req in requests:
                    req.outcome = None
            except BaseException:
                self._pending_end = 0
                if not apg.is_closed() and apg.is_in_transaction():
                    await apg.execute("ROLLBACK")
                raise
        raise AssertionError("unreachable")

    async def _notify(self, apg: Any) -> None:
        """Wake other processes' subscribers; the batch is committed whatever happens here."""
        try:
            await apg.execute(_NOTIFY)
        except Exception as exc:  # never fail a committed batch (a lost connection: see write)
            level = logging.DEBUG if self._notify_failing else logging.WARNING
            self._notify_failing = True
            log.log(level, "NOTIFY %s failed (%s): other processes' subscribers fall back to"
                    " polling until it works again", NOTIFY_CHANNEL, exc)
        else:
            if self._notify_failing:
                self._notify_failing = False
                log.info("NOTIFY %s works again", NOTIFY_CHANNEL)

    async def _plan_and_insert(
        self,
        apg: Any,
        requests: list[AppendRequest],
        now_us: int,
        optimistic: bool,
        fence: Fence | None,
    ) -> tuple[int, bool]:
        streams = list({r.stream_id for r in requests} | ({fence[0]} if fence else set()))
        head_t: tuple[int, str] = (0, GENESIS_HASH)
        versions: dict[str, int] = {}
        for stream_id, number, hash_ in await apg.fetch(_HEAD_AND_VERSIONS, streams):
            if stream_id is None:
                head_t = (int(number), str(hash_))
            else:
                versions[stream_id] = max(versions.get(stream_id, -1), int(number))
        rows: list[Any] = []
        if optimistic:
            rows = plan_batch(head_t, requests, {}, dict(versions), now_us, fence)
            # A refused append may be a retry (same ids): decide again knowing stored rows.
            optimistic = not any(isinstance(r.outcome, BaseException) for r in requests)
        if not optimistic:
            stored, archived = await self._stored(apg, requests)
            rows = plan_batch(head_t, requests, stored, versions, now_us, fence, archived)
        if rows:
            if rows[-1][0] + self._partition_size >= self._covered_end:
                # Room for this batch and a partition more (see eventstore.partitions); the
                # end is remembered only once this transaction has committed.
                self._pending_end, self._partition_size = await ensure_partitions(
                    apg, rows[-1][0], head_t[0] + 1
                )
            await apg.execute(_INSERT, *(list(col) for col in zip(*rows, strict=True)))
        return (rows[-1][0], True) if rows else (head_t[0], False)

    @staticmethod
    async def _stored(
        apg: Any, requests: list[AppendRequest]
    ) -> tuple[dict[str, Row], dict[str, ArchivedKey]]:
        """The stored rows of the batch's event ids, and the keys of those that are archived."""
        ids = [e.event_id for r in requests for e in r.events]
        keys = await apg.fetch(_KEYS, ids)
        if not keys:
            return {}, {}
        rows = await apg.fetch(
            f"SELECT {COLUMNS} FROM events WHERE position = ANY($1::bigint[])",
            [k[3] for k in keys],
        )
        stored = normalise_stored(rows)
        archived = {
            str(k[0]): (str(k[1]), int(k[2]), int(k[3])) for k in keys
            if str(k[0]) not in stored
        }
        return stored, archived

    async def _rows(self, sql: str, *params: Any) -> list[RecordedEvent]:
        async with self._apg() as apg:
            return [RowEvent(r) for r in await apg.fetch(sql, *params)]

    async def read_range(self, start: int, stop: int | None, limit: int) -> list[RecordedEvent]:
        """Up to ``limit`` events with ``start <= position <= stop``, in position order."""
        return await self._rows(_RANGE, start, _NO_END if stop is None else stop, limit)

    async def read_stream(self, stream_id: str, start: int, limit: int) -> list[RecordedEvent]:
        """Up to ``limit`` events of one stream from version ``start``, in version order."""
        return await self._rows(_STREAM, stream_id, start, limit)

    async def stream_version(self, stream_id: str) -> int | None:
        """The stream's last version, or None when it has no event (archived ones count)."""
        async with self._apg() as apg:
            value = await apg.fetchval(_STREAM_VERSION, stream_id)
        return None if value is None else int(value)

    async def head(self) -> tuple[int, str]:
        """The last position and its hash, or ``(0, GENESIS_HASH)`` for an empty log."""
        async with self._apg() as apg:
            row = await apg.fetchrow(_HEAD)
        return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

    async def archive_point(self) -> int:
        """The last archived position (0: nothing archived); see ``history_schema.archives``."""
        async with self._apg() as apg:
            return int(await apg.fetchval(_ARCHIVE_POINT))

    async def watch(self, on_commit: Callable[[], None]) -> bool:
        """Make sure one connection LISTENs for commits of any process; ``on_commit`` wakes.

        Cheap when already listening. A listener connection the server closed is replaced (its
        loss also calls ``on_commit``, so parked subscribers come round and re-listen). Returns
        whether a listener is up; failures are logged and leave the subscribers polling.
        """
        apg = self._listener_apg
        if apg is not None and not apg.is_closed():
            return True
        async with self._listener_lock:
            return await self._listen(on_commit)

    async def _listen(self, on_commit: Callable[[], None]) -> bool:
        apg = self._listener_apg
        if apg is not None and not apg.is_closed():
            return True  # another subscriber got there first
        await self._drop_listener()
        if self._closed:
            return False
        try:
            conn = await self._engine.connect()
        except Exception as exc:
            log.warning("LISTEN %s unavailable (%s): subscribers poll", NOTIFY_CHANNEL, exc)
            return False
        try:
            raw: Any = (await conn.get_raw_connection()).driver_connection
            await raw.execute(f"SET application_name = '{LISTENER_APPLICATION_NAME}'")
            await raw.add_listener(NOTIFY_CHANNEL, lambda *_: on_commit())
            raw.add_termination_listener(lambda _conn: on_commit())
        except Exception as exc:
            log.warning("LISTEN %s failed (%s): subscribers poll", NOTIFY_CHANNEL, exc)
            await conn.invalidate()
            await conn.close()
            return False
        self._listener, self._listener_apg = conn, raw
        return True

    async def _drop_listener(self) -> None:
        conn, self._listener, self._listener_apg = self._listener, None, None
        if conn is not None:
            try:
                await conn.invalidate()  # never hand a LISTENing connection back to the pool
                await conn.close()
            except Exception as exc:  # it is already dead; nothing of ours is lost with it
                log.debug("closing the old listener connection: %s", exc)

    async def close(self) -> None:
        """Release the writer and listener connections (the engine is disposed by the store)."""
        self._closed = True
        async with self._listener_lock:  # a subscriber's LISTEN in progress finishes first
            await self._drop_listener()
        if self._writer is not None:
            await self._writer.close()
            self._writer = None
