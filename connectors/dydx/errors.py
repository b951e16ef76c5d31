"""Errors of the dYdX connector: each says what went wrong and what to do; none carries a secret."""

from __future__ import annotations

from connectors.base import ExchangeUnavailable, OrderRuleViolation


class DydxError(Exception):
    """Base class of the dYdX connector's own errors."""


class InvalidMnemonic(DydxError, ValueError):
    """The mnemonic is not a valid BIP-39 phrase (the words are never repeated in the message)."""


class AccountNotFound(DydxError, LookupError):
    """The node has no account for the address: fund it (deposit USDC) before trading."""


class ClientIdsExhausted(DydxError):
    """Every 32-bit client id of the subaccount has been used: start a new client-id file."""


class ClientIdFileCorrupt(DydxError, ValueError):
    """The client-id journal cannot be read back; it is left untouched for inspection."""


class UnexpectedReply(ExchangeUnavailable):
    """The node or the Indexer answered with a shape we do not understand; outcome unknown."""

    def __init__(self, message: str, raw: str = "") -> None:
        super().__init__(message)
        self.raw = raw[:2000]


class NotYetCertain(ExchangeUnavailable):
    """The Indexer does not know the order yet, but the order could still appear (its deadline
    block has not been indexed): ask again later."""


__all__ = [
    "AccountNotFound",
    "ClientIdFileCorrupt",
    "ClientIdsExhausted",
    "DydxError",
    "InvalidMnemonic",
    "NotYetCertain",
    "OrderRuleViolation",
    "UnexpectedReply",
]
