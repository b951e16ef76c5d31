"""Unknown outcomes, failures and recovery, each provoked for real on the local exchange."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import counterparty_ioc, mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from oms.domain.enums import OrderState, OrderType
from oms.domain.events import OrderEvent
from oms.domain.order import InFlightOrder
from oms.engine import EngineClosed, EngineConfig, OrderManager, RecoveryFailed

D = Decimal
FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
Factory = Callable[[], HyperliquidConnector]


def state_of(oms: OrderManager, cid: str) -> OrderState | None:
    order = oms.get_order(cid)
    return order.state if order is not None else None


async def test_dropped_reply_is_unknown_then_resolved_by_cloid(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        sim.faults.drop_replies(1)  # the exchange applies the order but the reply is lost
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.OPEN)
        order = oms.get_order(cid)
        assert order is not None and order.exchange_order_id is not None
        assert sim.truth.orders(oms.connector.account)[cid.cloid]["status"] == "open"


async def test_5xx_is_unknown_then_never_placed_after_the_deadline(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        sim.faults.http_error(503, 1, path="/exchange")  # not applied
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: oms.get_order(cid).unknown)  # type: ignore[union-attr]
        assert state_of(oms, cid) is OrderState.PENDING_CREATE  # unknown is never FAILED at once
        await wait_for(lambda: state_of(oms, cid) is OrderState.FAILED, limit_s=10)
        assert cid.cloid not in sim.truth.orders(oms.connector.account)
        assert "never placed" in (oms.get_order(cid).reason or "")  # type: ignore[union-attr]


async def test_cancel_before_the_ack_waits_for_it(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        oms.cancel(cid)  # before the exchange has even seen it
        await wait_for(lambda: state_of(oms, cid) is OrderState.CANCELED)
        assert sim.truth.orders(oms.connector.account)[cid.cloid]["status"] == "canceled"


async def test_journal_failure_sends_nothing_and_closes_the_engine(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        # Break the journal for real: another connection drops the events table.
        with sqlite3.connect(tmp_path / "oms.db") as raw:
            raw.execute("DROP TABLE events")
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: not oms.is_trading)
        with pytest.raises(EngineClosed, match="journal failed"):
            oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
    assert cid.cloid not in sim.truth.orders(oms.connector.account)


async def test_tampered_journal_keeps_the_engine_closed(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.OPEN)
        await oms.flush()
    with sqlite3.connect(tmp_path / "oms.db") as raw:
        raw.execute("UPDATE events SET data = replace(data, '0.05', '5.00') WHERE position = 1")
    with pytest.raises(RecoveryFailed) as failure:
        await OrderManager.open(sqlite_url, make_connector(), config=FAST)
    assert failure.value.step == "verify"
    assert "position 1" in str(failure.value)


async def test_since_snapshot_verification_checks_what_came_after_the_snapshot(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, tmp_path: Path
) -> None:
    config = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5,
                          verify_on_start="since_snapshot")
    async with await OrderManager.open(sqlite_url, make_connector(), config=config) as oms:
        px = (await mid(oms.connector, "ETH")) * D("0.9")
        first = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, first) is OrderState.OPEN)
        await oms.flush()
    # The close wrote a snapshot; the second run journals more events after it and, like a
    # crashed process, leaves them without a newer snapshot.
    no_close_snapshot = dataclasses.replace(config, snapshot_every=0)
    async with await OrderManager.open(sqlite_url, make_connector(),
                                       config=no_close_snapshot) as again:
        assert again.recovery_report is not None and again.recovery_report.from_snapshot
        px = (await mid(again.connector, "ETH")) * D("0.9")
        second = again.buy("ETH", D("0.07"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(again, second) is OrderState.OPEN)
        await again.flush()
    with sqlite3.connect(tmp_path / "oms.db") as raw:
        (last,) = raw.execute("SELECT max(position) FROM events").fetchone()
        (snap,) = raw.execute("SELECT max(position) FROM proj_snapshots").fetchone()
        (edited,) = raw.execute("SELECT min(position) FROM events WHERE position > ? "
                                "AND type = 'OrderCreated'", (snap,)).fetchone()
        assert snap < edited <= last
        raw.execute("UPDATE events SET data = replace(data, '0.07', '9.00') WHERE position = ?",
                    (edited,))
    with pytest.raises(RecoveryFailed) as failure:
        await OrderManager.open(sqlite_url, make_connector(), config=config)
    assert failure.value.step == "verify"
    assert f"position {edited}" in str(failure.value)


async def test_restart_catches_up_on_fills_made_while_down(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")).quantize(D("0.1"))  # inside the spread: best bid
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.OPEN)
        await oms.flush()
    # While the engine is down, a counterparty sells into our resting bid.
    await counterparty_ioc(sim, "ETH", "sell", D("0.05"), px)
    assert sim.truth.orders(oms.connector.account)[cid.cloid]["status"] == "filled"
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as again:
        order = again.get_order(cid)
        assert order is not None and order.state is OrderState.FILLED
        assert order.executed_base == D("0.05")
        report = again.recovery_report
        assert report is not None and report.counts.fills_fetched >= 1
        assert report.corrections >= 1
        # The first engine wrote a snapshot on close: start-up loads it instead of re-folding.
        assert report.from_snapshot and report.journal_position >= 3
        assert report.orders_in_journal == 1


@pytest.mark.parametrize("policy", ["adopt", "cancel"])
async def test_open_orders_unknown_to_the_journal_are_adopted_or_canceled(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str, policy: str
) -> None:
    from connectors.base import PlaceOrderRequest

    connector = make_connector()
    async with connector:
        px = ((await mid(connector, "ETH")) * D("0.9")).quantize(D("0.1"))
        deadline = 2**42
        [placed] = await connector.place_orders(
            [PlaceOrderRequest("0x" + "ab" * 16, "ETH", "buy", D("0.05"), px)], deadline
        )
        assert placed.exchange_order_id is not None
    config = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, unknown_orders=policy)  # type: ignore[arg-type]
    async with await OrderManager.open(sqlite_url, make_connector(), config=config) as oms:
        report = oms.recovery_report
        assert report is not None and report.counts.unknown_found == 1
        if policy == "adopt":
            adopted = [o for o in oms.orders.values()
                       if o.exchange_order_id == placed.exchange_order_id]
            assert len(adopted) == 1 and adopted[0].state is OrderState.OPEN
        else:
            await wait_for(lambda: sim.truth.orders(oms.connector.account)[
                "0x" + "ab" * 16]["status"] == "canceled")


async def test_a_raising_listener_does_not_stop_the_others(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    seen: list[str] = []

    def broken(event: OrderEvent, order: InFlightOrder) -> None:
        raise RuntimeError("listener bug")

    async def good(event: OrderEvent, order: InFlightOrder) -> None:
        seen.append(order.state.value)

    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        oms.add_listener(on_created=broken, on_completed=good)
        oms.add_listener(on_created=good)
        px = (await mid(oms.connector, "ETH")) * D("1.05")
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.FILLED)
        await wait_for(lambda: "filled" in seen)
        assert seen[0] == "pending_create"
    with pytest.raises(TypeError, match="unknown listener"):
        oms.add_listener(on_exploded=good)


async def test_silent_stream_falls_back_to_polling(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        px = (await mid(oms.connector, "ETH")).quantize(D("0.1"))  # inside the spread: best bid
        cid = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.OPEN)
        sim.faults.drop_ws_messages(1.0)  # the WebSocket goes silent
        await counterparty_ioc(sim, "ETH", "sell", D("0.05"), px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.FILLED, limit_s=8)


async def test_fill_replayed_for_a_forgotten_order_is_applied_once(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """Completed orders leave memory; a re-delivered fill reloads the order and changes nothing."""
    config = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, completed_in_memory=1)
    async with await OrderManager.open(sqlite_url, make_connector(), config=config) as oms:
        px = (await mid(oms.connector, "ETH")).quantize(D("0.1"))
        cid = oms.buy("ETH", D("0.1"), OrderType.LIMIT, price=px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.OPEN)
        await counterparty_ioc(sim, "ETH", "sell", D("0.04"), px)
        await wait_for(lambda: state_of(oms, cid) is OrderState.PARTIALLY_FILLED)
        oms.cancel(cid)
        await wait_for(lambda: state_of(oms, cid) is OrderState.CANCELED)
        for _ in range(2):  # two more completed orders push it out of memory
            other = oms.buy("ETH", D("0.05"), OrderType.LIMIT, price=px * D("0.9"))
            await wait_for(lambda o=other: state_of(oms, o) is OrderState.OPEN)  # type: ignore[misc]
            oms.cancel(other)
            await wait_for(lambda o=other: state_of(oms, o) is OrderState.CANCELED)  # type: ignore[misc]
        await oms.flush()
        assert oms.get_order(cid) is None and cid not in oms.projector.tracker
        head_before, _ = await oms.store.head()
        await oms.reconcile()  # the gap fill re-delivers the old fill
        await wait_for(lambda: oms.get_order(cid) is not None)
        await oms.flush()
        order = oms.get_order(cid)
        assert order is not None and order.executed_base == D("0.04")
        assert order.state is OrderState.CANCELED and order.anomalies == 0
        position = oms.positions.get("ETH")
        assert position is not None and position.net_size == D("0.04")
        head_after, _ = await oms.store.head()
        assert head_after == head_before  # nothing new journaled: the fill was a duplicate
