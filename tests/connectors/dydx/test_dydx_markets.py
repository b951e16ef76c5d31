"""Exact Decimal ↔ quantums/subticks conversion; trading rules from ``/v4/perpetualMarkets``."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import OrderRuleViolation, UnknownPair
from connectors.dydx.errors import UnexpectedReply
from connectors.dydx.markets import DydxMarket, Markets, parse_market

BTC = DydxMarket("BTC-USD", 0, -10, -9, 1_000_000, 100_000)
ETH = DydxMarket("ETH-USD", 1, -9, -9, 1_000_000, 100_000)

markets = st.builds(
    DydxMarket,
    ticker=st.just("X-USD"), clob_pair_id=st.integers(0, 100),
    atomic_resolution=st.integers(-12, 2), quantum_conversion_exponent=st.integers(-12, 0),
    step_base_quantums=st.sampled_from([1, 10, 1000, 1_000_000, 5_000, 3]),
    subticks_per_tick=st.sampled_from([1, 10, 100_000, 1_000_000, 25]),
)


@given(markets, st.integers(1, 10**9), st.integers(1, 10**9))
def test_round_trip_is_exact_for_every_grid(market: DydxMarket, steps: int, ticks: int) -> None:
    quantums = steps * market.step_base_quantums
    subticks = ticks * market.subticks_per_tick
    assert market.to_quantums(market.from_quantums(quantums)) == quantums
    assert market.to_subticks(market.from_subticks(subticks)) == subticks
    rule = market.rule()
    size, price = market.from_quantums(quantums), market.from_subticks(subticks)
    assert rule.quantize_amount(size) == size and rule.quantize_price(price) == price
    rule.check(price, size)


@given(markets, st.integers(1, 10**6))
def test_off_grid_sizes_are_refused_never_rounded(market: DydxMarket, steps: int) -> None:
    size = market.from_quantums(steps * market.step_base_quantums) + market.step_size / 2
    with pytest.raises(OrderRuleViolation, match="step"):
        market.to_quantums(size)


def test_reference_examples() -> None:
    # reference §3.4: BTC 0.0015 → 15,000,000 quantums; 60123 → 6,012,300,000 subticks.
    assert BTC.to_quantums(Decimal("0.0015")) == 15_000_000
    assert BTC.to_subticks(Decimal("60123")) == 6_012_300_000
    assert (BTC.tick_size, BTC.step_size) == (Decimal(1), Decimal("0.0001"))
    assert (ETH.tick_size, ETH.step_size) == (Decimal("0.1"), Decimal("0.001"))
    # The official client's float path turns ETH 1.001 into 1.000; here it is exact.
    assert ETH.to_quantums(Decimal("1.001")) == 1_001_000_000
    with pytest.raises(OrderRuleViolation, match="off the tick"):
        BTC.to_subticks(Decimal("60123.5"))
    with pytest.raises(OrderRuleViolation, match="positive"):
        ETH.to_quantums(Decimal("-0.01"))
    rule = ETH.rule()
    assert rule.quantize_amount(Decimal("0.0019")) == Decimal("0.001")
    assert rule.quantize_price(Decimal("3000.06")) == Decimal("3000.1")
    assert rule.quantize_price(Decimal("0.01")) == Decimal("0.1"), "at least one tick"


def _raw(**changes: object) -> dict[str, object]:
    raw: dict[str, object] = {"ticker": "ETH-USD", "clobPairId": "1", "atomicResolution": -9,
                              "quantumConversionExponent": -9, "stepBaseQuantums": 1_000_000,
                              "subticksPerTick": 100_000, "oraclePrice": "3000.5"}
    raw.update(changes)
    return {k: v for k, v in raw.items() if v is not None}


def test_parse_market_and_its_bad_input() -> None:
    market = parse_market(_raw())
    assert market == DydxMarket("ETH-USD", 1, -9, -9, 1_000_000, 100_000,
                                oracle_price=Decimal("3000.5"))
    for bad in (_raw(subticksPerTick=None), _raw(stepBaseQuantums="x"),
                _raw(atomicResolution=True), _raw(stepBaseQuantums=0), _raw(oraclePrice="NaN?")):
        with pytest.raises(UnexpectedReply):
            parse_market(bad)
    registry = Markets()
    with pytest.raises(UnexpectedReply, match="markets"):
        registry.replace({"unexpected": 1})
    registry.replace({"markets": {"ETH-USD": _raw()}})
    assert registry.rule("ETH-USD").tick_size == Decimal("0.1")  # type: ignore[attr-defined]
    with pytest.raises(UnknownPair, match="DOGE-USD"):
        registry.get("DOGE-USD")
