"""The crash torture (see ``torture.py``, ``torture_dydx.py``): 25 SIGKILLs per exchange in CI;
every restart equals the exchange.

The workers place, cancel and replace (one exchange modify each) at random while another client
trades on the same account, funding is paid and, now and then, a position is liquidated; every
restart compares the whole account (positions, cash, realized PnL, fees, funding, margin used).
Some workers have a memory bound of 1 or 3 completed orders; some are killed during recovery
itself; every restart also checks the journal (one ``OrderCreated`` per stream, one
``OrderFilled`` per trade id, one account event per exchange key, re-folds with capacities 1 and
the default equal to the live positions, a full fold equal to the live account). The same worker
and engine run on Hyperliquid and on dYdX v4; only the connector differs.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


def _torture(name: str = "torture") -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(f"{name}.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


async def test_compare_catches_every_kind_of_difference() -> None:
    """The checker itself can fail: a wrong state, amount, trade id or position is reported."""
    torture = _torture()
    async with SimulatedExchange(SimulatorConfig(seed=3, market_maker=False)) as sim:
        empty = {"orders": {}, "positions": {}}
        assert torture.compare(empty, sim, "0x" + "1" * 40) == []
        ghost = {"orders": {"0x" + "a" * 32: {"state": "open", "executed": "0", "trade_ids": []}},
                 "positions": {"ETH": "1"}}
        problems = torture.compare(ghost, sim, "0x" + "1" * 40)
        assert any("never saw it" in p for p in problems)
        assert any("positions" in p for p in problems)
        never_placed = {"orders": {"0x" + "a" * 32: {"state": "failed", "executed": "0",
                                                     "trade_ids": []}}, "positions": {}}
        assert torture.compare(never_placed, sim, "0x" + "1" * 40) == []
    assert torture._expected_state("badAloPxRejected") == {"failed"}
    assert torture._expected_state("scheduledCancel") == {"canceled"}


# dYdX: ~90 s on an idle sandbox (worker start-up imports gRPC and protobufs), over 300 s under a
# load of 10 on 2 cores: its own ceiling, so a slow machine does not fail it by the clock.
@pytest.mark.parametrize(
    "exchange", ["hyperliquid", pytest.param("dydx", marks=pytest.mark.timeout(900))]
)
async def test_sigkill_torture(tmp_path: Path, exchange: str) -> None:
    """25 kills at random moments; after each restart every order, fill and position matches."""
    if exchange == "dydx":
        await _dydx_torture(tmp_path)
        return
    result = await _torture().run_torture(kills=25, seed=7, workdir=tmp_path)
    print(json.dumps(result))
    in_recovery = result.get("kills_during_recovery", 0)
    assert result["kills"] + in_recovery == 25
    assert result["verifications"] == 26 - in_recovery
    # Tiny memory bounds in some rounds: every restart must match whatever the capacity.
    assert result.get("completed_in_memory_1", 0) + result.get("completed_in_memory_3", 0) > 0
    assert result["exchange_orders"] > 100, "the workers must actually trade"
    assert result["exchange_fills"] > 20, "fills must happen for the check to mean anything"
    assert result["actions_batchModify"] > 5, "replaces (exchange modifies) must be tortured too"
    assert result["actions_cancelByCloid"] > 20
    # The account's truth is tortured too: another client's trades and funding, running and down.
    outside = result.get("outside_trades_running", 0) + result.get("outside_trades_down", 0)
    assert outside > 3, "outside trades must happen"
    funding = result.get("funding_rounds_running", 0) + result.get("funding_rounds_down", 0)
    assert funding > 3, "funding payments must happen"
    assert result["mismatches"] == 0, result["problems"]


async def _dydx_torture(tmp_path: Path) -> None:
    result = await _torture("torture_dydx").run_torture_dydx(kills=25, seed=7, workdir=tmp_path)
    print(json.dumps(result))
    assert result["kills"] == 25
    assert result["verifications"] == 26
    assert result["exchange_orders"] > 100, "the workers must actually trade"
    assert result["exchange_fills"] > 20, "fills must happen for the check to mean anything"
    assert result["tx_MsgCancelOrder_long_ok"] > 20, "cancels (and replaces) must be tortured"
    assert result["mismatches"] == 0, result["problems"]


async def test_dydx_compare_catches_every_kind_of_difference() -> None:
    """The dYdX checker can fail too: unknown orders, wrong states and positions are reported."""
    torture = _torture("torture_dydx")
    from connectors.dydx.simulator import DydxSimConfig, DydxSimulator

    async with DydxSimulator(DydxSimConfig(block_interval_s=0, market_maker=False)) as sim:
        address = "dydx14zzueazeh0hj67cghhf9jypslcf9sh2n5k6art"
        empty = {"orders": {}, "positions": {}}
        assert torture.compare(empty, sim, address, {}) == []
        ghost = {"orders": {"0x" + "a" * 32: {"state": "open", "executed": "0", "trade_ids": []}},
                 "positions": {"ETH-USD": "1"}}
        problems = torture.compare(ghost, sim, address, {"0x" + "a" * 32: 1})
        assert any("never saw it" in p for p in problems)
        assert any("positions" in p for p in problems)
        failed = {"orders": {"0x" + "a" * 32: {"state": "failed", "executed": "0",
                                               "trade_ids": []}}, "positions": {}}
        assert torture.compare(failed, sim, address, {}) == []
    assert torture._expected_state("BEST_EFFORT_CANCELED") == {"canceled"}
    assert torture._expected_state("ERROR") == {"<unmapped ERROR>"}


async def test_sigkill_torture_on_postgres(tmp_path: Path, postgres_url: str) -> None:
    """The same torture with the journal on PostgreSQL (fewer kills: the SQLite run is the long
    one in CI; ``python tests/engine/torture.py --journal-url ... --long`` by hand)."""
    result = await _torture().run_torture(
        kills=10, seed=11, workdir=tmp_path, journal_url=postgres_url
    )
    print(json.dumps(result))
    assert result["kills"] + result.get("kills_during_recovery", 0) == 10
    assert result["exchange_fills"] > 5, "fills must happen for the check to mean anything"
    assert result["mismatches"] == 0, result["problems"]


async def test_sigkill_torture_with_seals(tmp_path: Path) -> None:
    """Issue 20: the workers seal every 40 journaled events and start from the newest seal
    (signature, hash, snapshot digest checked; only the tail folded and verified)."""
    import sqlite3

    result = await _torture().run_torture(kills=8, seed=23, workdir=tmp_path, seals=True)
    print(json.dumps(result))
    assert result["kills"] + result.get("kills_during_recovery", 0) == 8
    assert result["exchange_fills"] > 5, "fills must happen for the check to mean anything"
    with sqlite3.connect(tmp_path / "journal.db") as conn:
        (seals,) = conn.execute("SELECT count(*) FROM seals").fetchone()
    assert seals > 3, "the workers must actually seal"
    assert result["mismatches"] == 0, result["problems"]


async def test_sigkill_torture_with_seals_and_archives(tmp_path: Path) -> None:
    """Issue 20: between rounds (engine down) the sealed history is archived up to the newest
    seal and everything verified across archive + live; each restart starts from a seal whose
    prefix lives in archive files, and the workers' journal checks (one OrderCreated per stream,
    one fill per trade id, re-folds with capacities 1 and 50,000, the account fold) read the
    archives too. ``python tests/engine/torture.py --archive --kills N`` for a long run."""
    result = await _torture().run_torture(kills=6, seed=29, workdir=tmp_path, archive=True)
    print(json.dumps(result))
    assert result["kills"] + result.get("kills_during_recovery", 0) == 6
    assert result["exchange_fills"] > 5, "fills must happen for the check to mean anything"
    assert result.get("archives", 0) >= 3, "sealed history must actually be archived"
    assert result["events_archived"] > 100
    assert result["history_verified"] == 6, "every archive round verifies archive + live"
    assert result.get("cli_verify_ok") == 1, "oms audit verify --archive-dir passes at the end"
    assert result["mismatches"] == 0, result["problems"]
