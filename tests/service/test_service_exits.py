"""The two ways ``oms run`` leaves without its clean stop: a second signal (exit at once, journal
still consistent) and a start-up recovery that refuses a tampered journal (alert to the webhook,
exit 1)."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

from eth_account import Account
from service_helpers import (
    Proc,
    ctl,
    exchange_open_orders,
    journal_rows,
    start_sim,
    wait_until,
    write_config,
)

WIDE_MAKER = """
[[strategies]]
name = "mm"
path = "oms.strategies.market_maker:MarketMaker"
[strategies.params]
pair = "ETH"
size = "0.01"
half_spread_bps = 200
requote_bps = 100
max_position = "0.05"
"""


def _two_open(config: Path) -> set[str]:
    status = ctl(config, "status")
    return set(status["active_order_ids"]) if status["active_by_state"] == {"open": 2} else set()


# A strategy whose on_stop takes long: the clean stop is surely still running at the 2nd signal.
SLOW_STOP_MODULE = """
import asyncio
import sys

from oms.service.strategy import BaseStrategy


class SlowStop(BaseStrategy):
    async def on_stop(self):
        print("SLOW STOP: holding the clean stop", file=sys.stderr, flush=True)
        await asyncio.sleep(60)
"""
SLOW_STOP = """
[[strategies]]
name = "slow"
path = "slow_stop:SlowStop"
"""


def test_second_signal_exits_at_once_and_the_journal_stays_consistent(tmp_path: Path) -> None:
    sim, url = start_sim(tmp_path)
    env = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    (tmp_path / "slow_stop.py").write_text(SLOW_STOP_MODULE)
    config = write_config(tmp_path / "svc.toml", url, strategies=WIDE_MAKER + SLOW_STOP)
    bare = write_config(tmp_path / "bare.toml", url)
    db = tmp_path / "journal.db"
    service = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run1.err")
    restarted: Proc | None = None
    try:
        account = service.wait_line("OMS READY").split("account=")[1].split()[0]
        wait_until(lambda: len(_two_open(config)) == 2, 60, "two resting quotes")
        # The first signal begins the clean stop; while it runs, the second ends the process.
        service.proc.send_signal(signal.SIGTERM)
        wait_until(lambda: "SLOW STOP" in service.stderr(), 30, "the clean stop to begin")
        assert service.stop(signal.SIGTERM, timeout=10) == 128 + signal.SIGTERM
        assert "second signal 15: exiting at once" in service.stderr()
        assert "OMS STOPPED" not in service.seen + _drain(service)  # the clean stop never ended

        # Consistent: the next start verifies the whole hash chain (verify_on_start = "chain"),
        # replays and reconciles; what it holds as active is what rests on the exchange.
        rows = journal_rows(db, "SELECT count(*) FROM events")[0][0]
        restarted = Proc(["run", str(bare)], env=env, stderr_path=tmp_path / "run2.err")
        restarted.wait_line("OMS READY")
        # An order whose journaled placement was cut off before it was sent is resolved by its
        # expiresAfter deadline: wait for the engine and the exchange to agree (bounded).
        def agree() -> bool:
            active = set(ctl(bare, "status")["active_order_ids"])
            resting = {o["cloid"] for o in exchange_open_orders(url, account)}
            return bool(active) and resting == {"0x" + c for c in active}

        wait_until(agree, 30, "the restarted engine to hold exactly what rests", interval=1.0)
        assert journal_rows(db, "SELECT count(*) FROM events")[0][0] > rows
        assert restarted.stop(signal.SIGTERM) == 0
        assert exchange_open_orders(url, account) == []
    finally:
        service.kill()
        if restarted is not None:
            restarted.kill()
        sim.kill()


def _drain(proc: Proc) -> list[str]:
    """Every stdout line still queued (the process has exited)."""
    lines: list[str] = []
    while not proc.lines.empty():
        lines.append(proc.lines.get_nowait())
    return lines


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        """Quiet."""


def test_recovery_failure_is_alerted_to_the_webhook(tmp_path: Path) -> None:
    _Hook.received = []
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{hook.server_address[1]}/hook"
    sim, url = start_sim(tmp_path)
    env = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    alerts = f'[alerts]\nwebhook_url = "{hook_url}"\nwebhook_retries = 2\n'
    config = write_config(tmp_path / "svc.toml", url, strategies=WIDE_MAKER, extra=alerts)
    db = tmp_path / "journal.db"
    service = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run1.err")
    again: Proc | None = None
    try:
        service.wait_line("OMS READY")
        wait_until(lambda: len(_two_open(config)) == 2, 60, "two resting quotes")
        assert service.stop(signal.SIGTERM) == 0
        assert not [a for a in _Hook.received if a["kind"] == "recovery_failed"]
        (position,) = journal_rows(db, "SELECT min(position) FROM events WHERE "
                                   "type = 'OrderCreated'")[0]
        with sqlite3.connect(db) as raw:  # an edit after the fact: the hash chain breaks here
            raw.execute("UPDATE events SET data = replace(data, '0.01', '9.99') "
                        "WHERE position = ?", (position,))
        created = journal_rows(db, "SELECT count(*) FROM events WHERE type = 'OrderCreated'")

        again = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run2.err")
        code = again.proc.wait(timeout=60)
        assert code == 1, again.stderr()[-2000:]
        assert f"position {position}" in again.stderr()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _Hook.received:
            time.sleep(0.05)
        [alert] = [a for a in _Hook.received if a["kind"] == "recovery_failed"]
        assert alert["details"]["step"] == "verify"
        assert f"position {position}" in alert["message"]
        assert env["HL_PRIVATE_KEY"][2:] not in json.dumps(alert)
        # Fail closed: no order was journaled by the refused start.
        assert journal_rows(db, "SELECT count(*) FROM events WHERE type = 'OrderCreated'") \
            == created
    finally:
        service.kill()
        if again is not None:
            again.kill()
        sim.kill()
        hook.shutdown()
