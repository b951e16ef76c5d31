"""Every (state, event type) pair, against an expected table written out by hand."""

from __future__ import annotations

import pytest
from kit.orders import (
    ONE_OF_EACH,
    accepted,
    cancel_requested,
    canceled,
    created,
    filled,
    rejected,
)

from oms.domain import (
    TRANSITIONS,
    InFlightOrder,
    OrderAnomaly,
    OrderEvent,
    OrderState,
    OrderType,
    decide,
    evolve,
    fold,
)
from oms.domain.events import EVENT_CLASSES

S = OrderState

def setups(kind: OrderType = OrderType.LIMIT) -> dict[OrderState, list[OrderEvent]]:
    new = created(order_type=kind)
    return {
        S.PENDING_CREATE: [new],
        S.OPEN: [new, accepted()],
        S.PARTIALLY_FILLED: [new, accepted(), filled("T1", "0.4")],
        S.PENDING_CANCEL: [new, accepted(), cancel_requested()],
        S.FILLED: [new, accepted(), filled("T1", "1")],
        S.CANCELED: [new, accepted(), canceled()],
        S.FAILED: [new, rejected()],
    }


SETUPS = setups()

A, IG = "anomaly", "ignore"
PC, OP, PF, PX, FD, CD, FL = (
    S.PENDING_CREATE, S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.FILLED, S.CANCELED, S.FAILED
)
COLUMNS = (
    "OrderCreated", "OrderSubmitted", "OrderAccepted", "OrderRejected", "OrderFilled",
    "CancelRequested", "OrderCanceled", "CancelRejected", "OrderStatusUnknown", "OrderNotFound",
    "OrderAnomaly", "TriggerStateChanged",
)
# An OrderState means "applied, the order ends in that state".
EXPECTED: dict[OrderState, tuple[object, ...]] = {
    #    Created Submit Accept Reject Fill CancelRq Canceled CancelRej Unknown NotFound Anomaly Trig
    PC: (A, PC, OP, FL, PF, PX, CD, A, PC, FL, PC, A),
    OP: (A, A, IG, A, PF, PX, CD, A, IG, A, OP, A),
    PF: (A, A, IG, A, PF, PX, CD, A, IG, A, PF, A),
    PX: (A, A, IG, A, PX, PX, CD, OP, PX, A, PX, A),
    FD: (A, A, IG, A, A, A, IG, IG, IG, A, FD, A),
    CD: (A, A, IG, A, CD, A, IG, IG, IG, A, CD, A),
    FL: (A, A, A, IG, A, A, A, IG, IG, IG, FL, A),
}
# A stop order: the same table, but a trigger report is legal (the last column): before the ack
# it implies acceptance; after the order ended it is a stale stage (ignored), unless the journal
# says the exchange never had the order (FAILED: an anomaly).
TRIGGER_LAST_COLUMN = {PC: OP, OP: OP, PF: PF, PX: PX, FD: IG, CD: IG, FL: A}
CASES = [
    (s, col, EXPECTED[s][i], OrderType.LIMIT)
    for s in EXPECTED
    for i, col in enumerate(COLUMNS)
] + [
    (s, col, TRIGGER_LAST_COLUMN[s] if col == "TriggerStateChanged" else EXPECTED[s][i],
     OrderType.STOP_MARKET)
    for s in EXPECTED
    for i, col in enumerate(COLUMNS)
]


def test_table_covers_every_pair() -> None:
    assert {c.TYPE for c in EVENT_CLASSES} == set(COLUMNS)
    assert set(TRANSITIONS) == {(s, t) for s in S for t in COLUMNS}


@pytest.mark.parametrize("state", list(S))
def test_setups_reach_their_state(state: OrderState) -> None:
    order = fold(SETUPS[state])
    assert order is not None and order.state is state


@pytest.mark.parametrize(("state", "type_", "expected", "kind"), CASES, ids=lambda v: str(v))
def test_every_state_event_pair(
    state: OrderState, type_: str, expected: object, kind: OrderType
) -> None:
    order = fold(setups(kind)[state])
    assert isinstance(order, InFlightOrder)
    candidate = ONE_OF_EACH[type_]
    out = decide(order, candidate)
    after = evolve(order, candidate)
    if expected == IG:
        assert out == ()
        assert after == order
    elif expected == A:
        assert len(out) == 1 and isinstance(out[0], OrderAnomaly)
        assert out[0].offending_type == type_
        assert after == order  # an illegal event met on replay is a no-op
        counted = evolve(order, out[0])
        assert counted is not None and counted.anomalies == order.anomalies + 1
        assert counted.state is order.state
    else:
        assert out == (candidate,)
        assert after is not None and after.state is expected
