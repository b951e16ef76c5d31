"""What ``buy``/``sell``/``replace`` accept: checked and put on the exchange's grid before
anything is journaled.

Amounts are rounded down to the lot (never more than asked). Prices are rounded toward the
passive side — a buy down, a sell up — so quantization never makes a limit, the worst acceptable
price of a market order or a trigger worse than the user asked (``EngineConfig.price_off_tick =
"refuse"`` refuses a price off the tick instead). NaN, ±Infinity and numbers too large to round
raise ``OrderRuleViolation`` (a ``ValueError``); a float raises ``TypeError``. Nothing is journaled
for any of them. (Leverage is an account command, checked by ``set_leverage``.)

>>> from connectors.base import TradingRule
>>> rule = TradingRule("ETH", 1, 4, 5, 2, Decimal("10"), max_leverage=25)
>>> order_terms(rule, TradeSide.BUY, Decimal("0.5"), Decimal("2900.46"), "passive")
(Decimal('0.5000'), Decimal('2900.4'))
>>> order_terms(rule, TradeSide.SELL, Decimal("0.5"), Decimal("2900.46"), "passive")
(Decimal('0.5000'), Decimal('2900.5'))
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from connectors.base import TradingRule
from oms.domain.enums import TradeSide


def order_terms(
    rule: TradingRule,
    side: TradeSide,
    amount: Decimal,
    price: Decimal,
    off_tick: Literal["passive", "refuse"],
) -> tuple[Decimal, Decimal]:
    """The ``(amount, price)`` to journal and send, or an exception saying what is wrong."""
    if not isinstance(amount, Decimal) or not isinstance(price, Decimal):
        raise TypeError("amount and price must be decimal.Decimal (never float)")
    amount_q = rule.quantize_amount(amount)
    if off_tick == "refuse":
        rule.check_price(price)
        price_q = price
    else:
        price_q = rule.quantize_price(price, side.value)
    rule.check_size(price_q, amount_q)  # quantized: only size and notional can fail
    return amount_q, price_q
