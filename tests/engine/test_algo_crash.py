"""Parents survive SIGKILL: kills mid-schedule, between a slice's release and its send, and
between the exchange's fill of a child and its journaling.

After every restart the runner resumes the parent from the journal; in the end the parent's
executed amount is exactly its amount and equals, child by child, what the exchange filled.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from kit.crash_worker import run_worker, worker_process

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from eventstore import NO_STREAM, EventStore, NewEvent
from oms.algos import AlgoRunner
from oms.algos.specs import twap_spec
from oms.domain.parent import (
    PARENT_INDEX_STREAM,
    ParentCreated,
    ParentOpened,
    SliceReleased,
    encode_parent,
    parent_stream,
)
from oms.engine import EngineConfig, OrderManager

WORKER = Path(__file__).with_name("algo_worker.py")
CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
D = Decimal


@pytest.fixture
async def live_sim() -> AsyncIterator[SimulatedExchange]:
    """A local exchange whose market maker keeps a book (so IOC slices find liquidity)."""
    async with SimulatedExchange(SimulatorConfig(seed=9, tick_interval_s=0.1)) as exchange:
        await exchange.step_market()
        yield exchange


def _account(key: str) -> str:
    return str(Account.from_key(key).address).lower()


async def test_twap_resumes_after_kill_9_and_executes_the_exact_total(
    live_sim: SimulatedExchange, tmp_path: Path
) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    env = {**os.environ, "HL_PRIVATE_KEY": key}
    journal = f"sqlite+aiosqlite:///{tmp_path}/journal.db"
    # CI: 3 kills; a long run: OMS_ALGO_KILLS=50 (the schedule stretches to fit the restarts)
    kills = int(os.environ.get("OMS_ALGO_KILLS", "3"))
    slices = 3 * kills + 3
    # a long run's restarts are slow on a loaded machine: ~25 s of schedule per kill, so the
    # deadline does not pass while the engine is down (then the TWAP rightly ends failed)
    duration = 8 + 8 * kills if kills <= 3 else 25 * kills
    args = [journal, live_sim.base_url, str(tmp_path / "nonce"), "1.2", str(slices),
            str(duration)]  # fmt: skip
    log = tmp_path / "worker.log"
    seen, landed = 0, 0
    for kill_at in range(2, 3 * kills + 1, 3):  # kills mid-schedule, each after more slices
        lines = await run_worker(WORKER, args, env, log, kill_at)
        progress = [ln for ln in lines if ln.startswith("progress")]
        assert progress, log.read_text()
        children = int(progress[-1].split()[2])
        assert children >= seen  # resumed where it was: never back to zero
        seen = children
        if lines[-1].startswith("finished"):
            break  # a slow restart let one child catch up several due slices: fewer children
        assert children >= kill_at
        landed += 1
    assert landed >= 1
    print(f"mid-schedule kills landed: {landed} of {kills}")  # the long run's report (-s)
    lines = await run_worker(WORKER, args, env, log)
    assert lines[-1].startswith("finished done 1.2"), [*lines[-3:], log.read_text()[-2000:]]
    # The journal's children equal the exchange's truth, child by child.
    async with await OrderManager.open(journal, _connector(live_sim, key, tmp_path),
                                       config=CONFIG) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms)
        [state] = algos.parents().values()
        truth = live_sim.truth.orders(_account(key))
        assert state.status == "done" and state.executed == D("1.2")
        for child in state.children:
            on_exchange = truth.get("0x" + child.child_id)
            expected = D(0) if on_exchange is None else D(str(on_exchange["filled_sz"]))
            assert child.filled == expected, (child, on_exchange)
        total = sum((D(str(o["filled_sz"])) for o in truth.values()), D(0))
        assert total == D("1.2")  # no over- or under-execution on the exchange
        await algos.close()


def _connector(sim: SimulatedExchange, key: str, tmp_path: Path) -> HyperliquidConnector:
    return HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "nonce",
                                request_timeout_s=1.0)  # fmt: skip


async def test_a_slice_released_but_never_sent_is_closed_and_its_amount_carried(
    live_sim: SimulatedExchange, tmp_path: Path
) -> None:
    """The journal as a crash leaves it between SliceReleased and the child's OrderCreated."""
    key = "0x" + bytes(Account.create().key).hex()
    journal = f"sqlite+aiosqlite:///{tmp_path}/journal.db"
    async with HyperliquidConnector(live_sim.base_url, account_address=_account(key)) as reader:
        mids = await reader.rest.info({"type": "allMids"})
        rule = reader.trading_rule("ETH")
    price = rule.quantize_price(D(mids["ETH"]) * 2)
    spec = twap_spec(rule, "buy", D("0.4"), price, start_ns=time.time_ns(), duration_s=2.0,
                     slices=4, min_interval_s=0.1)  # fmt: skip
    pid, child = "ab" * 16, "cd" * 16
    store = await EventStore.open(journal)
    try:
        await store.append(PARENT_INDEX_STREAM, [_ev(ParentOpened(pid, 1))])
        await store.append(parent_stream(pid), [
            _ev(ParentCreated(pid, spec, 1)), _ev(SliceReleased(pid, 0, child, D("0.1"), 2)),
        ], NO_STREAM)  # fmt: skip
    finally:
        await store.close()
    async with await OrderManager.open(journal, _connector(live_sim, key, tmp_path),
                                       config=CONFIG) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms, tick_s=0.05, min_interval_s=0.1)
        first = algos.parent(pid).children[0]
        assert first.child_id == child and first.terminal and first.state == "never_sent"
        state = await algos.wait_finished(pid, 20)
        assert state.status == "done" and state.executed == D("0.4"), state.reason
        assert await oms.load_order(child) is None  # never placed, not now either
        assert "0x" + child not in live_sim.truth.orders(oms.connector.account)
        await algos.close()


def _ev(event: ParentCreated | SliceReleased | ParentOpened) -> NewEvent:
    type_, data = encode_parent(event)
    return NewEvent(type=type_, data=data)


async def test_kills_between_the_exchanges_fill_and_its_journaling_never_send_a_slice_twice(
    live_sim: SimulatedExchange, tmp_path: Path
) -> None:
    """SIGKILL lands while the exchange fills a child: the exchange applies (and fills) the IOC
    child after the engine died, so its journal holds the child's creation but not its fill.
    Each restart's recovery must find the fill by cloid; the parent carries on from there."""
    key = "0x" + bytes(Account.create().key).hex()
    env = {**os.environ, "HL_PRIVATE_KEY": key}
    journal = f"sqlite+aiosqlite:///{tmp_path}/journal.db"
    kills = int(os.environ.get("OMS_ALGO_KILLS", "2"))  # CI 2: each kill costs a restart
    duration = 6 + 6 * kills if kills <= 2 else 12 * kills  # restarts are slow under load
    args = [journal, live_sim.base_url, str(tmp_path / "nonce"), "1.2", str(2 * kills + 2),
            str(duration)]  # fmt: skip
    log = tmp_path / "worker.log"
    unjournaled_fills = 0
    for _ in range(kills):
        killed: list[str] = []
        async with worker_process(WORKER, args, env, log) as proc:
            orders_seen = 0

            def on_action(raw: bytes, pid: int = proc.pid, killed: list[str] = killed) -> None:
                # runs in the exchange's event loop, before the exchange applies the action
                nonlocal orders_seen
                action = json.loads(raw)["action"]
                if action["type"] != "order" or killed:
                    return
                orders_seen += 1
                if orders_seen == 2:  # the second child of this run: dies before the fill
                    os.kill(pid, signal.SIGKILL)
                    killed.append(action["orders"][0]["c"])

            live_sim.on_action = on_action
            try:
                assert proc.stdout is not None
                async with asyncio.timeout(60):
                    while await proc.stdout.readline():
                        pass
            finally:
                live_sim.on_action = None
        if not killed:
            break  # the parent finished in this run before a second child left
        assert proc.returncode != 0  # killed (asyncio may report 255 for a SIGKILLed child)
        cloid = killed[0]
        on_exchange = live_sim.truth.orders(_account(key))[cloid]
        assert D(str(on_exchange["filled_sz"])) > 0  # filled on the exchange after the kill...
        stream = "order-" + cloid.removeprefix("0x")
        assert "OrderFilled" not in await _types(journal, stream)  # ...never journaled
        unjournaled_fills += 1
    assert unjournaled_fills >= 1, log.read_text()[-2000:]
    print(f"kills between a fill and its journaling: {unjournaled_fills} of {kills}")  # (-s)
    lines = await run_worker(WORKER, args, env, log)
    assert lines[-1].startswith("finished done 1.2"), [*lines[-3:], log.read_text()[-2000:]]
    async with await OrderManager.open(journal, _connector(live_sim, key, tmp_path),
                                       config=CONFIG) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms)
        [state] = algos.parents().values()
        truth = live_sim.truth.orders(_account(key))
        assert [c.index for c in state.children] == list(range(len(state.children)))
        for child in state.children:  # every child equals the exchange, the killed ones too
            on_exchange = truth.get("0x" + child.child_id)
            expected = D(0) if on_exchange is None else D(str(on_exchange["filled_sz"]))
            assert child.filled == expected, (child, on_exchange)
        assert {"0x" + c.child_id for c in state.children} >= set(truth)  # nothing unowned
        total = sum((D(str(o["filled_sz"])) for o in truth.values()), D(0))
        assert total == D("1.2") == state.executed  # no slice twice, none skipped
        await algos.close()


async def _types(url: str, stream: str) -> list[str]:
    store = await EventStore.open(url)
    try:
        return [e.type async for e in store.read_stream(stream)]
    finally:
        await store.close()
