"""/info answers: metadata, books, and the per-user views, in the live shapes."""

from __future__ import annotations

from eth_account.signers.local import LocalAccount
from sim_helpers import Api, cloid, now_ms, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange

ETH = 1


async def test_market_metadata(sim: SimulatedExchange, api: Api) -> None:
    meta = await api.info({"type": "meta"})
    assert [(u["name"], u["szDecimals"]) for u in meta["universe"]] == [
        ("BTC", 5), ("ETH", 4), ("SOL", 2)]
    spot = await api.info({"type": "spotMeta"})
    pair = spot["universe"][0]
    assert pair["name"] == "PURR/USDC" and pair["index"] == 0
    assert [spot["tokens"][i]["name"] for i in pair["tokens"]] == ["PURR", "USDC"]
    meta2, ctxs = await api.info({"type": "metaAndAssetCtxs"})
    assert meta2 == meta and len(ctxs) == 3 and ctxs[0]["markPx"] == "60000.0"
    mids = await api.info({"type": "allMids"})
    assert set(mids) == {"BTC", "ETH", "SOL", "PURR/USDC"}
    assert await api.info({"type": "l2Book", "coin": "NOPE"}) is None


async def test_user_views(sim: SimulatedExchange, api: Api, alice: LocalAccount,
                          bob: LocalAccount) -> None:
    start = now_ms()
    await api.order(bob, order_wire(ETH, False, "3000", "0.1"))
    [filled, resting] = await api.order(alice, order_wire(ETH, True, "3000", "0.1", c=cloid(1)),
                                        order_wire(ETH, True, "2900", "0.1", c=cloid(2)))
    user = alice.address
    front = await api.info({"type": "frontendOpenOrders", "user": user})
    assert len(front) == 1 and front[0]["cloid"] == cloid(2) and front[0]["tif"] == "Gtc"
    assert front[0]["orderType"] == "Limit" and front[0]["isTrigger"] is False
    history = await api.info({"type": "historicalOrders", "user": user})
    assert [h["status"] for h in history] == ["open", "filled"]
    by_oid = await api.info({"type": "orderStatus", "user": user,
                             "oid": filled["filled"]["oid"]})
    by_cloid = await api.info({"type": "orderStatus", "user": user, "oid": cloid(1)})
    assert by_oid == by_cloid and by_oid["order"]["order"]["sz"] == "0.0"
    assert await api.info({"type": "orderStatus", "user": user, "oid": 1}) == {
        "status": "unknownOid"}
    # Another user's order is unknown to this user.
    assert await api.info({"type": "orderStatus", "user": bob.address,
                           "oid": resting["resting"]["oid"]}) == {"status": "unknownOid"}
    fills = await api.info({"type": "userFillsByTime", "user": user, "startTime": start})
    assert len(fills) == 1
    assert await api.info({"type": "userFillsByTime", "user": user,
                           "startTime": now_ms() + 1000}) == []
    state = await api.info({"type": "clearinghouseState", "user": user})
    position = state["assetPositions"][0]["position"]
    assert position["coin"] == "ETH" and position["szi"] == "0.1"
    assert position["entryPx"] == "3000.0"
    limits = await api.info({"type": "userRateLimit", "user": user})
    # One action of two orders counts two requests against the address budget (reference §10).
    assert limits == {"cumVlm": "300.0", "nRequestsUsed": 2, "nRequestsCap": 10300,
                      "nRequestsSurplus": 0}


async def test_start_up_types_clients_ask_for(sim: SimulatedExchange, api: Api,
                                              alice: LocalAccount) -> None:
    user = alice.address
    dexes = await api.info({"type": "perpDexs"})
    assert dexes[0] is None and [d["name"] for d in dexes[1:]] == ["xyz"]  # HIP-3: test_sim_dexes
    assert await api.info({"type": "userAbstraction", "user": user}) == "default"
    assert await api.info({"type": "maxBuilderFee", "user": user, "builder": user}) == 0
    assert await api.info({"type": "approvedBuilders", "user": user}) == []
    assert await api.info({"type": "subAccounts", "user": user}) is None
    assert await api.info({"type": "extraAgents", "user": user}) == []
    _, ctxs = await api.info({"type": "metaAndAssetCtxs"})
    assert all("impactPxs" in ctx for ctx in ctxs)


async def test_unknown_info_type_says_so_first(api: Api) -> None:
    for body in ({"type": "candleSnapshotz"}, {"type": "userFillz", "user": "nope"}):
        async with api.session.post(api.base_url + "/info", json=body) as resp:
            text = await resp.text()
        assert resp.status == 422 and "unknown info type" in text, text
