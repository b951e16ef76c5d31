"""The account's own events: what moved positions, cash and risk besides our own orders' fills.

They live in one journal stream per account (:func:`account_stream`), next to the ``order-*``
streams, and are folded in journal order together with our own fills by
``oms.domain.account.AccountState`` — live and on replay, the same fold.

Every event that reports something the exchange did carries the exchange's identity of it
(``key``): a fill is ``fill:<tid>:<oid>`` (Hyperliquid's ``tid`` alone is shared by both sides of a
trade, ``(tid, oid)`` is unique per user — reference §8.3), a funding payment is
``funding:<coin>:<time>`` (its ``hash`` may be all zeros — §13.6), a ledger update is
``ledger:<hash>:<time>``. The fold applies a key once, so the same trade seen live, in a snapshot
after a reconnect and again in a start-up gap fill is journaled and applied once.

>>> e = FundingPaid("funding:ETH:1", "ETH", Decimal("-0.5"), Decimal("1"), Decimal("0.0000125"), 1)
>>> (e.TYPE, e.VERSION)
('FundingPaid', 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Union

from oms.domain.enums import TradeSide

ACCOUNT_STREAM_PREFIX = "account-"

FILL_SOURCES = ("unknown_order", "liquidation", "adl", "twap")
"""Why a fill is not one of ours: an order placed elsewhere (web UI, another bot), a liquidation,
an auto-deleverage, a native TWAP slice."""


def account_stream(venue: str, account: str) -> str:
    """The journal stream of one exchange account's events.

    >>> account_stream("hyperliquid", "0xAbC")
    'account-hyperliquid-0xabc'
    """
    return f"{ACCOUNT_STREAM_PREFIX}{venue}-{account.lower()}"


@dataclass(frozen=True, slots=True)
class OutsideFill:
    """A fill on the account of an order this engine did not place.

    ``source`` is one of :data:`FILL_SOURCES`; a liquidation or ADL carries the exchange's
    ``liquidation_method`` (``"market"``/``"backstop"``) and ``liquidation_mark_price``.
    ``closed_pnl`` is what the exchange says the fill realized (kept for audit; the fold computes
    its own, average-cost, like the exchange).
    """

    TYPE: ClassVar[str] = "OutsideFill"
    VERSION: ClassVar[int] = 1

    key: str
    pair: str
    side: TradeSide
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    trade_id: str
    exchange_order_id: str
    source: str
    liquidation_method: str | None
    liquidation_mark_price: Decimal | None
    closed_pnl: Decimal | None
    exchange_time_ms: int


@dataclass(frozen=True, slots=True)
class FundingPaid:
    """A funding payment of one perp position; ``usdc`` is signed from the account's side
    (negative: the account paid), ``size`` is the position it was computed on."""

    TYPE: ClassVar[str] = "FundingPaid"
    VERSION: ClassVar[int] = 1

    key: str
    pair: str
    usdc: Decimal
    size: Decimal
    rate: Decimal
    exchange_time_ms: int


@dataclass(frozen=True, slots=True)
class LedgerUpdated:
    """Collateral that moved without a trade: a deposit, withdrawal or transfer.

    ``usdc`` is the signed change of the perp collateral (+ in, − out, fees included); ``kind``
    is the exchange's ``delta.type`` (``deposit``, ``withdraw``, ``accountClassTransfer``, …).
    """

    TYPE: ClassVar[str] = "LedgerUpdated"
    VERSION: ClassVar[int] = 1

    key: str
    kind: str
    usdc: Decimal
    exchange_time_ms: int
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AccountObserved:
    """What the exchange reported about the account at ``exchange_time_ms`` (clearinghouseState
    and spotClearinghouseState), journaled at every reconciliation.

    ``positions`` maps a pair to the exchange's view of it as strings (``size``, ``entry_price``,
    ``mark_price``, ``unrealized_pnl``, ``margin_used``, ``leverage``, ``leverage_type``,
    ``liquidation_price``); ``spot`` maps a token to its total balance.
    """

    TYPE: ClassVar[str] = "AccountObserved"
    VERSION: ClassVar[int] = 1

    exchange_time_ms: int
    account_value: Decimal
    withdrawable: Decimal
    total_margin_used: Decimal
    total_notional: Decimal
    positions: Mapping[str, Any]
    spot: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class AccountCorrected:
    """A difference that remained after reconciliation fetched everything that could explain it.

    ``field`` is ``size:<pair>``, ``cash`` or ``spot:<token>``; ``believed`` is what the journal
    said, ``exchange`` what the exchange said, both as of the exchange's answer; the fold moves our
    value by ``exchange − believed`` (and takes the exchange's entry price for a size), so the
    engine's account equals the exchange's. ``reason`` says why.
    """

    TYPE: ClassVar[str] = "AccountCorrected"
    VERSION: ClassVar[int] = 1

    field: str
    believed: Decimal
    exchange: Decimal
    exchange_entry_price: Decimal | None
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class AccountAnomaly:
    """An account input that could not be applied (unknown asset, malformed amount, a
    clearinghouse answer missing fields), kept verbatim with the raw payload; never applied.
    ``key`` (when the input has an identity) makes the same bad input journaled once."""

    TYPE: ClassVar[str] = "AccountAnomaly"
    VERSION: ClassVar[int] = 1

    key: str | None
    kind: str
    detail: str
    raw: Mapping[str, Any]
    at_ns: int


@dataclass(frozen=True, slots=True)
class KillSwitchTripped:
    """The account risk checks stopped new orders (or the operator did); ``reason`` says why."""

    TYPE: ClassVar[str] = "KillSwitchTripped"
    VERSION: ClassVar[int] = 1

    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class KillSwitchReset:
    """The operator turned a tripped kill switch off."""

    TYPE: ClassVar[str] = "KillSwitchReset"
    VERSION: ClassVar[int] = 1

    reason: str
    at_ns: int


AccountEvent = Union[  # noqa: UP007 - a named union reads better in signatures and docs
    OutsideFill,
    FundingPaid,
    LedgerUpdated,
    AccountObserved,
    AccountCorrected,
    AccountAnomaly,
    KillSwitchTripped,
    KillSwitchReset,
]

ACCOUNT_EVENT_CLASSES: tuple[type[AccountEvent], ...] = (
    OutsideFill,
    FundingPaid,
    LedgerUpdated,
    AccountObserved,
    AccountCorrected,
    AccountAnomaly,
    KillSwitchTripped,
    KillSwitchReset,
)

ALERT_EVENTS: tuple[type[AccountEvent], ...] = (AccountCorrected, AccountAnomaly, KillSwitchTripped)
"""Events a user must hear about at once (passed to ``on_alert`` listeners)."""
