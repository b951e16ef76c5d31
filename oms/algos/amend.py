"""Checking an amend of a running parent before anything is journaled.

An amend changes what is left of a parent: its total ``amount`` (never below what already
executed), its limit ``price``, a TWAP's ``duration_s`` (counted from the TWAP's start, so it moves
the end) or an iceberg's ``display`` size. The result is the parent's new spec, checked by the
same rules as a new one (:mod:`oms.algos.specs`); every refusal is an :class:`AlgoSpecError`
that names the parameter and what to do, and nothing is journaled.

>>> from connectors.base import TradingRule
>>> rule = TradingRule("ETH", 1, amount_decimals=2, price_sig_figs=5, price_max_decimals=4,
...                    min_notional=Decimal(10))
>>> from oms.algos.specs import iceberg_spec
>>> spec = iceberg_spec(rule, "buy", Decimal("1"), Decimal("3000"), display=Decimal("0.2"))
>>> amend_spec(rule, spec, Decimal("0.3"), 0, amount=Decimal("0.5")).amount
Decimal('0.5')
>>> amend_spec(rule, spec, Decimal("0.3"), 0, amount=Decimal("0.2"))
Traceback (most recent call last):
...
oms.algos.specs.AlgoSpecError: amount 0.2 is below the 0.3 already executed: amend to at least 0.3
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from connectors.base import TradingRule
from oms.algos.specs import AlgoSpecError, min_child
from oms.domain.parent import ParentSpec


class ParentNotActive(AlgoSpecError):
    """The parent is over (done, canceled, failed) or being canceled: it cannot be amended."""


def amend_spec(
    rule: TradingRule, spec: ParentSpec, executed: Decimal, now_ns: int, *,
    amount: Decimal | None = None, price: Decimal | None = None,
    duration_s: float | None = None, display: Decimal | None = None,
    min_interval_s: float = 0.0,
) -> ParentSpec:  # fmt: skip
    """The parent's spec after the amend (see the module docstring); ``executed`` is what the
    parent's children have filled so far and ``now_ns`` the time of the amend."""
    if amount is None and price is None and duration_s is None and display is None:
        raise AlgoSpecError("nothing to amend: give amount, price, duration_s or display")
    new_amount = spec.amount if amount is None else _decimal("amount", amount)
    new_price = spec.price if price is None else _decimal("price", price)
    if rule.quantize_amount(new_amount) != new_amount:
        raise AlgoSpecError(
            f"{rule.pair}: amount {new_amount} has more than {rule.amount_decimals} decimals"
        )
    if new_amount < executed:
        raise AlgoSpecError(
            f"amount {new_amount} is below the {executed} already executed: amend to at least"
            f" {executed}"
        )
    if rule.quantize_price(new_price) != new_price:
        raise AlgoSpecError(f"{rule.pair}: price {new_price} breaks the tick rule; quantize it")
    smallest = min_child(rule, new_price)
    new = replace(spec, amount=new_amount, price=new_price, min_child=smallest)
    if spec.kind == "twap":
        if display is not None:
            raise AlgoSpecError("a TWAP has no display size: amend amount, price or duration_s")
        new = _twap_end(new, now_ns, duration_s, min_interval_s)
        per_slice = rule.quantize_amount(new.amount / new.slices)
        if per_slice < smallest and new.amount > executed:
            raise AlgoSpecError(
                f"{rule.pair}: a slice of {per_slice} is below the minimum order {smallest} at"
                f" price {new_price}: raise the amount or the price"
            )
        return new
    if duration_s is not None:
        raise AlgoSpecError("an iceberg has no duration: amend amount, price or display")
    shown = spec.display if display is None else _decimal("display", display)
    if rule.quantize_amount(shown) != shown or shown < smallest:
        raise AlgoSpecError(
            f"{rule.pair}: display size {shown} must be whole lots of {spec.lot} and at least"
            f" the minimum order {smallest} at price {new_price}"
        )
    if shown > new_amount:
        raise AlgoSpecError(f"display size {shown} is larger than the amount {new_amount}")
    return replace(new, display=shown)


def _decimal(name: str, value: Decimal) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        raise AlgoSpecError(f"{name} must be a positive decimal.Decimal, got {value!r}")
    return value


def _twap_end(
    spec: ParentSpec, now_ns: int, duration_s: float | None, min_interval_s: float
) -> ParentSpec:
    if duration_s is None:
        return spec
    if isinstance(duration_s, bool) or not isinstance(duration_s, int | float) or not (
        duration_s > 0
    ):
        raise AlgoSpecError(f"duration_s must be a positive number, got {duration_s!r}")
    end_ns = spec.start_ns + int(duration_s * 1e9)
    if end_ns <= now_ns:
        raise AlgoSpecError(
            f"duration {duration_s} s from the TWAP's start has already passed: give a longer one"
        )
    if duration_s / spec.slices < min_interval_s:
        raise AlgoSpecError(
            f"duration {duration_s} s is shorter than {spec.slices} slices of at least"
            f" {min_interval_s} s: give a longer duration"
        )
    return replace(spec, end_ns=end_ns)
