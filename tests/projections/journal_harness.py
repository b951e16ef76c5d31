"""A tiny engine stand-in for the projection tests: decide, append to the real store, fold live."""

from __future__ import annotations

from decimal import Decimal

from eventstore import NO_STREAM, EventStore, NewEvent
from eventstore.model import RecordedEvent
from oms.domain import (
    ClientOrderId,
    Grouping,
    OrderCreated,
    OrderEvent,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    decide,
    encode,
    order_stream,
)
from projections import Projector


def new_event(event: OrderEvent) -> NewEvent:
    type_, data, version = encode(event)
    return NewEvent(type_, data, version=version)


def order_created(
    cid: ClientOrderId,
    amount: str = "1",
    side: TradeSide = TradeSide.BUY,
    pair: str = "ETH",
    order_type: OrderType = OrderType.LIMIT,
    parent_id: ClientOrderId | None = None,
) -> OrderCreated:
    trigger = Decimal("2950") if order_type.is_trigger else None
    grouping = Grouping.NORMAL_TPSL if parent_id is not None else Grouping.NONE
    return OrderCreated(
        cid, pair, side, order_type, Decimal(amount), Decimal("3000"), TimeInForce.GTC,
        order_type.is_trigger, PositionAction.OPEN, None, 1, "hyperliquid", "main", trigger,
        parent_id, grouping,
    )


class Harness:
    """Decides candidates against the live tracker, appends what ``decide`` says, folds it."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.projector = Projector()
        self.versions: dict[str, int] = {}

    async def submit(self, candidate: OrderEvent) -> tuple[OrderEvent, ...]:
        cid = candidate.client_order_id
        decided = decide(self.projector.tracker.get(cid), candidate)
        if decided:
            await self.append(cid, decided)
        return decided

    async def append(self, cid: str, events: tuple[OrderEvent, ...]) -> list[RecordedEvent]:
        stream = order_stream(cid)
        expected = self.versions.get(stream, NO_STREAM)
        result = await self.store.append(stream, [new_event(e) for e in events], expected)
        self.versions[stream] = result.next_version - 1
        for recorded in result.events:
            self.projector.apply(recorded)
        return list(result.events)
