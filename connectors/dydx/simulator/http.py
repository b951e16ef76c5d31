"""The Indexer's HTTP side: ``/v4/...`` REST routes and the WebSocket (``/v4/ws``, any path).

Shapes and errors follow the Indexer's ``comlink`` (REST) and ``socks`` (WebSocket) services as
summarized in the reference (§1.3, §1.4): 400 ``{"errors":[{"value","msg","param","location"}]}``
for bad parameters, 404 ``{"errors":[{"msg"}]}`` for unknown ids; on the socket ``connected``,
``subscribed`` with a snapshot, ``channel_data`` with a per-connection ``message_id``, ``error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from aiohttp import WSMsgType, web

from connectors.dydx.simulator.book import BUY, SELL
from connectors.dydx.simulator.chain import Chain
from connectors.dydx.simulator.indexer import IndexerDb, iso

_LIVE = ("OPEN", "BEST_EFFORT_OPENED", "UNTRIGGERED")
_CHANNELS = ("v4_subaccounts", "v4_orderbook", "v4_trades", "v4_markets", "v4_block_height")


def _bad(param: str, msg: str, value: Any = None) -> web.Response:
    body = {"errors": [{"value": value, "msg": msg, "param": param, "location": "query"}]}
    return web.json_response(body, status=400)


def _not_found(msg: str) -> web.Response:
    return web.json_response({"errors": [{"msg": msg}]}, status=404)


def _uint(raw: str | None, param: str, limit: int) -> int | web.Response:
    if raw is None or not raw.isdigit() or int(raw) >= limit:
        return _bad(param, f"{param} must be a non-negative integer less than {limit}", raw)
    return int(raw)


class Connection:
    """One WebSocket client: its subscriptions, message counter and ordered send queue."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.id = str(uuid.uuid4())
        self.message_id = 0
        self.subs: set[tuple[str, str]] = set()
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()

    def send(self, message: dict[str, Any], counted: bool = True) -> None:
        """Queue ``message`` with the next message id (``error`` reuses the current one)."""
        if counted:
            self.message_id += 1
        self.queue.put_nowait({**message, "connection_id": self.id,
                               "message_id": self.message_id})


class IndexerHttp:
    """aiohttp application serving the Indexer over REST and WebSocket."""

    def __init__(self, chain: Chain, db: IndexerDb, oracle: Callable[[str], Decimal]) -> None:
        self.chain, self.db, self.oracle = chain, db, oracle
        self.connections: set[Connection] = set()
        self._published: dict[str, dict[str, dict[str, str]]] = {}
        self.app = web.Application()
        r = self.app.router
        r.add_get("/v4/height", self.height)
        r.add_get("/v4/time", self.time)
        r.add_get("/v4/perpetualMarkets", self.markets)
        r.add_get("/v4/orderbooks/perpetualMarket/{ticker}", self.orderbook)
        r.add_get("/v4/addresses/{address}", self.addresses)
        r.add_get("/v4/addresses/{address}/subaccountNumber/{number}", self.subaccount)
        r.add_get("/v4/orders", self.orders)
        r.add_get("/v4/orders/{id}", self.order)
        r.add_get("/v4/fills", self.fills)
        r.add_get("/v4/trades/perpetualMarket/{ticker}", self.trades)
        r.add_get("/v4/fundingPayments", self.funding_payments)
        r.add_get("/v4/transfers", self.transfers)
        r.add_get("/{tail:.*}", self.websocket)

    # REST ------------------------------------------------------------------------------------

    async def height(self, request: web.Request) -> web.Response:
        """``GET /v4/height``."""
        return web.json_response({"height": str(self.db.height), "time": iso(self.db.time)})

    async def time(self, request: web.Request) -> web.Response:
        """``GET /v4/time``."""
        import time

        now = time.time()
        return web.json_response({"iso": iso(now), "epoch": now})

    async def markets(self, request: web.Request) -> web.Response:
        """``GET /v4/perpetualMarkets[?ticker=]``."""
        ticker = request.query.get("ticker")
        specs = list(self.db.by_ticker.values())
        if ticker is not None:
            specs = [m for m in specs if m.ticker == ticker]
            if not specs:
                return _not_found(f"{ticker} not found in markets of type PERPETUAL")
        return web.json_response(
            {"markets": {m.ticker: self.db.market_entry(m, self.oracle(m.ticker)) for m in specs}}
        )

    def book_levels(self, ticker: str) -> dict[str, list[dict[str, str]]]:
        """The uncrossed book of ``ticker`` as ``{bids, asks}`` of ``{price, size}``."""
        market = self.db.by_ticker[ticker]
        with self.chain.lock:
            book = self.chain.clob.books[market.clob_pair_id]
            bids, asks = book.levels(BUY)[:100], book.levels(SELL)[:100]
        def fmt(levels: list[tuple[int, int]]) -> list[dict[str, str]]:
            return [{"price": f"{self.db.price(market, p).normalize():f}",
                     "size": f"{self.db.size(market, q).normalize():f}"} for p, q in levels]
        return {"bids": fmt(bids), "asks": fmt(asks)}

    async def orderbook(self, request: web.Request) -> web.Response:
        """``GET /v4/orderbooks/perpetualMarket/{ticker}``."""
        ticker = request.match_info["ticker"]
        if ticker not in self.db.by_ticker:
            return _not_found(f"{ticker} not found in markets of type PERPETUAL")
        return web.json_response(self.book_levels(ticker))

    def _sub_body(self, address: str, number: int) -> dict[str, Any] | None:
        # What the Indexer has indexed: a subaccount appears with its first transfer in.
        usdc = self.db.usdc.get((address, number))
        return None if usdc is None else self.db.subaccount(address, number, usdc, self.oracle)

    async def addresses(self, request: web.Request) -> web.Response:
        """``GET /v4/addresses/{address}``."""
        address = request.match_info["address"]
        numbers = sorted(n for (a, n) in self.db.usdc if a == address)
        if not numbers:
            return _not_found(f"No subaccounts found for address {address}")
        subs = [self._sub_body(address, n) for n in numbers]
        return web.json_response({"subaccounts": [s["subaccount"] for s in subs if s],
                                  "totalTradingRewards": "0"})

    async def subaccount(self, request: web.Request) -> web.Response:
        """``GET /v4/addresses/{address}/subaccountNumber/{number}`` (wrapped in ``subaccount``)."""
        address = request.match_info["address"]
        number = _uint(request.match_info["number"], "subaccountNumber", 128001)
        if isinstance(number, web.Response):
            return number
        body = self._sub_body(address, number)
        if body is None:
            return _not_found(f"No subaccount found with address {address} and"
                              f" subaccountNumber {number}")
        return web.json_response(body)

    def _account_query(self, request: web.Request) -> tuple[str, int, int] | web.Response:
        address = request.query.get("address")
        if not address:
            return _bad("address", "address must be a valid dydx address", address)
        number = _uint(request.query.get("subaccountNumber"), "subaccountNumber", 128001)
        if isinstance(number, web.Response):
            return number
        limit = _uint(request.query.get("limit", "1000"), "limit", 1001)
        if isinstance(limit, web.Response) or limit == 0:
            return _bad("limit", "limit must be a positive integer that is not greater than"
                        " max: 1000", request.query.get("limit"))
        return address, number, limit

    async def orders(self, request: web.Request) -> web.Response:
        """``GET /v4/orders?address&subaccountNumber[&ticker&status&limit]`` (a bare array)."""
        parsed = self._account_query(request)
        if isinstance(parsed, web.Response):
            return parsed
        address, number, limit = parsed
        rows = self.db.orders_of(address, number)
        if "ticker" in request.query:
            rows = [o for o in rows if o["ticker"] == request.query["ticker"]]
        if "status" in request.query:
            wanted = set(request.query["status"].split(","))
            rows = [o for o in rows if o["status"] in wanted]
        return web.json_response(rows[:limit])

    async def order(self, request: web.Request) -> web.Response:
        """``GET /v4/orders/{id}``."""
        row = self.db.orders.get(request.match_info["id"])
        if row is None:
            return _not_found(f"Unable to find order id {request.match_info['id']}")
        return web.json_response(row)

    async def fills(self, request: web.Request) -> web.Response:
        """``GET /v4/fills?address&subaccountNumber[&market&limit&createdBeforeOrAtHeight]``."""
        parsed = self._account_query(request)
        if isinstance(parsed, web.Response):
            return parsed
        address, number, limit = parsed
        rows = list(reversed(self.db.fills.get((address, number), [])))  # newest first
        market = request.query.get("market")
        if market:
            rows = [f for f in rows if f["market"] == market]
        before = request.query.get("createdBeforeOrAtHeight")
        if before is not None:
            if not before.isdigit():
                return _bad("createdBeforeOrAtHeight", "must be a non-negative integer", before)
            rows = [f for f in rows if int(f["createdAtHeight"]) <= int(before)]
        return web.json_response({"fills": rows[:limit], "pageSize": limit,
                                  "totalResults": len(rows), "offset": 0})

    async def funding_payments(self, request: web.Request) -> web.Response:
        """``GET /v4/fundingPayments?address&subaccountNumber[&ticker&afterOrAt&limit]`` (newest
        first; Indexer ``funding-payments-controller.ts``)."""
        return self._account_rows(request, "fundingPayments", self.db.funding)

    async def transfers(self, request: web.Request) -> web.Response:
        """``GET /v4/transfers?address&subaccountNumber[&limit]`` (newest first)."""
        return self._account_rows(request, "transfers", self.db.transfers)

    def _account_rows(self, request: web.Request, name: str,
                      table: dict[tuple[str, int], list[dict[str, Any]]]) -> web.Response:
        parsed = self._account_query(request)
        if isinstance(parsed, web.Response):
            return parsed
        address, number, limit = parsed
        rows = list(reversed(table.get((address, number), [])))
        ticker, after = request.query.get("ticker"), request.query.get("afterOrAt")
        if ticker:
            rows = [r for r in rows if r.get("ticker") == ticker]
        if after:
            rows = [r for r in rows if r["createdAt"] >= after]
        return web.json_response({name: rows[:limit], "pageSize": limit,
                                  "totalResults": len(rows), "offset": 0})

    async def trades(self, request: web.Request) -> web.Response:
        """``GET /v4/trades/perpetualMarket/{ticker}``."""
        ticker = request.match_info["ticker"]
        if ticker not in self.db.by_ticker:
            return _not_found(f"{ticker} not found in markets of type PERPETUAL")
        return web.json_response({"trades": list(reversed(self.db.trades.get(ticker, [])))[:100]})

    # WebSocket -------------------------------------------------------------------------------

    def push(self, channel: str, channel_id: str, contents: dict[str, Any]) -> None:
        """Send an update to every connection subscribed to (channel, id)."""
        for conn in list(self.connections):
            if (channel, channel_id) in conn.subs:
                message: dict[str, Any] = {"type": "channel_data", "channel": channel,
                                           "id": channel_id, "version": "1.0.0",
                                           "contents": contents}
                conn.send(message)

    def push_books(self) -> None:
        """Send each subscribed book's changed levels (absolute sizes, "0" removes a level)."""
        wanted = {cid for conn in self.connections for ch, cid in conn.subs
                  if ch == "v4_orderbook"}
        for ticker in wanted:
            now = {side: {lv["price"]: lv["size"] for lv in levels}
                   for side, levels in self.book_levels(ticker).items()}
            before = self._published.get(ticker, {"bids": {}, "asks": {}})
            self._published[ticker] = now
            changes: dict[str, Any] = {}
            for side in ("bids", "asks"):
                diff = [[p, s] for p, s in now[side].items() if before[side].get(p) != s]
                diff += [[p, "0"] for p in before[side] if p not in now[side]]
                if diff:
                    changes[side] = diff
            if changes:
                self.push("v4_orderbook", ticker, changes)

    def _snapshot(self, channel: str, channel_id: str) -> dict[str, Any] | None:
        if channel == "v4_subaccounts":
            address, _, number = channel_id.rpartition("/")
            if not number.isdigit():
                return None
            body = self._sub_body(address, int(number)) or {}
            live = [o for o in self.db.orders_of(address, int(number)) if o["status"] in _LIVE]
            return {**body, "orders": live, "blockHeight": str(self.db.height)}
        if channel in ("v4_orderbook", "v4_trades"):
            if channel_id not in self.db.by_ticker:
                return None
            if channel == "v4_trades":
                return {"trades": list(reversed(self.db.trades.get(channel_id, [])))[:100]}
            return self.book_levels(channel_id)
        if channel == "v4_block_height":
            return {"height": str(self.db.height), "time": iso(self.db.time)}
        return {"markets": {m.ticker: self.db.market_entry(m, self.oracle(m.ticker))
                            for m in self.db.by_ticker.values()}}

    def _on_text(self, conn: Connection, text: str) -> None:
        try:
            msg = json.loads(text)
            kind, channel = msg["type"], msg.get("channel", "")
        except (ValueError, KeyError, TypeError):
            conn.send({"type": "error", "message": "Invalid message: could not parse"}, False)
            return
        if kind == "ping":
            return
        if channel not in _CHANNELS:
            conn.send({"type": "error", "message": f"Invalid channel: {channel}"}, False)
            return
        channel_id = str(msg.get("id", channel if channel in ("v4_block_height", "v4_markets")
                                 else ""))
        if kind == "unsubscribe":
            conn.subs.discard((channel, channel_id))
            conn.send({"type": "unsubscribed", "channel": channel, "id": channel_id})
            return
        snapshot = self._snapshot(channel, channel_id)
        if kind != "subscribe" or snapshot is None:
            conn.send({"type": "error", "channel": channel, "id": channel_id,
                       "message": f"Invalid subscription id for channel: ({channel}-{channel_id})"},
                      False)
            return
        conn.subs.add((channel, channel_id))
        conn.send({"type": "subscribed", "channel": channel, "id": channel_id,
                   "contents": snapshot})

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Any other GET path: the Indexer WebSocket."""
        ws = web.WebSocketResponse(heartbeat=30.0)
        if not ws.can_prepare(request).ok:
            return _not_found(f"Cannot GET {request.path}")
        await ws.prepare(request)
        conn = Connection(ws)
        self.connections.add(conn)
        conn.queue.put_nowait({"type": "connected", "connection_id": conn.id, "message_id": 0})
        writer = asyncio.create_task(self._write(conn))
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_text(conn, msg.data)
        finally:
            self.connections.discard(conn)
            conn.queue.put_nowait(None)
            with contextlib.suppress(Exception):
                await writer
        return ws

    @staticmethod
    async def _write(conn: Connection) -> None:
        while (message := await conn.queue.get()) is not None:
            if conn.ws.closed:
                return
            await conn.ws.send_str(json.dumps(message))

    async def close_all(self) -> None:
        """Close every socket (a fault the tests inject, and shutdown)."""
        for conn in list(self.connections):
            await conn.ws.close()
