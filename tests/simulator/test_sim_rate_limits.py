"""The local exchange with ``limits="real"``: the address budget with the live refusal text (which
costs nothing, and leaves cancels their higher cap), the open-order cap, and ``limits="off"``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sim_helpers import Api, order_action, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

ETH = 1


@pytest.fixture
async def limited() -> AsyncIterator[tuple[SimulatedExchange, Api, LocalAccount]]:
    config = SimulatorConfig(market_maker=False, limits="real", address_buffer=5,
                             max_open_orders=3)
    wallet = Account.create()
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        sim.fund(wallet.address)
        yield sim, Api(session, sim.base_url), wallet


async def test_address_budget_refuses_with_the_live_text_and_free(
        limited: tuple[SimulatedExchange, Api, LocalAccount]) -> None:
    sim, api, wallet = limited
    statuses = await api.order(wallet, *[order_wire(ETH, True, str(2900 - i), "0.01")
                                         for i in range(3)])
    assert all("resting" in s for s in statuses)
    oids = [s["resting"]["oid"] for s in statuses]
    # Over the cap, one request still gets through (then one per 10 s), as live.
    over = order_action(*[order_wire(ETH, True, "2800", "0.01")] * 3)
    assert (await api.exchange(wallet, over))["status"] == "ok"
    reply = await api.exchange(wallet, over)
    assert reply == {"status": "err", "response": (
        "Too many cumulative requests sent (9 > 5) for cumulative volume traded $0.00. "
        "Place taker orders to free up 1 request per USDC traded.")}
    limits = await api.info({"type": "userRateLimit", "user": wallet.address})
    assert limits["nRequestsUsed"] == 6  # the refusal cost nothing
    # Cancels may go on past the order cap (min(cap + 100000, 2 × cap) = 10 > 6 + 3).
    for oid in oids:
        assert await api.cancel(wallet, ETH, oid) == "success"
    assert sim.limiter.refused_address == 1


async def test_open_order_cap_refuses_per_order(
        limited: tuple[SimulatedExchange, Api, LocalAccount]) -> None:
    sim, api, wallet = limited
    statuses = await api.order(wallet, *[order_wire(ETH, True, str(2900 - i), "0.01")
                                         for i in range(4)])
    assert ["resting" in s for s in statuses] == [True, True, True, False]
    assert statuses[3] == {"error": "Too many open orders. asset=1"}
    assert len(sim.engine.open_orders(wallet.address.lower())) == 3


async def test_limits_off_lets_everything_through(sim: SimulatedExchange, api: Api,
                                                  alice: LocalAccount) -> None:
    assert sim.config.limits == "off"
    for _ in range(3):
        statuses = await api.order(alice, *[order_wire(ETH, True, "2900", "0.01")] * 40)
        assert all("resting" in s for s in statuses)
    assert sim.limiter.refused_ip == 0 and sim.limiter.refused_address == 0
