"""The official hyperliquid-python-sdk trades a HIP-3 market on the local exchange, unchanged.

The SDK's ``Info``/``Exchange`` take ``perp_dexs`` (``["", "xyz"]``): they read ``perpDexs`` and
``meta(dex)`` and map ``xyz:XYZ100`` to asset 110000 themselves (``hyperliquid/info.py``), so this
checks our ids and shapes against an implementation that is not ours.
"""

from __future__ import annotations

import eth_account
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.types import Cloid
from test_sim_official_sdk import threaded_sim  # noqa: F401 (the fixture)

from connectors.hyperliquid.simulator import SimulatedExchange

DEXES = ["", "xyz"]


def test_sdk_places_modifies_and_cancels_on_a_builder_dex(
    threaded_sim: SimulatedExchange,  # noqa: F811
) -> None:
    wallet = eth_account.Account.create()
    info = Info(threaded_sim.base_url, skip_ws=True, perp_dexs=DEXES)
    assert info.coin_to_asset["xyz:XYZ100"] == 110000
    assert info.coin_to_asset["xyz:GOLD"] == 110001
    assert info.coin_to_asset["ETH"] == 1
    exchange = Exchange(wallet, threaded_sim.base_url, perp_dexs=DEXES)

    leverage = exchange.update_leverage(5, "xyz:XYZ100", is_cross=False)
    assert leverage["status"] == "ok", leverage
    refused = exchange.update_leverage(5, "xyz:XYZ100", is_cross=True)
    assert refused == {"status": "err",
                       "response": "Cross margin is not allowed for this asset."}

    cid = Cloid.from_int(301)
    placed = exchange.order("xyz:XYZ100", True, 0.01, 20000.0, {"limit": {"tif": "Gtc"}},
                            cloid=cid)
    oid = placed["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert info.open_orders(wallet.address) == []
    [listed] = info.open_orders(wallet.address, dex="xyz")
    assert listed["coin"] == "xyz:XYZ100" and listed["oid"] == oid
    assert info.frontend_open_orders(wallet.address, dex="xyz")[0]["cloid"] == cid.to_raw()
    assert info.query_order_by_cloid(wallet.address, cid)["order"]["order"]["coin"] == \
        "xyz:XYZ100"

    modified = exchange.modify_order(oid, "xyz:XYZ100", True, 0.02, 20500.0,
                                     {"limit": {"tif": "Gtc"}}, cloid=cid)
    assert modified["status"] == "ok", modified
    [listed] = info.open_orders(wallet.address, dex="xyz")
    assert listed["limitPx"] == "20500.0" and listed["sz"] == "0.02"
    canceled = exchange.cancel_by_cloid("xyz:XYZ100", cid)
    assert canceled["response"]["data"]["statuses"] == ["success"]

    # A counterparty rests 1.0 at 2500, so an IOC buy up to 2600 fills in full whatever the
    # house quotes do (market_open's own price came out unfillable in a few runs).
    seller = Exchange(eth_account.Account.create(), threaded_sim.base_url, perp_dexs=DEXES)
    rested = seller.order("xyz:GOLD", False, 1.0, 2500.0, {"limit": {"tif": "Gtc"}})
    assert rested["status"] == "ok", rested
    bought = exchange.order("xyz:GOLD", True, 1.0, 2600.0, {"limit": {"tif": "Ioc"}})
    assert bought["response"]["data"]["statuses"][0]["filled"]["totalSz"] == "1.0", bought
    state = info.user_state(wallet.address, dex="xyz")
    [position] = [p["position"] for p in state["assetPositions"]]
    assert position["coin"] == "xyz:GOLD" and position["szi"] == "1.0"
    assert position["leverage"]["type"] == "isolated"
    assert info.user_state(wallet.address)["assetPositions"] == []
    assert info.user_fills(wallet.address)[0]["coin"] == "xyz:GOLD"
