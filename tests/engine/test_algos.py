"""Execution algorithms against the local exchange over real HTTP/WebSocket and a SQLite journal."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import counterparty_ioc, mid, wait_for

from connectors.base import UnknownPair
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from eventstore import EventStore
from oms.algos import AlgoRunner, AlgoSpecError
from oms.domain.parent import PARENT_INDEX_STREAM, parent_stream
from oms.engine import EngineConfig, OrderManager

FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
D = Decimal
Factory = Callable[[], HyperliquidConnector]


@pytest.fixture
async def live_sim() -> AsyncIterator[SimulatedExchange]:
    """A local exchange whose market maker keeps a book (so IOC slices find liquidity)."""
    async with SimulatedExchange(SimulatorConfig(seed=5, tick_interval_s=0.1)) as exchange:
        await exchange.step_market()
        yield exchange


@pytest.fixture
def live_connector(live_sim: SimulatedExchange, private_key: str, tmp_path: Path) -> Factory:
    def build() -> HyperliquidConnector:
        return HyperliquidConnector(
            live_sim.base_url, private_key=private_key, nonce_file=tmp_path / "nonce",
            request_timeout_s=1.0,
        )  # fmt: skip

    return build


async def _stream_types(url: str, stream: str) -> list[str]:
    store = await EventStore.open(url)
    try:
        return [e.type async for e in store.read_stream(stream)]
    finally:
        await store.close()


async def test_twap_executes_the_exact_total_through_ordinary_children(
    live_sim: SimulatedExchange, live_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, live_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        px = oms.connector.trading_rule("ETH").quantize_price(
            (await mid(oms.connector, "ETH")) * D("1.05")
        )
        pid = algos.twap("ETH", "buy", D("0.5"), px, duration_s=1.5, slices=5)
        state = await algos.wait_finished(pid, 20)
        assert state.status == "done", state.reason
        assert state.executed == D("0.5")
        await oms.settled()
        children = [await oms.load_order(c.child_id) for c in state.children]
        assert all(c is not None for c in children)
        # the children are ordinary orders; their fills add up to the parent's executed amount
        assert sum(c.executed_base for c in children if c is not None) == D("0.5")
        truth = live_sim.truth.orders(oms.connector.account)
        for child in children:
            assert child is not None and truth[child.cloid]["status"] in ("filled", "canceled")
        assert len(state.children) >= 5  # at least one child per slice
        await algos.close()
        # the engine's event feed reads a journal holding parent streams (it skips them)
        seen = []
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1.0):
                async for event in oms.events(from_position=1):
                    seen.append(getattr(event, "client_order_id", None))  # account events too
        assert {c.child_id for c in state.children} <= set(seen)
    types = await _stream_types(sqlite_url, parent_stream(pid))
    assert types[0] == "ParentCreated" and types[1] == "SliceReleased"
    assert types[-1] == "ParentFinished"


async def test_iceberg_never_shows_more_than_its_display_size(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        rule = oms.connector.trading_rule("ETH")
        # at the mid: inside the spread, so it is the best bid and a counterparty hits it first
        px = rule.quantize_price(await mid(oms.connector, "ETH"))
        pid = algos.iceberg("ETH", "buy", D("0.5"), px, display=D("0.2"))
        account = oms.connector.account

        def shown() -> Decimal:
            open_ = [o for o in sim.truth.orders(account).values() if o["status"] == "open"]
            return sum((D(str(o["remaining_sz"])) for o in open_), D(0))

        for _ in range(6):  # a counterparty hits the displayed part repeatedly
            await wait_for(lambda: shown() > 0 or algos.parent(pid).status != "working")
            if algos.parent(pid).status != "working":
                break
            assert shown() <= D("0.2")
            await counterparty_ioc(sim, "ETH", "sell", D("0.15"), px)
            await wait_for(lambda: shown() <= D("0.2"))
        state = await algos.wait_finished(pid, 20)
        assert state.status == "done" and state.executed == D("0.5")
        assert max(c.amount for c in state.children) <= D("0.2")
        await algos.close()


async def test_pause_resume_and_cancel_are_journaled_and_cancel_the_working_child(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        px = oms.connector.trading_rule("ETH").quantize_price(
            (await mid(oms.connector, "ETH")) * D("0.97")
        )
        pid = algos.iceberg("ETH", "buy", D("0.4"), px, display=D("0.1"))
        await wait_for(lambda: pid in algos.parents() and algos.parent(pid).working is not None)
        first = algos.parent(pid).working
        assert first is not None
        await algos.pause(pid)
        await wait_for(lambda: algos.parent(pid).working is None)
        truth = sim.truth.orders(oms.connector.account)
        assert truth["0x" + first.child_id]["status"] == "canceled"
        assert algos.parent(pid).status == "paused"
        await algos.resume(pid)
        await wait_for(lambda: algos.parent(pid).working is not None)
        await algos.cancel(pid)
        state = await algos.wait_finished(pid, 10)
        assert state.status == "canceled" and state.executed == 0
        await algos.close()
    types = await _stream_types(sqlite_url, parent_stream(pid))
    controls = [t for t in types if t == "ParentControl"]
    assert len(controls) == 3 and types[-1] == "ParentFinished"


async def test_bad_input_is_refused_before_anything_is_journaled(
    sim: SimulatedExchange, make_connector: Factory, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, make_connector(), config=FAST) as oms:
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=1.0)
        px = D("3000")
        with pytest.raises(AlgoSpecError, match="shorter than 10 slices"):
            algos.twap("ETH", "buy", D("1"), px, duration_s=5, slices=10)
        with pytest.raises(AlgoSpecError, match="below the minimum order"):
            algos.twap("ETH", "buy", D("0.01"), px, duration_s=60, slices=5)
        with pytest.raises(AlgoSpecError, match="larger than the amount"):
            algos.iceberg("ETH", "buy", D("0.1"), px, display=D("0.2"))
        with pytest.raises(UnknownPair):
            algos.twap("NOPE", "buy", D("1"), px, duration_s=60, slices=5)
        with pytest.raises(AlgoSpecError, match="decimal"):
            algos.twap("ETH", "buy", 1.0, px, duration_s=60, slices=5)  # type: ignore[arg-type]
        await algos.close()
        await oms.flush()
    assert await _stream_types(sqlite_url, PARENT_INDEX_STREAM) == []
