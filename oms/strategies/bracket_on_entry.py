"""Bracket on entry: every entry fill is protected by a take-profit and a stop-loss.

The engine has no native bracket order on this branch (that is issue 15's work), so the bracket
is built from orders it does support: the take-profit is a resting reduce-only limit order, and
the stop-loss is watched by the strategy on the book's mid — when the mid crosses it, the
take-profit is canceled and a reduce-only IOC closes the position (one cancels the other). When
the take-profit fills, nothing is left to cancel. A new entry is made once flat again, at most
``max_entries`` times.

Config::

    [[strategies]]
    name = "bracket"
    path = "oms.strategies.bracket_on_entry:BracketOnEntry"
    [strategies.params]
    pair = "ETH"
    size = "0.01"
    take_profit_bps = 20
    stop_loss_bps = 20
"""

from __future__ import annotations

from decimal import Decimal

from connectors.hyperliquid.book import OrderBook
from oms.domain.enums import OrderType
from oms.domain.events import OrderFilled
from oms.domain.order import InFlightOrder
from oms.service.context import StrategyContext
from oms.service.strategy import BaseStrategy

_BPS = Decimal("0.0001")
_SLIPPAGE = Decimal("0.01")  # IOC entries and stop exits accept 1 % from the mid


class BracketOnEntry(BaseStrategy):
    """Enter long with an IOC, then a take-profit order and a watched stop for each fill."""

    def __init__(self, pair: str = "ETH", size: str = "0.01", take_profit_bps: float = 20,
                 stop_loss_bps: float = 20, max_entries: int = 3) -> None:
        self.pair = pair
        self.size = Decimal(size)
        self.take_profit = Decimal(str(take_profit_bps)) * _BPS
        self.stop_loss = Decimal(str(stop_loss_bps)) * _BPS
        self.max_entries = max_entries
        self.entries = 0
        self.entry_cid: str | None = None
        self.tp_cid: str | None = None
        self.exit_cid: str | None = None
        self.stop_price: Decimal | None = None
        self.ctx: StrategyContext | None = None
        self.stops_hit = 0
        self.take_profits_hit = 0

    def on_start(self, ctx: StrategyContext) -> None:
        """Follow the pair's book (entries and stops need the mid)."""
        self.ctx = ctx
        ctx.subscribe_book(self.pair)

    def on_timer(self, now_ns: int) -> None:
        """Enter when flat, idle and entries remain."""
        ctx = self.ctx
        if ctx is None or not ctx.is_trading or self.entries >= self.max_entries:
            return
        if self.entry_cid or self.tp_cid or self.exit_cid or ctx.open_orders():
            return
        mid = ctx.book(self.pair).mid()
        if mid is None or ctx.position(self.pair) != 0:
            return
        price = ctx.rule(self.pair).quantize_price(mid * (1 + _SLIPPAGE))
        self.entry_cid = ctx.buy(self.pair, self.size, price, order_type=OrderType.MARKET)
        self.entries += 1

    def on_fill(self, event: OrderFilled, order: InFlightOrder) -> None:
        """An entry fill gets (or grows) its take-profit and sets the stop."""
        ctx = self.ctx
        if ctx is None or order.client_order_id != self.entry_cid:
            return
        average = order.executed_quote / order.executed_base
        rule = ctx.rule(self.pair)
        self.stop_price = rule.quantize_price(average * (1 - self.stop_loss))
        target = rule.quantize_price(average * (1 + self.take_profit))
        if self.tp_cid is not None:
            ctx.cancel(self.tp_cid)
        self.tp_cid = ctx.sell(self.pair, order.executed_base, target, reduce_only=True)

    def on_order_event(self, event: object, order: InFlightOrder) -> None:
        """Clear finished legs; a filled take-profit ends the bracket."""
        if not order.state.is_terminal:
            return
        cid = order.client_order_id
        if cid == self.entry_cid:
            self.entry_cid = None
        elif cid == self.tp_cid:
            if order.state.value == "filled":
                self.take_profits_hit += 1
                self.stop_price = None
            self.tp_cid = None
        elif cid == self.exit_cid:
            self.exit_cid = None
            self.stop_price = None

    def on_book(self, pair: str, book: OrderBook) -> None:
        """The stop: when the mid falls to it, cancel the take-profit and close at market."""
        ctx, mid = self.ctx, book.mid()
        if ctx is None or mid is None or self.stop_price is None or self.exit_cid is not None:
            return
        position = ctx.position(self.pair)
        if mid > self.stop_price or position <= 0:
            return
        if self.tp_cid is not None and ctx.order(self.tp_cid) is not None:
            ctx.cancel(self.tp_cid)
        price = ctx.rule(self.pair).quantize_price(mid * (1 - _SLIPPAGE))
        self.exit_cid = ctx.sell(self.pair, position, price, order_type=OrderType.MARKET,
                                 reduce_only=True)
        self.stops_hit += 1
