"""A limit order book with price-time priority. Pure: no I/O, no clock, no accounts.

Price levels live in a dict ``price -> {oid: order}`` (insertion order is time priority, and a
cancel is O(1) however deep the level) with a running total size per level, plus a sorted list
of prices per side (``bisect``), so adding, cancelling, matching and snapshotting the top levels
stay cheap at 10k+ orders.

Example::

    book = OrderBook("ETH")
    book.add(RestingOrder(oid=1, user="0xa", is_buy=False, px=Decimal("3000"), sz=Decimal("1"),
                          orig_sz=Decimal("1"), timestamp=0))
    result = book.match(is_buy=True, limit_px=Decimal("3001"), sz=Decimal("0.4"), taker="0xb")
    result.matches[0].px, result.remaining     # (Decimal('3000'), Decimal('0'))
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

ZERO = Decimal(0)


@dataclass(slots=True)
class RestingOrder:
    """An order on the book; ``sz`` is what is left to fill."""

    oid: int
    user: str
    is_buy: bool
    px: Decimal
    sz: Decimal
    orig_sz: Decimal
    timestamp: int


@dataclass(frozen=True, slots=True)
class Match:
    """One execution against a resting order, at the maker's price."""

    maker: RestingOrder
    px: Decimal
    sz: Decimal
    maker_done: bool


@dataclass(slots=True)
class MatchResult:
    """What an incoming order did: executions, self-trade-cancelled makers, unfilled size."""

    matches: list[Match] = field(default_factory=list)
    self_trade_cancelled: list[RestingOrder] = field(default_factory=list)
    remaining: Decimal = ZERO


class _Side:
    """One side of a book: levels keyed by price, prices kept sorted ascending.

    ``totals[px]`` is the summed remaining size of the level; every change of a resting order's
    size goes through this class (``add``, ``remove``, ``fill``), which keeps it exact.
    """

    __slots__ = ("levels", "prices", "totals")

    def __init__(self) -> None:
        self.levels: dict[Decimal, dict[int, RestingOrder]] = {}
        self.totals: dict[Decimal, Decimal] = {}
        self.prices: list[Decimal] = []

    def add(self, order: RestingOrder) -> None:
        level = self.levels.get(order.px)
        if level is None:
            level = {}
            self.levels[order.px] = level
            self.totals[order.px] = ZERO
            bisect.insort(self.prices, order.px)
        level[order.oid] = order
        self.totals[order.px] += order.sz

    def drop_level(self, px: Decimal) -> None:
        del self.levels[px]
        del self.totals[px]
        index = bisect.bisect_left(self.prices, px)
        del self.prices[index]

    def remove(self, order: RestingOrder) -> None:
        level = self.levels[order.px]
        del level[order.oid]
        if level:
            self.totals[order.px] -= order.sz
        else:
            self.drop_level(order.px)

    def fill(self, order: RestingOrder, qty: Decimal) -> None:
        order.sz -= qty
        self.totals[order.px] -= qty


class OrderBook:
    """The book of one market."""

    def __init__(self, coin: str) -> None:
        self.coin = coin
        self._bids = _Side()
        self._asks = _Side()
        self._by_oid: dict[int, RestingOrder] = {}

    def __len__(self) -> int:
        return len(self._by_oid)

    def __contains__(self, oid: object) -> bool:
        return oid in self._by_oid

    def get(self, oid: int) -> RestingOrder | None:
        """The resting order ``oid``, or None."""
        return self._by_oid.get(oid)

    def best_bid(self) -> Decimal | None:
        """Highest bid price, or None when there are no bids."""
        return self._bids.prices[-1] if self._bids.prices else None

    def best_ask(self) -> Decimal | None:
        """Lowest ask price, or None when there are no asks."""
        return self._asks.prices[0] if self._asks.prices else None

    def crosses(self, is_buy: bool, px: Decimal) -> bool:
        """Whether an order at ``px`` would trade immediately."""
        if is_buy:
            ask = self.best_ask()
            return ask is not None and px >= ask
        bid = self.best_bid()
        return bid is not None and px <= bid

    def add(self, order: RestingOrder) -> None:
        """Rest ``order`` at the back of its price level."""
        if order.oid in self._by_oid:
            raise ValueError(f"order {order.oid} already rests on the {self.coin} book")
        (self._bids if order.is_buy else self._asks).add(order)
        self._by_oid[order.oid] = order

    def remove(self, oid: int) -> RestingOrder | None:
        """Take order ``oid`` off the book; None if it is not resting."""
        order = self._by_oid.pop(oid, None)
        if order is not None:
            (self._bids if order.is_buy else self._asks).remove(order)
        return order

    def match(self, is_buy: bool, limit_px: Decimal, sz: Decimal, taker: str) -> MatchResult:
        """Execute an incoming order against the opposite side, best price first.

        A resting order of the same user is cancelled instead of traded (self-trade prevention,
        "expire maker" as on Hyperliquid) and reported in ``self_trade_cancelled``.
        """
        side = self._asks if is_buy else self._bids
        result = MatchResult(remaining=sz)
        while result.remaining > ZERO and side.prices:
            px = side.prices[0] if is_buy else side.prices[-1]
            if (is_buy and px > limit_px) or (not is_buy and px < limit_px):
                break
            level = side.levels[px]
            while level and result.remaining > ZERO:
                maker = next(iter(level.values()))  # the oldest order of the level
                if maker.user == taker:
                    side.remove(maker)
                    del self._by_oid[maker.oid]
                    result.self_trade_cancelled.append(maker)
                    continue
                qty = min(maker.sz, result.remaining)
                side.fill(maker, qty)
                result.remaining -= qty
                done = maker.sz == ZERO
                if done:
                    side.remove(maker)
                    del self._by_oid[maker.oid]
                result.matches.append(Match(maker, px, qty, done))
            if px in side.levels and not side.levels[px]:
                side.drop_level(px)
        return result

    def levels(self, is_buy: bool, depth: int = 20) -> list[tuple[Decimal, Decimal, int]]:
        """Aggregated ``(px, total size, order count)`` levels, best first."""
        side = self._bids if is_buy else self._asks
        prices = side.prices[: -depth - 1 : -1] if is_buy else side.prices[:depth]
        out = []
        for px in prices:
            out.append((px, side.totals[px], len(side.levels[px])))
        return out

    def orders(self) -> Iterator[RestingOrder]:
        """Every resting order (no particular order)."""
        return iter(list(self._by_oid.values()))
