"""Checks of trigger orders, brackets and leverage that run before anything is journaled.

Each failure is a specific exception whose message says what to fix; nothing is journaled and
nothing is sent. Refusals the exchange makes anyway (a mark that moved, margin) are journaled
with the exchange's own reason, like any rejection.

A trigger fires when the mark crosses it (reference §13.1): a sell stop / buy take-profit on the
way down, a sell take-profit / buy stop on the way up. One whose condition already holds would
fire at once, which is never what a protective order means, so it is refused here.

>>> check_trigger_side(OrderType.STOP_MARKET, TradeSide.SELL, Decimal("2900"), Decimal("3000"))
>>> try:
...     check_trigger_side(OrderType.STOP_MARKET, TradeSide.SELL, Decimal("3100"), Decimal("3000"))
... except TriggerOnWrongSide as exc:
...     print(str(exc).split(": ", 1)[1])
trigger 3100 would fire at once (mark 3000): a sell stop must be below the mark
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connectors.base import OrderRuleViolation, TradingRule
from oms.domain.enums import OrderType, TradeSide

MARKET_TRIGGER_SLIPPAGE = Decimal("0.10")
"""Worst-price bound of a market trigger when the caller gives none: the exchange's own TP/SL
market orders use a 10 % slippage tolerance (GitBook "Take profit and stop loss orders")."""


class TriggerOnWrongSide(ValueError):
    """A trigger price that the current mark already satisfies (the order would fire at once)."""


class TriggerPriceOffTick(OrderRuleViolation):
    """A trigger price that is not a valid price of the pair."""


class BracketMismatch(ValueError):
    """A bracket whose legs disagree with the entry (size, side, or price order)."""


class LeverageOutOfRange(ValueError):
    """A leverage outside ``1..max_leverage`` of the pair, or on a pair without leverage."""


@dataclass(frozen=True, slots=True)
class Leg:
    """One protective leg of a bracket: where it triggers and how it then executes.

    ``price`` None makes it a market trigger (worst price ``trigger ± 10 %``); a price makes it a
    limit at that price. ``amount`` None means the entry's amount (any other value is refused).
    """

    trigger_price: Decimal
    price: Decimal | None = None
    amount: Decimal | None = None


def fires_below(order_type: OrderType, side: TradeSide) -> bool:
    """Whether the trigger fires when the mark falls to it (else when it rises to it)."""
    return (order_type.tpsl == "sl") != (side is TradeSide.BUY)


def check_trigger_side(
    order_type: OrderType, side: TradeSide, trigger: Decimal, mark: Decimal
) -> None:
    """Raise :class:`TriggerOnWrongSide` if ``mark`` already satisfies the trigger."""
    below = fires_below(order_type, side)
    if (trigger >= mark) if below else (trigger <= mark):
        kind = "stop" if order_type.tpsl == "sl" else "take-profit"
        where = "below" if below else "above"
        raise TriggerOnWrongSide(
            f"{order_type.value} {side.value}: trigger {trigger} would fire at once (mark {mark}):"
            f" a {side.value} {kind} must be {where} the mark"
        )


def trigger_prices(
    rule: TradingRule,
    order_type: OrderType,
    side: TradeSide,
    trigger: Decimal,
    price: Decimal | None,
) -> tuple[Decimal, Decimal]:
    """``(trigger price, order price)`` checked: the trigger on the tick, the price quantized.

    A market trigger's price defaults to ``trigger ± 10 %`` (away from the fill); a limit
    trigger needs its price.
    """
    if not order_type.is_trigger:
        raise ValueError(f"{order_type.value} is not a trigger order type")
    if not isinstance(trigger, Decimal) or (price is not None and not isinstance(price, Decimal)):
        raise TypeError("trigger_price and price must be decimal.Decimal (never float)")
    if trigger != rule.quantize_price(trigger):
        raise TriggerPriceOffTick(
            f"{rule.pair}: trigger price {trigger} is off the tick ({rule.price_sig_figs}"
            f" significant figures, at most {rule.price_max_decimals} decimals); use"
            f" {rule.quantize_price(trigger)}"
        )
    if price is None:
        if not order_type.is_market_trigger:
            raise ValueError(f"{order_type.value} needs price= (the limit price once triggered)")
        return trigger, rule.worst_price(side.value, trigger, MARKET_TRIGGER_SLIPPAGE)
    return trigger, rule.quantize_price(price)


def check_bracket(
    side: TradeSide, amount: Decimal, price: Decimal, take_profit: Leg | None,
    stop_loss: Leg | None,
) -> None:
    """Legs of the entry's size, the take-profit beyond the entry, the stop-loss before it."""
    if take_profit is None and stop_loss is None:
        raise BracketMismatch("a bracket needs take_profit= and/or stop_loss=")
    for name, leg in (("take_profit", take_profit), ("stop_loss", stop_loss)):
        if leg is not None and leg.amount is not None and leg.amount != amount:
            raise BracketMismatch(
                f"{name} amount {leg.amount} differs from the entry amount {amount}: the"
                " exchange sizes both legs at the entry's size; leave amount unset"
            )
    up = side is TradeSide.BUY
    if take_profit is not None and (take_profit.trigger_price <= price if up
                                    else take_profit.trigger_price >= price):
        raise BracketMismatch(
            f"take_profit trigger {take_profit.trigger_price} must be {'above' if up else 'below'}"
            f" the {side.value} entry price {price}"
        )
    if stop_loss is not None and (stop_loss.trigger_price >= price if up
                                  else stop_loss.trigger_price <= price):
        raise BracketMismatch(
            f"stop_loss trigger {stop_loss.trigger_price} must be {'below' if up else 'above'}"
            f" the {side.value} entry price {price}"
        )


def check_leverage(rule: TradingRule, leverage: int) -> None:
    """Raise :class:`LeverageOutOfRange` unless ``1 <= leverage <= rule.max_leverage``."""
    if rule.is_spot:
        raise LeverageOutOfRange(f"{rule.pair} is a spot pair: it has no leverage")
    if isinstance(leverage, bool) or not isinstance(leverage, int) or not (
        1 <= leverage <= rule.max_leverage
    ):
        raise LeverageOutOfRange(
            f"{rule.pair}: leverage {leverage!r} must be a whole number from 1 to"
            f" {rule.max_leverage} (the pair's maximum)"
        )
