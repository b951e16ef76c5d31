"""What ``oms replay --check`` compares: a fresh fold from zero against the stored projections.

The SQL read models (orders, fills, positions and the account at their checkpoint) and the
snapshot (tracker, positions, account) were
each written incrementally by other code paths; a replay from position 1 must reproduce them
exactly at the position they reflect. Any difference is a bug or an edited database.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import sqlalchemy as sa

from eventstore import EventStore
from oms.domain import InFlightOrder
from oms.domain.account import AccountState
from projections import Projector
from projections.account_codec import account_to_json
from projections.account_read_model import account_row, position_rows
from projections.record_codec import record_from_json
from projections.schema import account, account_positions, fills, orders, positions


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
        account_rows = [row._asdict() for row in await conn.execute(sa.select(account))]
        account_position_rows = [row._asdict() for row in
                                 await conn.execute(sa.select(account_positions))]
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
    problems += account_differences(replayed.account, account_rows, account_position_rows, where)
    return problems


def _row_diff(what: str, expected: dict[str, object], stored: dict[str, object]) -> list[str]:
    """Columns of one stored row that differ from the replay's (``updated_position`` aside: it
    is when the row was last written, not a value of the account)."""
    problems = []
    for column in sorted(set(expected) - {"updated_position", "body"}):
        if str(stored.get(column)) != str(expected[column]):
            said = f"{what} {column} {stored.get(column)} vs replay {expected[column]}"
            problems.append(said.strip())
    if "body" in expected and orjson.loads(str(stored["body"])) != orjson.loads(
            str(expected["body"])):
        problems.append(f"{what}: the stored account body differs from the replay's fold")
    return problems


def account_differences(
    replayed: AccountState,
    stored: list[dict[str, object]],
    stored_positions: list[dict[str, object]],
    where: str,
) -> list[str]:
    """Differences between the replay's account and the ``proj_account*`` tables.

    One engine trades one exchange account per journal, so the replay folds one account; the
    tables hold it under its stream ``account-<venue>-<address>``. A journal whose tables name
    several accounts cannot be compared with one fold: that is reported as a difference, as
    is an account the replay has and the tables lack.

    >>> account_differences(AccountState(), [], [], "here")
    []
    >>> account_differences(AccountState(cash=Decimal("5")), [], [], "here")
    ['here: the account read model is missing (the replay has an account)']
    """
    if not stored:
        if replayed == AccountState():
            return []
        return [f"{where}: the account read model is missing (the replay has an account)"]
    if len(stored) > 1:
        names = ", ".join(sorted(str(r["stream"]) for r in stored))
        return [f"{where}: the account read model holds {len(stored)} accounts ({names}); "
                "one journal belongs to one account"]
    row = stored[0]
    stream = str(row["stream"])
    problems = [f"{where}: account {stream}: {p}"
                for p in _row_diff("", account_row(stream, replayed, 0), row)]
    expected = {str(r["pair"]): r for r in position_rows(stream, replayed, 0)}
    held = {str(r["pair"]): r for r in stored_positions}
    for pair in sorted(set(expected) | set(held)):
        if pair not in expected or pair not in held:
            problems.append(f"{where}: account position {pair} only in "
                            f"{'the table' if pair not in expected else 'the replay'}")
            continue
        problems += [f"{where}: {p}" for p in
                     _row_diff(f"account position {pair}", expected[pair], held[pair])]
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
    if snapshot.account != replayed.account:
        saved, folded = account_to_json(snapshot.account), account_to_json(replayed.account)
        keys = sorted(k for k in set(saved) | set(folded) if saved.get(k) != folded.get(k))
        problems.append(f"{where}: the account differs from the replay's "
                        f"({', '.join(keys) or 'unserialised fields'})")
    return problems
