"""The crash demo on dYdX v4: the same engine and worker, the local dYdX exchange, a SIGKILL.

As ``run.py`` does on Hyperliquid: engine #1 trades and is killed; the market trades on while it
is down; engine #2 recovers from the journal and the exchange and is compared with the chain's
truth, finishes the strategy and is compared again. Orders are matched to the chain through the
worker's client-id journal (cloid → 32-bit client id), read here without changing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import tempfile
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.dydx.signing import DydxKey
from connectors.dydx.simulator import DydxSimConfig, DydxSimulator
from oms.demo.compare import Comparison, OrderCheck, PositionCheck, expected_states
from oms.demo.run import SETTLE_TRIES, DemoError, DemoResult, Say, Worker, _require_new_journal

_STATUS = {"OPEN": "open", "BEST_EFFORT_OPENED": "open", "FILLED": "filled",
           "CANCELED": "canceled", "BEST_EFFORT_CANCELED": "canceled"}


def client_ids(path: Path) -> dict[str, int]:
    """cloid → client id from a client-id journal (read only; a torn last line is skipped)."""
    mapping: dict[str, int] = {}
    if path.exists():
        for line in path.read_text().splitlines()[1:]:
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if "cloid" in entry:
                    mapping[entry["cloid"]] = int(entry["client_id"])
    return mapping


def compare_dydx(view: dict[str, Any], sim: DydxSimulator, ids: dict[str, int]) -> Comparison:
    """Compare an engine view with the chain's truth (orders by client id, fills by id)."""
    address = str(view["account"]).split("/")[0]
    ours = {c: o for c, o in view["orders"].items() if o["account"] == view["account"]}
    truth = sim.truth_orders(address)
    fills: dict[int, set[str]] = {}
    for fill in sim.truth_fills(address):
        fills.setdefault(fill["client_id"], set()).add(fill["id"])
    by_client = {v: k for k, v in ids.items()}
    cloids = set(ours) | {by_client.get(cid, f"client id {cid}") for cid in truth}
    checks = []
    for cloid in sorted(cloids):
        mine = ours.get(cloid)
        cid = ids.get(cloid)
        real = truth.get(cid) if cid is not None else None
        status = _STATUS.get(real["status"], real["status"]) if real else "never seen"
        tids = fills.get(cid, set()) if cid is not None else set()
        if mine is None:
            problem: str | None = "on the exchange but unknown to the engine"
        elif real is None:
            problem = None if mine["state"] == "failed" else "the exchange never saw it"
        elif mine["state"] not in expected_states(status):
            problem = "state differs"
        elif Decimal(mine["executed"]) != real["filled"]:
            problem = "executed amount differs"
        elif set(mine["trade_ids"]) != tids:
            problem = "fills differ"
        else:
            problem = None
        base = mine or {}
        checks.append(OrderCheck(
            cloid=cloid, pair=base.get("pair") or (real or {}).get("ticker", "?"),
            side=base.get("side") or (real or {}).get("side", "?"),
            engine_state=base.get("state", "—"), exchange_status=status,
            engine_executed=Decimal(base["executed"]) if mine else None,
            exchange_filled=real["filled"] if real else None,
            engine_fills=len(base.get("trade_ids", ())), exchange_fills=len(tids),
            problem=problem))
    engine_pos = {p: Decimal(v) for p, v in view["positions"].items()}
    real_pos = sim.truth_positions(address)
    positions = [PositionCheck(p, engine_pos.get(p, Decimal(0)), real_pos.get(p, Decimal(0)))
                 for p in sorted(set(engine_pos) | set(real_pos))]
    return Comparison(checks, positions)


@contextlib.asynccontextmanager
async def _market(sim: DydxSimulator) -> AsyncIterator[None]:
    """Let the maker re-quote in every block (it holds still otherwise)."""
    sim.market_paused = False
    try:
        yield
    finally:
        sim.market_paused = True


async def run_demo_dydx(
    seed: int, orders: int, url: str | None, say: Say, *, keep: bool = False
) -> DemoResult:
    """Run the whole demo on the local dYdX exchange. Raises :class:`DemoError`.

    Its temporary folder is removed at the end, as :func:`oms.demo.run.run_demo` does, unless
    ``keep`` is set or something went wrong after the engine started.
    """
    work = Path(tempfile.mkdtemp(prefix="oms-demo-dydx-"))
    started = False
    try:
        journal = url or f"sqlite+aiosqlite:///{work / 'journal.db'}"
        await _require_new_journal(journal)
        started = True
        result = await _run_dydx(work, journal, seed, orders, say)
    except BaseException as exc:
        if started and isinstance(exc, DemoError):
            raise DemoError(f"{exc} (the demo's files are kept in {work})") from exc
        await asyncio.to_thread(shutil.rmtree, work, True)
        raise
    if keep or result.differences:
        result.kept = work
    else:
        await asyncio.to_thread(shutil.rmtree, work, True)
    return result


async def _run_dydx(work: Path, journal: str, seed: int, orders: int, say: Say) -> DemoResult:
    """The dYdX demo proper, in the folder ``work``."""
    from bip_utils import Bip39MnemonicGenerator, Bip39WordsNum

    words = str(Bip39MnemonicGenerator().FromWordsNumber(Bip39WordsNum.WORDS_NUM_24))
    address = DydxKey.from_mnemonic(words).address  # fresh for this demo, never printed
    env = {**os.environ, "DYDX_MNEMONIC": words}
    dump, log, ids = work / "engine-view.json", work / "engine.log", work / "client-ids.jsonl"
    kill_at = random.Random(seed).randint(max(1, orders // 3), max(1, (2 * orders) // 3))
    config = DydxSimConfig(seed=seed, block_interval_s=0.1, auto_fund=False, funded=(address,))
    async with DydxSimulator(config) as sim:
        sim.market_paused = True
        args = ["--venue", "dydx", "--url", journal, "--exchange", sim.rest_url,
                "--node", sim.node_url, "--ws", sim.ws_url, "--seed", str(seed),
                "--dump", str(dump), "--nonce-file", str(ids)]
        result = DemoResult(sim.rest_url, journal, f"{address}/0", orders)
        say(f"local dYdX exchange: Indexer {sim.rest_url}, node {sim.node_url} (seed {seed});"
            f" account {address}")
        first = await Worker.start(args, env, log)
        await first.expect("RECOVERED", log)
        say(f"engine #1 (pid {first.proc.pid}) opened the new journal; trading…")
        async with _market(sim):
            await first.send(f"trade 0 {orders}")
            while result.killed_after < kill_at:
                line = await first.line()
                if not line:
                    raise DemoError(f"engine #1 exited while trading (log: {log})")
                if line.startswith("PLACED "):
                    result.killed_after = int(line.split()[1])
            await first.kill()
            result.killed_pid = first.proc.pid
            say(f"SIGKILL sent to engine #1 right after order {result.killed_after} of {orders}")
            before = len(sim.truth_fills(address))
            await asyncio.sleep(1.0)  # ten blocks: the market moves on while the engine is down
        result.fills_while_down = len(sim.truth_fills(address)) - before
        say(f"the exchange kept trading while the engine was down: "
            f"{result.fills_while_down} new fills of our orders")
        started = time.perf_counter()
        second = await Worker.start(args, env, log)
        await second.expect("RECOVERED", log)
        result.restart_seconds = time.perf_counter() - started
        view = json.loads(await asyncio.to_thread(dump.read_text))
        result.recovery = view["recovery"]
        result.after_recovery = compare_dydx(view, sim, client_ids(ids))
        say(f"engine #2 (pid {second.proc.pid}) recovered and reconciled in "
            f"{result.restart_seconds:.2f} s (process start included)")
        remaining = orders - result.killed_after
        if remaining > 0:
            async with _market(sim):
                await second.send(f"trade {result.killed_after} {remaining}")
                await second.expect("DONE", log)
            say(f"engine #2 placed the remaining {remaining} orders")
        comparison = None
        for _ in range(SETTLE_TRIES):
            await asyncio.sleep(0.25)
            await second.send("dump")
            await second.expect("DUMPED", log)
            view = json.loads(await asyncio.to_thread(dump.read_text))
            comparison = compare_dydx(view, sim, client_ids(ids))
            if comparison.differences == 0:
                break
        result.at_end = comparison
        await second.stop()
    return result
