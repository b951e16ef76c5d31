"""HIP-3 builder-deployed perp dexes on the local exchange (reference §2.1, §13.9).

The default configuration lists one builder dex, ``xyz`` (``perpDexs[1]``), with ``xyz:XYZ100``
(asset 110000) and ``xyz:GOLD`` (110001), both isolated-only. The first dex's answers are the
same as before HIP-3 existed; the ``dex`` parameter scopes ``meta``, ``metaAndAssetCtxs``,
``allMids``, ``openOrders``, ``frontendOpenOrders`` and ``clearinghouseState``.
"""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest
from eth_account.signers.local import LocalAccount
from sim_helpers import Api, cloid, order_wire
from test_sim_ws import collect, subscribe

from connectors.hyperliquid.simulator import (
    DEFAULT_MARKETS,
    MarketSpec,
    SimulatedExchange,
    SimulatorConfig,
)
from connectors.hyperliquid.simulator.config import SimulatorConfigError

D = Decimal
XYZ100, GOLD = 110000, 110001


async def _status(api: Api, body: dict[str, object]) -> tuple[int, str]:
    async with api.session.post(api.base_url + "/info", json=body) as resp:
        return resp.status, await resp.text()


async def test_perp_dexs_and_meta_by_dex(api: Api) -> None:
    dexes = await api.info({"type": "perpDexs"})
    assert dexes[0] is None and len(dexes) == 2
    xyz = dexes[1]
    assert xyz["name"] == "xyz" and xyz["deployer"].startswith("0x")
    assert {"fullName", "oracleUpdater", "feeRecipient", "assetToStreamingOiCap",
            "assetToFundingMultiplier"} <= set(xyz)
    first = await api.info({"type": "meta"})
    assert [c["name"] for c in first["universe"]] == ["BTC", "ETH", "SOL"]
    assert await api.info({"type": "meta", "dex": ""}) == first
    meta = await api.info({"type": "meta", "dex": "xyz"})
    assert [c["name"] for c in meta["universe"]] == ["xyz:XYZ100", "xyz:GOLD"]
    assert all(c["onlyIsolated"] and c["marginMode"] == "strictIsolated"
               for c in meta["universe"])
    meta_ctxs, ctxs = await api.info({"type": "metaAndAssetCtxs", "dex": "xyz"})
    assert meta_ctxs == meta and len(ctxs) == 2 and ctxs[0]["markPx"] == "25000.0"
    assert set(await api.info({"type": "allMids", "dex": "xyz"})) == {"xyz:XYZ100", "xyz:GOLD"}
    assert not any(":" in coin for coin in await api.info({"type": "allMids"}))


async def test_first_dex_answers_are_unchanged_by_hip3() -> None:
    """A local exchange without any builder dex answers the first dex byte for byte alike."""
    plain = SimulatorConfig(market_maker=False, markets=DEFAULT_MARKETS, perp_dexs=())
    answers = []
    for config in (plain, SimulatorConfig(market_maker=False)):
        async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
            got = []
            for body in ({"type": "meta"}, {"type": "metaAndAssetCtxs"}, {"type": "allMids"},
                         {"type": "spotMeta"},
                         {"type": "clearinghouseState", "user": "0x" + "1" * 40}):
                async with session.post(sim.base_url + "/info", json=body) as resp:
                    text = await resp.text()
                    got.append(text if body["type"] != "clearinghouseState"
                               else text.split('"time"')[0])
            answers.append(got)
    assert answers[0] == answers[1]
    assert answers[0][0] != "" and "xyz" not in "".join(answers[1])


async def test_orders_cancels_and_modify_on_a_hip3_market(sim: SimulatedExchange, api: Api,
                                                          alice: LocalAccount,
                                                          bob: LocalAccount) -> None:
    user = alice.address
    [resting] = await api.order(alice, order_wire(XYZ100, True, "24000", "0.01", c=cloid(1)))
    oid = resting["resting"]["oid"]
    assert sim.truth.orders(user)[cloid(1)]["coin"] == "xyz:XYZ100"
    # Dex-scoped lists: the first dex does not show it, dex xyz does.
    assert await api.info({"type": "openOrders", "user": user}) == []
    [listed] = await api.info({"type": "openOrders", "user": user, "dex": "xyz"})
    assert listed["coin"] == "xyz:XYZ100" and listed["oid"] == oid
    [front] = await api.info({"type": "frontendOpenOrders", "user": user, "dex": "xyz"})
    assert front["coin"] == "xyz:XYZ100" and front["cloid"] == cloid(1)
    # Not dex-scoped: orderStatus by oid or cloid.
    status = await api.info({"type": "orderStatus", "user": user, "oid": cloid(1)})
    assert status["order"]["order"]["coin"] == "xyz:XYZ100"

    reply = await api.exchange(alice, {"type": "modify", "oid": oid, "order": order_wire(
        XYZ100, True, "24100", "0.02", c=cloid(1))})
    assert reply["status"] == "ok", reply
    assert sim.truth.orders(user)[cloid(1)]["limit_px"] == D("24100")
    new_oid = sim.truth.orders(user)[cloid(1)]["oid"]
    assert await api.cancel(alice, GOLD, new_oid) == {
        "error": f"Order was never placed, already canceled, or filled. asset={GOLD}"}
    assert await api.cancel(alice, XYZ100, new_oid) == "success"
    assert await api.info({"type": "openOrders", "user": user, "dex": "xyz"}) == []

    [bad] = await api.order(alice, order_wire(110002, True, "1", "1"))
    assert bad == {"error": "Invalid asset 110002."}


async def test_fills_positions_and_pushes_carry_dex_names(sim: SimulatedExchange, api: Api,
                                                          alice: LocalAccount,
                                                          bob: LocalAccount) -> None:
    user = alice.address
    async with api.session.ws_connect(sim.ws_url) as ws:
        await subscribe(ws, {"type": "userFills", "user": user})
        await subscribe(ws, {"type": "orderUpdates", "user": user})
        await subscribe(ws, {"type": "l2Book", "coin": "xyz:GOLD"})
        await subscribe(ws, {"type": "allMids", "dex": "xyz"})
        await api.order(bob, order_wire(GOLD, False, "2400", "2"))
        await api.order(alice, order_wire(GOLD, True, "2400", "1.5", c=cloid(2)))
        got = await collect(ws, {"userFills", "orderUpdates", "l2Book", "allMids"})
    assert set(got["allMids"]["data"]["mids"]) == {"xyz:XYZ100", "xyz:GOLD"}
    assert got["userFills"]["data"]["fills"][-1]["coin"] == "xyz:GOLD"
    assert got["orderUpdates"]["data"][0]["order"]["coin"] == "xyz:GOLD"
    assert got["l2Book"]["data"]["coin"] == "xyz:GOLD"
    [fill] = await api.info({"type": "userFills", "user": user})  # every dex at once
    assert fill["coin"] == "xyz:GOLD" and fill["sz"] == "1.5"

    first = await api.info({"type": "clearinghouseState", "user": user})
    xyz = await api.info({"type": "clearinghouseState", "user": user, "dex": "xyz"})
    assert first["assetPositions"] == []
    [position] = [p["position"] for p in xyz["assetPositions"]]
    assert position["coin"] == "xyz:GOLD" and position["szi"] == "1.5"
    assert position["leverage"]["type"] == "isolated" and position["leverage"]["value"] == 10
    # The dex's equity (isolated margin here, mark = entry) is its own; the two add up.
    assert D(xyz["marginSummary"]["accountValue"]) == D(position["marginUsed"]) == D("360")
    total = D(first["marginSummary"]["accountValue"]) + D(xyz["marginSummary"]["accountValue"])
    assert total == sim.truth.balances(user)["USDC"]


async def test_isolated_only_and_unknown_dex(api: Api, alice: LocalAccount) -> None:
    reply = await api.exchange(alice, {"type": "updateLeverage", "asset": XYZ100,
                                       "isCross": True, "leverage": 5})
    assert reply == {"status": "err", "response": "Cross margin is not allowed for this asset."}
    reply = await api.exchange(alice, {"type": "updateLeverage", "asset": XYZ100,
                                       "isCross": False, "leverage": 5})
    assert reply["status"] == "ok"
    data = await api.info({"type": "activeAssetData", "user": alice.address,
                           "coin": "xyz:GOLD"})
    assert data["leverage"]["type"] == "isolated"  # isolated before any trade
    for body in ({"type": "meta", "dex": "nope"},
                 {"type": "openOrders", "user": alice.address, "dex": "abc"},
                 {"type": "clearinghouseState", "user": alice.address, "dex": "abc"}):
        status, text = await _status(api, body)
        assert status == 422 and "unknown perp dex" in text and "'xyz'" in text, text
    status, text = await _status(api, {"type": "meta", "dex": 5})
    assert status == 422 and "dex must be a string" in text


def test_bad_dex_configuration_names_the_fix() -> None:
    with pytest.raises(SimulatorConfigError, match="not in perp_dexs"):
        SimulatorConfig(perp_dexs=())  # the default markets still name dex xyz
    with pytest.raises(SimulatorConfigError, match="must have asset id 110000"):
        SimulatorConfig(markets=(MarketSpec("xyz:A", 110005, 2, D("10")),))
    with pytest.raises(SimulatorConfigError, match="2-4 lowercase"):
        SimulatorConfig(perp_dexs=("XYZ",), markets=DEFAULT_MARKETS)
    two = SimulatorConfig(perp_dexs=("xyz", "ab"), markets=(
        MarketSpec("ab:ONE", 120000, 2, D("10")), MarketSpec("xyz:A", 110000, 2, D("10"))))
    assert two.market_by_coin("ab:ONE").asset == 120000


def test_the_first_dex_price_path_of_a_seed_is_unchanged_by_hip3_markets() -> None:
    """The house market draws HIP-3 moves from its own generator: same seed, same first-dex path."""
    from connectors.hyperliquid.simulator.engine import ExchangeEngine
    from connectors.hyperliquid.simulator.market_maker import MarketMaker

    paths = []
    for config in (SimulatorConfig(markets=DEFAULT_MARKETS, perp_dexs=()), SimulatorConfig()):
        engine = ExchangeEngine(config)
        maker = MarketMaker(engine, 5)
        path = []
        for tick in range(100):
            maker.step(tick)
            path.append(tuple(engine.mids[c] for c in ("BTC", "ETH", "SOL", "PURR/USDC")))
        paths.append(path)
    assert paths[0] == paths[1]
    assert len(set(paths[0])) > 50  # the market did move
