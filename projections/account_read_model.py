"""The account's SQL read models (``proj_account``, ``proj_account_positions``), written by
``ReadModelProjection`` in the same transaction as its checkpoint (exactly once).

Each account stream (``account-<venue>-<address>``) has one ``proj_account`` row holding the
whole ``AccountState`` as JSON (so the next batch continues the fold exactly) and the figures
worth querying, and one row per perp position. Our own fills reach the account of the order's
venue and account, in journal order with the account's events, as in every other fold.

>>> async def show(conn) -> None:  # doctest: +SKIP
...     rows = await conn.execute(sa.select(account_positions))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from oms.domain.account import AccountState, is_spot_pair
from oms.domain.account_events import AccountEvent, account_stream
from oms.domain.events import OrderFilled
from oms.domain.order import OrderRecord
from projections.account_codec import account_from_json, account_to_json
from projections.schema import account, account_positions


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(slots=True)
class AccountBatch:
    """The accounts one read-model batch touches, loaded lazily, written back at the end."""

    accounts: dict[str, AccountState] = field(default_factory=dict)
    touched: dict[str, int] = field(default_factory=dict)

    async def _get(self, conn: AsyncConnection, stream: str) -> AccountState:
        state = self.accounts.get(stream)
        if state is None:
            body = await conn.scalar(sa.select(account.c.body).where(account.c.stream == stream))
            state = account_from_json(orjson.loads(body)) if body else AccountState()
            self.accounts[stream] = state
        return state

    async def own_fill(
        self, conn: AsyncConnection, record: OrderRecord, event: OrderFilled, position: int
    ) -> None:
        """Fold one of our applied fills into its account."""
        stream = account_stream(record.venue, record.account)
        state = await self._get(conn, stream)
        state.apply_own_fill(record.pair, record.side.sign, event.amount, event.price, event.fee,
                             event.fee_asset, event.exchange_time_ms, event.closed_pnl)
        self.touched[stream] = position

    async def event(
        self, conn: AsyncConnection, stream: str, event: AccountEvent, position: int
    ) -> None:
        """Fold one of the account's events."""
        (await self._get(conn, stream)).apply(event)
        self.touched[stream] = position

    async def write(self, conn: AsyncConnection) -> None:
        """Replace the rows of every touched account."""
        for stream, position in sorted(self.touched.items()):
            state = self.accounts[stream]
            await conn.execute(sa.delete(account).where(account.c.stream == stream))
            await conn.execute(
                sa.delete(account_positions).where(account_positions.c.stream == stream)
            )
            await conn.execute(sa.insert(account), [account_row(stream, state, position)])
            rows = position_rows(stream, state, position)
            if rows:
                await conn.execute(sa.insert(account_positions), rows)


def account_row(stream: str, state: AccountState, position: int) -> dict[str, Any]:
    """The ``proj_account`` row of ``state`` (also what ``oms replay --check`` expects)."""
    return {
        "stream": stream,
        "cash": str(state.cash),
        "realized_pnl": str(state.realized_pnl),
        "account_value": _s(state.account_value),
        "withdrawable": _s(state.withdrawable),
        "total_margin_used": _s(state.total_margin_used),
        "corrections": state.corrections,
        "anomalies": state.anomalies,
        "kill_switch": state.kill_switch,
        "body": orjson.dumps(account_to_json(state)).decode(),
        "updated_position": position,
    }


def position_rows(stream: str, state: AccountState, position: int) -> list[dict[str, Any]]:
    """The ``proj_account_positions`` rows of ``state``: one per perp position, by pair."""
    return [_position_row(stream, pair, state, position)
            for pair in sorted(state.positions) if not is_spot_pair(pair)]


def _position_row(stream: str, pair: str, state: AccountState, position: int) -> dict[str, Any]:
    p = state.positions[pair]
    return {
        "stream": stream, "pair": pair, "size": str(p.size), "entry_price": str(p.entry_price),
        "realized_trading": str(p.realized_trading), "fees": str(p.fees),
        "funding": str(p.funding), "outside_fills": p.outside_fills,
        "mark_price": _s(p.mark_price), "unrealized_pnl": _s(p.unrealized_pnl),
        "margin_used": _s(p.margin_used), "liquidation_price": _s(p.liquidation_price),
        "updated_position": position,
    }  # fmt: skip


async def read_account(conn: AsyncConnection, stream: str) -> AccountState | None:
    """The account of ``stream`` as of the read models' checkpoint (None: never folded)."""
    body = await conn.scalar(sa.select(account.c.body).where(account.c.stream == stream))
    return None if body is None else account_from_json(orjson.loads(body))
