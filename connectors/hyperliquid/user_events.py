"""Reports of Hyperliquid's ``userEvents`` subscription (pushed on the channel named ``user``).

One push carries exactly one kind: ``{"fills": [...]}``, ``{"funding": {...}}``,
``{"liquidation": {...}}`` or ``{"nonUserCancel": [{"coin", "oid"}, ...]}``. Each becomes one of
the plain, immutable reports below (a ``nonUserCancel`` list becomes one report per order); the
union of them is :data:`UserEvent`.

Fills arrive here *and* on ``userFills``; the connector's ``fills()`` stream is fed by
``userFills`` only (the single source of truth), so :class:`UserEventFills` is informational.

Example::

    async for event in conn.user_events():
        if isinstance(event, NonUserCancel):
            print("exchange canceled", event.pair, event.exchange_order_id)
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connectors.base import FillReport


@dataclass(frozen=True, slots=True)
class UserEventFills:
    """Fills of the account pushed on ``userEvents`` (not fed into ``fills()``)."""

    fills: tuple[FillReport, ...]


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """A funding payment of one perp position.

    ``usdc`` is signed as the exchange sends it (negative: the account paid); ``size`` is the signed
    position size (``szi``: + long, − short) the payment was computed on.
    """

    pair: str
    timestamp_ms: int
    usdc: Decimal
    size: Decimal
    funding_rate: Decimal


@dataclass(frozen=True, slots=True)
class Liquidation:
    """A liquidation of the account (addresses lower-cased, amounts in USDC)."""

    liquidation_id: str
    liquidator: str
    liquidated_user: str
    liquidated_notional: Decimal
    liquidated_account_value: Decimal


@dataclass(frozen=True, slots=True)
class NonUserCancel:
    """An order the exchange canceled without our request (e.g. reduce-only, self-trade, margin).

    The status change itself also arrives on ``orderUpdates`` with the precise reason.
    """

    pair: str
    exchange_order_id: str


UserEvent = UserEventFills | FundingPayment | Liquidation | NonUserCancel
