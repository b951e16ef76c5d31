"""Strategy order ownership survives a SIGKILL of ``oms run``: after the restart the market maker
is given back its two resting quotes and re-prices them (no duplicate quotes on the exchange),
and every owner record was durable before the order it names."""

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


def _maker(half_spread_bps: int) -> str:
    # Quotes far from the mid: they rest, nothing fills them; requote_bps 100 < the move below.
    return f"""
[[strategies]]
name = "mm"
path = "oms.strategies.market_maker:MarketMaker"
[strategies.params]
pair = "ETH"
size = "0.01"
half_spread_bps = {half_spread_bps}
requote_bps = 100
max_position = "0.05"
"""


def _two_open(config: Path) -> set[str]:
    status = ctl(config, "status")
    if status["active_by_state"] != {"open": 2}:
        return set()
    return set(status["active_order_ids"])


def _owner_records(db: Path) -> dict[str, tuple[str, int]]:
    """``cid -> (strategy, position of its owner record)`` from the ownership stream."""
    owners: dict[str, tuple[str, int]] = {}
    for position, data in journal_rows(db, "SELECT position, data FROM events WHERE "
                                       "type = 'StrategyOrders' ORDER BY position"):
        body = json.loads(data)
        for cid in body["client_order_ids"]:
            owners.setdefault(cid, (body["strategy"], position))
    return owners


def _created_positions(db: Path) -> dict[str, int]:
    return {json.loads(d)["client_order_id"]: p for p, d in journal_rows(
        db, "SELECT position, data FROM events WHERE type = 'OrderCreated'")}


def test_strategy_gets_its_orders_back_after_sigkill_and_requotes_them(tmp_path: Path) -> None:
    sim, url = start_sim(tmp_path)
    env = {"HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    first = write_config(tmp_path / "first.toml", url, strategies=_maker(200))
    # The same strategy name, quoting 4 % from the mid instead of 2 %: it must re-price the
    # quotes it placed before the crash, not place two more beside them.
    second = write_config(tmp_path / "second.toml", url, strategies=_maker(400))
    db = tmp_path / "journal.db"
    service = Proc(["run", str(first)], env=env, stderr_path=tmp_path / "run1.err")
    restarted: Proc | None = None
    try:
        account = service.wait_line("OMS READY").split("account=")[1].split()[0]
        wait_until(lambda: len(_two_open(first)) == 2, 60, "two resting quotes")
        before = _two_open(first)
        service.kill()  # SIGKILL: no clean-up, no cancel, no snapshot
        assert {o["cloid"] for o in exchange_open_orders(url, account)} == {
            "0x" + c for c in before}
        owners = _owner_records(db)
        assert {cid: owners[cid][0] for cid in before} == {cid: "mm" for cid in before}

        restarted = Proc(["run", str(second)], env=env, stderr_path=tmp_path / "run2.err")
        restarted.wait_line("OMS READY")
        # The strategy sees its pre-crash orders (plus, once re-pricing began, their
        # replacements while the old ones are being canceled).
        assert ctl(second, "status")["strategies"]["mm"]["open_orders"] >= 2

        def requoted() -> bool:
            now = _two_open(second)
            return len(now) == 2 and not now & before

        wait_until(requoted, 60, "the pre-crash quotes to be re-priced by the strategy")
        after = _two_open(second)
        resting = {o["cloid"] for o in exchange_open_orders(url, account)}
        assert resting == {"0x" + c for c in after}  # two quotes, not four
        status = ctl(second, "status")
        assert status["strategies"]["mm"]["open_orders"] == 2
        assert status["strategies"]["mm"]["state"] == "running"
        # The old quotes ended by the strategy's own re-pricing: a cancel requested after the
        # restart (the exchange's modify), journaled on each old order.
        for cid in before:
            types = [t for (t,) in journal_rows(
                db, "SELECT type FROM events WHERE stream_id = ? ORDER BY version",
                f"order-{cid}")]
            assert "CancelRequested" in types and types[-1] == "OrderCanceled", types

        assert "strategy mm: 2 active orders from before the restart given back" in \
            restarted.stderr()

        # Again, now from the checkpoint the second start journaled (not the whole stream).
        restarted.kill()
        third = Proc(["run", str(second)], env=env, stderr_path=tmp_path / "run3.err")
        restarted = third
        third.wait_line("OMS READY")
        assert "strategy mm: 2 active orders from before the restart given back" in \
            third.stderr()
        wait_until(lambda: len(_two_open(second)) == 2, 60, "two quotes after the third start")
        assert len(exchange_open_orders(url, account)) == 2
        checkpoints = journal_rows(db, "SELECT data FROM events WHERE "
                                   "type = 'StrategyOrdersCheckpoint' ORDER BY position")
        assert len(checkpoints) == 3  # one per start
        assert set(json.loads(checkpoints[1][0])["owners"]["mm"]) == before
        assert third.stop(signal.SIGTERM) == 0
        owners = _owner_records(db)
        created = _created_positions(db)
        assert {owners[c][0] for c in after} == {"mm"}
        assert len(json.loads(checkpoints[2][0])["owners"]["mm"]) == 2
        # Durable before the order it names: the owner record's global position is lower than
        # the order's OrderCreated, for every order the strategy placed in both runs.
        assert set(created) <= set(owners)
        late = {c: (owners[c][1], p) for c, p in created.items() if owners[c][1] > p}
        assert not late, late
    finally:
        service.kill()
        if restarted is not None:
            restarted.kill()
        sim.kill()
