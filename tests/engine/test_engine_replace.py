"""``replace``: the exchange's atomic modify, with every outcome of it resolved by status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal

import pytest
from engine_helpers import mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore
from oms.domain.codec import decode
from oms.domain.enums import OrderState, OrderType
from oms.domain.events import CancelRequested, OrderCanceled
from oms.domain.ids import ClientOrderId
from oms.engine import EngineConfig, OrderManager, OrderNotActive

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
Factory = Callable[[], HyperliquidConnector]
# Deadlines here are 1 s (+0.3 s grace): status queries settle an unknown outcome in ~2 s, well
# inside RESOLVED_WITHIN_S, while held pushes arrive only after PUSHES_HELD_S.
PUSHES_HELD_S = 12.0
RESOLVED_WITHIN_S = 8.0
TRADING_ACTIONS = {"order", "cancel", "cancelByCloid", "modify", "batchModify"}


def record_actions(sim: SimulatedExchange) -> list[str]:
    """The type of every trading action that reaches the simulator from now on."""
    seen: list[str] = []

    def on_action(raw: bytes) -> None:
        kind = json.loads(raw)["action"]["type"]
        if kind in TRADING_ACTIONS:
            seen.append(kind)

    sim.on_action = on_action
    return seen


def state(oms: OrderManager, cid: str) -> OrderState | None:
    order = oms.get_order(cid)
    return None if order is None else order.state


async def open_order(oms: OrderManager) -> tuple[ClientOrderId, Decimal]:
    px = ((await mid(oms.connector, "ETH")) * D("0.9")).quantize(D("0.1"))
    cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
    await wait_for(lambda: state(oms, cid) is OrderState.OPEN)
    return cid, px


async def journal_of(store_url: str, cid: ClientOrderId) -> list[object]:
    async with await EventStore.open(store_url) as store:
        return [decode(e.type, e.data, e.event_version)
                async for e in store.read_stream(f"order-{cid}")]


async def test_replace_is_one_modify_and_the_old_order_is_journaled_canceled(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        old, px = await open_order(oms)
        actions = record_actions(sim)
        new = oms.replace(old, price=px - D("1"))
        assert new != old
        await wait_for(lambda: state(oms, old) is OrderState.CANCELED)
        await wait_for(lambda: state(oms, new) is OrderState.OPEN)
        assert actions == ["batchModify"]  # one atomic action: never both resting
        truth = sim.truth.orders(oms.connector.account)
        assert truth[old.cloid]["status"] == "canceled"
        assert truth[new.cloid]["limit_px"] == px - D("1")
        assert truth[new.cloid]["orig_sz"] == D("0.05")  # defaults to what was left
        with pytest.raises(OrderNotActive):
            oms.replace(old, price=px)
    events = await journal_of(sqlite_url, old)
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("CancelRequested") == 1 and kinds[-1] == "OrderCanceled", kinds
    assert isinstance(events[kinds.index("CancelRequested")], CancelRequested)


async def test_a_replacement_refused_after_the_cancel_leaves_the_old_order_canceled(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    # The exchange cancels the old order, then refuses the new one: the reply says only
    # "rejected", so the old order's fate must come from its status by cloid. Pushes are held
    # for longer than the wait below, so the stream cannot be what tells the engine.
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        old, px = await open_order(oms)
        sim.faults.pause_pushes(PUSHES_HELD_S)
        sim.faults.reject_next_orders(1, reason="Insufficient margin to place order.")
        new = oms.replace(old, price=px - D("1"))
        await wait_for(lambda: state(oms, new) is OrderState.FAILED)
        await wait_for(lambda: state(oms, old) is OrderState.CANCELED, RESOLVED_WITHIN_S)
        assert "Insufficient margin" in (oms.get_order(new).reason or "")  # type: ignore[union-attr]
        assert sim.truth.orders(oms.connector.account)[old.cloid]["status"] == "canceled"


async def test_a_modify_whose_reply_is_lost_is_resolved_for_both_orders(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        old, px = await open_order(oms)
        sim.faults.pause_pushes(PUSHES_HELD_S)  # only the status queries can resolve it in time
        sim.faults.drop_replies(1)
        new = oms.replace(old, price=px - D("2"))
        await wait_for(lambda: state(oms, new) is OrderState.OPEN, RESOLVED_WITHIN_S)
        await wait_for(lambda: state(oms, old) is OrderState.CANCELED, RESOLVED_WITHIN_S)
        assert oms.get_order(new).exchange_order_id is not None  # type: ignore[union-attr]


async def test_replacing_an_order_the_exchange_already_canceled_fails_the_replacement(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        old, px = await open_order(oms)
        sim.faults.pause_pushes(PUSHES_HELD_S)  # the engine hears of the cancel only by asking
        user = oms.connector.account.lower()
        record = sim.truth.orders(user)[old.cloid]
        sim.engine.cancel(user, oms.connector.trading_rule("ETH").asset_id, record["oid"],
                          time.time_ns() // 1_000_000)
        assert state(oms, old) is OrderState.OPEN
        new = oms.replace(old, price=px - D("1"))
        await wait_for(lambda: state(oms, new) is OrderState.FAILED)
        assert "Cannot modify" in (oms.get_order(new).reason or "")  # type: ignore[union-attr]
        await wait_for(lambda: state(oms, old) is OrderState.CANCELED, RESOLVED_WITHIN_S)
        assert new.cloid not in sim.truth.orders(user)
    events = await journal_of(sqlite_url, old)
    assert isinstance(events[-1], OrderCanceled)
