"""The simulator's account side: funding, liquidation at a mark move, ledger, and the
clearinghouse / funding / ledger answers consistent with all of it (over real HTTP)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

D = Decimal
USER = "0x" + "ab" * 20


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    async with SimulatedExchange(SimulatorConfig(seed=2, market_maker=False,
                                                 initial_usdc=D("1000"))) as exchange:
        await exchange.step_market()
        yield exchange


async def info(sim: SimulatedExchange, body: dict[str, Any]) -> Any:
    async with aiohttp.ClientSession() as http, http.post(f"{sim.base_url}/info",
                                                          json=body) as reply:
        assert reply.status == 200, await reply.text()
        return await reply.json()


async def test_funding_is_paid_listed_and_consistent(sim: SimulatedExchange) -> None:
    sim.fund(USER)
    assert "filled" in sim.trade_as(USER, "ETH", True, D("0.1"))
    before = sim.truth.balances(USER)["USDC"]
    assert sim.pay_funding(D("0.001")) == 1
    [row] = await info(sim, {"type": "userFunding", "user": USER, "startTime": 0})
    paid = D(row["delta"]["usdc"])
    mark = sim.engine.marks()["ETH"]
    assert paid == (-D("0.1") * mark * D("0.001")).quantize(D("0.000001"))  # longs pay
    assert sim.truth.balances(USER)["USDC"] == before + paid
    state = await info(sim, {"type": "clearinghouseState", "user": USER})
    upnl = sum(D(p["position"]["unrealizedPnl"]) for p in state["assetPositions"])
    cash = D(state["marginSummary"]["accountValue"]) - upnl
    assert abs(cash - sim.truth.balances(USER)["USDC"]) <= D("0.000002")


async def test_a_mark_move_liquidates_at_the_reported_price(sim: SimulatedExchange) -> None:
    sim.fund(USER)
    sim.withdraw(USER, D("950"))  # 50 USDC left against ~300 notional at 20x
    assert "filled" in sim.trade_as(USER, "ETH", True, D("0.1"))
    state = await info(sim, {"type": "clearinghouseState", "user": USER})
    liq = D(state["assetPositions"][0]["position"]["liquidationPx"])
    assert liq < sim.engine.marks()["ETH"]
    assert sim.set_mark("ETH", liq + 1) == []  # above the liquidation price: nothing
    assert sim.set_mark("ETH", liq - 1) == [USER]
    fills = sim.truth.fills(USER)
    last = sim.engine.fills[USER][-1]
    assert last["liquidation"]["method"] == "market"
    assert last["liquidation"]["liquidatedUser"] == USER
    assert D(last["liquidation"]["markPx"]) == D(last["px"]) == liq - 1
    assert fills[-1]["side"] == "sell" and sim.truth.positions(USER) == {}
    ledger = await info(sim, {"type": "userNonFundingLedgerUpdates", "user": USER,
                              "startTime": 0})
    assert [r["delta"]["type"] for r in ledger] == ["withdraw"]


async def test_info_time_ranges_are_checked(sim: SimulatedExchange) -> None:
    async with aiohttp.ClientSession() as http, http.post(
            f"{sim.base_url}/info", json={"type": "userFunding", "user": USER}) as reply:
        assert reply.status == 422 and "startTime" in await reply.text()
