"""The official hyperliquid-python-sdk works unchanged against the simulator.

The SDK is synchronous (requests + a websocket thread), so the simulator runs on its own event
loop in a background thread and the SDK is called from the test thread.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import eth_account
import pytest
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError
from hyperliquid.utils.types import Cloid

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


@pytest.fixture
def threaded_sim() -> Iterator[SimulatedExchange]:
    loop = asyncio.new_event_loop()
    sim = SimulatedExchange(SimulatorConfig(seed=1, market_maker=True, tick_interval_s=0.05))
    loop.run_until_complete(sim.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield sim
    finally:
        asyncio.run_coroutine_threadsafe(sim.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def _wait_for(predicate: Any, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_sdk_info_exchange_and_agent(threaded_sim: SimulatedExchange) -> None:
    wallet = eth_account.Account.create()
    info = Info(threaded_sim.base_url, skip_ws=False)
    try:
        assert info.coin_to_asset["ETH"] == 1 and info.coin_to_asset["PURR/USDC"] == 10000
        state = info.user_state(wallet.address)
        assert state["marginSummary"]["accountValue"] == "1000000.0"
        books: list[dict[str, Any]] = []
        info.subscribe({"type": "l2Book", "coin": "ETH"}, books.append)
        _wait_for(lambda: len(books) >= 2)

        exchange = Exchange(wallet, threaded_sim.base_url)
        cid = Cloid.from_int(77)
        placed = exchange.order("ETH", True, 0.01, 2000.0, {"limit": {"tif": "Gtc"}}, cloid=cid)
        status = placed["response"]["data"]["statuses"][0]
        oid = status["resting"]["oid"]
        assert status["resting"]["cloid"] == cid.to_raw()
        assert info.query_order_by_cloid(wallet.address, cid)["order"]["status"] == "open"
        assert info.open_orders(wallet.address)[0]["oid"] == oid
        cancelled = exchange.cancel("ETH", oid)
        assert cancelled["response"]["data"]["statuses"] == ["success"]
        assert info.query_order_by_oid(wallet.address, oid)["order"]["status"] == "canceled"

        bought = exchange.market_open("ETH", True, 0.01)
        assert "filled" in bought["response"]["data"]["statuses"][0]
        assert info.user_state(wallet.address)["assetPositions"][0]["position"]["szi"] == "0.01"
        assert info.user_fills(wallet.address)[0]["crossed"] is True

        approved, agent_key = exchange.approve_agent()
        assert approved == {"status": "ok", "response": {"type": "default"}}
        agent = Exchange(eth_account.Account.from_key(agent_key), threaded_sim.base_url,
                         account_address=wallet.address)
        closed = agent.market_close("ETH")
        assert "filled" in closed["response"]["data"]["statuses"][0]
        assert info.user_state(wallet.address)["assetPositions"] == []
        assert exchange.update_leverage(10, "ETH")["status"] == "ok"
        assert exchange.schedule_cancel(None)["status"] == "ok"
    finally:
        info.disconnect_websocket()


def test_sdk_sees_http_faults(threaded_sim: SimulatedExchange) -> None:
    threaded_sim.faults.http_error(429, 1)
    info = Info(threaded_sim.base_url, skip_ws=True, meta={"universe": []},
                spot_meta={"tokens": [], "universe": []})
    with pytest.raises(ClientError) as caught:
        info.all_mids()
    assert caught.value.status_code == 429
    assert "ETH" in info.all_mids()


def test_sdk_tpsl_market_and_leverage_flows(threaded_sim: SimulatedExchange) -> None:
    """The SDK's basic_tpsl (normalTpsl), trigger, market_open/close, update_leverage and
    update_isolated_margin flows (basic_leverage_adjustment), unchanged, priced near the mid."""
    wallet = eth_account.Account.create()
    info = Info(threaded_sim.base_url, skip_ws=True)
    info.user_state(wallet.address)  # first use funds the account
    exchange = Exchange(wallet, threaded_sim.base_url)
    assert exchange.update_leverage(21, "ETH")["status"] == "ok"
    assert exchange.update_leverage(21, "ETH", False)["status"] == "ok"

    _wait_for(lambda: bool(info.l2_snapshot("ETH")["levels"][1]))  # the market maker quotes
    px = round(float(info.all_mids()["ETH"]) * 1.01)  # an IOC entry that fills
    tp, sl = round(px * 1.05), round(px * 0.95)
    orders: list[Any] = [
        {"coin": "ETH", "is_buy": True, "sz": 0.02, "limit_px": px,
         "order_type": {"limit": {"tif": "Ioc"}}, "reduce_only": False},
        {"coin": "ETH", "is_buy": False, "sz": 0.02, "limit_px": tp,
         "order_type": {"trigger": {"isMarket": True, "triggerPx": tp, "tpsl": "tp"}},
         "reduce_only": True},
        {"coin": "ETH", "is_buy": False, "sz": 0.02, "limit_px": sl,
         "order_type": {"trigger": {"isMarket": True, "triggerPx": sl, "tpsl": "sl"}},
         "reduce_only": True},
    ]
    placed = exchange.bulk_orders(orders, grouping="normalTpsl")
    statuses = placed["response"]["data"]["statuses"]
    assert "filled" in statuses[0] and statuses[1:] == ["waitingForTrigger"] * 2
    legs = [o for o in info.frontend_open_orders(wallet.address) if o["isTrigger"]]
    assert sorted(o["orderType"] for o in legs) == ["Stop Market", "Take Profit Market"]

    # A standalone stop, placed and cancelled as basic_tpsl's older version does.
    stop = exchange.order("ETH", False, 0.02, sl - 50,
                          {"trigger": {"triggerPx": sl, "isMarket": True, "tpsl": "sl"}},
                          reduce_only=True)
    oid = stop["response"]["data"]["statuses"][0]["resting"]["oid"]
    assert exchange.cancel("ETH", oid)["response"]["data"]["statuses"] == ["success"]

    assert exchange.update_isolated_margin(1, "ETH")["status"] == "ok"
    position = info.user_state(wallet.address)["assetPositions"][0]["position"]
    assert position["leverage"]["type"] == "isolated" and "rawUsd" in position["leverage"]
    switched = exchange.update_leverage(10, "ETH", True)
    assert switched == {"status": "err",
                        "response": "Cannot switch leverage type with open position."}

    closed = exchange.market_close("ETH")
    assert "filled" in closed["response"]["data"]["statuses"][0]
    assert info.user_state(wallet.address)["assetPositions"] == []
    assert info.frontend_open_orders(wallet.address) == []  # the legs went with the position
    bought = exchange.market_open("ETH", True, 0.01)
    assert "filled" in bought["response"]["data"]["statuses"][0]
