"""What waits in the send queue is visible with its age and reason: the local exchange enforces
its real limits with a tiny address budget; the connector learns that budget from the exchange's
``userRateLimit`` (its own default is the live 10,000) and the engine never makes the exchange
refuse. Real local exchange over HTTP, real SQLite journal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import wait_for
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.domain.enums import OrderState, OrderType
from oms.engine import EngineConfig, OrderManager

D = Decimal
BUFFER = 3


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    config = SimulatorConfig(seed=12, market_maker=False, limits="real", address_buffer=BUFFER)
    async with SimulatedExchange(config) as exchange:
        await exchange.step_market()
        yield exchange


async def test_held_orders_show_count_oldest_and_reason(
        sim: SimulatedExchange, tmp_path: Path, sqlite_url: str) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    # No rate_budget given: the connector's default budget (buffer 10,000) adopts the
    # exchange's smaller cap from userRateLimit at start.
    connector = HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "n")
    config = EngineConfig(expires_after_s=30.0)
    async with await OrderManager.open(sqlite_url, connector, config=config) as oms:
        idle = oms.send_queue
        assert idle.queued_orders == 0 and idle.held_reason is None
        assert idle.oldest_queued_s is None and idle.address_cap == BUFFER
        cids = [oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=D(2000 + i)) for i in range(7)]
        # BUFFER orders go, then one more (the exchange's one-per-10 s trickle); three wait.
        await wait_for(lambda: sum(oms.get_order(c).state is OrderState.OPEN  # type: ignore[union-attr]
                                   for c in cids) == BUFFER + 1)
        status = oms.send_queue
        assert status.queued_orders == 7 - BUFFER - 1
        assert status.oldest_client_order_id == cids[BUFFER + 1]
        assert status.oldest_queued_s is not None and status.oldest_queued_s > 0
        assert status.held_reason is not None
        assert "address budget exhausted" in status.held_reason
        assert f"of {BUFFER} requests used" in status.held_reason
        assert status.next_send_in_s is not None and 0 < status.next_send_in_s <= 10
        assert status.address_cap == BUFFER and status.address_used == BUFFER + 1
        shown = status.as_dict()
        assert shown["held_by_budget"] is True and shown["queued_orders"] == 3
        assert shown["refused_by_reason"] == {}
        held = [oms.get_order(c) for c in cids[BUFFER + 1:]]
        assert all(o.state is OrderState.PENDING_CREATE for o in held)  # type: ignore[union-attr]
    assert sim.limiter.refused_address == 0  # the exchange never had to refuse


async def test_refusals_are_counted_by_reason(
        sim: SimulatedExchange, tmp_path: Path, sqlite_url: str) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    connector = HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "n")
    async with await OrderManager.open(sqlite_url, connector,
                                       config=EngineConfig(budget_policy="refuse")) as oms:
        cids = [oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=D(2000 + i)) for i in range(5)]
        await wait_for(lambda: all(oms.get_order(c).state  # type: ignore[union-attr]
                                   in (OrderState.OPEN, OrderState.FAILED) for c in cids))
        status = oms.send_queue
        assert status.queued_orders == 0 and status.budget_refused == 2
        assert status.refused_by_reason == {"budget_exhausted": 2}
        assert status.held_reason is None  # nothing waits: refused orders are journaled
    assert sim.limiter.refused_address == 0


async def test_cancel_takes_a_held_order_out_of_the_queue(
        sim: SimulatedExchange, tmp_path: Path, sqlite_url: str) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    connector = HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "n")
    async with await OrderManager.open(sqlite_url, connector,
                                       config=EngineConfig(expires_after_s=30.0)) as oms:
        cids = [oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=D(2000 + i)) for i in range(6)]
        await wait_for(lambda: oms.send_queue.queued_orders == 6 - BUFFER - 1
                       and oms.send_queue.held_reason is not None)
        held = cids[BUFFER + 1:]
        for cid in held:  # (not cancel_all: with a cap of 3 the exchange allows 6 cancels+orders)
            oms.cancel(cid)
        await wait_for(lambda: all(oms.get_order(c).is_terminal  # type: ignore[union-attr]
                                   for c in held))
        for cid in held:
            order = oms.get_order(cid)
            assert order is not None and order.state is OrderState.FAILED
            assert "canceled while held in the send queue" in (order.reason or "")
        status = oms.send_queue
        assert status.queued_orders == 0 and status.budget_refused == 0
        assert status.refused_by_reason == {"canceled_in_queue": 2}
        sent = {o.cloid for o in sim.engine.open_orders(connector.account)}
        assert sent == {oms.get_order(c).client_order_id.cloid  # type: ignore[union-attr]
                        for c in cids[:BUFFER + 1]}
    assert sim.limiter.refused_address == 0
