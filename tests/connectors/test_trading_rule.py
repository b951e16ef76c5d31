"""``TradingRule`` rounding: never a worse price than asked, never a bare decimal error.

Issue 13 item 5: a buy at 2900.46 on a 0.1 tick was sent at 2900.5 (rounded to nearest).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.base import OrderRuleViolation, TradingRule
from connectors.hyperliquid import wire

D = Decimal
ETH = TradingRule("ETH", 1, 4, 5, 2, D("10"), max_leverage=25)


def test_the_reported_buy_is_rounded_down_and_a_sell_up() -> None:
    assert ETH.quantize_price(D("2900.46"), "buy") == D("2900.4")
    assert ETH.quantize_price(D("2900.46"), "sell") == D("2900.5")
    assert ETH.quantize_price(D("2900.41"), "sell") == D("2900.5")
    assert ETH.quantize_price(D("2900.4"), "buy") == D("2900.4")  # on the tick: unchanged
    assert ETH.quantize_price(D("99999.5"), "sell") == D("100000")  # integers are always valid


@settings(max_examples=400, deadline=None)
@given(
    sz_decimals=st.integers(0, 6),
    spot=st.booleans(),
    sig_figs=st.integers(2, 6),
    price=st.decimals(min_value=D("0.000001"), max_value=D("900000"), places=8),
    side=st.sampled_from(["buy", "sell"]),
)
def test_quantized_prices_are_never_worse_than_asked(
    sz_decimals: int, spot: bool, sig_figs: int, price: Decimal, side: str
) -> None:
    max_decimals = (8 if spot else 6) - sz_decimals
    rule = TradingRule("X", 0, sz_decimals, sig_figs, max_decimals, D(0))
    try:
        q = rule.quantize_price(price, side)
    except OrderRuleViolation as exc:
        assert side == "buy" and "below the smallest tick" in str(exc)
        return
    if side == "buy":
        assert q <= price
    else:
        assert q >= price
    assert q == rule.quantize_price(q, side) == rule.quantize_price(q)  # on the grid
    rule.check_price(q)
    assert wire.decimal_to_wire(q)  # sendable as is
    # the next valid price on the asked side: the nearest valid price (no side) is either the
    # buy rounding or the sell rounding of the same price, never beyond them
    other = "sell" if side == "buy" else "buy"
    try:
        nearest, q_other = rule.quantize_price(price), rule.quantize_price(price, other)
    except OrderRuleViolation:
        return  # the other side would be below one tick
    assert nearest in (q, q_other)
    assert min(q, q_other) <= price <= max(q, q_other)


@pytest.mark.parametrize("bad", [D("NaN"), D("sNaN"), D("Infinity"), D("-Infinity")])
def test_non_finite_numbers_are_order_rule_violations(bad: Decimal) -> None:
    """Issue 13 item 6: not a bare ``decimal.InvalidOperation``."""
    with pytest.raises(OrderRuleViolation, match="finite"):
        ETH.quantize_price(bad, "buy")
    with pytest.raises(OrderRuleViolation, match="finite"):
        ETH.quantize_amount(bad)
    assert issubclass(OrderRuleViolation, ValueError)


@pytest.mark.parametrize("big", [D("1" * 40), D("1E+400"), D("9" * 30 + ".5")])
def test_numbers_too_large_to_round_are_order_rule_violations(big: Decimal) -> None:
    with pytest.raises(OrderRuleViolation, match="too large"):
        ETH.quantize_price(big, "sell")
    with pytest.raises(OrderRuleViolation, match="too large"):
        ETH.quantize_amount(big)


def test_a_price_below_one_tick_is_refused_not_zero() -> None:
    with pytest.raises(OrderRuleViolation, match="smallest tick"):
        ETH.quantize_price(D("0.001"), "buy")
    assert ETH.quantize_price(D("0.001"), "sell") == D("0.01")
