"""``oms orders`` / ``oms history`` show parent orders (TWAP, iceberg) as a tree: a real journal
written by the engine and the algorithm runner against the local exchange, read by the CLI."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from pathlib import Path

from cli_helpers import oms
from eth_account import Account

from connectors.hyperliquid import HyperliquidConnector
from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig
from oms.algos import AlgoRunner
from oms.engine import EngineConfig, OrderManager

D = Decimal
WIDE = {"COLUMNS": "250"}  # rich fits tables to the terminal width


async def _journal(tmp_path: Path) -> tuple[str, str, str, str]:
    """A finished TWAP, a paused iceberg (one child canceled) and one plain order."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'oms.db'}"
    key = "0x" + bytes(Account.create().key).hex()
    async with SimulatedExchange(SimulatorConfig(seed=3, market_maker=False)) as sim:
        await sim.step_market()
        connector = HyperliquidConnector(sim.base_url, private_key=key,
                                         nonce_file=tmp_path / "nonce")  # fmt: skip
        config = EngineConfig(expires_after_s=1.0, deadline_grace_s=0.3)
        async with await OrderManager.open(url, connector, config=config) as manager:
            algos = await AlgoRunner.start(manager, tick_s=0.05, min_interval_s=0.1)
            mid = D((await connector.rest.info({"type": "allMids"}))["ETH"])
            rule = connector.trading_rule("ETH")
            twap = algos.twap("ETH", "buy", D("0.3"), rule.quantize_price(mid * D("1.05")),
                              duration_s=0.6, slices=3)  # fmt: skip
            state = await algos.wait_finished(twap, 20)
            assert state.status == "done", state.reason
            iceberg = algos.iceberg("ETH", "buy", D("0.4"), rule.quantize_price(mid * D("0.9")),
                                    display=D("0.1"))  # fmt: skip
            await manager.settled(10)
            await algos.pause(iceberg)
            await manager.settled(10)
            plain = manager.buy("ETH", D("0.01"), price=rule.quantize_price(mid * D("0.8")))
            await manager.settled(10)
            await algos.close()
    return url, twap, iceberg, plain


def test_orders_and_history_show_parents_as_a_tree(tmp_path: Path) -> None:
    url, twap, iceberg, plain = asyncio.run(_journal(tmp_path))
    rows = json.loads(oms("orders", "--url", url, "--json").stdout)
    parents = {r["parent_id"]: r for r in rows if "algo" in r}
    assert set(parents) == {twap, iceberg}
    t = parents[twap]
    assert t["algo"] == "twap" and t["status"] == "done" and t["executed"] == "0.3"
    assert len(t["children"]) >= 3 and t["progress"].startswith("twap 0.3/0.3 (100%)")
    assert sum(D(c["executed"]) for c in t["children"]) == D("0.3")
    i = parents[iceberg]
    assert i["status"] == "paused" and [c["state"] for c in i["children"]] == ["canceled"]
    assert i["display"] == "0.1" and i["children"][0]["amount"] == "0.1"
    top = [r.get("client_order_id") for r in rows if "algo" not in r]
    assert top == [plain]  # the children are under their parents, not listed twice
    table = oms("orders", "--url", url, env=WIDE)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    at = next(n for n, line in enumerate(lines) if twap in line)
    assert "twap 0.3/0.3 (100%)" in lines[at] and "done" in lines[at]
    kids = t["children"]
    for n, child in enumerate(kids, start=1):  # indented, right under the parent line
        assert child["client_order_id"] in lines[at + n]
        assert ("└─" if n == len(kids) else "├─") in lines[at + n]
    # --open: the paused iceberg still works, the finished TWAP is gone
    open_rows = json.loads(oms("orders", "--url", url, "--json", "--open").stdout)
    assert [r["parent_id"] for r in open_rows if "algo" in r] == [iceberg]
    # history of a parent: its events, each child's events under its slice
    tree = json.loads(oms("history", twap, "--url", url, "--json").stdout)
    assert tree["parent"]["status"] == "done"
    types = [r["type"] for r in tree["events"]]
    assert types[0] == "ParentCreated" and types[-1] == "ParentFinished"
    released = [r for r in tree["events"] if r["type"] == "SliceReleased"]
    assert [r["child"][0]["type"] for r in released] == ["OrderCreated"] * len(released)
    text = oms("history", iceberg, "--url", url, env=WIDE)
    assert text.returncode == 0, text.stderr
    flat = " ".join(text.stdout.split())
    assert f"iceberg {iceberg} buy 0.4 ETH" in flat and "paused" in flat
    assert "ParentControl" in flat and "└─ OrderCanceled" in flat
    child = oms("history", kids[0]["client_order_id"], "--url", url, env=WIDE)
    assert f"slice 0 of twap {twap}" in " ".join(child.stdout.split())
