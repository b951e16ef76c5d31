"""Hyperliquid's native TWAP as a parent, end to end: the local exchange runs the slices (30 s
divided by ``twap_speedup``), the engine journals, follows, cancels and reconciles it.

Real parts only: the simulator over HTTP/WebSocket on 127.0.0.1, a SQLite journal file.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from engine_helpers import wait_for

from connectors.base import Outcome, UnknownPair
from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import FaultSpec, SimulatedExchange, SimulatorConfig
from connectors.twap import NativeTwapRequest
from eventstore import NO_STREAM, EventStore, NewEvent
from oms.algos import AlgoRunner, AlgoSpecError
from oms.domain.native_twap import (
    NATIVE_INDEX_STREAM,
    NativeEvent,
    NativeTwapRequested,
    encode_native,
)
from oms.domain.parent import ParentCreated, ParentOpened, ParentSpec, parent_stream
from oms.engine import EngineConfig, OrderManager

FAST = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
D = Decimal


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedExchange]:
    """A local exchange with a market maker; a 5-minute TWAP runs in 5 s (11 slices)."""
    config = SimulatorConfig(seed=5, tick_interval_s=0.05, twap_speedup=60)
    async with SimulatedExchange(config) as exchange:
        await exchange.step_market()
        yield exchange


def _connector(sim: SimulatedExchange, key: str, tmp_path: Path) -> HyperliquidConnector:
    return HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "nonce",
                                request_timeout_s=2.0)  # fmt: skip


async def _exchange_truth(conn: HyperliquidConnector, twap_id: str) -> tuple[str, D, set[str]]:
    """(last status, executedSz, slice fill keys) of one TWAP as the exchange reports it."""
    rows = [r for r in await conn.twap_history() if r.twap_id == twap_id]
    fills = {f"{s.fill.trade_id}:{s.fill.exchange_order_id}"
             for s in await conn.twap_slice_fills() if s.twap_id == twap_id}  # fmt: skip
    return rows[-1].status, rows[-1].executed, fills


async def test_native_twap_runs_to_the_exact_total_and_reaches_parent_and_account(
    sim: SimulatedExchange, private_key: str, tmp_path: Path, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, _connector(sim, private_key, tmp_path),
                                       config=FAST) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms, native_poll_s=0.2)
        pid = await algos.native_twap("ETH", "buy", D("0.1"), minutes=5)
        state = await algos.wait_finished(pid, 30)
        assert state.status == "done", state.reason
        assert state.spec.kind == "native_twap" and state.executed == D("0.1")
        native = algos.native.state(pid)
        assert native.twap_id is not None
        status, executed, keys = await _exchange_truth(oms.connector, native.twap_id)  # type: ignore[arg-type]
        assert status == "finished" and executed == D("0.1")
        assert {f.key for f in native.fills} == keys and len(keys) == len(native.fills) > 5
        # The account has every slice fill once (source "twap") and the exchange's position.
        await wait_for(lambda: all(f"fill:{k}" in oms.account.seen for k in keys), 10)
        truth = sim.truth.positions(oms.connector.account)
        assert oms.account.position("ETH") == truth["ETH"]["szi"] == D("0.1")
        await algos.close()
    # Journaled before it was sent: ParentCreated + request, then the link from the reply.
    store = await EventStore.open(sqlite_url)
    try:
        rows = [r async for r in store.read_stream(parent_stream(pid))]
    finally:
        await store.close()
    assert [r.type for r in rows[:3]] == ["ParentCreated", "NativeTwapRequested",
                                          "NativeTwapLinked"]  # fmt: skip
    assert rows[0].data["spec"]["kind"] == "native_twap" and rows[2].data["how"] == "reply"
    assert [r.type for r in rows].count("NativeSliceFilled") == len(keys)
    assert rows[-1].type == "ParentFinished"


async def test_cancel_goes_through_twap_cancel_and_keeps_the_slices_filled(
    private_key: str, tmp_path: Path, sqlite_url: str
) -> None:
    config = SimulatorConfig(seed=6, tick_interval_s=0.05, twap_speedup=10)  # a slice every 3 s
    async with SimulatedExchange(config) as sim:
        await sim.step_market()
        async with await OrderManager.open(sqlite_url, _connector(sim, private_key, tmp_path),
                                           config=FAST) as oms:  # fmt: skip
            algos = await AlgoRunner.start(oms, native_poll_s=0.2)
            pid = await algos.native_twap("ETH", "sell", D("0.2"), minutes=5)
            await wait_for(lambda: algos.parent(pid).executed > 0, 10)
            await algos.cancel(pid)
            state = await algos.wait_finished(pid, 10)
            assert state.status == "canceled", state.reason
            twap_id = algos.native.state(pid).twap_id
            assert twap_id is not None
            status, executed, keys = await _exchange_truth(oms.connector, twap_id)
            assert status == "terminated" and D(0) < executed < D("0.2")
            assert state.executed == executed and len(state.children) == len(keys)
            await algos.close()


async def test_bad_native_twaps_are_refused_before_anything_is_journaled(
    sim: SimulatedExchange, private_key: str, tmp_path: Path, sqlite_url: str
) -> None:
    async with await OrderManager.open(sqlite_url, _connector(sim, private_key, tmp_path),
                                       config=FAST) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms)
        with pytest.raises(AlgoSpecError, match="5 to 1440 minutes, not 4"):
            await algos.native_twap("ETH", "buy", D("0.1"), minutes=4)
        with pytest.raises(AlgoSpecError, match="5 to 1440 minutes, not 1441"):
            await algos.native_twap("ETH", "buy", D("1"), minutes=1441)
        with pytest.raises(AlgoSpecError, match=r"below the native TWAP minimum of \$100"):
            await algos.native_twap("ETH", "buy", D("0.01"), minutes=5)
        with pytest.raises(AlgoSpecError, match=r"minimum of \$600 for 60 minutes"):
            await algos.native_twap("ETH", "buy", D("0.1"), minutes=60)
        with pytest.raises(AlgoSpecError, match="more than 4 decimals"):
            await algos.native_twap("ETH", "buy", D("0.10001"), minutes=5)
        with pytest.raises(AlgoSpecError, match="never float"):
            await algos.native_twap("ETH", "buy", 0.1, minutes=5)  # type: ignore[arg-type]
        with pytest.raises(UnknownPair):
            await algos.native_twap("NOPE", "buy", D("1"), minutes=5)
        assert algos.parents() == {}
        await algos.close()
        types = [e.type async for e in oms.store.read_stream(NATIVE_INDEX_STREAM)]
        assert types == []
    async with HyperliquidConnector(sim.base_url, account_address=oms.connector.account) as c:
        assert await c.twap_history() == []  # nothing reached the exchange either


async def _journal_unsent(url: str, pid: str, spec: ParentSpec, expires_ms: int) -> None:
    """The journal as a kill leaves it after ParentCreated + request, before the reply."""
    def ev(e: NativeEvent | ParentOpened) -> NewEvent:
        type_, data = encode_native(e)
        return NewEvent(type=type_, data=data)

    store = await EventStore.open(url)
    try:
        await store.append(NATIVE_INDEX_STREAM, [ev(ParentOpened(pid, spec.start_ns))])
        await store.append(parent_stream(pid), [
            ev(ParentCreated(pid, spec, spec.start_ns)),
            ev(NativeTwapRequested(pid, 5, False, False, expires_ms, spec.start_ns)),
        ], NO_STREAM)  # fmt: skip
    finally:
        await store.close()


def _spec(amount: D) -> ParentSpec:
    now = time.time_ns()
    return ParentSpec("native_twap", "ETH", "buy", amount, D("3000"), now, now + 300 * 10**9, 11,
                      amount, D("0.0001"), D("0.0001"))  # fmt: skip


async def test_a_lost_reply_is_found_in_the_history_and_its_fills_journaled(
    sim: SimulatedExchange, private_key: str, tmp_path: Path, sqlite_url: str
) -> None:
    pid, spec = "ab" * 16, _spec(D("0.1"))
    expires = spec.start_ns // 1_000_000 + 15_000  # room for a slow machine to send it
    await _journal_unsent(sqlite_url, pid, spec, expires)
    async with _connector(sim, private_key, tmp_path) as conn:  # the send whose reply was lost
        sent = await conn.twap_order(NativeTwapRequest("ETH", "buy", D("0.1"), 5), expires)
        assert sent.outcome is Outcome.CONFIRMED
    async with await OrderManager.open(sqlite_url, _connector(sim, private_key, tmp_path),
                                       config=FAST) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms, native_poll_s=0.2)
        native = algos.native.state(pid)
        assert native.twap_id == sent.twap_id  # linked at start-up, from the history
        state = await algos.wait_finished(pid, 30)
        assert state.status == "done" and state.executed == D("0.1"), state.reason
        assert len(await oms.connector.twap_history()) == 2  # activated, finished: sent once
        await algos.close()


async def test_a_twap_never_sent_is_declared_never_placed_once_its_deadline_passed(
    sim: SimulatedExchange, private_key: str, tmp_path: Path, sqlite_url: str
) -> None:
    pid, spec = "cd" * 16, _spec(D("0.1"))
    await _journal_unsent(sqlite_url, pid, spec, spec.start_ns // 1_000_000 + 500)
    async with await OrderManager.open(sqlite_url, _connector(sim, private_key, tmp_path),
                                       config=FAST) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms, native_poll_s=0.2)
        state = await algos.wait_finished(pid, 10)
        assert state.status == "failed" and state.reason.startswith("never placed"), state
        assert await oms.connector.twap_history() == []  # and it was not sent now either
        await algos.close()


async def test_a_reply_lost_while_running_is_resolved_from_the_history(
    private_key: str, tmp_path: Path, sqlite_url: str
) -> None:
    """Every /exchange reply dropped (the action applied): the twapOrder's outcome is unknown,
    never a failure; the poll finds the TWAP in twapHistory and follows it to its end."""
    config = SimulatorConfig(seed=5, tick_interval_s=0.05, twap_speedup=60)
    async with SimulatedExchange(config, FaultSpec(drop_reply_rate=1.0)) as sim:
        await sim.step_market()
        async with await OrderManager.open(sqlite_url, _connector(sim, private_key, tmp_path),
                                           config=FAST) as oms:  # fmt: skip
            algos = await AlgoRunner.start(oms, native_poll_s=0.2)
            pid = await algos.native_twap("ETH", "buy", D("0.1"), minutes=5)
            state = await algos.wait_finished(pid, 30)
            assert state.status == "done" and state.executed == D("0.1"), state.reason
            rows = [e async for e in oms.store.read_stream(parent_stream(pid))]
            [link] = [r for r in rows if r.type == "NativeTwapLinked"]
            assert link.data["how"] == "history"  # learnt from the exchange, not the reply
            assert len(await oms.connector.twap_history()) == 2  # one TWAP: activated, finished
            await algos.close()
