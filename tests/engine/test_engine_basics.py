"""The engine against the local exchange over real HTTP/WebSocket, with a real SQLite journal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from engine_helpers import mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager, RiskLimits

FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)

D = Decimal


async def test_buy_returns_at_once_then_rests_then_cancels(
    sim: SimulatedExchange, make_connector: Callable[[], HyperliquidConnector], sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")  # far below: rests
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        order = oms.get_order(cid)
        assert order is not None and order.state is OrderState.PENDING_CREATE
        await wait_for(lambda: oms.get_order(cid).state is OrderState.OPEN)  # type: ignore[union-attr]
        truth = sim.truth.orders(oms.connector.account)[cid.cloid]
        assert truth["status"] == "open"
        oms.cancel(cid)
        await wait_for(lambda: oms.get_order(cid).state is OrderState.CANCELED)  # type: ignore[union-attr]
        assert sim.truth.orders(oms.connector.account)[cid.cloid]["status"] == "canceled"
    # The journal holds the whole life, in order: created and submitted before anything else.
    store = await EventStore.open(sqlite_url)
    try:
        types = [e.type async for e in store.read_stream(f"order-{cid}")]
    finally:
        await store.close()
    assert types[:2] == ["OrderCreated", "OrderSubmitted"]
    assert types[2] == "OrderAccepted"
    assert types[-1] == "OrderCanceled"


async def test_crossing_order_fills_and_positions_follow(
    sim: SimulatedExchange, make_connector: Callable[[], HyperliquidConnector], sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("1.05")  # crosses the asks
        cid = oms.buy("ETH", D("0.1"), OrderType.LIMIT, price=px)
        await wait_for(lambda: oms.get_order(cid).state is OrderState.FILLED)  # type: ignore[union-attr]
        order = oms.get_order(cid)
        assert order is not None
        assert order.executed_base == D("0.1")
        truth_fills = [f for f in sim.truth.fills(oms.connector.account) if f["cloid"] == cid.cloid]
        assert sorted(order.trade_ids) == sorted(str(f["tid"]) for f in truth_fills)
        await oms.flush()
        position = oms.positions.get("ETH")
        assert position is not None and position.net_size == D("0.1")


async def test_risk_refusal_is_journaled_as_failed(
    sim: SimulatedExchange, make_connector: Callable[[], HyperliquidConnector], sqlite_url: str
) -> None:
    risk = RiskLimits(max_order_notional=D("100"))
    async with await OrderManager.open(sqlite_url, make_connector(), risk=risk, config=FAST) as oms:
        cid = oms.buy("ETH", D("1"), OrderType.LIMIT, price=D("3000"))
        order = oms.get_order(cid)
        assert order is not None and order.state is OrderState.FAILED
        assert "max_order_notional" in (order.reason or "")
        await oms.flush()
    assert cid.cloid not in sim.truth.orders(oms.connector.account)
