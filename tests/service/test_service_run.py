"""A real ``oms run`` subprocess against a real ``oms sim`` with the example market maker.

Metrics scraped over HTTP are checked against the journal; every ``oms ctl`` command is found in
the journal with its operator; a forced anomaly reaches the webhook; SIGTERM exits 0 with a
snapshot and nothing left on the exchange; the private key appears nowhere.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import signal
import threading
import time
import urllib.request
from collections import Counter
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from eth_account import Account
from service_helpers import (
    MARKET_MAKER,
    Proc,
    ctl,
    exchange_open_orders,
    journal_rows,
    scrape,
    start_sim,
    wait_until,
    write_config,
)

from eventstore import ANY, EventStore, NewEvent
from oms.domain.codec import encode
from oms.domain.events import OrderAnomaly
from oms.domain.ids import ClientOrderId, order_stream


class _Webhook:
    """A local webhook that records every JSON body POSTed to it (the first one gets a 500)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                body = json.loads(self.rfile.read(length))
                hook.attempts += 1
                if hook.attempts == 1:  # the first delivery fails: the alerter must retry
                    self.send_response(500)
                else:
                    hook.bodies.append(body)
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def kinds(self) -> list[str]:
        return [b["kind"] for b in self.bodies]


def _force_anomaly(db: Path) -> str:
    """Append an overfill anomaly to the journal from another process (this one)."""
    cid = ClientOrderId.new(time.time_ns())
    event = OrderAnomaly(client_order_id=cid, kind="overfill", detail="forced by the test",
                         offending_type="OrderFilled", offending_data={}, at_ns=time.time_ns())
    type_, data, version = encode(event)

    async def append() -> None:
        async with await EventStore.open(f"sqlite+aiosqlite:///{db}") as store:
            await store.append(order_stream(cid), [NewEvent(type_, data, version=version)],
                               expected_version=ANY)

    asyncio.run(append())
    return str(cid)


def test_oms_run_metrics_ctl_alerts_and_sigterm(tmp_path: Path) -> None:
    sim, url = start_sim(tmp_path)
    hook = _Webhook()
    key = "0x" + bytes(Account.create().key).hex()
    config = write_config(tmp_path / "svc.toml", url, strategies=MARKET_MAKER, extra=f"""
[alerts]
webhook_url = "{hook.url}"
check_interval_s = 0.5

[logging]
format = "json"
""")
    db = tmp_path / "journal.db"
    service = Proc(["run", str(config)], env={"HL_PRIVATE_KEY": key},
                   stderr_path=tmp_path / "run.err")
    try:
        metrics_url = service.wait_line("METRICS").split()[-1]
        ready = service.wait_line("OMS READY")
        account = ready.split("account=")[1].split()[0]
        wait_until(lambda: bool(journal_rows(db, "SELECT 1 FROM events WHERE type = "
                                                 "'OrderFilled' LIMIT 1")),
                   90, "the market maker's first fill")
        base = metrics_url.rsplit("/", 1)[0]
        for path, expected in (("/healthz", 200), ("/readyz", 200)):
            with urllib.request.urlopen(base + path, timeout=10) as reply:
                assert reply.status == expected

        replies = [
            ("status", ctl(config, "status")),
            ("pause", ctl(config, "pause")),
            ("kill-switch", ctl(config, "kill-switch", "on")),
            ("kill-switch", ctl(config, "kill-switch", "off")),
            ("resume", ctl(config, "resume")),
            ("strategy-stop", ctl(config, "strategy", "stop", "mm")),
            ("cancel-all", ctl(config, "cancel-all")),
        ]
        assert replies[0][1]["strategies"]["mm"]["state"] == "running"
        assert replies[1][1]["paused"] is True and replies[4][1]["paused"] is False
        assert replies[2][1]["kill_switch"] is True and replies[3][1]["kill_switch"] is False
        anomaly_cid = _force_anomaly(db)

        # Every command is in the journal, in order, with who issued it, at the reply's position.
        rows = journal_rows(db, "SELECT position, data FROM events WHERE type = "
                                "'OperatorCommand' ORDER BY position")
        journaled = [(pos, json.loads(data)) for pos, data in rows]
        assert [d["command"] for _, d in journaled] == [name for name, _ in replies]
        assert [pos for pos, _ in journaled] == [r["journal_position"] for _, r in replies]
        assert {d["user"] for _, d in journaled} == {getpass.getuser()}
        assert journaled[2][1]["args"] == {"on": True}

        # The webhook got the kill switch and the forced anomaly (after one failed delivery).
        wait_until(lambda: {"kill_switch", "anomaly"} <= set(hook.kinds()), 30, "alerts")
        anomaly = next(b for b in hook.bodies if b["kind"] == "anomaly")
        assert anomaly["details"]["client_order_id"] == anomaly_cid
        assert anomaly["account"] == account

        # Quiet now (strategy stopped, orders canceled): metrics must equal the journal.
        wait_until(lambda: ctl(config, "status")["active_orders"] == 0, 30, "no active orders")
        head = journal_rows(db, "SELECT MAX(position) FROM events")[0][0]
        wait_until(lambda: scrape(metrics_url)["oms_journal_position"] >= head, 30,
                   "metrics to catch up")
        samples = scrape(metrics_url)
        seen_to = int(samples["oms_journal_position"])
        since = int(samples["oms_metrics_start_position"])  # after what start-up replayed
        by_type = Counter(t for (t,) in journal_rows(
            db, "SELECT type FROM events WHERE position BETWEEN ? AND ?", since, seen_to))
        for type_, count in by_type.items():
            assert samples[f'oms_journal_events_total{{type="{type_}"}}'] == count, type_
        assert samples['oms_fills_total{pair="ETH"}'] == by_type["OrderFilled"] > 0
        assert samples['oms_anomalies_total{kind="overfill"}'] == 1
        assert samples['oms_operator_commands_total{command="kill-switch"}'] == 2
        assert samples["oms_active_orders"] == 0
        assert samples["oms_trading"] == 1 and samples["oms_kill_switch"] == 0
        assert samples["oms_journal_append_latency_seconds_count"] > 0
        assert samples["oms_order_ack_latency_seconds_count"] > 0
        assert samples["oms_journal_batch_events_count"] > 0
        assert "oms_rest_429_total" in samples and "oms_ws_reconnects_total" in samples
        assert "oms_recovery_seconds" in samples
        assert samples["oms_rate_limit_budget_left"] > 0
        # The position gauge equals the sum of the journaled fills, signed by order side.
        sides = {json.loads(d)["client_order_id"]: json.loads(d)["side"] for (d,) in
                 journal_rows(db, "SELECT data FROM events WHERE type = 'OrderCreated'")}
        net = Decimal(0)
        for (d,) in journal_rows(db, "SELECT data FROM events WHERE type = 'OrderFilled'"):
            fill = json.loads(d)
            sign = 1 if sides[fill["client_order_id"]] == "buy" else -1
            net += sign * Decimal(fill["amount"])
        assert Decimal(str(samples['oms_position{pair="ETH"}'])) == net

        assert service.stop(signal.SIGTERM) == 0
        assert "OMS STOPPED" in service.seen or service.wait_line("OMS STOPPED", 5)
        snapshots = journal_rows(db, "SELECT position FROM proj_snapshots")
        assert snapshots
        # The snapshot covers every event the engine journaled; only events appended beside it
        # (operator commands, the anomaly forced from this process) may come after it.
        after = journal_rows(db, "SELECT stream_id, type FROM events WHERE position > ?",
                             max(p for (p,) in snapshots))
        assert all(t == "OperatorCommand" or s == order_stream(anomaly_cid) for s, t in after)
        assert exchange_open_orders(url, account) == []
        stderr = service.stderr()
        assert key not in stderr and key[2:] not in stderr
        assert key[2:] not in db.read_bytes().hex() and key[2:].encode() not in db.read_bytes()
        for line in stderr.splitlines():  # the JSON log format: one object per line
            assert isinstance(json.loads(line), dict), line
    finally:
        service.kill()
        sim.kill()
        hook.server.shutdown()
