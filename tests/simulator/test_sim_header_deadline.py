"""The local exchange cuts a client that trickles its request head (slowloris), while a normal
client, keep-alive requests, pipelined requests and WebSockets on the same server are untouched.
Raw sockets on 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import asyncio
import contextlib
import time

import aiohttp

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

HEAD = (b"POST /info HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 18\r\n\r\n")
BODY = b'{"type":"allMids"}'


async def _trickle(port: int, data: bytes, every_s: float, limit_s: float) -> tuple[bytes, float]:
    """Send ``data`` one byte per ``every_s``; return what the server said and when it hung up.

    A reader task takes the server's bytes as they come, so a reply is never lost to the write
    that follows the server's close (asyncio's stream raises that write's error on a later read
    before handing out what it buffered)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    received = bytearray()

    async def read_all() -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(4096):
                received.extend(chunk)

    reading = asyncio.create_task(read_all())
    try:
        async with asyncio.timeout(limit_s):
            for byte in data:
                if reading.done():  # the server answered and hung up
                    break
                writer.write(bytes([byte]))
                try:
                    await writer.drain()
                except ConnectionError:
                    break
                await asyncio.wait([reading], timeout=every_s)
            await reading
    finally:
        reading.cancel()
        writer.close()
    return bytes(received), time.monotonic() - started


async def test_one_header_byte_a_second_is_cut_after_the_bound() -> None:
    # Idle timeout far longer than the header bound: only the header deadline can cut it.
    config = SimulatorConfig(market_maker=False, header_timeout_s=2.0, idle_timeout_s=60.0)
    async with SimulatedExchange(config) as sim:
        reply, elapsed = await _trickle(sim.port, HEAD, every_s=1.0, limit_s=40.0)
        assert reply.startswith(b"HTTP/1.1 408"), reply[:120]
        assert b"request headers not received in time" in reply
        assert elapsed < 30.0, elapsed  # the head is 96 bytes: untouched it would take 96 s
        # The server is fine afterwards, and a prompt client on it is served.
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(HEAD + BODY)
        async with asyncio.timeout(5):
            answer = await reader.read(4096)
        writer.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer[:120]


async def test_keep_alive_pipelined_and_websocket_clients_are_not_cut() -> None:
    config = SimulatorConfig(market_maker=False, header_timeout_s=1.0, idle_timeout_s=60.0)
    async with SimulatedExchange(config) as sim:
        # Two requests pipelined in one write, then a third after more than the header bound:
        # the guard frames the bodies, so the pause between requests is not counted as a head.
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
        writer.write(HEAD + BODY + HEAD + BODY)
        await asyncio.sleep(1.5)
        writer.write(HEAD + BODY)
        replies = b""
        async with asyncio.timeout(5):
            while replies.count(b"HTTP/1.1 200") < 3:
                chunk = await reader.read(65536)
                assert chunk, replies
                replies += chunk
        writer.close()
        assert b"408" not in replies
        async with aiohttp.ClientSession() as session, session.ws_connect(sim.ws_url) as ws:
            await asyncio.sleep(1.5)  # longer than the header bound, on an upgraded socket
            await ws.send_json({"method": "ping"})
            async with asyncio.timeout(5):
                assert (await ws.receive_json()) == {"channel": "pong"}
