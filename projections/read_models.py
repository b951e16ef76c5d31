"""SQL read models (orders, fills, positions, the account), exactly once via a checkpoint in
one transaction.

Each batch of events is folded and written together with the new checkpoint in one transaction;
before writing, the checkpoint is read again inside that transaction, so a batch another runner
(or an earlier, crashed attempt) already wrote is never applied twice.

>>> async def keep_up(store) -> None:  # doctest: +SKIP
...     runner = ReadModelProjection(store)
...     await runner.catch_up()          # or: await runner.run(stop_event)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from decimal import Decimal
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from eventstore import EventStore
from oms.domain.account_events import ACCOUNT_STREAM_PREFIX, AccountEvent
from oms.domain.codec import decode, decode_account
from oms.domain.events import OrderCreated, OrderEvent, OrderFilled
from oms.domain.ids import ORDER_STREAM_PREFIX
from oms.domain.order import InFlightOrder, OrderRecord
from oms.domain.transitions import Effect, classify
from projections.account_read_model import AccountBatch
from projections.positions import Position
from projections.record_codec import record_from_json, record_to_json
from projections.schema import account, account_positions, checkpoints, fills, orders, positions

READ_MODELS = "read_models"
_Item = OrderEvent | tuple[str, AccountEvent]  # an order's event, or (account stream, event)
_CHUNK = 400  # keys per IN (...) list, well under SQLite's parameter limit


def _now_us() -> int:
    return time.time_ns() // 1000


def _chunks(keys: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(keys), _CHUNK):
        yield keys[i : i + _CHUNK]


def _order_row(record: OrderRecord, position: int) -> dict[str, Any]:
    return {
        "client_order_id": str(record.client_order_id),
        "venue": record.venue,
        "account": record.account,
        "pair": record.pair,
        "side": record.side.value,
        "order_type": record.order_type.value,
        "state": record.state.value,
        "amount": str(record.amount),
        "price": None if record.price is None else str(record.price),
        "executed_base": str(record.executed_base),
        "executed_quote": str(record.executed_quote),
        "exchange_order_id": record.exchange_order_id,
        "unknown": record.unknown,
        "anomalies": record.anomalies,
        "created_at_ns": record.created_at_ns,
        "updated_position": position,
        "record": orjson.dumps(record_to_json(record)).decode(),
    }


def _position_row(p: Position, position: int) -> dict[str, Any]:
    return {
        "pair": p.pair,
        "net_size": str(p.net_size),
        "average_entry": str(p.average_entry),
        "realized_pnl": str(p.realized_pnl),
        "volume": str(p.volume),
        "fill_count": p.fill_count,
        "fees": orjson.dumps({k: str(v) for k, v in p.fees.items()}).decode(),
        "updated_position": position,
    }


def _position_from_row(row: Any) -> Position:
    return Position(
        pair=row.pair,
        net_size=Decimal(row.net_size),
        average_entry=Decimal(row.average_entry),
        realized_pnl=Decimal(row.realized_pnl),
        fees={k: Decimal(v) for k, v in orjson.loads(row.fees).items()},
        fill_count=row.fill_count,
        volume=Decimal(row.volume),
    )


class ReadModelProjection:
    """Keeps ``proj_orders``, ``proj_fills`` and ``proj_positions`` in step with the log."""

    def __init__(self, store: EventStore, name: str = READ_MODELS, batch_size: int = 2000) -> None:
        self.store = store
        self.name = name
        self.batch_size = batch_size

    async def checkpoint(self) -> int:
        """The last position the read models reflect (0: none)."""
        async with self.store.engine.connect() as conn:
            return await self._checkpoint(conn)

    async def _checkpoint(self, conn: AsyncConnection, lock: bool = False) -> int:
        query = sa.select(checkpoints.c.position).where(checkpoints.c.name == self.name)
        if lock:
            # PostgreSQL: competing runners queue on the row; SQLite's BEGIN IMMEDIATE already
            # serialises writers (and SQLAlchemy renders no FOR UPDATE there).
            query = query.with_for_update()
        value = await conn.scalar(query)
        return int(value or 0)

    async def _ensure_checkpoint_row(self) -> None:
        try:
            async with self.store.engine.begin() as conn:
                if await conn.scalar(
                    sa.select(checkpoints.c.position).where(checkpoints.c.name == self.name)
                ) is None:
                    await conn.execute(
                        sa.insert(checkpoints),
                        [{"name": self.name, "position": 0, "updated_at_us": _now_us()}],
                    )
        except sa.exc.IntegrityError:
            pass  # another runner created it first: exactly what we wanted

    async def catch_up(self, to_position: int | None = None) -> int:
        """Apply every event after the checkpoint (up to ``to_position``); returns how many."""
        total = 0
        await self._ensure_checkpoint_row()
        while True:
            start = await self.checkpoint()
            stop = start + self.batch_size
            if to_position is not None:
                stop = min(stop, to_position)
            if stop <= start:
                return total
            batch = [e async for e in self.store.read_all(start + 1, stop)]
            if not batch:
                return total
            total += await self._write(start, [(e.position, e.stream_id, e) for e in batch])

    async def iter_orders(self, batch_size: int = 1000) -> AsyncIterator[InFlightOrder]:
        """Every order of the read model, by client order id, as of its checkpoint.

        Reads in keyset-paginated batches, so memory stays flat whatever the journal's size;
        call :meth:`catch_up` first for the state as of the journal's head.
        """
        after = ""
        while True:
            query = (
                sa.select(orders.c.client_order_id, orders.c.record)
                .where(orders.c.client_order_id > after)
                .order_by(orders.c.client_order_id)
                .limit(batch_size)
            )
            async with self.store.engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            for row in rows:
                yield record_from_json(orjson.loads(row[1])).freeze()
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    async def run(self, stop: asyncio.Event, poll_interval: float = 0.2) -> None:
        """Keep catching up until ``stop`` is set."""
        while not stop.is_set():
            if not await self.catch_up():
                with contextlib.suppress(TimeoutError):  # asyncio.timeout never eats a cancel
                    async with asyncio.timeout(poll_interval):
                        await stop.wait()

    async def rebuild(self) -> int:
        """Drop the read models' rows and checkpoint, then fold the whole log again."""
        async with self.store.engine.begin() as conn:
            for table in (orders, fills, positions, account, account_positions):
                await conn.execute(sa.delete(table))
            await conn.execute(
                sa.update(checkpoints)
                .where(checkpoints.c.name == self.name)
                .values(position=0, updated_at_us=_now_us())
            )
        return await self.catch_up()

    async def _write(self, start: int, batch: list[tuple[int, str, Any]]) -> int:
        decoded: list[tuple[int, _Item]] = []
        for position, stream, recorded in batch:
            if stream.startswith(ORDER_STREAM_PREFIX):
                event = decode(recorded.type, recorded.data, recorded.event_version)
                if event.client_order_id == stream[len(ORDER_STREAM_PREFIX) :]:
                    decoded.append((position, event))
            elif stream.startswith(ACCOUNT_STREAM_PREFIX):
                data, version = recorded.data, recorded.event_version
                decoded.append((position, (stream, decode_account(recorded.type, data, version))))
        last = batch[-1][0]
        async with self.store.engine.begin() as conn:
            if await self._checkpoint(conn, lock=True) != start:
                return 0  # someone else wrote this range: re-read the checkpoint and go on
            await self._fold(conn, decoded)
            await conn.execute(
                sa.update(checkpoints)
                .where(checkpoints.c.name == self.name)
                .values(position=last, updated_at_us=_now_us())
            )
        return len(batch)

    async def _fold(
        self, conn: AsyncConnection, decoded: list[tuple[int, _Item]]
    ) -> None:
        cids = sorted({str(e.client_order_id) for _, e in decoded if not isinstance(e, tuple)})
        records: dict[str, OrderRecord] = {}
        for chunk in _chunks(cids):
            rows = await conn.execute(
                sa.select(orders.c.client_order_id, orders.c.record).where(
                    orders.c.client_order_id.in_(chunk)
                )
            )
            for cid, body in rows:
                records[cid] = record_from_json(orjson.loads(body))
        book = {
            r.pair: _position_from_row(r) for r in await conn.execute(sa.select(positions))
        }
        touched: dict[str, int] = {}
        touched_pairs: dict[str, int] = {}
        fill_rows: list[dict[str, Any]] = []
        accounts = AccountBatch()
        for position, item in decoded:
            if isinstance(item, tuple):
                await accounts.event(conn, item[0], item[1], position)
                continue
            event = item
            cid = str(event.client_order_id)
            record = records.get(cid)
            if classify(record, event).effect is not Effect.APPLY:
                continue
            if record is None:
                if not isinstance(event, OrderCreated):
                    continue
                record = records[cid] = OrderRecord.created(event)
            else:
                record.apply(event)
            touched[cid] = position
            if isinstance(event, OrderFilled):
                pos = book.get(record.pair) or book.setdefault(record.pair, Position(record.pair))
                pos.apply(record.side.sign, event.amount, event.price, event.fee, event.fee_asset)
                touched_pairs[record.pair] = position
                await accounts.own_fill(conn, record, event, position)
                fill_rows.append(
                    {
                        "venue": record.venue,
                        "account": record.account,
                        "trade_id": event.trade_id,
                        "client_order_id": cid,
                        "pair": record.pair,
                        "side": record.side.value,
                        "price": str(event.price),
                        "amount": str(event.amount),
                        "fee": str(event.fee),
                        "fee_asset": event.fee_asset,
                        "is_maker": event.is_maker,
                        "exchange_time_ms": event.exchange_time_ms,
                        "position": position,
                    }
                )
        keys = sorted(touched)
        for chunk in _chunks(keys):
            await conn.execute(sa.delete(orders).where(orders.c.client_order_id.in_(chunk)))
        if keys:
            await conn.execute(
                sa.insert(orders), [_order_row(records[k], touched[k]) for k in keys]
            )
        if fill_rows:
            await conn.execute(sa.insert(fills), fill_rows)
        pairs = sorted(touched_pairs)
        if pairs:
            await conn.execute(sa.delete(positions).where(positions.c.pair.in_(pairs)))
            await conn.execute(
                sa.insert(positions), [_position_row(book[p], touched_pairs[p]) for p in pairs]
            )
        await accounts.write(conn)
