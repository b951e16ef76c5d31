"""Crash torture on dYdX v4: the same worker and engine, SIGKILLed, against the local dYdX exchange.

As ``torture.py`` does for Hyperliquid: each round starts ``torture_worker.py --exchange dydx``,
lets it recover, compares its dump with the chain's truth (every order's state, executed amount
and fill ids; positions), lets it trade, provokes a situation and SIGKILLs it. Orders are matched
to the chain by the worker's client-id journal (cloid → 32-bit client id), read here without
touching the file. By hand: ``python tests/engine/torture_dydx.py --kills N`` or ``--long`` (500).
"""

from __future__ import annotations

import argparse
import asyncio
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

from bip_utils import Bip39MnemonicGenerator, Bip39WordsNum

from connectors.dydx.signing import DydxKey
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator

WORKER = Path(__file__).with_name("torture_worker.py")
MODES = ("random", "fill_burst", "reconnect", "journal_send", "indexer_lag")


def _expected_state(status: str) -> set[str]:
    if status in ("OPEN", "BEST_EFFORT_OPENED", "UNTRIGGERED"):
        return {"open", "partially_filled"}
    if status == "FILLED":
        return {"filled"}
    if status in ("CANCELED", "BEST_EFFORT_CANCELED"):
        return {"canceled"}
    return {f"<unmapped {status}>"}


def client_ids(path: Path) -> dict[str, int]:
    """cloid → client id from a client-id journal, read only (a torn last line is skipped)."""
    if not path.exists():
        return {}
    mapping: dict[str, int] = {}
    for line in path.read_text().splitlines()[1:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # the torn tail of a killed write: its order was never sent
        if "cloid" in entry:
            mapping[entry["cloid"]] = int(entry["client_id"])
    return mapping


def compare(dump: dict[str, Any], sim: DydxSimulator, address: str, ids: dict[str, int]
            ) -> list[str]:
    """Every difference between the engine's view and the chain's truth."""
    problems: list[str] = []
    ours: dict[str, Any] = dump["orders"]
    truth = sim.truth_orders(address)
    fills: dict[int, set[str]] = {}
    for fill in sim.truth_fills(address):
        fills.setdefault(fill["client_id"], set()).add(fill["id"])
    for cloid, order in ours.items():
        cid = ids.get(cloid)
        real = truth.get(cid) if cid is not None else None
        if real is None:
            if order["state"] != "failed":
                problems.append(f"{cloid}: exchange never saw it, engine says {order['state']}")
            continue
        if order["state"] not in _expected_state(real["status"]):
            problems.append(f"{cloid}: engine {order['state']}, exchange {real['status']}")
        if Decimal(order["executed"]) != real["filled"]:
            problems.append(f"{cloid}: executed {order['executed']} vs exchange {real['filled']}")
        assert cid is not None
        if set(order["trade_ids"]) != fills.get(cid, set()):
            problems.append(f"{cloid}: trade ids differ from the exchange's fills")
    by_client = {v: k for k, v in ids.items()}
    for client_id in truth:
        cloid = by_client.get(client_id)
        if cloid is None or cloid not in ours:
            problems.append(f"client id {client_id}: on the exchange but unknown to the engine")
    positions = {k: Decimal(v) for k, v in dump["positions"].items() if Decimal(v) != 0}
    real_positions = sim.truth_positions(address)
    if positions != real_positions:
        problems.append(f"positions: engine {positions} vs exchange {real_positions}")
    return problems


async def _read_line(stream: asyncio.StreamReader, limit_s: float) -> str:
    return (await asyncio.wait_for(stream.readline(), limit_s)).decode().strip()


async def run_torture_dydx(kills: int, seed: int = 1, workdir: Path | None = None
                           ) -> dict[str, Any]:
    """Run ``kills`` kill/restart rounds plus a final verification; return the counts."""
    rng = random.Random(seed)
    work = Path(workdir or tempfile.mkdtemp(prefix="oms-torture-dydx-"))
    db, dump, ids_file = work / "journal.db", work / "dump.json", work / "client-ids.jsonl"
    words = str(Bip39MnemonicGenerator().FromWordsNumber(Bip39WordsNum.WORDS_NUM_24))
    address = DydxKey.from_mnemonic(words).address
    env = {**os.environ, "DYDX_MNEMONIC": words}
    stats: Counter[str] = Counter()
    problems: list[str] = []
    recovery_s: list[float] = []
    config = DydxSimConfig(seed=seed, block_interval_s=0.1, auto_fund=False, funded=(address,))
    async with DydxSimulator(config) as sim:
        txs: Counter[str] = Counter()

        def count(tx: Any, result: Any) -> None:
            name = type(tx.messages[0]).__name__
            flags = "long" if not tx.short_term_only else "short"
            txs.update([f"{name}_{flags}_{'ok' if result.code == 0 else 'refused'}"])

        sim.chain.on_tx = count
        for round_no in range(kills + 1):
            sim.market_paused = True  # still while the worker recovers and is compared
            log_path = work / f"worker-{round_no % 3}.log"
            proc = await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER), "--exchange", "dydx", "--db", str(db),
                "--sim", sim.rest_url, "--node", sim.node_url, "--ws", sim.ws_url,
                "--seed", str(seed * 1000 + round_no), "--dump", str(dump),
                "--nonce-file", str(ids_file),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                stderr=log_path.open("ab"), env=env,
            )
            assert proc.stdout is not None and proc.stdin is not None
            started = time.perf_counter()
            try:
                line = await _read_line(proc.stdout, 90.0)
            except TimeoutError:
                proc.kill()
                raise AssertionError(f"round {round_no}: worker did not recover in time") from None
            if line != "RECOVERED":
                await proc.wait()
                raise AssertionError(f"round {round_no}: worker said {line!r}\n"
                                     f"{log_path.read_text()[-3000:]}")
            recovery_s.append(time.perf_counter() - started)
            state = json.loads(dump.read_text())
            found = compare(state, sim, address, client_ids(ids_file))
            found += [f"journal: {p}" for p in state.get("journal_problems", [])]
            problems.extend(f"round {round_no}: {p}" for p in found)
            stats["verifications"] += 1
            print(f"round {round_no}: {len(state['orders'])} orders, {len(problems)} problems"
                  f" so far", file=sys.stderr, flush=True)
            stats["orders_seen"] = max(stats["orders_seen"], len(state["orders"]))
            if round_no == kills:
                proc.stdin.write(b"stop\n")
                await proc.stdin.drain()
                await asyncio.wait_for(proc.wait(), 30)
                break
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
            sim.market_paused = False
            mode = rng.choice(MODES)
            stats[f"mode_{mode}"] += 1
            await _provoke(sim, mode, rng)
            if proc.returncode is not None:
                raise AssertionError(f"round {round_no}: the worker exited by itself (code "
                                     f"{proc.returncode})\n{log_path.read_text()[-3000:]}")
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            stats["kills"] += 1
            sim.indexer_lag_s = 0.0
            # The market moves while the engine is dead: fills it must catch up on.
            await asyncio.sleep(rng.uniform(0.1, 0.4))
        stats["exchange_orders"] = len(sim.truth_orders(address))
        stats["exchange_fills"] = len(sim.truth_fills(address))
    return {
        **dict(stats), **{f"tx_{k}": v for k, v in sorted(txs.items())},
        "mismatches": len(problems), "problems": problems[:20],
        "recovery_s_max": round(max(recovery_s), 3),
        "recovery_s_mean": round(sum(recovery_s) / len(recovery_s), 3),
        "workdir": str(work),
    }


async def _provoke(sim: DydxSimulator, mode: str, rng: random.Random) -> None:
    """Trade for a while, shaping the moment of the kill by ``mode``."""
    if mode == "journal_send":
        await asyncio.sleep(rng.uniform(0.05, 0.3))
        return
    if mode == "indexer_lag":
        sim.indexer_lag_s = rng.uniform(0.2, 0.6)
    await asyncio.sleep(rng.uniform(0.3, 1.2))
    if mode == "fill_burst":
        for _ in range(5):
            sim.produce_block()
        await asyncio.sleep(rng.uniform(0.0, 0.02))
    elif mode == "reconnect":
        await sim.close_websockets()
        await asyncio.sleep(rng.uniform(0.0, 0.1))


def main() -> None:
    """CLI: ``--kills N`` or ``--long`` (500); prints the counts as JSON; exit 1 on mismatches."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--long", action="store_true", help="500 kills")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = asyncio.run(run_torture_dydx(500 if args.long else args.kills, args.seed))
    print(json.dumps(result, indent=2))
    sys.exit(1 if result["mismatches"] else 0)


if __name__ == "__main__":
    main()
