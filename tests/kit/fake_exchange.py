"""A small in-memory fake of the connector protocol (``connectors.base.ExchangeConnector``).

For unit tests of the report handler and the reconciler only: it answers what the test scripts
(statuses by cloid, open orders, fills) and records every request the engine sends. The
end-to-end tests keep running against the local exchange over real HTTP and WebSocket.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from connectors.base import (
    CancelResult,
    ExchangeOrderStatus,
    ExchangeUnavailable,
    FillReport,
    OrderStatusReport,
    Outcome,
    PlaceOrderRequest,
    PlaceResult,
    PositionReport,
    TradingRule,
)

RULE = TradingRule("ETH", 1, 4, 5, 2, Decimal("10"))


@dataclass
class FakeExchange:
    """Scripted answers and a log of requests; every method is a coroutine like the real one."""

    venue: str = "fake"
    account: str = "0xfeed"
    statuses: dict[str, OrderStatusReport] = field(default_factory=dict)
    """The answer to ``order_status(cloid)`` (absent: NOT_FOUND)."""
    open: list[OrderStatusReport] = field(default_factory=list)
    fill_log: list[FillReport] = field(default_factory=list)
    unavailable: int = 0
    """How many next ``order_status`` calls raise ``ExchangeUnavailable``."""
    placed: list[tuple[PlaceOrderRequest, int | None]] = field(default_factory=list)
    canceled: list[tuple[str, str, int | None]] = field(default_factory=list)
    status_asks: list[str] = field(default_factory=list)
    updates: asyncio.Queue[OrderStatusReport] = field(default_factory=asyncio.Queue)
    pushed_fills: asyncio.Queue[FillReport] = field(default_factory=asyncio.Queue)
    reconnect: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        """Nothing to close."""

    def trading_rule(self, pair: str) -> TradingRule:
        """One permissive rule for every pair."""
        return RULE

    async def place_orders(
        self, requests: Sequence[PlaceOrderRequest], expires_after_ms: int | None
    ) -> list[PlaceResult]:
        """Record; confirm each with exchange id ``oid-<n>``."""
        out = []
        for request in requests:
            self.placed.append((request, expires_after_ms))
            out.append(PlaceResult(Outcome.CONFIRMED, request.cloid, f"oid-{len(self.placed)}"))
        return out

    async def cancel_by_cloid(
        self, pair: str, cloid: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Record; confirm."""
        self.canceled.append((pair, cloid, expires_after_ms))
        return CancelResult(Outcome.CONFIRMED)

    async def cancel(
        self, pair: str, exchange_order_id: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Record (by exchange id); confirm."""
        self.canceled.append((pair, exchange_order_id, expires_after_ms))
        return CancelResult(Outcome.CONFIRMED)

    async def modify(
        self, order_id: str, request: PlaceOrderRequest, expires_after_ms: int | None
    ) -> PlaceResult:
        """Record as a placement; confirm."""
        [result] = await self.place_orders([request], expires_after_ms)
        return result

    async def order_status(self, cloid: str) -> OrderStatusReport:
        """The scripted status, NOT_FOUND if none; ``unavailable`` first if set."""
        self.status_asks.append(cloid)
        if self.unavailable:
            self.unavailable -= 1
            raise ExchangeUnavailable("scripted outage")
        return self.statuses.get(cloid) or OrderStatusReport(
            "ETH", ExchangeOrderStatus.NOT_FOUND, cloid, None
        )

    async def open_orders(self) -> list[OrderStatusReport]:
        """The scripted open orders."""
        return list(self.open)

    async def fills_since(self, start_ms: int) -> list[FillReport]:
        """The scripted fills at or after ``start_ms``."""
        return [f for f in self.fill_log if f.timestamp_ms >= start_ms]

    async def positions(self) -> list[PositionReport]:
        """No positions."""
        return []

    async def schedule_cancel(self, at_ms: int | None) -> CancelResult:
        """Confirm."""
        return CancelResult(Outcome.CONFIRMED)

    async def order_updates(self) -> AsyncIterator[OrderStatusReport]:
        """What the test puts on ``updates``."""
        while True:
            yield await self.updates.get()

    async def fills(self) -> AsyncIterator[FillReport]:
        """What the test puts on ``pushed_fills``."""
        while True:
            yield await self.pushed_fills.get()

    def add_reconnect_callback(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Keep it (a test may call it)."""
        self.reconnect.append(callback)
