"""Projection read models: checkpoints, snapshots, orders, fills, positions.

Revision ID: 0002_projections
Revises: 0001_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_projections"
down_revision: str | None = "0001_events"
branch_labels: str | None = None
depends_on: str | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _amount(name: str, nullable: bool = False) -> sa.Column[str]:
    # Text keeps Decimals exact on SQLite, whose NUMERIC affinity would round through a float.
    return sa.Column(name, sa.String(64), nullable=nullable)


def upgrade() -> None:
    """Create the projection tables (all rebuildable from ``events``)."""
    op.create_table(
        "proj_checkpoints",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", _BIG, nullable=False),
        sa.Column("updated_at_us", _BIG, nullable=False),
    )
    op.create_table(
        "proj_snapshots",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", _BIG, nullable=False),
        sa.Column("format", sa.String(128), nullable=False),
        sa.Column("created_at_us", _BIG, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "proj_orders",
        sa.Column("client_order_id", sa.String(64), primary_key=True),
        sa.Column("venue", sa.String(64), nullable=False),
        sa.Column("account", sa.String(128), nullable=False),
        sa.Column("pair", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("order_type", sa.String(16), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        _amount("amount"),
        _amount("price", nullable=True),
        _amount("executed_base"),
        _amount("executed_quote"),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("unknown", sa.Boolean(), nullable=False),
        sa.Column("anomalies", sa.Integer(), nullable=False),
        sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
        sa.Column("updated_position", _BIG, nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
    )
    op.create_index("ix_proj_orders_state", "proj_orders", ["state"])
    op.create_index("ix_proj_orders_exchange_order_id", "proj_orders", ["exchange_order_id"])
    op.create_table(
        "proj_fills",
        sa.Column("venue", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(128), primary_key=True),
        sa.Column("trade_id", sa.String(128), primary_key=True),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("pair", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        _amount("price"),
        _amount("amount"),
        _amount("fee"),
        sa.Column("fee_asset", sa.String(32), nullable=False),
        sa.Column("is_maker", sa.Boolean(), nullable=False),
        sa.Column("exchange_time_ms", sa.BigInteger(), nullable=False),
        sa.Column("position", _BIG, nullable=False),
    )
    op.create_index("ix_proj_fills_client_order_id", "proj_fills", ["client_order_id"])
    op.create_table(
        "proj_positions",
        sa.Column("pair", sa.String(64), primary_key=True),
        _amount("net_size"),
        _amount("average_entry"),
        _amount("realized_pnl"),
        _amount("volume"),
        sa.Column("fill_count", sa.Integer(), nullable=False),
        sa.Column("fees", sa.Text(), nullable=False),
        sa.Column("updated_position", _BIG, nullable=False),
    )


def downgrade() -> None:
    """Drop the projection tables (they are rebuilt from ``events`` on the next run)."""
    op.drop_table("proj_positions")
    op.drop_index("ix_proj_fills_client_order_id", "proj_fills")
    op.drop_table("proj_fills")
    op.drop_index("ix_proj_orders_exchange_order_id", "proj_orders")
    op.drop_index("ix_proj_orders_state", "proj_orders")
    op.drop_table("proj_orders")
    op.drop_table("proj_snapshots")
    op.drop_table("proj_checkpoints")
