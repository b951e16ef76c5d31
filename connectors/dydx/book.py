"""The L2 book of one market from the Indexer's ``v4_orderbook`` channel.

The snapshot (``subscribed``) lists ``{price, size}`` objects; updates list ``[price, size]`` pairs
whose size is the level's new **absolute** size, ``"0"`` removing it (Indexer vulcan
``handlers/handler.ts``; reference §1.4). Absolute sizes make updates idempotent, and every
reconnect starts again from a fresh snapshot. The WebSocket book can be transiently crossed (the
REST snapshot never is); we publish it as received.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from connectors.base import BookLevel, BookUpdate
from connectors.dydx.errors import UnexpectedReply
from connectors.dydx.parsing import decimal


class LevelBook:
    """Price → size for both sides of one market."""

    def __init__(self, pair: str) -> None:
        self.pair = pair
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}

    def apply(self, contents: Any, snapshot: bool) -> BookUpdate:
        """Fold a snapshot or an update; return the whole book. Raises :class:`UnexpectedReply`."""
        if not isinstance(contents, dict):
            raise UnexpectedReply("orderbook contents is not an object", repr(contents))
        if snapshot:
            self.bids, self.asks = {}, {}
        for side, levels in (("bids", self.bids), ("asks", self.asks)):
            for entry in contents.get(side) or []:
                if isinstance(entry, dict):
                    price, size = entry.get("price"), entry.get("size")
                elif isinstance(entry, list | tuple) and len(entry) == 2:
                    price, size = entry
                else:
                    raise UnexpectedReply(f"orderbook level {entry!r}", repr(contents))
                px, sz = decimal(price, "level price"), decimal(size, "level size")
                if sz == 0:
                    levels.pop(px, None)
                else:
                    levels[px] = sz
        return self.update()

    def update(self) -> BookUpdate:
        """The book as a :class:`BookUpdate` (best first on both sides)."""
        bids = tuple(BookLevel(p, s) for p, s in sorted(self.bids.items(), reverse=True))
        asks = tuple(BookLevel(p, s) for p, s in sorted(self.asks.items()))
        return BookUpdate(self.pair, time.time_ns() // 1_000_000, bids, asks)
