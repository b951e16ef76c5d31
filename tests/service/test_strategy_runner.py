"""Strategies in a real engine on the local exchange: routing, failure isolation, pause.

A strategy that raises is stopped and reported; the engine and the other strategies carry on,
and the failed strategy's orders are canceled or left resting by policy.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.domain.enums import OrderState
from oms.domain.events import OrderEvent
from oms.domain.order import InFlightOrder
from oms.engine import OrderManager
from oms.service.context import StrategyContext, StrategyHalted
from oms.service.runner import StrategyRunner
from oms.service.strategy import BaseStrategy


async def wait_for(predicate: Any, limit_s: float = 10.0) -> None:
    """Poll ``predicate`` until true; fail after ``limit_s``."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class Quoter(BaseStrategy):
    """Rests one buy 10 % under the mid; optionally raises in ``on_timer``."""

    def __init__(self, fail_on_timer: bool = False) -> None:
        self.fail = fail_on_timer
        self.ctx: StrategyContext | None = None
        self.cid: str | None = None
        self.timers = 0
        self.events: list[str] = []
        self.stopped = False

    def on_start(self, ctx: StrategyContext) -> None:
        self.ctx = ctx
        self.cid = ctx.buy("ETH", Decimal("0.01"), Decimal("2700"))

    def on_order_event(self, event: OrderEvent, order: InFlightOrder) -> None:
        self.events.append(order.client_order_id)

    async def on_timer(self, now_ns: int) -> None:
        self.timers += 1
        if self.fail:
            raise RuntimeError("strategy bug")

    def on_stop(self) -> None:
        self.stopped = True


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[OrderManager]:
    async with SimulatedExchange(SimulatorConfig(seed=3, market_maker=False)) as sim:
        await sim.step_market()
        key = "0x" + bytes(Account.create().key).hex()
        connector = HyperliquidConnector(sim.base_url, private_key=key,
                                         nonce_file=tmp_path / "nonce", request_timeout_s=2.0)
        oms = await OrderManager.open(f"sqlite+aiosqlite:///{tmp_path / 'j.db'}", connector)
        async with oms:
            yield oms


def _state(oms: OrderManager, cid: str | None) -> OrderState | None:
    assert cid is not None
    order = oms.get_order(cid)
    return None if order is None else order.state


@pytest.mark.parametrize("policy", ["cancel", "leave"])
async def test_a_failing_strategy_is_stopped_alone(engine: OrderManager, policy: Any) -> None:
    failures: list[tuple[str, str]] = []
    runner = StrategyRunner(engine, lambda n, d: failures.append((n, d)), policy, 0.05)
    good, bad = Quoter(), Quoter(fail_on_timer=True)
    runner.add("good", good)
    runner.add("bad", bad)
    await runner.start()
    try:
        await wait_for(lambda: runner.slots["bad"].state == "failed")
        assert failures and failures[0][0] == "bad" and "strategy bug" in failures[0][1]
        await wait_for(lambda: good.timers >= 3)  # the other strategy carries on
        assert runner.slots["good"].state == "running"
        await engine.flush()
        if policy == "cancel":
            await wait_for(lambda: _state(engine, bad.cid) is OrderState.CANCELED)
        else:
            await wait_for(lambda: _state(engine, bad.cid) is OrderState.OPEN)
            assert bad.cid in engine.active_orders
        await wait_for(lambda: _state(engine, good.cid) is OrderState.OPEN)
        # Each strategy saw only its own order's events.
        assert set(good.events) == {good.cid}
        assert bad.cid not in good.events
        with pytest.raises(StrategyHalted):
            assert bad.ctx is not None
            bad.ctx.buy("ETH", Decimal("0.01"), Decimal("2700"))
        with pytest.raises(PermissionError):
            assert good.ctx is not None and bad.cid is not None
            good.ctx.cancel(bad.cid)
    finally:
        await runner.stop_all("test over")
    assert good.stopped


async def test_pause_halts_placing_and_timers(engine: OrderManager) -> None:
    runner = StrategyRunner(engine, lambda n, d: None, "cancel", 0.05)
    quoter = Quoter()
    runner.add("q", quoter)
    await runner.start()
    try:
        await wait_for(lambda: quoter.timers >= 2)
        runner.paused = True
        assert quoter.ctx is not None
        with pytest.raises(StrategyHalted, match="paused"):
            quoter.ctx.sell("ETH", Decimal("0.01"), Decimal("3300"))
        before = quoter.timers
        await wait_for(lambda: _state(engine, quoter.cid) is OrderState.OPEN)
        assert quoter.timers <= before + 1  # at most the round already running
        assert quoter.ctx.cancel_all() == 1  # cancels are always allowed
        await wait_for(lambda: _state(engine, quoter.cid) is OrderState.CANCELED)
        runner.paused = False
        await wait_for(lambda: quoter.timers > before + 1)
    finally:
        await runner.stop_all("test over")
