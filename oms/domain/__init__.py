"""The pure order domain: enums, ids, events, codec, state machine, ``evolve`` and ``decide``.

No I/O, no asyncio, no SQL: everything here is a plain function of its inputs (plus the clock and
randomness in ``ClientOrderId.new``).
"""

from oms.domain.codec import (
    EventDecodeError,
    MalformedEvent,
    UnknownEventType,
    UnsupportedEventVersion,
    decode,
    encode,
)
from oms.domain.decide import decide
from oms.domain.decider import Decision, Then, decide_command, decide_observation
from oms.domain.enums import (
    Grouping,
    OrderState,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    TriggerState,
)
from oms.domain.events import (
    CancelRejected,
    CancelRequested,
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
    TriggerStateChanged,
)
from oms.domain.ids import ClientOrderId, InvalidClientOrderId, order_stream
from oms.domain.order import InFlightOrder, OrderRecord, evolve, fold, step
from oms.domain.transitions import TRANSITIONS, Effect, Transition, classify

__all__ = [
    "TRANSITIONS",
    "CancelRejected",
    "CancelRequested",
    "ClientOrderId",
    "Decision",
    "Effect",
    "EventDecodeError",
    "Grouping",
    "InFlightOrder",
    "InvalidClientOrderId",
    "MalformedEvent",
    "OrderAccepted",
    "OrderAnomaly",
    "OrderCanceled",
    "OrderCreated",
    "OrderEvent",
    "OrderFilled",
    "OrderNotFound",
    "OrderRecord",
    "OrderRejected",
    "OrderState",
    "OrderStatusUnknown",
    "OrderSubmitted",
    "OrderType",
    "PositionAction",
    "Then",
    "TimeInForce",
    "TradeSide",
    "Transition",
    "TriggerState",
    "TriggerStateChanged",
    "UnknownEventType",
    "UnsupportedEventVersion",
    "classify",
    "decide",
    "decide_command",
    "decide_observation",
    "decode",
    "encode",
    "evolve",
    "fold",
    "order_stream",
    "step",
]
