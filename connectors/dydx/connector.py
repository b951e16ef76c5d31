"""``DydxConnector``: the :class:`connectors.base.ExchangeConnector` for dYdX v4.

Orders are Cosmos transactions signed here and broadcast to a node over gRPC; their fate is read
from the Indexer (REST ``/v4`` and the ``v4_subaccounts`` WebSocket channel). Our cloids map onto
dYdX's 32-bit client ids through a durable journal (``client_ids.py``). See ``orders.py`` for how
order kinds and deadlines are chosen.

Example::

    conn = DydxConnector(node_url="127.0.0.1:9090", rest_url="http://127.0.0.1:3002",
                         ws_url="ws://127.0.0.1:3003/v4/ws", mnemonic=words,
                         client_id_file=Path("dydx-ids.jsonl"))
    await conn.start()
    [result] = await conn.place_orders([PlaceOrderRequest(cloid, "ETH-USD", "buy",
                                        Decimal("0.01"), Decimal("3000"))], deadline_ms)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.base import (
    BookUpdate,
    CancelResult,
    ExchangeOrderStatus,
    FillReport,
    Grouping,
    OrderRuleViolation,
    OrderStatusReport,
    Outcome,
    PlaceOrderRequest,
    PlaceResult,
    PositionReport,
    ReconnectCallback,
    Side,
    TradingRule,
)
from connectors.dydx import constants as c
from connectors.dydx import orders, parsing
from connectors.dydx.account import DydxAccountMixin
from connectors.dydx.book import LevelBook
from connectors.dydx.client_ids import ClientIdJournal, ClientIdRecord
from connectors.dydx.errors import DydxError, NotYetCertain, UnexpectedReply
from connectors.dydx.markets import Markets
from connectors.dydx.node import NodeClient
from connectors.dydx.rest import IndexerRest
from connectors.dydx.sender import TxSender
from connectors.dydx.signing import DydxKey, TxSigner
from connectors.dydx.streams import DydxStreams
from connectors.dydx.ws import IndexerWs
from connectors.streams import Subscription

log = logging.getLogger(__name__)

_DEFAULT_HORIZON_MS = 10_000
_NO_LEVERAGE = ("dYdX v4 margins per subaccount (cross by default): there is no per-market"
                " leverage or isolated-margin action to send")
_FILL_PAGE = 1000
_MAX_FILL_PAGES = 20


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class MissingKey(DydxError):
    """The connector was built without a mnemonic and cannot sign."""


class DydxConnector(DydxAccountMixin):
    """Trade one dYdX v4 subaccount (and read its account truth: ``account.py``)."""

    venue = c.VENUE

    def __init__(
        self,
        node_url: str,
        rest_url: str,
        ws_url: str,
        mnemonic: str | None = None,
        address: str | None = None,
        subaccount: int = 0,
        chain_id: str = c.LOCAL_CHAIN_ID,
        client_id_file: Path | str | None = None,
        block_time_s: float = 1.0,
        long_term_ttl_s: int = 28 * 24 * 3600,
        request_timeout_s: float = 5.0,
        secure: bool = False,
        key: DydxKey | None = None,
    ) -> None:
        # ``key``: an already derived key (e.g. decrypted from a keystore) instead of words.
        self._key = key or (DydxKey.from_mnemonic(mnemonic) if mnemonic else None)
        address = address or (self._key.address if self._key else None)
        if not address:
            raise MissingKey("pass mnemonic= (or address= for read-only use)")
        self.address, self.subaccount = address, subaccount
        #: ``<address>/<subaccount number>``: the account the engine journals.
        self.account = f"{address}/{subaccount}"
        self.chain_id = chain_id
        self.block_time_s = block_time_s
        self.long_term_ttl_s = long_term_ttl_s
        self.node = NodeClient(node_url, secure=secure, timeout_s=request_timeout_s)
        self.rest = IndexerRest(rest_url, timeout_s=request_timeout_s)
        self.ws = IndexerWs(ws_url, self._on_ws_message)
        self.streams = DydxStreams(self._cloid_of, self._ticker_of, self._on_height, self.ws.stats)
        self.ids = ClientIdJournal(Path(client_id_file) if client_id_file else None, address,
                                   subaccount)
        self.markets = Markets()
        self._sender: TxSender | None = None
        self._height, self._height_at = 0, 0.0
        self.indexer_height = 0

    def __repr__(self) -> str:
        return f"DydxConnector(account={self.account}, chain={self.chain_id})"

    # lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load markets, the account number and sequence, and open the Indexer streams."""
        await self.rest.open()
        await self.refresh_markets()
        if self._key is not None and self._sender is None:
            number, sequence = await self.node.account(self.address)
            signer = TxSigner(self._key, self.chain_id, number)
            self._sender = TxSender(signer, self.node, sequence)
        self.ws.subscribe("v4_subaccounts", self.account)
        self.ws.subscribe("v4_block_height")
        await self.ws.start()

    async def close(self) -> None:
        """Close streams, sessions and the journal; idempotent."""
        await self.ws.close()
        await self.rest.close()
        await self.node.close()
        self.ids.close()
        self.streams.close()

    async def refresh_markets(self) -> None:
        """Reload ``/v4/perpetualMarkets``."""
        self.markets.replace(await self.rest.get("/v4/perpetualMarkets"))

    def trading_rule(self, pair: str) -> TradingRule:
        """Rules of ``pair`` (a ticker such as ``ETH-USD``); raises ``UnknownPair``."""
        return self.markets.rule(pair)

    def slippage_price(self, pair: str, side: str, slippage: Decimal = Decimal("0.05")
                       ) -> Decimal:
        """The worst price of a market (IOC) order: oracle ± ``slippage``, on the tick.

        The official client has no slippage bound in 1.1.5 (its example passes price 0); the
        later GitHub code and the Rust client use the oracle ±5 %, as here.
        """
        market = self.markets.get(pair)
        if market.oracle_price is None:
            raise UnexpectedReply(f"{pair}: the Indexer gave no oracle price")
        factor = 1 + slippage if side == "buy" else 1 - slippage
        return self.trading_rule(pair).quantize_price(market.oracle_price * factor)

    # placing ---------------------------------------------------------------------------------

    def _require_sender(self) -> TxSender:
        if self._sender is None:
            raise MissingKey("this connector has no mnemonic (or was not started): cannot sign")
        return self._sender

    async def height(self) -> int:
        """The latest committed height: from the node when the one we know (from the node or
        the Indexer's ``v4_block_height``) is a block old. Deadlines tolerate that staleness:
        a short-term order gets at least 3 blocks (``orders.plan``)."""
        if time.monotonic() - self._height_at > self.block_time_s:
            self._height = await self.node.latest_height()
            self._height_at = time.monotonic()
        return self._height

    async def place_orders(
        self, requests: Sequence[PlaceOrderRequest], expires_after_ms: int | None,
        grouping: Grouping = "na",
    ) -> list[PlaceResult]:
        """One transaction per order (a CLOB transaction carries one message); one result each.

        A request with a ``trigger`` becomes a conditional order (flags 32, ``orders.py``); its
        acceptance is reported with reason ``waitingForTrigger`` (the Indexer says UNTRIGGERED).
        Raises ``OrderRuleViolation`` / ``UnknownPair`` before anything is sent, and
        ``OrderRuleViolation`` for a TP/SL grouping (dYdX has no bracket or position-TP/SL
        action: its conditional orders are independent, so an OCO pair would be ours to keep).
        """
        if grouping != "na":
            raise OrderRuleViolation(f"dYdX has no {grouping} grouping (no bracket / position"
                                     " TP/SL action): place the entry, then each trigger order"
                                     " on its own with trigger_order()")
        sender = self._require_sender()
        for r in requests:  # every conversion is exact or refused, before anything is sent
            market = self.markets.get(r.pair)
            market.to_quantums(r.amount), market.to_subticks(r.price)
            if r.trigger is not None:
                market.to_subticks(r.trigger.price)
            if r.reduce_only and (r.tif != "Ioc" or r.trigger is not None):
                orders.plan(r, 0, 0, 0, self.block_time_s, self.long_term_ttl_s)
        height = await self.height()
        deadline = expires_after_ms or _now_ms() + _DEFAULT_HORIZON_MS
        planned = []
        for r in requests:  # journal every client id of the batch, then one fsync, then send
            p = orders.plan(r, height, _now_ms(), deadline, self.block_time_s,
                            self.long_term_ttl_s)
            market = self.markets.get(r.pair)
            planned.append((r, p, self.ids.allocate(
                r.cloid, r.pair, market.clob_pair_id, p.flags, p.good_til_block,
                p.good_til_block_time, p.dead_after_height, sync=False)))
        self.ids.sync()
        return list(await asyncio.gather(*(self._place_one(sender, *x) for x in planned)))

    async def _place_one(self, sender: TxSender, request: PlaceOrderRequest, p: orders.Plan,
                         record: ClientIdRecord) -> PlaceResult:
        market = self.markets.get(request.pair)
        msg = orders.place_message(self.address, self.subaccount, record, market, request)
        try:
            if p.flags == c.FLAG_SHORT_TERM:
                result = await sender.send_short_term(msg)
            else:
                result = await sender.send_stateful(msg, p.dead_after_height)
        except ConnectionError as exc:
            return PlaceResult(Outcome.UNKNOWN, request.cloid, reason=str(exc))
        self.ids.ack(record.client_id, result.accepted)
        if result.accepted and p.flags == c.FLAG_CONDITIONAL:
            return PlaceResult(Outcome.CONFIRMED, request.cloid, exchange_order_id=record.order_id,
                               resting=True, reason="waitingForTrigger")
        if result.accepted:
            return PlaceResult(Outcome.CONFIRMED, request.cloid, exchange_order_id=record.order_id,
                               resting=request.tif != "Ioc")
        return PlaceResult(Outcome.REJECTED, request.cloid, reason=result.reason,
                           raw=result.raw_log)

    async def modify(self, order_id: str, request: PlaceOrderRequest,
                     expires_after_ms: int | None) -> PlaceResult:
        """Cancel ``order_id`` then place ``request`` (dYdX has no atomic modify of a stateful
        order); the replacement is sent only once the cancel is accepted, else it is reported
        REJECTED — never sent — and the old order's fate is learned from its status."""
        if order_id.startswith("0x"):
            old = await self.cancel_by_cloid(request.pair, order_id, expires_after_ms)
        else:
            old = await self.cancel(request.pair, order_id, expires_after_ms)
        if old.outcome is not Outcome.CONFIRMED:
            return PlaceResult(Outcome.REJECTED, request.cloid,
                               reason=f"not sent: the old order's cancel was {old.outcome.value}"
                               f" ({old.reason})")
        return (await self.place_orders([request], expires_after_ms))[0]

    # cancels ---------------------------------------------------------------------------------

    async def _cancel_record(self, record: ClientIdRecord, expires_after_ms: int | None
                             ) -> CancelResult:
        sender = self._require_sender()
        height = await self.height()
        if record.flags == c.FLAG_SHORT_TERM and record.good_til_block <= height:
            return CancelResult(Outcome.REJECTED, reason=f"already expired: goodTilBlock"
                                f" {record.good_til_block} ≤ height {height}")
        msg = orders.cancel_message(self.address, self.subaccount, record)
        try:
            if record.flags == c.FLAG_SHORT_TERM:
                result = await sender.send_short_term(msg)
            else:
                deadline = expires_after_ms or _now_ms() + _DEFAULT_HORIZON_MS
                blocks = orders.blocks_until(deadline, _now_ms(), self.block_time_s)
                result = await sender.send_stateful(msg, height + 1 + max(blocks, 2))
        except ConnectionError as exc:
            return CancelResult(Outcome.UNKNOWN, reason=str(exc))
        return result.as_cancel()

    async def cancel_by_cloid(self, pair: str, cloid: str, expires_after_ms: int | None
                              ) -> CancelResult:
        """Cancel by our cloid (REJECTED if the cloid was never sent)."""
        record = self.ids.by_cloid(cloid)
        if record is None:
            return CancelResult(Outcome.REJECTED, reason="this cloid was never sent to dYdX")
        return await self._cancel_record(record, expires_after_ms)

    async def cancel(self, pair: str, exchange_order_id: str, expires_after_ms: int | None
                     ) -> CancelResult:
        """Cancel by the Indexer's order id (ours, or one found on the exchange)."""
        record = self.ids.by_order_id(exchange_order_id)
        if record is None:
            row = await self.rest.get(f"/v4/orders/{exchange_order_id}")
            if row is None:
                return CancelResult(Outcome.REJECTED, reason="the Indexer does not know it")
            record = parsing.record_of_row(row, pair)
        return await self._cancel_record(record, expires_after_ms)

    async def batch_cancel(self, cloids: Sequence[str], expires_after_ms: int | None
                           ) -> list[CancelResult]:
        """Cancel many orders: one ``MsgBatchCancel`` per ≤100 short-term orders (all clobs), one
        cancel each for long-term ones; one result per cloid, in order."""
        from connectors.dydx.batch import batch_cancel

        return await batch_cancel(self, cloids, expires_after_ms)

    async def cancel_many_by_cloid(self, cancels: Sequence[tuple[str, str]],
                                   expires_after_ms: int | None) -> list[CancelResult]:
        """Cancel ``(pair, cloid)`` orders (:meth:`batch_cancel`); one result each, in order."""
        return await self.batch_cancel([cloid for _, cloid in cancels], expires_after_ms)

    async def update_leverage(self, pair: str, leverage: int, is_cross: bool = True,
                              expires_after_ms: int | None = None) -> CancelResult:
        """dYdX v4 has no per-market leverage setting (margin is per subaccount): REJECTED."""
        return CancelResult(Outcome.REJECTED, reason=_NO_LEVERAGE)

    async def update_isolated_margin(self, pair: str, amount: Decimal,
                                     expires_after_ms: int | None = None) -> CancelResult:
        """Isolated margin is a subaccount transfer on dYdX, not supported here: REJECTED."""
        return CancelResult(Outcome.REJECTED, reason=_NO_LEVERAGE)

    async def leverage(self, pair: str) -> tuple[int, bool]:
        """dYdX has no leverage setting to read: refused with the reason."""
        raise OrderRuleViolation(_NO_LEVERAGE)

    async def mark_price(self, pair: str) -> Decimal:
        """The market's oracle price (what dYdX marks positions at)."""
        await self.refresh_markets()
        price = self.markets.get(pair).oracle_price
        if price is None:
            raise UnexpectedReply(f"{pair}: the Indexer gave no oracle price")
        return price

    async def reference_price(self, pair: str, side: Side) -> Decimal:
        """Where a market order starts: the oracle price (:meth:`slippage_price` bounds it)."""
        return await self.mark_price(pair)

    async def schedule_cancel(self, at_ms: int | None) -> CancelResult:
        """dYdX has no dead-man switch: always REJECTED (short-term orders expire by GTB)."""
        return CancelResult(Outcome.REJECTED, reason="dYdX v4 has no scheduled cancel; use"
                            " short-term orders, which expire at their goodTilBlock")

    # queries ---------------------------------------------------------------------------------

    def _cloid_of(self, row: Mapping[str, Any]) -> str | None:
        record = self.ids.by_order_id(str(row.get("id", "")))
        meta = row.get("clientMetadata")
        if record is None or (meta is not None and str(meta) != str(c.CLIENT_METADATA)):
            return None
        return record.cloid

    def _ticker_of(self, row: Mapping[str, Any]) -> str | None:
        record = self.ids.by_order_id(str(row.get("id", "")))
        if record is not None:
            return record.ticker
        market = self.markets.by_clob(int(row["clobPairId"])) if "clobPairId" in row else None
        return market.ticker if market else None

    async def order_status(self, cloid: str) -> OrderStatusReport:
        """The order of ``cloid``. NOT_FOUND only when certain: never sent, or refused, or gone
        from the Indexer after the last block at which it could appear; else raises
        :class:`NotYetCertain` (an ``ExchangeUnavailable``: ask again)."""
        record = self.ids.by_cloid(cloid)
        if record is None:
            return OrderStatusReport("", ExchangeOrderStatus.NOT_FOUND, cloid, None,
                                     raw_status="never sent")
        row = await self.rest.get(f"/v4/orders/{record.order_id}")
        if row is not None:
            return parsing.parse_order(row, self._cloid_of, record.ticker)
        reply = await self.rest.get("/v4/height")
        indexed = int(parsing.decimal((reply or {}).get("height", 0), "height"))
        if indexed < record.dead_after_height:
            raise NotYetCertain(f"{cloid}: the Indexer is at block {indexed}; the order could"
                                f" still appear until block {record.dead_after_height}")
        if self.ids.accepted(record.client_id):
            # Accepted, yet unknown after its last block: a short-term order that expired without
            # a fill (the Indexer keeps no row for those) or a transaction never included.
            return OrderStatusReport(record.ticker, ExchangeOrderStatus.CANCELED, cloid,
                                     record.order_id, remaining=None,
                                     raw_status=f"gone after block {record.dead_after_height}")
        return OrderStatusReport(record.ticker, ExchangeOrderStatus.NOT_FOUND, cloid, None,
                                 raw_status=f"unknown after block {record.dead_after_height}")

    async def open_orders(self) -> list[OrderStatusReport]:
        """Every live order of the subaccount (OPEN, BEST_EFFORT_OPENED, UNTRIGGERED)."""
        rows = await self.rest.get("/v4/orders", self._query(
            status="OPEN,BEST_EFFORT_OPENED,UNTRIGGERED"))
        if not isinstance(rows, list):
            raise UnexpectedReply("/v4/orders reply is not a list", repr(rows))
        return [parsing.parse_order(r, self._cloid_of, self._ticker_of(r)) for r in rows]

    def _query(self, **extra: str | int) -> dict[str, str | int]:
        return {"address": self.address, "subaccountNumber": self.subaccount,
                "limit": _FILL_PAGE, **extra}

    async def fills_since(self, start_ms: int) -> list[FillReport]:
        """Every fill at or after ``start_ms``, oldest first (pages walk back by height)."""
        seen: dict[str, FillReport] = {}
        before: int | None = None
        for _ in range(_MAX_FILL_PAGES):
            params = self._query() if before is None else self._query(
                createdBeforeOrAtHeight=before)
            reply = await self.rest.get("/v4/fills", params)
            page = (reply or {}).get("fills") if isinstance(reply, dict) else None
            if not isinstance(page, list):
                raise UnexpectedReply("/v4/fills reply has no 'fills' list", repr(reply))
            oldest = None
            for row in page:
                fill = parsing.parse_fill(row, self._cloid_of)
                oldest = min(oldest or fill.timestamp_ms, fill.timestamp_ms)
                if fill.timestamp_ms >= start_ms:
                    seen.setdefault(fill.trade_id, fill)
            if len(page) < _FILL_PAGE or oldest is None or oldest < start_ms:
                break
            before = min(int(r["createdAtHeight"]) for r in page) - 1
        return sorted(seen.values(), key=lambda f: (f.timestamp_ms, f.trade_id))

    async def positions(self) -> list[PositionReport]:
        """Open perpetual positions of the subaccount."""
        body = await self.rest.get(f"/v4/addresses/{self.address}/subaccountNumber/"
                                   f"{self.subaccount}")
        return [] if body is None else parsing.parse_positions(body)

    # streams ---------------------------------------------------------------------------------

    def order_updates(self) -> Subscription[OrderStatusReport]:
        """Order updates of ``v4_subaccounts`` (snapshots after each connect included)."""
        return self.streams.order_updates.subscribe()

    def fills(self) -> Subscription[FillReport]:
        """Fills of ``v4_subaccounts``: dedupe by trade id."""
        return self.streams.fills.subscribe()

    def subscribe_book(self, pair: str) -> None:
        """Stream the L2 book of ``pair`` (``v4_orderbook``) into :meth:`book_updates`."""
        self.markets.get(pair)
        if pair not in self.streams.books:
            self.streams.books[pair] = LevelBook(pair)
            self.ws.subscribe("v4_orderbook", pair)

    def book_updates(self) -> Subscription[BookUpdate]:
        """Whole-book snapshots of every pair passed to :meth:`subscribe_book`."""
        return self.streams.book_updates.subscribe()

    def add_reconnect_callback(self, callback: ReconnectCallback) -> None:
        """Await ``callback()`` after every Indexer WebSocket reconnect (gap fill by REST)."""
        self.ws.add_reconnect_callback(callback)

    def _on_ws_message(self, channel: str, channel_id: str, contents: Any, snapshot: bool
                       ) -> None:
        self.streams.handle(channel, channel_id, contents, snapshot)

    def _on_height(self, height: int) -> None:
        self.indexer_height = height
        if height > self._height:  # a newer height for free
            self._height, self._height_at = height, time.monotonic()
