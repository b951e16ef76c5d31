"""SQLite: group-commit writes and fast reads on plain ``sqlite3`` connections in worker threads.

Why not through the async engine: aiosqlite hops to its thread once per call, and a
transaction here is five calls. Running the whole transaction as one function in a dedicated
writer thread costs one hop per *batch*, keeps the event loop free during the fsync, and lets
reads fetch thousands of rows per hop. The SQL text is fixed, so ``sqlite3``'s statement cache
prepares each statement once.

Durability: WAL, ``synchronous=FULL`` (the WAL is fsynced at every commit, so a committed
append survives power loss), ``BEGIN IMMEDIATE`` (the write lock is taken *before* the head is
read, so several processes appending to one file keep one gap-free chain), and a busy timeout
so writers in other processes wait instead of failing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from uuid import UUID

from eventstore.codec import GENESIS_HASH
from eventstore.errors import ReadOnlyStore
from eventstore.model import RecordedEvent, RowEvent
from eventstore.planner import AppendRequest, ArchivedKey, Fence, normalise_stored, plan_batch
from eventstore.schema import COLUMNS
from eventstore.sqlite_open import BUSY_TIMEOUT_S, read_only_uri
from eventstore.writer_thread import WriterThread

T = TypeVar("T")

_MAX_VARS = 900  # well under SQLite's host-parameter limit, per IN (...) chunk
_NO_END = 2**62
_CHECKPOINT_EVERY = 64  # commits between background checkpoints (a few MB of WAL at most)

PAGE_SIZE_PRAGMA = "PRAGMA page_size = 2048"
"""Applies only to a new, empty file (an existing database keeps its page size).

Why 2 KiB rather than 4: a group commit of appends to many different streams dirties one
leaf of the ``(stream_id, version)`` index per stream, and every dirty page goes to the WAL
and through the fsync; smaller pages halve those bytes. Sequential reads barely notice."""

_HEAD = "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
_ARCHIVE_POINT = "SELECT COALESCE(MAX(last_position), 0) FROM archives"
_INSERT = f"INSERT INTO events ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_RANGE = (
    f"SELECT {COLUMNS} FROM events WHERE position >= ? AND position <= ? "
    "ORDER BY position LIMIT ?"
)
_STREAM = (
    f"SELECT {COLUMNS} FROM events WHERE stream_id = ? AND version >= ? "
    "ORDER BY version LIMIT ?"
)


def connect(path: str, *, read_only: bool = False, uri: str | None = None) -> sqlite3.Connection:
    """A ``sqlite3`` connection with the store's durability settings (autocommit mode).

    ``uri``: a read-only ``file:`` URI to open instead of ``path`` (see
    :mod:`eventstore.sqlite_open`); such a connection cannot write.
    """
    conn = sqlite3.connect(
        uri or path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_S,
        uri=uri is not None,
    )
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    if uri is not None:
        conn.execute("PRAGMA query_only = 1")
        return conn
    conn.execute(PAGE_SIZE_PRAGMA)
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -65536")  # 64 MiB: index pages stay hot across batches
    if not read_only:
        # The checkpoint thread copies the WAL into the database file in the background
        # (see SqliteBackend); this is only the backstop, should it fall behind: a writer
        # that reaches ~20 MB of WAL checkpoints itself, as SQLite does by default at 4 MB.
        conn.execute("PRAGMA wal_autocheckpoint = 10000")
    if read_only:
        conn.execute("PRAGMA query_only = 1")
    return conn


def enable_wal(path: str) -> None:
    """Put the database at ``path`` in WAL mode (persistent; a no-op when it already is).

    Called by writers only, once the file is known to be ours and at the schema head (or empty
    and about to become a new journal): it rewrites the file's header. ``page_size`` comes
    first: it fixes the page size of a new file, and WAL mode cannot change it afterwards.
    """
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_S)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute(PAGE_SIZE_PRAGMA)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            raise sqlite3.OperationalError(f"{path}: could not switch to WAL mode ({mode})")
    finally:
        conn.close()


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _MAX_VARS] for i in range(0, len(items), _MAX_VARS)]


def _stored_rows(conn: sqlite3.Connection, requests: list[AppendRequest]) -> list[Any]:
    ids = [e.event_id.replace("-", "") for r in requests for e in r.events]
    stored: list[Any] = []
    for part in _chunks(ids):
        marks = ",".join("?" * len(part))
        stored += conn.execute(
            f"SELECT {COLUMNS} FROM events WHERE event_id IN ({marks})", part
        ).fetchall()
    return stored


# The last version, live or archived (an append continues from the archived version too).
_STREAM_VERSION = (
    "SELECT MAX(v) FROM (SELECT MAX(version) AS v FROM events WHERE stream_id = ? "
    "UNION ALL SELECT last_version FROM archived_streams WHERE stream_id = ?)"
)
def _archived_keys(
    conn: sqlite3.Connection, requests: list[AppendRequest], stored: dict[str, Any]
) -> dict[str, ArchivedKey]:
    """The keys of the batch's event ids that were archived (``event_keys`` holds only those
    on SQLite; a trigger on ``events`` refuses such an id, so the optimistic plan gets here)."""
    ids = [e.event_id.replace("-", "") for r in requests for e in r.events
           if e.event_id not in stored]
    out: dict[str, ArchivedKey] = {}
    for part in _chunks(ids):
        marks = ",".join("?" * len(part))
        for event_id, stream_id, version, position in conn.execute(
            "SELECT event_id, stream_id, version, position FROM event_keys "
            f"WHERE event_id IN ({marks})",
            part,
        ).fetchall():
            out[str(UUID(event_id))] = (stream_id, int(version), int(position))
    return out


def _stream_versions(
    conn: sqlite3.Connection, requests: list[AppendRequest], fence: Fence | None
) -> dict[str, int]:
    streams = list({r.stream_id for r in requests} | ({fence[0]} if fence else set()))
    versions: dict[str, int] = {}
    for part in _chunks(streams):
        marks = ",".join("?" * len(part))
        versions.update(
            conn.execute(
                "SELECT stream_id, MAX(version) FROM events "
                f"WHERE stream_id IN ({marks}) GROUP BY stream_id",
                part,
            ).fetchall()
        )
    # Streams whose newest events were archived continue from their archived version.
    for part in _chunks(streams):
        marks = ",".join("?" * len(part))
        for stream_id, last in conn.execute(
            f"SELECT stream_id, last_version FROM archived_streams WHERE stream_id IN ({marks})",
            part,
        ).fetchall():
            versions[stream_id] = max(versions.get(stream_id, -1), last)
    return versions


def _plan_and_insert(
    conn: sqlite3.Connection,
    requests: list[AppendRequest],
    now_us: int,
    optimistic: bool,
    fence: Fence | None,
) -> int:
    head = tuple(conn.execute(_HEAD).fetchone() or (0, GENESIS_HASH))
    versions = _stream_versions(conn, requests, fence)
    rows: list[Any] = []
    if optimistic:
        rows = plan_batch(head, requests, {}, dict(versions), now_us, fence)
        # A refused append may be a retry (same ids): decide again knowing the stored rows.
        optimistic = not any(isinstance(r.outcome, BaseException) for r in requests)
    if not optimistic:
        stored = normalise_stored(_stored_rows(conn, requests))
        archived = _archived_keys(conn, requests, stored)
        rows = plan_batch(head, requests, stored, versions, now_us, fence, archived)
    if rows:
        conn.executemany(_INSERT, [(*r[:5], r[5].replace("-", ""), *r[6:]) for r in rows])
    return rows[-1][0] if rows else int(head[0])


def write_batch(
    conn: sqlite3.Connection,
    requests: list[AppendRequest],
    now_us: int,
    fence: Fence | None = None,
) -> int:
    """Plan and commit one batch in one transaction; return the new head position.

    Runs in the writer thread. Any exception leaves nothing written (the transaction is
    rolled back) and reaches the caller.

    The first attempt plans as if no event id of the batch were stored yet, which saves a
    lookup of every id in the ``event_id`` index per batch: fresh ids are the normal case,
    and that unique index still rejects a stored one. When an append of the batch is refused
    (a version check) the batch is planned again with the stored rows looked up, before
    anything is inserted; when the index rejects an id, the transaction is rolled back and
    planned the same way. So retries still get their original result and conflicts still
    fail alone.
    """
    for optimistic in (True, False):
        conn.execute("BEGIN IMMEDIATE")
        try:
            head = _plan_and_insert(conn, requests, now_us, optimistic, fence)
            conn.execute("COMMIT")
            return head
        except sqlite3.IntegrityError:
            conn.execute("ROLLBACK")
            if not optimistic:
                raise
            for req in requests:
                req.outcome = None
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    raise AssertionError("unreachable")


class SqliteBackend:
    """Owns the writer thread (one connection) and the reader threads (one connection each)."""

    def __init__(self, path: str, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        # Readers of a read-only store open the file mode=ro (immutable in a read-only folder).
        self.read_uri: str | None = read_only_uri(path) if read_only else None
        self._writer = WriterThread("eventstore-writer")
        self._readers = ThreadPoolExecutor(2, thread_name_prefix="eventstore-reader")
        # Checkpoints run here, off the writer thread: a checkpoint copies megabytes into the
        # database file and fsyncs it, which would otherwise stall the appends of that commit.
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="eventstore-checkpoint")
        self._commits = 0
        self._checkpointing = False
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _conn(self, read_only: bool) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            uri = self.read_uri if read_only else None
            conn = connect(self.path, read_only=read_only, uri=uri)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    async def _in(self, pool: ThreadPoolExecutor, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn)

    async def write(
        self, requests: list[AppendRequest], now_us: int, fence: Fence | None = None
    ) -> int:
        """Commit one batch; see :func:`write_batch`."""
        if self.read_only:
            raise ReadOnlyStore(
                f"{self.path} was opened read-only; open it with EventStore.open(url) to append"
            )
        head = await self._writer.run(
            lambda: write_batch(self._conn(False), requests, now_us, fence)
        )
        self._commits += 1
        if self._commits >= _CHECKPOINT_EVERY and not self._checkpointing:
            self._commits = 0
            self._checkpointing = True
            self._checkpointer.submit(self._checkpoint)
        return head

    def _checkpoint(self) -> None:
        # PASSIVE never waits for (or blocks) writers and readers; once it has copied the
        # whole WAL, the next commit starts the WAL file over instead of growing it.
        try:
            self._conn(False).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            pass  # only an optimisation: the writer's autocheckpoint is the backstop
        finally:
            self._checkpointing = False

    def _rows(self, sql: str, params: tuple[Any, ...]) -> list[RecordedEvent]:
        rows = self._conn(True).execute(sql, params).fetchall()
        return [RowEvent(r) for r in rows]

    async def read_range(self, start: int, stop: int | None, limit: int) -> list[RecordedEvent]:
        """Up to ``limit`` events with ``start <= position <= stop``, in position order."""
        end = _NO_END if stop is None else stop
        return await self._in(self._readers, lambda: self._rows(_RANGE, (start, end, limit)))

    async def read_stream(self, stream_id: str, start: int, limit: int) -> list[RecordedEvent]:
        """Up to ``limit`` events of one stream from version ``start``, in version order."""
        return await self._in(
            self._readers, lambda: self._rows(_STREAM, (stream_id, start, limit))
        )

    async def stream_version(self, stream_id: str) -> int | None:
        """The stream's last version, or None when it has no event (archived ones count)."""

        def run() -> int | None:
            row = self._conn(True).execute(_STREAM_VERSION, (stream_id, stream_id)).fetchone()
            return None if row is None or row[0] is None else int(row[0])

        return await self._in(self._readers, run)

    async def head(self) -> tuple[int, str]:
        """The last position and its hash, or ``(0, GENESIS_HASH)`` for an empty log."""

        def run() -> tuple[int, str]:
            row = self._conn(True).execute(_HEAD).fetchone()
            return (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)

        return await self._in(self._readers, run)

    async def archive_point(self) -> int:
        """The last archived position (0: nothing archived); see ``history_schema.archives``."""

        def run() -> int:
            row = self._conn(True).execute(_ARCHIVE_POINT).fetchone()
            return int(row[0])

        return await self._in(self._readers, run)

    async def watch(self, on_commit: Callable[[], None]) -> bool:
        """SQLite has no cross-process notification: other processes' commits are polled for."""
        return False

    async def close(self) -> None:
        """Stop the threads and close every connection."""
        loop = asyncio.get_running_loop()
        for stop in (self._writer.shutdown, self._readers.shutdown, self._checkpointer.shutdown):
            await loop.run_in_executor(None, stop)
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
