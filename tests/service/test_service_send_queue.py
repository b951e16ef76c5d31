"""``oms ctl status`` shows the send queue: a real ``oms sim`` with its real limits and a tiny
address budget (``--address-buffer 3``), a real ``oms run`` whose strategy places seven orders at
start. Three go, one more trickles through, three wait, visibly, with their age and the reason;
the exchange never has to refuse an order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from eth_account import Account
from service_helpers import Proc, ctl, exchange_open_orders, wait_until, write_config

STRATEGY = '''
from decimal import Decimal
from oms.service.strategy import BaseStrategy


class Burst(BaseStrategy):
    def __init__(self, count: int = 7) -> None:
        self.count = count

    def on_start(self, ctx):
        for i in range(self.count):
            ctx.buy("ETH", Decimal("0.01"), Decimal(2000 + i))
'''


def test_ctl_status_shows_orders_held_by_the_address_budget(tmp_path: Path) -> None:
    sim = Proc(["sim", "--port", "0", "--seed", "5", "--no-market-maker", "--limits", "real",
                "--address-buffer", "3"], stderr_path=tmp_path / "sim.err")
    url = sim.wait_line("SIMULATOR LISTENING").split()[-1]
    (tmp_path / "burst_strategy.py").write_text(STRATEGY)
    config = write_config(
        tmp_path / "svc.toml", url,
        engine="dead_man_switch = false\nexpires_after_s = 120.0",
        strategies='[[strategies]]\nname = "burst"\npath = "burst_strategy:Burst"\n')
    key = "0x" + bytes(Account.create().key).hex()
    service = Proc(["run", str(config)], env={"HL_PRIVATE_KEY": key},
                   stderr_path=tmp_path / "run.err")
    try:
        ready = service.wait_line("OMS READY")
        account = ready.split("account=")[1].split()[0]
        shown: dict[str, Any] = {}

        def three_held() -> bool:
            shown.update(ctl(config, "status")["send_queue"])
            return bool(shown["queued_orders"] == 3)

        wait_until(three_held, 60, "three orders held in the send queue", interval=0.5)
        assert shown["held_by_budget"] is True
        assert "address budget exhausted (4 of 3 requests used)" in shown["held_reason"]
        assert shown["address_cap"] == 3 and shown["budget_refused"] == 0
        assert len(shown["oldest_client_order_id"]) == 32
        first_age = shown["oldest_queued_s"]
        time.sleep(1.0)
        later = ctl(config, "status")["send_queue"]
        # All seven were queued at once: whichever is oldest now has waited longer (the 10 s
        # trickle may have sent one in between on a slow machine).
        assert later["oldest_queued_s"] >= first_age + 0.9
        assert later["queued_orders"] in (2, 3) and later["held_by_budget"] is True
        assert 4 <= len(exchange_open_orders(url, account)) <= 5
        assert "Too many cumulative requests" not in service.stderr()
    finally:
        # SIGKILL: a clean stop would cancel every open order, and with a cap of 3 the exchange
        # allows only 6 orders + cancels (cancel-all and withdrawals: tests/engine/).
        service.kill()
        sim.stop()
