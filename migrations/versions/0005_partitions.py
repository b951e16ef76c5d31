"""Partition ``events`` by position on PostgreSQL; keep event keys in ``event_keys``.

Revision ID: 0005_partitions
Revises: 0004_account

PostgreSQL: the existing ``events`` table is converted in this revision's transaction (the
rows are copied into the partitioned table and the old table dropped; readers and writers wait
on its locks meanwhile, about a minute per ten million events on a small machine — stop the
engine first and back up, as for any upgrade). ``event_keys`` is filled from the copied rows.
Events archived *before* this revision have no key, so a retry of one of those is not
recognised; everything archived afterwards is.

SQLite: ``events`` is unchanged (archiving there stays a range ``DELETE``); ``event_keys`` is
created empty with a trigger that refuses a new event whose id is an archived one.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import op

from eventstore.partitions import DEFAULT_PARTITION_SIZE, create_partition_sql, plan_ahead
from eventstore.schema import COLUMNS

revision: str = "0005_partitions"
down_revision: str | None = "0004_account"
branch_labels: str | None = None
depends_on: str | None = None

_SIZE_ENV = "OMS_PG_PARTITION_SIZE"
_CREATE_PARTITIONED = """
CREATE TABLE events (
    position BIGINT NOT NULL,
    stream_id VARCHAR(256) NOT NULL,
    version INTEGER NOT NULL,
    type VARCHAR(256) NOT NULL,
    event_version INTEGER DEFAULT '1' NOT NULL,
    event_id UUID NOT NULL,
    data BYTEA NOT NULL,
    metadata BYTEA NOT NULL,
    recorded_at_us BIGINT NOT NULL,
    hash VARCHAR(64) NOT NULL,
    CONSTRAINT events_pkey PRIMARY KEY (position)
) PARTITION BY RANGE (position)
"""
_SQLITE_TRIGGER = """
CREATE TRIGGER events_refuse_archived_id BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM event_keys WHERE event_id = NEW.event_id)
BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: event id is archived'); END
"""


def _partition_size() -> int:
    raw = os.environ.get(_SIZE_ENV, "")
    if not raw:
        return DEFAULT_PARTITION_SIZE
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{_SIZE_ENV} must be a whole number of events >= 1, got {raw!r}")
    return int(raw)


def upgrade() -> None:
    """Create ``event_keys``; on PostgreSQL convert ``events`` to range partitions."""
    op.create_table(
        "event_keys",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("stream_id", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="uq_event_keys_stream_version"),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.execute(_SQLITE_TRIGGER)
        return
    size = _partition_size()
    op.create_table("event_partitioning", sa.Column("partition_size", sa.BigInteger(),
                                                    nullable=False))
    op.execute(f"INSERT INTO event_partitioning (partition_size) VALUES ({size})")
    op.execute("ALTER TABLE events RENAME TO events_unpartitioned")
    op.execute("ALTER TABLE events_unpartitioned DROP CONSTRAINT uq_events_stream_version")
    op.execute("ALTER TABLE events_unpartitioned DROP CONSTRAINT uq_events_event_id")
    op.execute("ALTER INDEX events_pkey RENAME TO events_unpartitioned_pkey")
    op.execute(_CREATE_PARTITIONED)
    op.execute("CREATE TABLE events_default PARTITION OF events DEFAULT")
    # No stream index on events: streams are read through event_keys' (stream_id, version).
    low, high = bind.execute(
        sa.text("SELECT MIN(position), MAX(position) FROM events_unpartitioned")
    ).one()
    point = bind.execute(sa.text("SELECT COALESCE(MAX(last_position), 0) FROM archives")).scalar()
    floor = int(low) if low is not None else int(point or 0) + 1
    for first, end in plan_ahead([], int(high or floor - 1), size, floor):
        for sql in create_partition_sql(first, end):
            op.execute(sql)
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events_unpartitioned")
    op.execute(
        "INSERT INTO event_keys (event_id, stream_id, version, position) "
        "SELECT event_id, stream_id, version, position FROM events_unpartitioned"
    )
    op.execute("DROP TABLE events_unpartitioned")


def downgrade() -> None:
    """Back to one plain ``events`` table (PostgreSQL: rows copied back; keys dropped)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_refuse_archived_id")
        op.drop_table("event_keys")
        return
    op.execute("ALTER TABLE events RENAME TO events_partitioned")
    op.execute("ALTER INDEX events_pkey RENAME TO events_partitioned_pkey")
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.String(256), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(256), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("metadata", sa.LargeBinary(), nullable=False),
        sa.Column("recorded_at_us", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.execute(f"INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM events_partitioned")
    op.execute("DROP TABLE events_partitioned")  # drops its partitions with it
    op.drop_table("event_keys")
    op.drop_table("event_partitioning")
