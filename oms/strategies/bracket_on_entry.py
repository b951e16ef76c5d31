"""Bracket on entry: every entry is sent with the exchange's native take-profit and stop-loss.

Each entry is one ``normalTpsl`` action (``ctx.bracket``, the engine's grouped TP/SL of issue
15): an IOC buy bounded ``entry_slippage_bps`` above the mid, a take-profit that triggers
``take_profit_bps`` above the mid and a stop-loss ``stop_loss_bps`` below it, both market
triggers sized to the entry. The exchange arms the legs when the entry fills, fires them on its
mark price, and cancels the other leg when one fills (``siblingFilledCanceled``), so the
protection keeps working while this strategy (or the whole service) is down. A new entry is made
once flat and idle again, at most ``max_entries`` times.

Config::

    [[strategies]]
    name = "bracket"
    path = "oms.strategies.bracket_on_entry:BracketOnEntry"
    [strategies.params]
    pair = "ETH"
    size = "0.01"
    entry_slippage_bps = 10
    take_profit_bps = 50
    stop_loss_bps = 50
"""

from __future__ import annotations

from decimal import Decimal

from oms.domain.enums import OrderState, TimeInForce, TradeSide
from oms.domain.order import InFlightOrder
from oms.engine.order_kind_rules import Leg
from oms.engine.order_kinds import BracketOrder
from oms.service.context import StrategyContext
from oms.service.strategy import BaseStrategy

_BPS = Decimal("0.0001")


class BracketOnEntry(BaseStrategy):
    """Enter long with an IOC that carries its native take-profit and stop-loss legs."""

    def __init__(self, pair: str = "ETH", size: str = "0.01", entry_slippage_bps: float = 10,
                 take_profit_bps: float = 50, stop_loss_bps: float = 50,
                 max_entries: int = 3) -> None:
        self.pair = pair
        self.size = Decimal(size)
        self.slippage = Decimal(str(entry_slippage_bps)) * _BPS
        self.take_profit = Decimal(str(take_profit_bps)) * _BPS
        self.stop_loss = Decimal(str(stop_loss_bps)) * _BPS
        if self.size <= 0 or self.stop_loss <= 0 or self.slippage < 0:
            raise ValueError("size and stop_loss_bps must be positive, entry_slippage_bps >= 0")
        if self.take_profit <= self.slippage:
            raise ValueError("take_profit_bps must exceed entry_slippage_bps: the take-profit "
                             "trigger must lie above the entry's worst price")
        self.max_entries = max_entries
        self.entries = 0
        self.bracket: BracketOrder | None = None
        self.ctx: StrategyContext | None = None
        self.stops_hit = 0
        self.take_profits_hit = 0

    def on_start(self, ctx: StrategyContext) -> None:
        """Follow the pair's book (entries are priced from the mid)."""
        self.ctx = ctx
        ctx.subscribe_book(self.pair)

    def on_timer(self, now_ns: int) -> None:
        """Enter when flat, idle (no order of ours active) and entries remain."""
        ctx = self.ctx
        if ctx is None or not ctx.is_trading or self.entries >= self.max_entries:
            return
        if self.bracket is not None or ctx.open_orders() or ctx.position(self.pair) != 0:
            return
        mid = ctx.book(self.pair).mid()
        if mid is None:
            return
        rule = ctx.rule(self.pair)
        self.bracket = ctx.bracket(
            TradeSide.BUY, self.pair, self.size,
            price=rule.quantize_price(mid * (1 + self.slippage)),
            take_profit=Leg(rule.quantize_price(mid * (1 + self.take_profit))),
            stop_loss=Leg(rule.quantize_price(mid * (1 - self.stop_loss))),
            time_in_force=TimeInForce.IOC,
        )
        self.entries += 1

    def on_order_event(self, event: object, order: InFlightOrder) -> None:
        """Count the leg that filled; the bracket is over once its three orders are terminal."""
        bracket, ctx = self.bracket, self.ctx
        if bracket is None or ctx is None or not order.state.is_terminal:
            return
        cid = order.client_order_id
        if order.state is OrderState.FILLED and cid == bracket.take_profit:
            self.take_profits_hit += 1
        elif order.state is OrderState.FILLED and cid == bracket.stop_loss:
            self.stops_hit += 1
        legs = [c for c in (bracket.entry, bracket.take_profit, bracket.stop_loss) if c]
        if all((o := ctx.order(c)) is None or o.state.is_terminal for c in legs):
            self.bracket = None
