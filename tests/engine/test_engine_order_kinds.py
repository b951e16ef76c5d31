"""Every order kind through the engine against the local exchange: journal first, truth after.

Brackets (entry + TP/SL legs, one action), standalone stops, market orders with a slippage bound,
market_close, leverage and isolated margin as journaled account commands, batched cancels, and
the bad inputs that must raise before anything is journaled.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from engine_helpers import counterparty_ioc, mid, wait_for

from connectors.base import Outcome
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from oms.domain import (
    Grouping,
    OrderCreated,
    OrderState,
    OrderType,
    TradeSide,
    TriggerState,
    decode,
    order_stream,
)
from oms.domain.leverage import leverage_stream
from oms.engine import EngineConfig, OrderManager
from oms.engine.order_kind_rules import (
    BracketMismatch,
    Leg,
    LeverageOutOfRange,
    TriggerOnWrongSide,
    TriggerPriceOffTick,
)

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
Factory = Callable[[], HyperliquidConnector]
BUY, SELL = TradeSide.BUY, TradeSide.SELL


def state(oms: OrderManager, cid: str) -> OrderState | None:
    order = oms.get_order(cid)
    return None if order is None else order.state


def _record_actions(sim: SimulatedExchange) -> list[tuple[str, str | None]]:
    """(type, grouping) of every action that reaches the exchange from now on (the address
    budget counts n requests for an action of n orders, so it cannot count actions)."""
    seen: list[tuple[str, str | None]] = []

    def on_action(raw: bytes) -> None:
        action = json.loads(raw)["action"]
        seen.append((action["type"], action.get("grouping")))

    sim.on_action = on_action
    return seen


async def test_bracket_is_one_action_and_follows_the_exchange(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        m = await mid(oms.connector, "ETH")
        entry_px, tp_px, sl_px = (oms.connector.trading_rule("ETH").quantize_price(m * f)
                                  for f in (D("0.98"), D("1.05"), D("0.9")))
        user = oms.connector.account
        actions = _record_actions(sim)
        ids = oms.bracket(BUY, "ETH", D("0.02"), price=entry_px,
                          take_profit=Leg(tp_px, price=tp_px), stop_loss=Leg(sl_px))
        assert ids.take_profit is not None and ids.stop_loss is not None
        legs = [oms.get_order(c) for c in (ids.take_profit, ids.stop_loss)]
        assert all(o is not None and o.parent_id == ids.entry for o in legs)
        assert [o.order_type for o in legs if o] == [OrderType.TAKE_PROFIT_LIMIT,
                                                     OrderType.STOP_MARKET]
        await oms.flush()
        assert actions == [("order", "normalTpsl")]  # one normalTpsl action
        await wait_for(lambda: all(
            (o := oms.get_order(c)) is not None and o.trigger_state is TriggerState.WAITING_FOR_FILL
            for c in (ids.take_profit, ids.stop_loss)))
        assert state(oms, ids.entry) is OrderState.OPEN

        assert sim.pull_quotes("ETH") > 0
        await counterparty_ioc(sim, "ETH", "sell", D("0.02"), entry_px)  # hits our entry only
        await wait_for(lambda: state(oms, ids.entry) is OrderState.FILLED)
        await wait_for(lambda: all(
            (o := oms.get_order(c)) is not None
            and o.trigger_state is TriggerState.WAITING_FOR_TRIGGER
            for c in (ids.take_profit, ids.stop_loss)))

        sim.set_mark("ETH", tp_px)  # the take-profit fires and rests as a limit at tp_px
        await wait_for(lambda: (o := oms.get_order(ids.take_profit or "")) is not None
                       and o.trigger_state is TriggerState.TRIGGERED)
        await counterparty_ioc(sim, "ETH", "buy", D("0.02"), tp_px)
        await wait_for(lambda: state(oms, ids.take_profit or "") is OrderState.FILLED)
        await wait_for(lambda: state(oms, ids.stop_loss or "") is OrderState.CANCELED)
        sl = oms.get_order(ids.stop_loss)
        assert sl is not None and sl.reason == "siblingFilledCanceled"
        truth = sim.truth.orders(user)
        for cid in (ids.entry, ids.take_profit, ids.stop_loss):
            order = oms.get_order(cid)
            assert order is not None
            assert truth[order.cloid]["status"] in ("filled", "siblingFilledCanceled")
        assert sim.truth.positions(user) == {}


async def test_stop_order_checks_then_fires_on_the_mark(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        bought = await oms.market(BUY, "ETH", D("0.02"))
        await wait_for(lambda: state(oms, bought) is OrderState.FILLED)
        mark = await oms.connector.mark_price("ETH")
        rule = oms.connector.trading_rule("ETH")
        known = set(oms.orders)
        with pytest.raises(TriggerOnWrongSide, match="sell stop must be below the mark"):
            await oms.trigger_order(SELL, "ETH", D("0.02"), OrderType.STOP_MARKET,
                                    trigger_price=rule.quantize_price(mark * D("1.01")))
        with pytest.raises(TriggerPriceOffTick, match="off the tick"):
            await oms.trigger_order(SELL, "ETH", D("0.02"), OrderType.STOP_MARKET,
                                    trigger_price=D("2900.123"))
        with pytest.raises(ValueError, match="needs price="):
            await oms.trigger_order(SELL, "ETH", D("0.02"), OrderType.STOP_LIMIT,
                                    trigger_price=rule.quantize_price(mark * D("0.97")))
        await oms.flush()
        assert set(oms.orders) == known  # no order journaled by the refusals
        trigger = rule.quantize_price(mark * D("0.97"))
        stop = await oms.trigger_order(SELL, "ETH", D("0.02"), OrderType.STOP_MARKET,
                                       trigger_price=trigger)
        created = oms.get_order(stop)
        assert created is not None and created.trigger_price == trigger
        assert created.price == rule.worst_price("sell", trigger, D("0.10"))
        await wait_for(lambda: state(oms, stop) is OrderState.OPEN)
        await sim.step_market()  # requote around the current mid
        sim.set_mark("ETH", rule.quantize_price(trigger * D("0.999")))
        await sim.step_market()
        await wait_for(lambda: state(oms, stop) is OrderState.FILLED)
        order = oms.get_order(stop)
        assert order is not None and order.trigger_state is TriggerState.TRIGGERED
        assert sim.truth.positions(oms.connector.account) == {}


async def test_market_orders_bound_and_close(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        user = oms.connector.account
        cid = await oms.market(SELL, "ETH", D("0.03"))
        order = oms.get_order(cid)
        assert order is not None and order.order_type is OrderType.MARKET
        await wait_for(lambda: state(oms, cid) is OrderState.FILLED)
        assert sim.truth.positions(user)["ETH"]["szi"] == D("-0.03")
        closing = await oms.market_close("ETH")
        assert closing is not None
        await wait_for(lambda: state(oms, closing) is OrderState.FILLED)
        closed = oms.get_order(closing)
        assert closed is not None and closed.reduce_only and closed.side is BUY
        assert sim.truth.positions(user) == {}
        assert await oms.market_close("ETH") is None

        sim.pull_quotes("ETH")
        nothing = await oms.market(BUY, "ETH", D("0.01"), slippage=D("0.001"))
        await wait_for(lambda: state(oms, nothing) is OrderState.FAILED)
        failed = oms.get_order(nothing)
        assert failed is not None and "could not immediately match" in (failed.reason or "")


async def test_bracket_bad_input_raises_before_journaling(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        head, _ = await oms.store.head()
        with pytest.raises(BracketMismatch, match="differs from the entry amount"):
            oms.bracket(BUY, "ETH", D("0.02"), price=D("2900"),
                        take_profit=Leg(D("3100"), amount=D("0.01")))
        with pytest.raises(BracketMismatch, match="stop_loss trigger 3000 must be below"):
            oms.bracket(BUY, "ETH", D("0.02"), price=D("2900"), stop_loss=Leg(D("3000")))
        with pytest.raises(BracketMismatch, match="take_profit trigger 3100 must be below"):
            oms.bracket(SELL, "ETH", D("0.02"), price=D("3050"), take_profit=Leg(D("3100")))
        with pytest.raises(TypeError):
            oms.buy("ETH", D("0.02"), price=D("2900"), leverage=5)  # type: ignore[call-arg]
        with pytest.raises(LeverageOutOfRange, match="from 1 to 25"):
            await oms.set_leverage("ETH", 26)
        await oms.flush()
        assert (await oms.store.head())[0] == head


async def test_leverage_and_margin_are_journaled_and_survive_a_restart(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        user = oms.connector.account
        done = await oms.set_leverage("ETH", 5, "isolated")
        assert done.outcome is Outcome.CONFIRMED and oms.leverage["ETH"] == (5, False)
        refused = await oms.update_isolated_margin("ETH", D("3"))  # no position yet
        assert refused.outcome is Outcome.REJECTED
        assert refused.reason == "Position does not use isolated margin."
        filled = await oms.market(BUY, "ETH", D("0.02"))
        await wait_for(lambda: state(oms, filled) is OrderState.FILLED)
        assert (await oms.update_isolated_margin("ETH", D("3"))).outcome is Outcome.CONFIRMED
        switch = await oms.set_leverage("ETH", 5, "cross")
        assert switch.outcome is Outcome.REJECTED
        assert switch.reason == "Cannot switch leverage type with open position."
        assert oms.leverage["ETH"] == (5, False)
        assert (await oms.set_leverage("BTC", 3, "cross")).outcome is Outcome.CONFIRMED
        with pytest.raises(ValueError, match="uses cross margin"):
            await oms.update_isolated_margin("BTC", D("1"))
        stream = leverage_stream(oms.connector.venue, user)
        types = [r.type async for r in oms.store.read_stream(stream)]
        assert types.count("AccountCommandRequested") == 5
        assert types.count("AccountCommandConfirmed") == 3
        assert types.count("AccountCommandRejected") == 2
    # Someone changes the leverage elsewhere while we are down: the restart adopts the truth.
    sim.engine.account(user).leverage["BTC"] = (7, True)
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        assert dict(oms.leverage) == {"ETH": (5, False), "BTC": (7, True)}
        assert dict(oms.leverage) == sim.truth.leverage(user)


async def test_cancel_all_sends_one_batched_action(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        cids = [oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=px) for _ in range(5)]
        await wait_for(lambda: all(state(oms, c) is OrderState.OPEN for c in cids))
        actions = _record_actions(sim)
        assert await oms.cancel_all() == 5
        await wait_for(lambda: all(state(oms, c) is OrderState.CANCELED for c in cids))
        assert actions == [("cancelByCloid", None)]  # one action for the five cancels


async def test_created_events_carry_grouping_and_parent(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        ids = oms.bracket(SELL, "ETH", D("0.02"), price=D("3100"), stop_loss=Leg(D("3200")))
        await oms.flush()
        assert ids.take_profit is None and ids.stop_loss is not None
        [first] = [decode(r.type, r.data, r.event_version)
                   async for r in oms.store.read_stream(order_stream(ids.stop_loss))][:1]
        assert isinstance(first, OrderCreated)
        assert first.parent_id == ids.entry and first.grouping is Grouping.NORMAL_TPSL
        assert first.order_type is OrderType.STOP_MARKET and first.trigger_price == D("3200")
        leg = oms.get_order(ids.stop_loss or "")
        assert leg is not None and leg.grouping is Grouping.NORMAL_TPSL
        assert leg.trigger_price == D("3200") and leg.side is BUY and leg.reduce_only
