"""A market maker: one bid and one ask around the mid, skewed against inventory, within a cap.

Quotes are post-only (ALO), so they never take. With a position ``q`` and a cap ``Q`` both
quotes shift by ``-skew_bps × q / Q`` (long → lower prices: sell more readily, buy less), and
the side that would take the position beyond ``Q`` is not quoted at all. A quote is re-priced
with ``replace`` (the exchange's atomic modify) when the target moved by ``requote_bps`` or more.

Config::

    [[strategies]]
    name = "mm"
    path = "oms.strategies.market_maker:MarketMaker"
    [strategies.params]
    pair = "ETH"
    size = "0.01"
    half_spread_bps = 5
    skew_bps = 10
    max_position = "0.05"
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from connectors.hyperliquid.book import OrderBook
from oms.domain.enums import OrderState, OrderType
from oms.domain.events import OrderEvent
from oms.domain.order import InFlightOrder
from oms.service.context import StrategyContext
from oms.service.strategy import BaseStrategy

_BPS = Decimal("0.0001")
_WAITING = (OrderState.PENDING_CREATE, OrderState.PENDING_CANCEL)


class MarketMaker(BaseStrategy):
    """Two-sided quoting with an inventory skew and a max position."""

    def __init__(self, pair: str = "ETH", size: str = "0.01", half_spread_bps: float = 5,
                 skew_bps: float = 10, max_position: str = "0.05",
                 requote_bps: float = 2) -> None:
        self.pair = pair
        self.size = Decimal(size)
        self.half_spread = Decimal(str(half_spread_bps)) * _BPS
        self.skew = Decimal(str(skew_bps)) * _BPS
        self.max_position = Decimal(max_position)
        self.requote = Decimal(str(requote_bps)) * _BPS
        if self.size <= 0 or self.max_position <= 0:
            raise ValueError("size and max_position must be positive")
        self.quotes: dict[str, str | None] = {"buy": None, "sell": None}
        self.ctx: StrategyContext | None = None

    def on_start(self, ctx: StrategyContext) -> None:
        """Take back quotes placed before a restart, subscribe to the pair's book; quoting
        starts with the first snapshot (re-pricing the quotes taken back)."""
        self.ctx = ctx
        for cid, order in sorted(ctx.open_orders().items()):
            side = order.side.value
            if order.pair != self.pair or side not in self.quotes:
                continue
            if self.quotes[side] is None and order.state not in _WAITING:
                self.quotes[side] = cid  # one quote per side: keep the first
            elif order.state is not OrderState.PENDING_CANCEL:
                ctx.cancel(cid)  # a surplus quote (or one whose fate is still open)
        ctx.subscribe_book(self.pair)

    def on_book(self, pair: str, book: OrderBook) -> None:
        """Re-quote on every book snapshot."""
        self.requote_now(book)

    def on_timer(self, now_ns: int) -> None:
        """Re-quote on the timer too (a quote may have ended between books)."""
        if self.ctx is not None:
            self.requote_now(self.ctx.book(self.pair))

    def on_order_event(self, event: OrderEvent, order: InFlightOrder) -> None:
        """Forget a quote once it is terminal, so the next round places a fresh one."""
        if order.state.is_terminal:
            for side, cid in self.quotes.items():
                if cid == order.client_order_id:
                    self.quotes[side] = None

    def targets(self, mid: Decimal, position: Decimal) -> dict[str, Decimal | None]:
        """Bid and ask prices for ``mid`` and ``position`` (None: do not quote that side)."""
        shift = -self.skew * position / self.max_position
        bid: Decimal | None = mid * (1 - self.half_spread + shift)
        ask: Decimal | None = mid * (1 + self.half_spread + shift)
        if position + self.size > self.max_position:
            bid = None
        if position - self.size < -self.max_position:
            ask = None
        return {"buy": bid, "sell": ask}

    def requote_now(self, book: OrderBook) -> None:
        """Bring both quotes to their targets (place, re-price or cancel)."""
        ctx = self.ctx
        mid = book.mid()
        if ctx is None or mid is None or book.is_stale() or not ctx.is_trading:
            return
        rule = ctx.rule(self.pair)
        for side, target in self.targets(mid, ctx.position(self.pair)).items():
            self._quote(ctx, side, None if target is None else rule.quantize_price(target))

    def _quote(self, ctx: StrategyContext, side: str, price: Decimal | None) -> None:
        cid = self.quotes[side]
        order = ctx.order(cid) if cid is not None else None
        if order is not None and order.state.is_terminal:
            order, self.quotes[side] = None, None
        if order is not None and (order.state in _WAITING or order.exchange_order_id is None):
            return  # wait for the exchange's answer before touching it again
        if price is None:
            if order is not None:
                ctx.cancel(order.client_order_id)
            return
        if order is None:
            place: Any = ctx.buy if side == "buy" else ctx.sell
            self.quotes[side] = place(self.pair, self.size, price,
                                      order_type=OrderType.LIMIT_MAKER)
        elif order.price is not None and abs(order.price - price) >= price * self.requote:
            self.quotes[side] = ctx.replace(order.client_order_id, price=price)
