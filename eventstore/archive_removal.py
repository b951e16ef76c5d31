"""How archived rows leave ``events`` and come back, per backend.

- **PostgreSQL** (``events`` partitioned by position, see :mod:`eventstore.partitions`): the
  partitions that lie wholly at or below the archive's last position are ``DETACH``\\ ed and
  ``DROP``\\ ped — metadata changes, not a row-by-row delete. Archives end at a seal, which in
  general falls inside a partition: the rows of that *partial* partition up to the seal are
  deleted with a range ``DELETE`` (at most one partition's worth), and the partition itself is
  dropped by a later archive that passes its end. ``event_keys`` keeps the archived events'
  ids, so a retry of one is still recognised (``EventArchived``). Restore creates one partition
  for the restored positions that no partition covers any more, then inserts the rows.
- **SQLite** (no partitions): a range ``DELETE``; the archived rows' keys are first copied into
  ``event_keys`` (which on SQLite holds only archived events: live ones are guarded by the
  unique indexes of ``events``), where a trigger refuses a new row with an archived id.
  Restore deletes those keys again before inserting the rows.

Both run inside the archive's (or restore's) one transaction: a failure leaves every row where
it was. On PostgreSQL the ``DELETE`` of the partial partition runs before the ``DETACH``, and the
append lock is taken after it, so the ACCESS EXCLUSIVE lock that ``DETACH`` takes on ``events``
(readers wait for it) and the append lock (appenders wait for it) are held only for the
metadata change and the commit.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from eventstore.partitions import (
    Partition,
    create_partition_sql,
    partition_name,
    sa_partitions,
)
from eventstore.postgres_backend import APPEND_LOCK_KEY

_SQLITE_KEEP_KEYS = (
    "INSERT INTO event_keys (event_id, stream_id, version, position) "
    "SELECT event_id, stream_id, version, position FROM events "
    "WHERE position >= :first AND position <= :last"
)
_DELETE_ROWS = "DELETE FROM events WHERE position >= :first AND position <= :last"
_DELETE_KEYS = "DELETE FROM event_keys WHERE position >= :first AND position <= :last"


async def remove_archived_rows(conn: Any, dialect: str, first: int, last: int) -> list[str]:
    """Remove positions ``first..last`` from ``events`` in the caller's transaction; return
    the names of the partitions dropped (always empty on SQLite)."""
    bounds = {"first": first, "last": last}
    if dialect != "postgresql":
        await conn.execute(sa.text(_SQLITE_KEEP_KEYS), bounds)
        await conn.execute(sa.text(_DELETE_ROWS), bounds)
        return []
    parts = await sa_partitions(conn)
    whole = [p for p in parts if p.end - 1 <= last]
    partial = [p for p in parts if p.first <= last < p.end - 1]
    for part in partial:  # rows first: only row locks, readers go on
        await conn.execute(
            sa.text(_DELETE_ROWS), {"first": max(first, part.first), "last": last}
        )
    if whole:
        # The append lock, taken only now: appends wait for the metadata change alone, and an
        # appender attaching a partition at the top never waits on this transaction's locks.
        await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})"))
    for part in whole:
        await conn.exec_driver_sql(f"ALTER TABLE events DETACH PARTITION {part.name}")
        await conn.exec_driver_sql(f"DROP TABLE {part.name}")
    return [p.name for p in whole]


async def prepare_restore(conn: Any, dialect: str, first: int, last: int) -> Partition | None:
    """Make room for positions ``first..last`` in the caller's transaction, before they are
    inserted again; return the partition created for them (PostgreSQL), if one was needed."""
    bounds = {"first": first, "last": last}
    if dialect != "postgresql":
        await conn.execute(sa.text(_DELETE_KEYS), bounds)
        return None
    # The append lock: the partition grid must not change under the appender while a
    # partition is attached below it.
    await conn.execute(sa.text(f"SELECT pg_advisory_xact_lock({APPEND_LOCK_KEY})"))
    parts = await sa_partitions(conn)
    lowest = parts[0].first if parts else last + 1
    if lowest <= first:
        return None  # the partial partition the archive left still covers them
    end = min(lowest, last + 1)
    for sql in create_partition_sql(first, end):
        await conn.exec_driver_sql(sql)
    return Partition(first, end, partition_name(first))


async def finish_restore(conn: Any, dialect: str, first: int, last: int) -> None:
    """PostgreSQL: give restored rows that have no key one (events archived before revision
    ``0005_partitions`` had none); keys kept through the archive are left as they are."""
    if dialect == "postgresql":
        await conn.execute(sa.text(
            "INSERT INTO event_keys (event_id, stream_id, version, position) "
            "SELECT event_id, stream_id, version, position FROM events "
            "WHERE position >= :first AND position <= :last ON CONFLICT DO NOTHING"
        ), {"first": first, "last": last})
