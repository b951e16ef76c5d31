"""Exchange reports → candidate domain events (pure).

A connector speaks in plain reports; the engine turns each into *candidate* events, which then pass
through the domain's ``decide`` (which drops duplicates and turns illegal ones into anomalies).
Keeping this translation pure keeps it testable without a network.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from connectors.base import (
    CancelResult,
    ExchangeOrderStatus,
    FillReport,
    OrderStatusReport,
    Outcome,
    PlaceResult,
)
from oms.domain.events import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderStatusUnknown,
)
from oms.domain.ids import ClientOrderId
from oms.domain.order import InFlightOrder


def place_result_events(cid: ClientOrderId, result: PlaceResult, now_ns: int) -> list[OrderEvent]:
    """Candidate events for the reply to a placement.

    ``CONFIRMED`` → accepted (fills arrive separately, with their trade ids); ``REJECTED`` →
    rejected by the exchange; ``UNKNOWN`` → status unknown (the engine then asks by cloid).
    """
    if result.outcome is Outcome.CONFIRMED and result.exchange_order_id is not None:
        return [
            OrderAccepted(
                client_order_id=cid, exchange_order_id=result.exchange_order_id, at_ns=now_ns
            )
        ]
    if result.outcome is Outcome.REJECTED:
        return [
            OrderRejected(
                client_order_id=cid,
                reason=result.reason or "rejected by the exchange",
                source="exchange",
                at_ns=now_ns,
            )
        ]
    reason = result.reason or "no usable reply"
    return [
        OrderStatusUnknown(
            client_order_id=cid, reason=f"placement outcome unknown: {reason}", at_ns=now_ns
        )
    ]


def cancel_result_events(cid: ClientOrderId, result: CancelResult, now_ns: int) -> list[OrderEvent]:
    """Candidate events for the reply to a cancel (unknown → status unknown, to be resolved)."""
    if result.outcome is Outcome.CONFIRMED:
        reason = result.reason or "canceled on request"  # e.g. "replaced by <cloid>" (modify)
        return [OrderCanceled(client_order_id=cid, reason=reason, at_ns=now_ns)]
    if result.outcome is Outcome.REJECTED:
        return [
            CancelRejected(
                client_order_id=cid, reason=result.reason or "cancel rejected", at_ns=now_ns
            )
        ]
    reason = result.reason or "no usable reply"
    return [
        OrderStatusUnknown(
            client_order_id=cid, reason=f"cancel outcome unknown: {reason}", at_ns=now_ns
        )
    ]


def status_report_events(
    order: InFlightOrder, report: OrderStatusReport, now_ns: int
) -> list[OrderEvent]:
    """Candidate events for an order status seen on the exchange (query or stream).

    ``FILLED`` yields only the acceptance: executed amounts come from fills (with trade ids), which
    the engine fetches when the status says filled and the journal has not seen them all yet.
    ``NOT_FOUND`` yields nothing here: only the deadline logic may turn it into "never placed".
    """
    cid = order.client_order_id
    status = report.status
    events: list[OrderEvent] = []
    oid = report.exchange_order_id
    if (
        status
        in (
            ExchangeOrderStatus.OPEN,
            ExchangeOrderStatus.FILLED,
            ExchangeOrderStatus.CANCELED,
            ExchangeOrderStatus.TRIGGERED,
        )
        and oid is not None
        and order.exchange_order_id is None
    ):
        events.append(OrderAccepted(client_order_id=cid, exchange_order_id=oid, at_ns=now_ns))
    if status is ExchangeOrderStatus.CANCELED:
        events.append(
            OrderCanceled(client_order_id=cid, reason=report.raw_status or "canceled", at_ns=now_ns)
        )
    elif status is ExchangeOrderStatus.REJECTED:
        events.append(
            OrderRejected(
                client_order_id=cid,
                reason=report.raw_status or "rejected",
                source="exchange",
                at_ns=now_ns,
            )
        )
    return events


def fill_event(cid: ClientOrderId, fill: FillReport) -> OrderFilled:
    """The candidate fill event of a fill report."""
    return OrderFilled(
        client_order_id=cid,
        trade_id=fill.trade_id,
        price=fill.price,
        amount=fill.amount,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
        is_maker=fill.is_maker,
        exchange_time_ms=fill.timestamp_ms,
        exchange_order_id=fill.exchange_order_id,
        closed_pnl=_closed_pnl(fill),
    )


def _closed_pnl(fill: FillReport) -> Decimal | None:
    value = fill.raw.get("closedPnl")
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None  # a malformed figure: the account falls back to its own average cost
    return number if number.is_finite() else None
