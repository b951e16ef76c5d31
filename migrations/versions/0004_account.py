"""Account read models: the account of each exchange account, and its perp positions.

Revision ID: 0004_account
Revises: 0003_seals
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_account"
down_revision: str | None = "0003_seals"
branch_labels: str | None = None
depends_on: str | None = None

_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _amount(name: str) -> sa.Column[str]:
    # Text keeps Decimals exact on SQLite, whose NUMERIC affinity would round through a float.
    return sa.Column(name, sa.String(64), nullable=True)


def upgrade() -> None:
    """Create the account tables (rebuildable from ``events``)."""
    op.create_table(
        "proj_account",
        sa.Column("stream", sa.String(200), primary_key=True),
        _amount("cash"),
        _amount("realized_pnl"),
        _amount("account_value"),
        _amount("withdrawable"),
        _amount("total_margin_used"),
        sa.Column("corrections", sa.Integer(), nullable=False),
        sa.Column("anomalies", sa.Integer(), nullable=False),
        sa.Column("kill_switch", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_position", _BIG, nullable=False),
    )
    op.create_table(
        "proj_account_positions",
        sa.Column("stream", sa.String(200), primary_key=True),
        sa.Column("pair", sa.String(64), primary_key=True),
        _amount("size"),
        _amount("entry_price"),
        _amount("realized_trading"),
        _amount("fees"),
        _amount("funding"),
        sa.Column("outside_fills", sa.Integer(), nullable=False),
        _amount("mark_price"),
        _amount("unrealized_pnl"),
        _amount("margin_used"),
        _amount("liquidation_price"),
        sa.Column("updated_position", _BIG, nullable=False),
    )


def downgrade() -> None:
    """Drop the account tables."""
    op.drop_table("proj_account_positions")
    op.drop_table("proj_account")
