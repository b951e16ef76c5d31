"""L2 order book of one pair, rebuilt from full snapshots (the exchange pushes no diffs).

Best bid/ask and mid are O(1) (levels are kept best first); depth queries walk the levels.

Example::

    book = OrderBook("ETH", stale_after_s=5.0)
    book.apply(update)                 # a BookUpdate from the l2Book channel
    book.mid()                         # Decimal('3000.05')
    book.amount_within(Decimal("3010"), "buy")   # size available up to 3010 on the ask side
"""

from __future__ import annotations

import time
from decimal import Decimal

from connectors.base import BookLevel, BookUpdate, Side


class OrderBook:
    """The latest L2 snapshot of ``pair`` with a staleness flag."""

    def __init__(self, pair: str, stale_after_s: float = 5.0) -> None:
        self.pair = pair
        self.stale_after_s = stale_after_s
        self._bids: tuple[BookLevel, ...] = ()
        self._asks: tuple[BookLevel, ...] = ()
        self._timestamp_ms = 0
        self._received_at = 0.0

    def apply(self, update: BookUpdate) -> None:
        """Replace the book with ``update`` (older snapshots than the current one are ignored)."""
        if update.pair != self.pair:
            raise ValueError(f"book of {self.pair} got an update for {update.pair}")
        if update.timestamp_ms < self._timestamp_ms:
            return
        self._bids, self._asks = update.bids, update.asks
        self._timestamp_ms = update.timestamp_ms
        self._received_at = time.monotonic()

    @property
    def timestamp_ms(self) -> int:
        """Exchange time of the current snapshot (0 before the first one)."""
        return self._timestamp_ms

    def is_stale(self, now: float | None = None) -> bool:
        """True before the first snapshot or when none arrived for ``stale_after_s`` seconds."""
        if self._received_at == 0.0:
            return True
        current = time.monotonic() if now is None else now
        return current - self._received_at > self.stale_after_s

    def mark_stale(self) -> None:
        """Flag the book stale now (e.g. the socket dropped) until the next snapshot."""
        self._received_at = 0.0

    def best_bid(self) -> BookLevel | None:
        """The highest bid, or None."""
        return self._bids[0] if self._bids else None

    def best_ask(self) -> BookLevel | None:
        """The lowest ask, or None."""
        return self._asks[0] if self._asks else None

    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, or None when a side is empty."""
        if not self._bids or not self._asks:
            return None
        return (self._bids[0].price + self._asks[0].price) / 2

    def spread(self) -> Decimal | None:
        """best ask − best bid, or None when a side is empty."""
        if not self._bids or not self._asks:
            return None
        return self._asks[0].price - self._bids[0].price

    def levels(self, side: Side, depth: int | None = None) -> tuple[BookLevel, ...]:
        """The ``depth`` best levels a ``side`` order would trade against (buy → asks)."""
        book_side = self._asks if side == "buy" else self._bids
        return book_side if depth is None else book_side[:depth]

    def amount_within(self, limit_price: Decimal, side: Side) -> Decimal:
        """Total size a ``side`` order limited at ``limit_price`` could take from the book."""
        total = Decimal(0)
        for level in self.levels(side):
            crosses = level.price <= limit_price if side == "buy" else level.price >= limit_price
            if not crosses:
                break
            total += level.amount
        return total
