"""Replay benchmark: rebuild the order tracker from a SQLite journal, against ``eventsourcing``.

Builds a journal of about 1,000,000 order events (``--short``: about 50,000) with a realistic mix
(fills, partial fills then cancels, plain cancels, rejects, still-open orders) through the real
``EventStore``, then measures in one run:

- rebuild from zero (read + decode + fold, ``load_state(use_checkpoint=False)``);
- catch-up from a snapshot taken at 90% of the log (``load_state`` with the snapshot);
- memory per active order held by the tracker (tracemalloc);
- the ``eventsourcing`` library reconstructing the same aggregates from its own SQLite store;

and prints one JSON object with every figure and the ratios.

    python benchmarks/replay_bench.py [--short] [--events N]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import tempfile
import time
import tracemalloc
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from eventstore import NO_STREAM, EventStore, NewEvent
from oms.domain import (
    CancelRequested,
    ClientOrderId,
    OrderAccepted,
    OrderCanceled,
    OrderCreated,
    OrderEvent,
    OrderFilled,
    OrderRejected,
    OrderSubmitted,
    OrderType,
    PositionAction,
    TimeInForce,
    TradeSide,
    decode,
    encode,
    order_stream,
)
from projections import Projector, load_state, replay, save_snapshot
from projections.row_fold import RowFolder

PAIRS = ["BTC", "ETH", "SOL", "HYPE", "ARB"]


def order_life(rng: random.Random, cid: ClientOrderId, trade_seq: list[int]) -> list[OrderEvent]:
    """One order's events, drawn from a realistic mix."""
    amount = Decimal(rng.choice(["0.01", "0.1", "0.5", "1", "2.5"]))
    price = Decimal(rng.randint(1000, 99000)) / 10
    side = rng.choice([TradeSide.BUY, TradeSide.SELL])
    evs: list[OrderEvent] = [
        OrderCreated(cid, rng.choice(PAIRS), side, OrderType.LIMIT, amount, price,
                     TimeInForce.GTC, False, PositionAction.OPEN, None, 1, "hyperliquid", "main"),
        OrderSubmitted(cid, 1, 1_700_000_060_000, 2),
    ]
    roll = rng.random()
    if roll < 0.06:
        return [*evs, OrderRejected(cid, "insufficient margin", "exchange", 3)]
    eoid = str(rng.randint(10**9, 10**10))
    evs.append(OrderAccepted(cid, eoid, 3))

    def fill(qty: Decimal) -> OrderFilled:
        trade_seq[0] += 1
        return OrderFilled(cid, f"t{trade_seq[0]}", price, qty, qty * price * Decimal("0.00035"),
                           "USDC", rng.random() < 0.6, 1_700_000_000_000 + trade_seq[0], eoid)

    if roll < 0.50:  # filled in 1..4 pieces
        n = rng.randint(1, 4)
        piece = amount / n
        parts = [piece] * (n - 1) + [amount - piece * (n - 1)]
        return evs + [fill(q) for q in parts]
    if roll < 0.75:  # partial fill(s), then canceled
        evs += [fill(amount / 4), fill(amount / 4)]
        return [*evs, CancelRequested(cid, 1, 1_700_000_090_000, 4), OrderCanceled(cid, "user", 5)]
    if roll < 0.90:  # canceled untouched
        return [*evs, CancelRequested(cid, 1, 1_700_000_090_000, 4), OrderCanceled(cid, "user", 5)]
    if roll < 0.95:  # still open with a partial fill
        return [*evs, fill(amount / 2)]
    return evs  # still open


def make_orders(target_events: int, seed: int = 7) -> list[list[OrderEvent]]:
    rng = random.Random(seed)
    trade_seq = [0]
    orders: list[list[OrderEvent]] = []
    total = 0
    base_ns = 1_700_000_000_000_000_000
    while total < target_events:
        cid = ClientOrderId.new(now_ns=base_ns + len(orders) * 1_000_000)
        life = order_life(rng, cid, trade_seq)
        orders.append(life)
        total += len(life)
    return orders


def new_events(events: list[OrderEvent]) -> list[NewEvent]:
    out = []
    for e in events:
        t, d, v = encode(e)
        out.append(NewEvent(t, d, version=v))
    return out


async def build_journal(url: str, orders: list[list[OrderEvent]]) -> float:
    began = time.perf_counter()
    async with await EventStore.open(url) as store:
        for i in range(0, len(orders), 2000):
            chunk = orders[i : i + 2000]
            await asyncio.gather(*(
                store.append(order_stream(life[0].client_order_id), new_events(life), NO_STREAM)
                for life in chunk
            ))
    return time.perf_counter() - began


class EsOrder(Aggregate):
    """The same order, as an ``eventsourcing`` aggregate (fields folded like our tracker's)."""

    @event("Created")
    def __init__(self, pair: str, side: str, amount: Decimal, price: Decimal) -> None:
        self.pair, self.side, self.amount, self.price = pair, side, amount, price
        self.state = "pending_create"
        self.executed_base = Decimal(0)
        self.executed_quote = Decimal(0)
        self.trade_ids: set[str] = set()
        self.exchange_order_id: str | None = None

    @event("Submitted")
    def submitted(self, attempt: int, expires_after_ms: int) -> None:
        self.attempt = attempt

    @event("Accepted")
    def accepted(self, exchange_order_id: str) -> None:
        self.exchange_order_id, self.state = exchange_order_id, "open"

    @event("Rejected")
    def rejected(self, reason: str) -> None:
        self.state = "failed"

    @event("Filled")
    def filled(self, trade_id: str, price: Decimal, amount: Decimal, fee: Decimal) -> None:
        if trade_id in self.trade_ids:
            return
        self.trade_ids.add(trade_id)
        self.executed_base += amount
        self.executed_quote += amount * price
        self.state = "filled" if self.executed_base == self.amount else "partially_filled"

    @event("CancelRequested")
    def cancel_requested(self, attempt: int) -> None:
        self.state = "pending_cancel"

    @event("Canceled")
    def canceled(self, reason: str) -> None:
        self.state = "canceled"


def es_build(app: Application, orders: list[list[OrderEvent]]) -> tuple[list[uuid.UUID], float]:
    began = time.perf_counter()
    ids: list[uuid.UUID] = []
    batch: list[EsOrder] = []
    for life in orders:
        c = life[0]
        assert isinstance(c, OrderCreated)
        agg = EsOrder(c.pair, c.side.value, c.amount, c.price or Decimal(0))
        for e in life[1:]:
            if isinstance(e, OrderSubmitted):
                agg.submitted(e.attempt, e.expires_after_ms)
            elif isinstance(e, OrderAccepted):
                agg.accepted(e.exchange_order_id)
            elif isinstance(e, OrderRejected):
                agg.rejected(e.reason)
            elif isinstance(e, OrderFilled):
                agg.filled(e.trade_id, e.price, e.amount, e.fee)
            elif isinstance(e, CancelRequested):
                agg.cancel_requested(e.attempt)
            elif isinstance(e, OrderCanceled):
                agg.canceled(e.reason)
        ids.append(agg.id)
        batch.append(agg)
        if len(batch) >= 500:
            app.save(*batch)
            batch = []
    if batch:
        app.save(*batch)
    return ids, time.perf_counter() - began


def es_rebuild(app: Application, ids: list[uuid.UUID]) -> tuple[float, int]:
    began = time.perf_counter()
    active = 0
    get = app.repository.get
    for agg_id in ids:
        agg = get(agg_id)
        if agg.state not in ("filled", "canceled", "failed"):
            active += 1
    return time.perf_counter() - began, active


def memory_per_active_order(count: int) -> float:
    """Bytes the tracker holds per active (accepted, unfilled) order, folded as a replay folds.

    The rows go through ``RowFolder`` (the rebuild path) and the same orders through the live
    ``apply_event`` path; the larger of the two figures is reported.
    """
    rows: list[tuple[int, str, str, int, bytes]] = []
    for i in range(count):
        cid = ClientOrderId.new(now_ns=1_800_000_000_000_000_000 + i * 1_000_000)
        created = OrderCreated(cid, "ETH", TradeSide.BUY, OrderType.LIMIT, Decimal("1.25"),
                               Decimal("3012.5"), TimeInForce.GTC, False, PositionAction.OPEN,
                               None, 1, "hyperliquid", "main")
        for ev in (created, OrderAccepted(cid, str(10**10 + i), 3)):
            type_, data, version = encode(ev)
            raw = json.dumps(data).encode()
            rows.append((len(rows) + 1, order_stream(cid), type_, version, raw))
    figures = []
    for fast in (True, False):
        projector = Projector()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        if fast:
            RowFolder(projector).fold(rows)
        else:
            for position, _, type_, version, raw in rows:
                projector.apply_event(decode(type_, json.loads(raw), version), position)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        assert projector.tracker.active_count == count
        figures.append((after - before) / count)
        del projector
    return max(figures)


async def ours(url: str, total: int) -> dict[str, Any]:
    async with await EventStore.open(url) as store:
        gc.collect()
        cold = await load_state(store, use_checkpoint=False)
        # snapshot at 90% of the log, then catch up from it
        partial = Projector()
        await replay(store, partial, to_position=int(total * 0.9))
        snap_began = time.perf_counter()
        await save_snapshot(store, partial)
        snap_save_s = time.perf_counter() - snap_began
        del partial
        gc.collect()
        warm = await load_state(store, use_checkpoint=True)
        assert warm.from_snapshot
        same = {r.client_order_id: r.freeze() for r in warm.tracker.records()[:2000]} == {
            r.client_order_id: r.freeze() for r in cold.tracker.records()[:2000]
        }
        return {
            "rebuild_seconds": round(cold.seconds, 3),
            "rebuild_events": cold.events_replayed,
            "rebuild_events_per_s": round(cold.events_replayed / cold.seconds),
            "active_orders": cold.tracker.active_count,
            "snapshot_save_seconds": round(snap_save_s, 3),
            "catch_up_seconds": round(warm.seconds, 3),
            "catch_up_events": warm.events_replayed,
            "catch_up_equals_rebuild_sample": same,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="~50k events (CI)")
    parser.add_argument("--events", type=int, default=None)
    args = parser.parse_args()
    target = args.events or (50_000 if args.short else 1_000_000)
    with tempfile.TemporaryDirectory(prefix="replay-bench-") as tmp:
        orders = make_orders(target)
        total = sum(len(o) for o in orders)
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'oms.db'}"
        build_s = asyncio.run(build_journal(url, orders))
        result = asyncio.run(ours(url, total))
        app = Application(env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": os.path.join(tmp, "es.db"),
            "IS_SNAPSHOTTING_ENABLED": "n",
        })
        ids, es_build_s = es_build(app, orders)
        del orders
        gc.collect()
        es_s, es_active = es_rebuild(app, ids)
        mem = memory_per_active_order(20_000 if not args.short else 5_000)
    out = {
        "benchmark": "replay",
        "mode": "short" if args.short else "full",
        "events": total,
        "orders": len(ids),
        "journal_build_seconds": round(build_s, 2),
        "ours": result,
        "eventsourcing": {
            "build_seconds": round(es_build_s, 2),
            "rebuild_seconds": round(es_s, 3),
            "rebuild_events_per_s": round(total / es_s),
            "active_orders": es_active,
        },
        "memory_bytes_per_active_order": round(mem),
        "ratios": {
            "rebuild_speedup_vs_eventsourcing": round(es_s / result["rebuild_seconds"], 2),
            "catch_up_speedup_vs_rebuild": round(
                result["rebuild_seconds"] / max(result["catch_up_seconds"], 1e-9), 2
            ),
        },
        "goals": {
            "rebuild_1m_seconds_max": 5.0,
            "speedup_vs_eventsourcing_min": 3.0,
            "memory_bytes_per_active_order_max": 1536,
        },
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
