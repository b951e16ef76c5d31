"""WebSocket client and stream fan-out against a tiny real WebSocket server on loopback."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets

from connectors.hyperliquid.streams import Broadcast
from connectors.hyperliquid.ws import HyperliquidWs

BOOK = {"coin": "ETH", "time": 1, "levels": [[{"px": "99", "sz": "1", "n": 1}], []]}


async def test_malformed_messages_are_counted_and_reconnect_resubscribes() -> None:
    subscribes: list[dict[str, Any]] = []
    connections = 0

    async def handler(ws: websockets.ServerConnection) -> None:
        nonlocal connections
        connections += 1
        message = json.loads(await ws.recv())
        subscribes.append(message)
        await ws.send("Websocket connection established.")
        await ws.send("{not json")
        await ws.send(json.dumps([1, 2]))
        await ws.send(json.dumps({"channel": "error", "data": "Already subscribed"}))
        await ws.send(json.dumps({"channel": "l2Book", "data": {"coin": "ETH"}}))  # bad shape
        await ws.send(json.dumps({"channel": "l2Book", "data": BOOK}))
        if connections == 1:
            await ws.close()  # the server drops the socket: the client must come back
            return
        await asyncio.sleep(5)

    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        client = HyperliquidWs(f"ws://127.0.0.1:{port}/ws", backoff_base_s=0.05)
        books: list[Any] = []
        two_books = asyncio.Event()

        def on_book(data: Any) -> None:
            books.append(data["levels"][0][0]["px"])
            if len(books) >= 2:
                two_books.set()

        reconnected = asyncio.Event()

        async def gap_fill() -> None:
            reconnected.set()

        client.on("l2Book", on_book)
        client.add_reconnect_callback(gap_fill)
        client.subscribe({"type": "l2Book", "coin": "ETH"})
        await client.start(wait_s=5)
        try:
            async with asyncio.timeout(10):
                await reconnected.wait()
                await two_books.wait()
        finally:
            await client.close()
    assert (
        subscribes
        == [{"method": "subscribe", "subscription": {"type": "l2Book", "coin": "ETH"}}] * 2
    )
    assert books == ["99", "99"]
    assert client.stats.reconnects == 1
    assert client.stats.malformed >= 4  # two bad frames + one bad book, per connection
    assert client.stats.errors >= 1


async def test_broadcast_buffers_until_first_subscriber_and_fans_out() -> None:
    hub: Broadcast[int] = Broadcast()
    hub.publish(1)
    first = hub.subscribe()
    second = hub.subscribe()
    hub.publish(2)
    hub.close()
    assert [x async for x in first] == [1, 2]
    assert [x async for x in second] == [2]


async def test_keep_latest_drops_the_oldest_for_slow_readers() -> None:
    hub: Broadcast[int] = Broadcast(keep_latest=2)
    sub = hub.subscribe()
    for i in range(5):
        hub.publish(i)
    hub.close()
    assert [x async for x in sub] == [3, 4]
