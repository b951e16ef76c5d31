"""Checking an algorithm's parameters before anything is journaled.

Every refusal is an :class:`AlgoSpecError` naming the parameter and what to change; an unknown pair
raises the connector's ``UnknownPair``. Nothing reaches the journal until the spec passes.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from connectors.base import TradingRule
from oms.domain.parent import ParentSpec


class AlgoSpecError(ValueError):
    """An execution algorithm's parameters cannot work (nothing was journaled)."""


def min_child(rule: TradingRule, price: Decimal) -> Decimal:
    """The smallest amount (whole lots) whose value at ``price`` reaches the minimum notional."""
    lot = Decimal(1).scaleb(-rule.amount_decimals)
    lots = (rule.min_notional / price / lot).to_integral_value(rounding=ROUND_CEILING)
    return (max(lots, Decimal(1)) * lot).quantize(lot)


def _common(
    rule: TradingRule, side: str, amount: Decimal, price: Decimal
) -> tuple[Decimal, Decimal]:
    if side not in ("buy", "sell"):
        raise AlgoSpecError(f"side must be 'buy' or 'sell', got {side!r}")
    if not isinstance(amount, Decimal) or not isinstance(price, Decimal):
        raise AlgoSpecError("amount and price must be decimal.Decimal (never float)")
    if amount <= 0 or price <= 0:
        raise AlgoSpecError(f"amount and price must be positive, got {amount} and {price}")
    if rule.quantize_amount(amount) != amount:
        raise AlgoSpecError(
            f"{rule.pair}: amount {amount} has more than {rule.amount_decimals} decimals"
        )
    if rule.quantize_price(price) != price:
        raise AlgoSpecError(f"{rule.pair}: price {price} breaks the tick rule; quantize it first")
    return Decimal(1).scaleb(-rule.amount_decimals), min_child(rule, price)


def twap_spec(
    rule: TradingRule, side: str, amount: Decimal, price: Decimal, *, start_ns: int,
    duration_s: float, slices: int, min_interval_s: float,
) -> ParentSpec:  # fmt: skip
    """A TWAP's spec: ``slices`` IOC children at limit ``price`` over ``duration_s`` seconds."""
    lot, smallest = _common(rule, side, amount, price)
    if not isinstance(slices, int) or slices < 1:
        raise AlgoSpecError(f"slices must be a positive integer, got {slices!r}")
    if not duration_s > 0:
        raise AlgoSpecError(f"duration must be positive, got {duration_s!r} s")
    if duration_s / slices < min_interval_s:
        raise AlgoSpecError(
            f"duration {duration_s} s is shorter than {slices} slices of at least"
            f" {min_interval_s} s: use fewer slices or a longer duration"
        )
    per_slice = rule.quantize_amount(amount / slices)
    if per_slice < smallest:
        raise AlgoSpecError(
            f"{rule.pair}: a slice of {per_slice} is below the minimum order {smallest} at"
            f" price {price}: use fewer slices (at most {int(amount / smallest)})"
        )
    end_ns = start_ns + int(duration_s * 1e9)
    return ParentSpec("twap", rule.pair, side, amount, price, start_ns, end_ns, slices,
                      amount, lot, smallest)  # fmt: skip


def iceberg_spec(
    rule: TradingRule, side: str, amount: Decimal, price: Decimal, *, display: Decimal
) -> ParentSpec:
    """An iceberg's spec: one resting child of at most ``display`` at a time, at ``price``."""
    lot, smallest = _common(rule, side, amount, price)
    if not isinstance(display, Decimal) or display <= 0:
        raise AlgoSpecError(f"display size must be a positive Decimal, got {display!r}")
    if display > amount:
        raise AlgoSpecError(f"display size {display} is larger than the amount {amount}")
    if rule.quantize_amount(display) != display or display < smallest:
        raise AlgoSpecError(
            f"{rule.pair}: display size {display} must be whole lots of {lot} and at least the"
            f" minimum order {smallest} at price {price}"
        )
    return ParentSpec("iceberg", rule.pair, side, amount, price, 0, 0, 1, display, lot, smallest)
