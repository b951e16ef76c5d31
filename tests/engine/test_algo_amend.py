"""Amending a running parent against the local exchange (real HTTP/WebSocket, SQLite journal),
and ``settled()`` waiting for the algorithm runner's work."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from engine_helpers import counterparty_ioc, mid, wait_for

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange
from eventstore import EventStore
from oms.algos import AlgoRunner, AlgoSpecError, ParentNotActive
from oms.domain.parent import parent_stream
from oms.engine import EngineConfig, OrderManager

FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
D = Decimal
Factory = Callable[[], HyperliquidConnector]


async def _types(url: str, stream: str) -> list[str]:
    store = await EventStore.open(url)
    try:
        return [e.type async for e in store.read_stream(stream)]
    finally:
        await store.close()


def _open_on_exchange(sim: SimulatedExchange, account: str) -> list[dict[str, object]]:
    return [o for o in sim.truth.orders(account).values() if o["status"] == "open"]


async def test_settled_waits_for_the_runners_first_child(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """``iceberg()`` returns before anything is journaled; ``settled()`` waits until the parent
    is durable and its first child rests on the exchange (the runner's task counts as work)."""
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=5.0, min_interval_s=0.1)  # no tick helps
        px = oms.connector.trading_rule("ETH").quantize_price(
            (await mid(oms.connector, "ETH")) * D("0.97"))
        pid = algos.iceberg("ETH", "buy", D("0.4"), px, display=D("0.1"))
        assert algos.parent(pid).version == 0  # not yet journaled
        await oms.settled(10)
        state = algos.parent(pid)
        assert state.version >= 2 and state.working is not None
        child = oms.get_order(state.working.child_id)
        assert child is not None and child.exchange_order_id is not None  # acknowledged
        assert ["0x" + state.working.child_id] == [
            o["cloid"] for o in _open_on_exchange(sim, oms.connector.account)]
        await algos.cancel(pid)
        await algos.wait_finished(pid, 10)
        await algos.close()


async def test_amend_iceberg_display_and_price_replaces_the_working_child(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        rule = oms.connector.trading_rule("ETH")
        m = await mid(oms.connector, "ETH")
        # inside the spread (the best quote is 2 bps from the mid): a counterparty hits ours first
        px, lower = rule.quantize_price(m), rule.quantize_price(m * D("0.9999"))
        account = oms.connector.account
        pid = algos.iceberg("ETH", "buy", D("0.6"), px, display=D("0.3"))
        await oms.settled(10)
        first = algos.parent(pid).working
        assert first is not None and first.amount == D("0.3")
        state = await algos.amend(pid, display=D("0.1"), price=lower)
        assert state.spec.display == D("0.1") and state.spec.price == lower
        await wait_for(lambda: (w := algos.parent(pid).working) is not None
                       and w.child_id != first.child_id)
        await oms.settled(10)
        assert sim.truth.orders(account)["0x" + first.child_id]["status"] == "canceled"
        shown = _open_on_exchange(sim, account)
        assert len(shown) == 1 and D(str(shown[0]["remaining_sz"])) <= D("0.1")
        assert D(str(shown[0]["limit_px"])) == lower
        # a counterparty fills the new child; the amended amount is then lowered to what is left
        await counterparty_ioc(sim, "ETH", "sell", D("0.1"), lower)
        await wait_for(lambda: algos.parent(pid).executed == D("0.1"))
        state = await algos.amend(pid, amount=D("0.2"))
        await oms.settled(10)
        await counterparty_ioc(sim, "ETH", "sell", D("0.1"), lower)
        state = await algos.wait_finished(pid, 10)
        assert state.status == "done" and state.executed == D("0.2"), state.reason
        await algos.close()
    types = await _types(sqlite_url, parent_stream(pid))
    assert types.count("ParentAmended") == 2 and types[-1] == "ParentFinished"


async def test_amend_twap_amount_and_duration_executes_the_new_total(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        px = oms.connector.trading_rule("ETH").quantize_price(
            (await mid(oms.connector, "ETH")) * D("1.05"))
        pid = algos.twap("ETH", "buy", D("0.4"), px, duration_s=30, slices=4)
        await wait_for(lambda: algos.parent(pid).executed > 0)
        await algos.amend(pid, amount=D("0.3"), duration_s=1.5)
        state = await algos.wait_finished(pid, 15)
        assert state.status == "done" and state.executed == D("0.3"), state.reason
        await oms.settled(10)
        fills = [await oms.load_order(c.child_id) for c in state.children]
        assert sum(o.executed_base for o in fills if o is not None) == D("0.3")
        await algos.close()


async def test_bad_amends_are_refused_before_anything_is_journaled(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        rule = oms.connector.trading_rule("ETH")
        px = rule.quantize_price(await mid(oms.connector, "ETH"))  # the best bid: hit first
        pid = algos.iceberg("ETH", "buy", D("0.4"), px, display=D("0.2"))
        await oms.settled(10)
        await counterparty_ioc(sim, "ETH", "sell", D("0.1"), px)
        await wait_for(lambda: algos.parent(pid).executed == D("0.1"))
        version = algos.parent(pid).version
        with pytest.raises(AlgoSpecError, match=r"below the 0\.1 already executed"):
            await algos.amend(pid, amount=D("0.05"))
        with pytest.raises(AlgoSpecError, match="larger than the amount"):
            await algos.amend(pid, amount=D("0.15"), display=D("0.2"))
        with pytest.raises(AlgoSpecError, match="no duration"):
            await algos.amend(pid, duration_s=10)
        with pytest.raises(AlgoSpecError, match="nothing to amend"):
            await algos.amend(pid)
        with pytest.raises(AlgoSpecError, match="positive decimal"):
            await algos.amend(pid, price=3000.0)  # type: ignore[arg-type]
        assert algos.parent(pid).version == version  # nothing journaled
        await algos.cancel(pid)
        await algos.wait_finished(pid, 10)
        with pytest.raises(ParentNotActive, match="is canceled"):
            await algos.amend(pid, amount=D("0.3"))
        await algos.close()
    assert "ParentAmended" not in await _types(sqlite_url, parent_stream(pid))


async def test_a_fill_still_in_flight_after_a_cancel_is_counted_before_the_next_child(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    """The overshoot window: a counterparty fills the iceberg's child while the engine's stream
    is held (and nothing polls), then an amend cancels the child. The engine journals it
    canceled with no fill; the runner asks the exchange before sizing the next child, so the
    next child is the true rest (0.15), not the display size (0.2), and the total is exact."""
    slow_poll = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=60.0)
    async with await OrderManager.open(sqlite_url, make_connector(), config=slow_poll) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        rule = oms.connector.trading_rule("ETH")
        m = await mid(oms.connector, "ETH")
        px, lower = rule.quantize_price(m), rule.quantize_price(m * D("0.9999"))
        pid = algos.iceberg("ETH", "buy", D("0.25"), px, display=D("0.2"))
        await oms.settled(10)
        first = algos.parent(pid).working
        assert first is not None
        sim.faults.pause_pushes(3.0)  # the fill's push comes 3 s late
        await counterparty_ioc(sim, "ETH", "sell", D("0.1"), px)
        await algos.amend(pid, price=lower)  # the child is canceled (0.1 of it already filled)
        await wait_for(lambda: len(algos.parent(pid).children) == 2, 10)
        second = algos.parent(pid).children[1]
        assert second.amount == D("0.15")  # sized from the exchange's count, not the journal's
        assert algos.parent(pid).children[0].filled == D("0.1")
        await oms.settled(10)
        await counterparty_ioc(sim, "ETH", "sell", D("0.15"), lower)
        state = await algos.wait_finished(pid, 10)
        assert state.status == "done" and state.executed == D("0.25"), state.reason
        await oms.settled(10)
        child = await oms.load_order(first.child_id)  # the engine got the late fill too
        assert child is not None and child.executed_base == D("0.1")
        await algos.close()
