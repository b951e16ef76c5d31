"""The WebSocket endpoint: subscriptions, pushes, ping/pong, post requests, idle timeout.

Each connection has a bounded outgoing queue and one writer task, so a slow client never blocks
the exchange; a client that falls ``ws_queue_limit`` messages behind is disconnected.

Wire (as live)::

    → {"method":"subscribe","subscription":{"type":"l2Book","coin":"ETH"}}
    ← {"channel":"subscriptionResponse","data":{"method":"subscribe","subscription":{…}}}
    ← {"channel":"l2Book","data":{"coin":"ETH","time":…,"levels":[[…],[…]]}}
    → {"method":"ping"}   ← {"channel":"pong"}
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from .actions import ADDRESS_RE
from .authority import touch
from .engine import ExchangeEngine
from .faults import FaultInjector
from .pushes import Push, bbo, l2_book
from .replies import Reply
from .request_guards import ClientSlots, too_deep

log = logging.getLogger(__name__)
Key = tuple[str, str]
PostHandler = Callable[[str, bytes], Awaitable[Reply]]
COIN_CHANNELS = {"l2Book": "l2Book", "trades": "trades", "bbo": "bbo"}
USER_CHANNELS = {"orderUpdates": "orderUpdates", "userFills": "userFills", "userEvents": "user",
                 "userFundings": "userFundings",
                 "userNonFundingLedgerUpdates": "userNonFundingLedgerUpdates",
                 "userTwapSliceFills": "userTwapSliceFills", "userTwapHistory": "userTwapHistory"}
MAX_SNAPSHOT_FILLS = 2000


class SubscriptionError(ValueError):
    """A subscription object the exchange does not serve."""


@dataclass(eq=False)
class Connection:
    """One client connection and what it listens to."""

    ws: web.WebSocketResponse
    queue: asyncio.Queue[tuple[bool, str]]
    subscriptions: set[Key] = field(default_factory=set)
    closing: bool = False


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class WsHub:
    """All WebSocket connections of one simulator and the routing of pushes to them."""

    def __init__(self, engine: ExchangeEngine, faults: FaultInjector, post: PostHandler) -> None:
        self.engine = engine
        self.faults = faults
        self.post = post
        self.connections: list[Connection] = []
        self.subscribers: dict[Key, set[Connection]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self.shutting_down = False
        self.slots = ClientSlots(engine.config.max_ws_per_client)
        faults.attach_ws_closer(self.close)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        async def run() -> None:
            await coro

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def subscription_key(self, sub: Any) -> Key:
        """Routing key of a subscription object; raises :class:`SubscriptionError`."""
        if not isinstance(sub, dict) or not isinstance(sub.get("type"), str):
            raise SubscriptionError("subscription must be an object with a type")
        kind = sub["type"]
        if kind == "allMids":  # per dex (HIP-3, reference §13.9); absent: the first dex
            dex = sub.get("dex") or ""
            if dex and dex not in self.engine.config.perp_dexs:
                raise SubscriptionError(f"unknown perp dex {str(dex)[:20]!r}")
            return ("allMids", dex)
        if kind in COIN_CHANNELS:
            coin = sub.get("coin")
            if not isinstance(coin, str) or coin not in self.engine.books:
                raise SubscriptionError(f"unknown coin {coin!r}")
            return (COIN_CHANNELS[kind], coin)
        if kind in USER_CHANNELS:
            user = sub.get("user")
            if not isinstance(user, str) or not ADDRESS_RE.match(user):
                raise SubscriptionError("user must be a 0x address")
            return (USER_CHANNELS[kind], user.lower())
        raise SubscriptionError(f"unsupported subscription type {kind!r}")

    # ----- outgoing -------------------------------------------------------------------------

    def _enqueue(self, conn: Connection, message: dict[str, Any], is_push: bool) -> None:
        try:
            conn.queue.put_nowait((is_push, orjson.dumps(message).decode()))
        except asyncio.QueueFull:
            self._spawn(conn.ws.close(message=b"slow consumer"))

    def publish(self, pushes: list[Push]) -> None:
        """Fan out engine pushes to the connections subscribed to each key."""
        for key, message in pushes:
            for conn in self.subscribers.get(key, ()):
                self._enqueue(conn, message, True)

    async def _writer(self, conn: Connection) -> None:
        while True:
            is_push, text = await conn.queue.get()
            if is_push:
                pause = self.faults.push_pause_left()
                if pause > 0:
                    await asyncio.sleep(pause)
                if self.faults.drop_push():
                    continue
            if conn.ws.closed:
                return
            await conn.ws.send_str(text)

    def close(self, index: int | None) -> int:
        """Close all live connections (``None``) or the ``index``-th live one (oldest first);
        returns how many."""
        live = [c for c in self.connections if not c.closing and not c.ws.closed]
        targets = live if index is None else live[index:index + 1]
        for conn in targets:
            conn.closing = True
            self._spawn(conn.ws.close(message=b"closed by fault injection"))
        return len(targets)

    async def close_all(self) -> None:
        """Close every connection and refuse new ones (server shutdown)."""
        self.shutting_down = True
        for conn in list(self.connections):
            await conn.ws.close(message=b"server shutdown")

    # ----- incoming -------------------------------------------------------------------------

    def _snapshot(self, conn: Connection, key: Key) -> None:
        channel, ident = key
        now = _now_ms()
        if channel == "l2Book":
            payload = l2_book(self.engine, ident, now)
            self._enqueue(conn, {"channel": "l2Book", "data": payload}, True)
        elif channel == "bbo":
            self._enqueue(conn, {"channel": "bbo", "data": bbo(self.engine, ident, now)}, True)
        elif channel == "allMids":
            self._enqueue(conn, {"channel": "allMids",
                                 "data": {"mids": self.engine.all_mids(ident)}}, True)
        elif channel == "userFills":
            touch(self.engine, ident)
            fills = self.engine.fills.get(ident, [])[-MAX_SNAPSHOT_FILLS:]
            self._enqueue(conn, {"channel": "userFills", "data": {
                "isSnapshot": True, "user": ident, "fills": fills}}, True)

    async def _on_message(self, conn: Connection, text: str) -> None:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._enqueue(conn, {"channel": "error", "data": f"Invalid JSON: {text[:200]}"}, False)
            return
        if too_deep(msg):  # refused before anything walks or re-serialises it
            self._enqueue(conn, {"channel": "error",
                                 "data": f"recursion limit exceeded: {text[:200]}"}, False)
            return
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            self._enqueue(conn, {"channel": "pong"}, False)
        elif method in ("subscribe", "unsubscribe"):
            self._on_subscription(conn, method, msg.get("subscription"))
        elif method == "post":
            await self._on_post(conn, msg)
        else:
            self._enqueue(conn, {"channel": "error", "data": f"Unknown method: {text[:200]}"},
                          False)

    def _on_subscription(self, conn: Connection, method: str, sub: Any) -> None:
        shown = orjson.dumps(sub).decode()
        try:
            key = self.subscription_key(sub)
        except SubscriptionError:
            self._enqueue(conn, {"channel": "error", "data": f"Invalid subscription {shown}"},
                          False)
            return
        if method == "subscribe":
            if key in conn.subscriptions:
                self._enqueue(conn, {"channel": "error", "data": f"Already subscribed: {shown}"},
                              False)
                return
            conn.subscriptions.add(key)
            self.subscribers.setdefault(key, set()).add(conn)
        else:
            if key not in conn.subscriptions:
                self._enqueue(conn, {"channel": "error", "data": f"Already unsubscribed: {shown}"},
                              False)
                return
            conn.subscriptions.discard(key)
            self.subscribers.get(key, set()).discard(conn)
        self._enqueue(conn, {"channel": "subscriptionResponse",
                             "data": {"method": method, "subscription": sub}}, False)
        if method == "subscribe":
            self._snapshot(conn, key)

    async def _on_post(self, conn: Connection, msg: dict[str, Any]) -> None:
        request = msg.get("request")
        post_id = msg.get("id")
        kind = request.get("type") if isinstance(request, dict) else None
        if kind not in ("info", "action") or not isinstance(request, dict):
            payload: dict[str, Any] = {"type": "error", "payload": "Invalid post request"}
        else:
            reply = await self.post(kind, orjson.dumps(request.get("payload")))
            if reply.text is not None:
                payload = {"type": "error", "payload": f"{reply.status}: {reply.text}"}
            else:
                payload = {"type": kind, "payload": reply.body}
        self._enqueue(conn, {"channel": "post", "data": {"id": post_id, "response": payload}},
                      False)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """GET /ws: serve one WebSocket connection until it closes or idles out."""
        config = self.engine.config
        if self.shutting_down:
            return web.Response(status=503, text="Server shutting down")
        if len(self.connections) >= config.max_ws_connections:
            return web.Response(status=429, text="Too many websocket connections")
        client = request.remote or ""
        if not self.slots.acquire(client):
            return web.Response(status=429, text=f"Cannot open more than "
                                f"{config.max_ws_per_client} connections.")
        try:
            return await self._serve(request)
        finally:
            self.slots.release(client)

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        config = self.engine.config
        # No permessage-deflate: on loopback it only costs CPU, and aiohttp's compressed sends run
        # in a shielded task whose error, when a client vanishes mid-send (a SIGKILLed engine), is
        # logged as "Task exception was never retrieved".
        ws = web.WebSocketResponse(max_msg_size=config.max_body_bytes, compress=False)
        await ws.prepare(request)
        conn = Connection(ws, asyncio.Queue(maxsize=config.ws_queue_limit))
        self.connections.append(conn)
        writer = asyncio.get_running_loop().create_task(self._writer(conn))
        try:
            while not ws.closed:
                try:
                    msg = await ws.receive(timeout=config.ws_idle_timeout_s)
                except TimeoutError:
                    await ws.close(message=b"idle timeout")
                    break
                if msg.type == WSMsgType.TEXT:
                    try:
                        await self._on_message(conn, msg.data)
                    except Exception:  # one bad message must not take the connection down
                        log.exception("websocket message failed")
                        self._enqueue(conn, {"channel": "error",
                                             "data": f"Internal error: {msg.data[:200]}"}, False)
                elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED,
                                  WSMsgType.ERROR):
                    break
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
            self.connections.remove(conn)
            for key in conn.subscriptions:
                self.subscribers.get(key, set()).discard(conn)
        return ws
