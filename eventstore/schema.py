"""The ``events`` table as SQLAlchemy Core metadata, and the raw SQL the hot paths use.

The Alembic revision ``0001_events`` creates the same table; this module is what the code
queries against (and what tests compare the migration with).

Columns: ``position`` is the global 1-based position (the SQLite rowid, assigned by the writer
inside its locked transaction, never by a sequence), ``version`` the 0-based version within the
stream, ``event_version`` the payload's schema version, ``data``/``metadata`` the canonical JSON
bytes, ``recorded_at_us`` integer microseconds since the Unix epoch (exact, so it can be hashed),
``hash`` the hex chain hash.

On PostgreSQL, from revision ``0005_partitions`` on, the table is partitioned by position and
its two unique constraints live in ``event_keys`` instead (see :mod:`eventstore.partitions`);
this metadata describes the columns, which are the same on both backends.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "position",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=False,
    ),
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

COLUMNS = (
    "position, stream_id, version, type, event_version, event_id, data, metadata, "
    "recorded_at_us, hash"
)
"""Every read selects these columns in this order: ``RecordedEvent(*row)`` takes them as is."""
