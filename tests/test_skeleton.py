"""The installed packages import and the connector contract's generic rules hold."""

from decimal import Decimal

import pytest

from connectors import OrderRuleViolation, TradingRule

ETH = TradingRule(
    pair="ETH", asset_id=1, amount_decimals=4, price_sig_figs=5, price_max_decimals=2,
    min_notional=Decimal("10"),
)


def test_quantize_price_five_significant_figures() -> None:
    assert ETH.quantize_price(Decimal("3012.345")) == Decimal("3012.3")
    assert ETH.quantize_price(Decimal("123456.7")) == Decimal("123457")
    assert ETH.quantize_price(Decimal("3000")) == Decimal("3000")


def test_quantize_amount_rounds_down() -> None:
    assert ETH.quantize_amount(Decimal("0.123456")) == Decimal("0.1234")


def test_check_rejects_small_orders_and_bad_ticks() -> None:
    with pytest.raises(OrderRuleViolation, match="below the minimum"):
        ETH.check(Decimal("3000"), Decimal("0.001"))
    with pytest.raises(OrderRuleViolation, match="tick rule"):
        ETH.check(Decimal("3000.123"), Decimal("1"))
    ETH.check(Decimal("3000.1"), Decimal("1"))


def test_postgres_fixture_gives_fresh_database(postgres_url: str) -> None:
    assert postgres_url.startswith("postgresql")
