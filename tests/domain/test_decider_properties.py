"""The pure decider under any interleaving of replies, pushes, status answers, fills and clocks.

For every sequence hypothesis finds:
- an order the exchange does not know is declared never placed only after its deadline + grace,
  and only if it was never acknowledged;
- a fill is never lost: it is applied, was already applied, or is journaled as an anomaly;
- a cancel is refused for being past its deadline only after that deadline + grace;
- cancel-on-ack: a cancel asked before the ack is sent exactly when an ack arrives, never to an
  order the exchange has not acknowledged;
- replay = live: folding the journaled events from nothing (``evolve``) equals the state the
  engine's in-place fold (the projection tracker) holds.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from kit.orders import CID, created, filled

from oms.domain import OrderAnomaly, OrderEvent, OrderNotFound, OrderState, fold
from oms.domain.decider import Then, decide_command, decide_observation, wait_before_trusting
from oms.domain.events import CancelRejected, OrderSubmitted
from oms.domain.messages import (
    CancelOrder,
    CancelReplied,
    FillSeen,
    PlaceOrder,
    PlaceReplied,
    Reply,
    Seen,
    StatusSeen,
    Timing,
)
from projections import Projector

GRACE, HORIZON = 300, 1_000

replies = st.sampled_from(list(Reply))
oids = st.sampled_from(["E1", None])
messages = st.one_of(
    st.builds(PlaceReplied, replies, oids, st.none(), st.booleans()),
    st.builds(CancelReplied, replies, st.none()),
    st.builds(StatusSeen, st.sampled_from(list(Seen)), oids, st.none(),
              st.sampled_from([None, Decimal(0), Decimal("0.5"), Decimal(1)])),
    st.builds(lambda t, a: FillSeen(filled(f"T{t}", a)), st.integers(0, 5),
              st.sampled_from(["0.25", "0.5", "1"])),
    st.just(CancelOrder(CID)),
)
steps = st.lists(st.tuples(st.integers(0, 800), messages), max_size=25)


@settings(max_examples=400, deadline=None)
@given(steps, st.booleans())
def test_any_interleaving_keeps_the_rules(script: list[tuple[int, object]], refused: bool) -> None:
    now = 1_000  # ms; created_at of kit.orders.created() is 1_000 ns: any start works
    timing = Timing(now, GRACE, HORIZON)
    placed = decide_command(None, PlaceOrder(created(), "risk says no" if refused else None),
                            timing)
    journal: list[OrderEvent] = list(placed.events)
    projector = Projector()
    for position, event in enumerate(journal, 1):
        projector.apply_event(event, position)
    placement_deadline = next(
        (e.expires_after_ms for e in journal if isinstance(e, OrderSubmitted)), None
    )
    cancel_before_ack = False
    for advance, message in script:
        now += advance
        timing = Timing(now, GRACE, HORIZON)
        before = projector.tracker.get(CID)
        assert before is not None
        if isinstance(message, CancelOrder):
            decision = decide_command(before, message, timing)
            if before.exchange_order_id is None and decision.events:
                cancel_before_ack = True
                assert Then.SEND_CANCEL not in decision.then  # sent on the ack, not now
        else:
            assert not isinstance(message, (PlaceOrder,))
            decision = decide_observation(before, message, timing)  # type: ignore[arg-type]
        for event in decision.events:
            journal.append(event)
            projector.apply_event(event, len(journal))
        after = projector.tracker.get(CID)
        assert after is not None
        for event in decision.events:
            if isinstance(event, OrderNotFound):
                assert placement_deadline is not None
                assert now > placement_deadline + GRACE
                assert now > (before.expires_after_ms or 0) + GRACE
                assert before.exchange_order_id is None
            if isinstance(event, CancelRejected) and isinstance(message, StatusSeen):
                assert now > (before.expires_after_ms or 0) + GRACE
        if isinstance(message, FillSeen):
            trade = message.fill.trade_id
            anomalies = [e for e in decision.events if isinstance(e, OrderAnomaly)]
            assert trade in after.trade_ids or any(
                a.offending_data.get("trade_id") == trade for a in anomalies
            ), "a fill was lost"
        if Then.SEND_CANCEL in decision.then:
            assert after.exchange_order_id is not None
            assert after.state is OrderState.PENDING_CANCEL
        if (
            cancel_before_ack
            and before.state is OrderState.PENDING_CANCEL
            and before.exchange_order_id is None
            and after.exchange_order_id is not None
            and after.state is OrderState.PENDING_CANCEL
        ):
            assert Then.SEND_CANCEL in decision.then, "cancel-on-ack was not sent"
        if isinstance(message, StatusSeen):
            wait = wait_before_trusting(before, message.status, timing)
            assert wait >= 0
            if wait > 0:  # an answer that proves nothing yet changes nothing but the ack
                assert not any(isinstance(e, OrderNotFound | CancelRejected)
                               for e in decision.events)
    live = projector.tracker.get(CID)
    assert fold(journal) == live  # replay = live


def test_not_found_before_the_deadline_waits_then_proves_never_placed() -> None:
    timing = Timing(10_000, GRACE, HORIZON)
    order = fold(decide_command(None, PlaceOrder(created()), timing).events)
    assert order is not None and order.expires_after_ms == 11_000
    early = Timing(11_300, GRACE, HORIZON)  # deadline + grace, not past it
    assert wait_before_trusting(order, Seen.NOT_FOUND, early) == 1
    assert decide_observation(order, StatusSeen(Seen.NOT_FOUND), early).events == ()
    assert wait_before_trusting(order, Seen.NOT_FOUND, Timing(11_000, GRACE, HORIZON)) == 301
    late = decide_observation(order, StatusSeen(Seen.NOT_FOUND), Timing(11_301, GRACE, HORIZON))
    assert [type(e) for e in late.events] == [OrderNotFound]


def test_cancel_before_the_ack_is_journaled_and_sent_on_the_ack() -> None:
    timing = Timing(10_000, GRACE, HORIZON)
    journal = list(decide_command(None, PlaceOrder(created()), timing).events)
    cancel = decide_command(fold(journal), CancelOrder(CID), Timing(10_100, GRACE, HORIZON))
    assert [e.TYPE for e in cancel.events] == ["CancelRequested"] and not cancel.then
    journal += cancel.events
    order = fold(journal)
    assert order is not None and order.state is OrderState.PENDING_CANCEL
    ack = decide_observation(order, PlaceReplied(Reply.CONFIRMED, "E1"),
                             Timing(10_200, GRACE, HORIZON))
    assert [e.TYPE for e in ack.events] == ["OrderAccepted", "CancelRequested"]
    assert ack.then == frozenset({Then.SEND_CANCEL}) and ack.cancel_deadline_ms == 11_200
    # After a restart the same rule holds for a status answer naming the exchange id.
    status = decide_observation(order, StatusSeen(Seen.OPEN, "E1"), Timing(20_000, GRACE, HORIZON))
    assert [e.TYPE for e in status.events] == ["OrderAccepted", "CancelRequested"]
    assert Then.SEND_CANCEL in status.then


@settings(max_examples=200, deadline=None)
@given(st.booleans(), st.integers(0, 10**6))
def test_the_new_order_shortcut_decides_what_decide_would(refused: bool, now: int) -> None:
    from oms.domain.decide import decide

    timing = Timing(now, GRACE, HORIZON)
    placed = decide_command(None, PlaceOrder(created(), "no" if refused else None), timing)
    order = None
    for event in placed.events:
        assert decide(order, event) == (event,)  # each is legal where it lands
        order = fold([*placed.events[: placed.events.index(event) + 1]])
    assert (Then.SEND_PLACE in placed.then) is (not refused)
    again = decide_command(order, PlaceOrder(created()), timing)  # a second "created"
    assert [type(e).__name__ for e in again.events] == ["OrderAnomaly"] and not again.then
