"""The events of an order's life: immutable values with a stable ``TYPE`` and a schema ``VERSION``.

Every event names its order first (``client_order_id``). Times are integers: ``*_ns`` are local
nanoseconds since the Unix epoch, ``*_ms`` are as the exchange sends them. Amounts are ``Decimal``.
Changing an event's fields means bumping its ``VERSION`` and adding an upcaster in
``oms.domain.codec`` so that old rows in the journal still read.

>>> e = OrderCanceled(ClientOrderId("0" * 32), reason="user", at_ns=1)
>>> (e.TYPE, e.VERSION)
('OrderCanceled', 1)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Union

from oms.domain.enums import (
    Grouping,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    TriggerState,
)
from oms.domain.ids import ClientOrderId


@dataclass(frozen=True, slots=True)
class OrderCreated:
    """The order is tracked and journaled; nothing has been sent yet (state PENDING_CREATE).

    A trigger order (``order_type.is_trigger``) carries its ``trigger_price``; its kind (stop or
    take-profit, market or limit) is the order type. ``parent_id`` links a bracket's take-profit
    and stop-loss legs to their entry order; ``grouping`` says how the order was sent.
    """

    TYPE: ClassVar[str] = "OrderCreated"
    # v1 had no venue/account (single-venue era); v2 had no trigger price, parent or grouping.
    VERSION: ClassVar[int] = 3

    client_order_id: ClientOrderId
    pair: str
    side: TradeSide
    order_type: OrderType
    amount: Decimal
    price: Decimal | None
    time_in_force: TimeInForce
    reduce_only: bool
    position_action: PositionAction
    leverage: int | None
    created_at_ns: int
    venue: str
    account: str
    trigger_price: Decimal | None = None
    parent_id: ClientOrderId | None = None
    grouping: Grouping = Grouping.NONE


@dataclass(frozen=True, slots=True)
class OrderSubmitted:
    """A placement was sent; the exchange drops it after ``expires_after_ms`` (its expiresAfter)."""

    TYPE: ClassVar[str] = "OrderSubmitted"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    attempt: int
    expires_after_ms: int
    sent_at_ns: int


@dataclass(frozen=True, slots=True)
class OrderAccepted:
    """The exchange acknowledged the order and gave it an id."""

    TYPE: ClassVar[str] = "OrderAccepted"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    exchange_order_id: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class OrderRejected:
    """The order was refused; ``source`` is ``"exchange"``, ``"risk"`` or ``"rules"``."""

    TYPE: ClassVar[str] = "OrderRejected"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    reason: str
    source: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class OrderFilled:
    """A trade against the order. ``trade_id`` identifies it on its venue/account: applied once.

    ``closed_pnl`` is the PnL the exchange says the trade realized (None when it did not say):
    the account's realized PnL is the exchange's, whatever order fills are journaled in.
    """

    TYPE: ClassVar[str] = "OrderFilled"
    # v1 had no fee_asset (always USDC) and no exchange_order_id; v2 no closed_pnl
    VERSION: ClassVar[int] = 3

    client_order_id: ClientOrderId
    trade_id: str
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    is_maker: bool
    exchange_time_ms: int
    exchange_order_id: str | None
    closed_pnl: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CancelRequested:
    """A cancel was sent (``attempt`` counts retries); it expires after ``expires_after_ms``."""

    TYPE: ClassVar[str] = "CancelRequested"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    attempt: int
    expires_after_ms: int
    at_ns: int


@dataclass(frozen=True, slots=True)
class OrderCanceled:
    """The order is off the book (by request, by the exchange, or an IOC remainder)."""

    TYPE: ClassVar[str] = "OrderCanceled"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class CancelRejected:
    """The exchange refused a cancel; the order returns to the state it had before the request."""

    TYPE: ClassVar[str] = "CancelRejected"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class OrderStatusUnknown:
    """The outcome of an action is unknown (timeout, reset): the order goes on the lost list."""

    TYPE: ClassVar[str] = "OrderStatusUnknown"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class OrderNotFound:
    """The exchange does not know the order after its deadline: never placed, with certainty."""

    TYPE: ClassVar[str] = "OrderNotFound"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    reason: str
    at_ns: int


@dataclass(frozen=True, slots=True)
class TriggerStateChanged:
    """A trigger order moved on the exchange: armed, waiting for its parent, or triggered.

    ``raw_status`` is what the exchange said (``waitingForFill``, ``waitingForTrigger``,
    ``triggered``). ``mark_price`` is the mark the engine last saw for the pair when it learned
    that the order triggered (None when it had none: Hyperliquid does not report the mark with
    the status), kept so an auditor can see the price that fired the order.
    """

    TYPE: ClassVar[str] = "TriggerStateChanged"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    trigger_state: TriggerState
    raw_status: str
    mark_price: Decimal | None
    at_ns: int


@dataclass(frozen=True, slots=True)
class OrderAnomaly:
    """An input that was illegal in the order's state, kept verbatim and not applied.

    ``kind`` is ``"illegal_transition"``, ``"overfill"``, ``"orphan_stream"``,
    ``"duplicate_create"`` or ``"exchange_id_mismatch"``.
    """

    TYPE: ClassVar[str] = "OrderAnomaly"
    VERSION: ClassVar[int] = 1

    client_order_id: ClientOrderId
    kind: str
    detail: str
    offending_type: str
    offending_data: Mapping[str, Any]
    at_ns: int


OrderEvent = Union[  # noqa: UP007 - a named union reads better in signatures and docs
    OrderCreated,
    OrderSubmitted,
    OrderAccepted,
    OrderRejected,
    OrderFilled,
    CancelRequested,
    OrderCanceled,
    CancelRejected,
    OrderStatusUnknown,
    OrderNotFound,
    OrderAnomaly,
    TriggerStateChanged,
]

EVENT_CLASSES: tuple[type[OrderEvent], ...] = (
    OrderCreated,
    OrderSubmitted,
    OrderAccepted,
    OrderRejected,
    OrderFilled,
    CancelRequested,
    OrderCanceled,
    CancelRejected,
    OrderStatusUnknown,
    OrderNotFound,
    OrderAnomaly,
    TriggerStateChanged,
)
