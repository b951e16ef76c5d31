"""PostgreSQL: ``events`` partitioned by RANGE(position), so archiving drops whole partitions.

Layout (Alembic revision ``0005_partitions``): ``events`` is a partitioned table whose
partitions are plain tables named ``events_p<first position>``, each covering
``[first, end)``. Partitions are created ahead of the head: the appender, inside its locked
append transaction, makes sure that after its batch there is still at least one whole
partition (``partition_size`` events, from the one-row table ``event_partitioning``) of room
above the last row, so an append never fails for want of a partition and a new partition is
made at most once every ``partition_size`` events. Partitions are created empty and then
``ATTACH``\\ ed, which takes only a SHARE UPDATE EXCLUSIVE lock on ``events``: readers and
other writers are not blocked (``CREATE TABLE .. PARTITION OF`` would take ACCESS EXCLUSIVE).

A ``DEFAULT`` partition, ``events_default``, takes any row outside every range (only ever a
row written around the event store, e.g. a position moved by hand — which ``verify`` then
reports like any other edit); it is empty in normal operation, so attaching a new range
partition, which checks it, is instant.

PostgreSQL enforces a unique index on a partitioned table only when it includes the partition
key, so the journal's global keys live in ``event_keys`` (event id, stream, version, position;
see :mod:`eventstore.history_schema`), written in the same statement as the events. Archiving
leaves those rows in place: an idempotent retry of an archived event id is still recognised.

SQLite is not partitioned: archiving there is a range ``DELETE`` (see
:mod:`eventstore.archiving`).

>>> partition_name(1_000_001)
'events_p1000001'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

DEFAULT_PARTITION_SIZE = 1_000_000
"""Events per partition unless :func:`set_partition_size` says otherwise (about 0.5 GB)."""

_BOUND = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")
_LIST = (
    "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass"
)
_SIZE = "SELECT partition_size FROM event_partitioning"


@dataclass(frozen=True, slots=True, order=True)
class Partition:
    """One partition of ``events``: positions ``first`` to ``end - 1``."""

    first: int
    end: int
    name: str


def partition_name(first: int) -> str:
    """The table name of the partition that starts at ``first``."""
    return f"events_p{first}"


def create_partition_sql(first: int, end: int) -> list[str]:
    """The statements that make an empty partition ``[first, end)`` and attach it."""
    if not 0 < first < end:
        raise ValueError(f"a partition needs 0 < first < end, got [{first}, {end})")
    name = partition_name(first)
    return [
        f"CREATE TABLE {name} (LIKE events INCLUDING DEFAULTS)",
        f"ALTER TABLE events ATTACH PARTITION {name} FOR VALUES FROM ({first}) TO ({end})",
    ]


def parse_partitions(rows: list[Any]) -> list[Partition]:
    """``(relname, bound expression)`` rows of the catalog as partitions, lowest first."""
    out = []
    for name, bound in rows:
        if str(bound) == "DEFAULT":
            continue  # events_default: see the module docstring
        match = _BOUND.search(str(bound))
        if match is None:
            raise ValueError(f"partition {name} of events has an unexpected bound {bound!r}")
        out.append(Partition(int(match.group(1)), int(match.group(2)), str(name)))
    return sorted(out)


def plan_ahead(parts: list[Partition], last: int, size: int, floor: int) -> list[tuple[int, int]]:
    """The ``[first, end)`` ranges to create so that positions up to ``last`` have a partition
    and at least ``size`` more positions of room remain above ``last``.

    ``floor`` is where the first partition starts when there is none (the first live position).
    """
    top = parts[-1].end if parts else floor
    out = []
    while top <= last + size:
        out.append((top, top + size))
        top += size
    return out


async def list_partitions(conn: Any) -> list[Partition]:
    """The partitions of ``events`` on an asyncpg connection, lowest first."""
    return parse_partitions(await conn.fetch(_LIST))


async def partition_size(conn: Any) -> int:
    """The configured events per partition (asyncpg connection)."""
    value = await conn.fetchval(_SIZE)
    return int(value) if value else DEFAULT_PARTITION_SIZE


async def ensure_partitions(conn: Any, last: int, floor: int) -> tuple[int, int]:
    """Create what :func:`plan_ahead` asks for, in the caller's transaction (which must hold
    the append lock); return the end of the top partition and the partition size."""
    parts = await list_partitions(conn)
    size = await partition_size(conn)
    for first, end in plan_ahead(parts, last, size, floor):
        for sql in create_partition_sql(first, end):
            await conn.execute(sql)
        parts.append(Partition(first, end, partition_name(first)))
    return parts[-1].end, size


async def set_partition_size(engine: Any, size: int) -> None:
    """Make partitions created from now on hold ``size`` positions (PostgreSQL journals).

    Existing partitions keep their bounds. ``OMS_PG_PARTITION_SIZE`` sets the size a new
    journal starts with (read once, by the ``0005_partitions`` migration).
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"partition size must be an int >= 1, got {size!r}")
    if engine.dialect.name != "postgresql":
        raise ValueError("only PostgreSQL journals are partitioned (SQLite has no partitions)")
    async with engine.begin() as conn:
        await conn.execute(sa.text("UPDATE event_partitioning SET partition_size = :n"),
                           {"n": size})


async def sa_partitions(conn: Any) -> list[Partition]:
    """The partitions of ``events`` on a SQLAlchemy ``AsyncConnection``, lowest first."""
    return parse_partitions(list((await conn.execute(sa.text(_LIST))).all()))
