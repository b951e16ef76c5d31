"""The Indexer WebSocket client: a ``message_id`` gap drops the connection, resubscribes and runs
the reconnect callbacks (gap fill). A small fake of the Indexer's socket protocol on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from connectors.dydx.ws import IndexerWs


@pytest.fixture
async def fake_indexer() -> AsyncIterator[tuple[str, list[int]]]:
    """Connection 1 skips message id 2 after the snapshot; connection 2 is well behaved."""
    connections: list[int] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        connections.append(len(connections) + 1)
        await ws.send_str(json.dumps({"type": "connected", "connection_id": "c",
                                      "message_id": 0}))
        async for msg in ws:
            sub = json.loads(msg.data)
            await ws.send_str(json.dumps({"type": "subscribed", "channel": sub["channel"],
                                          "id": sub["id"], "message_id": 1,
                                          "contents": {"orders": []}}))
            next_id = 3 if len(connections) == 1 else 2  # the first connection loses id 2
            await ws.send_str(json.dumps({"type": "channel_data", "channel": sub["channel"],
                                          "id": sub["id"], "message_id": next_id,
                                          "contents": {"n": next_id}}))
        return ws

    app = web.Application()
    app.router.add_get("/v4/ws", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"ws://127.0.0.1:{port}/v4/ws", connections
    finally:
        await runner.cleanup()


async def test_a_message_id_gap_reconnects_and_fills_the_gap(
    fake_indexer: tuple[str, list[int]],
) -> None:
    url, connections = fake_indexer
    seen: list[tuple[str, Any, bool]] = []
    ws = IndexerWs(url, lambda ch, cid, contents, snap: seen.append((cid, contents, snap)),
                   backoff_max_s=0.2)
    refilled = asyncio.Event()

    async def gap_fill() -> None:
        refilled.set()

    ws.add_reconnect_callback(gap_fill)
    ws.subscribe("v4_subaccounts", "dydx1abc/0")
    await ws.start(timeout_s=5)
    try:
        await asyncio.wait_for(refilled.wait(), 5)
        assert ws.stats.gaps == 1 and ws.stats.connects == 2 and connections == [1, 2]
        # The update after the gap was not delivered; the second connection's was.
        await asyncio.sleep(0.1)
        updates = [contents for _, contents, snap in seen if not snap]
        assert {"n": 3} not in updates and {"n": 2} in updates
    finally:
        await ws.close()
