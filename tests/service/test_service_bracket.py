"""The bracket example strategy end to end: ``oms run`` sends its entry with the exchange's
native take-profit/stop-loss legs (one ``normalTpsl`` action), and the stop-loss leg fires on
the exchange when the mark falls through it (moved with ``oms sim --admin``'s ``mark``)."""

from __future__ import annotations

import json
import signal
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from service_helpers import (
    Proc,
    ctl,
    exchange_open_orders,
    journal_rows,
    wait_until,
    write_config,
)

BRACKET = """
[[strategies]]
name = "bracket"
path = "oms.strategies.bracket_on_entry:BracketOnEntry"
[strategies.params]
pair = "ETH"
size = "0.01"
entry_slippage_bps = 20
take_profit_bps = 400
stop_loss_bps = 100
max_entries = 1
"""


def _post(url: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(url, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return json.loads(reply.read())


def _net(config: Path) -> Decimal:
    position = ctl(config, "status")["positions"].get("ETH")
    return Decimal(position["net_size"]) if position else Decimal(0)


def _orders(db: Path) -> dict[str, dict[str, Any]]:
    """``cid -> OrderCreated data`` plus ``events``: the order's event types in order."""
    created = {json.loads(d)["client_order_id"]: json.loads(d) for (d,) in journal_rows(
        db, "SELECT data FROM events WHERE type = 'OrderCreated' ORDER BY position")}
    for cid, data in created.items():
        data["events"] = [t for (t,) in journal_rows(
            db, "SELECT type FROM events WHERE stream_id = ? ORDER BY version", f"order-{cid}")]
    return created


def test_bracket_strategy_uses_native_tpsl_and_the_stop_fires_on_the_mark(
        tmp_path: Path) -> None:
    sim = Proc(["sim", "--port", "0", "--seed", "11", "--admin"], stderr_path=tmp_path / "sim.err")
    url = sim.wait_line("SIMULATOR LISTENING").split()[-1]
    env = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    config = write_config(tmp_path / "svc.toml", url, strategies=BRACKET)
    db = tmp_path / "journal.db"
    service = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run.err")
    try:
        account = service.wait_line("OMS READY").split("account=")[1].split()[0]
        wait_until(lambda: _net(config) == Decimal("0.01"), 60, "the entry to fill")

        def armed() -> bool:  # entry filled, both legs resting on the exchange as triggers
            return len(exchange_open_orders(url, account)) == 2

        wait_until(armed, 30, "both legs to rest on the exchange", interval=1.0)
        orders = _orders(db)
        assert len(orders) == 3
        assert {o["grouping"] for o in orders.values()} == {"normalTpsl"}  # one bracket
        kinds = {o["order_type"]: cid for cid, o in orders.items()}
        assert set(kinds) == {"limit", "take_profit_market", "stop_market"}
        entry, tp, sl = kinds["limit"], kinds["take_profit_market"], kinds["stop_market"]
        assert orders[entry]["time_in_force"] == "Ioc"
        assert orders[tp]["parent_id"] == orders[sl]["parent_id"] == entry
        assert orders[sl]["reduce_only"] and orders[tp]["reduce_only"]
        assert "OrderFilled" in orders[entry]["events"]
        stop = Decimal(orders[sl]["trigger_price"])

        # The mark falls through the stop: the exchange fires the stop-loss leg, which sells
        # the position, and cancels the take-profit (one cancels the other).
        _post(f"{url}/admin", {"mark": {"ETH": str((stop * Decimal("0.97")).quantize(
            Decimal("0.1")))}})
        wait_until(lambda: _net(config) == 0, 60, "the stop-loss leg to close the position")

        def legs_done() -> bool:
            now = _orders(db)
            return (now[sl]["events"][-1] == "OrderFilled"
                    and now[tp]["events"][-1] == "OrderCanceled")

        wait_until(legs_done, 30, "the stop leg filled and the take-profit canceled")
        assert exchange_open_orders(url, account) == []
        assert len(_orders(db)) == 3  # max_entries = 1: nothing else was placed
        status = ctl(config, "status")
        assert status["strategies"]["bracket"]["state"] == "running"
        assert status["active_orders"] == 0
        assert service.stop(signal.SIGTERM) == 0
    finally:
        service.kill()
        sim.kill()
