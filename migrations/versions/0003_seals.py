"""Seals and archives: signed checkpoints, the archive manifest, archived stream versions.

Revision ID: 0003_seals
Revises: 0002_projections
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_seals"
down_revision: str | None = "0002_projections"
branch_labels: str | None = None
depends_on: str | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create ``seals``, ``archives`` and ``archived_streams`` (see eventstore.history_schema)."""
    op.create_table(
        "seals",
        sa.Column("position", _BIG, primary_key=True, autoincrement=False),
        sa.Column("head_hash", sa.String(64), nullable=False),
        sa.Column("snapshot_digest", sa.String(64), nullable=False),
        sa.Column("schema_revision", sa.String(64), nullable=False),
        sa.Column("sealed_at_us", sa.BigInteger(), nullable=False),
        sa.Column("signer", sa.String(128), nullable=False),
        sa.Column("signature", sa.String(256), nullable=False),
    )
    op.create_table(
        "archives",
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
    op.create_table(
        "archived_streams",
        sa.Column("stream_id", sa.String(256), primary_key=True),
        sa.Column("last_version", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    """Drop them (seals and the archive manifest are lost: restore archives first)."""
    op.drop_table("archived_streams")
    op.drop_table("archives")
    op.drop_table("seals")
