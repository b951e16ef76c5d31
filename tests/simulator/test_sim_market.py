"""The background market: deterministic for a seed, and it fills resting user orders."""

from __future__ import annotations

import aiohttp
from eth_account import Account
from sim_helpers import Api, cloid, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

ETH = 1


async def _mids_after(seed: int, steps: int) -> list[dict[str, str]]:
    config = SimulatorConfig(seed=seed, market_maker=False)
    out = []
    async with SimulatedExchange(config) as sim:
        for _ in range(steps):
            await sim.step_market()
            out.append(sim.engine.all_mids())
    return out


async def test_same_seed_same_market() -> None:
    first, second = await _mids_after(11, 20), await _mids_after(11, 20)
    assert first == second
    assert first != await _mids_after(12, 20)
    assert len({m["ETH"] for m in first}) > 1  # the mid actually walks


async def test_resting_user_order_gets_filled_over_time() -> None:
    alice = Account.create()
    async with SimulatedExchange(SimulatorConfig(seed=5, market_maker=False)) as sim, \
            aiohttp.ClientSession() as session:
        api = Api(session, sim.base_url)
        sim.fund(alice.address)
        await sim.step_market()
        book = await api.info({"type": "l2Book", "coin": "ETH"})
        bids, asks = book["levels"]
        assert len(bids) == 5 and len(asks) == 5
        best_bid = bids[0]["px"]
        # Join the best bid: the occasional taker sells through it sooner or later.
        await api.order(alice, order_wire(ETH, True, best_bid, "0.01", c=cloid(1)))
        for _ in range(300):
            await sim.step_market()
            if sim.truth.orders(alice.address)[cloid(1)]["status"] == "filled":
                break
        assert sim.truth.orders(alice.address)[cloid(1)]["status"] == "filled"
        [fill] = sim.truth.fills(alice.address)
        assert not fill["crossed"]  # alice was the maker
