"""WebSocket: acks, ping/pong, snapshots, user and market channels, post requests, idle timeout."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from eth_account.signers.local import LocalAccount
from sim_helpers import Api, cloid, order_wire

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

ETH = 1


async def next_on(ws: aiohttp.ClientWebSocketResponse, channel: str,
                  within: float = 3.0) -> dict[str, Any]:
    """The next message on ``channel`` (others are skipped), bounded in time."""
    async with asyncio.timeout(within):
        while True:
            msg: dict[str, Any] = await ws.receive_json()
            if msg.get("channel") == channel:
                return msg


async def collect(ws: aiohttp.ClientWebSocketResponse, channels: set[str],
                  within: float = 3.0) -> dict[str, dict[str, Any]]:
    """The first message of each channel in ``channels``, whatever order they arrive in."""
    seen: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(within):
        while not channels <= seen.keys():
            msg: dict[str, Any] = await ws.receive_json()
            seen.setdefault(msg.get("channel", ""), msg)
    return seen


async def subscribe(ws: aiohttp.ClientWebSocketResponse, sub: dict[str, Any]) -> None:
    await ws.send_json({"method": "subscribe", "subscription": sub})
    ack = await next_on(ws, "subscriptionResponse")
    assert ack["data"] == {"method": "subscribe", "subscription": sub}


async def test_ping_ack_and_errors(sim: SimulatedExchange, api: Api) -> None:
    async with api.session.ws_connect(sim.ws_url) as ws:
        await ws.send_json({"method": "ping"})
        assert await next_on(ws, "pong") == {"channel": "pong"}
        sub = {"type": "l2Book", "coin": "ETH"}
        await subscribe(ws, sub)
        await ws.send_json({"method": "subscribe", "subscription": sub})
        err = await next_on(ws, "error")
        assert err["data"].startswith("Already subscribed:")
        await ws.send_json({"method": "subscribe", "subscription": {"type": "nope"}})
        assert (await next_on(ws, "error"))["data"].startswith("Invalid subscription")
        await ws.send_json({"method": "unsubscribe", "subscription": sub})
        ack = await next_on(ws, "subscriptionResponse")
        assert ack["data"]["method"] == "unsubscribe"
        await ws.send_str("not json")
        assert (await next_on(ws, "error"))["data"].startswith("Invalid JSON")


async def test_user_channels_and_market_channels(sim: SimulatedExchange, api: Api,
                                                 alice: LocalAccount, bob: LocalAccount) -> None:
    user = alice.address.lower()
    async with api.session.ws_connect(sim.ws_url) as ws:
        await subscribe(ws, {"type": "userFills", "user": alice.address})
        snapshot = await next_on(ws, "userFills")
        assert snapshot["data"] == {"isSnapshot": True, "user": user, "fills": []}
        await subscribe(ws, {"type": "orderUpdates", "user": alice.address})
        await subscribe(ws, {"type": "userEvents", "user": alice.address})
        for kind in ("trades", "bbo", "l2Book"):
            await subscribe(ws, {"type": kind, "coin": "ETH"})
        await subscribe(ws, {"type": "allMids"})
        await api.order(bob, order_wire(ETH, False, "3000", "0.5"))
        await collect(ws, {"l2Book", "bbo", "allMids"})
        await api.order(alice, order_wire(ETH, True, "3000", "0.2", c=cloid(1)))
        got = await collect(ws, {"userFills", "orderUpdates", "user", "trades", "l2Book",
                                 "allMids", "bbo"})
        fills = got["userFills"]
        assert "isSnapshot" not in fills["data"] and fills["data"]["fills"][0]["sz"] == "0.2"
        update = got["orderUpdates"]
        assert update["data"][0]["status"] == "filled"
        assert update["data"][0]["order"]["cloid"] == cloid(1)
        assert got["user"]["data"]["fills"][0]["tid"] == fills["data"]["fills"][0]["tid"]
        assert got["trades"]["data"][0]["users"] == [user, bob.address.lower()]
        assert got["l2Book"]["data"]["levels"][1][0] == {"px": "3000.0", "sz": "0.3", "n": 1}
        assert got["bbo"]["data"]["bbo"][1] == {"px": "3000.0", "sz": "0.3", "n": 1}
        assert "ETH" in got["allMids"]["data"]["mids"]


async def test_snapshot_resends_history_on_resubscribe(sim: SimulatedExchange, api: Api,
                                                       alice: LocalAccount,
                                                       bob: LocalAccount) -> None:
    await api.order(bob, order_wire(ETH, False, "3000", "0.5"))
    await api.order(alice, order_wire(ETH, True, "3000", "0.2"))
    async with api.session.ws_connect(sim.ws_url) as ws:
        await subscribe(ws, {"type": "userFills", "user": alice.address})
        snapshot = await next_on(ws, "userFills")
        assert snapshot["data"]["isSnapshot"] is True and len(snapshot["data"]["fills"]) == 1


async def test_post_request_over_ws(sim: SimulatedExchange, api: Api,
                                    alice: LocalAccount) -> None:
    async with api.session.ws_connect(sim.ws_url) as ws:
        await ws.send_json({"method": "post", "id": 7, "request": {
            "type": "info", "payload": {"type": "allMids"}}})
        reply = await next_on(ws, "post")
        assert reply["data"]["id"] == 7 and "ETH" in reply["data"]["response"]["payload"]
        body = api.envelope(alice, {"type": "noop"})
        await ws.send_json({"method": "post", "id": 8, "request": {"type": "action",
                                                                   "payload": body}})
        reply = await next_on(ws, "post")
        assert reply["data"]["response"] == {"type": "action", "payload": {
            "status": "ok", "response": {"type": "default"}}}


async def test_idle_connection_is_closed() -> None:
    config = SimulatorConfig(market_maker=False, ws_idle_timeout_s=0.3)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        async with session.ws_connect(sim.ws_url) as ws:
            async with asyncio.timeout(3):
                msg = await ws.receive()
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        # A client that pings stays connected past the timeout.
        async with session.ws_connect(sim.ws_url) as ws:
            for _ in range(5):
                await asyncio.sleep(0.1)
                await ws.send_json({"method": "ping"})
                assert await next_on(ws, "pong")
            assert not ws.closed


async def test_connection_cap() -> None:
    config = SimulatorConfig(market_maker=False, max_ws_connections=2)
    async with SimulatedExchange(config) as sim, aiohttp.ClientSession() as session:
        first = await session.ws_connect(sim.ws_url)
        second = await session.ws_connect(sim.ws_url)
        try:
            await session.ws_connect(sim.ws_url)
            raise AssertionError("third connection accepted")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 429
        await first.close()
        await second.close()
