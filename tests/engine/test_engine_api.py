"""The engine's public surface: event stream, kill switch, dead-man switch, bad input."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from engine_helpers import mid, wait_for

from connectors.base import OrderRuleViolation, UnknownPair
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from oms.domain.enums import OrderState, OrderType
from oms.domain.events import OrderCreated, OrderEvent, OrderSubmitted
from oms.engine import EngineClosed, EngineConfig, OrderManager, OrderNotActive, UnknownOrder

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
Factory = Callable[[], HyperliquidConnector]


async def test_events_streams_every_domain_event_in_journal_order(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        seen: list[OrderEvent] = []

        async def consume() -> None:
            async for event in oms.events(from_position=1):
                if hasattr(event, "client_order_id"):  # start-up journals the account first
                    seen.append(event)  # type: ignore[arg-type]

        task = asyncio.create_task(consume())
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: len(seen) >= 3)
        task.cancel()
        assert isinstance(seen[0], OrderCreated) and seen[0].client_order_id == cid
        assert isinstance(seen[1], OrderSubmitted)
        assert type(seen[2]).__name__ == "OrderAccepted"


async def test_kill_switch_refuses_and_journals(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        oms.set_kill_switch(True)
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2000"))
        order = oms.get_order(cid)
        assert order is not None and order.state is OrderState.FAILED
        assert "kill switch" in (order.reason or "")
        oms.set_kill_switch(False)
        cid2 = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2000"))
        assert oms.get_order(cid2).state is OrderState.PENDING_CREATE  # type: ignore[union-attr]


async def test_bad_input_raises_before_anything_is_journaled(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        head, _ = await oms.store.head()
        with pytest.raises(UnknownPair):
            oms.buy("NOPE", D("1"), OrderType.LIMIT, price=D("1"))
        with pytest.raises(OrderRuleViolation, match="below the minimum"):
            oms.buy("ETH", D("0.001"), OrderType.LIMIT, price=D("2000"))
        with pytest.raises(TypeError, match="Decimal"):
            oms.buy("ETH", 0.5, OrderType.LIMIT, price=D("2000"))  # type: ignore[arg-type]
        with pytest.raises(UnknownOrder):
            oms.cancel("f" * 32)
        px = (await mid(oms.connector, "ETH")) * D("0.95")
        cid = oms.sell("ETH", D("0.05"), OrderType.LIMIT, price=px)  # crosses: fills at once
        await wait_for(lambda: oms.get_order(cid).is_terminal)  # type: ignore[union-attr]
        with pytest.raises(OrderNotActive):
            oms.cancel(cid)
        await oms.flush()
        after, _ = await oms.store.head()
        assert after > head  # only the one valid order was journaled
    with pytest.raises(EngineClosed):
        oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2000"))


async def test_dead_man_switch_is_kept_ahead(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    config = EngineConfig(expires_after_s=1.0, dead_man_switch_s=10.0)
    async with await OrderManager.open(sqlite_url, make_connector(), config=config) as oms:
        user = oms.connector.account
        await wait_for(lambda: user in sim.engine.scheduled_cancels)
        ahead_ms = sim.engine.scheduled_cancels[user] - time.time_ns() // 1_000_000
        assert 5_000 <= ahead_ms <= 10_000


async def test_load_order_reads_back_orders_that_left_memory(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    config = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5,
                          completed_in_memory=1)
    async with await OrderManager.open(sqlite_url, make_connector(), config=config) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        cids = [oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px) for _ in range(3)]
        await wait_for(lambda: all(oms.get_order(c) is not None
                                   and oms.get_order(c).state is OrderState.OPEN  # type: ignore[union-attr]
                                   for c in cids))
        for cid in cids:
            oms.cancel(cid)
        await wait_for(lambda: oms.get_order(cids[-1]) is not None
                       and oms.get_order(cids[-1]).state is OrderState.CANCELED)  # type: ignore[union-attr]
        await wait_for(lambda: oms.get_order(cids[0]) is None)  # only one completed order kept
        first = await oms.load_order(cids[0])
        assert first is not None and first.state is OrderState.CANCELED
        assert first.amount == D("0.05") and first.exchange_order_id is not None
        last = await oms.load_order(cids[-1])
        assert last == oms.get_order(cids[-1])  # held in memory: the same snapshot
        assert await oms.load_order("0" * 32) is None  # never journaled
