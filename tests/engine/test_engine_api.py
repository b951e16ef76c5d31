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
        # One completed order is kept; which one depends on which report touched it last (the
        # batched cancel's reply can read an evicted order back), so find the two that left.
        await wait_for(lambda: sum(oms.get_order(c) is None for c in cids) == 2)
        gone = [c for c in cids if oms.get_order(c) is None]
        [kept] = [c for c in cids if c not in gone]
        held = oms.get_order(kept)
        first = await oms.load_order(gone[0])
        assert first is not None and first.state is OrderState.CANCELED
        assert first.amount == D("0.05") and first.exchange_order_id is not None
        last = await oms.load_order(kept)
        assert last is not None and last.state is OrderState.CANCELED
        assert last == held  # from memory or read back: the same order
        assert await oms.load_order("0" * 32) is None  # never journaled


async def test_prices_are_rounded_to_the_passive_side_never_worse(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Issue 13 item 5: a buy at 2900.46 on a 0.1 tick was journaled and sent at 2900.5."""
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        assert oms.connector.trading_rule("ETH").quantize_price(D("2900.46")) == D("2900.5")
        buy = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2900.46"))
        sell = oms.sell("ETH", D("0.05"), OrderType.LIMIT, price=D("9000.41"))
        market = oms.buy("ETH", D("0.05"), OrderType.MARKET, price=D("1000.09"))
        assert oms.get_order(buy).price == D("2900.4")  # type: ignore[union-attr]
        assert oms.get_order(sell).price == D("9000.5")  # type: ignore[union-attr]
        assert oms.get_order(market).price == D("1000")  # type: ignore[union-attr]
        await oms.cancel_all()
    refuse = EngineConfig(expires_after_s=1.0, price_off_tick="refuse")
    async with await OrderManager.open(sqlite_url, make_connector(), config=refuse) as oms:
        head = await oms.store.head()
        with pytest.raises(OrderRuleViolation, match="tick"):
            oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2900.46"))
        assert await oms.store.head() == head
        on_tick = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2900.4"))
        assert oms.get_order(on_tick).price == D("2900.4")  # type: ignore[union-attr]
        await oms.cancel_all()


async def test_bad_numbers_and_leverage_are_refused_before_the_journal(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Issue 13 item 6: leverage=-5 was journaled; NaN raised a bare InvalidOperation."""
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        await oms.flush()
        head = await oms.store.head()
        max_leverage = oms.connector.trading_rule("ETH").max_leverage
        for leverage in (-5, 0, max_leverage + 1, True, 2.0):
            with pytest.raises(OrderRuleViolation, match="leverage"):
                oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2000"),
                        leverage=leverage)  # type: ignore[arg-type]
        for amount, price in ((D("NaN"), D("2000")), (D("0.05"), D("NaN")),
                              (D("Infinity"), D("2000")), (D("0.05"), D("-Infinity")),
                              (D("0.05"), D("1" * 40)), (D("9" * 40), D("2000")),
                              (D("0.05"), D("sNaN"))):
            with pytest.raises(ValueError):
                oms.sell("ETH", amount, OrderType.LIMIT, price=price)
        assert await oms.store.head() == head  # nothing was journaled
        live = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=D("2000"), leverage=max_leverage)
        with pytest.raises(ValueError):
            oms.replace(live, price=D("NaN"))
        await oms.flush()
        types = [e.type async for e in oms.store.read_all()]
        assert types.count("OrderCreated") == 1 and "CancelRequested" not in types
        await oms.cancel_all()
