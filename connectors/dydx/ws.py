"""The Indexer WebSocket: subscriptions that survive reconnects, and gap detection.

The Indexer numbers every ``subscribed`` / ``channel_data`` / ``channel_batch_data`` message of one
connection with ``message_id`` (+1 each; ``error`` reuses the current value; reference §1.4). A
jump means a message was lost on this connection: we drop the connection and reconnect, and every
reconnect ends with the registered callbacks, which fill the gap over REST. Updates the Indexer
never produced (it can miss short-term order updates) are no gap here; the engine's polling and
the order-status deadline cover those.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from connectors.base import ExchangeUnavailable, ReconnectCallback

log = logging.getLogger(__name__)

Handler = Callable[[str, str, Any, bool], None]  # (channel, id, contents, is_snapshot)


@dataclass(slots=True)
class WsStats:
    """Counters of the socket (reconnects, gaps, malformed messages)."""

    connects: int = 0
    gaps: int = 0
    malformed: int = 0
    messages: int = 0


class IndexerWs:
    """One self-healing connection with a fixed set of subscriptions."""

    def __init__(self, url: str, handler: Handler, backoff_max_s: float = 2.0) -> None:
        self.url = url
        self._handler = handler
        self._subs: list[dict[str, Any]] = []
        self._callbacks: list[ReconnectCallback] = []
        self._task: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ready = asyncio.Event()
        self._backoff_max = backoff_max_s
        self.stats = WsStats()
        self.last_message_s = time.monotonic()
        self.on_disconnect: Callable[[], None] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscribe(self, channel: str, channel_id: str | None = None) -> None:
        """Subscribe now (if connected) and after every reconnect."""
        sub: dict[str, Any] = {"type": "subscribe", "channel": channel}
        if channel_id is not None:
            sub["id"] = channel_id
        self._subs.append(sub)
        if self._ws is not None and not self._ws.closed:
            self._spawn(self._ws.send_str(orjson.dumps(sub).decode()))

    def add_reconnect_callback(self, callback: ReconnectCallback) -> None:
        """Await ``callback()`` after every reconnect (not the first connect)."""
        self._callbacks.append(callback)

    async def start(self, timeout_s: float = 10.0) -> None:
        """Connect and wait until every subscription has its snapshot."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())
        try:
            await asyncio.wait_for(self._ready.wait(), timeout_s)
        except TimeoutError:
            raise ExchangeUnavailable(
                f"the Indexer WebSocket {self.url} gave no snapshots within {timeout_s:.0f} s"
            ) from None

    async def close(self) -> None:
        """Stop reconnecting and close; idempotent."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def force_reconnect(self) -> None:
        """Drop the connection (the run loop reconnects and fills the gap)."""
        if self._ws is not None:
            await self._ws.close()

    async def _run(self) -> None:
        delay = 0.1
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self.url, heartbeat=20.0) as ws:
                        self._ws = ws
                        self.stats.connects += 1
                        delay = 0.1
                        # The first connection is not a reconnect: nothing was streamed before.
                        await self._serve(ws, first=not self._ready.is_set())
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    log.info("indexer websocket: %s; reconnecting in %.1fs", exc, delay)
                finally:
                    self._ws = None
                    if self.on_disconnect is not None:
                        self.on_disconnect()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._backoff_max)

    async def _serve(self, ws: aiohttp.ClientWebSocketResponse, first: bool) -> None:
        for sub in self._subs:
            await ws.send_str(orjson.dumps(sub).decode())
        pending = len(self._subs)
        expected: int | None = None
        reconnected = False
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            self.last_message_s = time.monotonic()
            try:
                data = orjson.loads(msg.data)
                kind = data["type"]
                message_id = int(data.get("message_id", 0))
            except (ValueError, KeyError, TypeError):
                self.stats.malformed += 1
                log.warning("indexer websocket: malformed message %.200s", msg.data)
                continue
            self.stats.messages += 1
            if kind == "connected":
                expected = message_id + 1
                continue
            if kind == "error":
                log.warning("indexer websocket error: %s", data.get("message"))
                continue
            if expected is not None and message_id != expected:
                self.stats.gaps += 1
                log.warning("indexer websocket: message %d after %d: lost messages;"
                            " reconnecting to fill the gap", message_id, expected - 1)
                await ws.close()
                return
            expected = message_id + 1
            channel, channel_id = str(data.get("channel", "")), str(data.get("id", ""))
            if kind == "subscribed":
                self._deliver(channel, channel_id, data.get("contents"), True)
                pending -= 1
                if pending == 0:
                    self._ready.set()
                    if not first and not reconnected:
                        reconnected = True
                        self._spawn(self._after_reconnect())
            elif kind == "channel_data":
                self._deliver(channel, channel_id, data.get("contents"), False)
            elif kind == "channel_batch_data":
                for contents in data.get("contents") or []:
                    self._deliver(channel, channel_id, contents, False)

    def _deliver(self, channel: str, channel_id: str, contents: Any, snapshot: bool) -> None:
        try:
            self._handler(channel, channel_id, contents, snapshot)
        except Exception:
            self.stats.malformed += 1
            log.exception("indexer websocket: could not handle %s/%s", channel, channel_id)

    async def _after_reconnect(self) -> None:
        for callback in list(self._callbacks):
            try:
                await callback()
            except Exception:
                log.exception("reconnect callback failed")
