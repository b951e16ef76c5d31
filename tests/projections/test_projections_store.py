"""Projections against the real store: upcasting a raw v1 row, bad input, read models, as-of."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
import sqlalchemy as sa
from journal_harness import Harness, new_event, order_created

from eventstore import EventStore, NewEvent
from eventstore.codec import chain_hash
from oms.domain import (
    ClientOrderId,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderState,
    TradeSide,
    UnknownEventType,
    UnsupportedEventVersion,
    encode,
    order_stream,
)
from projections import (
    ReadModelProjection,
    load_state,
    order_as_of,
    orders_as_of,
    save_snapshot,
)
from projections.schema import checkpoints, fills, positions, snapshots


def fill(cid: str, trade: str, amount: str, price: str = "3000") -> OrderFilled:
    return OrderFilled(
        ClientOrderId(cid), trade, Decimal(price), Decimal(amount), Decimal("0.02"), "USDC",
        False, 9, "E1",
    )


async def insert_raw_row(
    store: EventStore,
    stream: str,
    version: int,
    type_: str,
    event_version: int,
    data: dict[str, object],
) -> None:
    """Write one row straight into ``events``, chained correctly, as old code would have."""
    head, prev = await store.head()
    position, event_id, now_us = head + 1, str(uuid.uuid4()), 1_600_000_000_000_000
    body, meta = orjson.dumps(data, option=orjson.OPT_SORT_KEYS), b"{}"
    digest = chain_hash(prev, position, stream, version, type_, event_version, event_id,
                        now_us, body, meta)
    async with store.engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO events (position, stream_id, version, type, event_version, event_id,"
                " data, metadata, recorded_at_us, hash) VALUES (:p, :s, :v, :t, :ev, :id, :d, :m,"
                " :at, :h)"
            ),
            {"p": position, "s": stream, "v": version, "t": type_, "ev": event_version,
             "id": event_id, "d": body, "m": meta, "at": now_us, "h": digest},
        )


async def test_v1_rows_are_upcast_on_read(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        cid = ClientOrderId.new()
        stream = order_stream(cid)
        _, created, _ = encode(order_created(cid, "2"))
        v1_created = {k: v for k, v in created.items() if k not in ("venue", "account")}
        await insert_raw_row(store, stream, 0, "OrderCreated", 1, v1_created)
        _, filled, _ = encode(fill(cid, "T1", "0.5"))
        v1_fill = {k: v for k, v in filled.items() if k not in ("fee_asset", "exchange_order_id")}
        await insert_raw_row(store, stream, 1, "OrderFilled", 1, v1_fill)
        assert (await store.verify()).ok  # the rows are genuine members of the chain
        state = await load_state(store)
        order = state.tracker.get(cid)
        assert order is not None
        assert (order.venue, order.account) == ("hyperliquid", "main")
        assert order.fees == {"USDC": Decimal("0.02")}
        assert order.state is OrderState.PARTIALLY_FILLED
        assert order.exchange_order_id is None
        assert (await order_as_of(store, cid)) == order


async def test_unknown_type_or_newer_version_stops_replay(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        cid = ClientOrderId.new()
        await store.append(order_stream(cid), [new_event(order_created(cid))])
        await store.append(order_stream(cid), [NewEvent("OrderTeleported", {"to": "moon"})])
        with pytest.raises(UnknownEventType, match="OrderTeleported"):
            await load_state(store)
    async with await EventStore.open(sqlite_url.replace("oms.db", "b.db")) as store:
        cid = ClientOrderId.new()
        t, d, _ = encode(OrderCanceled(cid, "x", 1))
        await store.append(order_stream(cid), [new_event(order_created(cid))])
        await store.append(order_stream(cid), [NewEvent(t, d, version=99)])
        with pytest.raises(UnsupportedEventVersion, match="'OrderCanceled' has schema version 99"):
            await load_state(store)


async def test_orphan_stream_is_noted_and_projection_goes_on(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        stray, good = ClientOrderId.new(), ClientOrderId.new()
        await store.append(order_stream(stray), [new_event(OrderAccepted(stray, "E9", 1))])
        await store.append(order_stream(good), [new_event(order_created(good))])
        await store.append("engine-heartbeat", [NewEvent("Heartbeat", {})])
        state = await load_state(store)
        assert [n.kind for n in state.tracker.notes] == ["orphan_stream"]
        assert state.tracker.notes[0].client_order_id == stray
        assert good in state.tracker and stray not in state.tracker
        assert state.projector.foreign_events == 1 and state.last_position == 3


async def story(store: EventStore) -> tuple[Harness, ClientOrderId, ClientOrderId]:
    h = Harness(store)
    a, b = ClientOrderId.new(), ClientOrderId.new()
    await h.submit(order_created(a, "1"))
    await h.submit(order_created(b, "2", TradeSide.SELL))
    await h.submit(OrderAccepted(a, "E1", 1))
    await h.submit(fill(a, "T1", "0.4", "3000"))
    await h.submit(fill(b, "T2", "0.5", "3100"))
    await h.submit(fill(a, "T1", "0.4", "3000"))  # duplicate: nothing appended
    await h.submit(fill(a, "T3", "0.6", "3010"))
    await h.submit(OrderCanceled(b, "user", 2))
    return h, a, b


async def test_read_models_exactly_once_with_competing_runners(store_url: str) -> None:
    async with await EventStore.open(store_url) as store:
        h, _, _ = await story(store)
        runners = [ReadModelProjection(store, batch_size=2) for _ in range(3)]
        await asyncio.gather(*(r.catch_up() for r in runners))
        async with store.engine.connect() as conn:
            trades = sorted(r.trade_id for r in await conn.execute(sa.select(fills)))
            eth = (await conn.execute(sa.select(positions))).one()
            cp = await conn.scalar(sa.select(checkpoints.c.position))
        assert trades == ["T1", "T2", "T3"]
        assert cp == h.projector.last_position
        assert Decimal(eth.net_size) == Decimal("0.5")  # +1 buy, -0.5 sell
        assert eth.fill_count == 3
        # a rebuild from zero lands on the same rows
        assert await runners[0].rebuild() == h.projector.last_position
        async with store.engine.connect() as conn:
            again = sorted(r.trade_id for r in await conn.execute(sa.select(fills)))
        assert again == trades


async def test_as_of_position_and_time(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        _, a, b = await story(store)
        events = [e async for e in store.read_all()]
        accepted_at = next(e for e in events if e.type == "OrderAccepted")
        early = await order_as_of(store, a, position=accepted_at.position)
        assert early is not None and early.state is OrderState.OPEN and not early.executed_base
        assert await order_as_of(store, a, position=0) is None
        now = await orders_as_of(store)
        assert now[a].state is OrderState.FILLED and now[b].state is OrderState.CANCELED
        before_all = datetime.fromtimestamp(events[0].recorded_at_us / 1e6 - 1, UTC)
        assert await orders_as_of(store, time=before_all) == {}
        assert (await orders_as_of(store, time=datetime.now(UTC))) == now
        with pytest.raises(ValueError, match="timezone-aware"):
            await order_as_of(store, a, time=datetime(2024, 1, 1))


async def test_snapshot_then_tail(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        h, _, _ = await story(store)
        await save_snapshot(store, h.projector)
        c = ClientOrderId.new()
        await h.submit(order_created(c, "3"))
        state = await load_state(store)
        assert state.from_snapshot and state.events_replayed == 1
        assert state.tracker.get(c) == h.projector.tracker.get(c)
        assert state.positions.as_dict() == h.projector.positions.as_dict()
        # a snapshot from code with other event versions is ignored, never trusted
        async with store.engine.begin() as conn:
            await conn.execute(sa.update(snapshots).values(format="tracker-0;old"))
        cold = await load_state(store)
        assert not cold.from_snapshot and cold.events_replayed == cold.last_position
