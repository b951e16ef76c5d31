"""Exchange reports → the decider's observations (pure translation, no decisions).

A connector speaks in plain reports; the engine turns each into an observation of the domain
(``oms.domain.messages``) and the pure decider (``oms.domain.decider``) decides the events.
Keeping this translation pure keeps it testable without a network.

>>> from connectors.base import CancelResult, Outcome
>>> cancel_replied(CancelResult(Outcome.UNKNOWN, reason="timeout"))
CancelReplied(outcome=<Reply.UNKNOWN: 'unknown'>, reason='timeout')
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
from oms.domain.events import OrderFilled
from oms.domain.ids import ClientOrderId
from oms.domain.messages import CancelReplied, FillSeen, PlaceReplied, Reply, Seen, StatusSeen

_REPLY = {Outcome.CONFIRMED: Reply.CONFIRMED, Outcome.REJECTED: Reply.REJECTED,
          Outcome.UNKNOWN: Reply.UNKNOWN}  # fmt: skip
_SEEN = {status: Seen(status.value) for status in ExchangeOrderStatus}


def place_replied(result: PlaceResult) -> PlaceReplied:
    """The observation of a placement reply."""
    return PlaceReplied(
        _REPLY[result.outcome], result.exchange_order_id, result.reason, result.filled_amount > 0
    )


def cancel_replied(result: CancelResult) -> CancelReplied:
    """The observation of a cancel reply."""
    return CancelReplied(_REPLY[result.outcome], result.reason)


def status_seen(report: OrderStatusReport) -> StatusSeen:
    """The observation of an order status (pushed or queried)."""
    executed = None
    if report.amount is not None and report.remaining is not None:
        executed = report.amount - report.remaining
    return StatusSeen(
        _SEEN.get(report.status, Seen.OTHER),
        report.exchange_order_id,
        report.raw_status or None,
        executed,
    )


def fill_seen(cid: ClientOrderId, fill: FillReport) -> FillSeen:
    """The observation of a fill: its candidate event."""
    return FillSeen(fill_event(cid, fill))


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
