"""The decider made whole: ``decide_command`` / ``decide_observation`` → events and what next.

Pure and total: given an order's state (None: nothing journaled yet), a command or an observation,
and the time (:class:`Timing`, passed in, never read), return the events to append and the
follow-ups the engine must carry out once they are durable (:class:`Then`). The delicate rules
live here, and only here:

- **never placed**: "not found" proves an order never reached the book only once its latest
  deadline plus the grace has passed, and only if the exchange never acknowledged it;
- **a cancel past its deadline**: an acknowledged order still open after its cancel's deadline
  plus the grace had its cancel refused (it returns to its state before the request);
- **cancel-on-ack**: a cancel asked for before the exchange acknowledged the order is journaled
  at once (PENDING_CANCEL) but sent only when an acknowledgement arrives (reply, push, status or
  fill), as a fresh cancel request with its own deadline; it survives a restart with the journal.

Every candidate event still passes through ``decide`` (the transition table and its guards), so
duplicates are dropped and illegal events become anomalies.

>>> from decimal import Decimal
>>> from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide
>>> from oms.domain.events import OrderCreated
>>> from oms.domain.ids import ClientOrderId
>>> from oms.domain.order import fold
>>> cid, t = ClientOrderId("0" * 32), Timing(now_ms=1_000, grace_ms=100, horizon_ms=500)
>>> new = OrderCreated(cid, "ETH", TradeSide.BUY, OrderType.LIMIT, Decimal(1), Decimal(3000),
...                    TimeInForce.GTC, False, PositionAction.OPEN, None, 10**9, "hl", "acct")
>>> placed = decide_command(None, PlaceOrder(new), t)
>>> [e.TYPE for e in placed.events], [str(t) for t in placed.then]
(['OrderCreated', 'OrderSubmitted'], ['send_place'])
>>> order = fold(placed.events)
>>> decide_observation(order, StatusSeen(Seen.NOT_FOUND), t).events  # before deadline + grace
()
>>> late = Timing(now_ms=1_601, grace_ms=100, horizon_ms=500)
>>> [e.TYPE for e in decide_observation(order, StatusSeen(Seen.NOT_FOUND), late).events]
['OrderNotFound']
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from oms.domain.decide import decide
from oms.domain.enums import OrderState, TriggerState
from oms.domain.events import (
    CancelRejected,
    CancelRequested,
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderNotFound,
    OrderRejected,
    OrderStatusUnknown,
    OrderSubmitted,
    TriggerStateChanged,
)
from oms.domain.ids import ClientOrderId
from oms.domain.messages import (
    CancelOrder,
    CancelReplied,
    Command,
    FillSeen,
    Observation,
    PlaceOrder,
    PlaceReplied,
    Reply,
    Seen,
    StatusSeen,
    Timing,
)
from oms.domain.order import InFlightOrder, OrderRecord, step
from oms.domain.transitions import OrderView

S = OrderState
NEVER_PLACED = "the exchange does not know this cloid and its deadline has passed: never placed"
CANCEL_NOT_APPLIED = "cancel not applied: the order is still open after the cancel deadline"


class Then(enum.StrEnum):
    """A follow-up the engine carries out once the decided events are durable."""

    SEND_PLACE = "send_place"  # hand the placement to the outbox
    SEND_CANCEL = "send_cancel"  # hand a cancel (with the order's latest deadline) to the outbox
    RESOLVE = "resolve"  # the outcome is unknown: ask the exchange by cloid
    FETCH_FILLS = "fetch_fills"  # the exchange says more was filled than the journal has


@dataclass(frozen=True, slots=True)
class Decision:
    """The events to append (in order) and the follow-ups to run after they are durable."""

    events: tuple[OrderEvent, ...] = ()
    then: frozenset[Then] = frozenset()

    @property
    def cancel_deadline_ms(self) -> int | None:
        """The deadline of the cancel decided here (what ``SEND_CANCEL`` sends), if any."""
        for event in reversed(self.events):
            if type(event) is CancelRequested:
                return event.expires_after_ms
        return None


NOTHING = Decision()
_SEND_PLACE = frozenset({Then.SEND_PLACE})


class DeciderView(OrderView, Protocol):
    """The fields the decider reads (both ``InFlightOrder`` and ``OrderRecord`` have them)."""

    @property
    def client_order_id(self) -> ClientOrderId: ...
    @property
    def expires_after_ms(self) -> int | None: ...
    @property
    def cancel_attempts(self) -> int: ...
    @property
    def reduce_only(self) -> bool: ...


SHRUNK_TO_POSITION = (
    "filled at the position's size: the exchange cut this reduce-only order to the position"
    " and canceled the rest"
)


# ---------------------------------------------------------------------------------- commands


def decide_command(order: DeciderView | None, command: Command, timing: Timing) -> Decision:
    """The events of a user command. The engine checks existence and activity first (it raises
    the user's errors); here a cancel of a finished or already cancelling order is a no-op."""
    if isinstance(command, PlaceOrder):
        created = command.order
        at_ns = created.created_at_ns
        second: OrderEvent
        if command.refusal is not None:
            second = OrderRejected(created.client_order_id, command.refusal, "risk", at_ns)
        else:
            second = OrderSubmitted(created.client_order_id, 1, timing.deadline_from_now, at_ns)
        if order is None:
            # The hot path of every buy(): a new stream accepts "created", and PENDING_CREATE
            # accepts "submitted" and "rejected" (TRANSITIONS; the property tests check that
            # this shortcut decides what ``decide`` would) - no fold of a copy needed.
            events: tuple[OrderEvent, ...] = (created, second)
        else:
            events = decide(order, created)  # a second "created": an anomaly, nothing else
        placed = type(second) is OrderSubmitted and events == (created, second)
        return Decision(events, _SEND_PLACE if placed else frozenset())
    assert isinstance(command, CancelOrder)
    if order is None or order.state.is_terminal or order.state is S.PENDING_CANCEL:
        return NOTHING
    request = _cancel_request(order, timing)
    # Not acknowledged yet: sending now could race the placement; the ack sends it.
    then = frozenset({Then.SEND_CANCEL}) if order.exchange_order_id is not None else frozenset()
    return Decision(_run(order, [request])[0], then)


def _cancel_request(order: DeciderView, timing: Timing) -> CancelRequested:
    return CancelRequested(
        order.client_order_id, order.cancel_attempts + 1, timing.deadline_from_now, timing.now_ns
    )


# ------------------------------------------------------------------------------ observations


def decide_observation(
    order: DeciderView | None, observation: Observation, timing: Timing
) -> Decision:
    """The events of something the exchange told us about ``order`` (None: unknown order)."""
    if order is None:
        return NOTHING  # the sweep deals with orders the journal does not know
    then: set[Then] = set()
    cid = order.client_order_id
    now_ns = timing.now_ns
    candidates: list[OrderEvent]
    if isinstance(observation, FillSeen):
        candidates = [observation.fill]
    elif isinstance(observation, PlaceReplied):
        candidates = _place_candidates(cid, observation, now_ns)
        if observation.filled_at_once:
            then.add(Then.FETCH_FILLS)
    elif isinstance(observation, CancelReplied):
        candidates = [_cancel_candidate(cid, observation, now_ns)]
    else:
        candidates = _status_candidates(order, observation, timing)
        if _more_filled_than_journaled(order, observation):
            then.add(Then.FETCH_FILLS)
    awaiting_ack = order.exchange_order_id is None and order.state is S.PENDING_CANCEL
    events, after = _run(order, candidates, keep_after=awaiting_ack)
    if (
        after is not None
        and after.exchange_order_id is not None
        and after.state is S.PENDING_CANCEL
    ):
        # Cancel-on-ack: the cancel journaled before the ack was never sent; send it now.
        request = _cancel_request(after, timing)
        events = (*events, *decide(after, request))
        then.add(Then.SEND_CANCEL)
    if any(type(e) is OrderStatusUnknown for e in events):
        then.add(Then.RESOLVE)
    elif isinstance(observation, CancelReplied) and (
        not events or any(type(e) is CancelRejected for e in events)
    ):
        then.add(Then.RESOLVE)  # refused, or a reply that changed nothing: ask what happened
    return Decision(events, frozenset(then))


_STAGES = {
    "waitingForFill": TriggerState.WAITING_FOR_FILL,
    "waitingForTrigger": TriggerState.WAITING_FOR_TRIGGER,
}


def _place_candidates(cid: ClientOrderId, reply: PlaceReplied, now_ns: int) -> list[OrderEvent]:
    """A TP/SL leg's bare ``waitingForFill`` / ``waitingForTrigger`` reply (no oid) is its
    trigger stage, which implies acceptance; any other reply is one candidate."""
    stage = _STAGES.get(reply.reason or "") if reply.outcome is Reply.CONFIRMED else None
    if stage is None:
        return [_place_candidate(cid, reply, now_ns)]
    events: list[OrderEvent] = []
    if reply.exchange_order_id is not None:
        events.append(OrderAccepted(cid, reply.exchange_order_id, now_ns))
    events.append(TriggerStateChanged(cid, stage, reply.reason or "", None, now_ns))
    return events


def _place_candidate(cid: ClientOrderId, reply: PlaceReplied, now_ns: int) -> OrderEvent:
    if reply.outcome is Reply.CONFIRMED and reply.exchange_order_id is not None:
        return OrderAccepted(cid, reply.exchange_order_id, now_ns)
    if reply.outcome is Reply.REJECTED:
        return OrderRejected(cid, reply.reason or "rejected by the exchange", "exchange", now_ns)
    reason = reply.reason or "no usable reply"
    return OrderStatusUnknown(cid, f"placement outcome unknown: {reason}", now_ns)


def _cancel_candidate(cid: ClientOrderId, reply: CancelReplied, now_ns: int) -> OrderEvent:
    if reply.outcome is Reply.CONFIRMED:
        return OrderCanceled(cid, reply.reason or "canceled on request", now_ns)
    if reply.outcome is Reply.REJECTED:
        return CancelRejected(cid, reply.reason or "cancel rejected", now_ns)
    reason = reply.reason or "no usable reply"
    return OrderStatusUnknown(cid, f"cancel outcome unknown: {reason}", now_ns)


_ACKNOWLEDGING = frozenset({Seen.OPEN, Seen.FILLED, Seen.CANCELED, Seen.TRIGGERED})


def _status_candidates(order: DeciderView, seen: StatusSeen, timing: Timing) -> list[OrderEvent]:
    """FILLED yields only the acceptance: amounts come from fills (with trade ids)."""
    cid, now_ns, status = order.client_order_id, timing.now_ns, seen.status
    if status is Seen.NOT_FOUND:
        if order.exchange_order_id is None and _past_deadline(order, timing):
            return [OrderNotFound(cid, NEVER_PLACED, now_ns)]
        return []  # before the deadline (+ grace) "not found" proves nothing
    events: list[OrderEvent] = []
    if (
        status is Seen.OPEN
        and order.state is S.PENDING_CANCEL
        and order.exchange_order_id is not None  # else the cancel waits for this very ack
        and _past_deadline(order, timing)
    ):
        events.append(CancelRejected(cid, CANCEL_NOT_APPLIED, now_ns))
    oid = seen.exchange_order_id
    if status in _ACKNOWLEDGING and oid is not None and order.exchange_order_id is None:
        events.append(OrderAccepted(cid, oid, now_ns))
    if (
        status is Seen.FILLED
        and order.reduce_only
        and seen.executed is not None
        and seen.executed <= order.executed_base < order.amount
    ):
        # A reduce-only order larger than the position is shrunk to it (reference §13.3): the
        # exchange says filled with every fill journaled, so the remainder is dead. A late fill
        # is still applied to a CANCELED order.
        events.append(OrderCanceled(cid, SHRUNK_TO_POSITION, now_ns))
    elif status is Seen.TRIGGERED:
        # The mark that fired it is not in the report; the event keeps None (see events.py).
        raw = seen.raw_status or "triggered"
        events.append(TriggerStateChanged(cid, TriggerState.TRIGGERED, raw, None, now_ns))
    elif status is Seen.CANCELED:
        events.append(OrderCanceled(cid, seen.raw_status or "canceled", now_ns))
    elif status is Seen.REJECTED:
        events.append(OrderRejected(cid, seen.raw_status or "rejected", "exchange", now_ns))
    return events


def _past_deadline(order: DeciderView, timing: Timing) -> bool:
    return timing.now_ms > (order.expires_after_ms or 0) + timing.grace_ms


def _more_filled_than_journaled(order: DeciderView, seen: StatusSeen) -> bool:
    if seen.status is Seen.FILLED and order.amount > order.executed_base:
        return True
    return seen.executed is not None and seen.executed > order.executed_base


def wait_before_trusting(order: DeciderView, status: Seen, timing: Timing) -> int:
    """How long (ms) to wait before ``status`` proves anything about ``order`` (0: it does now).

    "Not found", or "still open" while a sent cancel is pending, may only mean the action is
    still in flight until its deadline (+ grace) has passed.
    """
    uncertain = status is Seen.NOT_FOUND or (
        status is Seen.OPEN
        and order.state is S.PENDING_CANCEL
        and order.exchange_order_id is not None
    )
    if not uncertain:
        return 0
    # Trusted once now > deadline + grace, the very test ``decide_observation`` applies.
    return max(0, (order.expires_after_ms or 0) + timing.grace_ms + 1 - timing.now_ms)


# ------------------------------------------------------------------------------ the fold loop


def _run(
    order: DeciderView | None, candidates: list[OrderEvent], keep_after: bool = False
) -> tuple[tuple[OrderEvent, ...], DeciderView | None]:
    """``decide`` each candidate against the state so far (folded on a private copy when there
    is more than one, or when the caller needs the state after them)."""
    if len(candidates) == 1 and not keep_after:
        return decide(order, candidates[0]), None
    work = _copy(order)
    out: list[OrderEvent] = []
    for candidate in candidates:
        for event in decide(work, candidate):
            work = step(work, event)
            out.append(event)
    return tuple(out), work


def _copy(order: DeciderView | None) -> OrderRecord | None:
    if order is None:
        return None
    if isinstance(order, InFlightOrder):
        return OrderRecord.thaw(order)
    if isinstance(order, OrderRecord):
        return OrderRecord.thaw(order.freeze())
    raise TypeError(f"cannot decide on a {type(order).__name__}")

