"""The report handler and the reconciler, unit-tested against an in-memory fake connector.

Real parts otherwise: a real SQLite journal, the real live order book, decider and journal.
The end-to-end tests against the local exchange cover the same paths over the wire.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from kit.engine import Parts
from kit.fake_exchange import FakeExchange

from connectors.base import (
    CancelResult,
    ExchangeOrderStatus,
    FillReport,
    OrderStatusReport,
    Outcome,
    PlaceOrderRequest,
    PlaceResult,
)
from eventstore import EventStore
from oms.domain.enums import OrderState
from oms.domain.ids import ClientOrderId, order_stream
from oms.engine import EngineConfig
from oms.engine.reconcile import ReconcileCounts

D = Decimal
CONFIG = EngineConfig(expires_after_s=0.3, deadline_grace_s=0.1, completed_in_memory=1)


@pytest.fixture
async def parts(sqlite_url: str) -> AsyncIterator[Parts]:
    store = await EventStore.open(sqlite_url)
    built = Parts(store, FakeExchange(), CONFIG)
    try:
        yield built
    finally:
        await built.close()
        await store.close()


def _request(cid: ClientOrderId) -> PlaceOrderRequest:
    return PlaceOrderRequest(cid.cloid, "ETH", "buy", D("0.1"), D("3000"), "Gtc")


def _fill(cid: ClientOrderId, trade: str, amount: str, oid: str = "oid-1") -> FillReport:
    return FillReport(trade, "ETH", "buy", D("3000"), D(amount), D("0.01"), "USDC", False,
                      int(time.time() * 1000), oid, cid.cloid)


async def _types(store: EventStore, stream: str) -> list[str]:
    return [e.type async for e in store.read_stream(stream)]


async def test_unknown_placement_is_resolved_never_placed_only_after_the_deadline(
    parts: Parts,
) -> None:
    cid = parts.place()
    parts.reports.on_place_result(_request(cid), PlaceResult(Outcome.UNKNOWN, cid.cloid))
    record = parts.live.get(cid)
    assert record is not None and record.unknown
    began = time.monotonic()
    await parts.settle()  # the resolution asks by cloid: NOT_FOUND, waits, asks again
    order = parts.live.snapshot(cid)
    assert order is not None and order.state is OrderState.FAILED
    assert "never placed" in (order.reason or "")
    assert time.monotonic() - began >= 0.1  # it waited for the deadline + grace
    fake = parts.connector
    assert isinstance(fake, FakeExchange) and len(fake.status_asks) >= 2


async def test_an_outage_during_resolution_is_retried(parts: Parts) -> None:
    cid = parts.place()
    fake = parts.connector
    assert isinstance(fake, FakeExchange)
    fake.unavailable = 2
    fake.statuses[cid.cloid] = OrderStatusReport("ETH", ExchangeOrderStatus.OPEN, cid.cloid, "o9")
    parts.reports.on_place_result(_request(cid), PlaceResult(Outcome.UNKNOWN, cid.cloid))
    await parts.settle()
    order = parts.live.snapshot(cid)
    assert order is not None and order.state is OrderState.OPEN
    assert order.exchange_order_id == "o9" and not order.unknown


async def test_cancel_before_the_ack_is_sent_once_the_ack_is_durable(parts: Parts) -> None:
    cid = parts.place(cancel_first=True)
    assert parts.live.get(cid).state is OrderState.PENDING_CANCEL  # type: ignore[union-attr]
    assert parts.sent_cancels == []  # nothing sent before the exchange knows the order
    parts.reports.on_place_result(
        _request(cid), PlaceResult(Outcome.CONFIRMED, cid.cloid, "oid-1")
    )
    assert parts.sent_cancels == []  # journaled first...
    await parts.settle()
    [(pair, cloid, deadline)] = parts.sent_cancels  # ...then handed over, once
    assert (pair, cloid) == ("ETH", cid.cloid) and deadline > time.time() * 1000
    types = await _types(parts.store, order_stream(cid))
    assert types == ["OrderCreated", "OrderSubmitted", "CancelRequested", "OrderAccepted",
                     "CancelRequested"]
    parts.reports.on_cancel_result(cid.cloid, CancelResult(Outcome.CONFIRMED))
    await parts.settle()
    assert parts.live.get(cid).state is OrderState.CANCELED  # type: ignore[union-attr]


async def test_a_fill_twice_is_applied_once_and_an_unknown_fill_is_an_anomaly(
    parts: Parts,
) -> None:
    cid = parts.place()
    parts.reports.on_place_result(_request(cid), PlaceResult(Outcome.CONFIRMED, cid.cloid, "oid-1"))
    fill = _fill(cid, "t1", "0.04")
    parts.reports.on_fill(fill)
    parts.reports.on_fill(fill)
    stranger = ClientOrderId.new(time.time_ns())
    parts.reports.on_fill(_fill(stranger, "t2", "0.01", oid="oid-x"))
    await parts.settle()
    order = parts.live.snapshot(cid)
    assert order is not None and order.executed_base == D("0.04")
    assert order.state is OrderState.PARTIALLY_FILLED
    assert (await _types(parts.store, order_stream(cid))).count("OrderFilled") == 1
    anomalies = [e async for e in parts.store.read_stream("anomalies")]
    assert [a.data["kind"] for a in anomalies] == ["unknown_order"]
    assert parts.live.positions.get("ETH").net_size == D("0.04")  # type: ignore[union-attr]


async def test_a_late_fill_of_an_evicted_order_is_read_back_and_applied(parts: Parts) -> None:
    first, second = parts.place(), parts.place()
    for cid, oid in ((first, "oid-1"), (second, "oid-2")):
        parts.reports.on_place_result(_request(cid), PlaceResult(Outcome.CONFIRMED, cid.cloid, oid))
        parts.reports.on_cancel_result(cid.cloid, CancelResult(Outcome.CONFIRMED))
    await parts.settle()
    assert parts.live.get(first) is None  # capacity 1: the first left memory
    parts.reports.on_fill(_fill(first, "late", "0.02", oid="oid-1"))
    await parts.settle()
    order = parts.live.snapshot(first)
    assert order is not None and order.state is OrderState.CANCELED
    assert order.executed_base == D("0.02")


async def test_reconciler_sweep_adopts_or_cancels_unknown_open_orders(parts: Parts) -> None:
    fake = parts.connector
    assert isinstance(fake, FakeExchange)
    foreign = OrderStatusReport("ETH", ExchangeOrderStatus.OPEN, None, "ext-1", side="buy",
                                amount=D("1"), remaining=D("1"), price=D("2000"),
                                timestamp_ms=int(time.time() * 1000))
    counts = ReconcileCounts()
    await parts.reconciler.sweep_unknown([foreign], counts)
    await parts.settle()
    assert (counts.unknown_found, counts.adopted) == (1, 1)
    [adopted] = [r for r in parts.live.active_records() if r.exchange_order_id == "ext-1"]
    assert adopted.state is OrderState.OPEN
    again = ReconcileCounts()
    await parts.reconciler.sweep_unknown([foreign], again)  # known now: never adopted twice
    assert again.unknown_found == 0


async def test_reconciler_gap_fill_and_active_reconcile(parts: Parts) -> None:
    fake = parts.connector
    assert isinstance(fake, FakeExchange)
    resting, gone = parts.place(), parts.place()
    for cid, oid in ((resting, "oid-1"), (gone, "oid-2")):
        parts.reports.on_place_result(_request(cid), PlaceResult(Outcome.CONFIRMED, cid.cloid, oid))
    fake.open = [OrderStatusReport("ETH", ExchangeOrderStatus.OPEN, resting.cloid, "oid-1")]
    fake.statuses[gone.cloid] = OrderStatusReport(
        "ETH", ExchangeOrderStatus.CANCELED, gone.cloid, "oid-2", raw_status="marginCanceled"
    )
    fake.fill_log = [_fill(resting, "g1", "0.03")]
    counts = await parts.reconciler.refresh("test")
    await parts.settle()
    assert counts.fills_fetched == 1 and counts.checked == 2 and counts.queried == 1
    assert parts.live.snapshot(resting).executed_base == D("0.03")  # type: ignore[union-attr]
    canceled = parts.live.snapshot(gone)
    assert canceled is not None and canceled.state is OrderState.CANCELED
    assert canceled.reason == "marginCanceled"
