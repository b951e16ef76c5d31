"""The engine under the exchange's per-account request budget: it never makes the exchange refuse
for the budget; orders beyond it are journaled as refused (policy "refuse") or held in the outbox
and visible (policy "queue") while cancels still go; post-only orders travel in batches of their
own. Real local exchange with ``limits="real"``, real SQLite journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from engine_helpers import wait_for
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.rate_limits import RateBudget
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from eventstore import EventStore
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager
from oms.engine.send_budget import BudgetGate

D = Decimal
BUFFER = 5


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    config = SimulatorConfig(seed=11, market_maker=False, limits="real", address_buffer=BUFFER)
    async with SimulatedExchange(config) as exchange:
        await exchange.step_market()
        yield exchange


def _connector(sim: SimulatedExchange, tmp_path: Path) -> HyperliquidConnector:
    key = "0x" + bytes(Account.create().key).hex()
    return HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "nonce",
                                rate_budget=RateBudget(address_buffer=BUFFER))


async def test_orders_past_the_budget_are_journaled_as_refused(
        sim: SimulatedExchange, tmp_path: Path, sqlite_url: str) -> None:
    config = EngineConfig(budget_policy="refuse")
    async with await OrderManager.open(sqlite_url, _connector(sim, tmp_path),
                                       config=config) as oms:
        cids = [oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=D(2000 + i)) for i in range(8)]
        await oms.flush()
        await wait_for(lambda: all(oms.get_order(c).is_terminal or  # type: ignore[union-attr]
                                   oms.get_order(c).state is OrderState.OPEN  # type: ignore[union-attr]
                                   for c in cids))
        states = [oms.get_order(c).state for c in cids]  # type: ignore[union-attr]
        assert states.count(OrderState.OPEN) == BUFFER
        failed = [oms.get_order(c) for c in cids if oms.get_order(c).state  # type: ignore[union-attr]
                  is OrderState.FAILED]
        assert len(failed) == 3 and all("rate budget exhausted" in (f.reason or "")
                                        for f in failed)  # type: ignore[union-attr]
        assert oms.send_queue.budget_refused == 3
    assert sim.limiter.refused_address == 0  # the exchange never had to refuse
    store = await EventStore.open(sqlite_url)
    try:
        rejected = [e async for e in store.read_all() if e.type == "OrderRejected"]
    finally:
        await store.close()
    assert len(rejected) == 3


async def test_queued_orders_wait_visibly_while_cancels_go_then_expire(
        sim: SimulatedExchange, tmp_path: Path, sqlite_url: str) -> None:
    config = EngineConfig(expires_after_s=8.0)  # long enough for the checks below on a busy box
    async with await OrderManager.open(sqlite_url, _connector(sim, tmp_path),
                                       config=config) as oms:
        cids = [oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=D(2000 + i)) for i in range(8)]
        # (no flush(): it waits for the outbox to empty, and held orders keep it busy)
        # BUFFER orders go, then one more (the exchange lets one through a limited address every
        # 10 s); the other two wait in the outbox, visibly.
        await wait_for(lambda: sum(oms.get_order(c).state is OrderState.OPEN  # type: ignore[union-attr]
                                   for c in cids) == BUFFER + 1)
        assert oms.send_queue.queued_orders == 8 - BUFFER - 1
        opened = [c for c in cids if oms.get_order(c).state is OrderState.OPEN]  # type: ignore[union-attr]
        oms.cancel(opened[0])  # cancels are not held
        await wait_for(lambda: oms.get_order(opened[0]).state  # type: ignore[union-attr]
                       is OrderState.CANCELED)
        # Held past their expiresAfter deadline they can never be placed: journaled as refused.
        await wait_for(lambda: oms.send_queue.queued_orders == 0, limit_s=20)
        held = [oms.get_order(c) for c in cids if oms.get_order(c).state  # type: ignore[union-attr]
                is OrderState.FAILED]
        assert len(held) == 2
        assert all("not sent before its expiresAfter deadline" in (o.reason or "")  # type: ignore[union-attr]
                   for o in held)
        assert oms.send_queue.budget_refused == 2
    assert sim.limiter.refused_address == 0


def test_gate_trickles_one_order_per_period_when_spent() -> None:
    budget = RateBudget(address_buffer=2)
    gate = BudgetGate(budget, "queue", trickle_s=10.0)
    assert gate.order_allowance(now=0.0) == 2
    gate.sending(2)
    assert gate.order_allowance(now=0.0) == 1      # spent: the first trickle goes at once
    assert gate.order_allowance(now=1.0) == 0 and gate.next_try_in(now=1.0) == 9.0
    assert gate.order_allowance(now=10.0) == 1
    gate.answered(2)
    budget.spend_address(2)
    budget.traded(D("3.9"))                        # volume raises the cap by 3
    assert gate.order_allowance(now=10.5) == 3
    assert BudgetGate(None).order_allowance(now=0.0) is None
    with pytest.raises(ValueError, match="queue"):
        BudgetGate(budget, "drop")  # type: ignore[arg-type]


async def test_post_only_orders_travel_in_batches_of_their_own(
        sim: SimulatedExchange, tmp_path: Path, sqlite_url: str) -> None:
    actions: list[dict[str, Any]] = []
    sim.on_action = lambda raw: actions.append(orjson.loads(raw)["action"])
    async with await OrderManager.open(sqlite_url, _connector(sim, tmp_path)) as oms:
        kinds = [OrderType.LIMIT, OrderType.LIMIT_MAKER] * 2
        cids = [oms.buy("ETH", D("0.01"), kind, price=D(2000 + i)) for i, kind in enumerate(kinds)]
        await oms.flush()
        await wait_for(lambda: all(oms.get_order(c).state is OrderState.OPEN  # type: ignore[union-attr]
                                   for c in cids))
    tifs = [{o["t"]["limit"]["tif"] for o in a["orders"]} for a in actions if a["type"] == "order"]
    assert tifs and all(len(kinds_in_action) == 1 for kinds_in_action in tifs), tifs
    assert {"Alo"} in tifs and {"Gtc"} in tifs
