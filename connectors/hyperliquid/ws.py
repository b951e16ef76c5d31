"""WebSocket client: subscriptions, ping, reconnect with backoff and jitter, resubscribe.

The exchange closes a socket that has sent nothing for 60 s and drops connections unannounced, so
the client pings every ``ping_interval_s``, treats ``2 × ping_interval_s`` of silence as a dead
connection, and reconnects forever with exponential backoff and full jitter. After every
*re*connect it resubscribes everything and awaits each reconnect callback (in order, in a task of
its own so the read loop keeps draining) so the owner can fill the gap by REST.
Malformed or unexpected messages are counted in :attr:`HyperliquidWs.stats` and logged, never fatal.

Example::

    ws = HyperliquidWs("ws://127.0.0.1:8080/ws")
    ws.on("l2Book", lambda data: print(data["coin"]))
    ws.subscribe({"type": "l2Book", "coin": "ETH"})
    await ws.start()
    ...
    await ws.close()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import websockets

from connectors.base import ExchangeUnavailable, ReconnectCallback
from connectors.hyperliquid import constants
from connectors.hyperliquid.errors import UnexpectedReply

log = logging.getLogger(__name__)

ChannelHandler = Callable[[Any], None]
_IGNORED_CHANNELS = frozenset({"pong", "subscriptionResponse"})



def without_password(url: str) -> str:
    """``url`` with the password of its user info hidden (it may carry HTTP basic auth).

    >>> without_password("wss://me:s3cret@host/ws")
    'wss://me:***@host/ws'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))

@dataclass(slots=True)
class WsStats:
    """Counters: connections made, reconnects, messages routed, malformed and error messages."""

    connects: int = 0
    reconnects: int = 0
    messages: int = 0
    malformed: int = 0
    unexpected: int = 0
    errors: int = 0
    callback_failures: int = 0


class HyperliquidWs:
    """A self-healing WebSocket connection with channel routing."""

    def __init__(
        self,
        url: str,
        ping_interval_s: float = constants.WS_PING_INTERVAL_S,
        backoff_base_s: float = 0.2,
        backoff_max_s: float = 10.0,
        open_timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.shown_url = without_password(url)  # for messages and logs
        self.ping_interval_s = ping_interval_s
        self._backoff_base_s = backoff_base_s
        self._backoff_max_s = backoff_max_s
        self._open_timeout_s = open_timeout_s
        self._subscriptions: list[dict[str, Any]] = []
        self._handlers: dict[str, list[ChannelHandler]] = {}
        self._callbacks: list[ReconnectCallback] = []
        self._disconnect_hooks: list[Callable[[], None]] = []
        self._ws: websockets.ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._callback_task: asyncio.Task[None] | None = None
        self._closing = False
        self._random = random.Random()
        self.connected = asyncio.Event()
        self.stats = WsStats()

    def on(self, channel: str, handler: ChannelHandler) -> None:
        """Call ``handler(data)`` for every message of ``channel`` (exceptions are counted)."""
        self._handlers.setdefault(channel, []).append(handler)

    def add_reconnect_callback(self, callback: ReconnectCallback) -> None:
        """Await ``callback()`` after every reconnect (not after the first connect)."""
        self._callbacks.append(callback)

    def add_disconnect_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` synchronously whenever the connection is lost."""
        self._disconnect_hooks.append(hook)

    def subscribe(self, subscription: dict[str, Any]) -> None:
        """Add a subscription, kept across reconnects; sent now if connected."""
        if subscription in self._subscriptions:
            return
        self._subscriptions.append(subscription)
        if self._ws is not None:
            task = asyncio.ensure_future(self._send_subscribe(self._ws, subscription))
            task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def start(self, wait_s: float | None = None) -> None:
        """Connect in the background; wait up to ``wait_s`` (default: open timeout) for the socket.

        Raises :class:`ExchangeUnavailable` if the first connection is not up in time (the client
        keeps trying in the background until :meth:`close`).
        """
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._run(), name="hyperliquid-ws")
        try:
            await asyncio.wait_for(self.connected.wait(), wait_s or self._open_timeout_s)
        except TimeoutError:
            raise ExchangeUnavailable(
                f"WebSocket {self.shown_url} did not connect in time; check the URL or retry"
            ) from None

    async def close(self) -> None:
        """Close the socket and stop reconnecting (idempotent)."""
        self._closing = True
        for task in (self._callback_task, self._task):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._task = self._callback_task = None
        self.connected.clear()

    async def send_text(self, text: str) -> bool:
        """Send one message now; False (nothing sent) when the socket is down."""
        ws = self._ws
        if ws is None or not self.connected.is_set():
            return False
        try:
            await ws.send(text)
        except (OSError, websockets.WebSocketException):
            return False
        return True

    async def drop_connection(self) -> None:
        """Close the current socket (the client reconnects); useful to force a fresh snapshot."""
        if self._ws is not None:
            await self._ws.close()

    def _backoff_s(self, attempt: int) -> float:
        return self._random.uniform(0, min(self._backoff_max_s, self._backoff_base_s * 2**attempt))

    async def _send_subscribe(
        self, ws: websockets.ClientConnection, subscription: dict[str, Any]
    ) -> None:
        await ws.send(orjson.dumps({"method": "subscribe", "subscription": subscription}).decode())

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                async with websockets.connect(
                    self.url, ping_interval=None, open_timeout=self._open_timeout_s, max_size=None
                ) as ws:
                    for subscription in list(self._subscriptions):
                        await self._send_subscribe(ws, subscription)
                    self._ws = ws
                    attempt = 0
                    self.stats.connects += 1
                    if self.stats.connects > 1:
                        self.stats.reconnects += 1
                        self._callback_task = asyncio.create_task(self._run_callbacks())
                    self.connected.set()
                    await self._serve(ws)
            except asyncio.CancelledError:
                raise
            except (OSError, TimeoutError, websockets.WebSocketException) as exc:
                log.warning("WebSocket %s lost: %r", self.shown_url, exc)
            finally:
                self._ws = None
                self.connected.clear()
                for hook in self._disconnect_hooks:
                    hook()
            if self._closing:
                break
            delay = self._backoff_s(attempt)
            attempt += 1
            await asyncio.sleep(delay)

    async def _run_callbacks(self) -> None:
        for callback in list(self._callbacks):
            try:
                await callback()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.callback_failures += 1
                log.exception("reconnect callback failed")

    async def _serve(self, ws: websockets.ClientConnection) -> None:
        pinger = asyncio.create_task(self._ping_loop(ws))
        try:
            while True:
                async with asyncio.timeout(2 * self.ping_interval_s):
                    message = await ws.recv()
                self._dispatch(message)
        except TimeoutError:
            log.warning(
                "WebSocket %s silent for %.0f s; reconnecting",
                self.shown_url, 2 * self.ping_interval_s,
            )
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pinger

    async def _ping_loop(self, ws: websockets.ClientConnection) -> None:
        ping = orjson.dumps({"method": "ping"}).decode()
        while True:
            await asyncio.sleep(self.ping_interval_s)
            await ws.send(ping)

    def _dispatch(self, message: str | bytes) -> None:
        try:
            parsed = orjson.loads(message)
        except orjson.JSONDecodeError:
            if message == "Websocket connection established.":
                return
            self.stats.malformed += 1
            log.warning("malformed WebSocket message: %.200r", message)
            return
        if not isinstance(parsed, dict) or not isinstance(parsed.get("channel"), str):
            self.stats.malformed += 1
            log.warning("WebSocket message without channel: %.200r", message)
            return
        channel = parsed["channel"]
        if channel in _IGNORED_CHANNELS:
            return
        if channel == "error":
            self.stats.errors += 1
            log.warning("WebSocket error from exchange: %.300r", parsed.get("data"))
            return
        handlers = self._handlers.get(channel)
        if not handlers:
            self.stats.unexpected += 1
            log.debug("WebSocket message on unhandled channel %s", channel)
            return
        self.stats.messages += 1
        for handler in handlers:
            try:
                handler(parsed.get("data"))
            except (UnexpectedReply, KeyError, TypeError, ValueError, AttributeError):
                self.stats.malformed += 1
                log.warning("unparseable %s message: %.300r", channel, message, exc_info=True)
