"""Every fault of the injection API, plus the CLI fault-string parser."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from eth_account.signers.local import LocalAccount
from sim_helpers import Api, cloid, order_action, order_wire
from test_sim_ws import next_on, subscribe

from connectors.hyperliquid.simulator import (
    FaultSpec,
    FaultSpecError,
    SimulatedExchange,
    SimulatorConfig,
    parse_faults,
)

ETH = 1


async def test_delay_responses(sim: SimulatedExchange, api: Api) -> None:
    sim.faults.delay_responses(0.3, count=1)
    start = time.monotonic()
    await api.info({"type": "allMids"})
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    await api.info({"type": "allMids"})
    assert time.monotonic() - start < 0.3


async def test_drop_reply_applies_the_action(sim: SimulatedExchange, api: Api,
                                             alice: LocalAccount) -> None:
    sim.faults.drop_replies(1)
    with pytest.raises(aiohttp.ClientError):
        await api.exchange(alice, order_action(order_wire(ETH, True, "2900", "0.01", c=cloid(1))))
    # The unknown outcome resolves by cloid: the order was placed.
    status = await api.info({"type": "orderStatus", "user": alice.address, "oid": cloid(1)})
    assert status["order"]["status"] == "open"
    assert "resting" in (await api.order(alice, order_wire(ETH, True, "2900", "0.01")))[0]


@pytest.mark.parametrize("code", [429, 500, 502])
async def test_http_error_does_not_apply(sim: SimulatedExchange, api: Api, alice: LocalAccount,
                                         code: int) -> None:
    sim.faults.http_error(code, 1, path="/exchange")
    status, _ = await api.post_raw(api.envelope(alice, order_action(
        order_wire(ETH, True, "2900", "0.01", c=cloid(2)))))
    assert status == code
    assert sim.truth.orders(alice.address) == {}
    await api.info({"type": "allMids"})  # /info is not affected by a /exchange-scoped fault


async def test_reject_next_orders(sim: SimulatedExchange, api: Api, alice: LocalAccount) -> None:
    sim.faults.reject_next_orders(1, reason="Insufficient margin to place order. asset=1")
    first, second = await api.order(alice, order_wire(ETH, True, "2900", "0.01", c=cloid(3)),
                                    order_wire(ETH, True, "2900", "0.01", c=cloid(4)))
    assert first == {"error": "Insufficient margin to place order. asset=1"}
    assert "resting" in second
    assert sim.truth.orders(alice.address)[cloid(3)]["status"] == "rejected"


async def test_close_websockets_all_and_one(sim: SimulatedExchange, api: Api) -> None:
    a = await api.session.ws_connect(sim.ws_url)
    b = await api.session.ws_connect(sim.ws_url)
    await asyncio.sleep(0.05)
    assert sim.faults.close_websocket(0) == 1
    async with asyncio.timeout(3):
        assert (await a.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert not b.closed
    assert sim.faults.close_websockets() == 1
    async with asyncio.timeout(3):
        assert (await b.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


async def test_pause_and_drop_pushes(sim: SimulatedExchange, api: Api, alice: LocalAccount,
                                     bob: LocalAccount) -> None:
    async with api.session.ws_connect(sim.ws_url) as ws:
        await subscribe(ws, {"type": "orderUpdates", "user": alice.address})
        sim.faults.pause_pushes(0.4)
        start = time.monotonic()
        await api.order(alice, order_wire(ETH, True, "2900", "0.01"))
        await next_on(ws, "orderUpdates")
        assert time.monotonic() - start >= 0.35
        sim.faults.drop_ws_messages(1.0)
        await api.order(alice, order_wire(ETH, True, "2901", "0.01"))
        with pytest.raises(TimeoutError):
            await next_on(ws, "orderUpdates", within=0.3)
        await ws.send_json({"method": "ping"})   # control replies are never dropped
        assert await next_on(ws, "pong")
        sim.faults.reset()
        await api.order(alice, order_wire(ETH, True, "2902", "0.01"))
        assert (await next_on(ws, "orderUpdates"))["data"][0]["order"]["limitPx"] == "2902.0"


def test_parse_faults() -> None:
    spec = parse_faults("drop_ws=0.05, delay=0.2,error_rate=0.01,error_status=429,seed=3")
    assert spec == FaultSpec(drop_ws=0.05, delay=0.2, error_rate=0.01, error_status=429, seed=3)
    assert parse_faults("") == FaultSpec()
    for bad in ("nope=1", "delay", "drop_ws=2", "delay=x", "error_status=404"):
        with pytest.raises(FaultSpecError):
            parse_faults(bad)


async def test_cli_baseline_faults_apply() -> None:
    spec = parse_faults("error_rate=1,error_status=503")
    async with (
        SimulatedExchange(SimulatorConfig(market_maker=False), spec) as sim,
        aiohttp.ClientSession() as session,
        session.post(sim.base_url + "/info", json={"type": "meta"}) as resp,
    ):
        assert resp.status == 503
