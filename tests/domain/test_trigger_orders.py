"""Trigger orders in the domain: the trigger-state flag, its events, old journals and records."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from kit.orders import CID, accepted, canceled, created, filled, trigger_changed

from oms.domain import (
    Grouping,
    OrderAnomaly,
    OrderState,
    OrderType,
    TriggerState,
    decide,
    decode,
    encode,
    evolve,
    fold,
)
from oms.domain.decider import SHRUNK_TO_POSITION, decide_observation
from oms.domain.messages import Seen, StatusSeen, Timing
from oms.domain.order import OrderRecord
from projections.record_codec import record_from_json, record_to_json

W, T, X = TriggerState.WAITING_FOR_FILL, TriggerState.WAITING_FOR_TRIGGER, TriggerState.TRIGGERED


def test_order_type_kinds() -> None:
    assert [k.tpsl for k in OrderType] == [None, None, None, "sl", "sl", "tp", "tp"]
    assert OrderType.TAKE_PROFIT_MARKET.is_market_trigger
    assert not OrderType.TAKE_PROFIT_LIMIT.is_market_trigger
    assert not OrderType.MARKET.is_trigger


def test_created_carries_trigger_price_and_parent_and_round_trips() -> None:
    event = created(order_type=OrderType.STOP_LIMIT)
    assert event.trigger_price == Decimal("2900")
    assert decode(*encode(event)) == event
    order = evolve(None, event)
    assert order is not None and order.trigger_price == Decimal("2900")
    assert order.trigger_state is None and order.grouping is Grouping.NONE


def test_created_v2_rows_read_as_plain_orders() -> None:
    type_, data, _ = encode(created())
    old = {k: v for k, v in data.items() if k not in ("trigger_price", "parent_id", "grouping")}
    event = decode(type_, old, 2)
    assert event == created()
    assert event.grouping is Grouping.NONE and event.parent_id is None


def test_trigger_report_before_ack_implies_acceptance_and_keeps_the_mark() -> None:
    order = fold([created(order_type=OrderType.STOP_MARKET), trigger_changed(T, None)])
    assert order is not None and order.state is OrderState.OPEN
    assert order.trigger_state is T and order.trigger_mark is None
    order = evolve(order, trigger_changed(X, "2899.5"))
    assert order is not None and order.trigger_state is X
    assert order.trigger_mark == Decimal("2899.5")
    order = evolve(order, filled("T1", "1"))
    assert order is not None and order.state is OrderState.FILLED
    # "triggered" pushed after the resulting fill was journaled: a benign race, ignored.
    assert decide(order, trigger_changed(X)) == ()


def test_trigger_report_for_a_plain_order_is_an_anomaly() -> None:
    order = fold([created(), accepted()])
    (out,) = decide(order, trigger_changed(X))
    assert isinstance(out, OrderAnomaly) and out.kind == "illegal_transition"
    assert "limit" in out.detail


def test_trigger_report_after_cancel_is_ignored() -> None:
    order = fold([created(order_type=OrderType.TAKE_PROFIT_MARKET), accepted(), canceled()])
    assert decide(order, trigger_changed(X)) == ()


@given(st.lists(st.sampled_from([W, T, X]), max_size=8))
def test_trigger_state_only_moves_forward(stages: list[TriggerState]) -> None:
    order = fold([created(order_type=OrderType.STOP_MARKET), accepted()])
    best = -1
    for stage in stages:
        out = decide(order, trigger_changed(stage))
        forward = stage.rank > best
        assert len(out) == (1 if forward else 0)
        for event in out:
            order = evolve(order, event)
        best = max(best, stage.rank)
        assert order is not None and order.trigger_state is not None
        assert order.trigger_state.rank == best


def test_record_json_round_trips_and_old_records_read() -> None:
    order = fold([
        created(order_type=OrderType.STOP_MARKET), accepted(), trigger_changed(X, "2899.5"),
    ])
    assert order is not None
    record = OrderRecord.thaw(order)
    assert record_from_json(record_to_json(record)).freeze() == order
    plain = fold([created(), accepted()])
    assert plain is not None
    old_layout = record_to_json(OrderRecord.thaw(plain))[:-5]  # written before trigger fields
    assert record_from_json(old_layout).freeze() == plain
    assert plain.client_order_id == CID


def test_a_filled_reduce_only_order_shrunk_to_the_position_ends() -> None:
    timing = Timing(now_ms=10_000, grace_ms=1_000, horizon_ms=5_000)
    stop = fold([created(order_type=OrderType.STOP_MARKET), accepted(), filled("T1", "0.6")])
    assert stop is not None and stop.reduce_only and stop.state is OrderState.PARTIALLY_FILLED
    seen = StatusSeen(Seen.FILLED, "E1", "filled", Decimal("0.6"))
    [ended] = decide_observation(stop, seen, timing).events
    assert ended.TYPE == "OrderCanceled" and ended.reason == SHRUNK_TO_POSITION  # type: ignore[union-attr]
    plain = fold([created(), accepted(), filled("T1", "0.6")])  # not reduce-only: fetch fills
    assert decide_observation(plain, seen, timing).events == ()
