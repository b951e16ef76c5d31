"""``oms orders`` / ``oms history`` show trigger state and bracket links (real journal, CLI)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

from cli_helpers import oms
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.domain import TradeSide
from oms.engine import EngineConfig, OrderManager
from oms.engine.order_kind_rules import Leg


async def _bracket_journal(tmp_path: Path) -> tuple[str, str, str, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    key = "0x" + bytes(Account.create().key).hex()
    async with SimulatedExchange(SimulatorConfig(seed=3, market_maker=False)) as sim:
        await sim.step_market()
        connector = HyperliquidConnector(sim.base_url, private_key=key,
                                         nonce_file=tmp_path / "nonce")
        async with await OrderManager.open(url, connector, config=EngineConfig()) as manager:
            ids = manager.bracket(TradeSide.BUY, "ETH", Decimal("0.02"), price=Decimal("2800"),
                                  take_profit=Leg(Decimal("3300"), price=Decimal("3300")),
                                  stop_loss=Leg(Decimal("2600")))
            for _ in range(200):  # bounded wait for the legs' waitingForFill
                legs = [manager.get_order(c) for c in (ids.take_profit, ids.stop_loss) if c]
                if all(o is not None and o.trigger_state is not None for o in legs):
                    break
                await asyncio.sleep(0.02)
            await manager.flush()
    assert ids.take_profit is not None and ids.stop_loss is not None
    return url, ids.entry, ids.take_profit, ids.stop_loss


def test_orders_and_history_show_triggers_and_links(tmp_path: Path) -> None:
    url, entry, tp, sl = asyncio.run(_bracket_journal(tmp_path))
    rows = {r["client_order_id"]: r for r in json.loads(
        oms("orders", "--url", url, "--json").stdout)}
    assert rows[entry]["grouping"] == "normalTpsl" and rows[entry]["parent_id"] == ""
    assert rows[sl]["type"] == "stop_market" and rows[sl]["trigger_price"] == "2600"
    assert rows[sl]["trigger_state"] == "waiting_for_fill" and rows[sl]["parent_id"] == entry
    assert rows[tp]["type"] == "take_profit_limit" and rows[tp]["parent_id"] == entry
    wide = {"COLUMNS": "250"}  # rich fits tables to the terminal width
    table = oms("orders", "--url", url, env=wide)
    assert "stop_market @2600 waiting_for_fill" in table.stdout
    history = oms("history", entry, "--url", url, env=wide)
    assert history.returncode == 0
    assert f"legs: {', '.join(sorted([tp, sl]))}" in " ".join(history.stdout.split())
    leg = oms("history", sl, "--url", url, env=wide)
    assert f"normalTpsl leg of {entry}" in " ".join(leg.stdout.split())
    assert "TriggerStateChanged" in leg.stdout
