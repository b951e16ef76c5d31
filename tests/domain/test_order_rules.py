"""The state machine's named rules, each on a concrete story."""

from __future__ import annotations

from decimal import Decimal

from kit.orders import (
    accepted,
    cancel_rejected,
    cancel_requested,
    canceled,
    created,
    filled,
    not_found,
    rejected,
    submitted,
    unknown,
)

from oms.domain import OrderAnomaly, OrderState, decide, evolve, fold

S = OrderState


def test_fill_before_ack_implies_accepted_and_late_ack_records_id() -> None:
    order = fold([created(), submitted(), filled("T1", "0.25")])
    assert order is not None
    assert order.state is S.PARTIALLY_FILLED
    assert order.exchange_order_id == "E1"  # taken from the fill
    assert decide(order, accepted("E1")) == ()


def test_full_fill_before_ack_then_ack_is_ignored() -> None:
    order = fold([created(), submitted(), filled("T1", "1")])
    assert order is not None and order.state is S.FILLED
    assert decide(order, accepted("E1")) == ()


def test_exact_totals_and_average_price() -> None:
    order = fold([
        created("1"), accepted(),
        filled("T1", "0.1", "3000.1", "0.01"),
        filled("T2", "0.2", "3000.2", "0.02"),
    ])
    assert order is not None
    assert order.executed_base == Decimal("0.3")
    assert order.executed_quote == Decimal("900.05")
    assert order.fees == {"USDC": Decimal("0.03")}
    assert order.average_price == Decimal("900.05") / Decimal("0.3")
    assert order.remaining == Decimal("0.7")
    assert order.trade_ids == frozenset({"T1", "T2"})


def test_duplicate_fill_is_a_no_op() -> None:
    order = fold([created(), accepted(), filled("T1", "0.5")])
    assert order is not None
    assert decide(order, filled("T1", "0.5")) == ()
    assert evolve(order, filled("T1", "0.5")) == order


def test_overfill_is_an_anomaly_never_summed() -> None:
    order = fold([created(), accepted(), filled("T1", "0.7")])
    assert order is not None
    (out,) = decide(order, filled("T2", "0.5"))
    assert isinstance(out, OrderAnomaly) and out.kind == "overfill"
    assert out.offending_data["trade_id"] == "T2" and out.offending_data["amount"] == "0.5"
    assert evolve(order, filled("T2", "0.5")) == order


def test_late_fill_after_cancel() -> None:
    order = fold([created(), accepted(), filled("T1", "0.5"), cancel_requested(), canceled()])
    assert order is not None and order.state is S.CANCELED
    partial = evolve(order, filled("T2", "0.2"))
    assert partial is not None and partial.state is S.CANCELED
    assert partial.executed_base == Decimal("0.7")
    complete = evolve(partial, filled("T3", "0.3"))
    assert complete is not None and complete.state is S.FILLED


def test_canceled_after_fill_completed_is_a_no_op() -> None:
    order = fold([created(), accepted(), cancel_requested(), filled("T1", "1")])
    assert order is not None and order.state is S.FILLED
    assert decide(order, canceled()) == ()


def test_rejected_cancel_restores_previous_state() -> None:
    order = fold([created(), accepted(), filled("T1", "0.5"), cancel_requested()])
    assert order is not None and order.previous_state is S.PARTIALLY_FILLED
    back = evolve(order, cancel_rejected())
    assert back is not None and back.state is S.PARTIALLY_FILLED and back.previous_state is None
    # a partial fill while the cancel is pending changes where a reject returns to
    order = fold(
        [created(), accepted(), cancel_requested(), filled("T1", "0.5"), cancel_rejected()]
    )
    assert order is not None and order.state is S.PARTIALLY_FILLED


def test_cancel_before_ack_then_exchange_reject_fails_the_order() -> None:
    order = fold([created(), submitted(), cancel_requested(), rejected()])
    assert order is not None and order.state is S.FAILED
    order = fold([created(), submitted(), cancel_requested(), accepted(), cancel_rejected()])
    assert order is not None and order.state is S.OPEN


def test_unknown_then_resolution() -> None:
    order = fold([created(), submitted(), unknown()])
    assert order is not None and order.unknown and order.state is S.PENDING_CREATE
    gone = evolve(order, not_found())
    assert gone is not None and gone.state is S.FAILED and not gone.unknown
    live = evolve(order, accepted())
    assert live is not None and live.state is S.OPEN and not live.unknown


def test_conflicting_exchange_id_is_an_anomaly() -> None:
    order = fold([created(), accepted("E1")])
    (out,) = decide(order, accepted("E2"))
    assert isinstance(out, OrderAnomaly) and out.kind == "exchange_id_mismatch"


def test_orphan_and_duplicate_create() -> None:
    (orphan,) = decide(None, accepted())
    assert isinstance(orphan, OrderAnomaly) and orphan.kind == "orphan_stream"
    assert evolve(None, accepted()) is None
    order = fold([created()])
    (dup,) = decide(order, created())
    assert isinstance(dup, OrderAnomaly) and dup.kind == "duplicate_create"


def test_submission_records_attempt_and_deadline() -> None:
    order = fold([created(), submitted(1), unknown(), submitted(2)])
    assert order is not None
    assert order.submit_attempts == 2 and order.expires_after_ms == 60_002
    assert order.is_active and not order.is_terminal
    assert order.cloid == "0x" + order.client_order_id
