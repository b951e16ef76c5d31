"""The crash torture (see ``torture.py``): 25 SIGKILLs in CI; every restart equals the exchange.

The workers place, cancel and replace (one exchange modify each) at random, some with a memory
bound of 1 or 3 completed orders; some are killed during recovery itself; every restart also
checks the journal (one ``OrderCreated`` per stream, one ``OrderFilled`` per trade id, re-folds
with capacities 1 and the default equal to the live positions).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig


def _torture() -> ModuleType:
    spec = importlib.util.spec_from_file_location("torture", Path(__file__).with_name("torture.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["torture"] = module
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


async def test_sigkill_torture(tmp_path: Path) -> None:
    """25 kills at random moments; after each restart every order, fill and position matches."""
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
    assert result["mismatches"] == 0, result["problems"]


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
