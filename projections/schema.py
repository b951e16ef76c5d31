"""The projection tables (revisions ``0002_projections``, ``0004_account``) as Core metadata.

Amounts are stored as text: exact on both SQLite and PostgreSQL (SQLite's NUMERIC is a float).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()
_BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_AMOUNT = sa.String(64)

checkpoints = sa.Table(
    "proj_checkpoints",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", _BIG, nullable=False),
    sa.Column("updated_at_us", _BIG, nullable=False),
)

snapshots = sa.Table(
    "proj_snapshots",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("position", _BIG, nullable=False),
    sa.Column("format", sa.String(128), nullable=False),
    sa.Column("created_at_us", _BIG, nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
)

orders = sa.Table(
    "proj_orders",
    metadata,
    sa.Column("client_order_id", sa.String(64), primary_key=True),
    sa.Column("venue", sa.String(64), nullable=False),
    sa.Column("account", sa.String(128), nullable=False),
    sa.Column("pair", sa.String(64), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("order_type", sa.String(16), nullable=False),
    sa.Column("state", sa.String(32), nullable=False),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("price", _AMOUNT, nullable=True),
    sa.Column("executed_base", _AMOUNT, nullable=False),
    sa.Column("executed_quote", _AMOUNT, nullable=False),
    sa.Column("exchange_order_id", sa.String(64), nullable=True),
    sa.Column("unknown", sa.Boolean(), nullable=False),
    sa.Column("anomalies", sa.Integer(), nullable=False),
    sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
    sa.Column("updated_position", _BIG, nullable=False),
    sa.Column("record", sa.Text(), nullable=False),  # the full record as JSON, to keep folding
)

fills = sa.Table(
    "proj_fills",
    metadata,
    sa.Column("venue", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(128), primary_key=True),
    sa.Column("trade_id", sa.String(128), primary_key=True),
    sa.Column("client_order_id", sa.String(64), nullable=False),
    sa.Column("pair", sa.String(64), nullable=False),
    sa.Column("side", sa.String(8), nullable=False),
    sa.Column("price", _AMOUNT, nullable=False),
    sa.Column("amount", _AMOUNT, nullable=False),
    sa.Column("fee", _AMOUNT, nullable=False),
    sa.Column("fee_asset", sa.String(32), nullable=False),
    sa.Column("is_maker", sa.Boolean(), nullable=False),
    sa.Column("exchange_time_ms", sa.BigInteger(), nullable=False),
    sa.Column("position", _BIG, nullable=False),
)

positions = sa.Table(
    "proj_positions",
    metadata,
    sa.Column("pair", sa.String(64), primary_key=True),
    sa.Column("net_size", _AMOUNT, nullable=False),
    sa.Column("average_entry", _AMOUNT, nullable=False),
    sa.Column("realized_pnl", _AMOUNT, nullable=False),
    sa.Column("volume", _AMOUNT, nullable=False),
    sa.Column("fill_count", sa.Integer(), nullable=False),
    sa.Column("fees", sa.Text(), nullable=False),
    sa.Column("updated_position", _BIG, nullable=False),
)

# Revision ``0004_account``: the account of each exchange account (a JSON body of the whole
# ``AccountState`` plus the figures worth a WHERE clause) and one row per perp position.
account = sa.Table(
    "proj_account",
    metadata,
    sa.Column("stream", sa.String(200), primary_key=True),
    sa.Column("cash", _AMOUNT, nullable=True),
    sa.Column("realized_pnl", _AMOUNT, nullable=True),
    sa.Column("account_value", _AMOUNT, nullable=True),
    sa.Column("withdrawable", _AMOUNT, nullable=True),
    sa.Column("total_margin_used", _AMOUNT, nullable=True),
    sa.Column("corrections", sa.Integer(), nullable=False),
    sa.Column("anomalies", sa.Integer(), nullable=False),
    sa.Column("kill_switch", sa.Text(), nullable=True),
    sa.Column("body", sa.Text(), nullable=False),
    sa.Column("updated_position", _BIG, nullable=False),
)

account_positions = sa.Table(
    "proj_account_positions",
    metadata,
    sa.Column("stream", sa.String(200), primary_key=True),
    sa.Column("pair", sa.String(64), primary_key=True),
    sa.Column("size", _AMOUNT, nullable=True),
    sa.Column("entry_price", _AMOUNT, nullable=True),
    sa.Column("realized_trading", _AMOUNT, nullable=True),
    sa.Column("fees", _AMOUNT, nullable=True),
    sa.Column("funding", _AMOUNT, nullable=True),
    sa.Column("outside_fills", sa.Integer(), nullable=False),
    sa.Column("mark_price", _AMOUNT, nullable=True),
    sa.Column("unrealized_pnl", _AMOUNT, nullable=True),
    sa.Column("margin_used", _AMOUNT, nullable=True),
    sa.Column("liquidation_price", _AMOUNT, nullable=True),
    sa.Column("updated_position", _BIG, nullable=False),
)
