"""Tables of seals and archives (created by the Alembic revision ``0003_seals``).

- ``seals``: one row per signed checkpoint (see :mod:`eventstore.seals`).
- ``archives``: the manifest of archive files — which positions moved out of ``events``, the
  hash before the first and of the last, the seal that covers them and the file's digest.
  ``MAX(last_position)`` is the archive point: positions up to it are no longer in ``events``.
- ``archived_streams``: the last archived version of every stream that had events archived, so
  an append to such a stream continues its versions instead of starting again at 0.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

seals = sa.Table(
    "seals",
    metadata,
    sa.Column("position", _BIG, primary_key=True, autoincrement=False),
    sa.Column("head_hash", sa.String(64), nullable=False),
    sa.Column("snapshot_digest", sa.String(64), nullable=False),
    sa.Column("schema_revision", sa.String(64), nullable=False),
    sa.Column("sealed_at_us", sa.BigInteger(), nullable=False),
    sa.Column("signer", sa.String(128), nullable=False),
    sa.Column("signature", sa.String(256), nullable=False),
)

archives = sa.Table(
    "archives",
    metadata,
    sa.Column("first_position", _BIG, primary_key=True, autoincrement=False),
    sa.Column("last_position", _BIG, nullable=False, unique=True),
    sa.Column("previous_hash", sa.String(64), nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("seal_position", _BIG, nullable=False),
    sa.Column("file_name", sa.String(256), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=False),
    sa.Column("event_count", sa.BigInteger(), nullable=False),
    sa.Column("archived_at_us", sa.BigInteger(), nullable=False),
)

archived_streams = sa.Table(
    "archived_streams",
    metadata,
    sa.Column("stream_id", sa.String(256), primary_key=True),
    sa.Column("last_version", sa.Integer(), nullable=False),
)

event_keys = sa.Table(
    "event_keys",
    metadata,
    sa.Column("event_id", sa.Uuid(), primary_key=True),
    sa.Column("stream_id", sa.String(256), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("position", sa.BigInteger(), nullable=False),
    sa.UniqueConstraint("stream_id", "version", name="uq_event_keys_stream_version"),
)
"""Created by ``0005_partitions``. PostgreSQL: the key of *every* event, written with it (the
partitioned ``events`` cannot hold a unique index without the position; this table keeps
event ids and stream versions unique across partitions and across archives). SQLite: only the
keys of archived events (live ones are guarded by the unique indexes of ``events``). Either
way a retry of an archived event id is recognised (``EventArchived``)."""

event_partitioning = sa.Table(
    "event_partitioning",
    metadata,
    sa.Column("partition_size", sa.BigInteger(), nullable=False),
)
"""PostgreSQL only: one row, the number of positions per new partition of ``events``."""
