"""Generic reports about an exchange account, besides orders and fills (``connectors/base.py``).

A connector that can tell the account's truth implements :class:`AccountReader`: the engine's
account reconciliation uses only these types, never an exchange's JSON. Every reader returns the
element-level parse failures beside the good elements (:class:`BadElement`, with the raw payload),
so the engine can journal them as anomalies instead of losing them or crashing.

Example::

    snapshot = await connector.account_snapshot()
    snapshot.positions["ETH"].size        # Decimal('0.5'): + long, − short
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class PositionView:
    """The exchange's view of one perp position."""

    pair: str
    size: Decimal
    entry_price: Decimal | None
    mark_price: Decimal | None
    unrealized_pnl: Decimal
    margin_used: Decimal
    leverage: int | None
    leverage_type: str | None
    liquidation_price: Decimal | None


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    """The exchange's view of the account's perps at ``time_ms`` (clearinghouseState)."""

    time_ms: int
    account_value: Decimal
    withdrawable: Decimal
    total_margin_used: Decimal
    total_notional: Decimal
    positions: Mapping[str, PositionView]
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def cash(self) -> Decimal:
        """Collateral without open positions' PnL: account value − Σ unrealized PnL."""
        return self.account_value - sum(
            (p.unrealized_pnl for p in self.positions.values()), Decimal(0)
        )


@dataclass(frozen=True, slots=True)
class FundingReport:
    """One funding payment; ``usdc`` signed from the account's side (negative: paid)."""

    pair: str
    time_ms: int
    usdc: Decimal
    size: Decimal
    rate: Decimal


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """Collateral moved without a trade; ``usdc`` is the signed change of perp collateral."""

    kind: str
    time_ms: int
    usdc: Decimal
    key: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BadElement:
    """An element of an exchange answer that could not be parsed (kept verbatim)."""

    what: str
    detail: str
    raw: Any


@runtime_checkable
class AccountReader(Protocol):
    """What a connector offers for account reconciliation (all by REST, all read-only)."""

    async def account_snapshot(self) -> AccountSnapshot:
        """The perp account now; raises ``ExchangeUnavailable`` (or a subclass) on a bad answer."""
        ...

    async def spot_snapshot(self) -> dict[str, Decimal]:
        """Spot token balances (total) by token name."""
        ...

    async def funding_since(self, start_ms: int) -> tuple[list[FundingReport], list[BadElement]]:
        """Funding payments at or after ``start_ms``, oldest first."""
        ...

    async def ledger_since(self, start_ms: int) -> tuple[list[LedgerReport], list[BadElement]]:
        """Deposits, withdrawals and transfers at or after ``start_ms``, oldest first."""
        ...

    def funding_stream(self) -> AsyncIterator[FundingReport]:
        """Funding payments pushed from now on (the user events stream)."""
        ...
