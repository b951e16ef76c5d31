"""Hyperliquid-specific exceptions (each says what to do next)."""

from __future__ import annotations

from connectors.base import ExchangeUnavailable, OrderRuleViolation


class WireFormatError(OrderRuleViolation):
    """A number cannot be written on the wire exactly (NaN, infinite, or more than 8 decimals).

    Round the value to the pair's tick/lot size first (``TradingRule.quantize_price`` /
    ``quantize_amount``); the connector never rounds silently.
    """


class InvalidCloid(ValueError):
    """A client order id is not the exchange form ``0x`` + 32 lowercase hex characters."""


class MissingPrivateKey(ValueError):
    """A signed action was requested but no private key was configured.

    Pass ``private_key=`` to the connector (an API-wallet key is enough for trading).
    """


class UnexpectedReply(ExchangeUnavailable):
    """The exchange answered, but with a shape we cannot interpret; treat the outcome as unknown.

    ``raw`` keeps the reply text for the journal.
    """

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class ScheduleCancelTooEarly(ValueError):
    """scheduleCancel needs a time at least 5 s in the future; pick a later ``at_ms``."""


class LeverageOutOfRange(ValueError):
    """Requested leverage is not within 1..maxLeverage of the pair; lower it."""
