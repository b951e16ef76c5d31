"""What ``oms replay --check`` compares: a fresh fold from zero against the stored projections.

The SQL read models (orders, fills, positions at their checkpoint) and the tracker snapshot were
each written incrementally by other code paths; a replay from position 1 must reproduce them
exactly at the position they reflect. Any difference is a bug or an edited database.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import sqlalchemy as sa

from eventstore import EventStore
from oms.domain import InFlightOrder
from projections import Projector
from projections.record_codec import record_from_json
from projections.schema import fills, orders, positions


def _order_diff(cid: str, ours: InFlightOrder | None, theirs: InFlightOrder | None,
                where: str) -> str | None:
    if ours == theirs:
        return None
    if ours is None:
        return f"{where}: order {cid} is not in the replay"
    if theirs is None:
        return f"{where}: order {cid} is missing"
    fields = [f for f in ("state", "executed_base", "executed_quote", "amount", "price",
                          "exchange_order_id", "trade_ids", "fees", "unknown", "anomalies")
              if getattr(ours, f) != getattr(theirs, f)]
    shown = ", ".join(f"{f} {getattr(theirs, f)!s} vs replay {getattr(ours, f)!s}"
                      for f in fields[:2]) or "other fields differ"
    return f"{where}: order {cid}: {shown}"


async def check_read_models(store: EventStore, replayed: Projector) -> list[str]:
    """Differences between ``replayed`` (folded to the read models' checkpoint) and the tables."""
    where = f"read models @ {replayed.last_position}"
    problems: list[str] = []
    ours = {r.client_order_id: r.freeze() for r in replayed.tracker.records()}
    async with store.engine.connect() as conn:
        stored = {
            cid: record_from_json(orjson.loads(body)).freeze()
            for cid, body in await conn.execute(sa.select(orders.c.client_order_id,
                                                          orders.c.record))
        }
        fill_keys = {(cid, tid) for cid, tid in await conn.execute(
            sa.select(fills.c.client_order_id, fills.c.trade_id))}
        stored_positions = {row.pair: row for row in await conn.execute(sa.select(positions))}
    for cid in sorted(set(ours) | set(stored)):
        problem = _order_diff(cid, ours.get(cid), stored.get(cid), where)
        if problem:
            problems.append(problem)
    replay_fills = {(cid, tid) for cid, o in ours.items() for tid in o.trade_ids}
    if replay_fills != fill_keys:
        problems.append(f"{where}: fills table has {len(fill_keys)} fills, replay "
                        f"{len(replay_fills)} ({len(fill_keys ^ replay_fills)} differ)")
    book = replayed.positions.as_dict()
    for pair in sorted(set(book) | set(stored_positions)):
        mine, row = book.get(pair), stored_positions.get(pair)
        if mine is None or row is None:
            problems.append(f"{where}: position {pair} only in "
                            f"{'the table' if mine is None else 'the replay'}")
            continue
        values = {"net_size": mine.net_size, "average_entry": mine.average_entry,
                  "realized_pnl": mine.realized_pnl, "volume": mine.volume}
        for name, value in values.items():
            if Decimal(getattr(row, name)) != value:
                problems.append(f"{where}: position {pair} {name} {getattr(row, name)} "
                                f"vs replay {value}")
        if row.fill_count != mine.fill_count:
            problems.append(f"{where}: position {pair} fill_count {row.fill_count} "
                            f"vs replay {mine.fill_count}")
    return problems


def check_snapshot(snapshot: Projector, replayed: Projector) -> list[str]:
    """Differences between a loaded snapshot and ``replayed`` folded to the same position.

    A snapshot may have dropped old completed orders (bounded memory): every order it holds
    must equal the replay's, and every active order of the replay must be in it.
    """
    where = f"snapshot @ {snapshot.last_position}"
    problems: list[str] = []
    ours = {r.client_order_id: r.freeze() for r in replayed.tracker.records()}
    held = {r.client_order_id: r.freeze() for r in snapshot.tracker.records()}
    for cid, order in held.items():
        problem = _order_diff(cid, ours.get(cid), order, where)
        if problem:
            problems.append(problem)
    for order in replayed.tracker.active():
        if order.client_order_id not in held:
            problems.append(f"{where}: active order {order.client_order_id} is missing")
    mine = {p.pair: p for p in replayed.positions}
    theirs = {p.pair: p for p in snapshot.positions}
    if mine != theirs:
        differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
        problems.append(f"{where}: positions of {', '.join(differ)} differ")
    return problems
