"""Operator controls of parent orders on a real ``oms run`` process against a real ``oms sim``.

A strategy starts an iceberg through its context; ``oms ctl parent`` lists, amends and pauses
it; a bad amend is refused with nothing journaled; the service is SIGKILLed and restarted (the
parent is resumed, still paused); resume and cancel finish it. The exchange's open orders and
the journal are checked after each step.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from service_helpers import (
    ROOT,
    Proc,
    ctl,
    exchange_open_orders,
    journal_rows,
    start_sim,
    wait_until,
    write_config,
)

from oms.service import send_command

STRATEGY = '''
from decimal import Decimal

from oms.service.strategy import BaseStrategy


class IcebergOnce(BaseStrategy):
    """Starts one iceberg buy unless the journal already holds one (a restart resumes it)."""

    def __init__(self, price: str) -> None:
        self.price = Decimal(price)

    def on_start(self, ctx):
        if not ctx.algos.parents():
            ctx.iceberg("ETH", "buy", Decimal("0.04"), self.price, display=Decimal("0.01"))
'''


def _mid(url: str) -> Decimal:
    import urllib.request

    body = json.dumps({"type": "allMids"}).encode()
    request = urllib.request.Request(f"{url}/info", data=body,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return Decimal(json.loads(reply.read())["ETH"])


def _px(value: Decimal) -> str:
    return str(value.quantize(Decimal("1")))  # whole dollars: always on the tick


def _send(config: Path, command: str, args: dict[str, Any] | None = None) -> Any:
    return asyncio.run(send_command(config.parent / "oms.sock", command, args))


def _parent(config: Path) -> dict[str, Any]:
    [parent] = _send(config, "parents")["parents"]
    return parent


def _types(db: Path, stream: str) -> list[str]:
    return [t for (t,) in journal_rows(
        db, "SELECT type FROM events WHERE stream_id = ? ORDER BY position", stream)]


def test_operator_lists_amends_pauses_resumes_and_cancels_a_parent(tmp_path: Path) -> None:
    sim, url = start_sim(tmp_path)
    (tmp_path / "iceberg_once.py").write_text(STRATEGY)
    low, lower = _mid(url) * Decimal("0.9"), _mid(url) * Decimal("0.88")
    strategies = f"""
[[strategies]]
name = "ice"
path = "iceberg_once:IcebergOnce"
[strategies.params]
price = "{_px(low)}"
"""
    config = write_config(tmp_path / "svc.toml", url, strategies=strategies)
    db = tmp_path / "journal.db"
    env = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    service = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run1.err")
    restarted: Proc | None = None
    try:
        account = service.wait_line("OMS READY").split("account=")[1].split()[0]
        wait_until(lambda: _parent(config)["working_child"] is not None, 30, "a working child")
        [listed] = ctl(config, "parent", "list")["parents"]  # the CLI, end to end
        pid = listed["parent_id"]
        assert listed["algo"] == "iceberg" and listed["status"] == "working"
        wait_until(lambda: len(exchange_open_orders(url, account)) == 1, 30, "the child rests")
        [shown] = exchange_open_orders(url, account)
        assert Decimal(shown["sz"]) == Decimal("0.01")
        assert Decimal(shown["limitPx"]) == Decimal(_px(low))

        reply = ctl(config, "parent", "amend", pid, "--display", "0.02", "--price", _px(lower))
        assert reply["parent"]["display"] == "0.02" and reply["parent"]["price"] == _px(lower)

        def replaced() -> bool:
            orders = exchange_open_orders(url, account)
            return len(orders) == 1 and Decimal(orders[0]["limitPx"]) == Decimal(_px(lower))

        wait_until(replaced, 30, "the child replaced at the amended price", interval=1.0)
        assert Decimal(exchange_open_orders(url, account)[0]["sz"]) == Decimal("0.02")

        assert _send(config, "parent-pause", {"parent_id": pid})["parent"]["status"] == "paused"
        wait_until(lambda: not exchange_open_orders(url, account), 30, "the child canceled",
                   interval=1.0)
        # a bad amend: refused by the service, nothing journaled (neither operator nor parent)
        operator_rows = len(journal_rows(db, "SELECT 1 FROM events WHERE type = ?",
                                         "OperatorCommand"))  # fmt: skip
        bad = subprocess.run([sys.executable, "-m", "oms.cli", "ctl", "--config", str(config),
                              "parent", "amend", pid, "--display", "0.5"], cwd=ROOT,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert bad.returncode != 0 and "larger than the amount" in bad.stderr, bad.stderr
        assert len(journal_rows(db, "SELECT 1 FROM events WHERE type = ?",
                                "OperatorCommand")) == operator_rows  # fmt: skip

        service.kill()  # SIGKILL: the parent is resumed from the journal, still paused
        restarted = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run2.err")
        restarted.wait_line("OMS READY")
        parent = _parent(config)
        assert parent["parent_id"] == pid and parent["status"] == "paused"
        assert parent["display"] == "0.02"
        _send(config, "parent-resume", {"parent_id": pid})
        wait_until(lambda: len(exchange_open_orders(url, account)) == 1, 30, "a child again",
                   interval=1.0)
        _send(config, "parent-cancel", {"parent_id": pid})
        wait_until(lambda: _parent(config)["status"] == "canceled", 30, "the parent canceled")
        wait_until(lambda: not exchange_open_orders(url, account), 30, "nothing left resting",
                   interval=1.0)
        assert _send(config, "status")["parents_active"] == 0
        assert restarted.stop() == 0
    finally:
        service.kill()
        if restarted is not None:
            restarted.kill()
        sim.kill()
    commands = [json.loads(d)["command"] for (d,) in journal_rows(
        db, "SELECT data FROM events WHERE type = 'OperatorCommand' ORDER BY position")]
    assert [c for c in commands if c.startswith("parent-")] == [
        "parent-amend", "parent-pause", "parent-resume", "parent-cancel"]
    types = _types(db, "algo-" + pid)
    assert types.count("ParentAmended") == 1 and types.count("ParentControl") == 3
    assert types[-1] == "ParentFinished"
