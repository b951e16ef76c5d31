"""Spot pairs through the same engine API as perps: what differs is checked before journaling.

A spot order buys or sells tokens: there is no position to reduce and no leverage, so
``reduce_only`` and ``leverage`` on a spot pair are refused with the fix in the message (the
exchange would ignore or reject them). A spot pair may be named as the user likes it — our
``"BASE/QUOTE"`` name or the exchange's ``"@<index>"`` — and is journaled under our name
(``rule.pair``), which is also what the connector reports fills and open orders under, so orders,
fills and positions of one pair never split across two names.

>>> from decimal import Decimal
>>> from connectors.base import TradingRule
>>> hype = TradingRule("HYPE/USDC", 10107, 2, 5, 6, Decimal(10), is_spot=True)
>>> spot_pair(hype, "@107", reduce_only=False, leverage=None)
'HYPE/USDC'
"""

from __future__ import annotations

from connectors.base import OrderRuleViolation, TradingRule


def spot_pair(rule: TradingRule, pair: str, *, reduce_only: bool, leverage: int | None) -> str:
    """The name to journal ``pair`` under (spot: ``rule.pair``); raises
    :class:`OrderRuleViolation` for reduce-only or leverage on a spot pair."""
    if not rule.is_spot:
        return pair
    if reduce_only:
        raise OrderRuleViolation(
            f"{rule.pair} is a spot pair: reduce-only is for perp positions (spot has none); "
            "to sell tokens you hold, place a plain sell without reduce_only")
    if leverage is not None:
        raise OrderRuleViolation(
            f"{rule.pair} is a spot pair: it has no leverage; place the order without leverage")
    return rule.pair
