"""``HyperliquidConnector``: the :class:`connectors.base.ExchangeConnector` for Hyperliquid.

It signs and sends actions over REST, queries ``/info``, and turns WebSocket pushes
(``orderUpdates``, ``userFills``, ``l2Book``; ``trades``, ``bbo``, ``userEvents`` through
:class:`MarketStreams`) into plain reports on async streams. It knows nothing of the event store:
the engine turns reports into events.

Example::

    async with HyperliquidConnector("http://127.0.0.1:8080", private_key=key) as conn:
        rule = conn.trading_rule("ETH")
        [result] = await conn.place_orders(
            [PlaceOrderRequest(cloid, "ETH", "buy", Decimal("0.01"), Decimal("3000"))],
            expires_after_ms=now_ms + 10_000,
        )
        status = await conn.order_status(cloid)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar

from connectors.base import (
    ActionResult,
    BboUpdate,
    BookUpdate,
    CancelResult,
    FillReport,
    Grouping,
    OrderStatusReport,
    PlaceOrderRequest,
    PlaceResult,
    PositionReport,
    ReconnectCallback,
    SendBudget,
    Side,
    TradeReport,
    TradingRule,
    UnknownPair,
)
from connectors.hyperliquid import (
    constants,
    dexes,
    fill_pages,
    order_wires,
    outcomes,
    parsing,
    prices,
    twap,
    wire,
)
from connectors.hyperliquid.account_reads import AccountReads
from connectors.hyperliquid.book import OrderBook
from connectors.hyperliquid.errors import (
    LeverageOutOfRange,
    MissingPrivateKey,
    ScheduleCancelTooEarly,
    UnexpectedReply,
)
from connectors.hyperliquid.market_streams import MarketStreams
from connectors.hyperliquid.nonces import NonceManager
from connectors.hyperliquid.rate_limits import RateBudget, action_items
from connectors.hyperliquid.rest import ExchangeReply, HyperliquidRest
from connectors.hyperliquid.rules import TradingRules, parse_perp_meta, parse_spot_meta
from connectors.hyperliquid.signer_role import check_signer_role
from connectors.hyperliquid.signing import L1Signer
from connectors.hyperliquid.streams import Broadcast, Subscription
from connectors.hyperliquid.user_events import UserEvent
from connectors.hyperliquid.ws import HyperliquidWs
from connectors.hyperliquid.ws_post import WsPoster
from connectors.twap import NativeTwapRequest, TwapPlaceResult, TwapSliceFill, TwapStatus

log = logging.getLogger(__name__)
_Report = TypeVar("_Report", OrderStatusReport, FillReport)



def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def ws_url_for(base_url: str) -> str:
    """``http(s)://host`` → ``ws(s)://host/ws`` (the SDK's rule)."""
    return "ws" + base_url.rstrip("/")[len("http") :] + constants.WS_PATH


class HyperliquidConnector(AccountReads):
    """Trade one Hyperliquid account (or vault/sub-account) through REST and WebSocket."""

    venue = constants.VENUE

    def __init__(
        self,
        base_url: str,
        private_key: str | None = None,
        account_address: str | None = None,
        vault_address: str | None = None,
        is_mainnet: bool = False,
        nonce_file: Path | str | None = None,
        request_timeout_s: float = 5.0,
        ws_url: str | None = None,
        ws_ping_interval_s: float = constants.WS_PING_INTERVAL_S,
        rules_refresh_s: float = constants.RULES_REFRESH_INTERVAL_S,
        rate_budget: RateBudget | Literal["off"] | None = None,
        actions_over_ws: bool = False,
        perp_dexs: Sequence[str] | None = None,
    ) -> None:
        self._signer = L1Signer(private_key) if private_key else None
        if account_address is None and self._signer is None and vault_address is None:
            raise MissingPrivateKey("pass private_key= (or account_address= for read-only use)")
        signer_address = self._signer.address if self._signer else None
        self._vault = vault_address.lower() if vault_address else None
        #: The address whose orders, fills and positions we query and stream.
        self.account = (vault_address or account_address or signer_address or "").lower()
        self._account_is_signer = account_address is None and vault_address is None
        self.is_mainnet = is_mainnet
        self._nonces = NonceManager(Path(nonce_file) if nonce_file else None)
        self._signer_address = signer_address
        #: The exchange's rate limits as counted on our side (``rate_budget="off"``: none).
        self.budget: RateBudget | None = (None if rate_budget == "off"
                                          else rate_budget or RateBudget())
        self._rest = HyperliquidRest(base_url, timeout_s=request_timeout_s, budget=self.budget)
        self._ws = HyperliquidWs(ws_url or ws_url_for(base_url), ping_interval_s=ws_ping_interval_s)
        self._rules = TradingRules()
        #: HIP-3 dexes to cover (None: every dex ``perpDexs`` lists; see dexes.py).
        self._wanted_dexes = None if perp_dexs is None else tuple(perp_dexs)
        self._listed_dexes: tuple[str, ...] = ()
        #: Builder dexes whose markets, open orders and positions this connector covers.
        self.perp_dexs: tuple[str, ...] = ()
        self._rules_refresh_s = rules_refresh_s
        self._refresh_task: asyncio.Task[None] | None = None
        self._books: dict[str, OrderBook] = {}
        self._order_updates: Broadcast[OrderStatusReport] = Broadcast()
        self._fills: Broadcast[FillReport] = Broadcast()
        self._book_updates: Broadcast[BookUpdate] = Broadcast(keep_latest=100)
        self._ws.on("orderUpdates", self._on_order_updates)
        self._ws.on("userFills", self._on_user_fills)
        self._ws.on("l2Book", self._on_l2_book)
        self._market = MarketStreams(self._ws, self.account, self._malformed)
        #: Actions as WebSocket posts (REST when the socket is down), or None: REST only.
        self.poster = (WsPoster(self._ws, self._rest, request_timeout_s) if actions_over_ws
                       else None)
        self._ws.add_disconnect_hook(self._on_disconnect)

    def __repr__(self) -> str:
        return f"HyperliquidConnector(account={self.account}, mainnet={self.is_mainnet})"

    @property
    def ws(self) -> HyperliquidWs:
        """The WebSocket client (stats, extra subscriptions via ``ws.on`` / ``ws.subscribe``)."""
        return self._ws

    @property
    def rest(self) -> HyperliquidRest:
        """The REST client (stats, raw ``info`` queries)."""
        return self._rest

    @property
    def nonce_file(self) -> Path | None:
        """The file the signer's nonces are reserved in (None: in-process guarantee only)."""
        return self._nonces.path

    def keep_nonces_in(self, folder: Path) -> None:
        """Reserve nonces in ``folder``/``nonce-<signer address>`` (shared safely by processes).

        Call before the first signed action; raises ``RuntimeError`` after it.
        """
        if self._nonces.last:
            raise RuntimeError("nonces were already issued: choose the nonce file before trading")
        name = f"nonce-{(self._signer_address or self.account).lower()}"
        self._nonces = NonceManager(Path(folder) / name)

    # lifecycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the session, load trading rules and open the user streams."""
        await self._rest.open()
        await self.refresh_rules()
        if self._account_is_signer and self._signer is not None:
            await check_signer_role(self._rest, self.account)
        await self.sync_rate_limit()
        self._ws.subscribe({"type": "orderUpdates", "user": self.account})
        self._ws.subscribe({"type": "userFills", "user": self.account})
        await self._ws.start()
        if self._refresh_task is None and self._rules_refresh_s > 0:
            self._refresh_task = asyncio.create_task(self._refresh_rules_forever())

    async def close(self) -> None:
        """Close socket, session and streams; idempotent."""
        if self._refresh_task is not None:
            self._refresh_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh_task
            self._refresh_task = None
        await self._ws.close()
        await self._rest.close()
        for broadcast in (self._order_updates, self._fills, self._book_updates):
            broadcast.close()
        self._market.close()

    async def __aenter__(self) -> HyperliquidConnector:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # rate limits -------------------------------------------------------------------------------

    async def sync_rate_limit(self) -> None:
        """Adopt the exchange's address counters (``userRateLimit``) into the budget."""
        if self.budget is not None:
            try:
                reply = await self._rest.info({"type": "userRateLimit", "user": self.account})
            except ConnectionError as exc:
                log.warning("userRateLimit unavailable (%s): counting from zero", exc)
                return
            self.budget.sync_from(reply)

    @property
    def send_budget(self) -> SendBudget | None:
        """Room left in the address budget, for a sender that batches (None: unlimited)."""
        return self.budget

    # rules -------------------------------------------------------------------------------------

    async def refresh_rules(self) -> None:
        """Reload ``meta``, ``spotMeta`` and every covered HIP-3 dex's ``meta`` into the rule
        registry; raises :class:`UnknownPerpDex` if ``perp_dexs`` names a dex not listed."""
        meta = await self._rest.info({"type": "meta"})
        spot_meta = await self._rest.info({"type": "spotMeta"})
        listed, covered, hip3 = await dexes.load_dex_rules(self._rest, self._wanted_dexes)
        self._rules.replace(parse_perp_meta(meta) + hip3, parse_spot_meta(spot_meta))
        self._listed_dexes, self.perp_dexs = listed, covered

    async def _refresh_rules_forever(self) -> None:
        while True:
            await asyncio.sleep(self._rules_refresh_s)
            try:
                await self.refresh_rules()
            except ConnectionError:
                log.warning("trading rules refresh failed; keeping the previous rules")
            except dexes.UnknownPerpDex as exc:  # a configured HIP-3 dex is no longer listed
                log.error("trading rules refresh: %s; keeping the previous rules", exc)

    def trading_rule(self, pair: str) -> TradingRule:
        """Rules of ``pair``; raises ``UnknownPair`` (``UnknownPerpDex`` for a ``dex:COIN`` pair
        whose dex is not listed or not covered, naming the dexes that are)."""
        try:
            return self._rules.get(pair)
        except UnknownPair:
            dex = dexes.dex_of(pair)
            if dex and dex not in self.perp_dexs:
                raise dexes.UnknownPerpDex(dex, self._listed_dexes, self.perp_dexs) from None
            raise

    # signed actions ----------------------------------------------------------------------------

    async def _send(self, action: dict[str, Any], expires_after_ms: int | None) -> ExchangeReply:
        if self._signer is None:
            raise MissingPrivateKey("this connector has no private key; it cannot sign actions")
        nonce = self._nonces.next()
        signature = self._signer.sign(action, nonce, self._vault, expires_after_ms, self.is_mainnet)
        body = wire.exchange_body(action, nonce, signature, self._vault, expires_after_ms)
        reply = await self.poster.post_action(body) if self.poster is not None else None
        if reply is None:
            reply = await self._rest.exchange(body)
        if self.budget is not None:
            self.budget.count_reply(action_items(action), reply.kind, reply.response)
        return reply

    def _order_wire(self, request: PlaceOrderRequest) -> wire.OrderWire:
        return order_wires.request_wire(self.trading_rule(request.pair), request)

    async def place_orders(
        self,
        requests: Sequence[PlaceOrderRequest],
        expires_after_ms: int | None,
        grouping: Grouping = "na",
    ) -> list[PlaceResult]:
        """Place orders in one ``order`` action; one result per request.

        Raises ``OrderRuleViolation`` / ``UnknownPair`` / ``InvalidCloid`` before sending anything
        (also for a TP/SL grouping the exchange would refuse, see :mod:`order_wires`).
        """
        if not requests:
            return []
        order_wires.check_grouping(requests, grouping)
        wires = [self._order_wire(r) for r in requests]
        reply = await self._send(wire.order_action(wires, grouping), expires_after_ms)
        return outcomes.place_results(reply, [r.cloid for r in requests])

    async def modify(
        self, order_id: str, request: PlaceOrderRequest, expires_after_ms: int | None
    ) -> PlaceResult:
        """Replace order ``order_id`` (an exchange oid, or a ``0x`` cloid) with ``request``.

        Sent as ``batchModify`` (as the SDK does); the result carries the new oid.
        """
        target: int | str = order_id if order_id.startswith("0x") else int(order_id)
        action = wire.batch_modify_action([(target, self._order_wire(request))])
        reply = await self._send(action, expires_after_ms)
        return outcomes.place_results(reply, [request.cloid])[0]

    async def cancel(
        self, pair: str, exchange_order_id: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Cancel one order by its exchange order id."""
        asset = self.trading_rule(pair).asset_id
        action = wire.cancel_action([(asset, int(exchange_order_id))])
        return outcomes.cancel_results(await self._send(action, expires_after_ms), 1)[0]

    async def cancel_by_cloid(
        self, pair: str, cloid: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Cancel one order by its client order id."""
        asset = self.trading_rule(pair).asset_id
        action = wire.cancel_by_cloid_action([(asset, cloid)])
        return outcomes.cancel_results(await self._send(action, expires_after_ms), 1)[0]

    async def cancel_many_by_cloid(
        self, cancels: Sequence[tuple[str, str]], expires_after_ms: int | None
    ) -> list[CancelResult]:
        """Cancel ``(pair, cloid)`` orders in one ``cancelByCloid`` action (one IP weight for
        the batch, reference §10); one three-valued result per cancel, in order."""
        if not cancels:
            return []
        items = [(self.trading_rule(pair).asset_id, cloid) for pair, cloid in cancels]
        reply = await self._send(wire.cancel_by_cloid_action(items), expires_after_ms)
        return outcomes.cancel_results(reply, len(items))

    async def schedule_cancel(self, at_ms: int | None) -> CancelResult:
        """Dead-man switch: cancel everything at ``at_ms`` unless renewed; ``None`` clears it."""
        if at_ms is not None and at_ms < _now_ms() + constants.SCHEDULE_CANCEL_MIN_LEAD_MS:
            raise ScheduleCancelTooEarly(
                f"scheduleCancel time {at_ms} is less than 5 s from now; pick a later time"
            )
        reply = await self._send(wire.schedule_cancel_action(at_ms), None)
        return outcomes.default_result(reply)

    async def update_leverage(
        self, pair: str, leverage: int, is_cross: bool = True,
        expires_after_ms: int | None = None,
    ) -> ActionResult:
        """Set the leverage of a perp (cross or isolated margin)."""
        rule = self.trading_rule(pair)
        if rule.is_spot or not 1 <= leverage <= rule.max_leverage:
            raise LeverageOutOfRange(
                f"{pair}: leverage {leverage} outside 1..{rule.max_leverage} (spot has none)"
            )
        action = wire.update_leverage_action(rule.asset_id, is_cross, leverage)
        return outcomes.default_result(await self._send(action, expires_after_ms))

    async def update_isolated_margin(
        self, pair: str, amount: Decimal, expires_after_ms: int | None = None
    ) -> ActionResult:
        """Add (> 0) or remove (< 0) ``amount`` USDC of an isolated position's margin.

        Sent as ``updateIsolatedMargin`` with ``ntli`` = micro-USD (reference §4.7, §13.5).
        """
        rule = self.trading_rule(pair)
        action = order_wires.isolated_margin_action(rule, amount)
        return outcomes.default_result(await self._send(action, expires_after_ms))
    # native TWAP (reference §13.11; connectors/hyperliquid/twap.py) ---------------------------

    def check_twap(self, request: NativeTwapRequest, price: Decimal) -> None:
        """Raise ``InvalidTwap`` / ``UnknownPair`` for a TWAP the exchange would refuse."""
        twap.check_twap(self.trading_rule(request.pair), request, price)

    async def twap_order(
        self, request: NativeTwapRequest, expires_after_ms: int | None
    ) -> TwapPlaceResult:
        """Place a native TWAP; three-valued (a lost reply is UNKNOWN: see ``twap_history``)."""
        rule = self.trading_rule(request.pair)
        twap.check_twap(rule, request, Decimal("Infinity"))
        action = twap.twap_order_action(
            rule.asset_id, request.side == "buy", wire.decimal_to_wire(request.amount),
            request.reduce_only, request.minutes, request.randomize)
        return twap.twap_order_result(await self._send(action, expires_after_ms))

    async def twap_cancel(
        self, pair: str, twap_id: str, expires_after_ms: int | None
    ) -> CancelResult:
        """Stop a running native TWAP (its filled slices stay)."""
        action = twap.twap_cancel_action(self.trading_rule(pair).asset_id, int(twap_id))
        return twap.twap_cancel_result(await self._send(action, expires_after_ms))

    async def twap_history(self) -> list[TwapStatus]:
        """Every ``twapHistory`` row of the account, oldest first."""
        return twap.parse_twap_history(
            await self._rest.info({"type": "twapHistory", "user": self.account}))

    async def twap_slice_fills(self, start_ms: int | None = None) -> list[TwapSliceFill]:
        """Native TWAP slice fills, oldest first: the newest 2000 (``userTwapSliceFills``), or
        those at or after ``start_ms`` (``userTwapSliceFillsByTime``, first 2000)."""
        body: dict[str, Any] = {"type": "userTwapSliceFills", "user": self.account}
        if start_ms is not None:
            body = {"type": "userTwapSliceFillsByTime", "user": self.account,
                    "startTime": start_ms}
        return twap.parse_slice_fills(await self._rest.info(body))

    # queries -----------------------------------------------------------------------------------

    async def order_status(self, cloid: str) -> OrderStatusReport:
        """The order with client id ``cloid``: NOT_FOUND if unknown, raises if unsure."""
        reply = await self._rest.info(
            {"type": "orderStatus", "user": self.account, "oid": wire.validate_cloid(cloid)}
        )
        return self._named(parsing.parse_order_status_reply(reply, cloid))

    async def order_status_by_id(self, exchange_order_id: str) -> OrderStatusReport:
        """The order with exchange id ``exchange_order_id`` (NOT_FOUND if unknown)."""
        reply = await self._rest.info(
            {"type": "orderStatus", "user": self.account, "oid": int(exchange_order_id)}
        )
        return self._named(parsing.parse_order_status_reply(reply, None))

    async def open_orders(self) -> list[OrderStatusReport]:
        """Every open order of the account, on the first dex and every covered HIP-3 dex."""
        out: list[OrderStatusReport] = []
        for dex in ("", *self.perp_dexs):
            body = {"type": "openOrders", "user": self.account}
            reply = await self._rest.info(dexes.with_dex(body, dex))
            if not isinstance(reply, list):
                raise UnexpectedReply("openOrders reply is not a list", repr(reply))
            out.extend(self._named(parsing.parse_open_order(o)) for o in reply)
        return out

    async def fills_since(self, start_ms: int) -> list[FillReport]:
        """Every fill at or after ``start_ms``, oldest first (paginated by time, deduped by tid)."""
        fills = await fill_pages.fills_since(self._rest, self.account, start_ms)
        return [self._named(fill) for fill in fills]

    async def positions(self) -> list[PositionReport]:
        """Open perp positions of the account, on the first dex and every covered HIP-3 dex."""
        out: list[PositionReport] = []
        for dex in ("", *self.perp_dexs):
            body = {"type": "clearinghouseState", "user": self.account}
            state = await self._rest.info(dexes.with_dex(body, dex))
            if not isinstance(state, dict):
                raise UnexpectedReply("clearinghouseState reply is not an object", repr(state))
            out.extend(parsing.parse_positions(state))
        return out

    async def reference_price(self, pair: str, side: Side) -> Decimal:
        """Best opposite quote of the live book when fresh, else of an ``l2Book`` snapshot,
        else the ``allMids`` mid (see :mod:`connectors.hyperliquid.prices`)."""
        self.trading_rule(pair)
        return await prices.reference_price(self._rest, self._books.get(pair), pair, side)

    async def leverage(self, pair: str) -> tuple[int, bool]:
        """``(leverage, is_cross)`` of ``pair`` for this account (``activeAssetData``, §13.5)."""
        self.trading_rule(pair)
        body = {"type": "activeAssetData", "user": self.account, "coin": pair}
        return parsing.parse_leverage(await self._rest.info(body))

    async def mark_price(self, pair: str) -> Decimal:
        """The mark price of perp ``pair`` (``metaAndAssetCtxs``), what triggers fire on."""
        body = dexes.with_dex({"type": "metaAndAssetCtxs"}, dexes.dex_of(pair))
        return prices.mark_of(await self._rest.info(body), pair)

    async def spot_balances(self) -> dict[str, Decimal]:
        """Spot token balances (total, including amounts on hold) by token name."""
        state = await self._rest.info({"type": "spotClearinghouseState", "user": self.account})
        try:
            return {str(b["coin"]): Decimal(str(b["total"])) for b in state["balances"]}
        except (KeyError, TypeError, ArithmeticError) as exc:
            raise UnexpectedReply(
                "spotClearinghouseState has an unexpected shape", repr(state)
            ) from exc

    # streams -----------------------------------------------------------------------------------

    def order_updates(self) -> Subscription[OrderStatusReport]:
        """Pushed order status changes (``orderUpdates`` channel)."""
        return self._order_updates.subscribe()

    def fills(self) -> Subscription[FillReport]:
        """Pushed fills (``userFills``, snapshots after connect included): dedupe by trade id."""
        return self._fills.subscribe()

    def book_updates(self) -> Subscription[BookUpdate]:
        """Pushed L2 snapshots of every pair passed to :meth:`subscribe_book`."""
        return self._book_updates.subscribe()

    def subscribe_book(self, pair: str, stale_after_s: float = 5.0) -> OrderBook:
        """Stream the L2 book of ``pair``; returns the live :class:`OrderBook`."""
        self.trading_rule(pair)
        if pair not in self._books:
            self._books[pair] = OrderBook(pair, stale_after_s)
            self._ws.subscribe({"type": "l2Book", "coin": pair})
        return self._books[pair]

    def book(self, pair: str) -> OrderBook:
        """The live book of a pair passed to :meth:`subscribe_book`."""
        return self._books[pair]

    def subscribe_trades(self, pair: str) -> Subscription[TradeReport]:
        """Public trades of ``pair`` from now on (``trades``; one WS subscription per pair)."""
        self.trading_rule(pair)
        return self._market.trades(pair)

    def subscribe_bbo(self, pair: str) -> Subscription[BboUpdate]:
        """Best bid/offer changes of ``pair`` (``bbo``; one WS subscription per pair)."""
        self.trading_rule(pair)
        return self._market.bbo(pair)

    def user_events(self) -> Subscription[UserEvent]:
        """The account's ``userEvents``: fills, funding, liquidations, non-user cancels.

        Its fills (:class:`UserEventFills`) are informational: :meth:`fills` is fed by
        ``userFills`` only, our single source of truth for fills.
        """
        return self._market.user_events()

    def add_reconnect_callback(self, callback: ReconnectCallback) -> None:
        """Await ``callback()`` after every WebSocket reconnect (gap fill by REST)."""
        self._ws.add_reconnect_callback(callback)

    def _named(self, report: _Report) -> _Report:
        """The report with the pair under our name: a spot pair the exchange calls ``"@107"``
        becomes ``"HYPE/USDC"`` (what orders were placed with, and positions are kept by)."""
        pair = self._rules.canonical(report.pair)
        return report if pair == report.pair else dataclasses.replace(report, pair=pair)

    def _malformed(self, what: str, exc: UnexpectedReply) -> None:
        # One bad element must not hide its neighbours: count it, log it, keep going.
        self._ws.stats.malformed += 1
        log.warning("skipping malformed %s: %s (raw %.300s)", what, exc, exc.raw)

    def _on_order_updates(self, data: Any) -> None:
        for entry in data:
            try:
                report = parsing.parse_order_entry(entry)
            except UnexpectedReply as exc:
                self._malformed("order update", exc)
                continue
            self._order_updates.publish(self._named(report))

    def _on_user_fills(self, data: Any) -> None:
        user = str(data.get("user", self.account)).lower()
        if user != self.account:
            return
        for raw in data.get("fills", []):
            try:
                fill = parsing.parse_fill(raw)
            except UnexpectedReply as exc:
                self._malformed("fill", exc)
                continue
            if self.budget is not None and not data.get("isSnapshot"):
                self.budget.traded(fill.price * fill.amount)  # 1 request per USDC traded
            self._fills.publish(self._named(fill))

    def _on_l2_book(self, data: Any) -> None:
        update = parsing.parse_l2_book(data)
        book = self._books.get(update.pair)
        if book is not None:
            book.apply(update)
        self._book_updates.publish(update)

    def _on_disconnect(self) -> None:
        for book in self._books.values():
            book.mark_stale()
