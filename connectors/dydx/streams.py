"""Indexer WebSocket contents → the connector's report streams.

``v4_subaccounts`` carries our order updates (possibly partial rows) and fills, ``v4_orderbook`` the
books we asked for, ``v4_block_height`` the Indexer's height. One malformed row is counted, logged
and skipped; its neighbours are still delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from connectors.base import BookUpdate, FillReport, OrderStatusReport
from connectors.dydx import parsing
from connectors.dydx.book import LevelBook
from connectors.dydx.errors import UnexpectedReply
from connectors.dydx.ws import WsStats
from connectors.streams import Broadcast, Subscription

log = logging.getLogger(__name__)


class DydxStreams:
    """The broadcasts of one connector and the handler its WebSocket calls."""

    def __init__(self, cloid_of: parsing.CloidOf,
                 ticker_of: Callable[[Mapping[str, Any]], str | None],
                 on_height: Callable[[int], None], stats: WsStats) -> None:
        self._cloid_of, self._ticker_of, self._on_height = cloid_of, ticker_of, on_height
        self._stats = stats
        self.books: dict[str, LevelBook] = {}
        self.order_updates: Broadcast[OrderStatusReport] = Broadcast()
        self.fills: Broadcast[FillReport] = Broadcast()
        self.book_updates: Broadcast[BookUpdate] = Broadcast(keep_latest=100)

    def subscribe(self) -> tuple[Subscription[OrderStatusReport], Subscription[FillReport]]:
        """New subscriptions to orders and fills."""
        return self.order_updates.subscribe(), self.fills.subscribe()

    def close(self) -> None:
        """End every iteration."""
        for broadcast in (self.order_updates, self.fills, self.book_updates):
            broadcast.close()

    def handle(self, channel: str, channel_id: str, contents: Any, snapshot: bool) -> None:
        """One ``subscribed`` / ``channel_data`` contents of ``channel``."""
        if channel == "v4_block_height":
            height = (contents or {}).get("blockHeight") or (contents or {}).get("height")
            if height is not None:
                self._on_height(int(height))
            return
        if channel == "v4_orderbook" and channel_id in self.books:
            try:
                self.book_updates.publish(self.books[channel_id].apply(contents, snapshot))
            except UnexpectedReply as exc:
                self._malformed("orderbook update", exc, contents)
            return
        if channel != "v4_subaccounts" or not isinstance(contents, dict):
            return
        for row in contents.get("orders") or []:
            try:
                report = parsing.parse_order(row, self._cloid_of, self._ticker_of(row))
            except (UnexpectedReply, ValueError) as exc:
                self._malformed("order update", exc, row)
                continue
            self.order_updates.publish(report)
        for row in contents.get("fills") or []:
            try:
                fill = parsing.parse_fill(row, self._cloid_of)
            except UnexpectedReply as exc:
                self._malformed("fill", exc, row)
                continue
            self.fills.publish(fill)

    def _malformed(self, what: str, exc: Exception, row: Any) -> None:
        self._stats.malformed += 1
        log.warning("skipping malformed %s: %s (raw %.300r)", what, exc, row)
