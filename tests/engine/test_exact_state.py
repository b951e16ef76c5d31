"""Exact state whatever the cache and the timing (issue 12): one regression test per defect.

Each provokes the defect for real on the local exchange (or feeds the engine the exact report
sequence the independent crash torture saw), with ``completed_in_memory`` tiny so that orders
leave memory as soon as they complete.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from decimal import Decimal

from engine_helpers import mid, wait_for
from kit.engine import reconciler_of, reports_of

from connectors.base import ExchangeOrderStatus, FillReport, OrderStatusReport
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore
from oms.domain.enums import OrderState, OrderType
from oms.domain.events import OrderEvent
from oms.domain.ids import order_stream
from oms.domain.order import InFlightOrder
from oms.engine import EngineConfig, OrderManager
from oms.engine.reconcile import ReconcileCounts
from projections import load_state

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
TINY = dataclasses.replace(FAST, completed_in_memory=1)
Factory = Callable[[], HyperliquidConnector]


async def _types(store: EventStore, cid: str) -> list[str]:
    return [r.type async for r in store.read_stream(order_stream(cid))]


async def _canceled_orders(oms: OrderManager, px: Decimal, count: int) -> list[str]:
    """Place and cancel ``count`` resting orders (each completion evicts an older one)."""
    cids = []
    for _ in range(count):
        cid = oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=px)
        await wait_for(lambda c=cid: oms.get_order(c).state is OrderState.OPEN)  # type: ignore[union-attr,misc]
        oms.cancel(cid)
        await wait_for(lambda c=cid: oms.get_order(c) is None  # type: ignore[misc]
                       or oms.get_order(c).state is OrderState.CANCELED)  # type: ignore[union-attr]
        cids.append(cid)
    await oms.settled(10)
    return cids


def _late_fill(order: InFlightOrder, trade_id: str, amount: Decimal) -> FillReport:
    """The report of a fill that reaches us after the cancel (the exchange's race)."""
    assert order.exchange_order_id is not None and order.price is not None
    return FillReport(
        trade_id=trade_id, pair=order.pair, side="buy", price=order.price, amount=amount,
        fee=D("0.01"), fee_asset="USDC", is_maker=True, timestamp_ms=order.created_at_ns // 10**6,
        exchange_order_id=order.exchange_order_id, cloid=order.cloid,
    )


async def test_a_fill_of_an_evicted_order_reported_twice_is_journaled_once(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Defects 2 and 3: a late fill of an order that has left memory is applied, once."""
    filled: list[str] = []
    async with await OrderManager.open(
        sqlite_url, make_connector(), config=TINY,
        listeners={"on_filled": lambda e, o: filled.append(e.trade_id)},  # type: ignore[attr-defined]
    ) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        first, *_ = await _canceled_orders(oms, px.quantize(D("0.1")), 3)
        assert oms.get_order(first) is None  # evicted from the engine's memory
        order = await oms.load_order(first)
        assert order is not None and order.state is OrderState.CANCELED
        fill = _late_fill(order, "late-1", D("0.004"))
        reports_of(oms).on_fill(fill)  # the stream's report and the gap fill's, in the same moment
        reports_of(oms).on_fill(fill)
        await oms.settled(10)
        types = await _types(oms.store, first)
        assert types.count("OrderFilled") == 1, types
        assert types.count("OrderCreated") == 1
        after = await oms.load_order(first)
        assert after is not None and after.executed_base == D("0.004")
        live = oms.positions.get("ETH")
        assert live is not None and live.net_size == D("0.004")
        await wait_for(lambda: filled == ["late-1"])
        # The same journal folded with capacity 1 and with the default gives the live state.
        for capacity in (1, 50_000):
            state = await load_state(oms.store, use_checkpoint=False, completed_capacity=capacity)
            assert state.positions.as_dict() == oms.positions.as_dict(), capacity


async def test_sweep_never_adopts_an_order_the_journal_knows(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Defect 1: an open-orders list taken before an order completed and left memory."""
    async with await OrderManager.open(sqlite_url, make_connector(), config=TINY) as oms:
        px = ((await mid(oms.connector, "ETH")) * D("0.9")).quantize(D("0.1"))
        first, *_ = await _canceled_orders(oms, px, 3)
        order = await oms.load_order(first)
        assert order is not None and oms.get_order(first) is None
        stale = OrderStatusReport(
            pair="ETH", status=ExchangeOrderStatus.OPEN, cloid=order.cloid,
            exchange_order_id=order.exchange_order_id, side="buy", amount=order.amount,
            remaining=order.amount, price=order.price, timestamp_ms=order.created_at_ns // 10**6,
        )
        counts = ReconcileCounts()
        await reconciler_of(oms).sweep_unknown([stale], counts)
        await oms.settled(10)
        assert counts.adopted == 0 and counts.unknown_found == 0
        types = await _types(oms.store, first)
        assert types.count("OrderCreated") == 1 and types.count("OrderAccepted") == 1, types
        assert [d["action"] for d in counts.details] == ["rechecked"]


async def test_an_ack_before_a_lost_reply_leaves_no_unknown_flag(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Defect 4: the WebSocket acknowledges, then the HTTP reply is held past the timeout."""
    events: list[OrderEvent] = []
    async with await OrderManager.open(
        sqlite_url, make_connector(), config=FAST,
        listeners={"on_event": lambda e, o: events.append(e)},
    ) as oms:
        px = ((await mid(oms.connector, "ETH")) * D("0.9")).quantize(D("0.1"))
        sim.faults.delay_responses(2.5, count=1)  # applied at once, replied after the timeout
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: oms.get_order(cid).state is OrderState.OPEN)  # type: ignore[union-attr]
        await oms.settled(15)
        order = oms.get_order(cid)
        assert order is not None and order.exchange_order_id is not None
        assert not order.unknown, order.reason
        assert not any(type(e).__name__ == "OrderStatusUnknown" for e in events)
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        order = oms.get_order(cid)
        assert order is not None and not order.unknown  # and so across restarts


async def test_transient_read_errors_during_open_are_retried(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Defect 5: one 503 on a read-only /info call during open() no longer fails recovery."""
    sim.faults.http_error(503, 3, path="/info")
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        report = oms.recovery_report
        assert report is not None and sum(report.read_retries.values()) >= 1
        assert report.as_dict()["read_retries"] == report.read_retries


async def test_snapshot_and_all_orders(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """The API gaps: every order ever journaled, and orders + positions at one position."""
    async with await OrderManager.open(sqlite_url, make_connector(), config=TINY) as oms:
        px = ((await mid(oms.connector, "ETH")) * D("0.9")).quantize(D("0.1"))
        cids = await _canceled_orders(oms, px, 3)
        resting = oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=px)
        await oms.settled(10)
        every = {o.client_order_id: o async for o in oms.all_orders(batch_size=2)}
        assert set(every) == {*cids, resting}
        assert every[cids[0]].state is OrderState.CANCELED
        snap = oms.snapshot()
        head, _ = await oms.store.head()
        assert snap.position == head
        assert resting in snap.orders and cids[0] not in snap.orders


async def test_a_second_report_while_the_first_is_being_written_is_dropped(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Defect 3: the order leaves memory while its fill is still on its way to the journal."""
    async with await OrderManager.open(sqlite_url, make_connector(), config=TINY) as oms:
        px = ((await mid(oms.connector, "ETH")) * D("0.9")).quantize(D("0.1"))
        [late] = await _canceled_orders(oms, px, 1)
        other = oms.buy("ETH", D("0.01"), OrderType.LIMIT, price=px)
        await wait_for(lambda: oms.get_order(other).state is OrderState.OPEN)  # type: ignore[union-attr]
        canceled, resting = await oms.load_order(late), oms.get_order(other)
        assert canceled is not None and resting is not None
        fill = _late_fill(canceled, "late-2", D("0.003"))
        reports = reports_of(oms)
        reports.on_fill(fill)  # applied in memory, not yet durable
        reports.on_fill(_late_fill(resting, "full-1", D("0.01")))  # completes `other`: with a
        reports.on_fill(fill)  # capacity of 1 the canceled order would leave memory before this
        await oms.settled(10)
        types = await _types(oms.store, late)
        assert types.count("OrderFilled") == 1 and "OrderAnomaly" not in types, types
