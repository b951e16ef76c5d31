"""SIGKILL of ``oms run``: a restart resumes with the same orders; with the dead-man switch on,
the exchange cancels the resting orders while the service is down."""

from __future__ import annotations

import json
import signal
from pathlib import Path

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

# Quotes far from the mid (2 %): they rest, and nothing fills them during the test.
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


def _resting(config: Path) -> set[str]:
    status = ctl(config, "status")
    if status["active_by_state"] != {"open": 2}:
        return set()
    return set(status["active_order_ids"])


def _cloids(url: str, account: str) -> set[str]:
    return {o["cloid"] for o in exchange_open_orders(url, account)}


def _cid_to_cloid(cid: str) -> str:
    return "0x" + cid


def test_sigkill_then_restart_resumes_the_same_orders(tmp_path: Path) -> None:
    sim, url = start_sim(tmp_path)
    env = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    config = write_config(tmp_path / "svc.toml", url, strategies=WIDE_MAKER)
    bare = write_config(tmp_path / "bare.toml", url)  # same journal and socket, no strategy
    service = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run1.err")
    restarted: Proc | None = None
    try:
        account = service.wait_line("OMS READY").split("account=")[1].split()[0]
        wait_until(lambda: len(_resting(config)) == 2, 60, "two resting quotes")
        before = _resting(config)
        service.kill()  # SIGKILL: no clean-up, no cancel, no snapshot
        assert _cloids(url, account) == {_cid_to_cloid(c) for c in before}

        restarted = Proc(["run", str(bare)], env=env, stderr_path=tmp_path / "run2.err")
        restarted.wait_line("OMS READY")
        status = ctl(bare, "status")
        assert set(status["active_order_ids"]) == before
        assert status["active_by_state"] == {"open": 2}
        assert restarted.stop(signal.SIGTERM) == 0
        assert _cloids(url, account) == set()  # cancel_all_on_stop (the default)
    finally:
        service.kill()
        if restarted is not None:
            restarted.kill()
        sim.kill()


def test_dead_man_switch_cancels_resting_orders_while_the_service_is_down(tmp_path: Path) -> None:
    sim, url = start_sim(tmp_path)
    env = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    config = write_config(tmp_path / "svc.toml", url, strategies=WIDE_MAKER,
                          engine="dead_man_switch = true\ndead_man_switch_s = 6")
    bare = write_config(tmp_path / "bare.toml", url)
    db = tmp_path / "journal.db"
    service = Proc(["run", str(config)], env=env, stderr_path=tmp_path / "run1.err")
    restarted: Proc | None = None
    try:
        account = service.wait_line("OMS READY").split("account=")[1].split()[0]
        wait_until(lambda: len(_resting(config)) == 2, 60, "two resting quotes")
        before = _resting(config)
        service.kill()
        assert _cloids(url, account) == {_cid_to_cloid(c) for c in before}
        # Nobody renews the scheduled cancel now: the exchange cancels within the horizon.
        wait_until(lambda: not _cloids(url, account), 30, "the dead-man switch to fire",
                   interval=1.0)

        restarted = Proc(["run", str(bare)], env=env, stderr_path=tmp_path / "run2.err")
        restarted.wait_line("OMS READY")
        assert ctl(bare, "status")["active_orders"] == 0
        canceled = {json.loads(d)["client_order_id"] for (d,) in journal_rows(
            db, "SELECT data FROM events WHERE type = 'OrderCanceled'")}
        assert before <= canceled  # recovery journaled what the exchange did while we were down
        assert restarted.stop(signal.SIGTERM) == 0
    finally:
        service.kill()
        if restarted is not None:
            restarted.kill()
        sim.kill()
