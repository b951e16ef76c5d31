"""What ``buy``/``sell``/``replace`` accept: checked and put on the exchange's grid before
anything is journaled.

Amounts are rounded down to the lot (never more than asked). Prices are rounded toward the
passive side — a buy down, a sell up — so quantization never makes a limit, the worst acceptable
price of a market order or a trigger worse than the user asked (``EngineConfig.price_off_tick =
"refuse"`` refuses a price off the tick instead). NaN, ±Infinity, numbers too large to round and a
leverage outside ``1..max_leverage`` raise ``OrderRuleViolation`` (a ``ValueError``); a float raises
``TypeError``. Nothing is journaled for any of them.

>>> from connectors.base import TradingRule
>>> rule = TradingRule("ETH", 1, 4, 5, 2, Decimal("10"), max_leverage=25)
>>> order_terms(rule, TradeSide.BUY, Decimal("0.5"), Decimal("2900.46"), None, "passive")
(Decimal('0.5000'), Decimal('2900.4'))
>>> order_terms(rule, TradeSide.SELL, Decimal("0.5"), Decimal("2900.46"), None, "passive")
(Decimal('0.5000'), Decimal('2900.5'))
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from connectors.base import OrderRuleViolation, TradingRule
from oms.domain.enums import TradeSide


def check_leverage(rule: TradingRule, leverage: object) -> None:
    """``None`` or an int in ``1..rule.max_leverage``; raises ``OrderRuleViolation``."""
    if leverage is None:
        return
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise OrderRuleViolation(
            f"{rule.pair}: leverage must be an int or None, got {type(leverage).__name__}"
        )
    if not 1 <= leverage <= rule.max_leverage:
        raise OrderRuleViolation(
            f"{rule.pair}: leverage {leverage} outside 1..{rule.max_leverage}"
        )


def order_terms(
    rule: TradingRule,
    side: TradeSide,
    amount: Decimal,
    price: Decimal,
    leverage: object,
    off_tick: Literal["passive", "refuse"],
) -> tuple[Decimal, Decimal]:
    """The ``(amount, price)`` to journal and send, or an exception saying what is wrong."""
    if not isinstance(amount, Decimal) or not isinstance(price, Decimal):
        raise TypeError("amount and price must be decimal.Decimal (never float)")
    check_leverage(rule, leverage)
    amount_q = rule.quantize_amount(amount)
    if off_tick == "refuse":
        rule.check_price(price)
        price_q = price
    else:
        price_q = rule.quantize_price(price, side.value)
    rule.check_size(price_q, amount_q)  # quantized: only size and notional can fail
    return amount_q, price_q
