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
