"""``decide``: what to append for a candidate event derived from an exchange report or a command.

>>> from oms.domain.events import OrderCanceled
>>> from oms.domain.ids import ClientOrderId
>>> decide(None, OrderCanceled(ClientOrderId("0" * 32), "user", 1))[0].kind
'orphan_stream'
"""

from __future__ import annotations

from oms.domain.codec import encode
from oms.domain.events import OrderAnomaly, OrderEvent
from oms.domain.transitions import Effect, OrderView, classify


def _at_ns(event: OrderEvent) -> int:
    for name in ("at_ns", "sent_at_ns", "created_at_ns"):
        value = getattr(event, name, None)
        if isinstance(value, int):
            return value
    return int(getattr(event, "exchange_time_ms", 0)) * 1_000_000


def decide(order: OrderView | None, candidate: OrderEvent) -> tuple[OrderEvent, ...]:
    """The events to append for ``candidate`` given ``order`` (None when the stream is empty).

    ``()`` for a no-op (a duplicate trade id, a repeated ack, a cancel after the order filled...),
    ``(candidate,)`` when legal, ``(OrderAnomaly(...),)`` when illegal, keeping the offending input.
    """
    verdict = classify(order, candidate)
    if verdict.effect is Effect.APPLY:
        return (candidate,)
    if verdict.effect is Effect.IGNORE:
        return ()
    type_, data, _ = encode(candidate)
    return (
        OrderAnomaly(
            client_order_id=candidate.client_order_id,
            kind=verdict.kind,
            detail=verdict.detail,
            offending_type=type_,
            offending_data=data,
            at_ns=_at_ns(candidate),
        ),
    )
