"""Placement requests → order wires: limit orders, trigger orders, and the rules each must meet.

A trigger order's trigger price obeys the same tick rule as a limit price (the exchange refuses
``Price must be divisible by tick size.`` otherwise), and its ``p`` is still sent: the limit price
of a stop-limit / take-profit-limit, the worst price (slippage bound) of a market trigger
(reference §13.1; the exchange's own UI sends ``triggerPx × (1 ± 10 %)``).

Grouped TP/SL legs (``normalTpsl``/``positionTpsl``) must be reduce-only triggers: the exchange
refuses a non-reduce-only leg for the whole action (GB-ERR pre-validation, reference §13.2), so
:func:`check_grouping` refuses it before anything is signed.

Example::

    request_wire(rule, PlaceOrderRequest(cloid, "ETH", "sell", Decimal("1"), Decimal("2700"),
                                         reduce_only=True,
                                         trigger=TriggerSpec(Decimal("2800"), True, "sl")))
    # {'a': 1, 'b': False, 'p': '2700', 's': '1', 'r': True,
    #  't': {'trigger': {'isMarket': True, 'triggerPx': '2800', 'tpsl': 'sl'}}, 'c': '0x…'}
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from connectors.base import Grouping, OrderRuleViolation, PlaceOrderRequest, TradingRule
from connectors.hyperliquid import wire


def request_wire(rule: TradingRule, request: PlaceOrderRequest) -> wire.OrderWire:
    """The order wire of ``request``; raises ``OrderRuleViolation`` if a number breaks a rule."""
    trigger = request.trigger
    if trigger is None:
        order_type = wire.limit_order_type(request.tif)
    else:
        if trigger.price != rule.quantize_price(trigger.price):
            raise OrderRuleViolation(
                f"{request.pair}: trigger price {trigger.price} breaks the tick rule"
                f" ({rule.price_sig_figs} significant figures, at most"
                f" {rule.price_max_decimals} decimals); use quantize_price"
            )
        order_type = wire.trigger_order_type(trigger.price, trigger.is_market, trigger.tpsl)
    return wire.checked_order_wire(
        rule,
        request.side == "buy",
        request.price,
        request.amount,
        request.reduce_only,
        order_type,
        request.cloid,
    )


def check_grouping(requests: Sequence[PlaceOrderRequest], grouping: Grouping) -> None:
    """Refuse a TP/SL grouping the exchange would refuse as a whole (nothing is sent).

    ``normalTpsl``: one non-trigger entry, then at most one ``tp`` and one ``sl`` leg, each a
    reduce-only trigger on the entry's pair, opposite side, same size. ``positionTpsl``: one or
    two such legs (at most one of each kind) on one pair.
    """
    if grouping == "na":
        return
    if grouping == "normalTpsl":
        if not requests or requests[0].trigger is not None:
            raise OrderRuleViolation("normalTpsl: the first order must be the (non-trigger) entry")
        entry, legs = requests[0], list(requests[1:])
    elif grouping == "positionTpsl":
        entry, legs = None, list(requests)
    else:
        raise OrderRuleViolation(f"unknown grouping {grouping!r}")
    if not 1 <= len(legs) <= 2:
        raise OrderRuleViolation(f"{grouping}: send one take-profit and/or one stop-loss leg")
    kinds = [leg.trigger.tpsl for leg in legs if leg.trigger is not None]
    if len(kinds) != len(legs) or len(set(kinds)) != len(kinds):
        raise OrderRuleViolation(f"{grouping}: legs must be triggers, at most one tp and one sl")
    for leg in legs:
        if not leg.reduce_only:
            raise OrderRuleViolation(
                f"{grouping}: the {leg.trigger.tpsl if leg.trigger else ''} leg must be"
                " reduce-only (the exchange refuses the whole action otherwise)"
            )
        if leg.pair != legs[0].pair or (entry is not None and leg.pair != entry.pair):
            raise OrderRuleViolation(f"{grouping}: every leg must be on the same pair")
        if entry is not None and (leg.side == entry.side or leg.amount != entry.amount):
            raise OrderRuleViolation(
                f"{grouping}: a leg must be opposite to the entry and of the same size"
                f" ({entry.amount}), got {leg.side} {leg.amount}"
            )


def isolated_margin_action(rule: TradingRule, amount: Decimal) -> wire.Action:
    """``updateIsolatedMargin`` adding (> 0) or removing (< 0) ``amount`` USDC (micro-USD ntli)."""
    ntli = amount * 1_000_000
    if rule.is_spot or amount == 0 or ntli != ntli.to_integral_value():
        raise OrderRuleViolation(
            f"{rule.pair}: isolated margin change {amount} must be a non-zero USDC amount with"
            " at most 6 decimals, on a perp"
        )
    return wire.update_isolated_margin_action(rule.asset_id, True, int(ntli))
