"""Native TWAPs survive SIGKILL of the engine process: killed mid-TWAP (several times) and
killed between the parent's journal entry and the ``twapOrder``.

After the restarts the parent's slice fills equal the exchange's ``userTwapSliceFills`` of that
TWAP exactly (each journaled once), its status follows ``twapHistory``, and the account holds
every slice fill once with the exchange's position.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from eth_account import Account
from kit.crash_worker import run_worker

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from eventstore import EventStore
from oms.algos import AlgoRunner
from oms.domain.parent import parent_stream
from oms.engine import EngineConfig, OrderManager

WORKER = Path(__file__).with_name("native_twap_worker.py")
CONFIG = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3, poll_interval_s=0.5)
D = Decimal


@pytest.fixture
async def live_sim() -> AsyncIterator[SimulatedExchange]:
    """A market-making local exchange; a 5-minute native TWAP runs in 10 s (a slice a second)."""
    config = SimulatorConfig(seed=9, tick_interval_s=0.05, twap_speedup=30)
    async with SimulatedExchange(config) as exchange:
        await exchange.step_market()
        yield exchange


def _connector(sim: SimulatedExchange, key: str, tmp_path: Path) -> HyperliquidConnector:
    return HyperliquidConnector(sim.base_url, private_key=key, nonce_file=tmp_path / "nonce",
                                request_timeout_s=2.0)  # fmt: skip


async def test_native_twap_killed_mid_run_ends_equal_to_the_exchange(
    live_sim: SimulatedExchange, tmp_path: Path
) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    env = {**os.environ, "HL_PRIVATE_KEY": key}
    journal = f"sqlite+aiosqlite:///{tmp_path}/journal.db"
    kills = int(os.environ.get("OMS_NATIVE_TWAP_KILLS", "2"))  # long run: more kills
    minutes = str(5 * kills)  # 11 slices per 5 minutes, one a second here
    args = [journal, live_sim.base_url, str(tmp_path / "nonce"), "0.2", minutes]
    log = tmp_path / "worker.log"
    seen, killed = 0, 0
    for n, kill_at in enumerate(range(2, 5 * kills, 5)[:kills]):  # each after more fills
        lines = await run_worker(WORKER, args, env, log, kill_at)
        progress = [ln for ln in lines if ln.startswith("progress")]
        if n > 0 and not progress:  # a slow restart: the exchange finished it meanwhile
            assert lines[-1].startswith("finished done"), lines[-3:]
            break
        assert progress, log.read_text()[-2000:]  # the first kill is always mid-TWAP
        fills = int(progress[-1].split()[2])
        assert fills >= seen  # reconciled where it was: never back to zero
        seen, killed = fills, killed + 1
    lines = await run_worker(WORKER, args, env, log)
    assert lines[-1].startswith("finished done 0.2"), [*lines[-3:], log.read_text()[-2000:]]
    async with await OrderManager.open(journal, _connector(live_sim, key, tmp_path),
                                       config=CONFIG) as oms:  # fmt: skip
        algos = await AlgoRunner.start(oms)
        [(pid, state)] = algos.native.states().items()
        assert state.status == "done" and state.executed == D("0.2")
        truth = [s for s in await oms.connector.twap_slice_fills()  # type: ignore[attr-defined]
                 if s.twap_id == state.twap_id]  # fmt: skip
        keys = {f"{s.fill.trade_id}:{s.fill.exchange_order_id}" for s in truth}
        assert [f.key for f in state.fills] == [
            f"{s.fill.trade_id}:{s.fill.exchange_order_id}" for s in truth]  # same, same order
        assert sum((s.fill.amount for s in truth), D(0)) == D("0.2")
        assert all(f"fill:{k}" in oms.account.seen for k in keys)
        position = live_sim.truth.positions(oms.connector.account)["ETH"]["szi"]
        assert oms.account.position("ETH") == position == D("0.2")
        rows = [r.type async for r in oms.store.read_stream(parent_stream(pid))]
        assert rows.count("NativeSliceFilled") == len(keys)  # each journaled exactly once
        assert rows.count("ParentCreated") == 1 and rows.count("NativeTwapLinked") == 1
        history = await oms.connector.twap_history()  # type: ignore[attr-defined]
        assert [r.status for r in history] == ["activated", "finished"]  # sent once
        print(f"native TWAP: {killed} SIGKILLs mid-run, {len(keys)} slice fills, each once")
        await algos.close()


async def test_killed_between_journal_and_send_is_never_placed_with_certainty(
    live_sim: SimulatedExchange, tmp_path: Path
) -> None:
    key = "0x" + bytes(Account.create().key).hex()
    env = {**os.environ, "HL_PRIVATE_KEY": key}
    journal = f"sqlite+aiosqlite:///{tmp_path}/journal.db"
    args = [journal, live_sim.base_url, str(tmp_path / "nonce"), "0.1", "5"]
    log = tmp_path / "worker.log"
    lines = await run_worker(WORKER, [*args, "kill-before-send"], env, log)
    assert lines == [], lines  # died before printing anything
    store = await EventStore.open(journal)
    try:
        [pointer] = [r async for r in store.read_stream("algos-index-native")]
        pid = pointer.data["parent_id"]
        types = [r.type async for r in store.read_stream(parent_stream(pid))]
    finally:
        await store.close()
    assert types == ["ParentCreated", "NativeTwapRequested"]  # journaled, not sent
    lines = await run_worker(WORKER, args, env, log)
    assert lines[-1].startswith("finished failed 0 never placed"), lines[-3:]
    async with HyperliquidConnector(live_sim.base_url, private_key=key) as conn:
        assert await conn.twap_history() == []  # nothing reached the exchange, then or since
