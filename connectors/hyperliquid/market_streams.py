"""Typed streams of the ``trades``, ``bbo`` and ``userEvents`` channels, owned by the connector.

:class:`MarketStreams` registers its handlers on a :class:`HyperliquidWs`, subscribes a channel
the first time someone asks for it (once per pair, however often it is asked) and fans parsed
reports out through :class:`Broadcast`. Subscriptions survive reconnects (the socket resubscribes)
and yield what is pushed from the moment they are created. A malformed push or element is handed
to ``on_malformed`` (counted and logged by the connector), never raised.

Example::

    streams = MarketStreams(ws, account, on_malformed)
    async for trade in streams.trades("ETH"): ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from connectors.base import BboUpdate, TradeReport
from connectors.hyperliquid import market_parsing
from connectors.hyperliquid.errors import UnexpectedReply
from connectors.hyperliquid.streams import Broadcast, Subscription
from connectors.hyperliquid.user_events import UserEvent
from connectors.hyperliquid.ws import HyperliquidWs

MalformedHook = Callable[[str, UnexpectedReply], None]
T = TypeVar("T")

_TRADES_KEEP_LATEST = 10_000  # a reader this far behind loses the oldest trades, not memory
_BBO_KEEP_LATEST = 100  # only the latest quotes matter to a slow reader


class MarketStreams:
    """Per-pair ``trades`` / ``bbo`` broadcasts and the account's ``userEvents`` broadcast."""

    def __init__(self, ws: HyperliquidWs, account: str, on_malformed: MalformedHook) -> None:
        self._ws = ws
        self._account = account
        self._on_malformed = on_malformed
        self._trades: dict[str, Broadcast[TradeReport]] = {}
        self._bbos: dict[str, Broadcast[BboUpdate]] = {}
        self._user_events: Broadcast[UserEvent] | None = None
        self._closed = False
        ws.on("trades", self._on_trades)
        ws.on("bbo", self._on_bbo)
        ws.on("user", self._on_user_events)

    def _broadcast(self, keep_latest: int) -> Broadcast[T]:
        broadcast: Broadcast[T] = Broadcast(keep_latest=keep_latest)
        if self._closed:
            broadcast.close()  # asked after close(): the subscription ends at once
        return broadcast

    def trades(self, pair: str) -> Subscription[TradeReport]:
        """Public trades of ``pair`` from now on (``trades`` channel)."""
        if pair not in self._trades:
            self._trades[pair] = self._broadcast(_TRADES_KEEP_LATEST)
            self._ws.subscribe({"type": "trades", "coin": pair})
        return self._trades[pair].subscribe()

    def bbo(self, pair: str) -> Subscription[BboUpdate]:
        """Best bid/offer changes of ``pair`` (``bbo`` channel; a snapshot follows subscribing)."""
        if pair not in self._bbos:
            self._bbos[pair] = self._broadcast(_BBO_KEEP_LATEST)
            self._ws.subscribe({"type": "bbo", "coin": pair})
        return self._bbos[pair].subscribe()

    def user_events(self) -> Subscription[UserEvent]:
        """The account's ``userEvents`` (fills, funding, liquidations, non-user cancels)."""
        if self._user_events is None:
            self._user_events = self._broadcast(0)  # never drop a user's events
            self._ws.subscribe({"type": "userEvents", "user": self._account})
        return self._user_events.subscribe()

    def close(self) -> None:
        """End every subscription (idempotent)."""
        self._closed = True
        broadcasts: list[Broadcast[Any]] = [*self._trades.values(), *self._bbos.values()]
        if self._user_events is not None:
            broadcasts.append(self._user_events)
        for broadcast in broadcasts:
            broadcast.close()

    def _on_trades(self, data: Any) -> None:
        trades, errors = market_parsing.parse_trades(data)
        for exc in errors:
            self._on_malformed("trade", exc)
        for trade in trades:
            broadcast = self._trades.get(trade.pair)
            if broadcast is not None:
                broadcast.publish(trade)

    def _on_bbo(self, data: Any) -> None:
        try:
            update = market_parsing.parse_bbo(data)
        except UnexpectedReply as exc:
            self._on_malformed("bbo", exc)
            return
        broadcast = self._bbos.get(update.pair)
        if broadcast is not None:
            broadcast.publish(update)

    def _on_user_events(self, data: Any) -> None:
        events, errors = market_parsing.parse_user_event(data)
        for exc in errors:
            self._on_malformed("user event", exc)
        if self._user_events is not None:
            for event in events:
                self._user_events.publish(event)
