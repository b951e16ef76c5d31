"""Hyperliquid-specific exceptions (each says what to do next)."""

from __future__ import annotations

from types import TracebackType
from typing import Any

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


class AgentKeyWithoutAccount(MissingPrivateKey):
    """The private key is an API (agent) wallet, but no account address was given.

    An agent has no account of its own: queries by its address see nothing. Pass
    ``account_address=`` (the CLI: ``--account`` or ``HL_ACCOUNT_ADDRESS``) with the master's
    address, or ``vault_address=`` for a vault or sub-account.
    """


class UnexpectedReply(ExchangeUnavailable):
    """The exchange answered, but with a shape we cannot interpret; treat the outcome as unknown.

    ``raw`` keeps the reply text for the journal.
    """

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw


class unexpected_shape:
    """Turn a missing key, a wrong type or a bad number met while parsing ``raw`` into
    :class:`UnexpectedReply` naming ``what`` and keeping ``raw`` (a nested ``UnexpectedReply``,
    from a bad field, is re-raised with the whole element)::

        with unexpected_shape("fill", raw):
            return FillReport(trade_id=str(raw["tid"]), ...)
    """

    __slots__ = ("raw", "what")
    _ERRORS = (KeyError, TypeError, ValueError, AttributeError, UnexpectedReply)

    def __init__(self, what: str, raw: Any) -> None:
        self.what, self.raw = what, raw

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, self._ERRORS):
            raise UnexpectedReply(
                f"{self.what} has an unexpected shape: {exc!r}", repr(self.raw)
            ) from exc


class ScheduleCancelTooEarly(ValueError):
    """scheduleCancel needs a time at least 5 s in the future; pick a later ``at_ms``."""


class LeverageOutOfRange(ValueError):
    """Requested leverage is not within 1..maxLeverage of the pair; lower it."""
