"""Streams and anchors whose rows were archived (issue 20, found by the crash torture with
archives between rounds): a stream's version, an order read back, the engine lease and the
journal anchor keep working, on both backends."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import pytest

from eventstore import (
    NO_STREAM,
    Anchor,
    ArchivedRange,
    EventStore,
    NewEvent,
    archive_before,
    compare_anchor,
    make_seal,
    read_stream_history,
    write_seal,
)
from eventstore.migration import head_revision
from oms.domain import ClientOrderId, OrderState, encode
from oms.domain.enums import OrderType, PositionAction, TimeInForce, TradeSide
from oms.domain.events import OrderCreated, OrderRejected, OrderSubmitted
from oms.domain.ids import order_stream
from oms.engine.lease import LEASE_STREAM, EngineLease, last_claim
from oms.engine.seal_keys import Eip191SealKey
from projections import order_as_of

KEY = Eip191SealKey("0x" + "44" * 32)


async def _seal(store: EventStore, position: int) -> None:
    head_hash = await store.hash_at(position)
    assert head_hash is not None
    seal = make_seal(KEY, position=position, head_hash=head_hash, snapshot=b"{}",
                     schema_revision=head_revision(), sealed_at_us=time.time_ns() // 1000)
    async with store.engine.begin() as conn:
        await write_seal(conn, seal)


async def test_a_wholly_archived_stream_keeps_its_version_and_is_not_unborn(
    store_url: str, tmp_path: Path
) -> None:
    async with await EventStore.open(store_url) as store:
        first = await EngineLease(store, "hyperliquid", "a").claim()
        await store.append("order-7", [NewEvent("E", {"n": n}) for n in range(3)], NO_STREAM)
        await store.append("other", [NewEvent("E", {})], NO_STREAM)
        await _seal(store, 4)
        await store.append("other", [NewEvent("E", {})], 0)
        entry = await archive_before(store, tmp_path, before=5)
        assert entry.last_position == 4  # the lease claim and the whole order are archived
        assert await store.stream_version("order-7") == 2
        assert await store.stream_version(LEASE_STREAM) == first
        assert await store.stream_version("never") is None
        # Every event of the order is in the archive: refused with where to read from, not
        # reported as an order the journal never saw.
        with pytest.raises(ArchivedRange, match="archive"):
            await order_as_of(store, "7")
        assert await order_as_of(store, "8") is None
        # The next engine claims after the archived claim (its holder is in the archive).
        assert await last_claim(store) == (first, None)
        second = await EngineLease(store, "hyperliquid", "b").claim()
        assert second == first + 1
        version, holder = await last_claim(store)
        assert version == second and holder is not None and holder["account"] == "b"


async def test_an_anchor_below_the_archive_point_is_checked_against_the_archive(
    store_url: str, tmp_path: Path
) -> None:
    async with await EventStore.open(store_url) as store:
        await store.append("s", [NewEvent("E", {"n": n}) for n in range(6)], NO_STREAM)
        anchored = Anchor(3, await store.hash_at(3) or "")
        end = Anchor(4, await store.hash_at(4) or "")
        await _seal(store, 4)
        await archive_before(store, tmp_path, before=6)
        # An engine killed before its next anchor write, then an archive past that position:
        # the anchored row is pinned by the seal the archive ends at, not lost.
        assert await compare_anchor(store, anchored) is None
        assert await compare_anchor(store, end) is None
        problem = await compare_anchor(store, Anchor(4, "ab" * 32))
        assert problem is not None and "rewritten" in problem
        # A head behind the anchor is still lost events, archive or not.
        problem = await compare_anchor(store, Anchor(9, "ab" * 32))
        assert problem is not None and "events lost" in problem



async def test_an_archived_order_is_read_back_from_the_archive_files_when_given(
    store_url: str, tmp_path: Path
) -> None:
    cid = ClientOrderId.new()
    life = [
        OrderCreated(cid, "ETH", TradeSide.BUY, OrderType.LIMIT, Decimal("1"), Decimal("2000"),
                     TimeInForce.GTC, False, PositionAction.OPEN, None, 1, "hyperliquid", "main"),
        OrderSubmitted(cid, 1, 1_700_000_060_000, 2),
        OrderRejected(cid, "insufficient margin", "exchange", 3),
    ]
    async with await EventStore.open(store_url) as store:
        events = []
        for ev in life:
            type_, data, version = encode(ev)
            events.append(NewEvent(type_, data, version=version))
        await store.append(order_stream(cid), events, NO_STREAM)
        await _seal(store, 3)
        await store.append("other", [NewEvent("E", {})], NO_STREAM)
        expected = await order_as_of(store, str(cid))
        assert expected is not None and expected.state is OrderState.FAILED
        await archive_before(store, tmp_path, before=4)
        with pytest.raises(ArchivedRange):
            await order_as_of(store, str(cid))
        assert await order_as_of(store, str(cid), archive_dir=tmp_path) == expected
        assert await order_as_of(store, str(cid), 2, archive_dir=tmp_path) != expected
        assert await order_as_of(store, "9" * 32, archive_dir=tmp_path) is None


async def test_a_stream_reads_across_the_archive_files_or_says_where_to(
    store_url: str, tmp_path: Path
) -> None:
    async with await EventStore.open(store_url) as store:
        await store.append("lev", [NewEvent("E", {"n": n}) for n in range(2)], NO_STREAM)
        await _seal(store, 2)
        await store.append("lev", [NewEvent("E", {"n": 2})], 1)
        whole = [ev.data async for ev in read_stream_history(store, "lev", None)]
        assert whole == [{"n": 0}, {"n": 1}, {"n": 2}]
        await archive_before(store, tmp_path, before=3)
        with pytest.raises(ArchivedRange):
            [ev async for ev in read_stream_history(store, "lev", None)]
        assert [ev.data async for ev in read_stream_history(store, "lev", tmp_path)] == whole
        assert [ev async for ev in read_stream_history(store, "none", None)] == []
