"""Tick, lot and minimum-notional rules, with the exchange's own per-order error texts.

Example::

    order_rule_error(ETH_SPEC, Decimal("3000.123"), Decimal("0.01"))
    # ('tickRejected', 'Price must be divisible by tick size.')
"""

from __future__ import annotations

from decimal import Decimal

from .config import MarketSpec
from .records import decimals_of

MIN_NOTIONAL = Decimal(10)
SIG_FIGS = 5


def _significant_figures(value: Decimal) -> int:
    return len(value.normalize().as_tuple().digits)


def price_is_valid(market: MarketSpec, px: Decimal) -> bool:
    """Integers always pass; otherwise ≤ 5 significant figures and ≤ max decimals."""
    if px <= 0:
        return False
    if px == px.to_integral_value():
        return True
    return (_significant_figures(px) <= SIG_FIGS
            and decimals_of(px) <= market.max_price_decimals)


def order_rule_error(market: MarketSpec, px: Decimal, sz: Decimal) -> tuple[str, str] | None:
    """``(history status, error text)`` when the order breaks a rule, else None."""
    if sz <= 0:
        return "rejected", "Order has zero size."
    if decimals_of(sz) > market.sz_decimals:
        return "rejected", "Order has invalid size."
    if not price_is_valid(market, px):
        return "tickRejected", "Price must be divisible by tick size."
    if px * sz < MIN_NOTIONAL:
        if market.is_spot:
            return "minTradeNtlRejected", f"Order must have minimum value of 10 {market.quote}."
        return "minTradeNtlRejected", "Order must have minimum value of $10."
    return None
