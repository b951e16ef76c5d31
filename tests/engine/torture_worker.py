"""The engine process of the crash-torture test (run as a subprocess, killed with SIGKILL).

It opens the real engine on a SQLite journal against the simulator, which recovers (replay, verify,
reconcile). It then writes what it believes (every order and position) to ``--dump`` and prints
``RECOVERED``; the parent compares that with the exchange's truth and answers ``go`` on stdin, after
which the worker trades at random until it is killed. The private key comes from ``HL_PRIVATE_KEY``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.hyperliquid import HyperliquidConnector
from oms.domain.enums import OrderType
from oms.domain.order import InFlightOrder
from oms.engine import EngineConfig, OrderManager
from projections import load_state

PAIRS = {"ETH": Decimal("0.01"), "SOL": Decimal("0.1")}


def _order_view(o: InFlightOrder) -> dict[str, Any]:
    return {
        "state": o.state.value,
        "executed": str(o.executed_base),
        "amount": str(o.amount),
        "trade_ids": sorted(o.trade_ids),
        "exchange_order_id": o.exchange_order_id,
        "pair": o.pair,
    }


async def dump_state(manager: OrderManager, path: Path) -> None:
    """Write the engine's view of every order and position, atomically.

    Orders held in memory come from the engine; completed orders it no longer holds
    (``completed_in_memory``) come from one fold of the journal, and a sample of them is checked
    against ``OrderManager.load_order``, the engine's own way of reading them back.
    """
    in_memory = manager.orders
    orders = {o.cloid: _order_view(o) for o in in_memory.values()}
    everything = await load_state(manager.store, use_checkpoint=False,
                                  completed_capacity=sys.maxsize)
    tracker = everything.tracker
    evicted = [o for o in [*tracker.active(), *tracker.recently_completed()]
               if str(o.client_order_id) not in in_memory]
    for order in evicted:
        orders[order.cloid] = _order_view(order)
    for order in evicted[:20]:
        loaded = await manager.load_order(str(order.client_order_id))
        assert loaded is not None and _order_view(loaded) == _order_view(order), order.cloid
    positions = {
        pair: str(pos.net_size) for pair, pos in manager.positions.as_dict().items()
    }
    report = manager.recovery_report.as_dict() if manager.recovery_report else {}
    journal_problems = await check_journal(manager, everything.positions.as_dict())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"orders": orders, "positions": positions, "recovery": report,
                               "evicted_from_memory": len(evicted),
                               "journal_problems": journal_problems}))
    tmp.replace(path)


async def check_journal(manager: OrderManager, folded: dict[str, Any]) -> list[str]:
    """What must hold of the journal whatever the cache and the timing (issue 12).

    One ``OrderCreated`` per order stream and one ``OrderFilled`` per trade id; the whole
    journal re-folded with a tracker capacity of 1 and of the default gives the live positions
    and the same orders.
    """
    problems: list[str] = []
    created: Counter[str] = Counter()
    trades: Counter[str] = Counter()
    async for recorded in manager.store.read_all(1):
        if recorded.type == "OrderCreated":
            created[recorded.stream_id] += 1
        elif recorded.type == "OrderFilled":
            trades[str(recorded.data["trade_id"])] += 1
    problems += [f"{s}: {n} OrderCreated" for s, n in created.items() if n != 1]
    problems += [f"trade {t}: journaled {n} times" for t, n in trades.items() if n != 1]
    live = {pair: pos.net_size for pair, pos in manager.positions.as_dict().items()}
    for capacity in (1, 50_000):
        state = await load_state(manager.store, use_checkpoint=False,
                                 completed_capacity=capacity)
        sizes = {pair: pos.net_size for pair, pos in state.positions.as_dict().items()}
        if sizes != live:
            problems.append(f"capacity {capacity}: positions {sizes} vs live {live}")
        for record in state.tracker.records():
            order = await manager.load_order(record.client_order_id)
            if order is None or _order_view(order) != _order_view(record.freeze()):
                problems.append(f"capacity {capacity}: {record.client_order_id} differs")
    if {p: v.net_size for p, v in folded.items()} != live:
        problems.append("a full fold differs from the live positions")
    return problems


async def trade(manager: OrderManager, connector: HyperliquidConnector, seed: int) -> None:
    """Place and cancel orders at random until killed."""
    rng = random.Random(seed)
    mids: dict[str, Decimal] = {}
    step = 0
    while True:
        if step % 20 == 0:
            raw = await connector.rest.info({"type": "allMids"})
            mids = {k: Decimal(v) for k, v in raw.items() if k in PAIRS}
        step += 1
        action = rng.random()
        active = list(manager.active_orders)
        if action < 0.6 or not active:
            pair = rng.choice(list(PAIRS))
            mid = mids.get(pair)
            if mid is None:
                await asyncio.sleep(0.05)
                continue
            buy = rng.random() < 0.5
            # Some orders cross the spread (fill at once), most rest near it.
            offset = Decimal(str(rng.uniform(-0.004, 0.002)))
            price = mid * (1 - offset) if buy else mid * (1 + offset)
            size = PAIRS[pair] * rng.randint(5, 40)
            place = manager.buy if buy else manager.sell
            order_type = OrderType.LIMIT_MAKER if rng.random() < 0.15 else OrderType.LIMIT
            with contextlib.suppress(ValueError):
                place(pair, size, order_type, price=price)
        else:
            cid = rng.choice(active)
            order = manager.get_order(cid)
            if order is None or order.is_terminal:
                pass
            elif rng.random() < 0.3 and order.price is not None:
                # Re-price by a few ticks: one exchange modify (cancel + new, atomically).
                nudge = Decimal(str(rng.uniform(-0.002, 0.002)))
                with contextlib.suppress(ValueError):
                    manager.replace(cid, price=order.price * (1 + nudge))
            else:
                manager.cancel(cid)
        await asyncio.sleep(rng.uniform(0.0, 0.03))


async def main() -> None:
    """Parse arguments, recover, dump, wait for go, trade."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True, help="a SQLite file, or a database URL")
    parser.add_argument("--sim", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dump", type=Path, required=True)
    parser.add_argument("--nonce-file", type=Path, required=True)
    parser.add_argument("--completed-in-memory", type=int, default=300)
    args = parser.parse_args()
    connector = HyperliquidConnector(
        args.sim, private_key=os.environ["HL_PRIVATE_KEY"], nonce_file=args.nonce_file,
        request_timeout_s=2.0,
    )
    # A small memory bound so that orders leave memory (and are read back) within a short run.
    config = EngineConfig(expires_after_s=1.5, deadline_grace_s=0.5, poll_interval_s=1.0,
                          completed_in_memory=args.completed_in_memory)
    url = args.db if "://" in args.db else f"sqlite+aiosqlite:///{args.db}"
    manager = await OrderManager.open(url, connector, config=config)
    await dump_state(manager, args.dump)
    print("RECOVERED", flush=True)
    loop = asyncio.get_running_loop()
    line = await loop.run_in_executor(None, sys.stdin.readline)
    if line.strip() != "go":
        await manager.close()
        return
    await trade(manager, connector, args.seed)


if __name__ == "__main__":
    asyncio.run(main())
