"""Small builders of domain events for the domain tests (one order, amount 1 ETH unless told)."""

from __future__ import annotations

from decimal import Decimal

from oms.domain import (
    CancelRejected,
    CancelRequested,
    ClientOrderId,
    OrderAccepted,
    OrderAnomaly,
    OrderCanceled,
    OrderCreated,
    OrderEvent,
    OrderFilled,
    OrderNotFound,
    OrderRejected,
    OrderStatusUnknown,
    OrderSubmitted,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    TriggerState,
    TriggerStateChanged,
)

CID = ClientOrderId("0190f0c2a1b2c3d4e5f60718293a4b5c")


def created(
    amount: str = "1",
    side: TradeSide = TradeSide.BUY,
    cid: str = CID,
    order_type: OrderType = OrderType.LIMIT,
) -> OrderCreated:
    trigger = Decimal("2900") if order_type.is_trigger else None
    return OrderCreated(
        ClientOrderId(cid), "ETH", side, order_type, Decimal(amount), Decimal("3000"),
        TimeInForce.GTC, order_type.is_trigger, PositionAction.OPEN, 5, 1_000, "hyperliquid",
        "main", trigger,
    )


def trigger_changed(
    state: TriggerState = TriggerState.TRIGGERED, mark: str | None = "2899.5"
) -> TriggerStateChanged:
    raw = {"waiting_for_fill": "waitingForFill", "waiting_for_trigger": "waitingForTrigger"}
    return TriggerStateChanged(
        CID, state, raw.get(state.value, "triggered"), None if mark is None else Decimal(mark),
        5_500,
    )


def submitted(attempt: int = 1) -> OrderSubmitted:
    return OrderSubmitted(CID, attempt, 60_000 + attempt, 2_000)


def accepted(eoid: str = "E1") -> OrderAccepted:
    return OrderAccepted(CID, eoid, 3_000)


def rejected() -> OrderRejected:
    return OrderRejected(CID, "insufficient margin", "exchange", 3_000)


def filled(trade: str, amount: str, price: str = "3000", fee: str = "0.1") -> OrderFilled:
    return OrderFilled(
        CID, trade, Decimal(price), Decimal(amount), Decimal(fee), "USDC", True, 4_000, "E1"
    )


def cancel_requested(attempt: int = 1) -> CancelRequested:
    return CancelRequested(CID, attempt, 90_000, 5_000)


def canceled() -> OrderCanceled:
    return OrderCanceled(CID, "user", 6_000)


def cancel_rejected() -> CancelRejected:
    return CancelRejected(CID, "order already filled", 6_000)


def unknown() -> OrderStatusUnknown:
    return OrderStatusUnknown(CID, "timeout", 6_000)


def not_found() -> OrderNotFound:
    return OrderNotFound(CID, "unknown cloid after deadline", 7_000)


def anomaly() -> OrderAnomaly:
    return OrderAnomaly(CID, "illegal_transition", "test", "OrderRejected", {"x": 1}, 7_000)


ONE_OF_EACH: dict[str, OrderEvent] = {
    "OrderCreated": created(),
    "OrderSubmitted": submitted(2),
    "OrderAccepted": accepted(),
    "OrderRejected": rejected(),
    "OrderFilled": filled("T9", "0.1"),
    "CancelRequested": cancel_requested(),
    "OrderCanceled": canceled(),
    "CancelRejected": cancel_rejected(),
    "OrderStatusUnknown": unknown(),
    "OrderNotFound": not_found(),
    "OrderAnomaly": anomaly(),
    "TriggerStateChanged": trigger_changed(),
}
