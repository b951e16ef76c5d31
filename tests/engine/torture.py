"""Crash torture: SIGKILL the engine at random moments; every restart must match the exchange.

The simulator runs here (in the parent); the engine runs in ``torture_worker.py`` subprocesses on
one SQLite journal. Each round: start a worker, let it recover, compare its dumped view with the
exchange's truth (every order's state, executed amount and trade ids; positions), tell it to trade,
provoke a situation (fill burst, reconnect, slow replies, dropped replies), SIGKILL it. The final
round only verifies. Run by the test suite with a short count; by hand: ``python
tests/engine/torture.py --long`` (500 kills) or ``--kills N``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account

from connectors.hyperliquid.simulator import SimulatedExchange, SimulatorConfig

if __name__ == "__main__":  # run by hand (pytest puts tests/ on the path itself): the repo
    # first, so that tests/eventstore (a folder of tests) never shadows the package
    sys.path[:0] = [str(Path(__file__).parents[2]), str(Path(__file__).parents[1])]
from kit.account import OutsideClient
from torture_archive import ArchiveRounds
from torture_history import ARCHIVE_ENV

WORKER = Path(__file__).with_name("torture_worker.py")
MODES = ("random", "fill_burst", "reconnect", "in_flight", "journal_send", "drop_reply",
         "held_pushes", "held_replies", "mark_jump")


def _expected_state(status: str) -> set[str]:
    if status == "open":
        return {"open", "partially_filled"}
    if status == "filled":
        return {"filled"}
    if status.endswith("anceled") or status.endswith("Cancel"):
        return {"canceled"}
    if status.endswith("ejected") or status == "rejected":
        return {"failed"}
    return {f"<unmapped {status}>"}


def compare(dump: dict[str, Any], sim: SimulatedExchange, user: str) -> list[str]:
    """Every difference between the engine's view and the exchange's truth."""
    problems: list[str] = []
    ours: dict[str, Any] = dump["orders"]
    truth = sim.truth.orders(user)
    fills_by_cloid: dict[str, set[str]] = {}
    for fill in sim.truth.fills(user):
        fills_by_cloid.setdefault(fill["cloid"], set()).add(str(fill["tid"]))
    for cloid, order in ours.items():
        real = truth.get(cloid)
        if real is None:
            if order["state"] != "failed":
                problems.append(f"{cloid}: exchange never saw it, engine says {order['state']}")
            continue
        shrunk = (real["status"] == "filled" and order["state"] == "canceled"
                  and Decimal(order["executed"]) < Decimal(order["amount"]))  # reduce-only, §13.3
        if order["state"] not in _expected_state(real["status"]) and not shrunk:
            problems.append(f"{cloid}: engine {order['state']}, exchange {real['status']}")
        if Decimal(order["executed"]) != real["filled_sz"]:
            problems.append(
                f"{cloid}: executed {order['executed']} vs exchange {real['filled_sz']}"
            )
        if set(order["trade_ids"]) != fills_by_cloid.get(cloid, set()):
            problems.append(f"{cloid}: trade ids differ from the exchange's fills")
    for cloid in truth:
        # Orders without a cloid are another client's (the engine always sends one): they
        # reach the engine as the account's outside fills, compared with the account below.
        if cloid not in ours and not cloid.startswith("oid:"):
            problems.append(f"{cloid}: on the exchange but unknown to the engine")
    # The account's positions (our fills and everyone else's) when the worker dumps them.
    held = dump["account"]["positions"] if "account" in dump else dump["positions"]
    positions = {k: Decimal(v) for k, v in held.items() if Decimal(v) != 0}
    real_positions = {
        k: v["szi"] for k, v in sim.truth.positions(user).items() if v["szi"] != 0
    }
    if positions != real_positions:
        problems.append(f"positions: engine {positions} vs exchange {real_positions}")
    for cloid, order in ours.items():  # a leg's parent link must name one of our orders
        parent = order.get("parent_id")
        if parent is not None and "0x" + parent not in ours:
            problems.append(f"{cloid}: parent {parent} unknown to the engine")
    leverage = {p: tuple(v) for p, v in dump.get("leverage", {}).items()}
    real_leverage = sim.truth.leverage(user)
    if leverage != real_leverage:
        problems.append(f"leverage: engine {leverage} vs exchange {real_leverage}")
    return problems


def compare_account(dump: dict[str, Any], sim: SimulatedExchange, user: str) -> list[str]:
    """The whole account against the exchange: cash (collateral incl. realized PnL, fees and
    funding), realized trading PnL, fees, funding and margin used."""
    ours = dump["account"]
    fills = sim.truth.fills(user)
    funding = sum((Decimal(r["delta"]["usdc"])
                   for r in sim.engine.history.fundings.get(user, [])), Decimal(0))
    account = sim.engine.accounts[user]
    margin = account.position_margin(sim.engine.marks(), sim.config.default_leverage)
    truth = {
        "cash": account.usdc,
        "realized_trading": sum((f["closed_pnl"] for f in fills), Decimal(0)),
        "fees": sum((f["fee"] for f in fills), Decimal(0)),
        "funding": funding,
        "margin_used": margin.quantize(Decimal("1e-6")),
    }
    problems = []
    for name, real in truth.items():
        mine = Decimal(ours[name]) if ours[name] not in (None, "None") else Decimal(0)
        if abs(mine - real) > Decimal("1e-6"):
            problems.append(f"account {name}: engine {mine} vs exchange {real}")
    return problems


async def _read_line(stream: asyncio.StreamReader, limit_s: float) -> str:
    line = await asyncio.wait_for(stream.readline(), limit_s)
    return line.decode().strip()


async def run_torture(
    kills: int, seed: int = 1, workdir: Path | None = None, journal_url: str | None = None,
    seals: bool = False, archive: bool = False, progress: bool = False,
) -> dict[str, Any]:
    """Run ``kills`` kill/restart rounds plus a final verification; return the counts.

    The journal is a SQLite file in ``workdir`` unless ``journal_url`` names another (e.g. an
    empty PostgreSQL database). With ``archive`` (implies ``seals``), between rounds the sealed
    history up to the newest seal is moved to archive files (``archive_before``, as ``oms audit
    archive --before`` does) and everything is verified across archive + live.
    """
    rng = random.Random(seed)
    work = Path(workdir or tempfile.mkdtemp(prefix="oms-torture-"))
    dump, nonce = work / "dump.json", work / "nonce"
    db = journal_url or str(work / "journal.db")
    env = {**os.environ, "HL_PRIVATE_KEY": "0x" + bytes(Account.create().key).hex()}
    seals = seals or archive
    if seals:  # the workers seal every 40 events and start from the newest seal
        env["OMS_TORTURE_SEAL_KEY"] = "0x" + bytes(Account.create().key).hex()
    archives: ArchiveRounds | None = None
    if archive:  # the workers' journal checks read the archive files too
        archives = ArchiveRounds(db, work / "archive", env["OMS_TORTURE_SEAL_KEY"])
        env[ARCHIVE_ENV] = str(archives.folder)
    stats: Counter[str] = Counter()
    problems: list[str] = []
    recovery_s: list[float] = []
    async with SimulatedExchange(SimulatorConfig(seed=seed, market_maker=False)) as sim:
        await sim.step_market()
        actions: Counter[str] = Counter()
        sim.on_action = lambda raw: actions.update([json.loads(raw)["action"]["type"]])
        user = ""
        outside: OutsideClient | None = None
        for round_no in range(kills + 1):
            last = round_no == kills
            # A tiny memory bound in some rounds: the state must not depend on it (issue 12).
            completed = rng.choice((1, 3, 300))
            stats[f"completed_in_memory_{completed}"] += 1
            if not last and rng.random() < 0.15:
                sim.faults.http_error(503, rng.randint(1, 3), path="/info")  # start-up reads
                stats["info_503_at_start"] += 1
            kill_in_recovery = not last and round_no > 0 and rng.random() < 0.12
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER), "--db", db, "--sim", sim.base_url,
                "--seed", str(seed * 1000 + round_no), "--dump", str(dump),
                "--nonce-file", str(nonce), "--completed-in-memory", str(completed),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=(work / f"worker-{round_no % 3}.log").open("wb"), env=env,
            )
            assert proc.stdout is not None and proc.stdin is not None
            started = time.perf_counter()
            if kill_in_recovery:
                # SIGKILL while the worker replays or reconciles: the next start must cope.
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                if proc.returncode is None:
                    proc.send_signal(signal.SIGKILL)
                await proc.wait()
                stats["kills_during_recovery"] += 1
                sim.faults.reset()
                if archives is not None:
                    problems.extend(f"round {round_no}: {p}" for p in await archives.run(stats))
                continue
            try:
                line = await _read_line(proc.stdout, 90.0)
            except TimeoutError:
                proc.kill()
                raise AssertionError(f"round {round_no}: worker did not recover in time") from None
            if line != "RECOVERED":
                await proc.wait()
                log = (work / f"worker-{round_no % 3}.log").read_text()[-3000:]
                raise AssertionError(f"round {round_no}: worker said {line!r}\n{log}")
            recovery_s.append(time.perf_counter() - started)
            state = json.loads(dump.read_text())
            if not user:
                user = _account_of(env["HL_PRIVATE_KEY"])
                outside = OutsideClient(sim.base_url, env["HL_PRIVATE_KEY"])
                await outside.prepare()  # before the worker signs anything: no nonce overlap
            found = compare(state, sim, user) + list(state.get("journal_problems", []))
            found += compare_account(state, sim, user)
            stats["account_corrections_max"] = max(stats["account_corrections_max"],
                                                   state["account"]["corrections"])
            problems.extend(f"round {round_no}: {p}" for p in found)
            stats["verifications"] += 1
            if progress:  # long runs: one line per verified round on stderr
                print(json.dumps({"round": round_no, "mismatches": len(problems),
                                  "archives": stats["archives"],
                                  "events_archived": stats["events_archived"]}),
                      file=sys.stderr, flush=True)
            stats["orders_seen"] = max(stats["orders_seen"], len(state["orders"]))
            if round_no == kills:
                proc.stdin.write(b"stop\n")
                await proc.stdin.drain()
                await asyncio.wait_for(proc.wait(), 30)
                break
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
            mode = rng.choice(MODES)
            stats[f"mode_{mode}"] += 1
            # The other client trades before the faults of this round are set: they are the
            # engine's to suffer (a dropped reply would otherwise hang up on the other client).
            await _account_activity(sim, outside, user, rng, stats, "running")
            await _provoke(sim, mode, rng)
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            stats["kills"] += 1
            sim.faults.reset()
            if archives is not None:  # while the engine is down: seal, archive, verify all
                problems.extend(f"round {round_no}: {p}" for p in await archives.run(stats))
            # Let the exchange move while the engine is dead: fills it must catch up on.
            for _ in range(rng.randint(0, 3)):
                await sim.step_market()
            await _account_activity(sim, outside, user, rng, stats, "down")
        if archives is not None:
            problems.extend(f"final: {p}" for p in await archives.cli_verify(stats))
        stats["exchange_orders"] = len(sim.truth.orders(user))
        stats["exchange_fills"] = len(sim.truth.fills(user))
        for kind in ("order", "cancelByCloid", "batchModify"):
            stats[f"actions_{kind}"] = actions[kind]
    return {
        **dict(stats),
        "mismatches": len(problems),
        "problems": problems[:20],
        "recovery_s_max": round(max(recovery_s), 3),
        "recovery_s_mean": round(sum(recovery_s) / len(recovery_s), 3),
        "workdir": str(work),
    }


async def _account_activity(sim: SimulatedExchange, outside: OutsideClient | None, user: str,
                            rng: random.Random, stats: Counter[str], when: str) -> None:
    """What happens to the account besides the engine's orders: another client's trades,
    funding payments and, now and then, a liquidation (forced at mark by the test API)."""
    if outside is not None and rng.random() < 0.4:
        pair, size = rng.choice((("ETH", Decimal("0.05")), ("SOL", Decimal("1"))))
        with contextlib.suppress(AssertionError):  # no liquidity at that moment: no trade
            await outside.market(pair, rng.random() < 0.5, size)
            stats[f"outside_trades_{when}"] += 1
    if rng.random() < 0.3:
        stats[f"funding_rounds_{when}"] += sim.pay_funding(Decimal("0.0001")) and 1
    if rng.random() < 0.06 and sim.truth.positions(user):
        coin = rng.choice(sorted(sim.truth.positions(user)))
        stats[f"liquidations_{when}"] += sim.liquidate(user, [coin]) and 1


def _account_of(key: str) -> str:
    return str(Account.from_key(key).address).lower()


async def _provoke(sim: SimulatedExchange, mode: str, rng: random.Random) -> None:
    """Trade for a while, shaping the moment of the kill by ``mode``."""
    if mode == "journal_send":
        await asyncio.sleep(rng.uniform(0.05, 0.3))
        return
    trade_s = rng.uniform(0.2, 1.0)
    end = time.monotonic() + trade_s
    while time.monotonic() < end:
        await sim.step_market()
        await asyncio.sleep(0.05)
    if mode == "fill_burst":
        for _ in range(5):
            await sim.step_market()
        await asyncio.sleep(rng.uniform(0.0, 0.02))
    elif mode == "reconnect":
        sim.faults.close_websockets()
        await asyncio.sleep(rng.uniform(0.0, 0.1))
    elif mode == "in_flight":
        sim.faults.delay_responses(0.5)
        await asyncio.sleep(rng.uniform(0.05, 0.3))
    elif mode == "drop_reply":
        sim.faults.drop_replies(2)
        await asyncio.sleep(rng.uniform(0.1, 0.4))
    elif mode == "held_pushes":
        # Pushes held while actions are applied and their replies dropped: the engine learns
        # the truth only from status queries, or from the held pushes after the kill.
        sim.faults.pause_pushes(rng.uniform(0.5, 2.0))
        sim.faults.drop_replies(1)
        await asyncio.sleep(rng.uniform(0.2, 0.6))
    elif mode == "mark_jump":
        # The mark jumps by up to 2 %: stops and take-profits fire (and their brackets' siblings
        # cancel) while the engine is killed moments later.
        coin = rng.choice(["ETH", "SOL"])
        mark = sim.engine.mids[coin] * Decimal(str(1 + rng.uniform(-0.02, 0.02)))
        sim.set_mark(coin, mark.quantize(Decimal("0.01")))
        await asyncio.sleep(rng.uniform(0.0, 0.05))
    elif mode == "held_replies":
        sim.faults.delay_responses(rng.uniform(2.5, 3.5), count=2)  # past the client timeout
        await asyncio.sleep(rng.uniform(0.2, 1.0))


def main() -> None:
    """CLI: ``--kills N`` or ``--long`` (500); prints the counts as JSON; exit 1 on mismatches."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--long", action="store_true", help="500 kills")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--journal-url", default=None,
                        help="an empty database to journal to (default: a SQLite file)")
    parser.add_argument("--seals", action="store_true",
                        help="workers seal every 40 events and start from the newest seal")
    parser.add_argument("--archive", action="store_true",
                        help="archive sealed history between rounds (implies --seals)")
    args = parser.parse_args()
    kills = 500 if args.long else args.kills
    result = asyncio.run(run_torture(kills, args.seed, journal_url=args.journal_url,
                                     seals=args.seals, archive=args.archive, progress=True))
    print(json.dumps(result, indent=2))
    sys.exit(1 if result["mismatches"] else 0)


if __name__ == "__main__":
    main()
