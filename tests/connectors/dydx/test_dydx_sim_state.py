"""The local dYdX exchange's state file: a restarted exchange continues the same chain."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path

from dydx_helpers import ADDRESS, connector_for

from connectors.base import ExchangeOrderStatus, Outcome, PlaceOrderRequest, TriggerSpec
from connectors.dydx import DydxConnector, NotYetCertain
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator
from connectors.dydx.simulator.state import load_state, save_state

D = Decimal
CONFIG = DydxSimConfig(block_interval_s=0.1, market_maker=False, auto_fund=False,
                       funded=(ADDRESS,))


async def _until(conn: DydxConnector, cloid: str, status: ExchangeOrderStatus) -> None:
    deadline = time.monotonic() + 5
    while True:
        try:
            if (await conn.order_status(cloid)).status is status:
                return
        except NotYetCertain:
            pass
        assert time.monotonic() < deadline, f"{cloid} never {status}"
        await asyncio.sleep(0.05)


def _deadline() -> int:
    return time.time_ns() // 1_000_000 + 1000


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    ids, state = tmp_path / "ids.jsonl", tmp_path / "state.json"
    rest = PlaceOrderRequest("0x" + "a" * 32, "ETH-USD", "buy", D("0.02"), D("2500"))
    stop = PlaceOrderRequest("0x" + "b" * 32, "ETH-USD", "sell", D("0.02"), D("2700"),
                             trigger=TriggerSpec(D("2800"), False, "sl"))
    async with DydxSimulator(CONFIG) as first:
        conn = connector_for(first, ids)
        await conn.start()
        try:
            assert [r.outcome for r in await conn.place_orders([rest, stop], _deadline())] == [
                Outcome.CONFIRMED] * 2
            await _until(conn, rest.cloid, ExchangeOrderStatus.OPEN)
            await _until(conn, stop.cloid, ExchangeOrderStatus.OPEN)
        finally:
            await conn.close()
        height = first.chain.height
        truth = first.truth_orders(ADDRESS)
        usdc = first.truth_account(ADDRESS)["usdc"]
    save_state(first, state)
    second = DydxSimulator(CONFIG)
    load_state(second, state)
    async with second:
        assert second.chain.height > height
        assert second.truth_orders(ADDRESS) == truth
        assert second.truth_account(ADDRESS)["usdc"] == usdc
        conn = connector_for(second, ids)
        await conn.start()
        try:
            assert {o.cloid for o in await conn.open_orders()} == {rest.cloid, stop.cloid}
            # The restored orders are on the chain: one cancels, the other still triggers.
            cancel = await conn.cancel_by_cloid("ETH-USD", rest.cloid, _deadline())
            assert cancel.outcome is Outcome.CONFIRMED, cancel.reason
            await _until(conn, rest.cloid, ExchangeOrderStatus.CANCELED)
            second.set_oracle("ETH-USD", D("2750"))
            await _until(conn, stop.cloid, ExchangeOrderStatus.TRIGGERED)
            # The account's sequence continued: a new stateful order is accepted.
            more = PlaceOrderRequest("0x" + "c" * 32, "ETH-USD", "buy", D("0.01"), D("2400"))
            [result] = await conn.place_orders([more], _deadline())
            assert result.outcome is Outcome.CONFIRMED, result.reason
        finally:
            await conn.close()
