"""The engine process of the crash-torture test (run as a subprocess, killed with SIGKILL).

It opens the real engine on a SQLite journal against the simulator, which recovers (replay, verify,
reconcile). It then writes what it believes (every order and position) to ``--dump`` and prints
``RECOVERED``; the parent compares that with the exchange's truth and answers ``go`` on stdin, after
which the worker trades at random until it is killed. The private key comes from ``HL_PRIVATE_KEY``;
with ``--exchange dydx`` the mnemonic comes from ``DYDX_MNEMONIC`` and the worker trades on the
local dYdX exchange through the dYdX connector — the engine code is the same.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import os
import random
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

from torture_history import archive_dir, fold_history, history

from connectors.hyperliquid import HyperliquidConnector
from oms.domain.enums import OrderType, TradeSide
from oms.domain.order import InFlightOrder
from oms.engine import EngineConfig, OrderManager
from oms.engine.account_config import AccountConfig
from oms.engine.order_kind_rules import Leg
from oms.engine.seal_keys import Eip191SealKey
from projections import Projector, load_state, replay

SEAL_ENV = "OMS_TORTURE_SEAL_KEY"

PAIRS = {"ETH": Decimal("0.01"), "SOL": Decimal("0.1")}
DYDX_PAIRS = {"ETH-USD": Decimal("0.01"), "SOL-USD": Decimal("0.1")}


def _order_view(o: InFlightOrder) -> dict[str, Any]:
    return {
        "state": o.state.value,
        "executed": str(o.executed_base),
        "amount": str(o.amount),
        "trade_ids": sorted(o.trade_ids),
        "exchange_order_id": o.exchange_order_id,
        "pair": o.pair,
        "trigger_state": o.trigger_state.value if o.trigger_state else None,
        "parent_id": o.parent_id,
    }


async def dump_state(manager: OrderManager, path: Path) -> None:
    """Write the engine's view of every order and position, atomically.

    Orders held in memory come from the engine; completed orders it no longer holds
    (``completed_in_memory``) come from one fold of the journal, and a sample of them is checked
    against ``OrderManager.load_order``, the engine's own way of reading them back.
    """
    in_memory = manager.orders
    orders = {o.cloid: _order_view(o) for o in in_memory.values()}
    folder = archive_dir()
    everything: Any = (
        await fold_history(manager.store, folder, sys.maxsize) if folder else
        await load_state(manager.store, use_checkpoint=False, completed_capacity=sys.maxsize))
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
    journal_problems += await check_account_fold(manager)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"orders": orders, "positions": positions, "recovery": report,
                               "leverage": {p: list(v) for p, v in manager.leverage.items()},
                               "account": account_view(manager),
                               "evicted_from_memory": len(evicted),
                               "journal_problems": journal_problems}))
    tmp.replace(path)


def account_view(manager: OrderManager) -> dict[str, Any]:
    """The engine's whole account: perp sizes (our fills and everyone else's), cash, realized
    trading PnL, fees, funding, the exchange's margin figure, and how many corrections."""
    account = manager.account
    perps = {p: v for p, v in account.positions.items() if v.size}
    return {
        "positions": {p: str(v.size) for p, v in perps.items()},
        "cash": str(account.cash),
        "realized_trading": str(sum((v.realized_trading for v in account.positions.values()),
                                    Decimal(0))),
        "fees": str(sum((v.fees for v in account.positions.values()), Decimal(0))),
        "funding": str(sum((v.funding for v in account.positions.values()), Decimal(0))),
        "margin_used": str(account.total_margin_used),
        "corrections": account.corrections,
        "anomalies": account.anomalies,
    }


async def check_account_fold(manager: OrderManager) -> list[str]:
    """The live account equals a fold of the journal from position 1 up to the last event the
    engine made durable (the account is folded in journal order; taken at one instant, since
    the background reconciliation keeps journaling while we check)."""
    live = manager.account.as_dict()
    upto = manager.projector.tracker.last_position
    folder = archive_dir()
    folded = Projector(completed_capacity=sys.maxsize)
    if folder:  # across the archive files and the live log
        folded = await fold_history(manager.store, folder, sys.maxsize, upto)
    else:
        await replay(manager.store, folded, to_position=upto)
    if folded.account.as_dict() != live:
        differ = sorted(k for k, v in folded.account.as_dict().items() if live.get(k) != v)
        return [f"a fold of the journal to {upto} gives another account than live: {differ}"]
    return []


async def check_journal(manager: OrderManager, folded: dict[str, Any]) -> list[str]:
    """What must hold of the journal whatever the cache and the timing (issue 12).

    One ``OrderCreated`` per order stream and one ``OrderFilled`` per trade id; the whole
    journal re-folded with a tracker capacity of 1 and of the default gives the live positions
    and the same orders.
    """
    problems: list[str] = []
    created: Counter[str] = Counter()
    trades: Counter[str] = Counter()
    keyed: Counter[str] = Counter()
    folder = archive_dir()
    async for recorded in history(manager.store, folder):
        if recorded.type == "OrderCreated":
            created[recorded.stream_id] += 1
        elif recorded.type == "OrderFilled":
            trades[str(recorded.data["trade_id"])] += 1
        elif recorded.type in ("OutsideFill", "FundingPaid", "LedgerUpdated"):
            keyed[str(recorded.data["key"])] += 1
    problems += [f"{s}: {n} OrderCreated" for s, n in created.items() if n != 1]
    problems += [f"trade {t}: journaled {n} times" for t, n in trades.items() if n != 1]
    problems += [f"account event {k}: journaled {n} times" for k, n in keyed.items() if n != 1]
    live = {pair: pos.net_size for pair, pos in manager.positions.as_dict().items()}
    for capacity in (1, 50_000):
        state: Any = (
            await fold_history(manager.store, folder, capacity) if folder else
            await load_state(manager.store, use_checkpoint=False, completed_capacity=capacity))
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


async def _mids(connector: Any) -> dict[str, Decimal]:
    if isinstance(connector, HyperliquidConnector):
        raw = await connector.rest.info({"type": "allMids"})
        return {k: Decimal(v) for k, v in raw.items() if k in PAIRS}
    await connector.refresh_markets()
    return {p: connector.markets.get(p).oracle_price for p in DYDX_PAIRS}


# Order kinds the exchange or this engine may refuse for reasons of the moment (mark moved,
# no position, a switch refused): the refusal itself is what the torture wants journaled.
_REFUSED = (ValueError, ConnectionError, TimeoutError)


async def order_kind(manager: OrderManager, rng: random.Random, pair: str, mid: Decimal) -> None:
    """One random stop / take-profit, bracket, market order or leverage change (issue 15)."""
    rule = manager.connector.trading_rule(pair)
    size = PAIRS[pair] * rng.randint(5, 20)
    side = TradeSide.BUY if rng.random() < 0.5 else TradeSide.SELL
    up = 1 if side is TradeSide.BUY else -1
    kind = rng.random()
    with contextlib.suppress(*_REFUSED):
        if kind < 0.35:  # a bracket: entry resting or crossing, legs 1-2 % away
            entry = rule.quantize_price(mid * (1 + up * Decimal(str(rng.uniform(-0.003, 0.002)))))
            tp = rule.quantize_price(entry * (1 + up * Decimal("0.015")))
            sl = rule.quantize_price(entry * (1 - up * Decimal("0.02")))
            sl_limit = rule.quantize_price(sl * (1 - up * Decimal("0.05")))
            manager.bracket(side, pair, size, price=entry, take_profit=Leg(tp),
                            stop_loss=Leg(sl, price=sl_limit))
        elif kind < 0.6:  # a stop or take-profit on the position, when there is one
            position = manager.positions.get(pair)
            net = position.net_size if position is not None else Decimal(0)
            if net != 0:
                exit_side = TradeSide.SELL if net > 0 else TradeSide.BUY
                down = 1 if net > 0 else -1  # a long's stop is below, its take-profit above
                stop = rng.random() < 0.5
                order_type = OrderType.STOP_MARKET if stop else OrderType.TAKE_PROFIT_MARKET
                away = Decimal(str(rng.uniform(0.003, 0.012)))
                trigger = mid * (1 - down * away) if stop else mid * (1 + down * away)
                await manager.trigger_order(exit_side, pair, abs(net), order_type,
                                            trigger_price=rule.quantize_price(trigger))
        elif kind < 0.85:  # a market order (or a close)
            if rng.random() < 0.3:
                await manager.market_close(pair)
            else:
                await manager.market(side, pair, size)
        else:  # a leverage change (a margin-mode switch with a position is refused: journaled)
            margin = "cross" if rng.random() < 0.8 else "isolated"
            await manager.set_leverage(pair, rng.randint(1, 10), margin)


async def trade(manager: OrderManager, connector: Any, seed: int) -> None:
    """Place and cancel orders (of every kind on Hyperliquid) at random until killed."""
    rng = random.Random(seed)
    mids: dict[str, Decimal] = {}
    pairs = PAIRS if isinstance(connector, HyperliquidConnector) else DYDX_PAIRS
    step = 0
    while True:
        if step % 20 == 0:
            mids = await _mids(connector)
        step += 1
        action = rng.random()
        active = list(manager.active_orders)
        if action < 0.12 and isinstance(connector, HyperliquidConnector):
            pair = rng.choice(list(PAIRS))
            if pair in mids:
                await order_kind(manager, rng, pair, mids[pair])
        elif action < 0.6 or not active:
            pair = rng.choice(list(pairs))
            mid = mids.get(pair)
            if mid is None:
                await asyncio.sleep(0.05)
                continue
            buy = rng.random() < 0.5
            # Some orders cross the spread (fill at once), most rest near it.
            offset = Decimal(str(rng.uniform(-0.004, 0.002)))
            price = mid * (1 - offset) if buy else mid * (1 + offset)
            size = pairs[pair] * rng.randint(5, 40)
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
    parser.add_argument("--exchange", choices=("hyperliquid", "dydx"), default="hyperliquid")
    parser.add_argument("--node", help="dYdX: the node's gRPC host:port")
    parser.add_argument("--ws", help="dYdX: the Indexer WebSocket URL")
    args = parser.parse_args()
    connector: Any
    if args.exchange == "dydx":
        from connectors.dydx import DydxConnector

        connector = DydxConnector(
            args.node, args.sim, args.ws, mnemonic=os.environ["DYDX_MNEMONIC"],
            client_id_file=args.nonce_file, block_time_s=0.1, request_timeout_s=2.0,
        )
    else:
        connector = HyperliquidConnector(
            args.sim, private_key=os.environ["HL_PRIVATE_KEY"], nonce_file=args.nonce_file,
            request_timeout_s=2.0,
        )
    # A small memory bound so that orders leave memory (and are read back) within a short run.
    config = EngineConfig(expires_after_s=1.5, deadline_grace_s=0.5, poll_interval_s=1.0,
                          completed_in_memory=args.completed_in_memory,
                          account=AccountConfig(reconcile_interval_s=1.0, settle_s=0.1))
    if os.environ.get(SEAL_ENV):  # issue 20: seal often, start from the newest seal
        config = dataclasses.replace(
            config, seal_key=Eip191SealKey(os.environ[SEAL_ENV]), snapshot_every=40,
            verify_on_start="since_seal",
        )
    folder = archive_dir()
    if folder is not None:  # the parent archives between rounds: read old orders back from it
        config = dataclasses.replace(config, archive_dir=str(folder))
    url = args.db if "://" in args.db else f"sqlite+aiosqlite:///{args.db}"
    manager = await OrderManager.open(url, connector, config=config)
    # Recovery's own follow-ups (a cancel journaled before the ack, sent once it came) may still
    # be on the wire when open() returns: the dump compares folds taken at one moment, so wait.
    with contextlib.suppress(TimeoutError):
        await manager.settled(timeout_s=30)
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
