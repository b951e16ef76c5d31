"""``read_all_raw`` returns what ``read_all`` returns, and ``replay`` over it equals the live fold.

On both backends: the same rows in the same order for any range and batch size, early stops
that leave the store usable, the same argument checks, and a whole journal (with a foreign
stream and an old-version row) replayed fast equal to ``Projector.apply`` of every event.
"""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest
from journal_harness import Harness, order_created
from test_projections_store import insert_raw_row

from eventstore import EventStore, NewEvent, StoreClosed, read_all_raw
from oms.domain import (
    ClientOrderId,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    TradeSide,
    encode,
    order_stream,
)
from projections import Projector, load_state, replay


async def journal(store: EventStore) -> None:
    h = Harness(store)
    cids = [ClientOrderId.new() for _ in range(6)]
    for i, cid in enumerate(cids):
        await h.submit(order_created(cid, "1", TradeSide.BUY if i % 2 else TradeSide.SELL))
        await h.submit(OrderAccepted(cid, f"E{i}", 1))
        fill = OrderFilled(cid, f"T{i}", Decimal("3000"), Decimal("0.5"), Decimal("0.01"),
                           "USDC", True, 9, f"E{i}")
        await h.submit(fill)
        if i % 3 == 0:
            await h.submit(OrderCanceled(cid, "user", 2))
    await store.append("audit-1", [NewEvent("Note", {"text": "not an order"})])
    old = ClientOrderId.new()
    _, created, _ = encode(order_created(old, "2"))
    v1 = {k: v for k, v in created.items() if k not in ("venue", "account")}
    await insert_raw_row(store, order_stream(old), 0, "OrderCreated", 1, v1)


def state(p: Projector) -> tuple[object, ...]:
    t = p.tracker
    return (
        [r.freeze() for r in t.records()], t.lost(), list(t.notes), t.last_position,
        p.events_applied, p.foreign_events, {x.pair: x for x in p.positions},
    )


async def test_raw_rows_are_read_all_rows(store_url: str) -> None:
    async with await EventStore.open(store_url) as store:
        await journal(store)
        full = [
            (e.position, e.stream_id, e.type, e.event_version, e.raw_data)
            async for e in store.read_all()
        ]
        for start, stop, batch in [(1, None, 7), (0, None, 1000), (5, 17, 4), (9, 9, 1)]:
            got = [
                (p, s, t, v, bytes(d))
                async for rows in read_all_raw(store, start, stop, batch_size=batch)
                for p, s, t, v, d in rows
            ]
            want = [r for r in full if r[0] >= start and (stop is None or r[0] <= stop)]
            assert got == want
        async for rows in read_all_raw(store, 1, batch_size=3):
            assert len(rows) == 3
            break  # an early stop releases the reader; the store keeps working
        assert (await store.head())[0] == len(full)
        assert orjson.loads(full[0][4])["client_order_id"]


async def test_raw_read_checks_its_arguments(sqlite_url: str) -> None:
    store = await EventStore.open(sqlite_url)
    for kwargs in ({"from_position": -1}, {"to_position": -2}, {"batch_size": 0}):
        with pytest.raises(ValueError):
            read_all_raw(store, **kwargs)  # type: ignore[arg-type]
    await store.close()
    with pytest.raises(StoreClosed):
        read_all_raw(store)


async def test_fast_replay_equals_the_live_fold(store_url: str) -> None:
    async with await EventStore.open(store_url) as store:
        await journal(store)
        live = Projector()
        async for recorded in store.read_all():
            live.apply(recorded)
        loaded = await load_state(store, use_checkpoint=False)
        assert state(loaded.projector) == state(live)
        # in two legs, as a catch-up from a checkpoint does
        partial = Projector()
        await replay(store, partial, to_position=11)
        assert partial.last_position == 11
        assert await replay(store, partial) == live.last_position - 11
        assert state(partial) == state(live)
